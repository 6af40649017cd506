"""A granuloma is a mass, not only a leak (issue 10).

An inflammatory mass at the catheter tip first blocks part of the drug (the pump twin models it as
a 50% leak: the dose need rises, which titration can hide: care/hazards.py), then grows until it
presses on the cord or roots: new radicular pain and neurological signs.  The care team finds it
either earlier, by MRI when the dose keeps rising without benefit (the escalation work-up in
care/pathway.py), or when the signs appear (urgent MRI).  Management (PACC granuloma consensus,
Deer 2012): without neurological deficit, stop the opioid at that tip (catheter pulled back or
replaced, lower concentration); with a deficit, surgical removal.  :func:`manage_granuloma` is the
pure decision; the pathway carries it out as a catheter revision (a re-operation).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..patient.parameters import U
from ..timeunits import SECONDS_PER_DAY

__all__ = ["GRANULOMA_SIGNS_MEAN_S", "GranulomaDecision", "manage_granuloma"]

DAY_S = SECONDS_PER_DAY

GRANULOMA_SIGNS_MEAN_DAYS = U(
    180.0,
    "assumption: months from a mass that blocks drug to one that causes signs (no published interval found; "
    "Deer 2004 found 3% on surveillance MRI before any sign)",
)
GRANULOMA_SIGNS_MEAN_S = GRANULOMA_SIGNS_MEAN_DAYS.value * DAY_S


@dataclass(frozen=True)
class GranulomaDecision:
    action: str  # "surgical_removal", "revise_catheter"
    reason: str


def manage_granuloma(*, neurological_signs: bool, dose_mg_per_day: float) -> GranulomaDecision:
    """What the team does with a granuloma found at MRI."""
    if neurological_signs:
        return GranulomaDecision(
            "surgical_removal",
            f"neurological deficit: surgical removal of the mass and a new catheter (at {dose_mg_per_day:.2f} mg/day)",
        )
    return GranulomaDecision(
        "revise_catheter",
        "no deficit: opioid stopped at that tip; catheter pulled back or replaced, infusion resumed at the new tip",
    )
