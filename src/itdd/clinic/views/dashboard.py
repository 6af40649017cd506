"""The dashboard: what needs the clinic's attention, most urgent first (refills due, alarms, ERI,
discrepancies, appointments, worsening virtual patients); the query count does not grow with the clinic."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, Text, and_, bindparam, case, cast, func, or_, select

from ...thresholds import thresholds
from .. import cache, stamps, vpatient
from ..models import (
    Appointment,
    Clinic,
    Patient,
    Pump,
    Refill,
    User,
)
from ..services import Ctx
from .common import (
    ALARM_LABELS,
    CRITICAL_FIRST,
    DAY_S,
    ERI_WINDOW_DAYS,
    REFILL_WINDOW_DAYS,
    at,
    clinic_info,
    pump_summary,
    refill_row,
)

DASHBOARD_ROWS = 50  # assumption: each dashboard list shows its 50 most urgent rows; the tiles count them all


_NEVER = 1e300  # sorts after every real instant (a pump with no such date)


_P, _PT, _R, _A, _U = (
    Pump.__table__,
    Patient.__table__,
    Refill.__table__,
    Appointment.__table__,
    User.__table__,
)


@functools.cache
def _statements() -> dict[str, Select[Any]]:
    """The dashboard's statements, built once (SQLAlchemy Core on the tables, bound parameters): a dashboard
    after a write runs these instead of building ORM queries and loading ORM objects each time (most of a miss's
    cost was building the expressions, their cache keys and the objects, not the database)."""
    clinic_id: Any = bindparam("clinic_id")
    soon: Any = bindparam("soon")
    eri_until: Any = bindparam("eri_until")
    limit: Any = bindparam("limit")
    day_end: Any = bindparam("day_end")
    active = and_(_P.c.clinic_id == clinic_id, _P.c.active.is_(True))
    due_where = or_(_P.c.next_refill_t_s <= soon, _P.c.low_alarm_t_s <= soon)
    eri_where = or_(_P.c.eri_t_s.is_not(None), _P.c.projected_eri_t_s <= eri_until)
    alarm_at = func.coalesce(_P.c.low_alarm_t_s, _NEVER)
    refill_at = func.coalesce(_P.c.next_refill_t_s, _NEVER)
    # most urgent first: days to the low-reservoir alarm (a refill due for drug stability sorts by its own date)
    urgency = case((alarm_at < refill_at, alarm_at), else_=refill_at)
    eri_key = func.coalesce(_P.c.projected_eri_t_s, _P.c.eri_t_s)
    firmware = (
        _P.c.state[("firmware", "therapy")].label("fw_therapy"),  # JSON paths, in SQL: never the ~10 kB state
        _P.c.state[("firmware", "ptm")].label("fw_ptm"),
    )
    pump_cols = [c for c in _P.c if c.name != "state"]
    named = (_PT.c.name.label("patient_name"), _PT.c.mrn.label("patient_mrn"))
    pumps_from = _P.join(_PT, _PT.c.id == _P.c.patient_id)
    listed = select(*pump_cols, *named, *firmware).select_from(pumps_from)
    in_clinic_refill = _R.c.pump_id.in_(select(_P.c.id).where(active))
    open_where = (in_clinic_refill, _R.c.discrepancy_flag.is_(True), _R.c.discrepancy_resolved.is_(False))
    unver_where = (in_clinic_refill, _R.c.verified_by_id.is_(None))
    refills = select(*[c for c in _R.c if c.name != "details"], *named).select_from(
        _R.join(_PT, _PT.c.id == _R.c.patient_id)
    )
    appt_where = (
        _A.c.patient_id.in_(select(_PT.c.id).where(_PT.c.clinic_id == clinic_id)),
        _A.c.status == "scheduled",
        _A.c.t_s < day_end,
    )

    def count(expr: Any, *cond: Any) -> Any:
        return select(func.count(expr)).where(*cond).scalar_subquery()

    return {
        "due": listed.where(active, due_where).order_by(urgency, _P.c.id).limit(limit),
        "eri": listed.where(active, eri_where).order_by(eri_key, _P.c.id).limit(limit),
        # pumps with an alarm: the summary column is a JSON list, "[]" when there is none
        "alarm": select(_P.c.id, _P.c.patient_id, _P.c.serial, _P.c.alarms, *named)
        .select_from(pumps_from)
        .where(active, func.length(cast(_P.c.alarms, Text)) > 2),
        "open": refills.where(*open_where).order_by(_R.c.t_s, _R.c.id).limit(limit),
        "unverified": refills.where(*unver_where).order_by(_R.c.t_s, _R.c.id).limit(limit),
        "appointments": select(_A.c.id, _A.c.patient_id, _A.c.t_s, _A.c.kind, _A.c.notes, _PT.c.name)
        .select_from(_A.join(_PT, _PT.c.id == _A.c.patient_id))
        .where(*appt_where)
        .order_by(_A.c.t_s, _A.c.id)
        .limit(limit),
        "totals": select(
            count(_P.c.id, active, due_where),
            count(_P.c.id, active, eri_where),
            count(_P.c.id, active),
            count(func.distinct(_P.c.patient_id), active),
            count(_R.c.id, *open_where),
            count(_R.c.id, *unver_where),
            count(_A.c.id, *appt_where),
        ),
        "users": select(_U.c.id, _U.c.display_name).where(_U.c.id.in_(bindparam("ids", expanding=True))),
        "patients": select(_PT.c.id, _PT.c.name, _PT.c.mrn).where(_PT.c.id.in_(bindparam("ids", expanding=True))),
    }


def _summary(ns: int, p: Any, clinic: Clinic, now: float) -> dict[str, Any]:
    """A listed pump's row, cached per pump under its version (and the instant and the clinic's offset): a write
    changes its own pump's version, so a dashboard after it formats only that row again."""
    key = ("dashboard_row", ns, p.id, p.version, now, clinic.utc_offset_s)
    firmware = {"therapy": p.fw_therapy, "ptm": p.fw_ptm}
    s = dict(cache.ROWS.get(key, lambda: pump_summary(p, clinic, now, firmware=firmware)))
    s.update({"patient_id": p.patient_id, "patient_name": p.patient_name, "mrn": p.patient_mrn})
    return s


