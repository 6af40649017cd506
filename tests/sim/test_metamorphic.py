"""Metamorphic properties of the scenario runner on random scenarios with concentration changes,
saline priming, catheter revisions, MRI and boluses (issue 8, "How it must be shown").

* inserting an event that changes nothing (a clinician interrogation while no stall awaits one)
  anywhere changes no output;
* running in pieces, with the implant saved and restored between them (what the programmer's
  ``advance`` does), ends in the same state with the same amounts;
* the output resolution never changes totals (daily rows, hourly and any-width bins).

The fourth property, agreement with the fixed-step oracle per hour, is in test_oracle.py.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from itdd import quantities as q
from itdd.errors import ItddError
from itdd.pump import persist
from itdd.scenario import parse_scenario_data, run_scenario
from itdd.sim.runner import Run, build_run, result_of
from itdd.sim.series import binned_rates
from tests.conftest import examples

DAY = 86400.0
REL = 1e-7
ABS_MG = 1e-9


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    hours = draw(st.integers(12, 72))
    conc = draw(st.sampled_from([2.0, 10.0, 25.0]))
    concs = [conc, conc / 2, min(conc * 2, 25.0)]
    lo, hi = min(concs), max(concs)

    def dose() -> str:  # a pump rate within [0.06, 2] mL/day at every concentration used
        return f"{draw(st.floats(0.06 * hi, 2.0 * lo)):.4f} mg/day"

    def therapy() -> dict[str, Any]:
        if draw(st.booleans()):
            return {"mode": "simple_continuous", "dose": dose()}
        n = draw(st.integers(2, 4))
        starts = sorted(draw(st.lists(st.integers(0, 1439), min_size=n, max_size=n, unique=True)))
        return {"mode": "flex", "steps": [{"start": f"{m // 60:02d}:{m % 60:02d}", "dose": dose()} for m in starts]}

    data: dict[str, Any] = {
        "name": "metamorphic",
        "start": f"2026-03-01T{draw(st.integers(0, 23)):02d}:00:00{draw(st.sampled_from(['+00:00', '+05:30']))}",
        "duration": f"{hours}h",
        "pump": {
            "model": "synchromed-ii-40",
            "drug": "morphine",
            "concentration": f"{conc} mg/mL",
            "fill": f"{draw(st.floats(2.0, 40.0)):.3f} mL",
            "low_reservoir_alarm": f"{draw(st.floats(1.5, 4.0)):.2f} mL",
            "primed": draw(st.booleans()),
            "flow_accuracy": draw(st.sampled_from(["100%", "95%", "106%"])),
            "catheter": {"length": f"{draw(st.integers(20, 100))} cm"},
        },
        "therapy": therapy(),
        "ptm": {
            "dose": f"{0.05 * lo:.4f} mg",
            "duration": f"{draw(st.integers(5, 90))}min",
            "lockout": f"{draw(st.integers(0, 120))}min",
            "max_per_day": draw(st.integers(1, 6)),
            "max_daily_dose": f"{draw(st.floats(0.5, 4.0)) * lo:.4f} mg/day",
        },
    }
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 10))):
        ev: dict[str, Any] = {"at": f"+{draw(st.integers(0, hours * 3600 - 1))}s"}
        kind = draw(
            st.sampled_from(
                ["refill", "priming_bolus", "catheter_revision", "mri", "clinician_bolus", "ptm_request"] * 2
                + ["stop", "resume", "program"]
            )
        )
        ev["type"] = kind
        if kind == "refill":
            ev.update(
                {
                    "fill": f"{draw(st.floats(1.0, 30.0)):.3f} mL",
                    "concentration": f"{draw(st.sampled_from(concs))} mg/mL",
                }
            )
            if draw(st.booleans()):
                ev["bridge_bolus"] = draw(st.booleans())
        elif kind == "priming_bolus":
            if draw(st.booleans()):
                ev["volume"] = f"{draw(st.floats(0.05, 0.6)):.3f} mL"
        elif kind == "catheter_revision":
            ev["priming_bolus"] = draw(st.sampled_from([True, False, "catheter"]))
            if draw(st.booleans()):
                ev["length"] = f"{draw(st.integers(20, 100))} cm"
        elif kind == "mri":
            ev.update(
                {"duration": f"{draw(st.integers(5, 120))}min", "resume_delay": f"{draw(st.integers(0, 120))}min"}
            )
        elif kind == "clinician_bolus":
            dur = draw(st.integers(10, 180))
            ml = draw(st.floats(0.1 * dur / 1440, 10.0 * dur / 1440))  # 0.1..10 mL/day
            ev.update({"dose": f"{ml * lo:.5f} mg", "duration": f"{dur}min"})
        elif kind == "program":
            ev["therapy"] = therapy()
        events.append(ev)
    data["events"] = events
    return data


def run_or_reject(data: dict[str, Any]) -> tuple[Run, dict[str, Any]]:
    """Run a random scenario; one the pump refuses (e.g. an overfill) is not an example."""
    try:
        return run_scenario(parse_scenario_data(json.loads(json.dumps(data))))  # type: ignore[no-any-return]
    except ItddError:
        assume(False)
        raise AssertionError("unreachable") from None


def _t(iso: str) -> float:
    return q.to_epoch_s(q.parse_datetime(iso))


# Digests of exact float values: an interval split moves the last bits of a float, so a hash
# over them differs although every value agrees to rounding.
DIGESTS = ("checksum",)


def same(a: Any, b: Any, path: str = "") -> None:
    """Deep equality, floats to rounding (1e-7 relative), ISO times to the second (an interval
    split moves a threshold crossing by float noise only, which can cross a second's edge)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), (path, set(a) ^ set(b))
        for k in a:
            if k not in DIGESTS:
                same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), path
        assert math.isclose(a, b, rel_tol=REL, abs_tol=1e-9), (path, a, b)
    elif isinstance(a, str) and isinstance(b, str) and a != b and len(a) >= 19 and a[4] == "-" and a[10] == "T":
        assert abs(_t(a) - _t(b)) <= 1.001, (path, a, b)
    else:
        assert a == b, (path, a, b)


