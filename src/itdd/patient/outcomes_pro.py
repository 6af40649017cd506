"""Side effects that build with opioid exposure, and what patients report (ODI, EQ-5D, BPI
interference, return to work, satisfaction).

Pure functions: the pathway records the patient's opioid exposure (intrathecal dose and oral
opioids, piecewise constant between changes) and, at the end of the follow-up, asks here when
peripheral oedema, hypogonadism, urinary retention, constipation, sweating and hypocortisolism
began and what the patient-reported outcomes were.  The pathway also asks the same onset functions
at each clinic visit on the exposure so far (care/steps/side_effect_steps.py) and acts on the
clinician's reaction (care/clinician/side_effects.py); an onset is cumulative, so both give the same
time.

* Onsets: exposure-driven hazards, exact: onset where the cumulative hazard (rate x exposure x
  time) crosses the patient's own Exp(1) threshold.
* ODI (Oswestry Disability Index, 0-100), EQ-5D utility and BPI pain interference: mapped from the
  model's pain (assumptions, docs/cohort.md: no published trajectory with a mean found in our
  sources); satisfaction and return to work from the relief at 12 months.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..timeunits import SECONDS_PER_YEAR
from .parameters import S2, S, U

__all__ = [
    "CONSTIPATION",
    "EDEMA",
    "HYPOCORTISOLISM",
    "HYPOGONADISM",
    "SWEATING",
    "URINARY_RETENTION",
    "OnsetScan",
    "eq5d_from_pain",
    "interference_from_pain",
    "later_outcomes",
    "odi_from_pain",
    "onset_s",
    "onset_weighted_s",
    "return_to_work_probability",
    "satisfied",
]

YEAR_S = SECONDS_PER_YEAR

EDEMA_FRACTION = S(0.217, "Aldrete 2000 (Eur J Pain 4:361): leg and feet oedema in 5 of 23 on IT opiates > 24 months")
EDEMA_YEARS = U(2.0, "Aldrete: infused for longer than 24 months, taken as 2 years")
EDEMA_REF_MG_PER_DAY = U(10.0, "assumption: IT morphine dose of that series (not reported in the abstract)")
HYPOGONADISM_FRACTION = S(
    0.86,
    "Abs 2000 (JCEM 85:2215): testosterone < 9 nmol/L in 25 of 29 men on IT opioids (all 21 premenopausal women "
    "had amenorrhoea or irregular cycles)",
)
HYPOGONADISM_YEARS = S(26.6 / 12, "Abs 2000: mean 26.6 months of IT opioid")
HYPOGONADISM_REF_MG_PER_DAY = S(4.8, "Abs 2000: mean IT morphine 4.8 mg/day")
ORAL_TO_IT = S(300.0, "oral:IT morphine 300:1 (Krames), as the patient model")


def _rate(fraction: float, years: float, ref_mg_per_day: float) -> float:
    """Hazard per year per (IT-morphine mg/day) leaving ``1 - fraction`` after ``years`` at the reference dose."""
    return -math.log1p(-fraction) / years / ref_mg_per_day


#: per year per IT-morphine-equivalent mg/day
EDEMA = _rate(EDEMA_FRACTION.value, EDEMA_YEARS.value, EDEMA_REF_MG_PER_DAY.value)
HYPOGONADISM = _rate(HYPOGONADISM_FRACTION.value, HYPOGONADISM_YEARS.value, HYPOGONADISM_REF_MG_PER_DAY.value)


@dataclass
class OnsetScan:
    """Where a scan of a growing exposure log can resume (care/steps/side_effect_steps.py checks
    onsets at every visit): rows before ``row`` are final (the next row's time is known and not
    after the scan's end) and ``cum`` is their summed hazard, added in the same order as a scan
    from the start, so a resumed scan gives the same onset to the last bit."""

    row: int = 0
    cum: float = 0.0


def onset_s(
    exposure: Sequence[tuple[float, float, float]],
    end_s: float,
    threshold: float,
    rate_per_mg_day_year: float,
    *,
    count_oral: bool,
    scan: OnsetScan | None = None,
) -> float | None:
    """When a side effect begins: ``exposure`` is ``(t_s, IT-morphine mg/day, oral MME/day)``
    rows, each holding until the next (the last until ``end_s``); the hazard is ``rate x (IT
    dose [+ oral / 300])``.  None: not before ``end_s``.  ``scan``: resume there and move it on
    (:class:`OnsetScan`)."""
    if count_oral:
        return scan_onset(exposure, end_s, threshold, rate_per_mg_day_year, CENTRAL, ORAL_TO_IT.value, 0.0, scan)
    return scan_onset(exposure, end_s, threshold, rate_per_mg_day_year, IT_ONLY, 0.0, 0.0, scan)


#: the forms of a row's hazard in :func:`scan_onset` (``a``, ``b`` its numbers):
IT_ONLY = 0  # rate x (IT + 0.0): onset_s without oral opioids
CENTRAL = 1  # rate x (IT + oral / a): onset_s with oral opioids (a = ORAL_TO_IT)
WEIGHTED = 2  # rate x (a x IT + b x oral): onset_weighted_s


def scan_onset(
    exposure: Sequence[tuple[float, float, float]],
    end_s: float,
    threshold: float,
    rate: float,
    form: int,
    a: float,
    b: float,
    scan: OnsetScan | None,
) -> float | None:
    """The scan behind :func:`onset_s` and :func:`onset_weighted_s`, with a row's hazard per year
    written out for each ``form`` (the same operations in the same order as :func:`_onset` with
    their rate functions, so the same onset to the last bit; ``0.0 if x < 0.0 else x`` is
    ``max(x, 0.0)``).  Visits call it for every side effect twice
    (care/steps/side_effect_steps.py): written out, it needs no function call per row."""
    start, cum = (scan.row, scan.cum) if scan is not None else (0, 0.0)
    n = len(exposure)
    for i in range(start, n):
        t, it, oral = exposure[i]
        if i + 1 < n:
            t_next = exposure[i + 1][0]
            final = t_next <= end_s
            if end_s < t_next:  # min(t_next, end_s)
                t_next = end_s
        else:
            final = False
            t_next = end_s
        if t_next > t:
            itp = 0.0 if it < 0.0 else it
            if form == IT_ONLY:
                r = rate * (itp + 0.0)
            elif form == CENTRAL:
                r = rate * (itp + (0.0 if oral < 0.0 else oral) / a)
            else:
                r = rate * (a * itp + b * (0.0 if oral < 0.0 else oral))
            step = r * (t_next - t) / YEAR_S
            if r > 0 and cum + step >= threshold:
                return t + (threshold - cum) / r * YEAR_S
            cum += step
        if scan is not None and final:
            scan.row, scan.cum = i + 1, cum
    return None


def _onset(
    exposure: Sequence[tuple[float, float, float]],
    end_s: float,
    threshold: float,
    rate_of: Callable[[float, float], float],
    scan: OnsetScan | None,
) -> float | None:
    """The scan behind :func:`onset_s` and :func:`onset_weighted_s` (``rate_of(IT, oral)``: the
    hazard per year of a row)."""
    start, cum = (scan.row, scan.cum) if scan is not None else (0, 0.0)
    n = len(exposure)
    for i in range(start, n):
        t, it, oral = exposure[i]
        final = i + 1 < n and exposure[i + 1][0] <= end_s
        t_next = exposure[i + 1][0] if i + 1 < n else end_s
        t_next = min(t_next, end_s)
        if t_next > t:
            rate = rate_of(it, oral)
            step = rate * (t_next - t) / YEAR_S
            if rate > 0 and cum + step >= threshold:
                return t + (threshold - cum) / rate * YEAR_S
            cum += step
        if scan is not None and final:
            scan.row, scan.cum = i + 1, cum
    return None


ODI_BASELINE_PER_PAIN = U(7.5, "assumption: ODI about 7.5 x NRS pain in IT candidates (NRS 7.5 -> ODI 56, severe)")
ODI_PAIN_SHARE = U(0.6, "assumption: disability improves by 60% of the relative pain reduction")
EQ5D_INTERCEPT = U(0.92, "assumption: linear EQ-5D utility from NRS pain, 0.92 at no pain")
EQ5D_PER_PAIN = U(0.075, "assumption: -0.075 per NRS point (NRS 7.5 -> 0.36, chronic-pain cohorts' range)")


def odi_from_pain(baseline_pain: float, pain: float) -> tuple[float, float]:
    """(ODI before, ODI now) from the pain before and now (0-100)."""
    base = min(max(ODI_BASELINE_PER_PAIN.value * baseline_pain, 0.0), 100.0)
    relief = 0.0 if baseline_pain <= 0 else 1.0 - pain / baseline_pain
    now = base * (1.0 - ODI_PAIN_SHARE.value * relief)
    return base, min(max(now, 0.0), 100.0)


def eq5d_from_pain(pain: float) -> float:
    """EQ-5D utility (<= 1; the UK value set goes below 0) from the NRS pain."""
    return min(max(EQ5D_INTERCEPT.value - EQ5D_PER_PAIN.value * pain, -0.594), 1.0)


# ---- further side effects (issue 10): the same exact, exposure-driven onsets -----------------------

URINARY_RETENTION_FRACTION = S2(
    2 / 11,
    "Anderson 1998 (Surg Neurol 49:92): bladder dysfunction requiring pump removal in 2 of 11 on IT "
    "morphine followed up to 3 years (a small series; milder retention is not counted)",
)
URINARY_RETENTION_YEARS = U(1.5, "assumption: half that series' 3-year maximum follow-up")
URINARY_RETENTION_REF_MG_PER_DAY = U(10.0, "assumption: IT morphine dose of that series (not in the abstract)")
CONSTIPATION_FRACTION = S(
    0.248,
    "Veiga 2018 (Pain Res Treat 2018:5704627): opioid-induced constipation incidence 24.8% at 6 months "
    "in 694 chronic non-cancer pain clinic patients",
)
CONSTIPATION_YEARS = S(0.5, "Veiga 2018: 6 months of follow-up")
CONSTIPATION_REF_MME_PER_DAY = U(60.0, "assumption: systemic opioid dose of that clinic cohort (not in the abstract)")
IT_TO_SYSTEMIC_MME = U(
    3.0,
    "assumption: gut effects are peripheral; IT morphine reaches the circulation whole and counts as "
    "parenteral morphine, 1 mg = 3 oral MME (the 300:1 analgesic ratio does not apply)",
)
SWEATING_FRACTION = U(
    0.10,
    "assumption: sweating is listed among IT opioid side effects (Ruan 2007 review) but no incidence was "
    "found; 10% after 2 years at 10 mg/day, twice the 4.8% population prevalence of hyperhidrosis",
)
SWEATING_YEARS = U(2.0, "assumption (with SWEATING_FRACTION)")
SWEATING_REF_MG_PER_DAY = U(10.0, "assumption (with SWEATING_FRACTION)")
HYPOCORTISOLISM_FRACTION = S(
    14 / 71, "Abs 2000 (JCEM 85:2215): 24-h urinary free cortisol < 20 ug/day in 14 of 71 on IT opioids"
)

#: per year per IT-morphine mg/day (IT dose [+ oral / 300] for the central ones)
URINARY_RETENTION = _rate(
    URINARY_RETENTION_FRACTION.value, URINARY_RETENTION_YEARS.value, URINARY_RETENTION_REF_MG_PER_DAY.value
)
SWEATING = _rate(SWEATING_FRACTION.value, SWEATING_YEARS.value, SWEATING_REF_MG_PER_DAY.value)
HYPOCORTISOLISM = _rate(HYPOCORTISOLISM_FRACTION.value, HYPOGONADISM_YEARS.value, HYPOGONADISM_REF_MG_PER_DAY.value)
#: per year per systemic MME/day (oral MME + 3 x IT mg/day)
CONSTIPATION = _rate(CONSTIPATION_FRACTION.value, CONSTIPATION_YEARS.value, CONSTIPATION_REF_MME_PER_DAY.value)


def onset_weighted_s(
    exposure: Sequence[tuple[float, float, float]],
    end_s: float,
    threshold: float,
    rate_per_unit_year: float,
    *,
    it_weight: float,
    oral_weight: float,
    scan: OnsetScan | None = None,
) -> float | None:
    """As :func:`onset_s` with the exposure ``it_weight x IT mg/day + oral_weight x oral MME/day``
    (constipation: systemic exposure in oral MME).  None: not before ``end_s``."""
    return scan_onset(exposure, end_s, threshold, rate_per_unit_year, WEIGHTED, it_weight, oral_weight, scan)


# ---- pain interference, satisfaction, return to work --------------------------------------------

INTERFERENCE_PER_PAIN = U(
    0.9,
    "assumption: BPI pain interference (mean of the 7 items, 0-10) = 0.9 x NRS pain, before and after; "
    "no mapping or IT trajectory with a mean found in our sources",
)
SATISFIED_RELIEF = S(
    0.30,
    "Farrar 2001 (Pain 94:149, 2,724 patients): on average a pain reduction of about 30% is what patients "
    "rate as 'much improved' (the mean of each patient's own threshold here)",
)
SATISFIED_SPREAD_POINTS = S2(
    2.48,
    "DATAPAIN cohort (Pain Practice 2022, doi 10.1111/papr.13089, 1,661 chronic-pain patients): the NRS "
    "change of patients rating their ongoing treatment a success had SD 2.48 points; taken as the spread "
    "between patients of the change each needs to be satisfied [U: that SD also holds the spread of the "
    "changes themselves, so it is an upper bound]",
)
WORKING_AGE_MAX_Y = U(65.0, "assumption: working age 18 to under 65")
WORKING_AGE_MIN_Y = U(18.0, "assumption: working age 18 to under 65")
NOT_WORKING_AT_BASELINE = S2(
    43 / 50,
    "Roberts 2001 (Eur J Pain 5:353): 43 of 50 working-age patients not working at follow-up, work status "
    "unchanged by the therapy, so taken as the share not working before it",
)
RETURN_TO_WORK_AT_FULL_RELIEF = U(
    0.30,
    "assumption: P(back at work by 12 months) = 0.30 x relief at 12 months (about 16% at the typical 55%), "
    "between Roberts 2001 (no change in work status) and Njee 2004 (5 of 19 back to their jobs, mean 54 months)",
)


def interference_from_pain(pain: float) -> float:
    """BPI pain interference (0-10) from the NRS pain."""
    return min(max(INTERFERENCE_PER_PAIN.value * pain, 0.0), 10.0)


def satisfied(baseline_pain: float, pain: float, threshold_z: float = 0.0) -> bool:
    """Satisfied with the therapy: the pain fell by at least the patient's own threshold, 30% of
    the baseline (Farrar 2001) + ``threshold_z`` x 2.48 NRS points (the spread between patients,
    DATAPAIN; ``threshold_z`` ~ N(0, 1) per patient; 0: the average patient)."""
    if baseline_pain <= 0:
        return False
    need = SATISFIED_RELIEF.value * baseline_pain + threshold_z * SATISFIED_SPREAD_POINTS.value
    return baseline_pain - pain >= need - 1e-12


def return_to_work_probability(baseline_pain: float, pain: float) -> float:
    """Probability that a working-age patient not working before is back at work by 12 months."""
    relief = 0.0 if baseline_pain <= 0 else 1.0 - pain / baseline_pain
    return RETURN_TO_WORK_AT_FULL_RELIEF.value * min(max(relief, 0.0), 1.0)


def later_outcomes(
    exposure: Sequence[tuple[float, float, float]],
    end_s: float,
    rng: np.random.Generator,
    *,
    baseline_pain: float,
    pain_12: float | None,
    age_y: float,
    thresholds: tuple[float, ...] | None = None,
) -> dict[str, Any]:
    """The issue-10 outcomes computed at the end of follow-up (PatientOutcome fields).

    ``rng`` is the patient's own stream for these: four Exp(1) onset thresholds (urinary retention,
    constipation, sweating, hypocortisolism), two uniforms (not working at baseline, back at work)
    and a standard normal (the patient's satisfaction threshold, :func:`satisfied`), always all
    seven in this order, so no other draw depends on them.  ``pain_12``: NRS pain at 12
    months after the implant (None: not followed that long).  ``thresholds``: the four onset
    thresholds already drawn from ``rng`` (the pathway draws them at the implant to find onsets
    at visits, care/steps/side_effect_steps.py); then only the uniforms and the normal are drawn here."""
    if thresholds is None:
        thresholds = tuple(float(x) for x in rng.exponential(size=4))
    th_ur, th_con, th_sw, th_cort = thresholds
    u_work, u_back = (float(x) for x in rng.random(size=2))
    z_satisfied = float(rng.standard_normal())  # drawn last: the earlier six draws are unchanged
    out: dict[str, Any] = {
        "urinary_retention_s": onset_s(exposure, end_s, th_ur, URINARY_RETENTION, count_oral=False),
        "constipation_s": onset_weighted_s(
            exposure, end_s, th_con, CONSTIPATION, it_weight=IT_TO_SYSTEMIC_MME.value, oral_weight=1.0
        ),
        "sweating_s": onset_s(exposure, end_s, th_sw, SWEATING, count_oral=True),
        "hypocortisolism_s": onset_s(exposure, end_s, th_cort, HYPOCORTISOLISM, count_oral=True),
    }
    working_age = WORKING_AGE_MIN_Y.value <= age_y < WORKING_AGE_MAX_Y.value
    not_working = working_age and u_work < NOT_WORKING_AT_BASELINE.value
    out["not_working_at_baseline"] = not_working if working_age else None
    if pain_12 is not None:
        out["pain_interference_baseline"] = interference_from_pain(baseline_pain)
        out["pain_interference_12_months"] = interference_from_pain(pain_12)
        out["satisfied_12_months"] = satisfied(baseline_pain, pain_12, z_satisfied)
        if not_working:
            out["returned_to_work_12_months"] = u_back < return_to_work_probability(baseline_pain, pain_12)
    return out
