"""From a validated result to the page: findings, tables, figures, and the HTML itself.

Everything here reads only the result (a JSON-able dict), so ``itdd simulate --report`` and
``itdd report RESULT.json`` give the same page.  No clock is read: the page says which itdd
version made it and from which scenario, never when.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import DISCLAIMER, __version__
from .. import quantities as q
from ..pump.events import ALARM_EVENTS, CATEGORY_LABELS, CRITICAL_ALARM_EVENTS, EVENTS, ROUTINE_EVENTS, event_label
from ..timeunits import SECONDS_PER_DAY
from . import plots

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Event rows in the log table (assumption: more is unreadable in a page; the full log is in
# result.json / events.csv).  Routine bolus rows are the first to be left out past this.
MAX_EVENT_ROWS = 2000

# Calendar days drawn as steps when the dose series is binned by whole days (assumption: about
# 10 years; past that the binned series alone is drawn).
MAX_DAILY_POINTS = 4000

# The per-calendar-day panel needs a few days to say anything (assumption).
MIN_DAILY_ROWS = 3

# Programmed vs delivered: a difference above this share is a finding (assumption: well outside
# the +/-2.5% per-refill accuracy of Wesemann 2014 [S], well inside the labelled 14.5% [U]).
DELIVERY_GAP_FRACTION = 0.05

# Refill discrepancy threshold when the pump model is unknown to the drug library:
# clinical-facts.md "outside accuracy spec or > 2 mL -> evaluate" [S2].
DEFAULT_DISCREPANCY_ML = 2.0
DEFAULT_DISCREPANCY_SOURCE = "clinical-facts.md: refill discrepancy > 2 mL -> evaluate [S2]"

# The event vocabulary and its wording live in itdd.pump.events (one home, shared with the clinic).
EVENT_LABELS: dict[str, str] = {t: k.label for t, k in EVENTS.items()}
ALARM_TYPES = ALARM_EVENTS
CRITICAL_ALARMS = CRITICAL_ALARM_EVENTS
ROUTINE_TYPES = ROUTINE_EVENTS


def category_of(event: dict[str, Any]) -> str:
    if not event.get("device", True):
        return "hidden"
    kind = EVENTS.get(event["type"])
    return kind.category if kind is not None else "other"


# ---- formatting --------------------------------------------------------------------------------


def fmt_time(text: str | None, tz: timezone) -> str:
    """ISO text -> ``2026-01-06 17:00`` in the scenario's offset (seconds only when not zero)."""
    if not text:
        return "—"
    try:
        dt = plots.parse_time(text, tz)
    except ValueError:
        return text
    return dt.strftime("%Y-%m-%d %H:%M" if dt.second == 0 and dt.microsecond == 0 else "%Y-%m-%d %H:%M:%S")


def fmt_date(text: str | None, tz: timezone) -> str:
    return fmt_time(text, tz)[:10] if text else "—"


def num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if abs(x) < 1e-9:  # rounding noise (and -0) reads as zero
        return "0"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    if "e" in text:
        text = f"{x:.{digits + 3}f}".rstrip("0").rstrip(".")
    return text


def signed(x: float, decimals: int = 2) -> str:
    """``+9.06`` / ``-1.20`` / ``0.00`` (never ``-0.00``)."""
    text = f"{x:+.{decimals}f}"
    return text[1:] if float(text) == 0 else text


def pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


class DrugUnits:
    """Displays amounts in the unit clinicians prescribe the drug in (mcg for ziconotide...)."""

    def __init__(self, drug: str | None) -> None:
        self.unit = "mg"
        if drug:
            try:
                from ..drugs import get_drug

                self.unit = get_drug(drug).dose_unit
            except Exception:  # an unknown drug: show mg
                self.unit = "mg"
        self.factor = q.display_factor(self.unit)

    def amount(self, mg: float | None) -> str:
        return "—" if mg is None else q.fmt_amount(mg, self.unit, grouping=True)

    def rate(self, mg_per_day: float | None) -> str:
        return "—" if mg_per_day is None else q.fmt_dose_rate(mg_per_day, self.unit, grouping=True)

    def conc(self, mg_per_ml: float | None) -> str:
        return "—" if mg_per_ml is None else q.fmt_concentration(mg_per_ml, self.unit, grouping=True)

    def text(self, text: str) -> str:
        """Amounts written in mg inside a text (a therapy description) rewritten in the drug's unit."""
        if self.unit == "mg":
            return text
        return _MG_RE.sub(lambda m: q.fmt_amount(float(m.group(1)), self.unit, grouping=True), text)


