"""The virtual pump's state file, shared by ``itdd programmer`` and ``itdd ptm``, and the argument
helpers of their commands (split out of :mod:`itdd.cli.programmer` to keep each module readable).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import DISCLAIMER
from .. import quantities as q
from ..errors import InputError
from ..programmer import ptm as ptm_mod
from ..programmer.air import PROGRAMMER, PTM, PumpTelemetry
from ..programmer.programming import KEEP, therapy_from_text
from ..programmer.session import Session
from ..pump import persist
from ..pump.firmware import PtmSettings
from ..pump.implant import Implant
from ..pump.therapy import Therapy
from ..sim.output import write_text_atomic

STATE_KIND = "itdd-virtual-pump"
STATE_FORMAT = 2  # 2: telemetry keys and counters; a format-1 file is paired on first use (docs/programming.md)


# ---- state file ---------------------------------------------------------------------------------------


class VirtualPump:
    def __init__(
        self, path: Path, implant: Implant, programmer: dict[str, Any], telemetry: PumpTelemetry | None = None
    ) -> None:
        self.path = path
        self.implant = implant
        self.programmer = programmer
        self.telemetry = telemetry or PumpTelemetry.provision(implant)

    @classmethod
    def load(cls, path_text: str) -> VirtualPump:
        path = Path(path_text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError("--state", f"cannot read {path_text}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise InputError("--state", f"{path_text} is not a JSON state file") from None
        if not isinstance(data, dict) or data.get("kind") != STATE_KIND:
            raise InputError(
                "--state",
                f"{path_text} is not an itdd virtual-pump state file (make one with 'itdd programmer implant')",
            )
        if data.get("format") not in (1, STATE_FORMAT):
            raise InputError("--state", f"unsupported state format {data.get('format')!r}")
        try:
            implant = persist.load(data["implant"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError("--state", f"{path_text} holds a damaged implant state ({type(exc).__name__})") from None
        programmer = dict(data.get("programmer") or {})
        device = programmer.pop("device", None)
        if data["format"] == 1:  # before the telemetry link: pair a programmer and a PTM now
            return cls(path, implant, programmer)
        ptm = data.get("ptm")
        devices = {PROGRAMMER: device, PTM: ptm.get("device") if isinstance(ptm, dict) else None}
        return cls(path, implant, programmer, PumpTelemetry.load(implant, data.get("telemetry"), devices))

    def save(self) -> None:
        data = {
            "kind": STATE_KIND,
            "format": STATE_FORMAT,
            "disclaimer": DISCLAIMER,
            "implant": persist.dump(self.implant),
            "telemetry": self.telemetry.pump_state(),
            "programmer": {**self.programmer, "device": self.telemetry.devices[PROGRAMMER].to_dict()},
            "ptm": {"device": self.telemetry.devices[PTM].to_dict()},
        }
        text = json.dumps(data, allow_nan=False)
        write_text_atomic(self.path, text)

    def session(self) -> Session:
        """The clinician programmer's session with the pump, over the telemetry link."""
        return Session(self.telemetry.link(PROGRAMMER))

    def ptm(self) -> ptm_mod.PatientTherapyManager:
        """The patient therapy manager, over the telemetry link with the patient's key."""
        return ptm_mod.PatientTherapyManager(self.telemetry.link(PTM), offset_s=self.implant.offset_s)

    def iso(self, t_s: float) -> str:
        return q.iso(t_s, self.implant.offset_s)


# ---- argument helpers -----------------------------------------------------------------------------------


def _q(field: str, fn: Callable[[Any], float], text: Any) -> float:
    try:
        return float(fn(text))
    except q.UnitError as exc:
        raise InputError(field, str(exc)) from None


def _opt(field: str, fn: Callable[[Any], float], text: Any) -> float | None:
    return None if text is None else _q(field, fn, text)


def _confirmations(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, reason = item.partition("=")
        if not sep or not key.strip():
            raise InputError(
                "--confirm", f"'{item}' should read FIELD=REASON, e.g. therapy.dose='tolerant, cancer pain'"
            )
        out[key.strip()] = reason
    return out


def _clinician(args: argparse.Namespace, name: str = "--clinician") -> str:
    who = (getattr(args, "clinician", None) or "").strip()
    if not who:
        raise InputError(name, "a clinician id is required")
    return who


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, allow_nan=False, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def _therapy_from_args(args: argparse.Namespace, required: bool) -> Therapy | None:
    given = [x for x in ("dose", "step", "bolus", "stop_therapy") if getattr(args, x, None)]
    if not given:
        if required:
            raise InputError("--dose", "give a therapy: --dose, --step (flex), --bolus (periodic) or --stopped")
        return None
    if getattr(args, "stop_therapy", False):
        if len(given) > 1:
            raise InputError("--stopped", "--stopped cannot be combined with doses")
        return Therapy.stopped()
    if args.dose and (args.step or args.bolus):
        raise InputError("--dose", "give either --dose, or --step, or --bolus (with --basal), not several")
    if args.step and args.bolus:
        raise InputError("--step", "give either --step (flex) or --bolus (periodic), not both")
    if args.dose:
        return therapy_from_text("simple_continuous", dose=args.dose)
    if args.step:
        return therapy_from_text("flex", steps=args.step)
    return therapy_from_text("periodic_bolus", boluses=args.bolus, basal=args.basal)


def _ptm_from_args(args: argparse.Namespace) -> Any:
    if getattr(args, "no_ptm", False):
        return None
    fields = ("ptm_dose", "ptm_lockout", "ptm_max_per_day", "ptm_duration", "ptm_max_daily")
    if not any(getattr(args, f, None) is not None for f in fields):
        return KEEP
    if args.ptm_dose is None or args.ptm_lockout is None or args.ptm_max_per_day is None:
        raise InputError("--ptm-dose", "PTM settings need --ptm-dose, --ptm-lockout and --ptm-max-per-day")
    duration = _q("--ptm-duration", q.parse_duration_s, args.ptm_duration or "10min")
    if duration <= 0:
        raise InputError("--ptm-duration", "must be more than 0")
    if args.ptm_max_per_day < 1:
        raise InputError("--ptm-max-per-day", "must be at least 1")
    return PtmSettings(
        dose_mg=_q("--ptm-dose", q.parse_amount_mg, args.ptm_dose),
        duration_s=duration,
        lockout_s=_q("--ptm-lockout", q.parse_duration_s, args.ptm_lockout),
        max_per_day=int(args.ptm_max_per_day),
        max_daily_dose_mg=_opt("--ptm-max-daily", q.parse_dose_rate_mg_per_day, args.ptm_max_daily),
    )
