"""Errors the clinic answers with (RFC 9457 problem details for the API, an error page for HTML)."""

from __future__ import annotations

from typing import Any

from ..errors import InputError, ItddError, SafetyRefusal

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"


class ClinicError(Exception):
    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}
        self.headers: dict[str, str] = {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class Unauthorized(ClinicError):
    status = 401
    kind = "unauthorized"
    title = "Login required"


class Forbidden(ClinicError):
    status = 403
    kind = "forbidden"
    title = "Not allowed for your role"


class NotFound(ClinicError):
    status = 404
    kind = "not-found"
    title = "Not found"


class Conflict(ClinicError):
    status = 409
    kind = "conflict"
    title = "Changed by someone else"


class RateLimited(ClinicError):
    status = 429
    kind = "rate-limited"
    title = "Too many attempts"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, extra={"retry_after_s": retry_after_s})
        self.headers = {"Retry-After": str(retry_after_s)}


class Invalid(ClinicError):
    status = 422
    kind = "validation"
    title = "Invalid input"


class Refused(ClinicError):
    """A safety rule refused the request (a hard limit, or a soft limit without confirmation)."""

    status = 422
    kind = "safety-refusal"
    title = "Refused by a safety rule"


def from_itdd(exc: ItddError) -> ClinicError:
    if isinstance(exc, SafetyRefusal):
        return Refused(exc.message, field=exc.field or None, extra={"rule": exc.rule} if exc.rule else None)
    if isinstance(exc, InputError):
        return Invalid(exc.message, field=exc.field or None)
    return Invalid(exc.message, field=exc.field or None)
