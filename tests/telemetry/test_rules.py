"""One named test per telemetry rule: what is rejected, that it is logged with its reason, that nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from itdd.errors import InputError, SafetyRefusal
from itdd.telemetry import CLINICIAN, COMMANDS, PATIENT, DeliveryUncertain, PumpEndpoint, PumpKeys, TelemetryRejected
from itdd.telemetry.endpoint import ANSWERS_KEPT, COMMAND_IDS_KEPT, MAX_UNANSWERED_LOGGED_PER_HOUR
from itdd.telemetry.frames import RESPONSE, VERSION, Header, canonical_json, seal
from tests.helpers import HOUR
from tests.telemetry.util import CLIN_ID, PTM_ID, SERIAL, command_frame, count, make_system, pump_state

PROGRAM_2MG = {"therapy": {"mode": "simple_continuous", "dose_mg_per_day": 2.0}}


def rejections(imp: Any) -> list[dict[str, Any]]:
    return [e.details for e in imp.log.history if e.type == "telemetry_rejected"]


def assert_rejected_silently(sys: Any, frame: bytes, reason: str) -> None:
    before = pump_state(sys.implant)
    n = len(rejections(sys.implant))
    assert sys.endpoint.receive(frame) is None
    assert pump_state(sys.implant) == before
    logged = rejections(sys.implant)
    assert len(logged) == n + 1
    assert logged[-1]["reason"] == reason


def clinician_key(sys: Any) -> bytes:
    return sys.keys.device_key(CLINICIAN, CLIN_ID)


# ---- forged, tampered, truncated, wrong pump, replayed --------------------------------------------------


def test_valid_frame_is_applied_and_answered() -> None:
    sys = make_system()
    answer = sys.endpoint.receive(command_frame(clinician_key(sys), "program", PROGRAM_2MG, counter=1))
    assert answer is not None
    assert sys.implant.fw.therapy.dose_mg_per_day == 2.0
    applied = [e.details for e in sys.implant.log.history if e.type == "command_applied"]
    assert applied == [{"command": "program", "command_id": 1, "role": CLINICIAN, "device_id": CLIN_ID}]


def test_tampered_payload_is_rejected() -> None:
    sys = make_system()
    frame = bytearray(command_frame(clinician_key(sys), "program", PROGRAM_2MG, counter=1))
    frame[50] ^= 0x01  # inside the ciphertext
    # Re-compute the CRC as a deliberate attacker would: only the GCM tag can tell.
    body = bytes(frame[:-4])
    import zlib

    assert_rejected_silently(sys, body + zlib.crc32(body).to_bytes(4, "big"), "authentication_failed")


def test_tampered_header_is_rejected() -> None:
    import zlib

    sys = make_system()
    frame = bytearray(command_frame(clinician_key(sys), "program", PROGRAM_2MG, counter=1))
    frame[40] ^= 0x02  # the command id, covered by the tag as associated data
    body = bytes(frame[:-4])
    assert_rejected_silently(sys, body + zlib.crc32(body).to_bytes(4, "big"), "authentication_failed")


def test_frame_sealed_with_a_wrong_key_is_rejected() -> None:
    sys = make_system()
    other = PumpKeys.provision(SERIAL, seed=999)  # same serial, another secret
    assert_rejected_silently(
        sys,
        command_frame(other.device_key(CLINICIAN, CLIN_ID), "program", PROGRAM_2MG, counter=1),
        "authentication_failed",
    )


def test_patient_key_cannot_forge_a_clinician_frame() -> None:
    sys = make_system()
    patient_key = sys.keys.device_key(PATIENT, PTM_ID)
    frame = command_frame(patient_key, "program", PROGRAM_2MG, counter=1, role=CLINICIAN, device_id=PTM_ID)
    assert_rejected_silently(sys, frame, "authentication_failed")


def test_device_cannot_speak_for_another_device() -> None:
    sys = make_system()
    frame = command_frame(
        sys.keys.device_key(PATIENT, PTM_ID), "ptm_bolus", counter=1, role=PATIENT, device_id=PTM_ID + 1
    )
    assert_rejected_silently(sys, frame, "authentication_failed")


@pytest.mark.parametrize("cut", [0, 1, 44, 45, 60, -5, -1])
def test_truncated_frame_is_rejected(cut: int) -> None:
    sys = make_system()
    frame = command_frame(clinician_key(sys), "program", PROGRAM_2MG, counter=1)
    assert_rejected_silently(sys, frame[:cut] if cut else b"", "truncated")


def test_bad_crc_is_rejected() -> None:
    sys = make_system()
    frame = bytearray(command_frame(clinician_key(sys), "program", PROGRAM_2MG, counter=1))
    frame[-1] ^= 0xFF
    assert_rejected_silently(sys, bytes(frame), "crc_mismatch")


def test_radio_bit_error_is_logged_as_crc_mismatch() -> None:
    sys = make_system()
    frame = bytearray(command_frame(clinician_key(sys), "program", PROGRAM_2MG, counter=1))
    frame[60] ^= 0x10  # the CRC was not recomputed: a transmission error
    assert_rejected_silently(sys, bytes(frame), "crc_mismatch")


def test_replayed_frame_is_rejected() -> None:
    sys = make_system()
    frame = command_frame(clinician_key(sys), "clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600}, counter=1)
    assert sys.endpoint.receive(frame) is not None
    assert count(sys.implant, "bolus_started") == 1
    assert_rejected_silently(sys, frame, "replay")
    assert count(sys.implant, "bolus_started") == 1
    # An older counter is a replay too, even with a new command id.
    older = command_frame(clinician_key(sys), "stop", counter=1, command_id=1)
    assert_rejected_silently(sys, older, "replay")


def test_replay_is_rejected_after_the_endpoint_state_is_saved_and_restored() -> None:
    sys = make_system()
    frame = command_frame(clinician_key(sys), "stop", counter=5)
    assert sys.endpoint.receive(frame) is not None
    restored = PumpEndpoint(sys.implant, sys.keys, state=sys.endpoint.state())
    sys.endpoint = restored
    assert_rejected_silently(sys, frame, "replay")


def test_frame_for_another_pump_serial_is_rejected() -> None:
    sys = make_system()
    other = PumpKeys.provision("OTHERPUMP", seed=0)
    frame = command_frame(other.device_key(CLINICIAN, CLIN_ID), "stop", counter=1, serial="OTHERPUMP")
    assert_rejected_silently(sys, frame, "wrong_pump")


def test_response_frame_sent_to_the_pump_is_rejected() -> None:
    sys = make_system()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    frame = seal(
        AESGCM(clinician_key(sys)), Header(VERSION, RESPONSE, SERIAL, CLINICIAN, CLIN_ID, 1, 1, 0), b'{"ok":true}'
    )
    assert_rejected_silently(sys, frame, "bad_frame_type")


def test_unknown_protocol_version_is_rejected() -> None:
    sys = make_system()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    payload = canonical_json({"command": "stop", "args": {}})
    frame = seal(AESGCM(clinician_key(sys)), Header(2, 1, SERIAL, CLINICIAN, CLIN_ID, 1, 1, 0), payload)
    assert_rejected_silently(sys, frame, "unsupported_version")


def test_oversized_frame_is_rejected_before_decryption() -> None:
    sys = make_system()
    frame = command_frame(clinician_key(sys), "read_clock", {"pad": "x" * 70_000}, counter=1)
    assert_rejected_silently(sys, frame, "payload_too_large")


def test_unanswered_rejections_cannot_flood_the_device_log() -> None:
    sys = make_system()
    imp = sys.implant
    for i in range(3 * MAX_UNANSWERED_LOGGED_PER_HOUR):
        assert sys.endpoint.receive(bytes([i % 256]) * 80) is None
    assert len(rejections(imp)) == MAX_UNANSWERED_LOGGED_PER_HOUR
    assert sys.endpoint.stats["rejections_not_logged"] == 2 * MAX_UNANSWERED_LOGGED_PER_HOUR
    imp.run_until(imp.t_s + HOUR)
    sys.endpoint.receive(b"noise")
    last = rejections(imp)[-1]
    assert last["not_logged_before"] == 2 * MAX_UNANSWERED_LOGGED_PER_HOUR
    # An authenticated sender's rejection is always logged.


# ---- roles ------------------------------------------------------------------------------------------------

CLINICIAN_ONLY = sorted(name for name, cmd in COMMANDS.items() if PATIENT not in cmd.roles)


def test_the_patient_may_send_only_bolus_status_and_clock() -> None:
    assert sorted(n for n, c in COMMANDS.items() if PATIENT in c.roles) == ["ptm_bolus", "ptm_status", "read_clock"]


@pytest.mark.parametrize("command", CLINICIAN_ONLY)
def test_patient_role_cannot_send_clinician_commands(command: str) -> None:
    sys = make_system()
    args = {
        "program": PROGRAM_2MG,
        "refill": {"fill_ml": 18.0, "withdraw_ml": None},
        "clinician_bolus": {"dose_mg": 0.5, "duration_s": 3600},
        "set_clock": {"pump_time_s": 0.0},
        "set_low_reservoir_alarm": {"low_reservoir_ml": 5.0},
        "set_ptm": {"ptm": None},
    }.get(command, {})
    before = pump_state(sys.implant)
    with pytest.raises(InputError) as err:
        sys.patient.call(command, args)
    assert err.value.field == "role"
    assert isinstance(err.value, TelemetryRejected) and err.value.reason == "role_not_allowed"
    assert pump_state(sys.implant) == before
    last = rejections(sys.implant)[-1]
    assert (last["reason"], last["role"], last["device_id"], last["authenticated"]) == (
        "role_not_allowed",
        PATIENT,
        PTM_ID,
        True,
    )


def test_patient_role_cannot_program_refill_or_read_the_log() -> None:
    sys = make_system()
    for command, args in (("program", PROGRAM_2MG), ("refill", {"fill_ml": 18.0}), ("read_log", {})):
        with pytest.raises(InputError, match="a patient may not send"):
            sys.patient.call(command, args)
    assert sys.implant.fw.therapy.dose_mg_per_day == 1.0
    assert count(sys.implant, "refill") == 0


def test_patient_can_request_a_bolus_read_status_and_clock() -> None:
    sys = make_system()
    assert sys.patient.request_bolus().granted is True
    st = sys.patient.status()
    assert st.reservoir_estimate_ml == pytest.approx(20.0)
    assert st.boluses_left_24h == 3
    assert sys.patient.call("read_clock")["pump_time_s"] == sys.implant.t_s


def test_unknown_command_is_rejected_and_logged() -> None:
    sys = make_system()
    with pytest.raises(InputError) as err:
        sys.clinician.call("self_destruct")
    assert err.value.field == "command"
    assert rejections(sys.implant)[-1]["reason"] == "unknown_command"


def test_authenticated_malformed_payload_is_rejected_and_answered() -> None:
    sys = make_system()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from itdd.telemetry.client import TelemetryLink

    for i, payload in enumerate([b"not json", b"[1,2]", b'{"command":"stop"}', b'{"command":1,"args":{}}'], 1):
        frame = seal(AESGCM(clinician_key(sys)), Header(VERSION, 1, SERIAL, CLINICIAN, CLIN_ID, i, i, 0), payload)
        before = pump_state(sys.implant)
        answer = sys.endpoint.receive(frame)
        assert answer is not None
        assert pump_state(sys.implant) == before
        assert rejections(sys.implant)[-1]["reason"] == "malformed_payload"
        body = TelemetryLink._open_answer(sys.clinician, answer, i, i)
        assert body["ok"] is False and body["error"]["field"] == "payload"


# ---- command ids and idempotency -------------------------------------------------------------------------


def test_retry_after_a_lost_response_is_applied_once() -> None:
    """The field's double bolus: the answer is lost, the programmer retries, the pump applies it once."""
    sys = make_system()
    sys.radio.script(responses=["lose", "lose", "deliver"])
    res = sys.patient.request_bolus()
    assert res.certain and res.granted is True
    assert sys.radio.stats["command_deliver"] == 3  # the pump received the request three times
    assert count(sys.implant, "ptm_bolus_granted") == 1
    assert count(sys.implant, "ptm_bolus_denied") == 0  # not even a lockout denial: never re-decided
    assert sys.endpoint.stats["retry_answered_from_memory"] == 2


