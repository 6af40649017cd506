"""``itdd cohort``: a virtual cohort through the whole care pathway, beside published figures."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

from .. import DISCLAIMER, __version__
from ..errors import InputError
from ..timeunits import SECONDS_PER_YEAR

__all__ = ["cmd_cohort", "format_table", "patients_csv", "register"]


def _int(text: str, flag: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise InputError(flag, f"must be a whole number, got '{text}'") from None
    return value


def _float(text: str, flag: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(flag, f"must be a number, got '{text}'") from None
    if not math.isfinite(value):
        raise InputError(flag, f"must be a finite number, got '{text}'")
    return value


def _fmt(value: Any, unit: str | None) -> str:
    if value is None:
        return "—"
    if unit == "fraction":
        return f"{100 * value:.1f}%"
    if unit:
        return f"{value:.3g} {unit}" if unit.startswith("per") else f"{value:.2f} {unit}"
    return f"{value:.4g}"


def format_table(summary: Any) -> str:
    """The readable table: metric, simulated, published, source (and notes below)."""
    rows = summary.rows
    head = ("metric", "simulated", "published", "source")
    body = [
        (r["metric"], _fmt(r["simulated"], r.get("unit")), _fmt(r["published"], r.get("unit")), r["source"])
        for r in rows
    ]
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(3)]
    lines = [
        f"Virtual cohort: {summary.patients} patients, {summary.years:g} years after implant, seed {summary.seed}",
        "",
        "  ".join(h.ljust(w) for h, w in zip(head[:3], widths, strict=True)) + "  " + head[3],
        "  ".join("-" * w for w in widths) + "  " + "-" * 6,
    ]
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b[:3], widths, strict=True)) + "  " + b[3])
    notes = [(r["metric"], r["note"]) for r in rows if r.get("note")]
    if notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  {m}: {n}" for m, n in notes)
    m = summary.metrics
    lines.append("")
    lines.append(
        f"Groups: {m['trialled']} trialled, {m['implanted']} implanted, {m['followed_12_months']} followed 12 months; "
        f"{m['implanted_patient_years']:.1f} implanted patient-years."
    )
    lines.append("Definitions and calibration: docs/cohort.md.  " + DISCLAIMER)
    return "\n".join(lines)


CSV_FIELDS = (
    "index",
    "patient_id",
    "refused",
    "trial_success",
    "implanted",
    "implant_s",
    "baseline_pain",
    "baseline_oral_mme_per_day",
    "relief_12_months",
    "dose_mg_per_day_6_months",
    "dose_mg_per_day_36_months",
    "oral_mme_per_day_12_months",
    "complications",
    "complication_kinds",
    "reoperations",
    "explanted",
    "explant_reason",
    "followed_years",
    "death_day",
    "death_cause",
    "explant_day",
    "catheter_event_day",
    "reoperation_day",
)


def patients_csv(summary: Any) -> str:
    """One row per patient (in index order)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)

    def cell(v: Any) -> Any:
        return "" if v is None else v

    indices = summary.indices or range(len(summary.outcomes))
    for i, o in zip(indices, summary.outcomes, strict=True):
        w.writerow(
            [
                i,
                o.patient_id,
                cell(o.refused),
                cell(o.trial_success),
                o.implanted,
                cell(o.implant_s),
                o.baseline_pain,
                o.baseline_oral_mme_per_day,
                cell(o.relief_12_months),
                cell(o.dose_mg_per_day_6_months),
                cell(o.dose_mg_per_day_36_months),
                cell(o.oral_mme_per_day_12_months),
                len(o.complications),
                ";".join(f"{c.stage}:{c.kind}" for c in o.complications),
                o.reoperations,
                o.explanted,
                cell(o.explant_reason),
                o.followed_s / SECONDS_PER_YEAR,
                cell(o.death_day),
                cell(o.death_cause),
                cell(o.explant_day),
                cell(o.catheter_event_day),
                cell(o.reoperation_day),
            ]
        )
    return buf.getvalue()


def result_of(summary: Any) -> dict[str, Any]:
    """A cohort-only itdd result (renders with :func:`itdd.report.write_report`)."""
    return {"itdd_version": __version__, "disclaimer": DISCLAIMER, "cohort": summary.cohort_section()}


def _plan(args: argparse.Namespace) -> Any:
    """The pathway plan of the cohort options (--policy, --population, --drug)."""
    from ..care.plan import PathwayPlan
    from ..care.policy import get_policy
    from ..patient import get_population

    try:
        policy = get_policy(getattr(args, "policy", None) or "conventional").name
    except InputError as exc:
        raise InputError("--policy", exc.message) from None
    try:
        population = get_population(getattr(args, "population", None) or "non_cancer").name
    except InputError as exc:
        raise InputError("--population", exc.message) from None
    drug, adjunct = _drug(getattr(args, "drug", None) or "morphine")
    return PathwayPlan(policy=policy, population=population, drug=drug, adjunct=adjunct)


