"""The patient side's JSON API: the public centre search and FHIR R4 (a patient's Bundle, a clinic's bulk
NDJSON export, the import of a Patient with its Observations).  Errors are problem+json naming the field."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..api import MAX_ID
from ..auth import Auth, api_user, unit
from ..problems import Invalid, NotFound
from ..services import get_patient
from . import centres, fhir, gazetteer

router = APIRouter(prefix="/api/v1")
FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
MAX_IMPORT_BYTES = 5_000_000


@router.get("/centres", tags=["patient side"], summary="Search the directory of pain centres (public)")
def search_centres(
    request: Request,
    q: str = Query("", max_length=100, description="a town, a UK postcode or 'lat, lon'"),
    offers: list[str] = Query([], description="trials | implants | refills | mri (all must be offered)"),
    limit: int = Query(centres.DEFAULT_RESULTS, ge=1, le=centres.MAX_RESULTS),
) -> dict[str, Any]:
    chosen = centres.parse_offers(offers)
    place = gazetteer.geocode(q)
    with request.app.state.db.read() as s:
        hits = [centres.centre_dict(h.centre, h.distance_km) for h in centres.search(s, place, chosen, limit)]
    return {"place": gazetteer.place_dict(place), "centres": hits}


def _pid(patient_id: int) -> int:
    if not 1 <= patient_id <= MAX_ID:
        raise NotFound("no such patient", field="patient_id")
    return patient_id


@router.get("/patients/{patient_id}/fhir", tags=["patient side"], summary="The patient's record as a FHIR R4 Bundle")
def patient_fhir(patient_id: int, request: Request, auth: Auth = Depends(api_user("fhir.read"))) -> Response:
    _pid(patient_id)
    base = str(request.base_url) + "api/v1/fhir/"
    with unit(request, auth, write=True) as ctx:
        p = get_patient(ctx, patient_id)  # a patient: only themself; another clinic's: 404
        body = fhir.bundle(ctx, p, base)
        ctx.audit("fhir.export_patient", "patient", p.id, t_s=None, after={"resources": len(body.get("entry", []))})
    return JSONResponse(body, media_type=FHIR_JSON)


@router.get("/fhir/export", tags=["patient side"], summary="Bulk export of the clinic's records (FHIR NDJSON)")
def bulk_export(request: Request, auth: Auth = Depends(api_user("fhir.export"))) -> Response:
    with unit(request, auth, write=True) as ctx:
        lines = list(fhir.export_ndjson(ctx))
        ctx.audit("fhir.export_clinic", "clinic", ctx.actor.clinic_id, t_s=None, after={"resources": len(lines)})
    return StreamingResponse(iter(lines), media_type=FHIR_NDJSON)


@router.post(
    "/fhir/import",
    tags=["patient side"],
    summary="Import a FHIR Patient (or a Bundle of one Patient and its Observations) as a new clinic patient",
    status_code=201,
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
        out = fhir.import_patient(ctx, body)
    return JSONResponse(out, status_code=201)
