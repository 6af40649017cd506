"""Who is asking: session lookup, login/logout, CSRF and role checks (shared by the API and the pages)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import security
from .clock import WallClock
from .db import Database
from .models import User, UserSession
from .problems import Forbidden, Invalid, RateLimited, Unauthorized
from .services import Actor, Ctx

bearer_scheme = HTTPBearer(auto_error=False, description="The token from POST /api/v1/auth/login.")
cookie_scheme = APIKeyCookie(
    name=security.SESSION_COOKIE,
    auto_error=False,
    description="The session cookie set by the login; state-changing requests also need X-CSRF-Token.",
)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
T = TypeVar("T")

# Who may do what: one entry per action, used by the routes and checked route by route in the tests.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "self": ("physician", "nurse", "patient", "prospective", "coordinator", "clinic_admin"),
    "clinic.read": ("physician", "nurse"),
    "clinic.advance": ("physician", "nurse"),
    "clinic.mode": ("physician",),
    "patient.read": ("physician", "nurse"),
    "record.write": ("physician", "nurse"),  # assessments, adverse events, appointments
    "pump.interrogate": ("physician", "nurse"),
    "pump.program.preview": ("physician", "nurse"),
    "pump.program": ("physician",),  # a prescription change is a physician's order
    "pump.refill": ("physician", "nurse"),
    "refill.verify": ("physician", "nurse"),
    "refill.resolve": ("physician", "nurse"),
    "audit.read": ("physician",),
    "ptm": ("patient",),
    # the patient's side (itdd.clinic.patient_side)
    "triage.handle": ("physician", "nurse"),
    "centres.admin": ("clinic_admin",),
    "ambassador.volunteer": ("patient",),
    "ambassador.request": ("prospective",),
    "ambassador.coordinate": ("coordinator",),
    "ambassador.talk": ("patient", "prospective"),
    "fhir.read": ("physician", "nurse", "patient"),  # a patient: only their own record
    "fhir.export": ("physician",),
    "fhir.import": ("physician", "nurse"),
}


@dataclass(frozen=True)
class Auth:
    actor: Actor
    session_id: str
    csrf_token: str
    via: str  # cookie | bearer

    def can(self, permission: str) -> bool:
        return self.actor.role in PERMISSIONS[permission]


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def wall_of(request: Request) -> WallClock:
    wall: WallClock = request.app.state.wall
    return wall


def _actor(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        clinic_id=user.clinic_id,
        patient_id=user.patient_id,
        display_name=user.display_name,
    )


def lookup(request: Request, bearer: str | None, cookie: str | None) -> Auth | None:
    if hasattr(request.state, "auth"):
        cached: Auth | None = request.state.auth
        return cached
    token, via = (bearer, "bearer") if bearer else (cookie, "cookie")
    auth = None
    if token:
        row = security.session_actor(db_of(request), token, wall_of(request)())  # one statement, no ORM session
        if row is not None:
            sid, csrf, user_id, username, role, clinic_id, patient_id, display_name = row
            actor = Actor(
                user_id=user_id,
                username=username,
                role=role,
                clinic_id=clinic_id,
                patient_id=patient_id,
                display_name=display_name,
            )
            auth = Auth(actor, sid, csrf, via)
    request.state.auth = auth
    return auth


def optional_auth(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    cookie: str | None = Depends(cookie_scheme),
) -> Auth | None:
    return lookup(request, bearer.credentials if bearer else None, cookie)


async def check_csrf(request: Request, auth: Auth) -> None:
    """Cookie-authenticated state changes must carry the session's CSRF token (header or form field)."""
    if request.method not in UNSAFE or auth.via != "cookie":
        return
    given = request.headers.get(security.CSRF_HEADER)
    if not given:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(security.CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not security.csrf_ok(auth.csrf_token, given):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again", field=security.CSRF_FIELD)


def api_user(permission: str) -> Callable[..., Any]:
    """Dependency for an API route: a logged-in user holding ``permission`` (and CSRF on state changes)."""

    async def dep(request: Request, auth: Auth | None = Depends(optional_auth)) -> Auth:
        if auth is None:
            raise Unauthorized("log in first (POST /api/v1/auth/login)")
        await check_csrf(request, auth)
        if not auth.can(permission):
            raise Forbidden(f"a {auth.actor.role} may not do this ({permission})")
        return auth

    return dep


@contextmanager
def unit(request: Request, auth: Auth, *, write: bool) -> Iterator[Ctx]:
    db = db_of(request)
    with db.write() if write else db.read() as s:
        yield Ctx(s, auth.actor, wall_of(request))


WRITE_ATTEMPTS = 6  # assumption: enough for a handful of clinicians and patients on one pump at once


def write_retrying(request: Request, auth: Auth, fn: Callable[[Ctx], T]) -> T:
    """Run an action that does not depend on a state the user reviewed (a patient bolus request, an
    interrogation, a clock advance) and run it again on the fresh state if another transaction changed the
    same pump at the same moment.  Actions that carry the version the user reviewed are never retried: a
    change in between is a conflict the user must see."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with unit(request, auth, write=True) as ctx:
                return fn(ctx)
        except (StaleDataError, IntegrityError):  # the other transaction won this pump's version (or event seq)
            if attempt == WRITE_ATTEMPTS:
                raise
            time.sleep(random.uniform(0.005, 0.03) * attempt)  # assumption: a short jitter de-synchronises racers
    raise AssertionError("unreachable")  # pragma: no cover


# ---- login ---------------------------------------------------------------------------------------


def client_ip(request: Request) -> str:
    """The client's address for the login limit.

    ``X-Forwarded-For`` is believed only when the connection comes from a configured trusted proxy
    (``Settings.trusted_proxies``, ``itdd serve --forwarded-allow-ips``; none by default).  Then the client is the
    last address in the header that is not itself a trusted proxy: addresses further left were written by the
    client and prove nothing.
    """
    peer = request.client.host if request.client else "unknown"
    trusted = set(request.app.state.settings.trusted_proxies)
    if peer not in trusted and "*" not in trusted:
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:100]
    return peer


def login(request: Request, username: str, password: str) -> tuple[str, str, Actor]:
    """Check the password (rate-limited); returns (token, csrf token, actor). Failures are committed too."""
    if "\x00" in username or "\x00" in password:
        raise Invalid("must not contain NUL characters", field="username")
    db, wall = db_of(request), wall_of(request)
    name = username.strip().lower()
    keys = [f"user:{name}"[:200], f"ip:{client_ip(request)}"[:200]]
    now = wall()
    with db.write() as s:
        if security.failures_in_window(s, keys, now) >= security.LOGIN_MAX_FAILURES:
            raise RateLimited("too many failed logins; wait before trying again", security.retry_after_s(s, keys, now))
        user = s.scalar(select(User).where(func.lower(User.username) == name))
        ok = False
        if user is None or not user.active:
            security.burn_verify(password)
        else:
            ok = security.verify_password(user.password_hash, password)
        security.record_attempt(s, keys, now, ok)
        if ok and user is not None:
            token, row = security.create_session(s, user, now)
            actor = _actor(user)
            Ctx(s, actor, wall).audit("auth.login", "user", user.id, t_s=None, after={"via": "password"})
            csrf = row.csrf_token
    if not ok:
        raise Unauthorized("wrong user name or password", field="password")
    return token, csrf, actor


def logout(request: Request, auth: Auth) -> None:
    with db_of(request).write() as s:
        row = s.get(UserSession, auth.session_id)
        if row is not None:
            s.delete(row)
        Ctx(s, auth.actor, wall_of(request)).audit("auth.logout", "user", auth.actor.user_id, t_s=None)
