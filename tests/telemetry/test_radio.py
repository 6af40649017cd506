"""The virtual radio: range, independent loss, bit errors, seeded and scriptable."""

from __future__ import annotations

import pytest

from itdd.errors import InputError
from itdd.telemetry import COMMUNICATOR_RANGE_M, Radio


class Echo:
    """A receiver that answers every frame with the frame itself."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def receive(self, frame: bytes) -> bytes | None:
        self.received.append(frame)
        return frame


FRAME = bytes(range(200))


def test_communicator_range_is_three_metres() -> None:
    assert COMMUNICATOR_RANGE_M == 3.0  # [S] clinical-facts: A810 communicator range 3 m


@pytest.mark.parametrize(
    ("distance", "reaches"), [(0.0, True), (2.99, True), (3.0, True), (3.01, False), (50.0, False)]
)
def test_frames_reach_the_pump_only_within_range(distance: float, reaches: bool) -> None:
    echo = Echo()
    radio = Radio(echo, distance_m=distance)
    assert (radio.transmit(FRAME) == FRAME) is reaches
    assert len(echo.received) == (1 if reaches else 0)


def test_moving_back_into_range_restores_the_link() -> None:
    echo = Echo()
    radio = Radio(echo, distance_m=10.0)
    assert radio.transmit(FRAME) is None
    radio.move(1.0)
    assert radio.transmit(FRAME) == FRAME


def test_loss_rates_are_independent_per_direction() -> None:
    echo = Echo()
    radio = Radio(echo, command_loss=0.3, response_loss=0.5, seed=11)
    n = 20_000
    answered = sum(radio.transmit(FRAME) is not None for _ in range(n))
    # P(command delivered) = 0.7, P(answer delivered | command delivered) = 0.5 -> 0.35 overall.
    assert len(echo.received) / n == pytest.approx(0.7, abs=0.015)
    assert answered / n == pytest.approx(0.35, abs=0.015)


def test_corruption_flips_one_to_three_bits() -> None:
    echo = Echo()
    radio = Radio(echo, corruption=1.0, seed=3)
    for _ in range(200):
        out = radio.transmit(FRAME)
        assert out is not None
        got = echo.received[-1]
        flips_in = sum(bin(a ^ b).count("1") for a, b in zip(got, FRAME, strict=True))
        flips_back = sum(bin(a ^ b).count("1") for a, b in zip(out, got, strict=True))
        assert 1 <= flips_in <= 3 and 1 <= flips_back <= 3


def test_same_seed_same_fates() -> None:
    def run(seed: int) -> list[bool]:
        radio = Radio(Echo(), command_loss=0.4, response_loss=0.4, corruption=0.2, seed=seed)
        return [radio.transmit(FRAME) == FRAME for _ in range(300)]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_scripted_fates_come_first() -> None:
    echo = Echo()
    radio = Radio(echo)
    radio.script(commands=["lose", "deliver"], responses=["corrupt"])
    assert radio.transmit(FRAME) is None
    out = radio.transmit(FRAME)
    assert out is not None and out != FRAME
    assert radio.transmit(FRAME) == FRAME
    assert radio.stats["command_lose"] == 1 and radio.stats["response_corrupt"] == 1


def test_capture_records_what_was_on_the_air() -> None:
    radio = Radio(Echo(), capture=True)
    radio.transmit(FRAME)
    assert radio.captured == [("command", FRAME), ("response", FRAME)]


@pytest.mark.parametrize(
    "kw", [{"command_loss": 1.5}, {"response_loss": -0.1}, {"corruption": float("nan")}, {"distance_m": -1.0}]
)
def test_bad_radio_settings_are_refused(kw: dict[str, float]) -> None:
    with pytest.raises(InputError):
        Radio(Echo(), **kw)  # type: ignore[arg-type]


def test_unknown_scripted_fate_is_refused() -> None:
    with pytest.raises(InputError, match="fate"):
        Radio(Echo()).script(commands=["explode"])
