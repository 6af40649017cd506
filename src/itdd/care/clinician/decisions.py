"""The simulated clinician's decisions: pure functions returning a :class:`Decision` and its reason.

Each function takes what the clinician knows at that moment (numbers with their units in their
names, the bedside :class:`~itdd.patient.sim.Vitals`) and returns what to do and why, in the
style of oref0's ``determine-basal`` (a decision and the reason a clinician can read).  Nothing
here schedules, draws random numbers or touches the pump: the pathway (care/pathway.py and
care/steps/) acts on the decisions.  The rules and their sources are in docs/care.md; every
constant names its source or says "assumption".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...drugs import Drug
from ...errors import SafetyRefusal
from ...patient.parameters import U
from ...patient.sim import Vitals
from ...programmer.tools import plan_titration
from ...thresholds import thresholds
from ...timeunits import SECONDS_PER_DAY, SECONDS_PER_MONTH

__all__ = [
    "CONCENTRATIONS_MG_PER_ML",
    "LACK_OF_EFFECT_MONTHS",
    "SUCCESS_RELIEF",
    "Decision",
    "choose_concentration",
    "escalation_without_response",
    "lack_of_effect",
    "pain_is_back",
    "pain_uncontrolled",
    "react_to_eri",
    "react_to_refill_discrepancy",
    "react_to_returning_pain",
    "starting_dose",
    "titration_step",
    "trial_verdict",
    "wean_oral",
]

DAY_S = SECONDS_PER_DAY
MONTH_S = SECONDS_PER_MONTH

#: Trial success: at least 50% pain reduction from the pre-trial pain [S: clinical-facts "Screening trials"].
SUCCESS_RELIEF = 0.5
#: Starting dose after a bolus trial: half the effective bolus per day (assumption [U], after the
#: brief's PACC reading), kept within the library's starting range (Infumorph 0.2-1 mg/day [S]).
START_FRACTION_OF_BOLUS = 0.5
#: Titration target: analgesic drive 3 x ED50 x current tolerance (patient/calibration.py: the
#: reference titration calibrated to Roberts 2001 doses [S]); steps by the programmer's planner
#: (PACC 2007: <= 30% per change [S2]).  The clinician's judgement over visits is modelled with
#: the patient's own dose-response (assumption).
TITRATION_TARGET_DRIVE = 3.0  # the conventional policy's target (clinician/policies.py holds the policies)
#: Side effects that make the clinician lower the dose by 20% (assumption [U]).
DECREASE_FRACTION = 0.2
SEDATION_LIMIT = thresholds().sedation_alert_score.value  # frequently drowsy (POSS-like 0-3 scale)
PRURITUS_LIMIT = 7.0
#: Cancer pain: titration steps up to the drug library's hard maximum (PACC 2007: up to 50% per
#: change in cancer pain [S2]); the confirmation the planner records.
CANCER_STEP_REASON = "cancer pain with limited survival: PACC allows up to 50% per change"
#: Lowest dose the clinician programs, mg/day (assumption [U]).
LOWEST_DOSE_MG_PER_DAY = 0.1
#: A change of less than 5% is not worth a reprogramming (assumption [U]).
NO_CHANGE_WITHIN = 0.05
#: Pain "controlled" for oral weaning: NRS <= 4 or >= 40% below the pre-implant pain (assumption [U]).
CONTROLLED_PAIN = 4.0
CONTROLLED_RELIEF = 0.4
#: The patient calls the clinic (and the clinic suspects a delivery problem) when pain, once
#: controlled, is back 2 NRS points above the best pain on therapy and at least 4, or with
#: withdrawal signs >= 3/10 (assumption [U]).
PAIN_BACK_POINTS = 2.0
CALL_WITHDRAWAL = 3.0
#: Concentrations the pharmacy can supply (assumption [U]: compounded 1, 2, 5 mg/mL; Infumorph 10
#: [S]; 20 mg/mL PACC maximum [U]).  The lowest that lasts a full refill interval is chosen.
CONCENTRATIONS_MG_PER_ML = (1.0, 2.0, 5.0, 10.0, 20.0)
TARGET_REFILL_DAYS = 90.0  # morphine stability 90 days (drug library [S2])
#: ERI found -> replacement before the 90-day end of service [S] (delay: assumption [U]).
ERI_REPLACEMENT_DELAY_S = 14 * DAY_S
#: After a catheter study found nothing, returning pain is treated by titration for 90 days before
#: another study (assumption [U]).
NEGATIVE_WORKUP_S = 90 * DAY_S
#: Escalation without response: dose x1.5 within 90 days with pain still not controlled (assumption [U]).
ESCALATION_FACTOR = 1.5
ESCALATION_WINDOW_S = 90 * DAY_S
#: Months of uncontrolled pain at the policy's ceiling (or the drug's hard limit), with no
#: delivery problem found, before the clinician calls it lack of effect (assumption [U]).
LACK_OF_EFFECT_MONTHS = U(6.0, "assumption: two refill cycles of escalation without benefit")


@dataclass(frozen=True)
class Decision:
    """What the clinician does, and why.

    ``action`` names the decision (each function lists its actions); ``reason`` is the sentence a
    clinician would write.  The optional numbers are the decision's values (a new dose, a new oral
    dose, a delay); ``trigger`` is the short name of what prompted a workup, as the record keeps it.
    """

    action: str
    reason: str
    dose_mg_per_day: float | None = None
    oral_mme_per_day: float | None = None
    delay_s: float | None = None
    trigger: str = ""


# ---- screening trial and starting the therapy ---------------------------------------------------


def trial_verdict(*, relief_fraction: float, success_relief: float = SUCCESS_RELIEF) -> Decision:
    """``implant`` when the best relief in the trial reaches ``success_relief`` (50%), else ``no_implant``."""
    if relief_fraction >= success_relief:
        return Decision("implant", f"{relief_fraction:.0%} relief: at least the {success_relief:.0%} needed")
    return Decision("no_implant", f"{relief_fraction:.0%} relief: below the {success_relief:.0%} needed")


def starting_dose(
    *, effective: float, continuous_infusion: bool, lowest_mg_per_day: float, highest_mg_per_day: float
) -> Decision:
    """The starting daily dose: the trial's infusion rate, or half the effective bolus per day,
    within the drug library's starting range.  Action ``start``."""
    raw = effective if continuous_infusion else START_FRACTION_OF_BOLUS * effective
    dose = min(max(raw, lowest_mg_per_day), highest_mg_per_day)
    how = "the trial infusion rate" if continuous_infusion else "half the effective bolus per day"
    return Decision("start", f"{how}, within the starting range", dose_mg_per_day=dose)