_MG_RE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?) ?mg\b")


_UNIT_TOKENS = (("mg", "per", "ml"), ("mg", "per", "day"), ("ml",), ("mg",), ("s",), ("fraction",))


def _split_unit(key: str) -> tuple[str, str]:
    """``reservoir_ml_entered`` -> (``reservoir entered``, ``ml``); ``leak_fraction`` -> (``leak``, ``fraction``)."""
    tokens = key.split("_")
    for unit in _UNIT_TOKENS:
        n = len(unit)
        for i in range(len(tokens) - n, 0, -1):  # the unit is never the first word
            if tuple(tokens[i : i + n]) == unit:
                label = " ".join(tokens[:i] + tokens[i + n :])
                return label, "_".join(unit)
    return key.replace("_", " "), ""


def detail_text(key: str, value: Any, tz: timezone, units: DrugUnits) -> str:
    """One event detail as ``label: value unit``, the unit read from the key's name."""
    label, unit = _split_unit(key)
    if value is None:
        return f"{label}: —"
    if isinstance(value, bool):
        return f"{label}: {'yes' if value else 'no'}"
    if isinstance(value, int | float):
        if unit == "mg_per_ml":
            text = units.conc(value)
        elif unit == "mg_per_day":
            text = units.rate(value)
        elif unit == "ml":
            text = f"{num(value, 4)} mL"
        elif unit == "mg":
            text = units.amount(value)
        elif unit == "s":
            text = q.fmt_duration(value)
        elif unit == "fraction":
            text = pct(value)
        else:
            text = num(value, 4)
        return f"{label}: {text}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return f"{label}: {fmt_time(value, tz)}"
    if isinstance(value, dict | list):
        return f"{label}: {_compact(value)}"
    return f"{label}: {value}"


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_compact(v) for v in value)
    if isinstance(value, float):
        return num(value, 4)
    return str(value)


# ---- findings ----------------------------------------------------------------------------------


@dataclass
class Finding:
    level: str  # critical, warning, info, ok
    text: str
    time: str | None = None  # ISO instant the finding is about (orders findings of one level)

    @property
    def label(self) -> str:
        return {"critical": "Critical", "warning": "Check", "info": "Note", "ok": "OK"}[self.level]


@dataclass
class Ctx:
    result: dict[str, Any]
    tz: timezone
    origin: datetime | None
    end: datetime | None
    units: DrugUnits
    findings: list[Finding] = field(default_factory=list)


def discrepancy_limit(model: str | None) -> tuple[float, str]:
    """(threshold mL, source text) for a pump model."""
    try:
        from ..drugs import device_limits, sources

        cited = device_limits().discrepancy_threshold.get(model or "")
        if cited is not None:
            return cited.value, sources().get(cited.source, cited.source)
    except Exception:  # the library is optional for the report
        pass
    return DEFAULT_DISCREPANCY_ML, DEFAULT_DISCREPANCY_SOURCE


def refill_limit(row: dict[str, Any], limit_ml: float) -> float:
    """The threshold the programmer's refill workflow used for this row, else the model's."""
    own = row.get("discrepancy_threshold_ml")
    return float(own) if isinstance(own, int | float) and not isinstance(own, bool) else limit_ml


def refill_flagged(row: dict[str, Any], limit_ml: float) -> bool:
    flag = row.get("flag")
    if flag is not None:
        return bool(flag)
    return abs(float(row["discrepancy_ml"])) > refill_limit(row, limit_ml)


