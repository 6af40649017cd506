"""The firmware's own record of what it delivered, and the two sums the predictive 24 h maximum reads.

The **history** is a deque of entries ``(t0_s, t1_s, mg_per_day)`` in time order, not overlapping,
covering the last 48 h: what the firmware commanded (not what reached the patient).  Each entry's
amount is ``mg_per_day * (t1_s - t0_s) / DAY_S`` (its *term*).

Beside it, the **running count** ``cums``: a deque of integers, one longer than the history,
``cums[k + 1] = cums[k] + units(term_k)`` with ``units(x) = int(x * SCALE) + 1``.  ``x * SCALE`` is
exact (a power of two), ``int`` rounds down, so ``units(x) > x * SCALE``: the count is an exact
integer, and ``(cums[-1] - cums[i]) / SCALE`` is more than the sum of the terms from entry ``i``
on.  Integers, not floats: a float running total would carry the rounding of every amount since
the pump started; a difference of integers is exact however long it runs.

:func:`record` is the one place that appends to the history, extends its last entry and
expires old ones, keeping the count in step.  The plain regime of the hot loop
(:func:`itdd.pump.plain.run_plain`) writes the same steps inline (it runs ~5,000 times a
pump-year); ``tests/pump/test_stepper.py`` checks after every command of its random sequences
that the count is :func:`cumulative` of the history, for both loops.  A history set from
elsewhere (the firmware's seeding, a loaded state) gets its count from :func:`cumulative` on first
use (``Firmware.history_cums``).

:func:`delivered_mg_between` is the exact sum the maximum compares with its limit;
:func:`bound_since` is the cheap upper bound that lets a patient bolus far under the limit be
granted without it (``Firmware.ptm_upper_bound_mg``; the proof is there).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from itertools import islice
from operator import itemgetter

from .therapy import DAY_S

EPS_S = 1e-6  # itdd.pump.firmware.EPS_S (that module imports this one): two entries this close are one
SCALE = 2.0**40  # running-count units per mg: 2**-40 mg (~1e-12 mg) each
# DAY_S (an int) as a float, for the hot loops: a float and an int are combined by converting the
# int to the same double (86,400 is exact), so the results are the same bit for bit, but the
# interpreter's float-only fast paths apply
DAY_F = float(DAY_S)
TWO_DAYS_S = 2.0 * DAY_S
Entry = tuple[float, float, float]
END_S = itemgetter(1)  # of an entry (its end)


def units(term_mg: float) -> int:
    """An entry's amount in running-count units, rounded up: more than ``term_mg * SCALE``."""
    return int(term_mg * SCALE) + 1


def cumulative(history: deque[Entry]) -> deque[int]:
    """The running count of ``history`` from 0."""
    c = 0
    cums = deque([c])
    for t0, t1, mg in history:
        c += int(mg * (t1 - t0) / DAY_S * SCALE) + 1
        cums.append(c)
    return cums


def record(history: deque[Entry], cums: deque[int], t0_s: float, t1_s: float, mg: float) -> None:
    """``mg`` mg/day commanded over [t0, t1] (``mg > 0``): extend the last entry if it has the same
    rate and ends at t0, else append one; then drop the entries that ended more than 48 h before t1."""
    if history:
        first, end, last_mg = history[-1]
        if last_mg == mg and abs(end - t0_s) < EPS_S:
            history[-1] = (first, t1_s, mg)
            cums[-1] = cums[-2] + int(mg * (t1_s - first) / DAY_S * SCALE) + 1
            _expire(history, cums, t1_s)
            return
    history.append((t0_s, t1_s, mg))
    cums.append(cums[-1] + int(mg * (t1_s - t0_s) / DAY_S * SCALE) + 1)
    _expire(history, cums, t1_s)


def _expire(history: deque[Entry], cums: deque[int], t1_s: float) -> None:
    horizon = t1_s - TWO_DAYS_S
    while history[0][1] < horizon:  # (not empty: an entry ending at t1 was just written)
        history.popleft()
        cums.popleft()


def delivered_mg_between(history: deque[Entry], a_s: float, b_s: float) -> float:
    """What the history holds in [a, b]: the sum, in time order, of each entry's part inside it,
    ``mg * (hi - lo) / DAY_S``.

    The entries are in time order and do not overlap, so only the first entry that ends after a
    and the one that holds b can be cut; every entry between lies wholly inside, and its part is
    exactly its term, added in the same order, one ``+`` at a time, as the loop would (not
    ``sum``: from Python 3.12 on it compensates the rounding of floats)."""
    h = history
    n = len(h)
    i = bisect_right(h, a_s, key=END_S)  # the first entry that ends after a
    if i >= n:
        return 0.0
    t0, t1, mg = h[i]
    if t0 >= b_s:
        return 0.0
    total = 0.0
    lo = t0 if t0 > a_s else a_s
    hi = t1 if t1 < b_s else b_s
    if hi > lo:
        total += mg * (hi - lo) / DAY_S
    if t1 >= b_s:
        return total
    j = bisect_right(h, b_s, key=END_S, lo=i + 1)  # entries i+1 .. j-1 end by b
    # (an entry of zero length adds 0.0 here and nothing in the loop: the same total)
    for t0, t1, mg in islice(h, i + 1, j):
        total += mg * (t1 - t0) / DAY_S
    if j < n:
        t0, t1, mg = h[j]
        if t0 < b_s:  # the entry that holds b (it starts after a: after entry i's end)
            lo = t0 if t0 > a_s else a_s
            if b_s > lo:
                total += mg * (b_s - lo) / DAY_S
    return total


def bound_since(history: deque[Entry], cums: deque[int], a_s: float) -> float:
    """More than the sum of the terms of every entry that ends after ``a_s`` (to within the
    rounding of one division: ``(cums[-1] - cums[i]) / SCALE``, an exact integer over a power of
    two, correctly rounded)."""
    return (cums[-1] - cums[bisect_right(history, a_s, key=END_S)]) / SCALE
