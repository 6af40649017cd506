"""Detection that behaves like a clinic: a dose need that keeps rising is worked up even when
titration keeps the pain controlled (issue 10).

A catheter leak or a granuloma at the tip takes part of the drug away from the cord; the clinician
who titrates to the patient's response raises the dose and the pain stays controlled, so neither
the refill (the reservoir empties as programmed) nor the pain shows the problem.  What a clinic
sees is the dose: PACC (Deer 2012, granuloma consensus, Neuromodulation 15:483) advises suspecting
a catheter-tip mass or a catheter problem when the dose requirement rises quickly or the drug loses
its effect, and imaging the catheter (a dye study, CT myelogram or MRI) [S2].  No published rate of
detection of leaks was found; the rule's numbers are assumptions [U] and docs/cohort.md
("Detection") reports what it finds.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...patient.parameters import U
from ...timeunits import SECONDS_PER_MONTH
from .decisions import Decision

__all__ = ["RAPID_ESCALATION_FACTOR", "RAPID_ESCALATION_MONTHS", "dose_months_ago", "rapid_escalation"]

RAPID_ESCALATION_FACTOR = U(2.0, "assumption: the dose need doubled (a 50% leak doubles it)")
RAPID_ESCALATION_MONTHS = U(6.0, "assumption: within 6 months (tolerance alone: Roberts 2001 +53% in 30 months)")
SETTLED_AFTER_MONTHS = U(6.0, "assumption: the first titration (from a 0.25-0.5 mg/day start) is not escalation")


def dose_months_ago(dose_steps: Sequence[tuple[float, float]], now_s: float, months: float) -> float | None:
    """The programmed dose ``months`` before ``now_s`` from the (time, dose) steps, or None before the first."""
    at = now_s - months * SECONDS_PER_MONTH
    dose = None
    for t, d in dose_steps:
        if t > at:
            break
        dose = d
    return dose


def rapid_escalation(
    *,
    dose_mg_per_day: float,
    dose_months_ago_mg_per_day: float | None,
    since_implant_s: float,
    recent_negative_workup: bool,
    workup_booked: bool,
) -> Decision:
    """``workup`` (catheter study and imaging) when the dose is at least twice what it was 6 months
    ago, past the first titration and with no work-up recent or booked; else ``continue``."""
    if (
        dose_months_ago_mg_per_day is not None
        and dose_months_ago_mg_per_day > 0
        and since_implant_s >= (SETTLED_AFTER_MONTHS.value + RAPID_ESCALATION_MONTHS.value) * SECONDS_PER_MONTH
        and dose_mg_per_day >= RAPID_ESCALATION_FACTOR.value * dose_months_ago_mg_per_day
        and not recent_negative_workup
        and not workup_booked
    ):
        ratio = dose_mg_per_day / dose_months_ago_mg_per_day
        return Decision(
            "workup",
            f"dose x{ratio:.1f} in {RAPID_ESCALATION_MONTHS.value:.0f} months: image the catheter",
            trigger="rapid dose escalation",
        )
    return Decision("continue", "no rapid dose escalation")
