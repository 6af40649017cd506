"""What every resource router of the JSON API shares: id and text types, the documented error responses
(RFC 9457 problem details), the input base class, and the two transaction helpers (live catch-up, a pump
action whose safety refusal is itself audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Path, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ... import quantities as q
from .. import services
from ..auth import Auth, unit, write_retrying
from ..problems import PROBLEM_JSON, Invalid, Refused

MAX_ID = 2**31 - 1  # the database's integer range: a larger id cannot exist
T = TypeVar("T")


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    return v


Text = Annotated[str, AfterValidator(_no_nul), Field(max_length=2000)]
Name = Annotated[str, AfterValidator(_no_nul), Field(min_length=1, max_length=64)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Confirmations = Annotated[
    dict[Annotated[str, Field(max_length=100)], Text],
    Field(
        default_factory=dict,
        max_length=20,
        description="Soft limits to go beyond: the finding's field (e.g. 'therapy.dose') -> the reason (recorded).",
    ),
]


class Strict(BaseModel):
    """A request body: unknown keys are refused (a typo never passes silently)."""

    model_config = ConfigDict(extra="forbid")


class ProblemError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; extension members (``rule``, ``messages``, ``current_version``,
    ``retry_after_s``) as the error needs them."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    rule: str | None = None
    errors: list[ProblemError] | None = None


_problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request", **_problem},
    401: {"description": "Not logged in", **_problem},
    403: {"description": "Not allowed for this role, or CSRF token missing", **_problem},
    404: {"description": "Not found in your clinic", **_problem},
    409: {"description": "Changed by someone else (optimistic locking)", **_problem},
    422: {"description": "Invalid input or refused by a safety rule; `field` names the field", **_problem},
}
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many failed logins; `Retry-After` says when to try again", **_problem}
}


def json_bytes(record: BaseModel, *, exclude_unset: bool = False) -> bytes:
    """A declared answer encoded once (pydantic's encoder: a non-finite number becomes ``null``), to be cached."""
    return record.model_dump_json(exclude_unset=exclude_unset).encode()


def json_response(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def parse_field(field: str, fn: Callable[[str], T], text: str) -> T:
    """Parse a quantity at the boundary; a unit error names the field."""
    try:
        return fn(text)
    except q.UnitError as exc:
        raise Invalid(str(exc), field=field) from None


def catch_up(request: Request, auth: Auth) -> None:
    """Live mode: bring the clinic's pumps to the wall clock before a read that shows them."""
    with unit(request, auth, write=False) as ctx:
        live = ctx.clinic().mode == "live"
    if live:
        write_retrying(request, auth, services.catch_up_live)


def write_or_log_refusal(request: Request, auth: Auth, action: str, pump_id: int, fn: Callable[[services.Ctx], T]) -> T:
    """Run a pump action; a safety refusal is itself audited (in its own transaction) and then reported."""
    try:
        with unit(request, auth, write=True) as ctx:
            return fn(ctx)
    except Refused as exc:
        with unit(request, auth, write=True) as ctx:
            ctx.audit(
                action + ".refused",
                "pump",
                pump_id,
                t_s=None,
                after={"field": exc.field, "detail": exc.detail, **exc.extra},
            )
        raise
