"""The clinic web app: FastAPI, server-rendered pages and a JSON API on one database.

``create_app(database_url)`` migrates the schema (Alembic), seeds the demo clinic on first start and returns
the ASGI app.  Every API error is ``application/problem+json`` naming the field; every page error is an HTML
page; no traceback ever reaches a user.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import DISCLAIMER, __version__
from ..errors import ItddError
from ..quantities import UnitError
from .clock import WallClock, system_wall_clock
from .db import Database
from .headers import SecurityHeaders
from .problems import PROBLEM_BASE, PROBLEM_JSON, ClinicError, Conflict, Invalid, from_itdd
from .safe import SafeJSONResponse
from .seed import seed_demo

log = logging.getLogger("itdd.clinic")
PACKAGE = resources.files("itdd.clinic")


@dataclass
class Settings:
    secure_cookies: bool = False  # set when served over HTTPS (behind a TLS proxy)
    # addresses of reverse proxies whose X-Forwarded-For is believed (none by default: a client could otherwise
    # name any address and slip past the per-address login limit); see auth.client_ip
    trusted_proxies: tuple[str, ...] = ()
    seed_demo: bool = True
    fault: Callable[[str], None] | None = None  # crash-test hook (see fault_from_env)
    # the server (``itdd serve``) only: threads for the sync handlers per process (None: anyio's 40), and a
    # collector tuned for a long-running server (see serving.tune_process)
    threads: int | None = None
    tune_gc: bool = False


class LoginRedirect(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def fault_from_env() -> Callable[[str], None] | None:
    """Fault injection for the crash test: ``ITDD_CLINIC_FAULT=pause:refill:<marker file>``.

    When a refill has written everything but not yet committed, the server writes the marker file and waits
    (so that the test can kill it with SIGKILL at that exact point).  ``kill:refill`` makes the process kill
    itself there instead.  Never set in normal use.
    """
    spec = os.environ.get("ITDD_CLINIC_FAULT", "")
    if not spec:
        return None
    parts = spec.split(":", 2)
    action, point = parts[0], parts[1] if len(parts) > 1 else ""
    marker = parts[2] if len(parts) > 2 else ""

    def fault(where: str) -> None:
        if where != point:
            return
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "pause":
            import time

            Path(marker).write_text(str(os.getpid()), encoding="utf-8")
            time.sleep(600)

    return fault


#: SQLSTATEs of failures after which the database rolled the transaction back and a retry may succeed:
#: serialization_failure, deadlock_detected, lock_not_available (PostgreSQL error codes, appendix A)
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def transient_db_failure(exc: BaseException) -> bool:
    """True when ``exc`` is a database failure that changed nothing and may succeed if tried again:
    a PostgreSQL deadlock, serialization failure or lock timeout, or SQLite's 'database is locked'."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(orig)


