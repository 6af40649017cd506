"""The drug library file: complete, cited, and validated on load."""

from __future__ import annotations

import pytest
import yaml

from itdd.drugs import CONFIDENCE, Bounds, Cited, get_drug, library, load_library, sources
from itdd.errors import InputError
from itdd.pump.models import MODELS

REQUIRED = ("morphine", "hydromorphone", "fentanyl", "sufentanil", "bupivacaine", "clonidine", "ziconotide", "baclofen")


def _bundled_text() -> str:
    from importlib import resources

    return resources.files("itdd.drugs").joinpath("library.yaml").read_text(encoding="utf-8")


def _walk_cited(node: object, path: str = ""):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        if "value" in node and "source" in node:
            yield path, node
        else:
            for k, v in node.items():
                yield from _walk_cited(v, f"{path}.{k}" if path else str(k))


def test_every_required_drug_has_every_value() -> None:
    lib = library()
    for name in [*REQUIRED, "saline"]:
        assert name in lib
    for name in REQUIRED:
        d = lib[name]
        assert d.dose_unit in ("mg", "mcg")
        assert d.usual_concentrations
        assert d.concentration.hard_max is not None and d.concentration.hard_min is not None
        assert d.starting_dose is not None
        assert d.daily_dose.soft_max is not None and d.daily_dose.hard_max is not None
        assert d.max_increase is not None and d.min_interval is not None
        assert d.stability_days is not None and 1 <= d.stability_days.value <= 180
        assert d.trial_bolus is not None


def test_every_value_names_a_known_source_and_a_confidence() -> None:
    raw = yaml.safe_load(_bundled_text())
    srcs = sources()
    found = list(_walk_cited(raw["drugs"])) + list(_walk_cited(raw["device"]))
    assert len(found) > 100
    for path, node in found:
        assert node["source"] in srcs, path
        assert node["confidence"] in CONFIDENCE, path


def test_hard_bounds_contain_soft_bounds_everywhere() -> None:
    for d in library().values():
        for b in (d.concentration, d.daily_dose, d.bolus_dose, d.max_increase, d.min_interval, d.max_increase_amount):
            if b is None:
                continue
            vals = [getattr(b, k).value for k in ("hard_min", "soft_min", "soft_max", "hard_max") if getattr(b, k)]
            assert vals == sorted(vals), d.name


def test_units_are_canonical_mg() -> None:
    # hand conversions: 19.2 mcg/day = 0.0192 mg/day; 2000 mcg/mL = 2 mg/mL; 72 h = 259200 s
    z, b, m = get_drug("ziconotide"), get_drug("baclofen"), get_drug("morphine")
    assert z.daily_dose.soft_max is not None and z.daily_dose.soft_max.value == pytest.approx(0.0192)
    assert b.concentration.hard_max is not None and b.concentration.hard_max.value == pytest.approx(2.0)
    assert m.min_interval is not None and m.min_interval.soft_min is not None
    assert m.min_interval.soft_min.value == 259200.0
    assert get_drug("fentanyl").dose_unit == "mcg" and m.dose_unit == "mg"


def test_ziconotide_stability_depends_on_dilution() -> None:
    z = get_drug("ziconotide")
    assert z.stability_for(0.025).value == 84  # undiluted 25 mcg/mL [S] prialt.com
    assert z.stability_for(0.005).value == 40  # diluted


def test_device_discrepancy_thresholds_cover_every_model() -> None:
    from itdd.drugs import device_limits

    assert set(device_limits().discrepancy_threshold) == set(MODELS)


def test_unknown_drug_is_an_input_error_naming_the_field() -> None:
    with pytest.raises(InputError) as e:
        get_drug("heroin", "pump.drug")
    assert e.value.field == "pump.drug"


def _mutate(path: list[str], value: object) -> str:
    raw = yaml.safe_load(_bundled_text())
    node = raw
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return yaml.safe_dump(raw)


@pytest.mark.parametrize(
    ("path", "value", "field_part"),
    [
        (["drugs", "morphine", "colour"], "blue", "drugs.morphine.colour"),
        (["drugs", "morphine", "daily_dose", "soft_max", "source"], "nowhere", "daily_dose.soft_max.source"),
        (["drugs", "morphine", "daily_dose", "soft_max", "value"], "15", "daily_dose.soft_max.value"),
        (["drugs", "morphine", "daily_dose", "soft_max", "value"], "40 mg/day", "daily_dose.hard_max"),
        (["drugs", "morphine", "daily_dose", "soft_max", "confidence"], "sure", "confidence"),
        (["drugs", "morphine", "stability_days", "value"], 200, "stability_days.value"),
        (["drugs", "morphine", "dose_unit"], "g", "dose_unit"),
        (["drugs", "morphine", "dose_unit"], KeyError, "dose_unit"),
        (["drugs", "morphine", "concentration", "hard_max"], KeyError, "concentration"),
        (["drugs", "morphine", "usual_concentrations", "value"], ["40 mg/mL"], "usual_concentrations"),
        (["device", "max_refill_interval", "value"], "200d", "max_refill_interval"),
        (
            ["device", "discrepancy_threshold", "other-pump"],
            {"value": "1 mL", "source": "itdd", "confidence": "assumption"},
            "other-pump",
        ),
    ],
)
def test_invalid_library_is_refused_naming_the_key(path: list[str], value: object, field_part: str) -> None:
    with pytest.raises(InputError) as e:
        load_library(_mutate(path, value))
    assert field_part in str(e.value)


def test_bounds_classify_table() -> None:
    def c(v: float) -> Cited:
        return Cited(v, str(v), "itdd", "assumption")

    b = Bounds(c(1), c(2), c(5), c(10))
    table = [
        (0.5, "hard", "low"),
        (1, "soft", "low"),
        (2, "ok", ""),
        (5, "ok", ""),
        (7, "soft", "high"),
        (10, "soft", "high"),
        (10.5, "hard", "high"),
    ]
    for value, level, side in table:
        got = b.classify(value)
        assert (got[0], got[1]) == (level, side), value
