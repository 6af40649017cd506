"""The patient side's pages: the decision aid and the directory (public), My therapy and Contact my clinic
(a patient), the triage inbox actions (clinicians), the ambassador programme (patients, prospective patients,
coordinators) and the directory's administration (clinic administrators).

Every page checks its role (``auth.PERMISSIONS``); every state-changing form carries the session's CSRF token;
a form with a wrong entry comes back with the error naming the field and the person's entries kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ..auth import Auth, optional_auth, unit
from ..problems import ClinicError, Invalid
from ..services import Ctx
from ..web import _id, _s, _shell, page, render
from . import ambassadors, centres, decision_aid, gazetteer, therapy
from .models import TOPICS

router = APIRouter(include_in_schema=False)

OK = {
    "contact": "Your message is in your clinic's inbox. A nurse will read it.",
    "volunteer": "Thank you: your volunteer profile is saved.",
    "withdraw": "You have left the ambassador programme; your profile is deleted.",
    "request": "Your request is with the coordinator.",
    "connect": "Connected: the two can now message each other.",
    "decline": "Request declined.",
    "sent": "Message sent.",
    "end": "Conversation ended.",
    "report": "Reported to the coordinator.",
    "closed": "Report closed.",
    "centre": "Directory entry saved.",
    "deleted": "Directory entry deleted.",
    "handled": "Message marked as handled.",
}


def _ok(request: Request) -> str | None:
    return OK.get(request.query_params.get("done", ""))


def _list(form: FormData, key: str) -> list[str]:
    out = []
    for v in form.getlist(key):
        if not isinstance(v, str):
            continue
        if "\x00" in v:
            raise Invalid("must not contain NUL characters", field=key)
        out.append(v.strip()[:100])
    return out[:50]


def _long(form: FormData, key: str, limit: int = 2000) -> str:
    """A free-text field, refused (not cut) when longer than ``limit``."""
    v = form.get(key)
    if not isinstance(v, str):
        return ""
    if "\x00" in v:
        raise Invalid("must not contain NUL characters", field=key)
    if len(v.strip()) > limit:
        raise Invalid(f"at most {limit} characters", field=key)
    return v.strip()


def _shell_or_none(request: Request, auth: Auth | None) -> dict[str, Any]:
    if auth is None:
        return {}
    with unit(request, auth, write=False) as ctx:
        return _shell(ctx)


# ---- the decision aid (public) -------------------------------------------------------------------


@router.get("/decide")
def decide_page(request: Request, auth: Auth | None = Depends(optional_auth)) -> Response:
    return render(
        request,
        "ps/decide.html",
        {
            **_shell_or_none(request, auth),
            "questions": decision_aid.QUESTIONS,
            "steps": decision_aid.STEPS,
            "answers": {},
            "nav": "decide",
        },
        auth=auth,
    )


@router.post("/decide")
async def decide_submit(request: Request, auth: Auth | None = Depends(optional_auth)) -> Response:
    """Nothing is stored: the answers become a summary page (so no CSRF token is needed: nothing changes)."""
    form = await request.form()
    raw = {q.key: _list(form, q.key) for q in decision_aid.QUESTIONS}
    shell = _shell_or_none(request, auth)
    try:
        answers = decision_aid.parse(raw)
    except ClinicError as exc:
        return render(
            request,
            "ps/decide.html",
            {
                **shell,
                "questions": decision_aid.QUESTIONS,
                "steps": decision_aid.STEPS,
                "answers": raw,
                "error": exc,
                "nav": "decide",
            },
            exc.status,
            auth=auth,
        )
    summary = decision_aid.summarise(answers)
    return render(
        request,
        "ps/decide_summary.html",
        {**shell, "s": summary, "not_a_verdict": decision_aid.NOT_A_VERDICT, "nav": "decide"},
        auth=auth,
    )


# ---- find a pain centre (public) ----------------------------------------------------------------


@router.get("/centres")
def centres_page(request: Request, auth: Auth | None = Depends(optional_auth)) -> Response:
    qp = request.query_params
    query = (qp.get("q") or "").strip()
    offers = [o for o in qp.getlist("offers") if o]
    data: dict[str, Any] = {
        **_shell_or_none(request, auth),
        "q": query,
        "offers": offers,
        "all_offers": centres.OFFERS,
        "nav": "centres",
    }
    status = 200
    if query or offers:
        try:
            chosen = centres.parse_offers(offers)
            place = gazetteer.geocode(query)
            db = request.app.state.db
            with db.read() as s:
                data["hits"] = [centres.centre_dict(h.centre, h.distance_km) for h in centres.search(s, place, chosen)]
            data["place"] = place
        except ClinicError as exc:
            data["error"] = exc
            status = exc.status
    return render(request, "ps/centres.html", data, status, auth=auth)


def _centre_input(form: FormData) -> centres.CentreInput:
    def num(key: str) -> float | None:
        text = _s(form, key)
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise Invalid("a number in decimal degrees, e.g. 53.80", field=key) from None

    return centres.CentreInput(
        name=_s(form, "name"),
        address=_s(form, "address"),
        town=_s(form, "town"),
        postcode=_s(form, "postcode"),
        phone=_s(form, "phone"),
        offers=_list(form, "offers"),
        lat=num("lat"),
        lon=num("lon"),
    )


def _admin_page(
    request: Request,
    auth: Auth,
    error: ClinicError | None = None,
    values: dict[str, Any] | None = None,
    edit_id: int | None = None,
) -> Response:
    with unit(request, auth, write=False) as ctx:
        rows = [centres.centre_dict(c) for c in centres.own_centres(ctx)]
        return render(
            request,
            "ps/admin_centres.html",
            {
                **_shell(ctx),
                "rows": rows,
                "all_offers": centres.OFFERS,
                "error": error,
                "v": values or {},
                "edit_id": edit_id,
                "done": _ok(request),
                "nav": "admin",
            },
            200 if error is None else error.status,
            auth=auth,
        )


@router.get("/admin/centres")
def admin_centres_page(request: Request, auth: Auth = page("centres.admin")) -> Response:
    return _admin_page(request, auth)


def _write(request: Request, auth: Auth, fn: Callable[[Ctx], Any]) -> Any:
    with unit(request, auth, write=True) as ctx:
        return fn(ctx)


@router.post("/admin/centres")
async def admin_centre_create(request: Request, auth: Auth = page("centres.admin")) -> Response:
    form = await request.form()
    try:
        inp = _centre_input(form)
        _write(request, auth, lambda ctx: centres.create(ctx, inp))
    except ClinicError as exc:
        if exc.status == 404:
            raise
        return _admin_page(request, auth, exc, {k: _s(form, k) for k in form} | {"offers": _list(form, "offers")})
    return RedirectResponse("/admin/centres?done=centre", status_code=303)


@router.post("/admin/centres/{centre_id}")
async def admin_centre_update(centre_id: int, request: Request, auth: Auth = page("centres.admin")) -> Response:
    _id(centre_id)
    form = await request.form()
    try:
        inp = _centre_input(form)
        _write(request, auth, lambda ctx: centres.update(ctx, centre_id, inp))
    except ClinicError as exc:
        if exc.status == 404:
            raise
        values = {k: _s(form, k) for k in form} | {"offers": _list(form, "offers")}
        return _admin_page(request, auth, exc, values, edit_id=centre_id)
    return RedirectResponse("/admin/centres?done=centre", status_code=303)


@router.post("/admin/centres/{centre_id}/delete")
def admin_centre_delete(centre_id: int, request: Request, auth: Auth = page("centres.admin")) -> Response:
    _id(centre_id)
    _write(request, auth, lambda ctx: centres.delete(ctx, centre_id))
    return RedirectResponse("/admin/centres?done=deleted", status_code=303)


# ---- My therapy and Contact my clinic (a patient) ---------------------------------------------


def _therapy_page(
    request: Request,
    auth: Auth,
    *,
    error: ClinicError | None = None,
    values: dict[str, Any] | None = None,
    decision: therapy.Triage | None = None,
) -> Response:
    with unit(request, auth, write=False) as ctx:
        data = {
            **_shell(ctx),
            "t": therapy.my_therapy(ctx),
            "messages": therapy.my_messages(ctx),
            "symptoms": therapy.SYMPTOMS,
            "urgencies": ("routine", "soon", "urgent"),
            "emergency": therapy.EMERGENCY,
            "error": error,
            "v": values or {"urgency": "routine", "symptoms": []},
            "decision": decision,
            "done": _ok(request),
            "nav": "therapy",
        }
        return render(request, "ps/my_therapy.html", data, 200 if error is None else error.status, auth=auth)


@router.get("/my/therapy")
def my_therapy_page(request: Request, auth: Auth = page("ptm")) -> Response:
    return _therapy_page(request, auth)


@router.post("/my/contact")
async def my_contact(request: Request, auth: Auth = page("ptm")) -> Response:
    form = await request.form()
    symptoms, urgency = _list(form, "symptoms"), _s(form, "urgency") or "routine"
    raw = form.get("message")
    values = {"symptoms": symptoms, "urgency": urgency, "message": raw[:2000] if isinstance(raw, str) else ""}
    try:
        body = _long(form, "message")
        _mid, decision = _write(
            request, auth, lambda ctx: therapy.contact_clinic(ctx, symptoms=symptoms, urgency=urgency, body=body)
        )
    except ClinicError as exc:
        if exc.status == 404:
            raise
        return _therapy_page(request, auth, error=exc, values=values)
    if decision.emergency_first:
        return _therapy_page(request, auth, decision=decision)  # the emergency instruction first, on this page
    return RedirectResponse("/my/therapy?done=contact#contact", status_code=303)


@router.post("/triage/{message_id}/handle")
async def triage_handle(message_id: int, request: Request, auth: Auth = page("triage.handle")) -> Response:
    _id(message_id)
    form = await request.form()
    note = _s(form, "note")
    _write(request, auth, lambda ctx: therapy.handle_message(ctx, message_id, note))
    return RedirectResponse("/?ok=triage#triage", status_code=303)


# ---- the ambassador programme ----------------------------------------------------------------------


def _amb_page(
    request: Request, auth: Auth | None, *, error: ClinicError | None = None, values: dict[str, Any] | None = None
) -> Response:
    data: dict[str, Any] = {
        "no_advice": ambassadors.NO_ADVICE,
        "topics": TOPICS,
        "error": error,
        "v": values or {},
        "done": _ok(request),
        "nav": "ambassadors",
    }
    status = 200 if error is None else error.status
    if auth is None:
        return render(request, "ps/ambassadors.html", data, status, auth=auth)
    with unit(request, auth, write=False) as ctx:  # rendered inside the session (the rows are read lazily)
        data.update(_shell(ctx))
        role = auth.actor.role
        if role in ("patient", "prospective"):
            data["conversations"] = ambassadors.my_conversations(ctx)
        if role == "patient":
            data["profile"] = ambassadors.my_profile(ctx)
        if role == "prospective":
            data["requests"] = ambassadors.my_requests(ctx)
        return render(request, "ps/ambassadors.html", data, status, auth=auth)


@router.get("/ambassadors")
def ambassadors_page(request: Request, auth: Auth | None = Depends(optional_auth)) -> Response:
    return _amb_page(request, auth)


async def _amb_form(request: Request, auth: Auth, fn: Callable[[Ctx, FormData], Any], done: str) -> Response:
    form = await request.form()
    try:
        _write(request, auth, lambda ctx: fn(ctx, form))
    except ClinicError as exc:
        if exc.status in (403, 404):
            raise
        values = {k: _s(form, k) for k in form} | {"topics": _list(form, "topics")}
        return _amb_page(request, auth, error=exc, values=values)
    return RedirectResponse(f"/ambassadors?done={done}", status_code=303)


@router.post("/ambassadors/volunteer")
async def volunteer_submit(request: Request, auth: Auth = page("ambassador.volunteer")) -> Response:
    return await _amb_form(
        request,
        auth,
        lambda ctx, f: ambassadors.volunteer(
            ctx,
            alias=_s(f, "alias"),
            topics=_list(f, "topics"),
            about=_long(f, "about", ambassadors.MAX_ABOUT),
            consent=_s(f, "consent") == "yes",
        ),
        "volunteer",
    )


@router.post("/ambassadors/withdraw")
async def withdraw_submit(request: Request, auth: Auth = page("ambassador.volunteer")) -> Response:
    return await _amb_form(request, auth, lambda ctx, f: ambassadors.withdraw(ctx), "withdraw")


@router.post("/ambassadors/request")
async def request_submit(request: Request, auth: Auth = page("ambassador.request")) -> Response:
    return await _amb_form(
        request,
        auth,
        lambda ctx, f: ambassadors.ask(
            ctx,
            alias=_s(f, "alias"),
            topics=_list(f, "topics"),
            note=_long(f, "note", ambassadors.MAX_ABOUT),
            consent=_s(f, "consent") == "yes",
        ),
        "request",
    )


@router.get("/coordinator")
def coordinator_page(request: Request, auth: Auth = page("ambassador.coordinate")) -> Response:
    with unit(request, auth, write=False) as ctx:
        data = {
            **_shell(ctx),
            "c": ambassadors.coordinator_view(ctx),
            "done": _ok(request),
            "nav": "coordinator",
            "no_advice": ambassadors.NO_ADVICE,
        }
        return render(request, "ps/coordinator.html", data, auth=auth)


@router.post("/coordinator/requests/{request_id}/connect")
async def connect_submit(request_id: int, request: Request, auth: Auth = page("ambassador.coordinate")) -> Response:
    _id(request_id)
    form = await request.form()
    try:
        volunteer_id = int(_s(form, "volunteer"))
    except ValueError:
        raise Invalid("choose a volunteer", field="volunteer") from None
    _write(request, auth, lambda ctx: ambassadors.connect(ctx, request_id, volunteer_id))
    return RedirectResponse("/coordinator?done=connect", status_code=303)


@router.post("/coordinator/requests/{request_id}/decline")
async def decline_submit(request_id: int, request: Request, auth: Auth = page("ambassador.coordinate")) -> Response:
    _id(request_id)
    form = await request.form()
    reason = _s(form, "reason")
    _write(request, auth, lambda ctx: ambassadors.decline(ctx, request_id, reason))
    return RedirectResponse("/coordinator?done=decline", status_code=303)


@router.post("/coordinator/reports/{report_id}/close")
async def report_close_submit(report_id: int, request: Request, auth: Auth = page("ambassador.coordinate")) -> Response:
    _id(report_id)
    form = await request.form()
    end_it = _s(form, "end") == "yes"
    _write(request, auth, lambda ctx: ambassadors.close_report(ctx, report_id, end_it))
    return RedirectResponse("/coordinator?done=closed", status_code=303)


def _conv_page(
    request: Request, auth: Auth, conversation_id: int, error: ClinicError | None = None, draft: str = ""
) -> Response:
    with unit(request, auth, write=False) as ctx:
        data = {
            **_shell(ctx),
            "c": ambassadors.view(ctx, conversation_id),
            "no_advice": ambassadors.NO_ADVICE,
            "error": error,
            "draft": draft,
            "done": _ok(request),
            "nav": "ambassadors",
        }
        return render(request, "ps/conversation.html", data, 200 if error is None else error.status, auth=auth)


@router.get("/conversations/{conversation_id}")
def conversation_page(conversation_id: int, request: Request, auth: Auth = page("ambassador.talk")) -> Response:
    _id(conversation_id)
    return _conv_page(request, auth, conversation_id)


@router.post("/conversations/{conversation_id}/messages")
async def message_submit(conversation_id: int, request: Request, auth: Auth = page("ambassador.talk")) -> Response:
    _id(conversation_id)
    form = await request.form()
    try:
        body = _long(form, "message", ambassadors.MAX_MESSAGE)
        _write(request, auth, lambda ctx: ambassadors.send(ctx, conversation_id, body))
    except ClinicError as exc:
        if exc.status in (403, 404):
            raise
        return _conv_page(request, auth, conversation_id, exc, str(form.get("message") or "")[:2000])
    return RedirectResponse(f"/conversations/{conversation_id}?done=sent#end", status_code=303)


@router.post("/conversations/{conversation_id}/end")
def end_submit(conversation_id: int, request: Request, auth: Auth = page("ambassador.talk")) -> Response:
    _id(conversation_id)
    _write(request, auth, lambda ctx: ambassadors.end(ctx, conversation_id))
    return RedirectResponse(f"/conversations/{conversation_id}?done=end", status_code=303)


@router.post("/conversations/{conversation_id}/report")
async def report_submit(conversation_id: int, request: Request, auth: Auth = page("ambassador.talk")) -> Response:
    _id(conversation_id)
    form = await request.form()
    reason = _s(form, "reason")
    try:
        _write(request, auth, lambda ctx: ambassadors.report(ctx, conversation_id, reason))
    except ClinicError as exc:
        if exc.status in (403, 404):
            raise
        return _conv_page(request, auth, conversation_id, exc)
    return RedirectResponse(f"/conversations/{conversation_id}?done=report", status_code=303)
