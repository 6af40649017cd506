"""Telemetry keys: one secret per pump, provisioned at implant; HKDF-derived keys per role and device.

Key hierarchy (every step is HKDF-SHA256 from the ``cryptography`` package, 32-byte outputs)::

    pump secret (32 random bytes, provisioned at implant, kept by the pump and the key issuer)
      └─ role key      = HKDF(pump secret, info = "itdd/v1/role/<role>/<serial>")
           └─ device key = HKDF(role key, info = "itdd/v1/device/<device id>")   <- AES-256-GCM key

A clinician programmer or a patient therapy manager holds only its own *device key* (in
:class:`DeviceCredentials`), never the pump secret nor a role key.  The patient's device key is
derived under the ``patient`` role, so it can never produce a frame that authenticates as a
clinician, and one device cannot speak for another.  The pump keeps the secret and derives any
device key on demand.

Keys made here are simulation keys: ``PumpKeys.provision(serial)`` draws the secret from the
operating system's CSPRNG; ``PumpKeys.provision(serial, seed=...)`` makes a reproducible secret
for simulations and tests (never for anything real).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import InputError
from .commands import ROLES

SECRET_BYTES = 32  # AES-256 / HKDF-SHA256 output size (assumption: 256-bit keys throughout)
KEY_BYTES = 32
HKDF_SALT = b"itdd-telemetry-v1"  # domain separation for this protocol version (assumption)
SERIAL_MAX_CHARS = 16  # the header's serial field is 16 bytes (see frames.py)
DEVICE_ID_MAX = 2**32 - 1  # the header's device-id field is an unsigned 32-bit integer
COUNTER_MAX = 2**64 - 1  # the header's counter field is an unsigned 64-bit integer

_SERIAL_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


def check_serial(serial: str) -> str:
    if not isinstance(serial, str) or not _SERIAL_RE.match(serial):
        raise InputError(
            "serial",
            f"pump serial {serial!r} must be 1 to {SERIAL_MAX_CHARS} characters from A-Z, a-z, 0-9, '-' and '_'",
        )
    return serial


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError("role", f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return role


def check_device_id(device_id: int) -> int:
    if isinstance(device_id, bool) or not isinstance(device_id, int) or not 0 <= device_id <= DEVICE_ID_MAX:
        raise InputError("device_id", f"device id {device_id!r} must be an integer from 0 to {DEVICE_ID_MAX}")
    return device_id


def _hkdf(key_material: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=HKDF_SALT, info=info.encode("ascii")).derive(
        key_material
    )


def derive_role_key(secret: bytes, serial: str, role: str) -> bytes:
    return _hkdf(secret, f"itdd/v1/role/{check_role(role)}/{check_serial(serial)}")


def derive_device_key(role_key: bytes, device_id: int) -> bytes:
    return _hkdf(role_key, f"itdd/v1/device/{check_device_id(device_id)}")


@dataclass
class DeviceCredentials:
    """What one programmer or therapy manager holds for one pump: its key and its frame counter.

    ``counter`` is the last frame counter this device used with this pump.  It must only grow
    (the pump rejects a counter it has already seen as a replay), so a caller that keeps the
    credentials between sessions must save them after use (:meth:`to_dict`).
    """

    serial: str
    role: str
    device_id: int
    key: bytes = field(repr=False)
    counter: int = 0

    def __post_init__(self) -> None:
        check_serial(self.serial)
        check_role(self.role)
        check_device_id(self.device_id)
        if not isinstance(self.key, bytes) or len(self.key) != KEY_BYTES:
            raise InputError("key", f"a device key is {KEY_BYTES} bytes")
        if isinstance(self.counter, bool) or not isinstance(self.counter, int) or not 0 <= self.counter < COUNTER_MAX:
            raise InputError("counter", f"frame counter {self.counter!r} must be an integer from 0 to {COUNTER_MAX}")

    def next_counter(self) -> int:
        if self.counter >= COUNTER_MAX:
            raise InputError("counter", "this device's frame counter is exhausted; provision a new device key")
        self.counter += 1
        return self.counter

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "role": self.role,
            "device_id": self.device_id,
            "key": self.key.hex(),
            "counter": self.counter,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeviceCredentials:
        try:
            key = bytes.fromhex(str(d["key"]))
            return cls(str(d["serial"]), str(d["role"]), d["device_id"], key, d.get("counter", 0))
        except (KeyError, ValueError) as exc:
            raise InputError("credentials", f"malformed device credentials ({exc})") from None


class PumpKeys:
    """The pump's telemetry secret and its serial number, provisioned at implant."""

    __slots__ = ("_device_keys", "_role_keys", "_secret", "serial")

    def __init__(self, serial: str, secret: bytes) -> None:
        self.serial = check_serial(serial)
        if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
            raise InputError("secret", f"a pump telemetry secret is {SECRET_BYTES} bytes")
        self._secret = secret
        self._role_keys = {role: derive_role_key(secret, serial, role) for role in ROLES}
        self._device_keys: dict[tuple[str, int], bytes] = {}

    def __repr__(self) -> str:
        return f"PumpKeys(serial={self.serial!r}, secret=<hidden>)"

    @classmethod
    def provision(cls, serial: str, *, seed: int | str | None = None) -> PumpKeys:
        """New keys for a pump at implant: a random secret, or a reproducible one from ``seed``."""
        if seed is None:
            secret = os.urandom(SECRET_BYTES)
        else:
            secret = hashlib.sha256(f"itdd-simulation-pump-secret/{check_serial(serial)}/{seed}".encode()).digest()
        return cls(serial, secret)

    def role_key(self, role: str) -> bytes:
        return self._role_keys[check_role(role)]

    def device_key(self, role: str, device_id: int) -> bytes:
        k = (role, device_id)
        key = self._device_keys.get(k)
        if key is None:
            key = derive_device_key(self.role_key(role), device_id)
            if len(self._device_keys) < 4096:  # a bounded memo (assumption); derivation is cheap anyway
                self._device_keys[k] = key
        return key

    def issue(self, role: str, device_id: int, *, counter: int = 0) -> DeviceCredentials:
        """Credentials for one programmer (``role="clinician"``) or therapy manager (``"patient"``)."""
        return DeviceCredentials(self.serial, role, device_id, self.device_key(role, device_id), counter)

    def secret_hex(self) -> str:
        """The secret, for a key store that must keep it (the simulated pump's non-volatile memory)."""
        return self._secret.hex()
