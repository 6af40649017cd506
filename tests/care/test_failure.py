"""Lack of effect after a successful trial: placebo responders and the clinician's ladder
(patient/placebo.py, care/clinician/failure.py, care/steps/visits.py)."""

from __future__ import annotations

import math

from itdd.care.clinician import POLICIES, Decision
from itdd.care.clinician.failure import (
    SALINE_TRIAL_DAYS,
    THERAPY_OFF_TO_EXPLANT_DAYS,
    lack_of_effect_ladder,
    saline_verdict,
)
from itdd.care.metrics import explants_by_reason
from itdd.care.outcome import PatientOutcome
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.patient import PatientParams
from itdd.patient.placebo import PLACEBO_FADE_DAYS, placebo_fraction, reported_pain

DAY = 86400.0
MONTH = 365.25 * DAY / 12


def test_placebo_relief_fades_with_its_time_constant() -> None:
    assert PLACEBO_FADE_DAYS.value == 90.0
    # 0.4 at the start; after one time constant (90 days) 0.4 / e = 0.14715; none for a non-responder
    assert placebo_fraction(0.4, 0.0) == 0.4
    assert math.isclose(placebo_fraction(0.4, 90 * DAY), 0.4 * math.exp(-1.0))
    assert math.isclose(placebo_fraction(0.4, 90 * DAY), 0.14715, abs_tol=1e-5)
    assert placebo_fraction(0.0, 0.0) == 0.0
    # pain 6 with 0.4 of placebo relief left: reported 6 x 0.6 = 3.6
    assert math.isclose(reported_pain(6.0, 0.4, 0.0), 3.6)
    assert reported_pain(6.0, 0.0, 0.0) == 6.0


def _ladder(**kw: object) -> Decision:
    args: dict[str, object] = {
        "uncontrolled_since_s": 0.0,
        "now_s": 12 * MONTH,
        "since_implant_s": 12 * MONTH,
        "delivery_ruled_out": True,
        "policy_ceiling_active": False,
        "lift_ceiling_allowed": True,
        "drug_change": None,
        "saline_trial_done": False,
        "saline_showed_effect": None,
    }
    args.update(kw)
    return lack_of_effect_ladder(**args)  # type: ignore[arg-type]


def test_the_ladder_rung_by_rung() -> None:
    # controlled, or uncontrolled for 5 of the 6 months: continue
    assert _ladder(uncontrolled_since_s=None).action == "continue"
    d = _ladder(uncontrolled_since_s=7 * MONTH)
    assert d.action == "continue" and "5.0 months" in d.reason
    # 6 months uncontrolled but only 5 months after the implant: still titration
    assert _ladder(now_s=6 * MONTH, since_implant_s=5 * MONTH).action == "continue"
    # a delivery problem not yet ruled out: work-up first
    assert _ladder(delivery_ruled_out=False).action == "workup"
    # a policy ceiling still in force: lifted if the practice allows it, else down the ladder
    assert _ladder(policy_ceiling_active=True).action == "lift_ceiling"
    assert _ladder(policy_ceiling_active=True, lift_ceiling_allowed=False).action == "saline_trial"
    # the drugs helper's decision (a change of drug or an adjunct) comes before the saline trial
    change = Decision("change_drug", "hydromorphone instead of morphine")
    assert _ladder(drug_change=change) is change
    assert _ladder(drug_change=Decision("none", "no other drug")).action == "saline_trial"
    # the saline trial lasts 14 days
    d = _ladder()
    assert d.action == "saline_trial" and d.delay_s == SALINE_TRIAL_DAYS.value * DAY == 14 * DAY
    # after a saline trial that showed a drug effect: partial relief accepted; none: explant
    assert _ladder(saline_trial_done=True, saline_showed_effect=True).action == "continue"
    d = _ladder(saline_trial_done=True, saline_showed_effect=False)
    assert d.action == "explant" and d.delay_s == THERAPY_OFF_TO_EXPLANT_DAYS.value * DAY


