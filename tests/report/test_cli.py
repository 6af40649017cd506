"""``itdd report`` and ``itdd simulate --report``: end to end, and every bad input as one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from itdd.cli import main

from .sample import cohort_only_result, kink_scenario, run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "morphine-90-days.yaml"


def itdd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itdd.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def test_simulate_with_report_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = itdd("simulate", str(EXAMPLE), "--report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"Report written to {out}" in proc.stdout
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Morphine, 90 days, PTM, MRI and a refill" in html
    assert html.count("<svg") >= 2


def test_report_from_saved_result_is_the_same_page(tmp_path: Path) -> None:
    direct = tmp_path / "direct.html"
    out_dir = tmp_path / "out"
    assert itdd("simulate", str(EXAMPLE), "--report", str(direct), "--out", str(out_dir)).returncode == 0
    proc = itdd("report", str(out_dir / "result.json"))
    assert proc.returncode == 0, proc.stderr
    beside = out_dir / "report.html"  # the default: beside the result
    assert proc.stdout.strip() == f"Report written to {beside}"
    assert beside.read_bytes() == direct.read_bytes()


def test_report_with_output_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "cohort.json"
    src.write_text(json.dumps(cohort_only_result()), encoding="utf-8")
    out = tmp_path / "a" / "b" / "cohort.html"
    assert main(["report", str(src), "-o", str(out)]) == 0
    assert out.exists()
    assert capsys.readouterr().out.strip() == f"Report written to {out}"


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["report", *args])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("itdd: error: ")
    return lines[0]


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _bad(tmp_path, capsys, str(tmp_path / "nope.json"))
    assert "RESULT: no such file" in line
    assert not (tmp_path / "report.html").exists()


def test_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "r.json"
    p.write_text("{ this is not json", encoding="utf-8")
    line = _bad(tmp_path, capsys, str(p))
    assert "is not JSON (line 1, column 3" in line
    assert not (tmp_path / "report.html").exists()


def test_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "r.json"
    p.write_bytes(b"\xff\xfe\x00\x81binary")
    assert "not a text (UTF-8) file" in _bad(tmp_path, capsys, str(p))


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ("[1, 2, 3]", "expected a JSON object (an itdd result), got list"),
        ('{"name": "x"}', "not an itdd result: it has no 'itdd_version' key"),
        ('{"itdd_version": "0.1.0"}', "neither a 'scenario' nor a 'cohort' section"),
        ('{"itdd_version": "0.1.0", "scenario": {"name": "x"}}', "result.scenario.start: Field required"),
    ],
)
def test_not_an_itdd_result(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expect: str) -> None:
    p = tmp_path / "r.json"
    p.write_text(content, encoding="utf-8")
    assert expect in _bad(tmp_path, capsys, str(p))
    assert not (tmp_path / "report.html").exists()


def test_broken_series_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result: dict[str, Any] = run(kink_scenario())
    result["series"]["dose"]["programmed_mg_per_day"] = result["series"]["dose"]["programmed_mg_per_day"][:-1]
    p = tmp_path / "r.json"
    p.write_text(json.dumps(result), encoding="utf-8")
    line = _bad(tmp_path, capsys, str(p))
    assert "result.series.dose.programmed_mg_per_day: has" in line
    assert "must match" in line


def test_directory_as_input_or_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "is a directory" in _bad(tmp_path, capsys, str(tmp_path))
    p = tmp_path / "r.json"
    p.write_text(json.dumps(cohort_only_result()), encoding="utf-8")
    assert "--output: " in _bad(tmp_path, capsys, str(p), "-o", str(tmp_path))


def test_missing_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("itdd: error: ")


def test_subprocess_bad_input_is_one_line() -> None:
    proc = itdd("report", "/nonexistent/result.json")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("itdd: error: RESULT: no such file")
