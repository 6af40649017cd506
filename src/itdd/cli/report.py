"""``itdd report RESULT.json [-o report.html]``: the HTML report from a saved result."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import DISCLAIMER
from ..errors import InputError
from ..report import load_result, write_report


def default_output(result_path: str) -> Path:
    """``out/result.json`` -> ``out/report.html`` (beside the result)."""
    return Path(result_path).resolve().parent / "report.html"


def cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.output) if args.output else default_output(args.result)
    if out.is_dir():
        raise InputError("--output", f"{out} is a directory; give a file name such as report.html")
    result = load_result(args.result)
    write_report(result, out)
    print(f"Report written to {out}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="write the HTML report of a saved result",
        description="Write a self-contained HTML report from a result JSON file (itdd simulate --json or "
        "--out DIR/result.json). " + DISCLAIMER,
    )
    p.add_argument("result", metavar="RESULT.json", help="a result written by itdd (simulate --json, --out, cohort)")
    p.add_argument("-o", "--output", metavar="HTML", help="where to write (default: report.html beside RESULT.json)")
    p.set_defaults(func=cmd_report)


__all__ = ["cmd_report", "register"]
