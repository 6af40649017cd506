"""The clinic's clock: training mode's advance, the switch between training and live, live catch-up (every
active pump moves with the clock, in one transaction)."""

from __future__ import annotations

from sqlalchemy import select

from ...quantities import iso, start_of_local_day_s
from ...timeunits import SECONDS_PER_HOUR_INT
from ..clock import clinic_now_s
from ..models import (
    Pump,
)
from ..problems import Forbidden, Invalid
from ..records import (
    ClockMove,
    ModeSwitch,
)
from .context import (
    CLINIC_ROW_LOCK,
    DAY_S,
    Ctx,
    close_twin,
    open_twin,
    require_clinician,
)

CLINIC_DAY_START_S = 9 * SECONDS_PER_HOUR_INT  # assumption: "to next refill" lands at 09:00 local (clinic opens)
MAX_ADVANCE_S = 400 * DAY_S  # assumption: one advance covers at most a little over a year


# ---- clinic clock --------------------------------------------------------------------------------


def advance_clinic(ctx: Ctx, *, by_s: float | None = None, to: str | None = None) -> ClockMove:
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
    return ClockMove(clock_t_s=target, previous_t_s=now, pumps=len(pumps), now=iso(target, clinic.utc_offset_s))


def set_mode(ctx: Ctx, mode: str) -> ModeSwitch:
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
        return ModeSwitch(mode=mode, clock_t_s=clinic.clock_t_s, now=iso(clinic.clock_t_s, clinic.utc_offset_s))
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
    return ModeSwitch(mode=mode, clock_t_s=now, now=iso(now, clinic.utc_offset_s))


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
