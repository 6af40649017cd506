"""The predictive 24 h maximum's shortcut: a patient bolus whose cheap upper bound
(``Firmware.ptm_upper_bound_mg``, from the history's integer running count) plus its dose is
within the limit is granted without the exact sums.  It must never change a decision: over random
grant sequences the pump with the shortcut and the pump without it give the same log, bit for
bit, and wherever there is a bound it is no smaller than the exact sums."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from itdd.errors import SafetyRefusal
from itdd.pump import delivered, firmware
from itdd.pump.firmware import Firmware, PtmSettings
from itdd.pump.implant import Implant
from itdd.pump.models import get_model
from itdd.pump.therapy import DAY_S, Therapy
from tests.conftest import examples

T0 = 1_767_600_000.0


@contextmanager
def exact_sums_only() -> Iterator[None]:
    """The firmware without the shortcut: every request with a maximum sums exactly."""
    with mock.patch.object(Firmware, "ptm_upper_bound_mg", lambda self, a_s, t_s, until_s: None):
        yield


@st.composite
def pumps(draw: st.DrawFn) -> dict[str, Any]:
    conc = draw(st.sampled_from([1.0, 10.0, 25.0]), label="mg/mL")
    hours = draw(st.lists(st.integers(0, 23), min_size=1, max_size=6, unique=True), label="step hours")
    doses = [conc * draw(st.floats(0.05, 0.6), label="step mL/day") for _ in hours]
    daily = sum(doses) / len(doses)  # about the basal's mg a day
    dose = conc * draw(st.floats(0.002, 0.05), label="bolus mL")
    per_day = draw(st.integers(1, 8), label="max per day")
    # a maximum around what the basal and the boluses would reach: some requests far under it
    # (the shortcut), some near it, some over it (the exact sums, a max_dose denial)
    share = draw(st.floats(0.8, 1.6), label="maximum / (basal + boluses)")
    return {
        "steps": [(h * 3600, d) for h, d in zip(hours, doses, strict=True)],
        "ptm": PtmSettings(
            dose,
            float(draw(st.integers(60, 7200), label="bolus s")),
            float(draw(st.integers(0, 4 * 3600), label="lockout s")),
            per_day,
            share * (daily + dose * per_day),
        ),
        "conc": conc,
        "drift": draw(st.sampled_from([0.0, 30.0, -50.0]), label="clock drift ppm"),
    }


ACTIONS = st.lists(
    st.tuples(
        st.one_of(st.floats(1.0, 12 * 3600.0), st.sampled_from([0.0, 600.0, 3 * 3600.0, 6 * 3600.0])),
        st.sampled_from(["request"] * 8 + ["clinician_bolus", "stop", "resume", "program", "refill"]),
    ),
    min_size=5,
    max_size=80,
)


def _implant(pump: dict[str, Any]) -> Implant:
    try:
        return Implant(
            get_model("synchromed-ii-40"),
            t_s=T0,
            offset_s=3600,
            drug="morphine",
            conc_mg_per_ml=pump["conc"],
            fill_ml=40.0,
            low_reservoir_ml=2.0,
            therapy=Therapy.flex(pump["steps"]),
            ptm=pump["ptm"],
            clock_drift_ppm=pump["drift"],
        )
    except SafetyRefusal:  # a bolus too fast for the pump: not a case
        reject()
        raise


def _run(pump: dict[str, Any], actions: list[tuple[float, str]]) -> tuple[object, ...]:
    imp = _implant(pump)
    outcomes: list[object] = []
    for dt, action in actions:
        imp.run_until(imp.t_s + dt)
        try:
            if action == "request":
                d = imp.ptm_request()
                outcomes.append((d.granted, d.reason, d.next_allowed_s, d.boluses_left_24h, d.message))
            elif action == "clinician_bolus":
                imp.clinician_bolus(0.05 * pump["conc"], 1800.0)
            elif action == "stop":
                imp.stop()
            elif action == "resume":
                imp.resume()
            elif action == "program":
                imp.program(Therapy.flex([(s, d * 1.5) for s, d in pump["steps"]]))
            else:
                imp.refill(withdraw_ml=None, fill_ml=40.0, drug="morphine", conc_mg_per_ml=pump["conc"])
        except SafetyRefusal as e:
            outcomes.append(str(e))
    log = [(e.seq, e.time_s, e.type, sorted(e.details.items())) for e in imp.log.history]
    return tuple(outcomes), tuple(map(repr, log)), tuple(imp.record.programmed_mg)


@pytest.mark.property
@settings(max_examples=examples(60, soak_share=0.1))
@given(pumps(), ACTIONS)
def test_the_shortcut_never_changes_a_decision(pump: dict[str, Any], actions: list[tuple[float, str]]) -> None:
    with exact_sums_only():
        exact = _run(pump, actions)
    assert _run(pump, actions) == exact


@pytest.mark.property
@settings(max_examples=examples(60, soak_share=0.1))
@given(pumps(), ACTIONS, st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_the_bound_is_never_below_the_exact_sums(
    pump: dict[str, Any], actions: list[tuple[float, str]], shares: list[float]
) -> None:
    """At the end of a random sequence, for windows ending now and bolus lengths up to a day."""
    imp = _implant(pump)
    for dt, action in actions:
        imp.run_until(imp.t_s + dt)
        try:
            if action == "request":
                imp.ptm_request()
            elif action == "clinician_bolus":
                imp.clinician_bolus(0.05 * pump["conc"], 1800.0)
        except SafetyRefusal:
            pass
    fw, t = imp.fw, imp.t_s
    for share in shares:
        until = t + share * DAY_S
        bound = fw.ptm_upper_bound_mg(until - DAY_S, t, until)
        if bound is not None:
            assert bound >= fw.delivered_mg_between(until - DAY_S, t) + fw.planned_basal_mg(t, until)


def _workload_b_pump(max_daily_mg: float) -> Implant:
    return Implant(
        get_model("synchromed-ii-40"),
        t_s=T0,
        offset_s=3600,
        drug="morphine",
        conc_mg_per_ml=25.0,
        fill_ml=40.0,
        low_reservoir_ml=4.0,
        therapy=Therapy.flex([(0, 3.0), (6 * 3600, 5.0), (9 * 3600, 6.0), (13 * 3600, 5.0), (18 * 3600, 6.0)]),
        ptm=PtmSettings(0.25, 600.0, 3 * 3600.0, 4, max_daily_mg),
    )


def test_a_request_far_under_the_maximum_is_granted_by_the_bound_and_one_over_it_by_the_sums() -> None:
    """Flex 3/5/6/5/6 mg/day from 00/06/09/13/18 h: 118/24 = 4.917 mg a day (3 x 6/24 + 5 x 3/24
    + 6 x 4/24 + 5 x 5/24 + 6 x 6/24), and a 0.25 mg bolus of 10 min after two days (09:00 local).
    With an 8 mg maximum the bound (the last day's 4.917 mg, plus at most a whole 6 h step at
    6 mg/day = 1.5 mg for the first entry's part before the window, plus 6 mg/day over 10 min =
    0.042 mg: at most 6.46 mg) plus 0.25 mg is within it: granted without the sums.  With a 5 mg
    maximum the exact sums run: the 24 h less 10 min before the bolus's end hold 4.917 mg less
    10 min at most 6 mg/day (>= 4.875 mg), + 0.25 mg > 5 mg: denied for the maximum dose."""
    far = _workload_b_pump(8.0)
    far.run_until(T0 + 2 * DAY_S)
    with mock.patch.object(firmware, "delivered_mg_between", side_effect=AssertionError("summed")):
        assert far.ptm_request().granted
    near = _workload_b_pump(5.0)
    near.run_until(T0 + 2 * DAY_S)
    d = near.ptm_request()
    assert (d.granted, d.reason) == (False, "max_dose")


def test_the_history_has_one_epsilon() -> None:
    assert delivered.EPS_S == firmware.EPS_S
