"""Refills: a patient's refill history, the aspiration reading, the refill preview and the refill itself,
the second clinician's verification and the closing of a discrepancy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, Field

from ... import quantities as q
from ...drugs import get_drug
from ...errors import InputError
from .. import services, views
from ..auth import Auth, api_user, unit
from ..inputs import Concentration, Volume
from ..problems import from_itdd
from ..records import AspirateReading, RefillDone, RefillPlanOut, Resolved, Verified
from .common import MAX_ID, Confirmations, Id, Name, Strict, Text, _no_nul, json_response, write_or_log_refusal
from .shapes import Out

router = APIRouter(tags=["refills"])


class RefillIn(Strict):
    version: int = Field(ge=0, le=MAX_ID, description="The pump version you reviewed (optimistic locking).")
    withdrawn: Volume = Field(description="The volume withdrawn from the reservoir (the syringe reading).")
    fill: Volume
    concentration: Concentration | None = Field(default=None, description="Default: unchanged.")
    drug: Name | None = Field(default=None, description="Default: unchanged.")
    bridge_bolus: bool | None = Field(default=None, description="Default: whenever the concentration changes.")
    notes: Text = ""
    confirm: Confirmations


class VerifyIn(Strict):
    """The verifier's own reading of the syringe label and the programmer screen (independent entries)."""

    drug: Name
    concentration: Concentration
    fill: Volume
    reservoir_volume: Volume


class ResolveIn(Strict):
    note: Annotated[str, AfterValidator(_no_nul), Field(min_length=1, max_length=2000)]


class RefillRow(Out):
    """A stored refill: the discrepancy found, what was filled, the dates it set, who did and verified it."""

    refill_id: int
    pump_id: int
    at: str | None
    expected_ml: float
    withdrawn_ml: float
    discrepancy_ml: float
    discrepancy_flag: bool
    likely_causes: list[str]
    filled_ml: float
    reservoir_ml_entered: float
    drug: str
    dose_unit: str
    concentration_mg_per_ml: float
    previous_concentration_mg_per_ml: float
    bridge_bolus: bool
    bridge_volume_ml: float
    next_refill_at: str | None
    low_reservoir_alarm_at: str | None
    performed_by: str | None
    performed_by_id: int | None
    verified_by: str | None
    verified: bool
    discrepancy_resolved: bool
    resolution_note: str | None
    notes: str


class DashboardRefillRow(RefillRow):
    patient_id: int
    patient_name: str
    mrn: str


def refill_request(body: RefillIn) -> services.RefillRequest:
    drug = None
    if body.drug is not None:
        try:
            drug = get_drug(body.drug, "drug").name
        except InputError as exc:
            raise from_itdd(exc) from None
    return services.RefillRequest(
        withdrawn_ml=q.parse_volume_ml(body.withdrawn),
        fill_ml=q.parse_volume_ml(body.fill),
        drug=drug,
        conc_mg_per_ml=None if body.concentration is None else q.parse_concentration_mg_per_ml(body.concentration),
        bridge_bolus=body.bridge_bolus,
        notes=body.notes,
        confirmations=dict(body.confirm),
        expected_version=body.version,
    )


@router.get("/patients/{patient_id}/refills")
def api_refills(patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))) -> list[RefillRow]:
    with unit(request, auth, write=False) as ctx:
        return [RefillRow.of(r) for r in views.refills(ctx, patient_id)]


@router.get("/pumps/{pump_id}/refill/aspirate")
def api_aspirate(pump_id: Id, request: Request, auth: Auth = Depends(api_user("pump.refill"))) -> AspirateReading:
    """What the pump expects in its reservoir and what the syringe would show if it were emptied now."""
    with unit(request, auth, write=False) as ctx:
        return services.aspirate_reading(ctx, pump_id)


@router.post("/pumps/{pump_id}/refill/preview", response_model=RefillPlanOut)
def api_refill_preview(
    pump_id: Id, body: RefillIn, request: Request, auth: Auth = Depends(api_user("pump.refill"))
) -> Response:
    """Discrepancy and likely causes, bridge bolus, next refill and alarm dates; changes nothing."""
    req = refill_request(body)
    with unit(request, auth, write=False) as ctx:
        return json_response(services.preview_refill_json(ctx, pump_id, req))


@router.post("/pumps/{pump_id}/refill", status_code=201)
def api_refill(
    pump_id: Id, body: RefillIn, request: Request, auth: Auth = Depends(api_user("pump.refill"))
) -> RefillDone:
    """Record a refill: the twin, the refill record and the audit entry commit together or not at all."""
    req = refill_request(body)
    fault = request.app.state.settings.fault
    return write_or_log_refusal(
        request,
        auth,
        "pump.refill",
        pump_id,
        lambda ctx: services.refill(ctx, pump_id, req, fault=fault),
    )


@router.post("/refills/{refill_id}/verify")
def api_verify(
    refill_id: Id, body: VerifyIn, request: Request, auth: Auth = Depends(api_user("refill.verify"))
) -> Verified:
    """Second-clinician verification: a different clinician's own entries must match the record."""
    req = services.VerifyRequest(
        drug=body.drug.strip().lower(),
        conc_mg_per_ml=q.parse_concentration_mg_per_ml(body.concentration),
        filled_ml=q.parse_volume_ml(body.fill),
        reservoir_ml=q.parse_volume_ml(body.reservoir_volume),
    )
    with unit(request, auth, write=True) as ctx:
        return services.verify_refill(ctx, refill_id, req)


@router.post("/refills/{refill_id}/resolve")
def api_resolve(
    refill_id: Id, body: ResolveIn, request: Request, auth: Auth = Depends(api_user("refill.resolve"))
) -> Resolved:
    """Close a refill discrepancy with what was found or done."""
    with unit(request, auth, write=True) as ctx:
        return services.resolve_discrepancy(ctx, refill_id, body.note)
