"""The pump twins in the database: load, advance exactly, save.

A pump row holds the implant's complete state (``itdd.pump.persist.dump(..., include_history=False)``).
Every change follows one pattern, inside one database transaction:

1. :func:`load` the implant from the row;
2. :func:`advance` it to the clinic's instant with ``Implant.run_until`` (exact, event-driven); the piecewise
   record of that span becomes per-day amounts (:class:`PumpDay`) and reservoir levels at each local midnight
   (:class:`PumpSample`), and the patient's virtual patient follows it (:func:`itdd.clinic.vpatient.follow`);
3. apply the command through :func:`itdd.telemetry.commands.execute` (the same command set as the
   programmers), bracketed by ``before``/``after`` samples;
4. :func:`save` the state, the new event-log entries and the summary columns; the row's version column makes
   a concurrent writer fail instead of overwriting.
"""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..pump import persist
from ..pump.implant import Implant
from ..pump.log import DEVICE_INVISIBLE
from ..pump.record import Record
from ..quantities import SECONDS_PER_DAY, start_of_local_day_s
from . import vpatient
from .models import Pump, PumpDay, PumpEvent, PumpSample

DAY_S = SECONDS_PER_DAY


def clean(value: Any) -> Any:
    """JSON-safe copy: infinities and NaN become None (PostgreSQL's JSON refuses them).

    A document that is JSON already (nearly always) is copied by the C encoder and decoder, which is several
    times faster than the walk below and gives the same copy (string keys, lists, the same floats)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (ValueError, TypeError):  # a non-finite number (or a value JSON does not know): walk it
        return _clean(value)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def load(pump: Pump) -> Implant:
    return persist.load(pump.state)


def copy(implant: Implant) -> Implant:
    return persist.load(persist.dump(implant, include_history=False))


def _sample(db: Session, pump: Pump, t_s: float, kind: str, reservoir_ml: float, estimate_ml: float) -> None:
    db.add(PumpSample(pump_id=pump.id, t_s=t_s, kind=kind, reservoir_ml=reservoir_ml, estimate_ml=estimate_ml))


def sample_now(db: Session, pump: Pump, implant: Implant, kind: str) -> None:
    _sample(db, pump, implant.t_s, kind, implant.hw.reservoir_ml, implant.fw.estimate_ml)


def advance(db: Session, pump: Pump, implant: Implant, t_end_s: float) -> None:
    """Move the implant exactly to ``t_end_s`` and store what happened in between (amounts per day, levels)."""
    t0 = implant.t_s
    if t_end_s <= t0:
        return
    record = Record()
    implant.record = record
    implant.run_until(t_end_s)
    offset_s = implant.offset_s
    # the patient receives exactly what the record says reached them (same transaction as the pump)
    vpatient.follow(db, pump, record, t_end_s, offset_s)
    # exact amounts per local calendar day (partial first and last days add to rows already there)
    rows = record.daily(offset_s, t0, t_end_s)
    existing = {
        d.date: d
        for d in db.scalars(
            select(PumpDay).where(PumpDay.pump_id == pump.id, PumpDay.date.in_([str(r["date"]) for r in rows]))
        )
    }
    day0 = start_of_local_day_s(t0, offset_s)
    for i, row in enumerate(rows):
        date = str(row["date"])
        day = existing.get(date)
        if day is None:
            day = PumpDay(
                pump_id=pump.id,
                date=date,
                day_start_t_s=day0 + i * DAY_S,
                pumped_ml=0.0,
                delivered_mg=0.0,
                programmed_mg=0.0,
                lost_mg=0.0,
            )
            db.add(day)
        day.pumped_ml += float(row["pumped_ml"])
        day.delivered_mg += float(row["delivered_mg"])
        day.programmed_mg += float(row["programmed_mg"])
        day.lost_mg += float(row["lost_mg"])
    # reservoir levels at each local midnight inside (t0, t_end], exact from the record
    if len(record):
        m = day0 + DAY_S
        while m <= t_end_s:
            if m > t0:
                _sample(db, pump, m, "day", record.level_at("reservoir_ml", m), record.level_at("estimate_ml", m))
            m += DAY_S
    implant.record = Record()


def summarise(pump: Pump, implant: Implant, dates: Any) -> None:
    """Refresh the summary columns (what the firmware reports, and the programmer's dates)."""
    fw = implant.fw
    pump.status = fw.state
    pump.drug = fw.drug
    pump.conc_mg_per_ml = fw.conc_mg_per_ml
    pump.daily_dose_mg = fw.therapy.daily_dose_mg()
    pump.estimate_ml = fw.estimate_ml
    pump.low_reservoir_ml = fw.low_reservoir_ml
    pump.battery_to_eri = implant.hw.battery_to_eri
    pump.eri_t_s = fw.eri_s
    pump.projected_eri_t_s = dates.eri_t_s
    pump.alarms = [clean(a.to_dict()) for a in fw.alarms.values()]
    pump.next_refill_t_s = dates.next_refill_t_s
    pump.next_refill_reason = dates.next_refill_reason
    pump.low_alarm_t_s = dates.low_alarm_t_s


def save(db: Session, pump: Pump, implant: Implant, dates: Any) -> None:
    """Write the implant back: state, new event-log entries, summary (the version check runs at flush)."""
    for entry in implant.log.history:
        if entry.seq <= pump.log_seq:
            continue
        db.add(
            PumpEvent(
                pump_id=pump.id,
                seq=entry.seq,
                t_s=entry.time_s,
                type=entry.type,
                details=clean(dict(entry.details)),
                device=entry.type not in DEVICE_INVISIBLE,
            )
        )
    implant.log.history.clear()
    pump.log_seq = implant.log.last_seq
    pump.state = clean(persist.dump(implant, include_history=False))
    pump.t_s = implant.t_s
    summarise(pump, implant, dates)
