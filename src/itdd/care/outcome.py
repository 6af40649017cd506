"""What happened to one virtual patient along the care pathway (the cohort aggregates these).

Times are virtual seconds since the epoch (``t_s``); doses are intrathecal morphine-equivalent
milligrams per day; oral opioid use is in morphine milligram equivalents (MME) per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..timeunits import SECONDS_PER_DAY

__all__ = ["SIDE_EFFECT_KINDS", "STAGES", "Complication", "PatientOutcome", "patient_reported"]

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
    # ---- end states and times to event (virtual seconds; None: did not happen while followed) ----
    death_s: float | None = None  # death (the pathway ends there; followed_s stops at it)
    death_cause: str | None = None  # itdd.patient.mortality.CAUSES
    explant_s: float | None = None
    catheter_event_s: float | None = None  # first catheter complication after implant (occurrence)
    reoperation_s: float | None = None  # first re-operation after implant
    # ---- further milestones (as the 6/12/36-month ones) ----
    dose_mg_per_day_12_months: float | None = None
    dose_mg_per_day_24_months: float | None = None
    relief_24_months: float | None = None
    oral_mme_per_day_24_months: float | None = None
    # ---- side effects and what patients report ----
    side_effects_modelled: bool = False  # False: the onsets below were not simulated (metrics say None)
    peripheral_edema_s: float | None = None  # onset of peripheral oedema (None: never while followed)
    hypogonadism_s: float | None = None  # onset of opioid-induced hypogonadism (None: never while followed)
    # patient-reported outcomes (None: not modelled or not followed that long)
    odi_baseline: float | None = None  # Oswestry Disability Index 0-100 before the implant
    odi_12_months: float | None = None
    eq5d_baseline: float | None = None  # EQ-5D utility (1 = full health) before the implant
    eq5d_12_months: float | None = None
    # cancer pain (care/cancer.py, Smith 2002's measures; None: not cancer pain or not alive then)
    pain_enrolment: float | None = None  # NRS on the home oral opioids at enrolment
    toxicity_enrolment: float | None = None  # care/cancer.py toxicity_score, 0-60
    pain_4_weeks: float | None = None  # 4 weeks after the implant
    toxicity_4_weeks: float | None = None
    cancer_events: int = 0  # new pains from the disease (progression, epidural metastasis)

    def days_after_implant(self, t_s: float | None) -> float | None:
        """Days from the implant to ``t_s`` (None if either is missing)."""
        if t_s is None or self.implant_s is None:
            return None
        return (t_s - self.implant_s) / SECONDS_PER_DAY

    @property
    def death_day(self) -> float | None:
        """Days from the implant to death (None: alive at the end of follow-up or not implanted)."""
        return self.days_after_implant(self.death_s)

    @property
    def explant_day(self) -> float | None:
        return self.days_after_implant(self.explant_s)

    @property
    def catheter_event_day(self) -> float | None:
        return self.days_after_implant(self.catheter_event_s)

    @property
    def reoperation_day(self) -> float | None:
        return self.days_after_implant(self.reoperation_s)

    # for trials (itdd.trial): each operation after the implant (the first is reoperation_s), and the
    # programmed dose over time as steps (t_s, mg/day; 0 while therapy is off or after the explant)
    reoperations_s: tuple[float, ...] = ()
    dose_steps: tuple[tuple[float, float], ...] = ()

    # ---- issue 10, further side effects and outcomes patients and payers care about
    # (itdd.patient.outcomes_pro.later_outcomes; None: did not happen while followed, or not modelled)
    urinary_retention_s: float | None = None  # onset of urinary retention
    constipation_s: float | None = None  # onset of opioid-induced constipation
    sweating_s: float | None = None  # onset of excessive sweating
    hypocortisolism_s: float | None = None  # onset of central hypocortisolism (other endocrine effect)
    pain_interference_baseline: float | None = None  # BPI pain interference 0-10 before the implant
    pain_interference_12_months: float | None = None
    satisfied_12_months: bool | None = None  # satisfied with the therapy at 12 months (None: not followed)
    not_working_at_baseline: bool | None = None  # None: not of working age (or not modelled)
    returned_to_work_12_months: bool | None = None  # of those not working at baseline, followed 12 months


#: the side effects a :class:`PatientOutcome` carries an onset for (``<kind>_s``)
SIDE_EFFECT_KINDS = (
    "peripheral_edema",
    "hypogonadism",
    "urinary_retention",
    "constipation",
    "sweating",
    "hypocortisolism",
)


def patient_reported(o: PatientOutcome) -> dict[str, Any]:
    """The side effects (days from the implant to each onset) and what the patient reports, as the
    report's result keeps them (``result["outcome"]``; JSON-ready; None: not modelled or not followed)."""
    return {
        "side_effect_onset_days": {
            k: o.days_after_implant(getattr(o, f"{k}_s")) for k in SIDE_EFFECT_KINDS if getattr(o, f"{k}_s") is not None
        },
        "odi_baseline": o.odi_baseline,
        "odi_12_months": o.odi_12_months,
        "eq5d_baseline": o.eq5d_baseline,
        "eq5d_12_months": o.eq5d_12_months,
        "pain_interference_baseline": o.pain_interference_baseline,
        "pain_interference_12_months": o.pain_interference_12_months,
        "satisfied_12_months": o.satisfied_12_months,
        "not_working_at_baseline": o.not_working_at_baseline,
        "returned_to_work_12_months": o.returned_to_work_12_months,
    }
