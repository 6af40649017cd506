"""Cohort figures of a cancer-pain cohort beside the published ones (docs/cohort.md "Cancer population").

Added to ``itdd cohort --population cancer`` (cli/cohort.py): keys of :data:`CANCER_KEYS` in the
``--json`` object and rows in the table.  Each figure is computed from the patients' outcomes
(:class:`~itdd.care.outcome.PatientOutcome`); each published figure has its source.  A return to
work is not a goal at the end of life: for cancer pain ``return_to_work_12_months`` is None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..patient.parameters import S, Sourced
from ..timeunits import DAYS_PER_YEAR, SECONDS_PER_DAY, SECONDS_PER_MONTH
from .cancer import (
    SMITH_BOTH,
    SMITH_PAIN_REDUCTION,
    SMITH_SUCCESS,
    SMITH_TOXICITY_REDUCTION,
    SUCCESS_REDUCTION,
    clinical_success,
)
from .metrics import LABELS
from .outcome import PatientOutcome

__all__ = ["CANCER_KEYS", "cancer_metrics", "cancer_rows"]

SMITH_SURVIVAL_6_MONTHS = S(0.539, "Smith 2002: 53.9% of the IDDS group alive at 6 months")
CORNELL_MEDIAN_SURVIVAL_MONTHS = S(
    3.62, "Weill Cornell cancer-centre series 2013-2021 (193 ITP implants): median survival 3.62 months after implant"
)
CORNELL_COMPLICATION_1_YEAR = S(0.156, "Weill Cornell series: 1-year cumulative incidence of any complication 15.6%")
CORNELL_REOPERATION_1_YEAR = S(0.042, "Weill Cornell series: 1-year cumulative incidence of re-operation 4.2%")

#: key: (label, published figure, unit)
PUBLISHED: dict[str, tuple[str, Sourced, str]] = {
    "cancer_clinical_success_4_weeks": (
        "Clinical success at 4 weeks (Smith 2002 definition)",
        SMITH_SUCCESS,
        "fraction",
    ),
    "cancer_pain_and_toxicity_reduced_4_weeks": (
        "≥20% less pain and ≥20% less toxicity at 4 weeks",
        SMITH_BOTH,
        "fraction",
    ),
    "cancer_mean_pain_reduction_4_weeks": ("Mean pain reduction at 4 weeks", SMITH_PAIN_REDUCTION, "fraction"),
    "cancer_mean_toxicity_reduction_4_weeks": (
        "Mean drug-toxicity reduction at 4 weeks",
        SMITH_TOXICITY_REDUCTION,
        "fraction",
    ),
    "cancer_survival_6_months": ("Alive 6 months after implant", SMITH_SURVIVAL_6_MONTHS, "fraction"),
    "cancer_median_survival_months": (
        "Median survival after implant (Kaplan–Meier)",
        CORNELL_MEDIAN_SURVIVAL_MONTHS,
        "months",
    ),
    "cancer_any_complication_1_year": (
        "Any complication within 1 year (implanted)",
        CORNELL_COMPLICATION_1_YEAR,
        "fraction",
    ),
    "cancer_reoperation_1_year": ("Re-operation within 1 year (implanted)", CORNELL_REOPERATION_1_YEAR, "fraction"),
}
CANCER_KEYS: tuple[str, ...] = (*PUBLISHED, "cancer_measured_4_weeks", "cancer_new_pains_per_patient")

_YEAR_DAYS = DAYS_PER_YEAR
_SIX_MONTHS_DAYS = _YEAR_DAYS / 2


def _frac(k: int, n: int) -> float | None:
    return k / n if n else None


def km_median(times_and_events: Sequence[tuple[float, bool]]) -> float | None:
    """Kaplan–Meier median of ``(time, event)`` pairs (event False: censored); None when the curve
    stays above 1/2.  The median is the first event time where survival falls to 1/2 or below."""
    at_risk = len(times_and_events)
    surv = 1.0
    for t, ev in sorted(times_and_events, key=lambda x: (x[0], not x[1])):
        if ev:
            surv *= 1.0 - 1.0 / at_risk
            if surv <= 0.5 + 1e-12:
                return t
        at_risk -= 1
    return None


def _complication_within(o: PatientOutcome, days: float) -> bool:
    """A complication at the implant or in follow-up within ``days`` of the implant."""
    t0 = o.implant_s if o.implant_s is not None else 0.0
    return any(c.stage in ("implant", "follow-up") and (c.t_s - t0) / SECONDS_PER_DAY <= days for c in o.complications)


def cancer_metrics(outcomes: Sequence[PatientOutcome], years: float) -> dict[str, Any]:
    """The cancer figures of these outcomes (the keys of :data:`CANCER_KEYS`)."""
    implanted = [o for o in outcomes if o.implanted and o.implant_s is not None]
    measured = [
        o
        for o in implanted
        if o.pain_enrolment is not None
        and o.pain_4_weeks is not None
        and o.toxicity_enrolment is not None
        and o.toxicity_4_weeks is not None
    ]
    r = SUCCESS_REDUCTION.value
    success = both = 0
    pain0 = pain4 = tox0 = tox4 = 0.0
    for o in measured:
        p0, p4, t0, t4 = o.pain_enrolment, o.pain_4_weeks, o.toxicity_enrolment, o.toxicity_4_weeks
        assert p0 is not None and p4 is not None and t0 is not None and t4 is not None
        success += int(clinical_success(pain_before=p0, pain_after=p4, toxicity_before=t0, toxicity_after=t4))
        both += int(p4 <= (1 - r) * p0 and t4 <= (1 - r) * t0)
        pain0, pain4, tox0, tox4 = pain0 + p0, pain4 + p4, tox0 + t0, tox4 + t4
    n = len(implanted)
    out: dict[str, Any] = {
        "cancer_measured_4_weeks": len(measured),
        "cancer_clinical_success_4_weeks": _frac(success, len(measured)),
        "cancer_pain_and_toxicity_reduced_4_weeks": _frac(both, len(measured)),
        # as Smith reported them: the change of the group's mean score
        "cancer_mean_pain_reduction_4_weeks": 1 - pain4 / pain0 if pain0 > 0 else None,
        "cancer_mean_toxicity_reduction_4_weeks": 1 - tox4 / tox0 if tox0 > 0 else None,
    }
    deaths = [o.death_day for o in implanted]
    out["cancer_survival_6_months"] = (
        _frac(sum(1 for d in deaths if d is None or d > _SIX_MONTHS_DAYS), n) if years >= 0.5 else None
    )
    pairs = [
        (o.death_day if o.death_day is not None else o.followed_s / SECONDS_PER_DAY, o.death_day is not None)
        for o in implanted
    ]
    med = km_median(pairs)
    out["cancer_median_survival_months"] = None if med is None else med * SECONDS_PER_DAY / SECONDS_PER_MONTH
    horizon = min(years, 1.0) * _YEAR_DAYS
    any_comp = sum(1 for o in implanted if _complication_within(o, horizon))
    reop = sum(1 for o in implanted if o.reoperation_day is not None and o.reoperation_day <= horizon)
    out["cancer_any_complication_1_year"] = _frac(any_comp, n) if years >= 1.0 else None
    out["cancer_reoperation_1_year"] = _frac(reop, n) if years >= 1.0 else None
    out["cancer_new_pains_per_patient"] = sum(o.cancer_events for o in implanted) / n if n else None
    out["return_to_work_12_months"] = None  # not a goal at the end of life (care/cancer.py)
    for k, v in out.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
    return out


def cancer_rows(m: dict[str, Any], rows_before: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Table/report rows: each cancer figure beside its published one.  ``rows_before`` (the
    cohort's own rows): the return-to-work row is emptied (not a goal at the end of life)."""
    for r in rows_before or ():
        if r.get("metric") == LABELS["return_to_work_12_months"]:
            r["simulated"] = None
            r["note"] = "not a goal at the end of life (cancer pain): not counted"
    rows = []
    for key, (label, pub, unit) in PUBLISHED.items():
        row: dict[str, Any] = {
            "metric": label,
            "simulated": m.get(key),
            "published": pub.value,
            "source": pub.source,
            "unit": unit,
        }
        if m.get(key) is None:
            row["note"] = "horizon too short or group empty"
        rows.append(row)
    return rows
