"""A refill, programming and patient boluses over a lossy, noisy radio, checked against a perfect link.

The oracle: the same session run on a twin implant through ``DirectLink`` (no radio), issuing only
the patient boluses that the lossy session learned (by reconciliation) were applied, must leave the
twin in exactly the same state (ignoring only the telemetry bookkeeping in the log).
"""

from __future__ import annotations

from typing import Any

import pytest

from itdd.errors import SafetyRefusal
from itdd.telemetry import DeliveryUncertain, DirectLink, Link
from itdd.telemetry.client import TelemetryLink
from tests.helpers import DAY, HOUR, make_implant
from tests.telemetry.util import PTM, count, make_system, therapy_state

PROGRAM_1_5 = {"therapy": {"mode": "simple_continuous", "dose_mg_per_day": 1.5}, "low_reservoir_ml": 3.0}
PROGRAM_2_0 = {"therapy": {"mode": "simple_continuous", "dose_mg_per_day": 2.0}}
BOLUS = {"dose_mg": 0.3, "duration_s": 3600}
REFILL = {"withdraw_ml": None, "fill_ml": 18.0, "drug": "morphine", "conc_mg_per_ml": 10.0}


def robust_call(link: Link, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a programmer workflow does: on an uncertain outcome, retry the same command id until certain."""
    try:
        return link.call(command, args)
    except DeliveryUncertain as exc:
        assert isinstance(link, TelemetryLink)
        for _ in range(100):
            try:
                return link.retry(exc.command_id)
            except DeliveryUncertain:
                continue
        raise


def session(imp: Any, clinician: Link, ptm_request: Any, clinician_bolus_day_10: Any) -> dict[str, Any]:
    """Thirty days: programming, patient boluses three times a day, a clinician bolus, a refill and a new dose.

    Returns what the clinician saw, to compare between the lossy and the perfect link.
    """
    t0 = imp.t_s
    seen: dict[str, Any] = {}
    seen["interrogate_0"] = robust_call(clinician, "interrogate")["reservoir_estimate_ml"]
    seen["program_0"] = robust_call(clinician, "program", PROGRAM_1_5)["therapy"]
    for day in range(1, 31):
        for hour in (8.0, 12.5, 20.0):
            imp.run_until(t0 + day * DAY + hour * HOUR)
            ptm_request()
        if day == 10:
            clinician_bolus_day_10()
        if day == 20:
            # The refill workflow: interrogate, refill, reprogram, read back.
            seen["expected_ml"] = robust_call(clinician, "interrogate")["reservoir_estimate_ml"]
            r = robust_call(clinician, "refill", REFILL)
            seen["refill"] = (r["expected_ml"], r["withdrawn_ml"], r["filled_ml"], r["reservoir_ml_entered"])
            seen["program_1"] = robust_call(clinician, "program", PROGRAM_2_0)["therapy"]
            seen["read_back"] = robust_call(clinician, "read_therapy")["therapy"]
    return seen


def test_refill_programming_and_boluses_over_a_lossy_link_match_a_perfect_link() -> None:
    sys = make_system(seed=42, command_loss=0.3, response_loss=0.3, corruption=0.1, max_attempts=3)
    imp = sys.implant
    requests: list[tuple[int, bool | None]] = []  # (command id, granted or None if uncertain)

    def lossy_ptm() -> None:
        res = sys.patient.request_bolus()
        requests.append((res.command_id, res.granted))

    walked_away: list[int] = []

    def bolus_while_walking_away() -> None:
        """The programmer is carried out of range during the command, then brought back."""
        sys.radio.move(6.0)  # beyond the 3 m range
        with pytest.raises(DeliveryUncertain) as err:
            sys.clinician.call("clinician_bolus", BOLUS)
        cid = err.value.command_id
        assert sys.clinician.reconcile(cid).status == "unreachable"
        sys.radio.move(1.0)
        for _ in range(100):
            try:
                sys.clinician.retry(cid)
                break
            except DeliveryUncertain:
                continue
        walked_away.append(cid)

    lossy = session(imp, sys.clinician, lossy_ptm, bolus_while_walking_away)

    # Reconcile every uncertain bolus request (the patient holds the manager over the pump later).
    applied: list[bool] = []
    for cid, granted in requests:
        if granted is None:
            for _ in range(100):
                res = sys.patient.check_bolus(cid)
                if res.certain:
                    break
            truth = any(
                e.type == "command_applied" and e.details["command_id"] == cid and e.details["role"] == "patient"
                for e in imp.log.history
            )
            assert (res.granted is not None) and (truth == (res.reason != "not_received"))
            applied.append(truth)
        else:
            applied.append(True)

    # The link was really lossy, and the session recovered anyway.
    assert sys.patient.stats["uncertain"] >= 3
    assert sys.radio.stats["command_lose"] > 0 and sys.radio.stats["response_lose"] > 0
    assert sys.radio.stats["command_corrupt"] > 0 and sys.endpoint.stats["rejected:crc_mismatch"] > 0
    assert not sys.clinician.uncertain

    # ---- the oracle: the same session on a twin through a perfect link -------------------------------------
    twin = make_implant(ptm=PTM)
    direct = DirectLink(twin)
    it = iter(applied)

    def direct_ptm() -> None:
        if next(it):
            direct.call("ptm_bolus")

    perfect = session(twin, direct, direct_ptm, lambda: direct.call("clinician_bolus", BOLUS))
    assert lossy == perfect
    assert therapy_state(imp) == therapy_state(twin)
    # Each clinician command was applied exactly once despite the retries.
    assert count(imp, "therapy_programmed") == 2 == count(twin, "therapy_programmed")
    assert count(imp, "refill") == 1
    assert count(imp, "interrogation") == 2
    assert count(imp, "bolus_started") == count(twin, "bolus_started")
    assert len(walked_away) == 1


def test_refill_refused_over_the_radio_changes_nothing_and_says_why() -> None:
    sys = make_system(seed=3, command_loss=0.3, response_loss=0.3, max_attempts=10)
    with pytest.raises(SafetyRefusal) as err:
        robust_call(sys.clinician, "refill", {"withdraw_ml": 2.0, "fill_ml": 10.0})
    assert err.value.rule == "overfill"
    assert count(sys.implant, "refill") == 0
