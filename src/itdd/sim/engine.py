"""The event-driven engine: one heap of timed actions around an implant.

External actions (a scenario event, a patient's bolus request, a clinic visit) are scheduled at
instants; between them the implant moves itself exactly (:meth:`Implant.run_until`).  Actions at
the same instant run in (priority, insertion) order, so a run is fully deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Clocked(Protocol):
    """What the engine needs of the thing it runs (an :class:`itdd.pump.implant.Implant`): its
    present instant, and a way to move itself exactly to a later one."""

    @property
    def t_s(self) -> float: ...

    def run_until(self, t_end_s: float) -> None: ...


Action = Callable[["Simulation"], None]


@dataclass(slots=True)
class _Item:
    time_s: float
    action: Action
    label: str = ""
    cancelled: bool = False


Scheduled = _Item  # what :meth:`Simulation.schedule` returns: a handle for :meth:`Simulation.cancel`


class Simulation:
    def __init__(self, implant: Clocked, start_s: float, end_s: float) -> None:
        self.implant = implant
        self.start_s = start_s
        self.end_s = end_s
        # (time, priority, insertion, item): plain tuples compare fast; seq is unique, so the item
        # itself is never compared.
        self._heap: list[tuple[float, int, int, _Item]] = []
        self._seq = 0
        self.context: dict[str, Any] = {}  # room for layers above (patient, programmer)

    @property
    def now_s(self) -> float:
        return self.implant.t_s

    def schedule(self, time_s: float, action: Action, *, priority: int = 0, label: str = "") -> _Item | None:
        """Run ``action`` at ``time_s`` (not before the present; not after the end).

        Returns a handle for :meth:`cancel` (``None`` when ``time_s`` is after the end)."""
        if time_s < self.implant.t_s - 1e-6:
            raise ValueError(f"cannot schedule {label or 'an action'} in the past")
        if time_s > self.end_s:
            return None
        self._seq += 1
        item = _Item(max(time_s, self.implant.t_s), action, label)
        heapq.heappush(self._heap, (item.time_s, priority, self._seq, item))
        return item

    @staticmethod
    def cancel(item: _Item | None) -> None:
        """A scheduled action will not run (the run does not even stop at its instant)."""
        if item is not None:
            item.cancelled = True

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        # self.implant is read at every step: an action may replace the implant (pump replacement).
        span = max(self.end_s - self.start_s, 1e-9)
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= self.end_s:
            item = pop(heap)[3]
            if item.cancelled:
                continue
            self.implant.run_until(item.time_s)
            item.action(self)
            if progress is not None:
                progress((self.implant.t_s - self.start_s) / span)
        self.implant.run_until(self.end_s)
        if progress is not None:
            progress(1.0)
