"""The top-level scenario: a pump scenario (:class:`itdd.sim.scenario.PumpScenario`) plus the
blocks of the layers above the simulator, a virtual ``patient`` and a care ``pathway``.

The published JSON Schema (``itdd schema``, ``docs/scenario.schema.json``) is generated from
:class:`Scenario` (:func:`itdd.scenario.loading.json_schema`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from ..care.plan import PathwayPlan, PatientSpec
from ..errors import InputError
from ..sim.scenario import PumpScenario


class Scenario(PumpScenario):
    """An itdd scenario: one implanted pump followed through virtual time."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="itdd scenario")

    patient: PatientSpec | None = Field(
        default=None,
        description="A virtual patient (itdd.care): followed along the pump scenario, or through the pathway.",
    )
    pathway: PathwayPlan | None = Field(
        default=None,
        description="Run the care pathway (screening, trial, implant, titration, follow-up) instead of a pump run.",
    )


# Top-level keys that belong to a pump scenario and make no sense with a pathway block.
_PUMP_ONLY_KEYS = ("duration", "pump", "therapy", "ptm", "events", "programmer")


def check_pathway_blocks(data: dict[str, Any]) -> None:
    for key in _PUMP_ONLY_KEYS:
        if key in data:
            raise InputError(key, "does not belong to a scenario with a 'pathway' block (the pathway plans it)")
    if data.get("patient") is None:
        raise InputError("patient", "a scenario with a 'pathway' block needs a 'patient' block")
