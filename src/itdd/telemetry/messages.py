"""The command set's messages as typed records, decoded from the wire once.

The wire carries ``{"command": name, "args": {...}}`` as canonical JSON (see
:mod:`~itdd.telemetry.frames`).  :func:`decode_args` turns one command's ``args`` object into the
command's record (numbers with their unit in the field name) at the pump's edge — in
:func:`~itdd.telemetry.commands.execute`, which the endpoint and the direct link both call — and
nothing below it reads the JSON again.  A malformed argument is refused with an
:class:`~itdd.errors.InputError` naming it (``refill.args.fill_ml``); nothing changes on the pump.

Conversion is the one the command set has always applied (``float(value)`` for a number,
``int(value)`` for a count or a sequence number), so every well-formed command gives the same
values as before: the bytes on the wire and the pump's behaviour are unchanged.  Only malformed
input is answered differently: a refusal that names the field instead of ``<command>.args``.

The answers the programmer reads back — the status and the therapy — are decoded the same way,
once, on the programmer's side (:class:`StatusReply`, :class:`TherapyReply`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InputError
from ..pump.log import LogEntry
from ..pump.ptm import PtmSettings
from ..pump.status import Alarm
from ..pump.therapy import PeriodicBolus, Therapy

# what a JSON value may be once decoded by the standard library (the wire's own types)
Wire = Mapping[str, object]

_MALFORMED = (LookupError, TypeError, ValueError, AttributeError, ArithmeticError)


# ---- reading one field ------------------------------------------------------------------------------


def _obj(value: object, where: str) -> Wire:
    if not isinstance(value, Mapping):
        raise InputError(where, f"must be an object, not {type(value).__name__}")
    return value


def _number(a: Wire, key: str, where: str) -> float:
    if key not in a:
        raise InputError(f"{where}.{key}", "is required")
    try:
        return float(a[key])  # type: ignore[arg-type]
    except _MALFORMED:
        raise InputError(f"{where}.{key}", f"{a[key]!r} is not a number") from None


def _opt_number(a: Wire, key: str, where: str) -> float | None:
    """Absent or null: None."""
    return None if a.get(key) is None else _number(a, key, where)


def _integer(a: Wire, key: str, where: str, default: int | None) -> int:
    """``default`` None: required."""
    if default is None and key not in a:
        raise InputError(f"{where}.{key}", "is required")
    try:
        return int(a.get(key, default))  # type: ignore[call-overload]
    except _MALFORMED:
        raise InputError(f"{where}.{key}", f"{a.get(key)!r} is not an integer") from None


def therapy_from_args(args: object, where: str = "therapy") -> Therapy:
    """A therapy from its wire form (``therapy_to_args``): mg/day, seconds after local midnight."""
    a = _obj(args, where)
    mode = a.get("mode")
    try:
        if mode == "stopped":
            return Therapy.stopped()
        if mode == "simple_continuous":
            return Therapy.simple(float(a["dose_mg_per_day"]))  # type: ignore[arg-type]
        if mode == "flex":
            return Therapy.flex([(int(s), float(d)) for s, d in a["steps"]])  # type: ignore[attr-defined]
        if mode == "periodic_bolus":
            return Therapy.periodic(
                [PeriodicBolus(int(t), float(d), float(u)) for t, d, u in a["boluses"]],  # type: ignore[attr-defined]
                float(a.get("basal_mg_per_day", 0.0)),  # type: ignore[arg-type]
            )
    except _MALFORMED as exc:
        raise InputError(where, f"malformed {mode} therapy ({type(exc).__name__}: {exc})") from None
    raise InputError(f"{where}.mode", f"unknown therapy mode {mode!r}")


def ptm_from_args(args: object, where: str = "ptm") -> PtmSettings | None:
    """Patient-bolus settings from their wire form (``PtmSettings.to_dict``); null: none."""
    if args is None:
        return None
    a = _obj(args, where)
    return PtmSettings(
        dose_mg=_number(a, "dose_mg", where),
        duration_s=_number(a, "duration_s", where),
        lockout_s=_number(a, "lockout_s", where),
        max_per_day=_integer(a, "max_per_day", where, None),
        max_daily_dose_mg=_opt_number(a, "max_daily_dose_mg", where),
        enabled=bool(a.get("enabled", True)),
    )


# ---- the commands' arguments --------------------------------------------------------------------------


@dataclass(frozen=True)
class NoArgs:
    """A command that takes no arguments (any it is sent are ignored, as always)."""


@dataclass(frozen=True)
class SinceSeq:
    """``interrogate``, ``read_status``, ``read_log``: the log entries after this sequence number."""

    since_seq: int = 0


@dataclass(frozen=True)
class ProgramArgs:
    therapy: Therapy
    low_reservoir_ml: float | None = None  # None: unchanged
    ptm_given: bool = False  # new PTM settings in the same atomic command (``ptm`` may be null: none)
    ptm: PtmSettings | None = None
    details: Mapping[str, object] = field(default_factory=dict)  # recorded in the log entry
    source: str = "clinician"


@dataclass(frozen=True)
class RefillArgs:
    fill_ml: float
    withdraw_ml: float | None = None  # None: aspirate everything
    drug: str | None = None  # None: the same drug
    conc_mg_per_ml: float | None = None  # None: the same concentration
    reservoir_ml: float | None = None  # None: computed
    bridge_bolus: bool | None = None  # None: whenever the concentration changes


@dataclass(frozen=True)
class ClinicianBolusArgs:
    dose_mg: float
    duration_s: float


@dataclass(frozen=True)
class PrimingBolusArgs:
    volume_ml: float | None = None  # None: the fluid path's volume
    rate_ml_per_day: float | None = None  # None: the pump's maximum rate


@dataclass(frozen=True)
class SetPtmArgs:
    ptm: PtmSettings | None


@dataclass(frozen=True)
class SetLowReservoirArgs:
    low_reservoir_ml: float


@dataclass(frozen=True)
class SetClockArgs:
    pump_time_s: float


@dataclass(frozen=True)
class CommandStatusArgs:
    """The endpoint's own ``command_status``: was the sender's command ``command_id`` applied?"""

    command_id: int


CommandArgs = (
    NoArgs
    | SinceSeq
    | ProgramArgs
    | RefillArgs
    | ClinicianBolusArgs
    | PrimingBolusArgs
    | SetPtmArgs
    | SetLowReservoirArgs
    | SetClockArgs
)

RESERVED_DETAILS = frozenset({"mode", "daily_dose_mg", "previous_daily_dose_mg", "description", "source"})


def _program(a: Wire, w: str) -> ProgramArgs:
    if "therapy" not in a:
        raise InputError(f"{w}.therapy", "is required")
    therapy = therapy_from_args(a["therapy"], f"{w}.therapy")
    low_ml = _number(a, "low_reservoir_ml", w) if "low_reservoir_ml" in a else None
    has_ptm = "ptm" in a
    ptm = ptm_from_args(a["ptm"], f"{w}.ptm") if has_ptm else None
    raw_details = a.get("details") or {}
    details = {str(k): v for k, v in _obj(raw_details, f"{w}.details").items()}
    clash = details.keys() & RESERVED_DETAILS
    if clash:
        raise InputError(f"{w}.details", f"details may not set {', '.join(sorted(clash))}")
    return ProgramArgs(therapy, low_ml, has_ptm, ptm, details, str(a.get("source", "clinician")))


def _bridge(a: Wire, w: str) -> bool | None:
    v = a.get("bridge_bolus")
    if v is None or isinstance(v, bool):
        return v
    raise InputError(f"{w}.bridge_bolus", f"{v!r} is not true, false or null")


def _refill(a: Wire, w: str) -> RefillArgs:
    withdraw = _opt_number(a, "withdraw_ml", w)
    fill = _number(a, "fill_ml", w)
    drug = a.get("drug")
    conc = _number(a, "conc_mg_per_ml", w) if "conc_mg_per_ml" in a else None
    return RefillArgs(
        fill_ml=fill,
        withdraw_ml=withdraw,
        drug=str(drug) if drug else None,
        conc_mg_per_ml=conc,
        reservoir_ml=_opt_number(a, "reservoir_ml", w),
        bridge_bolus=_bridge(a, w),
    )


def decode_args(command: str, args: Wire) -> CommandArgs:
    """One command's ``args`` object as its record (``command`` is known to the command set)."""
    w = f"{command}.args"
    a = _obj(args, w)
    if command in ("interrogate", "read_status", "read_log"):
        return SinceSeq(_integer(a, "since_seq", w, 0))
    if command == "program":
        return _program(a, w)
    if command == "refill":
        return _refill(a, w)
    if command == "clinician_bolus":
        return ClinicianBolusArgs(_number(a, "dose_mg", w), _number(a, "duration_s", w))
    if command == "priming_bolus":
        return PrimingBolusArgs(_opt_number(a, "volume_ml", w), _opt_number(a, "rate_ml_per_day", w))
    if command == "set_ptm":
        return SetPtmArgs(ptm_from_args(a.get("ptm"), f"{w}.ptm"))
    if command == "set_low_reservoir_alarm":
        return SetLowReservoirArgs(_number(a, "low_reservoir_ml", w))
    if command == "set_clock":
        return SetClockArgs(_number(a, "pump_time_s", w))
    return NoArgs()


