"""The hazard clock: exact event times of competing complications under piecewise-constant hazards.

The hazards themselves (rates, sources, what each does to the twin) are data in
:mod:`itdd.care.hazards`; this module samples when they happen.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .hazards import HAZARDS, INF, YEAR_S, Hazard, check_exposure, exposure_factor

__all__ = ["HazardClock"]


class HazardClock:
    """Exact event times of competing complications under piecewise-constant hazards.

    Each kind holds a threshold ``E ~ Exp(1)`` drawn from ``rng``; its cumulative hazard grows
    from an anchor time (implant, the last event, a renewal) at ``rate_at_age x exposure x
    rate_scale``; the event happens where it reaches ``E``.  Rates change only at component-age
    breakpoints (known in advance) and at :meth:`set_exposure`, so the crossing is solved exactly
    segment by segment.  Random draws happen only at construction (one per kind, in ``hazards``
    order), in :meth:`fire` (a recurrent kind) and in :meth:`resume` with ``renew=True``: the
    same seed and the same calls give the same events.

    Exposure is in the drug's own units (``dose_mg_per_day`` of ``drug``, ``conc_mg_per_ml``);
    before the first :meth:`set_exposure` there is no drug (granuloma hazard zero).

    Cost: a kind's hazard is accumulated only when its own rate changes (a dose change touches the
    granuloma alone), and each kind's next event time is cached until that kind changes, so an
    exposure change plus :meth:`next_event` is a few microseconds.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        start_s: float,
        hazards: Sequence[Hazard] = HAZARDS,
        *,
        rate_scale: float = 1.0,
    ) -> None:
        if not isinstance(start_s, (int, float)) or not math.isfinite(start_s):
            raise InputError("start_s", f"must be a finite time, got {start_s!r}")
        if not isinstance(rate_scale, (int, float)) or not math.isfinite(rate_scale) or rate_scale < 0:
            raise InputError("rate_scale", f"must be a finite number >= 0, got {rate_scale!r}")
        kinds = [h.kind for h in hazards]
        if len(set(kinds)) != len(kinds):
            raise InputError("hazards", "each kind may appear once")
        self.rng = rng
        self.hazards: tuple[Hazard, ...] = tuple(hazards)
        self.rate_scale = float(rate_scale)
        self._index = {k: i for i, k in enumerate(kinds)}
        n = len(self.hazards)
        t0 = float(start_s)
        self._t = t0  # the latest set_exposure time (they never go back)
        # per-kind profile in seconds: breakpoints (age s) and rates per second (scale included)
        self._bp: list[list[float]] = []
        self._rs: list[list[float]] = []
        for h in self.hazards:
            self._bp.append([a * YEAR_S for a, _ in h.profile])
            self._rs.append([r * self.rate_scale / YEAR_S for _, r in h.profile])
        self._exposed = [h.exposure != "none" for h in self.hazards]
        self._origin = [t0] * n  # component age 0
        self._anchor = [t0] * n  # cumulative hazard counted from here
        self._tk = [t0] * n  # hazard accumulated up to here (the kind's rate is constant after it)
        self._h = [0.0] * n  # hazard accumulated from the anchor up to max(anchor, tk)
        self._thr = [float(x) for x in rng.standard_exponential(n)]
        self._due: list[float | None] = [None] * n  # crossing time when it is already behind tk
        self._next: list[float | None] = [None] * n  # cached next event time (None: to compute)
        self._active = [True] * n
        self._disabled = [False] * n
        self._factor = [exposure_factor(h, 0.0, 0.0, "") for h in self.hazards]
        self._exposure: tuple[float, float, str] = (0.0, 0.0, "")
        # exposure history (for events fired or resumed at a time behind a kind's accumulation)
        self._hist_t: list[float] = [t0]
        self._hist_f: list[list[float]] = [list(self._factor)]

    # ---- public API ------------------------------------------------------------------------------
    @property
    def t_s(self) -> float:
        """The time of the latest exposure (the clock never goes back before it)."""
        return self._t

    @property
    def exposure(self) -> tuple[float, float, str]:
        """The current exposure: ``(dose_mg_per_day, conc_mg_per_ml, drug)``."""
        return self._exposure

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(h.kind for h in self.hazards)

    def set_exposure(self, t_s: float, *, dose_mg_per_day: float, conc_mg_per_ml: float, drug: str) -> None:
        """The drug exposure from ``t_s`` on (``t_s`` never decreases)."""
        self._check_time(t_s, "t_s")
        if t_s < self._t:
            raise InputError("t_s", f"time moves forward only: {t_s} is before the last exposure ({self._t})")
        check_exposure(dose_mg_per_day, conc_mg_per_ml, drug)
        t = float(t_s)
        self._t = t
        exposure = (float(dose_mg_per_day), float(conc_mg_per_ml), drug)
        if exposure == self._exposure:
            return
        self._exposure = exposure
        changed = False
        for i, h in enumerate(self.hazards):
            if not self._exposed[i]:
                continue
            f = exposure_factor(h, dose_mg_per_day, conc_mg_per_ml, drug)
            if f == self._factor[i]:
                continue
            changed = True
            if self._active[i]:
                self._accumulate(i, t)
            self._tk[i] = max(self._tk[i], t)
            self._factor[i] = f
            self._next[i] = None
        if changed:
            if self._hist_t[-1] == t:
                self._hist_f[-1] = list(self._factor)
            else:
                self._hist_t.append(t)
                self._hist_f.append(list(self._factor))

    def next_event(self) -> tuple[float, str] | None:
        """The earliest pending event ``(t_s, kind)`` under the current exposure, or None."""
        best_t = INF
        best_i = -1
        for i in range(len(self.hazards)):
            if not self._active[i]:
                continue
            t = self._next[i]
            if t is None:
                due = self._due[i]
                if due is None:
                    start = max(self._anchor[i], self._tk[i])
                    t = self._solve(i, start, self._thr[i] - self._h[i], self._factor[i])
                else:
                    t = due
                self._next[i] = t
            if t < best_t:
                best_t, best_i = t, i
        return None if best_i < 0 else (best_t, self.hazards[best_i].kind)

    def fire(self, kind: str, t_s: float) -> None:
        """``kind`` happened at ``t_s``: a fresh threshold from ``t_s`` (or disabled, if once only)."""
        i = self._kind_index(kind)
        self._check_time(t_s, "t_s")
        if not self._active[i]:
            raise InputError("kind", f"'{kind}' is {'disabled' if self._disabled[i] else 'suspended'}")
        if self.hazards[i].once:
            self._active[i] = False
            self._disabled[i] = True
            self._due[i] = None
            self._next[i] = None
            return
        self._restart(i, float(t_s), fresh=True, renew=False)

    def suspend(self, kind: str, t_s: float | None = None) -> None:
        """No hazard for ``kind`` (or a group: ``"catheter"``, ``"all"``) from ``t_s`` (default: now).

        Any pending event of a suspended kind is dropped.
        """
        if t_s is not None:
            self._check_time(t_s, "t_s")
        for i in self._indices(kind):
            if not self._active[i]:
                continue
            if t_s is not None and t_s > self._tk[i]:
                self._accumulate(i, float(t_s))
            self._active[i] = False
            self._due[i] = None
            self._next[i] = None

    def resume(self, kind: str, t_s: float, *, renew: bool = True) -> None:
        """Hazard for ``kind`` (or a group) again from ``t_s``.

        ``renew=True`` (default): a new component (revised catheter, new pump) — age 0 at ``t_s``
        and a fresh threshold.  ``renew=False``: the same component, the hazard it had accumulated
        is kept.  Disabled (once-only, fired) kinds stay disabled.
        """
        self._check_time(t_s, "t_s")
        for i in self._indices(kind):
            if self._disabled[i] or self._active[i]:
                continue
            self._active[i] = True
            self._restart(i, float(t_s), fresh=renew, renew=renew)

    def is_active(self, kind: str) -> bool:
        return self._active[self._kind_index(kind)]

    def rate_per_year(self, kind: str, t_s: float | None = None) -> float:
        """Current hazard of ``kind`` per year at ``t_s`` (default: now), 0 if inactive."""
        i = self._kind_index(kind)
        if not self._active[i]:
            return 0.0
        t = self._t if t_s is None else float(t_s)
        return self._rate_s(i, t) * self._factor_at(i, t) * YEAR_S

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (the generator's state included)."""
        return {
            "t_s": self._t,
            "rate_scale": self.rate_scale,
            "kinds": list(self.kinds),
            "origin": list(self._origin),
            "anchor": list(self._anchor),
            "tk": list(self._tk),
            "h": list(self._h),
            "thr": list(self._thr),
            "due": list(self._due),
            "active": list(self._active),
            "disabled": list(self._disabled),
            "factor": list(self._factor),
            "exposure": list(self._exposure),
            "hist_t": list(self._hist_t),
            "hist_f": [list(f) for f in self._hist_f],
            "rng": self.rng.bit_generator.state,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], hazards: Sequence[Hazard] = HAZARDS) -> HazardClock:
        if list(data.get("kinds", [])) != [h.kind for h in hazards]:
            raise InputError("kinds", "the saved clock was made with other hazards")
        try:
            rng = np.random.default_rng()
            rng.bit_generator.state = data["rng"]
            # build on a throwaway generator (no draw from ``rng``), then overwrite the state
            clock = cls(np.random.default_rng(0), data["t_s"], hazards, rate_scale=data["rate_scale"])
            clock.rng = rng
            clock._origin = [float(x) for x in data["origin"]]
            clock._anchor = [float(x) for x in data["anchor"]]
            clock._tk = [float(x) for x in data["tk"]]
            clock._h = [float(x) for x in data["h"]]
            clock._thr = [float(x) for x in data["thr"]]
            clock._due = [None if x is None else float(x) for x in data["due"]]
            clock._active = [bool(x) for x in data["active"]]
            clock._disabled = [bool(x) for x in data["disabled"]]
            clock._factor = [float(x) for x in data["factor"]]
            dose, conc, drug = data["exposure"]
            clock._exposure = (float(dose), float(conc), str(drug))
            clock._hist_t = [float(x) for x in data["hist_t"]]
            clock._hist_f = [[float(v) for v in f] for f in data["hist_f"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError("clock", f"not a saved hazard clock ({type(exc).__name__}: {exc})") from None
        return clock

    # ---- internals -------------------------------------------------------------------------------
    @staticmethod
    def _check_time(t_s: float, field: str) -> None:
        if not isinstance(t_s, (int, float)) or not math.isfinite(t_s):
            raise InputError(field, f"must be a finite time, got {t_s!r}")

    def _kind_index(self, kind: str) -> int:
        i = self._index.get(kind)
        if i is None:
            raise InputError("kind", f"unknown complication '{kind}' (one of {', '.join(self.kinds)})")
        return i

    def _indices(self, kind: str) -> list[int]:
        if kind == "all":
            return list(range(len(self.hazards)))
        group = [i for i, h in enumerate(self.hazards) if h.group == kind]
        if group:
            return group
        return [self._kind_index(kind)]

    def _rate_s(self, i: int, t: float) -> float:
        """Baseline rate per second (scale included, exposure excluded) at time ``t``."""
        age = t - self._origin[i]
        k = bisect.bisect_right(self._bp[i], age) - 1
        return self._rs[i][max(k, 0)]

    def _integral(self, i: int, t0: float, t1: float) -> float:
        """Integral of the baseline rate over [t0, t1] (exposure excluded)."""
        if t1 <= t0:
            return 0.0
        bp, rs, origin = self._bp[i], self._rs[i], self._origin[i]
        if len(bp) == 1:
            return rs[0] * (t1 - t0)
        total = 0.0
        a0, a1 = t0 - origin, t1 - origin
        for k in range(len(bp)):
            lo = bp[k] if k > 0 else -INF
            hi = bp[k + 1] if k + 1 < len(bp) else INF
            seg_lo, seg_hi = max(a0, lo), min(a1, hi)
            if seg_hi > seg_lo:
                total += rs[k] * (seg_hi - seg_lo)
        return total

    def _solve(self, i: int, start: float, need: float, factor: float) -> float:
        """First time T >= start with factor x integral(start, T) = need (INF if never)."""
        if need <= 0.0:
            return start
        if factor <= 0.0:
            return INF
        bp, rs, origin = self._bp[i], self._rs[i], self._origin[i]
        k = max(bisect.bisect_right(bp, start - origin) - 1, 0)
        t = start
        while True:
            rate = rs[k] * factor
            end = origin + bp[k + 1] if k + 1 < len(bp) else INF
            if rate > 0.0:
                dt = need / rate
                if t + dt <= end:
                    return t + dt
            if end == INF:
                return INF
            need -= rate * (end - t)
            t = end
            k += 1

    def _factor_at(self, i: int, t: float) -> float:
        if t >= self._tk[i]:
            return self._factor[i]
        j = bisect.bisect_right(self._hist_t, t) - 1
        return self._hist_f[max(j, 0)][i]

    def _accumulate(self, i: int, t: float) -> None:
        """Add kind ``i``'s hazard from its accumulation time to ``t`` (its rate is constant there)."""
        start = max(self._anchor[i], self._tk[i])
        if t > start and self._due[i] is None:
            dh = self._factor[i] * self._integral(i, start, t)
            if self._h[i] + dh >= self._thr[i]:
                self._due[i] = self._solve(i, start, self._thr[i] - self._h[i], self._factor[i])
            self._h[i] += dh
        self._tk[i] = max(self._tk[i], t)

    def _restart(self, i: int, t: float, *, fresh: bool, renew: bool) -> None:
        """Count kind ``i`` from ``t`` (behind or ahead of its accumulation time)."""
        if renew:
            self._origin[i] = t
        if fresh:
            self._thr[i] = float(self.rng.standard_exponential())
            self._h[i] = 0.0
        self._anchor[i] = t
        self._due[i] = None
        self._next[i] = None
        tk = self._tk[i]
        if t < tk:
            # counted from a time behind: integrate over the exposure history up to tk
            h0 = self._h[i]
            self._h[i] = h0 + self._history_integral(i, t, tk)
            if self._h[i] >= self._thr[i]:
                self._due[i] = self._history_solve(i, t, tk, self._thr[i] - h0)
        else:
            self._tk[i] = t

    def _history_segments(self, t0: float, t1: float) -> list[tuple[float, float, int]]:
        out = []
        j = max(bisect.bisect_right(self._hist_t, t0) - 1, 0)
        while j < len(self._hist_t):
            lo = max(t0, self._hist_t[j])
            hi = min(t1, self._hist_t[j + 1] if j + 1 < len(self._hist_t) else INF)
            if hi > lo:
                out.append((lo, hi, j))
            if j + 1 >= len(self._hist_t) or self._hist_t[j + 1] >= t1:
                break
            j += 1
        return out

    def _history_integral(self, i: int, t0: float, t1: float) -> float:
        return sum(self._hist_f[j][i] * self._integral(i, lo, hi) for lo, hi, j in self._history_segments(t0, t1))

    def _history_solve(self, i: int, t0: float, t1: float, need: float) -> float:
        for lo, hi, j in self._history_segments(t0, t1):
            f = self._hist_f[j][i]
            part = f * self._integral(i, lo, hi)
            if part >= need:
                return min(self._solve(i, lo, need, f), hi)
            need -= part
        return t1
