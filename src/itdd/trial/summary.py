"""A trial from protocol to summary: enrol, run every arm, estimate, compare, count.

:func:`run_trial` is the imperative shell (it runs patients); :func:`summarize_trial` is the
pure part, from the arms' outcomes to the JSON contract (docs/trials.md "JSON contract").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import DISCLAIMER, __version__
from ..care.hazards import YEAR_S
from ..timeunits import SECONDS_PER_DAY
from .contract import (
    ArmSummary,
    ComparisonRow,
    Consort,
    DoseBands,
    Estimate,
    IndividualEffect,
    KaplanMeierCurve,
    TrialSummary,
)
from .endpoints import ENDPOINTS
from .protocol import Protocol
from .runner import ArmRun, enrol, population_of, run_arms
from .statistics import arm_estimate, compare, extract, individual_effects, kaplan_meier

__all__ = ["TrialResult", "run_trial", "summarize_trial"]

HORIZON_SLACK_S = SECONDS_PER_DAY
DOSE_PERCENTILES = (10, 25, 50, 75, 90)


@dataclass(frozen=True)
class TrialResult:
    protocol: Protocol
    arms: list[ArmRun]
    summary: TrialSummary
    sampled: int


def run_trial(
    protocol: Protocol,
    *,
    workers: int | None = None,
    dask: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrialResult:
    """Run every arm of ``protocol`` and summarise it (identical for any workers or Dask)."""
    p = protocol
    n, k = p.patients_per_arm, p.n_arms
    spec = p.population_spec
    indices, sampled = enrol(p.seed, n if p.paired else n * k, spec)
    assignments = [indices if p.paired else indices[j * n : (j + 1) * n] for j in range(k)]
    plans = [a.plan(p.years, spec.kind) for a in p.arms]
    arms = run_arms(
        p.seed,
        plans,
        assignments,
        population=population_of(spec),
        workers=workers,
        dask=dask,
        progress=progress,
    )
    summary = summarize_trial(p, arms, sampled=sampled)
    return TrialResult(p, arms, summary, sampled)


def _consort(p: Protocol, run: ArmRun) -> Consort:
    outs = [o for o in run.outcomes if o is not None]
    horizon_s = p.years * YEAR_S
    implanted = [o for o in outs if o.implanted]
    return {
        "screened": len(run.outcomes),
        "refused": sum(1 for o in outs if o.refused is not None),
        "trialled": sum(1 for o in outs if o.trial_success is not None),
        "trial_failed": sum(1 for o in outs if o.trial_success is False),
        "implanted": len(implanted),
        "completed": sum(1 for o in implanted if not o.explanted and o.followed_s + HORIZON_SLACK_S >= horizon_s),
        "died": sum(1 for o in implanted if o.death_s is not None),
        "explanted": sum(1 for o in implanted if o.explanted),
        "lost": len(run.errors),
    }


def _dose_bands(p: Protocol, run: ArmRun) -> DoseBands:
    """Programmed dose (mg/day) at each month after the implant, percentiles over implanted patients."""
    months = list(range(int(p.years * 12 + 1e-9) + 1))
    rows = []
    for o in run.outcomes:
        if o is None or not o.implanted or o.implant_s is None or not o.dose_steps:
            continue
        ts = np.array([t for t, _ in o.dose_steps])
        ds = np.array([d for _, d in o.dose_steps])
        grid = o.implant_s + np.array(months, dtype=float) * (YEAR_S / 12.0)
        j = np.searchsorted(ts, grid + 1e-6, side="right") - 1
        rows.append(np.where(j >= 0, ds[np.maximum(j, 0)], 0.0))
    bands: list[list[float | None]]
    if not rows:
        bands = [[None] * len(months) for _ in DOSE_PERCENTILES]
    else:
        pct = np.percentile(np.vstack(rows), DOSE_PERCENTILES, axis=0)
        bands = [[float(v) for v in row] for row in pct]
    p10, p25, p50, p75, p90 = bands  # DOSE_PERCENTILES, in order
    return {"months": months, "patients": len(rows), "p10": p10, "p25": p25, "p50": p50, "p75": p75, "p90": p90}


def _km_curve(kmf: Any) -> KaplanMeierCurve:
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_survival_function_

    def clean(xs: Any) -> list[float | None]:
        return [float(x) if np.isfinite(x) else None for x in xs]

    return {
        "t_years": clean(sf.index.to_numpy()),
        "survival": clean(sf.iloc[:, 0].to_numpy()),
        "ci_low": clean(ci.iloc[:, 0].to_numpy()),
        "ci_high": clean(ci.iloc[:, 1].to_numpy()),
    }


def _complement(ep: Any, r: Estimate) -> Estimate:
    """A cumulative-incidence endpoint (``complement``): 1 - the event-free estimate and interval."""
    if not ep.complement:
        return r

    def one_minus(x: float | None) -> float | None:
        return None if x is None else 1.0 - x

    return {
        "estimate": one_minus(r["estimate"]),
        "ci_low": one_minus(r["ci_high"]),
        "ci_high": one_minus(r["ci_low"]),
        "n": r["n"],
    }


def _neg(x: float | None) -> float | None:
    return None if x is None else -x


def _at(p: Protocol, endpoint: str) -> float:
    """When a time-to-event endpoint is read: its own time (e.g. 5 years) or the trial horizon."""
    at = ENDPOINTS[endpoint].at_years
    return p.years if at is None else at


def summarize_trial(p: Protocol, arms: list[ArmRun], *, sampled: int | None = None) -> TrialSummary:
    """The JSON contract (docs/trials.md) from the arms' outcomes; pure and deterministic."""
    names = p.endpoints.all
    data = {e: [extract(ENDPOINTS[e], run.outcomes, p.years) for run in arms] for e in names}
    out_arms: list[ArmSummary] = []
    for k, (arm, run) in enumerate(zip(p.arms, arms, strict=True)):
        # one bootstrap stream per endpoint, the same in every arm: identical arms, identical intervals
        eps = {
            e: _complement(ENDPOINTS[e], arm_estimate(ENDPOINTS[e], data[e][k], _at(p, e), p.seed, (1, j)))
            for j, e in enumerate(names)
        }
        out_arms.append({"name": arm.name, "patients": len(run.outcomes), "endpoints": eps})
    comparisons: list[ComparisonRow] = []
    effects: dict[str, dict[str, IndividualEffect]] = {}
    ref = p.arms[0].name
    for j, e in enumerate(names):
        ep = ENDPOINTS[e]
        for k in range(1, p.n_arms):
            c = compare(
                ep,
                data[e][0],
                data[e][k],
                paired=p.paired,
                horizon=_at(p, e),
                seed=p.seed,
                key=(2, j, k),
                resamples=p.bootstrap_resamples,
            )
            if ep.complement:  # 1 - S: the difference and its interval change sign
                c = {
                    **c,
                    "difference": _neg(c["difference"]),
                    "ci_low": _neg(c["ci_high"]),
                    "ci_high": _neg(c["ci_low"]),
                }
            comparisons.append(
                {
                    "endpoint": e,
                    "arm": p.arms[k].name,
                    "reference": ref,
                    "difference": c["difference"],
                    "ci_low": c["ci_low"],
                    "ci_high": c["ci_high"],
                    "p_value": c["p_value"],
                    "test": c["test"],
                    "n": c["n"],
                }
            )
            if p.paired:
                eff = individual_effects(ep, data[e][0], data[e][k])
                if eff is not None:
                    effects.setdefault(e, {})[p.arms[k].name] = eff
    km: dict[str, dict[str, KaplanMeierCurve]] = {}
    for e in names:
        if ENDPOINTS[e].kind != "time_to_event":
            continue
        km[e] = {}
        for k, arm in enumerate(p.arms):
            kmf = kaplan_meier(data[e][k])
            km[e][arm.name] = (
                _km_curve(kmf) if kmf is not None else {"t_years": [], "survival": [], "ci_low": [], "ci_high": []}
            )
    n_needed = p.patients_per_arm * (1 if p.paired else p.n_arms)
    return {
        "itdd_version": __version__,
        "disclaimer": DISCLAIMER,
        "name": p.name,
        "seed": p.seed,
        "patients_per_arm": p.patients_per_arm,
        "years": p.years,
        "paired": p.paired,
        "reference": ref,
        "endpoints": {
            "primary": p.endpoints.primary,
            "secondary": [e for e in names if e != p.endpoints.primary],
            "units": {e: ENDPOINTS[e].unit for e in names},
            "kinds": {e: ENDPOINTS[e].kind for e in names},
        },
        "enrolment": {"sampled": sampled if sampled is not None else n_needed, "eligible": n_needed},
        "arms": out_arms,
        "comparisons": comparisons,
        "consort": {arm.name: _consort(p, run) for arm, run in zip(p.arms, arms, strict=True)},
        "kaplan_meier": km,
        "individual_effects": effects,
        "dose_trajectories": {arm.name: _dose_bands(p, run) for arm, run in zip(p.arms, arms, strict=True)},
        "failed_patients": {arm.name: list(run.errors) for arm, run in zip(p.arms, arms, strict=True)},
        "protocol": p.model_dump(mode="json"),
    }
