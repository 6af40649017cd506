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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import DISCLAIMER
from .. import quantities as q
from ..drugs import get_drug
from ..drugs.guardrails import (
    check_concentration,
    check_low_reservoir,
    check_ptm,
    check_therapy,
    check_titration,
    enforce,
)
from ..errors import InputError, ItddError
from ..programmer import refill as refill_mod
from ..programmer import status as status_mod
from ..programmer.programming import KEEP, commit_program, plan_program
from ..pump.implant import Implant
from ..pump.models import CATHETER_LENGTH_CM, MODELS, get_model
from ..pump.therapy import Therapy
from . import ptm as ptm_cli
from .programmer_tools import cmd_cap_hazard, cmd_clock, cmd_drugs, cmd_prime, cmd_titrate
from .pump_state import (
    STATE_FORMAT,
    STATE_KIND,
    VirtualPump,
    _clinician,
    _confirmations,
    _emit,
    _opt,
    _ptm_from_args,
    _q,
    _therapy_from_args,
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
        {"state": str(path), "status": implant.status().state},
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
    st = imp.status().to_dict()
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
        applied=s.log_entry_since(seq0, "bolus_started", lambda e: e.details.get("kind") == "clinician"),
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
    vp.programmer.setdefault("refills", []).append(rec.to_dict())
    vp.save()
    _emit(args, rec.to_dict(), refill_mod.render(rec))
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
    ptm_cli.register(sub)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


__all__ = ["STATE_FORMAT", "STATE_KIND", "ItddError", "VirtualPump", "register"]
