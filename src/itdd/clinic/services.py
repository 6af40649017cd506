"""What the clinic does, as transactions: every function here runs inside one ``Database.write()`` unit.

A refill or a programming action changes the twin's state, writes its record (refill, prescription, events,
levels) and the audit entry in the same transaction, so either all of it is stored or none of it.  The pump
row's version column is checked twice: against the version the clinician saw (``expected_version``: they
reviewed a state that is no longer there) and at the UPDATE itself (two transactions racing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ItddError
from ..programmer.status import interrogate as interrogate_pump
from ..pump.firmware import PtmSettings
from ..pump.implant import Implant
from ..pump.therapy import Therapy
from ..quantities import SECONDS_PER_DAY, iso, start_of_local_day_s
from ..telemetry.commands import PATIENT, execute, therapy_to_args
from ..timeunits import SECONDS_PER_HOUR_INT
from . import limits, twin, vpatient, workflows
from .clock import WallClock, clinic_now_s
from .models import (
    CLINICIAN_ROLES,
    AdverseEvent,
    Appointment,
    Assessment,
    AuditEntry,
    Clinic,
    Interrogation,
    Patient,
    Prescription,
    Pump,
    Refill,
    User,
)
from .problems import Conflict, Forbidden, Invalid, NotFound, Refused, from_itdd

DAY_S = SECONDS_PER_DAY
CLINIC_DAY_START_S = 9 * SECONDS_PER_HOUR_INT  # assumption: "to next refill" lands at 09:00 local (clinic opens)
MAX_ADVANCE_S = 400 * DAY_S  # assumption: one advance covers at most a little over a year
# The clinic row is locked FOR NO KEY UPDATE (PostgreSQL): it serialises clock changes but lets other transactions
# insert rows that reference the clinic (audit entries take a KEY SHARE lock on it for their foreign key).  With a
# plain FOR UPDATE a refill holding its pump's lock and writing its audit entry deadlocks with a clock advance that
# holds the clinic's lock and waits for that pump.
CLINIC_ROW_LOCK = {"key_share": True}


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    role: str
    clinic_id: int
    patient_id: int | None
    display_name: str

    @property
    def is_clinician(self) -> bool:
        return self.role in CLINICIAN_ROLES


@dataclass
class Ctx:
    """One request's unit of work: the session, who acts, and the wall clock."""

    db: Session
    actor: Actor
    wall: WallClock

    def clinic(self) -> Clinic:
        clinic = self.db.get(Clinic, self.actor.clinic_id)
        if clinic is None:  # pragma: no cover - a user always belongs to a clinic
            raise NotFound("clinic not found")
        return clinic

    def now_s(self) -> float:
        return clinic_now_s(self.clinic(), self.wall)

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: int | None,
        *,
        t_s: float | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        a = self.actor
        self.db.add(
            AuditEntry(
                clinic_id=a.clinic_id,
                user_id=a.user_id,
                username=a.username,
                role=a.role,
                action=action,
                entity=entity,
                entity_id=entity_id,
                wall_s=self.wall(),
                t_s=t_s,
                before=twin.clean(before) if before is not None else None,
                after=twin.clean(after) if after is not None else None,
            )
        )


# ---- scope -------------------------------------------------------------------------------------


def require_clinician(ctx: Ctx) -> None:
    if not ctx.actor.is_clinician:
        raise Forbidden("this needs a clinician (physician or nurse)")


def get_patient(ctx: Ctx, patient_id: int) -> Patient:
    """A patient of the actor's clinic; a patient user may only see themself.  Others do not exist (404)."""
    p = ctx.db.get(Patient, patient_id)
    a = ctx.actor
    if p is None or p.clinic_id != a.clinic_id or (a.role == "patient" and a.patient_id != p.id):
        raise NotFound(f"no patient {patient_id} in your clinic", field="patient_id")
    return p


R = TypeVar("R")


