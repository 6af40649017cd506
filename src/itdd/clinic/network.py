"""``itdd clinic seed``: a health system's clinic network for capacity work (thousands of patients, years).

``itdd clinic seed --patients 5000 --clinics 5 --years 3`` adds, beside the demo clinics (created first if the
database is empty), ``--patients`` implanted patients spread evenly over ``--clinics`` clinics: the demo's
Riverside clinic (so its demo logins see a large clinic) and ``--clinics - 1`` new ones, each with a physician
and two nurses (``dr.net2``, ``nurse.net2a``, ``nurse.net2b``, …; the demo password).

Each patient has a pump on simple continuous therapy (morphine for pain, baclofen for spasticity), refilled
every 8 to 13 weeks over ``--years`` years (or since the implant), with a prescription, an assessment at every
refill, the next refill appointment and a virtual patient at steady state on the therapy.  The pump's twin is
the engine's own implant at the clinic's instant with the reservoir the history leaves; the history itself is
written in bulk and follows the therapy exactly (linear reservoir fall, the programmed dose every day),
rather than being replayed through the engine pump by pump as the demo's twelve stories are: the point is the
size of the tables, in a couple of minutes.  Per-day amounts, reservoir levels and the virtual patient's samples
cover the last ``--detail-days`` days (the charts' window); refills, prescriptions and assessments the whole span.

Deterministic: the same options on the same database give the same rows (``--seed``).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..errors import InputError
from ..pump import persist
from ..pump.implant import Implant
from ..pump.models import CATHETER_ML_PER_CM, get_model
from ..pump.therapy import Therapy
from ..quantities import SECONDS_PER_DAY, iso, start_of_local_day_s
from ..telemetry.commands import therapy_to_args
from ..timeunits import DAYS_PER_YEAR, SECONDS_PER_HOUR
from . import stamps, twin, vpatient, workflows
from .db import Database, normalise_url
from .models import (
    Appointment,
    Assessment,
    AuditEntry,
    Clinic,
    Patient,
    PatientModelSample,
    Prescription,
    Pump,
    PumpDay,
    PumpSample,
    Refill,
    User,
    VirtualPatient,
)
from .security import hash_password
from .seed import DEMO_OFFSET_S, DEMO_PASSWORD, seed_demo

DAY_S = SECONDS_PER_DAY
MRN_PREFIX = "H"  # network patients' MRNs: H-<clinic>-<number>
MAX_PATIENTS = 100_000
BATCH = 5_000  # rows per bulk insert
FIRST = ("Alex", "Sam", "Maria", "John", "Aisha", "Wei", "Olga", "Pedro", "Fatima", "Liam", "Nora", "Kenji")
LAST = ("Morgan", "Novak", "Okoye", "Lindqvist", "Haddad", "Tanaka", "Rossi", "Kowal", "Byrne", "Dubois", "Reyes")


@dataclass(frozen=True)
class NetworkSpec:
    patients: int = 5_000
    clinics: int = 5
    years: float = 3.0
    detail_days: int = 90
    seed: int = 1


def _check(spec: NetworkSpec) -> None:
    if not 1 <= spec.patients <= MAX_PATIENTS:
        raise InputError("--patients", f"must be 1 to {MAX_PATIENTS:,} (got {spec.patients})")
    if not 1 <= spec.clinics <= 100:
        raise InputError("--clinics", f"must be 1 to 100 (got {spec.clinics})")
    if not 0.25 <= spec.years <= 20:
        raise InputError("--years", f"must be 0.25 to 20 (got {spec.years:g})")
    if not 1 <= spec.detail_days <= 400:
        raise InputError("--detail-days", f"must be 1 to 400 (got {spec.detail_days})")


def _bulk(db: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Core executemany (no ORM unit of work): the fastest portable bulk insert."""
    conn = db.connection()
    for i in range(0, len(rows), BATCH):
        conn.execute(model.__table__.insert(), rows[i : i + BATCH])


def _returning_ids(db: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(rows), BATCH):
        res = db.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows[i : i + BATCH])
        ids.extend(int(x) for x in res.scalars())
    return ids