def findings_of(result: dict[str, Any], tz: timezone | None = None) -> list[Finding]:
    """What a clinician should look at first, most serious first."""
    tz = tz or plots.tz_of(result.get("scenario", {}).get("utc_offset", "+00:00"))
    pump = result.get("pump") or {}
    units = DrugUnits(pump.get("drug"))
    events = result.get("events") or []
    out: list[Finding] = []

    def when(text: str) -> str:
        return fmt_time(text, tz)

    # hidden truth
    for e in events:
        if e["type"] == "catheter_fault":
            kind = e.get("kind", "fault")
            dest = e.get("destination")
            share = e.get("leak_fraction")
            more = ""
            if kind == "occlusion":
                more = ": no drug reaches the spinal fluid"
            elif share is not None:
                place = {"subcutaneous": "subcutaneous tissue", "epidural": "epidural space"}.get(dest or "", "tissue")
                more = f": {pct(share)} of the drug leaving the catheter goes to the {place}"
            out.append(
                Finding("critical", f"Catheter {kind} on {when(e['time'])} (the pump cannot see it){more}.", e["time"])
            )
        elif e["type"] == "reservoir_depleted":
            out.append(
                Finding(
                    "critical",
                    f"The reservoir actually ran dry on {when(e['time'])}; delivery stopped although the pump "
                    "could not tell.",
                    e["time"],
                )
            )
        elif e["type"] == "catheter_access_port_injection":
            out.append(
                Finding(
                    "critical",
                    f"Injection into the catheter access port on {when(e['time'])}: "
                    f"{units.amount(e.get('delivered_mg'))} went straight to the spinal fluid.",
                    e["time"],
                )
            )
        elif e["type"] == "catheter_revision":
            out.append(Finding("info", f"Catheter revised on {when(e['time'])}.", e["time"]))
    # alarms raised during the run
    raised = [e for e in events if e["type"] in ALARM_TYPES]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in raised:
        by_type.setdefault(e["type"], []).append(e)
    out += _stall_findings(events, tz)
    for kind, rows in by_type.items():
        if kind == "motor_stall":
            continue
        level = "critical" if kind in CRITICAL_ALARMS else "warning"
        n = len(rows)
        times = f"first on {when(rows[0]['time'])}" if n > 1 else f"on {when(rows[0]['time'])}"
        extra = ""
        if kind == "eri_alarm" and pump.get("end_of_service"):
            extra = f"; end of service {when(pump['end_of_service'])}"
        label = EVENT_LABELS.get(kind, kind)
        text = f"{label} {times}" + (f" ({n} times)" if n > 1 else "") + f"{extra}."
        out.append(Finding(level, text, rows[0]["time"]))
    # refill discrepancies
    limit, _ = discrepancy_limit(pump.get("model"))
    for r in result.get("refills") or []:
        if refill_flagged(r, limit):
            d = float(r["discrepancy_ml"])
            causes = r.get("likely_causes") or []
            why = (
                "likely: " + "; ".join(causes)
                if causes
                else "more came back than the pump expected: less drug left the pump than it believes "
                "(occlusion, stall or flow below specification?)"
                if d > 0
                else "less came back than the pump expected: more left the reservoir than it believes"
            )
            out.append(
                Finding(
                    "warning",
                    f"Refill on {when(r['time'])}: withdrew {num(r['withdrawn_ml'], 4)} mL, the pump expected "
                    f"{num(r['expected_ml'], 4)} mL (discrepancy {signed(d)} mL, limit {refill_limit(r, limit):g} mL)"
                    f" — {why}. "
                    "Evaluate the pump and catheter.",
                    r["time"],
                )
            )
    # delivery vs program
    t = result.get("totals") or {}
    prog, deliv = t.get("programmed_mg"), t.get("delivered_mg")
    if prog and deliv is not None and prog > 0:
        gap = (prog - deliv) / prog
        if gap > DELIVERY_GAP_FRACTION:
            lost = t.get("lost_mg") or 0.0
            where = f"; {units.amount(lost)} went to the tissue" if lost > 0 else ""
            out.append(
                Finding(
                    "warning",
                    f"{units.amount(prog - deliv)} ({pct(gap)}) less drug reached the spinal fluid than the pump "
                    f"believes it delivered ({units.amount(deliv)} of {units.amount(prog)}){where}.",
                )
            )
        elif gap < -DELIVERY_GAP_FRACTION:
            out.append(
                Finding(
                    "warning",
                    f"{units.amount(deliv - prog)} ({pct(-gap)}) more drug reached the spinal fluid than programmed "
                    f"({units.amount(deliv)} vs {units.amount(prog)}).",
                )
            )
    if pump.get("state") and pump["state"] not in ("infusing", "priming", "bridge_bolus", "clinician_bolus"):
        state = pump["state"].replace("_", " ")
        out.append(Finding("warning", f"At the end of the period the pump is not infusing normally: state '{state}'."))
    out += _patient_findings(result, tz)
    order = {"critical": 0, "warning": 1, "info": 2, "ok": 3}

    def key(f: Finding) -> tuple[int, float]:
        t = _origin(f.time, tz) if f.time else None
        return order[f.level], t.timestamp() if t else math.inf

    out.sort(key=key)
    if not any(f.level in ("critical", "warning") for f in out) and ("pump" in result or "trial" in result):
        out.append(
            Finding(
                "ok",
                "No alarm, no hidden fault and no refill discrepancy; delivery to the spinal fluid matched "
                "the program.",
            )
        )
    return out


