"""``make bench`` hook for the virtual patient (workloads in ``itdd.patient.bench``)."""

from __future__ import annotations

import time
from typing import Any

from itdd.patient.bench import run_benchmarks


def run(quick: bool = True) -> list[dict[str, Any]]:
    results = run_benchmarks(time.perf_counter, repeat=2 if quick else 3)
    return [{"benchmark": f"patient: {name}", "value": value, "unit": unit} for name, (value, unit) in results.items()]
