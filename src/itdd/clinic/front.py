"""The front door: a cached answer served in one statement, before the framework sees the request.

Most requests of a clinic day are reads whose whole answer is already cached, encoded, under the change stamps of
what it shows (:mod:`itdd.clinic.cache`, :mod:`itdd.clinic.stamps`): the dashboard, a patient's chart data, a
patient page.  For those, routing, dependency injection, an ORM session and its transaction, several statements
and the encoder cost many times the answer itself.  :class:`FrontDoor` (a plain ASGI middleware, inside the
security headers) recognises exactly these three requests and, in one pooled connection and **one statement**,
reads who the session belongs to (the same test as :data:`itdd.clinic.security._SESSION_ACTOR`: a live session
of an active user), the clinic's clock, the patient's clinic (the scope check) and the change stamps the answer
is keyed on.  When the user may read it, the clinic runs on its training clock and an answer is cached under
that very key, it is sent as it is.  Anything else — no or an unknown token, another role, another clinic's
patient, live mode, a parameter it does not read exactly as the route would, no cached answer, any error — goes
on to the app unchanged, which answers (and fills the cache) as before; the session it verified is handed on so
that the app does not look it up again.

The keys are built by the same functions as the routes' own (:func:`dashboard_key`, :func:`chart_key`,
:func:`page_key`), from the same stamps read the same way, so the front door can only ever serve what the route
itself would have served from its cache at that moment: never an answer older than the database.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, literal, select
from starlette.datastructures import QueryParams
from starlette.requests import cookie_parser

from . import cache, security
from .auth import PERMISSIONS, Auth
from .db import Database
from .models import ChangeCounter, Clinic, Patient, User, UserSession
from .services import Actor
from .stamps import GLOBAL

log = logging.getLogger("itdd.clinic")

DASHBOARD_ROWS_MAX = 500  # views.PATIENT_PAGE_MAX: the dashboard route's own bound on ?limit=
_DIGITS = re.compile(r"[0-9]{1,10}")
_NUMBER = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
_DASHBOARD = "/api/v1/dashboard"
_CHART = re.compile(r"/api/v1/patients/([0-9]{1,10})/chart")
_PAGE = re.compile(r"/patients/([0-9]{1,10})")
MAX_ID = 2**31 - 1


# ---- the keys (shared with the routes) ---------------------------------------------------------------


def dashboard_key(clinic_id: int, stamp: tuple[int, ...], now_s: float, limit: int) -> Hashable:
    return ("dashboard", clinic_id, stamp, now_s, limit)


def chart_key(
    clinic_id: int, patient_id: int, stamp: tuple[int, ...], now_s: float, days: float, forecast: bool
) -> Hashable:
    return ("chart", clinic_id, patient_id, stamp, now_s, days, forecast)


def page_params(query: Any) -> tuple[bool, float, str]:
    """A patient page's view from its query string: (simulator truth, days shown, the 'ok' message key)."""
    truth = query.get("truth") == "1"
    try:
        days = float(query.get("days", "180"))
    except ValueError:
        days = 180.0
    if not math.isfinite(days):  # nan, inf: min/max would pass nan through
        days = 180.0
    return truth, min(max(days, 7.0), 730.0), query.get("ok", "")


def page_key(
    patient_id: int, stamp: tuple[int, ...], now_s: float, truth: bool, days: float, ok: str, auth: Auth
) -> Hashable:
    """The page carries the session's CSRF token and user, so it is cached per session (``auth``)."""
    return ("patient_page", patient_id, stamp, now_s, truth, days, ok, auth)


# ---- the one statement -----------------------------------------------------------------------------

_CC = ChangeCounter.__table__


def _counter(scope: Any) -> Any:
    return select(_CC.c.n).where(_CC.c.scope == scope).scalar_subquery()


def _scoped(prefix: str) -> Any:
    return literal(prefix) + cast(User.clinic_id, String)


_WHO = (
    *security.ACTOR_COLUMNS,
    Clinic.mode,
    Clinic.clock_t_s,
    _counter(GLOBAL),
)
_LIVE_SESSION = (
    UserSession.id == bindparam("sid"),
    UserSession.expires_wall_s > bindparam("now"),
    User.active.is_(True),
)
_FROM = UserSession.__table__.join(User.__table__, User.id == UserSession.user_id).join(
    Clinic.__table__, Clinic.id == User.clinic_id
)
# who, the clinic's clock, the global and the clinic's stamp (the dashboard)
CLINIC_STATEMENT = select(*_WHO, _counter(_scoped("c:"))).select_from(_FROM).where(*_LIVE_SESSION)
# who, the clinic's clock, the patient's clinic (scope), the global, the clinic's own and the patient's stamp
PATIENT_STATEMENT = (
    select(
        *_WHO,
        select(Patient.clinic_id).where(Patient.id == bindparam("pid")).scalar_subquery(),
        _counter(_scoped("w:")),
        _counter(literal("p:") + cast(bindparam("pid"), String)),
    )
    .select_from(_FROM)
    .where(*_LIVE_SESSION)
)


