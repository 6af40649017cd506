"""``itdd trial PROTOCOL.yaml``: a virtual trial of arms and endpoints (docs/trials.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .. import DISCLAIMER
from ..errors import InputError

__all__ = ["cmd_trial", "format_text", "progress_bar", "register"]


def progress_bar(enabled: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A tqdm bar on stderr (patients done, rate, time left); only on a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar: Any = None

    def show(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="patient", desc="patients", file=sys.stderr, smoothing=0.1)
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return show, close


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    return f"{100 * v:.1f}%" if unit == "fraction" else f"{v:.3g}"


def _fd(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    return f"{100 * v:+.1f} pp" if unit == "fraction" else f"{v:+.3g}"


def format_text(s: Mapping[str, Any]) -> str:
    units = s["endpoints"]["units"]
    lines = [
        f"Virtual trial: {s['name']} — {s['patients_per_arm']} patients per arm, {s['years']:g} years, "
        f"seed {s['seed']}, {'paired' if s['paired'] else 'unpaired'}; reference: {s['reference']}",
        "",
    ]
    for ep in [s["endpoints"]["primary"], *s["endpoints"]["secondary"]]:
        u = units[ep]
        lines.append(f"{ep}{'  (primary)' if ep == s['endpoints']['primary'] else ''}  [{u}]")
        for a in s["arms"]:
            r = a["endpoints"][ep]
            lines.append(
                f"  {a['name']:<24} {_fmt(r['estimate'], u):>10}  [{_fmt(r['ci_low'], u)}, {_fmt(r['ci_high'], u)}]"
                f"  n={r['n']}"
            )
        for c in s["comparisons"]:
            if c["endpoint"] != ep:
                continue
            p = "—" if c["p_value"] is None else f"{c['p_value']:.3g}"
            label = c["arm"] + " − " + c["reference"]
            lines.append(
                f"  {label:<24} {_fd(c['difference'], u):>10}  [{_fd(c['ci_low'], u)}, {_fd(c['ci_high'], u)}]"
                f"  p={p} ({c['test']})"
            )
    lines.append("")
    lines.append(
        "CONSORT (screened / refused / trialled / trial failed / implanted / explanted / died / completed / lost):"
    )
    for arm, c in s["consort"].items():
        lines.append(
            f"  {arm:<24} {c['screened']} / {c['refused']} / {c['trialled']} / {c['trial_failed']} / "
            f"{c['implanted']} / {c['explanted']} / {c['died']} / {c['completed']} / {c['lost']}"
        )
    lines.append("Died: implanted patients who died while followed. Definitions: docs/trials.md.  " + DISCLAIMER)
    return "\n".join(lines)


def cmd_trial(args: argparse.Namespace) -> int:
    from ..trial.protocol import load_protocol
    from ..trial.report import summary_json, write_outputs
    from ..trial.summary import run_trial
    from .cohort import _int
    from .simulate import check_out_dir

    protocol = load_protocol(args.protocol)
    workers = None if args.workers is None else _int(args.workers, "--workers")
    if workers is not None and workers < 1:
        raise InputError("--workers", f"must be a whole number >= 1, got {workers}")
    out_dir = check_out_dir(args.out)
    show, close = progress_bar(True)
    try:
        result = run_trial(protocol, workers=workers, dask=args.dask, progress=show)
    finally:
        close()
    lost = sum(len(v) for v in result.summary["failed_patients"].values())
    if lost:
        print(f"itdd: warning: {lost} patient runs could not be simulated (CONSORT 'lost')", file=sys.stderr)
    if out_dir is not None:
        write_outputs(out_dir, result)
    if args.json:
        sys.stdout.write(summary_json(result.summary))
    else:
        print(format_text(result.summary))
        if out_dir is not None:
            print(f"\nOutputs written to {out_dir}/ (summary.json, patients.parquet, patients.csv, report.html)")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "trial",
        help="run a virtual trial (arms, endpoints, confidence intervals)",
        description="Run a virtual trial protocol: every arm's care plan over the same (paired) or different "
        "virtual patients, endpoints with 95% intervals, differences with p-values (docs/trials.md). " + DISCLAIMER,
    )
    p.add_argument("protocol", metavar="PROTOCOL", help="protocol file (YAML; docs/trial-protocol.schema.json)")
    p.add_argument("--json", action="store_true", help="print the summary (the summary.json contract)")
    p.add_argument("--out", metavar="DIR", help="write summary.json, patients.parquet, patients.csv, report.html")
    p.add_argument("--workers", metavar="N", help="worker processes (default: CPU count); same result for any N")
    p.add_argument(
        "--dask",
        metavar="local|ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster of N workers; tcp://host:8786 uses a running scheduler",
    )
    p.set_defaults(func=cmd_trial)
