"""Read models: what the dashboard, patient pages and their JSON twins show (no state changes here)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session, defer

from ..drugs import library
from ..pump.events import ALARMS as ALARM_KINDS
from ..pump.models import get_model
from ..quantities import SECONDS_PER_DAY
from ..thresholds import thresholds
from . import cache, twin, vpatient
from .models import (
    AdverseEvent,
    Appointment,
    Assessment,
    AuditEntry,
    Clinic,
    Interrogation,
    Patient,
    PatientModelSample,
    Prescription,
    Pump,
    PumpDay,
    PumpEvent,
    PumpSample,
    Refill,
    User,
    VirtualPatient,
)
from .safe import iso
from .services import Ctx, active_pump, get_patient, user_names

DAY_S = SECONDS_PER_DAY
REFILL_WINDOW_DAYS = 14.0  # assumption: the dashboard lists refills whose alarm date is within two weeks
ERI_WINDOW_DAYS = 180.0  # assumption: replacement is planned ~6 months ahead of shut-off [S] clinical-facts
CRITICAL_FIRST = {"critical": 0, "non-critical": 1}

ALARM_LABELS = {kind: a.label for kind, a in ALARM_KINDS.items()}  # itdd.pump.events


def dose_unit(drug: str) -> str:
    d = library().get(drug)
    return d.dose_unit if d is not None else "mg"


def at(t_s: float | None, clinic: Clinic) -> str | None:
    return None if t_s is None else iso(t_s, clinic.utc_offset_s)


def pump_summary(pump: Pump, clinic: Clinic, now_s: float, *, firmware: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pump's summary columns for lists; ``firmware``: the twin's firmware state when the caller loaded it
    in bulk (lists do not load the whole state of every pump)."""
    fw = pump.state.get("firmware", {}) if firmware is None else firmware
    days_to_alarm = None if pump.low_alarm_t_s is None else (pump.low_alarm_t_s - now_s) / DAY_S
    days_to_refill = None if pump.next_refill_t_s is None else (pump.next_refill_t_s - now_s) / DAY_S
    eri = pump.projected_eri_t_s
    return {
        "pump_id": pump.id,
        "version": pump.version,
        "model": pump.model,
        "serial": pump.serial,
        "implanted_at": at(pump.implant_t_s, clinic),
        "catheter_tip_level": pump.catheter_tip_level,
        "catheter_length_cm": pump.catheter_length_cm,
        "catheter_volume_ml": pump.catheter_volume_ml,
        "status": pump.status,
        "drug": pump.drug,
        "dose_unit": dose_unit(pump.drug),
        "concentration_mg_per_ml": pump.conc_mg_per_ml,
        "daily_dose_mg": pump.daily_dose_mg,
        "therapy": fw.get("therapy"),
        "ptm": fw.get("ptm"),
        "reservoir_estimate_ml": pump.estimate_ml,
        "low_reservoir_alarm_ml": pump.low_reservoir_ml,
        "next_refill_at": at(pump.next_refill_t_s, clinic),
        "next_refill_reason": pump.next_refill_reason,
        "days_to_next_refill": days_to_refill,
        "low_reservoir_alarm_at": at(pump.low_alarm_t_s, clinic),
        "days_to_low_reservoir_alarm": days_to_alarm,
        "eri_at": at(eri, clinic),
        "eri_active": pump.eri_t_s is not None,
        "days_to_eri": None if eri is None else (eri - now_s) / DAY_S,
        "end_of_service_at": at(None if eri is None else eri + get_model(pump.model).eri_to_eos_days * DAY_S, clinic),
        "alarms": [
            {
                "type": a["type"],
                "label": ALARM_LABELS.get(a["type"], a["type"]),
                "severity": a["severity"],
                "since": at(a.get("raised_s"), clinic),
            }
            for a in sorted(pump.alarms, key=lambda a: (CRITICAL_FIRST.get(a["severity"], 2), a.get("raised_s") or 0))
        ],
        "twin_time": at(pump.t_s, clinic),
    }


def clinic_info(ctx: Ctx) -> dict[str, Any]:
    c = ctx.clinic()
    now = ctx.now_s()
    return {
        "id": c.id,
        "name": c.name,
        "mode": c.mode,
        "now": iso(now, c.utc_offset_s),
        "now_t_s": now,
        "utc_offset_s": c.utc_offset_s,
        "version": c.version,
    }


