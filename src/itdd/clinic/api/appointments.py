"""Appointments: a patient's appointments, booking one, cancelling one."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request

from ... import quantities as q
from .. import services, views
from ..auth import Auth, api_user, unit
from ..inputs import DateTime
from ..records import AppointmentCancelled
from .common import Id, Strict, Text
from .shapes import Out

router = APIRouter(tags=["appointments"])


class AppointmentIn(Strict):
    at: DateTime
    kind: Literal["refill", "follow-up", "programming", "interrogation", "pump replacement", "implant"]
    notes: Text = ""


class AppointmentOut(Out):
    appointment_id: int
    at: str | None
    kind: str
    status: str  # scheduled | done | cancelled
    notes: str


class AppointmentCreated(Out):
    appointment_id: int


@router.get("/patients/{patient_id}/appointments")
def api_appointments(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[AppointmentOut]:
    with unit(request, auth, write=False) as ctx:
        return [AppointmentOut.of(a) for a in views.appointments(ctx, patient_id)]


@router.post("/patients/{patient_id}/appointments", status_code=201)
def api_add_appointment(
    patient_id: Id, body: AppointmentIn, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> AppointmentCreated:
    t_s = q.to_epoch_s(q.parse_datetime(body.at))
    with unit(request, auth, write=True) as ctx:
        aid = services.add_appointment(ctx, patient_id, t_s=t_s, kind=body.kind, notes=body.notes)
        return AppointmentCreated(appointment_id=aid)


@router.post("/appointments/{appointment_id}/cancel")
def api_cancel_appointment(
    appointment_id: Id, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> AppointmentCancelled:
    """Cancel a scheduled appointment (409 if it is no longer scheduled)."""
    with unit(request, auth, write=True) as ctx:
        return services.cancel_appointment(ctx, appointment_id)