def test_saline_verdict_needs_a_30_percent_drug_effect() -> None:
    # pain 3 on the drug, 6 on saline: the drug removes 1 - 3/6 = 50% >= 30%: restored
    assert saline_verdict(pain_on_drug=3.0, pain_on_saline=6.0).action == "drug_effect"
    # pain 5.5 on the drug, 7.5 on saline: 1 - 5.5/7.5 = 26.7% < 30%: therapy off, explant in 30 days
    d = saline_verdict(pain_on_drug=5.5, pain_on_saline=7.5)
    assert d.action == "therapy_off" and "27%" in d.reason and d.delay_s == 30 * DAY
    # 7 on the drug, 7 on saline: no effect
    assert saline_verdict(pain_on_drug=7.0, pain_on_saline=7.0).action == "therapy_off"
    # the policies expose the same decisions
    assert POLICIES["conventional"].saline_verdict(pain_on_drug=3.0, pain_on_saline=6.0).action == "drug_effect"


def test_the_low_dose_practice_keeps_its_ceiling() -> None:
    low, conv = POLICIES["low_dose"], POLICIES["conventional"]
    kw = {
        "uncontrolled_since_s": 0.0,
        "now_s": 12 * MONTH,
        "since_implant_s": 12 * MONTH,
        "delivery_ruled_out": True,
        "ceiling_lifted": False,
        "drug_change": None,
        "saline_trial_done": False,
        "saline_showed_effect": None,
    }
    assert low.failure_ladder(**kw).action == "saline_trial"  # type: ignore[arg-type]
    assert conv.failure_ladder(**kw).action == "saline_trial"  # type: ignore[arg-type]  (no ceiling of its own)


def _placebo_nonresponder() -> PatientParams:
    # drug relief at most emax = 0.3 (a non-responder); placebo relief 0.5 at the trial
    return PatientParams.sample(2026, 13).__class__(
        **{
            **PatientParams.sample(2026, 13).to_dict(),
            "allergies": (),
            "active_infection": False,
            "body_too_small": False,
            "responder": False,
            "emax": 0.3,
            "ed50_mg_per_day": 0.1,
            "baseline_pain": 7.5,
            "placebo_relief": 0.5,
            "benzodiazepine": False,
            "sleep_apnoea": False,
        }
    )


def test_a_placebo_responder_passes_the_trial_loses_relief_and_is_explanted() -> None:
    """Hand-derived course: at the trial the drug removes at most 30% (pain >= 0.7 x 7.5 = 5.25) and
    the placebo ~0.5 x exp(-7/90) = 0.46 of the rest: reported relief ~1 - 0.7 x 0.54 = 62% >= 50%,
    so the trial passes (a false positive).  After the implant the placebo fades (time constant 90
    days) and pain is no longer controlled (relief < 40%) within weeks.  No rung is taken during the
    6-month titration phase; then the clinician rules out a delivery problem, runs a 14-day saline
    trial (the drug removes at most 30% x 0.9 = 27% < 30% of the pain on saline), stops the therapy
    and explants 30 days later for lack of effect: at least 6 months + 14 + 30 days = ~226 days after
    the implant, and within a year (uncontrolled for 6 months from at most ~3 months on)."""
    p = _placebo_nonresponder()
    plan = PathwayPlan(years=2.0, hazards=False, surgical_complications=False)
    run = run_pathway(p, plan, 1, record=True)
    o = run.outcome
    assert o.trial_success and o.implanted
    assert o.explanted and o.explant_reason == "lack of effect"
    labels = [s["label"] for s in run.events]
    assert "Blinded saline trial" in labels
    assert "Therapy off: no drug effect at the saline trial" in labels
    assert o.explant_day is not None and 226 <= o.explant_day < 365
    assert o.relief_12_months is not None and o.relief_12_months < 0.3  # off therapy, back on oral opioids


def test_without_placebo_the_same_patient_fails_the_trial() -> None:
    p = _placebo_nonresponder()
    q = p.__class__(**{**p.to_dict(), "allergies": (), "placebo_relief": 0.0})
    o = run_pathway(q, PathwayPlan(years=1.0, hazards=False, surgical_complications=False), 1).outcome
    assert o.trial_success is False and not o.implanted  # the drug alone removes < 30%: below 50%


