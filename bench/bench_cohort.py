"""Virtual cohort speed: N patients x 1 year of the full care pathway on 2 worker processes.

Aim (issue 4): 1,000 patients x 1 year in under 5 s on the shared 2-core machine.  ``--quick``
runs 100 patients.  Reports wall time, patient-years per wall second, and the per-patient cost
of one worker (single process, for the profile in docs/cohort.md).

Usage: ``python bench/bench_cohort.py [--quick] [--profile]`` or through ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from itdd.trial.cohort import run_cohort  # noqa: E402

AIM_S = 5.0  # issue 4: 1,000 patient-years in under 5 s on 2 cores


def _cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _cohort(patients: int, workers: int) -> tuple[float, float, Any]:
    c = _cpu_s()
    t = time.perf_counter()
    summary = run_cohort(patients, 1.0, 2026, workers=workers)
    return time.perf_counter() - t, _cpu_s() - c, summary


def machine_parallel_efficiency(n: int = 5_000_000) -> float:
    """Throughput of 2 processes of pure Python busy work relative to twice one process (1.0: two
    real cores).  The shared VM measured 0.5-1.0 (it varies with the other jobs): it bounds any
    2-worker speed-up.  The work is a ``timeit`` loop, so it pickles by reference to the standard
    library even when this module is loaded from a file (``bench/run.py``)."""
    from concurrent.futures import ProcessPoolExecutor

    stmt = f"t = 0\nfor i in range({n}):\n    t += i * i"
    work = functools.partial(timeit.timeit, number=1)
    t = time.perf_counter()
    work(stmt)
    one = time.perf_counter() - t
    with ProcessPoolExecutor(2) as pool:
        t = time.perf_counter()
        list(pool.map(work, [stmt, stmt]))
        two = time.perf_counter() - t
    return one / two


def run(quick: bool = False) -> list[dict[str, Any]]:
    patients = 100 if quick else 1000
    wall, cpu, summary = _cohort(patients, 2)
    single_n = 20 if quick else 50
    wall_1, _, _ = _cohort(single_n, 1)
    return [
        {
            "benchmark": f"cohort: {patients} patients x 1 year, 2 workers",
            "wall_s": wall,
            "patient_years_per_s": patients / wall,
            "aim_s_per_1000_patient_years": AIM_S,
            "projected_s_per_1000_patient_years": wall * 1000 / patients,
            "cpu_s": cpu,
            "cpu_s_over_2_cores": cpu / 2,  # the wall time with two real, idle cores
            "single_process_ms_per_patient_year": wall_1 * 1000 / single_n,
            "machine_2_process_efficiency": machine_parallel_efficiency(),
            "implanted": summary.metrics["implanted"],
            "failed_patients": len(summary.errors),
        }
    ]


def _profile(patients: int) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    run_cohort(patients, 1.0, 2026, workers=1)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", type=int, metavar="N", help="cProfile N patients in one process instead")
    args = ap.parse_args()
    if args.profile:
        _profile(args.profile)
        return 0
    for row in run(args.quick):
        for k, v in row.items():
            print(f"  {k:40s} {v:,.4g}" if isinstance(v, float) else f"  {k:40s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
