"""The clinic's patients as virtual patients (``itdd.patient``), in step with their pumps.

Each clinic patient with a pump has a :class:`~itdd.clinic.models.VirtualPatient` row: the patient's
parameters and the exact :class:`~itdd.patient.PatientSim` state.  The patient moves only when the pump's twin
moves, through the same piecewise record and in the same database transaction (:func:`follow`, called by
:func:`itdd.clinic.twin.advance`): whatever reached the spinal fluid — the programmed dose, patient boluses,
bridge boluses, or nothing at all behind a kinked catheter or an empty reservoir — is what the patient gets.

Along the way the patient is observed (:class:`~itdd.clinic.models.PatientModelSample`) at every rate change
of the record and on a fixed local grid; the observation at a sample is exact (the model is solved in closed
form between breakpoints), the grid only decides *where* the chart has points.

Oral opioids are an input of the model, not an outcome: the model takes what the clinic last recorded the
patient taking (an assessment's oral MME sets it from that instant on; see docs/clinic.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..patient import DRUGS, Observation, PatientParams, PatientSim
from ..quantities import SECONDS_PER_DAY
from ..thresholds import thresholds
from ..timeunits import SECONDS_PER_HOUR
from . import stamps
from .models import Assessment, Patient, PatientModelSample, Pump, VirtualPatient

DAY_S = SECONDS_PER_DAY
CLINIC_MODEL_SEED = 20260302  # assumption: the cohort seed of clinic patients; patient id i is its member i
GRID_S = 6 * SECONDS_PER_HOUR  # assumption: chart points every 6 h of local time (plus every rate change)
CHANGE_REL = 0.02  # assumption: a rate change of more than 2 % in the record is a chart point
MAX_CHANGES_PER_DAY = 8  # assumption: at most this many rate-change points per day (boluses, flex steps)
FORECAST_POINTS = 160  # assumption: a forecast's grid is widened so that it has about this many grid points
CHART_ACTIVITY = 1.0  # pain is charted while awake and active: the figure a clinic asks about

# Dashboard: "worsening pain or withdrawal" (assumptions, documented in docs/clinic.md)
WORSENING_WINDOW_DAYS = 28.0  # assumption: about the interval between clinic visits, so a rise since the last one shows
# [S] Farrar 2001 (Pain 94:149): a fall of ~2 NRS points is a clinically important change; a rise, by symmetry (U)
WORSENING_PAIN_RISE_NRS = 2.0
WITHDRAWAL_ALERT = thresholds().withdrawal_clinic_alert_score.value  # model withdrawal score (0-10)


def indication_for(patient_indication: str, drug: str) -> str:
    """``spasticity`` for spasticity patients (or baclofen pumps), otherwise ``pain``."""
    return "spasticity" if "spastic" in patient_indication.lower() or drug == "baclofen" else "pain"


def default_params(patient_id: int, indication: str) -> PatientParams:
    """A clinic patient's parameters: member ``patient_id`` of the clinic cohort (reproducible)."""
    return PatientParams.sample(CLINIC_MODEL_SEED, patient_id, indication=indication)


def model_drug(drug: str) -> str:
    return drug if drug in DRUGS else ""


def initial_sim(
    params: PatientParams,
    t_s: float,
    *,
    offset_s: int,
    drug: str,
    daily_dose_mg: float,
    oral_mme_per_day: float | None = None,
) -> PatientSim:
    """A patient who has had this pump therapy (and these oral opioids) for a long time: at steady state."""
    d = model_drug(drug)
    if d and daily_dose_mg > 0.0:
        return PatientSim.at_steady_state(
            params, t_s, drug=d, csf_mg_per_day=daily_dose_mg, oral_mme_per_day=oral_mme_per_day, offset_s=offset_s
        )
    return PatientSim(params, t_s, oral_mme_per_day=oral_mme_per_day, offset_s=offset_s)


def observe(sim: PatientSim) -> Observation:
    return sim.observe(activity=CHART_ACTIVITY)


