"""Virtual cohorts: the whole care pathway for a population, summarised beside published figures.

``itdd.trial.cohort.run_cohort(patients, years, seed)`` samples patients ``0..N-1`` of cohort ``seed``
(:meth:`itdd.patient.PatientParams.sample`), runs each through
:func:`itdd.care.pathway.run_pathway` with a seed derived from ``(seed, index)`` only, and
aggregates their :class:`~itdd.care.outcome.PatientOutcome` in index order, so the summary is
identical for any number of worker processes.  :func:`summarize` is the pure arithmetic (tested
against hand-built outcomes); docs/cohort.md defines every metric, its group and its source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..timeunits import SECONDS_PER_DAY, SECONDS_PER_MONTH
from .hazards import CATHETER_KINDS, KINDS, YEAR_S
from .metrics import new_metrics, new_rows
from .outcome import PatientOutcome

__all__ = [
    "MAX_PATIENTS",
    "MAX_PATIENT_YEARS",
    "MAX_YEARS",
    "PUBLISHED",
    "REQUIRED_KEYS",
    "CohortSummary",
    "patient_seed",
    "summarize",
]

MONTH_S = SECONDS_PER_MONTH
DAY_S = SECONDS_PER_DAY
HORIZON_SLACK_S = DAY_S  # a patient followed "12 months" to within a day counts as followed 12 months

# Hard caps (assumption: what the shared 2-core machine finishes in hours, not days; the pathway
# plan itself refuses more than 40 years of follow-up).
MAX_PATIENTS = 100_000
MAX_YEARS = 40.0
MAX_PATIENT_YEARS = 200_000.0
MAX_WORKERS = 256

#: keys ``itdd cohort --json`` must always print (issue 4)
REQUIRED_KEYS = (
    "patients",
    "trial_success_rate",
    "implant_rate",
    "relief_50_at_12_months",
    "mean_dose_mg_per_day_6_months",
    "mean_dose_mg_per_day_36_months",
    "oral_mme_reduction",
    "complication_rate",
    "reoperation_rate",
    "explant_rate",
)


@dataclass(frozen=True)
class Published:
    value: float | None
    source: str
    years: float | None = None  # the horizon the figure was measured over, when it is a cumulative rate


#: the published figures the cohort is compared with (clinical-facts.md, all [S])
PUBLISHED: dict[str, Published] = {
    "trial_success_rate": Published(0.93, "Deer 2004 registry: 154 of 166 trialled"),
    "implant_rate": Published(136 / 166, "Deer 2004 registry: 136 implanted of 166 trialled"),
    "relief_50_at_12_months": Published(None, "no single published share; Deer 2004: back pain -47% at 12 months"),
    "mean_relief_12_months": Published(0.60, "Roberts 2001: mean relief 60% (at mean 36.2 months)"),
    "mean_relief_36_months": Published(0.60, "Roberts 2001: mean relief 60% (at mean 36.2 months)"),
    "mean_dose_mg_per_day_6_months": Published(9.95, "Roberts 2001: IT morphine at 6 months"),
    "mean_dose_mg_per_day_36_months": Published(15.26, "Roberts 2001: IT morphine at 36 months"),
    "oral_mme_reduction": Published(None, "none with a number in our sources (seed FAQ: 'less oral medication')"),
    "complication_free_9_months": Published(0.789, "Follett 2000: free of catheter complications at 9 months"),
    "complication_rate": Published(None, "Follett 2000: 37 of 209 (17.7%) over a mean 8.4 months"),
    "reoperation_rate": Published(0.40, "Roberts 2001: >= 1 re-operation over 3 years", years=3.0),
    "explant_rate": Published(0.06, "Roberts 2001: explanted over 3 years", years=3.0),
}

#: published complication rates per 100 patient-years (for the per-kind table)
PUBLISHED_PER_100PY: dict[str, Published] = {
    "catheter": Published(49 / 1764 * 12 * 100, "Follett 2000: 49 in 1,764 patient-months (mostly early)"),
    "infection": Published(0.7, "Swiss cohort: 0.7%/year"),
    "surgical": Published(10.5, "Swiss cohort: surgical complications 10.5%/year"),
    "pump_failure": Published(
        100 * -math.log(1 - 0.024) / 6.5, "motor stall 2.4% at 78 months (approved drugs), as a constant rate"
    ),
    "granuloma": Published(
        100 * -math.log(1 - 0.03) / 2.25, "Deer 2004: 3% of 208 imaged at mean 27 months, as a constant rate"
    ),
}


def patient_seed(seed: int, index: int) -> int:
    """The pathway seed of patient ``index`` of cohort ``seed`` (independent of workers and order)."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(index, 0x70617468))  # "path"
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class CohortSummary:
    """Metrics of a cohort (``metrics`` holds the ``--json`` keys), its table rows and its outcomes."""

    patients: int
    years: float
    seed: int | None
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]
    outcomes: tuple[PatientOutcome, ...] = field(repr=False)
    errors: tuple[str, ...] = ()
    indices: tuple[int, ...] = ()  # cohort index of each outcome (empty: 0, 1, 2, ...)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object: the required keys first, then the rest."""
        out: dict[str, Any] = {k: self.metrics.get(k) for k in REQUIRED_KEYS}
        out.update({k: v for k, v in self.metrics.items() if k not in out})
        out["years"] = self.years
        out["seed"] = self.seed
        out["failed_patients"] = len(self.errors)
        return out

    def cohort_section(self) -> dict[str, Any]:
        """The report's ``cohort`` section (:class:`itdd.report.schema.CohortInfo`)."""
        section: dict[str, Any] = {
            "rows": self.rows,
            "patients": self.patients,
            "years": self.years,
            "summary": self.to_json(),
            "calibration": CALIBRATION_TEXT,
        }
        if self.seed is not None:
            section["seed"] = self.seed
        return section