def _stall_findings(events: list[dict[str, Any]], tz: timezone) -> list[Finding]:
    """Each motor stall with how long infusion stopped; a stall without recovery is critical."""
    out: list[Finding] = []
    field_on: str | None = None
    for i, e in enumerate(events):
        if e["type"] == "magnetic_field_on":
            field_on = e["time"]
        if e["type"] != "motor_stall":
            continue
        cause = " in an MRI magnetic field" if field_on is not None and field_on == e["time"] else ""
        rec = next((x for x in events[i + 1 :] if x["type"] in ("motor_stall_recovery", "motor_stall")), None)
        start = fmt_time(e["time"], tz)
        if rec is None or rec["type"] != "motor_stall_recovery":
            out.append(
                Finding(
                    "critical",
                    f"Motor stall{cause} on {start}: no recovery logged — infusion stopped since.",
                    e["time"],
                )
            )
            continue
        t0, t1 = plots.parse_time(e["time"], tz), plots.parse_time(rec["time"], tz)
        gap = q.fmt_duration((t1 - t0).total_seconds())
        out.append(
            Finding(
                "warning",
                f"Motor stall{cause} on {start}: infusion stopped for {gap}, until the recovery at "
                f"{fmt_time(rec['time'], tz)}.",
                e["time"],
            )
        )
    return out


def _patient_findings(result: dict[str, Any], tz: timezone) -> list[Finding]:
    out: list[Finding] = []
    trial = result.get("trial")
    if trial:
        refusal = trial.get("refusal")
        if refusal:
            out.append(Finding("warning", f"Screening trial refused — {refusal['field']}: {refusal['message']}."))
        alerts = trial.get("alerts") or []
        if alerts:
            first = alerts[0]
            out.append(
                Finding(
                    "critical",
                    f"{len(alerts)} alert{'s' if len(alerts) > 1 else ''} during the screening trial, first on "
                    f"{fmt_time(first['time'], tz)}: {first['message']}.",
                    first["time"],
                )
            )
        outcome = trial.get("outcome") or {}
        if outcome.get("success") is not None:
            relief = outcome.get("pain_relief_fraction")
            need = outcome.get("success_threshold_fraction", 0.5)
            verdict = "successful" if outcome["success"] else "not successful"
            out.append(
                Finding(
                    "info" if outcome["success"] else "warning",
                    f"Screening trial {verdict}: {pct(relief)} pain relief (success needs at least {pct(need)}).",
                    trial.get("end") or trial.get("start"),
                )
            )
    patient = result.get("patient") or {}
    ps = patient.get("series") or {}
    days = ps.get("days") or []
    origin = _origin(ps.get("origin") or result.get("scenario", {}).get("start"), tz)

    def first_breach(key: str, test: Any) -> tuple[int, float] | None:
        for i, v in enumerate(ps.get(key) or []):
            if v is not None and test(v):
                return i, v
        return None

    checks = [
        ("withdrawal", lambda v: v >= plots.WITHDRAWAL_MODERATE_SCORE, "Withdrawal signs (score {v:.1f} of 10)"),
        ("resp_rate_per_min", lambda v: v < plots.RR_ALERT_PER_MIN, "Respiratory rate {v:.0f}/min"),
        ("spo2_pct", lambda v: v < plots.SPO2_ALERT_PERCENT, "SpO2 {v:.0f}%"),
        ("sedation", lambda v: v >= plots.SEDATION_ALERT_SCORE, "Sedation {v:.1f} of 3 (frequently drowsy or worse)"),
    ]
    for key, test, text in checks:
        hit = first_breach(key, test)
        if hit is not None and origin is not None:
            i, v = hit
            at = origin + timedelta(days=days[i])
            out.append(
                Finding("critical", text.format(v=v) + f" from {at.strftime('%Y-%m-%d %H:%M')}.", at.isoformat())
            )
    return out


