"""Behaviour unchanged (issue 9): every example scenario and the reference cohort give the same JSON.

The files in tests/golden/ were written by the code as it stood *before* the architecture redesign
(main at 5add3c9, 2026-12-03), with

    itdd simulate examples/NAME.yaml --json --compact   > tests/golden/NAME.json   (then gzip -9)
    itdd cohort --patients 300 --years 3 --seed 11 --json > tests/golden/cohort-300-3y-seed11.json

A refactoring must reproduce them exactly: every key, every string, every float to the last bit.
When a *deliberate* change of behaviour lands, regenerate them with `python tests/test_golden.py`
and say in the commit message why the numbers moved.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from itdd.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
COHORT_ARGS = ["cohort", "--patients", "300", "--years", "3", "--seed", "11", "--json"]


def _run(argv: list[str]) -> Any:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(argv)
    assert code == 0, f"itdd {' '.join(argv)} exited {code}"
    return json.loads(out.getvalue())


def _first_difference(old: Any, new: Any, path: str = "$") -> str | None:
    """The JSON path of the first place where two documents differ, with both values."""
    if type(old) is not type(new):
        return f"{path}: {old!r} became {new!r}"
    if isinstance(old, dict):
        if list(old) != list(new):
            return f"{path}: keys {list(old)} became {list(new)}"
        for key in old:
            found = _first_difference(old[key], new[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(old, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        if len(old) != len(new):
            return f"{path}: {len(old)} items became {len(new)}"
        return None
    return None if old == new else f"{path}: {old!r} became {new!r}"


def _golden(name: str) -> Any:
    with gzip.open(GOLDEN / f"{name}.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_scenario_output_is_unchanged(example: Path) -> None:
    new = _run(["simulate", str(example), "--json", "--compact"])
    old = _golden(example.stem)
    assert _first_difference(old, new) is None, _first_difference(old, new)


def test_cohort_300_patients_3_years_seed_11_is_unchanged() -> None:
    new = _run(COHORT_ARGS)
    old = _golden("cohort-300-3y-seed11")
    assert _first_difference(old, new) is None, _first_difference(old, new)


def test_every_example_has_a_golden_file() -> None:
    names = {p.name.removesuffix(".json.gz") for p in GOLDEN.glob("*.json.gz")}
    assert {p.stem for p in EXAMPLES} <= names


def _regenerate() -> None:  # pragma: no cover - a maintainer's tool
    for example in EXAMPLES:
        doc = _run(["simulate", str(example), "--json", "--compact"])
        with gzip.open(GOLDEN / f"{example.stem}.json.gz", "wt", encoding="utf-8") as f:
            json.dump(doc, f)
    with gzip.open(GOLDEN / "cohort-300-3y-seed11.json.gz", "wt", encoding="utf-8") as f:
        json.dump(_run(COHORT_ARGS), f)


if __name__ == "__main__":  # pragma: no cover
    _regenerate()
    sys.exit(0)
