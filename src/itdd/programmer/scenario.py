"""Scenario integration: a scenario ``refill`` event goes through the refill workflow.

The runner calls :func:`scenario_refill` for every ``refill`` event; the returned row lands in the
result's ``refills`` list.  Settings come from the scenario's ``programmer`` block
(:class:`itdd.sim.scenario.ProgrammerSpec`).  By default the guardrails *report* (a scenario
replays what a clinician did, mistakes included, and the row lists every finding); with
``guardrails: enforce`` a refill the programmer would refuse stops the run with the refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import quantities as q
from ..telemetry.commands import DirectLink
from .refill import RefillRequest, RefillSettings, refill, verify_record
from .session import Session

if TYPE_CHECKING:
    from ..sim.runner import Run
    from ..sim.scenario import ProgrammerSpec, RefillEvent


def settings_of(spec: ProgrammerSpec | None) -> RefillSettings:
    if spec is None:
        return RefillSettings(enforce_guardrails=False)
    return RefillSettings(
        discrepancy_threshold_ml=None
        if spec.discrepancy_threshold is None
        else q.parse_volume_ml(spec.discrepancy_threshold),
        flow_accuracy_spec=None if spec.flow_accuracy_spec is None else q.parse_fraction(spec.flow_accuracy_spec),
        enforce_guardrails=spec.guardrails == "enforce",
    )


def scenario_refill(run: Run, ev: RefillEvent) -> dict[str, Any]:
    spec = run.scenario.programmer
    clinician = spec.clinician if spec is not None else "clinician"
    req = RefillRequest(
        fill_ml=q.parse_volume_ml(ev.fill),
        withdraw_ml=None if ev.withdraw == "all" else q.parse_volume_ml(ev.withdraw),
        drug=ev.drug,
        conc_mg_per_ml=None if ev.concentration is None else q.parse_concentration_mg_per_ml(ev.concentration),
        reservoir_ml=None if ev.reservoir_volume is None else q.parse_volume_ml(ev.reservoir_volume),
        bridge_bolus=ev.bridge_bolus,
    )
    # What the reservoir held after the last fill: the previous refill's programmed volume, or the
    # scenario's initial fill.
    pump = run.scenario.pump
    assert pump is not None  # a pump scenario (a pathway runs its own refills)
    prev = run.refills[-1]["reservoir_ml_entered"] if run.refills else q.parse_volume_ml(pump.fill)
    rec = refill(
        Session(DirectLink(run.implant)), req, clinician=clinician, settings=settings_of(spec), previous_reservoir=prev
    ).to_dict()
    if spec is not None and spec.verifier:
        rec = verify_record(
            rec,
            spec.verifier,
            drug=rec["drug"],
            conc_mg_per_ml=rec["concentration_mg_per_ml"],
            filled_ml=rec["filled_ml"],
            reservoir_ml=rec["reservoir_ml_entered"],
        )
    rec.pop("link_notes", None)
    return rec
