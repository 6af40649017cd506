"""``itdd trial --out DIR`` and ``--json``: the four files, the same summary in both."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from itdd.cli import main

PROTOCOL = {
    "name": "outputs",
    "seed": 3,
    "patients_per_arm": 8,
    "years": 1,
    "arms": [{"name": "standard"}, {"name": "late refills", "late_refill_days": 20}],
    "endpoints": {"primary": "relief_50_at_12_months", "secondary": ["time_to_reoperation", "mean_relief_12_months"]},
}


def test_out_dir_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(PROTOCOL))
    out = tmp_path / "out"
    assert main(["trial", str(f), "--json", "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert (out / "summary.json").read_text() == printed
    s = json.loads(printed)
    assert [a["name"] for a in s["arms"]] == ["standard", "late refills"]
    table = pq.read_table(out / "patients.parquet")
    assert table.num_rows == 16
    rows = list(csv.DictReader((out / "patients.csv").open()))
    assert len(rows) == 16 and rows[0]["arm"] == "standard" and rows[8]["arm"] == "late refills"
    assert table.column("patient_id").to_pylist() == [r["patient_id"] for r in rows]
    assert rows[0]["patient_id"] == rows[8]["patient_id"]  # paired: the same patients in both arms
    page = (out / "report.html").read_text()
    for text in ("CONSORT", "Screened: 8", "forest plot", "Individual effects", "Kaplan-Meier", "Dose over time"):
        assert text in page
    assert page.count("<svg") == 4 and "<script" not in page


def test_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump({**PROTOCOL, "arms": [{"name": "standard"}], "patients_per_arm": 3}))
    assert main(["trial", str(f), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "relief_50_at_12_months  (primary)" in text and "CONSORT" in text and "not a medical device" in text


def test_out_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(PROTOCOL))
    (tmp_path / "file").write_text("x")
    assert main(["trial", str(f), "--out", str(tmp_path / "file")]) == 2
    assert main(["trial", str(f), "--workers", "0"]) == 2
    assert main(["trial", str(f), "--dask", "nonsense"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "--out" in err[0] and "--workers" in err[1] and "--dask" in err[2]
