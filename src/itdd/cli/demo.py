"""``itdd demo``: the bundled journey (examples/journey-morphine.yaml) with its report.

Screening, a two-step bolus trial, implant, titration with oral weaning, a year of refills, an
MRI, and a kinked catheter found at a refill by the discrepancy, then revised.  Writes
``report.html`` and ``result.json`` (plus the CSVs) into the output folder and prints a short
clinical summary.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import DISCLAIMER
from ..bundled import EXAMPLES_DIR
from ..progress import fraction_bar
from ..report.outcome import outcome_rows
from ..scenario import load_scenario, run_scenario
from ..sim.output import write_outputs

JOURNEY = EXAMPLES_DIR / "journey-morphine.yaml"


def progress_reporter(stream: Any = None) -> Callable[[float], None]:
    """A tqdm bar on a terminal (itdd.progress); otherwise a line at each quarter."""
    show = fraction_bar(stream, desc="  simulating the year after the implant", plain="  simulated {pct}%")
    return show if show is not None else (lambda _frac: None)  # with ``plain`` show is never None


def clinical_summary(result: dict[str, Any]) -> str:
    """A few lines a pain physician would read first."""
    o = result["outcome"]
    trial = result.get("trial") or {}
    lines = [
        f"Patient {o['patient_id']}: baseline pain {o['baseline_pain']:.1f}/10 on "
        f"{o['baseline_oral_mme_per_day']:.0f} MME/day of oral opioids."
    ]
    if o["refused"]:
        lines.append(f"Not trialled: {o['refused']}.")
        return "\n".join(lines)
    tout = trial.get("outcome") or {}
    lines.append(f"Screening trial ({trial.get('method', '').replace('_', ' ')}): {tout.get('summary', '')}.")
    if not o["implanted"]:
        lines.append("No implant.")
        return "\n".join(lines)
    lines.append(f"Implanted {o['implant'][:10]}; followed {o['followed_days']:.0f} days.")
    if o["dose_mg_per_day_6_months"] is not None:
        lines.append(f"Intrathecal morphine at 6 months: {o['dose_mg_per_day_6_months']:.2f} mg/day.")
    if o["relief_12_months"] is not None:
        lines.append(
            f"At 12 months: {o['relief_12_months']:.0%} pain relief from baseline; oral opioids "
            f"{o['oral_mme_per_day_12_months']:.0f} MME/day."
        )
    refills = result.get("refills") or []
    flagged = [r for r in refills if r.get("flag")]
    lines.append(f"Refills: {len(refills)} ({len(flagged)} with a flagged discrepancy).")
    for c in o["complications"]:
        found = f"found {c['detected'][:10]}" if c["detected"] else "never found"
        lines.append(
            f"Complication: {c['kind'].replace('_', ' ')} on {c['time'][:10]}, {found}"
            + (" — re-operation" if c["reoperation"] else "")
            + "."
        )
    for label, text in outcome_rows(o):  # what the patient reports and the side effects (report/outcome.py)
        if label not in ("How the therapy ended", "At 12 months"):  # said above and below
            lines.append(f"{label}: {text}.")
    explant = f"yes ({o['explant_reason']})" if o["explanted"] and o.get("explant_reason") else "no"
    lines.append(f"Re-operations: {o['reoperations']}; explanted: {explant}.")
    if o.get("death_cause"):
        lines.append(f"Died on day {o['death_day']:.0f} after the implant: {o['death_cause'].replace('_', ' ')}.")
    return "\n".join(lines)


def run_demo(args: argparse.Namespace) -> int:
    out = Path(getattr(args, "out", None) or os.path.join(tempfile.gettempdir(), "itdd-demo"))
    print(DISCLAIMER + "\n")
    scn = load_scenario(str(JOURNEY))
    print(f"Running the bundled journey: {scn.name}", flush=True)
    run, result = run_scenario(scn, progress_reporter())
    sys.stderr.flush()
    write_outputs(out, run, result)
    from ..report import write_report  # matplotlib loads only when a report is written

    report = out / "report.html"
    write_report(result, report, run=run)
    print()
    print(clinical_summary(result))
    print(f"\nReport: {report}")
    print(f"Result: {out / 'result.json'} (and daily.csv, events.csv, intervals.csv)")
    print(f"Scenario: {JOURNEY} (itdd simulate {JOURNEY.name} --report r.html)")
    return 0


__all__ = ["clinical_summary", "progress_reporter", "run_demo"]
