"""The programmer's workflow rules, as data.

Each is proven by exactly one test named ``test_rule_<id>`` in
``tests/programmer/test_workflow_rules.py`` (a meta-test checks that the two lists match).
``hard`` = refused, nothing changes; ``soft`` = needs a confirmation with a reason; ``flag`` =
the workflow goes on but marks the result for evaluation.
"""

from __future__ import annotations

from ..drugs.rules import Rule

WORKFLOW_RULES: tuple[Rule, ...] = (
    Rule("overfill", "hard", "A fill above the reservoir's capacity (after what is left inside) is refused."),
    Rule("reservoir_volume_above_capacity", "hard", "A reservoir volume entered above the capacity is refused."),
    Rule("drug_change_while_running", "hard", "Filling a different drug while a therapy runs is refused."),
    Rule(
        "bridge_bolus_skipped",
        "soft",
        "Changing the concentration without a bridge bolus needs confirmation (the old drug in the fluid path would "
        "be delivered at the new rate).",
    ),
    Rule("discrepancy_flag", "flag", "A refill discrepancy above 1 mL (20 mL pump) or 2 mL (40 mL pump) is flagged."),
    Rule("accuracy_flag", "flag", "A refill discrepancy outside the flow-accuracy specification is flagged."),
    Rule(
        "next_refill_earliest",
        "hard",
        "The next refill date is the earliest of: the low-reservoir day with every allowed patient bolus used, the "
        "drug's in-pump stability, and 180 days.",
    ),
    Rule("second_clinician", "hard", "A refill record is verified only by a different clinician."),
    Rule("record_checksum", "hard", "A refill record whose numbers were altered fails verification."),
    Rule("verify_values_match", "hard", "The verifier's independent entries must match the record."),
    Rule("readback_verified", "hard", "Every write is read back; a mismatch is reported and not accepted."),
    Rule(
        "uncertain_write_applied_once",
        "hard",
        "A write whose answer is lost is reconciled from the pump before any resend: never applied twice.",
    ),
    Rule("ptm_cannot_program", "hard", "The patient therapy manager cannot send any therapy-changing command."),
    Rule(
        "clock_error_flag",
        "flag",
        "A pump clock off by more than the tolerance is flagged with its effect on flex steps.",
    ),
    Rule("titration_target_limits", "hard", "A titration target above the drug's hard daily limit is refused."),
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in WORKFLOW_RULES}
