"""``/audit``: the clinic's audit trail, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from .. import views
from ..auth import Auth, api_user, unit
from .shapes import JsonObject, Out

router = APIRouter(tags=["audit"])


class AuditEntryOut(Out):
    id: int
    wall: str  # when it was written (the wall clock)
    virtual: str | None  # the clinic's instant it concerns (training mode: the virtual clock)
    user: str
    role: str
    action: str
    entity: str
    entity_id: int | None
    before: JsonObject | None
    after: JsonObject | None


@router.get("/audit")
def api_audit(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    auth: Auth = Depends(api_user("audit.read")),
) -> list[AuditEntryOut]:
    with unit(request, auth, write=False) as ctx:
        return [AuditEntryOut.of(e) for e in views.audit_log(ctx, limit)]
