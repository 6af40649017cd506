"""``itdd programmer …`` and ``itdd ptm …``: the clinician programmer and the patient therapy manager
on a virtual pump kept in a JSON state file (made with :mod:`itdd.pump.persist`).

The state file holds the implant (``implant``) with its telemetry keys and memory (``telemetry``),
the programmer's own records and device credentials (``programmer``: programming and refill
records, the log position of the last session, the last clock reading, ``device``) and the patient
therapy manager's credentials (``ptm``).  Every command that talks to the pump sends it sealed
frames over the authenticated telemetry link (:mod:`itdd.programmer.air`) with the right device
key — the programmer's clinician key, or the therapy manager's patient key — and writes the file
back atomically only when the command succeeded: a refused command leaves the file byte for byte
as it was.
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
from ..drugs import device_limits, get_drug, library, sources
from ..drugs.guardrails import (
    check_concentration,
    check_low_reservoir,
    check_ptm,
    check_therapy,
    check_titration,
    enforce,
)
from ..errors import InputError, ItddError
from ..pump import persist
from ..pump.firmware import PtmSettings
from ..pump.implant import Implant
from ..pump.models import CATHETER_LENGTH_CM, CATHETER_ML_PER_CM, MODELS, get_model
from ..pump.therapy import Therapy
from ..sim.output import write_text_atomic
from . import ptm as ptm_mod
from . import refill as refill_mod
from . import status as status_mod
from . import tools
from .air import PROGRAMMER, PTM, PumpTelemetry
from .programming import KEEP, commit_program, plan_program, therapy_from_text
from .session import Session

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


# ---- commands --------------------------------------------------------------------------------------------


def cmd_implant(args: argparse.Namespace) -> int:
    path = Path(args.state)
    if path.exists() and not args.force:
        raise InputError("--state", f"{args.state} already exists (use --force to replace it)")
    if path.is_dir():
        raise InputError("--state", f"{args.state} is a directory")
    clinician = _clinician(args)
    if args.model not in MODELS:
        raise InputError("--model", f"unknown pump model '{args.model}' (known: {', '.join(sorted(MODELS))})")
    model = get_model(args.model)
    drug = get_drug(args.drug, "--drug")
    conc = _q("--concentration", q.parse_concentration_mg_per_ml, args.concentration)
    fill = _q("--fill", q.parse_volume_ml, args.fill)
    if fill > model.reservoir_capacity_ml + 1e-9:
        raise InputError(
            "--fill", f"{q.fmt_volume(fill)} exceeds the reservoir capacity {q.fmt_volume(model.reservoir_capacity_ml)}"
        )
    try:
        start = q.parse_datetime(args.start)
    except q.UnitError as exc:
        raise InputError("--start", str(exc)) from None
    low = _q("--low-reservoir", q.parse_volume_ml, args.low_reservoir)
    length = _q("--catheter-length", q.parse_length_cm, args.catheter_length)
    therapy = _therapy_from_args(args, required=False) or Therapy.stopped()
    ptm = _ptm_from_args(args)
    ptm = None if ptm is KEEP else ptm
    findings = [check_concentration(drug, conc), check_low_reservoir(low, model)]
    findings += check_therapy(drug, conc, therapy, model)
    findings += check_titration(drug, 0.0, therapy.daily_dose_mg(), None)
    if ptm is not None:
        findings += check_ptm(drug, conc, ptm, therapy.daily_dose_mg(), model)
    confirmed = enforce(findings, _confirmations(args.confirm), clinician)
    t0 = q.to_epoch_s(start)
    implant = Implant(
        model,
        t_s=t0,
        offset_s=q.offset_of(start),
        drug=drug.name,
        conc_mg_per_ml=conc,
        fill_ml=fill,
        low_reservoir_ml=low,
        therapy=therapy,
        ptm=ptm,
        catheter_length_cm=length,
        primed=not args.unprimed,
        seed=args.seed,
    )
    vp = VirtualPump(
        path,
        implant,
        {
            "patient_id": args.patient,
            "implanted": q.iso(t0, implant.offset_s),
            "implanted_by": clinician,
            "last_session_seq": 0,
            "initial_fill_ml": fill,
            "records": [
                {
                    "kind": "implant",
                    "time": q.iso(t0, implant.offset_s),
                    "clinician": clinician,
                    "confirmations": [c.to_dict() for c in confirmed],
                }
            ],
            "refills": [],
        },
    )
    vp.save()
    _emit(
        args,
        {"state": str(path), "status": implant.status()["state"]},
        f"Virtual pump implanted: {model.label}, {drug.name} {drug.fmt_concentration(conc)}, "
        f"{therapy.describe(drug.dose_unit)}.\nState file: {path}\n{DISCLAIMER}",
    )
    return 0


def cmd_advance(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    imp = vp.implant
    if (args.by is None) == (args.to is None):
        raise InputError("--by", "give exactly one of --by DURATION or --to DATE-TIME")
    if args.by is not None:
        target = imp.t_s + _q("--by", q.parse_duration_s, args.by)
    else:
        try:
            target = q.to_epoch_s(q.parse_datetime(args.to))
        except q.UnitError as exc:
            raise InputError("--to", str(exc)) from None
        if target < imp.t_s:
            raise InputError(
                "--to", f"{args.to} is before the pump's present {vp.iso(imp.t_s)}; time only moves forward"
            )
    if target - imp.t_s > 5 * q.DAYS_PER_YEAR * q.SECONDS_PER_DAY:
        raise InputError("--by", "at most 5 years at a time")
    imp.run_until(target)
    vp.save()
    st = imp.status()
    _emit(
        args,
        {"time": vp.iso(imp.t_s), "state": st["state"], "reservoir_estimate_ml": st["reservoir_estimate_ml"]},
        f"Now {vp.iso(imp.t_s)}: pump {st['state'].replace('_', ' ')}, reservoir estimate "
        f"{st['reservoir_estimate_ml']:.2f} mL"
        + (f", alarms: {', '.join(a['type'] for a in st['alarms'])}" if st["alarms"] else ""),
    )
    return 0


def cmd_interrogate(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    since = 0 if args.all else int(vp.programmer.get("last_session_seq", 0))
    it = status_mod.interrogate(vp.session(), since)
    vp.programmer["last_session_seq"] = it.log_last_seq
    vp.save()
    _emit(args, it.to_dict(), status_mod.render(it))
    return 0


def cmd_program(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    clinician = _clinician(args)
    s = vp.session()
    it = status_mod.interrogate(s, side_effects=False)
    therapy = _therapy_from_args(args, required=False) or it.therapy
    ptm = _ptm_from_args(args)
    low = _opt("--low-reservoir", q.parse_volume_ml, args.low_reservoir)
    plan = plan_program(it, therapy, ptm=ptm, low_reservoir_ml=low, last_increase_at_s=status_mod.last_increase_s(s))
    screen = plan.finish_screen()
    if args.dry_run:
        vp.save()  # nothing was programmed, but the link's frame counters moved
        _emit(
            args,
            {
                "pending": [c.__dict__ for c in plan.changes],
                "findings": [f.to_dict() for f in plan.findings if f.level != "ok"],
            },
            screen + "\n\n(dry run: nothing sent to the pump)",
        )
        return 0
    rec = commit_program(s, plan, clinician=clinician, confirmations=_confirmations(args.confirm))
    vp.programmer.setdefault("records", []).append({"kind": "programming", **rec.to_dict()})
    vp.save()
    _emit(
        args,
        rec.to_dict(),
        screen
        + f"\n\nProgrammed and verified by read-back. Record {rec.record_id}"
        + "".join(f"\n  confirmed {c.field}: {c.reason}" for c in rec.confirmations),
    )
    return 0


def cmd_bolus(args: argparse.Namespace) -> int:
    from ..drugs.guardrails import check_bolus

    vp = VirtualPump.load(args.state)
    clinician = _clinician(args)
    s = vp.session()
    it = status_mod.interrogate(s, side_effects=False)
    dose = _q("--dose", q.parse_amount_mg, args.dose)
    duration = _q("--duration", q.parse_duration_s, args.duration)
    if dose <= 0 or duration <= 0:
        raise InputError("--dose" if dose <= 0 else "--duration", "must be more than 0")
    confirmed = enforce(
        check_bolus(it.drug, it.conc_mg_per_ml, dose, duration, it.model), _confirmations(args.confirm), clinician
    )
    seq0 = s.last_seq()

    def verify() -> bool:
        return s.read("read_status", {"since_seq": 1 << 62})["state"] == "clinician_bolus"

    res = s.write(
        "clinician_bolus",
        {"dose_mg": dose, "duration_s": duration},
        verify=verify,
        applied=s.log_entry_since(seq0, "bolus_started", lambda e: e.get("kind") == "clinician"),
    )
    rec = {
        "kind": "clinician_bolus",
        "time": vp.iso(it.time_s),
        "clinician": clinician,
        "dose": it.drug.fmt_amount(dose),
        "duration": q.fmt_duration(duration),
        "confirmations": [c.to_dict() for c in confirmed],
        "delivery_certain": res.certain,
    }
    vp.programmer.setdefault("records", []).append(rec)
    vp.save()
    _emit(args, rec, f"Clinician bolus started: {rec['dose']} over {rec['duration']} (verified: pump in bolus).")
    return 0


def cmd_refill(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    clinician = _clinician(args)
    withdraw = None if args.withdraw in (None, "all") else _q("--withdraw", q.parse_volume_ml, args.withdraw)
    req = refill_mod.RefillRequest(
        fill_ml=_q("--fill", q.parse_volume_ml, args.fill),
        withdraw_ml=withdraw,
        drug=args.drug,
        conc_mg_per_ml=_opt("--concentration", q.parse_concentration_mg_per_ml, args.concentration),
        reservoir_ml=_opt("--reservoir-volume", q.parse_volume_ml, args.reservoir_volume),
        bridge_bolus=False if args.no_bridge else None,
    )
    if args.drug is not None:
        get_drug(args.drug, "--drug")
    prev = None if vp.programmer.get("refills") else vp.programmer.get("initial_fill_ml")
    rec = refill_mod.refill(
        vp.session(), req, clinician=clinician, confirmations=_confirmations(args.confirm), previous_reservoir=prev
    )
    vp.programmer.setdefault("refills", []).append(rec)
    vp.save()
    _emit(args, rec, refill_mod.render(rec))
    return 0


def cmd_verify_refill(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    refills = vp.programmer.get("refills") or []
    if not refills:
        raise InputError("--record", "this pump has no refill record to verify")
    idx = len(refills) - 1
    if args.record:
        ids = [r.get("record_id") for r in refills]
        if args.record not in ids:
            raise InputError("--record", f"no refill record {args.record!r} (records: {', '.join(map(str, ids))})")
        idx = ids.index(args.record)
    verified = refill_mod.verify_record(
        refills[idx],
        _clinician(args),
        drug=args.drug,
        conc_mg_per_ml=_q("--concentration", q.parse_concentration_mg_per_ml, args.concentration),
        filled_ml=_q("--fill", q.parse_volume_ml, args.fill),
        reservoir_ml=_q("--reservoir-volume", q.parse_volume_ml, args.reservoir_volume),
    )
    refills[idx] = verified
    vp.save()
    _emit(
        args,
        verified,
        f"Refill {verified['record_id']} verified by {verified['verified_by']}: values match, checksum valid.",
    )
    return 0


def cmd_prime(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    s = vp.session()
    it = status_mod.interrogate(s, side_effects=False)
    length = _q("--catheter-length", q.parse_length_cm, args.catheter_length)
    per_cm = CATHETER_ML_PER_CM if args.volume_per_cm is None else _per_cm(args.volume_per_cm)
    rate = _opt("--rate", q.parse_flow_ml_per_day, args.rate)
    plan = tools.priming_plan(
        it.model,
        length,
        per_cm,
        it.conc_mg_per_ml,
        rate,
        after_revision=args.after_revision,
        catheter_only=args.catheter_only,
    )
    inside = "" if plan.catheter_only else f", plus {plan.internal_ml:g} mL inside the pump"
    text = (
        f"Priming bolus: {plan.volume_ml:.3f} mL (catheter {plan.catheter_ml:.3f} mL = {length:g} cm x "
        f"{per_cm:g} mL/cm{inside}) at {q.fmt_flow(plan.rate_ml_per_day)}, "
        f"about {q.fmt_duration(plan.duration_s)}; {it.drug.fmt_amount(plan.drug_mg)} of {it.drug.name} fills the path."
    )
    if plan.warning is not None:
        text = f"WARNING: {plan.warning}\n{text}"
        print(f"warning: {plan.warning}", file=sys.stderr)
    if abs(plan.catheter_ml - it.catheter_volume_ml) > 1e-6:
        text += (
            f"\nNote: the implant record says the catheter holds {it.catheter_volume_ml:.3f} mL; check the "
            "length you entered against the operative note."
        )
    if args.dry_run:
        vp.save()  # the status was read over the link: its frame counters moved
        _emit(args, plan.to_dict(), text + "\n(dry run: nothing sent to the pump)")
        return 0
    out = tools.prime(s, plan)
    vp.programmer.setdefault("records", []).append({"kind": "priming_bolus", "time": vp.iso(it.time_s), **out})
    vp.save()
    _emit(args, out, text + "\nStarted; the pump reports it is priming.")
    return 0


def _per_cm(text: str) -> float:
    from ..sim.scenario import parse_volume_per_cm

    return _q("--volume-per-cm", parse_volume_per_cm, text)


def cmd_titrate(args: argparse.Namespace) -> int:
    offset = 0
    if args.state:
        vp = VirtualPump.load(args.state)
        it = status_mod.interrogate(vp.session(), side_effects=False)
        drug, start_s, offset = it.drug, it.time_s, it.offset_s
        current = (
            it.therapy.daily_dose_mg()
            if args.current is None
            else _q("--from", q.parse_dose_rate_mg_per_day, args.current)
        )
    else:
        if args.drug is None or args.current is None or args.start is None:
            raise InputError("--drug", "without --state give --drug, --from and --start")
        drug = get_drug(args.drug, "--drug")
        current = _q("--from", q.parse_dose_rate_mg_per_day, args.current)
        try:
            start_dt = q.parse_datetime(args.start)
        except q.UnitError as exc:
            raise InputError("--start", str(exc)) from None
        start_s, offset = q.to_epoch_s(start_dt), q.offset_of(start_dt)
    target = _q("--to", q.parse_dose_rate_mg_per_day, args.target)
    step = _opt("--step", q.parse_fraction, args.step)
    interval = _opt("--interval", q.parse_duration_s, args.interval)
    plan = tools.plan_titration(
        drug,
        current,
        target,
        start_s=start_s,
        step_fraction=step,
        interval_s=interval,
        confirmations=_confirmations(args.confirm),
        clinician=args.clinician or "",
    )
    if args.state:
        vp.save()  # the pump was read over the link: its frame counters moved
    d = plan.to_dict(offset)
    lines = [f"Titration of {drug.name}: steps of at most {d['step']}, at least {d['interval']} apart"]
    for i, row in enumerate(d["steps"]):
        lines.append(f"  {i:2d}  {row['date']}  {row['daily_dose']:>14}  {row['change'] or '(now)'}")
    for f in d["findings"]:
        lines.append(f"  [{f['level'].upper()}] {f['field']}: {f['reason']}")
    _emit(args, d, "\n".join(lines))
    return 0


def cmd_clock(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    prev = vp.programmer.get("last_clock_check")
    rep = tools.clock_check(
        vp.session(),
        set_clock=args.set,
        tolerance_s=device_limits().clock_error_tolerance.value,
        previous=None if not prev else (float(prev[0]), float(prev[1])),
    )
    vp.programmer["last_clock_check"] = [rep.time_s, rep.error_after_s if rep.set else rep.error_s]
    vp.save()
    lines = [
        f"Pump clock {rep.error_s:+.0f} s against the programmer ({'FLAG: beyond' if rep.flag else 'within'} "
        f"the {q.fmt_duration(rep.tolerance_s)} tolerance)"
    ]
    if rep.drift_ppm is not None:
        lines.append(f"Drift since the last check: {rep.drift_ppm:+.1f} ppm")
    for b in rep.boundaries:
        lines.append(
            f"  step {b['step']} programmed {b['programmed']} happens at {b['happens_at']} "
            f"({b['from']} -> {b['to']}; drug in the shifted window {b['extra_drug']})"
        )
    if not rep.boundaries:
        lines.append("  the therapy has no day-cycle steps: a clock error does not change its dosing")
    if rep.set:
        lines.append(f"Clock set; error now {rep.error_after_s:+.3f} s")
    _emit(args, rep.to_dict(), "\n".join(lines))
    return 0


def cmd_cap_hazard(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    vol = _q("--volume", q.parse_volume_ml, args.volume)
    conc = _opt("--concentration", q.parse_concentration_mg_per_ml, args.concentration)
    if args.drug is not None:
        get_drug(args.drug, "--drug")
    target = vp.implant if args.apply else persist.load(persist.dump(vp.implant))
    out = tools.cap_hazard(target, vol, drug=args.drug, conc_mg_per_ml=conc)
    if args.apply:
        vp.save()
    _emit(
        args,
        out,
        "HAZARD SIMULATION: "
        + out["message"]
        + ("" if args.apply else "\n(simulated on a copy; the virtual pump is unchanged. --apply records it)"),
    )
    return 0


def cmd_drugs(args: argparse.Namespace) -> int:
    lib = library()
    names = [args.name] if args.name else sorted(lib)
    if args.name:
        get_drug(args.name, "name")
    out = {n: _drug_summary(lib[n]) for n in names}
    lines = []
    for n, d in out.items():
        lines.append(f"{n} ({d['dose_unit']})")
        for k, v in d.items():
            if k != "dose_unit":
                lines.append(f"  {k:<22} {v}")
    _emit(args, {"drugs": out, "sources": sources()}, "\n".join(lines))
    return 0


def _drug_summary(d: Any) -> dict[str, Any]:
    def c(x: Any) -> str | None:
        return None if x is None else f"{x.text} [{x.confidence}: {x.source}]"

    def b(x: Any) -> dict[str, str | None] | None:
        if x is None:
            return None
        return {k: c(getattr(x, k)) for k in ("hard_min", "soft_min", "soft_max", "hard_max") if getattr(x, k)}

    return {
        "dose_unit": d.dose_unit,
        "usual_concentrations": [c(x) for x in d.usual_concentrations],
        "concentration": b(d.concentration),
        "starting_dose": None if d.starting_dose is None else [c(x) for x in d.starting_dose],
        "daily_dose": b(d.daily_dose),
        "bolus_dose": b(d.bolus_dose),
        "max_increase": b(d.max_increase),
        "max_increase_amount": b(d.max_increase_amount),
        "min_interval": b(d.min_interval),
        "stability_days": c(d.stability_days),
        "trial_bolus": None if d.trial_bolus is None else [c(x) for x in d.trial_bolus],
    }


def cmd_ptm_status(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    mgr = vp.ptm()
    st = mgr.status()
    vp.save()  # read over the link: the therapy manager's frame counter moved
    _emit(args, st, ptm_mod.render_status(st))
    return 0


def cmd_ptm_bolus(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    mgr = vp.ptm()
    out = mgr.request_bolus()
    vp.save()
    d = out.to_dict(vp.implant.offset_s)
    _emit(args, d, ("GRANTED: " if out.granted else "NOT GRANTED: ") + out.message)
    return 0


# ---- registration ----------------------------------------------------------------------------------------


def _therapy_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("therapy (one of)")
    g.add_argument("--dose", help="simple continuous daily dose, e.g. '1.5 mg/day'")
    g.add_argument("--step", action="append", metavar="HH:MM=DOSE", help="a flex step, e.g. '07:00=2 mg/day' (repeat)")
    g.add_argument(
        "--bolus",
        action="append",
        metavar="HH:MM=AMOUNT/DURATION",
        help="a periodic bolus, e.g. '08:00=0.5 mg/30min' (repeat)",
    )
    g.add_argument("--basal", help="basal under periodic boluses, e.g. '0.5 mg/day'")
    g.add_argument("--stopped", dest="stop_therapy", action="store_true", help="program the pump stopped")
    t = p.add_argument_group("patient therapy manager")
    t.add_argument("--ptm-dose", help="patient bolus, e.g. '0.1 mg'")
    t.add_argument("--ptm-duration", help="patient bolus duration (default 10min)")
    t.add_argument("--ptm-lockout", help="lockout after a patient bolus, e.g. '3h'")
    t.add_argument("--ptm-max-per-day", type=_int("--ptm-max-per-day"), help="patient boluses allowed per 24 h")
    t.add_argument("--ptm-max-daily", help="predictive 24 h maximum, basal + boluses, e.g. '3 mg/day'")
    p.add_argument("--low-reservoir", help="low-reservoir alarm threshold, e.g. '3 mL'")
    p.add_argument(
        "--confirm",
        action="append",
        metavar="FIELD=REASON",
        help="confirm a soft-limit warning with your reason (repeat per field)",
    )


def _int(name: str) -> Callable[[str], int]:
    def conv(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise InputError(name, f"'{text}' is not a whole number") from None

    return conv


def register(sub: Any) -> None:
    p = sub.add_parser(
        "programmer",
        help="the clinician programmer, on a virtual pump state file",
        description="The clinician programmer. " + DISCLAIMER,
    )
    ps = p.add_subparsers(dest="programmer_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda a: _usage(p))

    def cmd(name: str, fn: Callable[[argparse.Namespace], int], help_: str, state: bool = True) -> Any:
        c = ps.add_parser(name, help=help_, description=help_)
        if state:
            c.add_argument("--state", required=True, help="the virtual pump's JSON state file")
        c.add_argument("--json", action="store_true", help="print JSON")
        c.set_defaults(func=fn)
        return c

    c = cmd("implant", cmd_implant, "create a virtual pump (implant it) in a new state file")
    c.add_argument("--model", default="synchromed-ii-20", help=f"one of {', '.join(sorted(MODELS))}")
    c.add_argument("--drug", required=True)
    c.add_argument("--concentration", required=True, help="e.g. '10 mg/mL'")
    c.add_argument("--fill", required=True, help="e.g. '20 mL'")
    c.add_argument("--start", required=True, help="implant date-time with UTC offset, e.g. 2026-01-05T08:00:00+01:00")
    c.add_argument("--catheter-length", default=f"{CATHETER_LENGTH_CM:g} cm")
    c.add_argument("--unprimed", action="store_true", help="the catheter is still full of saline (prime it next)")
    c.add_argument("--patient", default="", help="patient id (free text, stored in the state file)")
    c.add_argument("--clinician", help="your clinician id")
    c.add_argument("--seed", type=_int("--seed"), default=0)
    c.add_argument("--force", action="store_true", help="replace an existing state file")
    _therapy_options(c)
    c.set_defaults(low_reservoir="2 mL")

    c = cmd("advance", cmd_advance, "move the virtual pump's time forward")
    c.add_argument("--by", help="a duration, e.g. '30d' or '12h'")
    c.add_argument("--to", help="a date-time with UTC offset")

    c = cmd("interrogate", cmd_interrogate, "therapy, reservoir, alarms, battery and ERI date, log since last session")
    c.add_argument("--all", action="store_true", help="show the whole device log, not only since the last session")

    c = cmd("program", cmd_program, "program therapy: validate, show changes side by side, commit, read back")
    c.add_argument("--clinician", help="your clinician id")
    c.add_argument("--dry-run", action="store_true", help="show the pending changes only")
    c.add_argument("--no-ptm", action="store_true", help="switch patient boluses off")
    _therapy_options(c)

    c = cmd("bolus", cmd_bolus, "give a single clinician bolus")
    c.add_argument("--dose", required=True)
    c.add_argument("--duration", required=True)
    c.add_argument("--clinician")
    c.add_argument("--confirm", action="append", metavar="FIELD=REASON")

    c = cmd("refill", cmd_refill, "refill: discrepancy check, bridge bolus, next refill date, record")
    c.add_argument("--fill", required=True, help="volume injected, e.g. '20 mL'")
    c.add_argument("--withdraw", default="all", help="'all' (default) or a volume")
    c.add_argument("--drug")
    c.add_argument("--concentration")
    c.add_argument("--reservoir-volume", help="the reservoir volume to program (default: computed)")
    c.add_argument("--no-bridge", action="store_true", help="skip the bridge bolus (needs --confirm bridge_bolus=...)")
    c.add_argument("--clinician")
    c.add_argument("--confirm", action="append", metavar="FIELD=REASON")

    c = cmd("verify-refill", cmd_verify_refill, "a second clinician verifies a refill record")
    c.add_argument("--record", help="record id (default: the last refill)")
    c.add_argument("--clinician", help="the verifying clinician's id (not the one who refilled)")
    c.add_argument("--drug", required=True)
    c.add_argument("--concentration", required=True)
    c.add_argument("--fill", required=True)
    c.add_argument("--reservoir-volume", required=True)

    c = cmd("prime", cmd_prime, "priming bolus after implant or catheter revision")
    c.add_argument("--catheter-length", required=True, help="e.g. '50 cm'")
    c.add_argument("--volume-per-cm", help="catheter volume per length (default 0.0026 mL/cm)")
    c.add_argument("--rate", help="priming rate (default: the pump's maximum)")
    c.add_argument("--after-revision", action="store_true", help="the catheter was just replaced (warns)")
    c.add_argument("--catheter-only", action="store_true", help="prime the catheter volume only (after a revision)")
    c.add_argument("--dry-run", action="store_true")

    c = cmd("titrate", cmd_titrate, "plan titration steps from a current to a target dose", state=False)
    c.add_argument("--state", help="read the drug and current dose from this virtual pump")
    c.add_argument("--drug")
    c.add_argument("--from", dest="current", help="current daily dose (default: the pump's)")
    c.add_argument("--to", dest="target", required=True, help="target daily dose")
    c.add_argument("--start", help="first step date-time with UTC offset (default: the pump's present)")
    c.add_argument("--step", help="step size, e.g. '20%%' (default: the drug's soft limit)")
    c.add_argument("--interval", help="time between increases, e.g. '3d' (default: the drug's soft limit)")
    c.add_argument("--clinician")
    c.add_argument("--confirm", action="append", metavar="FIELD=REASON")

    c = cmd("clock", cmd_clock, "pump clock against the programmer's, and its effect on day-cycle steps")
    c.add_argument("--set", action="store_true", help="set the pump clock to the programmer's time")

    c = cmd("cap-hazard", cmd_cap_hazard, "TRAINING: simulate a refill injected into the catheter access port")
    c.add_argument("--volume", required=True)
    c.add_argument("--concentration")
    c.add_argument("--drug")
    c.add_argument("--apply", action="store_true", help="apply it to the virtual pump (default: a copy)")

    c = cmd("drugs", cmd_drugs, "show the drug library with sources", state=False)
    c.add_argument("name", nargs="?")

    t = sub.add_parser(
        "ptm",
        help="the patient therapy manager, on a virtual pump state file",
        description="The patient therapy manager. " + DISCLAIMER,
    )
    ts = t.add_subparsers(dest="ptm_command", metavar="ACTION", parser_class=type(t))
    t.set_defaults(func=lambda a: _usage(t))
    for name, fn, help_ in (
        ("status", cmd_ptm_status, "reservoir estimate, alarms, next bolus allowed"),
        ("bolus", cmd_ptm_bolus, "request a patient bolus"),
    ):
        c = ts.add_parser(name, help=help_, description=help_)
        c.add_argument("--state", required=True)
        c.add_argument("--json", action="store_true")
        c.set_defaults(func=fn)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


__all__ = ["ItddError", "VirtualPump", "register"]
