"""``/patients/{id}/adverse-events``: adverse events as reported (kind, severity, status)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request

from .. import services, views
from ..auth import Auth, api_user, unit
from .common import Id, Name, Strict, Text
from .shapes import Out

router = APIRouter(tags=["adverse events"])


class AdverseEventIn(Strict):
    kind: Name
    severity: Literal["mild", "moderate", "severe"]
    description: Text = ""


class AdverseEventOut(Out):
    adverse_event_id: int
    at: str | None
    kind: str
    severity: str
    description: str
    status: str  # open | resolved


class AdverseEventCreated(Out):
    adverse_event_id: int


@router.get("/patients/{patient_id}/adverse-events")
def api_adverse(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[AdverseEventOut]:
    with unit(request, auth, write=False) as ctx:
        return [AdverseEventOut.of(e) for e in views.adverse_events(ctx, patient_id)]


@router.post("/patients/{patient_id}/adverse-events", status_code=201)
def api_add_adverse(
    patient_id: Id, body: AdverseEventIn, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> AdverseEventCreated:
    with unit(request, auth, write=True) as ctx:
        aid = services.add_adverse_event(
            ctx, patient_id, kind=body.kind, severity=body.severity, description=body.description
        )
        return AdverseEventCreated(adverse_event_id=aid)