OUTPUTS = ("totals", "daily", "ptm_requests", "refills", "guardrail_findings")


def comparable(res: dict[str, Any]) -> dict[str, Any]:
    out = {k: res[k] for k in OUTPUTS}
    pump = dict(res["pump"])
    pump.pop("device_log")
    out["pump"] = pump
    out["events"] = [e for e in res["events"] if e["type"] != "interrogation"]
    return out


@pytest.mark.property
@settings(max_examples=examples(15, soak_share=0.03))
@given(scenarios(), st.data())
def test_inserting_an_interrogation_changes_nothing(data: dict[str, Any], draw: st.DataObject) -> None:
    _, base = run_or_reject(data)
    hours = int(data["duration"][:-1])
    at = draw.draw(st.integers(0, hours * 3600), label="interrogation at (s)")
    where = draw.draw(st.integers(0, len(data["events"])), label="inserted at index")
    events = list(data["events"])
    events.insert(where, {"at": f"+{at}s", "type": "interrogate"})
    r2, other = run_or_reject({**data, "events": events})
    log = r2.implant.log.history
    released = any(
        a.type == "interrogation" and b.type == "motor_stall_recovery" and b.time_s == a.time_s
        for a, b in itertools.pairwise(log)
    )
    assume(not released)  # an interrogation that releases a latched stall is meant to change things
    same(comparable(base), comparable(other))


def _run_in_pieces(data: dict[str, Any], cuts: list[float]) -> tuple[Run, list[Any]]:
    """Run with the implant saved (JSON) and restored at each cut, like the programmer's advance."""
    run = build_run(parse_scenario_data(json.loads(json.dumps(data))))
    sim = run.sim
    records = []
    for frac in sorted(cuts):
        t_cut = run.start_s + frac * (run.end_s - run.start_s)
        sim.advance(t_cut)
        records.append(run.implant.record)
        restored = persist.load(json.loads(json.dumps(persist.dump(run.implant))))
        run.implant = sim.implant = restored
    sim.run()
    records.append(run.implant.record)
    return run, records


@pytest.mark.property
@settings(max_examples=examples(15, soak_share=0.03))
@given(scenarios(), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3))
def test_running_in_saved_pieces_gives_the_same_state(data: dict[str, Any], cuts: list[float]) -> None:
    whole, _ = run_or_reject(data)
    try:
        pieces, records = _run_in_pieces(data, cuts)
    except ItddError:
        raise AssertionError("the pieces refused what the whole run accepted") from None
    a, b = persist.dump(whole.implant), persist.dump(pieces.implant)
    same(a["hardware"], b["hardware"])
    same(a["firmware"], b["firmware"])
    same([e[1:] for e in a["log"]["history"]], [e[1:] for e in b["log"]["history"]])
    for column in ("pumped_ml", "csf_mg", "csf_ml", "tissue_mg", "programmed_mg"):
        total = sum(r.total(column) for r in records)
        assert total == pytest.approx(whole.implant.record.total(column), rel=REL, abs=ABS_MG), column
    same(whole.ptm_decisions, pieces.ptm_decisions)


@pytest.mark.property
@settings(max_examples=examples(20, soak_share=0.05))
@given(scenarios(), st.floats(1.0, 7 * 3600.0))
def test_output_resolution_never_changes_totals(data: dict[str, Any], width_s: float) -> None:
    r, res = run_or_reject(data)
    rec = r.implant.record
    total = res["totals"]["delivered_mg"]
    assert total == pytest.approx(rec.total("csf_mg"), rel=1e-12, abs=1e-15)
    assert sum(row["delivered_mg"] for row in res["daily"]) == pytest.approx(total, rel=1e-9, abs=ABS_MG)
    span = r.end_s - r.start_s
    for width in (60.0, 3600.0, DAY, width_s):
        edges = np.append(np.arange(r.start_s, r.end_s, width), r.end_s)
        rates = binned_rates(rec, "csf_mg", edges)  # mg/day per bin
        binned = float(np.sum(rates * np.diff(edges) / DAY))
        assert binned == pytest.approx(total, rel=1e-9, abs=ABS_MG), width
        hourly = sum(rec.total("csf_mg", a, b) for a, b in itertools.pairwise(edges))
        assert hourly == pytest.approx(total, rel=1e-9, abs=ABS_MG), width
    assert span > 0
    assert result_of(r).to_json()["totals"] == res["totals"]
