"""What happened to one virtual patient along the care pathway (the cohort aggregates these).

Times are virtual seconds since the epoch (``t_s``); doses are intrathecal morphine-equivalent
milligrams per day; oral opioid use is in morphine milligram equivalents (MME) per day.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STAGES", "Complication", "PatientOutcome"]

#: The stages a complication can belong to.
STAGES = ("trial", "implant", "follow-up")


@dataclass(frozen=True)
class Complication:
    """One complication: when it happened, when (if ever) the care team found it, what it cost."""

    kind: str  # e.g. "catheter_kink", "catheter_leak", "catheter_disconnection", "catheter_migration",
    # "infection", "granuloma", "pump_failure", "battery_end_of_life", "trial_bleeding",
    # "trial_infection", "post_dural_puncture_headache", "csf_leak", "wound_infection"
    stage: str  # "trial", "implant", "follow-up"
    t_s: float  # when it occurred (virtual time)
    detected_s: float | None  # when the care team found it (refill discrepancy, symptoms, imaging); None: never
    reoperation: bool  # needed surgery (revision, replacement, explant)
    details: str = ""


@dataclass(frozen=True)
class PatientOutcome:
    """The end result of one patient's pathway."""

    patient_id: str
    refused: str | None  # contraindication reason: no trial took place
    trial_success: bool | None  # None: no trial
    implanted: bool
    implant_s: float | None
    baseline_pain: float  # NRS 0-10 before the trial (on oral opioids)
    baseline_oral_mme_per_day: float
    relief_12_months: float | None  # 1 - pain/baseline_pain at 12 months after implant; None if not implanted/short
    dose_mg_per_day_6_months: float | None  # IT morphine-equivalent mg/day programmed at 6 months after implant
    dose_mg_per_day_36_months: float | None
    oral_mme_per_day_12_months: float | None
    complications: tuple[Complication, ...]
    reoperations: int
    explanted: bool
    explant_reason: str | None
    followed_s: float  # virtual time followed after implant (0 if not implanted)
    relief_36_months: float | None = None  # 1 - pain/baseline_pain at 36 months after implant (as at 12)
    # for trials (itdd.trial): when the pump came out, each operation after the implant, and the
    # programmed dose over time as steps (t_s, mg/day; 0 while therapy is off or after the explant)
    explant_s: float | None = None
    reoperation_s: tuple[float, ...] = ()
    dose_steps: tuple[tuple[float, float], ...] = ()
