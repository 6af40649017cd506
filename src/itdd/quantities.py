"""Units and parsing at the boundary.

Every number that enters itdd from a person (scenario file, CLI, web form, API) is a string with
an explicit unit: ``"25 mg/mL"``, ``"1.5 mg/day"``, ``"20 mL"``, ``"45min"``.  This module turns
those strings into plain floats in one canonical unit per dimension, and the unit is then carried
in the variable name (``volume_ml``, ``dose_mg_per_day``):

=============  ===============  ==========================================
dimension      canonical unit   accepted spellings
=============  ===============  ==========================================
volume         mL               mL, ml, uL, µL, L
drug amount    mg               mg, mcg, ug, µg, g
concentration  mg/mL            {amount}/{volume}, e.g. mg/mL, mcg/mL
dose rate      mg/day           {amount}/{day|d|h|hr|min}
flow           mL/day           {volume}/{day|d|h|hr|min}
duration       seconds          s, min, h, d, w, y (365.25 d), compound
                                ``3d10h``, ISO 8601 ``P1DT2H``
length         cm               cm, mm, m
fraction       1                ``40%`` or a bare number 0..1
=============  ===============  ==========================================

A bare number where a unit is expected is refused: unit confusion (rate versus amount, mg versus
mcg) is the most common error in the field, so the unit must always be written.

Time itself is virtual: the core works in float seconds since the Unix epoch (UTC), named
``t_s`` or ``*_time_s``; schedules are read in a fixed UTC offset (``offset_s``), never a time zone
with daylight-saving rules.  Only the boundary converts to and from ISO 8601.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

from .timeunits import DAYS_PER_YEAR as DAYS_PER_YEAR  # re-exported: the constants live in itdd.timeunits
from .timeunits import SECONDS_PER_DAY as SECONDS_PER_DAY
from .timeunits import (
    SECONDS_PER_DAY_INT,
    SECONDS_PER_HOUR_INT,
    SECONDS_PER_MINUTE_INT,
    SECONDS_PER_WEEK,
    SECONDS_PER_YEAR,
)
from .timeunits import SECONDS_PER_HOUR as SECONDS_PER_HOUR
from .timeunits import SECONDS_PER_MINUTE as SECONDS_PER_MINUTE


class UnitError(ValueError):
    """A quantity could not be parsed; the message says what was expected."""


_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY_RE = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-zµμ%/]+(?:\s*/\s*[A-Za-z]+)?)\s*$")

_VOLUME_ML = {"ml": 1.0, "ul": 1e-3, "µl": 1e-3, "μl": 1e-3, "l": 1000.0}
_AMOUNT_MG = {"mg": 1.0, "mcg": 1e-3, "ug": 1e-3, "µg": 1e-3, "μg": 1e-3, "g": 1000.0}
_TIME_PER_DAY = {"day": 1.0, "d": 1.0, "h": 24.0, "hr": 24.0, "hour": 24.0, "min": 1440.0}
_LENGTH_CM = {"cm": 1.0, "mm": 0.1, "m": 100.0}
_DURATION_S = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": SECONDS_PER_MINUTE,
    "mins": SECONDS_PER_MINUTE,
    "minute": SECONDS_PER_MINUTE,
    "minutes": SECONDS_PER_MINUTE,
    "h": SECONDS_PER_HOUR,
    "hr": SECONDS_PER_HOUR,
    "hour": SECONDS_PER_HOUR,
    "hours": SECONDS_PER_HOUR,
    "d": SECONDS_PER_DAY,
    "day": SECONDS_PER_DAY,
    "days": SECONDS_PER_DAY,
    "w": SECONDS_PER_WEEK,
    "wk": SECONDS_PER_WEEK,
    "week": SECONDS_PER_WEEK,
    "weeks": SECONDS_PER_WEEK,
    "y": SECONDS_PER_YEAR,
    "year": SECONDS_PER_YEAR,
    "years": SECONDS_PER_YEAR,
}


def _split(text: object, example: str) -> tuple[float, str]:
    if isinstance(text, bool) or not isinstance(text, str):
        if isinstance(text, int | float):
            raise UnitError(f"missing unit: write it with its unit, e.g. '{example}'")
        raise UnitError(f"expected a text like '{example}', got {type(text).__name__}")
    m = _QUANTITY_RE.match(text)
    if not m:
        if re.match(rf"^\s*{_NUMBER}\s*$", text):
            raise UnitError(f"missing unit in '{text}': write it with its unit, e.g. '{example}'")
        raise UnitError(f"cannot read '{text}' as a quantity; expected e.g. '{example}'")
    value = float(m.group(1))
    if not math.isfinite(value):
        raise UnitError(f"'{text}' is not a finite number")
    unit = re.sub(r"\s+", "", m.group(2))
    return value, unit


def _non_negative(value: float, text: str) -> float:
    if value < 0:
        raise UnitError(f"'{text}' must not be negative")
    return value


def _lookup(table: dict[str, float], unit: str, text: str, what: str) -> float:
    factor = table.get(unit.lower())
    if factor is None:
        allowed = ", ".join(sorted({k for k in table if k.isascii()}))
        raise UnitError(f"unknown {what} unit '{unit}' in '{text}' (use one of: {allowed})")
    return factor


def parse_volume_ml(text: object) -> float:
    """``"20 mL"`` -> 20.0 (mL)."""
    value, unit = _split(text, "20 mL")
    return _non_negative(value * _lookup(_VOLUME_ML, unit, str(text), "volume"), str(text))


def parse_amount_mg(text: object) -> float:
    """``"0.5 mg"`` -> 0.5; ``"50 mcg"`` -> 0.05 (mg)."""
    value, unit = _split(text, "0.5 mg")
    return _non_negative(value * _lookup(_AMOUNT_MG, unit, str(text), "drug amount"), str(text))


def _ratio(text: object, example: str) -> tuple[float, str, str]:
    value, unit = _split(text, example)
    if "/" not in unit:
        raise UnitError(f"'{text}' needs a unit like '{example}'")
    num, den = unit.split("/", 1)
    return value, num, den


def parse_concentration_mg_per_ml(text: object) -> float:
    """``"25 mg/mL"`` -> 25.0; ``"100 mcg/mL"`` -> 0.1 (mg/mL)."""
    value, num, den = _ratio(text, "25 mg/mL")
    amount = _lookup(_AMOUNT_MG, num, str(text), "drug amount")
    volume = _lookup(_VOLUME_ML, den, str(text), "volume")
    return _non_negative(value * amount / volume, str(text))


def parse_dose_rate_mg_per_day(text: object) -> float:
    """``"1.5 mg/day"`` -> 1.5; ``"10 mcg/h"`` -> 0.24 (mg/day)."""
    value, num, den = _ratio(text, "1.5 mg/day")
    amount = _lookup(_AMOUNT_MG, num, str(text), "drug amount")
    per_day = _lookup(_TIME_PER_DAY, den, str(text), "time")
    return _non_negative(value * amount * per_day, str(text))


def parse_flow_ml_per_day(text: object) -> float:
    """``"0.5 mL/day"`` -> 0.5; ``"1 mL/h"`` -> 24.0 (mL/day)."""
    value, num, den = _ratio(text, "0.5 mL/day")
    volume = _lookup(_VOLUME_ML, num, str(text), "volume")
    per_day = _lookup(_TIME_PER_DAY, den, str(text), "time")
    return _non_negative(value * volume * per_day, str(text))


def parse_length_cm(text: object) -> float:
    """``"60 cm"`` -> 60.0 (cm)."""
    value, unit = _split(text, "60 cm")
    return _non_negative(value * _lookup(_LENGTH_CM, unit, str(text), "length"), str(text))


def parse_fraction(text: object) -> float:
    """``"40%"`` -> 0.4; a bare number is taken as a fraction and must lie in 0..1."""
    if isinstance(text, bool):
        raise UnitError("expected a percentage like '40%'")
    if isinstance(text, int | float):
        value = float(text)
    elif isinstance(text, str) and text.strip().endswith("%"):
        try:
            value = float(text.strip()[:-1]) / 100.0
        except ValueError:
            raise UnitError(f"cannot read '{text}' as a percentage") from None
    else:
        raise UnitError(f"expected a percentage like '40%', got '{text}'")
    if not (0.0 <= value <= 1.0) or not math.isfinite(value):
        raise UnitError(f"'{text}' must lie between 0% and 100%")
    return value


_ISO_DURATION_RE = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_COMPOUND_PART_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)")


def parse_duration_s(text: object) -> float:
    """``"30d"``, ``"12h"``, ``"45min"``, ``"3d10h"``, ``"1h 30min"``, ``"P1DT2H"`` -> seconds."""
    if isinstance(text, bool) or not isinstance(text, str):
        if isinstance(text, int | float):
            raise UnitError("missing unit: write durations like '30d', '12h' or '45min'")
        raise UnitError(f"expected a duration like '30d', got {type(text).__name__}")
    s = text.strip()
    if s.startswith("-"):
        raise UnitError(f"duration '{text}' must not be negative")
    if s.startswith("P"):
        m = _ISO_DURATION_RE.match(s)
        if not m or s in ("P", "PT") or s.endswith("T"):
            raise UnitError(f"cannot read '{text}' as an ISO 8601 duration (e.g. 'P30D', 'PT12H')")
        parts = {k: float(v) for k, v in m.groupdict().items() if v is not None}
        return (
            parts.get("w", 0.0) * 7 * SECONDS_PER_DAY
            + parts.get("d", 0.0) * SECONDS_PER_DAY
            + parts.get("h", 0.0) * SECONDS_PER_HOUR
            + parts.get("m", 0.0) * SECONDS_PER_MINUTE
            + parts.get("s", 0.0)
        )
    compact = s.replace(" ", "")
    if not compact:
        raise UnitError("empty duration; write e.g. '30d', '12h' or '45min'")
    pos = 0
    total = 0.0
    for m in _COMPOUND_PART_RE.finditer(compact):
        if m.start() != pos:
            break
        unit = m.group(2).lower()
        if unit not in _DURATION_S:
            raise UnitError(f"unknown time unit '{m.group(2)}' in '{text}' (use s, min, h, d, w or y, or ISO 8601)")
        total += float(m.group(1)) * _DURATION_S[unit]
        pos = m.end()
    if pos != len(compact):
        if re.fullmatch(_NUMBER, compact):
            raise UnitError(f"missing unit in '{text}': write durations like '30d', '12h' or '45min'")
        raise UnitError(f"cannot read '{text}' as a duration (e.g. '30d', '12h', '45min', 'P1DT2H')")
    return total


def parse_time_of_day_s(text: object) -> int:
    """``"07:00"`` or ``"07:30:15"`` -> seconds after midnight (0..86399)."""
    if not isinstance(text, str):
        raise UnitError(f"expected a time of day like '07:00', got {text!r}")
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*", text)
    if not m:
        raise UnitError(f"cannot read '{text}' as a time of day (HH:MM)")
    h, mi, se = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or se > 59:
        raise UnitError(f"'{text}' is not a valid time of day (00:00 to 23:59)")
    return h * SECONDS_PER_HOUR_INT + mi * SECONDS_PER_MINUTE_INT + se


def parse_datetime(text: object) -> datetime:
    """An ISO 8601 timestamp that must carry its UTC offset (``2026-01-05T08:00:00+01:00``)."""
    if isinstance(text, datetime):
        dt = text
    elif isinstance(text, str):
        try:
            dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UnitError(f"cannot read '{text}' as an ISO 8601 date-time") from None
    else:
        raise UnitError(f"expected an ISO 8601 date-time, got {text!r}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise UnitError(f"'{text}' has no UTC offset; write e.g. '2026-01-05T08:00:00+01:00'")
    return dt


def parse_utc_offset_s(text: object) -> int:
    """``"+01:00"`` -> 3600; ``"Z"`` or ``"UTC"`` -> 0."""
    if not isinstance(text, str):
        raise UnitError(f"expected a UTC offset like '+01:00', got {text!r}")
    s = text.strip()
    if s in ("Z", "UTC", "+00:00", "-00:00"):
        return 0
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", s)
    if not m:
        raise UnitError(f"cannot read '{text}' as a UTC offset (e.g. '+01:00')")
    secs = int(m.group(2)) * SECONDS_PER_HOUR_INT + int(m.group(3)) * SECONDS_PER_MINUTE_INT
    if secs > 14 * SECONDS_PER_HOUR_INT:
        raise UnitError(f"UTC offset '{text}' is outside -14:00..+14:00")
    return secs if m.group(1) == "+" else -secs


# ---- virtual time helpers ----------------------------------------------------------------------


def to_epoch_s(dt: datetime) -> float:
    """An aware datetime -> float seconds since the Unix epoch."""
    if dt.tzinfo is None:
        raise UnitError("date-time has no UTC offset")
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


def offset_of(dt: datetime) -> int:
    off = dt.utcoffset()
    assert off is not None
    return int(off.total_seconds())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def _fixed_tz(offset_s: int) -> timezone:
    return timezone(timedelta(seconds=offset_s))


def from_epoch_s(t_s: float, offset_s: int = 0) -> datetime:
    """Float epoch seconds -> aware datetime in the fixed offset (microsecond resolution)."""
    utc = _EPOCH + timedelta(seconds=round(t_s, 6))
    return utc.astimezone(_fixed_tz(offset_s))


def iso(t_s: float, offset_s: int = 0) -> str:
    """Float epoch seconds -> ISO 8601 text in the fixed offset, to the second (or finer if needed)."""
    dt = from_epoch_s(t_s, offset_s)
    spec = "seconds" if dt.microsecond == 0 else "milliseconds"
    return dt.isoformat(timespec=spec)


def local_date(t_s: float, offset_s: int) -> str:
    """The calendar date (YYYY-MM-DD) of an instant, read in a fixed UTC offset."""
    return from_epoch_s(t_s, offset_s).date().isoformat()


def start_of_local_day_s(t_s: float, offset_s: int) -> float:
    """The instant of the local midnight at or before ``t_s`` in a fixed UTC offset."""
    return math.floor((t_s + offset_s) / SECONDS_PER_DAY) * SECONDS_PER_DAY - offset_s


# ---- formatting ---------------------------------------------------------------------------------


def _g(value: float, digits: int = 4, grouping: bool = False) -> str:
    """``digits`` significant digits, never an exponent: ``0.25``, ``1.2``, ``54907`` (``54,907``
    with ``grouping``, for pages people read); rounding noise below 1e-9 reads as ``0``."""
    if value == 0 or abs(value) < 1e-9:
        return "0"
    if abs(value) >= 10**digits:
        return f"{value:,.0f}" if grouping else f"{value:.0f}"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:.{digits + 3}f}".rstrip("0").rstrip(".")
    return text


def fmt_volume(volume_ml: float) -> str:
    return f"{_g(volume_ml)} mL"


# The one dose formatter: every dose, bolus and concentration itdd shows (CLI, JSON summaries,
# report, clinic forms) goes through these three, in the unit clinicians prescribe the drug in
# (``unit="mcg"`` for ziconotide, fentanyl, sufentanil; see Drug.dose_unit).  ``digits``:
# significant digits (4 for reading; the clinic's form values use 6 so a saved value round-trips);
# ``grouping``: thousands separators (the report: a page people read, never parsed back).


def display_factor(unit: str) -> float:
    """Shown number per mg for a dose unit: 1000 for ``mcg``, 1 for ``mg`` (chart axes, the formatter)."""
    return 1000.0 if unit == "mcg" else 1.0


def fmt_amount(amount_mg: float, unit: str = "mg", digits: int = 4, grouping: bool = False) -> str:
    shown = amount_mg * display_factor(unit)
    return f"{_g(shown, digits, grouping)} {'mcg' if unit == 'mcg' else 'mg'}"


def fmt_dose_rate(dose_mg_per_day: float, unit: str = "mg", digits: int = 4, grouping: bool = False) -> str:
    return f"{fmt_amount(dose_mg_per_day, unit, digits, grouping)}/day"


def fmt_concentration(conc_mg_per_ml: float, unit: str = "mg", digits: int = 4, grouping: bool = False) -> str:
    return f"{fmt_amount(conc_mg_per_ml, unit, digits, grouping)}/mL"


def fmt_flow(flow_ml_per_day: float) -> str:
    return f"{_g(flow_ml_per_day)} mL/day"


def fmt_duration(duration_s: float) -> str:
    """Seconds -> compact text such as ``2d4h``, ``45min`` or ``90s``."""
    s = round(duration_s)
    if s == 0:
        return "0min"
    parts = []
    for unit, size in (
        ("d", SECONDS_PER_DAY_INT),
        ("h", SECONDS_PER_HOUR_INT),
        ("min", SECONDS_PER_MINUTE_INT),
        ("s", 1),
    ):
        q, s = divmod(s, size)
        if q:
            parts.append(f"{q}{unit}")
    return "".join(parts)


def unit_validator(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A schema validator (e.g. pydantic ``AfterValidator``) that keeps the text and checks it parses.

    A :class:`UnitError` becomes a ``ValueError`` with the same message, which schema libraries
    report against the field.
    """

    def validator(value: Any) -> Any:
        try:
            parse(value)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        return value

    return validator
