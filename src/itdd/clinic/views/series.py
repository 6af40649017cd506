"""A patient's chart series (reservoir levels, per-day amounts, refills, pain, the virtual patient and its
forecast; cached per change) and the virtual patient now."""

from __future__ import annotations

import functools
import math
from typing import Any

from sqlalchemy import Select, bindparam, select

from ...pump.models import get_model
from .. import cache, stamps, twin, vpatient
from ..models import (
    Assessment,
    Patient,
    PatientModelSample,
    Pump,
    PumpDay,
    PumpSample,
    Refill,
    VirtualPatient,
)
from ..services import Ctx, active_pump, get_patient
from .common import (
    DAY_S,
    dose_unit,
)


@functools.cache
def _statements() -> dict[str, Select[Any]]:
    """The series' statements on the tables, built once (bound parameters)."""
    S, D, R, A = PumpSample.__table__, PumpDay.__table__, Refill.__table__, Assessment.__table__
    pump_id: Any = bindparam("pump_id")
    since: Any = bindparam("since")
    now: Any = bindparam("now")
    day_since: Any = bindparam("day_since")
    return {
        "reservoir": select(S.c.t_s, S.c.kind, S.c.reservoir_ml, S.c.estimate_ml)
        .where(S.c.pump_id == pump_id, S.c.t_s >= since, S.c.t_s <= now)
        .order_by(S.c.t_s, S.c.id),
        "days": select(D.c.date, D.c.day_start_t_s, D.c.programmed_mg, D.c.delivered_mg, D.c.lost_mg, D.c.pumped_ml)
        .where(D.c.pump_id == pump_id, D.c.day_start_t_s >= day_since, D.c.day_start_t_s <= now)
        .order_by(D.c.day_start_t_s),
        "refills": select(R.c.t_s, R.c.expected_ml, R.c.withdrawn_ml, R.c.discrepancy_flag)
        .where(R.c.pump_id == pump_id, R.c.t_s >= since, R.c.t_s <= now)
        .order_by(R.c.t_s),
        "pain": select(A.c.t_s, A.c.pain_nrs, A.c.oral_opioid_mme_mg_per_day)
        .where(A.c.patient_id == bindparam("patient_id"), A.c.t_s >= since, A.c.t_s <= now)
        .order_by(A.c.t_s),
    }


class Series(dict[str, Any]):
    """A patient's chart series, with the version key it was computed under (``key``; None: not cached)."""

    key: tuple[Any, ...] | None = None


def chart_series(ctx: Ctx, patient_id: int, *, days: float = 180.0, forecast: bool = False) -> Series:
    """Series for the patient charts over the last ``days`` (exact levels and per-day amounts).

    Computed once per change: cached under (patient, pump and its version, virtual patient version,
    assessments, the clinic's instant, ``days``, ``forecast``); see :mod:`itdd.clinic.cache`.  Read-only."""
    p = get_patient(ctx, patient_id)
    pump = active_pump(ctx, p)
    now = ctx.now_s()
    if pump is None:
        return Series(_chart_series(ctx, p, None, now, days, forecast))
    key = ("series", p.id, pump.id, pump.version, cache.patient_stamp(ctx.db, p.id), now, float(days), forecast)
    cached = cache.SERIES.get(key, lambda: _chart_series(ctx, p, pump, now, days, forecast))
    out = Series(cached)
    out.key = key
    return out


