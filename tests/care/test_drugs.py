"""Drugs other than morphine through the pathway, and the clinician's change of drug (issue 10).

Hand-built patients and hand-derived numbers (comments); the decisions are pure functions of
care/clinician/drug_change.py.
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

from itdd.care.clinician import drug_change as dc
from itdd.care.clinician.decisions import Decision
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.cli import main
from itdd.drugs import get_drug
from itdd.patient import PatientParams, PatientSim
from itdd.patient import parameters as P
from itdd.patient.sim import Vitals
from itdd.patient.ziconotide import ziconotide_responder
from itdd.pump.models import get_model

DAY = 86400.0
MCG = 1e-3
ZIC = get_drug("ziconotide")
M40 = get_model("synchromed-ii-40")


def _vitals(*, pain: float = 6.0, drive: float = 0.0, sedation: float = 0.0) -> Vitals:
    return Vitals(0.0, pain, 0.0, 14.0, 97.0, sedation, 0.0, 0.0, 0.0, drive, 1.0)


# ---- ziconotide: no respiratory depression, no withdrawal -------------------------------------------


def test_ziconotide_patient_model_has_no_respiratory_depression_and_no_withdrawal() -> None:
    # The reference adult (no oral opioids) at steady state on 24 mcg/day of ziconotide, above the
    # label's 19.2 mcg/day maximum: ziconotide's supraspinal drive (s_zic) is not part of the
    # respiratory drive (patient/sim.py _signs), so the respiratory rate is the baseline exactly;
    # its chain has no dependence state (pk.py: N-type blockers have none), so stopping it
    # abruptly for a week gives withdrawal 0 exactly.
    p = PatientParams.reference()
    sim = PatientSim.at_steady_state(p, 0.0, drug="ziconotide", csf_mg_per_day=24 * MCG)
    o = sim.observe()
    assert o.resp_rate_per_min == pytest.approx(p.resp_rate_per_min, rel=1e-12)
    assert not o.respiratory_depression and o.withdrawal == 0.0
    assert o.confusion > 0  # its side effects are psychiatric/cognitive (label)
    for days in (0.5, 1, 2, 7):
        sim.advance(days * DAY)
        o = sim.observe()
        assert o.withdrawal == 0.0 and not o.respiratory_depression


def test_ziconotide_pathway_never_depresses_breathing_even_with_the_reservoir_empty() -> None:
    # The reference adult on ziconotide for a year; every refill 120 days late, so the reservoir
    # runs dry (40 mL at 1.25 mcg/day of 5 mcg/mL = 0.25 mL/day lasts 160 days; refilled ~270 days in).
    plan = PathwayPlan(drug="ziconotide", years=1, late_refill_days=120, mortality=False, hazards=False)
    run = run_pathway(PatientParams.reference(), plan, seed=3, record=True)
    assert run.outcome.implanted
    res = run.result
    assert res is not None
    s = res["patient"]["series"]
    rr = [v for v in s["resp_rate_per_min"] if v is not None]
    wd = [v for v in s["withdrawal"] if v is not None]
    assert min(rr) >= P.RESP_DEPRESSION_RR_PER_MIN.value
    assert max(wd) == 0.0
    assert res["trial"]["alerts"] == []
    # it did run dry: the spinal fluid at the tip emptied of ziconotide (CSF half-life 4.6 h)
    tip = [c for d, c in zip(s["days"], s["csf_tip_mg_per_ml"], strict=True) if d > 30 and c is not None]
    assert max(tip) > 1e-6 and min(tip) < 1e-12


# ---- ziconotide's slow titration ---------------------------------------------------------------------


def zic_responder(p: PatientParams) -> PatientParams:
    """A ziconotide responder: with ziconotide's drive calibrated to its trials (Rauck 2006,
    docs/care.md) a 2.5-5 mcg bolus trial passes only in the most sensitive patients, so the
    pathway tests of its titration take one (ED50 0.06 mg/day; 10 MME/day of oral opioid, as the
    example journey-ziconotide.yaml) whose own ziconotide draw is a responder (patient/ziconotide.py:
    one patient in three; a non-responder gets no ziconotide analgesia at all)."""
    assert p.seed is not None and p.index is not None and ziconotide_responder(p.seed, p.index)
    return dataclasses.replace(p, ed50_mg_per_day=0.06, oral_mme_per_day=10.0)


def _zic_step(o: Vitals, dose: float, since_s: float = 7 * DAY) -> Decision:
    return dc.ziconotide_step(
        o,
        dose_mg_per_day=dose,
        ed50_mg_per_day=0.07,
        target_drive=3.0,
        ceiling_mg_per_day=19.2 * MCG,
        since_last_change_s=since_s,
        drug=ZIC,
        min_rate_ml_per_day=M40.min_rate_ml_per_day,
        max_rate_ml_per_day=M40.max_rate_ml_per_day,
        conc_mg_per_ml=25 * MCG,
    )


def test_ziconotide_titration_follows_the_pacc_schedule() -> None:
    # pain above target (drive 0 < 0.95 x 3 x 0.07): +1.2 mcg/day (PACC 0.5-1.2 mcg/day a step)
    d = _zic_step(_vitals(drive=0.0), 1.2 * MCG)
    assert d.action == "change" and d.dose_mg_per_day == pytest.approx(2.4 * MCG)
    # the last increase 2 days ago (< the label's 56 h minimum interval): keep
    assert _zic_step(_vitals(drive=0.0), 2.4 * MCG, since_s=2 * DAY).action == "keep"
    # 18.6 + 1.2 = 19.8 is above the 19.2 mcg/day maximum: to 19.2; at 19.2: keep
    d = _zic_step(_vitals(drive=0.0), 18.6 * MCG)
    assert d.dose_mg_per_day == pytest.approx(19.2 * MCG)
    assert _zic_step(_vitals(drive=0.0), 19.2 * MCG).action == "keep"
    # at the target (drive 0.21 = 3 x 0.07): keep
    assert _zic_step(_vitals(drive=0.21), 6.0 * MCG).action == "keep"


def test_ziconotide_confusion_halves_the_dose() -> None:
    from itdd.patient.sim import Observation

    fields = {f: 0.0 for f in Observation.__dataclass_fields__}
    fields.update(pain=6.0, resp_rate_per_min=14.0, spo2_pct=97.0, opioid_tolerance=1.0, confusion=4.0, drug="")
    o = Observation(**fields)  # type: ignore[arg-type]
    d = _zic_step(o, 6.0 * MCG)  # type: ignore[arg-type]
    assert d.action == "change" and d.dose_mg_per_day == pytest.approx(3.0 * MCG)  # 6 x (1 - 0.5)
    assert "confusion 4.0" in d.reason


def test_ziconotide_pathway_steps_are_at_most_1_2_mcg_and_56_hours_apart() -> None:
    plan = PathwayPlan(drug="ziconotide", years=0.5, hazards=False, mortality=False)
    run = run_pathway(zic_responder(PatientParams.sample(11, 2)), plan, seed=0)  # (11, 2): a responder
    assert run.outcome.implanted
    steps = run.outcome.dose_steps
    assert len(steps) > 3 and steps[0][1] <= 2.4 * MCG  # started within the label's <= 2.4 mcg/day
    for (t0, d0), (t1, d1) in itertools.pairwise(steps):
        if d1 > d0:
            assert d1 - d0 <= 1.2 * MCG + 1e-12
            assert t1 - t0 >= 56 * 3600 - 1
        assert d1 <= 19.2 * MCG + 1e-12


# ---- other opioids: equianalgesic conversion ----------------------------------------------------------


def test_equianalgesic_conversion() -> None:
    # PACC IT morphine:hydromorphone 5:1, reduced 25% when switching: 10 mg/day morphine ->
    # 10 / 5 x 0.75 = 1.5 mg/day hydromorphone; fentanyl (10:1 [U]) 10 / 10 x 0.75 = 0.75 mg/day.
    assert dc.convert_dose("morphine", "hydromorphone", 10.0) == pytest.approx(1.5)
    assert dc.convert_dose("morphine", "fentanyl", 10.0) == pytest.approx(0.75)
    assert dc.convert_dose("morphine", "hydromorphone", 10.0, reduce=False) == pytest.approx(2.0)
    # to ziconotide: no equivalence; its lowest starting dose, 0.5 mcg/day (PACC)
    assert dc.convert_dose("morphine", "ziconotide", 10.0) == pytest.approx(0.5 * MCG)


def test_hydromorphone_titrates_like_morphine_in_morphine_equivalents() -> None:
    from itdd.care.clinician import get_policy

    inner = get_policy("conventional")
    wrapped = dc.DrugAwarePolicy(inner)
    o = _vitals(pain=7.0, drive=1.0)
    kw = dict(
        ed50_mg_per_day=1.0,
        since_last_change_s=7 * DAY,
        now_s=0.0,
        min_rate_ml_per_day=M40.min_rate_ml_per_day,
        max_rate_ml_per_day=M40.max_rate_ml_per_day,
    )
    # 1 mg/day hydromorphone at 2 mg/mL = 5 mg/day morphine at 10 mg/mL (x5)
    h = wrapped.titration_step(
        o, dose_mg_per_day=1.0, ceiling_mg_per_day=15.0, drug=get_drug("hydromorphone"), conc_mg_per_ml=2.0, **kw
    )
    m = inner.titration_step(
        o, dose_mg_per_day=5.0, ceiling_mg_per_day=75.0, drug=get_drug("morphine"), conc_mg_per_ml=10.0, **kw
    )
    assert h.action == m.action == "change"
    # both step by the planner's first step (<= 30%): 5 -> at most 6.5 mg/day morphine, 1 -> 1.3 hydromorphone
    assert h.dose_mg_per_day == pytest.approx(m.dose_mg_per_day / 5.0)
    assert 1.0 < h.dose_mg_per_day <= 1.3 + 1e-9


# ---- the clinician's change of drug (PACC) ---------------------------------------------------------


def _change(**kw: object) -> Decision:
    base: dict[str, object] = dict(
        drug="morphine",
        dose_mg_per_day=15.0,
        limit_mg_per_day=15.0,
        at_limit_since_s=0.0,
        uncontrolled=True,
        now_s=61 * DAY,
        effects=dc.SideEffects(),
        adjuncts=(),
        tried=("morphine",),
    )
    base.update(kw)
    return dc.drug_change(**base)  # type: ignore[arg-type]


def test_opioid_at_its_limit_without_relief_gets_bupivacaine_then_clonidine_then_a_switch() -> None:
    # morphine 15 mg/day = its 15 mg/day soft maximum for 61 days (> 60): add bupivacaine 2 mg/day
    d = _change()
    assert (d.action, d.trigger, d.dose_mg_per_day) == ("add_adjunct", "bupivacaine", 2.0)
    d = _change(adjuncts=("bupivacaine",))
    assert (d.action, d.trigger) == ("add_adjunct", "clonidine") and d.dose_mg_per_day == pytest.approx(0.05)
    # both in and pain uncontrolled: switch to hydromorphone, 15 / 5 x 0.75 = 2.25 mg/day
    d = _change(adjuncts=("bupivacaine", "clonidine"))
    assert (d.action, d.trigger) == ("switch", "hydromorphone") and d.dose_mg_per_day == pytest.approx(2.25)
    # both in, pain controlled: keep
    assert _change(adjuncts=("bupivacaine", "clonidine"), uncontrolled=False).action == "keep"
    # only 30 days at the limit, or below the limit: keep
    assert _change(now_s=30 * DAY).action == "keep"
    assert _change(dose_mg_per_day=10.0).action == "keep"


def test_intolerable_opioid_side_effects_switch_the_opioid() -> None:
    fx = dc.SideEffects(sedation=2.2)
    d = _change(dose_mg_per_day=8.0, effects=fx)
    # 8 mg/day morphine -> 8 / 5 x 0.75 = 1.2 mg/day hydromorphone
    assert (d.action, d.trigger) == ("switch", "hydromorphone") and d.dose_mg_per_day == pytest.approx(1.2)
    # hydromorphone already tried: fentanyl, 8 / 10 x 0.75 = 0.6 mg/day
    d = _change(dose_mg_per_day=8.0, effects=fx, tried=("morphine", "hydromorphone"))
    assert (d.action, d.trigger) == ("switch", "fentanyl") and d.dose_mg_per_day == pytest.approx(0.6)
    # pain controlled: side effects are titrated around, not switched
    assert _change(dose_mg_per_day=8.0, effects=fx, uncontrolled=False, at_limit_since_s=None).action == "keep"


def test_ziconotide_confusion_at_its_lowest_dose_switches_to_morphine() -> None:
    d = _change(
        drug="ziconotide",
        dose_mg_per_day=0.5 * MCG,
        limit_mg_per_day=19.2 * MCG,
        effects=dc.SideEffects(confusion=5.0),
        tried=("ziconotide",),
    )
    # morphine at its lowest starting dose 0.2 mg/day (Infumorph)
    assert (d.action, d.trigger) == ("switch", "morphine") and d.dose_mg_per_day == pytest.approx(0.2)


def test_adjunct_side_effects_lower_the_adjunct() -> None:
    # bupivacaine 25 mg/day: block score 10 x 1 / (1 + 1) = 5 >= 3 -> reduce 30%: 17.5 mg/day
    block, retention = dc.adjunct_effects(25.0)
    assert block == pytest.approx(5.0) and retention == pytest.approx(5.0)
    fx = dc.SideEffects(sensory_motor_block=block, urinary_retention=retention)
    a = dc.adjunct_step(
        adjunct="bupivacaine", dose_mg_per_day=25.0, effects=fx, uncontrolled=True, soft_max_mg_per_day=15
    )
    assert a.action == "reduce" and a.dose_mg_per_day == pytest.approx(17.5)
    # clonidine: systolic 85 mmHg (< 90) -> reduce 0.1 -> 0.07 mg/day
    a = dc.adjunct_step(
        adjunct="clonidine",
        dose_mg_per_day=0.1,
        effects=dc.SideEffects(systolic_bp_mmhg=85.0),
        uncontrolled=True,
        soft_max_mg_per_day=0.6,
    )
    assert a.action == "reduce" and a.dose_mg_per_day == pytest.approx(0.07)
    # no side effects, pain uncontrolled: up 30%, 2 -> 2.6 mg/day
    a = dc.adjunct_step(
        adjunct="bupivacaine", dose_mg_per_day=2.0, effects=dc.SideEffects(), uncontrolled=True, soft_max_mg_per_day=15
    )
    assert a.action == "increase" and a.dose_mg_per_day == pytest.approx(2.6)


def test_clonidine_abrupt_stop_gives_rebound_hypertension() -> None:
    # IT clonidine builds a dependence state (pk.py ALPHA2): stopped abruptly, withdrawal rises and
    # the systolic pressure climbs above the on-drug value (8 mmHg per withdrawal point, sim.py).
    p = PatientParams.reference()
    sim = PatientSim.at_steady_state(p, 0.0, drug="clonidine", csf_mg_per_day=0.3)
    on = sim.observe()
    sim.advance(1.5 * DAY)
    off = sim.observe()
    assert off.withdrawal_clonidine > 0 and off.systolic_bp_mmhg > on.systolic_bp_mmhg
    assert off.systolic_bp_mmhg > p.systolic_bp_mmhg  # above the patient's own baseline: rebound


def test_pathway_adds_bupivacaine_at_a_refill_then_switches() -> None:
    # A patient who needs much morphine (ED50 1 mg/day, fast tolerance): morphine climbs past its
    # 15 mg/day soft maximum; after 60 days there the clinician adds bupivacaine (a refill with the
    # mixture), which spares morphine.
    p = PatientParams.reference().with_(emax=0.6, ed50_mg_per_day=1.0, tolerance_rate=2.0)
    plan = PathwayPlan(drug_changes=True, years=3, hazards=False, mortality=False, side_effect_reactions=False)
    run = run_pathway(p, plan, seed=1, record=True)
    res = run.result
    assert res is not None
    drugs = [r["drug"] for r in res["refills"]] if "refills" in res else []
    labels = [s["label"] for s in res["pathway"]["stages"]]
    assert any("bupivacaine added to morphine" in lb for lb in labels)
    assert any(lb.startswith("Refill 40 mL morphine") and "+ bupivacaine" in lb for lb in labels)
    if drugs:
        assert any(d.startswith("morphine+bupivacaine@") for d in drugs)


# ---- the cohort ------------------------------------------------------------------------------------


@pytest.mark.parametrize("drug", ["ziconotide", "hydromorphone", "morphine+bupivacaine"])
def test_cohort_with_another_drug_runs_and_makes_sense(drug: str, capsys: pytest.CaptureFixture[str]) -> None:
    # ziconotide's analgesia is calibrated to its trials (docs/care.md): about 6% of its bolus trials
    # pass, so it needs more patients to implant any (seed 5: 1 of 27 trialled in 30 patients)
    n = "30" if drug == "ziconotide" else "12"
    rc = main(["cohort", "--patients", n, "--years", "1", "--seed", "5", "--drug", drug, "--json", "--workers", "1"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["implanted"] > 0
    if drug == "ziconotide":
        causes = out.get("deaths_by_cause") or {}
        assert not causes.get("respiratory_depression")


@pytest.mark.parametrize("bad", ["aspirin", "morphine+aspirin", "morphine+", "+bupivacaine"])
def test_bad_drug_names_exit_2_with_one_line_naming_the_field(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["cohort", "--patients", "2", "--years", "1", "--seed", "1", "--drug", bad])
    err = capsys.readouterr().err
    assert rc == 2 and "--drug" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_plan_and_trial_arm_name_a_drug_and_a_mixture() -> None:
    from itdd.trial.protocol import Arm

    # hydromorphone's default trial doses: morphine's 0.5 mg then 1 mg divided by 5 = 0.1 then 0.2 mg
    plan = PathwayPlan(drug="hydromorphone")
    assert plan.trial.bolus_doses_mg() == pytest.approx([0.1, 0.2])
    # ziconotide: / 200 = 2.5 then 5 mcg; infusion 0.5 mg/day / 200 = 2.5 mcg/day
    z = PathwayPlan(drug="ziconotide")
    assert z.trial.bolus_doses_mg() == pytest.approx([2.5 * MCG, 5 * MCG])
    assert z.trial.infusion_mg_per_day == pytest.approx(2.5 * MCG)
    # given doses are kept
    assert PathwayPlan(drug="ziconotide", trial={"doses": ["1 mcg"]}).trial.bolus_doses_mg() == pytest.approx([MCG])
    arm = Arm(name="HM+clonidine", drug="hydromorphone", adjunct={"drug": "clonidine"}, drug_changes=True)
    p = arm.plan(1.0)
    assert (p.drug, p.adjunct.drug if p.adjunct else None, p.drug_changes) == ("hydromorphone", "clonidine", True)
    assert p.adjunct is not None and p.adjunct.dose_mg_per_day == pytest.approx(0.05)  # 50 mcg/day default
    with pytest.raises(Exception, match="drug"):
        PathwayPlan(drug="baclofen")  # type: ignore[arg-type]


def test_ziconotide_carries_no_respiratory_death_risk_even_with_every_risk_factor() -> None:
    # A patient with benzodiazepines, sleep apnoea and 120 MME/day of oral opioids: on morphine the
    # respiratory-depression hazard after the implant is positive (patient/mortality.py); on
    # ziconotide the clock is told there is no intrathecal opioid (opioid=False), so it is 0 exactly.
    from itdd.care.pathway import _Pathway

    p = PatientParams.reference().with_(benzodiazepine=True, sleep_apnoea=True, oral_mme_per_day=120.0)
    hazards = {}
    for drug in ("morphine", "ziconotide"):
        plan = PathwayPlan(drug=drug, years=0.2)  # type: ignore[arg-type]
        pw = _Pathway(p, plan, 4, False, None, None)
        pw.run(None)
        assert pw.mort is not None and pw.implant_s is not None
        hazards[drug] = pw.mort.rates(pw.implant_s + DAY)["respiratory_depression"]
        if drug == "ziconotide":
            assert pw.death_cause != "respiratory_depression"
    assert hazards["morphine"] > 0.0
    assert hazards["ziconotide"] == 0.0


def test_a_switch_empties_the_reservoir_refills_it_with_the_new_drug_and_programs_its_dose() -> None:
    # A morphine patient 0.3 years after the implant: the clinician switches to hydromorphone
    # 1.5 mg/day (10 mg/day morphine / 5 x 0.75). The refill holds hydromorphone only; the old
    # morphine still in the fluid path is bridged, then hydromorphone reaches the patient.
    from itdd.care.pathway import _Pathway

    plan = PathwayPlan(years=0.3, hazards=False, mortality=False, drug_changes=True)
    pw = _Pathway(PatientParams.reference(), plan, 2, True, None, None)  # recorded: the refill rows are report output
    pw.run(None)
    imp = pw.implant
    assert imp is not None and pw.drug.name == "morphine"
    t = imp.t_s
    pw.switch_drug(t, "hydromorphone", 1.5, "test: intolerable pruritus")
    assert imp.hw.reservoir_drug == "hydromorphone" and pw.refills[-1]["drug"] == "hydromorphone"
    assert imp.fw.therapy.daily_dose_mg() == pytest.approx(1.5)
    assert (pw.drug.name, pw.potency, pw.is_opioid, pw.drugs_tried) == (
        "hydromorphone",
        5.0,
        True,
        ["morphine", "hydromorphone"],
    )
    imp.run_until(t + 30 * DAY)
    pw.sim.follow(imp.record, t + 30 * DAY)
    # 30 days at 1.5 mg/day = 45 mg at most (less the morphine still in the path first)
    assert 0 < pw.sim.delivered_csf_mg["hydromorphone"] <= 45.0 + 1e-6


def test_a_switch_to_ziconotide_from_an_opioid_dose_it_cannot_run_stops_the_pump_first() -> None:
    # The reference patient's morphine dose after 0.3 years is several mg/day; ziconotide is filled at
    # a few mcg/mL, so the old dose at the new concentration would need far more than the pump's
    # 24 mL/day (e.g. 2 mg/day / 0.005 mg/mL = 400 mL/day) and the pump refuses such a refill. The
    # clinician stops the pump, empties and refills it, then programs ziconotide's starting dose.
    from itdd.care.pathway import _Pathway
    from itdd.care.steps.drug_steps import runs_at

    plan = PathwayPlan(years=0.3, hazards=False, mortality=False, drug_changes=True)
    pw = _Pathway(PatientParams.reference(), plan, 2, True, None, None)
    pw.run(None)
    imp = pw.implant
    assert imp is not None and pw.drug.name == "morphine"
    old = imp.fw.therapy
    assert old.daily_dose_mg() > 24 * 0.005  # cannot run at 5 mcg/mL: the pump would refuse
    assert not runs_at(old, 0.005, imp.model) and runs_at(old, pw.conc, imp.model)
    t = imp.t_s
    pw.switch_drug(t, "ziconotide", 0.0005, "test: intolerable opioid side effects")
    assert imp.hw.reservoir_drug == "ziconotide"
    assert imp.fw.therapy.daily_dose_mg() == pytest.approx(0.0005)  # 0.5 mcg/day, the starting dose
    kinds = [(e.type, e.details.get("mode")) for e in imp.log.since(0) if e.time_s >= t]
    assert kinds.index(("therapy_programmed", "stopped")) < [k for k, _ in kinds].index("refill")


def test_ziconotide_label_schedule_steps_by_2_4_mcg() -> None:
    # the label's schedule: +2.4 mcg/day a step (weekly visits here), never above 19.2 mcg/day
    plan = PathwayPlan(drug="ziconotide", years=0.4, hazards=False, mortality=False, ziconotide_schedule="label")
    steps = run_pathway(zic_responder(PatientParams.sample(11, 1)), plan, seed=1).outcome.dose_steps
    ups = [d1 - d0 for (_, d0), (_, d1) in itertools.pairwise(steps) if d1 > d0]
    assert ups and max(ups) <= 2.4 * MCG + 1e-12
    assert any(u > 1.2 * MCG + 1e-9 for u in ups)  # faster than PACC's 1.2 mcg/day
    assert max(d for _, d in steps) <= 19.2 * MCG + 1e-12


def test_a_mixture_titration_never_takes_an_added_drug_past_its_hard_limit() -> None:
    # The mixture example's patient (ED50 1 mg/day, fast tolerance) on morphine + 12 mg/day of
    # bupivacaine for 2 years: between refills bupivacaine follows the morphine rate (without the
    # cap it reached 21.4 mg/day), yet at every programmed rate (intervals of an hour or more:
    # bridge and priming boluses are brief) it stays within its own 20 mg/day hard limit, because
    # the morphine dose's ceiling is 20 mg/day / (mg of bupivacaine per mg of morphine).
    from itdd.care.pathway import _Pathway
    from itdd.drugs.mixture import split

    p = PatientParams.reference().with_(ed50_mg_per_day=1.0, emax=0.6, tolerance_rate=2.0)
    adjunct = {"drug": "bupivacaine", "dose": "12 mg/day"}
    plan = PathwayPlan(years=2, adjunct=adjunct, drug_changes=True, hazards=False, mortality=False)
    pw = _Pathway(p, plan, 2027, False, None, None)
    pw.run(None)
    assert pw.implant is not None
    rec = pw.implant.record
    worst = 0.0
    for t0, t1, mg, drug in zip(rec.t0, rec.t1, rec.programmed_mg, rec.drug, strict=True):
        if "+" in drug and t1 - t0 >= 3600.0:
            ratio = dict(split(drug))["bupivacaine"]
            worst = max(worst, mg / (t1 - t0) * DAY * ratio)
    assert 0 < worst <= 20.0 + 1e-9