def decode_command_status(args: Wire) -> CommandStatusArgs:
    cid = args.get("command_id")
    if isinstance(cid, bool) or not isinstance(cid, int) or cid <= 0:
        raise InputError("command_status.command_id", f"{cid!r} is not a command id")
    return CommandStatusArgs(cid)


# ---- the answers the programmer decodes -----------------------------------------------------------------


def _opt_float(a: Wire, key: str, where: str) -> float | None:
    return _opt_number(a, key, where)


def _text(a: Wire, key: str, where: str) -> str:
    if key not in a:
        raise InputError(f"{where}.{key}", "is required")
    return str(a[key])


def _alarm(value: object, where: str) -> Alarm:
    a = _obj(value, where)
    return Alarm(_text(a, "type", where), _text(a, "severity", where), _number(a, "raised_s", where))


def _list(a: Wire, key: str, where: str) -> list[object] | tuple[object, ...]:
    """Absent: empty."""
    value = a.get(key, [])
    if not isinstance(value, list | tuple):
        raise InputError(f"{where}.{key}", f"must be a list, not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class StatusReply:
    """The answer to ``interrogate`` / ``read_status``, as the programmer reads it.

    Only what a programmer uses of it; the therapy and the PTM settings are read with
    ``read_therapy`` (:class:`TherapyReply`).
    """

    time_s: float
    utc_offset_s: int
    model_id: str
    state: str
    reservoir_estimate_ml: float
    alarms: tuple[Alarm, ...]
    battery_to_eri: float
    eri_s: float | None  # when ERI was reached (None: not yet)
    end_of_service_s: float | None
    fluid_path_volume_ml: float
    catheter_volume_ml: float
    pump_clock_error_s: float
    log: tuple[LogEntry, ...]
    log_last_seq: int

    @classmethod
    def from_wire(cls, value: object, where: str = "status") -> StatusReply:
        a = _obj(value, where)
        return cls(
            time_s=_number(a, "time_s", where),
            utc_offset_s=_integer(a, "utc_offset_s", where, 0),
            model_id=_text(a, "model", where),
            state=_text(a, "state", where),
            reservoir_estimate_ml=_number(a, "reservoir_estimate_ml", where),
            alarms=tuple(_alarm(x, f"{where}.alarms[{i}]") for i, x in enumerate(_list(a, "alarms", where))),
            battery_to_eri=_number(a, "battery_to_eri", where),
            eri_s=_opt_float(a, "eri_s", where),
            end_of_service_s=_opt_float(a, "end_of_service_s", where),
            fluid_path_volume_ml=_number(a, "fluid_path_volume_ml", where),
            catheter_volume_ml=_number(a, "catheter_volume_ml", where),
            pump_clock_error_s=_number(a, "pump_clock_error_s", where) if "pump_clock_error_s" in a else 0.0,
            log=tuple(log_entry_from_wire(e, f"{where}.log[{i}]") for i, e in enumerate(_list(a, "log", where))),
            log_last_seq=_integer(a, "log_last_seq", where, 0),
        )


@dataclass(frozen=True)
class TherapyReply:
    """The answer to ``read_therapy``."""

    therapy: Therapy
    drug: str
    concentration_mg_per_ml: float
    low_reservoir_ml: float
    ptm: PtmSettings | None

    @classmethod
    def from_wire(cls, value: object, where: str = "therapy_reading") -> TherapyReply:
        a = _obj(value, where)
        if "therapy" not in a:
            raise InputError(f"{where}.therapy", "is required")
        return cls(
            therapy=therapy_from_args(a["therapy"], f"{where}.therapy"),
            drug=_text(a, "drug", where),
            concentration_mg_per_ml=_number(a, "concentration_mg_per_ml", where),
            low_reservoir_ml=_number(a, "low_reservoir_ml", where),
            ptm=ptm_from_args(a.get("ptm"), f"{where}.ptm"),
        )


@dataclass(frozen=True)
class RefillReply:
    """What the pump reports of a refill: its answer, or the refill's log entry after a lost answer."""

    expected_ml: float  # the firmware's estimate just before the refill
    withdrawn_ml: float
    filled_ml: float
    reservoir_ml_entered: float
    bridge_bolus: bool
    time_s: float | None  # None: not in the reply (the programmer reads the pump's time instead)

    @classmethod
    def from_wire(cls, value: object, where: str = "refill_result") -> RefillReply:
        a = _obj(value, where)
        return cls(
            expected_ml=_number(a, "expected_ml", where),
            withdrawn_ml=_number(a, "withdrawn_ml", where),
            filled_ml=_number(a, "filled_ml", where),
            reservoir_ml_entered=_number(a, "reservoir_ml_entered", where),
            bridge_bolus=bool(a.get("bridge_bolus")) if "bridge_bolus" in a else _required(where, "bridge_bolus"),
            time_s=_opt_number(a, "time_s", where),
        )


def _required(where: str, key: str) -> bool:
    raise InputError(f"{where}.{key}", "is required")


def refill_to_args(a: RefillArgs) -> dict[str, object]:
    """The refill command's wire arguments (every key present, null for "the pump decides")."""
    return {
        "withdraw_ml": a.withdraw_ml,
        "fill_ml": a.fill_ml,
        "drug": a.drug,
        "conc_mg_per_ml": a.conc_mg_per_ml,
        "reservoir_ml": a.reservoir_ml,
        "bridge_bolus": a.bridge_bolus,
    }


@dataclass(frozen=True)
class PtmStatusReply:
    """The answer to ``ptm_status``: the limited status a patient may see."""

    time_s: float
    state: str
    reservoir_estimate_ml: float
    alarms: tuple[tuple[str, str], ...]  # (type, severity)
    ptm_enabled: bool
    boluses_left_24h: int | None
    next_allowed_s: float | None
    last_grant_s: float | None

    @classmethod
    def from_wire(cls, value: object, where: str = "ptm_status") -> PtmStatusReply:
        a = _obj(value, where)
        alarms = []
        for i, x in enumerate(_list(a, "alarms", where)):
            al = _obj(x, f"{where}.alarms[{i}]")
            alarms.append((_text(al, "type", f"{where}.alarms[{i}]"), _text(al, "severity", f"{where}.alarms[{i}]")))
        left = a.get("boluses_left_24h")
        return cls(
            time_s=_number(a, "time_s", where),
            state=_text(a, "state", where),
            reservoir_estimate_ml=_number(a, "reservoir_estimate_ml", where),
            alarms=tuple(alarms),
            ptm_enabled=bool(a.get("ptm_enabled")),
            boluses_left_24h=None if left is None else _integer(a, "boluses_left_24h", where, None),
            next_allowed_s=_opt_number(a, "next_allowed_s", where),
            last_grant_s=_opt_number(a, "last_grant_s", where),
        )


@dataclass(frozen=True)
class ClockReply:
    """The answer to ``read_clock``: the pump's clock against the true time."""

    time_s: float
    pump_time_s: float

    @property
    def error_s(self) -> float:
        return self.pump_time_s - self.time_s

    @classmethod
    def from_wire(cls, value: object, where: str = "clock") -> ClockReply:
        a = _obj(value, where)
        return cls(time_s=_number(a, "time_s", where), pump_time_s=_number(a, "pump_time_s", where))


def program_to_args(a: ProgramArgs) -> dict[str, object]:
    """The program command's wire arguments: optional keys only when set (as the pump reads them)."""
    out: dict[str, object] = {"therapy": therapy_wire(a.therapy), "source": a.source}
    if a.low_reservoir_ml is not None:
        out["low_reservoir_ml"] = a.low_reservoir_ml
    if a.ptm_given:
        out["ptm"] = a.ptm.to_dict() if a.ptm else None
    if a.details:
        out["details"] = dict(a.details)
    return out


def therapy_wire(therapy: Therapy) -> dict[str, object]:
    """A therapy as command arguments (mg/day, seconds after local midnight)."""
    out: dict[str, object] = {"mode": therapy.mode}
    if therapy.mode == "simple_continuous":
        out["dose_mg_per_day"] = therapy.dose_mg_per_day
    elif therapy.mode == "flex":
        out["steps"] = [[s, d] for s, d in therapy.flex_steps]
    elif therapy.mode == "periodic_bolus":
        out["basal_mg_per_day"] = therapy.basal_mg_per_day
        out["boluses"] = [[b.at_s, b.dose_mg, b.duration_s] for b in therapy.boluses]
    return out


def log_entry_from_wire(value: object, where: str = "log_entry") -> LogEntry:
    """One event-log entry from its wire form (``LogEntry.to_wire``)."""
    a = _obj(value, where)
    details = {k: v for k, v in a.items() if k not in ("seq", "time_s", "type")}
    return LogEntry(_integer(a, "seq", where, None), _number(a, "time_s", where), _text(a, "type", where), details)


@dataclass(frozen=True)
class LogReply:
    """The answer to ``read_log``: the entries after the asked sequence number, and the last one."""

    entries: tuple[LogEntry, ...]
    last_seq: int

    @classmethod
    def from_wire(cls, value: object, where: str = "log") -> LogReply:
        a = _obj(value, where)
        entries = tuple(log_entry_from_wire(e, f"{where}.log[{i}]") for i, e in enumerate(_list(a, "log", where)))
        return cls(entries, _integer(a, "last_seq", where, None))