def test_retry_returns_the_remembered_answer() -> None:
    sys = make_system()
    key = clinician_key(sys)
    first = sys.endpoint.receive(command_frame(key, "clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600}, counter=1))
    retry = sys.endpoint.receive(
        command_frame(key, "clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600}, counter=2, command_id=1)
    )
    assert first is not None and retry is not None
    assert first[45:-4] != retry[45:-4]  # sealed under a new nonce ...
    from itdd.telemetry.client import TelemetryLink

    a = TelemetryLink._open_answer(sys.clinician, first, 1, 1)
    b = TelemetryLink._open_answer(sys.clinician, retry, 2, 1)
    assert a == b  # ... but the same answer
    assert count(sys.implant, "bolus_started") == 1


def test_same_command_id_with_a_different_payload_is_rejected() -> None:
    sys = make_system()
    key = clinician_key(sys)
    assert sys.endpoint.receive(command_frame(key, "clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600}, counter=1))
    before = pump_state(sys.implant)
    answer = sys.endpoint.receive(
        command_frame(key, "clinician_bolus", {"dose_mg": 5.0, "duration_s": 3600}, counter=2, command_id=1)
    )
    assert answer is not None
    assert pump_state(sys.implant) == before
    assert rejections(sys.implant)[-1]["reason"] == "command_id_reuse"


def test_command_id_newer_than_its_frame_counter_is_rejected() -> None:
    sys = make_system()
    before = pump_state(sys.implant)
    assert sys.endpoint.receive(command_frame(clinician_key(sys), "stop", counter=3, command_id=4)) is not None
    assert pump_state(sys.implant) == before
    assert rejections(sys.implant)[-1]["reason"] == "bad_command_id"


def test_command_id_older_than_the_pump_memory_is_rejected() -> None:
    sys = make_system()
    key = clinician_key(sys)
    # Command 1 applied, then enough later commands that the pump forgets command 1.
    assert sys.endpoint.receive(command_frame(key, "clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600}, counter=1))
    last = COMMAND_IDS_KEPT + 2
    for c in range(2, last):
        assert sys.endpoint.receive(command_frame(key, "read_clock", counter=c))
    before = pump_state(sys.implant)
    late_retry = command_frame(
        key, "clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600}, counter=last + 1, command_id=1
    )
    assert sys.endpoint.receive(late_retry) is not None
    assert pump_state(sys.implant) == before
    assert rejections(sys.implant)[-1]["reason"] == "command_id_expired"
    assert count(sys.implant, "bolus_started") == 1
    # Its command_applied entry is still in the log, so reconciliation still knows.
    sys.clinician.credentials.counter = last + 1  # the hand-made frames above used this device's counters
    rec = sys.clinician.reconcile(1)
    assert rec.status == "applied" and rec.log_entry is not None and rec.result is None


def test_retry_after_the_answer_is_forgotten_is_refused_not_reapplied() -> None:
    sys = make_system()
    key = clinician_key(sys)
    bolus = {"dose_mg": 0.5, "duration_s": 3600}
    assert sys.endpoint.receive(command_frame(key, "clinician_bolus", bolus, counter=1))
    for c in range(2, ANSWERS_KEPT + 3):
        assert sys.endpoint.receive(command_frame(key, "set_low_reservoir_alarm", {"low_reservoir_ml": 2.0}, counter=c))
    before = pump_state(sys.implant)
    answer = sys.endpoint.receive(command_frame(key, "clinician_bolus", bolus, counter=ANSWERS_KEPT + 5, command_id=1))
    assert answer is not None
    assert pump_state(sys.implant) == before
    assert rejections(sys.implant)[-1]["reason"] == "answer_forgotten"
    assert count(sys.implant, "bolus_started") == 1
    # The pump still knows it applied it.
    sys.clinician.credentials.counter = ANSWERS_KEPT + 5
    rec = sys.clinician.reconcile(1)
    assert rec.status == "applied" and rec.result is None and rec.command == "clinician_bolus"


def test_pump_refusal_reaches_the_caller_as_with_a_direct_link() -> None:
    sys = make_system()
    before = pump_state(sys.implant)
    with pytest.raises(SafetyRefusal) as err:
        sys.clinician.call("refill", {"fill_ml": 25.0, "withdraw_ml": None})  # 20 mL pump
    assert err.value.rule == "overfill"
    assert pump_state(sys.implant) == before
    with pytest.raises(InputError) as err2:
        sys.clinician.call("clinician_bolus", {"dose_mg": "lots"})
    assert err2.value.field == "clinician_bolus.args.dose_mg"


def test_a_refused_command_retried_is_refused_again_without_being_re_decided() -> None:
    sys = make_system()
    sys.radio.script(responses=["lose", "deliver"])
    with pytest.raises(SafetyRefusal):
        sys.clinician.call("refill", {"fill_ml": 25.0})
    assert sys.endpoint.stats["refused"] == 1
    assert sys.endpoint.stats["retry_answered_from_memory"] == 1


# ---- answers believed by the client ------------------------------------------------------------------------


class ForgingChannel:
    """Passes the command to the pump, but replaces the pump's answer with a forged one."""

    def __init__(self, endpoint: PumpEndpoint, forge: Any) -> None:
        self.endpoint = endpoint
        self.forge = forge
        self.sent: list[bytes] = []

    def transmit(self, frame: bytes) -> bytes | None:
        self.sent.append(frame)
        real = self.endpoint.receive(frame)
        return self.forge(frame, real)


def _forged_answer(key: bytes, frame: bytes, body: dict[str, Any]) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from itdd.telemetry.frames import parse_header

    h = parse_header(frame, max_ciphertext=10**6)
    return seal(
        AESGCM(key),
        Header(VERSION, RESPONSE, h.serial, h.role, h.device_id, h.counter, h.command_id, 0),
        canonical_json(body),
    )


def test_forged_response_is_not_believed_by_the_programmer() -> None:
    sys = make_system()
    attacker_key = PumpKeys.provision(SERIAL, seed=666).device_key(PATIENT, PTM_ID)
    fake = {"ok": True, "result": {"granted": False, "reason": "lockout", "message": "denied", "next_allowed_s": None}}
    chan = ForgingChannel(sys.endpoint, lambda frame, real: _forged_answer(attacker_key, frame, fake))
    from itdd.telemetry.client import PatientManagerLink

    ptm = PatientManagerLink(chan, sys.keys.issue(PATIENT, PTM_ID), max_attempts=3)
    res = ptm.request_bolus()
    assert res.certain is False and res.granted is None  # never believed the forged denial
    assert ptm.stats["answer_rejected:authentication_failed"] == 3
    assert count(sys.implant, "ptm_bolus_granted") == 1  # the real pump applied it once


def test_replayed_old_response_is_not_believed() -> None:
    sys = make_system()
    captured: list[bytes] = []

    def keep_first(frame: bytes, real: bytes | None) -> bytes | None:
        if real is not None and not captured:
            captured.append(real)
            return real
        return captured[0]  # every later answer is the first one, replayed

    chan = ForgingChannel(sys.endpoint, keep_first)
    from itdd.telemetry.client import ClinicianProgrammerLink

    link = ClinicianProgrammerLink(chan, sys.keys.issue(CLINICIAN, CLIN_ID), max_attempts=2)
    assert link.call("read_clock")["time_s"] == sys.implant.t_s
    with pytest.raises(DeliveryUncertain):
        link.call("program", PROGRAM_2MG)
    assert link.stats["answer_rejected:mismatched_response"] == 2


def test_answer_from_another_pump_is_not_believed() -> None:
    sys = make_system()
    other = PumpKeys.provision("OTHER", seed=0)

    def swap(frame: bytes, real: bytes | None) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from itdd.telemetry.frames import parse_header

        h = parse_header(frame, max_ciphertext=10**6)
        key = other.device_key(CLINICIAN, CLIN_ID)
        return seal(
            AESGCM(key), Header(VERSION, RESPONSE, "OTHER", h.role, h.device_id, h.counter, h.command_id, 0), b"{}"
        )

    from itdd.telemetry.client import ClinicianProgrammerLink

    link = ClinicianProgrammerLink(
        ForgingChannel(sys.endpoint, swap), sys.keys.issue(CLINICIAN, CLIN_ID), max_attempts=1
    )
    with pytest.raises(DeliveryUncertain):
        link.call("read_clock")
    assert link.stats["answer_rejected:wrong_pump"] == 1


# ---- uncertain delivery and reconciliation ---------------------------------------------------------------------


def test_no_answer_is_an_uncertain_outcome_with_a_clear_message() -> None:
    sys = make_system(distance_m=5.0)  # beyond the 3 m communicator range
    with pytest.raises(DeliveryUncertain) as err:
        sys.clinician.call("program", PROGRAM_2MG)
    msg = str(err.value)
    assert err.value.field == "telemetry"
    assert "may or may not have been applied" in msg and f"command id {err.value.command_id}" in msg
    assert sys.radio.stats["command_out_of_range"] == 4
    assert sys.implant.fw.therapy.dose_mg_per_day == 1.0


def test_reconcile_learns_a_command_was_applied_when_only_the_answers_were_lost() -> None:
    sys = make_system()
    sys.radio.script(responses=["lose"] * 4)
    with pytest.raises(DeliveryUncertain) as err:
        sys.clinician.call("program", PROGRAM_2MG)
    cid = err.value.command_id
    assert cid in sys.clinician.uncertain
    rec = sys.clinician.reconcile(cid)
    assert rec.status == "applied" and rec.applied is True
    assert rec.command == "program"
    assert rec.result is not None and rec.result["therapy"]["dose_mg_per_day"] == 2.0
    assert rec.log_entry is not None and rec.log_entry["command_id"] == cid
    assert cid not in sys.clinician.uncertain
    assert count(sys.implant, "therapy_programmed") == 1


def test_reconcile_learns_a_command_never_arrived_and_it_can_never_arrive_later() -> None:
    sys = make_system(capture=True)
    sys.radio.script(commands=["lose"] * 4)
    with pytest.raises(DeliveryUncertain) as err:
        sys.clinician.call("program", PROGRAM_2MG)
    lost_frames = [f for d, f in sys.radio.captured if d == "command"]
    rec = sys.clinician.reconcile(err.value.command_id)
    assert rec.status == "not_applied" and rec.applied is False
    # A lost frame that turns up late is now a replay.
    for f in lost_frames:
        assert sys.endpoint.receive(f) is None
    assert sys.implant.fw.therapy.dose_mg_per_day == 1.0


def test_reconcile_while_out_of_range_is_unreachable_then_works_in_range() -> None:
    sys = make_system()
    sys.radio.script(responses=["lose"] * 4)
    res = sys.patient.request_bolus()
    assert res.certain is False and res.granted is None
    sys.radio.move(10.0)
    assert sys.patient.reconcile(res.command_id).status == "unreachable"
    sys.radio.move(0.5)
    check = sys.patient.check_bolus(res.command_id)
    assert check.certain and check.granted is True
    assert count(sys.implant, "ptm_bolus_granted") == 1


def test_reconcile_only_sees_the_senders_own_commands() -> None:
    sys = make_system()
    out = sys.clinician.send("program", PROGRAM_2MG)
    assert out.status == "confirmed"
    # The patient's device asks about the same number: it is not one of its commands.
    assert sys.patient.reconcile(out.command_id).status == "not_applied"


def test_resending_an_uncertain_command_with_its_id_is_applied_at_most_once() -> None:
    sys = make_system()
    sys.radio.script(responses=["lose"] * 4)
    first = sys.clinician.send("clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600})
    assert first.status == "uncertain"
    again = sys.clinician.send("clinician_bolus", {"dose_mg": 0.5, "duration_s": 3600}, command_id=first.command_id)
    assert again.status == "confirmed"
    assert count(sys.implant, "bolus_started") == 1


def test_client_refuses_bad_arguments_before_sending() -> None:
    sys = make_system()
    for command, args in (("program", {"dose": float("nan")}), ("program", {"when": object()}), ("", {}), ("x", [1])):
        with pytest.raises(InputError):
            sys.clinician.call(command, args)  # type: ignore[arg-type]
    assert sys.radio.stats.total() == 0


def test_link_needs_credentials_of_its_role() -> None:
    sys = make_system()
    from itdd.telemetry.client import PatientManagerLink

    with pytest.raises(InputError, match=r"credentials\.role"):
        PatientManagerLink(sys.radio, sys.keys.issue(CLINICIAN, 1))
    with pytest.raises(InputError, match="max_attempts"):
        PatientManagerLink(sys.radio, sys.keys.issue(PATIENT, 1), max_attempts=0)


def test_endpoint_memory_survives_save_and_restore_as_json() -> None:
    import json

    sys = make_system()
    sys.radio.script(responses=["lose"] * 4)
    out = sys.patient.send("ptm_bolus")
    assert out.status == "uncertain"
    state = json.loads(json.dumps(sys.endpoint.state()))
    sys.endpoint = PumpEndpoint(sys.implant, sys.keys, state=state)
    sys.radio.endpoint = sys.endpoint
    res = sys.patient.check_bolus(out.command_id)
    assert res.certain and res.granted is True
    again = sys.patient.send("ptm_bolus", command_id=out.command_id)  # a retry after the restart
    assert again.status == "confirmed" and again.result is not None and again.result["granted"] is True
    assert count(sys.implant, "ptm_bolus_granted") == 1
    assert sys.endpoint.stats["retry_answered_from_memory"] == 1


def test_malformed_endpoint_state_is_refused() -> None:
    sys = make_system()
    with pytest.raises(InputError) as err:
        PumpEndpoint(sys.implant, sys.keys, state={"senders": [{"role": "clinician"}]})
    assert err.value.field == "telemetry_state"
