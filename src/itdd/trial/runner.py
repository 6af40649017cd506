"""Running a trial's patients: enrolment, sharding into chunks, processes or Dask.

Patient ``index`` of cohort ``seed`` is :meth:`PatientParams.sample(seed, index)` and follows the
pathway with the seed :func:`itdd.care.cohort.patient_seed(seed, index)` in *every* arm, so with
``paired: true`` an arm differs from another only by its care plan: the same sampled parameters,
the same procedure draws and the same hazard thresholds (common random numbers; a complication
whose rate depends on the dose may still fall at another time).  Unpaired, arm ``k`` enrols the
``k``-th block of ``patients_per_arm`` eligible patients, different people from the same
population, as a parallel-group trial would.

Work is cut into chunks of at most :data:`CHUNK` patient-arms.  When every arm follows the same
patients (paired), a chunk holds a block of patients in *every* arm: each patient is sampled once
and followed arm after arm in the same process, which builds the patient's pharmacokinetic chains
once for all arms (:func:`itdd.patient.pk.shared_chains`).  Results are put back in (arm, index)
order, so the result is identical for one process, N processes or a Dask cluster
(``tests/trial/test_scale.py``).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..patient.population import DEFAULT_POPULATION, Population, get_population

__all__ = ["CHUNK", "ArmRun", "enrol", "population_of", "run_arms"]

CHUNK = 25  # patient-arms per task: balances uneven patients, amortises the pickling
MAX_WORKERS = 256
MAX_SCREEN_FACTOR = 50  # inclusion criteria may reject at most 49 of 50 sampled patients

Row = tuple[int, int, Any, str]  # (arm, index, PatientOutcome | None, error)


@dataclass(frozen=True)
class ArmRun:
    """One arm's patients in index order: outcomes (None: simulation failed) and errors."""

    indices: tuple[int, ...]
    outcomes: tuple[Any, ...]
    errors: tuple[str, ...]


def population_of(spec: Any) -> Population:
    """The :class:`Population` a protocol's population block draws from."""
    if spec is None:
        return DEFAULT_POPULATION
    base = get_population(spec.kind)
    if spec.female_share is None:
        return base
    from ..patient.parameters import U

    return dataclasses.replace(base, female_rate=U(spec.female_share, "trial protocol: population.female_share"))


def _eligible(p: Any, spec: Any) -> bool:
    for rng, value in (
        (spec.age_years, p.age_y),
        (spec.baseline_pain, p.baseline_pain),
        (spec.oral_mme_per_day, p.oral_mme_per_day),
    ):
        if rng is None:
            continue
        if rng.min is not None and value < rng.min:
            return False
        if rng.max is not None and value > rng.max:
            return False
    return True


def enrol(seed: int, needed: int, spec: Any) -> tuple[list[int], int]:
    """The first ``needed`` eligible patient indices of cohort ``seed`` and how many were sampled."""
    if spec is None or not spec.has_criteria:
        return list(range(needed)), needed
    from ..patient import PatientParams

    pop = population_of(spec)
    out: list[int] = []
    i = 0
    limit = needed * MAX_SCREEN_FACTOR
    while len(out) < needed:
        if i >= limit:
            raise InputError(
                "population",
                f"only {len(out)} of {i} sampled patients meet the inclusion ranges; widen them "
                f"(at most {MAX_SCREEN_FACTOR - 1} of {MAX_SCREEN_FACTOR} may be excluded)",
            )
        if _eligible(PatientParams.sample(seed, i, population=pop), spec):
            out.append(i)
        i += 1
    return out, i


Job = tuple[int, tuple[int, ...], list[int], tuple[Any, ...], Population]  # seed, arms, indices, plans, population


def _run_chunk(job: Job) -> list[Row]:
    """Worker: patients ``indices`` of cohort ``seed``, each in every arm of ``arms`` (whose plans
    are ``plans``), patient by patient (top-level: spawn- and Dask-safe)."""
    from ..care.cohort import patient_seed
    from ..care.pathway import run_pathway
    from ..patient import PatientParams
    from ..patient.pk import shared_chains

    seed, arms, indices, plans, population = job
    out: list[Row] = []
    for index in indices:
        params: Any = None
        with shared_chains():  # one patient's chains, built once for all its arms
            for arm, plan in zip(arms, plans, strict=True):
                try:
                    if params is None:
                        params = PatientParams.sample(seed, index, population=population)
                    result = run_pathway(
                        params, plan, seed=patient_seed(seed, index), patient_id=f"VP-{seed}-{index:04d}"
                    )
                    out.append((arm, index, result.outcome, ""))
                except Exception as exc:  # recorded and reported: one bad patient must not lose the trial
                    out.append((arm, index, None, f"patient {index}: {type(exc).__name__}: {exc}"))
    return out


