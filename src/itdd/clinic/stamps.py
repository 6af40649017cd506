"""Change stamps: how many committed write transactions have touched a clinic, a patient, or anything.

Whole read answers (the dashboard, a patient page, chart data) are cached per change (:mod:`itdd.clinic.cache`).
Their key must change whenever anything they show changes, whoever wrote it; so the stamps are kept by the
database layer itself rather than by each service:

* every write session (``Database.write()``) records, at each flush, what the flushed rows belong to (a
  patient, through ``patient_id`` or the pump's ``pump_id``; a clinic, through ``clinic_id``; the clinic row
  itself) and, just before it commits, increments one counter per scope touched (``change_counters``,
  migration 0006) in the same transaction: the data and the new stamp become visible together;
* scopes: ``p:<patient>`` (the patient's records, pump, virtual patient), ``c:<clinic>`` (anything in the
  clinic: the dashboard), ``w:<clinic>`` (the clinic row or its staff: what every patient page of the clinic
  shows besides the patient's own rows), ``g`` (a row nothing could be traced to: every key includes it, so
  such a write clears every cache). A patient's change also counts for their clinic (``c:``);
* a reader reads the stamps it depends on in its own transaction, before the data (one statement), and keys
  the cached answer on them and on the clinic's instant.  A stamp is only ever incremented, so an answer
  cached under it is never older than the database was when the request began.

Rows written with Core statements (not through the ORM) are not seen by the flush: a writer that does so calls
:func:`touch`.  The counters are incremented at the very end of the transaction, in sorted order (PostgreSQL
holds their row lock only for the commit itself; two writers never wait for each other in a cycle).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import identity_key

from .models import AuditEntry, ChangeCounter, Clinic, LoginAttempt, Patient, Pump, UserSession

_KEY = "itdd_change_scopes"
GLOBAL = "g"
# rows that no page caches on: sessions and login attempts (authentication reads them itself), the counters
IGNORED = (UserSession, LoginAttempt, ChangeCounter)


Found = set[tuple[str, int | None, int | None]]


def _scopes(obj: Any) -> Iterable[tuple[str, int | None, int | None]]:
    """What a flushed row belongs to: ('p', patient, clinic or None), ('pump', pump, None), ('c' or 'w', clinic,
    None), ('g', None, None)."""
    if isinstance(obj, IGNORED):
        return ()
    if isinstance(obj, Clinic):
        return (("w", obj.id, None),)
    if isinstance(obj, Patient):
        return (("p", obj.id, obj.clinic_id),)
    if isinstance(obj, AuditEntry):  # shown only by the audit log (a clinic-wide read)
        return (("c", obj.clinic_id, None),) if obj.clinic_id is not None else ((GLOBAL, None, None),)
    patient_id = getattr(obj, "patient_id", None)
    pump_id = getattr(obj, "pump_id", None)
    clinic_id = getattr(obj, "clinic_id", None)
    if patient_id is not None:
        return (("p", patient_id, clinic_id),)
    if pump_id is not None:
        return (("pump", pump_id, None),)
    if clinic_id is not None:  # a row of the clinic that is no patient's (staff, centres): every page may show it
        return (("w", clinic_id, None),)
    return ((GLOBAL, None, None),)


def _after_flush(session: Session, _ctx: Any) -> None:
    found: Found = session.info.setdefault(_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        found.update(_scopes(obj))


def touch(session: Session, *, patient_id: int | None = None, clinic_id: int | None = None) -> None:
    """Count a change the flush cannot see (rows written with Core statements) for this transaction."""
    found: Found = session.info.setdefault(_KEY, set())
    if patient_id is not None:
        found.add(("p", patient_id, None))
    if clinic_id is not None:
        found.add(("w", clinic_id, None))
    if patient_id is None and clinic_id is None:
        found.add((GLOBAL, None, None))


def _resolve(session: Session, found: Found) -> list[str]:
    """The scopes' names; a patient's clinic and a pump's patient come from the rows themselves or from the
    session's identity map, else from one query each (rare: a row that carries neither)."""
    scopes: set[str] = set()
    clinic_of: dict[int, int] = {pid: cid for kind, pid, cid in found if kind == "p" and cid is not None and pid}
    pumps: set[int] = set()
    for kind, ident, _ in found:
        if kind == GLOBAL:
            scopes.add(GLOBAL)
        elif kind in ("c", "w"):
            scopes.add(f"c:{ident}")
            if kind == "w":
                scopes.add(f"w:{ident}")
        elif kind == "pump" and ident is not None:
            pumps.add(ident)
    pump_owner: dict[int, tuple[int, int]] = {}
    for pump_id in pumps:
        pump = session.identity_map.get(identity_key(Pump, pump_id))
        if pump is not None:
            pump_owner[pump_id] = (pump.patient_id, pump.clinic_id)
    missing = pumps - pump_owner.keys()
    if missing:
        q = select(Pump.id, Pump.patient_id, Pump.clinic_id).where(Pump.id.in_(missing))
        pump_owner.update({i: (p, c) for i, p, c in session.execute(q)})
    for patient_id, clinic_id in pump_owner.values():
        clinic_of.setdefault(patient_id, clinic_id)
    patients = {ident for kind, ident, _ in found if kind == "p" and ident is not None} | {
        p for p, _ in pump_owner.values()
    }
    unknown = set()
    for patient_id in patients - clinic_of.keys():
        patient = session.identity_map.get(identity_key(Patient, patient_id))
        if patient is not None:
            clinic_of[patient_id] = patient.clinic_id
        else:
            unknown.add(patient_id)
    if unknown:
        owners = select(Patient.id, Patient.clinic_id).where(Patient.id.in_(unknown))
        clinic_of.update({i: c for i, c in session.execute(owners)})
    for patient_id in patients:
        if patient_id in clinic_of:
            scopes.update((f"p:{patient_id}", f"c:{clinic_of[patient_id]}"))
        else:  # gone in this very transaction: nothing can tell whose it was
            scopes.add(GLOBAL)
    if missing - pump_owner.keys():
        scopes.add(GLOBAL)
    return sorted(scopes)


