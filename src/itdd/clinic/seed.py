"""The demo clinic, created on first start (and by the tests).

Two clinics in training mode, frozen at :data:`DEMO_NOW` until a clinician advances the clock:

* **Riverside Pain & Spasticity Clinic** — a physician, two nurses and a dozen patients at different stages:
  a refill overdue (a fast pump: the discrepancy shows at the refill), a pump near ERI, a catheter occlusion
  waiting to be found (rising pain, the reservoir no longer falls), a fresh implant in titration, a latched
  motor stall after an MRI, a refill awaiting its second-clinician check, a patient with a patient therapy
  manager who just had a bolus (so a second request meets the lockout), and a screening-trial patient
  who has no pump yet;
* **Northgate Neuromodulation Unit** — a second clinic (its staff must never see Riverside's patients).

Every pump's history is *simulated*: each twin starts at its history start and runs through its refills,
reprogrammings, faults and MRIs exactly as the clinic would have run it, so charts, event logs, refill records
and discrepancies are the engine's own numbers.  Each pump patient is a virtual patient (``itdd.patient``) that
follows its pump through that history: the pain they report at their assessments is the model's (a seeded
draw), and what the story says they take by mouth becomes the model's oral opioids from each assessment on.
Values are illustrative (see docs/clinic.md); they are not clinical recommendations.
"""

from __future__ import annotations

import math
import random
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..patient import PatientParams, PatientSim
from ..pump import persist
from ..pump.implant import Implant
from ..pump.models import CATHETER_ML_PER_CM, get_model
from ..pump.therapy import Therapy
from ..quantities import SECONDS_PER_DAY, parse_datetime, to_epoch_s
from ..telemetry.commands import therapy_to_args
from ..timeunits import SECONDS_PER_HOUR, SECONDS_PER_HOUR_INT
from . import twin, vpatient, workflows
from .demo_stories import Story, stories_northgate, stories_riverside
from .models import (
    AdverseEvent,
    Appointment,
    Assessment,
    AuditEntry,
    Clinic,
    Patient,
    Prescription,
    Pump,
    Refill,
    User,
)
from .security import hash_password

DAY_S = SECONDS_PER_DAY
HOUR_S = SECONDS_PER_HOUR
DEMO_NOW = to_epoch_s(parse_datetime("2026-03-02T09:00:00+01:00"))  # a Monday morning, training mode
DEMO_OFFSET_S = SECONDS_PER_HOUR_INT
DEMO_MODEL_SEED = 2026  # assumption: the demo patients are members of this cohort (index: the MRN's number)
DEMO_PASSWORD = "itdd-demo"  # every demo user; printed in the README (a demo, not a secret)

DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    # username, role, display name, clinic key
    ("dr.ellis", "physician", "Dr Hannah Ellis", "riverside"),
    ("nurse.okafor", "nurse", "Chidi Okafor, RN", "riverside"),
    ("nurse.berg", "nurse", "Ingrid Berg, RN", "riverside"),
    ("dr.moreau", "physician", "Dr Léa Moreau", "riverside"),
    ("dr.iyer", "physician", "Dr Ravi Iyer", "northgate"),
    ("nurse.kowalski", "nurse", "Marta Kowalski, RN", "northgate"),
)
PATIENT_LOGINS = {"P-1008": "linda.park", "P-1005": "robert.chen", "N-2001": "ana.silva"}


# the stories (one per patient) are in demo_stories.py


# ---- building --------------------------------------------------------------------------------


def _battery_for_days_left(model_id: str, therapy: Therapy, conc: float, days: float) -> float:
    m = get_model(model_id)
    q = therapy.daily_dose_mg() / conc
    return days * (m.battery_drain_per_day + m.battery_drain_per_ml * q)


