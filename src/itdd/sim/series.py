"""Compact plot-ready series derived from the exact piecewise record (``result["series"]``).

The record (:mod:`itdd.pump.record`) holds every interval between two breakpoints; a multi-year
run with patient boluses has tens of thousands of them.  A report or a JSON reader needs far
fewer points, without losing what matters.  This module derives, from the record alone:

* **reservoir** -- the actual volume (hardware truth) and the pump's estimate, each as an exact
  polyline (between two breakpoints a level falls linearly; at a refill it jumps, written as two
  points at the same instant).  When the polyline has more vertices than the budget it is
  simplified with the Ramer-Douglas-Peucker rule on the *vertical* (volume) distance, with the
  smallest tolerance that fits; the tolerance is returned as ``max_error_ml`` and bounds the
  difference between the simplified and the exact line everywhere.  Jumps (refills) and the
  instants of notable events (alarms, faults, MRI, programming) are never removed.
* **dose** -- the programmed dose (what the firmware believes it delivers, boluses included) and
  the dose that reached the spinal fluid, as step series in mg/day.  Exact breakpoints when they
  fit the budget; otherwise the exact mean over fixed bins aligned to local midnight in the
  scenario's UTC offset (``bin_days``), so each bin's area is the exact amount delivered in it.
* **point doses** (injections through the catheter access port) and the drug at the catheter
  tip whenever it changes.

Times are days since ``origin`` (the scenario start, ISO 8601 with its UTC offset), rounded to
1e-6 day (0.09 s); levels and rates carry 7 significant digits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..pump.record import Record
from ..quantities import SECONDS_PER_DAY, iso, start_of_local_day_s

DAY_S = SECONDS_PER_DAY

# Budget of points per series (assumption: a plot 1,400 px wide cannot show more; keeps the JSON of
# a multi-year run to a few hundred kB).  Points forced by jumps and notable events come on top.
MAX_POINTS_PER_SERIES = 1500

# Bin widths tried, smallest first, when a dose step series must be binned (assumption: round
# clinical periods; one day makes bins equal the result's "daily" rows).
BIN_WIDTHS_DAYS: tuple[float, ...] = (1 / 24, 2 / 24, 3 / 24, 6 / 24, 12 / 24, 1.0, 2.0, 7.0, 14.0, 28.0, 91.0)

# Event types whose instants stay as vertices of the reservoir lines.
KEEP_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "therapy_programmed",
        "therapy_stopped",
        "therapy_resumed",
        "low_reservoir_alarm",
        "reservoir_empty_alarm",
        "motor_stall",
        "motor_stall_recovery",
        "eri_alarm",
        "end_of_service",
        "refill",
        "catheter_access_port_injection",
        "catheter_fault",
        "catheter_revision",
        "magnetic_field_on",
        "magnetic_field_off",
        "reservoir_depleted",
    }
)

_DAY_DIGITS = 6  # 1e-6 day = 0.0864 s
_SIG_DIGITS = 7
_JUMP_ML = 1e-9  # a level change bigger than this between two intervals is a jump (refill)


def _sig(x: float) -> float:
    if x == 0.0 or not math.isfinite(x):
        return 0.0 if x == 0.0 else x
    return float(f"{x:.{_SIG_DIGITS}g}")


def _days(t_s: float, origin_s: float) -> float:
    return round((t_s - origin_s) / DAY_S, _DAY_DIGITS)


# ---- reservoir levels --------------------------------------------------------------------------


def level_polyline(record: Record, column: str) -> tuple[list[float], list[float]]:
    """The exact polyline of a level column: vertices (t_s, level); a jump is two equal-time points."""
    moved_col = "pumped_ml" if column == "reservoir_ml" else "commanded_ml"
    levels: list[float] = getattr(record, column)
    moved: list[float] = getattr(record, moved_col)
    ts: list[float] = []
    ys: list[float] = []
    for i in range(len(record)):
        t0, t1 = record.t0[i], record.t1[i]
        y0 = levels[i]
        y1 = y0 - moved[i]
        if ts and abs(ts[-1] - t0) <= 1e-9 and abs(ys[-1] - y0) <= _JUMP_ML:
            pass  # continuous with the previous interval
        else:
            ts.append(t0)
            ys.append(y0)
        ts.append(t1)
        ys.append(y1)
    return ts, ys


def _pieces(ts: Sequence[float], ys: Sequence[float], keep_s: Sequence[float]) -> list[tuple[int, int]]:
    """Index ranges [a, b] of continuous stretches, also cut at the vertices nearest each keep time."""
    cuts = {0, len(ts) - 1}
    for i in range(1, len(ts)):
        if ts[i] == ts[i - 1]:  # a jump: both of its points are fixed
            cuts.add(i - 1)
            cuts.add(i)
    if keep_s:
        arr = np.asarray(ts)
        for k in keep_s:
            j = int(np.searchsorted(arr, k))
            for c in (j - 1, j):
                if 0 <= c < len(ts) and abs(ts[c] - k) <= 1e-6:
                    cuts.add(c)
    order = sorted(cuts)
    return [(a, b) for a, b in itertools.pairwise(order) if b > a and ts[b] > ts[a]]


def _rdp_thresholds(t: np.ndarray, y: np.ndarray, a: int, b: int, out: np.ndarray) -> None:
    """For each vertex in (a, b): the largest tolerance at which RDP (vertical distance) keeps it."""
    stack = [(a, b, math.inf)]
    while stack:
        lo, hi, bound = stack.pop()
        if hi - lo < 2:
            continue
        ti, yi = t[lo + 1 : hi], y[lo + 1 : hi]
        span = t[hi] - t[lo]
        line = y[lo] + (y[hi] - y[lo]) * ((ti - t[lo]) / span if span > 0 else 0.0)
        dev = np.abs(yi - line)
        k = int(np.argmax(dev))
        d = float(dev[k])
        mid = lo + 1 + k
        th = min(bound, d)
        out[mid] = th
        stack.append((lo, mid, th))
        stack.append((mid, hi, th))


def simplify_polyline(
    ts: Sequence[float], ys: Sequence[float], keep_s: Sequence[float] = (), max_points: int = MAX_POINTS_PER_SERIES
) -> tuple[list[float], list[float], float]:
    """Fewest vertices within the budget; returns (t, y, max vertical error).

    Jumps and vertices at ``keep_s`` instants are always kept.  The error is exact: every point of
    the original polyline lies within it of the simplified one (both are linear between vertices).
    """
    n = len(ts)
    if n <= 2:
        return list(ts), list(ys), 0.0
    t = np.asarray(ts, dtype=float)
    y = np.asarray(ys, dtype=float)
    thresholds = np.zeros(n)
    fixed = np.zeros(n, dtype=bool)
    for a, b in _pieces(ts, ys, keep_s):
        fixed[a] = fixed[b] = True
        _rdp_thresholds(t, y, a, b, thresholds)
    fixed[0] = fixed[-1] = True
    for i in range(1, n):
        if ts[i] == ts[i - 1]:
            fixed[i] = fixed[i - 1] = True
    thresholds[fixed] = math.inf
    # Collinear vertices (deviation ~ 0) never carry information.
    scale = max(float(np.max(np.abs(y))), 1.0)
    eps = 1e-12 * scale
    candidates = np.sort(thresholds[~fixed & (thresholds > eps)])[::-1]
    room = max_points - int(fixed.sum())
    if room >= len(candidates):
        tol = eps
    elif room <= 0:
        tol = float(candidates[0]) if len(candidates) else eps
    else:
        tol = float(candidates[room])  # keep the `room` largest: those strictly above this value
    keep = fixed | (thresholds > tol)
    idx = np.nonzero(keep)[0]
    err = 0.0 if tol <= eps else tol
    return [float(t[i]) for i in idx], [float(y[i]) for i in idx], err


def _level_series(
    record: Record, column: str, origin_s: float, keep_s: Sequence[float], max_points: int
) -> dict[str, Any]:
    ts, ys = level_polyline(record, column)
    exact_points = len(ts)
    st, sy, err = simplify_polyline(ts, ys, keep_s, max_points)
    return {
        "days": [_days(x, origin_s) for x in st],
        "ml": [_sig(v) for v in sy],
        "max_error_ml": _sig(err),
        "exact_points": exact_points,
    }


# ---- dose step series --------------------------------------------------------------------------


def _steps(record: Record) -> tuple[list[float], list[float], list[float]]:
    """Exact step breakpoints: (t_s, programmed mg/day, delivered mg/day) holding until the next t."""
    ts: list[float] = []
    prog: list[float] = []
    deliv: list[float] = []
    last_t1 = None
    for i in range(len(record)):
        t0, t1 = record.t0[i], record.t1[i]
        dur = t1 - t0
        if dur <= 0:
            continue
        if last_t1 is not None and t0 > last_t1 + 1e-9:  # a gap: nothing recorded, nothing delivered
            ts.append(last_t1)
            prog.append(0.0)
            deliv.append(0.0)
        p = record.programmed_mg[i] / dur * DAY_S
        d = record.csf_mg[i] / dur * DAY_S
        if ts and _same(prog[-1], p) and _same(deliv[-1], d):
            last_t1 = t1
            continue
        ts.append(t0)
        prog.append(p)
        deliv.append(d)
        last_t1 = t1
    if last_t1 is not None:
        ts.append(last_t1)
        prog.append(prog[-1])
        deliv.append(deliv[-1])
    return ts, prog, deliv


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12)


def _cumulative(record: Record, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints and the exact running total of an amount column (linear in between)."""
    t0 = np.asarray(record.t0, dtype=float)
    t1 = np.asarray(record.t1, dtype=float)
    v = np.asarray(getattr(record, column), dtype=float)
    t = np.empty(2 * len(t0))
    t[0::2], t[1::2] = t0, t1
    c = np.empty(2 * len(t0))
    run = np.concatenate(([0.0], np.cumsum(v)))
    c[0::2], c[1::2] = run[:-1], run[1:]
    return t, c


