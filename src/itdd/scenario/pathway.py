"""Scenario integration: a ``pathway`` block runs the care pathway; a ``patient`` block alone follows
the pump scenario's exact record with a virtual patient.

Called by :func:`itdd.scenario.run_scenario`.  Errors raised while the pathway runs are
re-labelled under ``pathway.`` (or ``patient.``) so the CLI's one line names the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import quantities as q
from ..care.pathway import SERIES_COLUMNS, run_pathway
from ..care.plan import PatientSpec
from ..errors import ItddError, SafetyRefusal
from ..patient import PatientSim
from ..sim.result import RunTrace
from ..sim.runner import Run
from ..timeunits import SECONDS_PER_DAY, SECONDS_PER_HOUR
from .model import Scenario

H = SECONDS_PER_HOUR
DAY = SECONDS_PER_DAY


def _relabel(exc: ItddError, prefix: str) -> ItddError:
    if exc.field.startswith(("pathway", "patient")):
        return exc
    field = f"{prefix}.{exc.field}" if exc.field else prefix
    if isinstance(exc, SafetyRefusal):
        return SafetyRefusal(field, exc.message, exc.rule)
    return type(exc)(field, exc.message)


def run_pathway_scenario(
    scn: Scenario, progress: Callable[[float], None] | None = None
) -> tuple[RunTrace, dict[str, Any]]:
    """Run the scenario's pathway; returns (a run for the output writer, the result)."""
    assert scn.pathway is not None and scn.patient is not None
    params = scn.patient.params()
    plan = scn.pathway.model_copy(update={"start": scn.start})
    try:
        pr = run_pathway(
            params,
            plan,
            scn.seed,
            record=True,
            progress=progress,
            patient_id=scn.patient.patient_id(),
            name=scn.name,
        )
    except ItddError as exc:
        raise _relabel(exc, "pathway") from None
    assert pr.result is not None
    result = pr.result
    result["scenario"]["seed"] = scn.seed
    result.setdefault("daily", [])
    result.setdefault("events", [])
    assert pr.run is not None  # record=True: the pathway gives its run (an empty record without an implant)
    run: RunTrace = pr.run
    return run, result


def _grid_s(duration_s: float) -> float:
    """Output resolution of the patient series (not an integration step)."""
    if duration_s <= 3 * DAY:
        return 0.25 * H
    if duration_s <= 60 * DAY:
        return H
    return 3 * H


def patient_section(run: Run, spec: PatientSpec) -> dict[str, Any]:
    """The patient along a pump scenario: at steady state on the initial therapy, then following
    the record; sampled on a grid plus every logged event (the exact event instants)."""
    try:
        params = spec.params()
    except ItddError as exc:
        raise _relabel(exc, "patient") from None
    imp = run.implant
    rec = imp.record
    drug = rec[0].drug if len(rec) else imp.hw.reservoir_drug
    first_dose = rec[0].programmed_mg / max(rec[0].duration_s / DAY, 1e-12) if len(rec) else 0.0
    if drug in ("", "saline") or first_dose <= 0:
        sim = PatientSim(params, run.start_s, offset_s=run.offset_s)
    else:
        sim = PatientSim.at_steady_state(
            params, run.start_s, drug=drug, csf_mg_per_day=first_dose, offset_s=run.offset_s
        )
    step = _grid_s(run.end_s - run.start_s)
    times = {run.start_s + k * step for k in range(int((run.end_s - run.start_s) / step) + 1)}
    times |= {e.time_s for e in imp.log.history if run.start_s <= e.time_s <= run.end_s}
    times.add(run.end_s)
    ordered = sorted(times)
    obs = sim.follow_and_observe(rec, ordered)  # type: ignore[arg-type]
    series: dict[str, Any] = {"days": [(t - run.start_s) / DAY for t in ordered], "origin": run.iso(run.start_s)}
    for c in SERIES_COLUMNS:
        series[c] = [getattr(o, c) for o in obs]
    return {
        "id": spec.patient_id(),
        "drug": drug,
        "profile": {
            "baseline_pain_score": round(params.baseline_pain, 2),
            "oral_mme_per_day": params.oral_mme_per_day,
            "weight_kg": round(params.weight_kg, 1),
            "csf_volume_ml": round(params.csf_lumbosacral_ml, 1),
            "start": f"steady state on {q.fmt_dose_rate(first_dose)} {drug}" if first_dose > 0 else "no drug",
        },
        "series": series,
    }


__all__ = ["patient_section", "run_pathway_scenario"]