def _origin(text: str | None, tz: timezone) -> datetime | None:
    if not text:
        return None
    try:
        return plots.parse_time(text, tz)
    except ValueError:
        return None


# ---- sections ----------------------------------------------------------------------------------


def summary_rows(result: dict[str, Any], tz: timezone) -> list[tuple[str, str]]:
    s = result.get("scenario") or {}
    p = result.get("pump") or {}
    t = result.get("totals") or {}
    units = DrugUnits(p.get("drug"))
    rows: list[tuple[str, str]] = []
    if s:
        start, end = _origin(s.get("start"), tz), _origin(s.get("end"), tz)
        span = f" ({num((end - start).total_seconds() / SECONDS_PER_DAY, 4)} days)" if start and end else ""
        rows.append(("Period", f"{fmt_time(s.get('start'), tz)} to {fmt_time(s.get('end'), tz)}{span}"))
    if p:
        rows.append(("Pump", f"{p.get('model', '—')}; state at the end: {str(p.get('state', '—')).replace('_', ' ')}"))
        rows.append(("Drug", f"{p.get('drug', '—')} {units.conc(p.get('concentration_mg_per_ml'))}"))
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


def pump_figures(c: Ctx) -> dict[str, str]:
    r = c.result
    out: dict[str, str] = {}
    series = r.get("series")
    pump = r.get("pump") or {}
    events = r.get("events") or []
    if c.origin is None:
        return out
    tz = c.tz
    limit, _ = discrepancy_limit(pump.get("model"))
    if series and series["reservoir"]["actual"]["days"]:
        origin = plots.parse_time(series["origin"], tz)
        res = series["reservoir"]
        capacity = None
        try:
            from ..pump.models import get_model

            capacity = get_model(pump.get("model", "")).reservoir_capacity_ml
        except Exception:  # an unknown model: scale to the data
            capacity = None
        out["reservoir"] = plots.reservoir_figure(
            origin=origin,
            actual=(res["actual"]["days"], res["actual"]["ml"]),
            estimate=(res["estimate"]["days"], res["estimate"]["ml"]),
            capacity_ml=capacity,
            low_alarm_ml=pump.get("low_reservoir_alarm_ml"),
            refills=[
                (plots.parse_time(x["time"], tz), float(x["discrepancy_ml"]), refill_flagged(x, limit))
                for x in r.get("refills") or []
            ],
            alarms=[(plots.parse_time(e["time"], tz), e["type"]) for e in events if e["type"] in ALARM_TYPES],
            hidden=[
                (plots.parse_time(e["time"], tz), hidden_label(e))
                for e in events
                if not e.get("device", True) and e["type"] not in ("magnetic_field_off",)
            ],
            end=c.end,
        )
    dose = series["dose"] if series else None
    daily = daily_rates(r.get("daily") or [], tz, c.origin, c.end)
    f = c.units.factor
    if dose and dose["days"] and (dose.get("bin_days") or 0) >= 1.0 and 0 < len(daily) <= MAX_DAILY_POINTS:
        # The rate series is already a mean over days: the exact calendar-day means say the same, better.
        dose = None
    if dose and dose["days"]:
        origin = plots.parse_time(series["origin"], tz) if series else c.origin
        out["dose"] = plots.dose_figure(
            origin=origin,
            days=dose["days"],
            programmed=[v * f for v in dose["programmed_mg_per_day"]],
            delivered=[v * f for v in dose["delivered_mg_per_day"]],
            bin_days=dose.get("bin_days"),
            daily=[(d, p * f, v * f) for d, p, v in daily] if len(daily) >= MIN_DAILY_ROWS else [],
            point_doses=[
                (origin + timedelta(days=pdose["day"]), pdose["mg"] * f)
                for pdose in (series or {}).get("point_doses", [])
            ],
            drug=_drug_name(pump.get("drug")),
            unit=c.units.unit,
            start=c.origin,
            end=c.end,
        )
    elif daily:  # a multi-year run, or an older result without series: the dose per calendar day
        dose_origin = daily[0][0]
        days = [(d - dose_origin).total_seconds() / SECONDS_PER_DAY for d, _, _ in daily]
        days.append(days[-1] + 1)
        prog = [p * f for _, p, _ in daily]
        deliv = [v * f for _, _, v in daily]
        out["dose"] = plots.dose_figure(
            origin=dose_origin,
            days=days,
            programmed=[*prog, prog[-1]],
            delivered=[*deliv, deliv[-1]],
            bin_days=1.0,
            daily=[],
            point_doses=[],
            drug=_drug_name(pump.get("drug")),
            unit=c.units.unit,
            start=c.origin,
            end=c.end,
        )
    return out


