"""The event-driven engine agrees with the fixed-step oracle on random scenarios, within the step error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd import quantities as q
from itdd.scenario import parse_scenario_data, run_scenario
from tests.conftest import examples
from tests.sim.oracle import run_oracle

DT = 1.0
DAY = 86400


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    offset = draw(st.sampled_from(["+00:00", "+01:00", "-05:00", "+05:30"]))
    hours = draw(st.integers(20, 40))
    model = draw(st.sampled_from(["synchromed-ii-20", "synchromed-ii-40"]))
    cap = 20 if model.endswith("20") else 40
    conc = draw(st.sampled_from([1.0, 2.0, 5.0, 10.0, 25.0]))
    concs = [conc, draw(st.sampled_from([conc, conc / 2, conc * 2]))]
    lo_c, hi_c = min(concs), max(concs)

    def dose(ml_lo: float = 0.06, ml_hi: float = 3.0) -> str:
        # a dose whose pump rate stays within [ml_lo, ml_hi] mL/day at every concentration used
        mg = draw(st.floats(ml_lo * hi_c, ml_hi * lo_c, allow_nan=False))
        return f"{mg:.4f} mg/day"

    def therapy() -> dict[str, Any]:
        if draw(st.booleans()):
            return {"mode": "simple_continuous", "dose": dose()}
        n = draw(st.integers(2, 5))
        starts = sorted(draw(st.lists(st.integers(0, 24 * 60 - 1), min_size=n, max_size=n, unique=True)))
        return {"mode": "flex", "steps": [{"start": f"{m // 60:02d}:{m % 60:02d}", "dose": dose()} for m in starts]}

    fill = draw(st.floats(1.5, cap, allow_nan=False))
    scn: dict[str, Any] = {
        "name": "random",
        "start": f"2026-03-01T00:00:00{offset}",
        "duration": f"{hours}h",
        "pump": {
            "model": model,
            "drug": "morphine",
            "concentration": f"{conc} mg/mL",
            "fill": f"{fill:.3f} mL",
            "low_reservoir_alarm": f"{draw(st.floats(1.2, 4.0)):.2f} mL",
            "flow_accuracy": draw(st.sampled_from(["100%", "96%", "104%"])),
            "primed": draw(st.booleans()),
            "catheter": {"length": f"{draw(st.integers(20, 90))} cm"},
        },
        "therapy": therapy(),
    }
    if draw(st.booleans()):
        ptm_min = draw(st.integers(5, 30))
        # the bolus rate (dose / concentration / duration) stays within the pump's 24 mL/day
        ptm: dict[str, Any] = {
            "dose": f"{draw(st.floats(0.02, min(0.3, 0.9 * 24.0 * ptm_min / 1440))) * lo_c:.4f} mg",
            "duration": f"{ptm_min}min",
            "lockout": f"{draw(st.integers(0, 240))}min",
            "max_per_day": draw(st.integers(1, 8)),
        }
        if draw(st.booleans()):
            ptm["max_daily_dose"] = f"{draw(st.floats(0.5, 6.0)) * lo_c:.4f} mg/day"
        scn["ptm"] = ptm
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 12))):
        at = f"+{draw(st.integers(0, hours * 3600 - 1))}s"
        kind = draw(
            st.sampled_from(
                ["ptm_request"] * 4
                + ["clinician_bolus", "mri", "catheter_fault", "refill", "program", "stop", "resume", "interrogate"]
                + ["priming_bolus", "catheter_revision"]
            )
        )
        ev: dict[str, Any] = {"at": at, "type": kind}
        if kind == "clinician_bolus":
            dur_min = draw(st.integers(10, 120))
            # the bolus rate must stay within the pump's range at either concentration (hi_c <= 2 lo_c)
            ml = draw(st.floats(2.2 * 0.048 * dur_min / 1440, 0.9 * 24.0 * dur_min / 1440))
            ev.update({"dose": f"{ml * lo_c:.4f} mg", "duration": f"{dur_min}min"})
        elif kind == "mri":
            ev.update(
                {"duration": f"{draw(st.integers(10, 90))}min", "resume_delay": f"{draw(st.integers(0, 180))}min"}
            )
        elif kind == "catheter_fault":
            ev["kind"] = draw(st.sampled_from(["occlusion", "leak", "disconnection", "migration"]))
            ev["leak_fraction"] = f"{draw(st.integers(10, 90))}%"
        elif kind == "refill":
            ev.update(
                {
                    "fill": f"{draw(st.floats(1.0, cap)):.3f} mL",
                    "concentration": f"{draw(st.sampled_from(concs))} mg/mL",
                }
            )
            if draw(st.booleans()):
                ev["bridge_bolus"] = draw(st.booleans())
        elif kind == "program":
            ev["therapy"] = therapy()
        elif kind == "priming_bolus" and draw(st.booleans()):
            ev["volume"] = f"{draw(st.floats(0.05, 0.6)):.3f} mL"
        elif kind == "catheter_revision":
            ev["priming_bolus"] = draw(st.sampled_from([True, False, "catheter"]))
            if draw(st.booleans()):
                ev["length"] = f"{draw(st.integers(20, 90))} cm"
        events.append(ev)
    scn["events"] = events
    return scn


def _tolerance(scn: dict[str, Any], res: dict[str, Any]) -> tuple[float, float]:
    """Step-error bound: each transition between grid points is off by at most one step at the
    largest rate in the scenario."""
    max_ml_per_day = 24.0  # the largest possible rate (priming/bridge/bolus are capped there)
    transitions = 10 + 3 * len(scn["events"]) + len(res["events"])
    ml = transitions * max_ml_per_day * DT / DAY
    max_conc = max(q.parse_concentration_mg_per_ml(scn["pump"]["concentration"]) * 2, 1.0)
    return ml, ml * max_conc


def check_hourly(run: Any, res: dict[str, Any], ref: Any, data: dict[str, Any]) -> None:
    """The drug reaching the spinal fluid agrees hour by hour, not only in total: a fluid front
    (saline, a new concentration) must reach the tip at its own instant.  Each hour's bound is the
    step error of the transitions that can fall inside it (logged events, day-cycle steps, one
    front) at the largest rate pumped in that hour, plus the volume error carried from earlier
    transitions (which moves a front or the reservoir's end in time)."""
    rec = run.implant.record
    start = run.start_s
    max_conc = max(q.parse_concentration_mg_per_ml(data["pump"]["concentration"]) * 2, 1.0)
    event_times = [q.to_epoch_s(q.parse_datetime(e["time"])) for e in res["events"]]
    n_hours = int((run.end_s - start) // 3600)
    for h in range(n_hours):
        a, b = start + h * 3600, start + (h + 1) * 3600
        engine_mg = rec.total("csf_mg", a, b)
        rate = max(
            [
                iv.pumped_ml / iv.duration_s
                for iv in rec.intervals()
                if iv.t1_s > a and iv.t0_s < b and iv.duration_s > 0
            ]
            + [0.048 / DAY]
        )
        n = sum(1 for t in event_times if a - 2 <= t <= b + 2) + 8
        # A volume-triggered instant (a front reaching the tip, the reservoir reaching its
        # residual) inherits the volume error of every earlier transition (up to one step at the
        # largest rate each): that shifted volume can land in this hour at any concentration.
        earlier = sum(1 for t in event_times if t <= b + 2) + 5 * (h // 24 + 1) + 8
        before = [iv.pumped_ml / iv.duration_s for iv in rec.intervals() if iv.t0_s < b and iv.duration_s > 0]
        rate_before = max([*before, 0.048 / DAY])
        tol = (n * rate + earlier * rate_before) * 1.2 * DT * max_conc + 1e-9
        assert engine_mg == pytest.approx(ref.hourly_mg.get(h, 0.0), abs=tol), (h, engine_mg, ref.hourly_mg.get(h))


def check_agreement(data: dict[str, Any]) -> None:
    scn = parse_scenario_data(data)
    run, res = run_scenario(scn)
    ref = run_oracle(scn, DT)
    tol_ml, tol_mg = _tolerance(data, res)
    check_hourly(run, res, ref, data)
    t = res["totals"]
    assert t["pumped_ml"] == pytest.approx(ref.pumped_ml, abs=tol_ml)
    assert t["delivered_ml"] == pytest.approx(ref.csf_ml, abs=tol_ml)
    assert t["delivered_mg"] == pytest.approx(ref.csf_mg, abs=tol_mg)
    assert t["lost_mg"] == pytest.approx(ref.tissue_mg, abs=tol_mg)
    assert res["pump"]["reservoir_ml"] == pytest.approx(ref.reservoir_ml, abs=tol_ml)
    assert res["pump"]["reservoir_estimate_ml"] == pytest.approx(ref.estimate_ml, abs=tol_ml)
    assert sum(r["delivered_mg"] for r in res["daily"]) == pytest.approx(t["delivered_mg"], rel=1e-9, abs=1e-12)
    # patient-bolus decisions: identical, except where the oracle's own max-dose margin is within
    # its step error
    engine = [(d["granted"], d["reason"]) for d in res["ptm_requests"]]
    assert len(engine) == len(ref.decisions)
    for (granted, reason), (_, o_granted, o_reason, margin) in zip(engine, ref.decisions, strict=True):
        if (granted, reason) != (o_granted, o_reason):
            assert abs(margin) <= tol_mg, (engine, ref.decisions)
            break  # later decisions legitimately diverge after a borderline one
    for name, t_ref in ref.alarm_times.items():
        times = [q.to_epoch_s(q.parse_datetime(e["time"])) for e in res["events"] if e["type"] == name]
        assert times, name
        assert times[0] == pytest.approx(t_ref, abs=DT + 1e-6 + tol_ml / 0.048 * DAY)


@pytest.mark.property
@settings(max_examples=examples(12, soak_share=0.01))
@given(scenarios())
def test_engine_agrees_with_fixed_step_oracle(data: dict[str, Any]) -> None:
    check_agreement(data)


def test_oracle_agreement_on_a_hand_built_scenario() -> None:
    check_agreement(
        {
            "name": "hand",
            "start": "2026-03-01T06:00:00+01:00",
            "duration": "36h",
            "pump": {
                "model": "synchromed-ii-20",
                "drug": "morphine",
                "concentration": "10 mg/mL",
                "fill": "3 mL",
                "low_reservoir_alarm": "2.5 mL",
                "primed": False,
                "flow_accuracy": "104%",
            },
            "therapy": {
                "mode": "flex",
                "steps": [{"start": "07:00", "dose": "6 mg/day"}, {"start": "22:00", "dose": "2 mg/day"}],
            },
            "ptm": {
                "dose": "0.5 mg",
                "duration": "15min",
                "lockout": "2h",
                "max_per_day": 3,
                "max_daily_dose": "7 mg/day",
            },
            "events": [
                {"at": "+2h", "type": "ptm_request"},
                {"at": "+3h", "type": "ptm_request"},
                {"at": "+5h", "type": "ptm_request"},
                {"at": "+6h", "type": "mri", "duration": "40min", "resume_delay": "30min"},
                {"at": "+10h", "type": "refill", "fill": "10 mL", "concentration": "20 mg/mL"},
                {"at": "+20h", "type": "catheter_fault", "kind": "leak", "leak_fraction": "30%"},
                {"at": "+30h", "type": "ptm_request"},
            ],
        }
    )


FRONT_BASE: dict[str, Any] = {
    "name": "fronts",
    "start": "2026-03-01T00:00:00+00:00",
    "duration": "40h",
    "pump": {
        "model": "synchromed-ii-20",
        "drug": "morphine",
        "concentration": "10 mg/mL",
        "fill": "20 mL",
        "catheter": {"length": "20 cm"},
    },
    "therapy": {"mode": "simple_continuous", "dose": "5 mg/day"},
}


@pytest.mark.parametrize(
    ("pump", "events"),
    [
        # saline path 0.302 mL at 0.5 mL/day: the drug front reaches the tip at 14.496 h
        ({"primed": False}, [{"at": "+30h", "type": "ptm_request"}]),
        # old 10 mg/mL in the path after a refill to 20 mg/mL without a bridge: 0.25 mL/day, the
        # new drug reaches the tip 0.302 / 0.25 d = 29 h after the refill
        ({}, [{"at": "+2h", "type": "refill", "fill": "18 mL", "concentration": "20 mg/mL", "bridge_bolus": False}]),
        # a revision with a whole-path priming pushes the pump's 0.25 mL of drug out within minutes
        ({}, [{"at": "+3h", "type": "catheter_revision", "priming_bolus": True}]),
    ],
)
def test_oracle_agrees_per_hour_when_a_front_reaches_the_tip(pump: dict[str, Any], events: list[Any]) -> None:
    data = {**FRONT_BASE, "pump": {**FRONT_BASE["pump"], **pump}, "events": events}
    check_agreement(data)