def _clinics(db: Session, spec: NetworkSpec, now_s: float, wall_s: float) -> list[tuple[Clinic, int, int]]:
    """(clinic, physician id, nurse id) for each clinic of the network; the first is the demo's Riverside."""
    riverside = db.scalar(select(Clinic).order_by(Clinic.id))
    assert riverside is not None
    staff = {u.username: u for u in db.scalars(select(User).where(User.clinic_id == riverside.id))}
    out = [(riverside, staff["dr.ellis"].id, staff["nurse.okafor"].id)]
    pw = hash_password(DEMO_PASSWORD)
    for k in range(2, spec.clinics + 1):
        c = Clinic(
            name=f"Network Clinic {k}",
            mode="training",
            clock_t_s=now_s,
            utc_offset_s=DEMO_OFFSET_S,
            version=1,
            created_wall_s=wall_s,
        )
        db.add(c)
        db.flush()
        users = [
            User(
                clinic_id=c.id,
                username=name,
                password_hash=pw,
                role=role,
                display_name=display,
                patient_id=None,
                active=True,
                created_wall_s=wall_s,
            )
            for name, role, display in (
                (f"dr.net{k}", "physician", f"Dr Network {k}"),
                (f"nurse.net{k}a", "nurse", f"Nurse {k}A, RN"),
                (f"nurse.net{k}b", "nurse", f"Nurse {k}B, RN"),
            )
        ]
        db.add_all(users)
        db.flush()
        out.append((c, users[0].id, users[1].id))
    return out


LOW_ML = 2.0  # the seeded pumps' low-reservoir alarm
REFILL_MARGIN_DAYS = 7.0  # assumption: a clinic books a refill at least a week before the alarm would sound


def _refill_times(rng: random.Random, start_s: float, now_s: float, days_to_low: float) -> Iterator[float]:
    """Refills every 8 to 13 weeks (assumption), always a week or more before the low-reservoir alarm."""
    t = start_s
    while True:
        t += min(rng.uniform(56, 91), max(days_to_low - REFILL_MARGIN_DAYS, 7.0)) * DAY_S
        if t >= now_s:
            return
        yield t


