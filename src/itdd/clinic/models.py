"""The clinic's database: SQLAlchemy 2 models (SQLite by default, PostgreSQL supported).

Conventions:

* virtual instants (the clinic clock, the twin's time) are ``*_t_s`` / ``t_s`` columns: float seconds since
  the Unix epoch (UTC), double precision;
* wall-clock instants (login, session expiry, audit) are ``*_wall_s`` columns: only this layer reads them;
* every amount carries its unit in the column name (``estimate_ml``, ``conc_mg_per_ml``); drug amounts are mg;
* optimistic locking: ``clinics`` and ``pumps`` carry a ``version`` column that SQLAlchemy checks on every
  UPDATE (``version_id_col``): two writers that read the same version cannot both commit;
* ``audit_log`` is append-only: database triggers refuse UPDATE and DELETE on it (see the migration).

The schema itself is created by Alembic migrations (``itdd.clinic.migrations``); ``tests/clinic`` checks
that the migrations and these models agree.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("physician", "nurse", "patient", "prospective", "coordinator", "clinic_admin")  # last three: patient side
CLINICIAN_ROLES = ("physician", "nurse")
CLOCK_MODES = ("training", "live")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {float: Double(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))  # training | live
    clock_t_s: Mapped[float]  # training: the virtual now; live: the instant every twin was last brought to
    utc_offset_s: Mapped[int] = mapped_column(Integer)  # fixed offset for local dates (no DST)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_wall_s: Mapped[float]
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy declares it mutable)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # physician | nurse | patient
    display_name: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_wall_s: Mapped[float]


class UserSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token; the token is never stored
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_wall_s: Mapped[float]
    expires_wall_s: Mapped[float]


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))  # "user:<name>" or "ip:<address>"
    wall_s: Mapped[float]
    success: Mapped[bool] = mapped_column(Boolean)
    __table_args__ = (Index("ix_login_attempts_key_wall", "key", "wall_s"),)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(16))
    indication: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_wall_s: Mapped[float]
    __table_args__ = (UniqueConstraint("clinic_id", "mrn", name="uq_patients_clinic_mrn"),)

    pumps: Mapped[list[Pump]] = relationship(back_populates="patient", order_by="Pump.id")


class Pump(Base):
    """An implanted pump and its twin: the complete implant state as JSON plus a summary for lists."""

    __tablename__ = "pumps"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    model: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    implant_t_s: Mapped[float]
    catheter_tip_level: Mapped[str] = mapped_column(String(16))
    catheter_length_cm: Mapped[float]
    catheter_volume_ml: Mapped[float]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the twin
    state: Mapped[dict[str, Any]] = mapped_column(JSON)  # itdd.pump.persist.dump(..., include_history=False)
    t_s: Mapped[float]  # the twin's own instant
    log_seq: Mapped[int] = mapped_column(Integer)  # last event-log sequence number copied to pump_events
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # summary (what the firmware would report), refreshed at every save, for dashboards
    status: Mapped[str] = mapped_column(String(32))
    drug: Mapped[str] = mapped_column(String(32))
    conc_mg_per_ml: Mapped[float]
    daily_dose_mg: Mapped[float]
    estimate_ml: Mapped[float]
    low_reservoir_ml: Mapped[float]
    battery_to_eri: Mapped[float]
    eri_t_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    projected_eri_t_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    last_fill_t_s: Mapped[float]  # the last refill (or the implant fill): drug stability counts from here
    next_refill_t_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    next_refill_reason: Mapped[str] = mapped_column(String(48), default="")
    low_alarm_t_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    alarms: Mapped[list[Any]] = mapped_column(JSON)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy declares it mutable)

    patient: Mapped[Patient] = relationship(back_populates="pumps")


class PumpEvent(Base):
    """The pump's event log, copied from the twin after every change (device and simulator-only entries)."""

    __tablename__ = "pump_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"))
    seq: Mapped[int] = mapped_column(Integer)
    t_s: Mapped[float]
    type: Mapped[str] = mapped_column(String(48))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    device: Mapped[bool] = mapped_column(Boolean)  # False: simulator truth the pump cannot see
    __table_args__ = (
        UniqueConstraint("pump_id", "seq", name="uq_pump_events_pump_seq"),
        Index("ix_pump_events_pump_t", "pump_id", "t_s"),
    )


class PumpDay(Base):
    """Exact amounts per local calendar day, from the twin's piecewise record."""

    __tablename__ = "pump_days"
    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"))
    date: Mapped[str] = mapped_column(String(10))
    day_start_t_s: Mapped[float]
    pumped_ml: Mapped[float]
    delivered_mg: Mapped[float]  # reached the spinal fluid (simulator truth)
    programmed_mg: Mapped[float]  # what the pump believes it delivered
    lost_mg: Mapped[float]  # left the catheter but not into the spinal fluid (simulator truth)
    __table_args__ = (UniqueConstraint("pump_id", "date", name="uq_pump_days_pump_date"),)


class PumpSample(Base):
    """Reservoir levels at day boundaries and around every action (exact levels from the record)."""

    __tablename__ = "pump_samples"
    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"))
    t_s: Mapped[float]
    kind: Mapped[str] = mapped_column(String(16))  # day (a local midnight) | before | after (an action)
    reservoir_ml: Mapped[float]  # actual (simulator truth)
    estimate_ml: Mapped[float]  # the pump's estimate
    __table_args__ = (Index("ix_pump_samples_pump_t", "pump_id", "t_s"),)


