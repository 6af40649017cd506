"""result["series"]: exact breakpoints, honest simplification, compact multi-year output."""

from __future__ import annotations

import json
import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.scenario import Scenario, run_scenario
from itdd.sim.series import MAX_POINTS_PER_SERIES, simplify_polyline

from .sample import kink_scenario, multi_year_scenario

DAY = 86400.0


def _scenario(**over: object) -> Scenario:
    base: dict[str, object] = {
        "name": "series test",
        "start": "2026-01-05T00:00:00+01:00",
        "duration": "10d",
        "pump": {"model": "synchromed-ii-20", "drug": "morphine", "concentration": "10 mg/mL", "fill": "20 mL"},
        "therapy": {"mode": "simple_continuous", "dose": "1 mg/day"},
    }
    base.update(over)
    return Scenario.model_validate(base)


def test_reservoir_is_an_exact_sawtooth_with_the_refill_as_a_jump() -> None:
    # 1 mg/day of 10 mg/mL = 0.1 mL/day. Day 5: 20 - 0.5 = 19.5 mL; refill (withdraw all, fill 20) jumps to 20;
    # day 10: 19.5 again.  Nothing else changes the rate, so these four points are the whole exact line.
    scn = _scenario(events=[{"at": "+5d", "type": "refill", "fill": "20 mL"}])
    _, result = run_scenario(scn)
    actual = result["series"]["reservoir"]["actual"]
    assert actual["days"] == [0.0, 5.0, 5.0, 10.0]
    assert actual["ml"] == [20.0, 19.5, 20.0, 19.5]
    assert actual["max_error_ml"] == 0.0
    estimate = result["series"]["reservoir"]["estimate"]
    assert estimate["days"] == [0.0, 5.0, 5.0, 10.0]
    assert estimate["ml"] == [20.0, 19.5, 20.0, 19.5]
    assert result["series"]["origin"] == "2026-01-05T00:00:00+01:00"


def test_flex_dose_steps_at_the_programmed_local_times() -> None:
    # Local midnight start: 00:00-07:00 at 1.2 mg/day, 07:00-22:00 at 2 mg/day, 22:00-24:00 at 1.2, twice.
    scn = _scenario(
        duration="2d",
        therapy={
            "mode": "flex",
            "steps": [{"start": "07:00", "dose": "2 mg/day"}, {"start": "22:00", "dose": "1.2 mg/day"}],
        },
    )
    _, result = run_scenario(scn)
    dose = result["series"]["dose"]
    h = 1 / 24
    expected_days = [0.0, 7 * h, 22 * h, 1 + 7 * h, 1 + 22 * h, 2.0]
    assert np.allclose(dose["days"], expected_days, atol=1e-6)
    assert dose["programmed_mg_per_day"] == [1.2, 2.0, 1.2, 2.0, 1.2, 1.2]
    assert dose["delivered_mg_per_day"] == [1.2, 2.0, 1.2, 2.0, 1.2, 1.2]
    assert dose["bin_days"] is None


def test_an_occluded_catheter_delivers_nothing_while_the_program_runs_on() -> None:
    scn = _scenario(events=[{"at": "+4d", "type": "catheter_fault", "kind": "occlusion"}])
    _, result = run_scenario(scn)
    dose = result["series"]["dose"]
    assert dose["days"] == [0.0, 4.0, 10.0]
    assert dose["programmed_mg_per_day"] == [1.0, 1.0, 1.0]
    assert dose["delivered_mg_per_day"] == [1.0, 0.0, 0.0]
    # The reservoir stops falling at day 4 (19.6 mL); the estimate falls on to 19.0 mL.
    actual = result["series"]["reservoir"]["actual"]
    assert actual["days"] == [0.0, 4.0, 10.0]
    assert np.allclose(actual["ml"], [20.0, 19.6, 19.6])
    assert np.allclose(result["series"]["reservoir"]["estimate"]["ml"][-1], 19.0)


