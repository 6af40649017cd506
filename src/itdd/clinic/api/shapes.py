"""The records the API answers with that several resources share (clinic, user, pump summary, guardrail
messages).  Units are in the field names (``reservoir_estimate_ml``); instants are ISO 8601 strings in the
clinic's fixed UTC offset (``*_at``) or epoch seconds (``*_t_s``).

Every answer model refuses keys it does not declare (``extra="forbid"``): the OpenAPI document is the exact
shape of the JSON, and the schemathesis test checks every answer against it.  Documents owned by lower
layers and stored as they are (a firmware therapy, a programming or refill record, an interrogation, an
audit entry's before/after) are JSON objects (:data:`JsonObject`), described where they are used.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, JsonValue

JsonObject = dict[str, JsonValue]
Number = int | float  # a number kept as it is (an integer stays an integer)


class Out(BaseModel):
    """An answer record: exactly these keys."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def of(cls, data: Any) -> Self:
        """The record of a view's or a service's answer (refused if a key is missing or undeclared)."""
        return cls.model_validate(data)


class Document(Out):
    """A document another package owns (the programmer's interrogation, the pump's bolus answer): the keys it
    has today are declared; a key the owner adds passes through (``additionalProperties``)."""

    model_config = ConfigDict(extra="allow")


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


class GuardrailMessage(Out):
    """A guardrail finding (soft limits need a confirmation with a reason; hard limits refuse)."""

    level: str
    field: str
    text: str
    rule: str
    limit: str | None
    source: str | None


class SettingChange(Out):
    """One row of the side-by-side review of a pending programming."""

    label: str
    before: str
    after: str
    changed: bool
