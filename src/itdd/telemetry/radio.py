"""A radio link in virtual terms: range, independent loss of each frame, and bit errors.

:class:`Radio` carries one command frame to a :class:`~itdd.telemetry.endpoint.PumpEndpoint` and
its response frame back.  It never sleeps and never reads a clock: a round trip happens at the
implant's current instant (the radio's few tens of milliseconds are negligible next to every time
constant of the pump, an assumption).  What happens to each frame is drawn from a seeded random
generator, so a simulation with the same seed loses the same frames:

* out of range (``distance_m > range_m``): nothing reaches the pump, nothing comes back;
* otherwise the command frame is lost with probability ``command_loss``, corrupted (1 to 3 random
  bit flips) with probability ``corruption``, else delivered; the response frame likewise
  (``response_loss``, ``corruption``).

Tests can also script the fate of the next frames (:meth:`Radio.script`) and capture every frame
on the air (``capture=True``), as an eavesdropper would.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Iterable
from typing import Protocol

from ..errors import InputError

# The A810 clinician programmer's communicator range [S] clinical-facts.md ("communicator range
# 3 m").  The patient therapy manager is assumed to have the same range (assumption).
COMMUNICATOR_RANGE_M = 3.0

DELIVER = "deliver"
LOSE = "lose"
CORRUPT = "corrupt"
FATES = (DELIVER, LOSE, CORRUPT)
MAX_BIT_FLIPS = 3  # a corrupted frame has 1..3 flipped bits (assumption)


class Receiver(Protocol):
    def receive(self, frame: bytes) -> bytes | None: ...


class Channel(Protocol):
    """Anything that carries a command frame and returns the answer frame, if one arrives."""

    def transmit(self, frame: bytes) -> bytes | None: ...


def _probability(name: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise InputError(name, f"{p!r} must be a probability from 0 to 1")
    return float(p)


class Radio:
    def __init__(
        self,
        endpoint: Receiver,
        *,
        distance_m: float = 1.0,
        range_m: float = COMMUNICATOR_RANGE_M,
        command_loss: float = 0.0,
        response_loss: float = 0.0,
        corruption: float = 0.0,
        seed: int = 0,
        capture: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.range_m = range_m
        self.distance_m = 0.0
        self.move(distance_m)
        self.command_loss = _probability("command_loss", command_loss)
        self.response_loss = _probability("response_loss", response_loss)
        self.corruption = _probability("corruption", corruption)
        self.rng = random.Random(seed)
        self.capture = capture
        self.captured: list[tuple[str, bytes]] = []  # ("command" | "response", frame) as sent on the air
        self.stats: Counter[str] = Counter()
        self._scripted: dict[str, deque[str]] = {"command": deque(), "response": deque()}

    def move(self, distance_m: float) -> None:
        """Put the programmer or therapy manager ``distance_m`` metres from the implant."""
        if not distance_m >= 0.0:
            raise InputError("distance", f"{distance_m!r} m must be 0 or more")
        self.distance_m = float(distance_m)

    @property
    def in_range(self) -> bool:
        return self.distance_m <= self.range_m

    def script(self, *, commands: Iterable[str] = (), responses: Iterable[str] = ()) -> None:
        """Fix the fate ("deliver", "lose", "corrupt") of the next command and response frames."""
        for direction, fates in (("command", commands), ("response", responses)):
            for fate in fates:
                if fate not in FATES:
                    raise InputError("fate", f"unknown fate {fate!r} (one of {', '.join(FATES)})")
                self._scripted[direction].append(fate)

    def clear_script(self) -> None:
        """Forget the scripted fates not used yet."""
        for fates in self._scripted.values():
            fates.clear()

    def _fate(self, direction: str, loss: float) -> str:
        if self._scripted[direction]:
            return self._scripted[direction].popleft()
        u = self.rng.random()
        if u < loss:
            return LOSE
        if u < loss + (1.0 - loss) * self.corruption:
            return CORRUPT
        return DELIVER

    def _flip(self, frame: bytes) -> bytes:
        if not frame:
            return frame
        out = bytearray(frame)
        for _ in range(1 + self.rng.randrange(MAX_BIT_FLIPS)):
            bit = self.rng.randrange(len(out) * 8)
            out[bit // 8] ^= 1 << (bit % 8)
        return bytes(out)

    def _carry(self, direction: str, frame: bytes, loss: float) -> bytes | None:
        if self.capture:
            self.captured.append((direction, frame))
        if not self.in_range:
            self.stats[f"{direction}_out_of_range"] += 1
            return None
        fate = self._fate(direction, loss)
        self.stats[f"{direction}_{fate}"] += 1
        if fate == LOSE:
            return None
        return self._flip(frame) if fate == CORRUPT else frame

    def transmit(self, frame: bytes) -> bytes | None:
        received = self._carry("command", frame, self.command_loss)
        if received is None:
            return None
        answer = self.endpoint.receive(received)
        if answer is None:
            return None
        return self._carry("response", answer, self.response_loss)
