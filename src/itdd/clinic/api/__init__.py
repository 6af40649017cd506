"""The JSON API (``/api/v1``): everything the pages do, for programs.  OpenAPI at ``/api/openapi.json``.

One router per resource (a module each); every operation declares its answer as a typed record
(:mod:`.shapes` and each module's own), and its errors as RFC 9457 problem details (:class:`.common.Problem`).
Quantities enter as strings with their unit (``"20 mL"``, ``"3 mg/day"``, ``"1d"``) and leave as numbers with
the unit in the key (``reservoir_estimate_ml``); instants leave as ISO 8601 in the clinic's fixed UTC offset.
The layout is in ``docs/clinic.md``.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    adverse_events,
    appointments,
    assessments,
    audit,
    auth,
    clinic,
    events,
    my,
    patients,
    prescriptions,
    pumps,
    refills,
)
from .common import MAX_ID, PROBLEMS, Problem

RESOURCES = (
    auth,
    clinic,
    audit,
    patients,
    events,
    prescriptions,
    refills,
    assessments,
    adverse_events,
    appointments,
    pumps,
    my,
)

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)
for _resource in RESOURCES:
    router.include_router(_resource.router)

__all__ = ["MAX_ID", "RESOURCES", "Problem", "router"]
