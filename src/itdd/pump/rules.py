"""The implant's safety rules, as data.

Each rule is enforced in the pump code named in ``where`` and proven by exactly one test named
``test_rule_<id>`` in ``tests/pump/test_safety_rules.py`` (a meta-test checks that the two lists
match).  ``kind`` is ``hard`` (refused or prevented, no override) for every pump-level rule; the
soft limits that need a clinician's confirmation belong to the drug guardrails
(``itdd.drugs``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SafetyRule:
    id: str
    kind: str  # "hard" | "soft"
    description: str
    where: str


PUMP_RULES: tuple[SafetyRule, ...] = (
    SafetyRule(
        "lockout",
        "hard",
        "A patient bolus within the lockout after the last one is denied (lockout).",
        "Firmware._decide_ptm",
    ),
    SafetyRule(
        "daily_limit",
        "hard",
        "More patient boluses than allowed in any 24 h are denied (daily_limit).",
        "Firmware._decide_ptm",
    ),
    SafetyRule(
        "predictive_max_dose",
        "hard",
        "A patient bolus is denied (max_dose) when the drug of the last 24 h up to its end — delivered "
        "so far, the basal during the bolus and the bolus itself — would exceed the maximum daily dose.",
        "Firmware._decide_ptm",
    ),
    SafetyRule(
        "ptm_not_enabled",
        "hard",
        "A patient bolus request on a pump without PTM settings is denied.",
        "Firmware._decide_ptm",
    ),
    SafetyRule(
        "ptm_pump_not_infusing",
        "hard",
        "A patient bolus is denied while the pump is stopped (even during a clinician bolus given on a "
        "stopped pump), stalled, priming, at minimum rate after its empty alarm, or at end of service.",
        "Firmware._decide_ptm",
    ),
    SafetyRule(
        "min_rate", "hard", "A therapy that needs a pump rate below 0.048 mL/day is refused.", "therapy.check_rates"
    ),
    SafetyRule(
        "max_rate",
        "hard",
        "A therapy or bolus that needs a rate above the pump's maximum is refused.",
        "therapy.check_rates, Firmware._bolus_rate_check",
    ),
    SafetyRule(
        "overfill",
        "hard",
        "A fill above the reservoir capacity is refused and changes nothing.",
        "Implant.check_refill, Hardware.check_fill",
    ),
    SafetyRule(
        "drug_mix", "hard", "Filling another drug on top of a remaining one is refused.", "Implant.check_refill"
    ),
    SafetyRule(
        "no_delivery_while_stopped", "hard", "Nothing is pumped while the therapy is stopped.", "Firmware._recompute"
    ),
    SafetyRule(
        "no_delivery_while_stalled",
        "hard",
        "Nothing is pumped while a magnetic field stalls the motor, nor until it recovers.",
        "Hardware.actual_flow_ml_per_day, Firmware.stall",
    ),
    SafetyRule(
        "stall_latched_until_interrogated",
        "hard",
        "A pump that was alarming when the field came stays stopped after it until interrogated by the "
        "clinician programmer or the patient's myPTM ([S] TGA).",
        "Firmware.stall, Firmware.interrogate, Implant.ptm_connect",
    ),
    SafetyRule(
        "no_delivery_after_end_of_service",
        "hard",
        "End of service comes 90 days after ERI; after it the pump never delivers again.",
        "Firmware._end_of_service",
    ),
    SafetyRule(
        "no_delivery_when_occluded",
        "hard",
        "An occluded catheter passes nothing; the reservoir stops falling (the pump cannot tell).",
        "Hardware.actual_flow_ml_per_day",
    ),
    SafetyRule(
        "low_reservoir_alarm",
        "hard",
        "The low-reservoir alarm is raised once, when the estimate reaches the threshold.",
        "Firmware._check_reservoir",
    ),
    SafetyRule(
        "reservoir_empty_alarm",
        "hard",
        "The critical empty alarm is raised when the estimate reaches the residual volume; the pump then "
        "runs at its minimum rate until refilled.",
        "Firmware._check_reservoir",
    ),
    SafetyRule(
        "reservoir_residual_not_delivered",
        "hard",
        "The residual volume in the reservoir is never delivered.",
        "Hardware.actual_flow_ml_per_day",
    ),
    SafetyRule(
        "programmable_value_range",
        "hard",
        "Every value the pump stores (doses, PTM settings, alarm threshold, refill volumes and "
        "concentration, clock error and drift) is finite and inside its range (itdd.pump.limits.RANGES), "
        "whoever sends it (programmer, telemetry, a scenario's initial blocks).",
        "itdd.pump.limits.check_range (Firmware, Implant.refill, telemetry _program, sim.entry)",
    ),
    SafetyRule(
        "refusal_changes_nothing",
        "hard",
        "A refused command leaves the pump exactly as it was (state, log).",
        "Implant.check_refill",
    ),
)

RULE_IDS: frozenset[str] = frozenset(r.id for r in PUMP_RULES)
