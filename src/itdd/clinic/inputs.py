"""The clinic's input boundary for quantities and therapies: the request fields that carry a unit
(``"20 mL"``, ``"3 mg/day"``, ``"1d"``), checked when the request is read, and the therapy and patient-bolus
settings a clinician enters, built into the pump's own objects (:class:`itdd.pump.therapy.Therapy`,
:class:`itdd.pump.firmware.PtmSettings`) here, at the boundary.  The pages' forms and the JSON API share them.

The request schema is the one the scenario files use for a therapy (same keys, same units), so a therapy
copied from a scenario can be sent to the API as it is.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .. import quantities as q
from ..errors import InputError
from ..pump.firmware import PtmSettings
from ..pump.therapy import PeriodicBolus, Therapy

_check = q.unit_validator

Volume = Annotated[
    str,
    AfterValidator(_check(q.parse_volume_ml)),
    Field(description="A volume with its unit.", json_schema_extra={"examples": ["20 mL", "0.5 mL"]}),
]
Amount = Annotated[
    str,
    AfterValidator(_check(q.parse_amount_mg)),
    Field(description="A drug amount with its unit.", json_schema_extra={"examples": ["0.1 mg", "50 mcg"]}),
]
Concentration = Annotated[
    str,
    AfterValidator(_check(q.parse_concentration_mg_per_ml)),
    Field(description="A concentration.", json_schema_extra={"examples": ["25 mg/mL", "100 mcg/mL"]}),
]
DoseRate = Annotated[
    str,
    AfterValidator(_check(q.parse_dose_rate_mg_per_day)),
    Field(description="A dose rate.", json_schema_extra={"examples": ["1.5 mg/day", "10 mcg/h"]}),
]
Duration = Annotated[
    str,
    AfterValidator(_check(q.parse_duration_s)),
    Field(
        description="A duration: 30d, 12h, 45min, 3d10h or ISO 8601.", json_schema_extra={"examples": ["30d", "PT12H"]}
    ),
]
TimeOfDay = Annotated[
    str,
    AfterValidator(_check(q.parse_time_of_day_s)),
    Field(description="A time of day, HH:MM, in the clinic's UTC offset.", json_schema_extra={"examples": ["07:00"]}),
]
DateTime = Annotated[
    str,
    AfterValidator(_check(q.parse_datetime)),
    Field(
        description="ISO 8601 date-time with its UTC offset.",
        json_schema_extra={"examples": ["2026-01-05T08:00:00+01:00"]},
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlexStep(_Strict):
    start: TimeOfDay
    dose: DoseRate


class PeriodicBolusSpec(_Strict):
    at: TimeOfDay
    dose: Amount
    duration: Duration


class TherapySpec(_Strict):
    """A therapy as the clinician enters it; :func:`build_therapy` makes the pump's therapy of it."""

    mode: Literal["stopped", "simple_continuous", "flex", "periodic_bolus"]
    dose: DoseRate | None = None
    steps: list[FlexStep] | None = None
    boluses: list[PeriodicBolusSpec] | None = None
    basal: DoseRate | None = None

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


class PtmSpec(_Strict):
    """Patient-activated bolus settings as the clinician enters them."""

    dose: Amount
    duration: Duration = "10min"
    lockout: Duration
    max_per_day: int = Field(ge=1, le=96)
    max_daily_dose: DoseRate | None = Field(
        default=None, description="Predictive maximum of basal + boluses over any 24 h."
    )
    enabled: bool = True


def build_therapy(spec: TherapySpec) -> Therapy:
    """The pump's therapy of a spec (the quantities parsed here, once).  A periodic-bolus therapy without
    ``basal`` has none (0 mg/day)."""
    if spec.mode == "stopped":
        return Therapy.stopped()
    if spec.mode == "simple_continuous":
        assert spec.dose is not None
        return Therapy.simple(q.parse_dose_rate_mg_per_day(spec.dose))
    if spec.mode == "flex":
        assert spec.steps is not None
        return Therapy.flex(
            [(q.parse_time_of_day_s(s.start), q.parse_dose_rate_mg_per_day(s.dose)) for s in spec.steps]
        )
    assert spec.boluses is not None
    boluses = [
        PeriodicBolus(q.parse_time_of_day_s(b.at), q.parse_amount_mg(b.dose), q.parse_duration_s(b.duration))
        for b in spec.boluses
    ]
    basal = q.parse_dose_rate_mg_per_day(spec.basal) if spec.basal is not None else None
    return Therapy.periodic(boluses, basal if basal is not None else 0.0)


def build_ptm(spec: PtmSpec) -> PtmSettings:
    duration_s = q.parse_duration_s(spec.duration)
    if duration_s <= 0:
        raise InputError("ptm.duration", "must be more than 0")
    return PtmSettings(
        dose_mg=q.parse_amount_mg(spec.dose),
        duration_s=duration_s,
        lockout_s=q.parse_duration_s(spec.lockout),
        max_per_day=spec.max_per_day,
        max_daily_dose_mg=None if spec.max_daily_dose is None else q.parse_dose_rate_mg_per_day(spec.max_daily_dose),
        enabled=spec.enabled,
    )