def _drug(text: str) -> tuple[str, dict[str, str] | None]:
    """``--drug``: a pathway drug, or one with an added drug (``morphine+bupivacaine``)."""
    from typing import get_args

    from ..care.plan import AdjunctDrug, PathwayDrug

    drugs, adjuncts = get_args(PathwayDrug), get_args(AdjunctDrug)
    primary, plus, added = text.strip().partition("+")
    if primary not in drugs:
        raise InputError("--drug", f"'{primary}' is not one of {', '.join(drugs)} (optionally +{'/+'.join(adjuncts)})")
    if not plus:
        return primary, None
    if added not in adjuncts:
        raise InputError("--drug", f"'{added}' cannot be added to {primary} (one of {', '.join(adjuncts)})")
    return primary, {"drug": added}


def cmd_cohort(args: argparse.Namespace) -> int:
    from ..sim.output import write_text_atomic
    from ..trial.cohort import run_cohort
    from .simulate import check_out_dir, progress_bar

    patients = _int(args.patients, "--patients")
    years = _float(args.years, "--years")
    seed = _int(args.seed, "--seed")
    workers = None if args.workers is None else _int(args.workers, "--workers")
    out_dir = check_out_dir(args.out)
    report = None if args.report is None else Path(args.report)
    if report is not None and report.is_dir():
        raise InputError("--report", f"{args.report} is a directory; give a file name such as report.html")
    if report is not None and not report.parent.exists():
        raise InputError("--report", f"the folder {report.parent} does not exist")
    plan = _plan(args)
    summary = run_cohort(patients, years, seed, workers=workers, plan=plan, progress=progress_bar(True))
    if plan.population == "cancer":  # Smith 2002's measures and other cancer figures (care/cancer_metrics.py)
        from ..care.cancer_metrics import cancer_metrics, cancer_rows

        summary.metrics.update(cancer_metrics(summary.outcomes, years))
        summary.rows.extend(cancer_rows(summary.metrics, summary.rows))
    if summary.errors:
        print(
            f"itdd: warning: {len(summary.errors)} of {patients} patients could not be simulated and are left out "
            f"(first: {summary.errors[0]})",
            file=sys.stderr,
        )
    result = result_of(summary)
    if out_dir is not None:
        from ..report import write_report

        out_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out_dir / "summary.json", json.dumps(summary.to_json(), indent=2, allow_nan=False) + "\n")
        write_text_atomic(out_dir / "patients.csv", patients_csv(summary))
        write_report(result, out_dir / "report.html")
    if report is not None:
        from ..report import write_report

        write_report(result, report)
    if args.json:
        json.dump(summary.to_json(), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_table(summary))
        if out_dir is not None:
            print(f"\nOutputs written to {out_dir}/ (summary.json, patients.csv, report.html)")
        if report is not None:
            print(f"Report written to {report}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "cohort",
        help="run a virtual cohort through the care pathway",
        description="Run N virtual patients through screening, trial, implant and Y years of follow-up, and "
        "compare the cohort with published figures (docs/cohort.md). " + DISCLAIMER,
    )
    p.add_argument("--patients", required=True, metavar="N", help="number of patients (1-100,000)")
    p.add_argument("--years", required=True, metavar="Y", help="years of follow-up after the implant (up to 40)")
    p.add_argument("--seed", required=True, metavar="S", help="cohort seed (a whole number >= 0)")
    p.add_argument("--workers", metavar="W", help="worker processes (default: CPU count); same result for any W")
    p.add_argument("--out", metavar="DIR", help="write summary.json, patients.csv and report.html")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--report", metavar="HTML", help="write a self-contained HTML report")
    p.add_argument(
        "--policy",
        metavar="P",
        default="conventional",
        help="clinician policy: conventional (default) or low_dose (docs/care.md)",
    )
    p.add_argument(
        "--population",
        metavar="POP",
        default="non_cancer",
        help="who is sampled: non_cancer (default) or cancer (docs/patient-model.md)",
    )
    p.add_argument(
        "--drug",
        metavar="DRUG",
        default="morphine",
        help="intrathecal drug: morphine (default), hydromorphone, fentanyl, sufentanil or ziconotide, optionally "
        "with an added drug in the reservoir (morphine+bupivacaine, hydromorphone+clonidine; docs/drug-library.md)",
    )
    p.set_defaults(func=cmd_cohort)
