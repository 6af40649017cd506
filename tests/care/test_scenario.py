"""Scenario integration: ``pathway`` and ``patient`` blocks, bad input (exit 2, one line), the demo."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from itdd import quantities as q
from itdd.cli import main
from itdd.cli.demo import JOURNEY, run_demo
from itdd.report.schema import validate_result
from itdd.scenario import load_scenario_text, run_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

JOURNEY_MIN: dict[str, Any] = {
    "name": "journey",
    "start": "2026-01-05T08:00:00+01:00",
    "patient": {"reference": True, "overrides": {"oral_mme_per_day": 60.0, "emax": 0.8}},
    "pathway": {"years": 0.3, "hazards": False, "surgical_complications": False},
}

BAD = [
    ("pathway.years", -1, "pathway.years", "greater than 0"),
    ("pathway.trial.method", "pill", "pathway.trial.method", "Input should be"),
    ("pathway.trial.doses", ["0.5"], "pathway.trial.doses[0]", "missing unit"),
    ("pathway.trial.washout", "60d", "pathway.trial", "washout"),
    ("pathway.colour", "blue", "pathway.colour", "unknown key"),
    ("pathway.events", [{"after_implant": "10d", "type": "catheter_fault"}], "pathway.events[0]", "needs 'kind'"),
    ("pathway.implant.pump_model", "acme-9", "pathway.implant.pump_model", "Input should be"),
    ("patient.overrides", {"weight_kg": -5}, "patient", "weight_kg"),
    ("patient.reference", False, "patient", "either"),
    ("pathway.implant.concentration", "25 mg/mL", "pathway.implant.concentration", "cannot deliver"),
    ("duration", "10d", "duration", "does not belong"),
    ("pump", {"model": "synchromed-ii-20"}, "pump", "does not belong"),
]


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(JOURNEY_MIN)
    node = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "field", "words"), BAD, ids=[b[0] + "=" + str(b[1]) for b in BAD])
def test_bad_pathway_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, value: Any, field: str, words: str
) -> None:
    scn = tmp_path / "bad.yaml"
    scn.write_text(yaml.safe_dump(_with(path, value)), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["simulate", str(scn), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "Traceback" not in err[0]
    assert field in err[0] and words in err[0]
    assert not out.exists()


def test_pathway_without_patient_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(JOURNEY_MIN)
    del data["patient"]
    scn = tmp_path / "bad.yaml"
    scn.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["simulate", str(scn)]) == 2
    assert "patient" in capsys.readouterr().err


def test_journey_scenario_runs_the_pathway(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scn = tmp_path / "j.yaml"
    scn.write_text(yaml.safe_dump(JOURNEY_MIN), encoding="utf-8")
    assert main(["simulate", str(scn), "--json", "--out", str(tmp_path / "o")]) == 0
    res = validate_result(json.loads(capsys.readouterr().out))
    assert res["trial"]["outcome"]["success"] is True
    stages = [s["stage"] for s in res["pathway"]["stages"]]
    assert stages.index("trial") < stages.index("implant") < stages.index("titration")
    assert (tmp_path / "o" / "result.json").exists() and (tmp_path / "o" / "intervals.csv").exists()


def test_patient_block_follows_a_pump_scenario_and_pain_returns_after_occlusion() -> None:
    text = (EXAMPLES / "catheter-occlusion-found-at-refill.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["patient"] = {"reference": True}
    scn = load_scenario_text(yaml.safe_dump(data))
    _run, res = run_scenario(scn)
    validate_result(res)
    fault = next(e for e in res["events"] if e["type"] == "catheter_fault")
    t_f = q.to_epoch_s(q.parse_datetime(fault["time"]))
    ps = res["patient"]["series"]
    origin = q.to_epoch_s(q.parse_datetime(ps["origin"]))
    d_f = (t_f - origin) / 86400.0
    assert d_f in ps["days"] or any(abs(d - d_f) < 1e-9 for d in ps["days"])  # sampled at the exact event time
    before = [p for d, p in zip(ps["days"], ps["pain"], strict=True) if d_f - 1 <= d <= d_f]
    after = [p for d, p in zip(ps["days"], ps["pain"], strict=True) if d_f + 1 <= d <= d_f + 3]
    assert max(after) > max(before) + 1.0


def test_demo_journey_result_validates_and_report_has_its_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo(argparse.Namespace(out=str(tmp_path / "demo"))) == 0
    out = capsys.readouterr().out
    assert "Report:" in out and "catheter kink" in out
    res = validate_result(json.loads((tmp_path / "demo" / "result.json").read_text(encoding="utf-8")))
    kinds = [s["stage"] for s in res["pathway"]["stages"]]
    for stage in ("trial", "implant", "titration", "refill", "mri", "complication", "revision"):
        assert stage in kinds
    assert any(r["flag"] for r in res["refills"])
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") + html.count("data:image/png") >= 6
    for title in ("Care pathway", "Screening trial", "Patient", "Reservoir"):
        assert title in html
    assert "<script src=" not in html and "<link " not in html  # self-contained
    assert JOURNEY.exists()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [({"active_infection": True}, "Not trialled: active infection"), ({"emax": 0.1}, "No implant")],
)
def test_journey_without_implant_prints_summary_and_writes_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: dict[str, Any], words: str
) -> None:
    data = copy.deepcopy(JOURNEY_MIN)
    data["patient"]["overrides"] = overrides
    scn = tmp_path / "j.yaml"
    scn.write_text(yaml.safe_dump(data), encoding="utf-8")
    report = tmp_path / "r.html"
    assert main(["simulate", str(scn), "--report", str(report), "--out", str(tmp_path / "o")]) == 0
    assert words in capsys.readouterr().out
    assert report.exists() and "Screening trial" in report.read_text(encoding="utf-8")
    validate_result(json.loads((tmp_path / "o" / "result.json").read_text(encoding="utf-8")))