def binned_rates(
    record: Record, column: str, edges_s: np.ndarray
) -> np.ndarray:  # mg/day: exact mean of an amount column over each bin
    t, c = _cumulative(record, column)
    if len(t) == 0:
        return np.zeros(max(len(edges_s) - 1, 0))
    f = np.interp(edges_s, t, c)
    widths = np.diff(edges_s)
    return np.diff(f) / widths * DAY_S


def _dose_series(record: Record, origin_s: float, offset_s: int, max_points: int) -> dict[str, Any]:
    ts, prog, deliv = _steps(record)
    exact_points = len(ts)
    if exact_points <= max_points:
        return {
            "days": [_days(x, origin_s) for x in ts],
            "programmed_mg_per_day": [_sig(v) for v in prog],
            "delivered_mg_per_day": [_sig(v) for v in deliv],
            "bin_days": None,
            "exact_points": exact_points,
        }
    lo = record.t0[0]
    hi = record.t1[-1]
    day0 = start_of_local_day_s(lo, offset_s)
    width_days = BIN_WIDTHS_DAYS[-1]
    for w in BIN_WIDTHS_DAYS:
        if (hi - day0) / (w * DAY_S) <= max_points:
            width_days = w
            break
    n_bins = max(1, math.ceil((hi - day0) / (width_days * DAY_S) - 1e-9))
    edges = np.clip(day0 + np.arange(n_bins + 1) * width_days * DAY_S, lo, hi)
    edges[-1] = hi
    p = binned_rates(record, "programmed_mg", edges)
    d = binned_rates(record, "csf_mg", edges)
    days: list[float] = []
    pv: list[float] = []
    dv: list[float] = []
    for k in range(len(edges) - 1):
        if edges[k + 1] <= edges[k]:
            continue
        if pv and _same(pv[-1], float(p[k])) and _same(dv[-1], float(d[k])):
            continue
        days.append(_days(float(edges[k]), origin_s))
        pv.append(float(p[k]))
        dv.append(float(d[k]))
    days.append(_days(float(edges[-1]), origin_s))
    pv.append(pv[-1] if pv else 0.0)
    dv.append(dv[-1] if dv else 0.0)
    return {
        "days": days,
        "programmed_mg_per_day": [_sig(v) for v in pv],
        "delivered_mg_per_day": [_sig(v) for v in dv],
        "bin_days": width_days,
        "exact_points": exact_points,
    }


