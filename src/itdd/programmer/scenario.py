"""Scenario integration: a scenario ``refill`` event goes through the refill workflow.

The simulator's runner (:mod:`itdd.sim.runner`, a layer above) turns every ``refill`` event of a
scenario into a :class:`~itdd.programmer.refill.RefillRequest` and the scenario's ``programmer``
block into :class:`~itdd.programmer.refill.RefillSettings`, and calls :func:`scenario_refill`; the
returned row lands in the result's ``refills`` list.  By default the guardrails *report* (a
scenario replays what a clinician did, mistakes included, and the row lists every finding); with
``guardrails: enforce`` a refill the programmer would refuse stops the run with the refusal.
"""

from __future__ import annotations

from typing import Any

from ..pump.implant import Implant
from ..telemetry.commands import DirectLink
from .refill import RefillRequest, RefillSettings, refill, verify_record
from .session import Session


def scenario_refill(
    implant: Implant,
    req: RefillRequest,
    *,
    clinician: str,
    verifier: str | None,
    settings: RefillSettings,
    previous_reservoir_ml: float,
) -> dict[str, Any]:
    """Refill ``implant`` through the programmer (and the verifier's check, if any); the row."""
    rec = refill(
        Session(DirectLink(implant)),
        req,
        clinician=clinician,
        settings=settings,
        previous_reservoir=previous_reservoir_ml,
    ).to_dict()
    if verifier:
        rec = verify_record(
            rec,
            verifier,
            drug=rec["drug"],
            conc_mg_per_ml=rec["concentration_mg_per_ml"],
            filled_ml=rec["filled_ml"],
            reservoir_ml=rec["reservoir_ml_entered"],
        )
    rec.pop("link_notes", None)
    return rec
