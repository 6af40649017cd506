"""Programming, PTM and tools: hand-checked numbers and recovery over a lossy link."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.drugs import get_drug
from itdd.programmer.programming import plan_program, program, therapy_from_text
from itdd.programmer.ptm import PatientTherapyManager
from itdd.programmer.refill import RefillRequest, refill
from itdd.programmer.session import CommunicationError, Session
from itdd.programmer.status import interrogate
from itdd.programmer.tools import cap_hazard, flex_shift, plan_titration, prime, priming_plan
from itdd.pump.firmware import PtmSettings
from itdd.pump.models import get_model
from itdd.pump.therapy import Therapy
from itdd.telemetry.commands import PATIENT, DirectLink
from tests.helpers import DAY, HOUR, T0, make_implant
from tests.programmer.lossy import LinkLost, LossyLink

FATES = st.lists(st.sampled_from(["ok", "lose_request", "lose_answer"]), max_size=8)


def test_finish_screen_shows_every_change_beside_the_current_value() -> None:
    imp = make_implant(dose_mg_per_day=1.0)
    it = interrogate(Session(DirectLink(imp)), side_effects=False)
    plan = plan_program(
        it, therapy_from_text("flex", steps=["07:00=1.2 mg/day", "22:00=0.9 mg/day"]), low_reservoir_ml=3.0
    )
    screen = plan.finish_screen()
    rows = {c.label: (c.current, c.pending, c.changed) for c in plan.changes}
    # daily dose by hand: 1.2 x 15/24 + 0.9 x 9/24 = 0.75 + 0.3375 = 1.0875 mg/day (shown to 4 digits)
    assert rows["Daily dose"][0] == "1 mg/day" and rows["Daily dose"][1] in ("1.087 mg/day", "1.088 mg/day")
    assert plan.therapy.daily_dose_mg() == pytest.approx(1.0875)
    assert rows["Mode"] == ("simple continuous", "flex", True)
    assert rows["Low-reservoir alarm"] == ("2 mL", "3 mL", True)
    assert rows["Drug"][2] is False
    assert "* Step 1" in screen and "07:00 1.2 mg/day" in screen


def test_confirmation_is_recorded_in_the_record_and_the_pump_log() -> None:
    imp = make_implant(dose_mg_per_day=20.0, conc=25.0)
    imp.run_until(T0 + 5 * DAY)
    s = Session(DirectLink(imp))
    _, rec = program(
        s, Therapy.simple(22.0), clinician="dr-a", confirmations={"therapy.dose": "cancer pain, tolerant, reviewed"}
    )
    assert rec.confirmations[0].finding == "morphine 22 mg/day exceeds the 15 mg/day soft limit"
    entry = [e for e in imp.log.history if e.type == "therapy_programmed"][-1]
    assert entry.details["record_id"] == rec.record_id
    assert entry.details["confirmations"][0]["reason"] == "cancer pain, tolerant, reviewed"
    assert entry.details["clinician"] == "dr-a"


def test_program_with_ptm_in_one_atomic_command() -> None:
    imp = make_implant()
    s = Session(DirectLink(imp))
    ptm = PtmSettings(0.1, 600, 3 * HOUR, 4)
    program(s, Therapy.simple(1.0), clinician="a", ptm=ptm)
    assert imp.fw.ptm is not None and imp.fw.ptm.lockout_s == 3 * HOUR
    refused = PtmSettings(5.0, 600, 3 * HOUR, 4)  # 5 mg patient bolus: hard
    from itdd.errors import SafetyRefusal

    with pytest.raises(SafetyRefusal):
        program(s, Therapy.simple(0.9), clinician="a", ptm=refused)
    assert imp.fw.ptm.dose_mg == 0.1 and imp.fw.therapy.dose_mg_per_day == 1.0  # nothing changed


@settings(max_examples=60)
@given(FATES)
def test_a_lossy_program_is_applied_at_most_once(fates: list[str]) -> None:
    imp = make_implant(dose_mg_per_day=1.0)
    link = LossyLink(DirectLink(imp), fates)
    try:
        program(Session(link), Therapy.simple(1.2), clinician="a")
        ok = True
    except CommunicationError:
        ok = False
    n = len([e for e in imp.log.history if e.type == "therapy_programmed"])
    assert n <= 1
    if ok:
        assert n == 1 and imp.fw.therapy.dose_mg_per_day == 1.2


@settings(max_examples=60)
@given(FATES)
def test_a_lossy_refill_is_applied_at_most_once(fates: list[str]) -> None:
    imp = make_implant()
    imp.run_until(T0 + 30 * DAY)
    link = LossyLink(DirectLink(imp), fates)
    try:
        rec = refill(Session(link), RefillRequest(fill_ml=20.0), clinician="a")
        ok = True
    except CommunicationError:
        ok = False
    refills = [e for e in imp.log.history if e.type == "refill"]
    assert len(refills) <= 1
    if ok:
        assert len(refills) == 1
        assert rec.withdrawn_ml == pytest.approx(17.0) and rec.expected_ml == pytest.approx(17.0)


@settings(max_examples=60)
@given(FATES)
def test_a_lossy_patient_bolus_is_granted_at_most_once(fates: list[str]) -> None:
    imp = make_implant(ptm=PtmSettings(0.1, 600, 10 * 60, 10))  # 10 min lockout
    mgr = PatientTherapyManager(LossyLink(DirectLink(imp, PATIENT), fates))
    try:
        out = mgr.request_bolus()
    except CommunicationError:
        out = None
    granted = [e for e in imp.log.history if e.type == "ptm_bolus_granted"]
    assert len(granted) <= 1
    if out is not None:
        assert out.granted == (len(granted) == 1)


def test_ptm_denial_says_why_and_when() -> None:
    imp = make_implant(ptm=PtmSettings(0.1, 600, 3 * HOUR, 4))
    mgr = PatientTherapyManager(DirectLink(imp, PATIENT))
    assert mgr.request_bolus().granted
    imp.run_until(T0 + HOUR)
    out = mgr.request_bolus()
    assert not out.granted and out.reason == "lockout"
    assert out.next_allowed_s == pytest.approx(T0 + 3 * HOUR)
    assert "Too soon" in out.message and "11:00" in out.message  # T0 is 08:00Z: next at 11:00
    st_ = mgr.status().to_dict()
    assert st_["boluses_left_24h"] == 3 and st_["reservoir_estimate_ml"] < 20.0


def test_communication_error_when_the_pump_never_answers() -> None:
    imp = make_implant()
    link = LossyLink(DirectLink(imp), ["lose_request"] * 50)
    with pytest.raises(CommunicationError):
        program(Session(link), Therapy.simple(0.9), clinician="a")
    with pytest.raises(LinkLost):
        link.call("read_status")


# ---- tools ----------------------------------------------------------------------------------------


def test_priming_volume_and_duration_by_hand() -> None:
    # 50 cm x 0.0026 mL/cm = 0.13 mL + 0.25 mL in the pump = 0.38 mL; at 24 mL/day:
    # 0.38 / 24 day = 1368 s (22 min 48 s); at 10 mg/mL the path then holds 3.8 mg.
    plan = priming_plan(get_model("synchromed-ii-20"), 50.0, 0.0026, 10.0)
    assert plan.volume_ml == pytest.approx(0.38) and plan.duration_s == pytest.approx(1368.0)
    assert plan.drug_mg == pytest.approx(3.8)
    imp = make_implant(primed=False)
    out = prime(Session(DirectLink(imp)), plan)
    assert out["state"] == "priming"
    imp.run_until(T0 + 1368.0 + 1)
    assert [e.details.get("kind") for e in imp.log.history if e.type == "bolus_completed"] == ["priming"]


def test_titration_plan_by_hand() -> None:
    # morphine 1 -> 2 mg/day at the soft limits (30%, 72 h): 1, 1.3, 1.69, 2.0 (2.197 capped)
    p = plan_titration(get_drug("morphine"), 1.0, 2.0, start_s=T0)
    assert [round(d, 6) for _, d in p.steps] == [1.0, 1.3, 1.69, 2.0]
    assert [t - T0 for t, _ in p.steps] == [0, 3 * DAY, 6 * DAY, 9 * DAY]
    # ziconotide 2.4 -> 7.2 mcg/day: steps of at most 50% and 2.4 mcg/day, 56 h apart:
    # 2.4 -> min(3.6, 4.8) = 3.6 -> min(5.4, 6.0) = 5.4 -> min(8.1, 7.8, 7.2) = 7.2
    z = plan_titration(get_drug("ziconotide"), 0.0024, 0.0072, start_s=T0)
    assert [round(d * 1000, 6) for _, d in z.steps] == [2.4, 3.6, 5.4, 7.2]
    assert z.interval_s == 56 * HOUR
    # a taper uses the same step: 2 -> 1 mg/day: 2, 1.4, 1.0
    down = plan_titration(get_drug("morphine"), 2.0, 1.0, start_s=T0)
    assert [round(d, 6) for _, d in down.steps] == [2.0, 1.4, 1.0]


def test_clock_shift_by_hand() -> None:
    # pump 30 min fast: the 07:00 step (1 -> 2 mg/day) starts at 06:30, so 30 min run at 2 instead
    # of 1 mg/day: +1 x 1800/86400 = +0.020833 mg; the 22:00 step (2 -> 1) at 21:30: -0.020833 mg.
    th = Therapy.flex([(7 * 3600, 2.0), (22 * 3600, 1.0)])
    rows = flex_shift(th, 1800.0, get_drug("morphine"), 10.0)
    assert [(r.programmed, r.happens_at) for r in rows] == [("07:00", "06:30"), ("22:00", "21:30")]
    assert rows[0].extra_drug_mg == pytest.approx(1800 / 86400)
    assert rows[1].extra_drug_mg == pytest.approx(-1800 / 86400)
    assert flex_shift(Therapy.simple(1.0), 1800.0, get_drug("morphine"), 10.0) == []


def test_cap_hazard_numbers_by_hand() -> None:
    # the catheter path holds 0.38 mL of 10 mg/mL; 5 mL of 25 mg/mL into the port pushes the
    # 0.38 mL ahead (3.8 mg) and 4.62 mL of the injection (115.5 mg): 119.3 mg at once.
    imp = make_implant(dose_mg_per_day=1.0)
    out = cap_hazard(imp, 5.0, conc_mg_per_ml=25.0)
    assert out["delivered_mg"] == pytest.approx(119.3)
    assert out["times_daily_dose"] == pytest.approx(119.3)
    assert out["times_largest_trial_bolus"] == pytest.approx(119.3 / 0.5)
    assert "never the access port" in out["message"]
    assert imp.record.points[-1].csf_mg == pytest.approx(119.3)
