"""``/auth/login``, ``/auth/logout``, ``/me``: sessions (a bearer token, or the cookie and its CSRF token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, Field

from .. import security, services, views
from ..auth import Auth, api_user, login, logout, unit
from .common import RATE_LIMITED, Name, Strict, _no_nul
from .shapes import ClinicInfo, Out, UserOut

router = APIRouter(tags=["auth"])


class LoginIn(Strict):
    username: Name
    password: Annotated[str, AfterValidator(_no_nul), Field(min_length=1, max_length=256)]


class LoginOut(Out):
    token: str
    csrf_token: str
    user: UserOut


class MeOut(Out):
    user: UserOut
    clinic: ClinicInfo
    csrf_token: str


def user_out(a: services.Actor) -> UserOut:
    return UserOut(
        user_id=a.user_id,
        username=a.username,
        role=a.role,
        name=a.display_name,
        clinic_id=a.clinic_id,
        patient_id=a.patient_id,
    )


@router.post("/auth/login", responses=RATE_LIMITED)
def api_login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    """Log in; answers a bearer token and sets the session cookie (HttpOnly, SameSite=Lax)."""
    token, csrf, actor = login(request, body.username, body.password)
    response.set_cookie(
        security.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        max_age=int(security.SESSION_LIFETIME_S),
        path="/",
    )
    return LoginOut(token=token, csrf_token=csrf, user=user_out(actor))


@router.post("/auth/logout", status_code=204, response_class=Response)
def api_logout(request: Request, auth: Auth = Depends(api_user("self"))) -> Response:
    logout(request, auth)
    resp = Response(status_code=204)
    resp.delete_cookie(security.SESSION_COOKIE, path="/")
    return resp


@router.get("/me")
def api_me(request: Request, auth: Auth = Depends(api_user("self"))) -> MeOut:
    with unit(request, auth, write=False) as ctx:
        return MeOut(
            user=user_out(auth.actor), clinic=ClinicInfo.of(views.clinic_info(ctx)), csrf_token=auth.csrf_token
        )
