"""The JSON API (``/api/v1``): everything the pages do, for programs.  OpenAPI at ``/api/openapi.json``.

Quantities enter as strings with their unit (``"20 mL"``, ``"3 mg/day"``, ``"1d"``) and leave as numbers with
the unit in the key (``reservoir_estimate_ml``); instants leave as ISO 8601 in the clinic's fixed UTC offset.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .. import quantities as q
from ..drugs import get_drug
from ..errors import InputError, ItddError
from ..sim.runner import build_ptm, build_therapy
from ..sim.scenario import Concentration, DateTime, Duration, PtmSpec, TherapySpec, Volume
from . import security, services, twin, views
from .auth import Auth, api_user, login, logout, unit, write_retrying
from .problems import PROBLEM_JSON, Invalid, Refused, from_itdd

MAX_ID = 2**31 - 1  # the database's integer range: a larger id cannot exist


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    return v


Text = Annotated[str, AfterValidator(_no_nul), Field(max_length=2000)]
Name = Annotated[str, AfterValidator(_no_nul), Field(min_length=1, max_length=64)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

_problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in", **_problem},
    403: {"description": "Not allowed for this role, or CSRF token missing", **_problem},
    404: {"description": "Not found in your clinic", **_problem},
    409: {"description": "Changed by someone else (optimistic locking)", **_problem},
    422: {"description": "Invalid input or refused by a safety rule; `field` names the field", **_problem},
}

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    rule: str | None = None
    errors: list[dict[str, str]] | None = None


class LoginIn(Strict):
    username: Name
    password: Annotated[str, AfterValidator(_no_nul), Field(min_length=1, max_length=256)]


class LoginOut(BaseModel):
    token: str
    csrf_token: str
    user: dict[str, Any]


class AdvanceIn(Strict):
    by: Duration | None = Field(default=None, description="How far to move the clinic clock, e.g. '1d'.")
    to: Literal["next_refill"] | None = Field(default=None, description="Or: to the next refill due.")

    @model_validator(mode="after")
    def _one(self) -> AdvanceIn:
        if (self.by is None) == (self.to is None):
            raise ValueError("give exactly one of 'by' or 'to'")
        return self


Confirmations = Annotated[
    dict[Annotated[str, Field(max_length=100)], Text],
    Field(
        default_factory=dict,
        max_length=20,
        description="Soft limits to go beyond: the finding's field (e.g. 'therapy.dose') -> the reason (recorded).",
    ),
]


class ProgramIn(Strict):
    version: int = Field(ge=0, le=MAX_ID, description="The pump version you reviewed (optimistic locking).")
    therapy: TherapySpec
    low_reservoir_alarm: Volume | None = None
    ptm: PtmSpec | Literal["keep", "off"] = Field(default="keep", description="Patient bolus settings.")
    reason: Text = ""
    confirm: Confirmations


class RefillIn(Strict):
    version: int = Field(ge=0, le=MAX_ID, description="The pump version you reviewed (optimistic locking).")
    withdrawn: Volume = Field(description="The volume withdrawn from the reservoir (the syringe reading).")
    fill: Volume
    concentration: Concentration | None = Field(default=None, description="Default: unchanged.")
    drug: Name | None = Field(default=None, description="Default: unchanged.")
    bridge_bolus: bool | None = Field(default=None, description="Default: whenever the concentration changes.")
    notes: Text = ""
    confirm: Confirmations


class AssessmentIn(Strict):
    pain_nrs: int = Field(ge=0, le=10, description="Pain, numeric rating scale 0-10.")
    function_score: int = Field(ge=0, le=100, description="Function 0-100, higher is better.")
    oral_opioid: Annotated[str, Field(max_length=40)] = Field(
        default="0 mg/day", description="Oral opioid use as oral morphine equivalents, e.g. '30 mg/day'."
    )
    notes: Text = ""


class AdverseEventIn(Strict):
    kind: Name
    severity: Literal["mild", "moderate", "severe"]
    description: Text = ""


class AppointmentIn(Strict):
    at: DateTime
    kind: Literal["refill", "follow-up", "programming", "interrogation", "pump replacement", "implant"]
    notes: Text = ""


class VerifyIn(Strict):
    """The verifier's own reading of the syringe label and the programmer screen (independent entries)."""

    drug: Name
    concentration: Concentration
    fill: Volume
    reservoir_volume: Volume


