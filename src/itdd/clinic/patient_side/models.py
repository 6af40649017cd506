"""Tables of the patient's side (migration ``0004_patient_side``): the directory of pain centres, the clinic's
triage inbox, the ambassador programme (volunteer profiles, requests, conversations, messages, reports) and
observations imported from FHIR.  Same conventions as :mod:`itdd.clinic.models` (wall-clock instants are
``*_wall_s``; the clinic's virtual instants ``*_t_s``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Double, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base

URGENCIES = ("routine", "soon", "urgent")
TOPICS = (
    "deciding",
    "screening trial",
    "the operation",
    "refills",
    "daily life",
    "travel",
    "work",
    "family",
    "MRI",
)


class Centre(Base):
    """A pain centre in the public directory, owned (and edited only) by one clinic's administrator."""

    __tablename__ = "centres"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    town: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float]
    lon: Mapped[float]
    phone: Mapped[str] = mapped_column(String(40))
    offers_trials: Mapped[bool] = mapped_column(Boolean)
    offers_implants: Mapped[bool] = mapped_column(Boolean)
    offers_refills: Mapped[bool] = mapped_column(Boolean)
    offers_mri: Mapped[bool] = mapped_column(Boolean)  # MRI-conditional scanning of implanted pumps
    updated_wall_s: Mapped[float]


class TriageMessage(Base):
    """A patient's "Contact my clinic" message in the clinic's triage inbox."""

    __tablename__ = "triage_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    wall_s: Mapped[float]
    t_s: Mapped[float]  # the clinic's instant (virtual in training mode)
    urgency: Mapped[str] = mapped_column(String(16))  # routine | soon | urgent
    symptoms: Mapped[list[Any]] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # new | handled
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    handled_wall_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_triage_messages_clinic_status", "clinic_id", "status"),)


class AmbassadorProfile(Base):
    """A patient who volunteers to talk about living with the therapy.  Withdrawing deletes the row."""

    __tablename__ = "ambassador_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    alias: Mapped[str] = mapped_column(String(40))  # the only name the other side sees
    topics: Mapped[list[Any]] = mapped_column()
    about: Mapped[str] = mapped_column(Text)
    consent_wall_s: Mapped[float]


class AmbassadorRequest(Base):
    """A prospective patient's request for a conversation with a volunteer."""

    __tablename__ = "ambassador_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    alias: Mapped[str] = mapped_column(String(40))
    topics: Mapped[list[Any]] = mapped_column()
    note: Mapped[str] = mapped_column(Text)
    consent_wall_s: Mapped[float]
    wall_s: Mapped[float]
    status: Mapped[str] = mapped_column(String(16))  # pending | connected | declined | withdrawn
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Conversation(Base):
    """A coordinator-approved conversation between one volunteer and one prospective patient."""

    __tablename__ = "ambassador_conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("ambassador_requests.id"))
    volunteer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    prospective_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    volunteer_alias: Mapped[str] = mapped_column(String(40))
    prospective_alias: Mapped[str] = mapped_column(String(40))
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | ended
    started_wall_s: Mapped[float]
    ended_wall_s: Mapped[float | None] = mapped_column(Double, nullable=True)
    ended_reason: Mapped[str] = mapped_column(String(200), default="")


class ConversationMessage(Base):
    __tablename__ = "ambassador_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("ambassador_conversations.id"), index=True)
    sender_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    wall_s: Mapped[float]
    body: Mapped[str] = mapped_column(Text)  # contact details already removed
    redacted: Mapped[bool] = mapped_column(Boolean)


class ConversationReport(Base):
    __tablename__ = "ambassador_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("ambassador_conversations.id"))
    reporter_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    wall_s: Mapped[float]
    status: Mapped[str] = mapped_column(String(16))  # open | closed


class PatientObservation(Base):
    """An observation with a code and a unit (imported from FHIR), kept as received."""

    __tablename__ = "patient_observations"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    t_s: Mapped[float]
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    display: Mapped[str] = mapped_column(String(200))
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(32))  # UCUM code
    source: Mapped[str] = mapped_column(String(64))
