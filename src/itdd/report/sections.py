"""The page's figure and section contexts: pump figures, patient figures, the screening trial, the
pathway and the cohort (each a dict the template reads)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from markupsafe import Markup

from .. import quantities as q
from ..timeunits import SECONDS_PER_DAY
from . import patient_plots, plots
from .findings import (
    discrepancy_limit,
    refill_flagged,
)
from .input import ReportInput
from .outcome import outcome_rows
from .text import (
    ALARM_TYPES,
    DrugUnits,
    drug_name,
    fmt_time,
    hidden_label,
    nice_label,
    num,
    pct,
)

# Calendar days drawn as steps when the dose series is binned by whole days (assumption: about
# 10 years; past that the binned series alone is drawn).
MAX_DAILY_POINTS = 4000

# The per-calendar-day panel needs a few days to say anything (assumption).
MIN_DAILY_ROWS = 3


Ctx = ReportInput  # the sections read the typed input (itdd.report.input)


def pump_figures(c: Ctx) -> dict[str, str]:
    r = c.result
    out: dict[str, str] = {}
    series = r.get("series")
    pump = r.get("pump") or {}
    if c.origin is None:
        return out
    tz = c.tz
    limit, _ = discrepancy_limit(pump.get("model"))
    if series and series["reservoir"]["actual"]["days"]:
        origin = c.series_origin
        assert origin is not None  # a series always has its origin
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
            refills=[(x.at, x.discrepancy_ml, refill_flagged(x.row, limit)) for x in c.refills],
            alarms=[(e.at, e.type) for e in c.events if e.type in ALARM_TYPES],
            hidden=[
                (e.at, hidden_label(e.row))
                for e in c.events
                if not e.row.get("device", True) and e.type not in ("magnetic_field_off",)
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
        origin = c.series_origin if series and c.series_origin is not None else c.origin
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
            drug=drug_name(pump.get("drug")),
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
            drug=drug_name(pump.get("drug")),
            unit=c.units.unit,
            start=c.origin,
            end=c.end,
        )
    return out


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
    origin = c.patient_origin or c.origin
    if origin is None:
        return out
    days = ps["days"]
    conc_keys = ("csf_tip_mg_per_ml", "csf_mg_per_ml", "effect_site_mg_per_ml", "plasma_mg_per_ml")
    if any(_has(ps, k) for k in conc_keys):
        out["concentration"] = patient_plots.concentration_figure(
            origin=origin, days=days, columns={k: ps[k] for k in conc_keys if _has(ps, k)}, end=c.end
        )
    if _has(ps, "pain") or _has(ps, "oral_mme_per_day"):
        profile = patient.get("profile") or {}
        baseline = profile.get("baseline_pain_score", profile.get("baseline_pain"))
        out["pain"] = patient_plots.pain_figure(
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
        out["safety"] = patient_plots.vitals_figure(
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
    if vitals and c.trial is not None:
        times = list(c.trial.vitals_at)
        keys = ("resp_rate_per_min", "spo2_pct", "sedation", "pain")
        columns = {k: [v.get(k) for v in vitals] for k in keys}
        dose_t = [(at, units.amount(dose_mg)) for at, dose_mg in c.trial.doses]
        alert_t = list(c.trial.alerts)
        t_all = times + [t for t, _ in dose_t]
        pad = timedelta(minutes=30)
        figure = patient_plots.vitals_figure(
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
    stages = c.stages
    figure = patient_plots.pathway_figure(tz=c.tz, stages=stages) if stages else None
    return {
        "figure": Markup(figure) if figure else None,
        "outcome": outcome_rows(c.result.get("outcome")),
        "rows": [
            {
                "stage": nice_label(s.stage),
                "start": fmt_time(s.row["start"], c.tz),
                "end": fmt_time(s.row.get("end"), c.tz) if s.row.get("end") else "",
                "label": s.row["label"],
                "outcome": s.row.get("outcome") or "",
                "details": s.row.get("details") or "",
            }
            for s in sorted(stages, key=lambda s: s.start)
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
        "figure": Markup(patient_plots.cohort_figure(rows)) if rows else None,
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