def create_app(
    database: str | Database,
    *,
    wall: WallClock = system_wall_clock,
    settings: Settings | None = None,
    migrate: bool = True,
) -> FastAPI:
    settings = settings or Settings(fault=fault_from_env())
    db = database if isinstance(database, Database) else Database(database)
    if migrate:
        db.migrate()
    if settings.seed_demo:
        with db.write() as session:
            seeded = seed_demo(session, wall_s=wall())
        if seeded:
            log.info("seeded the demo clinic")

    app = FastAPI(
        title="itdd clinic API",
        version=__version__,
        description=(
            "The clinic app of itdd: patients, pumps (simulated twins), refills, programming, patient boluses. "
            + DISCLAIMER
            + " Authenticate with POST /api/v1/auth/login, then send the token as `Authorization: Bearer …` "
            "(or use the session cookie plus the `X-CSRF-Token` header on state-changing requests). Errors are "
            "`application/problem+json` naming the field."
        ),
        docs_url="/api/docs",
        default_response_class=SafeJSONResponse,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan(settings),
    )
    app.state.db = db
    app.state.wall = wall
    app.state.settings = settings
    templates = Jinja2Templates(directory=str(PACKAGE.joinpath("templates")))
    app.state.templates = templates
    from . import web

    web.install_filters(templates)
    app.mount("/static", StaticFiles(directory=str(PACKAGE.joinpath("static"))), name="static")

    _install_errors(app, templates)
    from .front import FrontDoor

    # the front door runs inside the security headers (the middleware added last is the outermost)
    app.add_middleware(FrontDoor, db=db, wall=wall, state=app.state)
    app.add_middleware(SecurityHeaders)

    from .api import router as api_router
    from .web import router as web_router

    app.include_router(api_router)
    app.include_router(web_router)
    from .patient_side import install as install_patient_side

    install_patient_side(app)

    _install_openapi(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from .serving import tune_process

        tune_process(threads=settings.threads, tune_gc=settings.tune_gc)
        yield

    return lifespan


def _install_openapi(app: FastAPI) -> None:
    """Add the problem-details schema the error responses refer to."""
    from fastapi.openapi.utils import get_openapi

    from .api import Problem

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _actor_of(request: Request) -> Any:
    auth = getattr(request.state, "auth", None)
    return None if auth is None else auth.actor


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem_response(request: Request, err: ClinicError) -> Response:
    return JSONResponse(
        err.problem(instance=request.url.path), status_code=err.status, media_type=PROBLEM_JSON, headers=err.headers
    )


def _install_errors(app: FastAPI, templates: Jinja2Templates) -> None:
    def html_error(
        request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> Response:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "title": title, "detail": detail, "user": _actor_of(request)},
            status_code=status,
            headers=headers,
        )

    def respond(request: Request, err: ClinicError) -> Response:
        if _is_api(request):
            return problem_response(request, err)
        return html_error(request, err.status, err.title, err.detail, err.headers)

    @app.exception_handler(ClinicError)
    async def _clinic(request: Request, exc: ClinicError) -> Response:
        return respond(request, exc)

    @app.exception_handler(ItddError)
    async def _itdd(request: Request, exc: ItddError) -> Response:
        return respond(request, from_itdd(exc))

    @app.exception_handler(UnitError)
    async def _unit(request: Request, exc: UnitError) -> Response:
        # a quantity parsed outside a field-aware parser: still the user's input, never a 500
        return respond(request, Invalid(str(exc)))

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> Response:
        return respond(
            request,
            Conflict(
                "someone else changed this record at the same moment; nothing of yours was saved — "
                "reload and submit again",
                field="version",
            ),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        log.warning("integrity error: %s", exc.orig)
        return respond(request, Conflict("the change collides with another one made at the same time; reload"))

    @app.exception_handler(DBAPIError)
    async def _transient(request: Request, exc: DBAPIError) -> Response:
        # a deadlock, a serialization failure or a lock wait that ran out: the database rolled the whole
        # transaction back, so nothing was saved and the user can simply try again (409, never a 500)
        if transient_db_failure(exc):
            log.warning("transient database failure: %s", exc.orig)
            return respond(
                request,
                Conflict("the clinic was busy with a change to the same record; nothing was saved — try again"),
            )
        return await _internal(request, exc)

    @app.exception_handler(LoginRedirect)
    async def _login(request: Request, exc: LoginRedirect) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for e in exc.errors():
            loc = (
                [str(x) for x in e.get("loc", ())][1:]
                if len(e.get("loc", ())) > 1
                else [str(x) for x in e.get("loc", ())]
            )
            errors.append({"field": ".".join(loc) or "body", "message": str(e.get("msg", "invalid"))})
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + "validation",
            "title": "Invalid input",
            "status": 422,
            "detail": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": errors,
            "instance": request.url.path,
        }
        if not _is_api(request):
            return html_error(request, 422, "Invalid input", body["detail"])
        return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        title = titles.get(exc.status_code, "Error")
        detail = str(exc.detail) if exc.detail else title
        if _is_api(request):
            body = {
                "type": PROBLEM_BASE + ("not-found" if exc.status_code == 404 else "http"),
                "title": title,
                "status": exc.status_code,
                "detail": detail,
                "instance": request.url.path,
            }
            return JSONResponse(
                body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=getattr(exc, "headers", None)
            )
        return html_error(request, exc.status_code, title, detail)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        if _is_api(request):
            body = {
                "type": PROBLEM_BASE + "internal",
                "title": "Internal error",
                "status": 500,
                "detail": "an internal error occurred; it has been logged",
                "instance": request.url.path,
            }
            return JSONResponse(body, status_code=500, media_type=PROBLEM_JSON)
        return HTMLResponse("<h1>Internal error</h1><p>An internal error occurred; it has been logged.</p>", 500)
