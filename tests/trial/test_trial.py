"""Whole trials: A/A gives exactly no difference, a known effect moves the right way, intervals
shrink as 1/sqrt(n), the one-arm trial is the cohort, and the JSON contract holds."""

from __future__ import annotations

from typing import Any

import pytest

from itdd.trial import run_trial
from itdd.trial.cohort import run_cohort
from itdd.trial.endpoints import ENDPOINTS

from .conftest import protocol

LOW_DOSE_TRIAL = {"name": "single 0.25 mg", "trial": {"method": "single_bolus", "doses": ["0.25 mg"]}}


@pytest.fixture(scope="module")
def aa() -> Any:
    return run_trial(protocol(), workers=1)


def test_aa_trial_identical_arms_and_exactly_zero_differences(aa: Any) -> None:
    s = aa.summary
    a, b = s["arms"]
    assert a["endpoints"] == b["endpoints"]
    assert s["consort"]["standard"] == s["consort"]["again"]
    assert s["kaplan_meier"]["time_to_explant"]["standard"] == s["kaplan_meier"]["time_to_explant"]["again"]
    assert len(s["comparisons"]) == 8
    for c in s["comparisons"]:
        assert c["difference"] == 0.0, c
        assert c["ci_low"] <= 0.0 <= c["ci_high"], c
        assert c["p_value"] == 1.0, c
    for by_arm in s["individual_effects"].values():
        assert by_arm["again"]["same"] == 1.0


def test_json_contract(aa: Any) -> None:
    s = aa.summary
    for arm in s["arms"]:
        assert set(arm) >= {"name", "patients", "endpoints"} and arm["patients"] == 24
        for e in ["relief_50_at_12_months", "time_to_reoperation"]:
            assert set(arm["endpoints"][e]) == {"estimate", "ci_low", "ci_high", "n"}
    for c in s["comparisons"]:
        assert set(c) >= {"endpoint", "arm", "reference", "difference", "ci_low", "ci_high", "p_value"}
        assert c["reference"] == "standard" and c["arm"] == "again"
    keys = {"screened", "refused", "trialled", "trial_failed", "implanted", "completed", "died", "explanted", "lost"}
    c0 = s["consort"]["standard"]
    assert set(c0) == keys and c0["screened"] == 24 and isinstance(c0["died"], int)
    assert c0["screened"] == c0["refused"] + c0["trialled"] and c0["trialled"] == c0["trial_failed"] + c0["implanted"]
    km = s["kaplan_meier"]
    assert set(km) == {"time_to_catheter_event", "time_to_reoperation", "time_to_explant"}
    curve = km["time_to_catheter_event"]["standard"]
    assert set(curve) == {"t_years", "survival", "ci_low", "ci_high"}
    assert curve["t_years"][0] == 0.0 and curve["survival"][0] == 1.0
    assert all(x >= y for x, y in zip(curve["survival"], curve["survival"][1:], strict=False))


def test_known_effect_lower_trial_dose_fewer_successes() -> None:
    # A smaller screening bolus gives less relief (the dose-response rises with dose), so fewer
    # patients reach the 50% needed: the trial success rate must fall, with the interval below 0.
    p = protocol(
        arms=[{"name": "standard"}, LOW_DOSE_TRIAL],
        years=0.25,
        endpoints={"primary": "trial_success_rate", "secondary": ["implant_rate"]},
        patients_per_arm=60,
    )
    s = run_trial(p, workers=1).summary
    for c in s["comparisons"]:
        assert c["difference"] < 0 and c["ci_high"] < 0 and c["p_value"] < 0.01, c


def test_interval_width_shrinks_as_one_over_root_n() -> None:
    # quadrupling the patients halves the width (sqrt(4) = 2) of the arm's Wilson interval and of
    # the paired difference's bootstrap interval, up to sampling noise
    def widths(n: int) -> tuple[float, float]:
        p = protocol(
            arms=[{"name": "standard"}, LOW_DOSE_TRIAL],
            years=0.1,
            endpoints={"primary": "trial_success_rate"},
            patients_per_arm=n,
        )
        s = run_trial(p, workers=2).summary
        arm = s["arms"][1]["endpoints"]["trial_success_rate"]
        c = s["comparisons"][0]
        return arm["ci_high"] - arm["ci_low"], c["ci_high"] - c["ci_low"]

    w1, d1 = widths(50)
    w4, d4 = widths(200)
    assert 1.6 < w1 / w4 < 2.5
    assert 1.6 < d1 / d4 < 2.5


def test_one_arm_trial_is_the_cohort() -> None:
    p = protocol(
        arms=[{"name": "cohort"}],
        patients_per_arm=20,
        endpoints={"primary": "relief_50_at_12_months", "secondary": [e for e in ENDPOINTS if _cohort_scalar(e)]},
    )
    s = run_trial(p, workers=1).summary
    m = run_cohort(20, 1.0, 11, workers=1).metrics
    assert s["comparisons"] == []
    est = s["arms"][0]["endpoints"]
    for e in p.endpoints.all:
        want = m[e] if e != "complications_per_100_patient_years" else _total(m[e])
        assert est[e]["estimate"] == pytest.approx(want, rel=1e-12, abs=1e-15), e


def _cohort_scalar(e: str) -> bool:
    ep = ENDPOINTS[e]
    return ep.available and ep.kind != "time_to_event" and ep.min_years <= 1.0


def _total(per_kind: dict[str, float | None]) -> float:
    return sum(v for v in per_kind.values() if v is not None)


def test_unpaired_arms_enrol_different_patients() -> None:
    p = protocol(paired=False, years=0.1, patients_per_arm=6, endpoints={"primary": "trial_success_rate"})
    r = run_trial(p, workers=1)
    assert r.arms[0].indices == tuple(range(6)) and r.arms[1].indices == tuple(range(6, 12))
    paired = run_trial(protocol(years=0.1, patients_per_arm=6, endpoints={"primary": "trial_success_rate"}), workers=1)
    assert paired.arms[1].indices == tuple(range(6))
    assert r.arms[0].outcomes == paired.arms[0].outcomes  # the reference arm is the same patients either way
    assert r.summary["comparisons"][0]["test"] == "fisher_exact"


def test_population_inclusion_ranges() -> None:
    p = protocol(
        population={"kind": "non_cancer", "age_years": {"min": 60}, "female_share": 1.0},
        years=0.1,
        patients_per_arm=5,
        arms=[{"name": "a"}],
        endpoints={"primary": "trial_success_rate"},
    )
    r = run_trial(p, workers=1)
    assert r.summary["enrolment"]["eligible"] == 5 and r.summary["enrolment"]["sampled"] > 5
    from itdd.patient import PatientParams
    from itdd.trial.runner import population_of

    for i in r.arms[0].indices:
        pp = PatientParams.sample(11, i, population=population_of(p.population_spec))
        assert pp.age_y >= 60 and pp.female
