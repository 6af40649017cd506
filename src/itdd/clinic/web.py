"""Server-rendered pages (Jinja2).  Forms post back; a small script (static/app.js) swaps panels in place.

Every state-changing form carries the session's CSRF token; every page checks the role it needs.  Pages use
the same services as the API, so a refill done in the browser is the same transaction as one done by a
program.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import FormData

from .. import DISCLAIMER
from .. import quantities as q
from ..errors import ItddError
from ..sim.runner import build_ptm, build_therapy
from ..sim.scenario import PtmSpec, TherapySpec
from ..timeunits import SECONDS_PER_HOUR_INT
from . import charts, security, services, views
from .api import MAX_ID
from .auth import Auth, check_csrf, login, logout, optional_auth, unit, write_retrying
from .problems import ClinicError, Forbidden, Invalid, NotFound, from_itdd

router = APIRouter(include_in_schema=False)
# where each role lands after the login (a clinician: the dashboard "/"); the patient side adds the new roles
ROLE_HOME = {
    "patient": "/my",
    "prospective": "/ambassadors",
    "coordinator": "/coordinator",
    "clinic_admin": "/admin/centres",
}

OK_MESSAGES = {
    "refill": "Refill recorded. A second clinician should now verify the record.",
    "program": "Pump programmed. The new prescription is in force.",
    "verify": "Refill record verified.",
    "resolve": "Discrepancy closed.",
    "interrogate": "Pump interrogated.",
    "assessment": "Assessment recorded.",
    "adverse": "Adverse event recorded.",
    "appointment": "Appointment booked.",
    "cancel": "Appointment cancelled.",
    "advance": "Clinic clock advanced; every pump moved with it.",
    "mode": "Clinic clock mode changed.",
    "triage": "Patient message marked as handled.",
}

DRUG_LABELS = {
    "morphine": "Morphine",
    "hydromorphone": "Hydromorphone",
    "fentanyl": "Fentanyl",
    "sufentanil": "Sufentanil",
    "bupivacaine": "Bupivacaine",
    "clonidine": "Clonidine",
    "ziconotide": "Ziconotide",
    "baclofen": "Baclofen",
    "saline": "Saline",
}
REFILL_REASONS = {
    "low_reservoir_all_boluses": "reservoir low",
    "drug_stability": "drug stability",
    "max_refill_interval": "maximum interval",
}
STATUS_LABELS = {
    "infusing": "Infusing",
    "stopped": "Stopped",
    "motor_stalled": "Motor stalled",
    "bridge_bolus": "Bridge bolus",
    "clinician_bolus": "Clinician bolus",
    "priming": "Priming",
    "minimum_rate": "Minimum rate",
    "end_of_service": "End of service",
}


# ---- template helpers ----------------------------------------------------------------------------


def _amount(mg: float | None, unit: str = "mg", per: str = "") -> str:
    if mg is None:
        return "—"
    return q.fmt_amount(mg, unit) + per


def _conc(mg_per_ml: float | None, unit: str = "mg") -> str:
    return "—" if mg_per_ml is None else _amount(mg_per_ml, unit, "/mL")


def _ml(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}f} mL"


def _when(text: str | None, with_time: bool = True) -> str:
    if not text:
        return "—"
    try:
        dt = q.parse_datetime(text)
    except q.UnitError:  # never from the clinic's own views; a stored oddity is shown as unknown
        return "—"
    return dt.strftime("%a %d %b %Y, %H:%M") if with_time else dt.strftime("%d %b %Y")


def _day(text: str | None) -> str:
    """An ISO calendar date (YYYY-MM-DD) as '31 May 2026'."""
    if not text:
        return "—"
    from datetime import date

    try:
        return date.fromisoformat(text).strftime("%d %b %Y")
    except ValueError:
        return "—"


def _days(v: float | None) -> str:
    if v is None:
        return "—"
    if abs(v) < 1:
        h = v * 24
        return f"in {h:.0f} h" if h >= 0 else f"{-h:.0f} h ago"
    return f"in {v:.0f} days" if v >= 0 else f"{-v:.0f} days ago"


def _event_details(e: Mapping[str, Any], unit: str = "mg") -> str:
    """A pump log entry's details in words, with units."""
    d = e.get("details") or {}
    t = e.get("type")

    def ml(key: str) -> str:
        v = d.get(key)
        return "—" if v is None else f"{v:.2f} mL"

    if t == "refill":
        text = (
            f"expected {ml('expected_ml')}, withdrawn {ml('withdrawn_ml')} ({d.get('discrepancy_ml', 0):+.2f} mL), "
            f"filled {ml('filled_ml')} of {_conc(d.get('concentration_mg_per_ml'), unit)}, "
            f"reservoir set to {ml('reservoir_ml_entered')}"
        )
        return text + (", bridge bolus" if d.get("bridge_bolus") else "")
    if t in ("low_reservoir_alarm", "reservoir_empty_alarm"):
        return f"{d.get('severity', '')}: estimate {ml('estimate_ml')}" + (
            f" (threshold {ml('threshold_ml')})" if "threshold_ml" in d else ""
        )
    if t == "therapy_programmed":
        return f"{d.get('description', '')} (was {_amount(d.get('previous_daily_dose_mg'), unit, '/day')})"
    if t in ("bolus_started", "bolus_completed", "bolus_cancelled"):
        text = f"{d.get('kind', '')} bolus"
        if d.get("dose_mg") is not None:
            text += f" {_amount(d.get('dose_mg'), unit)}"
        if d.get("duration_s"):
            text += f" over {q.fmt_duration(d['duration_s'])}"
        if d.get("reason"):
            text += f" ({str(d['reason']).replace('_', ' ')})"
        return text
    if t == "ptm_bolus_granted":
        return f"{_amount(d.get('dose_mg'), unit)}; {d.get('boluses_left_24h')} left in 24 h"
    if t == "ptm_bolus_denied":
        return str(d.get("message", d.get("reason", "")))
    if t == "alarm_cleared":
        return str(d.get("alarm", "")).replace("_", " ")
    if t == "eri_alarm":
        return "battery at its elective replacement indicator"
    if t == "catheter_fault":
        return f"{d.get('kind')} (drug goes to: {d.get('destination')})"
    if t == "magnetic_field_off" and d.get("resume_delay_s"):
        return f"motor resumes after {q.fmt_duration(d['resume_delay_s'])}"
    if t == "motor_stall":
        return "latched until interrogated" if d.get("latched") else ""
    parts = [
        f"{k.replace('_', ' ')}: {v:.4g}" if isinstance(v, float) else f"{k.replace('_', ' ')}: {v}"
        for k, v in d.items()
        if v is not None
    ]
    return ", ".join(parts)


