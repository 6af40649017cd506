"""Clinician policies and heterogeneous tolerance (care/policy.py, patient/population.py)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.care.policy import LACK_OF_EFFECT_MONTHS, POLICIES, get_policy, react_to_lack_of_effect
from itdd.errors import InputError
from itdd.patient import PatientParams

DAY = 86400.0
MONTH = 365.25 * DAY / 12


def test_policies_are_data_with_published_doses() -> None:
    assert set(POLICIES) == {"conventional", "low_dose"}
    assert get_policy("low_dose").wean_before_trial and not get_policy("conventional").wean_before_trial
    assert get_policy("conventional").published_dose_36_months.value == 15.26  # Roberts 2001
    assert get_policy("low_dose").published_dose_36_months.value == 1.48  # Hamza 2012
    with pytest.raises(InputError, match="policy"):
        get_policy("aggressive")
    with pytest.raises(ValidationError):
        PathwayPlan(policy="aggressive")  # type: ignore[arg-type]


def test_lack_of_effect_decisions_by_hand() -> None:
    six = LACK_OF_EFFECT_MONTHS.value * MONTH
    kw = {"now_s": 10 * six, "at_ceiling": True, "delivery_problem_ruled_out": True}
    # controlled (no "since"): continue
    assert react_to_lack_of_effect(uncontrolled_since_s=None, **kw).action == "continue"  # type: ignore[arg-type]
    # 5 of 6 months: continue
    d = react_to_lack_of_effect(uncontrolled_since_s=10 * six - 5 * MONTH, **kw)  # type: ignore[arg-type]
    assert d.action == "continue" and "5.0 months" in d.reason
    # 6 months at the drug's limit: explant; at a policy ceiling: lift it first
    d = react_to_lack_of_effect(uncontrolled_since_s=9 * six, **kw)  # type: ignore[arg-type]
    assert d.action == "explant" and "lack of effect" in d.reason
    d = react_to_lack_of_effect(uncontrolled_since_s=9 * six, policy_ceiling=True, **kw)  # type: ignore[arg-type]
    assert d.action == "lift_ceiling"
    # below the ceiling or with a delivery problem still open: continue
    assert (
        react_to_lack_of_effect(
            uncontrolled_since_s=0.0, now_s=10 * six, at_ceiling=False, delivery_problem_ruled_out=True
        ).action
        == "continue"
    )
    assert (
        react_to_lack_of_effect(
            uncontrolled_since_s=0.0, now_s=10 * six, at_ceiling=True, delivery_problem_ruled_out=False
        ).action
        == "continue"
    )


def test_population_mixes_stable_and_escalating_tolerance() -> None:
    ps = [PatientParams.sample(3, i) for i in range(3000)]
    stable = [p for p in ps if p.stable_tolerance]
    # share 30% (binomial SE with n = 3000: 0.0084; 4 SE)
    assert abs(len(stable) / len(ps) - 0.3) < 0.034
    # the population mean rate is kept: lognormal(0, 0.4) mean exp(0.08) = 1.0833; stable patients
    # x 0.1, the others x (1 - 0.3 x 0.1) / 0.7 = 1.3857 -> mean 0.3 x 0.1 + 0.7 x 1.3857 = 1.0 x 1.0833
    mean = math.fsum(p.tolerance_rate for p in ps) / len(ps)
    assert mean == pytest.approx(math.exp(0.08), rel=0.05)
    assert max(p.tolerance_rate for p in stable) < 0.1 * 5  # lognormal(0, 0.4) x 0.1 stays well below 0.5


def _dose_12_36(tolerance_rate: float, policy: str = "conventional") -> tuple[float, float]:
    p = PatientParams.sample(7, 2).with_(tolerance_rate=tolerance_rate)
    plan = PathwayPlan(years=3.0, hazards=False, surgical_complications=False, policy=policy)  # type: ignore[arg-type]
    o = run_pathway(p, plan, 1).outcome
    assert o.dose_mg_per_day_12_months is not None and o.dose_mg_per_day_36_months is not None
    return o.dose_mg_per_day_12_months, o.dose_mg_per_day_36_months


def test_stable_patient_stays_stable_and_escalator_escalates() -> None:
    d12, d36 = _dose_12_36(0.05)  # a stable patient: tolerance at 1/20 of the usual rate
    assert abs(d36 / d12 - 1) <= 0.2
    e12, e36 = _dose_12_36(0.8)  # an escalator (the usual rate x 0.8: below the dose limit at 36 months)
    assert e36 / e12 > 1.2


def test_low_dose_policy_weans_first_and_keeps_a_low_dose() -> None:
    p = PatientParams.sample(7, 2)
    assert p.oral_mme_per_day > 0
    plan = PathwayPlan(years=1.0, hazards=False, surgical_complications=False, policy="low_dose")
    o = run_pathway(p, plan, 1).outcome
    assert o.oral_mme_per_day_12_months == 0.0
    assert o.dose_mg_per_day_6_months is not None and 0 < o.dose_mg_per_day_6_months <= 3.0  # the ceiling
