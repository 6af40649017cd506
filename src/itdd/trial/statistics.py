"""Estimates, intervals and comparisons, by the libraries made for them.

Per arm (95% intervals):

* proportion: Wilson score interval (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``);
* mean: t interval (``scipy.stats.ttest_1samp(...).confidence_interval()``);
* ratio: percentile bootstrap over patients (``scipy.stats.bootstrap``);
* rate: exact Poisson (Garwood) interval from ``scipy.stats.chi2``;
* time to event: Kaplan-Meier with Greenwood (log-log) intervals (``lifelines.KaplanMeierFitter``),
  the estimate being the event-free probability at the trial horizon.

Between a non-reference arm and the reference, ``difference = estimate(arm) - estimate(reference)``
(so the table and the forest plot agree with the arms), its 95% interval by percentile bootstrap
over patients (paired: the same patients resampled in both arms; unpaired: each arm resampled on
its own) and a p-value from the test made for the kind: McNemar's exact test (paired proportions
when both arms have the same group; otherwise the paired bootstrap, see docs/trials.md),
Fisher's exact test (unpaired proportions), the paired t test (``ttest_rel``) or Welch's t test
(means), the log-rank test (``lifelines.statistics.logrank_test``; time to event) and the bootstrap
itself for ratios and rates.  Bootstrap streams are seeded from the protocol seed, the endpoint
and the arm: results never depend on workers.  Only the weighted Kaplan-Meier estimate inside the
bootstrap is hand-written (lifelines fits one curve at a time; a thousand resamples of 10,000
patients need it vectorised); it is checked against lifelines in the tests.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .contract import Comparison, Estimate, IndividualEffect
from .endpoints import Endpoint

__all__ = ["ArmData", "arm_estimate", "compare", "extract", "individual_effects", "kaplan_meier"]

Z = 0.95
NOISE = 1e-12  # an interval bound this close to 0 is rounding noise


@dataclass(frozen=True)
class ArmData:
    """One endpoint in one arm, one row per patient position (NaN: not in the group or lost)."""

    a: np.ndarray  # value / numerator / events / duration (years)
    b: np.ndarray | None = None  # denominator / years at risk / event observed (1.0 or 0.0)


def extract(endpoint: Endpoint, outcomes: Any, years: float) -> ArmData:
    """Per-patient arrays for ``endpoint`` from outcomes (None: patient lost)."""
    assert endpoint.extract is not None
    n = len(outcomes)
    a = np.full(n, np.nan)
    b = np.full(n, np.nan) if endpoint.kind in ("ratio", "rate", "time_to_event") else None
    for i, o in enumerate(outcomes):
        if o is None:
            continue
        v = endpoint.extract(o, years)
        if v is None:
            continue
        if isinstance(v, tuple):
            a[i], b[i] = v  # type: ignore[index]
        else:
            a[i] = v
    return ArmData(a, b)


def _f(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(0x7472, *key)))


# ---- vectorised estimators (rows of an index matrix: one bootstrap resample each) ------------------


def _est(kind: str, d: ArmData, idx: np.ndarray, horizon: float) -> np.ndarray:
    """The endpoint's estimate for each row of ``idx`` (shape (..., n) of patient positions)."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind in ("proportion", "mean"):
            return np.nanmean(d.a[idx], axis=-1)
        assert d.b is not None
        if kind == "ratio":
            return 1.0 - np.nansum(d.a[idx], axis=-1) / np.nansum(d.b[idx], axis=-1)
        if kind == "rate":
            return 100.0 * np.nansum(d.a[idx], axis=-1) / np.nansum(d.b[idx], axis=-1)
        return _km_at(d, idx, horizon)


