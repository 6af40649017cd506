"""The typed records the clinic's services answer with (a clock move, a programming preview, a refill plan,
a patient's bolus answer...), which the JSON API declares as its response models and the pages render.

Units are in the field names; instants are ISO 8601 in the clinic's fixed UTC offset (``now``, ``*_at``) or
epoch seconds (``*_s``, ``*_t_s``).  Every record refuses keys it does not declare (``extra="forbid"``), so the
OpenAPI document is the exact shape of the JSON; a :class:`Document` (a record another package owns: the
programmer's interrogation, the pump's bolus answer) declares the keys it has and lets a new one through.
Documents stored as they are (a firmware therapy, a programming or refill record) are :data:`JsonObject`.
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


class PumpSnapshot(Out):
    """A pump's state as an audit entry's before/after records it."""

    version: int
    t_s: Number
    status: str
    drug: str
    conc_mg_per_ml: Number
    daily_dose_mg: Number
    estimate_ml: Number
    low_reservoir_ml: Number
    therapy: JsonObject | None
    ptm: JsonObject | None
    alarms: list[JsonObject]


# ---- clinic clock ---


class ClockMove(Out):
    clock_t_s: float
    previous_t_s: float
    pumps: int
    now: str


class ModeSwitch(Out):
    mode: str
    clock_t_s: float
    now: str


# ---- pumps ----


class Battery(Out):
    to_eri_fraction: float
    eri: str | None
    eri_projected: bool
    end_of_service: str | None


class InterrogationOut(Document):
    """What the programmer reads from the pump (quantities as the programmer screen shows them)."""

    time: str
    model: str
    state: str
    drug: str
    concentration: str
    therapy: JsonObject
    daily_dose: str
    reservoir_estimate_ml: float
    low_reservoir_alarm_ml: float
    alarms: list[JsonObject]
    ptm: JsonObject | None
    battery: Battery
    pump_clock_error_s: float
    log_last_seq: int


class ProgramPreview(Out):
    pump_id: int
    version: int
    messages: list[GuardrailMessage]
    changes: list[SettingChange]
    can_apply: bool
    needs_confirmation: list[str]


class Programmed(Out):
    prescription_id: int
    pump_id: int
    version: int
    therapy: JsonObject  # the therapy as programmed (the programmer's arguments)
    description: str
    confirmations: list[JsonObject]  # soft limits gone beyond, each with its reason
    record: JsonObject | None  # the programming record (changes, read-back, findings)


# ---- refills ----


class AspirateReading(Out):
    pump_id: int
    version: int
    t_s: float
    expected_ml: float
    syringe_ml: float
    capacity_ml: float
    drug: str
    conc_mg_per_ml: float


class RefillPlanOut(Out):
    """A refill as planned (preview) or done: the discrepancy and its likely causes, the bridge bolus, the
    next refill and alarm dates; every field but the guardrail verdict is null when the plan was refused."""

    pump_id: int
    version: int
    expected_ml: float | None
    messages: list[GuardrailMessage]
    can_apply: bool
    needs_confirmation: list[str]
    record: JsonObject | None  # the refill record as the programmer keeps it (with its checksum)
    withdrawn_ml: float | None
    discrepancy_ml: float | None
    discrepancy_threshold_ml: float | None
    flag: bool | None
    flag_reasons: list[str] | None
    likely_causes: list[str] | None
    filled_ml: float | None
    reservoir_ml_entered: float | None
    drug: str | None
    concentration_mg_per_ml: float | None
    previous_concentration_mg_per_ml: float | None
    bridge_bolus: bool | None
    bridge_volume_ml: float | None
    bridge_ends: str | None
    next_refill: str | None
    next_refill_reason: str | None
    low_reservoir_alarm: str | None
    low_reservoir_all_boluses_date: str | None
    ptm_boluses_per_day_assumed: Number | None
    stability_limit_date: str | None


class RefillDone(RefillPlanOut):
    refill_id: int


class Verified(Out):
    refill_id: int
    verified_by: str
    verification: JsonValue  # the verification as written into the refill record


class Resolved(Out):
    refill_id: int
    resolved: bool


# ---- appointments ----


class AppointmentCancelled(Out):
    appointment_id: int
    patient_id: int
    status: str


# ---- the patient's therapy manager ----


class PtmStatus(Document):
    time: str
    state: str
    reservoir_estimate_ml: float | None
    alarms: list[JsonObject]
    ptm_enabled: bool
    boluses_left_24h: int | None
    next_allowed: str | None
    next_allowed_s: float | None
    time_s: float
    now: str
    next_allowed_at: str | None


class BolusAnswer(Document):
    granted: bool
    reason: str | None  # why it was denied (lockout, daily limit, maximum dose)
    message: str  # what the patient's handset shows
    boluses_left_24h: int | None
    next_allowed: str | None
    delivery_certain: bool
    note: str
    next_allowed_s: float | None
    time_s: float
    next_allowed_at: str | None
