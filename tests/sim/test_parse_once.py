"""Parse once: the scenario model turns every written value into its number at validation; the
runner below reads the numbers and never parses text (issue 9)."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

from itdd.scenario import parse_scenario_data
from itdd.sim.values import Written

SRC = Path(__file__).resolve().parents[2] / "src" / "itdd"

SCN = {
    "name": "parse once",
    "start": "2026-01-05T08:00:00+01:00",
    "duration": "3d",
    "pump": {"model": "synchromed-ii-20", "drug": "morphine", "concentration": "10 mg/mL", "fill": "20 mL"},
    "therapy": {"mode": "simple_continuous", "dose": "1.5 mg/day"},
    "events": [
        {"at": "+1d09h", "type": "clinician_bolus", "dose": "500 mcg", "duration": "30min"},
        {"at": "2026-01-07T08:00:00+01:00", "type": "refill", "withdraw": "12 mL", "fill": "20 mL"},
    ],
}


def test_values_carry_their_numbers() -> None:
    scn = parse_scenario_data(SCN)
    assert scn.pump is not None
    assert scn.pump.conc_mg_per_ml == 10.0
    assert scn.pump.fill_ml == 20.0
    # a default is validated too: low_reservoir_alarm "2 mL", catheter "50 cm" at "0.0026 mL/cm"
    assert scn.pump.low_reservoir_alarm_ml == 2.0
    assert scn.pump.catheter.length_cm == 50.0
    assert scn.pump.catheter.ml_per_cm == 0.0026
    assert scn.pump.flow_accuracy_factor == 1.0  # "100%"
    assert scn.therapy.dose_mg_per_day == 1.5
    # 2026-01-05T08:00+01:00 is 07:00 UTC; 2026-01-05 is day 20458 after 1970-01-01
    assert scn.start_s == 20458 * 86400 + 7 * 3600
    assert scn.utc_offset_s == 3600
    assert scn.duration_s == 3 * 86400
    bolus, refill = scn.events
    assert bolus.at.after_start and bolus.at.value == 33 * 3600  # +1 day 9 hours
    assert bolus.dose_mg == 0.5 and bolus.duration_s == 1800
    assert not refill.at.after_start and refill.at.value == scn.start_s + 2 * 86400
    assert refill.withdraw_ml == 12.0 and refill.fill_ml == 20.0 and refill.conc_mg_per_ml is None


def test_a_written_value_is_still_its_text() -> None:
    scn = parse_scenario_data(SCN)
    assert scn.pump is not None
    conc = scn.pump.concentration
    assert isinstance(conc, Written)
    assert conc == "10 mg/mL" and repr(conc) == "'10 mg/mL'" and f"{conc}" == "10 mg/mL"
    assert scn.model_dump()["pump"]["concentration"] == "10 mg/mL"
    again = pickle.loads(pickle.dumps(scn))
    assert again.pump.conc_mg_per_ml == 10.0 and again.events[1].withdraw_ml == 12.0


def test_no_parsing_below_the_boundary() -> None:
    for rel in ("sim/runner.py", "sim/entry.py", "programmer/scenario.py"):
        text = (SRC / rel).read_text(encoding="utf-8")
        assert not re.findall(r"\bparse_[a-z_]+\(", text), rel