class _Builder:
    def __init__(
        self, db: Session, clinic: Clinic, staff: dict[str, User], now_s: float, rng: random.Random, wall_s: float
    ) -> None:
        self.wall_s = wall_s
        self.db = db
        self.clinic = clinic
        self.staff = staff
        self.now = now_s
        self.rng = rng

    def at(self, day: float) -> float:
        return self.now + day * DAY_S

    def patient(self, s: Story, wall_s: float) -> None:
        db = self.db
        p = Patient(
            clinic_id=self.clinic.id,
            mrn=s.mrn,
            name=s.name,
            birth_year=s.birth_year,
            sex=s.sex,
            indication=s.indication,
            stage=s.stage,
            notes=s.notes,
            created_wall_s=wall_s,
        )
        db.add(p)
        db.flush()
        physician = self.staff["physician"]
        nurse = self.staff["nurse"]
        if s.pump is not None:
            self._pump(p, s, physician, nurse)
        self._assessments(p, s, nurse)
        for day, kind, sev, text, status in s.adverse:
            db.add(
                AdverseEvent(
                    patient_id=p.id,
                    t_s=self.at(day),
                    kind=kind,
                    severity=sev,
                    description=text,
                    status=status,
                    recorded_by_id=physician.id,
                )
            )
        for day, kind, notes in s.appointments:
            status = "scheduled" if day >= 0 else ("missed" if notes == "missed" else "done")
            db.add(
                Appointment(
                    patient_id=p.id, t_s=self.at(day), kind=kind, status=status, notes=notes, created_by_id=nurse.id
                )
            )
        login = PATIENT_LOGINS.get(s.mrn)
        if login:
            db.add(
                User(
                    clinic_id=self.clinic.id,
                    username=login,
                    password_hash=hash_password(DEMO_PASSWORD),
                    role="patient",
                    display_name=s.name,
                    patient_id=p.id,
                    active=True,
                    created_wall_s=wall_s,
                )
            )

    def _virtual_patient(self, p: Patient, s: Story, implant: Implant) -> None:
        """The patient's virtual patient at the start of the story: a member of the demo cohort whose analgesic
        ED50 is chosen so that, on the story's current therapy at steady state, awake pain is the story's."""
        spec = s.pump
        assert spec is not None
        drug = spec["drug"]
        indication = vpatient.indication_for(s.indication, drug)
        index = int("".join(ch for ch in s.mrn if ch.isdigit()))
        params = PatientParams.sample(DEMO_MODEL_SEED, index, indication=indication).with_(responder=True, **s.model)
        current = spec.get("current_dose_mg_per_day", spec["therapy"].daily_dose_mg())
        if s.pain is not None and indication == "pain" and drug in vpatient.DRUGS:
            target = s.pain(0.0) if s.settled_pain is None else s.settled_pain
            params = _fit_ed50(params, drug, current, target, s.mme(0.0) if s.mme else 0.0)
        oral = s.mme(s.start_day) if s.mme else 0.0
        new_implant = s.implant_day is None  # a fresh implant: no intrathecal drug before the story starts
        sim = vpatient.initial_sim(
            params,
            implant.t_s,
            offset_s=self.clinic.utc_offset_s,
            drug="" if new_implant else drug,
            daily_dose_mg=implant.fw.therapy.daily_dose_mg(),
            oral_mme_per_day=oral,
        )
        vpatient.create(self.db, p.id, sim, f"demo:{s.mrn}")
        self.db.flush()

    def _assess_model(self, p: Patient, s: Story, day: float, nurse: User) -> None:
        """An assessment of a pump patient: the virtual patient's reported pain (seeded), the oral opioids the
        story says they take (from now on the model takes them too)."""
        row, sim = vpatient.load(self.db, p.id)
        assert row is not None and sim is not None
        pain = vpatient.reported_pain(sim, p.id)
        mme = round(s.mme(day), 1) if s.mme else 0.0
        vpatient.set_oral(self.db, p.id, mme, sim.t_s)
        self.db.add(
            Assessment(
                patient_id=p.id,
                t_s=sim.t_s,
                pain_nrs=pain,
                function_score=max(0, min(100, 100 - pain * 8 - self.rng.randint(0, 6))),
                oral_opioid_mme_mg_per_day=mme,
                notes="",
                recorded_by_id=nurse.id,
            )
        )

    def _assessments(self, p: Patient, s: Story, nurse: User) -> None:
        if s.pain is None or s.pump is not None:  # pump patients' assessments come from their virtual patient
            return
        day = s.start_day + 1.0
        while day <= 0:
            pain = min(10, max(0, round(s.pain(day) + self.rng.choice((-0.5, 0.0, 0.0, 0.5)))))
            mme = s.mme(day) if s.mme else 0.0
            self.db.add(
                Assessment(
                    patient_id=p.id,
                    t_s=self.at(day) - 2 * HOUR_S,
                    pain_nrs=pain,
                    function_score=max(0, min(100, 100 - pain * 8 - self.rng.randint(0, 6))),
                    oral_opioid_mme_mg_per_day=round(mme, 1),
                    notes="",
                    recorded_by_id=nurse.id,
                )
            )
            day += s.assess_every_days

    def _pump(self, p: Patient, s: Story, physician: User, nurse: User) -> None:
        db = self.db
        spec = s.pump
        assert spec is not None
        model = get_model(spec["model"])
        therapy: Therapy = spec["therapy"]
        start = self.at(s.start_day)
        battery = 1.0
        if "battery_days_left" in spec:
            # the battery has this many days to ERI *now*; go back to the history start at this therapy
            battery = _battery_for_days_left(
                spec["model"], therapy, spec["conc"], spec["battery_days_left"] - s.start_day
            )
        length_cm = 50.0  # assumption: the library default catheter length
        implant = Implant(
            model,
            t_s=start,
            offset_s=self.clinic.utc_offset_s,
            drug=spec["drug"],
            conc_mg_per_ml=spec["conc"],
            fill_ml=spec["fill"],
            low_reservoir_ml=spec["low"],
            therapy=therapy,
            ptm=spec.get("ptm"),
            catheter_length_cm=length_cm,
            flow_accuracy=spec.get("accuracy", 1.0),
            battery_to_eri=battery,
            seed=self.rng.randint(0, 2**31),
        )
        pump = Pump(
            clinic_id=self.clinic.id,
            patient_id=p.id,
            model=model.model_id,
            serial=spec["serial"],
            implant_t_s=self.at(s.implant_day if s.implant_day is not None else s.start_day),
            catheter_tip_level=spec["tip"],
            catheter_length_cm=length_cm,
            catheter_volume_ml=length_cm * CATHETER_ML_PER_CM,
            active=True,
            state={},
            t_s=start,
            log_seq=0,
            version=1,
            status="",
            drug="",
            conc_mg_per_ml=0.0,
            daily_dose_mg=0.0,
            estimate_ml=0.0,
            low_reservoir_ml=0.0,
            battery_to_eri=1.0,
            last_fill_t_s=start,
            alarms=[],
        )
        pump.state = twin.clean(persist.dump(implant, include_history=False))
        db.add(pump)
        db.flush()
        twin.sample_now(db, pump, implant, "after")
        self._virtual_patient(p, s, implant)
        first = "initial prescription" if s.implant_day is None else "current prescription (earlier records archived)"
        rx = self._prescription(pump, implant, physician, first, [], None)
        events = list(s.events)
        if s.pain is not None:  # assessments: what the virtual patient tells the nurse (2 h before the day's mark)
            day = s.start_day + 1.0
            while day <= 0:
                events.append((day - 2 / 24, "assess", {"day": day}))
                day += s.assess_every_days
        for day, kind, args in sorted(events, key=lambda e: e[0]):
            twin.advance(db, pump, implant, self.at(day))
            if kind == "assess":
                self._assess_model(p, s, args["day"], nurse)
            elif kind == "refill":
                self._refill(p, pump, implant, args, nurse, physician)
                if args.get("conc") is not None:
                    rx.status = "superseded"
                    rx = self._prescription(pump, implant, physician, "concentration changed at refill", [], None)
            elif kind == "program":
                rx.status = "superseded"
                rx = self._program(pump, implant, args, physician)
            elif kind == "fault":
                implant.catheter_fault(args["kind"])
            elif kind == "mri":
                implant.magnetic_field_on()
                twin.advance(db, pump, implant, implant.t_s + args["duration_h"] * HOUR_S)
                implant.magnetic_field_off(args.get("resume_delay_h", 0.0) * HOUR_S)
            elif kind == "accuracy":
                implant.hw.flow_accuracy = args["value"]
            elif kind == "ptm":
                workflows.ptm(implant).request_bolus()
        twin.advance(db, pump, implant, self.now)
        twin.save(db, pump, implant, workflows.refill_dates(implant, pump.last_fill_t_s))

    def _program(self, pump: Pump, implant: Implant, args: dict[str, Any], physician: User) -> Prescription:
        """A past reprogramming through the programmer; soft limits confirmed with the story's reason."""
        twin.sample_now(self.db, pump, implant, "before")
        check = workflows.check_program(implant, args["therapy"], workflows.KEEP, None)
        reason = args.get("reason", "")
        confirmations = {m.field: reason for m in check.soft}
        record = workflows.commit_program(implant, check, clinician=physician.username, confirmations=confirmations)
        twin.sample_now(self.db, pump, implant, "after")
        return self._prescription(
            pump, implant, physician, reason, [c.to_dict() for c in record.confirmations], twin.clean(record.to_dict())
        )

    def _prescription(
        self,
        pump: Pump,
        implant: Implant,
        by: User,
        reason: str,
        confirmations: list[Any],
        record: dict[str, Any] | None,
    ) -> Prescription:
        fw = implant.fw
        rx = Prescription(
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
            prescribed_by_id=by.id,
            reason=reason,
            confirmations=confirmations,
            record=record,
            status="active",
        )
        self.db.add(rx)
        return rx

    def _refill(
        self, p: Patient, pump: Pump, implant: Implant, args: dict[str, Any], nurse: User, physician: User
    ) -> None:
        """A past refill through the programmer's refill workflow, the syringe read to 0.1 mL."""
        db = self.db
        conc = args.get("conc", implant.fw.conc_mg_per_ml)
        reading = round(implant.hw.reservoir_ml, 1)
        twin.sample_now(db, pump, implant, "before")
        record = workflows.commit_refill(
            implant,
            withdrawn_ml=reading,
            fill_ml=args["fill"],
            drug=implant.fw.drug,
            conc_mg_per_ml=conc,
            bridge_bolus=None,
            clinician=nurse.username,
            confirmations={},
        )
        twin.sample_now(db, pump, implant, "after")
        pump.last_fill_t_s = implant.t_s
        dates = workflows.refill_dates(implant, pump.last_fill_t_s)
        unverified = bool(args.get("unverified"))
        if not unverified:
            record = workflows.verify_record(
                record,
                physician.username,
                drug=record["drug"],
                conc_mg_per_ml=record["concentration_mg_per_ml"],
                filled_ml=record["filled_ml"],
                reservoir_ml=record["reservoir_ml_entered"],
            )
        db.add(
            Refill(
                patient_id=p.id,
                pump_id=pump.id,
                t_s=implant.t_s,
                expected_ml=record["expected_ml"],
                withdrawn_ml=record["withdrawn_ml"],
                discrepancy_ml=record["discrepancy_ml"],
                discrepancy_flag=record["flag"],
                likely_causes=list(record["likely_causes"]),
                filled_ml=record["filled_ml"],
                reservoir_ml_entered=record["reservoir_ml_entered"],
                drug=record["drug"],
                conc_mg_per_ml=record["concentration_mg_per_ml"],
                previous_conc_mg_per_ml=record["previous_concentration_mg_per_ml"],
                bridge_bolus=record["bridge_bolus"],
                bridge_volume_ml=record["bridge_volume_ml"],
                next_refill_t_s=dates.next_refill_t_s,
                low_alarm_t_s=dates.low_alarm_t_s,
                details=twin.clean(record),
                notes="",
                performed_by_id=nurse.id,
                verified_by_id=None if unverified else physician.id,
                verified_wall_s=None if unverified else self.wall_s,
                discrepancy_resolved=not record["flag"],
            )
        )


