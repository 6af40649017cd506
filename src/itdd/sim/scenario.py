"""The pump scenario's blocks: the pump, its therapy, PTM, events and programmer settings.

A scenario is YAML (or JSON).  Every quantity is a string with its unit.  Validation is strict:
an unknown key, an unknown unit, an unknown drug, a negative dose, an event outside the scenario
are refused with one line naming the field (``events[3].dose: ...``).

**Parsed once, here.**  Each value is validated by parsing it, and the validator keeps what it
parsed: the field holds a :class:`Written` (still the text as written, so messages quote it and the
JSON Schema and a dump see a string) carrying the number in the base unit of its kind.  The models
expose those numbers as properties with the unit in the name (``PumpSpec.conc_mg_per_ml``); the
runner reads only them and never parses text.  The top-level scenario,
its loading and its published JSON Schema are in :mod:`itdd.scenario` (above the care layer,
which adds the patient and pathway blocks); :class:`PumpScenario` here is what the simulator reads.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from .. import quantities as q
from ..drugs import get_drug
from ..errors import InputError
from .values import (
    Accuracy,
    Amount,
    Concentration,
    DateTime,
    DoseRate,
    Duration,
    EventTime,
    FlowRate,
    Length,
    Percent,
    Ppm,
    SignedDuration,
    TimeOfDay,
    Volume,
    VolumePerLength,
    Written,
    _opt,
    number,
)


class Strict(BaseModel):
    # validate_default: a default ("2 mL") is parsed like a written value, so it carries its number too
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class CatheterSpec(Strict):
    length: Length = "50 cm"
    volume_per_cm: VolumePerLength = "0.0026 mL/cm"
    tip_level: str | None = Field(default=None, description="Vertebral level of the tip, e.g. T10.")

    @property
    def length_cm(self) -> float:
        return number(self.length)

    @property
    def ml_per_cm(self) -> float:
        return number(self.volume_per_cm)


class PumpSpec(Strict):
    model: Literal["synchromed-ii-20", "synchromed-ii-40"]
    drug: str
    concentration: Concentration
    fill: Volume
    low_reservoir_alarm: Volume = "2 mL"
    flow_accuracy: Accuracy = "100%"
    flow_accuracy_sd: Percent | None = None
    catheter: CatheterSpec = CatheterSpec()
    primed: bool = Field(default=True, description="The fluid path is already full of the drug.")
    battery_age: Duration | None = Field(default=None, description="Service time already used.")
    clock_error: SignedDuration = "+0s"
    clock_drift: Ppm = "0 ppm"

    @property
    def conc_mg_per_ml(self) -> float:
        return number(self.concentration)

    @property
    def fill_ml(self) -> float:
        return number(self.fill)

    @property
    def low_reservoir_alarm_ml(self) -> float:
        return number(self.low_reservoir_alarm)

    @property
    def flow_accuracy_factor(self) -> float | None:
        """The flow accuracy as a factor, or ``None`` for 'random'."""
        return None if self.flow_accuracy == "random" else number(self.flow_accuracy)

    @property
    def flow_accuracy_sd_fraction(self) -> float | None:
        return _opt(self.flow_accuracy_sd)

    @property
    def battery_age_s(self) -> float | None:
        return _opt(self.battery_age)

    @property
    def clock_error_s(self) -> float:
        return number(self.clock_error)

    @property
    def clock_drift_ppm(self) -> float:
        return number(self.clock_drift)

    @field_validator("drug")
    @classmethod
    def _drug_known(cls, value: str) -> str:
        try:
            get_drug(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value


class FlexStep(Strict):
    start: TimeOfDay
    dose: DoseRate

    @property
    def start_s(self) -> int:
        return int(number(self.start))  # a time of day is whole seconds (quantities.parse_time_of_day_s)

    @property
    def dose_mg_per_day(self) -> float:
        return number(self.dose)


class PeriodicBolusSpec(Strict):
    at: TimeOfDay
    dose: Amount
    duration: Duration

    @property
    def at_s(self) -> int:
        return int(number(self.at))  # a time of day is whole seconds

    @property
    def dose_mg(self) -> float:
        return number(self.dose)

    @property
    def duration_s(self) -> float:
        return number(self.duration)


class TherapySpec(Strict):
    mode: Literal["stopped", "simple_continuous", "flex", "periodic_bolus"]
    dose: DoseRate | None = None
    steps: list[FlexStep] | None = None
    boluses: list[PeriodicBolusSpec] | None = None
    basal: DoseRate | None = None

    @property
    def dose_mg_per_day(self) -> float | None:
        return _opt(self.dose)

    @property
    def basal_mg_per_day(self) -> float | None:
        return _opt(self.basal)

    @model_validator(mode="after")
    def _fields_for_mode(self) -> TherapySpec:
        allowed = {
            "stopped": set(),
            "simple_continuous": {"dose"},
            "flex": {"steps"},
            "periodic_bolus": {"boluses", "basal"},
        }[self.mode]
        required = {"simple_continuous": {"dose"}, "flex": {"steps"}, "periodic_bolus": {"boluses"}}.get(
            self.mode, set()
        )
        given = {k for k in ("dose", "steps", "boluses", "basal") if getattr(self, k) is not None}
        for k in sorted(given - allowed):
            raise ValueError(f"'{k}' does not belong to mode {self.mode}")
        for k in sorted(required - given):
            raise ValueError(f"mode {self.mode} needs '{k}'")
        return self


class PtmSpec(Strict):
    dose: Amount
    duration: Duration = "10min"
    lockout: Duration
    max_per_day: int = Field(ge=1, le=96)
    max_daily_dose: DoseRate | None = Field(
        default=None, description="Predictive maximum of basal + boluses over any 24 h."
    )
    enabled: bool = True

    @property
    def dose_mg(self) -> float:
        return number(self.dose)

    @property
    def duration_s(self) -> float:
        return number(self.duration)

    @property
    def lockout_s(self) -> float:
        return number(self.lockout)

    @property
    def max_daily_dose_mg_per_day(self) -> float | None:
        return _opt(self.max_daily_dose)


class _Event(Strict):
    at: EventTime
    every: Duration | None = Field(
        default=None, description="Repeat the event at this interval (e.g. '6h'), up to 'until' or 'count'."
    )
    until: EventTime | None = Field(default=None, description="Last instant a repeated event may happen.")
    count: int | None = Field(default=None, ge=1, le=100_000, description="How many times in all.")

    @property
    def every_s(self) -> float | None:
        return _opt(self.every)

    @model_validator(mode="after")
    def _repeat(self) -> _Event:
        if (self.until is not None or self.count is not None) and self.every is None:
            raise ValueError("'until' and 'count' need 'every'")
        if self.every is not None and number(self.every) <= 0:
            raise ValueError("every: must be more than 0")
        return self


class PtmRequestEvent(_Event):
    type: Literal["ptm_request"]


class ClinicianBolusEvent(_Event):
    type: Literal["clinician_bolus"]
    dose: Amount
    duration: Duration

    @property
    def dose_mg(self) -> float:
        return number(self.dose)

    @property
    def duration_s(self) -> float:
        return number(self.duration)


class PrimingBolusEvent(_Event):
    type: Literal["priming_bolus"]
    volume: Volume | None = None
    rate: FlowRate | None = None

    @property
    def volume_ml(self) -> float | None:
        return _opt(self.volume)

    @property
    def rate_ml_per_day(self) -> float | None:
        return _opt(self.rate)


class MriEvent(_Event):
    type: Literal["mri"]
    duration: Duration
    resume_delay: Duration = "0min"

    @property
    def duration_s(self) -> float:
        return number(self.duration)

    @property
    def resume_delay_s(self) -> float:
        return number(self.resume_delay)


class CatheterFaultEvent(_Event):
    type: Literal["catheter_fault"]
    kind: Literal["occlusion", "leak", "disconnection", "migration"]
    leak_fraction: Percent = "50%"

    @property
    def leak(self) -> float:
        """The leaking fraction of the flow (0..1)."""
        return number(self.leak_fraction)


class CatheterRevisionEvent(_Event):
    type: Literal["catheter_revision"]
    length: Length | None = None

    @property
    def length_cm(self) -> float | None:
        return _opt(self.length)

    priming_bolus: bool | Literal["catheter"] = Field(
        default=True,
        description="true: prime the whole fluid path (pump's internal path + catheter; pushes the drug left in "
        "the pump into the spinal fluid); 'catheter': prime the catheter volume only; false: no priming.",
    )


class RefillEvent(_Event):
    type: Literal["refill"]
    withdraw: str = Field(default="all", description="'all' or a volume such as '12 mL'.")
    fill: Volume
    concentration: Concentration | None = None
    drug: str | None = None
    bridge_bolus: bool | None = Field(
        default=None, description="Default: a bridge bolus whenever the concentration changes."
    )
    reservoir_volume: Volume | None = Field(
        default=None, description="What the clinician programs as the new reservoir volume."
    )

    _withdraw_ml: float | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _withdraw(self) -> RefillEvent:
        if self.withdraw != "all":
            try:
                self._withdraw_ml = q.parse_volume_ml(self.withdraw)
            except q.UnitError as exc:
                raise ValueError(f"withdraw: {exc} (or 'all')") from None
        if self.drug is not None:
            try:
                get_drug(self.drug)
            except InputError as exc:
                raise ValueError(exc.message) from None
        return self

    @property
    def withdraw_ml(self) -> float | None:
        """The volume to withdraw, or ``None`` for 'all'."""
        return self._withdraw_ml

    @property
    def fill_ml(self) -> float:
        return number(self.fill)

    @property
    def conc_mg_per_ml(self) -> float | None:
        return _opt(self.concentration)

    @property
    def reservoir_volume_ml(self) -> float | None:
        return _opt(self.reservoir_volume)


class ProgramEvent(_Event):
    type: Literal["program"]
    therapy: TherapySpec


class PtmSettingsEvent(_Event):
    type: Literal["set_ptm"]
    ptm: PtmSpec | None


class SimpleEvent(_Event):
    type: Literal["interrogate", "ptm_interrogate", "stop", "resume"]


class CapInjectionEvent(_Event):
    type: Literal["cap_injection"]
    volume: Volume
    concentration: Concentration | None = None
    drug: str | None = None

    @property
    def volume_ml(self) -> float:
        return number(self.volume)

    @property
    def conc_mg_per_ml(self) -> float | None:
        return _opt(self.concentration)


Event = Annotated[
    PtmRequestEvent
    | ClinicianBolusEvent
    | PrimingBolusEvent
    | MriEvent
    | CatheterFaultEvent
    | CatheterRevisionEvent
    | RefillEvent
    | ProgramEvent
    | PtmSettingsEvent
    | SimpleEvent
    | CapInjectionEvent,
    Field(discriminator="type"),
]


class ProgrammerSpec(Strict):
    """Clinic settings for the programmer workflows the scenario runs (its refills)."""

    clinician: str = Field(default="clinician", min_length=1, description="Who performs the refills.")
    verifier: str | None = Field(
        default=None,
        min_length=1,
        description="A second clinician who verifies every refill record (must differ from the clinician).",
    )
    discrepancy_threshold: Volume | None = Field(
        default=None, description="Refill discrepancy that needs evaluation. Default: 1 mL (20 mL pump), 2 mL (40 mL)."
    )
    flow_accuracy_spec: Percent | None = Field(
        default=None, description="Flow-accuracy specification for the refill check. Default: 14.5%."
    )
    guardrails: Literal["report", "enforce"] = Field(
        default="report",
        description="report: findings are listed in each refill row; enforce: a refused refill stops the run.",
    )

    @model_validator(mode="after")
    def _two_people(self) -> ProgrammerSpec:
        if self.verifier is not None and self.verifier.strip() == self.clinician.strip():
            raise ValueError("verifier must be a different clinician from the one who refills")
        return self

    @property
    def discrepancy_threshold_ml(self) -> float | None:
        return _opt(self.discrepancy_threshold)

    @property
    def flow_accuracy_spec_fraction(self) -> float | None:
        return _opt(self.flow_accuracy_spec)


class PumpScenario(Strict):
    """What the simulator reads of a scenario: one implanted pump followed through virtual time.

    The top-level scenario (:class:`itdd.scenario.Scenario`) adds the patient and pathway blocks.
    """

    name: str = Field(min_length=1)
    description: str | None = None
    start: DateTime
    duration: Duration | None = Field(
        default=None, description="How long to run. Required without a pathway (a pathway runs pathway.years)."
    )
    seed: int = 0
    pump: PumpSpec | None = Field(
        default=None, description="The implanted pump. Required without a pathway (a pathway implants its own)."
    )
    therapy: TherapySpec = TherapySpec(mode="stopped")
    ptm: PtmSpec | None = None
    events: list[Event] = Field(default_factory=list)
    programmer: ProgrammerSpec | None = None

    @field_validator("duration")
    @classmethod
    def _duration_positive(cls, value: str | None) -> str | None:
        if value is not None and number(value) <= 0:
            raise ValueError("must be more than 0")
        return value

    @property
    def start_s(self) -> float:
        return number(self.start)

    @property
    def utc_offset_s(self) -> int:
        assert isinstance(self.start, Written)
        return self.start.utc_offset_s

    @property
    def duration_s(self) -> float | None:
        return _opt(self.duration)
