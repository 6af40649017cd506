"""Passwords, sessions, CSRF and login rate limiting.

* Passwords: Argon2id with the OWASP Password Storage Cheat Sheet's minimum (m=19 MiB, t=2, p=1).
* Sessions: a 256-bit random token in an HttpOnly, SameSite=Lax cookie (or an ``Authorization: Bearer``
  header for API clients); only its SHA-256 is stored, so a copy of the database holds no usable token.
  Absolute lifetime :data:`SESSION_LIFETIME_S`, no sliding expiry (no write per request).
* CSRF: each session has its own random token; every state-changing request authenticated by the cookie must
  send it back (form field ``csrf_token`` or header ``X-CSRF-Token``), compared in constant time.  A bearer
  token is never sent by a browser on its own, so bearer requests need no CSRF token.
* Login rate limit: at most :data:`LOGIN_MAX_FAILURES` failed attempts per user name and per client address
  in :data:`LOGIN_WINDOW_S`; beyond it the login answers 429 with ``Retry-After`` without checking the password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from ..timeunits import SECONDS_PER_HOUR
from .models import LoginAttempt, User, UserSession

SESSION_COOKIE = "itdd_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_LIFETIME_S = 12 * SECONDS_PER_HOUR  # assumption: one clinic day
LOGIN_MAX_FAILURES = 5  # assumption: OWASP-style small budget per window
LOGIN_WINDOW_S = 300.0  # assumption: 5 minutes

# OWASP Password Storage Cheat Sheet (argon2id: m=19 MiB, t=2, p=1); salted per hash by argon2-cffi.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A fixed hash to verify against when the user does not exist, so that timing does not reveal user names.
_DUMMY_HASH = _hasher.hash("itdd-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_verify(password: str) -> None:
    """Spend the same time as a real verification (unknown user)."""
    verify_password(_DUMMY_HASH, password)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def create_session(db: Session, user: User, now_wall_s: float) -> tuple[str, UserSession]:
    token = new_token()
    row = UserSession(
        id=token_id(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_wall_s=now_wall_s,
        expires_wall_s=now_wall_s + SESSION_LIFETIME_S,
    )
    db.add(row)
    # housekeeping: expired sessions of this user go
    db.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_wall_s < now_wall_s))
    return token, row


def lookup_session(db: Session, token: str | None, now_wall_s: float) -> tuple[UserSession, User] | None:
    if not token or len(token) > 200:
        return None
    row = db.get(UserSession, token_id(token))
    if row is None or row.expires_wall_s <= now_wall_s:
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


# who a session token belongs to, in one statement (the per-request path: no ORM session, no identity map)
ACTOR_COLUMNS = (
    UserSession.id,
    UserSession.csrf_token,
    User.id,
    User.username,
    User.role,
    User.clinic_id,
    User.patient_id,
    User.display_name,
)
_SESSION_ACTOR = (
    select(*ACTOR_COLUMNS)
    .join(User, User.id == UserSession.user_id)
    .where(
        UserSession.id == bindparam("sid"),
        UserSession.expires_wall_s > bindparam("now"),
        User.active.is_(True),
    )
)


def session_actor(db: Any, token: str | None, now_wall_s: float) -> Any:
    """:func:`lookup_session` as one statement (``Database.first``): (session id, CSRF token, user id, username,
    role, clinic id, patient id, display name) of a live session of an active user, or None."""
    if not token or len(token) > 200:
        return None
    return db.first(_SESSION_ACTOR, {"sid": token_id(token), "now": now_wall_s})


def failures_in_window(db: Session, keys: list[str], now_wall_s: float) -> int:
    """The largest number of failed attempts in the window among ``keys`` (user name, client address)."""
    worst = 0
    for key in keys:
        n = db.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.key == key,
                LoginAttempt.success.is_(False),
                LoginAttempt.wall_s > now_wall_s - LOGIN_WINDOW_S,
            )
        )
        worst = max(worst, int(n or 0))
    return worst


def retry_after_s(db: Session, keys: list[str], now_wall_s: float) -> int:
    """Seconds until the oldest failure in the window leaves it (for ``Retry-After``)."""
    oldest = db.scalar(
        select(func.min(LoginAttempt.wall_s)).where(
            LoginAttempt.key.in_(keys),
            LoginAttempt.success.is_(False),
            LoginAttempt.wall_s > now_wall_s - LOGIN_WINDOW_S,
        )
    )
    if oldest is None:
        return 1
    return max(1, int(oldest + LOGIN_WINDOW_S - now_wall_s) + 1)


def record_attempt(db: Session, keys: list[str], now_wall_s: float, success: bool) -> None:
    for key in keys:
        db.add(LoginAttempt(key=key, wall_s=now_wall_s, success=success))
    db.execute(delete(LoginAttempt).where(LoginAttempt.wall_s < now_wall_s - 24 * SECONDS_PER_HOUR))