def _chart_series(ctx: Ctx, p: Patient, pump: Pump | None, now: float, days: float, forecast: bool) -> dict[str, Any]:
    since = now - days * DAY_S
    out: dict[str, Any] = {
        "since_t_s": since,
        "now_t_s": now,
        "reservoir": [],
        "days": [],
        "refills": [],
        "pain": [],
        "capacity_ml": None,
        "low_reservoir_alarm_ml": None,
        "drug": None,
    }
    if pump is not None:
        out["capacity_ml"] = get_model(pump.model).reservoir_capacity_ml
        out["low_reservoir_alarm_ml"] = pump.low_reservoir_ml
        out["drug"] = pump.drug
        out["dose_unit"] = dose_unit(pump.drug)
        conn, st = ctx.db.connection(), _statements()  # Core rows: no ORM object per sample
        bounds = {"pump_id": pump.id, "since": since, "now": now}
        out["reservoir"] = [
            {"t_s": t_s, "kind": kind, "actual_ml": actual, "estimate_ml": estimate}
            for t_s, kind, actual, estimate in conn.execute(st["reservoir"], bounds)
        ]
        out["days"] = [
            {
                "date": date,
                "t_s": t_s,
                "programmed_mg": programmed,
                "delivered_mg": delivered,
                "lost_mg": lost,
                "pumped_ml": pumped,
            }
            for date, t_s, programmed, delivered, lost, pumped in conn.execute(
                st["days"], {**bounds, "day_since": since - DAY_S}
            )
        ]
        out["refills"] = [
            {"t_s": t_s, "expected_ml": expected, "withdrawn_ml": withdrawn, "flag": flag}
            for t_s, expected, withdrawn, flag in conn.execute(st["refills"], bounds)
        ]
    out["pain"] = [
        {"t_s": t_s, "pain_nrs": pain, "oral_mme": mme}
        for t_s, pain, mme in ctx.db.connection().execute(
            _statements()["pain"], {"patient_id": p.id, "since": since, "now": now}
        )
    ]
    out["indication"] = vpatient.indication_for(p.indication, pump.drug if pump is not None else "")
    # the virtual patient's series, by column (compact: one list per quantity, aligned on "t_s")
    keys = (*vpatient.SAMPLE_FLOATS, "kind")
    rows = ctx.db.execute(
        select(*[getattr(PatientModelSample, k) for k in keys])
        .where(PatientModelSample.patient_id == p.id, PatientModelSample.t_s >= since, PatientModelSample.t_s <= now)
        .order_by(PatientModelSample.t_s, PatientModelSample.id)
    ).all()
    rows = [r for r in rows if _finite_floats(r)]
    out["model"] = {k: [r[i] for r in rows] for i, k in enumerate(keys)}
    out["forecast"] = {k: [] for k in keys}
    out["forecast_end_t_s"] = None
    if forecast and pump is not None:
        out["forecast"], out["forecast_end_t_s"] = model_forecast(ctx, pump)
    # records stored out of range (before the entry checks, or by hand) are left off the charts, not drawn
    for key in ("reservoir", "days", "refills", "pain"):
        out[key] = [point for point in out[key] if _finite_row(point.values())]
    return out


def _finite_row(values: Any) -> bool:
    return all(math.isfinite(v) for v in values if isinstance(v, float))


def _finite_floats(row: Any) -> bool:
    """:func:`_finite_row` for a row of numbers (and ``kind`` last), faster: a finite sum means every term is
    finite (an inf or a nan makes the sum inf or nan); otherwise, or if the sum cannot be taken, the exact test."""
    try:
        if math.isfinite(sum(row[:-1])):
            return True
    except (TypeError, OverflowError):
        pass
    return _finite_row(row)


def model_forecast(ctx: Ctx, pump: Pump) -> tuple[dict[str, list[Any]], float | None]:
    """What the model predicts if nothing is done: pump and patient copies run on (nothing stored)."""
    _, sim = vpatient.load(ctx.db, pump.patient_id)
    if sim is None:
        return {k: [] for k in (*vpatient.SAMPLE_FLOATS, "kind")}, None
    now = ctx.now_s()
    end = vpatient.forecast_end(now, pump.eri_t_s, pump.projected_eri_t_s, get_model(pump.model).eri_to_eos_days)
    _, rows, _ = vpatient.peek(twin.load(pump), sim, end)
    rows = [r for r in rows if r["t_s"] >= now]
    keys = (*vpatient.SAMPLE_FLOATS, "kind")
    return {k: [r[k] for r in rows] for k in keys}, end


def model_summary(ctx: Ctx, patient_id: int) -> dict[str, Any] | None:
    """The virtual patient now, and what they would answer if asked (reproducible), for the page and the API."""
    p = get_patient(ctx, patient_id)
    pump = active_pump(ctx, p)
    if pump is None:
        return None
    row = ctx.db.scalar(select(VirtualPatient).where(VirtualPatient.patient_id == pump.patient_id))
    if row is None:
        return None
    now = ctx.now_s()
    key = ("model", stamps.ns(ctx.db), p.id, pump.id, pump.version, row.id, row.version, now)
    return dict(cache.FORECASTS.get(key, lambda: _model_summary(p, pump, row, now)))


def _model_summary(p: Patient, pump: Pump, row: VirtualPatient, now: float) -> dict[str, Any]:
    sim = vpatient.PatientSim.from_dict(row.state)
    if now > sim.t_s:  # live mode: the stored patient may lag the clinic's instant (in memory only)
        sim, _, _ = vpatient.peek(twin.load(pump), sim, now)
    o = vpatient.observe(sim)
    reported = vpatient.reported_pain(sim, p.id)
    return {
        "source": row.source,
        "t_s": o.t_s,
        "observation": o.to_dict(),
        "reported_pain_nrs": reported,
        "oral_mme_mg_per_day": sim.oral_mme_per_day,
        "function_score": suggested_function(reported),
    }


def suggested_function(pain_nrs: int) -> int:
    """Function 0-100 from the reported pain (assumption: 100 - 8 x NRS; function is not modelled)."""
    return max(0, min(100, 100 - 8 * pain_nrs))
