"""Frame layout, key derivation and payload encoding, checked against independent oracles."""

from __future__ import annotations

import hashlib
import hmac
import struct
import zlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from itdd.errors import InputError
from itdd.telemetry import CLINICIAN, PATIENT, PumpKeys
from itdd.telemetry.frames import (
    COMMAND,
    RESPONSE,
    VERSION,
    FrameError,
    Header,
    canonical_json,
    parse_header,
    parse_json,
    seal,
)
from itdd.telemetry.keys import DeviceCredentials

# ---- an independent HKDF (RFC 5869) -------------------------------------------------------------------


def rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def test_hkdf_oracle_matches_rfc5869_test_case_1() -> None:
    okm = rfc5869(bytes([0x0B] * 22), bytes(range(13)), bytes(range(0xF0, 0xFA)), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")


def test_device_keys_follow_the_documented_hkdf_hierarchy() -> None:
    secret = bytes(range(32))
    keys = PumpKeys("NGP42", secret)
    salt = b"itdd-telemetry-v1"
    role_key = rfc5869(secret, salt, b"itdd/v1/role/patient/NGP42", 32)
    assert keys.role_key(PATIENT) == role_key
    assert keys.device_key(PATIENT, 1001) == rfc5869(role_key, salt, b"itdd/v1/device/1001", 32)


def test_roles_devices_and_pumps_get_distinct_keys() -> None:
    a = PumpKeys.provision("PUMPA", seed=1)
    b = PumpKeys.provision("PUMPB", seed=1)
    ks = {
        a.device_key(CLINICIAN, 1),
        a.device_key(PATIENT, 1),
        a.device_key(CLINICIAN, 2),
        b.device_key(CLINICIAN, 1),
        a.role_key(CLINICIAN),
        a.role_key(PATIENT),
    }
    assert len(ks) == 6
    assert all(len(k) == 32 for k in ks)


def test_seeded_provisioning_is_reproducible_and_random_provisioning_is_not() -> None:
    assert PumpKeys.provision("X1", seed=5).secret_hex() == PumpKeys.provision("X1", seed=5).secret_hex()
    assert PumpKeys.provision("X1").secret_hex() != PumpKeys.provision("X1").secret_hex()


def test_keys_are_not_printed() -> None:
    keys = PumpKeys.provision("X1", seed=5)
    assert keys.secret_hex() not in repr(keys)
    creds = keys.issue(PATIENT, 3)
    assert creds.key.hex() not in repr(creds)


@pytest.mark.parametrize(
    ("serial", "ok"), [("NGP1", True), ("A" * 16, True), ("A" * 17, False), ("", False), ("NGP 1", False), ("é", False)]
)
def test_serial_validation(serial: str, ok: bool) -> None:
    if ok:
        PumpKeys.provision(serial, seed=1)
    else:
        with pytest.raises(InputError) as err:
            PumpKeys.provision(serial, seed=1)
        assert err.value.field == "serial"


def test_bad_role_device_id_and_counter_are_refused() -> None:
    keys = PumpKeys.provision("X1", seed=1)
    with pytest.raises(InputError, match="role"):
        keys.issue("nurse", 1)
    with pytest.raises(InputError, match="device_id"):
        keys.issue(PATIENT, 2**32)
    with pytest.raises(InputError, match="device_id"):
        keys.issue(PATIENT, -1)
    with pytest.raises(InputError, match="counter"):
        keys.issue(PATIENT, 1, counter=-1)


def test_credentials_round_trip_and_counter_only_grows() -> None:
    creds = PumpKeys.provision("X1", seed=1).issue(CLINICIAN, 9)
    assert [creds.next_counter() for _ in range(3)] == [1, 2, 3]
    again = DeviceCredentials.from_dict(creds.to_dict())
    assert again == creds
    assert again.next_counter() == 4


# ---- layout -------------------------------------------------------------------------------------------


def test_crc_is_the_standard_crc32() -> None:
    # The CRC-32 (IEEE 802.3) check value of "123456789" is 0xCBF43926.
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_command_frame_layout_byte_by_byte() -> None:
    key = bytes(range(32))
    header = Header(VERSION, COMMAND, "NGP42", PATIENT, 0x01020304, 0x1122334455667788, 0x1122334455667780, 0)
    payload = b'{"args":{},"command":"ptm_bolus"}'
    frame = seal(AESGCM(key), header, payload)
    n = len(payload) + 16
    assert len(frame) == 45 + n + 4
    assert frame[0:2] == b"IT"
    assert frame[2] == 1 and frame[3] == 1
    assert frame[4:20] == b"NGP42" + b"\0" * 11
    assert frame[20] == 2  # patient
    assert frame[21:25] == bytes([1, 2, 3, 4])
    assert frame[25:33] == bytes.fromhex("1122334455667788")
    assert frame[33:41] == bytes.fromhex("1122334455667780")
    assert struct.unpack(">I", frame[41:45])[0] == n
    assert int.from_bytes(frame[-4:], "big") == zlib.crc32(frame[:-4])
    # Decrypt by hand: nonce = type | 000000 | counter, associated data = the 45-byte header.
    nonce = bytes([1, 0, 0, 0]) + bytes.fromhex("1122334455667788")
    assert AESGCM(key).decrypt(nonce, frame[45:-4], frame[:45]) == payload
    assert payload not in frame  # the payload is encrypted, not only signed


def test_response_nonce_differs_from_command_nonce() -> None:
    key = bytes(32)
    cmd = seal(AESGCM(key), Header(VERSION, COMMAND, "P", CLINICIAN, 1, 5, 5, 0), b"{}")
    rsp = seal(AESGCM(key), Header(VERSION, RESPONSE, "P", CLINICIAN, 1, 5, 5, 0), b"{}")
    assert cmd[45:-4] != rsp[45:-4]
    assert AESGCM(key).decrypt(bytes([2, 0, 0, 0]) + (5).to_bytes(8, "big"), rsp[45:-4], rsp[:45]) == b"{}"


def test_parse_header_reads_back_what_was_sealed() -> None:
    h = Header(VERSION, RESPONSE, "ABC-9", CLINICIAN, 77, 12, 10, 0)
    frame = seal(AESGCM(bytes(32)), h, b'{"ok":true}')
    back = parse_header(frame, max_ciphertext=1000)
    assert (back.serial, back.role, back.device_id, back.counter, back.command_id, back.length) == (
        "ABC-9",
        CLINICIAN,
        77,
        12,
        10,
        11 + 16,
    )


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda f: f[:10], "truncated"),
        (lambda f: f[:-1], "truncated"),
        (lambda f: f + b"\0", "length_mismatch"),
        (lambda f: b"XX" + f[2:], "bad_magic"),
        (lambda f: f[:-4] + bytes(4), "crc_mismatch"),
    ],
)
def test_structural_errors_have_their_reason(mutate, reason) -> None:  # type: ignore[no-untyped-def]
    frame = seal(AESGCM(bytes(32)), Header(VERSION, COMMAND, "P", CLINICIAN, 1, 1, 1, 0), b"{}")
    with pytest.raises(FrameError) as err:
        parse_header(mutate(frame), max_ciphertext=1000)
    assert err.value.reason == reason


# ---- canonical JSON -----------------------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_ascii() -> None:
    assert canonical_json({"b": [1, 2.5, (3,)], "a": {"y": None, "x": "µ"}}) == (
        b'{"a":{"x":"\\u00b5","y":null},"b":[1,2.5,[3]]}'
    )


def test_canonical_json_refuses_what_json_cannot_hold_in_commands() -> None:
    with pytest.raises(ValueError):
        canonical_json({"dose_mg": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"when": object()})
    with pytest.raises(TypeError):
        canonical_json({1: "a"})
    # An answer must always be sendable: lenient mode turns them into null / text.
    assert canonical_json({"x": float("inf"), "y": {1, 2} and "s"}, lenient=True) == b'{"x":null,"y":"s"}'


@pytest.mark.parametrize("text", [b"NaN", b'{"a":Infinity}', b"1e400", b'{"a":1,"a":2}', b"\xff", b"[" * 100000])
def test_strict_json_parser_refuses(text: bytes) -> None:
    with pytest.raises(FrameError) as err:
        parse_json(text)
    assert err.value.reason == "malformed_payload"
