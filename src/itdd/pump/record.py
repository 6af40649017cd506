"""The exact piecewise record of a simulation.

Between two consecutive breakpoints every rate is constant, so the record stores, for each
interval, the *amounts* moved in it (exact, not sampled).  Any output at any resolution (daily
totals, hourly rates, a plot) is derived from these intervals by splitting them proportionally at
the output's boundaries; nothing is ever integrated with a time step.

Point doses (an injection through the catheter access port, a screening-trial lumbar puncture)
are kept as instantaneous amounts beside the intervals.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from ..quantities import SECONDS_PER_DAY, local_date, start_of_local_day_s

DAY_S = SECONDS_PER_DAY


@dataclass(frozen=True, slots=True)
class Interval:
    t0_s: float
    t1_s: float
    pumped_ml: float  # left the reservoir (hardware truth)
    csf_ml: float  # reached the spinal fluid
    csf_mg: float
    tissue_mg: float  # left the catheter but did not reach the spinal fluid
    programmed_mg: float  # what the firmware believes it delivered
    reservoir_ml: float  # actual, at t0
    estimate_ml: float  # firmware estimate, at t0
    commanded_ml: float  # what the firmware commanded the motor to move
    drug: str  # drug leaving the catheter tip
    state: str  # firmware state during the interval (infusing, stopped, motor_stalled, ...)

    @property
    def duration_s(self) -> float:
        return self.t1_s - self.t0_s


@dataclass(frozen=True, slots=True)
class PointDose:
    time_s: float
    csf_mg: float
    volume_ml: float
    drug: str
    route: str  # e.g. "catheter_access_port", "lumbar_puncture"


class Record:
    """Column store of intervals (append-only, in time order)."""

    __slots__ = (
        "appenders",
        "commanded_ml",
        "csf_mg",
        "csf_ml",
        "drug",
        "estimate_ml",
        "points",
        "programmed_mg",
        "pumped_ml",
        "reservoir_ml",
        "state",
        "t0",
        "t1",
        "tissue_mg",
    )

    def __init__(self) -> None:
        self.t0: list[float] = []
        self.t1: list[float] = []
        self.pumped_ml: list[float] = []
        self.csf_ml: list[float] = []
        self.csf_mg: list[float] = []
        self.tissue_mg: list[float] = []
        self.programmed_mg: list[float] = []
        self.reservoir_ml: list[float] = []
        self.estimate_ml: list[float] = []
        self.commanded_ml: list[float] = []
        self.drug: list[str] = []
        self.state: list[str] = []
        self.points: list[PointDose] = []
        self._bind()

    def _bind(self) -> None:
        # the columns' append methods in append()'s order, for the implant's hot loop
        self.appenders = (
            self.t0.append,
            self.t1.append,
            self.pumped_ml.append,
            self.csf_ml.append,
            self.csf_mg.append,
            self.tissue_mg.append,
            self.programmed_mg.append,
            self.reservoir_ml.append,
            self.estimate_ml.append,
            self.commanded_ml.append,
            self.drug.append,
            self.state.append,
        )

    def append(
        self,
        t0: float,
        t1: float,
        pumped_ml: float,
        csf_ml: float,
        csf_mg: float,
        tissue_mg: float,
        programmed_mg: float,
        reservoir_ml: float,
        estimate_ml: float,
        commanded_ml: float,
        drug: str,
        state: str = "",
    ) -> None:
        self.t0.append(t0)
        self.t1.append(t1)
        self.pumped_ml.append(pumped_ml)
        self.csf_ml.append(csf_ml)
        self.csf_mg.append(csf_mg)
        self.tissue_mg.append(tissue_mg)
        self.programmed_mg.append(programmed_mg)
        self.reservoir_ml.append(reservoir_ml)
        self.estimate_ml.append(estimate_ml)
        self.commanded_ml.append(commanded_ml)
        self.drug.append(drug)
        self.state.append(state)

    # A copy (pickle, copy.deepcopy) binds its appenders to its own columns.
    def __getstate__(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "appenders"}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._bind()

    def add_point(self, dose: PointDose) -> None:
        self.points.append(dose)

    def __len__(self) -> int:
        return len(self.t0)

    def intervals(self) -> Iterator[Interval]:
        for i in range(len(self.t0)):
            yield self[i]

    def __getitem__(self, i: int) -> Interval:
        return Interval(
            self.t0[i],
            self.t1[i],
            self.pumped_ml[i],
            self.csf_ml[i],
            self.csf_mg[i],
            self.tissue_mg[i],
            self.programmed_mg[i],
            self.reservoir_ml[i],
            self.estimate_ml[i],
            self.commanded_ml[i],
            self.drug[i],
            self.state[i],
        )

    # ---- exact integrals -----------------------------------------------------------------------
    def total(self, column: str, a_s: float = -math.inf, b_s: float = math.inf) -> float:
        """Exact amount of ``column`` (an amount column such as ``csf_mg``) moved in [a, b]."""
        values: list[float] = getattr(self, column)
        t0s, t1s = self.t0, self.t1
        total = 0.0
        start = max(bisect_right(t1s, a_s) - 1, 0) if a_s > -math.inf else 0
        for i in range(start, len(t0s)):
            t0, t1 = t0s[i], t1s[i]
            if t0 >= b_s:
                break
            if t1 <= a_s:
                continue
            v = values[i]
            if v == 0.0:
                continue
            lo, hi = max(t0, a_s), min(t1, b_s)
            if lo <= t0 and hi >= t1:
                total += v
            elif t1 > t0:
                total += v * (hi - lo) / (t1 - t0)
        if column in ("csf_mg", "csf_ml"):
            attr = "csf_mg" if column == "csf_mg" else "volume_ml"
            for p in self.points:
                if a_s <= p.time_s < b_s:
                    total += getattr(p, attr)
        return total

    def level_at(self, column: str, t_s: float) -> float:
        """A level column (``reservoir_ml``, ``estimate_ml``) at an instant, exact (linear within)."""
        i = bisect_right(self.t0, t_s) - 1
        if i < 0:
            i = 0
        levels: list[float] = getattr(self, column)
        moved = self.pumped_ml if column == "reservoir_ml" else self.commanded_ml
        t0, t1 = self.t0[i], self.t1[i]
        frac = min(max((t_s - t0) / (t1 - t0), 0.0), 1.0) if t1 > t0 else 1.0
        return levels[i] - moved[i] * frac

    def rate_at(self, column: str, t_s: float) -> float:
        """The constant rate of an amount column per day at an instant (right-continuous)."""
        i = bisect_right(self.t0, t_s) - 1
        if i < 0 or i >= len(self.t0) or t_s >= self.t1[i]:
            return 0.0
        values: list[float] = getattr(self, column)
        return values[i] / (self.t1[i] - self.t0[i]) * DAY_S

    def daily(self, offset_s: int, start_s: float, end_s: float) -> list[dict[str, float | str]]:
        """One row per calendar day (in the fixed UTC offset) from ``start_s`` to ``end_s``."""
        rows: list[dict[str, float | str]] = []
        day0 = start_of_local_day_s(start_s, offset_s)
        n_days = max(1, math.ceil((end_s - day0) / DAY_S - 1e-9))
        acc = [[0.0, 0.0, 0.0, 0.0, 0.0] for _ in range(n_days)]  # pumped, csf_ml, csf_mg, tissue, prog
        cols = (self.pumped_ml, self.csf_ml, self.csf_mg, self.tissue_mg, self.programmed_mg)
        t0s, t1s = self.t0, self.t1
        for i in range(len(t0s)):
            t0, t1 = t0s[i], t1s[i]
            dur = t1 - t0
            if dur <= 0:
                continue
            vals = [c[i] for c in cols]
            if not any(vals):
                continue
            d = int((t0 - day0) // DAY_S)
            t = t0
            while t < t1 and d < n_days:
                boundary = day0 + (d + 1) * DAY_S
                hi = min(t1, boundary)
                f = (hi - t) / dur
                row = acc[d]
                for k in range(5):
                    row[k] += vals[k] * f
                t = hi
                d += 1
        for p in self.points:
            d = int((p.time_s - day0) // DAY_S)
            if 0 <= d < n_days:
                acc[d][1] += p.volume_ml
                acc[d][2] += p.csf_mg
        for d in range(n_days):
            pumped, csf_ml, csf_mg, tissue, prog = acc[d]
            rows.append(
                {
                    "date": local_date(day0 + d * DAY_S, offset_s),
                    "pumped_ml": pumped,
                    "delivered_ml": csf_ml,
                    "delivered_mg": csf_mg,
                    "lost_mg": tissue,
                    "programmed_mg": prog,
                }
            )
        return rows
