"""LocalLink's typed reads give exactly what the wire round trip gives (field by field, types too)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from itdd.errors import InputError
from itdd.pump.firmware import PtmSettings
from itdd.pump.implant import Implant
from itdd.pump.therapy import PeriodicBolus, Therapy
from itdd.telemetry.commands import PATIENT, DirectLink
from itdd.telemetry.local import LocalLink
from itdd.telemetry.messages import RefillArgs, RefillReply, StatusReply, TherapyReply, refill_to_args
from tests.helpers import T0, make_implant

DAY = 86400.0
PTM = PtmSettings(dose_mg=0.1, duration_s=600.0, lockout_s=3600.0, max_per_day=4)


def _same(a: Any, b: Any) -> None:
    """Equal, and every field of the same type (a 5 is not a 5.0 here)."""
    assert a == b
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert type(x) is type(y), f.name
        assert repr(x) == repr(y), f.name


def _pumps() -> list[Implant]:
    a = make_implant(ptm=PTM)  # a simple therapy, patient boluses, a full log since the implant
    a.run_until(T0 + 30 * DAY)
    a.ptm_request()
    b = make_implant(therapy=Therapy.flex([(0, 1.0), (8 * 3600, 2.0)]), fill=3.0)  # runs into a low reservoir
    b.run_until(T0 + 40 * DAY)
    c = make_implant(therapy=Therapy.periodic([PeriodicBolus(3600, 0.2, 1800.0)], 0.5))
    c.run_until(T0 + 2 * DAY)
    c.program(Therapy.stopped())
    return [a, b, c]


@pytest.mark.parametrize("since", [0, 2, 1 << 62])
@pytest.mark.parametrize("side_effects", [False, True])
def test_status_reply_matches_the_wire(since: int, side_effects: bool) -> None:
    for wire_pump, local_pump in zip(_pumps(), _pumps(), strict=True):
        cmd = "interrogate" if side_effects else "read_status"
        wire = StatusReply.from_wire(DirectLink(wire_pump).call(cmd, {"since_seq": since}))
        local = LocalLink(local_pump).status_reply(since, side_effects=side_effects)
        _same(wire, local)
        assert wire_pump.log.last_seq == local_pump.log.last_seq  # the same side effects


def test_therapy_reply_matches_the_wire() -> None:
    for pump in _pumps():
        wire = TherapyReply.from_wire(DirectLink(pump).call("read_therapy"))
        local = LocalLink(pump).therapy_reply()
        _same(wire, local)
        assert local.ptm is None or local.ptm is not pump.fw.ptm  # a copy: the reader cannot change the pump's settings


def test_a_patient_role_is_refused_as_on_the_wire() -> None:
    with pytest.raises(InputError, match="may not send"):
        LocalLink(make_implant(), PATIENT).therapy_reply()
    with pytest.raises(InputError, match="may not send"):
        LocalLink(make_implant(), PATIENT).status_reply(0, side_effects=False)


@pytest.mark.parametrize(
    "args",
    [
        RefillArgs(fill_ml=20.0, drug="morphine", conc_mg_per_ml=10.0),
        RefillArgs(fill_ml=4.0, withdraw_ml=2.0, drug="morphine", conc_mg_per_ml=20.0, bridge_bolus=True),
        RefillArgs(fill_ml=20.0, drug="morphine", conc_mg_per_ml=20.0, reservoir_ml=18.5, bridge_bolus=False),
    ],
)
def test_refill_reply_matches_the_wire(args: RefillArgs) -> None:
    a, b = make_implant(), make_implant()
    for imp in (a, b):
        imp.run_until(T0 + 20 * DAY)
    wire = RefillReply.from_wire(DirectLink(a).call("refill", refill_to_args(args)))
    local = LocalLink(b).refill_reply(args)
    _same(wire, local)
    assert [e.to_wire() for e in a.log.since(0)] == [e.to_wire() for e in b.log.since(0)]
    assert a.fw.estimate_ml == b.fw.estimate_ml and a.hw.reservoir_ml == b.hw.reservoir_ml


def test_a_refused_refill_is_refused_as_on_the_wire() -> None:
    over = RefillArgs(fill_ml=60.0, drug="morphine", conc_mg_per_ml=10.0)
    with pytest.raises(Exception) as wire:
        DirectLink(make_implant()).call("refill", refill_to_args(over))
    with pytest.raises(Exception) as local:
        LocalLink(make_implant()).refill_reply(over)
    assert type(wire.value) is type(local.value) and str(wire.value) == str(local.value)