def choose_concentration(*, dose_mg_per_day: float, min_rate_ml_per_day: float, usable_ml: float) -> float:
    """The lowest supplied concentration (mg/mL) that the pump can deliver at ``dose_mg_per_day``
    and that lasts :data:`TARGET_REFILL_DAYS`; the highest when none does."""
    for c in CONCENTRATIONS_MG_PER_ML:
        rate = dose_mg_per_day / c
        if rate < min_rate_ml_per_day:
            continue
        if usable_ml / rate >= TARGET_REFILL_DAYS:
            return c
    return CONCENTRATIONS_MG_PER_ML[-1]


# ---- pain: controlled, back ---------------------------------------------------------------------


def pain_uncontrolled(*, pain: float, pre_implant_pain: float) -> bool:
    """Pain above 4/10 and less than 40% below the pre-implant pain (the negation of controlled)."""
    return pain > CONTROLLED_PAIN and pain > (1 - CONTROLLED_RELIEF) * pre_implant_pain


def pain_is_back(*, pain: float, best_pain: float, controlled_once: bool) -> bool:
    """Pain, once controlled, is >= 2 points above the best pain on therapy and >= 4 (assumption [U])."""
    return controlled_once and pain >= max(best_pain + PAIN_BACK_POINTS, CONTROLLED_PAIN)


# ---- titration ----------------------------------------------------------------------------------


