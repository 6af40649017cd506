"""From a validated result to the page: findings, tables, figures, and the HTML itself.

Everything here reads only the result (a JSON-able dict), so ``itdd simulate --report`` and
``itdd report RESULT.json`` give the same page.  No clock is read: the page says which itdd
version made it and from which scenario, never when.

The page is built in four modules: :mod:`~itdd.report.text` (words and numbers: times, doses,
labels), :mod:`~itdd.report.findings` (what to look at first), :mod:`~itdd.report.sections`
(figure and section contexts) and this one (summary, refill and event tables, the template).
Figures: :mod:`~itdd.report.plots` (style, helpers, pump figures) and
:mod:`~itdd.report.patient_plots` (patient, pathway and cohort figures).
"""

from __future__ import annotations

from collections import Counter
from datetime import timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import DISCLAIMER, __version__
from ..drugs.mixture import is_mixture, label
from ..errors import ItddError
from ..pump.events import CATEGORY_LABELS, event_label
from ..timeunits import SECONDS_PER_DAY
from .findings import (
    Finding,
    discrepancy_limit,
    findings_of,
    refill_flagged,
)
from .input import ReportInput, report_input
from .sections import (
    cohort_context,
    pathway_context,
    patient_figures,
    pump_figures,
    trial_context,
)
from .text import (
    ALARM_TYPES,
    CRITICAL_ALARMS,
    EVENT_LABELS,
    ROUTINE_TYPES,
    DrugUnits,
    category_of,
    detail_text,
    fmt_date,
    fmt_time,
    nice_label,
    num,
    pct,
    signed,
)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Event rows in the log table (assumption: more is unreadable in a page; the full log is in
# result.json / events.csv).  Routine bolus rows are the first to be left out past this.
MAX_EVENT_ROWS = 2000


def drug_row(drug: Any, conc: Any, units: DrugUnits) -> str:
    """The pump's drug as a reader names it: a mixture as each drug at its own concentration
    (``morphine 20 mg/mL + bupivacaine 11 mg/mL``), not the reservoir's internal name."""
    if isinstance(drug, str) and is_mixture(drug) and isinstance(conc, int | float):
        try:
            return label(drug, float(conc))
        except ItddError:  # a name the library does not know: shown as stored
            pass
    return f"{drug if drug is not None else '—'} {units.conc(conc)}"


def summary_rows(result: dict[str, Any], tz: timezone, inp: ReportInput) -> list[tuple[str, str]]:
    s = result.get("scenario") or {}
    p = result.get("pump") or {}
    t = result.get("totals") or {}
    units = DrugUnits(p.get("drug"))
    rows: list[tuple[str, str]] = []
    if s:
        start, end = inp.origin, inp.end
        span = f" ({num((end - start).total_seconds() / SECONDS_PER_DAY, 4)} days)" if start and end else ""
        rows.append(("Period", f"{fmt_time(s.get('start'), tz)} to {fmt_time(s.get('end'), tz)}{span}"))
    if p:
        rows.append(("Pump", f"{p.get('model', '—')}; state at the end: {str(p.get('state', '—')).replace('_', ' ')}"))
        rows.append(("Drug", drug_row(p.get("drug"), p.get("concentration_mg_per_ml"), units)))
        th = p.get("therapy") or {}
        therapy = units.text(th.get("description") or th.get("mode") or "—")
        if th.get("daily_dose_mg") is not None and th.get("mode") != "simple_continuous":
            therapy += f" ({units.amount(th['daily_dose_mg'])} per day)"
        n_prog = sum(1 for e in result.get("events") or [] if e["type"] == "therapy_programmed")
        if n_prog:
            therapy += f" (reprogrammed {n_prog} time{'s' if n_prog > 1 else ''})"
        rows.append(("Therapy at the end", therapy))
    if t:
        prog, deliv = t.get("programmed_mg"), t.get("delivered_mg")
        share = f" ({pct(deliv / prog, 1)} of programmed)" if prog and deliv is not None else ""
        rows.append(("Programmed (pump's belief)", units.amount(prog)))
        rows.append(("Reached the spinal fluid", units.amount(deliv) + share))
        if t.get("lost_mg"):
            rows.append(("Lost to the tissue", units.amount(t.get("lost_mg"))))
        rows.append(("Left the reservoir", f"{num(t.get('pumped_ml'), 4)} mL"))
        if t.get("ptm_requests"):
            rows.append(
                (
                    "Patient boluses",
                    f"{t['ptm_requests']} requested, {t.get('ptm_granted', 0)} granted, "
                    f"{t.get('ptm_denied', 0)} denied",
                )
            )
    if p:
        rows.append(
            (
                "Reservoir at the end",
                f"actual {num(p.get('reservoir_ml'), 3)} mL; "
                f"the pump's estimate {num(p.get('reservoir_estimate_ml'), 3)} mL",
            )
        )
        refills = result.get("refills") or []
        limit, _ = discrepancy_limit(p.get("model"))
        flagged = [r for r in refills if refill_flagged(r, limit)]
        if refills:
            worst = max(refills, key=lambda r: abs(float(r["discrepancy_ml"])))
            rows.append(
                (
                    "Refills",
                    f"{len(refills)}; {len(flagged)} with a discrepancy above {limit:g} mL; largest "
                    f"{signed(float(worst['discrepancy_ml']))} mL",
                )
            )
        else:
            rows.append(("Refills", "none in this period"))
        events = result.get("events") or []
        counts = Counter(e["type"] for e in events if e["type"] in ALARM_TYPES)
        raised = "; ".join(f"{EVENT_LABELS[k]} ×{v}" for k, v in sorted(counts.items())) or "none"
        active = ", ".join(
            f"{a.get('type', '?').replace('_', ' ')} ({a.get('severity', '?')})" for a in p.get("alarms") or []
        )
        rows.append(("Alarms raised", raised))
        rows.append(("Alarms active at the end", active or "none"))
        battery = "—"
        if p.get("eri"):
            eos = p.get("end_of_service") or next((e["time"] for e in events if e["type"] == "end_of_service"), None)
            battery = f"ERI {fmt_time(p['eri'], tz)}; end of service {fmt_time(eos, tz)}"
        elif p.get("battery_to_eri") is not None:
            battery = f"{pct(p['battery_to_eri'])} of life to the elective replacement indicator left"
        rows.append(("Battery", battery))
        truth = []
        if p.get("flow_accuracy") is not None:
            truth.append(f"flow accuracy {pct(p['flow_accuracy'], 1)}")
        truth.append(f"catheter {p.get('catheter_fault') or 'intact'}")
        rows.append(("Hidden truth at the end", "; ".join(truth)))
    if s:
        seed = s.get("seed")
        rows.append(("Scenario", f"{s.get('name', '—')}" + (f" (seed {seed})" if seed is not None else "")))
    return rows


def refill_rows(result: dict[str, Any], tz: timezone) -> list[dict[str, Any]]:
    p = result.get("pump") or {}
    limit, _ = discrepancy_limit(p.get("model"))
    units = DrugUnits(p.get("drug"))
    rows = []
    for r in result.get("refills") or []:
        flagged = refill_flagged(r, limit)
        rows.append(
            {
                "time": fmt_time(r["time"], tz),
                "expected": num(r["expected_ml"], 4),
                "withdrawn": num(r["withdrawn_ml"], 4),
                "discrepancy": signed(float(r["discrepancy_ml"])),
                "flagged": flagged,
                "filled": num(r.get("filled_ml"), 4),
                "drug": f"{r.get('drug', '')} {units.conc(r.get('concentration_mg_per_ml'))}".strip(),
                "bridge": "yes" if r.get("bridge_bolus") else "no",
                "next": fmt_date(r.get("next_refill"), tz) if r.get("next_refill") else "—",
                "reasons": list(r.get("flag_reasons") or []),
                "causes": list(r.get("likely_causes") or []),
            }
        )
    return rows


def event_table(result: dict[str, Any], tz: timezone) -> dict[str, Any]:
    events = result.get("events") or []
    units = DrugUnits((result.get("pump") or {}).get("drug"))
    counts = Counter(e["type"] for e in events)
    shown = events
    omitted: Counter[str] = Counter()
    if len(events) > MAX_EVENT_ROWS:
        shown = [e for e in events if e["type"] not in ROUTINE_TYPES]
        omitted = Counter(e["type"] for e in events if e["type"] in ROUTINE_TYPES)
        if len(shown) > MAX_EVENT_ROWS:
            half = MAX_EVENT_ROWS // 2
            for e in shown[half:-half]:
                omitted[e["type"]] += 1
            shown = shown[:half] + shown[-half:]
    rows = []
    for e in shown:
        details = [detail_text(k, v, tz, units) for k, v in e.items() if k not in ("time", "type", "device", "seq")]
        rows.append(
            {
                "time": fmt_time(e["time"], tz),
                "type": e["type"],
                "label": event_label(e["type"]),
                "category": category_of(e),
                "device": bool(e.get("device", True)),
                "details": "; ".join(details),
                "level": "critical"
                if e["type"] in CRITICAL_ALARMS
                else ("warning" if e["type"] in ALARM_TYPES else ""),
            }
        )
    cats = Counter(r["category"] for r in rows)
    return {
        "rows": rows,
        "total": len(events),
        "categories": [(c, CATEGORY_LABELS[c], cats[c]) for c in CATEGORY_LABELS if cats[c]],
        "counts": [
            (EVENT_LABELS.get(k, k), v, k in {"catheter_fault", "catheter_revision", "reservoir_depleted"})
            for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
        ],
        "omitted": [(EVENT_LABELS.get(k, k).lower(), v) for k, v in sorted(omitted.items(), key=lambda kv: -kv[1])],
        "omitted_total": sum(omitted.values()),
    }


# ---- figures -----------------------------------------------------------------------------------


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(result: dict[str, Any]) -> str:
    """The whole page as text (``result`` already validated)."""
    scenario = result.get("scenario") or {}
    c = report_input(result)  # the typed input, built once: every time below is already parsed
    tz = c.tz
    pump = result.get("pump") or {}
    figures = {k: Markup(v) for k, v in pump_figures(c).items()}
    pfig = {k: Markup(v) for k, v in patient_figures(c).items()}
    patient = result.get("patient") or None
    limit, limit_source = discrepancy_limit(pump.get("model"))
    series = result.get("series") or {}
    dose = series.get("dose") or {}
    title = scenario.get("name") or ("Virtual cohort" if result.get("cohort") else "itdd result")
    context = {
        "title": title,
        "disclaimer": result.get("disclaimer") or DISCLAIMER,
        "version": result.get("itdd_version", __version__),
        "report_version": __version__,
        "scenario": scenario,
        "offset": scenario.get("utc_offset", "+00:00"),
        "period": (fmt_time(scenario.get("start"), tz), fmt_time(scenario.get("end"), tz)) if scenario else None,
        "findings": findings_of(result, tz, c),
        "summary": summary_rows(result, tz, c),
        "has_pump": bool(pump),
        "figures": figures,
        "reservoir_error": (series.get("reservoir") or {}).get("actual", {}).get("max_error_ml"),
        "dose_bin_days": dose.get("bin_days"),
        "refills": refill_rows(result, tz),
        "discrepancy_limit": limit,
        "discrepancy_source": limit_source,
        "events": event_table(result, tz),
        "patient": patient,
        "patient_figures": pfig,
        "patient_profile": [
            (nice_label(str(k)), "—" if v is None else (num(v, 4) if isinstance(v, float) else str(v)))
            for k, v in ((patient or {}).get("profile") or {}).items()
        ],
        "trial": trial_context(c),
        "pathway": pathway_context(c),
        "cohort": cohort_context(c),
        "drug": pump.get("drug"),
        "unit": c.units.unit,
    }
    return _env().get_template("report.html").render(**context)


__all__ = ["MAX_EVENT_ROWS", "DrugUnits", "Finding", "findings_of", "render_html"]