class ResolveIn(Strict):
    note: Annotated[str, AfterValidator(_no_nul), Field(min_length=1, max_length=2000)]


def _parse(field: str, fn: Any, text: Any) -> Any:
    try:
        return fn(text)
    except q.UnitError as exc:
        raise Invalid(str(exc), field=field) from None


# ---- auth ----------------------------------------------------------------------------------------


@router.post("/auth/login", tags=["auth"], response_model=LoginOut, responses={429: {"description": "Rate-limited"}})
def api_login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    """Log in; answers a bearer token and sets the session cookie (HttpOnly, SameSite=Lax)."""
    token, csrf, actor = login(request, body.username, body.password)
    response.set_cookie(
        security.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        max_age=int(security.SESSION_LIFETIME_S),
        path="/",
    )
    return {"token": token, "csrf_token": csrf, "user": _user(actor)}


def _user(a: services.Actor) -> dict[str, Any]:
    return {
        "user_id": a.user_id,
        "username": a.username,
        "role": a.role,
        "name": a.display_name,
        "clinic_id": a.clinic_id,
        "patient_id": a.patient_id,
    }


@router.post("/auth/logout", tags=["auth"], status_code=204)
def api_logout(request: Request, auth: Auth = Depends(api_user("self"))) -> Response:
    logout(request, auth)
    resp = Response(status_code=204)
    resp.delete_cookie(security.SESSION_COOKIE, path="/")
    return resp


@router.get("/me", tags=["auth"])
def api_me(request: Request, auth: Auth = Depends(api_user("self"))) -> dict[str, Any]:
    with unit(request, auth, write=False) as ctx:
        return {"user": _user(auth.actor), "clinic": views.clinic_info(ctx), "csrf_token": auth.csrf_token}


# ---- clinic --------------------------------------------------------------------------------------


@router.get("/clinic", tags=["clinic"])
def api_clinic(request: Request, auth: Auth = Depends(api_user("clinic.read"))) -> dict[str, Any]:
    with unit(request, auth, write=False) as ctx:
        return {**views.clinic_info(ctx), "staff": views.staff(ctx)}


@router.post("/clinic/advance", tags=["clinic"])
def api_advance(body: AdvanceIn, request: Request, auth: Auth = Depends(api_user("clinic.advance"))) -> dict[str, Any]:
    """Training mode: move the clinic's virtual clock; every pump advances with it through the engine."""
    by_s = None if body.by is None else _parse("by", q.parse_duration_s, body.by)

    def advance(ctx: services.Ctx) -> dict[str, Any]:
        out = services.advance_clinic(ctx, by_s=by_s, to=body.to)
        out["now"] = q.iso(out["clock_t_s"], ctx.clinic().utc_offset_s)
        return out

    return write_retrying(request, auth, advance)


class ModeIn(Strict):
    mode: Literal["training", "live"]


@router.post("/clinic/mode", tags=["clinic"])
def api_mode(body: ModeIn, request: Request, auth: Auth = Depends(api_user("clinic.mode"))) -> dict[str, Any]:
    """Switch the clinic's clock between training (virtual, advanced by clinicians) and live (the wall clock)."""

    def switch(ctx: services.Ctx) -> dict[str, Any]:
        out = services.set_mode(ctx, body.mode)
        out["now"] = q.iso(out["clock_t_s"], ctx.clinic().utc_offset_s)
        return out

    return write_retrying(request, auth, switch)


@router.get("/dashboard", tags=["clinic"])
def api_dashboard(
    request: Request,
    limit: int = Query(views.DASHBOARD_ROWS, ge=1, le=views.PATIENT_PAGE_MAX),
    auth: Auth = Depends(api_user("clinic.read")),
) -> dict[str, Any]:
    """Refills due (most urgent first: days to the low-reservoir alarm), alarms, ERI, discrepancies; each list
    holds its ``limit`` most urgent rows and ``totals`` counts them all."""
    _catch_up(request, auth)
    with unit(request, auth, write=False) as ctx:
        return views.dashboard(ctx, limit=limit)


