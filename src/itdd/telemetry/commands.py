"""The implant's command set: what a programmer or a patient therapy manager may ask of the pump.

This is the contract between the programmers (``itdd.programmer``) and the pump: every command
has a name, the role allowed to send it, and a handler that applies it to an
:class:`~itdd.pump.implant.Implant` *at the implant's current instant*.  On the wire, arguments
and results are JSON objects with units in the key names (``dose_mg``, ``duration_s``,
``volume_ml``).  :func:`execute` decodes the arguments once into the command's typed record
(:mod:`~itdd.telemetry.messages`); each handler takes that record and returns its answer's wire form.

The telemetry layer wraps these in authenticated frames; :class:`DirectLink` calls them with no
radio at all (tests, the simulator).  Both present the same ``call(command, args)`` method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import InputError
from ..pump.implant import Implant
from ..pump.limits import check_ptm
from ..pump.status import FirmwareStatus
from ..timeunits import SECONDS_PER_DAY_INT
from .messages import (
    ClinicianBolusArgs,
    NoArgs,
    PrimingBolusArgs,
    ProgramArgs,
    RefillArgs,
    SetClockArgs,
    SetLowReservoirArgs,
    SetPtmArgs,
    SinceSeq,
    decode_args,
)
from .messages import ptm_from_args as ptm_from_args  # re-exported: the programmer decodes replies with them
from .messages import therapy_from_args as therapy_from_args
from .messages import therapy_wire as therapy_to_args  # the name the callers know

CLINICIAN = "clinician"
PATIENT = "patient"
ROLES = (CLINICIAN, PATIENT)


class Link(Protocol):
    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]: ...


def _log_entries(implant: Implant, since_seq: int) -> list[dict[str, Any]]:
    return [e.to_wire() for e in implant.log.since(since_seq)]


# ---- handlers: (implant, decoded arguments) -> the answer's wire form -------------------------------


def _interrogate(imp: Implant, a: SinceSeq) -> dict[str, Any]:
    return _full_status(imp, imp.interrogate(), a.since_seq)


def _read_status(imp: Implant, a: SinceSeq) -> dict[str, Any]:
    """The interrogation's answer without its side effects (no log entry, no stall recovery)."""
    return _full_status(imp, imp.fw.status(imp.t_s), a.since_seq)


def _full_status(imp: Implant, status: FirmwareStatus, since_seq: int) -> dict[str, Any]:
    """The status answer's wire form: the firmware's status, the log since ``since_seq``, the model."""
    out = status.to_dict()
    out["log"] = _log_entries(imp, since_seq)
    out["log_last_seq"] = imp.log.last_seq
    out["log_counters"] = dict(imp.log.counters)
    out["battery_to_eri"] = imp.hw.battery_to_eri  # the firmware measures its battery
    out["model"] = imp.model.model_id
    out["fluid_path_volume_ml"] = imp.hw.path_volume_ml
    out["catheter_volume_ml"] = imp.hw.catheter_volume_ml
    out["time_s"] = imp.t_s
    out["utc_offset_s"] = imp.fw.offset_s
    return out


def _program(imp: Implant, a: ProgramArgs) -> dict[str, Any]:
    # Every argument was read (decoded) before anything changes, so a malformed one leaves the pump
    # untouched.  Optional, for the clinician programmer: new PTM settings in the same atomic
    # command, and details (programming record id, soft-limit confirmations) for the log entry.
    details = dict(a.details)
    if a.ptm_given:
        details["ptm"] = a.ptm.to_dict() if a.ptm else None
    if a.low_reservoir_ml is not None:
        details["low_reservoir_ml"] = a.low_reservoir_ml
    # The pump's own range checks, before anything changes (the programming is atomic).
    if a.low_reservoir_ml is not None:
        imp.fw.check_low_reservoir_alarm(a.low_reservoir_ml, field="low_reservoir_ml")
    if a.ptm_given:
        check_ptm(a.ptm)
    imp.program(a.therapy, source=a.source, details=details or None)
    if a.low_reservoir_ml is not None:
        imp.fw.set_low_reservoir_alarm(imp.t_s, a.low_reservoir_ml)
    if a.ptm_given:
        imp.set_ptm(a.ptm)
    return {"therapy": imp.fw.therapy.to_dict(), "state": imp.state}


def _read_therapy(imp: Implant, a: NoArgs) -> dict[str, Any]:
    return {
        "therapy": therapy_to_args(imp.fw.therapy),
        "drug": imp.fw.drug,
        "concentration_mg_per_ml": imp.fw.conc_mg_per_ml,
        "low_reservoir_ml": imp.fw.low_reservoir_ml,
        "ptm": imp.fw.ptm.to_dict() if imp.fw.ptm else None,
    }


def _refill(imp: Implant, a: RefillArgs) -> dict[str, Any]:
    res = imp.refill(
        withdraw_ml=a.withdraw_ml,
        fill_ml=a.fill_ml,
        drug=a.drug or imp.fw.drug,
        conc_mg_per_ml=imp.fw.conc_mg_per_ml if a.conc_mg_per_ml is None else a.conc_mg_per_ml,
        reservoir_ml_entered=a.reservoir_ml,
        bridge_bolus=a.bridge_bolus,
    )
    return {"time_s": res.time_s, **res.to_dict()}


def _clinician_bolus(imp: Implant, a: ClinicianBolusArgs) -> dict[str, Any]:
    imp.clinician_bolus(a.dose_mg, a.duration_s)
    return {"state": imp.state}


