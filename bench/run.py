"""``make bench``: how fast itdd simulates, measured (never asserted in tests).

Implant engine (issue 2):
  (a) one year of simple continuous therapy (with refills every ~90 days),
  (b) one year of a 6-step flex profile with 4 patient boluses a day,
each as simulated pump-years per wall second, beside the fixed-step (1 s) oracle's rate on the
same scenario, as a ratio.  The oracle is far too slow to run for a year, so it runs a few days
and its rate is scaled.

Other layers add their benchmarks as modules ``bench/bench_*.py`` exposing ``run() -> list[dict]``.

Usage: ``python bench/run.py [--quick]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from itdd.pump.firmware import PtmSettings  # noqa: E402
from itdd.pump.implant import Implant  # noqa: E402
from itdd.pump.models import get_model  # noqa: E402
from itdd.pump.therapy import Therapy  # noqa: E402
from itdd.scenario import parse_scenario_data, run_scenario  # noqa: E402
from itdd.sim.engine import Simulation  # noqa: E402
from tests.sim.oracle import run_oracle  # noqa: E402

YEAR_S = 365.25 * 86400.0
DAY_S = 86400.0
T0 = 1_767_600_000.0
FLEX = [(0, 3.0), (6 * 3600, 5.0), (9 * 3600, 6.0), (13 * 3600, 5.0), (18 * 3600, 6.0), (22 * 3600, 4.0)]


def _refills(sim: Simulation, every_days: float) -> None:
    imp = sim.implant

    def refill(_s: Simulation) -> None:
        imp.refill(withdraw_ml=None, fill_ml=40.0, drug="morphine", conc_mg_per_ml=imp.fw.conc_mg_per_ml)

    t = T0 + every_days * DAY_S
    while t < T0 + YEAR_S:
        sim.schedule(t, refill)
        t += every_days * DAY_S


def year_simple() -> Implant:
    imp = Implant(
        get_model("synchromed-ii-40"),
        t_s=T0,
        offset_s=3600,
        drug="morphine",
        conc_mg_per_ml=25.0,
        fill_ml=40.0,
        low_reservoir_ml=4.0,
        therapy=Therapy.simple(10.0),
    )
    sim = Simulation(imp, T0, T0 + YEAR_S)
    _refills(sim, 85.0)
    sim.run()
    return imp


def year_flex_ptm() -> Implant:
    ptm = PtmSettings(dose_mg=0.25, duration_s=600.0, lockout_s=3 * 3600.0, max_per_day=4, max_daily_dose_mg=8.0)
    imp = Implant(
        get_model("synchromed-ii-40"),
        t_s=T0,
        offset_s=3600,
        drug="morphine",
        conc_mg_per_ml=25.0,
        fill_ml=40.0,
        low_reservoir_ml=4.0,
        therapy=Therapy.flex(FLEX),
        ptm=ptm,
    )
    sim = Simulation(imp, T0, T0 + YEAR_S)
    _refills(sim, 80.0)

    def request(_s: Simulation) -> None:
        imp.ptm_request()

    t = T0 + 8 * 3600.0
    while t < T0 + YEAR_S:
        sim.schedule(t, request)
        t += 6 * 3600.0  # four a day
    sim.run()
    return imp


def scenario_year(flex: bool) -> dict[str, Any]:
    therapy: dict[str, Any] = (
        {"mode": "flex", "steps": [{"start": f"{s // 3600:02d}:00", "dose": f"{d} mg/day"} for s, d in FLEX]}
        if flex
        else {"mode": "simple_continuous", "dose": "10 mg/day"}
    )
    data: dict[str, Any] = {
        "name": "bench",
        "start": "2026-01-05T00:00:00+01:00",
        "duration": "365d",
        "pump": {
            "model": "synchromed-ii-40",
            "drug": "morphine",
            "concentration": "25 mg/mL",
            "fill": "40 mL",
            "low_reservoir_alarm": "4 mL",
        },
        "therapy": therapy,
        "events": [{"at": "+80d", "type": "refill", "fill": "40 mL", "every": "80d"}],
    }
    if flex:
        data["ptm"] = {
            "dose": "0.25 mg",
            "duration": "10min",
            "lockout": "3h",
            "max_per_day": 4,
            "max_daily_dose": "8 mg/day",
        }
        data["events"].append({"at": "+8h", "type": "ptm_request", "every": "6h"})
    return data


def _time(fn: Callable[[], Any], repeat: int) -> float:
    """Best-of-``repeat`` wall time of one call, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def oracle_rate(data: dict[str, Any], days: float) -> float:
    """Simulated years per wall second of the 1 s fixed-step oracle (run for ``days``)."""
    short = dict(data, duration=f"{days}d", events=[e for e in data["events"] if e["type"] != "refill"])
    scn = parse_scenario_data(short)
    wall = _time(lambda: run_oracle(scn, 1.0), 1)
    return (days * DAY_S / YEAR_S) / wall


def engine_benchmarks(quick: bool) -> list[dict[str, Any]]:
    repeat = 3 if quick else 7
    rows = []
    for label, fn, flex, aim_ms in (
        ("(a) 1 year simple continuous", year_simple, False, 5.0),
        ("(b) 1 year 6-step flex + 4 PTM boluses/day", year_flex_ptm, True, 50.0),
    ):
        wall = _time(fn, repeat)
        imp = fn()
        data = scenario_year(flex)
        scn = parse_scenario_data(data)
        wall_scn = _time(lambda scn=scn: run_scenario(scn), max(1, repeat // 3))
        o_rate = oracle_rate(data, 0.5 if quick else 2.0)
        rows.append(
            {
                "benchmark": label,
                "engine_ms_per_year": wall * 1000,
                "engine_pump_years_per_s": 1.0 / wall,
                "aim_ms_per_year": aim_ms,
                "intervals": len(imp.record),
                "full_scenario_ms_per_year": wall_scn * 1000,
                "oracle_pump_years_per_s": o_rate,
                "speedup_vs_oracle": (1.0 / wall) / o_rate,
            }
        )
    return rows


def extra_benchmarks(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        fn = getattr(mod, "run", None)
        if fn is not None:
            rows.extend(fn(quick=quick))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, shorter oracle runs")
    ap.add_argument("--json", action="store_true", help="print JSON rows")
    ap.add_argument("--only", choices=["engine", "extra"], help="run one group")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    if args.only in (None, "engine"):
        rows += engine_benchmarks(args.quick)
    if args.only in (None, "extra"):
        rows += extra_benchmarks(args.quick)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(r["benchmark"])
        for k, v in r.items():
            if k == "benchmark":
                continue
            print(f"  {k:32s} {v:,.4g}" if isinstance(v, float) else f"  {k:32s} {v}")
    _ = statistics  # kept for extra benchmarks that report spreads
    return 0


if __name__ == "__main__":
    sys.exit(main())