def test_kink_series_matches_the_hand_computed_refill_discrepancy() -> None:
    # 4 mg/day of 20 mg/mL = 0.2 mL/day.  Refill 1 at +60d10h fills 18 mL; the occlusion at +75d03h
    # stops the flow after 14d17h (2.941667 mL), so the actual level stays at 15.058333 mL until the
    # refill at +120d10h, where the estimate is 18 - 60 d x 0.2 = 6 mL.
    _, result = run_scenario(kink_scenario())
    actual = result["series"]["reservoir"]["actual"]
    days = np.array(actual["days"])
    ml = np.array(actual["ml"])
    before = ml[(days > 76) & (days < 120.4)]
    assert np.allclose(before, 18 - 0.2 * (14 + 17 / 24), atol=1e-6)
    refill2 = 120 + 10 / 24
    est = result["series"]["reservoir"]["estimate"]
    i = next(k for k, d in enumerate(est["days"]) if abs(d - refill2) < 1e-6)
    assert abs(est["ml"][i] - 6.0) < 1e-6


def test_the_step_series_integrates_to_the_delivered_total() -> None:
    _, result = run_scenario(kink_scenario())
    dose = result["series"]["dose"]
    d = dose["days"]
    area_deliv = sum((d[i + 1] - d[i]) * dose["delivered_mg_per_day"][i] for i in range(len(d) - 1))
    area_prog = sum((d[i + 1] - d[i]) * dose["programmed_mg_per_day"][i] for i in range(len(d) - 1))
    point_mg = sum(p["mg"] for p in result["series"]["point_doses"])
    assert math.isclose(area_deliv + point_mg, result["totals"]["delivered_mg"], rel_tol=1e-5)
    assert math.isclose(area_prog, result["totals"]["programmed_mg"], rel_tol=1e-5)


def test_multi_year_series_is_compact_and_keeps_every_refill_and_alarm() -> None:
    run, result = run_scenario(multi_year_scenario(5))
    series = result["series"]
    res = series["reservoir"]
    assert len(run.implant.record) > 10_000  # the exact record is large ...
    total_points = len(res["actual"]["days"]) + len(res["estimate"]["days"]) + len(series["dose"]["days"])
    assert total_points <= 3 * MAX_POINTS_PER_SERIES  # ... the series is a few thousand points at most
    origin = run.start_s
    for refill in result["refills"]:
        t = next(
            e.time_s for e in run.implant.log.history if e.type == "refill" and run.iso(e.time_s) == refill["time"]
        )
        day = round((t - origin) / DAY, 6)
        if abs(refill["withdrawn_ml"] - refill["filled_ml"]) > 1e-6:
            assert res["actual"]["days"].count(day) == 2, "a refill is a jump: two points at the same instant"
        else:  # after end of service the reservoir stays full: a refill changes nothing but is still a vertex
            assert day in res["actual"]["days"]
        assert day in res["estimate"]["days"]
    for e in run.implant.log.history:
        if e.type in ("eri_alarm", "end_of_service", "motor_stall", "catheter_fault", "catheter_revision"):
            assert round((e.time_s - origin) / DAY, 6) in res["actual"]["days"], e.type
    # The simplified lines stay within their stated error of the exact record everywhere.
    rng = random.Random(5)
    rec = run.implant.record
    for which, column in (("actual", "reservoir_ml"), ("estimate", "estimate_ml")):
        line = res[which]
        err = line["max_error_ml"]
        assert 0 < err < 0.1
        xs = np.array(line["days"]) * DAY + origin
        ys = np.array(line["ml"])
        jumps = set(xs[1:][np.diff(xs) == 0])
        for _ in range(400):
            t = rng.uniform(run.start_s, run.end_s)
            if any(abs(t - j) < 1.0 for j in jumps):
                continue
            assert abs(np.interp(t, xs, ys) - rec.level_at(column, t)) <= err + 1e-5


