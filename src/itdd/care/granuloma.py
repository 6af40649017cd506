"""A granuloma is a mass, not only a leak (issue 10).

An inflammatory mass at the catheter tip first blocks part of the drug (the pump twin models it as
a 50% leak: the dose need rises, which titration can hide: care/hazards.py), then grows until it
presses on the cord or roots: new radicular pain and neurological signs.  The care team finds it
either earlier, by MRI when the dose keeps rising without benefit (the escalation work-up in
care/pathway.py), or when the signs appear (urgent MRI).  Management (PACC granuloma consensus,
Deer 2012): without neurological deficit, stop the opioid at that tip (catheter pulled back or
replaced) and a lower concentration from then on; with a deficit, surgical removal.  :func:`manage_granuloma` is the
pure decision; the pathway carries it out as a catheter revision (a re-operation).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..patient.parameters import U
from ..timeunits import SECONDS_PER_DAY

__all__ = ["GRANULOMA_SIGNS_MEAN_S", "GranulomaDecision", "lower_concentration", "manage_granuloma"]

DAY_S = SECONDS_PER_DAY

GRANULOMA_SIGNS_MEAN_DAYS = U(
    180.0,
    "assumption: months from a mass that blocks drug to one that causes signs (no published interval found; "
    "Deer 2004 found 3% on surveillance MRI before any sign)",
)
GRANULOMA_SIGNS_MEAN_S = GRANULOMA_SIGNS_MEAN_DAYS.value * DAY_S


#: After a granuloma the concentration is at most half the one that was infused (PACC granuloma
#: consensus, Deer 2012: lower the opioid concentration and dose; the risk rises with both [S2];
#: "half" is an assumption [U]), chosen from the concentrations the pharmacy supplies.
CONCENTRATION_FACTOR_AFTER = U(0.5, "assumption: half the concentration in use when the mass was found")


@dataclass(frozen=True)
class GranulomaDecision:
    action: str  # "surgical_removal", "revise_catheter"
    reason: str
    max_conc_mg_per_ml: float | None = None  # the highest concentration used from now on (None: unchanged)


def lower_concentration(conc_mg_per_ml: float, supplied: tuple[float, ...]) -> float:
    """The highest supplied concentration at most half of ``conc_mg_per_ml`` (the lowest supplied if none)."""
    limit = CONCENTRATION_FACTOR_AFTER.value * conc_mg_per_ml
    below = [c for c in supplied if c <= limit + 1e-9]
    return max(below) if below else min(supplied)


def manage_granuloma(
    *,
    neurological_signs: bool,
    dose_mg_per_day: float,
    conc_mg_per_ml: float | None = None,
    supplied_mg_per_ml: tuple[float, ...] = (),
) -> GranulomaDecision:
    """What the team does with a granuloma found at MRI: remove it surgically with a deficit,
    otherwise revise the catheter; in both cases a lower concentration from now on when the one in
    use (``conc_mg_per_ml``) and the supplied ones are given."""
    cap = (
        lower_concentration(conc_mg_per_ml, supplied_mg_per_ml)
        if conc_mg_per_ml is not None and conc_mg_per_ml > 0 and supplied_mg_per_ml
        else None
    )
    lower = f"; concentration lowered from {conc_mg_per_ml:g} to at most {cap:g} mg/mL" if cap is not None else ""
    if neurological_signs:
        return GranulomaDecision(
            "surgical_removal",
            f"neurological deficit: surgical removal of the mass and a new catheter (at {dose_mg_per_day:.2f} mg/day)"
            + lower,
            cap,
        )
    return GranulomaDecision(
        "revise_catheter",
        "no deficit: opioid stopped at that tip; catheter pulled back or replaced, infusion resumed at the new tip"
        + lower,
        cap,
    )