def _km_at(d: ArmData, idx: np.ndarray, horizon: float) -> np.ndarray:
    """Kaplan-Meier event-free probability at ``horizon``, one per row of ``idx`` (weights = counts)."""
    assert d.b is not None
    idx2 = idx.reshape(-1, idx.shape[-1])
    rows = idx2.shape[0]
    n = d.a.shape[0]
    flat = (np.arange(rows)[:, None] * n + idx2).ravel()
    w = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)
    at_risk = ~np.isnan(d.a)
    order = np.argsort(np.where(at_risk, d.a, np.inf), kind="stable")
    order = order[at_risk[order]]
    t = d.a[order]
    e = d.b[order] > 0.5
    w = w[:, order]
    risk = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]  # weight at risk from each position on
    ev_pos = np.nonzero(e & (t <= horizon + 1e-12))[0]
    out = np.ones(rows)
    if ev_pos.size:
        times, first = np.unique(t[ev_pos], return_index=True)
        deaths = np.add.reduceat(w[:, ev_pos], first, axis=1)
        start = np.searchsorted(t, times, side="left")
        n_risk = risk[:, start]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(n_risk > 0, 1.0 - deaths / np.where(n_risk > 0, n_risk, 1.0), 1.0)
        out = np.prod(f, axis=1)
    any_risk = w.sum(axis=1) > 0
    out = np.where(any_risk, out, np.nan)
    return out.reshape(idx.shape[:-1])


# ---- per arm ---------------------------------------------------------------------------------------


def kaplan_meier(d: ArmData) -> Any:
    """A fitted lifelines KaplanMeierFitter (None if nobody is at risk)."""
    from lifelines import KaplanMeierFitter

    assert d.b is not None
    m = ~np.isnan(d.a)
    if not m.any():
        return None
    kmf = KaplanMeierFitter(alpha=1 - Z)
    kmf.fit(d.a[m], event_observed=d.b[m], timeline=None)
    return kmf


def _km_point(kmf: Any, horizon: float) -> tuple[float | None, float | None, float | None]:
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_survival_function_
    t = sf.index.to_numpy()
    j = int(np.searchsorted(t, horizon + 1e-12, side="right")) - 1
    j = max(j, 0)
    return _f(sf.iloc[j, 0]), _f(ci.iloc[j, 0]), _f(ci.iloc[j, 1])


def arm_estimate(endpoint: Endpoint, d: ArmData, horizon: float, seed: int, key: tuple[int, ...]) -> Estimate:
    """``{estimate, ci_low, ci_high, n}`` for one arm (None where undefined, e.g. an empty group)."""
    kind = endpoint.kind
    m = ~np.isnan(d.a)
    n = int(m.sum())
    none: Estimate = {"estimate": None, "ci_low": None, "ci_high": None, "n": n}
    if n == 0:
        return none
    if kind == "proportion":
        k = round(float(d.a[m].sum()))
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=Z, method="wilson")
        return {"estimate": k / n, "ci_low": _f(ci.low), "ci_high": _f(ci.high), "n": n}
    if kind == "mean":
        x = d.a[m]
        mean = math.fsum(x.tolist()) / n
        if n < 2:
            return {"estimate": mean, "ci_low": None, "ci_high": None, "n": n}
        if float(np.ptp(x)) == 0.0:
            return {"estimate": mean, "ci_low": mean, "ci_high": mean, "n": n}
        ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence_level=Z)
        return {"estimate": mean, "ci_low": _f(ci.low), "ci_high": _f(ci.high), "n": n}
    assert d.b is not None
    if kind == "ratio":
        num, den = d.a[m], d.b[m]
        if float(den.sum()) <= 0:
            return none
        est = 1.0 - math.fsum(num.tolist()) / math.fsum(den.tolist())
        lo, hi = _boot_ci(lambda i: 1.0 - num[i].sum(axis=-1) / den[i].sum(axis=-1), n, seed, key)
        return {"estimate": est, "ci_low": lo, "ci_high": hi, "n": n}
    if kind == "rate":
        events, yrs = float(d.a[m].sum()), float(d.b[m].sum())
        if yrs <= 0:
            return none
        ev_lo = 0.0 if events == 0 else float(stats.chi2.ppf((1 - Z) / 2, 2 * events)) / 2
        ev_hi = float(stats.chi2.ppf(1 - (1 - Z) / 2, 2 * events + 2)) / 2
        rate = 100 * events / yrs
        return {"estimate": rate, "ci_low": _f(100 * ev_lo / yrs), "ci_high": _f(100 * ev_hi / yrs), "n": n}
    kmf = kaplan_meier(d)
    km_est, km_lo, km_hi = _km_point(kmf, horizon)
    return {"estimate": km_est, "ci_low": km_lo, "ci_high": km_hi, "n": n}


