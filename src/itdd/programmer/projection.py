"""Reservoir projection: when the estimated reservoir reaches a level, integrated exactly.

The pump's reservoir estimate falls at the commanded rate, which is piecewise constant: a bolus
that replaces the basal (e.g. the bridge bolus right after a refill), then the day cycle of the
programmed therapy (read in the pump's clock and fixed UTC offset), plus, for the worst case, the
patient boluses spread as a constant extra rate.  Between two step boundaries the level falls
linearly, so the crossing time is solved exactly in the segment where it happens; no time step.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import quantities as q
from ..pump.therapy import Therapy

DAY_S = q.SECONDS_PER_DAY
DEFAULT_HORIZON_S = 3 * 365 * DAY_S  # assumption: a projection further than 3 years is "not foreseeable"


@dataclass(frozen=True)
class Lead:
    """A first segment that replaces the basal (a running bolus): until ``end_s`` at this rate."""

    end_s: float
    rate_ml_per_day: float


def time_to_level(
    *,
    t_s: float,
    volume_ml: float,
    level_ml: float,
    therapy: Therapy,
    conc_mg_per_ml: float,
    offset_s: int,
    clock_error_s: float = 0.0,
    extra_ml_per_day: float = 0.0,
    lead: Lead | None = None,
    horizon_s: float = DEFAULT_HORIZON_S,
) -> float | None:
    """The instant the estimate reaches ``level_ml``, or ``None`` if not within the horizon."""
    remaining = volume_ml - level_ml
    if remaining <= 0:
        return t_s
    end = t_s + horizon_s
    t = t_s
    running = therapy.running and conc_mg_per_ml > 0
    while t < end:
        if lead is not None and t < lead.end_s:
            rate = lead.rate_ml_per_day + extra_ml_per_day
            seg_end = min(lead.end_s, end)
        elif running:
            tod = (t + clock_error_s + offset_s) % DAY_S
            idx = therapy.step_index_at(tod)
            rate = therapy.steps[idx].dose_mg_per_day / conc_mg_per_ml + extra_ml_per_day
            seg_end = end if len(therapy.steps) == 1 else min(t + therapy.seconds_to_next_step(idx, tod), end)
        else:
            rate = extra_ml_per_day
            seg_end = end
        if rate > 0:
            need_s = remaining / rate * DAY_S
            if t + need_s <= seg_end:
                return t + need_s
            remaining -= rate * (seg_end - t) / DAY_S
        t = seg_end
    return None


def bridge_lead(
    *,
    t_s: float,
    therapy: Therapy,
    offset_s: int,
    clock_error_s: float,
    old_conc_mg_per_ml: float,
    path_volume_ml: float,
    min_rate_ml_per_day: float,
    max_rate_ml_per_day: float,
) -> Lead | None:
    """The bridge bolus the pump runs after a concentration change (same law as the firmware):
    the fluid path's old drug pushed at the basal dose rate computed with the old concentration."""
    if not therapy.running or old_conc_mg_per_ml <= 0 or path_volume_ml <= 0:
        return None
    tod = (t_s + clock_error_s + offset_s) % DAY_S
    mg_per_day = therapy.steps[therapy.step_index_at(tod)].dose_mg_per_day
    rate = min(max(mg_per_day / old_conc_mg_per_ml, min_rate_ml_per_day), max_rate_ml_per_day)
    return Lead(t_s + path_volume_ml / rate * DAY_S, rate)