def _priming_bolus(imp: Implant, a: PrimingBolusArgs) -> dict[str, Any]:
    vol = imp.priming_bolus(a.volume_ml, a.rate_ml_per_day)
    return {"volume_ml": vol, "state": imp.state}


def _set_ptm(imp: Implant, a: SetPtmArgs) -> dict[str, Any]:
    imp.set_ptm(a.ptm)
    return {"ptm": imp.fw.ptm.to_dict() if imp.fw.ptm else None}


def _set_low_reservoir(imp: Implant, a: SetLowReservoirArgs) -> dict[str, Any]:
    imp.fw.set_low_reservoir_alarm(imp.t_s, a.low_reservoir_ml)
    return {"low_reservoir_ml": imp.fw.low_reservoir_ml}


def _set_clock(imp: Implant, a: SetClockArgs) -> dict[str, Any]:
    imp.fw.set_clock(imp.t_s, a.pump_time_s)
    return {"pump_time_s": imp.fw.pump_time_s(imp.t_s)}


def _read_clock(imp: Implant, a: NoArgs) -> dict[str, Any]:
    return {"pump_time_s": imp.fw.pump_time_s(imp.t_s), "time_s": imp.t_s}


def _stop(imp: Implant, a: NoArgs) -> dict[str, Any]:
    imp.stop()
    return {"state": imp.state}


def _resume(imp: Implant, a: NoArgs) -> dict[str, Any]:
    imp.resume()
    return {"state": imp.state}


def _read_log(imp: Implant, a: SinceSeq) -> dict[str, Any]:
    return {
        "log": _log_entries(imp, a.since_seq),
        "counters": dict(imp.log.counters),
        "last_seq": imp.log.last_seq,
    }


def _ptm_bolus(imp: Implant, a: NoArgs) -> dict[str, Any]:
    return imp.ptm_request().to_dict()


def _ptm_status(imp: Implant, a: NoArgs) -> dict[str, Any]:
    """The limited status a patient may see: no therapy details, no log.  Reading it is the
    myPTM's interrogation: it releases a stall that waits for one (Implant.ptm_connect)."""
    imp.ptm_connect()
    fw = imp.fw
    ptm = fw.ptm
    grants = [g for g in fw.ptm_grants if g > imp.t_s - SECONDS_PER_DAY_INT]
    last = grants[-1] if grants else None
    next_allowed = None
    if ptm is not None and last is not None:
        next_allowed = last + ptm.lockout_s
        if len(grants) >= ptm.max_per_day:
            next_allowed = max(next_allowed, grants[len(grants) - ptm.max_per_day] + SECONDS_PER_DAY_INT)
    return {
        "state": fw.state,
        "reservoir_estimate_ml": fw.estimate_ml,
        "alarms": [{"type": al.type, "severity": al.severity} for al in fw.alarms.values()],
        "ptm_enabled": bool(ptm and ptm.enabled),
        "boluses_left_24h": None if ptm is None else max(ptm.max_per_day - len(grants), 0),
        "next_allowed_s": next_allowed if next_allowed is not None and next_allowed > imp.t_s else None,
        "last_grant_s": last,
        "time_s": imp.t_s,
    }


@dataclass(frozen=True)
class Command:
    name: str
    roles: tuple[str, ...]
    handler: Callable[[Implant, Any], dict[str, Any]]  # takes the command's record (messages.py)
    changes_state: bool


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("interrogate", (CLINICIAN,), _interrogate, True),  # logs an interrogation
        Command("read_therapy", (CLINICIAN,), _read_therapy, False),
        Command("read_status", (CLINICIAN,), _read_status, False),
        Command("read_log", (CLINICIAN,), _read_log, False),
        Command("read_clock", (CLINICIAN, PATIENT), _read_clock, False),
        Command("program", (CLINICIAN,), _program, True),
        Command("refill", (CLINICIAN,), _refill, True),
        Command("clinician_bolus", (CLINICIAN,), _clinician_bolus, True),
        Command("priming_bolus", (CLINICIAN,), _priming_bolus, True),
        Command("set_ptm", (CLINICIAN,), _set_ptm, True),
        Command("set_low_reservoir_alarm", (CLINICIAN,), _set_low_reservoir, True),
        Command("set_clock", (CLINICIAN,), _set_clock, True),
        Command("stop", (CLINICIAN,), _stop, True),
        Command("resume", (CLINICIAN,), _resume, True),
        Command("ptm_bolus", (PATIENT, CLINICIAN), _ptm_bolus, True),
        Command("ptm_status", (PATIENT, CLINICIAN), _ptm_status, False),
    )
}


def execute(implant: Implant, command: str, args: dict[str, Any] | None, role: str) -> dict[str, Any]:
    """Apply one command (no radio). Raises ``InputError``/``SafetyRefusal`` on refusal."""
    cmd = COMMANDS.get(command)
    if cmd is None:
        raise InputError("command", f"unknown command {command!r}")
    if role not in cmd.roles:
        raise InputError("role", f"a {role} may not send {command!r}")
    decoded = decode_args(command, args or {})  # the wire's JSON, read once (field-named errors)
    try:
        return cmd.handler(implant, decoded)
    except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise InputError(f"{command}.args", f"malformed arguments ({type(exc).__name__}: {exc})") from None


class DirectLink:
    """Call the implant's commands directly, as a given role, with no radio in between."""

    def __init__(self, implant: Implant, role: str = CLINICIAN) -> None:
        self.implant = implant
        self.role = role

    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        return execute(self.implant, command, args, self.role)
