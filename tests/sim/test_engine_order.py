"""The engine runs actions in (time, priority, insertion) order, whatever the order they are
scheduled in: its queue of in-order actions and its heap of the others together give the order of
one heap (``itdd.sim.engine``), also when actions schedule more actions and with ``advance``."""

from __future__ import annotations

import heapq
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.sim.engine import Simulation
from tests.conftest import examples


class Clock:
    """A stand-in for the implant: it only moves to the instants it is asked for."""

    def __init__(self) -> None:
        self.t_s = 0.0

    def run_until(self, t_end_s: float) -> None:
        assert t_end_s >= self.t_s
        self.t_s = t_end_s


# (time, priority, [(delay, priority) of the actions it schedules when it runs])
PLANS = st.lists(
    st.tuples(
        st.integers(0, 30).map(float),
        st.integers(-1, 1),
        st.lists(st.tuples(st.integers(0, 10).map(float), st.integers(-1, 1)), max_size=3),
    ),
    max_size=40,
)


def _run(plan: list[tuple[float, int, list[tuple[float, int]]]], cut: float | None) -> list[tuple[float, ...]]:
    sim = Simulation(Clock(), 0.0, 100.0)
    ran: list[tuple[float, ...]] = []
    seq = [0]

    def action(key: tuple[float, int], children: list[tuple[float, int]]) -> Callable[[Simulation], None]:
        seq[0] += 1
        me = seq[0]

        def act(s: Simulation) -> None:
            ran.append((s.now_s, *key, me))
            for delay, prio in children:
                s.schedule(s.now_s + delay, action((s.now_s + delay, prio), []), priority=prio)

        return act

    for t, prio, children in plan:
        sim.schedule(t, action((t, prio), children), priority=prio)
    if cut is not None:
        sim.advance(cut)
    sim.run()
    return ran


def _reference(plan: list[tuple[float, int, list[tuple[float, int]]]]) -> list[tuple[float, ...]]:
    """The same plan on one heap of (time, priority, insertion)."""
    heap: list[tuple[float, int, int, list[tuple[float, int]]]] = []
    n = 0
    for t, prio, children in plan:
        n += 1
        heapq.heappush(heap, (t, prio, n, children))
    ran: list[tuple[float, ...]] = []
    while heap:
        t, prio, me, children = heapq.heappop(heap)
        ran.append((t, t, prio, me))
        for delay, p in children:
            if t + delay <= 100.0:
                n += 1
                heapq.heappush(heap, (t + delay, p, n, []))
    return ran


@settings(max_examples=examples(200, soak_share=0.2))
@given(PLANS, st.one_of(st.none(), st.integers(0, 40).map(float)))
def test_actions_run_in_time_priority_insertion_order(
    plan: list[tuple[float, int, list[tuple[float, int]]]], cut: float | None
) -> None:
    assert _run(plan, cut) == _reference(plan)
