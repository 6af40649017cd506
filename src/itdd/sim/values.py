"""The scenario's value types: a quantity as written (``"25 mg/mL"``) and the number it means.

Each type is a string in the JSON Schema, validated by parsing it; the validator keeps what it
parsed (:class:`Written`), so the value is parsed once, here, at the boundary.  Split out of
:mod:`itdd.sim.scenario` (the models) to keep each module readable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from .. import quantities as q


class Written(str):
    """A scenario value as written (``"25 mg/mL"``), carrying ``value``: the number it means in the
    base unit of its kind (mg, mL, s, mg/day, mL/day, cm, mL/cm, a fraction, ppm; for a date-time,
    epoch seconds; for an event time ``+3d10h``, seconds after the start), parsed once when the
    scenario was validated."""

    value: float
    after_start: bool  # an event time written as an offset from the scenario's start
    utc_offset_s: int  # a date-time's UTC offset

    def __new__(
        cls, text: str, value: float = math.nan, *, after_start: bool = False, utc_offset_s: int = 0
    ) -> Written:
        obj = super().__new__(cls, text)
        obj.value = value
        obj.after_start = after_start
        obj.utc_offset_s = utc_offset_s
        return obj


def number(text: str) -> float:
    """The number a validated scenario value carries (see :class:`Written`)."""
    if not isinstance(text, Written):
        raise TypeError(f"{text!r} did not come through the scenario model's validation")
    return text.value


def _opt(text: str | None) -> float | None:
    return None if text is None else number(text)


def _check(parse: Callable[[Any], float | None]) -> Callable[[Any], Any]:
    """A pydantic ``AfterValidator``: parse the text (a unit error becomes the field's error) and
    keep the number beside the text."""

    def validator(value: Any) -> Any:
        try:
            parsed = parse(value)
        except q.UnitError as exc:
            raise ValueError(str(exc)) from None
        return Written(value, math.nan if parsed is None else parsed)

    return validator


def _datetime(value: Any) -> Any:
    try:
        dt = q.parse_datetime(value)
    except q.UnitError as exc:
        raise ValueError(str(exc)) from None
    return Written(value, q.to_epoch_s(dt), utc_offset_s=q.offset_of(dt))


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
FlowRate = Annotated[
    str,
    AfterValidator(_check(q.parse_flow_ml_per_day)),
    Field(description="A pump flow rate.", json_schema_extra={"examples": ["24 mL/day", "1 mL/h"]}),
]
Duration = Annotated[
    str,
    AfterValidator(_check(q.parse_duration_s)),
    Field(
        description="A duration: 30d, 12h, 45min, 3d10h or ISO 8601.", json_schema_extra={"examples": ["30d", "PT12H"]}
    ),
]
Length = Annotated[
    str,
    AfterValidator(_check(q.parse_length_cm)),
    Field(description="A length with its unit.", json_schema_extra={"examples": ["50 cm"]}),
]
Percent = Annotated[
    str,
    AfterValidator(_check(q.parse_fraction)),
    Field(description="A percentage.", json_schema_extra={"examples": ["50%"]}),
]
TimeOfDay = Annotated[
    str,
    AfterValidator(_check(q.parse_time_of_day_s)),
    Field(
        description="A time of day, HH:MM, in the schedule's UTC offset (the scenario's, or the clinic's).",
        json_schema_extra={"examples": ["07:00"]},
    ),
]
DateTime = Annotated[
    str,
    AfterValidator(_datetime),
    Field(
        description="ISO 8601 date-time with its UTC offset.",
        json_schema_extra={"examples": ["2026-01-05T08:00:00+01:00"]},
    ),
]


def parse_volume_per_cm(text: Any) -> float:
    if not isinstance(text, str) or "/" not in text:
        raise q.UnitError(f"expected a volume per length like '0.0026 mL/cm', got {text!r}")
    value, per = text.rsplit("/", 1)
    length_cm = q.parse_length_cm("1 " + per.strip())
    return q.parse_volume_ml(value.strip()) / length_cm


def parse_signed_duration_s(text: Any) -> float:
    if not isinstance(text, str):
        raise q.UnitError(f"expected a signed duration like '+5min', got {text!r}")
    s = text.strip()
    sign = -1.0 if s.startswith("-") else 1.0
    return sign * q.parse_duration_s(s.lstrip("+-"))


def parse_ppm(text: Any) -> float:
    m = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*ppm\s*", text) if isinstance(text, str) else None
    if not m:
        raise q.UnitError(f"expected a clock drift like '20 ppm', got {text!r}")
    return float(m.group(1))


def parse_accuracy(text: Any) -> float | None:
    if text == "random":
        return None
    if not (isinstance(text, str) and text.strip().endswith("%")):
        raise q.UnitError(f"expected a percentage like '102.5%' or 'random', got {text!r}")
    try:
        value = float(text.strip()[:-1]) / 100.0
    except ValueError:
        raise q.UnitError(f"cannot read {text!r} as a percentage") from None
    if not 0.5 <= value <= 1.5:
        raise q.UnitError(f"flow accuracy {text} is outside 50%..150%")
    return value


VolumePerLength = Annotated[
    str,
    AfterValidator(_check(parse_volume_per_cm)),
    Field(description="Catheter volume per length.", json_schema_extra={"examples": ["0.0026 mL/cm"]}),
]
SignedDuration = Annotated[
    str,
    AfterValidator(_check(parse_signed_duration_s)),
    Field(description="A signed duration.", json_schema_extra={"examples": ["+5min", "-2min"]}),
]
Ppm = Annotated[
    str,
    AfterValidator(_check(parse_ppm)),
    Field(description="Clock drift in parts per million.", json_schema_extra={"examples": ["20 ppm"]}),
]
Accuracy = Annotated[
    str,
    AfterValidator(_check(parse_accuracy)),
    Field(
        description="Flow accuracy factor as a percentage, or 'random'.",
        json_schema_extra={"examples": ["100%", "random"]},
    ),
]


def _offset_or_datetime(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("+"):
        try:
            after_s = q.parse_duration_s(value.strip()[1:])
        except q.UnitError as exc:
            raise ValueError(str(exc)) from None
        return Written(value, after_s, after_start=True)
    checked = _datetime(value)
    return Written(value, q.to_epoch_s(q.parse_datetime(value.strip())), utc_offset_s=checked.utc_offset_s)


EventTime = Annotated[
    str,
    AfterValidator(_offset_or_datetime),
    Field(
        description="When: ISO 8601 with offset, or an offset from the start like '+3d10h'.",
        json_schema_extra={"examples": ["+3d10h", "2026-01-08T18:00:00+01:00"]},
    ),
]
