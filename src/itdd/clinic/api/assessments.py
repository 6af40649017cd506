"""``/patients/{id}/assessments``: pain, function and oral opioid use as recorded at visits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from ... import quantities as q
from .. import services, views
from ..auth import Auth, api_user, unit
from .common import Id, Strict, Text, parse_field
from .shapes import Out

router = APIRouter(tags=["assessments"])


class AssessmentIn(Strict):
    pain_nrs: int = Field(ge=0, le=10, description="Pain, numeric rating scale 0-10.")
    function_score: int = Field(ge=0, le=100, description="Function 0-100, higher is better.")
    oral_opioid: Annotated[str, Field(max_length=40)] = Field(
        default="0 mg/day", description="Oral opioid use as oral morphine equivalents, e.g. '30 mg/day'."
    )
    notes: Text = ""


class AssessmentOut(Out):
    assessment_id: int
    at: str | None
    t_s: float
    pain_nrs: int
    function_score: int
    oral_opioid_mme_mg_per_day: float
    notes: str
    recorded_by: str | None


class AssessmentCreated(Out):
    assessment_id: int


@router.get("/patients/{patient_id}/assessments")
def api_assessments(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[AssessmentOut]:
    with unit(request, auth, write=False) as ctx:
        return [AssessmentOut.of(a) for a in views.assessments(ctx, patient_id)]


@router.post("/patients/{patient_id}/assessments", status_code=201)
def api_add_assessment(
    patient_id: Id, body: AssessmentIn, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> AssessmentCreated:
    mme = parse_field("oral_opioid", q.parse_dose_rate_mg_per_day, body.oral_opioid)
    with unit(request, auth, write=True) as ctx:
        aid = services.add_assessment(
            ctx,
            patient_id,
            pain_nrs=body.pain_nrs,
            function_score=body.function_score,
            oral_mme_mg_per_day=mme,
            notes=body.notes,
        )
        return AssessmentCreated(assessment_id=aid)