def _catch_up(request: Request, auth: Auth) -> None:
    with unit(request, auth, write=False) as ctx:
        live = ctx.clinic().mode == "live"
    if live:
        write_retrying(request, auth, services.catch_up_live)


@router.get("/audit", tags=["clinic"])
def api_audit(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    auth: Auth = Depends(api_user("audit.read")),
) -> list[dict[str, Any]]:
    with unit(request, auth, write=False) as ctx:
        return views.audit_log(ctx, limit)


# ---- patients ------------------------------------------------------------------------------------


@router.get("/patients", tags=["patients"])
def api_patients(
    request: Request,
    response: Response,
    limit: int = Query(views.PATIENT_PAGE_MAX, ge=1, le=views.PATIENT_PAGE_MAX),
    offset: int = Query(0, ge=0, le=10_000_000),
    search: str = Query("", alias="q", max_length=100, description="part of the name or MRN"),
    auth: Auth = Depends(api_user("patient.read")),
) -> list[dict[str, Any]]:
    """The clinic's patients by name, a page at a time (``limit`` from ``offset``); the header
    ``X-Total-Count`` says how many match."""
    with unit(request, auth, write=False) as ctx:
        response.headers["X-Total-Count"] = str(views.patient_count(ctx, search=search))
        return views.patient_list(ctx, limit=limit, offset=offset, search=search)


@router.get("/patients/{patient_id}", tags=["patients"])
def api_patient(patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))) -> dict[str, Any]:
    with unit(request, auth, write=False) as ctx:
        return views.patient_detail(ctx, patient_id)


@router.get("/patients/{patient_id}/events", tags=["patients"])
def api_events(
    patient_id: Id,
    request: Request,
    limit: int = Query(100, ge=1, le=2000),
    auth: Auth = Depends(api_user("patient.read")),
) -> list[dict[str, Any]]:
    """The pump's event log as the pump records it (newest first)."""
    with unit(request, auth, write=False) as ctx:
        return views.events(ctx, patient_id, limit=limit)


