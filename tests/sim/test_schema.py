"""The published JSON Schema is current, and it accepts every example while rejecting bad files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from itdd.scenario import json_schema_text

ROOT = Path(__file__).resolve().parents[2]


def test_published_schema_is_current() -> None:
    published = (ROOT / "docs" / "scenario.schema.json").read_text()
    assert published == json_schema_text(), "run: itdd schema -o docs/scenario.schema.json"


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_validate_against_the_published_schema(path: Path) -> None:
    schema = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_schema_rejects_unknown_keys() -> None:
    schema = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    bad = yaml.safe_load((ROOT / "examples" / "morphine-90-days.yaml").read_text())
    bad["pump"]["colour"] = "blue"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
