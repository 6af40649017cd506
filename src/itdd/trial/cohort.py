"""A cohort: a one-arm trial of the care pathway, summarised beside published figures.

:func:`run_cohort` lives here, above the care layer, because it runs its patients with the trial
runner (:func:`itdd.trial.runner.run_arms`); the arithmetic of the summary
(:func:`itdd.care.cohort.summarize`) and the patient seeds stay in :mod:`itdd.care.cohort`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..care.cohort import CohortSummary, _plan_for, _validate, summarize
from ..patient import get_population
from .runner import run_arms

__all__ = ["run_cohort"]


def run_cohort(
    patients: int,
    years: float,
    seed: int,
    *,
    workers: int | None = None,
    plan: Any = None,
    progress: Callable[[float], None] | None = None,
) -> CohortSummary:
    """Run the care pathway for patients ``0..patients-1`` of cohort ``seed``, ``years`` after implant.

    A one-arm trial run by :func:`itdd.trial.runner.run_arms`: ``workers`` processes (default:
    CPU count); the summary is the same for any number.  ``plan`` is a
    :class:`itdd.care.plan.PathwayPlan` (its ``years`` is replaced).  ``progress(fraction)`` is
    called as patients finish.
    """
    _validate(patients, years, seed, workers)
    the_plan = _plan_for(plan, years)

    # a one-arm trial (itdd.trial.runner): the same patients, seeds and index order as ever
    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(done / total)

    population = get_population(the_plan.population)
    (arm,) = run_arms(seed, [the_plan], [range(patients)], population=population, workers=workers, progress=tick)
    ok = [(i, o) for i, o in zip(arm.indices, arm.outcomes, strict=True) if o is not None]
    return summarize([o for _, o in ok], float(years), seed, arm.errors, [i for i, _ in ok])