def _before_commit(session: Session) -> None:
    session.flush()  # the last changes are seen too (commit would flush them after this hook)
    found = session.info.pop(_KEY, None)
    if not found:
        return
    scopes = _resolve(session, found)
    session.info.pop(_KEY, None)  # the lookups above may have flushed nothing new; nothing to keep
    table: Any = ChangeCounter.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    stmt = stmt.values([{"scope": s, "n": 1} for s in scopes])
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.scope], set_={"n": table.c.n + 1})
    session.execute(stmt)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_KEY, None)


def install(factory: sessionmaker[Session]) -> None:
    """Keep the change counters for every write session made by ``factory``."""
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_rollback", _forget)


def ns(session: Session) -> int:
    """The cache namespace of the session's database (one per ``Database``: see ``itdd.clinic.db``)."""
    return int(session.info.get("cache_ns", 0))


def read(session: Session, *scopes: str) -> tuple[int, ...]:
    """The database's cache namespace, then the counters of the global scope and of ``scopes`` in that order
    (0 for a scope never written)."""
    wanted = (GLOBAL, *scopes)
    rows = dict(
        session.execute(select(ChangeCounter.scope, ChangeCounter.n).where(ChangeCounter.scope.in_(wanted))).all()
    )
    return (ns(session), *(int(rows.get(s, 0)) for s in wanted))


def clinic(session: Session, clinic_id: int) -> tuple[int, ...]:
    """What a clinic-wide answer (the dashboard) is keyed on."""
    return read(session, f"c:{clinic_id}")


def patient(session: Session, clinic_id: int, patient_id: int) -> tuple[int, ...]:
    """What a patient's page or chart data is keyed on: the patient's rows and the clinic's own."""
    return read(session, f"w:{clinic_id}", f"p:{patient_id}")
