"""Bad scenario input: exit code 2, one line naming the field, no traceback, nothing written."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from itdd.cli import main

GOOD: dict[str, Any] = {
    "name": "ok",
    "start": "2026-01-05T08:00:00+01:00",
    "duration": "10d",
    "pump": {"model": "synchromed-ii-20", "drug": "morphine", "concentration": "10 mg/mL", "fill": "20 mL"},
    "therapy": {"mode": "simple_continuous", "dose": "1.5 mg/day"},
    "ptm": {"dose": "0.1 mg", "duration": "10min", "lockout": "3h", "max_per_day": 4},
    "events": [{"at": "+1d", "type": "ptm_request"}],
}


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


DELETE = object()

CASES = [
    ("unknown top-level key", "colour", "blue", "colour", "unknown key"),
    ("unknown pump key", "pump.reservoir", "20 mL", "pump.reservoir", "unknown key"),
    ("unknown unit", "pump.concentration", "10 mg/dL", "pump.concentration", "unknown volume unit 'dL'"),
    ("missing unit", "therapy.dose", "1.5", "therapy.dose", "missing unit"),
    ("non-numeric dose", "therapy.dose", "lots mg/day", "therapy.dose", "cannot read"),
    ("negative dose", "therapy.dose", "-1 mg/day", "therapy.dose", "must not be negative"),
    ("unknown drug", "pump.drug", "heroin", "pump.drug", "not in the drug library"),
    ("fill above capacity", "pump.fill", "25 mL", "pump.fill", "exceeds"),
    ("event outside the scenario", "events.0.at", "+11d", "events[0].at", "outside the scenario"),
    ("event before the start", "events.0.at", "2026-01-01T00:00:00+01:00", "events[0].at", "outside"),
    ("rate below the pump minimum", "therapy.dose", "0.2 mg/day", "therapy.dose", "below the pump's minimum rate"),
    ("unknown event type", "events.0.type", "teleport", "events[0]", "unknown event type"),
    ("unknown mode", "therapy.mode", "turbo", "therapy.mode", "Input should be"),
    ("missing duration", "duration", DELETE, "duration", "required"),
    ("start without offset", "start", "2026-01-05T08:00:00", "start", "no UTC offset"),
    ("dose for wrong mode", "therapy.steps", [{"start": "07:00", "dose": "1 mg/day"}], "therapy", "does not belong"),
    ("ptm max_per_day zero", "ptm.max_per_day", 0, "ptm.max_per_day", "greater than or equal to 1"),
    ("bad model", "pump.model", "acme-1", "pump.model", "Input should be"),
]


@pytest.mark.parametrize(("label", "path", "value", "field", "text"), CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, path: str, value: Any, field: str, text: str
) -> None:
    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(_set(GOOD, path, value)))
    out_dir = tmp_path / "out"
    code = main(["simulate", str(scn), "--out", str(out_dir)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"itdd: error: {field}"), lines[0]
    assert text in lines[0]
    assert "Traceback" not in captured.err
    assert not out_dir.exists()
    assert captured.out == ""


def test_runtime_refusal_names_the_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(GOOD)
    data["events"] = [{"at": "+1d", "type": "refill", "withdraw": "2 mL", "fill": "10 mL"}]
    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(data))
    code = main(["simulate", str(scn), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("itdd: error: events[0].fill:") and "overfill" in err
    assert not (tmp_path / "out").exists()


def test_not_yaml_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "b.yaml"
    bad.write_text("name: [unclosed\n")
    assert main(["simulate", str(bad)]) == 2
    assert main(["simulate", str(tmp_path / "nope.yaml")]) == 2
    assert main(["simulate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("itdd: error:") for line in err)


def test_console_script_has_no_traceback(tmp_path: Path) -> None:
    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(_set(GOOD, "therapy.dose", "-3 mg/day")))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "itdd"), "simulate", str(scn)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
