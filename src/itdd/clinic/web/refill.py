"""The refill: aspirate, enter what was withdrawn and filled, review the discrepancy and the dates, record."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ... import quantities as q
from .. import security, services, views
from ..api.common import write_or_log_refusal
from ..auth import Auth, unit
from ..problems import ClinicError, Invalid
from .common import (
    _id,
    _s,
    page,
    partial,
    render,
    router,
)
from .program import (
    _fmt_amount,
    _pump_page_ctx,
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
        values = {"concentration": _fmt_amount(reading.conc_mg_per_ml, unit_) + "/mL", "bridge_bolus": "auto"}
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
            fault = request.app.state.settings.fault
            write_or_log_refusal(
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
                values["fill"] = f"{reading.capacity_ml:g} mL"
            if _s(form, "fill"):
                try:
                    req.fill_ml = q.parse_volume_ml(values["fill"])
                except q.UnitError as exc:
                    raise Invalid(str(exc), field="fill") from None
            else:
                req.fill_ml = reading.capacity_ml
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
