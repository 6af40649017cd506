"""The telemetry link of a virtual pump kept in a state file (``itdd programmer …``, ``itdd ptm …``).

The state file holds three parties, each with only what it would hold in the field:

* the **pump** (``telemetry``): its serial, its telemetry secret and its endpoint's memory (the
  last frame counter accepted from each device, the command ids it remembers);
* the **clinician programmer** (``programmer.device``): its device credentials — a clinician
  device key derived from the pump's secret, and its frame counter;
* the **patient therapy manager** (``ptm.device``): a patient device key and its counter.

Every command the CLI gives the pump is sealed in a frame with the device's key and passed to the
pump's :class:`~itdd.telemetry.endpoint.PumpEndpoint` over a perfect :class:`~itdd.telemetry.radio.Radio`
(in range, no loss): the pump authenticates it, rejects replays, checks the sender's role and
applies it.  Because the radio is perfect, a frame that gets no answer was rejected by the pump;
:class:`AirLink` then says why (from the pump's rejection counters) as a refusal, instead of
retrying.  Counters only move forward and are saved with the state file after each successful
command; a failed command saves nothing (the whole virtual world rolls back, frames included).
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..pump.implant import Implant
from ..telemetry.client import DeliveryUncertain, TelemetryLink
from ..telemetry.commands import CLINICIAN, PATIENT
from ..telemetry.endpoint import PumpEndpoint
from ..telemetry.keys import DeviceCredentials, PumpKeys
from ..telemetry.radio import Radio

PROGRAMMER = "programmer"
PTM = "ptm"
DEVICE_ROLES = {PROGRAMMER: CLINICIAN, PTM: PATIENT}
# Device ids the CLI issues (assumption: one programmer and one therapy manager per virtual pump).
DEVICE_IDS = {PROGRAMMER: 1, PTM: 1001}
# One frame per command: the radio is perfect, so no answer means the pump rejected the frame, and
# sending again with the next counter would only hide a replay (and reuse a nonce under the key).
FRAMES_PER_COMMAND = 1

WHY = {
    "authentication_failed": "the {device}'s key in the state file does not match the pump's keys "
    "(was the state file edited?)",
    "replay": "the {device}'s frame counter is not ahead of the last one the pump accepted from it "
    "(an old frame replayed, or the {device}'s record restored from an older copy)",
    "wrong_pump": "the {device} is paired with another pump",
}


class AirLink:
    """A :class:`~itdd.telemetry.commands.Link` over sealed frames to the virtual pump's endpoint."""

    def __init__(self, device: str, link: TelemetryLink, endpoint: PumpEndpoint) -> None:
        self.device = device
        self.link = link
        self.endpoint = endpoint

    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        before = Counter(self.endpoint.stats)
        try:
            return self.link.call(command, args)
        except DeliveryUncertain:
            rejected = [k.partition(":")[2] for k in self.endpoint.stats - before if k.startswith("rejected:")]
            reason = rejected[0] if rejected else "no_answer"
            why = WHY.get(reason, "it gave no answer").format(device=self.device.replace("ptm", "therapy manager"))
            raise InputError(
                "telemetry", f"the pump rejected the {command!r} frame ({reason}): {why}; nothing changed"
            ) from None

    @property
    def frames_sent(self) -> int:
        return int(self.link.stats["frames_sent"])


@dataclass
class PumpTelemetry:
    """The pump's keys and endpoint, and the devices' credentials, as kept in the state file."""

    keys: PumpKeys
    endpoint: PumpEndpoint
    devices: dict[str, DeviceCredentials]

    @classmethod
    def provision(cls, implant: Implant) -> PumpTelemetry:
        """At implant: a new serial and secret (from the OS's CSPRNG) and one device of each kind."""
        keys = PumpKeys.provision("SIM-" + secrets.token_hex(4).upper())
        devices = {name: keys.issue(DEVICE_ROLES[name], DEVICE_IDS[name]) for name in DEVICE_ROLES}
        return cls(keys, PumpEndpoint(implant, keys), devices)

    @classmethod
    def load(cls, implant: Implant, pump: Any, devices: dict[str, Any]) -> PumpTelemetry:
        if not isinstance(pump, dict):
            raise InputError("--state", "the state file's telemetry block is missing or damaged")
        try:
            keys = PumpKeys(str(pump["serial"]), bytes.fromhex(str(pump["secret"])))
        except (KeyError, ValueError) as exc:
            raise InputError("--state", f"the pump's telemetry keys in the state file are damaged ({exc})") from None
        endpoint = PumpEndpoint(implant, keys, state=pump.get("endpoint"))
        creds: dict[str, DeviceCredentials] = {}
        for name, data in devices.items():
            if not isinstance(data, dict):
                raise InputError("--state", f"the {name}'s device credentials in the state file are missing")
            creds[name] = DeviceCredentials.from_dict(data)
        return cls(keys, endpoint, creds)

    def pump_state(self) -> dict[str, Any]:
        return {"serial": self.keys.serial, "secret": self.keys.secret_hex(), "endpoint": self.endpoint.state()}

    def link(self, device: str) -> AirLink:
        """The link of ``device`` (``programmer`` or ``ptm``) to this pump, with the role its key was issued for."""
        creds = self.devices[device]
        radio = Radio(self.endpoint)  # in range, no loss, no corruption
        return AirLink(device, TelemetryLink(radio, creds, max_attempts=FRAMES_PER_COMMAND), self.endpoint)


__all__ = ["DEVICE_IDS", "DEVICE_ROLES", "PROGRAMMER", "PTM", "AirLink", "PumpTelemetry"]