@router.get("/patients/{patient_id}/prescriptions", tags=["patients"])
def api_prescriptions(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[dict[str, Any]]:
    with unit(request, auth, write=False) as ctx:
        return views.prescriptions(ctx, patient_id)


@router.get("/patients/{patient_id}/refills", tags=["patients"])
def api_refills(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[dict[str, Any]]:
    with unit(request, auth, write=False) as ctx:
        return views.refills(ctx, patient_id)


@router.get("/patients/{patient_id}/assessments", tags=["patients"])
def api_assessments(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[dict[str, Any]]:
    with unit(request, auth, write=False) as ctx:
        return views.assessments(ctx, patient_id)


@router.post("/patients/{patient_id}/assessments", tags=["patients"], status_code=201)
def api_add_assessment(
    patient_id: Id, body: AssessmentIn, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> dict[str, Any]:
    mme = _parse("oral_opioid", q.parse_dose_rate_mg_per_day, body.oral_opioid)
    with unit(request, auth, write=True) as ctx:
        aid = services.add_assessment(
            ctx,
            patient_id,
            pain_nrs=body.pain_nrs,
            function_score=body.function_score,
            oral_mme_mg_per_day=mme,
            notes=body.notes,
        )
        return {"assessment_id": aid}


@router.get("/patients/{patient_id}/adverse-events", tags=["patients"])
def api_adverse(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[dict[str, Any]]:
    with unit(request, auth, write=False) as ctx:
        return views.adverse_events(ctx, patient_id)


@router.post("/patients/{patient_id}/adverse-events", tags=["patients"], status_code=201)
def api_add_adverse(
    patient_id: Id, body: AdverseEventIn, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> dict[str, Any]:
    with unit(request, auth, write=True) as ctx:
        aid = services.add_adverse_event(
            ctx, patient_id, kind=body.kind, severity=body.severity, description=body.description
        )
        return {"adverse_event_id": aid}


@router.get("/patients/{patient_id}/appointments", tags=["patients"])
def api_appointments(
    patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))
) -> list[dict[str, Any]]:
    with unit(request, auth, write=False) as ctx:
        return views.appointments(ctx, patient_id)


@router.post("/patients/{patient_id}/appointments", tags=["patients"], status_code=201)
def api_add_appointment(
    patient_id: Id, body: AppointmentIn, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> dict[str, Any]:
    t_s = q.to_epoch_s(q.parse_datetime(body.at))
    with unit(request, auth, write=True) as ctx:
        aid = services.add_appointment(ctx, patient_id, t_s=t_s, kind=body.kind, notes=body.notes)
        return {"appointment_id": aid}


@router.post("/appointments/{appointment_id}/cancel", tags=["patients"])
def api_cancel_appointment(
    appointment_id: Id, request: Request, auth: Auth = Depends(api_user("record.write"))
) -> dict[str, Any]:
    """Cancel a scheduled appointment (409 if it is no longer scheduled)."""
    with unit(request, auth, write=True) as ctx:
        return services.cancel_appointment(ctx, appointment_id)


@router.get("/patients/{patient_id}/chart", tags=["patients"])
def api_chart(
    patient_id: Id,
    request: Request,
    days: float = Query(180.0, gt=0, le=3650),
    forecast: bool = Query(False, description="add the virtual patient's forecast if nothing is done"),
    auth: Auth = Depends(api_user("patient.read")),
) -> dict[str, Any]:
    """Chart series: reservoir levels (pump estimate and simulator truth), per-day doses, refills, reported pain,
    and the virtual patient (``model``: pain while awake, withdrawal, breathing, sedation, spasticity, oral
    opioids taken; ``forecast`` on request)."""
    with unit(request, auth, write=False) as ctx:
        return twin.clean(views.chart_series(ctx, patient_id, days=days, forecast=forecast))


@router.get("/patients/{patient_id}/model", tags=["patients"])
def api_model(patient_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))) -> dict[str, Any]:
    """The virtual patient now (simulator truth: the model's observation) and what the patient would report
    if asked now (a reproducible draw), to prefill an assessment.  ``null`` without a pump."""
    with unit(request, auth, write=False) as ctx:
        out = views.model_summary(ctx, patient_id)
        return {"patient_id": patient_id, "model": None if out is None else twin.clean(out)}


# ---- pumps ---------------------------------------------------------------------------------------


@router.get("/pumps/{pump_id}", tags=["pumps"])
def api_pump(pump_id: Id, request: Request, auth: Auth = Depends(api_user("patient.read"))) -> dict[str, Any]:
    with unit(request, auth, write=False) as ctx:
        pump = services.get_pump(ctx, pump_id)
        return {**views.pump_summary(pump, ctx.clinic(), ctx.now_s()), "patient_id": pump.patient_id}


@router.post("/pumps/{pump_id}/interrogate", tags=["pumps"])
def api_interrogate(
    pump_id: Id, request: Request, auth: Auth = Depends(api_user("pump.interrogate"))
) -> dict[str, Any]:
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


@router.post("/pumps/{pump_id}/program/preview", tags=["pumps"])
def api_program_preview(
    pump_id: Id, body: ProgramIn, request: Request, auth: Auth = Depends(api_user("pump.program.preview"))
) -> dict[str, Any]:
    """Guardrail messages and the pending changes side by side; changes nothing."""
    req = program_request(body)
    with unit(request, auth, write=False) as ctx:
        return services.preview_program(ctx, pump_id, req)


@router.post("/pumps/{pump_id}/program", tags=["pumps"])
def api_program(
    pump_id: Id, body: ProgramIn, request: Request, auth: Auth = Depends(api_user("pump.program"))
) -> dict[str, Any]:
    """Program the pump (physician).  Hard limits refuse; soft limits need `confirm[rule]` with a reason."""
    req = program_request(body)
    return _write_or_log_refusal(
        request, auth, "pump.program", pump_id, lambda ctx: services.program(ctx, pump_id, req)
    )


def _write_or_log_refusal(request: Request, auth: Auth, action: str, pump_id: int, fn: Any) -> dict[str, Any]:
    """Run a pump action; a safety refusal is itself audited (in its own transaction) and then reported."""
    try:
        with unit(request, auth, write=True) as ctx:
            result: dict[str, Any] = fn(ctx)
            return result
    except Refused as exc:
        with unit(request, auth, write=True) as ctx:
            ctx.audit(
                action + ".refused",
                "pump",
                pump_id,
                t_s=None,
                after={"field": exc.field, "detail": exc.detail, **exc.extra},
            )
        raise


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


@router.get("/pumps/{pump_id}/refill/aspirate", tags=["refills"])
def api_aspirate(pump_id: Id, request: Request, auth: Auth = Depends(api_user("pump.refill"))) -> dict[str, Any]:
    """What the pump expects in its reservoir and what the syringe would show if it were emptied now."""
    with unit(request, auth, write=False) as ctx:
        return services.aspirate_reading(ctx, pump_id)


@router.post("/pumps/{pump_id}/refill/preview", tags=["refills"])
def api_refill_preview(
    pump_id: Id, body: RefillIn, request: Request, auth: Auth = Depends(api_user("pump.refill"))
) -> dict[str, Any]:
    """Discrepancy and likely causes, bridge bolus, next refill and alarm dates; changes nothing."""
    req = refill_request(body)
    with unit(request, auth, write=False) as ctx:
        return services.preview_refill(ctx, pump_id, req)


@router.post("/pumps/{pump_id}/refill", tags=["refills"], status_code=201)
def api_refill(
    pump_id: Id, body: RefillIn, request: Request, auth: Auth = Depends(api_user("pump.refill"))
) -> dict[str, Any]:
    """Record a refill: the twin, the refill record and the audit entry commit together or not at all."""
    req = refill_request(body)
    fault = request.app.state.settings.fault
    return _write_or_log_refusal(
        request, auth, "pump.refill", pump_id, lambda ctx: services.refill(ctx, pump_id, req, fault=fault)
    )


@router.post("/refills/{refill_id}/verify", tags=["refills"])
def api_verify(
    refill_id: Id, body: VerifyIn, request: Request, auth: Auth = Depends(api_user("refill.verify"))
) -> dict[str, Any]:
    """Second-clinician verification: a different clinician's own entries must match the record."""
    req = services.VerifyRequest(
        drug=body.drug.strip().lower(),
        conc_mg_per_ml=q.parse_concentration_mg_per_ml(body.concentration),
        filled_ml=q.parse_volume_ml(body.fill),
        reservoir_ml=q.parse_volume_ml(body.reservoir_volume),
    )
    with unit(request, auth, write=True) as ctx:
        return services.verify_refill(ctx, refill_id, req)


@router.post("/refills/{refill_id}/resolve", tags=["refills"])
def api_resolve(
    refill_id: Id, body: ResolveIn, request: Request, auth: Auth = Depends(api_user("refill.resolve"))
) -> dict[str, Any]:
    """Close a refill discrepancy with what was found or done."""
    with unit(request, auth, write=True) as ctx:
        return services.resolve_discrepancy(ctx, refill_id, body.note)


# ---- the patient's own view ------------------------------------------------------------------


@router.get("/my/pump", tags=["patient"])
def api_my_pump(request: Request, auth: Auth = Depends(api_user("ptm"))) -> dict[str, Any]:
    """The patient's limited view: pump state, lockout and boluses left (no therapy details)."""
    with unit(request, auth, write=False) as ctx:
        return _my_status(ctx)


def _my_status(ctx: services.Ctx) -> dict[str, Any]:
    st = services.ptm_status(ctx)
    off = ctx.clinic().utc_offset_s
    st["now"] = q.iso(st["time_s"], off)
    st["next_allowed_at"] = None if st.get("next_allowed_s") is None else q.iso(st["next_allowed_s"], off)
    return st


@router.post("/my/bolus", tags=["patient"])
def api_my_bolus(request: Request, auth: Auth = Depends(api_user("ptm"))) -> dict[str, Any]:
    """Request a patient bolus; the pump grants or denies it (lockout, daily limit, maximum dose)."""

    def bolus(ctx: services.Ctx) -> dict[str, Any]:
        out = services.ptm_request(ctx)
        off = ctx.clinic().utc_offset_s
        out["next_allowed_at"] = None if out.get("next_allowed_s") is None else q.iso(out["next_allowed_s"], off)
        return out

    return write_retrying(request, auth, bolus)


__all__ = ["Problem", "router"]
