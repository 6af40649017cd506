"""Virtual trials: patient-years per second on 1 and 2 workers, processes and Dask (issue 11).

A paired two-arm trial (standard plan vs a single 0.3 mg screening bolus), 1 year of follow-up,
run with ``run_trial`` on 1 and 2 worker processes and on a Dask LocalCluster of 1 and 2 worker
processes (cluster start-up included: what ``itdd trial --dask local`` costs).  The statistics
(estimates, bootstrap intervals, Kaplan-Meier) are timed on their own.  Wall time on whatever else
the machine is doing; the summaries are checked byte-identical across the four runs.

Usage: ``python bench/bench_trial.py [--quick]`` or through ``bench/run.py``.

``--patient-years N [--years Y] [--workers W]`` (not run by ``make bench``): one paired two-arm
trial of ``N`` nominal patient-years (``N / (2 Y)`` patients per arm, ``Y`` years each, default 5;
``W`` worker processes, default 2), wall and CPU time (parent and workers) and patient-years per
second, the issue-11 scale check (``--patient-years 100000``: under 60 s on this 2-core machine).
A smaller ``N`` gives the same rate to extrapolate from.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from itdd.trial import parse_protocol, run_trial, summarize_trial  # noqa: E402
from itdd.trial.report import summary_json  # noqa: E402

AIM_PATIENT_YEARS_PER_S = 100_000 / 60  # issue 11: 100,000 patient-years in under 60 s on 2 cores


def protocol(n: int, years: float = 1) -> Any:
    return parse_protocol(
        {
            "name": "bench",
            "seed": 2026,
            "patients_per_arm": n,
            "years": years,
            "arms": [{"name": "standard"}, {"name": "low", "trial": {"method": "single_bolus", "doses": ["0.3 mg"]}}],
            "endpoints": {
                "primary": "relief_50_at_12_months",
                "secondary": ["trial_success_rate", "mean_dose_mg_per_day_6_months", "time_to_catheter_event"],
            },
        }
    )


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 20 if quick else 100
    p = protocol(n)
    patient_years = 2 * n * 1.0
    rows = []
    outputs = set()
    for label, kw in (
        ("processes, 1 worker", {"workers": 1}),
        ("processes, 2 workers", {"workers": 2}),
        ("Dask LocalCluster, 1 worker", {"workers": 1, "dask": "local"}),
        ("Dask LocalCluster, 2 workers", {"workers": 2, "dask": "local"}),
    ):
        t = time.perf_counter()
        r = run_trial(p, **kw)
        wall = time.perf_counter() - t
        outputs.add(summary_json(r.summary))
        rows.append(
            {
                "benchmark": f"trial 2 arms x {n} patients x 1 year (paired): {label}",
                "wall_s": wall,
                "patient_years_per_s": patient_years / wall,
                "aim_patient_years_per_s": AIM_PATIENT_YEARS_PER_S,
            }
        )
    t = time.perf_counter()
    summarize_trial(p, r.arms, sampled=r.sampled)
    rows.append({"benchmark": f"trial statistics only (2 arms x {n}, 4 endpoints)", "wall_s": time.perf_counter() - t})
    rows[0]["summaries_identical_across_runs"] = len(outputs) == 1
    return rows


def scale(patient_years: int, years: float, workers: int) -> dict[str, Any]:
    """One paired two-arm trial of ``patient_years`` nominal patient-years on ``workers`` processes."""
    n = max(round(patient_years / (2 * years)), 1)
    p = protocol(n, years)
    t, cpu = time.perf_counter(), time.process_time()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run_trial(p, workers=workers)
    wall = time.perf_counter() - t
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    t_stats = time.perf_counter()
    summarize_trial(p, r.arms, sampled=r.sampled)  # the statistics again, on their own
    stats = time.perf_counter() - t_stats
    py = 2 * n * years
    return {
        "benchmark": f"trial 2 arms x {n} patients x {years:g} years (paired), {workers} worker processes",
        "patient_years": py,
        "implanted": sum(o is not None and o.implanted for arm in r.arms for o in arm.outcomes),
        "wall_s": wall,
        "wall_s_statistics_alone": stats,
        "cpu_s_parent": time.process_time() - cpu,
        "cpu_s_workers": workers_cpu,
        "cpu_ms_per_patient_year": (time.process_time() - cpu + workers_cpu) * 1000 / py,
        "patient_years_per_s": py / wall,
        "wall_s_for_100000_patient_years_at_this_rate": 100_000 / (py / wall),
        "aim_patient_years_per_s": AIM_PATIENT_YEARS_PER_S,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--patient-years", type=int, default=None, help="one trial of this many patient-years")
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if a.patient_years is not None:
        print(json.dumps(scale(a.patient_years, a.years, a.workers), indent=2))
    else:
        print(json.dumps(run(a.quick), indent=2))
