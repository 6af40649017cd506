"""``/my/pump``, ``/my/bolus``: the patient's own view (their therapy manager): pump state, lockout, boluses
left, and a bolus request the pump grants or denies.  No therapy details."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from .. import services
from ..auth import Auth, api_user, unit, write_retrying
from ..records import BolusAnswer, PtmStatus

router = APIRouter(tags=["patient"])


@router.get("/my/pump")
def api_my_pump(request: Request, auth: Auth = Depends(api_user("ptm"))) -> PtmStatus:
    """The patient's limited view: pump state, lockout and boluses left (no therapy details)."""
    with unit(request, auth, write=False) as ctx:
        return services.ptm_status(ctx)


@router.post("/my/bolus")
def api_my_bolus(request: Request, auth: Auth = Depends(api_user("ptm"))) -> BolusAnswer:
    """Request a patient bolus; the pump grants or denies it (lockout, daily limit, maximum dose)."""
    return write_retrying(request, auth, services.ptm_request)
