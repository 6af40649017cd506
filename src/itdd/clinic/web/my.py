"""The patient's own view: their therapy manager (pump state, lockout, boluses left, a bolus request)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from .. import services
from ..auth import Auth, unit, write_retrying
from .common import (
    _shell,
    page,
    partial,
    render,
    router,
)

# ---- the patient's own view ------------------------------------------------------------------


@router.get("/my")
def my_page(request: Request, auth: Auth = page("ptm")) -> Response:
    with unit(request, auth, write=False) as ctx:
        st = services.ptm_status(ctx)
        return render(request, "my.html", {**_shell(ctx), "st": st, "decision": None}, auth=auth)


@router.post("/my/bolus")
def my_bolus(request: Request, auth: Auth = page("ptm")) -> Response:
    decision = write_retrying(request, auth, services.ptm_request)
    with unit(request, auth, write=False) as ctx:
        data = {**_shell(ctx), "st": services.ptm_status(ctx), "decision": decision}
    if partial(request):
        return render(request, "_my_panel.html", data, auth=auth)
    return render(request, "my.html", data, auth=auth)