def _patients_by_id(db: Session, ids: set[int]) -> dict[int, Patient]:
    if not ids:
        return {}
    return {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(ids)))}


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


def refill_row(r: Refill, clinic: Clinic, names: dict[int, str], patient: Patient | None = None) -> dict[str, Any]:
    out = {
        "refill_id": r.id,
        "pump_id": r.pump_id,
        "at": at(r.t_s, clinic),
        "expected_ml": r.expected_ml,
        "withdrawn_ml": r.withdrawn_ml,
        "discrepancy_ml": r.discrepancy_ml,
        "discrepancy_flag": r.discrepancy_flag,
        "likely_causes": r.likely_causes,
        "filled_ml": r.filled_ml,
        "reservoir_ml_entered": r.reservoir_ml_entered,
        "drug": r.drug,
        "dose_unit": dose_unit(r.drug),
        "concentration_mg_per_ml": r.conc_mg_per_ml,
        "previous_concentration_mg_per_ml": r.previous_conc_mg_per_ml,
        "bridge_bolus": r.bridge_bolus,
        "bridge_volume_ml": r.bridge_volume_ml,
        "next_refill_at": at(r.next_refill_t_s, clinic),
        "low_reservoir_alarm_at": at(r.low_alarm_t_s, clinic),
        "performed_by": names.get(r.performed_by_id or -1),
        "performed_by_id": r.performed_by_id,
        "verified_by": names.get(r.verified_by_id or -1),
        "verified": r.verified_by_id is not None,
        "discrepancy_resolved": r.discrepancy_resolved,
        "resolution_note": r.resolution_note,
        "notes": r.notes,
    }
    if patient is not None:
        out.update({"patient_id": patient.id, "patient_name": patient.name, "mrn": patient.mrn})
    return out


PATIENT_PAGE_ROWS = 50  # assumption: the patient list shows 50 patients a page (by name)
PATIENT_PAGE_MAX = 500  # the API's largest page


def _patient_filter(clinic_id: int, search: str | None) -> list[Any]:
    where: list[Any] = [Patient.clinic_id == clinic_id]
    text = (search or "").strip().lower()
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(func.lower(Patient.name).like(like, escape="\\"), func.lower(Patient.mrn).like(like, escape="\\"))
        )
    return where


def patient_count(ctx: Ctx, *, search: str | None = None) -> int:
    where = _patient_filter(ctx.actor.clinic_id, search)
    return int(ctx.db.scalar(select(func.count()).select_from(Patient).where(*where)) or 0)


def patient_list(
    ctx: Ctx, *, limit: int | None = None, offset: int = 0, search: str | None = None
) -> list[dict[str, Any]]:
    """The clinic's patients by name (a page of them: ``limit`` from ``offset``; ``search`` matches name or MRN),
    each with their active pump's summary: two queries for any page, whatever the clinic's size."""
    db, clinic = ctx.db, ctx.clinic()
    now = ctx.now_s()
    q = select(Patient).where(*_patient_filter(clinic.id, search)).order_by(Patient.name, Patient.id)
    if offset:
        q = q.offset(offset)
    if limit is not None:
        q = q.limit(limit)
    patients = list(db.scalars(q))
    pumps: dict[int, Pump] = {}
    if patients:
        for found in db.scalars(
            select(Pump)
            .where(Pump.patient_id.in_([p.id for p in patients]), Pump.active.is_(True))
            .order_by(Pump.id.desc())
        ):
            pumps[found.patient_id] = found  # the lowest id wins, as active_pump()
    out = []
    for p in patients:
        pump = pumps.get(p.id)
        out.append(
            {
                "patient_id": p.id,
                "mrn": p.mrn,
                "name": p.name,
                "birth_year": p.birth_year,
                "sex": p.sex,
                "indication": p.indication,
                "stage": p.stage,
                "pump": None if pump is None else pump_summary(pump, clinic, now),
            }
        )
    return out


def patient_record(p: Patient) -> dict[str, Any]:
    return {
        "patient_id": p.id,
        "mrn": p.mrn,
        "name": p.name,
        "birth_year": p.birth_year,
        "sex": p.sex,
        "indication": p.indication,
        "stage": p.stage,
        "notes": p.notes,
    }


