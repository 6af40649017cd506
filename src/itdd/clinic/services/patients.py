"""A patient's records (assessments, adverse events, appointments) and their own therapy manager (status,
bolus request)."""

from __future__ import annotations

from sqlalchemy import select

from ...errors import ItddError
from ...quantities import iso
from ...telemetry.commands import PATIENT
from .. import limits, twin, vpatient, workflows
from ..models import (
    AdverseEvent,
    Appointment,
    Assessment,
    Pump,
)
from ..problems import Conflict, Forbidden, NotFound, from_itdd
from ..records import (
    AppointmentCancelled,
    BolusAnswer,
    PtmStatus,
)
from .context import (
    Ctx,
    _locked,
    active_pump,
    close_twin,
    get_patient,
    get_pump,
    open_twin,
    peek_twin,
    require_clinician,
    run_command,
)

# ---- patient bolus (patient therapy manager) ---------------------------------------------------


def _own_pump(ctx: Ctx, *, lock: bool = False) -> Pump:
    a = ctx.actor
    if a.role != "patient" or a.patient_id is None:
        raise Forbidden("only the patient may use their therapy manager")
    q = select(Pump).where(Pump.patient_id == a.patient_id, Pump.active.is_(True))
    pump = _locked(ctx.db, ctx.db.scalar(q), lock)
    if pump is None:
        raise NotFound("you have no active pump")
    return pump


def ptm_status(ctx: Ctx) -> PtmStatus:
    """The patient's limited view: pump state, lockout and boluses left (no therapy details)."""
    pump = _own_pump(ctx)
    implant = peek_twin(ctx, pump)
    st = workflows.ptm(implant).status().to_dict()
    raw = run_command(implant, "ptm_status", None, PATIENT)
    st["next_allowed_s"] = raw.get("next_allowed_s")
    st["time_s"] = implant.t_s
    st = twin.clean(st)
    off = ctx.clinic().utc_offset_s
    return PtmStatus.of(
        {**st, "now": iso(st["time_s"], off), "next_allowed_at": _iso_or_none(st["next_allowed_s"], off)}
    )


def _iso_or_none(t_s: float | None, offset_s: int) -> str | None:
    return None if t_s is None else iso(t_s, offset_s)


def ptm_request(ctx: Ctx) -> BolusAnswer:
    """A patient bolus request, decided by the pump (lockout, daily limit, maximum dose)."""
    pump = _own_pump(ctx, lock=True)
    implant = open_twin(ctx, pump)
    try:
        outcome = workflows.ptm(implant).request_bolus()
    except ItddError as exc:
        raise from_itdd(exc) from None
    close_twin(ctx, pump, implant)
    out = outcome.to_dict(implant.offset_s)
    out["next_allowed_s"] = outcome.next_allowed_s
    out["time_s"] = implant.t_s
    ctx.audit("ptm.request", "pump", pump.id, t_s=implant.t_s, after=out)
    out = twin.clean(out)
    return BolusAnswer.of({**out, "next_allowed_at": _iso_or_none(out["next_allowed_s"], ctx.clinic().utc_offset_s)})


# ---- records -------------------------------------------------------------------------------------


def add_assessment(
    ctx: Ctx, patient_id: int, *, pain_nrs: int, function_score: int, oral_mme_mg_per_day: float, notes: str
) -> int:
    require_clinician(ctx)
    limits.check_oral_mme(oral_mme_mg_per_day)
    p = get_patient(ctx, patient_id)
    pump = active_pump(ctx, p)
    if pump is not None:
        # the virtual patient takes the oral opioids recorded here from now on (live mode: brought to now with its
        # pump first; training mode: already there, and the pump row is left alone so no review goes stale)
        pump = get_pump(ctx, pump.id, lock=True)
        if pump.t_s < ctx.now_s():
            close_twin(ctx, pump, open_twin(ctx, pump))
        vpatient.set_oral(ctx.db, p.id, oral_mme_mg_per_day, pump.t_s)
    row = Assessment(
        patient_id=p.id,
        t_s=ctx.now_s(),
        pain_nrs=pain_nrs,
        function_score=function_score,
        oral_opioid_mme_mg_per_day=oral_mme_mg_per_day,
        notes=notes,
        recorded_by_id=ctx.actor.user_id,
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit(
        "assessment.add",
        "assessment",
        row.id,
        t_s=row.t_s,
        after={"pain_nrs": pain_nrs, "function_score": function_score, "oral_mme_mg_per_day": oral_mme_mg_per_day},
    )
    return row.id


def add_adverse_event(ctx: Ctx, patient_id: int, *, kind: str, severity: str, description: str) -> int:
    require_clinician(ctx)
    p = get_patient(ctx, patient_id)
    row = AdverseEvent(
        patient_id=p.id,
        t_s=ctx.now_s(),
        kind=kind,
        severity=severity,
        description=description,
        status="open",
        recorded_by_id=ctx.actor.user_id,
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("adverse_event.add", "adverse_event", row.id, t_s=row.t_s, after={"kind": kind, "severity": severity})
    return row.id


def add_appointment(ctx: Ctx, patient_id: int, *, t_s: float, kind: str, notes: str) -> int:
    require_clinician(ctx)
    p = get_patient(ctx, patient_id)
    limits.check_appointment_t(t_s, ctx.now_s())
    row = Appointment(
        patient_id=p.id, t_s=t_s, kind=kind, status="scheduled", notes=notes, created_by_id=ctx.actor.user_id
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("appointment.add", "appointment", row.id, t_s=ctx.now_s(), after={"kind": kind, "at": iso(t_s)})
    return row.id


def cancel_appointment(ctx: Ctx, appointment_id: int) -> AppointmentCancelled:
    """Cancel a scheduled appointment (its row is locked: two cancellations at once, one wins, one gets 409)."""
    require_clinician(ctx)
    row = _locked(ctx.db, ctx.db.get(Appointment, appointment_id), True)
    if row is None:
        raise NotFound(f"no appointment {appointment_id} in your clinic", field="appointment_id")
    try:
        get_patient(ctx, row.patient_id)  # scope: another clinic's appointment does not exist for you
    except NotFound:
        raise NotFound(f"no appointment {appointment_id} in your clinic", field="appointment_id") from None
    if row.status != "scheduled":
        raise Conflict(f"this appointment is {row.status}, not scheduled", field="appointment_id")
    row.status = "cancelled"
    ctx.audit(
        "appointment.cancel",
        "appointment",
        row.id,
        t_s=ctx.now_s(),
        before={"status": "scheduled"},
        after={"status": "cancelled"},
    )
    return AppointmentCancelled(appointment_id=row.id, patient_id=row.patient_id, status=row.status)
