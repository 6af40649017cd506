"""The typed refill record: its JSON is the one the programmer always wrote, and reads back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itdd import quantities as q
from itdd.errors import InputError, SafetyRefusal
from itdd.programmer.refill import RefillRequest, refill
from itdd.programmer.refill_record import (
    RefillRecord,
    at_record_resolution,
    checksum,
    render,
    verify,
    verify_record,
)
from itdd.programmer.session import Session
from itdd.telemetry.commands import DirectLink
from tests.helpers import DAY, T0, make_implant

# The keys the refill record has always had (docs/programmer.md), in the order it writes them.
RECORD_KEYS = [
    "record_id",
    "time",
    "clinician",
    "drug",
    "concentration_mg_per_ml",
    "concentration",
    "previous_concentration_mg_per_ml",
    "expected_ml",
    "withdrawn_ml",
    "discrepancy_ml",
    "discrepancy_threshold_ml",
    "delivered_expected_ml",
    "delivery_error",
    "flag",
    "flag_reasons",
    "likely_causes",
    "filled_ml",
    "reservoir_ml_entered",
    "bridge_bolus",
    "bridge_volume_ml",
    "bridge_ends",
    "next_refill_date",
    "next_refill",
    "next_refill_reason",
    "low_reservoir_alarm_date",
    "low_reservoir_alarm",
    "low_reservoir_all_boluses_date",
    "ptm_boluses_per_day_assumed",
    "stability_limit_date",
    "guardrail_findings",
    "confirmations",
    "delivery_certain",
    "link_notes",
    "checksum",
    "verified_by",
]


def _record() -> RefillRecord:
    imp = make_implant()  # 20 mL pump, morphine 10 mg/mL at 1 mg/day = 0.1 mL/day
    imp.run_until(T0 + 30 * DAY)
    return refill(Session(DirectLink(imp)), RefillRequest(fill_ml=20.0), clinician="dr-a")


def test_the_record_holds_numbers_and_writes_todays_json() -> None:
    rec = _record()
    # 30 days at 0.1 mL/day from 20 mL: 17 mL expected, all of it withdrawn (exact pump), 20 mL in.
    assert rec.expected_ml == pytest.approx(17.0) and rec.withdrawn_ml == pytest.approx(17.0)
    assert rec.time_s == T0 + 30 * DAY and rec.offset_s == 0
    # 18 mL above the 2 mL alarm at 0.1 mL/day = 180 days; morphine's stability (90 days) comes first
    assert rec.next_refill_reason == "drug_stability"
    assert rec.next_refill_s == pytest.approx(T0 + 120 * DAY)
    assert rec.stability_limit_date == date(2026, 5, 5)  # 2026-02-04 + 90 days
    d = rec.to_dict()
    assert list(d) == RECORD_KEYS
    assert d["time"] == "2026-02-04T08:00:00+00:00"  # T0 + 30 days
    assert d["next_refill"] == "2026-05-05T08:00:00+00:00" and d["next_refill_date"] == "2026-05-05"
    assert d["concentration"] == "10 mg/mL"
    assert d["checksum"] == checksum(d)


def test_a_stored_record_reads_back_to_the_same_json() -> None:
    d = _record().to_dict()
    again = RefillRecord.from_dict(d)
    assert again.to_dict() == d
    assert again.next_refill_s == pytest.approx(T0 + 120 * DAY)
    extra = {**d, "reason": "scheduled", "syringe_exact_ml": 17.0}  # keys a caller added are kept
    assert RefillRecord.from_dict(extra).to_dict() == extra


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"withdrawn_ml": "17 mL"}, "record.withdrawn_ml"),
        ({"flag": "no"}, "record.flag"),
        ({"next_refill": "2026-05-05 08:00"}, "record.next_refill"),  # no UTC offset
        ({"stability_limit_date": "5 May"}, "record.stability_limit_date"),
        ({"guardrail_findings": [{"field": "fill"}]}, "record.guardrail_findings[0]"),
    ],
)
def test_a_malformed_stored_record_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    d = {**_record().to_dict(), **change}
    with pytest.raises(InputError) as err:
        RefillRecord.from_dict(d)
    assert err.value.field == field


def test_a_missing_field_is_named() -> None:
    d = _record().to_dict()
    del d["expected_ml"]
    with pytest.raises(InputError) as err:
        RefillRecord.from_dict(d)
    assert err.value.field == "record.expected_ml"
    with pytest.raises(InputError) as err:
        RefillRecord.from_dict([1, 2])
    assert err.value.field == "record"


def test_verify_the_typed_record_and_the_stored_json_alike() -> None:
    rec = _record()
    entries = {"drug": "morphine", "conc_mg_per_ml": 10.0, "filled_ml": 20.0, "reservoir_ml": 20.0}
    typed = verify(rec, "dr-b", **entries)  # type: ignore[arg-type]
    stored = verify_record(rec.to_dict(), "dr-b", **entries)  # type: ignore[arg-type]
    assert typed.verified_by == "dr-b" and typed.to_dict() == stored
    with pytest.raises(SafetyRefusal) as err:
        verify(replace(rec, withdrawn_ml=rec.withdrawn_ml + 1.0), "dr-b", **entries)  # type: ignore[arg-type]
    assert err.value.rule == "record_checksum"
    assert "Verified by        dr-b" in render(typed)


@given(
    st.floats(min_value=0.0, max_value=4_102_444_800.0, allow_nan=False),  # 1970 .. 2100
    st.integers(min_value=-14 * 3600, max_value=14 * 3600).map(lambda s: s - s % 900),
)
def test_the_record_resolution_is_what_reading_the_text_back_gives(t_s: float, offset_s: int) -> None:
    # the pathway used to schedule the next refill from the ISO text; the number must be the same
    assert at_record_resolution(t_s) == q.to_epoch_s(q.parse_datetime(q.iso(t_s, offset_s)))