SAMPLE_FLOATS = (
    "t_s",
    "pain",
    "withdrawal",
    "resp_rate_per_min",
    "spo2_pct",
    "sedation",
    "spasticity",
    "oral_mme_per_day",
)


def sample_row(patient_id: int, o: Observation, kind: str) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "t_s": o.t_s,
        "kind": kind,
        "pain": o.pain,
        "withdrawal": o.withdrawal,
        "resp_rate_per_min": o.resp_rate_per_min,
        "spo2_pct": o.spo2_pct,
        "sedation": o.sedation,
        "spasticity": o.spasticity,
        "oral_mme_per_day": o.oral_mme_per_day,
    }


def create(db: Session, patient_id: int, sim: PatientSim, source: str) -> VirtualPatient:
    row = VirtualPatient(
        patient_id=patient_id, source=source, params=sim.params.to_dict(), state=sim.to_dict(), t_s=sim.t_s
    )
    db.add(row)
    db.add(PatientModelSample(**sample_row(patient_id, observe(sim), "start")))
    return row


def load(db: Session, patient_id: int) -> tuple[VirtualPatient | None, PatientSim | None]:
    row = db.scalar(select(VirtualPatient).where(VirtualPatient.patient_id == patient_id))
    if row is None:
        return None, None
    return row, PatientSim.from_dict(row.state)


def save(row: VirtualPatient, sim: PatientSim) -> None:
    row.state = sim.to_dict()
    row.t_s = sim.t_s


