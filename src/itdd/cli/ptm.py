"""``itdd ptm …``: the patient therapy manager on a virtual pump state file (:mod:`itdd.cli.pump_state`)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import DISCLAIMER
from ..programmer import ptm as ptm_mod
from .pump_state import VirtualPump, _emit


def cmd_ptm_status(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    mgr = vp.ptm()
    st = mgr.status()
    vp.save()  # read over the link: the therapy manager's frame counter moved
    _emit(args, st.to_dict(), ptm_mod.render_status(st))
    return 0


def cmd_ptm_bolus(args: argparse.Namespace) -> int:
    vp = VirtualPump.load(args.state)
    mgr = vp.ptm()
    out = mgr.request_bolus()
    vp.save()
    d = out.to_dict(vp.implant.offset_s)
    _emit(args, d, ("GRANTED: " if out.granted else "NOT GRANTED: ") + out.message)
    return 0


def register(sub: Any) -> None:
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


__all__ = ["register"]
