"""Security headers on every answer (pages, API, errors, static files), as a plain ASGI middleware.

* ``Content-Security-Policy``: everything from this origin only, no inline script or style (the pages have
  none), no plugins, forms post only here, and ``frame-ancestors 'none'`` (no clickjacking).  The interactive
  API documentation (``/api/docs``) is FastAPI's Swagger UI, which loads its script and style from a CDN and
  starts with an inline script: it alone gets a policy that allows those (still ``frame-ancestors 'none'``).
* ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older browsers), ``Referrer-Policy:
  no-referrer`` (a patient page's address never leaves the clinic in a Referer).
* ``Cache-Control: no-store`` on everything but ``/static``: every page and API answer may carry a patient's
  data or a session's CSRF token, so none of it is kept by the browser or a proxy.
"""

from __future__ import annotations

from typing import Any

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CSP_API_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
NO_STORE = (b"cache-control", b"no-store")


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    csp = CSP_API_DOCS if path == "/api/docs" else CSP
    out = [(b"content-security-policy", csp.encode()), *COMMON]
    if not path.startswith("/static/"):
        out.append(NO_STORE)
    return out


class SecurityHeaders:
    """Adds :func:`headers_for` to every HTTP response (replacing any same-named header)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))
        names = {k for k, _v in extra}

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