@dataclass(frozen=True)
class _Ask:
    kind: str  # dashboard | chart | page
    permission: str
    patient_id: int = 0
    limit: int = 0
    days: float = 0.0
    forecast: bool = False
    truth: bool = False
    ok: str = ""


def _one(query: QueryParams, allowed: set[str]) -> dict[str, str] | None:
    """The query's parameters when each is allowed and given once; else None."""
    items = query.multi_items()
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys) or not set(keys) <= allowed:
        return None
    return dict(items)


def _route(path: str, raw_query: bytes) -> _Ask | None:
    """The request, when it is one the front door reads exactly as its route would; else None."""
    query = QueryParams(raw_query.decode("latin-1"))
    if path == _DASHBOARD:
        q = _one(query, {"limit"})
        if q is None:
            return None
        text = q.get("limit", "50")
        if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= DASHBOARD_ROWS_MAX:
            return None
        return _Ask("dashboard", "clinic.read", limit=int(text))
    m = _CHART.fullmatch(path)
    if m:
        q = _one(query, {"days", "forecast"})
        if q is None or not 1 <= int(m.group(1)) <= MAX_ID:
            return None
        days_text, forecast_text = q.get("days", "180"), q.get("forecast", "false")
        if not _NUMBER.fullmatch(days_text) or forecast_text not in ("true", "false"):
            return None
        days = float(days_text)
        if not 0 < days <= 3650:
            return None
        return _Ask("chart", "patient.read", patient_id=int(m.group(1)), days=days, forecast=forecast_text == "true")
    m = _PAGE.fullmatch(path)
    if m:
        if not 1 <= int(m.group(1)) <= MAX_ID:
            return None
        truth, days, ok = page_params(query)
        return _Ask("page", "patient.read", patient_id=int(m.group(1)), days=days, truth=truth, ok=ok)
    return None


def _token(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """(token, via) as :func:`itdd.clinic.auth.optional_auth` reads it: the bearer token, else the cookie."""
    bearer = cookie = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, cred = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and cred.strip():
                bearer = cred.strip()
        elif name == b"cookie":
            cookie = cookie_parser(value.decode("latin-1")).get(security.SESSION_COOKIE) or cookie
    if bearer:
        return bearer, "bearer"
    if cookie:
        return cookie, "cookie"
    return None


class FrontDoor:
    """ASGI middleware: cached answers of the dashboard, chart data and patient pages in one statement."""

    def __init__(self, app: Any, db: Database, wall: Any, state: Any = None) -> None:
        self.app = app
        self.db = db
        self.wall = wall
        self.served = 0  # answers sent by the front door (tests and benchmarks read it: ``app.state.front``)
        if state is not None:
            state.front = self

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            ask = _route(scope.get("path", ""), scope.get("query_string", b""))
            found = _token(scope.get("headers", [])) if ask is not None else None
            if ask is not None and found is not None:
                try:
                    # on the event loop's own thread: one short statement (no thread hand-over, which cost as much)
                    auth, body = self._answer(ask, *found)
                except Exception:  # never an error from here: the app answers instead (and logs its own)
                    log.exception("front door: falling back to the app")
                    auth, body = None, None
                if body is not None:
                    self.served += 1
                    ctype = b"text/html; charset=utf-8" if ask.kind == "page" else b"application/json"
                    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", ctype)]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
                if auth is not None:  # verified just now: the app's auth lookup uses it (request.state.auth)
                    scope.setdefault("state", {})["auth"] = auth
        await self.app(scope, receive, send)

    def _answer(self, ask: _Ask, token: str, via: str) -> tuple[Auth | None, bytes | None]:
        if len(token) > 200:
            return None, None
        params: dict[str, Any] = {"sid": security.token_id(token), "now": self.wall()}
        statement = CLINIC_STATEMENT
        if ask.kind != "dashboard":
            statement, params["pid"] = PATIENT_STATEMENT, ask.patient_id
        row = self.db.first(statement, params)
        if row is None:
            return None, None
        sid, csrf, user_id, username, role, clinic_id, patient_id, display_name, mode, clock_t_s, g = row[:11]
        actor = Actor(
            user_id=user_id,
            username=username,
            role=role,
            clinic_id=clinic_id,
            patient_id=patient_id,
            display_name=display_name,
        )
        auth = Auth(actor, sid, csrf, via)
        if role not in PERMISSIONS[ask.permission] or mode != "training":
            return auth, None
        ns = self.db.cache_ns
        now = clock_t_s
        if ask.kind == "dashboard":
            key = dashboard_key(clinic_id, (ns, int(g or 0), int(row[11] or 0)), now, ask.limit)
            return auth, cache.ANSWERS.peek(key)
        owner, w, p = row[11:14]
        if owner != clinic_id:  # another clinic's patient (or none): the route answers 404
            return auth, None
        stamp = (ns, int(g or 0), int(w or 0), int(p or 0))
        if ask.kind == "chart":
            return auth, cache.ANSWERS.peek(chart_key(clinic_id, ask.patient_id, stamp, now, ask.days, ask.forecast))
        return auth, cache.PAGES.peek(page_key(ask.patient_id, stamp, now, ask.truth, ask.days, ask.ok, auth))
