"""Refills: the aspiration reading, the refill preview and the refill itself (twin, record, prescription,
appointments and audit in one transaction), the second clinician's verification and the closing of a
discrepancy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ...errors import ItddError
from ...pump.implant import Implant
from .. import cache, limits, stamps, twin, workflows
from ..models import (
    Appointment,
    Prescription,
    Refill,
)
from ..problems import Conflict, Invalid, Refused
from ..records import (
    AspirateReading,
    RefillDone,
    RefillPlanOut,
    Resolved,
    Verified,
)
from .context import (
    DAY_S,
    Ctx,
    _after,
    _before,
    _refused,
    check_version,
    close_twin,
    get_pump,
    get_refill,
    open_twin,
    peek_twin,
    require_clinician,
)
from .pumps import _prescription

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


def aspirate_reading(ctx: Ctx, pump_id: int) -> AspirateReading:
    """What the pump expects in its reservoir, and what the syringe shows when it is emptied now."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id)
    implant = peek_twin(ctx, pump)
    return AspirateReading(
        pump_id=pump.id,
        version=pump.version,
        t_s=implant.t_s,
        expected_ml=implant.fw.estimate_ml,
        syringe_ml=implant.hw.reservoir_ml,
        capacity_ml=implant.model.reservoir_capacity_ml,
        drug=implant.fw.drug,
        conc_mg_per_ml=implant.fw.conc_mg_per_ml,
    )


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


def preview_refill(ctx: Ctx, pump_id: int, req: RefillRequest) -> RefillPlanOut:
    """Discrepancy and likely causes, bridge bolus, next refill and alarm dates — on a copy of the twin."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id)
    # the same preview of the same pump state at the same instant is computed once (a nurse edits and previews
    # again; several look at one pump): keyed on the pump's version, the instant and everything entered
    entered = (req.withdrawn_ml, req.fill_ml, req.drug, req.conc_mg_per_ml, req.bridge_bolus)
    key = ("refill_preview", stamps.ns(ctx.db), pump.id, pump.version, ctx.now_s(), ctx.actor.username, entered)

    def compute() -> RefillPlanOut:
        implant = peek_twin(ctx, pump)
        limits.check_withdrawn(req.withdrawn_ml, implant.model.reservoir_capacity_ml)
        plan = workflows.plan_refill(implant, clinician=ctx.actor.username, **_refill_args(implant, req))
        out = _plan_out(plan, ctx.clinic().utc_offset_s)
        return RefillPlanOut.of({**out, "pump_id": pump.id, "version": pump.version})

    return cache.ANSWERS.get(key, compute).model_copy(deep=True)


def preview_refill_json(ctx: Ctx, pump_id: int, req: RefillRequest) -> bytes:
    """:func:`preview_refill` encoded, cached encoded under the same key (the API sends these bytes as they are)."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id)
    entered = (req.withdrawn_ml, req.fill_ml, req.drug, req.conc_mg_per_ml, req.bridge_bolus)
    key = ("refill_preview.json", stamps.ns(ctx.db), pump.id, pump.version, ctx.now_s(), ctx.actor.username, entered)
    return cache.ANSWERS.get(key, lambda: preview_refill(ctx, pump_id, req).model_dump_json().encode())


def refill(ctx: Ctx, pump_id: int, req: RefillRequest, *, fault: Any = None) -> RefillDone:
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
    if row.conc_mg_per_ml != row.previous_conc_mg_per_ml or row.drug != before.drug:
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
        before=before.model_dump(),
        after={**(after := _after(ctx.db, pump)).model_dump(), "refill_id": row.id, "record_id": record["record_id"]},
    )
    if fault is not None:
        fault("refill")  # crash-test hook: everything is written, nothing is committed yet
    out = _plan_out(workflows.RefillPlan([], record, row.expected_ml, 0.0), ctx.clinic().utc_offset_s)
    return RefillDone.of({**out, "refill_id": row.id, "pump_id": pump.id, "version": after.version})


@dataclass
class VerifyRequest:
    drug: str
    conc_mg_per_ml: float
    filled_ml: float
    reservoir_ml: float


def verify_refill(ctx: Ctx, refill_id: int, req: VerifyRequest) -> Verified:
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
    return Verified(refill_id=r.id, verified_by=ctx.actor.username, verification=verified.get("verification"))


def resolve_discrepancy(ctx: Ctx, refill_id: int, note: str) -> Resolved:
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
    return Resolved(refill_id=r.id, resolved=True)