def _locked(db: Session, row: R, lock: bool) -> R:
    """Take ``row``'s lock and re-read it under the lock (``SELECT ... FOR UPDATE`` as a refresh).

    The row may have been read earlier in this transaction without a lock (e.g. ``active_pump``); a plain
    ``get(..., with_for_update=True)`` would then compare the stale copy's version with the committed one and
    fail, although nothing the user reviewed changed.  A refresh under the lock reads the committed state.
    """
    if lock and row is not None:
        db.refresh(row, with_for_update=True)
    return row


def get_pump(ctx: Ctx, pump_id: int, *, lock: bool = False) -> Pump:
    """A pump of the actor's clinic (a patient: only their own).  ``lock``: take its row lock (PostgreSQL
    ``SELECT ... FOR UPDATE``; SQLite writers are already serialised) so that concurrent changes to the same
    pump queue up instead of failing; the version check still catches a state the user reviewed that changed."""
    pump = _locked(ctx.db, ctx.db.get(Pump, pump_id), lock)
    a = ctx.actor
    if pump is None or pump.clinic_id != a.clinic_id or (a.role == "patient" and a.patient_id != pump.patient_id):
        raise NotFound(f"no pump {pump_id} in your clinic", field="pump_id")
    return pump


def active_pump(ctx: Ctx, patient: Patient) -> Pump | None:
    return ctx.db.scalar(select(Pump).where(Pump.patient_id == patient.id, Pump.active.is_(True)).order_by(Pump.id))


def get_refill(ctx: Ctx, refill_id: int, *, lock: bool = False) -> Refill:
    """A refill of the actor's clinic.  ``lock``: take its row lock (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite
    writers are serialised by ``BEGIN IMMEDIATE``) and read it fresh, so that two clinicians verifying or resolving
    the same record queue up and the second sees the first's result (409) instead of overwriting it."""
    r = _locked(ctx.db, ctx.db.get(Refill, refill_id), lock)
    if r is None:
        raise NotFound(f"no refill {refill_id} in your clinic", field="refill_id")
    get_pump(ctx, r.pump_id)  # scope check
    return r


