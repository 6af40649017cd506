"""Patients: the clinic's list (paged, searchable), a patient's record, their chart series and their
virtual patient now."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from .. import cache, front, services, stamps, twin, views
from ..auth import Auth, api_user, unit
from .common import Id, json_bytes, json_response
from .shapes import JsonObject, Out, PumpSummary

router = APIRouter(tags=["patients"])


class PatientRow(Out):
    patient_id: int
    mrn: str
    name: str
    birth_year: int
    sex: str
    indication: str
    stage: str
    pump: PumpSummary | None  # the active pump, if any


class PatientOut(PatientRow):
    notes: str


class ReservoirPoint(Out):
    t_s: float
    kind: str  # day (a local midnight) | before | after (a programming or a refill)
    actual_ml: float | None  # simulator truth
    estimate_ml: float | None  # what the pump believes


class DayPoint(Out):
    date: str
    t_s: float
    programmed_mg: float | None
    delivered_mg: float | None
    lost_mg: float | None
    pumped_ml: float | None


class RefillPoint(Out):
    t_s: float
    expected_ml: float | None
    withdrawn_ml: float | None
    flag: bool


class PainPoint(Out):
    t_s: float
    pain_nrs: int
    oral_mme: float | None  # oral opioids, mg/day of oral morphine equivalents


class ModelSeries(Out):
    """The virtual patient's series by column, aligned on ``t_s``."""

    t_s: list[float | None]
    pain: list[float | None]
    withdrawal: list[float | None]
    resp_rate_per_min: list[float | None]
    spo2_pct: list[float | None]
    sedation: list[float | None]
    spasticity: list[float | None]
    oral_mme_per_day: list[float | None]
    kind: list[str | None]


class ChartOut(Out):
    since_t_s: float
    now_t_s: float
    reservoir: list[ReservoirPoint]
    days: list[DayPoint]
    refills: list[RefillPoint]
    pain: list[PainPoint]
    capacity_ml: float | None
    low_reservoir_alarm_ml: float | None
    drug: str | None
    dose_unit: str | None = None  # only with a pump
    indication: str
    model: ModelSeries
    forecast: ModelSeries
    forecast_end_t_s: float | None


class ModelNow(Out):
    source: str
    t_s: float
    observation: JsonObject  # the model's observation (simulator truth), quantities with units in their keys
    reported_pain_nrs: int
    oral_mme_mg_per_day: float
    function_score: int


class ModelOut(Out):
    patient_id: int
    model: ModelNow | None  # null without a pump


@router.get("/patients")
def api_patients(
    request: Request,
    response: Response,
    limit: int = Query(views.PATIENT_PAGE_MAX, ge=1, le=views.PATIENT_PAGE_MAX),
    offset: int = Query(0, ge=0, le=10_000_000),
    search: str = Query("", alias="q", max_length=100, description="part of the name or MRN"),
    auth: Auth = Depends(api_user("patient.read")),
) -> list[PatientRow]:
    """The clinic's patients by name, a page at a time (``limit`` from ``offset``); the header
    ``X-Total-Count`` says how many match."""
    with unit(request, auth, write=False) as ctx:
        response.headers["X-Total-Count"] = str(views.patient_count(ctx, search=search))
        return [PatientRow.of(p) for p in views.patient_list(ctx, limit=limit, offset=offset, search=search)]


@router.get("/patients/{patient_id}")
def api_patient(patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))) -> PatientOut:
    with unit(request, auth, write=False) as ctx:
        return PatientOut.of(views.patient_detail(ctx, patient_id))


@router.get("/patients/{patient_id}/chart", response_model=ChartOut, response_model_exclude_unset=True)
def api_chart(
    patient_id: Id,
    request: Request,
    days: float = Query(180.0, gt=0, le=3650),
    forecast: bool = Query(False, description="add the virtual patient's forecast if nothing is done"),
    auth: Auth = Depends(api_user("patient.read")),
) -> Response:
    """Chart series: reservoir levels (pump estimate and simulator truth), per-day doses, refills, reported pain,
    and the virtual patient (``model``: pain while awake, withdrawal, breathing, sedation, spasticity, oral
    opioids taken; ``forecast`` on request)."""
    with unit(request, auth, write=False) as ctx:
        services.get_patient(ctx, patient_id)  # scope first: another clinic's patient does not exist (404)
        clinic_id = ctx.actor.clinic_id
        # computed once per change of the patient or the clinic (stamps) and instant, encoded once
        key = front.chart_key(
            clinic_id, patient_id, stamps.patient(ctx.db, clinic_id, patient_id), ctx.now_s(), days, forecast
        )

        def compute() -> bytes:
            series = views.chart_series(ctx, patient_id, days=days, forecast=forecast)
            return json_bytes(ChartOut.of(twin.clean(series)), exclude_unset=True)

        body = cache.ANSWERS.get(key, compute)
    return json_response(body)


@router.get("/patients/{patient_id}/model")
def api_model(patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))) -> ModelOut:
    """The virtual patient now (simulator truth: the model's observation) and what the patient would report
    if asked now (a reproducible draw), to prefill an assessment.  ``null`` without a pump."""
    with unit(request, auth, write=False) as ctx:
        out = views.model_summary(ctx, patient_id)
        return ModelOut(patient_id=patient_id, model=None if out is None else ModelNow.of(twin.clean(out)))