def _jobs(
    seed: int, plans: Sequence[Any], assignments: Sequence[Sequence[int]], population: Population, chunk: int
) -> list[Job]:
    """Paired (every arm the same patients): blocks of ``chunk // arms`` patients in every arm;
    otherwise blocks of ``chunk`` patients of one arm."""
    k = len(assignments)
    if k > 1 and all(list(a) == list(assignments[0]) for a in assignments):
        idx = list(assignments[0])
        step = max(chunk // k, 1)
        return [(seed, tuple(range(k)), idx[i : i + step], tuple(plans), population) for i in range(0, len(idx), step)]
    return [
        (seed, (j,), list(idx[i : i + chunk]), (plans[j],), population)
        for j, idx in enumerate(assignments)
        for i in range(0, len(idx), chunk)
    ]


def _warm_up() -> None:
    """Import the pathway and load the drug library once in the parent (forked workers inherit them)."""
    from .. import drugs
    from ..care import pathway

    drugs.library()
    _ = pathway.run_pathway


def check_workers(workers: Any) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError("--workers", f"must be a whole number >= 1, got {workers!r}")
    if workers is not None and workers > MAX_WORKERS:
        raise InputError("--workers", f"{workers} is above the limit of {MAX_WORKERS}")


def run_arms(
    seed: int,
    plans: Sequence[Any],
    assignments: Sequence[Sequence[int]],
    *,
    population: Population = DEFAULT_POPULATION,
    workers: int | None = None,
    dask: str | Any | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
) -> list[ArmRun]:
    """Run ``assignments[k]`` (patient indices) through ``plans[k]`` for every arm ``k``.

    ``workers``: processes (default: CPU count; 1 runs in this process).  ``dask``: ``"local"``
    (a LocalCluster of ``workers`` processes), a scheduler address (``tcp://host:8786``) or a
    ``distributed.Client``.  ``progress(done, total)`` is called as chunks finish.
    """
    check_workers(workers)
    total = sum(len(a) for a in assignments)
    jobs = _jobs(seed, plans, assignments, population, chunk)
    _warm_up()
    rows: list[Row] = []
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    if dask is not None:
        rows = _run_dask(jobs, dask, workers, tick)
    else:
        n_workers = min(workers if workers is not None else (os.cpu_count() or 1), max(len(jobs), 1))
        if n_workers <= 1:
            for job in jobs:
                rows.extend(_run_chunk(job))
                tick(_size(job))
        else:
            # gc.freeze: the modules a worker inherited are never rescanned by the cyclic collector
            with ProcessPoolExecutor(max_workers=n_workers, initializer=gc.freeze) as pool:
                futures = {pool.submit(_run_chunk, job): _size(job) for job in jobs}
                for fut in as_completed(futures):
                    rows.extend(fut.result())
                    tick(futures[fut])
    rows.sort(key=lambda r: (r[0], r[1]))
    out = []
    for k in range(len(assignments)):
        mine = [r for r in rows if r[0] == k]
        out.append(
            ArmRun(
                tuple(r[1] for r in mine),
                tuple(r[2] for r in mine),
                tuple(r[3] for r in mine if r[2] is None),
            )
        )
    return out


def _run_dask(jobs: list[Job], dask: Any, workers: int | None, tick: Callable[[int], None]) -> list[Row]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - a dependency of itdd
        raise InputError("--dask", "dask.distributed is not installed (pip install 'dask[distributed]')") from None
    cluster = None
    own_client = False
    if isinstance(dask, str):
        if dask == "local":
            n = workers if workers is not None else (os.cpu_count() or 1)
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
            )
            client = Client(cluster)
        else:
            if not dask.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
                raise InputError(
                    "--dask", f"must be 'local' or a scheduler address such as tcp://host:8786, got {dask!r}"
                )
            try:
                client = Client(dask, timeout=30)
            except OSError as exc:
                raise InputError("--dask", f"cannot reach the Dask scheduler at {dask}: {exc}") from None
        own_client = True
    else:
        client = dask
    rows: list[Row] = []
    try:
        futures = [client.submit(_run_chunk, job, pure=False) for job in jobs]
        sizes = {f.key: _size(job) for f, job in zip(futures, jobs, strict=True)}
        for fut in dask_completed(futures):
            rows.extend(fut.result())
            tick(sizes[fut.key])
            fut.release()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
    return rows


def _size(job: Job) -> int:
    """Patient-arms in a job."""
    return len(job[1]) * len(job[2])


def chunk_count(total: int) -> int:
    return math.ceil(total / CHUNK)
