"""``itdd programmer …`` and ``itdd ptm …`` talk to the pump over the authenticated telemetry link.

Rule (issue 8, item 8): the programmer and PTM commands reach the virtual pump as sealed telemetry
frames with the right role's key, not through a direct call.  So the pump itself must (a) record
each applied command with the sending device and role, (b) refuse a programmer holding a patient
key, (c) refuse a key that is not derived from its secret, and (d) refuse a frame whose counter
it has already seen — and the counters that make (d) possible must be saved with the state file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from itdd.cli import main
from itdd.cli.programmer import VirtualPump
from itdd.telemetry.frames import COMMAND, VERSION, Header, canonical_json, seal
from itdd.telemetry.keys import DeviceCredentials

START = "2026-01-05T08:00:00+01:00"
IMPLANT = (
    "programmer implant --drug morphine --concentration=10_mg/mL --fill=20_mL --start " + START + " --dose=0.8_mg/day "
    "--clinician dr-a --ptm-dose=0.1_mg --ptm-lockout 3h --ptm-max-per-day 4"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def argv(text: str, state: Path) -> list[str]:
    return [a.replace("_", " ") for a in text.split()] + ["--state", str(state)]


@pytest.fixture
def pump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    state = tmp_path / "pump.json"
    rc, _, err = run(capsys, *argv(IMPLANT, state))
    assert rc == 0, err
    return state


def saved(state: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(state.read_text())
    return data


def counters(state: Path) -> tuple[int, int]:
    d = saved(state)
    return int(d["programmer"]["device"]["counter"]), int(d["ptm"]["device"]["counter"])


def pump_counters(state: Path) -> dict[str, int]:
    """The last frame counter the pump accepted from each role (from its saved endpoint memory)."""
    return {s["role"]: s["last_counter"] for s in saved(state)["telemetry"]["endpoint"]["senders"]}


def full_log(state: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    rc, out, err = run(capsys, "programmer", "interrogate", "--state", str(state), "--all", "--json")
    assert rc == 0, err
    log: list[dict[str, Any]] = json.loads(out)["log_since_last_session"]
    return log


def test_programmer_and_ptm_commands_reach_the_pump_as_authenticated_frames(
    pump: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Right after implant nothing has been sent: both devices' counters are 0 and the pump knows no sender.
    assert counters(pump) == (0, 0) and pump_counters(pump) == {}
    assert (
        run(capsys, "programmer", "program", "--state", str(pump), "--dose", "1 mg/day", "--clinician", "dr-a")[0] == 0
    )
    assert run(capsys, "ptm", "bolus", "--state", str(pump))[0] == 0
    prog, ptm = counters(pump)
    # The programmer spent frames (reads, the program command, its read-back); the PTM a status and a bolus.
    assert prog >= 2 and ptm == 2
    # The pump accepted exactly those counters: its memory and the devices' agree, and were saved.
    assert pump_counters(pump) == {"clinician": prog, "patient": ptm}
    applied = [e for e in full_log(pump, capsys) if e["type"] == "command_applied"]
    # The pump's own log says who sent each state change, under which role and device id.
    assert [(e["command"], e["role"], e["device_id"]) for e in applied] == [
        ("program", "clinician", 1),
        ("ptm_bolus", "patient", 1001),
    ]
    assert applied[1]["granted"] is True


@pytest.mark.parametrize(
    ("command", "device"),
    [
        ("programmer interrogate", 0),
        ("programmer program --dose=0.9_mg/day --clinician dr-a", 0),
        ("programmer bolus --dose=0.1_mg --duration 1h --clinician dr-a", 0),
        ("programmer refill --fill=20_mL --clinician dr-a", 0),
        ("programmer prime --catheter-length=50_cm", 0),
        ("programmer clock --set", 0),
        ("programmer titrate --to=1_mg/day", 0),
        ("ptm status", 1),
        ("ptm bolus", 1),
    ],
)
def test_every_pump_command_goes_over_the_link_with_its_devices_key(
    pump: Path, capsys: pytest.CaptureFixture[str], command: str, device: int
) -> None:
    before = counters(pump)
    rc, _, err = run(capsys, *argv(command, pump))
    assert rc == 0, err
    after = counters(pump)
    # The sending device's counter moved (frames were sealed with its key); the other device's did not.
    assert after[device] > before[device] and after[1 - device] == before[1 - device]
    assert pump_counters(pump)["clinician" if device == 0 else "patient"] == after[device]


def test_a_programmer_holding_a_patient_key_cannot_program(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = saved(pump)
    data["programmer"]["device"] = data["ptm"]["device"]  # the patient's key and role in the programmer
    pump.write_text(json.dumps(data))
    before = pump.read_bytes()
    rc, out, err = run(capsys, "programmer", "program", "--state", str(pump), "--dose", "1 mg/day", "--clinician", "x")
    # The pump authenticates the frame as the patient's and refuses a clinician command; nothing is saved.
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "role" in err and "a patient may not send" in err
    assert pump.read_bytes() == before


def test_a_tampered_programmer_key_is_refused_by_the_pump(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = saved(pump)
    key = data["programmer"]["device"]["key"]
    data["programmer"]["device"]["key"] = ("0" if key[0] != "0" else "1") + key[1:]
    pump.write_text(json.dumps(data))
    before = pump.read_bytes()
    rc, _, err = run(capsys, "programmer", "interrogate", "--state", str(pump))
    assert rc == 2 and "authentication_failed" in err and err.count("\n") == 1
    assert pump.read_bytes() == before


def test_a_programmer_restored_from_an_old_copy_is_refused_as_a_replay(
    pump: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_device = saved(pump)["programmer"]["device"]  # counter 0
    assert run(capsys, "programmer", "interrogate", "--state", str(pump))[0] == 0
    data = saved(pump)
    data["programmer"]["device"] = old_device  # the programmer's record rolled back; the pump's memory is not
    pump.write_text(json.dumps(data))
    before = pump.read_bytes()
    rc, _, err = run(capsys, "programmer", "program", "--state", str(pump), "--dose", "1 mg/day", "--clinician", "x")
    assert rc == 2 and "replay" in err
    assert pump.read_bytes() == before


def test_a_captured_frame_replayed_to_the_saved_pump_is_refused(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "ptm", "bolus", "--state", str(pump))[0] == 0
    vp = VirtualPump.load(str(pump))  # the pump as saved: its endpoint memory comes from the file
    creds = vp.telemetry.devices["ptm"]
    used = creds.counter  # the last counter the PTM sent, already accepted by the pump
    old = DeviceCredentials(creds.serial, creds.role, creds.device_id, creds.key, used - 1)
    counter = old.next_counter()
    # A genuine frame, sealed with the PTM's real key, but with a counter the pump has already seen.
    frame = seal(
        AESGCM(creds.key),
        Header(VERSION, COMMAND, creds.serial, creds.role, creds.device_id, counter, counter, 0),
        canonical_json({"command": "ptm_bolus", "args": {}}),
    )
    grants = vp.implant.log.counters.get("ptm_bolus_granted", 0)
    assert vp.telemetry.endpoint.receive(frame) is None  # no answer to a replay
    assert vp.telemetry.endpoint.stats["rejected:replay"] == 1
    assert vp.implant.log.counters.get("ptm_bolus_granted", 0) == grants


def test_a_format_1_state_file_is_paired_on_first_use(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = saved(pump)
    for key in ("telemetry", "ptm"):
        data.pop(key)
    data["programmer"].pop("device")
    data["format"] = 1
    pump.write_text(json.dumps(data))
    rc, _, err = run(capsys, "programmer", "interrogate", "--state", str(pump))
    assert rc == 0, err
    upgraded = saved(pump)
    assert upgraded["format"] == 2 and upgraded["programmer"]["device"]["counter"] >= 1
    assert upgraded["ptm"]["device"]["role"] == "patient"
