"""Server-rendered pages (Jinja2).  Forms post back; a small script (static/app.js) swaps panels in place.

Every state-changing form carries the session's CSRF token; every page checks the role it needs.  Pages use
the same services as the API, so a refill done in the browser is the same transaction as one done by a
program.

One module per page group, registering on one router (:mod:`.common`): :mod:`.login`, :mod:`.clinic`
(dashboard, lists, clock), :mod:`.patient` (a patient's page and its forms), :mod:`.program`, :mod:`.refill`,
:mod:`.my` (the patient's own view).  The patient side's pages reuse :mod:`.common`'s helpers.
"""

from __future__ import annotations

from urllib.parse import quote

from . import clinic, login, my, patient, program, refill  # noqa: F401  (each registers its routes)
from .common import ROLE_HOME, _id, _s, _shell, install_filters, page, partial, render, router

__all__ = ["ROLE_HOME", "_id", "_s", "_shell", "install_filters", "page", "partial", "quote", "render", "router"]