def hidden_label(event: dict[str, Any]) -> str:
    """A short label on the reservoir plot for the hidden events a clinician must not miss."""
    if event["type"] == "catheter_fault":
        return f"catheter {event.get('kind', 'fault')}"
    if event["type"] == "reservoir_depleted":
        return "ran dry"
    if event["type"] == "magnetic_field_on":
        return "MRI"
    if event["type"] == "catheter_revision":
        return "revision"
    return ""


_LABEL_UNITS = {
    "kg": "kg",
    "ml": "mL",
    "cm": "cm",
    "mg": "mg",
    "years": "years",
    "y": "years",
    "percent": "%",
    "per_min": "/min",
    "mg_per_day": "mg/day",
    "mg_per_ml": "mg/mL",
}
_ACRONYMS = {"csf": "CSF", "mme": "MME", "mri": "MRI", "bmi": "BMI", "spo2": "SpO2", "id": "ID", "ptm": "PTM"}


def nice_label(key: str) -> str:
    """``csf_volume_ml`` -> ``CSF volume (mL)``; ``weight_kg`` -> ``Weight (kg)``; ``mri`` -> ``MRI``."""
    unit = ""
    for suffix in sorted(_LABEL_UNITS, key=len, reverse=True):
        if key.endswith("_" + suffix):
            unit = _LABEL_UNITS[suffix]
            key = key[: -len(suffix) - 1]
            break
    words = [_ACRONYMS.get(w, w) for w in key.split("_") if w]
    text = " ".join(words)
    text = text[:1].upper() + text[1:] if text else text
    return f"{text} ({unit})" if unit else text


def _drug_name(drug: str | None) -> str:
    return (drug or "drug").capitalize()


def daily_rates(
    rows: list[dict[str, Any]], tz: timezone, start: datetime | None, end: datetime | None
) -> list[tuple[datetime, float, float]]:
    """Daily rows as mean mg/day over the part of each calendar day the run covers.

    A run that starts at 08:00 covers two thirds of its first day; dividing by the hours covered
    keeps a steady therapy flat instead of showing a false dip on the first and last days.
    """
    out = []
    for d in rows:
        if "date" not in d:
            continue
        day0 = datetime.fromisoformat(d["date"]).replace(tzinfo=tz)
        day1 = day0 + timedelta(days=1)
        lo = max(day0, start) if start else day0
        hi = min(day1, end) if end else day1
        covered = (hi - lo).total_seconds() / SECONDS_PER_DAY
        if covered <= 1e-9:
            continue
        out.append((day0, d.get("programmed_mg", 0.0) / covered, d.get("delivered_mg", 0.0) / covered))
    return out


