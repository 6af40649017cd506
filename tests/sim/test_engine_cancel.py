"""Simulation.cancel: a cancelled action never runs and the run does not stop at its instant."""

from __future__ import annotations

import pytest

from itdd.pump.implant import Implant
from itdd.pump.models import get_model
from itdd.pump.therapy import Therapy
from itdd.sim.engine import Simulation

T0 = 1_767_600_000.0
DAY = 86400.0


def test_cancelled_action_does_not_run_and_leaves_no_step() -> None:
    def make() -> tuple[Simulation, list[float]]:
        imp = Implant(
            get_model("synchromed-ii-40"),
            t_s=T0,
            offset_s=0,
            drug="morphine",
            conc_mg_per_ml=10.0,
            fill_ml=40.0,
            low_reservoir_ml=2.0,
            therapy=Therapy.simple(1.0),
        )
        return Simulation(imp, T0, T0 + 10 * DAY), []

    sim, ran = make()
    sim.schedule(T0 + 2 * DAY, lambda s: ran.append(s.now_s), label="kept")
    gone = sim.schedule(T0 + 1 * DAY, lambda s: ran.append(-1.0), label="cancelled")
    sim.cancel(gone)
    sim.cancel(sim.schedule(T0 + 20 * DAY, lambda s: ran.append(-2.0)))  # after the end: None, cancel is a no-op
    sim.run()
    assert ran == [T0 + 2 * DAY]
    # the implant's record has no boundary at the cancelled instant (it was never stopped there)
    assert T0 + 1 * DAY not in sim.implant.record.t1
    # and the pump delivered what it would with no action at all: 1 mg/day for 10 days
    ref, _ = make()
    ref.run()
    assert sum(sim.implant.record.csf_mg) == pytest.approx(sum(ref.implant.record.csf_mg), rel=1e-12)
    assert sum(ref.implant.record.csf_mg) > 0.0