def _outcome(pid: str, *, implanted: bool = True, explanted: bool = False, reason: str | None = None) -> PatientOutcome:
    return PatientOutcome(
        patient_id=pid,
        refused=None,
        trial_success=True,
        implanted=implanted,
        implant_s=0.0 if implanted else None,
        baseline_pain=7.0,
        baseline_oral_mme_per_day=0.0,
        relief_12_months=None,
        dose_mg_per_day_6_months=None,
        dose_mg_per_day_36_months=None,
        oral_mme_per_day_12_months=None,
        complications=(),
        reoperations=1 if explanted else 0,
        explanted=explanted,
        explant_reason=reason,
        followed_s=DAY,
    )


def test_explants_by_reason_from_hand_built_outcomes() -> None:
    outs = [
        _outcome("a", explanted=True, reason="lack of effect"),
        _outcome("b", explanted=True, reason="infection"),
        _outcome("c", explanted=True, reason="lack of effect"),
        _outcome("d"),
        _outcome("e", implanted=False),
    ]
    # 2 for lack of effect, 1 for infection; the not-explanted and the not-implanted do not count
    assert explants_by_reason(outs) == {"infection": 1, "lack of effect": 2}


def test_side_effect_reactions_step_by_step() -> None:
    from itdd.care.clinician.side_effects import SIDE_EFFECTS, react_to_side_effect

    assert set(SIDE_EFFECTS) == {
        "nausea",
        "pruritus",
        "urinary_retention",
        "constipation",
        "peripheral_edema",
        "hypogonadism",
        "hypocortisolism",
        "sweating",
    }
    # every side effect is first treated
    for kind in SIDE_EFFECTS:
        assert react_to_side_effect(kind).action == "treat"
    # nausea 3/10 (< 5): watched; 6/10: antiemetic; persisting: lower the dose, then switch the opioid
    assert react_to_side_effect("nausea", score=3.0).action == "none"
    d = react_to_side_effect("nausea", score=6.0)
    assert d.action == "treat" and "antiemetic" in d.reason
    assert react_to_side_effect("nausea", persistent_after=1).action == "lower_dose"
    assert react_to_side_effect("pruritus", persistent_after=2).action == "switch_drug"
    # urinary retention: catheterise, lower the dose, then remove the pump (Anderson 1998)
    assert react_to_side_effect("urinary_retention", persistent_after=1).action == "lower_dose"
    d = react_to_side_effect("urinary_retention", persistent_after=2)
    assert d.action == "explant" and d.trigger == "side effect"
    # oedema: lower, then switch; hormones: replacement only
    assert react_to_side_effect("peripheral_edema", persistent_after=2).action == "switch_drug"
    assert "testosterone" in react_to_side_effect("hypogonadism").reason
    assert react_to_side_effect("hypogonadism", persistent_after=1).action == "continue"
    # the patient's wish is always honoured
    assert react_to_side_effect("constipation", patient_wants_explant=True).action == "explant"


def test_side_effect_onsets_are_recorded_with_the_reaction() -> None:
    # a 2-year course on morphine: hypogonadism (86% by 26.6 months at 4.8 mg/day, Abs 2000) almost surely
    p = PatientParams.sample(2026, 13)
    run = run_pathway(p, PathwayPlan(years=2.0, hazards=False, surgical_complications=False), 1, record=True)
    o = run.outcome
    rows = [s for s in run.events if s["stage"] == "side_effect"]
    onsets = [
        k
        for k in (
            "peripheral_edema",
            "hypogonadism",
            "urinary_retention",
            "constipation",
            "sweating",
            "hypocortisolism",
        )
        if getattr(o, f"{k}_s") is not None
    ]
    # each side effect once at its onset (found at a visit or at the end), then one row a rung while it persists
    kinds = {r["label"].split(" since")[0] for r in rows}
    assert kinds == {k.replace("_", " ").capitalize() for k in onsets} and onsets
    assert all(r.get("details") for r in rows)


