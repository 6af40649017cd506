"""Hypothesis stateful tests: firmware invariants over random command and fault sequences."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from itdd.errors import SafetyRefusal
from itdd.pump import persist
from itdd.pump.firmware import PtmSettings
from itdd.pump.implant import Implant
from itdd.pump.models import get_model
from itdd.pump.therapy import Therapy
from tests.conftest import examples

T0 = 1_767_600_000.0
DAY = 86400.0
EPS = 1e-7
NO_DELIVERY_STATES = ("stopped", "motor_stalled", "end_of_service")


def therapies(conc: float) -> st.SearchStrategy[Therapy]:
    # doses whose pump rate lies in [0.05, 4] mL/day at this concentration
    dose = st.floats(0.05 * conc, 4.0 * conc, allow_nan=False)
    simple = dose.map(Therapy.simple)
    flex = st.lists(st.tuples(st.integers(0, 86399), dose), min_size=2, max_size=12, unique_by=lambda s: s[0]).map(
        Therapy.flex
    )
    return st.one_of(simple, flex)


class PumpMachine(RuleBasedStateMachine):
    imp: Implant

    @initialize(
        model=st.sampled_from(["synchromed-ii-20", "synchromed-ii-40"]),
        conc=st.sampled_from([1.0, 10.0, 25.0]),
        fill_frac=st.floats(0.05, 1.0),
        data=st.data(),
        battery=st.sampled_from([1.0, 0.002]),
        ptm=st.one_of(
            st.none(),
            st.builds(
                PtmSettings,
                dose_mg=st.floats(0.01, 0.5),
                duration_s=st.integers(60, 3600).map(float),
                lockout_s=st.integers(0, 6 * 3600).map(float),
                max_per_day=st.integers(1, 10),
                max_daily_dose_mg=st.one_of(st.none(), st.floats(0.5, 30.0)),
            ),
        ),
    )
    def start(
        self, model: str, conc: float, fill_frac: float, data: st.DataObject, battery: float, ptm: PtmSettings | None
    ) -> None:
        m = get_model(model)
        self.conc = conc
        self.cap = m.reservoir_capacity_ml
        fill = fill_frac * self.cap
        therapy = data.draw(therapies(conc))
        self.low = data.draw(st.floats(1.0, 5.0))
        self.imp = Implant(
            m,
            t_s=T0,
            offset_s=3600,
            drug="morphine",
            conc_mg_per_ml=conc,
            fill_ml=fill,
            low_reservoir_ml=self.low,
            therapy=therapy,
            ptm=ptm,
            battery_to_eri=battery,
        )
        self.mg_in = (fill + self.imp.hw.path_volume_ml) * conc  # reservoir + primed path
        self.mg_out_withdrawn = 0.0
        self.command_times = {T0}
        self.requests = 0
        self.occluded_since: float | None = None
        self.checked_upto = 0
        self.state_checked_upto = 0

    def attempt(self, command: Callable[[], object]) -> bool:
        """Run a command; a refusal must leave the pump exactly as it was."""
        before = persist.dump(self.imp)
        try:
            command()
        except SafetyRefusal:
            assert persist.dump(self.imp) == before
            return False
        return True

    # ---- rules ---------------------------------------------------------------------------------
    @rule(dt=st.one_of(st.floats(1.0, 3600.0), st.floats(3600.0, 3 * DAY)))
    def advance(self, dt: float) -> None:
        self.imp.run_until(self.imp.t_s + dt)

    @rule()
    def ptm_request(self) -> None:
        self.requests += 1
        self.imp.ptm_request()

    @rule(ml=st.floats(0.001, 0.5), minutes=st.integers(5, 240))
    def clinician_bolus(self, ml: float, minutes: int) -> None:
        if self.attempt(lambda: self.imp.clinician_bolus(ml * self.imp.fw.conc_mg_per_ml, minutes * 60.0)):
            self.command_times.add(self.imp.t_s)

    @rule(data=st.data())
    def program(self, data: st.DataObject) -> None:
        self.imp.program(data.draw(therapies(self.imp.fw.conc_mg_per_ml)))
        self.command_times.add(self.imp.t_s)

    @rule()
    def stop(self) -> None:
        self.imp.stop()

    @rule()
    def resume(self) -> None:
        self.imp.resume()
        self.command_times.add(self.imp.t_s)

    @rule()
    def field_on(self) -> None:
        self.imp.magnetic_field_on()

    @rule(delay=st.floats(0.0, 6 * 3600.0))
    def field_off(self, delay: float) -> None:
        self.imp.magnetic_field_off(delay)

    @rule()
    def interrogate(self) -> None:
        self.imp.interrogate()

    @rule(kind=st.sampled_from(["occlusion", "leak", "disconnection", "migration"]), frac=st.floats(0.0, 1.0))
    def catheter_fault(self, kind: str, frac: float) -> None:
        self.imp.catheter_fault(kind, frac)
        if kind == "occlusion" and self.occluded_since is None:
            self.occluded_since = self.imp.t_s
        elif kind != "occlusion":
            self.occluded_since = None

    @rule(fill_frac=st.floats(0.0, 1.0))
    def refill(self, fill_frac: float) -> None:
        hw = self.imp.hw
        before_mg = hw.reservoir_ml * hw.reservoir_conc_mg_per_ml
        fill = fill_frac * self.cap
        res = self.imp.refill(
            withdraw_ml=None, fill_ml=fill, drug="morphine", conc_mg_per_ml=self.imp.fw.conc_mg_per_ml
        )
        self.mg_out_withdrawn += before_mg
        self.mg_in += fill * self.imp.fw.conc_mg_per_ml
        assert res.withdrawn_ml * self.imp.fw.conc_mg_per_ml <= before_mg + EPS
        self.command_times.add(self.imp.t_s)

    # ---- invariants ----------------------------------------------------------------------------
    @invariant()
    def drug_is_conserved(self) -> None:
        imp = self.imp
        rec = imp.record
        inside = imp.hw.reservoir_ml * imp.hw.reservoir_conc_mg_per_ml + sum(imp.hw.path.mg_by_drug().values())
        out = rec.total("csf_mg") + rec.total("tissue_mg")
        assert abs(inside + out + self.mg_out_withdrawn - self.mg_in) < 1e-6 * max(self.mg_in, 1.0)

    @invariant()
    def never_more_than_the_reservoir_held(self) -> None:
        assert self.imp.hw.reservoir_ml >= -EPS
        hw = self.imp.hw
        # what is left can only be below the residual if it was filled below it
        assert hw.reservoir_ml >= min(hw.model.residual_ml, hw.reservoir_ml) - EPS

    @invariant()
    def no_delivery_while_stopped_stalled_or_after_eos(self) -> None:
        rec = self.imp.record
        for i in range(self.state_checked_upto, len(rec)):
            if rec.state[i] in NO_DELIVERY_STATES:
                assert rec.pumped_ml[i] == 0.0 and rec.csf_mg[i] == 0.0, rec.state[i]
        if self.occluded_since is not None:
            assert rec.total("pumped_ml", self.occluded_since, self.imp.t_s) == 0.0
        self.state_checked_upto = len(rec)

    @invariant()
    def every_24h_window_within_programmed(self) -> None:
        """Delivered drug in any 24 h window never exceeds what the pump was programmed to give
        (basal + boluses), at a flow accuracy of 100 % and one concentration."""
        rec = self.imp.record
        n = len(rec)
        for i in range(self.checked_upto, n):
            end = rec.t1[i]
            start = end - DAY
            delivered = rec.total("csf_mg", start, end)
            programmed = rec.total("programmed_mg", start, end)
            assert delivered <= programmed + 1e-9 * max(programmed, 1.0) + 1e-12
        self.checked_upto = n

    @invariant()
    def alarms_raised_once_at_the_right_time(self) -> None:
        log = self.imp.log.history
        active: set[str] = set()
        names = {
            "low_reservoir_alarm": "low_reservoir",
            "reservoir_empty_alarm": "reservoir_empty",
            "motor_stall": "motor_stall",
            "eri_alarm": "eri",
            "end_of_service": "end_of_service",
        }
        for e in log:
            if e.type in names:
                kind = names[e.type]
                assert kind not in active, f"{kind} raised twice without being cleared"
                active.add(kind)
                if kind == "low_reservoir":
                    est = e.details["estimate_ml"]
                    thr = e.details["threshold_ml"]
                    assert est <= thr + 1e-6
                    # raised exactly at the crossing, unless a command left it below the threshold
                    assert abs(est - thr) < 1e-6 or any(abs(e.time_s - c) < 1e-6 for c in self.command_times)
            elif e.type == "alarm_cleared":
                active.discard(e.details["alarm"])
        assert active == set(self.imp.fw.alarms)

    @invariant()
    def log_is_chronological_and_complete(self) -> None:
        log = self.imp.log.history
        for a, b in itertools.pairwise(log):
            assert a.time_s <= b.time_s + 1e-9 and a.seq < b.seq
        decisions = sum(1 for e in log if e.type in ("ptm_bolus_granted", "ptm_bolus_denied"))
        assert decisions == self.requests

    @precondition(lambda self: hasattr(self, "imp"))
    @invariant()
    def estimate_never_negative(self) -> None:
        assert self.imp.fw.estimate_ml >= 0.0


PumpMachine.TestCase.settings = settings(max_examples=examples(60), stateful_step_count=30, deadline=None)
TestPumpMachine = pytest.mark.property(PumpMachine.TestCase)
