"""Range checks at the scenario's entry: every pump value the scenario sets is held to the same
ranges as the programmer's commands (:mod:`itdd.pump.limits`), and a refusal shows the value as
it was written.

The pump re-checks these values itself (Firmware), so nothing can slip through; this layer only
makes the message a user can act on: ``pump.clock_drift: '1000000 ppm' is outside ...``.
"""

from __future__ import annotations

from typing import Any

from .. import quantities as q
from ..errors import ItddError, SafetyRefusal
from ..pump.limits import RANGES, ValueRange, check_range
from ..pump.models import PumpModel
from ..timeunits import SECONDS_PER_YEAR
from .values import number

YEAR_S = SECONDS_PER_YEAR
MAX_SCENARIO_YEARS = 50.0  # assumption: ten pump lifetimes; longer runs are a typo, not a plan

# Values a scenario sets that the pump tables do not cover (assumptions, documented in
# docs/scenarios.md): a catheter is tens of centimetres and holds microlitres per centimetre.
SCENARIO_RANGES: dict[str, ValueRange] = {
    r.field: r
    for r in (
        ValueRange("catheter.length", 0.0, 300.0, False, "cm", "an intrathecal catheter is at most a few metres"),
        ValueRange("catheter.volume_per_cm", 0.0, 0.1, False, "mL/cm", "a catheter lumen holds microlitres per cm"),
        ValueRange("flow_accuracy_sd", 0.0, 0.5, True, "", "a spread of at most 50%"),
    )
}


def as_written(field: str, text: str, key: str, high: float | None = None, value: float | None = None) -> float:
    """Range-check the number a scenario value carries (``value`` if given, else the
    :class:`~itdd.sim.scenario.Written` text's); a refusal names ``field`` and repeats ``text`` as written."""
    value = number(text) if value is None else value
    try:
        if key in SCENARIO_RANGES:
            r = SCENARIO_RANGES[key]
            too_low = value < r.low if r.low_inclusive else value <= r.low
            if too_low or (r.high is not None and value > r.high) or value != value:
                lo = ("≥ " if r.low_inclusive else "> ") + f"{r.low:g}"
                raise SafetyRefusal(
                    field,
                    f"{value:g} {r.unit} is outside the range ({lo} and ≤ {r.high:g} {r.unit}: {r.why})",
                    "programmable_value_range",
                )
            return value
        return check_range(field, value, key=key, high=high)
    except ItddError as exc:
        raise SafetyRefusal(field, f"{text!r}: {exc.message}", "programmable_value_range") from None


def check_duration(text: str) -> float:
    duration_s = number(text)
    if duration_s > MAX_SCENARIO_YEARS * YEAR_S:
        raise SafetyRefusal(
            "duration",
            f"{text!r} is longer than {MAX_SCENARIO_YEARS:g} years, the longest scenario itdd runs",
            "programmable_value_range",
        )
    return duration_s


def check_ptm_block(spec: Any, field: str = "ptm") -> None:
    """The scenario's ``ptm`` block (initial or ``set_ptm``) against the pump's PTM ranges."""
    if spec is None:
        return
    as_written(f"{field}.dose", spec.dose, "ptm.dose")
    as_written(f"{field}.duration", spec.duration, "ptm.duration")
    as_written(f"{field}.lockout", spec.lockout, "ptm.lockout")
    if spec.max_daily_dose is not None:
        as_written(f"{field}.max_daily_dose", spec.max_daily_dose, "ptm.max_daily_dose")


def check_ptm_rate(spec: Any, conc_mg_per_ml: float, model: PumpModel, field: str = "ptm") -> None:
    """A patient bolus must be deliverable: its rate on top of nothing stays within the pump's maximum."""
    if spec is None or conc_mg_per_ml <= 0:
        return
    dose = spec.dose_mg
    duration_s = spec.duration_s
    rate = dose / conc_mg_per_ml / duration_s * q.SECONDS_PER_DAY
    if rate > model.max_rate_ml_per_day:
        raise SafetyRefusal(
            f"{field}.dose",
            f"{spec.dose!r} over {spec.duration!r} at {conc_mg_per_ml:g} mg/mL needs {rate:.3g} mL/day, above the "
            f"pump's maximum rate {q.fmt_flow(model.max_rate_ml_per_day)}",
            "max_rate",
        )


def check_pump_block(p: Any) -> None:
    """The ``pump`` block's clock and catheter values."""
    as_written("pump.clock_error", p.clock_error, "clock_error")
    as_written("pump.clock_drift", p.clock_drift, "clock_drift")
    as_written("pump.catheter.length", p.catheter.length, "catheter.length")
    as_written("pump.catheter.volume_per_cm", p.catheter.volume_per_cm, "catheter.volume_per_cm")
    if p.flow_accuracy_sd is not None:
        as_written("pump.flow_accuracy_sd", p.flow_accuracy_sd, "flow_accuracy_sd")


__all__ = ["RANGES", "as_written", "check_duration", "check_ptm_block", "check_ptm_rate", "check_pump_block"]