def test_multi_year_binned_dose_equals_the_daily_rows() -> None:
    _run, result = run_scenario(multi_year_scenario(5))
    dose = result["series"]["dose"]
    assert dose["bin_days"] == 2.0  # 1,826 one-day bins would exceed the budget of 1,500
    daily = result["daily"]  # computed by Record.daily, a separate code path
    # Bins are aligned to local midnight; the first bin starts at the scenario start (08:00), like day 1.
    by_date = {row["date"]: row for row in daily}
    dates = sorted(by_date)
    days = dose["days"]
    for k in range(1, len(days) - 2, 37):
        lo, hi = days[k], days[k + 1]
        # the bin [lo, hi) covers whole local days: its mean times its width is the sum of those days
        first = round(lo + 8 / 24)  # day index of the bin's first local midnight (start is 08:00)
        n = round(hi - lo)
        total = sum(by_date[dates[first + j]]["delivered_mg"] for j in range(n))
        assert math.isclose(dose["delivered_mg_per_day"][k] * (hi - lo), total, rel_tol=1e-5, abs_tol=1e-9)


def test_series_is_plain_json() -> None:
    _, result = run_scenario(kink_scenario())
    text = json.dumps(result["series"], allow_nan=False)
    assert json.loads(text) == result["series"]
    drugs = [d["drug"] for d in result["series"]["drug_at_tip"]]
    assert drugs == ["morphine", "saline", "morphine"]  # the new catheter is full of saline until primed


# ---- simplify_polyline as a property -----------------------------------------------------------


@st.composite
def polylines(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    n = draw(st.integers(3, 400))
    steps = draw(st.lists(st.floats(0.0, 5.0), min_size=n - 1, max_size=n - 1))
    ys = draw(st.lists(st.floats(-50.0, 50.0), min_size=n, max_size=n))
    ts = [0.0]
    for s in steps:
        ts.append(ts[-1] + s)
    return ts, ys


@given(polylines(), st.integers(2, 120))
@settings(max_examples=150)
def test_simplification_keeps_its_error_bound_endpoints_and_jumps(
    line: tuple[list[float], list[float]], budget: int
) -> None:
    ts, ys = line
    st_, sy, err = simplify_polyline(ts, ys, (), budget)
    assert st_[0] == ts[0] and st_[-1] == ts[-1]
    assert sy[0] == ys[0] and sy[-1] == ys[-1]
    jumps = [i for i in range(1, len(ts)) if ts[i] == ts[i - 1]]
    fixed = {0, len(ts) - 1} | {i for j in jumps for i in (j - 1, j)}
    assert len(st_) <= max(budget, len(fixed))
    kept = list(zip(st_, sy, strict=True))
    for i in fixed:
        assert (ts[i], ys[i]) in kept
    # Every original vertex lies within err of the simplified line (on its own continuous stretch).
    j = 0
    for t, y in zip(ts, ys, strict=True):
        while j + 1 < len(st_) - 1 and st_[j + 1] < t:
            j += 1
        a, b = j, j + 1
        if st_[b] == st_[a]:
            continue  # a jump: the vertex is one of its two kept points
        if t < st_[a] or t > st_[b]:
            continue
        yi = sy[a] + (sy[b] - sy[a]) * (t - st_[a]) / (st_[b] - st_[a])
        on_vertex = [v for (tv, v) in kept if tv == t]
        if on_vertex:
            assert min(abs(y - v) for v in on_vertex) <= err + 1e-9 or abs(y - yi) <= err + 1e-9
        else:
            assert abs(y - yi) <= err + 1e-9 * max(1.0, abs(y))


def test_collinear_points_disappear_and_the_error_is_zero() -> None:
    ts = [float(i) for i in range(100)]
    ys = [20 - 0.1 * t for t in ts]
    st_, _sy, err = simplify_polyline(ts, ys, (), 10)
    assert st_ == [0.0, 99.0]
    assert err == 0.0


def test_keep_times_stay_as_vertices() -> None:
    ts = [float(i) for i in range(50)]
    ys = [math.sin(t / 3) for t in ts]
    st_, _, _ = simplify_polyline(ts, ys, (17.0, 31.0), 4)
    assert 17.0 in st_ and 31.0 in st_
