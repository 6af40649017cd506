"""The login form (its own CSRF token before there is a session) and the logout."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from .. import security
from ..auth import Auth, login, logout, optional_auth
from ..problems import ClinicError
from .common import (
    ROLE_HOME,
    _s,
    page,
    render,
    router,
)

# ---- login ---------------------------------------------------------------------------------------


LOGIN_CSRF_COOKIE = "itdd_login_csrf"


def _login_token(request: Request) -> str:
    """The login form's CSRF token: kept in its own cookie (double submit), made when the form is first shown."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (32 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()):
        token = security.new_token()
    return token


def _login_form(request: Request, ctx: dict[str, Any], status: int = 200) -> Response:
    token = _login_token(request)
    resp = render(request, "login.html", {**ctx, "csrf": token}, status)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/login",
    )
    return resp


@router.get("/login")
def login_page(request: Request, auth: Auth | None = Depends(optional_auth)) -> Response:
    if auth is not None:
        return RedirectResponse("/", status_code=303)
    return _login_form(request, {"next": _safe_next(request.query_params.get("next"))})


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username, password = _s(form, "username"), form.get("password")
    nxt = _safe_next(_s(form, "next"))
    given = form.get(security.CSRF_FIELD)
    if not security.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), given if isinstance(given, str) else None):
        # a login posted from another site (login CSRF) or a stale form: refused before the password is looked at,
        # and not counted as a failed login
        return _login_form(
            request,
            {
                "error": "This login form has expired: please enter your password again.",
                "next": nxt,
                "username": username,
            },
            403,
        )
    if not username or not isinstance(password, str) or not password:
        return _login_form(
            request, {"error": "Enter your user name and password.", "next": nxt, "username": username}, 422
        )
    try:
        token, _csrf, actor = login(request, username, password)
    except ClinicError as exc:
        resp = _login_form(request, {"error": exc.detail, "next": nxt, "username": username}, exc.status)
        for k, v in exc.headers.items():
            resp.headers[k] = v
        return resp
    dest = ROLE_HOME.get(actor.role, "/") if nxt == "/" else nxt
    resp = RedirectResponse(dest, status_code=303)
    resp.set_cookie(
        security.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        max_age=int(security.SESSION_LIFETIME_S),
        path="/",
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout_submit(request: Request, auth: Auth = page("self")) -> Response:
    logout(request, auth)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(security.SESSION_COOKIE, path="/")
    return resp
