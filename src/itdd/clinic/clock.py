"""The clinic clock: the only place in itdd where real time is read (live mode, sessions, audit).

* training mode: the clinic's instant is ``clinic.clock_t_s``; it moves only when a clinician advances it
  ("+1 day", "to next refill"), and every twin moves with it through the engine;
* live mode: the clinic's instant is the wall clock; twins are brought to it whenever they are used.

A :class:`WallClock` is injected into the app so that tests can run a session for hours of wall time in
milliseconds (a fixed or stepped wall clock), without touching the core, which never reads time at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .models import Clinic

WallClock = Callable[[], float]


def system_wall_clock() -> float:
    return time.time()


def clinic_now_s(clinic: Clinic, wall: WallClock) -> float:
    if clinic.mode == "live":
        return max(wall(), clinic.clock_t_s)
    return clinic.clock_t_s