def _fit_ed50(params: PatientParams, drug: str, dose_mg_per_day: float, pain: float, oral: float) -> PatientParams:
    """``params`` with the analgesic ED50 for which awake pain at steady state on this dose is ``pain`` (bisection
    on log ED50; the closest reachable value if the patient cannot get there)."""

    def pain_at(ed50: float) -> float:
        sim = PatientSim.at_steady_state(
            params.with_(ed50_mg_per_day=ed50), 0.0, drug=drug, csf_mg_per_day=dose_mg_per_day, oral_mme_per_day=oral
        )
        return vpatient.observe(sim).pain

    lo, hi = -8.0, 6.0  # log ED50 (mg/day): pain rises with ED50
    for _ in range(40):
        mid = (lo + hi) / 2
        if pain_at(math.exp(mid)) < pain:
            lo = mid
        else:
            hi = mid
    return params.with_(ed50_mg_per_day=math.exp((lo + hi) / 2))


def seed_demo(db: Session, *, wall_s: float, now_s: float = DEMO_NOW, seed: int = 7) -> bool:
    """Create the demo clinics if the database has no clinic yet. Returns True if it seeded."""
    if db.scalar(select(func.count()).select_from(Clinic)):
        return False
    rng = random.Random(seed)
    clinics = {
        "riverside": Clinic(
            name="Riverside Pain & Spasticity Clinic",
            mode="training",
            clock_t_s=now_s,
            utc_offset_s=DEMO_OFFSET_S,
            version=1,
            created_wall_s=wall_s,
        ),
        "northgate": Clinic(
            name="Northgate Neuromodulation Unit",
            mode="training",
            clock_t_s=now_s,
            utc_offset_s=DEMO_OFFSET_S,
            version=1,
            created_wall_s=wall_s,
        ),
    }
    db.add_all(clinics.values())
    db.flush()
    staff: dict[str, dict[str, User]] = {k: {} for k in clinics}
    for username, role, display, key in DEMO_USERS:
        u = User(
            clinic_id=clinics[key].id,
            username=username,
            password_hash=hash_password(DEMO_PASSWORD),
            role=role,
            display_name=display,
            patient_id=None,
            active=True,
            created_wall_s=wall_s,
        )
        db.add(u)
        staff[key].setdefault(role, u)
    db.flush()
    for key, stories in (("riverside", stories_riverside()), ("northgate", stories_northgate())):
        b = _Builder(db, clinics[key], staff[key], now_s, rng, wall_s)
        for s in stories:
            b.patient(s, wall_s)
    db.flush()
    from .patient_side.demo import seed_patient_side

    seed_patient_side(db, clinics, wall_s, DEMO_PASSWORD)  # centres, volunteers, a prospective patient, ...
    for c in clinics.values():
        db.add(
            AuditEntry(
                clinic_id=c.id,
                user_id=None,
                username="system",
                role="system",
                action="clinic.seed",
                entity="clinic",
                entity_id=c.id,
                wall_s=wall_s,
                t_s=now_s,
                before=None,
                after={"name": c.name, "mode": c.mode},
            )
        )
    return True
