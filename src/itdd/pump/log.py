"""The pump's event log: a closed vocabulary, append-only, bounded like a real device's memory.

Two views of one history:

* the **device log** is what the pump itself records and a programmer can read: bounded (the
  oldest entries roll off when it is full) with a running count per event type that never rolls
  off;
* the **full history** is what the simulator knows, including hidden hardware truth (a catheter
  fault, a magnetic field) that the device cannot see. Entries the device cannot see are marked
  ``device=False``.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

from ..errors import InputError
from .events import DEVICE_INVISIBLE as DEVICE_INVISIBLE  # the vocabulary: itdd.pump.events
from .events import EVENT_TYPES as EVENT_TYPES
from .models import DEVICE_LOG_CAPACITY


class LogEntry(NamedTuple):
    """One entry: a named tuple (immutable, compared field by field, the same ``repr`` as the frozen
    dataclass it was) because the log builds ~4,400 of them a pump-year of workload (b) and a tuple
    is built in one call (docs/benchmarks.md, the engine's fourth round)."""

    seq: int
    time_s: float
    type: str
    details: dict[str, Any]

    @property
    def device(self) -> bool:
        return self.type not in DEVICE_INVISIBLE

    def to_wire(self) -> dict[str, Any]:
        """The entry as the telemetry link carries it: ``seq``, ``time_s``, ``type`` and its details."""
        return {"seq": self.seq, "time_s": self.time_s, "type": self.type, **self.details}

    def number(self, key: str, default: float | None = None) -> float:
        """A numeric detail (``default`` when absent; an entry without it and no default is malformed)."""
        v = self.details.get(key, default)
        if v is None or isinstance(v, bool) or not isinstance(v, int | float):
            raise InputError(f"log[{self.seq}].{key}", f"{v!r} is not a number")
        return float(v)


_new_entry = tuple.__new__  # LogEntry's own __new__ without its keyword handling: EventLog.add
DEVICE_TYPES = EVENT_TYPES - DEVICE_INVISIBLE  # the types LogEntry.device is True for


class EventLog:
    __slots__ = ("_seq", "capacity", "counters", "device", "history")

    def __init__(self, capacity: int = DEVICE_LOG_CAPACITY) -> None:
        self.capacity = capacity
        self.device: deque[LogEntry] = deque(maxlen=capacity)
        self.history: list[LogEntry] = []
        self.counters: dict[str, int] = {}
        self._seq = 0

    def append(self, time_s: float, type_: str, **details: Any) -> LogEntry:
        """Log ``type_`` at ``time_s`` with ``details`` (an unknown type or a time before the last
        entry's is an error)."""
        return self.add(time_s, type_, details)

    def add(self, time_s: float, type_: str, details: dict[str, Any]) -> LogEntry:
        """:meth:`append` with the details as a dict (the hot paths build it as a literal: a
        positional call, no keyword handling).  The same checks in the same order: the type, then
        the time."""
        history = self.history
        if type_ in DEVICE_TYPES:  # (a known type the device sees: the common case)
            if history and time_s < history[-1][1] - 1e-6:  # (its time_s, read by index)
                raise ValueError(f"log entry {type_} at {time_s} is earlier than the last entry")
            self._seq = seq = self._seq + 1
            entry: LogEntry = _new_entry(LogEntry, (seq, time_s, type_, details))
            history.append(entry)
            self.device.append(entry)
            counters = self.counters
            try:
                counters[type_] += 1
            except KeyError:  # (the first of its type)
                counters[type_] = 1
            return entry
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown log event type {type_!r}")
        if history and time_s < history[-1][1] - 1e-6:
            raise ValueError(f"log entry {type_} at {time_s} is earlier than the last entry")
        self._seq = seq = self._seq + 1
        entry = _new_entry(LogEntry, (seq, time_s, type_, details))
        history.append(entry)  # (LogEntry.device is False: the full history only)
        return entry

    def since(self, seq: int) -> list[LogEntry]:
        """Device entries after sequence number ``seq`` (those that have not rolled off)."""
        return [e for e in self.device if e.seq > seq]

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def rolled_off(self) -> int:
        return sum(self.counters.values()) - len(self.device)