def install_filters(t: Jinja2Templates) -> None:
    env = t.env
    env.filters["amount"] = _amount
    env.filters["conc"] = _conc
    env.filters["ml"] = _ml
    env.filters["when"] = _when
    env.filters["days"] = _days
    env.filters["day"] = _day
    env.filters["drug"] = lambda d: DRUG_LABELS.get(d, d)
    env.filters["status"] = lambda s: STATUS_LABELS.get(s, str(s).replace("_", " "))
    env.filters["event"] = lambda s: str(s).replace("_", " ")
    env.filters["event_details"] = _event_details
    env.filters["reason"] = lambda r: REFILL_REASONS.get(r, str(r).replace("_", " "))
    env.globals["DISCLAIMER"] = DISCLAIMER


def _templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def render(
    request: Request, name: str, ctx: Mapping[str, Any], status: int = 200, *, auth: Auth | None = None
) -> Response:
    data: dict[str, Any] = {
        "user": auth.actor if auth else None,
        "csrf": auth.csrf_token if auth else "",
        "ok": OK_MESSAGES.get(request.query_params.get("ok", "")),
    }
    data.update(ctx)
    return _templates(request).TemplateResponse(request, name, data, status_code=status)


def partial(request: Request) -> bool:
    return request.headers.get("X-Partial") == "1"


class _PageAuth:
    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(self, request: Request, auth: Auth | None = Depends(optional_auth)) -> Auth:
        from .app import LoginRedirect

        if auth is None:
            target = request.url.path if request.method == "GET" else "/"
            raise LoginRedirect(target)
        await check_csrf(request, auth)
        if not auth.can(self.permission):
            raise Forbidden(f"a {auth.actor.role} may not open this page")
        return auth


