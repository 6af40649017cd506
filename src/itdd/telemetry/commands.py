"""The implant's command set: what a programmer or a patient therapy manager may ask of the pump.

This is the contract between the programmers (``itdd.programmer``) and the pump: every command
has a name, the role allowed to send it, and a handler that applies it to an
:class:`~itdd.pump.implant.Implant` *at the implant's current instant*.  Arguments and results are
plain JSON-able dicts with units in the key names (``dose_mg``, ``duration_s``, ``volume_ml``).

The telemetry layer wraps these in authenticated frames; :class:`DirectLink` calls them with no
radio at all (tests, the simulator).  Both present the same ``call(command, args)`` method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import InputError
from ..pump.firmware import PtmSettings
from ..pump.implant import Implant
from ..pump.limits import check_ptm
from ..pump.therapy import PeriodicBolus, Therapy
from ..timeunits import SECONDS_PER_DAY_INT

CLINICIAN = "clinician"
PATIENT = "patient"
ROLES = (CLINICIAN, PATIENT)


class Link(Protocol):
    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]: ...


def therapy_to_args(therapy: Therapy) -> dict[str, Any]:
    """A therapy as command arguments (mg/day, seconds after local midnight)."""
    out: dict[str, Any] = {"mode": therapy.mode}
    if therapy.mode == "simple_continuous":
        out["dose_mg_per_day"] = therapy.dose_mg_per_day
    elif therapy.mode == "flex":
        out["steps"] = [[s, d] for s, d in therapy.flex_steps]
    elif therapy.mode == "periodic_bolus":
        out["basal_mg_per_day"] = therapy.basal_mg_per_day
        out["boluses"] = [[b.at_s, b.dose_mg, b.duration_s] for b in therapy.boluses]
    return out


def therapy_from_args(args: dict[str, Any]) -> Therapy:
    mode = args.get("mode")
    if mode == "stopped":
        return Therapy.stopped()
    if mode == "simple_continuous":
        return Therapy.simple(float(args["dose_mg_per_day"]))
    if mode == "flex":
        return Therapy.flex([(int(s), float(d)) for s, d in args["steps"]])
    if mode == "periodic_bolus":
        return Therapy.periodic(
            [PeriodicBolus(int(a), float(d), float(u)) for a, d, u in args["boluses"]],
            float(args.get("basal_mg_per_day", 0.0)),
        )
    raise InputError("therapy.mode", f"unknown therapy mode {mode!r}")


def ptm_from_args(args: dict[str, Any] | None) -> PtmSettings | None:
    if args is None:
        return None
    return PtmSettings(
        dose_mg=float(args["dose_mg"]),
        duration_s=float(args["duration_s"]),
        lockout_s=float(args["lockout_s"]),
        max_per_day=int(args["max_per_day"]),
        max_daily_dose_mg=None if args.get("max_daily_dose_mg") is None else float(args["max_daily_dose_mg"]),
        enabled=bool(args.get("enabled", True)),
    )


def _log_entries(implant: Implant, since_seq: int) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "time_s": e.time_s, "type": e.type, **e.details} for e in implant.log.since(since_seq)]


# ---- handlers: (implant, args) -> result ---------------------------------------------------------


def _interrogate(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    since_seq = int(a.get("since_seq", 0))  # read the arguments before the interrogation is logged
    return _full_status(imp, imp.interrogate(), {**a, "since_seq": since_seq})


def _read_status(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    """The interrogation's answer without its side effects (no log entry, no stall recovery)."""
    return _full_status(imp, imp.fw.status(imp.t_s), a)


