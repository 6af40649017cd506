"""The dashboard: what needs the clinic's attention, most urgent first (refills due, alarms, ERI,
discrepancies, appointments, worsening virtual patients); the query count does not grow with the clinic."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session, defer

from ...thresholds import thresholds
from .. import cache, vpatient
from ..models import (
    Appointment,
    Patient,
    Pump,
    Refill,
)
from ..services import Ctx, user_names
from .common import (
    ALARM_LABELS,
    CRITICAL_FIRST,
    DAY_S,
    ERI_WINDOW_DAYS,
    REFILL_WINDOW_DAYS,
    _patients_by_id,
    at,
    clinic_info,
    pump_summary,
    refill_row,
)

DASHBOARD_ROWS = 50  # assumption: each dashboard list shows its 50 most urgent rows; the tiles count them all


_NEVER = 1e300  # sorts after every real instant (a pump with no such date)


def _firmware(db: Session, pump_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The firmware part of the twins' state, for the listed pumps only (one query; the state is ~10 kB a pump,
    so lists never load it for pumps they do not show)."""
    if not pump_ids:
        return {}
    therapy, ptm = Pump.state[("firmware", "therapy")], Pump.state[("firmware", "ptm")]  # JSON paths, in SQL
    rows = db.execute(select(Pump.id, therapy, ptm).where(Pump.id.in_(pump_ids)))
    return {pid: {"therapy": t, "ptm": p} for pid, t, p in rows}


def _pumps(db: Session, *where: Any, order: Any = None, limit: int | None = None) -> list[Pump]:
    """Active pumps matching ``where`` (summary columns only), the first ``limit`` in ``order``."""
    q = select(Pump).options(defer(Pump.state)).where(Pump.active.is_(True), *where)
    if order is not None:
        q = q.order_by(*order)
    return list(db.scalars(q.limit(limit)))


def _counts(db: Session, **where: tuple[Any, Any]) -> dict[str, int]:
    """Several counts in one statement: ``name=(counted expression, where clause)``."""
    names = list(where)
    row = db.execute(
        select(*[select(func.count(expr)).where(cond).scalar_subquery() for expr, cond in where.values()])
    ).one()
    return {n: int(v or 0) for n, v in zip(names, row, strict=True)}


