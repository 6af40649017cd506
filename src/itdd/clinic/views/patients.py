"""The patient list (paged, searchable) and a patient's records: prescriptions, refills, assessments,
adverse events, appointments, the pump's event log and interrogations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from ..models import (
    AdverseEvent,
    Appointment,
    Assessment,
    Interrogation,
    Patient,
    Prescription,
    Pump,
    PumpEvent,
    Refill,
)
from ..services import Ctx, active_pump, get_patient, user_names
from .common import (
    at,
    dose_unit,
    pump_summary,
    refill_row,
)

PATIENT_PAGE_ROWS = 50  # assumption: the patient list shows 50 patients a page (by name)


PATIENT_PAGE_MAX = 500  # the API's largest page


def _cols(model: Any, *leave_out: str) -> list[Any]:
    """A table's columns (but ``leave_out``): selected as Core rows, whose attributes are named as the model's."""
    return [c for c in model.__table__.c if c.name not in leave_out]


def _rows(ctx: Ctx, statement: Any) -> list[Any]:
    """A page's record lists as Core rows on the transaction's connection: no ORM object per row (a page reads
    every record of the patient; the rows are only formatted)."""
    return list(ctx.db.connection().execute(statement))


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
    rows = _rows(
        ctx,
        select(*_cols(Prescription))
        .where(Prescription.patient_id == p.id)
        .order_by(Prescription.t_s.desc(), Prescription.id.desc()),
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
    rows = _rows(
        ctx,
        select(*_cols(Refill, "details"))
        .where(Refill.patient_id == p.id)
        .order_by(Refill.t_s.desc(), Refill.id.desc()),
    )
    names = user_names(ctx.db, {r.performed_by_id for r in rows} | {r.verified_by_id for r in rows})
    return [refill_row(r, clinic, names) for r in rows]


def assessments(ctx: Ctx, patient_id: int) -> list[dict[str, Any]]:
    p = get_patient(ctx, patient_id)
    clinic = ctx.clinic()
    rows = _rows(
        ctx,
        select(*_cols(Assessment))
        .where(Assessment.patient_id == p.id)
        .order_by(Assessment.t_s.desc(), Assessment.id.desc()),
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
    rows = _rows(
        ctx, select(*_cols(AdverseEvent)).where(AdverseEvent.patient_id == p.id).order_by(AdverseEvent.t_s.desc())
    )
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
    rows = _rows(
        ctx, select(*_cols(Appointment)).where(Appointment.patient_id == p.id).order_by(Appointment.t_s.desc())
    )
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
    q = select(*_cols(PumpEvent)).where(PumpEvent.pump_id == pump.id)
    if not include_hidden:
        q = q.where(PumpEvent.device.is_(True))
    rows = _rows(ctx, q.order_by(PumpEvent.seq.desc()).limit(limit))
    return [
        {"seq": e.seq, "at": at(e.t_s, clinic), "t_s": e.t_s, "type": e.type, "details": e.details, "device": e.device}
        for e in rows
    ]


def interrogations(ctx: Ctx, pump: Pump, limit: int = 5) -> list[dict[str, Any]]:
    clinic = ctx.clinic()
    rows = _rows(
        ctx,
        select(*_cols(Interrogation))
        .where(Interrogation.pump_id == pump.id)
        .order_by(Interrogation.t_s.desc())
        .limit(limit),
    )
    names = user_names(ctx.db, {r.user_id for r in rows})
    return [{"at": at(r.t_s, clinic), "by": names.get(r.user_id or -1), "state": r.status.get("state")} for r in rows]
