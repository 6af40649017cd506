"""Clinician policies: how the care team titrates, weans and reacts when the therapy fails.

A :class:`ClinicianPolicy` is data (``POLICIES``); the decisions are pure functions returning a
:class:`Decision` and its reason, so the pathway only carries them out.  docs/care.md
"Clinician policies" describes both policies beside their published long-term doses.

* ``conventional``: keep the patient's oral opioids through the trial (after a washout) and wean
  them once pain is controlled; titrate the intrathecal dose to the patient's response with no
  ceiling below the drug library's hard limit.  Published long-term doses: Roberts 2001, IT
  morphine 9.95 mg/day at 6 months, 15.26 mg/day at 36 months.
* ``low_dose``: wean systemic opioids completely before the trial and keep them off; titrate to a
  lower target and never above a low ceiling.  Published long-term doses: Hamza 2012, 1.4 mg/day
  morphine equivalents at 6 months, 1.48 mg/day at 36 months, with oral opioids stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..patient.parameters import S, Sourced, U
from ..timeunits import SECONDS_PER_DAY, SECONDS_PER_MONTH

__all__ = ["POLICIES", "ClinicianPolicy", "Decision", "get_policy", "react_to_lack_of_effect"]

DAY_S = SECONDS_PER_DAY
MONTH_S = SECONDS_PER_MONTH


@dataclass(frozen=True)
class ClinicianPolicy:
    """How one clinic practises intrathecal opioid therapy."""

    name: str
    description: str
    wean_before_trial: bool  # systemic opioids tapered off before the trial and kept off
    target_drive: Sourced  # titration target: analgesic drive x ED50 x tolerance (pathway.titrate)
    ceiling_mg_per_day: Sourced | None  # IT morphine-equivalent dose the clinician will not exceed
    published_dose_6_months: Sourced
    published_dose_36_months: Sourced


POLICIES: dict[str, ClinicianPolicy] = {
    "conventional": ClinicianPolicy(
        name="conventional",
        description="oral opioids kept until pain is controlled, then weaned; dose titrated to response",
        wean_before_trial=False,
        target_drive=U(3.0, "calibrated: the reference titration that reproduces Roberts 2001 doses"),
        ceiling_mg_per_day=None,
        published_dose_6_months=S(9.95, "Roberts 2001: IT morphine 9.95 mg/day at 6 months"),
        published_dose_36_months=S(15.26, "Roberts 2001: 15.26 mg/day at 36 months"),
    ),
    "low_dose": ClinicianPolicy(
        name="low_dose",
        description="systemic opioids weaned before the trial; low intrathecal target and ceiling",
        wean_before_trial=True,
        target_drive=U(3.0, "as conventional: titrated to response, but under a low ceiling and without oral opioids"),
        ceiling_mg_per_day=U(3.0, "assumption: Hamza 2012 kept a mean 1.4-1.48 mg/day; a ceiling at twice that mean"),
        published_dose_6_months=S(1.4, "Hamza 2012 (Pain Med 13:1304): 1.4 mg/day morphine equivalents at 6 months"),
        published_dose_36_months=S(1.48, "Hamza 2012: 1.48 mg/day at 36 months, oral opioids stopped"),
    ),
}

#: Months of uncontrolled pain at the policy's ceiling (or the drug's hard limit), with no
#: delivery problem found, before the clinician calls it lack of effect (assumption [U]).
LACK_OF_EFFECT_MONTHS = U(6.0, "assumption: two refill cycles of escalation without benefit")


def get_policy(name: str) -> ClinicianPolicy:
    if name not in POLICIES:
        raise InputError("policy", f"'{name}' is not one of {', '.join(POLICIES)}")
    return POLICIES[name]


@dataclass(frozen=True)
class Decision:
    """What the clinician does, and why."""

    action: str  # "continue", "lift_ceiling", "explant"
    reason: str


def react_to_lack_of_effect(
    *,
    uncontrolled_since_s: float | None,
    now_s: float,
    at_ceiling: bool,
    delivery_problem_ruled_out: bool,
    policy_ceiling: bool = False,
) -> Decision:
    """The clinician's reaction to pain that stays uncontrolled at the highest dose they will give.

    After ``LACK_OF_EFFECT_MONTHS`` at the ceiling with no delivery problem found: a policy ceiling
    (low-dose practice) is lifted first and titration goes on conventionally (``lift_ceiling``);
    at the drug's own limit the therapy has failed: explant for lack of effect.  Switching the drug
    or adding an adjunct (PACC) needs the other drugs through the pathway (issue 10, not yet
    built): documented in docs/care.md.
    """
    if uncontrolled_since_s is None or not at_ceiling:
        return Decision("continue", "pain controlled or dose below the ceiling: titration continues")
    months = (now_s - uncontrolled_since_s) / MONTH_S
    if months < LACK_OF_EFFECT_MONTHS.value:
        return Decision("continue", f"uncontrolled at the ceiling for {months:.1f} months")
    if not delivery_problem_ruled_out:
        return Decision("continue", "a delivery problem is still being worked up")
    if policy_ceiling:
        return Decision(
            "lift_ceiling", f"pain uncontrolled at the low-dose ceiling for {months:.1f} months: titrate beyond it"
        )
    return Decision(
        "explant",
        f"lack of effect: pain uncontrolled at the ceiling for {months:.1f} months, no delivery problem found",
    )