def check_version(pump: Pump, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != pump.version:
        raise Conflict(
            f"pump {pump.serial} changed since you opened it (you saw version {expected_version}, it is now "
            f"{pump.version}); review the new state and submit again — nothing was changed",
            field="version",
            extra={"current_version": pump.version},
        )


# ---- the twin in a transaction ------------------------------------------------------------------


def open_twin(ctx: Ctx, pump: Pump, now_s: float | None = None) -> Implant:
    """Load the pump's implant and bring it exactly to the clinic's instant (stored as it goes)."""
    implant = twin.load(pump)
    t = ctx.now_s() if now_s is None else now_s
    if t > implant.t_s:
        twin.advance(ctx.db, pump, implant, t)
    return implant


def peek_twin(ctx: Ctx, pump: Pump) -> Implant:
    """The pump's implant at the clinic's instant, in memory only (for previews and reads)."""
    implant = twin.load(pump)
    now = ctx.now_s()
    if now > implant.t_s:
        implant.run_until(now)
    return implant


def close_twin(ctx: Ctx, pump: Pump, implant: Implant) -> None:
    twin.save(ctx.db, pump, implant, workflows.refill_dates(implant, pump.last_fill_t_s))


def run_command(implant: Implant, command: str, args: dict[str, Any] | None, role: str) -> dict[str, Any]:
    try:
        return execute(implant, command, args, role)
    except ItddError as exc:
        raise from_itdd(exc) from None


def pump_snapshot(pump: Pump) -> dict[str, Any]:
    return {
        "version": pump.version,
        "t_s": pump.t_s,
        "status": pump.status,
        "drug": pump.drug,
        "conc_mg_per_ml": pump.conc_mg_per_ml,
        "daily_dose_mg": pump.daily_dose_mg,
        "estimate_ml": pump.estimate_ml,
        "low_reservoir_ml": pump.low_reservoir_ml,
        "therapy": pump.state["firmware"]["therapy"],
        "ptm": pump.state["firmware"]["ptm"],
        "alarms": list(pump.alarms),
    }


def _after(db: Session, pump: Pump) -> dict[str, Any]:
    """The pump as stored by this transaction: flushed first, so ``version`` is the one the UPDATE wrote (the
    version column is bumped at each flush that changes the row, not at commit)."""
    db.flush()
    return pump_snapshot(pump)


def _before(pump: Pump, version: int) -> dict[str, Any]:
    out = pump_snapshot(pump)
    out["version"] = version  # as locked (a live catch-up flushed on the way may already have bumped it)
    return out


def _refused(exc: ItddError, messages: list[workflows.Message] | None = None) -> Refused:
    extra: dict[str, Any] = {"rule": getattr(exc, "rule", "") or None}
    if messages is not None:
        extra["messages"] = [m.to_dict() for m in messages]
    return Refused(exc.message, field=exc.field or None, extra=extra)


# ---- clinic clock --------------------------------------------------------------------------------


def advance_clinic(ctx: Ctx, *, by_s: float | None = None, to: str | None = None) -> dict[str, Any]:
    """Training mode: move the clinic's clock and every active pump with it (one transaction)."""
    require_clinician(ctx)
    clinic = ctx.clinic()
    if clinic.mode != "training":
        raise Invalid("the clinic runs in live mode: its clock follows the wall clock", field="mode")
    ctx.db.refresh(clinic, with_for_update=CLINIC_ROW_LOCK)  # one clock advance at a time
    now = clinic.clock_t_s
    pumps = list(
        ctx.db.scalars(
            select(Pump).where(Pump.clinic_id == clinic.id, Pump.active.is_(True)).order_by(Pump.id).with_for_update()
        )
    )
    if to == "next_refill":
        upcoming = [p.next_refill_t_s for p in pumps if p.next_refill_t_s is not None and p.next_refill_t_s > now]
        if not upcoming:
            raise Invalid("no refill is due after the current instant", field="to")
        due = min(upcoming)
        opening = start_of_local_day_s(due, clinic.utc_offset_s) + CLINIC_DAY_START_S
        target = opening if now < opening <= due else due
    elif to is not None:
        raise Invalid(f"unknown target {to!r} (use 'next_refill')", field="to")
    elif by_s is not None:
        if not by_s > 0:
            raise Invalid("must be more than 0", field="by")
        if by_s > MAX_ADVANCE_S:
            raise Invalid(f"at most {MAX_ADVANCE_S / DAY_S:g} days at a time", field="by")
        target = now + by_s
    else:
        raise Invalid("give 'by' (a duration) or 'to': 'next_refill'", field="by")
    for pump in pumps:
        implant = open_twin(ctx, pump, target)
        close_twin(ctx, pump, implant)
    before = {"clock_t_s": now}
    clinic.clock_t_s = target
    ctx.audit("clock.advance", "clinic", clinic.id, t_s=target, before=before, after={"clock_t_s": target})
    return {"clock_t_s": target, "previous_t_s": now, "pumps": len(pumps)}


def set_mode(ctx: Ctx, mode: str) -> dict[str, Any]:
    """Switch the clinic between training (a virtual clock clinicians advance) and live (the wall clock).

    Time never runs backwards: going live when the wall clock is behind the virtual clock keeps the virtual
    instant until the wall clock passes it.  Every pump is brought to the new instant in the same transaction.
    """
    if ctx.actor.role != "physician":
        raise Forbidden("only a physician may switch the clinic's clock")
    if mode not in ("training", "live"):
        raise Invalid("choose 'training' or 'live'", field="mode")
    clinic = ctx.clinic()
    ctx.db.refresh(clinic, with_for_update=CLINIC_ROW_LOCK)
    before = {"mode": clinic.mode, "clock_t_s": clinic.clock_t_s}
    if mode == clinic.mode:
        return {"mode": mode, "clock_t_s": clinic.clock_t_s}
    now = clinic_now_s(clinic, ctx.wall)
    if mode == "live":
        now = max(ctx.wall(), clinic.clock_t_s)
    for pump in ctx.db.scalars(
        select(Pump).where(Pump.clinic_id == clinic.id, Pump.active.is_(True)).order_by(Pump.id).with_for_update()
    ):
        close_twin(ctx, pump, open_twin(ctx, pump, now))
    clinic.mode = mode
    clinic.clock_t_s = now
    ctx.audit("clock.mode", "clinic", clinic.id, t_s=now, before=before, after={"mode": mode, "clock_t_s": now})
    return {"mode": mode, "clock_t_s": now}


def catch_up_live(ctx: Ctx) -> None:
    """Live mode: bring every pump of the clinic to the wall clock."""
    clinic = ctx.clinic()
    if clinic.mode != "live":
        return
    ctx.db.refresh(clinic, with_for_update=CLINIC_ROW_LOCK)
    now = clinic_now_s(clinic, ctx.wall)
    for pump in ctx.db.scalars(
        select(Pump).where(Pump.clinic_id == clinic.id, Pump.active.is_(True)).order_by(Pump.id).with_for_update()
    ):
        if pump.t_s < now:
            close_twin(ctx, pump, open_twin(ctx, pump, now))
    clinic.clock_t_s = now


# ---- interrogation -------------------------------------------------------------------------------


def interrogate(ctx: Ctx, pump_id: int) -> dict[str, Any]:
    """A programmer interrogation: reads the pump, logs it, recovers a latched motor stall."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id, lock=True)
    implant = open_twin(ctx, pump)
    try:
        it = interrogate_pump(workflows.session_for(implant), since_seq=pump.log_seq)
    except ItddError as exc:
        raise from_itdd(exc) from None
    status = it.to_dict()
    status.pop("log_since_last_session", None)
    close_twin(ctx, pump, implant)
    ctx.db.add(Interrogation(pump_id=pump.id, t_s=implant.t_s, user_id=ctx.actor.user_id, status=twin.clean(status)))
    ctx.audit("pump.interrogate", "pump", pump.id, t_s=implant.t_s, after={"state": it.state})
    return twin.clean(status)


# ---- programming ---------------------------------------------------------------------------------


@dataclass
class ProgramRequest:
    therapy: Therapy
    ptm: PtmSettings | None
    keep_ptm: bool
    low_reservoir_ml: float | None
    reason: str
    confirmations: dict[str, str]  # finding field -> the clinician's reason for going beyond a soft limit
    expected_version: int | None


def _program_check(implant: Implant, req: ProgramRequest) -> workflows.ProgramCheck:
    try:
        return workflows.check_program(
            implant, req.therapy, workflows.KEEP if req.keep_ptm else req.ptm, req.low_reservoir_ml
        )
    except ItddError as exc:
        raise from_itdd(exc) from None


def preview_program(ctx: Ctx, pump_id: int, req: ProgramRequest) -> dict[str, Any]:
    """The guardrail messages and the pending changes side by side; changes nothing."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id)
    check = _program_check(peek_twin(ctx, pump), req)
    return {
        "pump_id": pump.id,
        "version": pump.version,
        "messages": [m.to_dict() for m in check.messages],
        "changes": check.changes,
        "can_apply": not check.hard,
        "needs_confirmation": sorted({m.field for m in check.soft}),
    }


def program(ctx: Ctx, pump_id: int, req: ProgramRequest) -> dict[str, Any]:
    """Program the twin through the programmer (guardrails enforced) and record the prescription."""
    require_clinician(ctx)
    if ctx.actor.role != "physician":
        raise Forbidden("only a physician may change a prescription")
    pump = get_pump(ctx, pump_id, lock=True)
    check_version(pump, req.expected_version)
    version0 = pump.version
    implant = open_twin(ctx, pump)
    check = _program_check(implant, req)
    before = _before(pump, version0)
    twin.sample_now(ctx.db, pump, implant, "before")
    try:
        record = workflows.commit_program(implant, check, clinician=ctx.actor.username, confirmations=req.confirmations)
    except ItddError as exc:
        raise _refused(exc, check.messages) from None
    twin.sample_now(ctx.db, pump, implant, "after")
    close_twin(ctx, pump, implant)
    for old in ctx.db.scalars(
        select(Prescription).where(Prescription.pump_id == pump.id, Prescription.status == "active")
    ):
        old.status = "superseded"
    rx = _prescription(
        pump,
        implant,
        ctx.actor.user_id,
        req.reason,
        [c.to_dict() for c in record.confirmations],
        twin.clean(record.to_dict()),
    )
    ctx.db.add(rx)
    ctx.db.flush()
    ctx.audit(
        "pump.program",
        "pump",
        pump.id,
        t_s=implant.t_s,
        before=before,
        after={**(after := _after(ctx.db, pump)), "prescription_id": rx.id, "record_id": record.record_id},
    )
    return {
        "prescription_id": rx.id,
        "pump_id": pump.id,
        "version": after["version"],
        "therapy": rx.therapy,
        "description": rx.description,
        "confirmations": rx.confirmations,
        "record": rx.record,
    }


def _prescription(
    pump: Pump,
    implant: Implant,
    user_id: int | None,
    reason: str,
    confirmations: list[Any],
    record: dict[str, Any] | None,
) -> Prescription:
    fw = implant.fw
    return Prescription(
        patient_id=pump.patient_id,
        pump_id=pump.id,
        t_s=implant.t_s,
        drug=fw.drug,
        conc_mg_per_ml=fw.conc_mg_per_ml,
        therapy=therapy_to_args(fw.therapy),
        description=fw.therapy.describe(workflows.read(implant).drug.dose_unit),
        daily_dose_mg=fw.therapy.daily_dose_mg(),
        ptm=fw.ptm.to_dict() if fw.ptm else None,
        low_reservoir_ml=fw.low_reservoir_ml,
        prescribed_by_id=user_id,
        reason=reason,
        confirmations=confirmations,
        record=record,
        status="active",
    )


# ---- refill --------------------------------------------------------------------------------------


@dataclass
class RefillRequest:
    withdrawn_ml: float  # the syringe reading after aspirating the reservoir completely
    fill_ml: float
    drug: str | None
    conc_mg_per_ml: float | None
    bridge_bolus: bool | None
    notes: str
    confirmations: dict[str, str]
    expected_version: int | None


def aspirate_reading(ctx: Ctx, pump_id: int) -> dict[str, Any]:
    """What the pump expects in its reservoir, and what the syringe shows when it is emptied now."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id)
    implant = peek_twin(ctx, pump)
    return {
        "pump_id": pump.id,
        "version": pump.version,
        "t_s": implant.t_s,
        "expected_ml": implant.fw.estimate_ml,
        "syringe_ml": implant.hw.reservoir_ml,
        "capacity_ml": implant.model.reservoir_capacity_ml,
        "drug": implant.fw.drug,
        "conc_mg_per_ml": implant.fw.conc_mg_per_ml,
    }


def _refill_args(implant: Implant, req: RefillRequest) -> dict[str, Any]:
    return {
        "withdrawn_ml": req.withdrawn_ml,
        "fill_ml": req.fill_ml,
        "drug": req.drug or implant.fw.drug,
        "conc_mg_per_ml": implant.fw.conc_mg_per_ml if req.conc_mg_per_ml is None else req.conc_mg_per_ml,
        "bridge_bolus": req.bridge_bolus,
    }


def _plan_out(plan: workflows.RefillPlan, off: int) -> dict[str, Any]:
    rec = plan.record or {}
    out: dict[str, Any] = {
        "expected_ml": plan.expected_ml,
        "messages": [m.to_dict() for m in plan.messages],
        "can_apply": not plan.hard,
        "needs_confirmation": sorted({m.field for m in plan.soft}),
        "record": rec or None,
    }
    for key in (
        "withdrawn_ml",
        "discrepancy_ml",
        "discrepancy_threshold_ml",
        "flag",
        "flag_reasons",
        "likely_causes",
        "filled_ml",
        "reservoir_ml_entered",
        "drug",
        "concentration_mg_per_ml",
        "previous_concentration_mg_per_ml",
        "bridge_bolus",
        "bridge_volume_ml",
        "bridge_ends",
        "next_refill",
        "next_refill_reason",
        "low_reservoir_alarm",
        "low_reservoir_all_boluses_date",
        "ptm_boluses_per_day_assumed",
        "stability_limit_date",
    ):
        out[key] = rec.get(key)
    return twin.clean(out)


def preview_refill(ctx: Ctx, pump_id: int, req: RefillRequest) -> dict[str, Any]:
    """Discrepancy and likely causes, bridge bolus, next refill and alarm dates — on a copy of the twin."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id)
    implant = peek_twin(ctx, pump)
    limits.check_withdrawn(req.withdrawn_ml, implant.model.reservoir_capacity_ml)
    plan = workflows.plan_refill(implant, clinician=ctx.actor.username, **_refill_args(implant, req))
    out = _plan_out(plan, ctx.clinic().utc_offset_s)
    out.update({"pump_id": pump.id, "version": pump.version})
    return out


def refill(ctx: Ctx, pump_id: int, req: RefillRequest, *, fault: Any = None) -> dict[str, Any]:
    """The whole refill in one transaction: the twin, the refill record, events, levels, the audit entry."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id, lock=True)
    check_version(pump, req.expected_version)
    version0 = pump.version
    implant = open_twin(ctx, pump)
    limits.check_withdrawn(req.withdrawn_ml, implant.model.reservoir_capacity_ml)  # refused: all rolled back
    before = _before(pump, version0)
    twin.sample_now(ctx.db, pump, implant, "before")
    args = _refill_args(implant, req)
    try:
        record = workflows.commit_refill(implant, clinician=ctx.actor.username, confirmations=req.confirmations, **args)
    except ItddError as exc:
        raise _refused(exc) from None
    twin.sample_now(ctx.db, pump, implant, "after")
    pump.last_fill_t_s = implant.t_s
    close_twin(ctx, pump, implant)
    row = Refill(
        patient_id=pump.patient_id,
        pump_id=pump.id,
        t_s=implant.t_s,
        expected_ml=float(record["expected_ml"]),
        withdrawn_ml=float(record["withdrawn_ml"]),
        discrepancy_ml=float(record["discrepancy_ml"]),
        discrepancy_flag=bool(record["flag"]),
        likely_causes=list(record["likely_causes"]),
        filled_ml=float(record["filled_ml"]),
        reservoir_ml_entered=float(record["reservoir_ml_entered"]),
        drug=str(record["drug"]),
        conc_mg_per_ml=float(record["concentration_mg_per_ml"]),
        previous_conc_mg_per_ml=float(record["previous_concentration_mg_per_ml"]),
        bridge_bolus=bool(record["bridge_bolus"]),
        bridge_volume_ml=float(record["bridge_volume_ml"]),
        next_refill_t_s=pump.next_refill_t_s,
        low_alarm_t_s=pump.low_alarm_t_s,
        details=twin.clean(record),
        notes=req.notes,
        performed_by_id=ctx.actor.user_id,
        discrepancy_resolved=not bool(record["flag"]),
    )
    ctx.db.add(row)
    if row.conc_mg_per_ml != row.previous_conc_mg_per_ml or row.drug != before["drug"]:
        for old in ctx.db.scalars(
            select(Prescription).where(Prescription.pump_id == pump.id, Prescription.status == "active")
        ):
            old.status = "superseded"
        ctx.db.add(_prescription(pump, implant, ctx.actor.user_id, "concentration changed at refill", [], None))
    for appt in ctx.db.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == pump.patient_id,
            Appointment.kind == "refill",
            Appointment.status == "scheduled",
            Appointment.t_s <= implant.t_s + DAY_S,
        )
        # locked, and (PostgreSQL) re-checked under the lock: one cancelled meanwhile stays cancelled
        .with_for_update()
        .execution_options(populate_existing=True)
    ):
        appt.status = "done"
    ctx.db.flush()
    ctx.audit(
        "pump.refill",
        "pump",
        pump.id,
        t_s=implant.t_s,
        before=before,
        after={**(after := _after(ctx.db, pump)), "refill_id": row.id, "record_id": record["record_id"]},
    )
    if fault is not None:
        fault("refill")  # crash-test hook: everything is written, nothing is committed yet
    out = _plan_out(workflows.RefillPlan([], record, row.expected_ml, 0.0), ctx.clinic().utc_offset_s)
    out.update({"refill_id": row.id, "pump_id": pump.id, "version": after["version"]})
    return out


@dataclass
class VerifyRequest:
    drug: str
    conc_mg_per_ml: float
    filled_ml: float
    reservoir_ml: float


def verify_refill(ctx: Ctx, refill_id: int, req: VerifyRequest) -> dict[str, Any]:
    """A second clinician checks the record against their own independent readings (not the performer)."""
    require_clinician(ctx)
    r = get_refill(ctx, refill_id, lock=True)
    if r.verified_by_id is not None:
        raise Conflict("this refill is already verified", field="refill_id")
    if r.performed_by_id == ctx.actor.user_id:
        raise Refused(
            "you performed this refill; a different clinician must verify it",
            field="verifier",
            extra={"rule": "second_clinician"},
        )
    try:
        verified = workflows.verify_record(
            r.details,
            ctx.actor.username,
            drug=req.drug,
            conc_mg_per_ml=req.conc_mg_per_ml,
            filled_ml=req.filled_ml,
            reservoir_ml=req.reservoir_ml,
        )
    except ItddError as exc:
        raise _refused(exc) from None
    r.details = twin.clean(verified)
    r.verified_by_id = ctx.actor.user_id
    r.verified_wall_s = ctx.wall()
    ctx.audit("refill.verify", "refill", r.id, t_s=ctx.now_s(), after={"verified_by": ctx.actor.username})
    return {"refill_id": r.id, "verified_by": ctx.actor.username, "verification": verified.get("verification")}


def resolve_discrepancy(ctx: Ctx, refill_id: int, note: str) -> dict[str, Any]:
    require_clinician(ctx)
    r = get_refill(ctx, refill_id, lock=True)
    if not r.discrepancy_flag:
        raise Invalid("this refill has no discrepancy to resolve", field="refill_id")
    if r.discrepancy_resolved:
        raise Conflict("this discrepancy is already resolved", field="refill_id")
    if not note.strip():
        raise Invalid("say what was found or done", field="note")
    r.discrepancy_resolved = True
    r.resolution_note = note.strip()
    r.resolved_by_id = ctx.actor.user_id
    ctx.audit("refill.resolve_discrepancy", "refill", r.id, t_s=ctx.now_s(), after={"note": r.resolution_note})
    return {"refill_id": r.id, "resolved": True}


# ---- patient bolus (patient therapy manager) ---------------------------------------------------


def _own_pump(ctx: Ctx, *, lock: bool = False) -> Pump:
    a = ctx.actor
    if a.role != "patient" or a.patient_id is None:
        raise Forbidden("only the patient may use their therapy manager")
    q = select(Pump).where(Pump.patient_id == a.patient_id, Pump.active.is_(True))
    pump = _locked(ctx.db, ctx.db.scalar(q), lock)
    if pump is None:
        raise NotFound("you have no active pump")
    return pump


def ptm_status(ctx: Ctx) -> dict[str, Any]:
    """The patient's limited view: pump state, lockout and boluses left (no therapy details)."""
    pump = _own_pump(ctx)
    implant = peek_twin(ctx, pump)
    st = workflows.ptm(implant).status()
    raw = run_command(implant, "ptm_status", None, PATIENT)
    st["next_allowed_s"] = raw.get("next_allowed_s")
    st["time_s"] = implant.t_s
    return twin.clean(st)


def ptm_request(ctx: Ctx) -> dict[str, Any]:
    """A patient bolus request, decided by the pump (lockout, daily limit, maximum dose)."""
    pump = _own_pump(ctx, lock=True)
    implant = open_twin(ctx, pump)
    try:
        outcome = workflows.ptm(implant).request_bolus()
    except ItddError as exc:
        raise from_itdd(exc) from None
    close_twin(ctx, pump, implant)
    out = outcome.to_dict(implant.offset_s)
    out["next_allowed_s"] = outcome.next_allowed_s
    out["time_s"] = implant.t_s
    ctx.audit("ptm.request", "pump", pump.id, t_s=implant.t_s, after=out)
    return twin.clean(out)


# ---- records -------------------------------------------------------------------------------------


def add_assessment(
    ctx: Ctx, patient_id: int, *, pain_nrs: int, function_score: int, oral_mme_mg_per_day: float, notes: str
) -> int:
    require_clinician(ctx)
    limits.check_oral_mme(oral_mme_mg_per_day)
    p = get_patient(ctx, patient_id)
    pump = active_pump(ctx, p)
    if pump is not None:
        # the virtual patient takes the oral opioids recorded here from now on (live mode: brought to now with its
        # pump first; training mode: already there, and the pump row is left alone so no review goes stale)
        pump = get_pump(ctx, pump.id, lock=True)
        if pump.t_s < ctx.now_s():
            close_twin(ctx, pump, open_twin(ctx, pump))
        vpatient.set_oral(ctx.db, p.id, oral_mme_mg_per_day, pump.t_s)
    row = Assessment(
        patient_id=p.id,
        t_s=ctx.now_s(),
        pain_nrs=pain_nrs,
        function_score=function_score,
        oral_opioid_mme_mg_per_day=oral_mme_mg_per_day,
        notes=notes,
        recorded_by_id=ctx.actor.user_id,
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit(
        "assessment.add",
        "assessment",
        row.id,
        t_s=row.t_s,
        after={"pain_nrs": pain_nrs, "function_score": function_score, "oral_mme_mg_per_day": oral_mme_mg_per_day},
    )
    return row.id


def add_adverse_event(ctx: Ctx, patient_id: int, *, kind: str, severity: str, description: str) -> int:
    require_clinician(ctx)
    p = get_patient(ctx, patient_id)
    row = AdverseEvent(
        patient_id=p.id,
        t_s=ctx.now_s(),
        kind=kind,
        severity=severity,
        description=description,
        status="open",
        recorded_by_id=ctx.actor.user_id,
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("adverse_event.add", "adverse_event", row.id, t_s=row.t_s, after={"kind": kind, "severity": severity})
    return row.id


def add_appointment(ctx: Ctx, patient_id: int, *, t_s: float, kind: str, notes: str) -> int:
    require_clinician(ctx)
    p = get_patient(ctx, patient_id)
    limits.check_appointment_t(t_s, ctx.now_s())
    row = Appointment(
        patient_id=p.id, t_s=t_s, kind=kind, status="scheduled", notes=notes, created_by_id=ctx.actor.user_id
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("appointment.add", "appointment", row.id, t_s=ctx.now_s(), after={"kind": kind, "at": iso(t_s)})
    return row.id


def cancel_appointment(ctx: Ctx, appointment_id: int) -> dict[str, Any]:
    """Cancel a scheduled appointment (its row is locked: two cancellations at once, one wins, one gets 409)."""
    require_clinician(ctx)
    row = _locked(ctx.db, ctx.db.get(Appointment, appointment_id), True)
    if row is None:
        raise NotFound(f"no appointment {appointment_id} in your clinic", field="appointment_id")
    try:
        get_patient(ctx, row.patient_id)  # scope: another clinic's appointment does not exist for you
    except NotFound:
        raise NotFound(f"no appointment {appointment_id} in your clinic", field="appointment_id") from None
    if row.status != "scheduled":
        raise Conflict(f"this appointment is {row.status}, not scheduled", field="appointment_id")
    row.status = "cancelled"
    ctx.audit(
        "appointment.cancel",
        "appointment",
        row.id,
        t_s=ctx.now_s(),
        before={"status": "scheduled"},
        after={"status": "cancelled"},
    )
    return {"appointment_id": row.id, "patient_id": row.patient_id, "status": row.status}


def user_names(db: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {u.id: u.display_name for u in db.scalars(select(User).where(User.id.in_(wanted)))}
