"""Plausible ranges for what the clinic stores, checked on the way in (API bodies and forms alike).

Each check is a pure function of the value (and the clinic's instant or the pump's capacity) that returns
nothing or raises the clinic error naming the field and the limit; nothing is stored when it raises.  Doses and
therapy settings are not here: the pump's firmware and the programmer's guardrails own them (hard limits refuse,
soft limits need a confirmation), and their refusals are audited.  The ranges are assumptions, written in
docs/clinic.md.
"""

from __future__ import annotations

import math

from ..quantities import SECONDS_PER_DAY
from .problems import Invalid, Refused

APPOINTMENT_PAST_DAYS = 365.0  # assumption: an appointment may be entered up to a year after it happened
APPOINTMENT_FUTURE_DAYS = 5 * 365.0  # assumption: nobody books a pump-clinic visit more than five years ahead
ORAL_MME_MAX_MG_PER_DAY = 10_000.0  # assumption: above any reported oral morphine-equivalent use
WITHDRAWN_MARGIN_FRACTION = 0.10  # assumption: a syringe reading may exceed the reservoir's capacity by 10 %


def check_appointment_t(t_s: float, now_s: float) -> None:
    """An appointment lies within a year before and five years after the clinic's instant."""
    lo = now_s - APPOINTMENT_PAST_DAYS * SECONDS_PER_DAY
    hi = now_s + APPOINTMENT_FUTURE_DAYS * SECONDS_PER_DAY
    if not (math.isfinite(t_s) and lo <= t_s <= hi):
        raise Invalid(
            f"an appointment must lie between {APPOINTMENT_PAST_DAYS:g} days before and "
            f"{APPOINTMENT_FUTURE_DAYS:g} days after the clinic's current time",
            field="at",
        )


def check_oral_mme(mg_per_day: float) -> None:
    if not (math.isfinite(mg_per_day) and 0.0 <= mg_per_day <= ORAL_MME_MAX_MG_PER_DAY):
        raise Invalid(
            f"oral opioid use must lie between 0 and {ORAL_MME_MAX_MG_PER_DAY:g} mg/day (oral morphine equivalents)",
            field="oral_opioid",
        )


def max_withdrawn_ml(capacity_ml: float) -> float:
    return capacity_ml * (1.0 + WITHDRAWN_MARGIN_FRACTION)


def check_withdrawn(withdrawn_ml: float, capacity_ml: float) -> None:
    """What the syringe shows cannot exceed what the reservoir holds (plus a margin for the reading)."""
    limit = max_withdrawn_ml(capacity_ml)
    if not (math.isfinite(withdrawn_ml) and 0.0 <= withdrawn_ml <= limit + 1e-9):
        raise Refused(
            f"{withdrawn_ml:g} mL cannot have come out of a {capacity_ml:g} mL reservoir "
            f"(at most {limit:g} mL: capacity + {WITHDRAWN_MARGIN_FRACTION:.0%}); check the syringe reading",
            field="withdrawn",
            extra={"rule": "withdrawn_within_capacity"},
        )
