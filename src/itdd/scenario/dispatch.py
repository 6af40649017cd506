"""Running a scenario: a pump-only scenario goes to the simulator; a ``pathway`` block to the care
pathway; a ``patient`` block without a pathway adds the patient, following the pump's exact record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..sim.result import RunTrace
from ..sim.runner import Run, run_pump_scenario
from .model import Scenario
from .pathway import patient_section, run_pathway_scenario


def run_scenario(
    scn: Scenario, progress: Callable[[float], None] | None = None
) -> tuple[Run | RunTrace, dict[str, Any]]:
    """Run a scenario; returns (the run, for the output writer and the report; the result JSON)."""
    if scn.pathway is not None:
        return run_pathway_scenario(scn, progress)
    run, typed = run_pump_scenario(scn, progress)
    result = typed.to_json()
    if scn.patient is not None:
        result["patient"] = patient_section(run, scn.patient)
    return run, result