def patient_figures(c: Ctx) -> dict[str, str]:
    patient = c.result.get("patient") or {}
    ps = patient.get("series")
    out: dict[str, str] = {}
    if not ps or not ps.get("days"):
        return out
    origin = _origin(ps.get("origin"), c.tz) or c.origin
    if origin is None:
        return out
    days = ps["days"]
    conc_keys = ("csf_tip_mg_per_ml", "csf_mg_per_ml", "effect_site_mg_per_ml", "plasma_mg_per_ml")
    if any(_has(ps, k) for k in conc_keys):
        out["concentration"] = plots.concentration_figure(
            origin=origin, days=days, columns={k: ps[k] for k in conc_keys if _has(ps, k)}, end=c.end
        )
    if _has(ps, "pain") or _has(ps, "oral_mme_per_day"):
        profile = patient.get("profile") or {}
        baseline = profile.get("baseline_pain_score", profile.get("baseline_pain"))
        out["pain"] = plots.pain_figure(
            origin=origin,
            days=days,
            pain=ps.get("pain") if _has(ps, "pain") else None,
            mme=ps.get("oral_mme_per_day") if _has(ps, "oral_mme_per_day") else None,
            baseline_pain=baseline if isinstance(baseline, int | float) and not isinstance(baseline, bool) else None,
            end=c.end,
        )
    safety = ("resp_rate_per_min", "spo2_pct", "sedation", "withdrawal", "pruritus", "nausea")
    if any(_has(ps, k) for k in safety):
        times = [origin + timedelta(days=d) for d in days]
        out["safety"] = plots.vitals_figure(
            tz=c.tz,
            times=times,
            columns={k: ps[k] for k in safety if _has(ps, k)},
            title="Safety signals: breathing, oxygen, sedation, withdrawal and side effects",
            xlim=(origin, c.end) if c.end else None,
            markers=len(days) <= 200,
        )
    return out


def _has(block: dict[str, Any], key: str) -> bool:
    col = block.get(key)
    return col is not None and any(v is not None for v in col)


def trial_context(c: Ctx) -> dict[str, Any] | None:
    trial = c.result.get("trial")
    if not trial:
        return None
    tz = c.tz
    units = DrugUnits(trial.get("drug"))
    vitals = trial.get("vitals") or []
    doses = trial.get("doses") or []
    alerts = trial.get("alerts") or []
    figure = None
    if vitals:
        times = [plots.parse_time(v["time"], tz) for v in vitals]
        keys = ("resp_rate_per_min", "spo2_pct", "sedation", "pain")
        columns = {k: [v.get(k) for v in vitals] for k in keys}
        dose_t = [(plots.parse_time(d["time"], tz), units.amount(d["dose_mg"])) for d in doses]
        alert_t = [(plots.parse_time(a["time"], tz), a["kind"]) for a in alerts]
        t_all = times + [t for t, _ in dose_t]
        pad = timedelta(minutes=30)
        figure = plots.vitals_figure(
            tz=tz,
            times=times,
            columns=columns,
            title="Vital signs during the screening trial",
            doses=dose_t,
            alerts=alert_t,
            xlim=(min(t_all) - pad, max(t_all) + pad),
        )
    outcome = trial.get("outcome") or {}
    vital_rows = []
    for v in vitals:
        rr, sp = v.get("resp_rate_per_min"), v.get("spo2_pct")
        vital_rows.append(
            {
                "time": fmt_time(v["time"], tz),
                "rr": num(rr, 3),
                "spo2": num(sp, 3),
                "sedation": num(v.get("sedation"), 2),
                "pain": num(v.get("pain"), 2),
                "rr_bad": rr is not None and rr < plots.RR_ALERT_PER_MIN,
                "spo2_bad": sp is not None and sp < plots.SPO2_ALERT_PERCENT,
            }
        )
    facts = [
        ("Drug", trial.get("drug") or "—"),
        ("Method", (trial.get("method") or "—").replace("_", " ")),
        ("Period", f"{fmt_time(trial.get('start'), tz)} to {fmt_time(trial.get('end'), tz)}"),
        (
            "Doses",
            "; ".join(
                f"{fmt_time(d['time'], tz)} {units.amount(d['dose_mg'])}"
                + (f" over {q.fmt_duration(d['duration_s'])}" if d.get("duration_s") else "")
                + (f" ({d['route']})" if d.get("route") else "")
                for d in doses
            )
            or "—",
        ),
    ]
    refused = bool(trial.get("refusal"))
    if refused:  # no trial took place: method, period and doses would only mislead
        facts = [("Drug", trial.get("drug") or "—"), ("Trial", "not done: refused at screening")]
        if outcome.get("baseline_pain_score") is not None:
            facts.append(("Pain score", f"baseline {num(outcome.get('baseline_pain_score'), 2)}"))
        if outcome.get("summary"):
            facts.append(("Summary", outcome["summary"]))
    elif outcome:
        relief = outcome.get("pain_relief_fraction")
        need = outcome.get("success_threshold_fraction", 0.5)
        verdict = {True: "success", False: "not successful", None: "undecided"}[outcome.get("success")]
        facts.append(("Outcome", f"{verdict}: {pct(relief)} pain relief (success needs ≥ {pct(need)})"))
        if outcome.get("baseline_pain_score") is not None:
            facts.append(
                (
                    "Pain score",
                    f"baseline {num(outcome.get('baseline_pain_score'), 2)}, "
                    f"best {num(outcome.get('best_pain_score'), 2)}",
                )
            )
        if outcome.get("summary"):
            facts.append(("Summary", outcome["summary"]))
    return {
        "facts": facts,
        "figure": Markup(figure) if figure else None,
        "alerts": [
            {
                "time": fmt_time(a["time"], tz),
                "kind": a["kind"].replace("_", " "),
                "message": a["message"],
                "value": num(a.get("value"), 3),
                "limit": num(a.get("limit"), 3),
            }
            for a in alerts
        ],
        "vitals": vital_rows,
        "refusal": trial.get("refusal"),
        "complications": [
            {"time": fmt_time(x["time"], tz), "kind": x["kind"].replace("_", " "), "details": x.get("details") or ""}
            for x in trial.get("complications") or []
        ],
    }