def sample_times(record: Any, t0: float, t1: float, offset_s: int, grid_s: float = GRID_S) -> list[tuple[float, str]]:
    """Where to observe in ``(t0, t1]``: every rate change of the record (at most MAX_CHANGES_PER_DAY a day),
    the local grid (``grid_s``), and ``t1`` itself; ascending."""
    out: dict[float, str] = {}
    g = math.floor((t0 + offset_s) / grid_s) * grid_s - offset_s + grid_s
    while g < t1:
        if g > t0:
            out[g] = "grid"
        g += grid_s
    starts, ends, csf = record.t0, record.t1, record.csf_mg
    prev_rate = None
    per_day: dict[int, int] = {}
    for k in range(len(starts)):
        a, b = starts[k], ends[k]
        rate = csf[k] / (b - a) if b > a else 0.0
        if prev_rate is not None and t0 < a < t1:
            big = max(rate, prev_rate)
            if abs(rate - prev_rate) > CHANGE_REL * big:
                day = int((a + offset_s) // DAY_S)
                if per_day.get(day, 0) < MAX_CHANGES_PER_DAY:
                    per_day[day] = per_day.get(day, 0) + 1
                    out.setdefault(a, "change")
        prev_rate = rate
    out[t1] = out.get(t1, "grid")
    return sorted(out.items())


def ensure(db: Session, pump: Pump, offset_s: int) -> tuple[VirtualPatient, PatientSim]:
    """The pump's patient as a virtual patient; one is created (at steady state on the pump's current therapy,
    at the pump's instant, taking the oral opioids last recorded) if the patient has none yet."""
    row, sim = load(db, pump.patient_id)
    if row is not None and sim is not None:
        return row, sim
    patient = db.get(Patient, pump.patient_id)
    indication = indication_for(patient.indication if patient is not None else "", pump.drug)
    params = default_params(pump.patient_id, indication)
    sim = initial_sim(
        params,
        pump.t_s,
        offset_s=offset_s,
        drug=pump.drug,
        daily_dose_mg=pump.daily_dose_mg,
        oral_mme_per_day=last_oral_mme(db, pump.patient_id),
    )
    row = create(db, pump.patient_id, sim, f"sample:{CLINIC_MODEL_SEED}:{pump.patient_id}")
    return row, sim


def last_oral_mme(db: Session, patient_id: int) -> float:
    """The oral opioids (MME/day) the clinic last recorded for this patient (0 if never)."""
    v = db.scalar(
        select(Assessment.oral_opioid_mme_mg_per_day)
        .where(Assessment.patient_id == patient_id)
        .order_by(Assessment.t_s.desc(), Assessment.id.desc())
        .limit(1)
    )
    return float(v) if v is not None else 0.0


def follow(db: Session, pump: Pump, record: Any, t_end_s: float, offset_s: int) -> PatientSim:
    """The pump's patient follows the pump's record up to ``t_end_s`` (observed on the way); state saved in the
    session, so it commits or rolls back with the pump."""
    row, sim = ensure(db, pump, offset_s)
    patient_id = pump.patient_id
    if t_end_s <= sim.t_s:
        return sim
    t0 = sim.t_s
    rows = []
    for t, kind in sample_times(record, t0, t_end_s, offset_s):
        sim.follow(record, t)
        rows.append(sample_row(patient_id, observe(sim), kind))
    if rows:
        db.execute(insert(PatientModelSample), rows)
        stamps.touch(db, patient_id=patient_id)  # a Core insert: the flush does not see these rows
    save(row, sim)
    return sim


def set_oral(db: Session, patient_id: int, oral_mme_per_day: float, t_s: float) -> bool:
    """From ``t_s`` (the patient's own instant) on, the model takes this oral opioid dose."""
    row, sim = load(db, patient_id)
    if row is None or sim is None or sim.t_s != t_s or sim.oral_mme_per_day == oral_mme_per_day:
        return False
    sim.advance(sim.t_s, oral_mme_per_day=oral_mme_per_day)
    save(row, sim)
    db.add(PatientModelSample(**sample_row(patient_id, observe(sim), "action")))
    return True


def reported_pain(sim: PatientSim, patient_id: int) -> int:
    """What the patient says when asked now: reproducible for this patient at this instant (seeded)."""
    rng = np.random.default_rng([CLINIC_MODEL_SEED, patient_id, round(sim.t_s)])
    return sim.reported_pain(rng)


# ---- reads: now and a forecast (in memory, nothing stored) ----------------------------------------

FORECAST_DAYS = 14.0  # assumption: the model's forecast on the patient page covers two weeks ...
FORECAST_EOS_WINDOW_DAYS = 180.0  # ... or runs past end of service when it comes within the ERI window
FORECAST_PAST_EOS_DAYS = 10.0  # assumption: long enough after the pump stops for withdrawal to show


def peek(implant: Any, sim: PatientSim, t_end_s: float) -> tuple[PatientSim, list[dict[str, Any]], Any]:
    """Copies of the pump (``implant``, already a throw-away copy) and patient run to ``t_end_s``, observed on
    the way; returns the patient there, the samples and the implant."""
    from ..pump.record import Record

    sim = sim.copy()
    t0 = sim.t_s
    if implant.t_s < t0:  # pragma: no cover - the patient never runs ahead of its pump
        return sim, [], implant
    record: Any = Record()  # (typed loosely: PatientSim.follow reads it through its RecordLike protocol)
    implant.record = record
    if t_end_s > implant.t_s:
        implant.run_until(t_end_s)
    rows = []
    # a long forecast gets a wider grid (whole hours), so that it costs about the same as two weeks
    grid_s = max(GRID_S, math.ceil((t_end_s - t0) / FORECAST_POINTS / SECONDS_PER_HOUR) * SECONDS_PER_HOUR)
    for t, kind in sample_times(record, t0, t_end_s, implant.offset_s, grid_s) if t_end_s > t0 else []:
        sim.follow(record, t)
        rows.append(sample_row(0, observe(sim), kind))
    return sim, rows, implant


def forecast_end(now_s: float, eri_t_s: float | None, projected_eri_t_s: float | None, eri_to_eos_days: float) -> float:
    end = now_s + FORECAST_DAYS * DAY_S
    eri = eri_t_s if eri_t_s is not None else projected_eri_t_s
    if eri is not None:
        eos = eri + eri_to_eos_days * DAY_S
        if eos - now_s <= FORECAST_EOS_WINDOW_DAYS * DAY_S:
            end = max(end, eos + FORECAST_PAST_EOS_DAYS * DAY_S)
    return end
