"""Pumps: a pump's summary, a programmer interrogation, and programming (preview, then apply)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from ... import quantities as q
from ...errors import ItddError
from .. import services, views
from ..auth import Auth, api_user, unit
from ..inputs import PtmSpec, TherapySpec, Volume, build_ptm, build_therapy
from ..problems import Invalid, from_itdd
from ..records import InterrogationOut, Programmed, ProgramPreview
from .common import MAX_ID, Confirmations, Id, Strict, Text, write_or_log_refusal
from .shapes import PumpOut

router = APIRouter(tags=["pumps"])


class ProgramIn(Strict):
    version: int = Field(ge=0, le=MAX_ID, description="The pump version you reviewed (optimistic locking).")
    therapy: TherapySpec
    low_reservoir_alarm: Volume | None = None
    ptm: PtmSpec | Literal["keep", "off"] = Field(default="keep", description="Patient bolus settings.")
    reason: Text = ""
    confirm: Confirmations


@router.get("/pumps/{pump_id}")
def api_pump(pump_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))) -> PumpOut:
    with unit(request, auth, write=False) as ctx:
        pump = services.get_pump(ctx, pump_id)
        return PumpOut.of({**views.pump_summary(pump, ctx.clinic(), ctx.now_s()), "patient_id": pump.patient_id})


@router.post("/pumps/{pump_id}/interrogate")
def api_interrogate(
    pump_id: Id, request: Request, auth: Auth = Depends(api_user("pump.interrogate"))
) -> InterrogationOut:
    with unit(request, auth, write=True) as ctx:
        return services.interrogate(ctx, pump_id)


def program_request(body: ProgramIn) -> services.ProgramRequest:
    try:
        therapy = build_therapy(body.therapy)
        ptm = None if isinstance(body.ptm, str) else build_ptm(body.ptm)
    except q.UnitError as exc:
        raise Invalid(str(exc), field="therapy") from None
    except ItddError as exc:
        raise from_itdd(exc) from None
    low = None if body.low_reservoir_alarm is None else q.parse_volume_ml(body.low_reservoir_alarm)
    return services.ProgramRequest(
        therapy=therapy,
        ptm=ptm,
        keep_ptm=body.ptm == "keep",
        low_reservoir_ml=low,
        reason=body.reason,
        confirmations=dict(body.confirm),
        expected_version=body.version,
    )


@router.post("/pumps/{pump_id}/program/preview")
def api_program_preview(
    pump_id: Id, body: ProgramIn, request: Request, auth: Auth = Depends(api_user("pump.program.preview"))
) -> ProgramPreview:
    """Guardrail messages and the pending changes side by side; changes nothing."""
    req = program_request(body)
    with unit(request, auth, write=False) as ctx:
        return services.preview_program(ctx, pump_id, req)


@router.post("/pumps/{pump_id}/program")
def api_program(
    pump_id: Id, body: ProgramIn, request: Request, auth: Auth = Depends(api_user("pump.program"))
) -> Programmed:
    """Program the pump (physician).  Hard limits refuse; soft limits need `confirm[rule]` with a reason."""
    req = program_request(body)
    return write_or_log_refusal(request, auth, "pump.program", pump_id, lambda ctx: services.program(ctx, pump_id, req))
