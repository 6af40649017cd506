"""Pump actions: a programmer interrogation, and programming (preview, then apply and record the
prescription)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ...errors import ItddError
from ...programmer.status import interrogate as interrogate_pump
from ...pump.firmware import PtmSettings
from ...pump.implant import Implant
from ...pump.therapy import Therapy
from ...telemetry.commands import therapy_to_args
from .. import twin, workflows
from ..models import (
    Interrogation,
    Prescription,
    Pump,
)
from ..problems import Forbidden, from_itdd
from ..records import (
    GuardrailMessage,
    InterrogationOut,
    Programmed,
    ProgramPreview,
    SettingChange,
)
from .context import (
    Ctx,
    _after,
    _before,
    _refused,
    check_version,
    close_twin,
    get_pump,
    open_twin,
    peek_twin,
    require_clinician,
)

# ---- interrogation -------------------------------------------------------------------------------


def interrogate(ctx: Ctx, pump_id: int) -> InterrogationOut:
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
    return InterrogationOut.of(twin.clean(status))


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


def preview_program(ctx: Ctx, pump_id: int, req: ProgramRequest) -> ProgramPreview:
    """The guardrail messages and the pending changes side by side; changes nothing."""
    require_clinician(ctx)
    pump = get_pump(ctx, pump_id)
    check = _program_check(peek_twin(ctx, pump), req)
    return ProgramPreview(
        pump_id=pump.id,
        version=pump.version,
        messages=[GuardrailMessage.of(m.to_dict()) for m in check.messages],
        changes=[SettingChange.of(c) for c in check.changes],
        can_apply=not check.hard,
        needs_confirmation=sorted({m.field for m in check.soft}),
    )


def program(ctx: Ctx, pump_id: int, req: ProgramRequest) -> Programmed:
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
        before=before.model_dump(),
        after={**(after := _after(ctx.db, pump)).model_dump(), "prescription_id": rx.id, "record_id": record.record_id},
    )
    return Programmed(
        prescription_id=rx.id,
        pump_id=pump.id,
        version=after.version,
        therapy=rx.therapy,
        description=rx.description,
        confirmations=rx.confirmations,
        record=rx.record,
    )


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
