"""The refill's arithmetic, pure and hand-checkable: the volume discrepancy and the next refill date.

Numbers in, a decision with its reasons out (:class:`Discrepancy`, :class:`RefillSchedule`); no
pump, no link, no text parsing.  The workflow (:mod:`itdd.programmer.refill`) reads the pump and
calls these.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import quantities as q
from ..drugs import Drug, device_limits
from ..drugs.guardrails import ptm_boluses_per_day
from ..pump.ptm import PtmSettings
from ..pump.therapy import Therapy
from .projection import Lead, time_to_level

DAY_S = q.SECONDS_PER_DAY

CAUSES_LESS_WITHDRAWN = (
    "over-infusion: the pump delivered more than programmed",
    "leak into the pump pocket (e.g. part of a previous refill injected into the pocket, or a leaking refill port)",
)
CAUSES_MORE_WITHDRAWN = (
    "under-delivery: the pump delivered less than programmed (e.g. a motor stall, as after an MRI)",
    "catheter occlusion (kink, granuloma at the tip, blocked catheter)",
)


@dataclass(frozen=True)
class Discrepancy:
    expected_ml: float
    withdrawn_ml: float
    discrepancy_ml: float  # withdrawn - expected
    threshold_ml: float
    delivered_expected_ml: float | None  # what the pump believes it delivered since the last fill
    accuracy_error: float | None  # (actual - expected delivery) / expected delivery
    accuracy_spec: float
    flag: bool
    reasons: tuple[str, ...]
    likely_causes: tuple[str, ...]


def assess_discrepancy(
    expected_ml: float,
    withdrawn_ml: float,
    threshold_ml: float,
    accuracy_spec: float,
    previous_reservoir_ml: float | None,
) -> Discrepancy:
    disc = withdrawn_ml - expected_ml
    reasons: list[str] = []
    if abs(disc) > threshold_ml + 1e-9:
        reasons.append(f"discrepancy {disc:+.2f} mL is beyond the {threshold_ml:g} mL threshold")
    delivered = err = None
    if previous_reservoir_ml is not None:
        delivered = previous_reservoir_ml - expected_ml
        if delivered > 1e-9:
            err = -disc / delivered  # actual delivered = previous - withdrawn
            if abs(err) > accuracy_spec + 1e-12:
                reasons.append(
                    f"delivery {err * 100:+.1f}% off the expected {delivered:.2f} mL is outside the "
                    f"+/-{accuracy_spec * 100:g}% flow-accuracy specification"
                )
    flag = bool(reasons)
    causes: tuple[str, ...] = ()
    if flag:
        causes = CAUSES_LESS_WITHDRAWN if disc < 0 else CAUSES_MORE_WITHDRAWN
    return Discrepancy(
        expected_ml, withdrawn_ml, disc, threshold_ml, delivered, err, accuracy_spec, flag, tuple(reasons), causes
    )


@dataclass(frozen=True)
class RefillSchedule:
    next_refill_s: float
    next_refill_reason: str  # low_reservoir_all_boluses | drug_stability | max_refill_interval | pump_end_of_service
    low_reservoir_alarm_s: float | None  # programmed therapy alone
    low_reservoir_all_boluses_s: float | None
    stability_limit_s: float
    max_interval_s: float
    ptm_boluses_per_day: int
    ptm_ml_per_day: float


def schedule_refill(
    *,
    t_s: float,
    estimate_ml: float,
    low_reservoir_ml: float,
    therapy: Therapy,
    conc_mg_per_ml: float,
    offset_s: int,
    ptm: PtmSettings | None,
    drug: Drug,
    clock_error_s: float = 0.0,
    lead: Lead | None = None,
    end_of_service_s: float | None = None,
) -> RefillSchedule:
    """Next refill date and low-reservoir alarm date after a refill (or at any time).

    ``end_of_service_s`` (reached or projected from the battery): a pump stops for good then, so no
    refill is scheduled after it; the date becomes the pump's replacement deadline
    (reason ``pump_end_of_service``).
    """
    n = 0
    extra = 0.0
    if ptm is not None and ptm.enabled and conc_mg_per_ml > 0:
        n = ptm_boluses_per_day(ptm, therapy.daily_dose_mg())
        extra = n * ptm.dose_mg / conc_mg_per_ml
    common = {
        "t_s": t_s,
        "volume_ml": estimate_ml,
        "level_ml": low_reservoir_ml,
        "therapy": therapy,
        "conc_mg_per_ml": conc_mg_per_ml,
        "offset_s": offset_s,
        "clock_error_s": clock_error_s,
        "lead": lead,
    }
    alarm = time_to_level(**common)  # type: ignore[arg-type]
    worst = time_to_level(**common, extra_ml_per_day=extra) if extra > 0 else alarm  # type: ignore[arg-type]
    stability = drug.stability_for(conc_mg_per_ml)
    stab_s = t_s + (stability.value if stability else 180.0) * DAY_S
    max_s = t_s + device_limits().max_refill_interval.value
    candidates = [(stab_s, "drug_stability"), (max_s, "max_refill_interval")]
    if worst is not None:
        candidates.insert(0, (worst, "low_reservoir_all_boluses"))
    if end_of_service_s is not None:
        candidates.append((max(end_of_service_s, t_s), "pump_end_of_service"))
    nxt, why = min(candidates, key=lambda c: c[0])
    return RefillSchedule(nxt, why, alarm, worst, stab_s, max_s, n, extra)
