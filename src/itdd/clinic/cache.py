"""Computed once per change: in-process caches keyed on the versions of the records they were computed from.

A clinic page repeats the same expensive work on every view: the virtual patient's forecast (a pump and a
patient run on for two weeks), the patient's chart series, the dashboard's "worsening" check over weeks of model
samples.  They depend only on a few records, each of which carries a version that the database increments on
every change (``pumps.version``, ``virtual_patients.version``; optimistic locking) and on the clinic's instant.
So each result is stored under a key made of exactly those versions and the instant, read from the database in
the request's own transaction:

* the key is read *before* the data, so a cached value is never older than the database was when the request
  began (a change committed later has a new version, hence a new key);
* a cache lives in each server process (``itdd serve --workers N``): processes never share state, and each
  keys its entries on what the shared database says, so all of them serve the same data;
* nothing is ever invalidated by hand: a stale entry simply is never asked for again and ages out (LRU).

Hand-written (about forty lines) rather than a library: the standard ``functools.lru_cache`` cannot take a
key computed separately from its arguments, and a cache server would add a network hop to save a millisecond.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import and_, func, select

from ..quantities import SECONDS_PER_DAY
from . import stamps, vpatient
from .models import Assessment, Clinic, PatientModelSample, Pump, VirtualPatient

T = TypeVar("T")
DAY_S = SECONDS_PER_DAY
CHUNK = 500  # patients per aggregate query (bounded IN lists)


class VersionedCache:
    """A thread-safe LRU map from a version key to a computed value."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                value: T = self._data[key]
                return value
            self.misses += 1
        value = compute()  # outside the lock: two threads may compute the same entry once each; both are right
        self.put(key, value)
        return value

    def peek(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return default

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


# assumption: sizes for a health system (5,000 patients): a few MB each at most
FORECASTS = VersionedCache(2_000)
SERIES = VersionedCache(2_000)
WORSENING = VersionedCache(50_000)
# whole answers, encoded (the dashboard's and chart data's JSON, a patient page's HTML), keyed on change stamps
# (:mod:`itdd.clinic.stamps`): a patient page is ~100 kB, so fewer of them
ANSWERS = VersionedCache(2_000)
PAGES = VersionedCache(300)
# the dashboard's pump rows, formatted, per pump version (itdd.clinic.views.dashboard): a few hundred bytes each
ROWS = VersionedCache(20_000)


def clear_all() -> None:
    for c in (FORECASTS, SERIES, WORSENING, ANSWERS, PAGES, ROWS):
        c.clear()


def patient_stamp(db: Any, patient_id: int) -> tuple[Any, ...]:
    """What a patient's chart series is computed from, besides the pump's version: the virtual patient's row
    version and the assessments (count and last id; a patient's assessments are written under their pump's
    lock, one transaction at a time)."""
    vp = select(VirtualPatient.id, VirtualPatient.version).where(VirtualPatient.patient_id == patient_id)
    row = db.execute(
        select(
            vp.with_only_columns(VirtualPatient.id).scalar_subquery(),
            vp.with_only_columns(VirtualPatient.version).scalar_subquery(),
            select(func.count(Assessment.id)).where(Assessment.patient_id == patient_id).scalar_subquery(),
            select(func.max(Assessment.id)).where(Assessment.patient_id == patient_id).scalar_subquery(),
        )
    ).one()
    return (stamps.ns(db), *row)


# ---- the dashboard's worsening check, per patient --------------------------------------------------


def worsening(ctx: Any, clinic: Clinic) -> list[dict[str, Any]]:
    """:func:`itdd.clinic.views.worsening_rows` for every patient of the clinic with an active pump, each patient's
    answer cached under (patient, virtual patient version, instant): the virtual patient's samples change only
    together with its row.  Warm, this is one query whatever the clinic's size."""
    from .views import worsening_rows

    now = ctx.now_s()
    rows = ctx.db.execute(
        select(VirtualPatient.patient_id, VirtualPatient.id, VirtualPatient.version).where(
            VirtualPatient.patient_id.in_(
                select(Pump.patient_id).where(Pump.clinic_id == clinic.id, Pump.active.is_(True))
            )
        )
    ).all()
    ns = stamps.ns(ctx.db)
    keys = {pid: ("worsening", ns, pid, vid, ver, now) for pid, vid, ver in rows}
    found: dict[int, Any] = {}
    missing: list[int] = []
    sentinel = object()
    for pid, key in keys.items():
        v = WORSENING.peek(key, sentinel)
        if v is sentinel:
            missing.append(pid)
        else:
            found[pid] = v
    for i in range(0, len(missing), CHUNK):
        part = missing[i : i + CHUNK]
        computed = {r["patient_id"]: r for r in worsening_rows(ctx, part)}
        for pid in part:
            value = computed.get(pid)
            WORSENING.put(keys[pid], value)
            found[pid] = value
    out = [dict(v) for v in found.values() if v is not None]
    out.sort(key=lambda r: (-float(r["severity"]), r["patient_id"]))
    return out


def window_stats(db: Any, patient_ids: list[int], since: float, now: float) -> tuple[dict[int, float], dict[int, Any]]:
    """The lowest pain in (since, now] and the last sample (the last written at the last instant) per patient."""
    S = PatientModelSample
    window = (S.patient_id.in_(patient_ids), S.t_s >= since, S.t_s <= now)
    lows = dict(db.execute(select(S.patient_id, func.min(S.pain)).where(*window).group_by(S.patient_id)).all())
    last_t = select(S.patient_id, func.max(S.t_s).label("t")).where(*window).group_by(S.patient_id).subquery()
    latest = {}
    for row in db.execute(
        select(S.patient_id, S.pain, S.withdrawal, S.resp_rate_per_min, S.spo2_pct, S.sedation)
        .join(last_t, and_(S.patient_id == last_t.c.patient_id, S.t_s == last_t.c.t))
        .order_by(S.id)
    ):
        latest[row[0]] = row
    return lows, latest


__all__ = [
    "ANSWERS",
    "FORECASTS",
    "PAGES",
    "ROWS",
    "SERIES",
    "WORSENING",
    "VersionedCache",
    "clear_all",
    "patient_stamp",
    "vpatient",
    "worsening",
]
