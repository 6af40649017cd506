"""``/patients/{id}/events``: the pump's event log as the pump records it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from .. import views
from ..auth import Auth, api_user, unit
from .common import Id
from .shapes import JsonObject, Out

router = APIRouter(tags=["events"])


class PumpEventOut(Out):
    seq: int
    at: str | None
    t_s: float
    type: str
    details: JsonObject  # the event's own fields, as logged (quantities with units in their keys)
    device: bool  # false: simulator truth the pump cannot see


@router.get("/patients/{patient_id}/events")
def api_events(
    patient_id: Id,
    request: Request,
    limit: int = Query(100, ge=1, le=2000),
    auth: Auth = Depends(api_user("patient.read")),
) -> list[PumpEventOut]:
    """The pump's event log as the pump records it (newest first)."""
    with unit(request, auth, write=False) as ctx:
        return [PumpEventOut.of(e) for e in views.events(ctx, patient_id, limit=limit)]