def dashboard(ctx: Ctx, *, limit: int = DASHBOARD_ROWS) -> dict[str, Any]:
    """What needs the clinic's attention, most urgent first.  Every list holds at most ``limit`` rows and the
    number of queries does not depend on the number of patients (filters, order and limits run in SQL;
    ``totals`` counts every row)."""
    db, clinic = ctx.db, ctx.clinic()
    now = ctx.now_s()
    in_clinic = Pump.clinic_id == clinic.id
    soon = now + REFILL_WINDOW_DAYS * DAY_S
    alarm_at = func.coalesce(Pump.low_alarm_t_s, _NEVER)
    refill_at = func.coalesce(Pump.next_refill_t_s, _NEVER)
    # most urgent first: days to the low-reservoir alarm (a refill due for drug stability sorts by its own date)
    urgency = case((alarm_at < refill_at, alarm_at), else_=refill_at)
    due_where = or_(Pump.next_refill_t_s <= soon, Pump.low_alarm_t_s <= soon)
    due_p = _pumps(db, in_clinic, due_where, order=(urgency, Pump.id), limit=limit)
    eri_key = func.coalesce(Pump.projected_eri_t_s, Pump.eri_t_s)
    eri_where = or_(Pump.eri_t_s.is_not(None), Pump.projected_eri_t_s <= now + ERI_WINDOW_DAYS * DAY_S)
    eri_p = _pumps(db, in_clinic, eri_where, order=(eri_key, Pump.id), limit=limit)
    # pumps with an alarm: the summary column is a JSON list, "[]" when there is none
    alarm_p = _pumps(db, in_clinic, func.length(cast(Pump.alarms, Text)) > 2)
    active = and_(in_clinic, Pump.active.is_(True))

    raw = [(a, p) for p in alarm_p for a in p.alarms]
    raw.sort(key=lambda ap: (CRITICAL_FIRST.get(ap[0]["severity"], 2), ap[0].get("raised_s") or 0.0, ap[1].id))
    alarms_total = len(raw)
    alarms = [
        {
            "type": a["type"],
            "label": ALARM_LABELS.get(a["type"], a["type"]),
            "severity": a["severity"],
            "since": at(a.get("raised_s"), clinic),
            "patient_id": p.patient_id,
            "pump_id": p.id,
            "serial": p.serial,
        }
        for a, p in raw[:limit]
    ]

    in_clinic_refill = Refill.pump_id.in_(select(Pump.id).where(in_clinic, Pump.active.is_(True)))
    open_where = (in_clinic_refill, Refill.discrepancy_flag.is_(True), Refill.discrepancy_resolved.is_(False))
    unver_where = (in_clinic_refill, Refill.verified_by_id.is_(None))
    open_disc = list(db.scalars(select(Refill).where(*open_where).order_by(Refill.t_s, Refill.id).limit(limit)))
    unverified = list(db.scalars(select(Refill).where(*unver_where).order_by(Refill.t_s, Refill.id).limit(limit)))
    names = user_names(db, {r.performed_by_id for r in open_disc + unverified})
    day_end = now + DAY_S
    appt_where = (
        Appointment.patient_id.in_(select(Patient.id).where(Patient.clinic_id == clinic.id)),
        Appointment.status == "scheduled",
        Appointment.t_s < day_end + 6 * DAY_S,
    )
    appts = list(
        db.scalars(select(Appointment).where(*appt_where).order_by(Appointment.t_s, Appointment.id).limit(limit))
    )
    totals = _counts(
        db,
        refills_due=(Pump.id, and_(active, due_where)),
        approaching_eri=(Pump.id, and_(active, eri_where)),
        pumps=(Pump.id, active),
        patients=(func.distinct(Pump.patient_id), active),
        open_discrepancies=(Refill.id, and_(*open_where)),
        awaiting_verification=(Refill.id, and_(*unver_where)),
        appointments=(Appointment.id, and_(*appt_where)),
    )
    worse_all = cache.worsening(ctx, clinic) if clinic.mode == "training" else []
    worse = [dict(w) for w in worse_all[:limit]]

    listed = due_p + eri_p
    pts = _patients_by_id(
        db,
        {p.patient_id for p in listed + alarm_p}
        | {r.patient_id for r in open_disc + unverified}
        | {a.patient_id for a in appts}
        | {w["patient_id"] for w in worse},
    )
    fws = _firmware(db, {p.id for p in listed})

    def row(p: Pump) -> dict[str, Any]:
        s = pump_summary(p, clinic, now, firmware=fws.get(p.id, {}))
        pt = pts[p.patient_id]
        s.update({"patient_id": pt.id, "patient_name": pt.name, "mrn": pt.mrn})
        return s

    for a in alarms:
        pt = pts[a["patient_id"]]
        a.update({"patient_name": pt.name, "mrn": pt.mrn})
    for w in worse:
        pt = pts[w["patient_id"]]
        w.update({"patient_name": pt.name, "mrn": pt.mrn})
    return {
        "clinic": clinic_info(ctx),
        "worsening": worse,
        "refills_due": [row(p) for p in due_p],
        "alarms": alarms,
        "approaching_eri": [row(p) for p in eri_p],
        "open_discrepancies": [refill_row(r, clinic, names, pts[r.patient_id]) for r in open_disc],
        "awaiting_verification": [refill_row(r, clinic, names, pts[r.patient_id]) for r in unverified],
        "appointments": [
            {
                "id": a.id,
                "patient_id": a.patient_id,
                "patient_name": pts[a.patient_id].name,
                "at": at(a.t_s, clinic),
                "kind": a.kind,
                "notes": a.notes,
                "overdue": a.t_s < now,
            }
            for a in appts
        ],
        "counts": {"patients": totals["patients"], "pumps": totals["pumps"]},
        "totals": {
            "worsening": len(worse_all),
            "refills_due": totals["refills_due"],
            "alarms": alarms_total,
            "approaching_eri": totals["approaching_eri"],
            "open_discrepancies": totals["open_discrepancies"],
            "awaiting_verification": totals["awaiting_verification"],
            "appointments": totals["appointments"],
        },
        "limit": limit,
    }


def worsening(ctx: Ctx, patient_ids: list[int]) -> list[dict[str, Any]]:
    """Patients whose virtual patient has worsening pain, withdrawal or respiratory depression (see
    :func:`worsening_rows`), most severe first (uncached; the dashboard uses :func:`itdd.clinic.cache.worsening`)."""
    out = worsening_rows(ctx, patient_ids)
    out.sort(key=lambda r: (-float(r["severity"]), r["patient_id"]))
    return out


def worsening_rows(ctx: Ctx, patient_ids: list[int]) -> list[dict[str, Any]]:
    """Patients whose virtual patient has worsening pain (a rise of at least WORSENING_PAIN_RISE_NRS over the
    lowest point of the last WORSENING_WINDOW_DAYS) or withdrawal (at least WITHDRAWAL_ALERT), or respiratory
    depression; in no particular order."""
    if not patient_ids:
        return []
    now = ctx.now_s()
    since = now - vpatient.WORSENING_WINDOW_DAYS * DAY_S
    lows, latest = cache.window_stats(ctx.db, patient_ids, since, now)
    out: list[dict[str, Any]] = []
    for pid, (_, pain, withdrawal, rr, spo2, sedation) in latest.items():
        low = float(lows[pid])
        rise = pain - low
        resp = thresholds().resp_rate_alert_per_min.alerts(rr) or thresholds().spo2_alert_pct.alerts(spo2)
        reasons = []
        if rise >= vpatient.WORSENING_PAIN_RISE_NRS:
            reasons.append(f"pain up {rise:.1f} points in {vpatient.WORSENING_WINDOW_DAYS:g} days")
        if withdrawal >= vpatient.WITHDRAWAL_ALERT:
            reasons.append(f"withdrawal {withdrawal:.1f}/10")
        if resp:
            reasons.append("respiratory depression")
        if not reasons:
            continue
        out.append(
            {
                "patient_id": pid,
                "pain": pain,
                "pain_low": low,
                "pain_rise": rise,
                "withdrawal": withdrawal,
                "resp_rate_per_min": rr,
                "sedation": sedation,
                "reasons": reasons,
                "severity": 10.0 if resp else max(rise, withdrawal),
            }
        )
    return out
