"""Side effects that build with opioid exposure, and what patients report (ODI, EQ-5D).

Pure functions: the pathway records the patient's opioid exposure (intrathecal dose and oral
opioids, piecewise constant between changes) and, at the end of the follow-up, asks here when
peripheral oedema and hypogonadism began and what the patient-reported outcomes were.  They do
not feed back into the pathway (no clinician reaction to them yet: docs/care.md says so).

* Onsets: exposure-driven hazards, exact: onset where the cumulative hazard (rate x exposure x
  time) crosses the patient's own Exp(1) threshold.
* ODI (Oswestry Disability Index, 0-100) and EQ-5D utility: mapped from the model's pain
  (assumptions, docs/cohort.md: no published trajectory with a mean found in our sources).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..timeunits import SECONDS_PER_YEAR
from .parameters import S, U

__all__ = ["EDEMA", "HYPOGONADISM", "eq5d_from_pain", "odi_from_pain", "onset_s"]

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


def onset_s(
    exposure: Sequence[tuple[float, float, float]],
    end_s: float,
    threshold: float,
    rate_per_mg_day_year: float,
    *,
    count_oral: bool,
) -> float | None:
    """When a side effect begins: ``exposure`` is ``(t_s, IT-morphine mg/day, oral MME/day)``
    rows, each holding until the next (the last until ``end_s``); the hazard is ``rate x (IT
    dose [+ oral / 300])``.  None: not before ``end_s``."""
    cum = 0.0
    for i, (t, it, oral) in enumerate(exposure):
        t_next = exposure[i + 1][0] if i + 1 < len(exposure) else end_s
        t_next = min(t_next, end_s)
        if t_next <= t:
            continue
        level = max(it, 0.0) + (max(oral, 0.0) / ORAL_TO_IT.value if count_oral else 0.0)
        rate = rate_per_mg_day_year * level
        step = rate * (t_next - t) / YEAR_S
        if rate > 0 and cum + step >= threshold:
            return t + (threshold - cum) / rate * YEAR_S
        cum += step
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