CALIBRATION_TEXT = (
    "Population: patient model calibrated to Deer 2004 (93% trial success with a 1 mg bolus) and "
    "Roberts 2001 (9.95 -> 15.26 mg/day, ~60% relief under a reference titration), see docs/patient-model.md. "
    "Complications: catheter hazard 0.316/year for the first 9 months (Follett 2000: 78.9% free at 9 months), "
    "then 0.085/year so that all re-operations reach Roberts' 40% at 3 years; infection 0.7%/year (Swiss cohort); "
    "motor stall 2.4%/7.0% at 78 months (approved/unapproved drugs); granuloma 3% at 27 months at 10 mg/day "
    "(Deer 2004), rising with dose and concentration (docs/cohort.md). Doses, relief and oral opioid use come "
    "from the pathway's titration policy, not from a fit: where they differ from Roberts, the policy differs "
    "from the reference titration. Cumulative published rates measured over another horizon are scaled "
    "assuming a constant hazard (noted in the row)."
)


# ---- arithmetic ----------------------------------------------------------------------------------


def _frac(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _mean(values: Sequence[float]) -> float | None:
    return None if not values else math.fsum(values) / len(values)


def _followed(o: PatientOutcome, months: float) -> bool:
    return o.followed_s + HORIZON_SLACK_S >= months * MONTH_S


def summarize(
    outcomes: Sequence[PatientOutcome],
    years: float,
    seed: int | None = None,
    errors: Sequence[str] = (),
    indices: Sequence[int] = (),
) -> CohortSummary:
    """Cohort metrics from outcomes (index order).  Each rate is a fraction of its own group;
    ``None`` when the horizon is too short for the metric or its group is empty (docs/cohort.md)."""
    n = len(outcomes)
    trialled = [o for o in outcomes if o.trial_success is not None]
    implanted = [o for o in outcomes if o.implanted]
    h12, h36, h6, h9 = years * 12 + 1e-9 >= 12, years * 12 + 1e-9 >= 36, years * 12 + 1e-9 >= 6, years * 12 >= 9

    # 12 months: implanted patients followed >= 12 months (a patient with no relief value there,
    # e.g. therapy stopped, counts as not relieved).
    g12 = [o for o in implanted if _followed(o, 12)] if h12 else []
    relief12 = [o.relief_12_months for o in g12 if o.relief_12_months is not None]
    oral_group = [o for o in g12 if o.oral_mme_per_day_12_months is not None]
    base_oral = _mean([o.baseline_oral_mme_per_day for o in oral_group])
    oral12 = _mean([o.oral_mme_per_day_12_months or 0.0 for o in oral_group])
    oral_reduction = None if base_oral is None or oral12 is None or base_oral <= 0 else 1.0 - oral12 / base_oral
    # 36 months: implanted patients followed >= 36 months, those with a relief value (Roberts' horizon)
    g36 = [o for o in implanted if _followed(o, 36)] if h36 else []
    relief36 = [o.relief_36_months for o in g36 if o.relief_36_months is not None]

    def after_implant(o: PatientOutcome) -> list[Any]:
        return [c for c in o.complications if c.stage in ("implant", "follow-up")]

    # Follett comparison: free of catheter complications in the first 9 months after implant,
    # among implanted patients followed 9 months or with such a complication before.
    def catheter_by_9_months(o: PatientOutcome) -> bool:
        return any(
            c.kind in CATHETER_KINDS and o.implant_s is not None and c.t_s - o.implant_s <= 9 * MONTH_S
            for c in o.complications
        )

    g9 = [o for o in implanted if _followed(o, 9) or catheter_by_9_months(o)] if h9 else []
    patient_years = math.fsum(o.followed_s for o in implanted) / YEAR_S

    per_kind: dict[str, int] = {k: 0 for k in KINDS}
    for o in implanted:
        for c in after_implant(o):
            per_kind[c.kind] = per_kind.get(c.kind, 0) + 1
    per_100py = {k: (None if patient_years <= 0 else 100.0 * v / patient_years) for k, v in per_kind.items()}

    metrics: dict[str, Any] = {
        "patients": n,
        "trial_success_rate": _frac(sum(1 for o in trialled if o.trial_success), len(trialled)),
        "implant_rate": _frac(len(implanted), n),
        "relief_50_at_12_months": _frac(sum(1 for r in relief12 if r >= 0.5), len(g12)) if g12 else None,
        "mean_dose_mg_per_day_6_months": _mean(
            [o.dose_mg_per_day_6_months for o in implanted if o.dose_mg_per_day_6_months is not None]
        )
        if h6
        else None,
        "mean_dose_mg_per_day_36_months": _mean(
            [o.dose_mg_per_day_36_months for o in implanted if o.dose_mg_per_day_36_months is not None]
        )
        if h36
        else None,
        "oral_mme_reduction": oral_reduction if h12 else None,
        "complication_rate": _frac(sum(1 for o in implanted if after_implant(o)), len(implanted)),
        "reoperation_rate": _frac(sum(1 for o in implanted if o.reoperations > 0), len(implanted)),
        "explant_rate": _frac(sum(1 for o in implanted if o.explanted), len(implanted)),
        # beyond the required keys
        "refused_rate": _frac(sum(1 for o in outcomes if o.refused), n),
        "trialled": len(trialled),
        "implanted": len(implanted),
        "followed_12_months": len(g12),
        "mean_relief_12_months": _mean(relief12) if g12 else None,
        "mean_relief_36_months": _mean(relief36) if g36 else None,
        "mean_oral_mme_per_day_baseline": base_oral if h12 else None,
        "mean_oral_mme_per_day_12_months": oral12 if h12 else None,
        "complication_free_9_months": _frac(sum(1 for o in g9 if not catheter_by_9_months(o)), len(g9)) if g9 else None,
        "implanted_patient_years": patient_years,
        "complications_per_100_patient_years": per_100py,
        "complication_counts": per_kind,
    }
    metrics.update(new_metrics(outcomes, years))  # issue 10: deaths, durability, side effects, PROs
    rows = _rows(metrics, years) + new_rows(metrics)
    return CohortSummary(n, years, seed, metrics, rows, tuple(outcomes), tuple(errors), tuple(indices))


def _scaled(pub: Published, years: float) -> tuple[float | None, str]:
    """A cumulative published rate at ``years`` (constant-hazard scaling when the horizon differs)."""
    if pub.value is None or pub.years is None or abs(pub.years - years) < 1e-9:
        return pub.value, ""
    scaled = 1.0 - (1.0 - pub.value) ** (years / pub.years)
    return scaled, (
        f"published {pub.value:.0%} over {pub.years:g} years, scaled to {years:g} years assuming a constant hazard"
    )


def _rows(m: dict[str, Any], years: float) -> list[dict[str, Any]]:
    def row(metric: str, key: str, unit: str, note: str = "", published: float | None = None) -> dict[str, Any]:
        pub = PUBLISHED.get(key)
        value = pub.value if pub is not None else published
        scale_note = ""
        if pub is not None and pub.years is not None:
            value, scale_note = _scaled(pub, years)
        r: dict[str, Any] = {
            "metric": metric,
            "simulated": m.get(key),
            "published": value,
            "source": pub.source if pub is not None else "",
            "unit": unit,
        }
        text = "; ".join(t for t in (note, scale_note) if t)
        if m.get(key) is None and key in m:
            text = "; ".join(t for t in (text, "horizon too short or group empty") if t)
        if text:
            r["note"] = text
        return r

    rows = [
        row("Trial success (of trialled)", "trial_success_rate", "fraction"),
        row(
            "Implanted (of all patients)",
            "implant_rate",
            "fraction",
            "Deer's figure is of trialled patients; ours includes refusals",
        ),
        row("≥50% relief at 12 months (implanted, followed 12 months)", "relief_50_at_12_months", "fraction"),
        row(
            "Mean relief at 12 months",
            "mean_relief_12_months",
            "fraction",
            "Roberts measured at a mean 36 months; Deer 2004 at 12 months: back pain -47%, leg pain -31%",
        ),
        row("Mean relief at 36 months", "mean_relief_36_months", "fraction", "Roberts' horizon"),
        row("Mean IT dose at 6 months", "mean_dose_mg_per_day_6_months", "mg/day", "morphine equivalents"),
        row("Mean IT dose at 36 months", "mean_dose_mg_per_day_36_months", "mg/day", "morphine equivalents"),
        row("Oral opioid (MME) reduction at 12 months", "oral_mme_reduction", "fraction"),
        row("Free of catheter complications at 9 months", "complication_free_9_months", "fraction"),
        row(
            f"≥1 complication after implant (over {years:g} years)",
            "complication_rate",
            "fraction",
            "all kinds, implant stage included",
        ),
        row(f"≥1 re-operation (over {years:g} years)", "reoperation_rate", "fraction"),
        row(f"Explanted (over {years:g} years)", "explant_rate", "fraction"),
    ]
    per = m["complications_per_100_patient_years"]
    catheter = None
    if per and all(per.get(k) is not None for k in CATHETER_KINDS):
        catheter = math.fsum(per[k] for k in CATHETER_KINDS)
    for label, key, value in (
        ("Catheter complications /100 patient-years", "catheter", catheter),
        ("Infections /100 patient-years", "infection", per.get("infection")),
        ("Granulomas /100 patient-years", "granuloma", per.get("granuloma")),
        ("Pump failures /100 patient-years", "pump_failure", per.get("pump_failure")),
    ):
        pub = PUBLISHED_PER_100PY[key]
        r = {
            "metric": label,
            "simulated": value,
            "published": pub.value,
            "source": pub.source,
            "unit": "per 100 patient-years",
        }
        if key == "catheter":
            r["note"] = "Follett's 8.4-month mean follow-up weighs the early (high) rate; longer cohorts fall below it"
        elif key == "granuloma":
            r["note"] = "Deer's population at ~10 mg/day (assumed); the hazard rises with dose and concentration"
        rows.append(r)
    return rows


# ---- running -------------------------------------------------------------------------------------


def _validate(patients: Any, years: Any, seed: Any, workers: Any) -> None:
    if isinstance(patients, bool) or not isinstance(patients, int):
        raise InputError("--patients", f"must be a whole number, got {patients!r}")
    if patients <= 0:
        raise InputError("--patients", f"must be at least 1, got {patients}")
    if patients > MAX_PATIENTS:
        raise InputError("--patients", f"{patients} is above the limit of {MAX_PATIENTS:,} patients")
    if isinstance(years, bool) or not isinstance(years, (int, float)) or not math.isfinite(years):
        raise InputError("--years", f"must be a number of years, got {years!r}")
    if years <= 0:
        raise InputError("--years", f"must be more than 0, got {years:g}")
    if years > MAX_YEARS:
        raise InputError("--years", f"{years:g} is above the limit of {MAX_YEARS:g} years")
    if patients * years > MAX_PATIENT_YEARS:
        raise InputError(
            "--patients",
            f"{patients} patients x {years:g} years = {patients * years:,.0f} patient-years, "
            f"above the limit of {MAX_PATIENT_YEARS:,.0f}",
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("--seed", f"must be a whole number >= 0, got {seed!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError("--workers", f"must be a whole number >= 1, got {workers!r}")
    if workers is not None and workers > MAX_WORKERS:
        raise InputError("--workers", f"{workers} is above the limit of {MAX_WORKERS}")


def _plan_for(plan: Any, years: float) -> Any:
    from .plan import PathwayPlan

    base = PathwayPlan() if plan is None else plan
    try:
        return base.model_copy(update={"years": float(years)})
    except AttributeError:
        raise InputError("plan", "must be a PathwayPlan") from None