def _full_status(imp: Implant, status: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
    status["log"] = _log_entries(imp, int(a.get("since_seq", 0)))
    status["log_last_seq"] = imp.log.last_seq
    status["log_counters"] = dict(imp.log.counters)
    status["battery_to_eri"] = imp.hw.battery_to_eri  # the firmware measures its battery
    status["model"] = imp.model.model_id
    status["fluid_path_volume_ml"] = imp.hw.path_volume_ml
    status["catheter_volume_ml"] = imp.hw.catheter_volume_ml
    status["time_s"] = imp.t_s
    status["utc_offset_s"] = imp.fw.offset_s
    return status


def _program(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    # Read every argument before changing anything, so a malformed one leaves the pump untouched.
    therapy = therapy_from_args(a["therapy"])
    low_ml = float(a["low_reservoir_ml"]) if "low_reservoir_ml" in a else None
    # Optional, for the clinician programmer: new PTM settings in the same atomic command, and
    # details (programming record id, soft-limit confirmations) recorded in the log entry.
    has_ptm = "ptm" in a
    ptm = ptm_from_args(a["ptm"]) if has_ptm else None
    details = {str(k): v for k, v in dict(a.get("details") or {}).items()}
    clash = details.keys() & {"mode", "daily_dose_mg", "previous_daily_dose_mg", "description", "source"}
    if clash:
        raise ValueError(f"details may not set {', '.join(sorted(clash))}")
    if has_ptm:
        details["ptm"] = ptm.to_dict() if ptm else None
    if low_ml is not None:
        details["low_reservoir_ml"] = low_ml
    # The pump's own range checks, before anything changes (the programming is atomic).
    if low_ml is not None:
        imp.fw.check_low_reservoir_alarm(low_ml, field="low_reservoir_ml")
    if has_ptm:
        check_ptm(ptm)
    imp.program(therapy, source=str(a.get("source", "clinician")), details=details or None)
    if low_ml is not None:
        imp.fw.set_low_reservoir_alarm(imp.t_s, low_ml)
    if has_ptm:
        imp.set_ptm(ptm)
    return {"therapy": imp.fw.therapy.to_dict(), "state": imp.state}


def _read_therapy(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "therapy": therapy_to_args(imp.fw.therapy),
        "drug": imp.fw.drug,
        "concentration_mg_per_ml": imp.fw.conc_mg_per_ml,
        "low_reservoir_ml": imp.fw.low_reservoir_ml,
        "ptm": imp.fw.ptm.to_dict() if imp.fw.ptm else None,
    }


def _refill(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    res = imp.refill(
        withdraw_ml=None if a.get("withdraw_ml") is None else float(a["withdraw_ml"]),
        fill_ml=float(a["fill_ml"]),
        drug=str(a.get("drug") or imp.fw.drug),
        conc_mg_per_ml=float(a.get("conc_mg_per_ml", imp.fw.conc_mg_per_ml)),
        reservoir_ml_entered=None if a.get("reservoir_ml") is None else float(a["reservoir_ml"]),
        bridge_bolus=a.get("bridge_bolus"),
    )
    return {"time_s": res.time_s, **res.to_dict()}


def _clinician_bolus(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    imp.clinician_bolus(float(a["dose_mg"]), float(a["duration_s"]))
    return {"state": imp.state}


def _priming_bolus(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    vol = imp.priming_bolus(
        None if a.get("volume_ml") is None else float(a["volume_ml"]),
        None if a.get("rate_ml_per_day") is None else float(a["rate_ml_per_day"]),
    )
    return {"volume_ml": vol, "state": imp.state}


def _set_ptm(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    imp.set_ptm(ptm_from_args(a.get("ptm")))
    return {"ptm": imp.fw.ptm.to_dict() if imp.fw.ptm else None}


def _set_low_reservoir(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    imp.fw.set_low_reservoir_alarm(imp.t_s, float(a["low_reservoir_ml"]))
    return {"low_reservoir_ml": imp.fw.low_reservoir_ml}


def _set_clock(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    imp.fw.set_clock(imp.t_s, float(a["pump_time_s"]))
    return {"pump_time_s": imp.fw.pump_time_s(imp.t_s)}


def _read_clock(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    return {"pump_time_s": imp.fw.pump_time_s(imp.t_s), "time_s": imp.t_s}


def _stop(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    imp.stop()
    return {"state": imp.state}


def _resume(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    imp.resume()
    return {"state": imp.state}


def _read_log(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "log": _log_entries(imp, int(a.get("since_seq", 0))),
        "counters": dict(imp.log.counters),
        "last_seq": imp.log.last_seq,
    }


def _ptm_bolus(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
    return imp.ptm_request().to_dict()


def _ptm_status(imp: Implant, a: dict[str, Any]) -> dict[str, Any]:
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
    handler: Callable[[Implant, dict[str, Any]], dict[str, Any]]
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
    try:
        return cmd.handler(implant, dict(args or {}))
    except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise InputError(f"{command}.args", f"malformed arguments ({type(exc).__name__}: {exc})") from None


class DirectLink:
    """Call the implant's commands directly, as a given role, with no radio in between."""

    def __init__(self, implant: Implant, role: str = CLINICIAN) -> None:
        self.implant = implant
        self.role = role

    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        return execute(self.implant, command, args, self.role)
