"""The patient side's JSON API, two resources: the public centre search (``/centres``) and FHIR R4 (a patient's
Bundle, a clinic's bulk NDJSON export, the import of a Patient with its Observations).  Every answer is
declared in the OpenAPI document (FHIR documents under their own media types); errors are problem+json
naming the field."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ConfigDict, JsonValue

from ..api.common import MAX_ID, PROBLEMS
from ..api.shapes import Out
from ..auth import Auth, api_user, unit
from ..problems import Invalid, NotFound
from ..services import get_patient
from . import centres, fhir, gazetteer
from .fhir_import import import_patient

FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
MAX_IMPORT_BYTES = 5_000_000

centres_router = APIRouter(tags=["patient side"])
fhir_router = APIRouter(tags=["patient side"])


class PlaceOut(Out):
    lat: float
    lon: float
    label: str  # what the query was matched to, in words
    how: str  # coordinates | postcode area | town


class CentreOut(Out):
    id: int
    name: str
    address: str
    town: str
    postcode: str
    phone: str
    lat: float
    lon: float
    offers: list[str]  # trials | implants | refills | mri
    distance_km: float | None = None  # from the place searched, 0.1 km steps


class CentresOut(Out):
    place: PlaceOut
    centres: list[CentreOut]


class FhirBundle(Out):
    """A FHIR R4 Bundle (collection) of the patient's resources; each entry is a FHIR resource."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"]
    type: str
    entry: list[dict[str, JsonValue]]


class FhirJSONResponse(JSONResponse):
    media_type = FHIR_JSON


class ImportedOut(Out):
    patient_id: int
    mrn: str
    assessments: int  # assessments made of the imported Observations
    observations: int  # Observations read


@centres_router.get("/centres", summary="Search the directory of pain centres (public)")
def search_centres(
    request: Request,
    q: str = Query("", max_length=100, description="a town, a UK postcode or 'lat, lon'"),
    offers: list[str] = Query([], description="trials | implants | refills | mri (all must be offered)"),
    limit: int = Query(centres.DEFAULT_RESULTS, ge=1, le=centres.MAX_RESULTS),
) -> CentresOut:
    chosen = centres.parse_offers(offers)
    place = gazetteer.geocode(q)
    with request.app.state.db.read() as s:
        hits = [centres.centre_dict(h.centre, h.distance_km) for h in centres.search(s, place, chosen, limit)]
    return CentresOut(place=PlaceOut.of(gazetteer.place_dict(place)), centres=[CentreOut.of(h) for h in hits])


def _pid(patient_id: int) -> int:
    if not 1 <= patient_id <= MAX_ID:
        raise NotFound("no such patient", field="patient_id")
    return patient_id


@fhir_router.get(
    "/patients/{patient_id}/fhir",
    summary="The patient's record as a FHIR R4 Bundle",
    response_class=FhirJSONResponse,
    responses={200: {"model": FhirBundle, "description": "A FHIR R4 Bundle"}},
)
def patient_fhir(patient_id: int, request: Request, auth: Auth = Depends(api_user("fhir.read"))) -> Response:
    _pid(patient_id)
    base = str(request.base_url) + "api/v1/fhir/"
    with unit(request, auth, write=True) as ctx:
        p = get_patient(ctx, patient_id)  # a patient: only themself; another clinic's: 404
        body = fhir.bundle(ctx, p, base)
        ctx.audit("fhir.export_patient", "patient", p.id, t_s=None, after={"resources": len(body.get("entry", []))})
    return FhirJSONResponse(body)


@fhir_router.get(
    "/fhir/export",
    summary="Bulk export of the clinic's records (FHIR NDJSON)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One FHIR resource a line",
            "content": {FHIR_NDJSON: {"schema": {"type": "string", "description": "newline-delimited FHIR JSON"}}},
        }
    },
)
def bulk_export(request: Request, auth: Auth = Depends(api_user("fhir.export"))) -> Response:
    with unit(request, auth, write=True) as ctx:
        lines = list(fhir.export_ndjson(ctx))
        ctx.audit("fhir.export_clinic", "clinic", ctx.actor.clinic_id, t_s=None, after={"resources": len(lines)})
    return StreamingResponse(iter(lines), media_type=FHIR_NDJSON)


@fhir_router.post(
    "/fhir/import",
    summary="Import a FHIR Patient (or a Bundle of one Patient and its Observations) as a new clinic patient",
    status_code=201,
    response_model=ImportedOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object", "description": "a FHIR Patient or Bundle"}},
                FHIR_JSON: {"schema": {"type": "object", "description": "a FHIR Patient or Bundle"}},
            },
        }
    },
)
async def fhir_import(request: Request, auth: Auth = Depends(api_user("fhir.import"))) -> Response:
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise Invalid(f"at most {MAX_IMPORT_BYTES} bytes", field="body")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("the body is not JSON", field="body") from None
    with unit(request, auth, write=True) as ctx:
        out = ImportedOut.of(import_patient(ctx, body))
    return JSONResponse(out.model_dump(), status_code=201)


router = APIRouter(prefix="/api/v1", responses=PROBLEMS)
router.include_router(centres_router)
router.include_router(fhir_router)
