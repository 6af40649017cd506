"""Telemetry byte frames: layout, canonical JSON payloads, CRC-32 and AES-256-GCM authentication.

One frame (all integers big-endian)::

    offset  size  field
    0       2     magic "IT"
    2       1     protocol version (1)
    3       1     frame type: 1 = command (device -> pump), 2 = response (pump -> device)
    4       16    pump serial, ASCII, NUL-padded
    20      1     role: 1 = clinician, 2 = patient (the sender's for a command, the addressee's for a response)
    21      4     device id (the programmer or therapy manager talking to the pump)
    25      8     frame counter: strictly increasing per device; a response repeats its command's counter
    33      8     command id: the counter of the first frame that carried this command (kept on retries)
    41      4     ciphertext length n (payload + 16-byte GCM tag)
    45      n     AES-256-GCM ciphertext of the payload, associated data = bytes 0..44 (the header)
    45+n    4     CRC-32 (zlib/IEEE 802.3) of bytes 0..45+n-1

The GCM nonce (12 bytes) is ``frame type (1) | 0x000000 (3) | counter (8)``: the key is per device
and the counter never repeats for a device, and a response uses the other frame type, so no nonce
is ever used twice with one key.  The CRC only detects radio bit errors (so that a noisy link is
told apart from an attack in the pump's log); all security comes from GCM.

Payloads are canonical JSON (sorted keys, no spaces, ASCII, no NaN/Infinity): a command is
``{"command": name, "args": {...}}``; a response is ``{"ok": true, "result": {...}}`` or
``{"ok": false, "error": {"type", "field", "message", "rule", "reason"}}``.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .commands import CLINICIAN, PATIENT

MAGIC = b"IT"
VERSION = 1
COMMAND = 1
RESPONSE = 2
FRAME_TYPES = (COMMAND, RESPONSE)
ROLE_CODES: dict[str, int] = {CLINICIAN: 1, PATIENT: 2}
CODE_ROLES: dict[int, str] = {v: k for k, v in ROLE_CODES.items()}
SERIAL_BYTES = 16

HEADER = struct.Struct(">2sBB16sBIQQI")
HEADER_LEN = HEADER.size  # 45
TAG_LEN = 16  # AES-GCM authentication tag
CRC_LEN = 4
MIN_FRAME_LEN = HEADER_LEN + TAG_LEN + CRC_LEN  # an empty payload still carries its tag

# Size limits (assumption: generous for a simulation; a command is a few hundred bytes, a full
# log read of 2000 entries is a few hundred kB).
MAX_COMMAND_CIPHERTEXT = 64 * 1024
MAX_RESPONSE_CIPHERTEXT = 16 * 1024 * 1024

# Why a frame was rejected (the ``reason`` of a ``telemetry_rejected`` log entry).
REJECT_REASONS: dict[str, str] = {
    "truncated": "the frame is shorter than its header and length field say",
    "length_mismatch": "the frame has bytes after its CRC",
    "bad_magic": "the frame does not start with the itdd marker",
    "crc_mismatch": "the CRC-32 does not match (a radio bit error or tampering)",
    "unsupported_version": "unknown protocol version",
    "bad_frame_type": "unexpected frame type (a pump accepts only commands, a device only responses)",
    "wrong_pump": "the frame is addressed to another pump serial",
    "unknown_role": "unknown role code",
    "payload_too_large": "the ciphertext is longer than allowed",
    "authentication_failed": "the AES-GCM tag does not verify: forged, tampered or wrong key",
    "replay": "the frame counter is not newer than the last one accepted from this device",
    "malformed_payload": "the authenticated payload is not a well-formed command",
    "unknown_command": "the command is not in the command set",
    "role_not_allowed": "the sender's role may not send this command",
    "bad_command_id": "the command id is newer than the frame counter",
    "command_id_reuse": "this command id was already used for a different command",
    "command_id_expired": "this command id is older than the pump's memory of applied commands",
    "answer_forgotten": "this command was already applied (or refused); its answer is no longer kept",
    "mismatched_response": "the response does not answer the command that was sent",
}


class FrameError(Exception):
    """A frame that must be rejected; ``reason`` is a key of :data:`REJECT_REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail or REJECT_REASONS.get(reason, '')}")
        self.reason = reason
        self.detail = detail or REJECT_REASONS.get(reason, "")


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    frame_type: int
    serial: str
    role: str
    device_id: int
    counter: int
    command_id: int
    length: int

    def pack(self) -> bytes:
        return HEADER.pack(
            MAGIC,
            self.version,
            self.frame_type,
            self.serial.encode("ascii").ljust(SERIAL_BYTES, b"\0"),
            ROLE_CODES[self.role],
            self.device_id,
            self.counter,
            self.command_id,
            self.length,
        )


# ---- canonical JSON -----------------------------------------------------------------------------


def _plain(obj: Any, lenient: bool) -> Any:
    """JSON-able copy; tuples become lists.

    Strict (a command's arguments): a non-finite number is a ValueError, anything else JSON cannot
    hold a TypeError.  Lenient (the pump's answers, which must always be sendable): a non-finite
    number becomes null (JSON has no infinity) and anything else its ``str()``.
    """
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        if lenient:
            return None
        raise ValueError(f"{obj} is not a finite number")
    if isinstance(obj, dict):
        if not lenient and not all(isinstance(k, str) for k in obj):
            raise TypeError("object keys must be strings")
        return {str(k): _plain(v, lenient) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v, lenient) for v in obj]
    if lenient:
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON")


def canonical_json(obj: Any, *, lenient: bool = False) -> bytes:
    """Sorted keys, no whitespace, ASCII only, no NaN/Infinity."""
    return json.dumps(
        _plain(obj, lenient), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"number {text} is out of range")
    return x


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def parse_json(data: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no overflowing numbers, no duplicate keys."""
    try:
        return json.loads(
            data.decode("utf-8"),
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError("malformed_payload", f"payload is not valid JSON ({type(exc).__name__})") from None


# ---- sealing and opening ------------------------------------------------------------------------


def nonce(frame_type: int, counter: int) -> bytes:
    return bytes([frame_type, 0, 0, 0]) + counter.to_bytes(8, "big")


def seal(aead: AESGCM, header: Header, payload: bytes) -> bytes:
    """Encrypt and authenticate ``payload`` under ``header``; append the CRC-32."""
    h = Header(
        header.version,
        header.frame_type,
        header.serial,
        header.role,
        header.device_id,
        header.counter,
        header.command_id,
        len(payload) + TAG_LEN,
    )
    head = h.pack()
    body = head + aead.encrypt(nonce(h.frame_type, h.counter), payload, head)
    return body + zlib.crc32(body).to_bytes(CRC_LEN, "big")


def parse_header(frame: bytes, *, max_ciphertext: int) -> Header:
    """Check the frame's structure and CRC; return its header (not yet authenticated)."""
    n_frame = len(frame)
    if n_frame < MIN_FRAME_LEN:
        raise FrameError("truncated", f"{n_frame} bytes, fewer than the minimum {MIN_FRAME_LEN}")
    magic, version, ftype, serial_raw, role_code, device_id, counter, command_id, length = HEADER.unpack_from(frame)
    if magic != MAGIC:
        raise FrameError("bad_magic")
    expected = HEADER_LEN + length + CRC_LEN
    if n_frame < expected:
        raise FrameError("truncated", f"{n_frame} bytes, the header announces {expected}")
    if n_frame > expected:
        raise FrameError("length_mismatch", f"{n_frame} bytes, the header announces {expected}")
    if zlib.crc32(frame[:-CRC_LEN]) != int.from_bytes(frame[-CRC_LEN:], "big"):
        raise FrameError("crc_mismatch")
    if version != VERSION:
        raise FrameError("unsupported_version", f"version {version}, this pump speaks {VERSION}")
    if ftype not in FRAME_TYPES:
        raise FrameError("bad_frame_type", f"frame type {ftype}")
    if length < TAG_LEN:
        raise FrameError("truncated", "the ciphertext is shorter than its tag")
    if length > max_ciphertext:
        raise FrameError("payload_too_large", f"{length} bytes, the limit is {max_ciphertext}")
    role = CODE_ROLES.get(role_code)
    if role is None:
        raise FrameError("unknown_role", f"role code {role_code}")
    serial = serial_raw.rstrip(b"\0")
    try:
        serial_text = serial.decode("ascii")
    except UnicodeDecodeError:
        serial_text = serial.hex()
    return Header(version, ftype, serial_text, role, device_id, counter, command_id, length)


def open_payload(aead: AESGCM, header: Header, frame: bytes) -> bytes:
    """Verify the GCM tag over header and ciphertext and decrypt; FrameError if it fails."""
    try:
        return aead.decrypt(nonce(header.frame_type, header.counter), frame[HEADER_LEN:-CRC_LEN], frame[:HEADER_LEN])
    except InvalidTag:
        raise FrameError("authentication_failed") from None
