"""Builders shared by the telemetry tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from itdd.pump import persist
from itdd.pump.firmware import PtmSettings
from itdd.pump.implant import Implant
from itdd.telemetry import CLINICIAN, PATIENT, PumpEndpoint, PumpKeys, Radio
from itdd.telemetry.client import ClinicianProgrammerLink, PatientManagerLink
from itdd.telemetry.frames import COMMAND, VERSION, Header, canonical_json, seal
from tests.helpers import make_implant

SERIAL = "NGP0001234"
CLIN_ID = 7
PTM_ID = 1001
PTM = PtmSettings(dose_mg=0.1, duration_s=600.0, lockout_s=3600.0, max_per_day=4)


@dataclass
class System:
    implant: Implant
    keys: PumpKeys
    endpoint: PumpEndpoint
    radio: Radio
    clinician: ClinicianProgrammerLink
    patient: PatientManagerLink


def make_system(*, seed: int = 0, max_attempts: int = 4, implant: Implant | None = None, **radio_kw: Any) -> System:
    imp = implant if implant is not None else make_implant(ptm=PTM)
    keys = PumpKeys.provision(SERIAL, seed=seed)
    endpoint = PumpEndpoint(imp, keys)
    radio = Radio(endpoint, seed=seed, **radio_kw)
    clinician = ClinicianProgrammerLink(radio, keys.issue(CLINICIAN, CLIN_ID), max_attempts=max_attempts)
    patient = PatientManagerLink(radio, keys.issue(PATIENT, PTM_ID), max_attempts=max_attempts)
    return System(imp, keys, endpoint, radio, clinician, patient)


def command_frame(
    key: bytes,
    command: str,
    args: dict[str, Any] | None = None,
    *,
    counter: int,
    command_id: int | None = None,
    role: str = CLINICIAN,
    device_id: int = CLIN_ID,
    serial: str = SERIAL,
) -> bytes:
    """A command frame built by hand (an attacker's or a test's), sealed with ``key``."""
    header = Header(
        VERSION, COMMAND, serial, role, device_id, counter, counter if command_id is None else command_id, 0
    )
    return seal(AESGCM(key), header, canonical_json({"command": command, "args": args or {}}))


def pump_state(imp: Implant) -> dict[str, Any]:
    """The implant's persisted state without the telemetry_rejected log entries (and their sequence numbers)."""
    d = copy.deepcopy(persist.dump(imp, include_history=False))
    log = d["log"]
    log["device"] = [e[1:] for e in log["device"] if e[2] != "telemetry_rejected"]
    log["counters"].pop("telemetry_rejected", None)
    del log["seq"]
    return d


def therapy_state(imp: Implant) -> dict[str, Any]:
    """State without any telemetry bookkeeping (telemetry_rejected and command_applied entries, sequence numbers)."""
    d = pump_state(imp)
    log = d["log"]
    log["device"] = [e for e in log["device"] if e[1] != "command_applied"]
    log["counters"].pop("command_applied", None)
    return d


def count(imp: Implant, event: str) -> int:
    return sum(1 for e in imp.log.history if e.type == event)