def page(permission: str) -> Any:
    return Depends(_PageAuth(permission))


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound("no such record")
    return value


def _s(form: FormData, key: str, default: str = "") -> str:
    v = form.get(key)
    if not isinstance(v, str):
        return default
    if "\x00" in v:
        raise Invalid("must not contain NUL characters", field=key)
    return v.strip()[:2000]


def _shell(ctx: services.Ctx) -> dict[str, Any]:
    return {"clinic": views.clinic_info(ctx)}


# ---- login ---------------------------------------------------------------------------------------


LOGIN_CSRF_COOKIE = "itdd_login_csrf"


def _login_token(request: Request) -> str:
    """The login form's CSRF token: kept in its own cookie (double submit), made when the form is first shown."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (32 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()):
        token = security.new_token()
    return token


def _login_form(request: Request, ctx: dict[str, Any], status: int = 200) -> Response:
    token = _login_token(request)
    resp = render(request, "login.html", {**ctx, "csrf": token}, status)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/login",
    )
    return resp


@router.get("/login")
def login_page(request: Request, auth: Auth | None = Depends(optional_auth)) -> Response:
    if auth is not None:
        return RedirectResponse("/", status_code=303)
    return _login_form(request, {"next": _safe_next(request.query_params.get("next"))})


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username, password = _s(form, "username"), form.get("password")
    nxt = _safe_next(_s(form, "next"))
    given = form.get(security.CSRF_FIELD)
    if not security.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), given if isinstance(given, str) else None):
        # a login posted from another site (login CSRF) or a stale form: refused before the password is looked at,
        # and not counted as a failed login
        return _login_form(
            request,
            {
                "error": "This login form has expired: please enter your password again.",
                "next": nxt,
                "username": username,
            },
            403,
        )
    if not username or not isinstance(password, str) or not password:
        return _login_form(
            request, {"error": "Enter your user name and password.", "next": nxt, "username": username}, 422
        )
    try:
        token, _csrf, actor = login(request, username, password)
    except ClinicError as exc:
        resp = _login_form(request, {"error": exc.detail, "next": nxt, "username": username}, exc.status)
        for k, v in exc.headers.items():
            resp.headers[k] = v
        return resp
    dest = ROLE_HOME.get(actor.role, "/") if nxt == "/" else nxt
    resp = RedirectResponse(dest, status_code=303)
    resp.set_cookie(
        security.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        max_age=int(security.SESSION_LIFETIME_S),
        path="/",
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout_submit(request: Request, auth: Auth = page("self")) -> Response:
    logout(request, auth)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(security.SESSION_COOKIE, path="/")
    return resp


# ---- dashboard and lists ---------------------------------------------------------------------------


@router.get("/")
def dashboard_page(request: Request, auth: Auth = page("self")) -> Response:
    if auth.actor.role in ROLE_HOME:
        return RedirectResponse(ROLE_HOME[auth.actor.role], status_code=303)
    if not auth.can("clinic.read"):  # pragma: no cover - every non-patient role reads the clinic
        raise Forbidden("not allowed")
    from .api import _catch_up

    _catch_up(request, auth)
    with unit(request, auth, write=False) as ctx:
        data = views.dashboard(ctx)
        from .patient_side.therapy import inbox

        triage = inbox(ctx)  # the patients' "Contact my clinic" messages (patient side)
        return render(
            request, "dashboard.html", {**_shell(ctx), "d": data, "triage": triage, "nav": "dashboard"}, auth=auth
        )


@router.get("/patients")
def patients_page(request: Request, auth: Auth = page("patient.read")) -> Response:
    from .paging import patients_page_data

    with unit(request, auth, write=False) as ctx:
        data = patients_page_data(ctx, request.query_params)
        return render(request, "patients.html", {**_shell(ctx), **data, "nav": "patients"}, auth=auth)


@router.get("/audit")
def audit_page(request: Request, auth: Auth = page("audit.read")) -> Response:
    with unit(request, auth, write=False) as ctx:
        return render(
            request, "audit.html", {**_shell(ctx), "rows": views.audit_log(ctx, 300), "nav": "audit"}, auth=auth
        )


@router.post("/clinic/advance")
async def advance_submit(request: Request, auth: Auth = page("clinic.advance")) -> Response:
    form = await request.form()
    step = _s(form, "step")
    back = _safe_next(_s(form, "back") or "/")
    if step == "next_refill":
        write_retrying(request, auth, lambda ctx: services.advance_clinic(ctx, to="next_refill"))
    else:
        try:
            by_s = q.parse_duration_s(step or "1d")
        except q.UnitError as exc:
            raise Invalid(str(exc), field="step") from None
        write_retrying(request, auth, lambda ctx: services.advance_clinic(ctx, by_s=by_s))
    return RedirectResponse(_with_ok(back, "advance"), status_code=303)


@router.post("/clinic/mode")
async def mode_submit(request: Request, auth: Auth = page("clinic.mode")) -> Response:
    form = await request.form()
    mode = _s(form, "mode")
    write_retrying(request, auth, lambda ctx: services.set_mode(ctx, mode))
    return RedirectResponse(_with_ok("/", "mode"), status_code=303)


def _with_ok(url: str, code: str) -> str:
    base = url.split("?", 1)[0]
    return f"{base}?ok={code}"


# ---- patient page --------------------------------------------------------------------------------


@router.get("/patients/{patient_id}")
def patient_page(patient_id: int, request: Request, auth: Auth = page("patient.read")) -> Response:
    _id(patient_id)
    truth = request.query_params.get("truth") == "1"
    try:
        days = float(request.query_params.get("days", "180"))
    except ValueError:
        days = 180.0
    if not math.isfinite(days):  # nan, inf: min/max would pass nan through
        days = 180.0
    days = min(max(days, 7.0), 730.0)
    with unit(request, auth, write=False) as ctx:
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
    return RedirectResponse(f"/patients/{out['patient_id']}?ok=cancel#records", status_code=303)


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


# ---- programming ---------------------------------------------------------------------------------

FLEX_ROWS = 12  # form rows (the issue asks for at least 12 flex steps; the simulated pump holds 24)
BOLUS_ROWS = 6  # form rows for periodic boluses


def _fmt_rate(mg: float, unit: str) -> str:
    return q.fmt_dose_rate(mg, unit, digits=6)


def _fmt_amount(mg: float, unit: str) -> str:
    return q.fmt_amount(mg, unit, digits=6)


def _hhmm(seconds: int) -> str:
    h, rem = divmod(int(seconds), SECONDS_PER_HOUR_INT)
    return f"{h:02d}:{rem // 60:02d}"


def _program_defaults(state: dict[str, Any], unit: str) -> dict[str, str]:
    """The current therapy as form values, each with its unit."""
    fw = state["firmware"]
    th = fw["therapy"]
    if th["mode"] == "stopped" and fw.get("suspended"):
        th = fw["suspended"]
    v: dict[str, str] = {"mode": th["mode"], "low_reservoir_alarm": f"{fw['low_reservoir_ml']:g} mL"}
    if th["mode"] == "simple_continuous":
        v["dose"] = _fmt_rate(th["dose_mg_per_day"], unit)
    elif th["mode"] == "flex":
        for i, (start, dose) in enumerate(th["steps"]):
            v[f"step_start_{i}"] = _hhmm(start)
            v[f"step_dose_{i}"] = _fmt_rate(dose, unit)
    elif th["mode"] == "periodic_bolus":
        v["basal"] = _fmt_rate(th["basal_mg_per_day"], unit)
        for i, (at, dose, dur) in enumerate(th["boluses"]):
            v[f"bolus_at_{i}"] = _hhmm(at)
            v[f"bolus_dose_{i}"] = _fmt_amount(dose, unit)
            v[f"bolus_duration_{i}"] = q.fmt_duration(dur)
    ptm = fw.get("ptm")
    v["ptm_mode"] = "keep"
    if ptm:
        v.update(
            {
                "ptm_dose": _fmt_amount(ptm["dose_mg"], unit),
                "ptm_duration": q.fmt_duration(ptm["duration_s"]),
                "ptm_lockout": q.fmt_duration(ptm["lockout_s"]),
                "ptm_max_per_day": str(ptm["max_per_day"]),
                "ptm_max_daily": ""
                if ptm.get("max_daily_dose_mg") is None
                else _fmt_rate(ptm["max_daily_dose_mg"], unit),
            }
        )
    return v


def _program_from_form(form: FormData) -> services.ProgramRequest:
    mode = _s(form, "mode")
    spec: dict[str, Any] = {"mode": mode}
    if mode == "simple_continuous":
        spec["dose"] = _s(form, "dose")
    elif mode == "flex":
        spec["steps"] = [
            {"start": _s(form, f"step_start_{i}"), "dose": _s(form, f"step_dose_{i}")}
            for i in range(FLEX_ROWS)
            if _s(form, f"step_start_{i}") or _s(form, f"step_dose_{i}")
        ]
    elif mode == "periodic_bolus":
        spec["basal"] = _s(form, "basal") or "0 mg/day"
        spec["boluses"] = [
            {
                "at": _s(form, f"bolus_at_{i}"),
                "dose": _s(form, f"bolus_dose_{i}"),
                "duration": _s(form, f"bolus_duration_{i}"),
            }
            for i in range(BOLUS_ROWS)
            if _s(form, f"bolus_at_{i}") or _s(form, f"bolus_dose_{i}")
        ]
    elif mode != "stopped":
        raise Invalid("choose a therapy mode", field="mode")
    try:
        therapy = build_therapy(TherapySpec.model_validate(spec))
    except ValidationError as exc:
        raise _form_error(exc, "therapy") from None
    except ItddError as exc:
        raise from_itdd(exc) from None
    ptm_mode = _s(form, "ptm_mode") or "keep"
    ptm = None
    if ptm_mode == "set":
        pspec: dict[str, Any] = {
            "dose": _s(form, "ptm_dose"),
            "duration": _s(form, "ptm_duration") or "10min",
            "lockout": _s(form, "ptm_lockout"),
            "max_per_day": _s(form, "ptm_max_per_day"),
        }
        if _s(form, "ptm_max_daily"):
            pspec["max_daily_dose"] = _s(form, "ptm_max_daily")
        try:
            ptm = build_ptm(PtmSpec.model_validate(pspec))
        except ValidationError as exc:
            raise _form_error(exc, "ptm") from None
        except ItddError as exc:
            raise from_itdd(exc) from None
    elif ptm_mode not in ("keep", "off"):
        raise Invalid("choose keep, off or set", field="ptm_mode")
    low_text = _s(form, "low_reservoir_alarm")
    try:
        low = q.parse_volume_ml(low_text) if low_text else None
    except q.UnitError as exc:
        raise Invalid(str(exc), field="low_reservoir_alarm") from None
    confirmations = {
        k.removeprefix("confirm_"): _s(form, "reason_" + k.removeprefix("confirm_"))
        for k in form
        if k.startswith("confirm_") and _s(form, k) == "yes"
    }
    try:
        version = int(_s(form, "version"))
    except ValueError:
        raise Invalid("missing pump version: reload the page", field="version") from None
    return services.ProgramRequest(
        therapy=therapy,
        ptm=ptm,
        keep_ptm=ptm_mode == "keep",
        low_reservoir_ml=low,
        reason=_s(form, "reason"),
        confirmations=confirmations,
        expected_version=version,
    )


def _form_error(exc: ValidationError, prefix: str) -> Invalid:
    e = exc.errors()[0]
    loc = ".".join(str(x) for x in e.get("loc", ()))
    field = f"{prefix}.{loc}" if loc else prefix
    return Invalid(f"{field}: {e.get('msg', 'invalid')}", field=field)


def _pump_page_ctx(ctx: services.Ctx, pump_id: int) -> dict[str, Any]:
    pump = services.get_pump(ctx, pump_id)
    patient = services.get_patient(ctx, pump.patient_id)
    summary = views.pump_summary(pump, ctx.clinic(), ctx.now_s())
    return {
        **_shell(ctx),
        "pump": summary,
        "patient": views.patient_record(patient),
        "state": pump.state,
        "nav": "patients",
    }


@router.get("/pumps/{pump_id}/program")
def program_page(pump_id: int, request: Request, auth: Auth = page("pump.program.preview")) -> Response:
    _id(pump_id)
    with unit(request, auth, write=False) as ctx:
        base = _pump_page_ctx(ctx, pump_id)
        values = _program_defaults(base["state"], base["pump"]["dose_unit"])
        return render(
            request,
            "program.html",
            {**base, "v": values, "version": base["pump"]["version"], "flex_rows": FLEX_ROWS, "bolus_rows": BOLUS_ROWS},
            auth=auth,
        )


@router.post("/pumps/{pump_id}/program")
async def program_submit(pump_id: int, request: Request, auth: Auth = page("pump.program.preview")) -> Response:
    _id(pump_id)
    form = await request.form()
    action = _s(form, "action") or "review"
    values = {k: _s(form, k) for k in form if k != security.CSRF_FIELD}
    error: ClinicError | None = None
    preview = None
    try:
        req = _program_from_form(form)
        if action == "apply":
            if not auth.can("pump.program"):
                raise Forbidden("only a physician may program the pump; a nurse can review the changes")
            from .api import _write_or_log_refusal

            _write_or_log_refusal(request, auth, "pump.program", pump_id, lambda c: services.program(c, pump_id, req))
            with unit(request, auth, write=False) as ctx:
                patient_id = services.get_pump(ctx, pump_id).patient_id
            return RedirectResponse(f"/patients/{patient_id}?ok=program", status_code=303)
        with unit(request, auth, write=False) as ctx:
            preview = services.preview_program(ctx, pump_id, req)
    except ClinicError as exc:
        if exc.status == 404:
            raise
        error = exc  # shown on the page; the clinician's entries stay in the form
    with unit(request, auth, write=False) as ctx:
        base = _pump_page_ctx(ctx, pump_id)
    status = 200 if error is None else error.status
    return render(
        request,
        "program.html",
        {
            **base,
            "v": values,
            "version": values.get("version", base["pump"]["version"]),
            "preview": preview,
            "error": error,
            "flex_rows": FLEX_ROWS,
            "bolus_rows": BOLUS_ROWS,
        },
        status,
        auth=auth,
    )


# ---- refill ----------------------------------------------------------------------------------------


def _refill_from_form(form: FormData, *, need_fill: bool) -> services.RefillRequest:
    def vol(key: str, label: str) -> float:
        text = _s(form, key)
        if not text:
            raise Invalid(f"enter the {label} with its unit, e.g. '12.5 mL'", field=key)
        try:
            return q.parse_volume_ml(text)
        except q.UnitError as exc:
            raise Invalid(str(exc), field=key) from None

    withdrawn = vol("withdrawn", "volume withdrawn")
    fill = vol("fill", "fill volume") if need_fill else 0.0
    conc_text = _s(form, "concentration")
    try:
        conc = q.parse_concentration_mg_per_ml(conc_text) if conc_text else None
    except q.UnitError as exc:
        raise Invalid(str(exc), field="concentration") from None
    bridge = _s(form, "bridge_bolus")
    confirmations = {
        k.removeprefix("confirm_"): _s(form, "reason_" + k.removeprefix("confirm_"))
        for k in form
        if k.startswith("confirm_") and _s(form, k) == "yes"
    }
    try:
        version = int(_s(form, "version"))
    except ValueError:
        raise Invalid("missing pump version: reload the page", field="version") from None
    return services.RefillRequest(
        withdrawn_ml=withdrawn,
        fill_ml=fill,
        drug=None,
        conc_mg_per_ml=conc,
        bridge_bolus=None if bridge in ("", "auto") else bridge == "yes",
        notes=_s(form, "notes"),
        confirmations=confirmations,
        expected_version=version,
    )


@router.get("/pumps/{pump_id}/refill")
def refill_page(pump_id: int, request: Request, auth: Auth = page("pump.refill")) -> Response:
    _id(pump_id)
    with unit(request, auth, write=False) as ctx:
        base = _pump_page_ctx(ctx, pump_id)
        reading = services.aspirate_reading(ctx, pump_id)
        unit_ = base["pump"]["dose_unit"]
        values = {"concentration": _fmt_amount(reading["conc_mg_per_ml"], unit_) + "/mL", "bridge_bolus": "auto"}
        return render(
            request,
            "refill.html",
            {**base, "reading": reading, "v": values, "step": "withdraw", "version": base["pump"]["version"]},
            auth=auth,
        )


@router.post("/pumps/{pump_id}/refill")
async def refill_submit(pump_id: int, request: Request, auth: Auth = page("pump.refill")) -> Response:
    _id(pump_id)
    form = await request.form()
    step = _s(form, "step") or "check"
    values = {k: _s(form, k) for k in form if k != security.CSRF_FIELD}
    error: ClinicError | None = None
    plan = None
    shown_step = step
    if "concentration" not in values:
        with unit(request, auth, write=False) as ctx:
            pump = services.get_pump(ctx, pump_id)
            values["concentration"] = _fmt_amount(pump.conc_mg_per_ml, views.dose_unit(pump.drug)) + "/mL"
    try:
        if step == "apply":
            req = _refill_from_form(form, need_fill=True)
            from .api import _write_or_log_refusal

            fault = request.app.state.settings.fault
            _write_or_log_refusal(
                request, auth, "pump.refill", pump_id, lambda c: services.refill(c, pump_id, req, fault=fault)
            )
            with unit(request, auth, write=False) as ctx:
                patient_id = services.get_pump(ctx, pump_id).patient_id
            return RedirectResponse(f"/patients/{patient_id}?ok=refill#refills", status_code=303)
        req = _refill_from_form(form, need_fill=step == "review")
        if step == "check":
            # the discrepancy needs only the withdrawn volume; the fill defaults to the reservoir's capacity
            with unit(request, auth, write=False) as ctx:
                reading = services.aspirate_reading(ctx, pump_id)
            if not values.get("fill"):
                values["fill"] = f"{reading['capacity_ml']:g} mL"
            if _s(form, "fill"):
                try:
                    req.fill_ml = q.parse_volume_ml(values["fill"])
                except q.UnitError as exc:
                    raise Invalid(str(exc), field="fill") from None
            else:
                req.fill_ml = reading["capacity_ml"]
        with unit(request, auth, write=False) as ctx:
            plan = services.preview_refill(ctx, pump_id, req)
        shown_step = "fill" if step == "check" else "review"
    except ClinicError as exc:
        if exc.status == 404:
            raise
        error = exc
        shown_step = {"check": "withdraw", "review": "fill", "apply": "review"}.get(step, "withdraw")
    with unit(request, auth, write=False) as ctx:
        base = _pump_page_ctx(ctx, pump_id)
        reading = services.aspirate_reading(ctx, pump_id)
    status = 200 if error is None else error.status
    data = {
        **base,
        "reading": reading,
        "v": values,
        "plan": plan,
        "step": shown_step,
        "error": error,
        "version": values.get("version", base["pump"]["version"]),
    }
    if partial(request):
        return render(request, "_refill_panel.html", data, status, auth=auth)
    return render(request, "refill.html", data, status, auth=auth)


# ---- the patient's own view ------------------------------------------------------------------


@router.get("/my")
def my_page(request: Request, auth: Auth = page("ptm")) -> Response:
    with unit(request, auth, write=False) as ctx:
        st = services.ptm_status(ctx)
        return render(request, "my.html", {**_shell(ctx), "st": _my(st, ctx), "decision": None}, auth=auth)


def _my(st: dict[str, Any], ctx: services.Ctx) -> dict[str, Any]:
    off = ctx.clinic().utc_offset_s
    st = dict(st)
    st["next_allowed_at"] = None if st.get("next_allowed_s") is None else q.iso(st["next_allowed_s"], off)
    st["now"] = q.iso(st["time_s"], off)
    return st


@router.post("/my/bolus")
def my_bolus(request: Request, auth: Auth = page("ptm")) -> Response:
    decision = write_retrying(request, auth, services.ptm_request)
    with unit(request, auth, write=False) as ctx:
        st = services.ptm_status(ctx)
        off = ctx.clinic().utc_offset_s
        decision["next_allowed_at"] = (
            None if decision.get("next_allowed_s") is None else q.iso(decision["next_allowed_s"], off)
        )
        data = {**_shell(ctx), "st": _my(st, ctx), "decision": decision}
    if partial(request):
        return render(request, "_my_panel.html", data, auth=auth)
    return render(request, "my.html", data, auth=auth)


__all__ = ["install_filters", "quote", "router"]
