"""The simulated clinician (care/clinician/): each decision on hand-built inputs, and a policy swapped in.

Every expected number is derived by hand in the comments from the rules of
``itdd.care.clinician.decisions`` and the drug library's morphine entry (step <= 30%, increases at
most every 72 h, hard limit 30 mg/day, starting range 0.2-1 mg/day).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.care.clinician import POLICIES, ClinicianPolicy, Decision, Practice, get_policy
from itdd.care.clinician import decisions as d
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.drugs import get_drug
from itdd.patient import PatientParams
from itdd.patient.sim import Vitals
from itdd.programmer.refill import assess_discrepancy

H = 3600.0
DAY = 86400.0
MORPHINE = get_drug("morphine")


def _vitals(pain: float = 6.0, *, sedation: float = 0.0, drive: float = 1.5, tolerance: float = 1.0) -> Vitals:
    return Vitals(
        t_s=0.0,
        pain=pain,
        relief=0.2,
        resp_rate_per_min=16.0,
        spo2_pct=97.0,
        sedation=sedation,
        pruritus=0.0,
        withdrawal=0.0,
        withdrawal_opioid=0.0,
        analgesic_drive_mg_per_day=drive,
        opioid_tolerance=tolerance,
    )


def _step(o: Vitals, **kw: float) -> Decision:
    args: dict[str, float] = {
        "dose_mg_per_day": 2.5,
        "ed50_mg_per_day": 1.0,
        "target_drive": 3.0,
        "ceiling_mg_per_day": 30.0,
        "since_last_change_s": float("inf"),
        "now_s": 0.0,
        "min_rate_ml_per_day": 0.048,
        "max_rate_ml_per_day": 24.0,
        "conc_mg_per_ml": 10.0,
    }
    args.update(kw)
    return d.titration_step(o, drug=MORPHINE, **args)  # type: ignore[arg-type]


# ---- titration -------------------------------------------------------------------------------------


def test_titration_step_up_at_a_given_pain_and_dose() -> None:
    # want = 3 x ED50 1 x tolerance 1 = 3 mg/day of drive; drive 1.5 -> target 2.5 x 3 / 1.5 = 5 mg/day;
    # the planner's first step is +30%: 2.5 x 1.3 = 3.25 mg/day (rounded down to 0.01: 3.25)
    dec = _step(_vitals(pain=6.0))
    assert dec.action == "change"
    assert dec.dose_mg_per_day == pytest.approx(3.25, abs=1e-12)
    assert dec.reason == "pain 6.0/10"


def test_titration_step_waits_72_hours_between_increases() -> None:
    # the same increase 48 h after the last change: 48 h < 72 h - 1 s -> keep
    dec = _step(_vitals(), since_last_change_s=48 * H)
    assert dec.action == "keep" and dec.dose_mg_per_day == 2.5 and "too recent" in dec.reason


def test_titration_step_down_for_side_effects() -> None:
    # sedation 2.5 >= 2: target 2.5 x (1 - 0.2) = 2.0 mg/day, within one 30% step down (1.75); a
    # decrease is not held back by the 72 h interval
    dec = _step(_vitals(sedation=2.5), since_last_change_s=1 * H)
    assert dec.action == "change"
    assert dec.dose_mg_per_day == pytest.approx(2.0, abs=1e-12)
    assert dec.reason.startswith("side effects (sedation 2.5")


def test_titration_step_keeps_within_the_ceiling_and_the_pump() -> None:
    # ceiling 3 mg/day: target min(5, 3) = 3; step min(2.5 x 1.3 = 3.25, 3) = 3.0
    assert _step(_vitals(), ceiling_mg_per_day=3.0).dose_mg_per_day == pytest.approx(3.0, abs=1e-12)
    # at 1 mg/mL the pump's 2 mL/day deliver at most 2 mg/day: 3.25 -> 2.0
    dec = _step(_vitals(), conc_mg_per_ml=1.0, max_rate_ml_per_day=2.0)
    assert dec.action == "change" and dec.dose_mg_per_day == pytest.approx(2.0, abs=1e-12)
    # drive 3: target 2.5 x 3 / 3 = 2.5, the dose itself (< 5% off): keep
    assert _step(_vitals(drive=3.0)).action == "keep"


# ---- weaning, pain -----------------------------------------------------------------------------------


def test_wean_oral_by_a_quarter_of_the_home_dose() -> None:
    kw = {"pre_implant_pain": 8.0, "home_oral_mme_per_day": 80.0, "step_fraction": 0.25}
    # pain 3 <= 4: controlled; 60 - 0.25 x 80 = 40 MME/day
    dec = d.wean_oral(pain=3.0, oral_mme_per_day=60.0, **kw)
    assert (dec.action, dec.oral_mme_per_day, dec.reason) == ("wean", 40.0, "weaning, pain controlled")
    # the last step: 10 - 20 < 0 -> 0
    assert d.wean_oral(pain=3.0, oral_mme_per_day=10.0, **kw).oral_mme_per_day == 0.0
    # pain 4.5 > 4 but <= 0.6 x 8 = 4.8 (40% below the pre-implant pain): controlled
    assert d.wean_oral(pain=4.5, oral_mme_per_day=60.0, **kw).action == "wean"
    # pain 6 > 4 and > 4.8: not controlled, oral opioids kept
    dec = d.wean_oral(pain=6.0, oral_mme_per_day=60.0, **kw)
    assert (dec.action, dec.oral_mme_per_day) == ("not_controlled", 60.0)
    assert d.wean_oral(pain=3.0, oral_mme_per_day=0.0, **kw).action == "controlled"


def test_pain_back_and_the_reaction_to_it() -> None:
    # best pain 3: back at >= max(3 + 2, 4) = 5
    assert d.pain_is_back(pain=5.0, best_pain=3.0, controlled_once=True)
    assert not d.pain_is_back(pain=4.9, best_pain=3.0, controlled_once=True)
    # best pain 1: back at >= max(3, 4) = 4; never controlled: never "back"
    assert d.pain_is_back(pain=4.0, best_pain=1.0, controlled_once=True)
    assert not d.pain_is_back(pain=9.0, best_pain=1.0, controlled_once=False)
    kw = {"therapy_on": True, "saline": False, "recent_negative_workup": False, "workup_booked": False}
    dec = d.react_to_returning_pain(pain_back=True, withdrawal=0.0, **kw)
    assert (dec.action, dec.reason, dec.trigger) == ("workup", "pain back", "loss of efficacy at a visit")
    dec = d.react_to_returning_pain(pain_back=False, withdrawal=3.0, **kw)  # withdrawal >= 3/10
    assert (dec.action, dec.reason) == ("workup", "withdrawal signs")
    assert d.react_to_returning_pain(pain_back=False, withdrawal=2.9, **kw).action == "continue"
    assert d.react_to_returning_pain(pain_back=True, withdrawal=0.0, **(kw | {"saline": True})).action == "continue"
    negative = kw | {"recent_negative_workup": True}
    assert d.react_to_returning_pain(pain_back=True, withdrawal=0.0, **negative).action == "continue"


def test_escalation_without_response() -> None:
    kw = {"uncontrolled": True, "recent_negative_workup": False, "workup_booked": False}
    # 3.0 >= 1.5 x 2.0 = 3.0, 100 days after the implant (> 90): a catheter study
    dec = d.escalation_without_response(
        dose_mg_per_day=3.0, window_start_dose_mg_per_day=2.0, since_implant_s=100 * DAY, **kw
    )
    assert (dec.action, dec.trigger) == ("workup", "dose escalation without response")
    # 2.9 < 3.0, or only 60 days after the implant: continue
    assert (
        d.escalation_without_response(
            dose_mg_per_day=2.9, window_start_dose_mg_per_day=2.0, since_implant_s=100 * DAY, **kw
        ).action
        == "continue"
    )
    assert (
        d.escalation_without_response(
            dose_mg_per_day=3.0, window_start_dose_mg_per_day=2.0, since_implant_s=60 * DAY, **kw
        ).action
        == "continue"
    )


# ---- refill discrepancy -----------------------------------------------------------------------------


def test_refill_discrepancy_beyond_the_threshold_leads_to_a_catheter_study() -> None:
    # expected 10 mL left, 7 mL withdrawn: -3 mL, beyond the 2 mL threshold (no previous fill known)
    disc = assess_discrepancy(10.0, 7.0, 2.0, 0.15, None)
    assert disc.flag
    dec = d.react_to_refill_discrepancy(flagged=disc.flag, flag_reasons=disc.reasons, saline=False)
    assert dec.action == "catheter_study"
    assert dec.reason == "refill discrepancy: discrepancy -3.00 mL is beyond the 2 mL threshold"
    assert dec.trigger == "refill discrepancy"
    # 9 mL withdrawn: -1 mL, within 2 mL: nothing to do; a saline reservoir is not worked up
    ok = assess_discrepancy(10.0, 9.0, 2.0, 0.15, None)
    assert d.react_to_refill_discrepancy(flagged=ok.flag, flag_reasons=ok.reasons, saline=False).action == "none"
    assert d.react_to_refill_discrepancy(flagged=True, flag_reasons=disc.reasons, saline=True).action == "none"


# ---- trial, start, concentration, ceiling, ERI, lack of effect ----------------------------------------


def test_trial_verdict_starting_dose_and_concentration() -> None:
    assert d.trial_verdict(relief_fraction=0.5).action == "implant"  # 50% is enough
    assert d.trial_verdict(relief_fraction=0.49).action == "no_implant"
    conv = get_policy("conventional")
    # half the effective 1 mg bolus per day = 0.5; 0.2 mg -> 0.1, raised to the 0.2 mg/day minimum;
    # an infusion of 1.5 mg/day is capped at the 1 mg/day maximum of the starting range
    assert conv.starting_dose(effective=1.0, continuous_infusion=False, drug=MORPHINE).dose_mg_per_day == 0.5
    assert conv.starting_dose(effective=0.2, continuous_infusion=False, drug=MORPHINE).dose_mg_per_day == 0.2
    assert conv.starting_dose(effective=1.5, continuous_infusion=True, drug=MORPHINE).dose_mg_per_day == 1.0
    # 1 mg/day from 38 usable mL: 1 mg/mL lasts 38 days, 2 mg/mL 76 days, 5 mg/mL 190 days >= 90
    assert d.choose_concentration(dose_mg_per_day=1.0, min_rate_ml_per_day=0.048, usable_ml=38.0) == 5.0


def test_ceilings_eri_and_lack_of_effect() -> None:
    low, conv = get_policy("low_dose"), get_policy("conventional")
    # low-dose: 3 mg/day morphine equivalents / potency 1 = 3; lifted: the drug's 30 mg/day
    assert low.ceiling_mg_per_day(drug=MORPHINE, it_potency=1.0, lifted=False) == 3.0
    assert low.ceiling_mg_per_day(drug=MORPHINE, it_potency=1.0, lifted=True) == 30.0
    assert conv.ceiling_mg_per_day(drug=MORPHINE, it_potency=1.0, lifted=False) == 30.0
    assert low.has_ceiling and not conv.has_ceiling
    eri = conv.battery_eri(already_booked=False)
    assert (eri.action, eri.delay_s, eri.reason) == ("book_replacement", 14 * DAY, "battery at elective replacement")
    assert conv.battery_eri(already_booked=True).action == "none"
    month = 365.25 * DAY / 12
    dec = low.lack_of_effect(uncontrolled_since_s=0.0, now_s=6 * month, policy_ceiling=True)
    assert dec.action == "lift_ceiling" and "6.0 months" in dec.reason
    assert conv.lack_of_effect(uncontrolled_since_s=0.0, now_s=6 * month, policy_ceiling=False).action == "explant"


# ---- a policy swapped in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeverTitrates(Practice):
    """A test policy: the conventional practice, except that it never changes the dose."""

    asked: list[float] | None = None  # the doses it was asked about (a list: the dataclass is frozen)

    def titration_step(self, o: Vitals, **kw: object) -> Decision:  # type: ignore[override]
        if self.asked is not None:
            self.asked.append(float(kw["dose_mg_per_day"]))  # type: ignore[arg-type]
        return Decision("keep", "test policy: never titrate", dose_mg_per_day=float(kw["dose_mg_per_day"]))  # type: ignore[arg-type]


def test_a_swapped_policy_changes_the_decisions_the_pathway_acts_on() -> None:
    conventional = POLICIES["conventional"]
    assert isinstance(conventional, Practice)
    asked: list[float] = []
    never = NeverTitrates(**{f: getattr(conventional, f) for f in conventional.__dataclass_fields__}, asked=asked)
    policy: ClinicianPolicy = replace(never, name="never_titrates")
    p = PatientParams.sample(7, 2)
    plan = PathwayPlan(years=1.0, hazards=False, surgical_complications=False)
    base = run_pathway(p, plan, 1).outcome
    swapped = run_pathway(p, plan, 1, policy=policy).outcome
    assert base.implanted and swapped.implanted
    # the conventional clinician titrates: several programmed doses; the test policy was asked at
    # every visit and kept the starting dose, so the pump ran one dose all year
    assert len({dose for _, dose in base.dose_steps if dose > 0}) > 1
    assert asked and len({dose for _, dose in swapped.dose_steps if dose > 0}) == 1
    assert set(asked) == {swapped.dose_steps[0][1]}
    assert swapped.dose_mg_per_day_6_months == swapped.dose_steps[0][1]


# ---- properties -----------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    dose=st.floats(0.1, 29.0),
    pain=st.floats(0.0, 10.0),
    sedation=st.floats(0.0, 3.0),
    drive=st.floats(0.01, 100.0),
    tolerance=st.floats(0.5, 20.0),
    ceiling=st.floats(0.1, 30.0),
)
def test_a_titration_step_is_one_planner_step_at_most(
    dose: float, pain: float, sedation: float, drive: float, tolerance: float, ceiling: float
) -> None:
    """Up by at most 30% (rounded down), down by at most 30% (rounded up to 0.01 mg/day); a kept
    dose is the dose itself.  At 1 mg/mL the pump's rates (0.048-24 mL/day) bind only above 24 mg/day."""
    dec = _step(
        _vitals(pain, sedation=sedation, drive=drive, tolerance=tolerance),
        dose_mg_per_day=dose,
        ceiling_mg_per_day=ceiling,
        conc_mg_per_ml=1.0,
    )
    assert dec.dose_mg_per_day is not None
    if dec.action == "keep":
        assert dec.dose_mg_per_day == dose
        return
    assert dec.action == "change" and abs(dec.dose_mg_per_day - dose) >= 1e-9
    assert 0.7 * dose - 1e-9 <= dec.dose_mg_per_day <= 1.3 * dose + 1e-9


def test_trial_arms_name_the_policies_of_the_registry() -> None:
    from itdd.trial.protocol import POLICIES as ARM_POLICIES
    from itdd.trial.protocol import parse_protocol

    assert list(ARM_POLICIES) == [*POLICIES, "standard"]  # "standard": the old name of conventional
    assert all(ARM_POLICIES[name][1] == POLICIES[name].description for name in POLICIES)
    p = parse_protocol(
        {
            "name": "t",
            "seed": 1,
            "patients_per_arm": 2,
            "years": 1,
            "arms": [{"name": "a", "policy": "low_dose"}, {"name": "b", "policy": "standard"}],
            "endpoints": {"primary": "implant_rate"},
        }
    )
    assert [a.plan(1.0).policy for a in p.arms] == ["low_dose", "conventional"]
