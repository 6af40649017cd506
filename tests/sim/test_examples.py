"""Every example scenario in examples/ runs, and its JSON output has the documented shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itdd.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(path), "--json", "--compact"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("totals", "pump", "daily", "events"):
        assert key in result
    for key in ("pumped_ml", "delivered_ml", "delivered_mg"):
        assert isinstance(result["totals"][key], float)
    for key in ("reservoir_ml", "reservoir_estimate_ml", "state"):
        assert key in result["pump"]
    assert all({"date", "delivered_ml", "delivered_mg"} <= set(r) for r in result["daily"])
    times = [e["time"] for e in result["events"]]
    assert times == sorted(times)
    assert all({"time", "type"} <= set(e) for e in result["events"])
