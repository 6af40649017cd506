"""Range checks the pump applies to every programmable value, whoever sends it.

The clinician programmer and the drug guardrails refuse unsafe values long before they reach the
implant, but the implant cannot trust its sender: an authenticated programmer with a bug, a
corrupted-but-valid command, or a fuzzer must not be able to store a negative lockout or a NaN
dose.  So the pump re-checks each value it stores against the table below (rule
``programmable_value_range`` in :mod:`itdd.pump.rules`).  A value outside its range is refused
with a :class:`~itdd.errors.SafetyRefusal` naming the field and the range; nothing changes.

All bounds are assumptions (the manufacturer's ranges are not public, clinical-facts.md [U]);
they are wide on purpose — clinical limits live in the drug library — and only exclude values no
pump could hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SafetyRefusal
from ..timeunits import SECONDS_PER_DAY

if TYPE_CHECKING:
    from .firmware import PtmSettings

DAY_S = SECONDS_PER_DAY


@dataclass(frozen=True)
class ValueRange:
    field: str
    low: float
    high: float | None  # None: no fixed upper bound here (another rule bounds it, e.g. capacity)
    low_inclusive: bool
    unit: str
    why: str


# Every bound is an assumption (see the module docstring).
RANGES: dict[str, ValueRange] = {
    r.field: r
    for r in (
        ValueRange("low_reservoir_alarm", 0.0, None, True, "mL", "a volume; at most the reservoir capacity"),
        ValueRange("ptm.dose", 0.0, 10_000.0, False, "mg", "a bolus must carry drug; a full reservoir holds less"),
        ValueRange("ptm.duration", 0.0, DAY_S, False, "s", "a bolus lasts more than 0 s and at most a day"),
        ValueRange("ptm.lockout", 0.0, DAY_S, True, "s", "a lockout of at most a day"),
        ValueRange("ptm.max_per_day", 0.0, 96.0, True, "boluses", "at most one per 15 minutes"),
        ValueRange(
            "ptm.max_daily_dose", 0.0, 10_000.0, False, "mg", "more than 0; a full reservoir holds less than the top"
        ),
        ValueRange("refill.fill", 0.0, None, True, "mL", "a volume; at most the reservoir capacity"),
        ValueRange("refill.withdraw", 0.0, None, True, "mL", "a volume"),
        ValueRange("refill.reservoir", 0.0, None, True, "mL", "a volume; at most the reservoir capacity"),
        ValueRange("refill.concentration", 0.0, None, True, "mg/mL", "0 is saline"),
        ValueRange("clinician_bolus.dose", 0.0, None, False, "mg", "a bolus must carry drug"),
        ValueRange("clinician_bolus.duration", 0.0, None, False, "s", "more than 0 s"),
        ValueRange("pump_time", 0.0, None, True, "s since 1970 UTC", "an instant"),
        ValueRange("clock_error", -31 * DAY_S, 31 * DAY_S, True, "s", "pump clock minus programmer time"),
        ValueRange("clock_drift", -1000.0, 1000.0, True, "ppm", "a watch crystal drifts tens of ppm"),
        ValueRange("priming_bolus.volume", 0.0, None, False, "mL", "more than 0"),
        ValueRange("priming_bolus.rate", 0.0, None, False, "mL/day", "more than 0; at most the pump's maximum rate"),
        ValueRange("therapy.dose", 0.0, None, True, "mg/day", "a dose rate"),
    )
}


def _fmt(x: float) -> str:
    return f"{x:g}"


def check_range(field: str, value: float, *, key: str | None = None, high: float | None = None) -> float:
    """Return ``value`` as a float, or refuse it naming ``field`` and the range of ``key``."""
    r = RANGES[key or field]
    hi = r.high if high is None else high if r.high is None else min(r.high, high)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SafetyRefusal(field, f"{value!r} is not a number", rule="programmable_value_range") from None
    if not math.isfinite(x):
        raise SafetyRefusal(field, f"{value!r} is not a finite number", rule="programmable_value_range")
    too_low = x < r.low if r.low_inclusive else x <= r.low
    if too_low or (hi is not None and x > hi):
        lo_txt = ("≥ " if r.low_inclusive else "> ") + _fmt(r.low)
        rng = lo_txt + ("" if hi is None else f" and ≤ {_fmt(hi)}")
        raise SafetyRefusal(
            field,
            f"{_fmt(x)} {r.unit} is outside the pump's range ({rng} {r.unit}: {r.why})",
            "programmable_value_range",
        )
    return x


def check_ptm(ptm: PtmSettings | None) -> None:
    """Refuse patient-bolus settings with any value outside its range (``None`` is allowed: no PTM)."""
    if ptm is None:
        return
    check_range("ptm.dose", ptm.dose_mg)
    check_range("ptm.duration", ptm.duration_s)
    check_range("ptm.lockout", ptm.lockout_s)
    count = ptm.max_per_day
    if isinstance(count, bool) or not isinstance(count, int | float) or float(count) != int(count):
        raise SafetyRefusal("ptm.max_per_day", f"{count!r} is not a whole number", rule="programmable_value_range")
    check_range("ptm.max_per_day", float(count))
    if ptm.max_daily_dose_mg is not None:
        check_range("ptm.max_daily_dose", ptm.max_daily_dose_mg)


__all__ = ["RANGES", "ValueRange", "check_ptm", "check_range"]
