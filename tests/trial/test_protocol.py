"""The protocol file: validation errors name the field; the JSON Schema in docs/ stays current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from itdd.cli import main
from itdd.errors import InputError
from itdd.trial import load_protocol, parse_protocol
from itdd.trial.endpoints import available_names
from itdd.trial.protocol import json_schema

ROOT = Path(__file__).resolve().parents[2]
GOOD: dict[str, Any] = {
    "name": "low trial dose vs standard",
    "seed": 7,
    "patients_per_arm": 10,
    "years": 1,
    "arms": [{"name": "standard"}, {"name": "low", "trial": {"method": "single_bolus", "doses": ["0.3 mg"]}}],
    "endpoints": {"primary": "relief_50_at_12_months", "secondary": ["time_to_catheter_event"]},
}


def with_(path: str, value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(GOOD))
    node: Any = data
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return data


def test_good_protocol_parses_and_builds_plans() -> None:
    p = parse_protocol(GOOD)
    assert p.paired is True and p.arms[0].name == "standard"
    plan = p.arms[1].plan(p.years)
    assert plan.trial.method == "single_bolus" and plan.years == 1.0
    assert p.endpoints.all == ["relief_50_at_12_months", "time_to_catheter_event"]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("endpoints.primary", "relief_at_13_months", "endpoints.primary"),
        ("endpoints.secondary", ["trial_success_rate", "nope"], "endpoints.secondary[1]"),
        ("endpoints.secondary", ["catheter_event_free_5_years"], "endpoints.secondary[0]"),  # needs 5 years
        ("arms.1.colour", "red", "arms[1].colour"),  # unknown arm field
        ("arms.1.drug", "unobtainium", "arms[1].drug"),
        ("arms.1.drug", "baclofen", "arms[1].drug"),  # in the library, not a pain pathway drug
        ("arms.1.policy", "whatever", "arms[1].policy"),
        ("arms.1.trial", {"method": "single_bolus", "doses": ["-1 mg"]}, "arms[1].trial.doses[0]"),
        ("arms.1.implant", {"pump_model": "x"}, "arms[1].implant.pump_model"),
        ("arms.1.name", "standard", "arms[1].name"),  # duplicate
        ("patients_per_arm", -5, "patients_per_arm"),
        ("patients_per_arm", 0, "patients_per_arm"),
        ("years", 0, "years"),
        ("seed", -1, "seed"),
        ("population", "martian", "population"),
        ("population", {"kind": "martian"}, "population.kind"),
        ("population", {"age_years": {"min": 70, "max": 40}}, "population.age_years"),
        ("arms", [], "arms"),
        ("colour", "red", "colour"),
    ],
)
def test_bad_protocol_exits_2_naming_the_field(
    path: str, value: Any, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(with_(path, value)))
    with pytest.raises(InputError) as exc:
        load_protocol(f)
    assert exc.value.field == field
    assert main(["trial", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err


def test_endpoint_needing_a_longer_horizon_is_refused() -> None:
    with pytest.raises(InputError, match="needs at least 3 years") as exc:
        parse_protocol(with_("endpoints.primary", "mean_relief_36_months"))
    assert exc.value.field == "endpoints.primary"


def test_missing_file_and_bad_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trial", str(tmp_path / "none.yaml")]) == 2
    f = tmp_path / "bad.yaml"
    f.write_text("name: [unclosed\n")
    assert main(["trial", str(f)]) == 2
    assert "PROTOCOL" in capsys.readouterr().err


def test_schema_in_docs_is_current() -> None:
    doc = json.loads((ROOT / "docs" / "trial-protocol.schema.json").read_text())
    assert doc == json.loads(json.dumps(json_schema()))


def test_examples_validate_against_the_schema_and_parse() -> None:
    schema = json_schema()
    found = sorted((ROOT / "examples" / "trials").glob("*.yaml"))
    assert len(found) >= 2
    for f in found:
        data = yaml.safe_load(f.read_text())
        jsonschema.validate(data, schema)
        load_protocol(f)


def test_closed_endpoint_list_names_every_cohort_metric() -> None:
    # the scalar metrics itdd cohort prints (docs/cohort.md) are all endpoints
    cohort_metrics = {
        "trial_success_rate",
        "implant_rate",
        "relief_50_at_12_months",
        "mean_dose_mg_per_day_6_months",
        "mean_dose_mg_per_day_36_months",
        "oral_mme_reduction",
        "complication_rate",
        "reoperation_rate",
        "explant_rate",
        "refused_rate",
        "mean_relief_12_months",
        "mean_relief_36_months",
        "mean_oral_mme_per_day_12_months",
        "complication_free_9_months",
        "complications_per_100_patient_years",
    }
    assert cohort_metrics <= set(available_names())
    assert {"time_to_explant", "time_to_catheter_event", "time_to_reoperation"} <= set(available_names())
    assert {"time_to_death", "mortality_1_year", "mean_odi_change_12_months"} <= set(available_names())
