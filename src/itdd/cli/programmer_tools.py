"""``itdd programmer`` tool commands: prime, titrate, clock, cap-hazard (training) and drugs.

Split out of :mod:`itdd.cli.programmer` (which registers them) to keep each module readable.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import quantities as q
from ..drugs import device_limits, get_drug, library, sources
from ..errors import InputError
from ..programmer import status as status_mod
from ..programmer import tools
from ..pump import persist
from ..pump.models import CATHETER_ML_PER_CM
from .pump_state import (
    VirtualPump,
    _confirmations,
    _emit,
    _opt,
    _q,
)


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
    from ..sim.values import parse_volume_per_cm

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
            f"  step {b.step} programmed {b.programmed} happens at {b.happens_at} "
            f"({b.from_label} -> {b.to_label}; drug in the shifted window {b.extra_drug_label})"
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