def seed_network(db: Session, spec: NetworkSpec, *, wall_s: float) -> dict[str, Any]:
    """Add the network (see the module docstring) in one transaction; refuses a second time."""
    _check(spec)
    if db.scalar(select(func.count()).select_from(Patient).where(Patient.mrn.like(f"{MRN_PREFIX}-%"))):
        raise InputError("--database-url", "this database already holds a seeded network")
    seed_demo(db, wall_s=wall_s)
    db.flush()
    stamps.touch(db)  # bulk Core inserts: every cached answer of a running server is out of date
    riverside = db.scalar(select(Clinic).order_by(Clinic.id))
    assert riverside is not None
    now = riverside.clock_t_s
    rng = random.Random(spec.seed)
    clinics = _clinics(db, spec, now, wall_s)
    hist_start = now - spec.years * DAYS_PER_YEAR * DAY_S
    detail_start = start_of_local_day_s(now - spec.detail_days * DAY_S, DEMO_OFFSET_S)
    dates_cache: dict[float, str] = {}

    def date_of(t: float) -> str:
        if t not in dates_cache:
            dates_cache[t] = iso(t, DEMO_OFFSET_S)[:10]
        return dates_cache[t]

    # patients
    plan: list[dict[str, Any]] = []
    for i in range(spec.patients):
        clinic, physician_id, nurse_id = clinics[i % len(clinics)]
        spastic = rng.random() < 0.3
        plan.append(
            {
                "clinic": clinic,
                "physician": physician_id,
                "nurse": nurse_id,
                "spastic": spastic,
                "implant": now - rng.uniform(0.2, spec.years + 2.0) * DAYS_PER_YEAR * DAY_S,
                "model": "synchromed-ii-40" if rng.random() < 0.7 else "synchromed-ii-20",
                "dose": round(rng.uniform(0.15, 0.6), 3) if spastic else round(rng.uniform(1.5, 8.0), 2),
                "conc": 2.0 if spastic else 25.0,
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}-{i + 1:05d}",
                "birth": rng.randint(1940, 2000),
                "sex": rng.choice(("female", "male")),
            }
        )
    patient_ids = _returning_ids(
        db,
        Patient,
        [
            {
                "clinic_id": p["clinic"].id,
                "mrn": f"{MRN_PREFIX}-{p['clinic'].id}-{i + 1:05d}",
                "name": p["name"],
                "birth_year": p["birth"],
                "sex": p["sex"],
                "indication": "spasticity (spinal cord injury)" if p["spastic"] else "chronic pain (FBSS)",
                "stage": "maintenance",
                "notes": "seeded network patient (itdd clinic seed)",
                "created_wall_s": wall_s,
            }
            for i, p in enumerate(plan)
        ],
    )

    rows_of: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("pumps", "refills", "days", "samples", "rxs", "assessments", "appts", "vps", "model_rows")
    }
    pumps, refills, days, samples = rows_of["pumps"], rows_of["refills"], rows_of["days"], rows_of["samples"]
    rxs, assessments, appts = rows_of["rxs"], rows_of["assessments"], rows_of["appts"]
    vps, model_rows = rows_of["vps"], rows_of["model_rows"]
    implants: list[tuple[Implant, list[float]]] = []
    for i, (p, pid) in enumerate(zip(plan, patient_ids, strict=True)):
        model = get_model(p["model"])
        cap = model.reservoir_capacity_ml
        drug = "baclofen" if p["spastic"] else "morphine"
        rate_ml_per_day = p["dose"] / p["conc"]
        start = max(p["implant"], hist_start)
        days_to_low = (cap - LOW_ML) / rate_ml_per_day
        fills = [start, *_refill_times(rng, start, now, days_to_low)]
        fill_ml = cap
        last_fill = fills[-1]
        left = max(fill_ml - rate_ml_per_day * (now - last_fill) / DAY_S, 0.5)
        implant = Implant(
            model,
            t_s=now,
            offset_s=DEMO_OFFSET_S,
            drug=drug,
            conc_mg_per_ml=p["conc"],
            fill_ml=min(left, cap),
            low_reservoir_ml=LOW_ML,
            therapy=Therapy.simple(p["dose"]),
            catheter_length_cm=50.0,
            seed=rng.randint(0, 2**31),
        )
        implants.append((implant, fills))
        dates = workflows.refill_dates(implant, last_fill)
        row: dict[str, Any] = {
            "clinic_id": p["clinic"].id,
            "patient_id": pid,
            "model": model.model_id,
            "serial": f"NET{p['clinic'].id:02d}{i + 1:06d}",
            "implant_t_s": p["implant"],
            "catheter_tip_level": "T10",
            "catheter_length_cm": 50.0,
            "catheter_volume_ml": 50.0 * CATHETER_ML_PER_CM,
            "active": True,
            "state": twin.clean(persist.dump(implant, include_history=False)),
            "t_s": now,
            "log_seq": implant.log.last_seq,
            "version": 1,
            "last_fill_t_s": last_fill,
        }
        holder = Pump(**{k: v for k, v in row.items() if k != "state"})
        twin.summarise(holder, implant, dates)
        for k in (
            "status",
            "drug",
            "conc_mg_per_ml",
            "daily_dose_mg",
            "estimate_ml",
            "low_reservoir_ml",
            "battery_to_eri",
            "eri_t_s",
            "projected_eri_t_s",
            "next_refill_t_s",
            "next_refill_reason",
            "low_alarm_t_s",
            "alarms",
        ):
            row[k] = getattr(holder, k)
        pumps.append(row)
    pump_ids = _returning_ids(db, Pump, pumps)

    for i, (p, pid, pump_id) in enumerate(zip(plan, patient_ids, pump_ids, strict=True)):
        implant, fills = implants[i]
        rate_ml_per_day = p["dose"] / p["conc"]
        cap = implant.model.reservoir_capacity_ml
        start = fills[0]
        drug = implant.fw.drug
        indication = vpatient.indication_for("spasticity" if p["spastic"] else "pain", drug)
        params = vpatient.default_params(pid, indication)
        sim = vpatient.initial_sim(params, now, offset_s=DEMO_OFFSET_S, drug=drug, daily_dose_mg=p["dose"])
        obs = vpatient.observe(sim)
        vps.append(
            {
                "patient_id": pid,
                "source": f"sample:{vpatient.CLINIC_MODEL_SEED}:{pid}",
                "params": sim.params.to_dict(),
                "state": sim.to_dict(),
                "t_s": now,
                "version": 1,
            }
        )
        rxs.append(
            {
                "patient_id": pid,
                "pump_id": pump_id,
                "t_s": start,
                "drug": drug,
                "conc_mg_per_ml": p["conc"],
                "therapy": therapy_to_args(implant.fw.therapy),
                "description": implant.fw.therapy.describe("mg"),
                "daily_dose_mg": p["dose"],
                "ptm": None,
                "low_reservoir_ml": 2.0,
                "prescribed_by_id": p["physician"],
                "reason": "seeded network prescription",
                "confirmations": [],
                "record": None,
                "status": "active",
            }
        )
        prng = random.Random(spec.seed * 7_919 + i)
        for n in range(1, len(fills)):
            t = fills[n]
            expected = max(cap - rate_ml_per_day * (t - fills[n - 1]) / DAY_S, 0.0)
            withdrawn = round(max(expected + prng.gauss(0.0, 0.3), 0.0), 1)
            disc = withdrawn - expected
            refills.append(
                {
                    "patient_id": pid,
                    "pump_id": pump_id,
                    "t_s": t,
                    "expected_ml": expected,
                    "withdrawn_ml": withdrawn,
                    "discrepancy_ml": disc,
                    "discrepancy_flag": False,
                    "likely_causes": [],
                    "filled_ml": cap,
                    "reservoir_ml_entered": cap,
                    "drug": drug,
                    "conc_mg_per_ml": p["conc"],
                    "previous_conc_mg_per_ml": p["conc"],
                    "bridge_bolus": False,
                    "bridge_volume_ml": 0.0,
                    "next_refill_t_s": None,
                    "low_alarm_t_s": None,
                    "details": {"seeded": True},
                    "notes": "",
                    "performed_by_id": p["nurse"],
                    "verified_by_id": p["physician"],
                    "verified_wall_s": wall_s,
                    "discrepancy_resolved": True,
                    "resolution_note": "",
                    "resolved_by_id": None,
                }
            )
            if indication == "pain":
                pain = min(10, max(0, round(obs.pain + prng.choice((-1, 0, 0, 1)))))
                assessments.append(
                    {
                        "patient_id": pid,
                        "t_s": t - SECONDS_PER_HOUR,
                        "pain_nrs": pain,
                        "function_score": max(0, min(100, 100 - 8 * pain)),
                        "oral_opioid_mme_mg_per_day": 0.0,
                        "notes": "",
                        "recorded_by_id": p["nurse"],
                    }
                )
        refill_at = pumps[i]["next_refill_t_s"]
        if refill_at is not None:
            appts.append(
                {
                    "patient_id": pid,
                    "t_s": max(refill_at, now + SECONDS_PER_HOUR),
                    "kind": "refill",
                    "status": "scheduled",
                    "notes": "",
                    "created_by_id": p["nurse"],
                }
            )
        # the detail window: per-day amounts, reservoir levels at each local midnight, the model once a day
        d0 = max(detail_start, start_of_local_day_s(start, DEMO_OFFSET_S) + DAY_S)
        d0 = detail_start + math.ceil((d0 - detail_start) / DAY_S) * DAY_S  # on the shared midnight grid
        fill_idx = 0
        t = d0
        while t <= now:
            while fill_idx + 1 < len(fills) and fills[fill_idx + 1] <= t:
                fill_idx += 1
            level = max(cap - rate_ml_per_day * (t - fills[fill_idx]) / DAY_S, 0.0)
            samples.append({"pump_id": pump_id, "t_s": t, "kind": "day", "reservoir_ml": level, "estimate_ml": level})
            if t + DAY_S <= now:
                days.append(
                    {
                        "pump_id": pump_id,
                        "date": date_of(t),
                        "day_start_t_s": t,
                        "pumped_ml": rate_ml_per_day,
                        "delivered_mg": p["dose"],
                        "programmed_mg": p["dose"],
                        "lost_mg": 0.0,
                    }
                )
            model_rows.append({**vpatient.sample_row(pid, obs, "grid"), "t_s": t})
            t += DAY_S
        model_rows.append(vpatient.sample_row(pid, obs, "start"))
    _returning_ids(db, VirtualPatient, vps)
    for model_cls, rows in (
        (Prescription, rxs),
        (Refill, refills),
        (Assessment, assessments),
        (Appointment, appts),
        (PumpDay, days),
        (PumpSample, samples),
        (PatientModelSample, model_rows),
    ):
        _bulk(db, model_cls, rows)
    for c, _, _ in clinics:
        db.add(
            AuditEntry(
                clinic_id=c.id,
                user_id=None,
                username="system",
                role="system",
                action="clinic.seed_network",
                entity="clinic",
                entity_id=c.id,
                wall_s=wall_s,
                t_s=now,
                before=None,
                after={"patients": spec.patients, "clinics": spec.clinics, "years": spec.years, "seed": spec.seed},
            )
        )
    return {
        "patients": spec.patients,
        "clinics": [c.name for c, _, _ in clinics],
        "refills": len(refills),
        "pump_days": len(days),
        "model_samples": len(model_rows),
    }


def cmd_seed(args: argparse.Namespace) -> int:
    spec = NetworkSpec(
        patients=args.patients, clinics=args.clinics, years=args.years, detail_days=args.detail_days, seed=args.seed
    )
    _check(spec)
    db = Database(normalise_url(args.database_url), pool_size=1)
    try:
        db.migrate()
        t = time.perf_counter()
        with db.write() as session:
            out = seed_network(session, spec, wall_s=time.time())
        took = time.perf_counter() - t
    finally:
        db.dispose()
    print(
        f"seeded {out['patients']:,} patients in {len(out['clinics'])} clinics ({', '.join(out['clinics'])}): "
        f"{out['refills']:,} refills, {out['pump_days']:,} pump-days, {out['model_samples']:,} model samples "
        f"in {took:.1f} s"
    )
    return 0