def _bootstrap(data: tuple[np.ndarray, ...], stat: Any, paired: bool, b: int, seed: int, key: tuple[int, ...]) -> Any:
    """The bootstrap distribution (scipy.stats.bootstrap over patient positions), finite values only:
    a resample whose group happens to be empty has no estimate and is left out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the interval is taken below from the finite resamples
        res = stats.bootstrap(
            data,
            stat,
            vectorized=True,
            paired=paired,
            n_resamples=b,
            batch=100,
            method="percentile",
            confidence_level=Z,
            random_state=_rng(seed, *key),
        )
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    return dist[np.isfinite(dist)]


def _percentile_ci(dist: np.ndarray) -> tuple[float | None, float | None]:
    if dist.size == 0:
        return None, None
    lo, hi = np.quantile(dist, [(1 - Z) / 2, 1 - (1 - Z) / 2])
    # floating-point noise (two Kaplan-Meier products of the same factors in another order differ by
    # ~1e-16) is reported as 0, not as an interval of 1e-16
    return _f(_snap(lo)), _f(_snap(hi))


def _snap(x: float) -> float:
    return 0.0 if abs(x) < NOISE else float(x)


def _boot_ci(fn: Any, n: int, seed: int, key: tuple[int, ...], b: int = 1000) -> tuple[float | None, float | None]:
    if n < 2:
        return None, None
    return _percentile_ci(_bootstrap((np.arange(n),), lambda i, axis=-1: fn(i), True, b, seed, key))


# ---- between arms ----------------------------------------------------------------------------------


def compare(
    endpoint: Endpoint,
    ref: ArmData,
    arm: ArmData,
    *,
    paired: bool,
    horizon: float,
    seed: int,
    key: tuple[int, ...],
    resamples: int = 1000,
) -> Comparison:
    """``{difference, ci_low, ci_high, p_value, test, n}`` of ``arm - ref`` for one endpoint."""
    kind = endpoint.kind
    n_ref, n_arm = len(ref.a), len(arm.a)
    full_ref, full_arm = np.arange(n_ref), np.arange(n_arm)
    e_ref = float(_est(kind, ref, full_ref, horizon))
    e_arm = float(_est(kind, arm, full_arm, horizon))
    if not (math.isfinite(e_ref) and math.isfinite(e_arm)):
        return Comparison(difference=None, ci_low=None, ci_high=None, p_value=None, test=None, n=0)
    diff = e_arm - e_ref
    if paired:
        both = ~np.isnan(ref.a) & ~np.isnan(arm.a)
        n = int(both.sum())

        def stat(i: np.ndarray, axis: int = -1) -> np.ndarray:
            return _est(kind, arm, i, horizon) - _est(kind, ref, i, horizon)

        data: tuple[np.ndarray, ...] = (full_ref,)
    else:
        n = int((~np.isnan(ref.a)).sum() + (~np.isnan(arm.a)).sum())

        def stat(i: np.ndarray, j: np.ndarray, axis: int = -1) -> np.ndarray:  # type: ignore[misc]
            return _est(kind, arm, j, horizon) - _est(kind, ref, i, horizon)

        data = (full_ref, full_arm)
    dist = _bootstrap(data, stat, paired, resamples, seed, key)
    lo, hi = _percentile_ci(dist)
    p, test = _p_value(kind, ref, arm, paired, dist)
    return Comparison(difference=diff, ci_low=lo, ci_high=hi, p_value=p, test=test, n=n)


def _p_value(kind: str, ref: ArmData, arm: ArmData, paired: bool, dist: np.ndarray) -> tuple[float | None, str]:
    if paired and kind in ("proportion", "mean") and not np.array_equal(np.isnan(ref.a), np.isnan(arm.a)):
        # the arms' groups differ (e.g. a plan changes who is implanted): the difference of the arm
        # estimates includes that selection, which a within-patient test on the patients in both
        # groups would not test; the paired bootstrap of the difference itself does
        kind = "ratio"
    if kind == "proportion":
        if paired:
            both = ~np.isnan(ref.a) & ~np.isnan(arm.a)
            r, a = ref.a[both], arm.a[both]
            b_, c_ = int(((r == 1) & (a == 0)).sum()), int(((r == 0) & (a == 1)).sum())
            if b_ + c_ == 0:
                return 1.0, "mcnemar_exact"
            return _f(stats.binomtest(c_, b_ + c_, 0.5).pvalue), "mcnemar_exact"
        r, a = ref.a[~np.isnan(ref.a)], arm.a[~np.isnan(arm.a)]
        table = [[int(a.sum()), len(a) - int(a.sum())], [int(r.sum()), len(r) - int(r.sum())]]
        return _f(stats.fisher_exact(table).pvalue), "fisher_exact"
    if kind == "mean":
        if paired:
            both = ~np.isnan(ref.a) & ~np.isnan(arm.a)
            dd = arm.a[both] - ref.a[both]
            if dd.size < 2:
                return None, "paired_t"
            if float(np.ptp(dd)) == 0.0:
                return (1.0 if dd[0] == 0 else 0.0), "paired_t"
            return _f(stats.ttest_rel(arm.a[both], ref.a[both]).pvalue), "paired_t"
        r, a = ref.a[~np.isnan(ref.a)], arm.a[~np.isnan(arm.a)]
        if r.size < 2 or a.size < 2:
            return None, "welch_t"
        if float(np.ptp(r)) == 0.0 and float(np.ptp(a)) == 0.0:
            return (1.0 if r[0] == a[0] else 0.0), "welch_t"
        return _f(stats.ttest_ind(a, r, equal_var=False).pvalue), "welch_t"
    if kind == "time_to_event":
        from lifelines.statistics import logrank_test

        assert ref.b is not None and arm.b is not None
        mr, ma = ~np.isnan(ref.a), ~np.isnan(arm.a)
        if not mr.any() or not ma.any():
            return None, "log_rank"
        res = logrank_test(ref.a[mr], arm.a[ma], event_observed_A=ref.b[mr], event_observed_B=arm.b[ma])
        p = _f(res.p_value)
        return (1.0 if p is None and float(res.test_statistic or 0) == 0 else p), "log_rank"
    # ratio, rate: two-sided bootstrap p (share of resampled differences on either side of 0)
    if dist.size == 0:
        return None, "bootstrap"
    # (1 + count) / (B + 1): never 0 from a finite number of resamples (the smallest is 2 / (B + 1))
    count = min(int((dist <= 0).sum()), int((dist >= 0).sum()))
    p = 2.0 * (1 + count) / (dist.size + 1)
    return min(p, 1.0), "bootstrap_paired" if paired else "bootstrap"


def individual_effects(endpoint: Endpoint, ref: ArmData, arm: ArmData) -> IndividualEffect | None:
    """Paired only, proportion and mean endpoints: how each patient fares in ``arm`` vs the reference."""
    if endpoint.kind not in ("proportion", "mean"):
        return None
    both = ~np.isnan(ref.a) & ~np.isnan(arm.a)
    n = int(both.sum())
    if n == 0:
        return {"n": 0, "better": None, "same": None, "worse": None, "difference_percentiles": None}
    dd = arm.a[both] - ref.a[both]
    sign = 1.0 if endpoint.higher_is_better else -1.0
    better = int((sign * dd > 0).sum())
    worse = int((sign * dd < 0).sum())
    pct = np.percentile(dd, [5, 25, 50, 75, 95]).tolist()
    return {
        "n": n,
        "better": better / n,
        "same": (n - better - worse) / n,
        "worse": worse / n,
        "difference_percentiles": {str(k): float(v) for k, v in zip((5, 25, 50, 75, 95), pct, strict=True)},
    }
