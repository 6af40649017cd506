"""``/my/pump``, ``/my/bolus``: the patient's own view (their therapy manager): pump state, lockout, boluses
left, and a bolus request the pump grants or denies.  No therapy details."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ... import quantities as q
from .. import services
from ..auth import Auth, api_user, unit, write_retrying
from .shapes import Document, JsonObject

router = APIRouter(tags=["patient"])


class MyPump(Document):
    time: str
    state: str
    reservoir_estimate_ml: float | None
    alarms: list[JsonObject]
    ptm_enabled: bool
    boluses_left_24h: int | None
    next_allowed: str | None
    next_allowed_s: float | None
    time_s: float
    now: str
    next_allowed_at: str | None


class BolusAnswer(Document):
    granted: bool
    reason: str | None  # why it was denied (lockout, daily limit, maximum dose)
    message: str  # what the patient's handset shows
    boluses_left_24h: int | None
    next_allowed: str | None
    delivery_certain: bool
    note: str
    next_allowed_s: float | None
    time_s: float
    next_allowed_at: str | None


def _at(t_s: float | None, offset_s: int) -> str | None:
    return None if t_s is None else q.iso(t_s, offset_s)


@router.get("/my/pump")
def api_my_pump(request: Request, auth: Auth = Depends(api_user("ptm"))) -> MyPump:
    """The patient's limited view: pump state, lockout and boluses left (no therapy details)."""
    with unit(request, auth, write=False) as ctx:
        st = services.ptm_status(ctx)
        off = ctx.clinic().utc_offset_s
        return MyPump.of({**st, "now": q.iso(st["time_s"], off), "next_allowed_at": _at(st.get("next_allowed_s"), off)})


@router.post("/my/bolus")
def api_my_bolus(request: Request, auth: Auth = Depends(api_user("ptm"))) -> BolusAnswer:
    """Request a patient bolus; the pump grants or denies it (lockout, daily limit, maximum dose)."""

    def bolus(ctx: services.Ctx) -> BolusAnswer:
        out = services.ptm_request(ctx)
        off = ctx.clinic().utc_offset_s
        return BolusAnswer.of({**out, "next_allowed_at": _at(out.get("next_allowed_s"), off)})

    return write_retrying(request, auth, bolus)