def titration_step(
    o: Vitals,
    *,
    dose_mg_per_day: float,
    ed50_mg_per_day: float,
    target_drive: float,
    ceiling_mg_per_day: float,
    since_last_change_s: float,
    drug: Drug,
    now_s: float,
    min_rate_ml_per_day: float,
    max_rate_ml_per_day: float,
    conc_mg_per_ml: float,
    cancer_pain: bool = False,
) -> Decision:
    """One titration step at a visit: ``change`` (to ``dose_mg_per_day``) or ``keep``.

    ``cancer_pain``: increases may reach the drug library's hard maximum step (morphine 50%, PACC
    2007 [S2]) instead of its soft one (30%), confirmed with the reason (:data:`CANCER_STEP_REASON`).

    Side effects (sedation >= 2, respiratory depression, pruritus >= 7) lower the dose by 20%;
    otherwise the target is the dose that brings the analgesic drive to ``target_drive`` x ED50 x
    the current tolerance (the drive counts oral opioids too; the clinician adjusts the intrathecal
    part).  The target is kept within 0.1 mg/day and the ceiling; a change under 5% is not made;
    increases come at most every minimum interval of the drug library (72 h, Infumorph).  The step
    is the programmer's planner's first step (PACC: <= 30%), rounded as a clinician writes doses
    (0.01 mg/day below 10 mg/day, 0.1 above, never past the planner's step) and kept within the
    pump's rates at its concentration.
    """
    dose = dose_mg_per_day
    if o.sedation >= SEDATION_LIMIT or o.respiratory_depression or o.pruritus >= PRURITUS_LIMIT:
        target = dose * (1 - DECREASE_FRACTION)
        why = f"side effects (sedation {o.sedation:.1f}, RR {o.resp_rate_per_min:.0f}/min, pruritus {o.pruritus:.0f})"
    else:
        want = target_drive * ed50_mg_per_day * o.opioid_tolerance
        drive = max(o.analgesic_drive_mg_per_day, 1e-9)
        target = dose * want / drive
        why = f"pain {o.pain:.1f}/10"
    target = min(max(target, LOWEST_DOSE_MG_PER_DAY), ceiling_mg_per_day)
    if abs(target / dose - 1) < NO_CHANGE_WITHIN:
        return Decision("keep", f"{why}: the dose is within 5% of the target", dose_mg_per_day=dose)
    mi = drug.min_interval
    interval = mi.soft_min.value if mi is not None and mi.soft_min is not None else 0.0
    if target > dose and since_last_change_s < interval - 1.0:
        return Decision("keep", f"{why}: the last increase was too recent", dose_mg_per_day=dose)
    mx = drug.max_increase
    step = mx.hard_max.value if cancer_pain and target > dose and mx is not None and mx.hard_max is not None else None
    confirm = {"plan.step": CANCER_STEP_REASON} if step is not None else {}
    try:
        plan = plan_titration(drug, dose, target, start_s=now_s, step_fraction=step, confirmations=confirm)
    except SafetyRefusal as exc:
        if exc.field != "target":
            raise
        plan = plan_titration(
            drug,
            dose,
            target,
            start_s=now_s,
            step_fraction=step,
            confirmations={**confirm, "target": "tolerant patient, pain not controlled at lower doses"},
        )
    new = plan.steps[1][1] if len(plan.steps) > 1 else dose
    if new > dose:
        new = math.floor(new * (100 if new < 10 else 10)) / (100 if new < 10 else 10)
    else:
        new = math.ceil(new * (100 if new < 10 else 10)) / (100 if new < 10 else 10)
    new = min(max(new, min_rate_ml_per_day * conc_mg_per_ml * 1.0001), max_rate_ml_per_day * conc_mg_per_ml)
    if abs(new - dose) < 1e-9:
        return Decision("keep", f"{why}: no step within the pump's rates", dose_mg_per_day=dose)
    return Decision("change", why, dose_mg_per_day=new)