def test_limited_survival_stops_the_ladder_before_saline_and_explant() -> None:
    # a cancer patient uncontrolled for 6 months, delivery ruled out: no saline trial, no explant
    d = _ladder(limited_survival=True)
    assert d.action == "continue" and "limited survival" in d.reason
    assert _ladder(limited_survival=True, delivery_ruled_out=False).action == "workup"  # still worked up


def test_weaning_stops_at_the_floor_of_a_patient_who_keeps_systemic_opioids() -> None:
    from itdd.care.clinician.decisions import wean_oral

    kw = {"pain": 3.0, "pre_implant_pain": 7.0, "home_oral_mme_per_day": 100.0, "step_fraction": 0.25}
    # a quarter of the home dose kept (25 MME/day): 50 -> 25; at 25: kept; 30 -> 30 - 25 = 5, raised to 25
    assert wean_oral(oral_mme_per_day=50.0, floor_mme_per_day=25.0, **kw).oral_mme_per_day == 25.0  # type: ignore[arg-type]
    d = wean_oral(oral_mme_per_day=25.0, floor_mme_per_day=25.0, **kw)  # type: ignore[arg-type]
    assert d.action == "controlled" and d.oral_mme_per_day == 25.0 and "kept at 25" in d.reason
    assert wean_oral(oral_mme_per_day=30.0, floor_mme_per_day=25.0, **kw).oral_mme_per_day == 25.0  # type: ignore[arg-type]
    # without a floor: 25 -> 0
    assert wean_oral(oral_mme_per_day=25.0, **kw).oral_mme_per_day == 0.0  # type: ignore[arg-type]


def test_the_share_who_keep_systemic_opioids() -> None:
    ps = [PatientParams.sample(5, i) for i in range(4000)]
    on = [p for p in ps if p.oral_mme_per_day > 0]
    keep = sum(1 for p in on if p.systemic_opioid_floor_fraction == 0.25)
    # 13.5% of those on oral opioids; 4 binomial SDs on ~3,400: sqrt(0.135 x 0.865 / 3400) = 0.0059
    assert abs(keep / len(on) - 0.135) < 4 * 0.0059
    assert all(p.systemic_opioid_floor_fraction == 0.0 for p in ps if p.oral_mme_per_day == 0)


def test_cancer_pain_titrates_in_larger_steps() -> None:
    from itdd.care.clinician import decisions as dd
    from itdd.drugs import get_drug
    from itdd.patient.sim import Vitals

    o = Vitals(0.0, 6.0, 0.2, 16.0, 97.0, 0.0, 0.0, 0.0, 0.0, 1.5, 1.0)
    kw = {
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
    morphine = get_drug("morphine")
    # target 2.5 x 3 / 1.5 = 5 mg/day; non-cancer: +30% (soft step) = 3.25; cancer: +50% (hard step) = 3.75
    assert dd.titration_step(o, drug=morphine, **kw).dose_mg_per_day == 3.25  # type: ignore[arg-type]
    assert dd.titration_step(o, drug=morphine, cancer_pain=True, **kw).dose_mg_per_day == 3.75  # type: ignore[arg-type]
    # a decrease is not made larger: sedation 2 lowers by 20% either way (2.5 x 0.8 = 2.0)
    sed = Vitals(0.0, 6.0, 0.2, 16.0, 97.0, 2.0, 0.0, 0.0, 0.0, 1.5, 1.0)
    assert dd.titration_step(sed, drug=morphine, cancer_pain=True, **kw).dose_mg_per_day == 2.0  # type: ignore[arg-type]


def test_the_lack_of_effect_explant_row_from_hand_built_metrics() -> None:
    from itdd.care.metrics import new_rows

    # 2 of 40 implanted explanted for lack of effect: 5%
    rows = new_rows({"explants_by_reason": {"infection": 1, "lack of effect": 2}, "implanted": 40})
    r = rows[-1]
    assert r["metric"] == "Explanted for lack of effect (while followed)"
    assert r["simulated"] == 0.05 and r["published"] == 3 / 120
    assert r["note"] == "all explants by reason: infection 1, lack of effect 2"
