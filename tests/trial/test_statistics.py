"""Estimators on hand-computed small cases; the vectorised bootstrap Kaplan-Meier against lifelines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter

from itdd.trial.endpoints import ENDPOINTS
from itdd.trial.statistics import ArmData, _km_at, arm_estimate, compare, individual_effects

Z = 1.959963984540054  # the 97.5% normal quantile

# durations (years) and events: 1 event, 2 event, 2 censored, 3 event, 4 censored, 5 event
T = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
E = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])


def test_kaplan_meier_by_hand() -> None:
    # t=1: 6 at risk, 1 event -> S = 5/6
    # t=2: 5 at risk, 1 event (the censoring at 2 comes after it) -> S = 5/6 * 4/5 = 2/3
    # t=3: 3 at risk (3, 4, 5), 1 event -> S = 2/3 * 2/3 = 4/9
    # Greenwood sum at 3: 1/(6*5) + 1/(5*4) + 1/(3*2) = 2/60 + 3/60 + 10/60 = 1/4
    # lifelines' log(-log) interval: exp(-exp(log(-log S) -+ z sqrt(sum) / |log S|))
    ep = ENDPOINTS["time_to_explant"]
    r = arm_estimate(ep, ArmData(T, E), 3.5, 0, (0,))
    assert r["estimate"] == pytest.approx(4 / 9)
    s = 4 / 9
    half = Z * math.sqrt(0.25) / abs(math.log(s))
    lo = math.exp(-math.exp(math.log(-math.log(s)) + half))
    hi = math.exp(-math.exp(math.log(-math.log(s)) - half))
    assert r["ci_low"] == pytest.approx(lo, rel=1e-6) and r["ci_high"] == pytest.approx(hi, rel=1e-6)
    assert r["n"] == 6
    # at the horizon 5: the last patient's event -> S = 0
    assert arm_estimate(ep, ArmData(T, E), 5.0, 0, (0,))["estimate"] == 0.0
    # the vectorised estimate inside the bootstrap gives the same values
    assert _km_at(ArmData(T, E), np.arange(6)[None, :], 3.5)[0] == pytest.approx(4 / 9)
    assert _km_at(ArmData(T, E), np.arange(6)[None, :], 1.5)[0] == pytest.approx(5 / 6)


def test_vectorised_kaplan_meier_matches_lifelines_on_resamples() -> None:
    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(2.0, 60), 1)  # rounding makes ties
    e = (rng.random(60) < 0.6).astype(float)
    t[::7] = np.nan  # not at risk
    idx = rng.integers(0, 60, size=(5, 60))
    got = _km_at(ArmData(t, e), idx, 2.0)
    for row, g in zip(idx, got, strict=True):
        keep = ~np.isnan(t[row])
        kmf = KaplanMeierFitter().fit(t[row][keep], e[row][keep])
        assert g == pytest.approx(float(kmf.predict(2.0)), abs=1e-12)


def test_wilson_interval_by_hand() -> None:
    # 8 of 10: centre (p + z^2/2n)/(1 + z^2/n), half-width z sqrt(p(1-p)/n + z^2/4n^2)/(1 + z^2/n)
    p, n = 0.8, 10
    den = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / den
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / den
    vals = np.array([1.0] * 8 + [0.0] * 2 + [np.nan] * 3)  # 3 patients outside the group
    r = arm_estimate(ENDPOINTS["trial_success_rate"], ArmData(vals), 1.0, 0, (0,))
    assert r == {
        "estimate": 0.8,
        "ci_low": pytest.approx(centre - half),
        "ci_high": pytest.approx(centre + half),
        "n": 10,
    }


def test_t_interval_by_hand() -> None:
    # 2, 4, 6: mean 4, sd 2, se 2/sqrt(3); t(0.975, 2 df) = 4.302652729911275
    r = arm_estimate(ENDPOINTS["mean_dose_mg_per_day_6_months"], ArmData(np.array([2.0, 4.0, 6.0])), 1.0, 0, (0,))
    half = 4.302652729911275 * 2 / math.sqrt(3)
    assert r["estimate"] == 4.0
    assert r["ci_low"] == pytest.approx(4 - half) and r["ci_high"] == pytest.approx(4 + half)


def test_poisson_rate_interval_by_hand() -> None:
    # 0 events in 10 years: 0 per 100 py, upper bound -ln(0.025)/10 years = 36.89 per 100 py
    r = arm_estimate(
        ENDPOINTS["complications_per_100_patient_years"], ArmData(np.zeros(4), np.full(4, 2.5)), 1, 0, (0,)
    )
    assert r["estimate"] == 0.0 and r["ci_low"] == 0.0
    assert r["ci_high"] == pytest.approx(100 * -math.log(0.025) / 10)


def test_identical_arms_differ_by_exactly_zero() -> None:
    rng = np.random.default_rng(1)
    for name in ("relief_50_at_12_months", "mean_dose_mg_per_day_6_months", "time_to_explant"):
        ep = ENDPOINTS[name]
        a = rng.integers(0, 2, 40).astype(float) if ep.kind == "proportion" else rng.exponential(1.0, 40)
        b = None if ep.kind != "time_to_event" else (rng.random(40) < 0.5).astype(float)
        d = ArmData(a, b)
        c = compare(ep, d, d, paired=True, horizon=1.0, seed=0, key=(0,), resamples=200)
        assert (c["difference"], c["ci_low"], c["ci_high"], c["p_value"]) == (0.0, 0.0, 0.0, 1.0)


def test_mcnemar_uses_discordant_pairs() -> None:
    # 10 pairs: 6 discordant in favour of the arm (0 -> 1), 0 the other way:
    # exact McNemar p = 2 * 0.5^6 = 0.03125; difference 0.6 - 0.0
    ref = np.array([0.0] * 10)
    arm = np.array([1.0] * 6 + [0.0] * 4)
    c = compare(
        ENDPOINTS["relief_50_at_12_months"], ArmData(ref), ArmData(arm), paired=True, horizon=1, seed=0, key=(0,)
    )
    assert c["difference"] == pytest.approx(0.6)
    assert c["p_value"] == pytest.approx(0.03125) and c["test"] == "mcnemar_exact"
    eff = individual_effects(ENDPOINTS["relief_50_at_12_months"], ArmData(ref), ArmData(arm))
    assert eff is not None and (eff["better"], eff["same"], eff["worse"]) == (0.6, 0.4, 0.0)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["relief_50_at_12_months", "mean_dose_mg_per_day_6_months", "time_to_explant"]),
    st.integers(min_value=5, max_value=40),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.booleans(),
)
def test_swapping_the_arms_negates_the_comparison(name: str, n: int, seed: int, paired: bool) -> None:
    # metamorphic: B - A is -(A - B), its interval mirrored (paired), its p-value the same
    rng = np.random.default_rng(seed)
    ep = ENDPOINTS[name]

    def arm() -> ArmData:
        if ep.kind == "proportion":
            a = rng.integers(0, 2, n).astype(float)
        else:
            a = np.round(rng.exponential(1.0, n), 2)
        a[rng.random(n) < 0.2] = np.nan  # some patients outside the group
        return ArmData(a, (rng.random(n) < 0.6).astype(float) if ep.kind == "time_to_event" else None)

    x, y = arm(), arm()
    ab = compare(ep, x, y, paired=paired, horizon=1.0, seed=1, key=(0,), resamples=200)
    ba = compare(ep, y, x, paired=paired, horizon=1.0, seed=1, key=(0,), resamples=200)
    if ab["difference"] is None:
        assert ba["difference"] is None
        return
    assert ba["difference"] == -ab["difference"]
    assert ba["test"] == ab["test"]
    if paired:  # the same resamples in both orders (unpaired, each arm draws from its own stream)
        assert ba["ci_low"] == pytest.approx(-ab["ci_high"], abs=1e-12)
        assert ba["ci_high"] == pytest.approx(-ab["ci_low"], abs=1e-12)
    if ab["test"] not in ("bootstrap", "bootstrap_paired") or paired:
        assert ba["p_value"] == pytest.approx(ab["p_value"], abs=1e-9)