class Prescription(Base):
    __tablename__ = "prescriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    t_s: Mapped[float]
    drug: Mapped[str] = mapped_column(String(32))
    conc_mg_per_ml: Mapped[float]
    therapy: Mapped[dict[str, Any]] = mapped_column(JSON)  # command arguments (mg/day, seconds)
    description: Mapped[str] = mapped_column(Text)
    daily_dose_mg: Mapped[float]
    ptm: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    low_reservoir_ml: Mapped[float]
    prescribed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    confirmations: Mapped[list[Any]] = mapped_column(JSON)  # soft limits confirmed, each with its reason
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # the programmer's record
    status: Mapped[str] = mapped_column(String(16))  # active | superseded


class Refill(Base):
    __tablename__ = "refills"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    t_s: Mapped[float]
    expected_ml: Mapped[float]  # the pump's estimate just before
    withdrawn_ml: Mapped[float]  # entered by the clinician (the syringe reading)
    discrepancy_ml: Mapped[float]  # withdrawn - expected
    discrepancy_flag: Mapped[bool] = mapped_column(Boolean)
    likely_causes: Mapped[list[Any]] = mapped_column(JSON)
    filled_ml: Mapped[float]
    reservoir_ml_entered: Mapped[float]
    drug: Mapped[str] = mapped_column(String(32))
    conc_mg_per_ml: Mapped[float]
    previous_conc_mg_per_ml: Mapped[float]
    bridge_bolus: Mapped[bool] = mapped_column(Boolean)
    bridge_volume_ml: Mapped[float]
    next_refill_t_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    low_alarm_t_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)  # the programmer's refill record (checksummed)
    notes: Mapped[str] = mapped_column(Text, default="")
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    verified_wall_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    discrepancy_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Interrogation(Base):
    __tablename__ = "interrogations"
    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    t_s: Mapped[float]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[dict[str, Any]] = mapped_column(JSON)


class Assessment(Base):
    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    t_s: Mapped[float]
    pain_nrs: Mapped[int] = mapped_column(Integer)  # 0..10 numeric rating scale
    function_score: Mapped[int] = mapped_column(Integer)  # 0..100, higher is better
    oral_opioid_mme_mg_per_day: Mapped[float]  # oral morphine milligram equivalents
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    t_s: Mapped[float]
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))  # mild | moderate | severe
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # open | resolved
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Appointment(Base):
    __tablename__ = "appointments"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    t_s: Mapped[float]
    kind: Mapped[str] = mapped_column(String(32))  # refill | follow-up | programming | pump replacement
    status: Mapped[str] = mapped_column(String(16))  # scheduled | done | cancelled
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class AuditEntry(Base):
    """Append-only: who did what, when (wall and virtual), with the state before and after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"), nullable=True, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    wall_s: Mapped[float]
    t_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class VirtualPatient(Base):
    """The clinic patient's virtual patient (itdd.patient): parameters and exact state, in step with the pump.

    ``state`` is ``PatientSim.to_dict()``; it moves only together with the pump's twin (same transaction,
    same record), so ``t_s`` equals the pump's ``t_s`` whenever both were saved.
    """

    __tablename__ = "virtual_patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    source: Mapped[str] = mapped_column(String(64))  # "sample:<seed>:<index>", "reference", "demo:<mrn>"
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # PatientParams.to_dict()
    state: Mapped[dict[str, Any]] = mapped_column(JSON)  # PatientSim.to_dict()
    t_s: Mapped[float]
    # incremented on every change (the caches of itdd.clinic.cache key on it; migration 0005)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy declares it mutable)


class PatientModelSample(Base):
    """The virtual patient observed at the pump record's rate changes and on a grid (exact, not a time step)."""

    __tablename__ = "patient_model_samples"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    t_s: Mapped[float]
    kind: Mapped[str] = mapped_column(String(16))  # start | grid | change (a rate change in the record) | action
    pain: Mapped[float]  # NRS 0-10 while awake (activity 1)
    withdrawal: Mapped[float]  # 0-10, the worst of opioid, baclofen and clonidine withdrawal
    resp_rate_per_min: Mapped[float]
    spo2_pct: Mapped[float]
    sedation: Mapped[float]  # 0 alert .. 3 somnolent
    spasticity: Mapped[float]  # Modified Ashworth 0-4
    oral_mme_per_day: Mapped[float]  # the oral opioids the model takes (an input)
    __table_args__ = (Index("ix_patient_model_samples_patient_t", "patient_id", "t_s"),)


class ChangeCounter(Base):
    """How many committed write transactions touched a scope (migration 0006; :mod:`itdd.clinic.stamps`):
    ``g`` (anything no clinic could be found for), ``c:<clinic>`` (anything in the clinic), ``w:<clinic>`` (the
    clinic itself or its staff: what every patient page of the clinic shows), ``p:<patient>`` (a patient's
    records, pump and virtual patient).  Bumped at commit by the write that made the change; the read caches key
    on them."""

    __tablename__ = "change_counters"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)


# indexes for a health system's size (migration 0005): the patient list pages by name within a clinic; the
# dashboard finds a clinic's active pumps, its refills awaiting a check and its scheduled appointments
Index("ix_patients_clinic_name", Patient.clinic_id, Patient.name, Patient.id)
Index("ix_pumps_clinic_active", Pump.clinic_id, Pump.active)
Index("ix_appointments_status_t", Appointment.status, Appointment.t_s)
Index("ix_refills_verified_by_id", Refill.verified_by_id)

from .patient_side import models as _patient_side_models  # noqa: E402,F401  (its tables join Base.metadata)
