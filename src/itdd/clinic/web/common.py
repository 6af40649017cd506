"""What every page shares: the router, the template filters (amounts, dates, events in words), rendering,
the role a page needs, form helpers and the labels pages show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from ... import DISCLAIMER
from ... import quantities as q
from .. import services, views
from ..api.common import MAX_ID
from ..auth import Auth, check_csrf, optional_auth
from ..problems import Forbidden, Invalid, NotFound

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
        from ..app import LoginRedirect

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
