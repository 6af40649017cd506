"""Patient-activated boluses (patient therapy manager): the settings and the pure grant decision.

:func:`decide_ptm` is the pump's safety decision for a patient's bolus request: it reads only its
arguments and returns a :class:`PtmDecision` with the reason (``not_enabled``,
``pump_not_infusing``, ``lockout``, ``daily_limit``, ``max_dose``) and a message a patient can
read.  The firmware (:mod:`itdd.pump.firmware`) keeps the state — the grant history, the running
bolus — and acts on the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .therapy import DAY_S


@dataclass(slots=True)
class PtmSettings:
    """Patient-activated bolus settings (patient therapy manager)."""

    dose_mg: float
    duration_s: float
    lockout_s: float
    max_per_day: int
    max_daily_dose_mg: float | None = None  # predictive 24 h maximum, basal + boluses
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "dose_mg": self.dose_mg,
            "duration_s": self.duration_s,
            "lockout_s": self.lockout_s,
            "max_per_day": self.max_per_day,
            "max_daily_dose_mg": self.max_daily_dose_mg,
        }


@dataclass(slots=True)
class PtmDecision:
    granted: bool
    reason: str | None
    time_s: float
    next_allowed_s: float | None
    boluses_left_24h: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "granted": self.granted,
            "reason": self.reason,
            "next_allowed_s": self.next_allowed_s,
            "boluses_left_24h": self.boluses_left_24h,
            "message": self.message,
        }


def decide_ptm(
    p: PtmSettings | None,
    *,
    t_s: float,
    state: str,
    therapy_running: bool,
    grants: Sequence[float],
    running_end_s: float | None,
    delivered_mg_between: Callable[[float, float], float],
    planned_basal_mg: Callable[[float, float], float],
    upper_bound_mg: Callable[[float, float, float], float | None] | None = None,
) -> PtmDecision:
    """Grant or deny one patient bolus request at ``t_s``.

    ``grants``: the grant instants of the last 24 h, oldest first; ``running_end_s``: the end of a
    patient bolus still running (None: none); ``delivered_mg_between(a, b)`` and
    ``planned_basal_mg(t, until)``: the firmware's read-only record of what it delivered and will
    deliver (used only for the predictive 24 h maximum); ``upper_bound_mg(a, t, until)``: a
    number no smaller than ``delivered_mg_between(a, t) + planned_basal_mg(t, until)``, or None
    (``Firmware.ptm_upper_bound_mg``): a bolus whose bound plus its dose is within the maximum is
    within it by the exact sums too (rounding is monotone), and is granted without them.
    """
    if p is None or not p.enabled:
        return PtmDecision(False, "not_enabled", t_s, None, None, "patient boluses are not enabled on this pump")
    left = p.max_per_day - len(grants)
    if left < 0:  # max(left, 0) without the call: ~1,460 requests a pump-year of workload (b)
        left = 0
    if not therapy_running and state != "motor_stalled" and state != "end_of_service":
        # a clinician bolus on a stopped pump does not make it infusing: a patient bolus would
        # outlast it and pump while the therapy is stopped (found by the stateful soak)
        state = "stopped"
    if state not in ("infusing", "clinician_bolus", "bridge_bolus"):
        return PtmDecision(
            False,
            "pump_not_infusing",
            t_s,
            None,
            left,
            f"the pump is not infusing (state: {state.replace('_', ' ')})",
        )
    last = grants[-1] if grants else None
    if running_end_s is not None or (last is not None and t_s - last < p.lockout_s):
        # the next request can be granted once the lockout has passed AND the running
        # bolus has ended (a bolus longer than its lockout): never an instant in the past
        nxt = last + p.lockout_s if last is not None else t_s
        end_s = running_end_s if running_end_s is not None else t_s
        if end_s > nxt:  # max(nxt, end_s) without the call: the same value (the first if equal)
            nxt = end_s
        return PtmDecision(False, "lockout", t_s, nxt, left, "lockout: the last patient bolus was too recent")
    if len(grants) >= p.max_per_day:
        nxt = grants[len(grants) - p.max_per_day] + DAY_S
        return PtmDecision(
            False,
            "daily_limit",
            t_s,
            nxt,
            0,
            f"daily limit: {p.max_per_day} patient boluses in the last 24 h",
        )
    limit = p.max_daily_dose_mg
    if limit is not None:
        end = t_s + p.duration_s
        bound = None if upper_bound_mg is None else upper_bound_mg(end - DAY_S, t_s, end)
        if bound is None or not bound + p.dose_mg <= limit:  # (not within by the bound: the exact sums)
            past = delivered_mg_between(end - DAY_S, t_s)
            ahead = planned_basal_mg(t_s, end)
            total = past + ahead + p.dose_mg
            if total > limit + 1e-12:
                return PtmDecision(
                    False,
                    "max_dose",
                    t_s,
                    None,
                    left,
                    f"maximum dose: {total:.4g} mg in 24 h (delivered {past:.4g} + basal during "
                    f"bolus {ahead:.4g} + bolus {p.dose_mg:.4g}) would exceed {limit:.4g} mg",
                )
    return PtmDecision(True, None, t_s, t_s + max(p.lockout_s, p.duration_s), left - 1, "bolus granted")
