"""The read records the API answers with that several resources share (clinic, user, pump summary).  Units
are in the field names (``reservoir_estimate_ml``); instants are ISO 8601 strings in the clinic's fixed UTC
offset (``*_at``) or epoch seconds (``*_t_s``).  The services' own answers are in :mod:`itdd.clinic.records`;
the conventions (exact keys, :data:`JsonObject` for stored documents) are the same.
"""

from __future__ import annotations

from ..records import Document, GuardrailMessage, JsonObject, Number, Out, SettingChange


class UserOut(Out):
    user_id: int
    username: str
    role: str
    name: str
    clinic_id: int
    patient_id: int | None


class ClinicInfo(Out):
    id: int
    name: str
    mode: str
    now: str
    now_t_s: float
    utc_offset_s: int
    version: int


class StaffMember(Out):
    user_id: int
    username: str
    role: str
    name: str


class PumpAlarm(Out):
    type: str
    label: str
    severity: str
    since: str | None


class PumpSummary(Out):
    """A pump's summary columns (the twin's state as last stored, with the programmer's dates)."""

    pump_id: int
    version: int
    model: str
    serial: str
    implanted_at: str
    catheter_tip_level: str
    catheter_length_cm: float
    catheter_volume_ml: float
    status: str
    drug: str
    dose_unit: str
    concentration_mg_per_ml: float
    daily_dose_mg: float
    therapy: JsonObject | None  # the firmware's therapy, as programmed (mode and its doses)
    ptm: JsonObject | None  # the patient therapy manager's settings, or null when off
    reservoir_estimate_ml: float
    low_reservoir_alarm_ml: float
    next_refill_at: str | None
    next_refill_reason: str | None
    days_to_next_refill: float | None
    low_reservoir_alarm_at: str | None
    days_to_low_reservoir_alarm: float | None
    eri_at: str | None
    eri_active: bool
    days_to_eri: float | None
    end_of_service_at: str | None
    alarms: list[PumpAlarm]
    twin_time: str | None


class PumpOut(PumpSummary):
    patient_id: int


__all__ = [
    "ClinicInfo",
    "Document",
    "GuardrailMessage",
    "JsonObject",
    "Number",
    "Out",
    "PumpAlarm",
    "PumpOut",
    "PumpSummary",
    "SettingChange",
    "StaffMember",
    "UserOut",
]
