"""The command set's typed messages: decoded once at the pump's edge, field-named refusals."""

from __future__ import annotations

import pytest

from itdd.errors import InputError
from itdd.pump.ptm import PtmSettings
from itdd.pump.therapy import Therapy
from itdd.telemetry.commands import DirectLink, execute, therapy_to_args
from itdd.telemetry.frames import canonical_json
from itdd.telemetry.messages import (
    NoArgs,
    ProgramArgs,
    RefillArgs,
    SinceSeq,
    StatusReply,
    TherapyReply,
    decode_args,
)
from tests.helpers import T0, make_implant
from tests.telemetry.util import make_system, pump_state


def test_a_refill_decodes_to_numbers_with_the_units_in_their_names() -> None:
    args = {"withdraw_ml": None, "fill_ml": 20.0, "drug": "morphine", "conc_mg_per_ml": 25.0, "reservoir_ml": None}
    assert decode_args("refill", args) == RefillArgs(fill_ml=20.0, drug="morphine", conc_mg_per_ml=25.0)
    # absent concentration: the same concentration (the pump's); an empty drug: the same drug
    assert decode_args("refill", {"fill_ml": 5, "drug": ""}) == RefillArgs(fill_ml=5.0)


def test_the_decoded_program_keeps_the_therapy_and_the_ptm_settings() -> None:
    th = Therapy.flex([(7 * 3600, 1.2), (22 * 3600, 0.9)])
    ptm = PtmSettings(dose_mg=0.1, duration_s=600.0, lockout_s=3600.0, max_per_day=4)
    got = decode_args("program", {"therapy": therapy_to_args(th), "ptm": ptm.to_dict(), "details": {"id": "p-1"}})
    assert got == ProgramArgs(th, None, True, ptm, {"id": "p-1"}, "clinician")
    assert decode_args("read_log", {"since_seq": 12}) == SinceSeq(12)
    assert decode_args("stop", {}) == NoArgs()


@pytest.mark.parametrize(
    ("command", "args", "field"),
    [
        ("refill", {"fill_ml": "lots"}, "refill.args.fill_ml"),
        ("refill", {}, "refill.args.fill_ml"),
        ("refill", {"fill_ml": 5.0, "conc_mg_per_ml": None}, "refill.args.conc_mg_per_ml"),
        ("refill", {"fill_ml": 5.0, "bridge_bolus": "yes"}, "refill.args.bridge_bolus"),
        ("clinician_bolus", {"dose_mg": 0.5}, "clinician_bolus.args.duration_s"),
        ("program", {"therapy": {"mode": "turbo"}}, "program.args.therapy.mode"),
        ("program", {"therapy": {"mode": "flex", "steps": 3}}, "program.args.therapy"),
        ("program", {"therapy": {"mode": "stopped"}, "ptm": {"dose_mg": 1}}, "program.args.ptm.duration_s"),
        ("program", {"therapy": {"mode": "stopped"}, "details": {"mode": "x"}}, "program.args.details"),
        ("set_ptm", {"ptm": [1, 2]}, "set_ptm.args.ptm"),
        ("read_log", {"since_seq": "last"}, "read_log.args.since_seq"),
    ],
)
def test_a_malformed_argument_is_refused_naming_it_and_nothing_changes(
    command: str, args: dict[str, object], field: str
) -> None:
    imp = make_implant()
    before = pump_state(imp)
    with pytest.raises(InputError) as err:
        execute(imp, command, args, "clinician")
    assert err.value.field == field
    assert pump_state(imp) == before


def test_the_same_refusal_comes_back_over_the_radio() -> None:
    sys = make_system()
    with pytest.raises(InputError) as err:
        sys.clinician.call("refill", {"fill_ml": "lots"})
    assert err.value.field == "refill.args.fill_ml"


def test_the_wire_bytes_of_a_command_are_unchanged() -> None:
    # the link still sends the arguments as given: canonical JSON, sorted keys, no spaces
    payload = {"command": "clinician_bolus", "args": {"duration_s": 600.0, "dose_mg": 0.5}}
    assert canonical_json(payload) == b'{"args":{"dose_mg":0.5,"duration_s":600.0},"command":"clinician_bolus"}'


def test_the_status_answer_decodes_once_on_the_programmers_side() -> None:
    link = DirectLink(make_implant())  # 20 mL of morphine 10 mg/mL, 1 mg/day
    st = StatusReply.from_wire(link.call("read_status", {"since_seq": 0}))
    assert st.time_s == T0 and st.model_id == "synchromed-ii-20" and st.state == "infusing"
    assert st.reservoir_estimate_ml == 20.0 and st.eri_s is None and st.alarms == ()
    th = TherapyReply.from_wire(link.call("read_therapy"))
    assert th.therapy == Therapy.simple(1.0) and th.concentration_mg_per_ml == 10.0 and th.drug == "morphine"


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("reservoir_estimate_ml", "full", "status.reservoir_estimate_ml"),
        ("alarms", [{"type": "eri"}], "status.alarms[0].severity"),
        ("log", "none", "status.log"),
    ],
)
def test_a_malformed_status_answer_is_refused_naming_the_field(key: str, value: object, field: str) -> None:
    raw = DirectLink(make_implant()).call("read_status")
    raw[key] = value
    with pytest.raises(InputError) as err:
        StatusReply.from_wire(raw)
    assert err.value.field == field


def test_a_missing_status_field_is_named() -> None:
    raw = DirectLink(make_implant()).call("read_status")
    del raw["battery_to_eri"]
    with pytest.raises(InputError) as err:
        StatusReply.from_wire(raw)
    assert err.value.field == "status.battery_to_eri"
