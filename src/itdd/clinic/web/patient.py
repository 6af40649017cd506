"""A patient's page and its forms: assessments, adverse events, cancelling an appointment, interrogation,
the second clinician's verification of a refill and the closing of a discrepancy."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ... import quantities as q
from .. import cache, charts, front, services, stamps, views
from ..auth import Auth, unit, write_retrying
from ..problems import Invalid
from .common import (
    _id,
    _s,
    _shell,
    page,
    render,
    router,
)

# ---- patient page --------------------------------------------------------------------------------


@router.get("/patients/{patient_id}")
def patient_page(patient_id: int, request: Request, auth: Auth = page("patient.read")) -> Response:
    _id(patient_id)
    truth, days, ok = front.page_params(request.query_params)
    with unit(request, auth, write=False) as ctx:
        services.get_patient(ctx, patient_id)  # scope first: another clinic's patient does not exist (404)
        # the page is rendered once per change of the patient or the clinic (stamps), instant and view, for this
        # session (it carries the session's CSRF token and user)
        stamp = stamps.patient(ctx.db, ctx.actor.clinic_id, patient_id)
        key = front.page_key(patient_id, stamp, ctx.now_s(), truth, days, ok, auth)
        body = cache.PAGES.peek(key)
        if body is None:
            response = _patient_page(request, auth, ctx, patient_id, truth, days)
            body = bytes(response.body)
            cache.PAGES.put(key, body)
        return HTMLResponse(body)


def _patient_page(
    request: Request, auth: Auth, ctx: services.Ctx, patient_id: int, truth: bool, days: float
) -> Response:
    """The patient page, rendered (pump, charts with the model and its forecast, every record)."""
    detail = views.patient_detail(ctx, patient_id)
    clinic = ctx.clinic()
    # the virtual patient's truth: always in a training clinic, behind "Show simulator truth" in live mode
    show_model = truth or clinic.mode == "training"
    series = views.chart_series(ctx, patient_id, days=days, forecast=show_model)
    off = clinic.utc_offset_s
    pump = services.active_pump(ctx, services.get_patient(ctx, patient_id))
    model = views.model_summary(ctx, patient_id) if pump is not None else None
    has_model = model is not None and show_model
    model_keys = ["withdrawal", "resp_rate_per_min", "sedation", "oral_mme_per_day"]
    if series.get("indication") == "spasticity":
        model_keys.insert(0, "spasticity")
    page_charts, model_charts = charts.page_charts(
        series, off, has_pump=pump is not None, truth=truth, has_model=has_model, model_keys=model_keys
    )
    data = {
        **_shell(ctx),
        "p": detail,
        "truth": truth,
        "days": days,
        "model": model,
        "show_model": has_model,
        "model_charts": model_charts,
        "charts": page_charts,
        "events": views.events(ctx, patient_id, limit=60, include_hidden=truth),
        "prescriptions": views.prescriptions(ctx, patient_id),
        "refills": views.refills(ctx, patient_id),
        "assessments": views.assessments(ctx, patient_id)[:12],
        "adverse": views.adverse_events(ctx, patient_id),
        "appointments": views.appointments(ctx, patient_id),
        "interrogations": views.interrogations(ctx, pump) if pump is not None else [],
        "nav": "patients",
    }
    return render(request, "patient.html", data, auth=auth)


@router.post("/patients/{patient_id}/assessments")
async def assessment_submit(patient_id: int, request: Request, auth: Auth = page("record.write")) -> Response:
    _id(patient_id)
    form = await request.form()
    try:
        pain = int(_s(form, "pain_nrs"))
        function = int(_s(form, "function_score") or "0")
    except ValueError:
        raise Invalid("pain (0-10) and function (0-100) are whole numbers", field="pain_nrs") from None
    if not 0 <= pain <= 10:
        raise Invalid("pain is scored 0 to 10", field="pain_nrs")
    if not 0 <= function <= 100:
        raise Invalid("function is scored 0 to 100", field="function_score")
    try:
        mme = q.parse_dose_rate_mg_per_day(_s(form, "oral_opioid") or "0 mg/day")
    except q.UnitError as exc:
        raise Invalid(str(exc), field="oral_opioid") from None
    with unit(request, auth, write=True) as ctx:
        services.add_assessment(
            ctx, patient_id, pain_nrs=pain, function_score=function, oral_mme_mg_per_day=mme, notes=_s(form, "notes")
        )
    return RedirectResponse(f"/patients/{patient_id}?ok=assessment#assessments", status_code=303)


@router.post("/patients/{patient_id}/adverse-events")
async def adverse_submit(patient_id: int, request: Request, auth: Auth = page("record.write")) -> Response:
    _id(patient_id)
    form = await request.form()
    severity = _s(form, "severity")
    if severity not in ("mild", "moderate", "severe"):
        raise Invalid("choose mild, moderate or severe", field="severity")
    kind = _s(form, "kind")[:64]
    if not kind:
        raise Invalid("say what happened", field="kind")
    with unit(request, auth, write=True) as ctx:
        services.add_adverse_event(ctx, patient_id, kind=kind, severity=severity, description=_s(form, "description"))
    return RedirectResponse(f"/patients/{patient_id}?ok=adverse#records", status_code=303)


@router.post("/appointments/{appointment_id}/cancel")
def appointment_cancel_submit(appointment_id: int, request: Request, auth: Auth = page("record.write")) -> Response:
    _id(appointment_id)
    with unit(request, auth, write=True) as ctx:
        out = services.cancel_appointment(ctx, appointment_id)
    return RedirectResponse(f"/patients/{out.patient_id}?ok=cancel#records", status_code=303)


@router.post("/pumps/{pump_id}/interrogate")
def interrogate_submit(pump_id: int, request: Request, auth: Auth = page("pump.interrogate")) -> Response:
    _id(pump_id)
    with unit(request, auth, write=False) as ctx:
        patient_id = services.get_pump(ctx, pump_id).patient_id
    write_retrying(request, auth, lambda ctx: services.interrogate(ctx, pump_id))
    return RedirectResponse(f"/patients/{patient_id}?ok=interrogate", status_code=303)


@router.post("/refills/{refill_id}/verify")
async def verify_submit(refill_id: int, request: Request, auth: Auth = page("refill.verify")) -> Response:
    _id(refill_id)
    form = await request.form()
    req = _verify_from_form(form)
    with unit(request, auth, write=True) as ctx:
        r = services.get_refill(ctx, refill_id)
        patient_id = r.patient_id
        services.verify_refill(ctx, refill_id, req)
    return RedirectResponse(f"/patients/{patient_id}?ok=verify#refills", status_code=303)


def _verify_from_form(form: FormData) -> services.VerifyRequest:
    def parse(key: str, fn: Any, example: str) -> float:
        text = _s(form, key)
        if not text:
            raise Invalid(f"enter the value you read yourself, e.g. '{example}'", field=key)
        try:
            return float(fn(text))
        except q.UnitError as exc:
            raise Invalid(str(exc), field=key) from None

    drug = _s(form, "drug")
    if not drug:
        raise Invalid("enter the drug on the syringe label", field="drug")
    return services.VerifyRequest(
        drug=drug.lower(),
        conc_mg_per_ml=parse("concentration", q.parse_concentration_mg_per_ml, "10 mg/mL"),
        filled_ml=parse("fill", q.parse_volume_ml, "20 mL"),
        reservoir_ml=parse("reservoir_volume", q.parse_volume_ml, "20 mL"),
    )


@router.post("/refills/{refill_id}/resolve")
async def resolve_submit(refill_id: int, request: Request, auth: Auth = page("refill.resolve")) -> Response:
    _id(refill_id)
    form = await request.form()
    with unit(request, auth, write=True) as ctx:
        r = services.get_refill(ctx, refill_id)
        patient_id = r.patient_id
        services.resolve_discrepancy(ctx, refill_id, _s(form, "note"))
    return RedirectResponse(f"/patients/{patient_id}?ok=resolve#refills", status_code=303)
