"""The pump engine beside the SimPy model a user would otherwise write (issue 11).

``simpy_year()`` is a minimal *exact* SimPy model of ``bench/run.py``'s flex workload (b): one year
of a 6-step flex profile (local time, UTC+1), a patient bolus request every 6 h from 08:00 (0.25 mg
over 10 min; 3 h lockout; 4 per rolling 24 h; predictive 8 mg/24 h maximum), a refill to 40 mL every
80 days, morphine 25 mg/mL.  It keeps only the reservoir and the totals: rates are piecewise
constant, the reservoir is integrated exactly between events, and the 24 h maximum reads the exact
cumulative delivery.  No catheter, no plug flow, no log, no alarms, no battery, no record: the
fidelity itdd's engine keeps.  Both models must agree on the reservoir and the delivered total
(printed beside the times), so the comparison is between two exact answers to the same question.

Usage: ``python bench/bench_simpy.py [--quick]`` or through ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

YEAR_S = 365.25 * 86400.0
DAY_S = 86400.0
T0 = 1_767_600_000.0  # as bench/run.py
OFFSET_S = 3600.0
CONC = 25.0
FLEX = [(0, 3.0), (6 * 3600, 5.0), (9 * 3600, 6.0), (13 * 3600, 5.0), (18 * 3600, 6.0), (22 * 3600, 4.0)]
BOLUS_MG, BOLUS_S, LOCKOUT_S, MAX_PER_DAY, MAX_DAILY_MG = 0.25, 600.0, 3 * 3600.0, 4, 8.0


def simpy_year() -> dict[str, float]:
    """One pump-year in SimPy: reservoir (mL) and delivered morphine (mg), exactly."""
    import simpy

    env = simpy.Environment(initial_time=T0)
    st: dict[str, Any] = {"t": T0, "basal": 0.0, "bolus": 0.0, "res": 40.0, "mg": 0.0, "bolus_end": -1.0}
    cum_t: list[float] = [T0]  # cumulative delivery breakpoints, for the 24 h maximum
    cum_mg: list[float] = [0.0]
    grants: collections.deque[float] = collections.deque()

    def advance() -> None:
        dt = env.now - st["t"]
        if dt > 0:
            mg = (st["basal"] + st["bolus"]) * dt / DAY_S
            st["mg"] += mg
            st["res"] -= mg / CONC
            st["t"] = env.now
            cum_t.append(env.now)
            cum_mg.append(st["mg"])

    def delivered_since(t: float) -> float:
        j = bisect.bisect_right(cum_t, t) - 1
        if j < 0:
            return st["mg"]
        t0, m0 = cum_t[j], cum_mg[j]
        t1 = cum_t[j + 1] if j + 1 < len(cum_t) else st["t"]
        m1 = cum_mg[j + 1] if j + 1 < len(cum_mg) else st["mg"]
        at = m0 if t1 <= t0 else m0 + (m1 - m0) * (t - t0) / (t1 - t0)
        return st["mg"] - at

    def basal_at(t: float) -> tuple[float, float]:
        """The flex dose at ``t`` and when it next changes (local time of day)."""
        tod = (t + OFFSET_S) % DAY_S
        i = bisect.bisect_right([s for s, _ in FLEX], tod) - 1
        nxt = FLEX[i + 1][0] if i + 1 < len(FLEX) else DAY_S
        return FLEX[i][1], t + (nxt - tod)

    def planned_basal(t0: float, t1: float) -> float:
        total, t = 0.0, t0
        while t < t1:
            dose, nxt = basal_at(t)
            end = min(nxt, t1)
            total += dose * (end - t) / DAY_S
            t = end
        return total

    def flex() -> Any:
        while True:
            advance()
            st["basal"], nxt = basal_at(env.now)
            yield env.timeout(nxt - env.now)

    def bolus() -> Any:
        advance()
        st["bolus"] = BOLUS_MG / BOLUS_S * DAY_S
        yield env.timeout(BOLUS_S)
        advance()
        st["bolus"] = 0.0

    def patient() -> Any:
        yield env.timeout(8 * 3600.0)
        while True:
            now = env.now
            while grants and grants[0] <= now - DAY_S:
                grants.popleft()
            ok = now >= st["bolus_end"] and (not grants or now - grants[-1] >= LOCKOUT_S)
            ok = ok and len(grants) < MAX_PER_DAY
            if ok:
                advance()
                total = delivered_since(now + BOLUS_S - DAY_S) + planned_basal(now, now + BOLUS_S) + BOLUS_MG
                ok = total <= MAX_DAILY_MG + 1e-12
            if ok:
                grants.append(now)
                st["bolus_end"] = now + BOLUS_S
                env.process(bolus())
            yield env.timeout(6 * 3600.0)

    def refills() -> Any:
        while True:
            yield env.timeout(80 * DAY_S)
            advance()
            st["res"] = 40.0

    env.process(flex())
    env.process(patient())
    env.process(refills())
    env.run(until=T0 + YEAR_S)
    advance()
    return {"reservoir_ml": st["res"], "delivered_mg": st["mg"]}


def _best_pair(repeat: int) -> tuple[float, float, float, float]:
    """Best wall and CPU times of SimPy's year and itdd's, the two alternating in one process
    (on a shared machine the CPU times compare best)."""
    from bench.run import year_flex_ptm

    wall = [float("inf"), float("inf")]
    cpu = [float("inf"), float("inf")]
    for _ in range(repeat):
        for k, fn in enumerate((simpy_year, year_flex_ptm)):
            w, c = time.perf_counter(), time.process_time()
            fn()
            wall[k] = min(wall[k], time.perf_counter() - w)
            cpu[k] = min(cpu[k], time.process_time() - c)
    return wall[0], wall[1], cpu[0], cpu[1]


def run(quick: bool = False) -> list[dict[str, Any]]:
    from bench.run import year_flex_ptm

    repeat = 3 if quick else 7
    ref = simpy_year()
    imp = year_flex_ptm()
    t_simpy, t_itdd, c_simpy, c_itdd = _best_pair(repeat)
    # what itdd's pump pumped out of the reservoir (the hardware's truth) and its reservoir
    itdd_res = imp.hw.reservoir_ml
    return [
        {
            "benchmark": "engine vs SimPy reference: 1 year 6-step flex + 4 PTM boluses/day (workload b)",
            "itdd_engine_ms_per_year": t_itdd * 1000,
            "simpy_reference_ms_per_year": t_simpy * 1000,
            "itdd_over_simpy_time_ratio": t_itdd / t_simpy,
            "itdd_over_simpy_cpu_ratio": c_itdd / c_simpy,
            "aim_ratio": 1.0,
            "simpy_reservoir_ml_at_end": ref["reservoir_ml"],
            "itdd_reservoir_ml_at_end": itdd_res,
            "simpy_delivered_mg": ref["delivered_mg"],
        }
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    print(json.dumps(run(ap.parse_args().quick), indent=2))
