"""``/patients/{id}/prescriptions``: every therapy prescribed, newest first (the active one and those it
superseded)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from .. import views
from ..auth import Auth, api_user, unit
from .common import Id
from .shapes import JsonObject, Out

router = APIRouter(tags=["prescriptions"])


class PrescriptionOut(Out):
    prescription_id: int
    pump_id: int
    at: str | None
    drug: str
    dose_unit: str
    concentration_mg_per_ml: float
    therapy: JsonObject  # the therapy as programmed (the programmer's arguments: mg/day, seconds)
    description: str
    daily_dose_mg: float
    ptm: JsonObject | None
    low_reservoir_alarm_ml: float
    prescribed_by: str | None
    reason: str
    confirmations: list[JsonObject]  # soft limits gone beyond, each with its reason
    status: str  # active | superseded


@router.get("/patients/{patient_id}/prescriptions")
def api_prescriptions(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[PrescriptionOut]:
    with unit(request, auth, write=False) as ctx:
        return [PrescriptionOut.of(r) for r in views.prescriptions(ctx, patient_id)]
