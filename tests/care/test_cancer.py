"""Cancer pain through the pathway (care/cancer.py, care/steps/cancer_steps.py, care/cancer_metrics.py).

Each mechanism against a hand-built patient or hand-built outcomes; expected numbers derived by
hand in the comments.  Non-cancer runs staying unchanged to the last bit is tests/test_golden.py's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from itdd.care import cancer as cx
from itdd.care.cancer_metrics import cancer_metrics, cancer_rows, km_median
from itdd.care.clinician.policies import POLICIES
from itdd.care.outcome import Complication, PatientOutcome
from itdd.care.pathway import _Pathway
from itdd.care.plan import CancerPlan, PathwayPlan, PatientSpec
from itdd.care.steps.rules import IMPLANT_COMPLICATIONS
from itdd.cli import main
from itdd.drugs import get_drug
from itdd.patient import PatientParams, PatientSim

DAY = 86400.0
YEAR = 365.25 * DAY
T0 = 1_767_600_000.0


def quiet(**kw: object) -> PathwayPlan:
    """No random complications (hazards off), short follow-up."""
    base: dict[str, object] = {"hazards": False, "surgical_complications": False, "years": 0.2}
    base.update(kw)
    return PathwayPlan.model_validate(base)


def cancer_patient(**kw: Any) -> PatientParams:
    return PatientParams.reference(cancer=True, oral_mme_per_day=200.0, baseline_pain=8.0, **kw)


def run(params: PatientParams, plan: PathwayPlan, seed: int = 5) -> _Pathway:
    pw = _Pathway(params, plan, seed, True, None, None)
    pw.outcome = pw.run(None)  # type: ignore[attr-defined]
    return pw


# ---- complications at the implant ---------------------------------------------------------------


def test_implant_complications_cancer_overrides_by_hand() -> None:
    # non-cancer: the pathway's own table, the same object (no probability moves)
    assert cx.implant_complications(IMPLANT_COMPLICATIONS, False) is IMPLANT_COMPLICATIONS
    c = cx.implant_complications(IMPLANT_COMPLICATIONS, True)
    # same kinds in the same order: one uniform per kind, so the draws line up with non-cancer runs
    assert list(c) == list(IMPLANT_COMPLICATIONS)
    assert c["csf_leak"][0] == 0.033  # Hunan 2024: "7 of 231 patients (3.30%)", the published share
    assert c["wound_infection"][0] == 0.027  # Engle 2013: 2.7% in cancer patients
    assert c["post_dural_puncture_headache"] == IMPLANT_COMPLICATIONS["post_dural_puncture_headache"]
    assert c["wound_infection"][2] is True  # still an operation (explant)
    # cancer/non-cancer ratio for the wound infection: 2.7% / 2% = 1.35
    assert c["wound_infection"][0] / IMPLANT_COMPLICATIONS["wound_infection"][0] == pytest.approx(1.35)


def test_bleeding_at_implant_is_drawn_from_the_cancer_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cx, "BLEEDING_AT_IMPLANT", cx.U(1.0, "test: always"))
    monkeypatch.setattr(cx, "EVENTS", ())  # no new pains: only the bleeding
    pw = run(cancer_patient(), quiet(hazards=True, surgical_complications=True, mortality=False))
    out = pw.outcome  # type: ignore[attr-defined]
    bleed = [c for c in out.complications if c.kind == "implant_bleeding"]
    assert len(bleed) == 1 and bleed[0].stage == "implant"
    assert out.implant_s is not None
    assert (bleed[0].t_s - out.implant_s) / DAY == pytest.approx(1.0)  # one day after the operation
    assert any(s["label"] == "Bleeding at the implant" for s in pw.stages)


def test_non_cancer_patient_has_no_cancer_stream_or_measures() -> None:
    pw = run(PatientParams.reference(oral_mme_per_day=200.0), quiet())
    assert pw.rng_cancer is None and pw.cancer_outcome == cx.CancerMeasures()
    o = pw.outcome  # type: ignore[attr-defined]
    assert o.pain_enrolment is None and o.pain_4_weeks is None and o.cancer_events == 0


# ---- new pain from the disease -------------------------------------------------------------------


def test_event_times_by_hand() -> None:
    class Fixed:
        """Every exponential is 0.5 (its mean x 0.5); every uniform 0.99."""

        def exponential(self, scale: float) -> float:
            return 0.5 * scale

        def random(self) -> float:
            return 0.99

    # total rate = progression 1.23608 (-ln 0.539 / 0.5 = 0.61804 x 2) + epidural 0.05 = 1.28608/year;
    # each gap is 0.5 / 1.28608 = 0.38878 year; u = 0.99 x 1.28608 = 1.27322 > 1.23608: the epidural
    # metastasis each time.
    ev = cx.event_times(Fixed(), 0.0, YEAR)  # type: ignore[arg-type]
    times = [t / YEAR for t, _ in ev]
    assert times == pytest.approx([0.38878, 0.77756], abs=1e-5)  # the third, 1.16633, is past a year
    assert {e.kind for _, e in ev} == {"epidural_metastasis"}


def test_progression_raises_pain_without_treatment_and_is_not_a_pump_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    prog, epi = cx.EVENTS

    def two_events(_rng: Any, start_s: float, _end_s: float) -> list[tuple[float, cx.CancerEvent]]:
        return [(start_s + 20 * DAY, prog), (start_s + 40 * DAY, epi)]

    monkeypatch.setattr(cx, "event_times", two_events)
    params = cancer_patient()
    pw = run(params, quiet(hazards=True, mortality=False))
    # 8.0 + 1 (progression) + 2 (epidural metastasis) = 11, capped at 10
    assert pw.sim.params.baseline_pain == 10.0
    # the opioid requirement x 1.25 twice: 0.07 x 1.5625 = 0.109375 mg/day, for the patient and the clinician
    assert pw.sim.params.ed50_mg_per_day == pytest.approx(0.109375)
    assert pw.params.ed50_mg_per_day == pytest.approx(0.109375)
    assert params.baseline_pain == 8.0 and params.ed50_mg_per_day == 0.07  # the record it started from
    o = pw.outcome  # type: ignore[attr-defined]
    assert o.cancer_events == 2
    assert not any(c.kind in ("disease_progression", "epidural_metastasis") for c in o.complications)
    labels = [s["label"] for s in pw.stages]
    assert "Cancer progression: new pain" in labels
    assert any(lab.startswith("Epidural metastasis") for lab in labels)
    # the urgent MRI for the metastasis stalls the motor: the field on and off 30 minutes apart
    assert pw.implant is not None and o.implant_s is not None
    on = [e.time_s for e in pw.implant.log.history if e.type == "magnetic_field_on"]
    off = [e.time_s for e in pw.implant.log.history if e.type == "magnetic_field_off"]
    assert len(on) == 1 and (on[0] - o.implant_s) / DAY == pytest.approx(40.0)
    assert off[0] - on[0] == pytest.approx(30 * 60)


def test_progression_alone_brings_higher_doses(monkeypatch: pytest.MonkeyPatch) -> None:
    def none(_rng: Any, _s: float, _e: float) -> list[tuple[float, cx.CancerEvent]]:
        return []

    def early(_rng: Any, start_s: float, _e: float) -> list[tuple[float, cx.CancerEvent]]:
        return [(start_s + 35 * DAY, cx.EVENTS[0]), (start_s + 36 * DAY, cx.EVENTS[0])]

    doses = []
    for fn in (none, early):
        monkeypatch.setattr(cx, "event_times", fn)
        pw = run(cancer_patient(), quiet(hazards=True, mortality=False))
        doses.append(pw.dose)
    # two progressions raise the requirement x 1.5625: the clinician's target drive rises with it
    assert doses[1] > 1.2 * doses[0]


# ---- visits -------------------------------------------------------------------------------------


def test_cancer_visit_schedule_by_hand() -> None:
    # titration at days 3, 6, 9, 12, 15, 21, 28; then every 14 days: 42, 56 (70 > 60)
    v = CancerPlan().visit_times_s(0.0, 60 * DAY)
    assert [(round(t / DAY), k) for t, k in v] == [
        (3, "titration"),
        (6, "titration"),
        (9, "titration"),
        (12, "titration"),
        (15, "titration"),
        (21, "titration"),
        (28, "titration"),
        (42, "follow-up"),
        (56, "follow-up"),
    ]
    with pytest.raises(ValueError, match="visit_interval"):
        CancerPlan(visit_interval="2h")
    with pytest.raises(ValueError, match="titration_visits"):
        CancerPlan(titration_visits=["0d"])


def _visit_days(monkeypatch: pytest.MonkeyPatch, params: PatientParams, plan: PathwayPlan) -> list[int]:
    seen: list[tuple[float, str]] = []
    original = _Pathway.visit

    def spy(self: _Pathway, t: float, kind: str, why: str = "") -> None:
        seen.append((t, kind))
        original(self, t, kind, why)

    monkeypatch.setattr(_Pathway, "visit", spy)
    pw = run(params, plan)
    assert pw.implant_s is not None
    return [round((t - pw.implant_s) / DAY) for t, k in seen if k in ("titration", "follow-up")]


def test_the_pathway_books_the_cancer_visits(monkeypatch: pytest.MonkeyPatch) -> None:
    # follow-up 0.2 year = 73.05 days: cancer visits 3 ... 28, then 42, 56, 70
    days = _visit_days(monkeypatch, cancer_patient(), quiet())
    assert days == [3, 6, 9, 12, 15, 21, 28, 42, 56, 70]


def test_non_cancer_keeps_weekly_visits(monkeypatch: pytest.MonkeyPatch) -> None:
    # the plan's 12 weekly visits: 7, 14, ..., 70 within 73.05 days
    days = _visit_days(monkeypatch, PatientParams.reference(oral_mme_per_day=200.0), quiet())
    assert days == [7 * k for k in range(1, 11)]


def test_plan_cancer_visits_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = quiet(cancer={"titration_visits": ["2d", "4d"], "visit_interval": "30d"})
    # 2, 4, then 34, 64 (94 > 73.05)
    assert _visit_days(monkeypatch, cancer_patient(), plan) == [2, 4, 34, 64]


# ---- goals: the clinician ------------------------------------------------------------------------


def test_cancer_clinician_has_no_policy_ceiling() -> None:
    low, conv = POLICIES["low_dose"], POLICIES["conventional"]
    morphine = get_drug("morphine")
    assert low.ceiling_mg_per_day(drug=morphine, it_potency=1.0, lifted=False) == 3.0  # Hamza-based ceiling
    c = cx.for_cancer(low, True)
    # the drug library's hard limit only (morphine 30 mg/day), and no weaning before the trial
    assert c.ceiling_mg_per_day(drug=morphine, it_potency=1.0, lifted=False) == 30.0
    assert not c.wean_before_trial and not c.has_ceiling
    assert cx.for_cancer(low, False) is low  # non-cancer: unchanged
    assert cx.for_cancer(conv, True) is conv  # conventional has neither: the same object


def test_pathway_uses_the_cancer_clinician() -> None:
    pw = _Pathway(cancer_patient(), quiet(policy="low_dose"), 1, False, None, None)
    assert not pw.policy.has_ceiling
    pw2 = _Pathway(PatientParams.reference(), quiet(policy="low_dose"), 1, False, None, None)
    assert pw2.policy.has_ceiling


# ---- outcomes ------------------------------------------------------------------------------------


def test_toxicity_and_clinical_success_by_hand() -> None:
    # sedation 1.5 of 3 -> 5 of 10; + nausea 2 + pruritus 1 + confusion 0 = 8
    assert cx.toxicity_score(sedation=1.5, nausea=2.0, pruritus=1.0, confusion=0.0) == pytest.approx(8.0)
    # 8 -> 6.4 is exactly 20% less pain
    assert cx.clinical_success(pain_before=8.0, pain_after=6.4, toxicity_before=10.0, toxicity_after=10.0)
    # 8 -> 6.5 is 18.75% less: success only through toxicity 10 -> 8 (20% less)
    assert cx.clinical_success(pain_before=8.0, pain_after=6.5, toxicity_before=10.0, toxicity_after=8.0)
    assert not cx.clinical_success(pain_before=8.0, pain_after=6.5, toxicity_before=10.0, toxicity_after=8.5)
    # more pain is never a success, whatever the toxicity
    assert not cx.clinical_success(pain_before=8.0, pain_after=8.1, toxicity_before=10.0, toxicity_after=0.0)


def test_four_week_measures_in_the_pathway() -> None:
    pw = run(cancer_patient(), quiet())
    o = pw.outcome  # type: ignore[attr-defined]
    assert o.pain_enrolment is not None and o.pain_4_weeks is not None
    assert o.toxicity_enrolment is not None and o.toxicity_4_weeks is not None
    assert 0 <= o.pain_4_weeks < o.pain_enrolment <= 10  # intrathecal morphine relieves the pain


def test_systemic_burden_by_hand() -> None:
    # Smith-like home dose 250 MME/day, no pump: constipation 3.6 x 250 / (250 + 30) = 3.2143;
    # fatigue 5 x 250 / (250 + 250) = 2.5
    c, f = cx.systemic_burden(oral_mme_per_day=250.0)
    assert c == pytest.approx(3.6 * 250 / 280) and c == pytest.approx(3.2143, abs=1e-4)
    assert f == pytest.approx(2.5)
    # weaned off, 10 mg/day IT morphine: the gut sees 3 x 10 = 30 MME -> 3.6 x 30 / 60 = 1.8; no fatigue
    c, f = cx.systemic_burden(oral_mme_per_day=0.0, it_mg_per_day=10.0)
    assert (c, f) == (pytest.approx(1.8), 0.0)
    assert cx.systemic_burden(oral_mme_per_day=0.0) == (0.0, 0.0)
    # a quarter of the home dose kept (62.5 MME) + 5 mg/day IT: gut 62.5 + 15 = 77.5
    # -> 3.6 x 77.5 / 107.5 = 2.5953; fatigue 5 x 62.5 / 312.5 = 1.0
    c, f = cx.systemic_burden(oral_mme_per_day=62.5, it_mg_per_day=5.0)
    assert c == pytest.approx(2.5953, abs=1e-4) and f == pytest.approx(1.0)
    # the toxicity sums them: 1.5 x 10/3 + 2 + 1 + 0 + 1.8 + 2.5 = 12.3
    tox = cx.toxicity_score(sedation=1.5, nausea=2.0, pruritus=1.0, confusion=0.0, constipation=1.8, fatigue=2.5)
    assert tox == pytest.approx(12.3)


def test_weaning_the_home_opioids_lowers_the_systemic_burden(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[float, float]] = []
    real = cx.systemic_burden

    def spy(*, oral_mme_per_day: float, it_mg_per_day: float = 0.0) -> tuple[float, float]:
        calls.append((oral_mme_per_day, it_mg_per_day))
        return real(oral_mme_per_day=oral_mme_per_day, it_mg_per_day=it_mg_per_day)

    monkeypatch.setattr(cx, "systemic_burden", spy)
    params = cancer_patient()
    pw = run(params, quiet())
    o = pw.outcome  # type: ignore[attr-defined]
    (oral0, it0), (oral4, it4) = calls  # enrolment, then 4 weeks
    assert (oral0, it0) == (200.0, 0.0)  # the home dose, no pump yet
    assert oral4 < 200.0 and it4 > 0.0  # weaned in part, on intrathecal morphine
    # enrolment: the model's toxicity + constipation 3.6 x 200 / 230 = 3.1304 + fatigue 5 x 200 / 450 = 2.2222
    obs = PatientSim(params, pw.start_s, offset_s=pw.offset_s).observe(activity=1.0)
    model0 = cx.toxicity_score(sedation=obs.sedation, nausea=obs.nausea, pruritus=obs.pruritus, confusion=obs.confusion)
    assert o.toxicity_enrolment == pytest.approx(model0 + 3.1304 + 2.2222, abs=1e-3)
    c0, f0 = real(oral_mme_per_day=oral0)
    c4, f4 = real(oral_mme_per_day=oral4, it_mg_per_day=it4)
    assert c4 + f4 < c0 + f0  # the systemic burden falls with the weaning


def outcome(i: int, **kw: object) -> PatientOutcome:
    base: dict[str, object] = {
        "patient_id": f"VP-{i}",
        "refused": None,
        "trial_success": True,
        "implanted": True,
        "implant_s": T0,
        "baseline_pain": 8.0,
        "baseline_oral_mme_per_day": 250.0,
        "relief_12_months": None,
        "dose_mg_per_day_6_months": None,
        "dose_mg_per_day_36_months": None,
        "oral_mme_per_day_12_months": None,
        "complications": (),
        "reoperations": 0,
        "explanted": False,
        "explant_reason": None,
        "followed_s": YEAR,
    }
    base.update(kw)
    return PatientOutcome(**base)  # type: ignore[arg-type]


def test_cancer_metrics_from_hand_built_outcomes() -> None:
    outs = [
        # pain 8 -> 4 (50%), toxicity 10 -> 5: success, both reduced; dies at day 100
        outcome(1, pain_enrolment=8.0, pain_4_weeks=4.0, toxicity_enrolment=10.0, toxicity_4_weeks=5.0,
                death_s=T0 + 100 * DAY, followed_s=100 * DAY, cancer_events=1),
        # pain 6 -> 6, toxicity 10 -> 7: success through toxicity only; alive a year
        outcome(2, pain_enrolment=6.0, pain_4_weeks=6.0, toxicity_enrolment=10.0, toxicity_4_weeks=7.0,
                complications=(Complication("csf_leak", "implant", T0 + 2 * DAY, T0 + 2 * DAY, False, ""),)),
        # pain 6 -> 7, toxicity 4 -> 2: failure; dies at day 200; re-operated at day 50
        outcome(3, pain_enrolment=6.0, pain_4_weeks=7.0, toxicity_enrolment=4.0, toxicity_4_weeks=2.0,
                death_s=T0 + 200 * DAY, followed_s=200 * DAY, reoperation_s=T0 + 50 * DAY, cancer_events=2),
        # died before 4 weeks (day 10): not measured at 4 weeks
        outcome(4, pain_enrolment=7.0, death_s=T0 + 10 * DAY, followed_s=10 * DAY),
        outcome(5, implanted=False, implant_s=None, trial_success=False, followed_s=0.0),
    ]  # fmt: skip
    m = cancer_metrics(outs, 1.0)
    assert m["cancer_measured_4_weeks"] == 3
    assert m["cancer_clinical_success_4_weeks"] == pytest.approx(2 / 3)
    assert m["cancer_pain_and_toxicity_reduced_4_weeks"] == pytest.approx(1 / 3)
    # mean pain 20/3 -> 17/3: 1 - 17/20 = 15%; mean toxicity 24/3 -> 14/3: 1 - 14/24 = 41.67%
    assert m["cancer_mean_pain_reduction_4_weeks"] == pytest.approx(0.15)
    assert m["cancer_mean_toxicity_reduction_4_weeks"] == pytest.approx(10 / 24)
    # of 4 implanted, deaths at days 10 and 100 fall within 6 months (182.6 days): 2 of 4 alive
    assert m["cancer_survival_6_months"] == pytest.approx(0.5)
    # Kaplan-Meier: day 10 (4 at risk) -> 0.75, day 100 (3 at risk) -> 0.5: the median is day 100
    assert m["cancer_median_survival_months"] == pytest.approx(100 / (365.25 / 12))
    assert m["cancer_any_complication_1_year"] == pytest.approx(1 / 4)
    assert m["cancer_reoperation_1_year"] == pytest.approx(1 / 4)
    assert m["cancer_new_pains_per_patient"] == pytest.approx(3 / 4)
    assert m["return_to_work_12_months"] is None
    rows = cancer_rows(m, [{"metric": "Back at work by 12 months (working age, not working before)", "simulated": 0.2}])
    assert all(r["published"] is not None and r["source"] for r in rows)


def test_km_median_by_hand() -> None:
    # events at 1, 2; censored at 3: 2/3 after day 1, 1/3 after day 2 -> median day 2
    assert km_median([(1.0, True), (3.0, False), (2.0, True)]) == 2.0
    # one of three dies: the curve stays at 2/3
    assert km_median([(1.0, True), (3.0, False), (2.0, False)]) is None


# ---- the patient block and the cohort ------------------------------------------------------------


def test_scenario_patient_from_the_cancer_population() -> None:
    p = PatientSpec(seed=3, index=4, population="cancer").params()
    assert p.cancer and p.oral_mme_per_day > 0
    assert PatientSpec(seed=3, index=4).params() == PatientParams.sample(3, 4)  # default: unchanged


def test_cohort_cancer_json_has_the_cancer_figures(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["cohort", "--patients", "6", "--years", "0.6", "--seed", "3", "--population", "cancer", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for k in ("cancer_clinical_success_4_weeks", "cancer_survival_6_months", "cancer_median_survival_months"):
        assert k in out
    assert out["return_to_work_12_months"] is None
    assert out["cancer_reoperation_1_year"] is None  # horizon shorter than a year
    rc = main(["cohort", "--patients", "2", "--years", "0.6", "--seed", "3", "--json"])
    assert rc == 0 and not any(k.startswith("cancer_") for k in json.loads(capsys.readouterr().out))


def test_the_report_shows_the_cancer_measures() -> None:
    from itdd.report.outcome import outcome_rows

    base = {"implanted": True, "followed_days": 100.0}
    cancer = {
        **base,
        "pain_enrolment": 6.0,
        "pain_4_weeks": 3.0,
        "toxicity_enrolment": 5.0,
        "toxicity_4_weeks": 6.0,
        "clinical_success_4_weeks": True,  # 6 -> 3 is 50% less pain
        "cancer_new_pains": 2,
    }
    rows = dict(outcome_rows(cancer))
    assert rows["Cancer pain at 4 weeks (Smith 2002's measures)"].endswith("clinical success")
    assert rows["New pain from the cancer (not a pump fault)"] == "2 time(s)"
    assert not any("Cancer" in label for label, _ in outcome_rows(base))  # non-cancer rows unchanged


# ---- the population: Smith 2002's entry criterion -------------------------------------------------


def test_cancer_patients_meet_smith_entry_criterion() -> None:
    from itdd.patient.population import CANCER_POPULATION, DEFAULT_POPULATION, enrolment_pain

    assert CANCER_POPULATION.enrolment_min_pain is not None
    assert CANCER_POPULATION.enrolment_min_pain.value == 5.0  # Smith 2002: VAS >= 5 despite the home opioids
    assert DEFAULT_POPULATION.enrolment_min_pain is None  # non-cancer: no criterion, one draw as before
    ps = [PatientParams.sample(2026, i, population=CANCER_POPULATION) for i in range(60)]
    assert all(enrolment_pain(p) >= 5.0 for p in ps)
    # a patient whose first draw meets it is that first draw (stream (index,)); one who fails it is
    # drawn again from (index, 1), (index, 2)...: some of the 60 are redrawn (about 23% fail once)
    first = [PatientParams._draw(2026, i, (i,), "pain", CANCER_POPULATION) for i in range(60)]
    kept = [p == f for p, f in zip(ps, first, strict=True)]
    assert all(k for k, f in zip(kept, first, strict=True) if enrolment_pain(f) >= 5.0)
    assert 0 < kept.count(False) < 30
    # non-cancer: the single draw of stream (index,)
    one = [PatientParams._draw(11, i, (i,), "pain", DEFAULT_POPULATION) for i in range(20)]
    assert [PatientParams.sample(11, i) for i in range(20)] == one


def test_enrolment_pain_is_what_the_pathway_measures() -> None:
    from itdd.patient.population import CANCER_POPULATION, enrolment_pain

    p = PatientParams.sample(2026, 3, population=CANCER_POPULATION)
    pw = run(p, quiet())
    assert pw.outcome.pain_enrolment == pytest.approx(enrolment_pain(p))  # type: ignore[attr-defined]


def test_a_trial_arm_carries_its_cancer_block() -> None:
    from itdd.trial.protocol import Arm

    arm = Arm.model_validate({"name": "c", "cancer": {"titration_visits": ["2d", "4d"], "visit_interval": "30d"}})
    plan = arm.plan(0.2, "cancer")
    assert plan.population == "cancer"
    # 0.2 year = 73.05 days: titration on days 2 and 4, then every 30 days from day 4: 34, 64 (94 is past the end)
    days = [round(t / DAY) for t, _ in plan.cancer.visit_times_s(0.0, 0.2 * YEAR)]
    assert days == [2, 4, 34, 64]
    # no block: the default cancer schedule (3, 6, 9, 12, 15, 21, 28 days, then every 14)
    assert Arm(name="d").plan(0.2, "cancer").cancer == CancerPlan()
