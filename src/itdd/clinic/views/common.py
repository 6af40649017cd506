"""What several read models share: a pump's summary columns, the clinic, a refill row, the audit trail
and the staff list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...drugs import library
from ...pump.events import ALARMS as ALARM_KINDS
from ...pump.models import get_model
from ...quantities import SECONDS_PER_DAY
from ..models import (
    AuditEntry,
    Clinic,
    Patient,
    Pump,
    Refill,
    User,
)
from ..safe import iso
from ..services import Ctx

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
