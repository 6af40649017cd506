"""The patient's side of the clinic app: the decision aid, My therapy and the triage inbox, the directory of
pain centres, the ambassador programme and FHIR R4 records (see docs/patient-side.md)."""

from __future__ import annotations

from typing import Any


def install(app: Any) -> None:
    """Add the patient side's pages and API routes to the clinic app."""
    from .api import router as api_router
    from .pages import router as pages_router

    app.include_router(api_router)
    app.include_router(pages_router)
