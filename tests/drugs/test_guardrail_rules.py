"""One named test per guardrail rule (itdd.drugs.rules), plus table-driven classification tests.

Every expected number below is worked out by hand from library.yaml, not from the code's output.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itdd.drugs import get_drug
from itdd.drugs.guardrails import (
    Finding,
    check_bolus,
    check_concentration,
    check_drug,
    check_low_reservoir,
    check_ptm,
    check_therapy,
    check_titration,
    enforce,
)
from itdd.drugs.rules import GUARDRAIL_RULES
from itdd.errors import SafetyRefusal
from itdd.pump.firmware import PtmSettings
from itdd.pump.models import get_model
from itdd.pump.therapy import PeriodicBolus, Therapy

M20 = get_model("synchromed-ii-20")
MORPHINE = get_drug("morphine")
ZICONOTIDE = get_drug("ziconotide")
H = 3600.0


def _only(findings: list[Finding], rule: str) -> Finding:
    hits = [f for f in findings if f.rule == rule]
    assert hits, [f.rule for f in findings]
    return hits[0]


def _refused(findings: list[Finding], rule: str) -> SafetyRefusal:
    with pytest.raises(SafetyRefusal) as e:
        enforce(findings, {}, "dr-a")
    assert e.value.rule == rule
    return e.value


def _soft_then_confirmed(findings: list[Finding], rule: str) -> None:
    err = _refused(findings, rule)
    assert "confirm" in err.message
    confirmed = enforce(findings, {err.field: "reviewed with the patient"}, "dr-a")
    assert [(c.field, c.rule, c.reason, c.clinician) for c in confirmed] == [
        (err.field, rule, "reviewed with the patient", "dr-a")
    ]


# ---- one test per rule --------------------------------------------------------------------------


def test_rule_unknown_drug() -> None:
    with pytest.raises(SafetyRefusal) as e:
        check_drug("heroin")
    assert e.value.rule == "unknown_drug" and "not in the drug library" in e.value.message


def test_rule_concentration_outside_library() -> None:
    f = check_concentration(MORPHINE, 30.0)  # hard max 25 mg/mL (Infumorph)
    assert f.level == "hard"
    err = _refused([f], "concentration_outside_library")
    assert err.message == "morphine 30 mg/mL exceeds the 25 mg/mL hard limit (outside the drug library)"
    # unit confusion: 10 mcg/mL of morphine = 0.01 mg/mL, below the 0.1 mg/mL minimum
    assert check_concentration(MORPHINE, 0.01).rule == "concentration_outside_library"


def test_rule_concentration_soft() -> None:
    f = check_concentration(MORPHINE, 25.0)  # soft max 20 mg/mL (PACC 2017 [U])
    assert (f.level, f.reason) == ("soft", "morphine 25 mg/mL exceeds the 20 mg/mL soft limit")
    _soft_then_confirmed([f], "concentration_soft")


def test_rule_daily_dose_hard() -> None:
    f = check_therapy(MORPHINE, 25.0, Therapy.simple(31.0), M20)
    err = _refused(f, "daily_dose_hard")
    assert err.field == "therapy.dose" and "30 mg/day hard limit" in err.message


def test_rule_daily_dose_soft() -> None:
    f = check_therapy(MORPHINE, 25.0, Therapy.simple(22.0), M20)
    assert _only(f, "daily_dose_soft").reason == "morphine 22 mg/day exceeds the 15 mg/day soft limit"
    _soft_then_confirmed(f, "daily_dose_soft")


def test_rule_flex_step_hard() -> None:
    # daily average 35*2/24 + 5*22/24 = 7.5 mg/day (fine), but the 07:00 step runs at 35 mg/day
    th = Therapy.flex([(7 * 3600, 35.0), (9 * 3600, 5.0)])
    err = _refused(check_therapy(MORPHINE, 25.0, th, M20), "flex_step_hard")
    assert err.field == "therapy.steps[0].dose" and "flex step 1 (07:00) 35 mg/day" in err.message


def test_rule_flex_step_soft() -> None:
    th = Therapy.flex([(7 * 3600, 18.0), (19 * 3600, 6.0)])  # average 12 mg/day, step 18 > 15
    f = check_therapy(MORPHINE, 25.0, th, M20)
    assert _only(f, "flex_step_soft").field == "therapy.steps[0].dose"
    _soft_then_confirmed(f, "flex_step_soft")


def test_rule_min_rate() -> None:
    # 0.5 mg/day at 25 mg/mL = 0.02 mL/day < 0.048; lowest dose = 0.048 x 25 = 1.2 mg/day
    err = _refused(check_therapy(MORPHINE, 25.0, Therapy.simple(0.5), M20), "min_rate")
    assert "needs 0.02 mL/day, below the pump's minimum rate 0.048 mL/day" in err.message
    assert "lowest dose at this concentration is 1.2 mg/day" in err.message


def test_rule_max_rate() -> None:
    # a 1 mg bolus over 1 min at 0.1 mg/mL = 10 mL in 1 min = 14400 mL/day > 24
    err = _refused(check_bolus(MORPHINE, 0.1, 1.0, 60.0, M20), "max_rate")
    assert "above the pump's maximum rate 24 mL/day" in err.message


def test_rule_bolus_dose_hard() -> None:
    err = _refused(check_bolus(MORPHINE, 10.0, 2.0, H, M20), "bolus_dose_hard")
    assert err.message == "morphine bolus 2 mg exceeds the 1.5 mg hard limit"


def test_rule_bolus_dose_soft() -> None:
    f = check_bolus(MORPHINE, 10.0, 1.0, H, M20)
    _soft_then_confirmed(f, "bolus_dose_soft")
    # periodic boluses use the same bounds
    th = Therapy.periodic([PeriodicBolus(8 * 3600, 1.0, H)], 1.0)
    assert _only(check_therapy(MORPHINE, 10.0, th, M20), "bolus_dose_soft").field == "therapy.boluses[0].dose"


def _ptm(**kw: float) -> PtmSettings:
    base = {"dose_mg": 0.1, "duration_s": 600.0, "lockout_s": 3 * H, "max_per_day": 4}
    base.update(kw)
    return PtmSettings(**base)  # type: ignore[arg-type]


def test_rule_ptm_dose_hard() -> None:
    _refused(check_ptm(MORPHINE, 10.0, _ptm(dose_mg=2.0), 1.0, M20), "ptm_dose_hard")


def test_rule_ptm_dose_soft() -> None:
    _soft_then_confirmed(check_ptm(MORPHINE, 10.0, _ptm(dose_mg=0.6), 1.0, M20), "ptm_dose_soft")


def test_rule_ptm_count_hard() -> None:
    err = _refused(check_ptm(MORPHINE, 10.0, _ptm(max_per_day=30, lockout_s=H), 1.0, M20), "ptm_count_hard")
    assert err.message == "patient boluses per day 30 exceeds the 24 hard limit"


def test_rule_ptm_count_soft() -> None:
    _soft_then_confirmed(check_ptm(MORPHINE, 10.0, _ptm(max_per_day=12, lockout_s=2 * H), 0.5, M20), "ptm_count_soft")


def test_rule_ptm_lockout_hard() -> None:
    _refused(check_ptm(MORPHINE, 10.0, _ptm(lockout_s=300.0, duration_s=120.0), 1.0, M20), "ptm_lockout_hard")
    # a lockout shorter than the bolus itself is refused too (15 min lockout, 20 min bolus)
    err = _refused(check_ptm(MORPHINE, 10.0, _ptm(lockout_s=900.0, duration_s=1200.0), 1.0, M20), "ptm_lockout_hard")
    assert "shorter than the bolus duration" in err.message


def test_rule_ptm_lockout_soft() -> None:
    _soft_then_confirmed(check_ptm(MORPHINE, 10.0, _ptm(lockout_s=1800.0), 1.0, M20), "ptm_lockout_soft")


def test_rule_ptm_duration_hard() -> None:
    _refused(check_ptm(MORPHINE, 10.0, _ptm(duration_s=30.0), 1.0, M20), "ptm_duration_hard")
    _refused(check_ptm(MORPHINE, 10.0, _ptm(duration_s=5 * H, lockout_s=6 * H), 1.0, M20), "ptm_duration_hard")


def test_rule_ptm_max_daily_hard() -> None:
    # basal 28 mg/day + 4 x 0.5 mg = 30 ok; + 5th bolus... use the programmed maximum 35 > 30 hard
    err = _refused(
        check_ptm(MORPHINE, 25.0, _ptm(dose_mg=0.4, max_daily_dose_mg=35.0), 12.0, M20), "ptm_max_daily_hard"
    )
    assert err.field == "ptm.max_daily_dose"


def test_rule_ptm_max_daily_soft() -> None:
    # basal 14 mg/day + 4 boluses x 0.4 mg = 15.6 mg/day > 15 soft (lockout 3 h allows 8, count 4)
    f = check_ptm(MORPHINE, 25.0, _ptm(dose_mg=0.4), 14.0, M20)
    found = _only(f, "ptm_max_daily_soft")
    assert found.field == "ptm.daily_maximum"
    assert (
        found.reason
        == "morphine with every allowed patient bolus (4 a day) 15.6 mg/day exceeds the 15 mg/day soft limit"
    )
    _soft_then_confirmed(f, "ptm_max_daily_soft")


def test_rule_low_reservoir_hard() -> None:
    _refused([check_low_reservoir(0.5, M20)], "low_reservoir_hard")
    _refused([check_low_reservoir(12.0, M20)], "low_reservoir_hard")


def test_rule_low_reservoir_soft() -> None:
    f = check_low_reservoir(1.5, M20)
    assert f.reason == "low-reservoir alarm 1.5 mL is below the 2 mL soft limit"
    _soft_then_confirmed([f], "low_reservoir_soft")


def test_rule_titration_step_hard() -> None:
    # 2 -> 3.2 mg/day = +60% > 50% hard (PACC 2007, cancer pain)
    err = _refused(check_titration(MORPHINE, 2.0, 3.2, 7 * 24 * H), "titration_step_hard")
    assert "60% exceeds the 50% hard limit" in err.message


def test_rule_titration_step_soft() -> None:
    _soft_then_confirmed(check_titration(MORPHINE, 2.0, 2.8, 7 * 24 * H), "titration_step_soft")  # +40% > 30%


def test_rule_titration_amount_hard() -> None:
    # ziconotide 12 -> 17.5 mcg/day: +45.8% (< 50% soft) but +5.5 mcg/day > 4.8 hard
    _refused(check_titration(ZICONOTIDE, 0.012, 0.0175, 7 * 24 * H), "titration_amount_hard")


def test_rule_titration_amount_soft() -> None:
    # 12 -> 15 mcg/day: +25%, +3 mcg/day > 2.4 soft (Prialt label)
    f = check_titration(ZICONOTIDE, 0.012, 0.015, 7 * 24 * H)
    assert _only(f, "titration_amount_soft").reason.endswith("3 mcg/day exceeds the 2.4 mcg/day soft limit")
    _soft_then_confirmed(f, "titration_amount_soft")


def test_rule_titration_interval_hard() -> None:
    _refused(check_titration(MORPHINE, 2.0, 2.2, 12 * H), "titration_interval_hard")


def test_rule_titration_interval_soft() -> None:
    f = check_titration(MORPHINE, 2.0, 2.2, 48 * H)
    assert _only(f, "titration_interval_soft").reason == (
        "morphine increase 2d after the last one: 2d is below the 3d soft limit"
    )
    _soft_then_confirmed(f, "titration_interval_soft")
    # a decrease is never limited
    assert check_titration(MORPHINE, 2.0, 1.0, 60.0) == []


def test_rule_starting_dose_soft() -> None:
    f = check_titration(MORPHINE, 0.0, 2.0, None)  # opioid-naive start 0.2-1 mg/day (Infumorph)
    assert f[0].reason == "morphine starting dose 2 mg/day exceeds the 1 mg/day soft limit"
    _soft_then_confirmed(f, "starting_dose_soft")


def test_rule_confirmation_needs_reason() -> None:
    f = [check_concentration(MORPHINE, 25.0)]
    with pytest.raises(SafetyRefusal) as e:
        enforce(f, {"concentration": "  "}, "dr-a")
    assert e.value.rule == "confirmation_needs_reason" and e.value.field == "confirm.concentration"


def test_rule_confirmation_unneeded() -> None:
    f = [check_concentration(MORPHINE, 10.0)]
    with pytest.raises(SafetyRefusal) as e:
        enforce(f, {"concentration": "just in case"}, "dr-a")
    assert e.value.rule == "confirmation_unneeded"


def test_every_rule_has_exactly_one_named_test() -> None:
    names = {n[len("test_rule_") :] for n in globals() if n.startswith("test_rule_")}
    assert names == {r.id for r in GUARDRAIL_RULES}


# ---- table-driven classification ----------------------------------------------------------------

# (drug, daily dose mg/day, expected level) from library.yaml by hand
DAILY_TABLE = [
    ("morphine", 15.0, "ok"),
    ("morphine", 15.01, "soft"),
    ("morphine", 30.0, "soft"),
    ("morphine", 30.01, "hard"),
    ("hydromorphone", 10.0, "ok"),
    ("hydromorphone", 12.0, "soft"),
    ("hydromorphone", 16.0, "hard"),
    ("fentanyl", 0.9, "ok"),
    ("fentanyl", 1.5, "soft"),
    ("fentanyl", 2.5, "hard"),
    ("sufentanil", 0.4, "ok"),
    ("sufentanil", 0.6, "soft"),
    ("sufentanil", 1.1, "hard"),
    ("bupivacaine", 14.0, "ok"),
    ("bupivacaine", 18.0, "soft"),
    ("bupivacaine", 21.0, "hard"),
    ("clonidine", 0.5, "ok"),
    ("clonidine", 0.7, "soft"),
    ("clonidine", 1.2, "hard"),
    ("ziconotide", 0.0192, "ok"),
    ("ziconotide", 0.02, "soft"),
    ("ziconotide", 0.025, "hard"),
    ("baclofen", 0.8, "ok"),
    ("baclofen", 1.2, "soft"),
    ("baclofen", 2.2, "hard"),
]


@pytest.mark.parametrize(("drug", "dose", "level"), DAILY_TABLE)
def test_daily_dose_table(drug: str, dose: float, level: str) -> None:
    d = get_drug(drug)
    conc = max(c.value for c in d.usual_concentrations)
    f = [x for x in check_therapy(d, conc, Therapy.simple(dose), M20) if x.rule.startswith("daily_dose")]
    assert f[0].level == level


# (drug, concentration mg/mL, level)
CONC_TABLE = [
    ("morphine", 10.0, "ok"),
    ("morphine", 20.0, "ok"),
    ("morphine", 21.0, "soft"),
    ("morphine", 26.0, "hard"),
    ("morphine", 0.05, "hard"),
    ("hydromorphone", 16.0, "soft"),
    ("hydromorphone", 21.0, "hard"),
    ("fentanyl", 0.05, "ok"),
    ("fentanyl", 5.0, "soft"),
    ("fentanyl", 11.0, "hard"),
    ("ziconotide", 0.1, "ok"),
    ("ziconotide", 0.2, "hard"),
    ("baclofen", 2.0, "ok"),
    ("baclofen", 4.0, "hard"),
    ("clonidine", 1.5, "hard"),
    ("bupivacaine", 31.0, "hard"),
    ("saline", 0.0, "ok"),
    ("saline", 1.0, "hard"),
]


@pytest.mark.parametrize(("drug", "conc", "level"), CONC_TABLE)
def test_concentration_table(drug: str, conc: float, level: str) -> None:
    assert check_concentration(get_drug(drug), conc).level == level


@given(st.floats(0.0, 60.0, allow_nan=False))
def test_classification_is_monotone_and_hard_contains_soft(dose: float) -> None:
    d = MORPHINE
    lvl = next(x for x in check_therapy(d, 25.0, Therapy.simple(max(dose, 1.2)), M20) if x.rule.startswith("daily"))
    v = max(dose, 1.2)
    expected = "hard" if v > 30.0 else "soft" if v > 15.0 else "ok"
    assert lvl.level == expected


# ---- mixtures (drugs/mixture.py): each added drug against its own limits ----------------------------


def test_rule_component_limit_hard() -> None:
    # morphine+bupivacaine@2.0: 2 mg of bupivacaine per mg of morphine.  11 mg/day of morphine is
    # within morphine's limits (soft 15, hard 30 mg/day) but brings 2 x 11 = 22 mg/day of
    # bupivacaine, above bupivacaine's own 20 mg/day hard limit (library.yaml, PACC 2017).
    mix = get_drug("morphine+bupivacaine@2.0")
    f = check_therapy(mix, 10.0, Therapy.simple(11.0), M20)
    assert _only(f, "daily_dose").level == "ok"  # morphine itself is fine
    err = _refused(f, "component_limit_hard")
    assert err.field == "therapy.dose.bupivacaine"
    assert "bupivacaine 22 mg/day exceeds the 20 mg/day hard limit" in err.message


def test_rule_component_limit_soft() -> None:
    # morphine+bupivacaine@1.6 at 10 mg/day: 16 mg/day of bupivacaine, above its 15 mg/day soft
    # limit and below the 20 mg/day hard limit: allowed with a recorded reason.
    mix = get_drug("morphine+bupivacaine@1.6")
    f = check_therapy(mix, 10.0, Therapy.simple(10.0), M20)
    assert _only(f, "component_limit_soft").reason == "bupivacaine 16 mg/day exceeds the 15 mg/day soft limit"
    _soft_then_confirmed(f, "component_limit_soft")