# ---- the whole series block --------------------------------------------------------------------


def _drug_changes(record: Record, origin_s: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    last = None
    for i in range(len(record)):
        drug = record.drug[i]
        if drug != last:
            out.append({"day": _days(record.t0[i], origin_s), "drug": drug})
            last = drug
    return out


def series_of(
    record: Record,
    log_entries: Iterable[Any],
    start_s: float,
    end_s: float,
    offset_s: int,
    max_points: int = MAX_POINTS_PER_SERIES,
) -> dict[str, Any]:
    """``result["series"]`` from the exact record (``log_entries``: the full history, for keep times)."""
    keep_s = sorted({float(e.time_s) for e in log_entries if e.type in KEEP_EVENT_TYPES})
    origin_s = start_s
    empty = len(record) == 0
    return {
        "origin": iso(origin_s, offset_s),
        "time_unit": "days since origin",
        "max_points": max_points,
        "reservoir": {
            "actual": _level_series(record, "reservoir_ml", origin_s, keep_s, max_points)
            if not empty
            else {"days": [], "ml": [], "max_error_ml": 0.0, "exact_points": 0},
            "estimate": _level_series(record, "estimate_ml", origin_s, keep_s, max_points)
            if not empty
            else {"days": [], "ml": [], "max_error_ml": 0.0, "exact_points": 0},
        },
        "dose": _dose_series(record, origin_s, offset_s, max_points)
        if not empty
        else {
            "days": [],
            "programmed_mg_per_day": [],
            "delivered_mg_per_day": [],
            "bin_days": None,
            "exact_points": 0,
        },
        "point_doses": [
            {"day": _days(p.time_s, origin_s), "mg": _sig(p.csf_mg), "drug": p.drug, "route": p.route}
            for p in record.points
        ],
        "drug_at_tip": _drug_changes(record, origin_s),
    }


__all__ = ["MAX_POINTS_PER_SERIES", "level_polyline", "series_of", "simplify_polyline"]
