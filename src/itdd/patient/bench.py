"""Benchmark workloads for the virtual patient (timed by ``bench/``; nothing here reads a clock).

:func:`bench_cases` returns named workloads: each a zero-argument callable, the number of
operations one call performs and the unit to report.  :func:`run_benchmarks` times them with a
timer the caller passes (e.g. ``time.perf_counter``) and returns ``{name: (value, unit)}``::

    import time
    from itdd.patient.bench import run_benchmarks
    for name, (value, unit) in run_benchmarks(time.perf_counter).items():
        print(f"{name:28} {value:10.2f} {unit}")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..timeunits import SECONDS_PER_DAY
from .population import PatientParams, sample_cohort
from .sim import PatientSim, PointLike

T0 = 1_767_600_000.0


@dataclass
class _Record:
    """A synthetic implant record: flex day-cycle plus patient boluses (the columns follow() reads)."""

    t0: list[float] = field(default_factory=list)
    t1: list[float] = field(default_factory=list)
    csf_mg: list[float] = field(default_factory=list)
    tissue_mg: list[float] = field(default_factory=list)
    drug: list[str] = field(default_factory=list)
    points: list[PointLike] = field(default_factory=list)


def synthetic_year(intervals_per_day: int = 8, dose_mg_per_day: float = 5.0) -> _Record:
    """One year of piecewise-constant delivery with ``intervals_per_day`` rate changes a day."""
    rec = _Record()
    n = intervals_per_day
    step = SECONDS_PER_DAY / n
    for d in range(365):
        for k in range(n):
            t0 = T0 + d * SECONDS_PER_DAY + k * step
            # alternate basal and a higher rate (a day-cycle step or a patient bolus)
            rate = dose_mg_per_day * (1.5 if k % 2 else 0.75)
            rec.t0.append(t0)
            rec.t1.append(t0 + step)
            rec.csf_mg.append(rate * step / SECONDS_PER_DAY)
            rec.tissue_mg.append(0.0)
            rec.drug.append("morphine")
    return rec


def bench_cases() -> dict[str, tuple[Callable[[], object], int, str]]:
    params = PatientParams.sample(1, 1)
    sim = PatientSim(params, T0)
    sim.advance(T0 + SECONDS_PER_DAY, csf_mg_per_day=5.0, drug="morphine")
    record = synthetic_year(8)

    def advance_1000() -> None:
        t = sim.t_s
        for k in range(1000):
            sim.advance(t + (k + 1) * 600.0, csf_mg_per_day=5.0 + (k & 1), drug="morphine")

    def observe_100() -> None:
        for _ in range(100):
            sim.observe()

    def pain_100() -> None:
        for _ in range(100):
            sim.pain()

    def follow_year() -> None:
        s = PatientSim(params, T0)
        s.follow(record, T0 + 365 * SECONDS_PER_DAY)

    def build_100() -> None:
        for i in range(100):
            PatientSim(PatientParams.sample(3, i), T0).dose(0.0, "morphine")

    def sample_1000() -> None:
        sample_cohort(5, 1000)

    return {
        "patient_advance": (advance_1000, 1000, "us/interval"),
        "patient_observe": (observe_100, 100, "us/observation"),
        "patient_pain": (pain_100, 100, "us/pain"),
        "patient_follow_year_8_per_day": (follow_year, 1, "ms/patient-year"),
        "patient_build": (build_100, 100, "us/patient"),
        "patient_sample_cohort_1000": (sample_1000, 1, "ms/1000 patients"),
    }


def run_benchmarks(timer: Callable[[], float], repeat: int = 3) -> dict[str, tuple[float, str]]:
    """Best of ``repeat`` runs of each workload, per operation, in the workload's unit."""
    out = {}
    for name, (fn, ops, unit) in bench_cases().items():
        best = float("inf")
        for _ in range(repeat):
            start = timer()
            fn()
            best = min(best, timer() - start)
        scale = 1e6 if unit.startswith("us") else 1e3
        out[name] = (best / ops * scale, unit)
    return out


def bench_patient(timer: Callable[[], float]) -> dict[str, tuple[float, str]]:
    """The patient benchmarks for ``make bench`` (alias of :func:`run_benchmarks`)."""
    return run_benchmarks(timer)
