"""The clinic pages: the dashboard, the patient list, the audit trail, and the clock forms (advance, mode)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from ... import quantities as q
from .. import services, views
from ..api.common import catch_up
from ..auth import Auth, unit, write_retrying
from ..problems import Forbidden, Invalid
from .common import (
    ROLE_HOME,
    _s,
    _shell,
    page,
    render,
    router,
)
from .login import (
    _safe_next,
)

# ---- dashboard and lists ---------------------------------------------------------------------------


@router.get("/")
def dashboard_page(request: Request, auth: Auth = page("self")) -> Response:
    if auth.actor.role in ROLE_HOME:
        return RedirectResponse(ROLE_HOME[auth.actor.role], status_code=303)
    if not auth.can("clinic.read"):  # pragma: no cover - every non-patient role reads the clinic
        raise Forbidden("not allowed")
    catch_up(request, auth)
    with unit(request, auth, write=False) as ctx:
        data = views.dashboard(ctx)
        from ..patient_side.therapy import inbox

        triage = inbox(ctx)  # the patients' "Contact my clinic" messages (patient side)
        return render(
            request, "dashboard.html", {**_shell(ctx), "d": data, "triage": triage, "nav": "dashboard"}, auth=auth
        )


@router.get("/patients")
def patients_page(request: Request, auth: Auth = page("patient.read")) -> Response:
    from ..paging import patients_page_data

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
