"""The event-driven engine: one heap of timed actions around an implant.

External actions (a scenario event, a patient's bolus request, a clinic visit) are scheduled at
instants; between them the implant moves itself exactly (:meth:`Implant.run_until`).  Actions at
the same instant run in (priority, insertion) order, so a run is fully deterministic.

The pending actions are ordered by the key (time, priority, insertion number), unique, in two
places: a queue of actions scheduled in key order (a year of patient requests scheduled ahead, a
visit booking the next) and a heap of the others.  The next action is the smaller of the two
heads: the same order as one heap, but an action scheduled after the queue's last is appended and
taken in constant time instead of sifted through a heap of thousands.
"""

from __future__ import annotations

import heapq
from collections import deque
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


_SPILL = 8  # a queue this short that an action comes before is moved to the heap (a new queue starts)

Scheduled = _Item  # what :meth:`Simulation.schedule` returns: a handle for :meth:`Simulation.cancel`


class Simulation:
    def __init__(self, implant: Clocked, start_s: float, end_s: float) -> None:
        self.implant = implant
        self.start_s = start_s
        self.end_s = end_s
        # (time, priority, insertion, item): plain tuples compare fast; seq is unique, so the item
        # itself is never compared.  The queue holds entries in key order, the heap the others.
        self._heap: list[tuple[float, int, int, _Item]] = []
        self._queue: deque[tuple[float, int, int, _Item]] = deque()
        self._seq = 0
        self.context: dict[str, Any] = {}  # room for layers above (patient, programmer)

    @property
    def now_s(self) -> float:
        return self.implant.t_s

    def schedule(self, time_s: float, action: Action, *, priority: int = 0, label: str = "") -> _Item | None:
        """Run ``action`` at ``time_s`` (not before the present; not after the end).

        Returns a handle for :meth:`cancel` (``None`` when ``time_s`` is after the end)."""
        now = self.implant.t_s
        if time_s < now - 1e-6:
            raise ValueError(f"cannot schedule {label or 'an action'} in the past")
        if time_s > self.end_s:
            return None
        self._seq = seq = self._seq + 1
        at = now if now > time_s else time_s  # max(time_s, now)
        item = _Item(at, action, label)
        entry = (at, priority, seq, item)
        queue = self._queue
        if not queue or queue[-1] < entry:
            queue.append(entry)
        elif len(queue) <= _SPILL:  # a short queue out of order (a few actions ahead): to the heap
            heap = self._heap
            for e in queue:
                heapq.heappush(heap, e)
            queue.clear()
            queue.append(entry)
        else:
            heapq.heappush(self._heap, entry)
        return item

    @staticmethod
    def cancel(item: _Item | None) -> None:
        """A scheduled action will not run (the run does not even stop at its instant)."""
        if item is not None:
            item.cancelled = True

    def _pop_due(self, limit_s: float) -> _Item | None:
        """The next action (the smaller head of the queue and the heap) if it is due by
        ``limit_s``, taken out; else None."""
        queue, heap = self._queue, self._heap
        if queue and not (heap and heap[0] < queue[0]):
            if queue[0][0] > limit_s:
                return None
            return queue.popleft()[3]
        if heap and heap[0][0] <= limit_s:
            return heapq.heappop(heap)[3]
        return None

    def advance(self, t_s: float) -> None:
        """Run every action due by ``t_s``, in order, then move the implant to ``t_s``."""
        while (item := self._pop_due(t_s)) is not None:
            if item.cancelled:
                continue
            self.implant.run_until(item.time_s)
            item.action(self)
        self.implant.run_until(t_s)

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        # self.implant and self.end_s are read at every step: an action may replace the implant
        # (pump replacement) or end the run.  (_pop_due, written inline.)
        span = max(self.end_s - self.start_s, 1e-9)
        queue, heap = self._queue, self._heap
        pop, popleft = heapq.heappop, queue.popleft
        while True:
            if queue and not (heap and heap[0] < queue[0]):
                if queue[0][0] > self.end_s:
                    break
                item = popleft()[3]
            elif heap and heap[0][0] <= self.end_s:
                item = pop(heap)[3]
            else:
                break
            if item.cancelled:
                continue
            self.implant.run_until(item.time_s)
            item.action(self)
            if progress is not None:
                progress((self.implant.t_s - self.start_s) / span)
        self.implant.run_until(self.end_s)
        if progress is not None:
            progress(1.0)
