"""``itdd simulate``, ``itdd schema`` and ``itdd demo``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import DISCLAIMER
from .. import quantities as q
from ..bundled import resolve_scenario
from ..errors import InputError
from ..progress import fraction_bar
from ..scenario import json_schema_text, load_scenario, run_scenario
from ..sim.guardrail_findings import hard_lines
from ..sim.output import write_outputs
from ..sim.summary import summary_text
from .demo import clinical_summary, run_demo


def progress_bar(enabled: bool) -> Callable[[float], None] | None:
    """A tqdm progress bar on stderr for long runs (only on a terminal; itdd.progress)."""
    return fraction_bar(sys.stderr) if enabled else None


def check_out_dir(out: str | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError("--out", f"{out} exists and is not a directory")
    return path


def cmd_simulate(args: argparse.Namespace) -> int:
    scn = load_scenario(resolve_scenario(args.scenario))
    out_dir = check_out_dir(args.out)
    report = getattr(args, "report", None)
    if report is not None and Path(report).is_dir():
        raise InputError("--report", f"{report} is a directory; give a file name such as report.html")
    run, result = run_scenario(scn, progress_bar(not args.json))
    for line in hard_lines(result):
        print(line, file=sys.stderr)
    if out_dir is not None:
        write_outputs(out_dir, run, result)
    if report is not None:
        from ..report import write_report  # matplotlib loads only when a report is asked for

        write_report(result, report, run=run)
    if args.json:
        json.dump(result, sys.stdout, indent=None if args.compact else 2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(_summary(result))
        if out_dir is not None:
            print(f"\nOutputs written to {out_dir}/")
        if report is not None:
            print(f"Report written to {report}")
    return 0


def _summary(result: dict[str, Any]) -> str:
    """The readable summary: the care layer's clinical summary for a pathway, then the pump's."""
    parts = []
    if result.get("pathway") is not None and result.get("outcome") is not None:
        parts.append(clinical_summary(result))
    if "totals" in result:
        parts.append(summary_text(result))
    return "\n\n".join(parts)


def cmd_schema(args: argparse.Namespace) -> int:
    text = json_schema_text()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the bundled demo journey (:mod:`itdd.cli.demo`) and print where its outputs are."""
    return run_demo(args)


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="run a scenario file", description="Run a scenario file. " + DISCLAIMER)
    p.add_argument(
        "scenario", help="scenario YAML (see docs/scenarios.md), or a bundled example's name, e.g. morphine-90-days"
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--compact", action="store_true", help="with --json: no indentation")
    p.add_argument("--out", metavar="DIR", help="write result.json, daily.csv, events.csv, intervals.csv")
    p.add_argument("--report", metavar="HTML", help="write a self-contained HTML report")
    p.set_defaults(func=cmd_simulate)

    s = sub.add_parser("schema", help="print the scenario JSON Schema")
    s.add_argument("-o", "--output", help="write to a file instead of stdout")
    s.set_defaults(func=cmd_schema)

    d = sub.add_parser("demo", help="run the bundled demo and print where the outputs are")
    d.add_argument("--out", metavar="DIR", help="where to write (default: a temporary folder)")
    d.set_defaults(func=cmd_demo)


__all__ = ["q", "register"]