def pathway_context(c: Ctx) -> dict[str, Any] | None:
    pw = c.result.get("pathway")
    if not pw:
        return None
    stages = pw.get("stages") or []
    figure = plots.pathway_figure(tz=c.tz, stages=stages) if stages else None
    return {
        "figure": Markup(figure) if figure else None,
        "rows": [
            {
                "stage": nice_label(s["stage"]),
                "start": fmt_time(s["start"], c.tz),
                "end": fmt_time(s.get("end"), c.tz) if s.get("end") else "",
                "label": s["label"],
                "outcome": s.get("outcome") or "",
                "details": s.get("details") or "",
            }
            for s in sorted(stages, key=lambda s: plots.parse_time(s["start"], c.tz))
        ],
    }


def cohort_context(c: Ctx) -> dict[str, Any] | None:
    co = c.result.get("cohort")
    if not co:
        return None
    rows = co.get("rows") or []

    def value(v: float | None, unit: str | None) -> str:
        if v is None:
            return "—"
        if unit == "fraction":
            return pct(v, 1)
        return f"{num(v, 4)} {unit}" if unit else num(v, 4)

    return {
        "meta": [(k, str(co[k])) for k in ("patients", "years", "seed") if co.get(k) is not None],
        "figure": Markup(plots.cohort_figure(rows)) if rows else None,
        "rows": [
            {
                "metric": r["metric"],
                "simulated": value(r["simulated"], r.get("unit")),
                "published": value(r["published"], r.get("unit")),
                "source": r["source"],
                "note": r.get("note") or "",
            }
            for r in rows
        ],
        "calibration": co.get("calibration"),
    }


# ---- the page ----------------------------------------------------------------------------------


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
    tz = plots.tz_of(scenario.get("utc_offset", "+00:00"))
    origin = _origin(scenario.get("start"), tz)
    end = _origin(scenario.get("end"), tz)
    pump = result.get("pump") or {}
    c = Ctx(result, tz, origin, end, DrugUnits(pump.get("drug")))
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
        "findings": findings_of(result, tz),
        "summary": summary_rows(result, tz),
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


__all__ = ["MAX_EVENT_ROWS", "Finding", "findings_of", "render_html"]