def patient_detail(ctx: Ctx, patient_id: int) -> dict[str, Any]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    pump = active_pump(ctx, p)
    return {
        **patient_record(p),
        "pump": None if pump is None else pump_summary(pump, clinic, ctx.now_s()),
    }


def prescriptions(ctx: Ctx, patient_id: int) -> list[dict[str, Any]]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    rows = list(
        ctx.db.scalars(
            select(Prescription)
            .where(Prescription.patient_id == p.id)
            .order_by(Prescription.t_s.desc(), Prescription.id.desc())
        )
    )
    names = user_names(ctx.db, {r.prescribed_by_id for r in rows})
    return [
        {
            "prescription_id": r.id,
            "pump_id": r.pump_id,
            "at": at(r.t_s, clinic),
            "drug": r.drug,
            "dose_unit": dose_unit(r.drug),
            "concentration_mg_per_ml": r.conc_mg_per_ml,
            "therapy": r.therapy,
            "description": r.description,
            "daily_dose_mg": r.daily_dose_mg,
            "ptm": r.ptm,
            "low_reservoir_alarm_ml": r.low_reservoir_ml,
            "prescribed_by": names.get(r.prescribed_by_id or -1),
            "reason": r.reason,
            "confirmations": r.confirmations,
            "status": r.status,
        }
        for r in rows
    ]


def refills(ctx: Ctx, patient_id: int) -> list[dict[str, Any]]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    rows = list(
        ctx.db.scalars(select(Refill).where(Refill.patient_id == p.id).order_by(Refill.t_s.desc(), Refill.id.desc()))
    )
    names = user_names(ctx.db, {r.performed_by_id for r in rows} | {r.verified_by_id for r in rows})
    return [refill_row(r, clinic, names) for r in rows]


def assessments(ctx: Ctx, patient_id: int) -> list[dict[str, Any]]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    rows = list(
        ctx.db.scalars(
            select(Assessment)
            .where(Assessment.patient_id == p.id)
            .order_by(Assessment.t_s.desc(), Assessment.id.desc())
        )
    )
    names = user_names(ctx.db, {r.recorded_by_id for r in rows})
    return [
        {
            "assessment_id": r.id,
            "at": at(r.t_s, clinic),
            "t_s": r.t_s,
            "pain_nrs": r.pain_nrs,
            "function_score": r.function_score,
            "oral_opioid_mme_mg_per_day": r.oral_opioid_mme_mg_per_day,
            "notes": r.notes,
            "recorded_by": names.get(r.recorded_by_id or -1),
        }
        for r in rows
    ]


def adverse_events(ctx: Ctx, patient_id: int) -> list[dict[str, Any]]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    rows = ctx.db.scalars(select(AdverseEvent).where(AdverseEvent.patient_id == p.id).order_by(AdverseEvent.t_s.desc()))
    return [
        {
            "adverse_event_id": r.id,
            "at": at(r.t_s, clinic),
            "kind": r.kind,
            "severity": r.severity,
            "description": r.description,
            "status": r.status,
        }
        for r in rows
    ]


def appointments(ctx: Ctx, patient_id: int) -> list[dict[str, Any]]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    rows = ctx.db.scalars(select(Appointment).where(Appointment.patient_id == p.id).order_by(Appointment.t_s.desc()))
    return [
        {"appointment_id": r.id, "at": at(r.t_s, clinic), "kind": r.kind, "status": r.status, "notes": r.notes}
        for r in rows
    ]


def events(ctx: Ctx, patient_id: int, *, limit: int = 100, include_hidden: bool = False) -> list[dict[str, Any]]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    pump = active_pump(ctx, p)
    if pump is None:
        return []
    q = select(PumpEvent).where(PumpEvent.pump_id == pump.id)
    if not include_hidden:
        q = q.where(PumpEvent.device.is_(True))
    rows = ctx.db.scalars(q.order_by(PumpEvent.seq.desc()).limit(limit))
    return [
        {"seq": e.seq, "at": at(e.t_s, clinic), "t_s": e.t_s, "type": e.type, "details": e.details, "device": e.device}
        for e in rows
    ]


