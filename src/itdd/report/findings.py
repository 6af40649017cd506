"""Findings: what a physician should look at first (alarms, hidden faults, refill discrepancies,
delivery gaps, stalls, the screening trial's alerts), each with its level and time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import quantities as q
from . import plots
from .input import EventIn, ReportInput, report_input
from .text import (
    ALARM_TYPES,
    CRITICAL_ALARMS,
    EVENT_LABELS,
    DrugUnits,
    fmt_time,
    num,
    pct,
    signed,
)

# Programmed vs delivered: a difference above this share is a finding (assumption: well outside
# the +/-2.5% per-refill accuracy of Wesemann 2014 [S], well inside the labelled 14.5% [U]).
DELIVERY_GAP_FRACTION = 0.05

# Refill discrepancy threshold when the pump model is unknown to the drug library:
# clinical-facts.md "outside accuracy spec or > 2 mL -> evaluate" [S2].
DEFAULT_DISCREPANCY_ML = 2.0
DEFAULT_DISCREPANCY_SOURCE = "clinical-facts.md: refill discrepancy > 2 mL -> evaluate [S2]"


@dataclass
class Finding:
    level: str  # critical, warning, info, ok
    text: str
    time: str | None = None  # ISO instant the finding is about (orders findings of one level)

    @property
    def label(self) -> str:
        return {"critical": "Critical", "warning": "Check", "info": "Note", "ok": "OK"}[self.level]


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


def findings_of(result: dict[str, Any], tz: timezone | None = None, inp: ReportInput | None = None) -> list[Finding]:
    """What a clinician should look at first, most serious first (``inp``: the typed input, when built)."""
    inp = inp if inp is not None else report_input(result)
    tz = tz or inp.tz
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
    out += _stall_findings(inp.events, tz)
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
    out += _patient_findings(result, tz, inp)
    order = {"critical": 0, "warning": 1, "info": 2, "ok": 3}

    def key(f: Finding) -> tuple[int, float]:
        t = origin_of(f.time, tz) if f.time else None
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


def _stall_findings(events: tuple[EventIn, ...], tz: timezone) -> list[Finding]:
    """Each motor stall with how long infusion stopped; a stall without recovery is critical."""
    out: list[Finding] = []
    field_on: str | None = None
    for i, e in enumerate(events):
        if e.type == "magnetic_field_on":
            field_on = e.time
        if e.type != "motor_stall":
            continue
        cause = " in an MRI magnetic field" if field_on is not None and field_on == e.time else ""
        rec = next((x for x in events[i + 1 :] if x.type in ("motor_stall_recovery", "motor_stall")), None)
        start = fmt_time(e.time, tz)
        if rec is None or rec.type != "motor_stall_recovery":
            out.append(
                Finding(
                    "critical",
                    f"Motor stall{cause} on {start}: no recovery logged — infusion stopped since.",
                    e.time,
                )
            )
            continue
        gap = q.fmt_duration((rec.at - e.at).total_seconds())
        out.append(
            Finding(
                "warning",
                f"Motor stall{cause} on {start}: infusion stopped for {gap}, until the recovery at "
                f"{fmt_time(rec.time, tz)}.",
                e.time,
            )
        )
    return out


def _patient_findings(result: dict[str, Any], tz: timezone, inp: ReportInput) -> list[Finding]:
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
    o = result.get("outcome") or {}
    if o.get("death_cause"):
        cause = o["death_cause"].replace("_", " ")
        out.append(
            Finding(
                "critical",
                f"The patient died on day {num(o.get('death_day'), 4)} after the implant: {cause}.",
                o.get("death"),
            )
        )
    elif o.get("explanted"):
        out.append(
            Finding(
                "warning",
                f"Pump explanted on day {num(o.get('explant_day'), 4)} after the implant: "
                f"{o.get('explant_reason') or 'reason not recorded'}.",
            )
        )
    patient = result.get("patient") or {}
    ps = patient.get("series") or {}
    days = ps.get("days") or []
    origin = inp.patient_origin if ps.get("origin") else inp.origin

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


def origin_of(text: str | None, tz: timezone) -> datetime | None:
    if not text:
        return None
    try:
        return plots.parse_time(text, tz)
    except ValueError:
        return None


# ---- sections ----------------------------------------------------------------------------------
