"""The care pathway: screening, trial, implant, follow-up, complications and their detection.

Expectations are derived by hand from the rules (docs/care.md) and the pump's physics, never copied
from the code's output.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from itdd import quantities as q
from itdd.care.pathway import RR_ALERT_PER_MIN, run_pathway
from itdd.care.plan import PathwayPlan
from itdd.patient import PatientParams
from itdd.report.schema import validate_result

ROOT = Path(__file__).resolve().parents[2]

DAY = 86400.0
H = 3600.0


def quiet(**kw: object) -> PathwayPlan:
    """A deterministic plan: no random complications."""
    base: dict[str, object] = {"hazards": False, "surgical_complications": False, "years": 0.5}
    base.update(kw)
    return PathwayPlan.model_validate(base)


def run_offset(res: dict[str, object]) -> int:
    return q.offset_of(q.parse_datetime(res["scenario"]["start"]))  # type: ignore[index]


def times_s(rows: list[dict[str, object]], key: str = "time") -> list[float]:
    return [q.to_epoch_s(q.parse_datetime(r[key])) for r in rows]


@pytest.fixture(scope="module")
def responder() -> PatientParams:
    # the reference adult with home oral opioids: responds to intrathecal morphine (emax 0.8 > 0.5)
    return PatientParams.reference(oral_mme_per_day=60.0, emax=0.8)


def test_contraindicated_patient_is_refused_without_trial_or_implant() -> None:
    p = PatientParams.reference(active_infection=True)
    run = run_pathway(p, quiet(), 1, record=True)
    o = run.outcome
    assert o.refused is not None and "active infection" in o.refused
    assert o.trial_success is None and not o.implanted and o.implant_s is None
    res = validate_result(run.result)
    assert res["trial"]["refusal"]["field"] == "patient.contraindications"
    assert res["trial"]["doses"] == [] and "pump" not in res


def test_allergy_to_the_trial_drug_is_refused() -> None:
    p = PatientParams.reference(allergies=("morphine",))
    assert "allergy" in (run_pathway(p, quiet(), 1).outcome.refused or "")


def test_failed_trial_ends_without_implant() -> None:
    # emax 0.1: drugs can remove at most 10% of the pain, never the 50% the trial needs
    p = PatientParams.reference(emax=0.1)
    run = run_pathway(p, quiet(), 3, record=True)
    assert run.outcome.trial_success is False and not run.outcome.implanted
    res = validate_result(run.result)
    assert res["trial"]["outcome"]["pain_relief_fraction"] < 0.5
    assert len(res["trial"]["doses"]) == 2  # multiple_bolus: 0.5 mg failed, so 1 mg the next day
    assert "pump" not in res and "series" not in res


def test_trial_vitals_hourly_for_12_h_then_two_hourly_for_12_h(responder: PatientParams) -> None:
    plan = quiet(trial={"method": "single_bolus", "doses": ["0.3 mg"]})
    res = run_pathway(responder, plan, 1, record=True).result
    assert res is not None
    t_dose = times_s(res["trial"]["doses"])[0]
    got = [round((t - t_dose) / H, 6) for t in times_s(res["trial"]["vitals"])]
    assert got == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 22, 24]  # 12 + 6 checks


def test_respiratory_depression_raises_an_alert_and_stops_escalation() -> None:
    # opioid-naive, 5x the reference respiratory sensitivity: 1 mg of IT morphine depresses breathing
    p = PatientParams.reference(resp_sensitivity=5.0, oral_mme_per_day=0.0)
    plan = quiet(trial={"method": "multiple_bolus", "doses": ["1 mg", "1.5 mg"], "washout": "0d"})
    res = run_pathway(p, plan, 1, record=True).result
    assert res is not None
    alerts = res["trial"]["alerts"]
    rr = [a for a in alerts if a["kind"] == "respiratory_rate"]
    assert rr and all(a["value"] < RR_ALERT_PER_MIN and a["limit"] == 10 for a in rr)
    low = [v["resp_rate_per_min"] for v in res["trial"]["vitals"] if v["resp_rate_per_min"] < 10]
    assert low, "the vitals themselves show the low rate"
    assert len(res["trial"]["doses"]) == 1  # no second, higher dose after an alert


def test_kinked_catheter_gives_refill_discrepancy_and_returning_pain(responder: PatientParams) -> None:
    plan = quiet(
        years=0.6,
        titration={"self_check": "1d"},
        events=[{"after_implant": "150d", "type": "catheter_fault", "kind": "kink"}],
    )
    run = run_pathway(responder, plan, 5, record=True)
    res = validate_result(run.result)
    implant_s = run.outcome.implant_s
    assert implant_s is not None
    t_kink = implant_s + 150 * DAY
    kink = [c for c in run.outcome.complications if c.kind == "catheter_kink"]
    assert len(kink) == 1 and kink[0].t_s == pytest.approx(t_kink)
    assert kink[0].detected_s is not None and kink[0].reoperation
    # the first refill after the kink: the reservoir stayed full while the pump counted down
    after = [r for r in res["refills"] if q.to_epoch_s(q.parse_datetime(r["time"])) > t_kink]
    first = after[0]
    t_r = q.to_epoch_s(q.parse_datetime(first["time"]))
    # hand arithmetic: the pump counted down the programmed volume while nothing left the
    # reservoir, so discrepancy = programmed mg from the kink to the refill / concentration
    # (flow accuracy 1.0; kink and refill both at 08:00, so whole calendar days)
    d0, d1 = q.local_date(t_kink, run_offset(res)), q.local_date(t_r, run_offset(res))
    programmed_mg = sum(r["programmed_mg"] for r in res["daily"] if d0 <= r["date"] < d1)
    assert first["discrepancy_ml"] == pytest.approx(programmed_mg / first["previous_concentration_mg_per_ml"], rel=1e-6)
    assert first["discrepancy_ml"] > 0.1
    # pain comes back: pain a day before the kink vs the worst pain before the refill
    ps = res["patient"]["series"]
    d_kink = (t_kink - q.to_epoch_s(q.parse_datetime(ps["origin"]))) / DAY
    before = [p for d, p in zip(ps["days"], ps["pain"], strict=True) if d_kink - 1 <= d < d_kink]
    during = [p for d, p in zip(ps["days"], ps["pain"], strict=True) if d_kink < d <= d_kink + 2]
    assert max(during) >= max(before) + 2.0
    assert any(s["stage"] == "revision" for s in res["pathway"]["stages"])


def test_mri_stalls_the_motor_and_it_resumes(responder: PatientParams) -> None:
    plan = quiet(events=[{"after_implant": "30d", "type": "mri", "duration": "45min"}])
    run = run_pathway(responder, plan, 2, record=True)
    res = run.result
    assert res is not None and run.outcome.implant_s is not None
    t_mri = run.outcome.implant_s + 30 * DAY
    ev = {e["type"]: q.to_epoch_s(q.parse_datetime(e["time"])) for e in res["events"]}
    assert ev["motor_stall"] == pytest.approx(t_mri)
    assert ev["motor_stall_recovery"] == pytest.approx(t_mri + 45 * 60)
    assert res["pump"]["state"] != "motor_stalled"


def test_battery_eri_leads_to_replacement_before_end_of_service(responder: PatientParams) -> None:
    # 99.5% of the battery used: ERI comes within weeks; end of service is 90 days after ERI [S]
    plan = quiet(years=0.8, implant={"battery_used": "99.5%"})
    run = run_pathway(responder, plan, 4, record=True)
    res = run.result
    assert res is not None
    eol = [c for c in run.outcome.complications if c.kind == "battery_end_of_life"]
    assert len(eol) == 1 and eol[0].detected_s is not None
    assert eol[0].detected_s - eol[0].t_s < 90 * DAY
    assert not any(e["type"] == "end_of_service" for e in res["events"])
    assert run.outcome.reoperations == 1
    assert res["pump"]["eri"] is None  # the new pump


def test_pump_failure_is_found_at_a_visit_and_the_pump_replaced(responder: PatientParams) -> None:
    plan = quiet(events=[{"after_implant": "100d", "type": "pump_failure"}])
    run = run_pathway(responder, plan, 8, record=True)
    res = run.result
    assert res is not None and run.outcome.implant_s is not None
    t_f = run.outcome.implant_s + 100 * DAY
    fail = [c for c in run.outcome.complications if c.kind == "pump_failure"]
    assert len(fail) == 1 and fail[0].detected_s is not None
    # found at the next visit (visits every 30 days after the weekly ones): within a month
    assert 0 <= fail[0].detected_s - t_f <= 31 * DAY
    assert run.outcome.reoperations == 1
    assert res["pump"]["state"] != "motor_stalled"
    # nothing was pumped between the failure and the replacement (3 days after detection)
    origin = q.to_epoch_s(q.parse_datetime(res["series"]["origin"]))
    dose = res["series"]["dose"]
    # a step series: each value holds from its day to the next one
    steps = list(zip(dose["days"], dose["delivered_mg_per_day"], strict=True))
    active = [v for i, (d, v) in enumerate(steps) if origin + d * DAY <= t_f + 1.0][-1:]
    inside = [v for d, v in steps if t_f + 1.0 < origin + d * DAY < fail[0].detected_s]
    assert active and max(active + inside) == 0.0


def test_infection_leads_to_explant(responder: PatientParams) -> None:
    plan = quiet(events=[{"after_implant": "40d", "type": "infection"}])
    run = run_pathway(responder, plan, 9, record=True)
    assert run.outcome.explanted and run.outcome.explant_reason == "infection"
    inf = [c for c in run.outcome.complications if c.kind == "infection"]
    assert len(inf) == 1 and inf[0].reoperation and inf[0].detected_s is not None
    assert inf[0].detected_s - inf[0].t_s == pytest.approx(3 * DAY)  # fever and wound signs [U]
    assert run.result is not None and run.result["pump"]["state"] == "stopped"


def test_saline_substitution_delivers_no_drug_and_withdrawal_follows(responder: PatientParams) -> None:
    plan = quiet(events=[{"after_implant": "90d", "type": "saline"}], titration={"self_check": "0d"})
    run = run_pathway(responder, plan, 6, record=True)
    res = run.result
    assert res is not None and run.outcome.implant_s is not None
    t_sal = run.outcome.implant_s + 90 * DAY
    origin = q.to_epoch_s(q.parse_datetime(res["series"]["origin"]))
    days, delivered = res["series"]["dose"]["days"], res["series"]["dose"]["delivered_mg_per_day"]
    later = [v for d, v in zip(days, delivered, strict=True) if origin + d * DAY >= t_sal + 1.0]
    assert later and max(later) == 0.0
    assert res["pump"]["drug"] == "saline"
    ps = res["patient"]["series"]
    d0 = (t_sal - q.to_epoch_s(q.parse_datetime(ps["origin"]))) / DAY
    w_after = max(w for d, w in zip(ps["days"], ps["withdrawal"], strict=True) if d0 < d <= d0 + 3)
    p_before = max(p for d, p in zip(ps["days"], ps["pain"], strict=True) if d0 - 1 <= d < d0)
    p_after = max(p for d, p in zip(ps["days"], ps["pain"], strict=True) if d0 + 1 <= d <= d0 + 3)
    assert w_after > 1.0 and p_after > p_before + 1.0


def test_explant_stops_everything(responder: PatientParams) -> None:
    plan = quiet(events=[{"after_implant": "60d", "type": "explant"}])
    run = run_pathway(responder, plan, 7, record=True)
    res = run.result
    assert res is not None and run.outcome.implant_s is not None
    t_x = run.outcome.implant_s + 60 * DAY
    assert run.outcome.explanted and run.outcome.explant_reason == "planned explant"
    assert res["pump"]["state"] == "stopped"
    assert all(q.to_epoch_s(q.parse_datetime(r["time"])) < t_x for r in res["refills"])
    origin = q.to_epoch_s(q.parse_datetime(res["series"]["origin"]))
    pumped = [
        v
        for d, v in zip(res["series"]["dose"]["days"], res["series"]["dose"]["programmed_mg_per_day"], strict=True)
        if origin + d * DAY > t_x + 1
    ]
    assert pumped and max(pumped) == 0.0


def test_same_seed_same_outcome_and_hazards_change_with_seed() -> None:
    plan = PathwayPlan(years=3)
    p = PatientParams.sample(3, 1)
    a, b = run_pathway(p, plan, 11).outcome, run_pathway(p, plan, 11).outcome
    assert a == b
    outs = {tuple(c.kind for c in run_pathway(p, plan, s).outcome.complications) for s in range(8)}
    assert len(outs) > 1


def test_on_time_refills_never_let_the_pump_run_dry_and_late_ones_do(responder: PatientParams) -> None:
    on_time = run_pathway(responder, quiet(years=1), 1, record=True).result
    late = run_pathway(responder, quiet(years=1, late_refill_days=30), 1, record=True).result
    assert on_time is not None and late is not None
    assert not any(e["type"] == "reservoir_depleted" for e in on_time["events"])
    assert any(e["type"] == "reservoir_depleted" for e in late["events"])


def test_standard_plan_defaults() -> None:
    plan = PathwayPlan()
    assert plan.trial.method == "multiple_bolus" and plan.years == 1.0 and plan.hazards
    assert math.isclose(q.parse_duration_s(plan.trial.washout), 7 * DAY)


def test_continuous_infusion_trial_is_one_exact_infusion_with_the_vitals_schedule(responder: PatientParams) -> None:
    plan = quiet(trial={"method": "continuous_infusion", "infusion": "1 mg/day", "infusion_duration": "2d"})
    res = run_pathway(responder, plan, 1, record=True).result
    assert res is not None
    (dose,) = res["trial"]["doses"]
    assert dose["duration_s"] == 2 * DAY and dose["dose_mg"] == pytest.approx(2.0)  # 1 mg/day x 2 days
    t0 = times_s(res["trial"]["doses"])[0]
    got = [round((t - t0) / H, 6) for t in times_s(res["trial"]["vitals"])]
    # hourly x 12, 2-hourly to 24 h, then 4-hourly until the infusion ends at 48 h
    assert got == [*range(1, 13), 14, 16, 18, 20, 22, 24, 28, 32, 36, 40, 44, 48]


def test_patient_boluses_are_decided_at_activity_breakpoints(responder: PatientParams) -> None:
    p = responder.with_(wake_h=7.0)
    plan = quiet(years=0.1, ptm={"pain_threshold": 0.0, "max_per_day": 2, "lockout": "3h"})
    res = run_pathway(p, plan, 1, record=True).result
    assert res is not None and res["ptm_requests"]
    local_hours = {r["time"][11:16] for r in res["ptm_requests"]}
    assert local_hours <= {"07:00", "13:00"}  # waking, and 6 h later (in the plan's UTC offset)


def test_progress_bar_only_on_a_terminal() -> None:
    import io

    from itdd.cli.demo import progress_reporter

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, plain = Tty(), io.StringIO()
    for f in (0.0, 0.1, 0.5, 1.0):
        progress_reporter(tty)(f)
        progress_reporter(plain)(f)
    assert "\r" in tty.getvalue() and "\r" not in plain.getvalue()
    show = progress_reporter(plain)
    for k in range(101):
        show(k / 100)
    assert len(plain.getvalue().splitlines()) <= 10  # a few lines, not a hundred


def test_self_check_after_a_kink_brings_the_patient_in_before_the_monthly_visit(responder: PatientParams) -> None:
    # Visits: weekly to day 84, then every 30 days (114, 144, 174, 204).  Self-checks sit on the
    # grid implant + 7k days; a complication starts a 28-day watch with weekly checks.  Kink at day
    # 180 -> the next grid point is day 182 (k = 26), pain is back within 2 days of a kink (test
    # above) -> the patient calls -> visit 1 day later, day 183: the refill finds the discrepancy
    # and the catheter study the kink.  Without the watch (monthly checks on k = 4j: days 168, 196)
    # it would wait for day 196; without self-checks, for the next clinic contact (the next
    # scheduled refill's discrepancy or the visit on day 204), more than a week after the kink.
    kink = {"after_implant": "180d", "type": "catheter_fault", "kind": "kink"}
    found = {}
    for sc in ("7d", "0d"):
        run = run_pathway(responder, quiet(years=0.7, events=[kink], titration={"self_check": sc}), 5)
        assert run.outcome.implant_s is not None
        (c,) = [c for c in run.outcome.complications if c.kind == "catheter_kink"]
        assert c.detected_s is not None
        found[sc] = (c.detected_s - run.outcome.implant_s) / DAY
    assert found["7d"] == pytest.approx(183.0)
    assert 187.0 < found["0d"] <= 204.0


def test_relief_at_36_months_only_for_a_36_month_follow_up(responder: PatientParams) -> None:
    # same definition as at 12 months: 1 - pain at the milestone / baseline pain (docs/cohort.md)
    short = run_pathway(responder, quiet(years=1.0), 3).outcome
    assert short.relief_12_months is not None and short.relief_36_months is None
    run = run_pathway(responder, quiet(years=3.0), 3, record=True)
    o = run.outcome
    assert o.relief_36_months is not None and 0.0 < o.relief_36_months <= 1.0
    assert run.result is not None and run.result["outcome"]["relief_36_months"] == o.relief_36_months


def test_self_check_schedule_follows_the_rule(responder: PatientParams) -> None:
    # The rule (docs/care.md "Self-checks"), checked against every self-check of a 1-year run:
    # on the grid implant + 7k days; never at a planned visit; off the monthly points (k = 4j)
    # only within 28 days after a change; and the first free grid point after each change checked.
    from itdd.care.pathway import _Pathway

    mri = {"after_implant": "200d", "type": "mri", "duration": "45min"}  # a change after pain is controlled
    pw = _Pathway(responder, quiet(years=1.0, events=[mri]), 3, False, None)
    checks: list[float] = []
    changes: list[float] = []
    check, changed = pw._self_check, pw.changed

    def spy_check(sim: object) -> None:
        assert pw.implant is not None
        checks.append(pw.implant.t_s)
        check(sim)  # type: ignore[arg-type]

    def spy_changed(t: float) -> None:
        changes.append(t)
        changed(t)

    pw._self_check = spy_check  # type: ignore[method-assign]
    pw.changed = spy_changed  # type: ignore[method-assign]
    pw.run(None)
    t0 = pw.implant_s
    assert t0 is not None and checks and changes
    week = 7 * DAY
    visits = {t0 + k * week for k in range(1, 13)} | {t0 + 84 * DAY + j * 30 * DAY for j in range(1, 10)}
    for g in checks:
        k = (g - t0) / week
        assert k == pytest.approx(round(k), abs=1e-9)
        assert all(abs(g - v) > 1.0 for v in visits)
        if round(k) % 4:
            assert any(0 <= g - c <= 28 * DAY + 1.0 for c in changes), (g - t0) / DAY
    assert len(checks) < 52 - 12  # fewer than the weekly grid minus the weekly visits
    # the MRI on day 200 (08:00 + 200 d): weekly checks on days 203, 210, 217, 224 (k = 29..32)
    days = {round((g - t0) / DAY, 6) for g in checks}
    assert {203.0, 210.0, 217.0, 224.0} <= days and 231.0 not in days
    for c in changes:
        k = math.floor((c - t0) / week + 1e-9) + 1
        while any(abs(t0 + k * week - v) <= 1.0 for v in visits):
            k += 1
        g = t0 + k * week
        if g <= pw.end_s and c >= min(checks):  # pain controlled by then
            assert any(abs(g - x) <= 1.0 for x in checks), ((c - t0) / DAY, (g - t0) / DAY)


def test_a_revision_while_the_motor_is_stalled_does_not_prime() -> None:
    """A catheter revision on a pump whose motor is stalled (here: refills 30 days late, then a pump
    failure) cannot prime it: the pathway used to send the priming bolus anyway and stop with a
    read-back error (found by examples/trials/refill-and-ptm.yaml, patient 376 of the late-refill arm).
    The revision is done, the new catheter is recorded as not primed, and the patient's course goes on."""
    from itdd.care.cohort import patient_seed
    from itdd.patient import PatientParams
    from itdd.trial.protocol import load_protocol
    from itdd.trial.runner import population_of

    protocol = load_protocol(ROOT / "examples" / "trials" / "refill-and-ptm.yaml")
    plan = protocol.arms[1].plan(protocol.years, population="non_cancer")
    plan = plan.model_copy(update={"drug_changes": False})  # the course where it was found (drug changes were off)
    params = PatientParams.sample(protocol.seed, 376, population=population_of(protocol.population_spec))
    run = run_pathway(params, plan, seed=patient_seed(protocol.seed, 376), patient_id="VP-376", record=True)
    details = [str(s.get("details", "")) for s in run.events if s["stage"] == "revision"]
    assert any("not primed: the pump is not running" in d for d in details), details