def wean_oral(
    *,
    pain: float,
    pre_implant_pain: float,
    oral_mme_per_day: float,
    home_oral_mme_per_day: float,
    step_fraction: float,
    floor_mme_per_day: float = 0.0,
) -> Decision:
    """Oral opioids at a visit: ``not_controlled`` (pain not controlled: kept), ``controlled``
    (nothing left to wean) or ``wean`` (cut by ``step_fraction`` of the home dose, to 0 at the end).
    ``floor_mme_per_day``: what the patient keeps taking whatever the IT therapy does (another pain,
    patient/population.py ``keeps_systemic_opioids``): weaning stops there."""
    if pain_uncontrolled(pain=pain, pre_implant_pain=pre_implant_pain):
        return Decision("not_controlled", "pain not controlled: oral opioids kept", oral_mme_per_day=oral_mme_per_day)
    if oral_mme_per_day <= 0:
        return Decision("controlled", "pain controlled, no oral opioids", oral_mme_per_day=oral_mme_per_day)
    if floor_mme_per_day > 0 and oral_mme_per_day <= floor_mme_per_day + 1e-6:
        return Decision(
            "controlled",
            f"pain controlled; systemic opioids kept at {oral_mme_per_day:.0f} MME/day (the patient's other pain)",
            oral_mme_per_day=oral_mme_per_day,
        )
    step = step_fraction * home_oral_mme_per_day
    new = oral_mme_per_day - step if oral_mme_per_day - step > 1e-6 else 0.0
    new = max(new, floor_mme_per_day)
    return Decision("wean", "weaning, pain controlled", oral_mme_per_day=new)


# ---- loss of effect: returning pain, escalation, refill discrepancy, lack of effect ---------------


def react_to_returning_pain(
    *,
    pain_back: bool,
    withdrawal: float,
    therapy_on: bool,
    saline: bool,
    recent_negative_workup: bool,
    workup_booked: bool,
) -> Decision:
    """Pain back or withdrawal signs (>= 3/10) with the therapy on: ``workup`` (check the reservoir
    with a refill, then a catheter study), unless a study found nothing in the last 90 days or an
    operation is booked; else ``continue``."""
    if (
        (pain_back or withdrawal >= CALL_WITHDRAWAL)
        and therapy_on
        and not saline
        and not recent_negative_workup
        and not workup_booked
    ):
        return Decision(
            "workup", "pain back" if pain_back else "withdrawal signs", trigger="loss of efficacy at a visit"
        )
    return Decision("continue", "no loss of efficacy to work up")


def escalation_without_response(
    *,
    uncontrolled: bool,
    dose_mg_per_day: float,
    window_start_dose_mg_per_day: float,
    recent_negative_workup: bool,
    workup_booked: bool,
    since_implant_s: float,
) -> Decision:
    """The dose rose by half within 90 days and pain is still not controlled: ``workup`` (a
    catheter study; masked leaks and masses show up this way), else ``continue``."""
    if (
        uncontrolled
        and dose_mg_per_day >= ESCALATION_FACTOR * window_start_dose_mg_per_day
        and not recent_negative_workup
        and not workup_booked
        and since_implant_s > ESCALATION_WINDOW_S
    ):
        return Decision("workup", "escalating dose, poor response", trigger="dose escalation without response")
    return Decision("continue", "no escalation without response")


def react_to_refill_discrepancy(*, flagged: bool, flag_reasons: Sequence[str], saline: bool) -> Decision:
    """A refill whose withdrawn volume is off the expected one beyond the programmer's threshold
    (or the flow-accuracy specification): ``catheter_study`` (aspiration and dye study; imaging for
    a mass), else ``none``.  A saline reservoir is not worked up."""
    if flagged and not saline:
        why = "; ".join(flag_reasons) or "flagged"
        return Decision("catheter_study", f"refill discrepancy: {why}", trigger="refill discrepancy")
    return Decision("none", "refill within the expected volume" if not flagged else "saline reservoir: not worked up")


def lack_of_effect(
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
            "lift_ceiling",
            f"pain uncontrolled at the low-dose ceiling for {months:.1f} months: titrate beyond it",
            trigger="lack of effect at the ceiling dose",
        )
    return Decision(
        "explant",
        f"lack of effect: pain uncontrolled at the ceiling for {months:.1f} months, no delivery problem found",
        trigger="lack of effect at the ceiling dose",
    )


def react_to_eri(*, already_booked: bool) -> Decision:
    """Battery at its elective replacement indicator: ``book_replacement`` in 14 days (before the
    90-day end of service), unless one is booked (``none``)."""
    if already_booked:
        return Decision("none", "a replacement is already booked")
    return Decision("book_replacement", "battery at elective replacement", delay_s=ERI_REPLACEMENT_DELAY_S)