def interrogations(ctx: Ctx, pump: Pump, limit: int = 5) -> list[dict[str, Any]]:
    clinic = ctx.clinic()
    rows = list(
        ctx.db.scalars(
            select(Interrogation)
            .where(Interrogation.pump_id == pump.id)
            .order_by(Interrogation.t_s.desc())
            .limit(limit)
        )
    )
    names = user_names(ctx.db, {r.user_id for r in rows})
    return [{"at": at(r.t_s, clinic), "by": names.get(r.user_id or -1), "state": r.status.get("state")} for r in rows]


class Series(dict[str, Any]):
    """A patient's chart series, with the version key it was computed under (``key``; None: not cached)."""

    key: tuple[Any, ...] | None = None


def chart_series(ctx: Ctx, patient_id: int, *, days: float = 180.0, forecast: bool = False) -> Series:
    """Series for the patient charts over the last ``days`` (exact levels and per-day amounts).

    Computed once per change: cached under (patient, pump and its version, virtual patient version,
    assessments, the clinic's instant, ``days``, ``forecast``); see :mod:`itdd.clinic.cache`.  Read-only."""
    p = get_patient(ctx, patient_id)
    pump = active_pump(ctx, p)
    now = ctx.now_s()
    if pump is None:
        return Series(_chart_series(ctx, p, None, now, days, forecast))
    key = ("series", p.id, pump.id, pump.version, cache.patient_stamp(ctx.db, p.id), now, float(days), forecast)
    cached = cache.SERIES.get(key, lambda: _chart_series(ctx, p, pump, now, days, forecast))
    out = Series(cached)
    out.key = key
    return out


def _chart_series(ctx: Ctx, p: Patient, pump: Pump | None, now: float, days: float, forecast: bool) -> dict[str, Any]:
    since = now - days * DAY_S
    out: dict[str, Any] = {
        "since_t_s": since,
        "now_t_s": now,
        "reservoir": [],
        "days": [],
        "refills": [],
        "pain": [],
        "capacity_ml": None,
        "low_reservoir_alarm_ml": None,
        "drug": None,
    }
    if pump is not None:
        out["capacity_ml"] = get_model(pump.model).reservoir_capacity_ml
        out["low_reservoir_alarm_ml"] = pump.low_reservoir_ml
        out["drug"] = pump.drug
        out["dose_unit"] = dose_unit(pump.drug)
        out["reservoir"] = [
            {"t_s": s.t_s, "kind": s.kind, "actual_ml": s.reservoir_ml, "estimate_ml": s.estimate_ml}
            for s in ctx.db.scalars(
                select(PumpSample)
                .where(PumpSample.pump_id == pump.id, PumpSample.t_s >= since, PumpSample.t_s <= now)
                .order_by(PumpSample.t_s, PumpSample.id)
            )
        ]
        out["days"] = [
            {
                "date": d.date,
                "t_s": d.day_start_t_s,
                "programmed_mg": d.programmed_mg,
                "delivered_mg": d.delivered_mg,
                "lost_mg": d.lost_mg,
                "pumped_ml": d.pumped_ml,
            }
            for d in ctx.db.scalars(
                select(PumpDay)
                .where(PumpDay.pump_id == pump.id, PumpDay.day_start_t_s >= since - DAY_S, PumpDay.day_start_t_s <= now)
                .order_by(PumpDay.day_start_t_s)
            )
        ]
        out["refills"] = [
            {"t_s": r.t_s, "expected_ml": r.expected_ml, "withdrawn_ml": r.withdrawn_ml, "flag": r.discrepancy_flag}
            for r in ctx.db.scalars(
                select(Refill)
                .where(Refill.pump_id == pump.id, Refill.t_s >= since, Refill.t_s <= now)
                .order_by(Refill.t_s)
            )
        ]
    out["pain"] = [
        {"t_s": a.t_s, "pain_nrs": a.pain_nrs, "oral_mme": a.oral_opioid_mme_mg_per_day}
        for a in ctx.db.scalars(
            select(Assessment)
            .where(Assessment.patient_id == p.id, Assessment.t_s >= since, Assessment.t_s <= now)
            .order_by(Assessment.t_s)
        )
    ]
    out["indication"] = vpatient.indication_for(p.indication, pump.drug if pump is not None else "")
    # the virtual patient's series, by column (compact: one list per quantity, aligned on "t_s")
    keys = (*vpatient.SAMPLE_FLOATS, "kind")
    rows = ctx.db.execute(
        select(*[getattr(PatientModelSample, k) for k in keys])
        .where(PatientModelSample.patient_id == p.id, PatientModelSample.t_s >= since, PatientModelSample.t_s <= now)
        .order_by(PatientModelSample.t_s, PatientModelSample.id)
    ).all()
    rows = [r for r in rows if _finite_row(r)]
    out["model"] = {k: [r[i] for r in rows] for i, k in enumerate(keys)}
    out["forecast"] = {k: [] for k in keys}
    out["forecast_end_t_s"] = None
    if forecast and pump is not None:
        out["forecast"], out["forecast_end_t_s"] = model_forecast(ctx, pump)
    # records stored out of range (before the entry checks, or by hand) are left off the charts, not drawn
    for key in ("reservoir", "days", "refills", "pain"):
        out[key] = [point for point in out[key] if _finite_row(point.values())]
    return out


