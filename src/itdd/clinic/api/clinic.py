"""``/clinic``, ``/clinic/advance``, ``/clinic/mode``, ``/dashboard``: the clinic, its clock and what needs its
attention."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field, model_validator

from ... import quantities as q
from .. import cache, front, services, stamps, views
from ..auth import Auth, api_user, unit, write_retrying
from ..inputs import Duration
from ..records import ClockMove, ModeSwitch
from .common import Strict, catch_up, json_bytes, json_response, parse_field
from .refills import DashboardRefillRow
from .shapes import ClinicInfo, Out, PumpAlarm, PumpSummary, StaffMember

router = APIRouter(tags=["clinic"])


class ClinicOut(ClinicInfo):
    staff: list[StaffMember]


class AdvanceIn(Strict):
    by: Duration | None = Field(default=None, description="How far to move the clinic clock, e.g. '1d'.")
    to: Literal["next_refill"] | None = Field(default=None, description="Or: to the next refill due.")

    @model_validator(mode="after")
    def _one(self) -> AdvanceIn:
        if (self.by is None) == (self.to is None):
            raise ValueError("give exactly one of 'by' or 'to'")
        return self


class ModeIn(Strict):
    mode: Literal["training", "live"]


class DashboardPump(PumpSummary):
    patient_id: int
    patient_name: str
    mrn: str


class DashboardAlarm(PumpAlarm):
    patient_id: int
    pump_id: int
    serial: str
    patient_name: str
    mrn: str


class Worsening(Out):
    """A patient whose virtual patient worsens (pain rising, withdrawal, respiratory depression)."""

    patient_id: int
    patient_name: str
    mrn: str
    pain: float
    pain_low: float
    pain_rise: float
    withdrawal: float
    resp_rate_per_min: float
    sedation: float
    reasons: list[str]
    severity: float


class DashboardAppointment(Out):
    id: int
    patient_id: int
    patient_name: str
    at: str | None
    kind: str
    notes: str
    overdue: bool


class Counts(Out):
    patients: int
    pumps: int


class Totals(Out):
    worsening: int
    refills_due: int
    alarms: int
    approaching_eri: int
    open_discrepancies: int
    awaiting_verification: int
    appointments: int


class DashboardOut(Out):
    clinic: ClinicInfo
    worsening: list[Worsening]
    refills_due: list[DashboardPump]
    alarms: list[DashboardAlarm]
    approaching_eri: list[DashboardPump]
    open_discrepancies: list[DashboardRefillRow]
    awaiting_verification: list[DashboardRefillRow]
    appointments: list[DashboardAppointment]
    counts: Counts
    totals: Totals
    limit: int


@router.get("/clinic")
def api_clinic(request: Request, auth: Auth = Depends(api_user("clinic.read"))) -> ClinicOut:
    with unit(request, auth, write=False) as ctx:
        return ClinicOut.of({**views.clinic_info(ctx), "staff": views.staff(ctx)})


@router.post("/clinic/advance")
def api_advance(body: AdvanceIn, request: Request, auth: Auth = Depends(api_user("clinic.advance"))) -> ClockMove:
    """Training mode: move the clinic's virtual clock; every pump advances with it through the engine."""
    by_s = None if body.by is None else parse_field("by", q.parse_duration_s, body.by)

    return write_retrying(request, auth, lambda ctx: services.advance_clinic(ctx, by_s=by_s, to=body.to))


@router.post("/clinic/mode")
def api_mode(body: ModeIn, request: Request, auth: Auth = Depends(api_user("clinic.mode"))) -> ModeSwitch:
    """Switch the clinic's clock between training (virtual, advanced by clinicians) and live (the wall clock)."""

    return write_retrying(request, auth, lambda ctx: services.set_mode(ctx, body.mode))


@router.get("/dashboard", response_model=DashboardOut)
def api_dashboard(
    request: Request,
    limit: int = Query(views.DASHBOARD_ROWS, ge=1, le=views.PATIENT_PAGE_MAX),
    auth: Auth = Depends(api_user("clinic.read")),
) -> Response:
    """Refills due (most urgent first: days to the low-reservoir alarm), alarms, ERI, discrepancies; each list
    holds its ``limit`` most urgent rows and ``totals`` counts them all."""
    with unit(request, auth, write=False) as ctx:
        if ctx.clinic().mode != "live":  # training mode: no pump to bring to the wall clock
            return json_response(_dashboard_json(ctx, limit))
    catch_up(request, auth)
    with unit(request, auth, write=False) as ctx:
        return json_response(_dashboard_json(ctx, limit))


def _dashboard_json(ctx: services.Ctx, limit: int) -> bytes:
    """The dashboard, computed once per change of the clinic (its stamp) and instant, encoded once."""
    clinic = ctx.clinic()
    key = front.dashboard_key(clinic.id, stamps.clinic(ctx.db, clinic.id), ctx.now_s(), limit)
    return cache.ANSWERS.get(key, lambda: json_bytes(DashboardOut.of(views.dashboard(ctx, limit=limit))))
