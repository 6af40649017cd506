"""The refill record's checksum is computed from its checksummed fields only and equals the
checksum of its JSON row; the LocalLink gives the same record as the wire path."""

from __future__ import annotations

from itdd.programmer.refill import RefillRequest, refill
from itdd.programmer.refill_record import CHECKSUM_FIELDS, checksum
from itdd.programmer.session import Session
from itdd.telemetry.commands import DirectLink
from itdd.telemetry.local import LocalLink
from tests.helpers import T0, make_implant

DAY = 86400.0


def test_refill_row_is_the_records_json_and_the_local_link_changes_nothing() -> None:
    a, b = make_implant(fill=20.0), make_implant(fill=20.0)
    for imp in (a, b):
        imp.run_until(T0 + 10 * DAY)
    req = RefillRequest(fill_ml=20.0, conc_mg_per_ml=20.0)
    wire = refill(Session(DirectLink(a)), req, clinician="dr-a")
    record = refill(Session(LocalLink(b)), req, clinician="dr-a")
    row = record.to_dict()
    assert row["checksum"] == checksum(row) == record.checksum != ""
    assert record.checksum_payload() == {k: row[k] for k in CHECKSUM_FIELDS}
    assert record.with_checksum() == record
    assert record == wire
    assert a.log.last_seq == b.log.last_seq


def test_the_kept_library_findings_are_the_library_checks() -> None:
    from itdd.drugs import get_drug, guardrails
    from itdd.programmer import refill as r
    from itdd.pump.models import get_model
    from itdd.pump.therapy import Therapy

    drug, model = get_drug("morphine"), get_model("synchromed-ii-20")
    for conc in (25.0, 25, 0.5, 80.0, 200.0, 0.0):  # in and out of the library's range, int and float
        for dose in (1.0, 1, 0.01, 40.0):
            th = Therapy.simple(dose)
            for _ in range(2):  # the second time from the cache
                assert r._check_concentration(drug, conc) == guardrails.check_concentration(drug, conc)
                assert list(r._check_therapy(drug, conc, th, model)) == guardrails.check_therapy(
                    drug, conc, th, model, field="concentration"
                )


def test_a_numbers_only_refill_does_the_same_refill_with_the_same_numbers() -> None:
    """``numbers_only``: the same pump state and log, the same numbers; only the id, the checksum,
    the label and the (unenforced) findings are left empty."""
    from dataclasses import replace

    from itdd.programmer.refill import RefillSettings

    a, b = make_implant(fill=20.0), make_implant(fill=20.0)
    settings = RefillSettings(enforce_guardrails=False)
    for day in (10, 60, 110):
        for imp in (a, b):
            imp.run_until(T0 + day * DAY)
        req = RefillRequest(fill_ml=20.0, conc_mg_per_ml=20.0 if day < 60 else 10.0)  # a concentration change
        full = refill(Session(LocalLink(a)), req, clinician="dr-a", settings=settings)
        lean = refill(Session(LocalLink(b)), req, clinician="dr-a", settings=settings, numbers_only=True)
        assert (lean.record_id, lean.checksum, lean.concentration_label, lean.guardrail_findings) == ("", "", "", ())
        assert full.record_id and full.checksum and full.concentration_label
        empty = {"record_id": "", "checksum": "", "concentration_label": "", "guardrail_findings": ()}
        assert replace(full, **empty) == lean
        assert a.log.last_seq == b.log.last_seq and a.fw.estimate_ml == b.fw.estimate_ml


def test_a_numbers_only_refill_still_refuses_an_overfill() -> None:
    import pytest

    from itdd.errors import SafetyRefusal
    from itdd.programmer.refill import RefillSettings

    imp = make_implant(fill=20.0)
    imp.run_until(T0 + 10 * DAY)
    settings = RefillSettings(enforce_guardrails=False)
    with pytest.raises(SafetyRefusal) as exc:
        refill(
            Session(LocalLink(imp)), RefillRequest(fill_ml=25.0), clinician="dr-a", settings=settings, numbers_only=True
        )
    assert exc.value.rule == "overfill" and "overfill" in str(exc.value)
