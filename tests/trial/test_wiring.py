"""The issue-10 models wired into trials: clinician policies, death, ODI/EQ-5D, the cancer
population and every new cohort metric as an endpoint."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from itdd.care.hazards import YEAR_S
from itdd.care.metrics import NEW_KEYS, new_metrics
from itdd.care.outcome import PatientOutcome
from itdd.trial import run_trial
from itdd.trial.endpoints import ENDPOINTS
from itdd.trial.runner import ArmRun, population_of
from itdd.trial.statistics import arm_estimate, extract
from itdd.trial.summary import summarize_trial

from .conftest import protocol

DAY_S = 86400.0


def _outcome(followed_y: float, *, death_y: float | None = None, implanted: bool = True, **kw: Any) -> PatientOutcome:
    base: dict[str, Any] = {
        "patient_id": "hand",
        "refused": None,
        "trial_success": implanted,
        "implanted": implanted,
        "implant_s": 0.0 if implanted else None,
        "baseline_pain": 7.0,
        "baseline_oral_mme_per_day": 60.0,
        "relief_12_months": None,
        "dose_mg_per_day_6_months": None,
        "dose_mg_per_day_36_months": None,
        "oral_mme_per_day_12_months": None,
        "complications": (),
        "reoperations": 0,
        "explanted": False,
        "explant_reason": None,
        "followed_s": followed_y * YEAR_S if implanted else 0.0,
        "death_s": None if death_y is None else death_y * YEAR_S,
        "death_cause": None if death_y is None else "respiratory_depression",
    }
    base.update(kw)
    return PatientOutcome(**base)


#: A dies at 0.25 y, B is censored at 0.5 y, C dies at 0.75 y, D and E are alive at 1 y,
#: F was never implanted (not in the group).
HAND = [
    _outcome(0.25, death_y=0.25),
    _outcome(0.5),
    _outcome(0.75, death_y=0.75),
    _outcome(1.0),
    _outcome(1.0),
    _outcome(0.0, implanted=False),
]


def test_time_to_death_kaplan_meier_by_hand() -> None:
    # Kaplan-Meier over the 5 implanted patients:
    #   t = 0.25: 5 at risk, 1 death -> S = 4/5 = 0.8
    #   t = 0.5:  B censored (no step); 3 remain at risk (C, D, E)
    #   t = 0.75: 3 at risk, 1 death -> S = 0.8 * 2/3 = 0.5333...
    #   t = 1:    no event -> S(1 year) = 8/15
    d = extract(ENDPOINTS["time_to_death"], HAND, 1.0)
    r = arm_estimate(ENDPOINTS["time_to_death"], d, 1.0, 0, (0,))
    assert r["n"] == 5
    assert r["estimate"] == pytest.approx(8 / 15, rel=1e-12)
    assert r["ci_low"] < 8 / 15 < r["ci_high"]
    # at half a year only the first death has happened: S(0.5) = 0.8
    assert arm_estimate(ENDPOINTS["time_to_death"], d, 0.5, 0, (0,))["estimate"] == pytest.approx(0.8)


def test_consort_died_and_mortality_endpoints_from_hand_built_deaths() -> None:
    p = protocol(
        arms=[{"name": "hand"}],
        patients_per_arm=6,
        endpoints={"primary": "mortality_1_year", "secondary": ["mortality_30_days", "time_to_death"]},
    )
    s = summarize_trial(p, [ArmRun(tuple(range(6)), tuple(HAND), ())])
    c = s["consort"]["hand"]
    assert c["died"] == 2  # A and C
    assert c["implanted"] == 5 and c["completed"] == 2  # D and E followed the whole year
    est = s["arms"][0]["endpoints"]
    # mortality_1_year: group = implanted and followed a year or died before -> A, C, D, E (B left
    # at 0.5 y alive is not in it); deaths 2 -> 2/4 = 0.5
    assert est["mortality_1_year"]["estimate"] == 0.5 and est["mortality_1_year"]["n"] == 4
    # mortality_30_days: all 5 followed >= 30 days, the first death is at 0.25 y (91 days) -> 0/5
    assert est["mortality_30_days"]["estimate"] == 0.0 and est["mortality_30_days"]["n"] == 5
    assert est["time_to_death"]["estimate"] == pytest.approx(8 / 15)
    # the same numbers as the cohort's issue-10 metrics
    m = new_metrics(HAND, 1.0)
    assert est["mortality_1_year"]["estimate"] == m["mortality_1_year"]
    assert est["mortality_30_days"]["estimate"] == m["mortality_30_days"]
    curve = s["kaplan_meier"]["time_to_death"]["hand"]
    assert curve["survival"][-1] == pytest.approx(8 / 15)


def test_pro_and_side_effect_endpoints_by_hand() -> None:
    # ODI 50 -> 30 and 40 -> 40: mean change (-20 + 0) / 2 = -10 points; EQ-5D 0.3 -> 0.6 and
    # 0.5 -> 0.5: mean change 0.15; oedema in 1 of 2 with side effects simulated -> 0.5
    outs = [
        _outcome(1.0, odi_baseline=50.0, odi_12_months=30.0, eq5d_baseline=0.3, eq5d_12_months=0.6,
                 side_effects_modelled=True, peripheral_edema_s=100 * DAY_S),
        _outcome(1.0, odi_baseline=40.0, odi_12_months=40.0, eq5d_baseline=0.5, eq5d_12_months=0.5,
                 side_effects_modelled=True),
        _outcome(1.0),  # nothing reported, side effects not simulated: in no group
    ]  # fmt: skip
    want = {"mean_odi_change_12_months": -10.0, "mean_eq5d_change_12_months": 0.15, "peripheral_edema_rate": 0.5}
    m = new_metrics(outs, 1.0)
    for name, value in want.items():
        r = arm_estimate(ENDPOINTS[name], extract(ENDPOINTS[name], outs, 1.0), 1.0, 0, (0,))
        assert r["estimate"] == pytest.approx(value, rel=1e-12) and r["n"] == 2, name
        assert m[name] == pytest.approx(value, rel=1e-12), name


def test_every_issue_10_cohort_metric_is_an_available_endpoint() -> None:
    missing = [k for k in NEW_KEYS if k not in ENDPOINTS or not ENDPOINTS[k].available]
    assert missing == []


def test_low_dose_policy_gives_lower_doses_than_conventional() -> None:
    # low_dose (care/policy.py) caps the intrathecal dose at 3 mg/day and titrates without oral
    # opioids; conventional has no ceiling below the library's hard limit: the same patients
    # (paired) must have a lower mean dose at 6 months under low_dose
    p = protocol(
        arms=[{"name": "conventional", "policy": "conventional"}, {"name": "low dose", "policy": "low_dose"}],
        years=0.5,
        patients_per_arm=30,
        endpoints={"primary": "mean_dose_mg_per_day_6_months"},
    )
    assert p.arms[1].plan(p.years).policy == "low_dose" and p.arms[0].plan(p.years).policy == "conventional"
    s = run_trial(p, workers=1).summary
    conv = s["arms"][0]["endpoints"]["mean_dose_mg_per_day_6_months"]["estimate"]
    low = s["arms"][1]["endpoints"]["mean_dose_mg_per_day_6_months"]["estimate"]
    assert low <= 3.0 + 1e-9 < conv
    c = s["comparisons"][0]
    assert c["difference"] < 0 and c["ci_high"] < 0, c


def test_standard_policy_is_conventional() -> None:
    p = protocol(arms=[{"name": "a", "policy": "standard"}, {"name": "b"}])
    assert p.arms[0].plan(1.0).policy == "conventional" and p.arms[1].plan(1.0).policy == "conventional"


def test_cancer_population_protocol_runs() -> None:
    # the cancer population is on systemic opioids at enrolment (on_oral_opioids_rate 1.0, median
    # 250 MME/day), so every enrolled patient has a baseline oral dose; non-cancer patients do not
    p = protocol(population="cancer", arms=[{"name": "cancer"}], years=0.25, patients_per_arm=8,
                 endpoints={"primary": "trial_success_rate", "secondary": ["time_to_death"]})  # fmt: skip
    assert p.population_spec.kind == "cancer" and p.arms[0].plan(p.years, "cancer").population == "cancer"
    r = run_trial(p, workers=1)
    assert r.arms[0].errors == ()
    assert all(o.baseline_oral_mme_per_day > 0 for o in r.arms[0].outcomes)
    assert r.summary["protocol"]["population"] == "cancer"
    block = protocol(population={"kind": "cancer", "female_share": 0.5}, arms=[{"name": "c"}], years=0.25,
                     patients_per_arm=2, endpoints={"primary": "trial_success_rate"})  # fmt: skip
    pop = population_of(block.population_spec)
    assert pop.cancer and pop.name == "cancer" and pop.female_rate.value == 0.5
    assert not population_of(protocol().population_spec).cancer


def test_aa_with_the_new_endpoints_gives_exactly_zero() -> None:
    names = [n for n, e in ENDPOINTS.items() if e.available and e.min_years <= 1.0]
    assert {"time_to_death", "mortality_1_year", "mean_odi_change_12_months", "hypogonadism_rate"} <= set(names)
    p = protocol(
        arms=[{"name": "low", "policy": "low_dose"}, {"name": "again", "policy": "low_dose"}],
        patients_per_arm=12,
        endpoints={"primary": names[0], "secondary": names[1:]},
        bootstrap_resamples=100,
    )
    s = run_trial(p, workers=1).summary
    a, b = s["arms"]
    assert a["endpoints"] == b["endpoints"]
    assert s["consort"]["low"] == s["consort"]["again"]
    assert len(s["comparisons"]) == len(names)
    for c in s["comparisons"]:
        if c["difference"] is None:  # an empty group (e.g. nobody with a value): nothing to compare
            continue
        assert c["difference"] == 0.0, c
        assert c["p_value"] == 1.0, c


def test_long_horizon_issue_10_endpoints_by_hand() -> None:
    # four implanted patients followed 6 years (protocol years: 6)
    #   P1: catheter event at 1 y; dose 10 -> 11 mg/day (12 -> 36 months: +10%, stable); relief at 24 months 0.3
    #   P2: explanted at 2 y (catheter censored there); dose 10 -> 13 (+30%, not stable); relief 0.2
    #   P3: catheter event at 4 y; no dose at 12 months (not in the stable group); no relief value (counts as not)
    #   P4: catheter event at 5.5 y; dose 5 -> 5 (stable); relief 0.5
    # catheter_event_free_5_years, Kaplan-Meier read at 5 years (not at the 6-year horizon):
    #   t=1: 4 at risk, 1 event -> 3/4; P2 censored at 2; t=4: 2 at risk, 1 event -> 3/4 * 1/2 = 0.375
    #   (at 6 years P4's event would give 0: reading at the horizon would be wrong)
    # stable_dose_12_to_36_months: P1, P4 of P1, P2, P4 -> 2/3
    # pain_reduction_25_at_24_months: P1 (0.3) and P4 (0.5) of 4 -> 0.5
    # explanted_by_3_years = 1 - KM explant-free at 3 y: t=2: 4 at risk, 1 explant -> 1 - 3/4 = 0.25
    y = YEAR_S
    outs = [
        _outcome(6.0, catheter_event_s=1 * y, dose_mg_per_day_12_months=10.0, dose_mg_per_day_36_months=11.0,
                 relief_24_months=0.3),
        _outcome(6.0, explanted=True, explant_s=2 * y, dose_mg_per_day_12_months=10.0,
                 dose_mg_per_day_36_months=13.0, relief_24_months=0.2),
        _outcome(6.0, catheter_event_s=4 * y, dose_mg_per_day_12_months=0.0),
        _outcome(6.0, catheter_event_s=5.5 * y, dose_mg_per_day_12_months=5.0, dose_mg_per_day_36_months=5.0,
                 relief_24_months=0.5),
    ]  # fmt: skip
    want = {
        "catheter_event_free_5_years": 0.375,
        "stable_dose_12_to_36_months": 2 / 3,
        "pain_reduction_25_at_24_months": 0.5,
        "explanted_by_3_years": 0.25,
    }
    names = list(want)
    p = protocol(arms=[{"name": "hand"}], years=6, patients_per_arm=4,
                 endpoints={"primary": names[0], "secondary": names[1:]})  # fmt: skip
    s = summarize_trial(p, [ArmRun(tuple(range(4)), tuple(outs), ())])
    m = new_metrics(outs, 6.0)
    for name, value in want.items():
        assert s["arms"][0]["endpoints"][name]["estimate"] == pytest.approx(value, rel=1e-12), name
        assert m[name] == pytest.approx(value, rel=1e-12), name

    # against an arm of the same patients never explanted (0): the difference is 0.25 - 0 = +0.25,
    # the sign of the cumulative incidence, not of the explant-free fraction
    never = [dataclasses.replace(o, explanted=False, explant_s=None) for o in outs]
    p2 = protocol(arms=[{"name": "never"}, {"name": "hand"}], years=6, patients_per_arm=4,
                  endpoints={"primary": "explanted_by_3_years"}, bootstrap_resamples=100)  # fmt: skip
    s2 = summarize_trial(p2, [ArmRun(tuple(range(4)), tuple(never), ()), ArmRun(tuple(range(4)), tuple(outs), ())])
    c = s2["comparisons"][0]
    assert c["difference"] == pytest.approx(0.25) and c["ci_low"] <= 0.25 <= c["ci_high"]
    assert s2["arms"][0]["endpoints"]["explanted_by_3_years"]["estimate"] == 0.0