def _finite_row(values: Any) -> bool:
    return all(math.isfinite(v) for v in values if isinstance(v, float))


def model_forecast(ctx: Ctx, pump: Pump) -> tuple[dict[str, list[Any]], float | None]:
    """What the model predicts if nothing is done: pump and patient copies run on (nothing stored)."""
    _, sim = vpatient.load(ctx.db, pump.patient_id)
    if sim is None:
        return {k: [] for k in (*vpatient.SAMPLE_FLOATS, "kind")}, None
    now = ctx.now_s()
    end = vpatient.forecast_end(now, pump.eri_t_s, pump.projected_eri_t_s, get_model(pump.model).eri_to_eos_days)
    _, rows, _ = vpatient.peek(twin.load(pump), sim, end)
    rows = [r for r in rows if r["t_s"] >= now]
    keys = (*vpatient.SAMPLE_FLOATS, "kind")
    return {k: [r[k] for r in rows] for k in keys}, end


def model_summary(ctx: Ctx, patient_id: int) -> dict[str, Any] | None:
    """The virtual patient now, and what they would answer if asked (reproducible), for the page and the API."""
    p = get_patient(ctx, patient_id)
    pump = active_pump(ctx, p)
    if pump is None:
        return None
    row = ctx.db.scalar(select(VirtualPatient).where(VirtualPatient.patient_id == pump.patient_id))
    if row is None:
        return None
    now = ctx.now_s()
    key = ("model", p.id, pump.id, pump.version, row.id, row.version, now)
    return dict(cache.FORECASTS.get(key, lambda: _model_summary(p, pump, row, now)))


def _model_summary(p: Patient, pump: Pump, row: VirtualPatient, now: float) -> dict[str, Any]:
    sim = vpatient.PatientSim.from_dict(row.state)
    if now > sim.t_s:  # live mode: the stored patient may lag the clinic's instant (in memory only)
        sim, _, _ = vpatient.peek(twin.load(pump), sim, now)
    o = vpatient.observe(sim)
    reported = vpatient.reported_pain(sim, p.id)
    return {
        "source": row.source,
        "t_s": o.t_s,
        "observation": o.to_dict(),
        "reported_pain_nrs": reported,
        "oral_mme_mg_per_day": sim.oral_mme_per_day,
        "function_score": suggested_function(reported),
    }


def suggested_function(pain_nrs: int) -> int:
    """Function 0-100 from the reported pain (assumption: 100 - 8 x NRS; function is not modelled)."""
    return max(0, min(100, 100 - 8 * pain_nrs))


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


def audit_log(ctx: Ctx, limit: int = 200) -> list[dict[str, Any]]:
    clinic = ctx.clinic()
    rows = ctx.db.scalars(
        select(AuditEntry).where(AuditEntry.clinic_id == clinic.id).order_by(AuditEntry.id.desc()).limit(limit)
    )
    return [
        {
            "id": r.id,
            "wall": iso(r.wall_s, clinic.utc_offset_s),
            "virtual": at(r.t_s, clinic),
            "user": r.username,
            "role": r.role,
            "action": r.action,
            "entity": r.entity,
            "entity_id": r.entity_id,
            "before": r.before,
            "after": r.after,
        }
        for r in rows
    ]


def staff(ctx: Ctx) -> list[dict[str, Any]]:
    return [
        {"user_id": u.id, "username": u.username, "role": u.role, "name": u.display_name}
        for u in ctx.db.scalars(select(User).where(User.clinic_id == ctx.actor.clinic_id, User.role != "patient"))
    ]
