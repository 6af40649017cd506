"""The unit of work every service runs in (:class:`Ctx`: session, actor, wall clock), the scope checks
(a patient, pump or refill of the actor's clinic), and the pump twin inside a transaction (open, bring to
the clinic's instant, close)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import ItddError
from ...pump.implant import Implant
from ...quantities import SECONDS_PER_DAY
from ...telemetry.commands import execute
from .. import twin, workflows
from ..clock import WallClock, clinic_now_s
from ..models import (
    CLINICIAN_ROLES,
    AuditEntry,
    Clinic,
    Patient,
    Pump,
    Refill,
    User,
)
from ..problems import Conflict, Forbidden, NotFound, Refused, from_itdd
from ..records import PumpSnapshot

DAY_S = SECONDS_PER_DAY
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
    # the clinic row, held for the unit of work: the session's identity map holds rows only weakly, so without
    # this every ``clinic()`` after the row was dropped read it again (several statements per request)
    _clinic: Clinic | None = field(default=None, repr=False, compare=False)
    _held: dict[int, Patient] = field(default_factory=dict, repr=False, compare=False)  # the patients asked for

    def clinic(self) -> Clinic:
        if self._clinic is not None:  # held: the same object the session's identity map would give
            return self._clinic
        clinic = self.db.get(Clinic, self.actor.clinic_id)
        if clinic is None:  # pragma: no cover - a user always belongs to a clinic
            raise NotFound("clinic not found")
        self._clinic = clinic
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
        before: Mapping[str, object] | None = None,  # JSON documents
        after: Mapping[str, object] | None = None,
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
    p = ctx._held.get(patient_id) or ctx.db.get(Patient, patient_id)
    a = ctx.actor
    if p is None or p.clinic_id != a.clinic_id or (a.role == "patient" and a.patient_id != p.id):
        raise NotFound(f"no patient {patient_id} in your clinic", field="patient_id")
    ctx._held[p.id] = p  # held for the unit of work, like the clinic (a page's views ask for it a dozen times)
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
    """The patient's active pump (found once per transaction: a page asks for it from several views; no
    transaction of the clinic implants or explants a pump)."""
    found: dict[int, int] = ctx.db.info.setdefault("itdd_active_pump", {})
    if patient.id in found:
        pump = ctx.db.get(Pump, found[patient.id])  # the identity map: no query
        if pump is not None and pump.active:
            return pump
    pump = ctx.db.scalar(select(Pump).where(Pump.patient_id == patient.id, Pump.active.is_(True)).order_by(Pump.id))
    if pump is not None:
        found[patient.id] = pump.id
    return pump


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


def pump_snapshot(pump: Pump) -> PumpSnapshot:
    return PumpSnapshot(
        version=pump.version,
        t_s=pump.t_s,
        status=pump.status,
        drug=pump.drug,
        conc_mg_per_ml=pump.conc_mg_per_ml,
        daily_dose_mg=pump.daily_dose_mg,
        estimate_ml=pump.estimate_ml,
        low_reservoir_ml=pump.low_reservoir_ml,
        therapy=pump.state["firmware"]["therapy"],
        ptm=pump.state["firmware"]["ptm"],
        alarms=list(pump.alarms),
    )


def _after(db: Session, pump: Pump) -> PumpSnapshot:
    """The pump as stored by this transaction: flushed first, so ``version`` is the one the UPDATE wrote (the
    version column is bumped at each flush that changes the row, not at commit)."""
    db.flush()
    return pump_snapshot(pump)


def _before(pump: Pump, version: int) -> PumpSnapshot:
    # the version as locked (a live catch-up flushed on the way may already have bumped it)
    return pump_snapshot(pump).model_copy(update={"version": version})


def _refused(exc: ItddError, messages: list[workflows.Message] | None = None) -> Refused:
    extra: dict[str, Any] = {"rule": getattr(exc, "rule", "") or None}
    if messages is not None:
        extra["messages"] = [m.to_dict() for m in messages]
    return Refused(exc.message, field=exc.field or None, extra=extra)


def user_names(db: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {i: name for i, name in db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))}