def dashboard(ctx: Ctx, *, limit: int = DASHBOARD_ROWS) -> dict[str, Any]:
    """What needs the clinic's attention, most urgent first.  Every list holds at most ``limit`` rows and the
    number of queries does not depend on the number of patients (filters, order and limits run in SQL;
    ``totals`` counts every row)."""
    db, clinic = ctx.db, ctx.clinic()
    now = ctx.now_s()
    st = _statements()
    conn = db.connection()  # the read transaction's own connection: Core statements, no ORM objects
    params = {
        "clinic_id": clinic.id,
        "soon": now + REFILL_WINDOW_DAYS * DAY_S,
        "eri_until": now + ERI_WINDOW_DAYS * DAY_S,
        "day_end": now + DAY_S + 6 * DAY_S,
        "limit": limit,
    }
    due_p = conn.execute(st["due"], params).all()
    eri_p = conn.execute(st["eri"], params).all()
    alarm_p = conn.execute(st["alarm"], params).all()

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
            "patient_name": p.patient_name,
            "mrn": p.patient_mrn,
        }
        for a, p in raw[:limit]
    ]
    open_disc = conn.execute(st["open"], params).all()
    unverified = conn.execute(st["unverified"], params).all()
    performers = sorted({r.performed_by_id for r in [*open_disc, *unverified]} - {None})
    names: dict[int, str] = {i: n for i, n in conn.execute(st["users"], {"ids": performers})} if performers else {}
    appts = conn.execute(st["appointments"], params).all()
    t = conn.execute(st["totals"], params).one()
    totals = dict(
        zip(
            (
                "refills_due",
                "approaching_eri",
                "pumps",
                "patients",
                "open_discrepancies",
                "awaiting_verification",
                "appointments",
            ),
            (int(v or 0) for v in t),
            strict=True,
        )
    )
    worse_all = cache.worsening(ctx, clinic) if clinic.mode == "training" else []
    worse = [dict(w) for w in worse_all[:limit]]
    if worse:
        ids = sorted({w["patient_id"] for w in worse})
        pts = {i: (name, mrn) for i, name, mrn in conn.execute(st["patients"], {"ids": ids})}
        for w in worse:
            name, mrn = pts[w["patient_id"]]
            w.update({"patient_name": name, "mrn": mrn})

    def refill(r: Any) -> dict[str, Any]:
        out = refill_row(r, clinic, names)
        out.update({"patient_id": r.patient_id, "patient_name": r.patient_name, "mrn": r.patient_mrn})
        return out

    ns = stamps.ns(db)
    return {
        "clinic": clinic_info(ctx),
        "worsening": worse,
        "refills_due": [_summary(ns, p, clinic, now) for p in due_p],
        "alarms": alarms,
        "approaching_eri": [_summary(ns, p, clinic, now) for p in eri_p],
        "open_discrepancies": [refill(r) for r in open_disc],
        "awaiting_verification": [refill(r) for r in unverified],
        "appointments": [
            {
                "id": a.id,
                "patient_id": a.patient_id,
                "patient_name": a.name,
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
