"""Issue 8 ("Trust"): one named test per class of error, written from the rule.

Every expected number is derived by hand in the comments.  Shared facts of the simulated pump
(docs/pump-model.md): internal path 0.25 mL, residual 1 mL, maximum rate 24 mL/day, minimum rate
0.048 mL/day; the default catheter is 50 cm x 0.0026 mL/cm = 0.13 mL, so the path holds 0.38 mL.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from itdd import quantities as q
from itdd.cli import main
from itdd.scenario import parse_scenario_data, run_scenario
from itdd.sim.runner import Run

START = "2026-03-01T00:00:00+00:00"
H = 3600.0
DAY = 86400.0


def scenario(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "trust",
        "start": START,
        "duration": "2d",
        "pump": {
            "model": "synchromed-ii-20",
            "drug": "morphine",
            "concentration": "10 mg/mL",
            "fill": "20 mL",
            "low_reservoir_alarm": "2 mL",
        },
        "therapy": {"mode": "simple_continuous", "dose": "1 mg/day"},
        "events": [],
    }
    for key, value in over.items():
        if key == "pump":
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def run(data: dict[str, Any]) -> tuple[Run, dict[str, Any]]:
    return run_scenario(parse_scenario_data(copy.deepcopy(data)))  # type: ignore[no-any-return]


def t0(r: Run) -> float:
    return r.start_s


def delivered(r: Run, a_h: float, b_h: float) -> float:
    """mg that reached the spinal fluid between a_h and b_h hours after the start."""
    return r.implant.record.total("csf_mg", r.start_s + a_h * H, r.start_s + b_h * H)


def events_of(res: dict[str, Any], *types: str) -> list[dict[str, Any]]:
    return [e for e in res["events"] if e["type"] in types]


# ---- 1. every fluid front reaching the tip is an event -----------------------------------------


def test_item1_saline_catheter_front_arrives_at_its_own_instant() -> None:
    # Path 0.38 mL of saline (primed: false); 1 mg/day at 10 mg/mL = 0.1 mL/day.  The drug
    # front reaches the tip after 0.38 / 0.1 = 3.8 days = 91.2 h.  Daily rows (UTC days):
    # days 1-3: 0 mg; day 4: drug from 91.2 h to 96 h = 0.2 day x 1 mg/day = 0.2 mg;
    # days 5-6: 1 mg each.  (Averaging to the next event gave 2.2 mg / 6 = 0.367 mg every day.)
    r, res = run(scenario(duration="6d", pump={"primed": False}))
    daily = [row["delivered_mg"] for row in res["daily"]]
    assert daily == pytest.approx([0.0, 0.0, 0.0, 0.2, 1.0, 1.0], abs=1e-9)
    # hour by hour: nothing before hour 91; hour 91 holds 0.8 h x (1/24) mg/h = 0.0333 mg
    assert delivered(r, 0, 91) == pytest.approx(0.0, abs=1e-12)
    assert delivered(r, 91, 92) == pytest.approx(0.8 / 24, rel=1e-9)
    assert delivered(r, 92, 93) == pytest.approx(1 / 24, rel=1e-9)


def test_item1_old_concentration_after_refill_without_bridge() -> None:
    # Primed path 0.38 mL at 10 mg/mL.  At +1 d a refill to 20 mg/mL without a bridge bolus: the
    # pump now runs 1 mg/day / 20 mg/mL = 0.05 mL/day, so the old 10 mg/mL leaves the tip at
    # 0.05 x 10 = 0.5 mg/day for 0.38 / 0.05 = 7.6 days (until day 1 + 7.6 = 8.6 d), then 1 mg/day.
    # Daily: day 1: 1 mg; days 2-8: 0.5 mg; day 9: 0.6 d x 0.5 + 0.4 d x 1 = 0.7 mg; day 10: 1 mg.
    data = scenario(
        duration="10d",
        events=[{"at": "+1d", "type": "refill", "fill": "18 mL", "concentration": "20 mg/mL", "bridge_bolus": False}],
    )
    _, res = run(data)
    daily = [row["delivered_mg"] for row in res["daily"]]
    assert daily == pytest.approx([1.0] + [0.5] * 7 + [0.7, 1.0], abs=1e-9)


def test_item1_single_fluid_schedules_no_front_event() -> None:
    # The common case (primed, nothing changing): no front exists, so a 30-day simple run is a
    # handful of intervals, not one per anything.  1 mg/day at 10 mg/mL for 30 d = 30 mg.
    r, res = run(scenario(duration="30d"))
    assert res["totals"]["delivered_mg"] == pytest.approx(30.0, rel=1e-12)
    assert len(r.implant.record) <= 3


# ---- 2. catheter revision: the pump's internal path keeps its drug ------------------------------


def test_item2_priming_after_revision_pushes_the_pumps_drug_into_the_csf() -> None:
    # At +1 h the catheter is replaced (0.13 mL of saline); the pump's 0.25 mL internal path still
    # holds 10 mg/mL.  A whole-path priming bolus (0.38 mL at 24 mL/day, 0.38/24 d = 22.8 min)
    # first pushes the 0.13 mL of saline (7.8 min) and then the 0.25 mL of drug: 2.5 mg reach the
    # spinal fluid within 22.8 min of the revision.
    r, _ = run(scenario(events=[{"at": "+1h", "type": "catheter_revision", "priming_bolus": True}]))
    prime_h = 0.38 / 24 * 24  # 0.38 mL / 24 mL/day in hours = 0.38 h = 22.8 min
    assert delivered(r, 1, 1 + 7.8 / 60) == pytest.approx(0.0, abs=1e-9)
    assert delivered(r, 1, 1 + prime_h) == pytest.approx(2.5, rel=1e-9)
    # The catheter-only priming (0.13 mL, 7.8 min) pushes only saline; then the basal resumes:
    # 1 mg/day for the rest of the hour (60 - 7.8 = 52.2 min) = 52.2 / 1440 mg = 0.03625 mg.
    r2, _ = run(scenario(events=[{"at": "+1h", "type": "catheter_revision", "priming_bolus": "catheter"}]))
    assert delivered(r2, 1, 1 + 7.8 / 60) == pytest.approx(0.0, abs=1e-9)
    assert delivered(r2, 1, 2) == pytest.approx(52.2 / 1440, rel=1e-9)


# ---- 3. the predictive 24 h maximum sees the day before the start -------------------------------


def test_item3_predictive_max_dose_counts_the_24h_before_the_start() -> None:
    # 2 mg/day has been running (documented assumption); PTM 0.5 mg over 10 min, max 2.6 mg/24 h.
    # +0 h: window ending +10 min: prior 2 x 1430/1440 = 1.98611 + basal during bolus 2/144 =
    #   0.01389 + 0.5 = 2.5 <= 2.6: granted.
    # +1 h, +2 h, +3 h: prior + since start + basal ahead + bolus = 2 mg (24 h of basal) + 0.5 (the
    #   first bolus) + 0.5 = 3.0 > 2.6: denied (max_dose).  Without the prior day they were granted.
    # +25 h: window [+1h10m, +25h10m] holds 24 h of basal = 2 mg + 0.5 = 2.5: granted.
    data = scenario(
        duration="26h",
        therapy={"mode": "simple_continuous", "dose": "2 mg/day"},
        ptm={"dose": "0.5 mg", "duration": "10min", "lockout": "1h", "max_per_day": 4, "max_daily_dose": "2.6 mg/day"},
        events=[{"at": f"+{h}h", "type": "ptm_request"} for h in (0, 1, 2, 3, 25)],
    )
    r, res = run(data)
    assert [(d["granted"], d["reason"]) for d in res["ptm_requests"]] == [
        (True, None),
        (False, "max_dose"),
        (False, "max_dose"),
        (False, "max_dose"),
        (True, None),
    ]
    # so no 24 h window ending in the run holds more than 2.6 mg (prior day included: 2 mg/day
    # before the start, from the pump's own record)
    fw = r.implant.fw
    for k in range(0, 26 * 60 + 1, 10):
        end = t0(r) + k * 60.0
        assert fw.delivered_mg_between(end - DAY, end) <= 2.6 + 1e-9, k


# ---- 4. the event log tells the truth about boluses ---------------------------------------------


def test_item4_cut_short_boluses_are_logged_with_the_dose_given_and_why() -> None:
    # (a) MRI: a 1 mg clinician bolus over 1 h from +1 h; the field comes at +1h30m and stays
    #     2 h.  Given: half = 0.5 mg; its hour ends at +2 h while stalled: ended short, motor_stall.
    _, res = run(
        scenario(
            events=[
                {"at": "+1h", "type": "clinician_bolus", "dose": "1 mg", "duration": "1h"},
                {"at": "+90min", "type": "mri", "duration": "2h"},
            ]
        )
    )
    [end] = events_of(res, "bolus_completed", "bolus_ended_short", "bolus_cancelled")
    assert end["type"] == "bolus_ended_short"
    assert (end["kind"], end["reason"]) == ("clinician", "motor_stall")
    assert end["dose_mg"] == pytest.approx(0.5, rel=1e-9)
    assert end["planned_dose_mg"] == pytest.approx(1.0)

    # (b) stop at +1h15m: a quarter of the hour = 0.25 mg, cancelled because stopped.
    _, res = run(
        scenario(
            events=[
                {"at": "+1h", "type": "clinician_bolus", "dose": "1 mg", "duration": "1h"},
                {"at": "+75min", "type": "stop"},
            ]
        )
    )
    [end] = events_of(res, "bolus_completed", "bolus_ended_short", "bolus_cancelled")
    assert (end["type"], end["reason"]) == ("bolus_cancelled", "stopped")
    assert end["dose_mg"] == pytest.approx(0.25, rel=1e-9)

    # (c) empty reservoir: fill 1.05 mL (residual 1 mL).  A 1 mg bolus over 1 h at 10 mg/mL runs
    #     0.1 mL/h = 2.4 mL/day; the estimate reaches the residual after 0.05 mL = 30 min:
    #     cancelled (reservoir_empty) with 0.5 mg given.
    _, res = run(
        scenario(
            pump={"fill": "1.05 mL", "low_reservoir_alarm": "1.02 mL"},
            events=[{"at": "+0s", "type": "clinician_bolus", "dose": "1 mg", "duration": "1h"}],
        )
    )
    [end] = events_of(res, "bolus_completed", "bolus_ended_short", "bolus_cancelled")
    assert (end["type"], end["reason"]) == ("bolus_cancelled", "reservoir_empty")
    assert end["dose_mg"] == pytest.approx(0.5, rel=1e-6)

    # (d) a bolus that ran its course: completed with its full dose.
    _, res = run(scenario(events=[{"at": "+1h", "type": "clinician_bolus", "dose": "1 mg", "duration": "1h"}]))
    [end] = events_of(res, "bolus_completed", "bolus_ended_short", "bolus_cancelled")
    assert (end["type"], end["dose_mg"]) == ("bolus_completed", 1.0)


def test_item4_end_of_service_cuts_a_bolus_short() -> None:
    # End of service 30 min into a 1 mg / 1 h bolus: cancelled (end_of_service), 0.5 mg given.
    from tests.helpers import make_implant

    imp = make_implant()
    imp.fw.eos_at_s = imp.t_s + 1.5 * H
    imp.run_until(imp.t_s + 1 * H)
    imp.clinician_bolus(1.0, H)
    imp.run_until(imp.t_s + 2 * H)
    [end] = [e for e in imp.log.history if e.type in ("bolus_completed", "bolus_ended_short", "bolus_cancelled")]
    assert (end.type, end.details["reason"]) == ("bolus_cancelled", "end_of_service")
    assert end.details["dose_mg"] == pytest.approx(0.5, rel=1e-9)


# ---- 5. after an MRI the patient's therapy manager releases a latched stall ---------------------


def test_item5_ptm_releases_a_pump_that_stayed_stopped_after_mri() -> None:
    # The pump is alarming (fill 1.9 mL <= low-reservoir alarm 2 mL) when a 30-min MRI starts at
    # +1 h: after the scan it stays stopped ([S] TGA) until interrogated by the clinician
    # programmer OR the myPTM.  A myPTM interrogation at +3 h releases it: from +3 h to +4 h it
    # delivers 1 mg/day x 1 h = 1/24 mg; from +1 h to +3 h nothing.
    data = scenario(
        pump={"fill": "1.9 mL"},
        duration="4h",
        events=[{"at": "+1h", "type": "mri", "duration": "30min"}, {"at": "+3h", "type": "ptm_interrogate"}],
    )
    r, res = run(data)
    assert delivered(r, 1, 3) == pytest.approx(0.0, abs=1e-12)
    assert delivered(r, 3, 4) == pytest.approx(1 / 24, rel=1e-9)
    [interrogation] = events_of(res, "interrogation")
    assert interrogation["source"] == "ptm"
    # The same over telemetry: the patient's status read is the myPTM's interrogation.
    from itdd.telemetry.commands import PATIENT, _ptm_status

    r2, _ = run({**data, "events": data["events"][:1], "duration": "3h"})
    assert r2.implant.state == "motor_stalled"
    _ptm_status(r2.implant, {})
    assert r2.implant.state == "infusing"
    assert PATIENT == "patient"


# ---- 6. documented defaults and honest counts ---------------------------------------------------


def test_item6_periodic_bolus_without_basal_gets_the_minimum_rate() -> None:
    # No basal given: the documented default is the pump's minimum rate, 0.048 mL/day x 10 mg/mL =
    # 0.48 mg/day.  One day (primed) delivers 0.48 + the 1 mg bolus = 1.48 mg.
    _, res = run(
        scenario(
            duration="1d",
            therapy={"mode": "periodic_bolus", "boluses": [{"at": "08:00", "dose": "1 mg", "duration": "1h"}]},
        )
    )
    assert res["pump"]["therapy"]["basal_mg_per_day"] == pytest.approx(0.48)
    assert res["totals"]["delivered_mg"] == pytest.approx(1.48, rel=1e-9)


def test_item6_denied_bolus_never_reports_a_next_time_in_the_past() -> None:
    # A 2 h patient bolus with a 1 h lockout, granted at +0.  At +90 min: denied (lockout); the
    # lockout alone would say "+1 h" (already past); the bolus runs until +2 h, so next = +2 h.
    data = scenario(
        ptm={"dose": "0.1 mg", "duration": "2h", "lockout": "1h", "max_per_day": 4},
        events=[{"at": "+0s", "type": "ptm_request"}, {"at": "+90min", "type": "ptm_request"}],
    )
    r, res = run(data)
    [denied] = [e for e in res["events"] if e["type"] == "ptm_bolus_denied"]
    assert denied["reason"] == "lockout"
    assert q.to_epoch_s(q.parse_datetime(denied["next_allowed"])) == pytest.approx(t0(r) + 2 * H)


def test_item6_saline_priming_does_not_count_against_the_24h_maximum() -> None:
    # Saline path, priming bolus of 0.38 mL at the start (the firmware would believe 3.8 mg at
    # 10 mg/mL).  Basal 1 mg/day, PTM 0.5 mg / 10 min, maximum 3 mg per 24 h.  Request at +1 h:
    # prior day 1 x 1430/1440... window [+1h10m - 24h, +1h10m]: prior part 22h50m -> 0.95139 mg;
    # priming: not counted; basal from 22.8 min to 60 min = 37.2/1440 = 0.02583 mg; basal ahead
    # 10/1440 = 0.00694; + 0.5 = 1.484 <= 3: granted.  (Counting the priming: 5.28 > 3, denied.)
    data = scenario(
        pump={"primed": False},
        ptm={"dose": "0.5 mg", "duration": "10min", "lockout": "1h", "max_per_day": 4, "max_daily_dose": "3 mg/day"},
        events=[{"at": "+0s", "type": "priming_bolus"}, {"at": "+1h", "type": "ptm_request"}],
    )
    _, res = run(data)
    assert [(d["granted"], d["reason"]) for d in res["ptm_requests"]] == [(True, None)]


def test_item6_a_bolus_that_gave_nothing_does_not_count_per_day() -> None:
    # One patient bolus a day.  Granted at +1 h, stopped the same instant (nothing given),
    # resumed: the next request at +1 h is granted, not refused by the daily limit or lockout.
    data = scenario(
        ptm={"dose": "0.1 mg", "duration": "10min", "lockout": "1h", "max_per_day": 1},
        events=[
            {"at": "+1h", "type": "ptm_request"},
            {"at": "+1h", "type": "stop"},
            {"at": "+1h", "type": "resume"},
            {"at": "+1h", "type": "ptm_request"},
            {"at": "+3h", "type": "ptm_request"},
        ],
    )
    _, res = run(data)
    assert [(d["granted"], d["reason"]) for d in res["ptm_requests"]] == [
        (True, None),
        (True, None),
        (False, "daily_limit"),  # the second one delivered: it counts
    ]
    [cancelled] = events_of(res, "bolus_cancelled")
    assert cancelled["dose_mg"] == 0.0


# ---- 7. every entry point applies the pump's ranges --------------------------------------------

ABSURD = [
    ("pump.clock_drift", "1000000 ppm"),
    ("pump.clock_drift", "-1000000 ppm"),
    ("pump.clock_drift", "1e400 ppm"),
    ("pump.clock_drift", "nan ppm"),
    ("pump.clock_error", "+40d"),
    ("pump.clock_error", "-99999999999999999999d"),
    ("pump.catheter.length", "0 cm"),
    ("pump.catheter.length", "1e300 cm"),
    ("ptm.lockout", "2d"),
    ("ptm.duration", "99999999999999999999d"),
    ("ptm.dose", "1e300 mg"),
    ("ptm.dose", "nan mg"),
    ("ptm.max_daily_dose", "-1 mg/day"),
    ("duration", "99999999999999999999d"),
]


@pytest.mark.parametrize(("field", "value"), ABSURD)
def test_item7_absurd_values_exit_2_naming_the_field_and_value(
    field: str, value: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = scenario(ptm={"dose": "0.1 mg", "duration": "10min", "lockout": "1h", "max_per_day": 4})
    node = data
    *parents, last = field.split(".")
    for k in parents:
        node = node.setdefault(k, {})
    node[last] = value
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["simulate", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"error: {field}" in err[0], err
    assert value in err[0] or value.lstrip("+") in err[0], err


def test_item7_a_key_written_twice_is_refused(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    text = yaml.safe_dump(scenario()) + "duration: 5d\n"  # 'duration' again, at the top level
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["simulate", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "duration" in err[0] and "twice" in err[0], err


# ---- 9. a therapy past a drug-library hard limit runs, and says so ------------------------------


def test_item9_hard_limit_findings_on_stderr_and_in_json(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Morphine's daily hard maximum is 30 mg/day (drug library); 35 mg/day at 25 mg/mL (1.4 mL/day)
    # breaks it.  The scenario runs (35 mg in the day), and the finding is reported.
    data = scenario(
        duration="1d", pump={"concentration": "25 mg/mL"}, therapy={"mode": "simple_continuous", "dose": "35 mg/day"}
    )
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["simulate", str(path), "--json", "--compact"]) == 0
    out = capsys.readouterr()
    import json

    res = json.loads(out.out)
    assert res["totals"]["delivered_mg"] == pytest.approx(35.0, rel=1e-9)
    hard = [f for f in res["guardrail_findings"] if f["level"] == "hard"]
    assert [f["field"] for f in hard] == ["therapy.dose"]
    assert "therapy.dose" in out.err and "hard limit" in out.err


def test_item6_documented_scenario_defaults_hold() -> None:
    # docs/scenarios.md defaults: low_reservoir_alarm 2 mL; catheter 50 cm x 0.0026 mL/cm; primed;
    # clock +0s, 0 ppm; ptm duration 10 min; a priming bolus primes the whole path (0.25 + 0.13 =
    # 0.38 mL) at the maximum rate 24 mL/day: 0.38/24 d = 1368 s.
    data = scenario(duration="1h", ptm={"dose": "0.1 mg", "lockout": "1h", "max_per_day": 2})
    data["pump"].pop("low_reservoir_alarm")
    data["events"] = [{"at": "+0s", "type": "priming_bolus"}]
    r, res = run(data)
    imp = r.implant
    assert imp.fw.low_reservoir_ml == 2.0
    assert (imp.hw.catheter_length_cm, imp.hw.catheter_ml_per_cm) == (50.0, 0.0026)
    assert imp.fw.ptm is not None and imp.fw.ptm.duration_s == 600.0
    assert imp.fw.clock_offset_s == 0.0 and imp.fw.clock_drift == 0.0
    [start] = events_of(res, "bolus_started")
    assert start["volume_ml"] == pytest.approx(0.38) and start["duration_s"] == pytest.approx(1368.0)


# Numeric fields a scenario sets, with the unit their text carries.
NUMERIC_FIELDS = [
    ("pump.concentration", "mg/mL"),
    ("pump.fill", "mL"),
    ("pump.low_reservoir_alarm", "mL"),
    ("pump.clock_error", "s"),
    ("pump.clock_drift", "ppm"),
    ("pump.catheter.length", "cm"),
    ("pump.flow_accuracy", "%"),
    ("pump.flow_accuracy_sd", "%"),
    ("pump.battery_age", "d"),
    ("therapy.dose", "mg/day"),
    ("ptm.dose", "mg"),
    ("ptm.duration", "min"),
    ("ptm.lockout", "min"),
    ("ptm.max_per_day", ""),
    ("ptm.max_daily_dose", "mg/day"),
    ("duration", "h"),
    ("events.0.duration", "min"),
    ("events.0.resume_delay", "min"),
    ("events.1.dose", "mg"),
    ("events.1.duration", "min"),
    ("events.2.fill", "mL"),
    ("events.2.concentration", "mg/mL"),
]

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.conftest import examples  # noqa: E402

ABSURD_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e6, -1e6, 1e308, -1e308, 1e-300, 10**30, 1_000_000]),
    st.integers(-(10**25), 10**25),
)


@pytest.mark.property
@settings(max_examples=examples(40, soak_share=0.05))
@given(spec=st.sampled_from(NUMERIC_FIELDS), number=ABSURD_NUMBERS, signed=st.booleans())
def test_item7_no_value_crashes_hangs_or_slips_through(
    spec: tuple[str, str], number: float, signed: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Whatever number is written into any numeric field: exit 0 (a value inside every range) or
    # exit 2 with one line naming the field; never a traceback, never a hang.
    field, unit = spec
    text = f"{'+' if signed and field == 'pump.clock_error' else ''}{number}{(' ' + unit) if unit else ''}".strip()
    if unit in ("%", "s", "min", "h", "d"):
        text = text.replace(" ", "")
    data = scenario(
        duration="2d",
        ptm={"dose": "0.1 mg", "duration": "10min", "lockout": "1h", "max_per_day": 4},
        events=[
            {"at": "+1h", "type": "mri", "duration": "30min"},
            {"at": "+3h", "type": "clinician_bolus", "dose": "0.1 mg", "duration": "1h"},
            {"at": "+1d", "type": "refill", "fill": "10 mL"},
        ],
    )
    node: Any = data
    *parents, last = field.split(".")
    for k in parents:
        node = node[int(k)] if k.isdigit() else node.setdefault(k, {})
    node[last] = number if field == "ptm.max_per_day" else text
    path = tmp_path_factory.mktemp("absurd") / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["simulate", str(path), "--json"])
    lines = err.getvalue().strip().splitlines()
    if rc == 0:
        return
    assert rc == 2, (field, text, lines)
    assert len(lines) == 1 and lines[0].startswith("itdd: error: "), lines
    named = lines[0][len("itdd: error: ") :].split(":")[0]
    field = re.sub(r"\.(\d+)", r"[\1]", field)  # events.1.dose -> events[1].dose
    parent = field.rsplit(".", 1)[0]
    # the field, or (for a value that only breaks a limit together with another, such as a
    # concentration that puts the therapy's pump rate out of range) a message repeating it as written
    shown = text if field != "ptm.max_per_day" else str(number)
    assert named in (field, parent) or named.startswith(field) or shown in lines[0] or _num(shown) in lines[0], (
        field,
        lines,
    )


def _num(text: str) -> str:
    try:
        return f"{float(text.split()[0]):g}"
    except ValueError:
        return text
