"""Scenario refills go through the refill workflow; the programmer block is strict."""

from __future__ import annotations

from typing import Any

import pytest

from itdd.errors import InputError, SafetyRefusal
from itdd.scenario import parse_scenario_data, run_scenario


def _scn(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "refills",
        "start": "2026-01-05T08:00:00+00:00",
        "duration": "70d",
        "pump": {
            "model": "synchromed-ii-20",
            "drug": "morphine",
            "concentration": "10 mg/mL",
            "fill": "20 mL",
            "low_reservoir_alarm": "2 mL",
        },
        "therapy": {"mode": "simple_continuous", "dose": "1 mg/day"},
        "events": [{"at": "+30d", "type": "refill", "fill": "20 mL"}],
    }
    base.update(over)
    return base


def test_refill_rows_carry_the_workflow_results() -> None:
    _, res = run_scenario(parse_scenario_data(_scn()))
    row = res["refills"][0]
    for key in (
        "time",
        "expected_ml",
        "withdrawn_ml",
        "discrepancy_ml",
        "flag",
        "next_refill_date",
        "low_reservoir_alarm_date",
        "likely_causes",
        "checksum",
        "next_refill_reason",
    ):
        assert key in row
    # 30 days at 0.1 mL/day: 17 mL expected and withdrawn; refilled to 20 mL at day 30:
    # alarm 18 mL / 0.1 = 180 days later (2026-08-03), next refill at the 90-day stability (2026-05-05)
    assert row["expected_ml"] == pytest.approx(17.0) and row["discrepancy_ml"] == pytest.approx(0.0)
    assert row["time"] == "2026-02-04T08:00:00+00:00"
    assert row["low_reservoir_alarm_date"] == "2026-08-03"
    assert row["next_refill_date"] == "2026-05-05"
    assert row["flag"] is False


def test_an_occluded_catheter_is_flagged_at_refill() -> None:
    events = [
        {"at": "+5d", "type": "catheter_fault", "kind": "occlusion"},
        {"at": "+30d", "type": "refill", "fill": "20 mL"},
    ]
    _, res = run_scenario(parse_scenario_data(_scn(events=events)))
    row = res["refills"][0]
    # occluded from day 5: 0.5 mL left the reservoir, 19.5 withdrawn vs 17 expected: +2.5 mL
    assert row["discrepancy_ml"] == pytest.approx(2.5)
    assert row["flag"] and any("occlusion" in c for c in row["likely_causes"])


def test_verifier_and_settings_from_the_programmer_block() -> None:
    scn = _scn(
        programmer={"clinician": "dr-a", "verifier": "dr-b", "discrepancy_threshold": "3 mL"},
        events=[
            {"at": "+5d", "type": "catheter_fault", "kind": "occlusion"},
            {"at": "+30d", "type": "refill", "fill": "20 mL"},
        ],
    )
    _, res = run_scenario(parse_scenario_data(scn))
    row = res["refills"][0]
    assert row["verified_by"] == "dr-b" and row["clinician"] == "dr-a"
    assert row["discrepancy_threshold_ml"] == 3.0
    assert row["flag"]  # 2.5 mL < 3 mL, but delivery -83% (0.5 of 3 mL) is outside the accuracy spec


def test_programmer_block_is_strict() -> None:
    with pytest.raises(InputError) as e:
        parse_scenario_data(_scn(programmer={"clinician": "a", "verifier": "a"}))
    assert e.value.field == "programmer"
    with pytest.raises(InputError) as e:
        parse_scenario_data(_scn(programmer={"favourite": "x"}))
    assert e.value.field == "programmer.favourite"
    with pytest.raises(InputError) as e:
        parse_scenario_data(_scn(programmer={"discrepancy_threshold": "1"}))
    assert e.value.field == "programmer.discrepancy_threshold"


def test_enforced_guardrails_stop_a_refused_refill() -> None:
    events = [{"at": "+30d", "type": "refill", "fill": "20 mL", "concentration": "20 mg/mL", "bridge_bolus": False}]
    # report (default): the run goes on and the finding is in the row
    _, res = run_scenario(parse_scenario_data(_scn(events=events)))
    assert res["refills"][0]["guardrail_findings"][0]["rule"] == "bridge_bolus_skipped"
    with pytest.raises(SafetyRefusal) as e:
        run_scenario(parse_scenario_data(_scn(events=events, programmer={"guardrails": "enforce"})))
    assert e.value.field.startswith("events[0]") and e.value.rule == "bridge_bolus_skipped"
