"""Pages of long lists (a health system's patients): page numbers, search, and the links between pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from . import views
from .services import Ctx

MAX_SEARCH = 100  # characters of a search text (longer ones are cut)


def page_number(text: str | None) -> int:
    """``?page=`` as a page number from 1 (anything else: page 1)."""
    try:
        n = int(text or "1")
    except ValueError:
        return 1
    return n if 1 <= n <= 1_000_000 else 1


def patients_page_data(ctx: Ctx, params: Mapping[str, str]) -> dict[str, Any]:
    """One page of the patient list (``views.PATIENT_PAGE_ROWS`` by name), the search and the page links."""
    search = (params.get("q") or "").strip()[:MAX_SEARCH]
    per = views.PATIENT_PAGE_ROWS
    total = views.patient_count(ctx, search=search)
    pages = max(1, -(-total // per))
    page = min(page_number(params.get("page")), pages)
    rows = views.patient_list(ctx, limit=per, offset=(page - 1) * per, search=search)

    def link(n: int) -> str:
        q = {"page": n, **({"q": search} if search else {})}
        return "/patients?" + urlencode(q)

    return {
        "patients": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "first_row": (page - 1) * per + 1 if rows else 0,
        "last_row": (page - 1) * per + len(rows),
        "search": search,
        "prev_url": link(page - 1) if page > 1 else None,
        "next_url": link(page + 1) if page < pages else None,
    }
