"""The scenario: the top of the simulation stack, above the simulator and the care pathway.

:class:`Scenario` is the whole scenario file (a pump scenario, :class:`itdd.sim.scenario.PumpScenario`,
plus the ``patient`` and ``pathway`` blocks); :mod:`.loading` reads it (YAML, a key written twice
refused, one-line errors naming the field) and publishes its JSON Schema; :func:`run_scenario`
dispatches it: a pump-only scenario to the simulator (:mod:`itdd.sim.runner`), a pathway to the
care pathway (:mod:`itdd.care.pathway`).  Nothing below imports this package.
"""

from __future__ import annotations

from ..sim.runner import build_ptm, build_therapy
from .dispatch import run_scenario
from .loading import (
    format_validation_error,
    json_schema,
    json_schema_text,
    load_scenario,
    load_scenario_text,
    parse_scenario_data,
)
from .model import Scenario

__all__ = [
    "Scenario",
    "build_ptm",
    "build_therapy",
    "format_validation_error",
    "json_schema",
    "json_schema_text",
    "load_scenario",
    "load_scenario_text",
    "parse_scenario_data",
    "run_scenario",
]
