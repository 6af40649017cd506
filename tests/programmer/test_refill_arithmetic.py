"""Refill arithmetic, next-refill and low-reservoir-alarm dates against hand-computed cases,
and against the pump itself (the firmware's own alarm time) as an independent oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.drugs import get_drug
from itdd.programmer.projection import Lead, bridge_lead, time_to_level
from itdd.programmer.refill import (
    CAUSES_LESS_WITHDRAWN,
    CAUSES_MORE_WITHDRAWN,
    RefillRequest,
    assess_discrepancy,
    refill,
    schedule_refill,
)
from itdd.programmer.session import Session
from itdd.pump.firmware import PtmSettings
from itdd.pump.therapy import Therapy
from itdd.telemetry.commands import DirectLink
from tests.helpers import DAY, HOUR, T0, make_implant

MORPHINE = get_drug("morphine")


# ---- discrepancy ---------------------------------------------------------------------------------


def test_less_withdrawn_than_expected_beyond_1_ml_on_a_20_ml_pump() -> None:
    # expected 5.0, withdrawn 3.5: discrepancy = 3.5 - 5.0 = -1.5 mL, |-1.5| > 1 -> flag.
    # Since the last fill (20 mL) the pump believes it delivered 20 - 5 = 15 mL; really 20 - 3.5 =
    # 16.5 mL: +1.5/15 = +10%, inside the 14.5% spec, so only the volume rule fires.
    d = assess_discrepancy(5.0, 3.5, 1.0, 0.145, 20.0)
    assert d.discrepancy_ml == pytest.approx(-1.5)
    assert d.delivered_expected_ml == pytest.approx(15.0)
    assert d.accuracy_error == pytest.approx(0.10)
    assert d.flag and len(d.reasons) == 1
    assert d.likely_causes == CAUSES_LESS_WITHDRAWN
    assert "over-infusion" in d.likely_causes[0] and "pocket" in d.likely_causes[1]


def test_40_ml_pump_threshold_is_2_ml() -> None:
    # expected 10, withdrawn 11.5: +1.5 mL < 2 mL; delivered 30 expected, 28.5 real: -5% -> no flag
    d = assess_discrepancy(10.0, 11.5, 2.0, 0.145, 40.0)
    assert d.discrepancy_ml == pytest.approx(1.5) and not d.flag and d.likely_causes == ()
    # the same +1.5 mL on a 20 mL pump (1 mL threshold) is flagged: under-delivery or occlusion
    d = assess_discrepancy(10.0, 11.5, 1.0, 0.145, 20.0)
    assert d.flag and d.likely_causes == CAUSES_MORE_WITHDRAWN
    assert "occlusion" in d.likely_causes[1]


def test_small_delivery_outside_the_accuracy_spec_is_flagged() -> None:
    # last fill 20, expected 18 (2 mL delivered), withdrawn 18.5: +0.5 mL (< 1 mL) but the pump
    # delivered 1.5 mL instead of 2: -25%, outside +/-14.5%.
    d = assess_discrepancy(18.0, 18.5, 1.0, 0.145, 20.0)
    assert d.accuracy_error == pytest.approx(-0.25)
    assert d.flag and "flow-accuracy" in d.reasons[0]


def test_exactly_at_the_threshold_is_not_flagged() -> None:
    assert not assess_discrepancy(5.0, 4.0, 1.0, 0.5, None).flag  # -1.0 mL is not above 1 mL


# ---- next refill and alarm dates ------------------------------------------------------------------


def test_simple_therapy_alarm_and_stability() -> None:
    # 1 mg/day at 10 mg/mL = 0.1 mL/day; 20 mL down to 2 mL = 18 mL -> 180 days.
    # Morphine in-pump stability is 90 days [S2] -> next refill at 90 days.
    s = schedule_refill(
        t_s=T0,
        estimate_ml=20.0,
        low_reservoir_ml=2.0,
        therapy=Therapy.simple(1.0),
        conc_mg_per_ml=10.0,
        offset_s=0,
        ptm=None,
        drug=MORPHINE,
    )
    assert s.low_reservoir_alarm_s == pytest.approx(T0 + 180 * DAY)
    assert s.next_refill_s == pytest.approx(T0 + 90 * DAY) and s.next_refill_reason == "drug_stability"


def test_every_allowed_patient_bolus_brings_the_refill_forward() -> None:
    # basal 3 mg/day / 10 mg/mL = 0.3 mL/day -> 18 mL lasts 60 days (the alarm date).
    # PTM 0.2 mg, lockout 3 h, 4/day: 4 boluses (lockout would allow 8) = 0.8 mg/day = 0.08 mL/day.
    # Worst case 0.38 mL/day -> 18 / 0.38 = 47.368421 days.
    ptm = PtmSettings(dose_mg=0.2, duration_s=600, lockout_s=3 * HOUR, max_per_day=4)
    s = schedule_refill(
        t_s=T0,
        estimate_ml=20.0,
        low_reservoir_ml=2.0,
        therapy=Therapy.simple(3.0),
        conc_mg_per_ml=10.0,
        offset_s=0,
        ptm=ptm,
        drug=MORPHINE,
    )
    assert s.ptm_boluses_per_day == 4
    assert s.low_reservoir_alarm_s == pytest.approx(T0 + 60 * DAY)
    assert s.next_refill_s == pytest.approx(T0 + 18 / 0.38 * DAY)
    assert s.next_refill_reason == "low_reservoir_all_boluses"


def test_ptm_limits_by_lockout_and_24h_maximum() -> None:
    # lockout 8 h: at most ceil(24/8) = 3 in any 24 h although 6 are allowed;
    # with a 24 h maximum of 2.5 mg/day and basal 2 mg/day: floor(0.5 / 0.2) = 2.
    from itdd.drugs.guardrails import ptm_boluses_per_day

    assert ptm_boluses_per_day(PtmSettings(0.2, 600, 8 * HOUR, 6), 2.0) == 3
    assert ptm_boluses_per_day(PtmSettings(0.2, 600, 8 * HOUR, 6, max_daily_dose_mg=2.5), 2.0) == 2


def test_flex_profile_alarm_by_hand() -> None:
    # 07:00-22:00 at 2 mg/day, 22:00-07:00 at 1 mg/day, 10 mg/mL, UTC. Daily volume:
    # (2 x 15/24 + 1 x 9/24) / 10 = 0.1625 mL/day. Start 08:00 with 5 mL, alarm at 2 mL: 3 mL.
    # 18 whole days use 2.925 mL; 0.075 mL remain at 08:00 on day 18, in the 0.2 mL/day step
    # (until 22:00, 0.1167 mL away): 0.075 / 0.2 = 0.375 d = 9 h -> day 18, 17:00.
    th = Therapy.flex([(7 * 3600, 2.0), (22 * 3600, 1.0)])
    t = time_to_level(t_s=T0, volume_ml=5.0, level_ml=2.0, therapy=th, conc_mg_per_ml=10.0, offset_s=0)
    assert t == pytest.approx(T0 + 18 * DAY + 9 * HOUR, abs=1e-3)
    # the same profile in UTC+05:00: at 08:00Z it is 13:00 local, in the high step until 22:00 local
    # (9 h, 0.075 mL); so 18 days later 0.075 mL remain exactly at the 22:00 local boundary.
    t5 = time_to_level(t_s=T0, volume_ml=5.0, level_ml=2.0, therapy=th, conc_mg_per_ml=10.0, offset_s=5 * 3600)
    assert t5 == pytest.approx(T0 + 18 * DAY + 9 * HOUR, abs=1e-3)


def test_bridge_bolus_lead_by_hand() -> None:
    # concentration 10 -> 20 mg/mL at 1 mg/day, fluid path 0.38 mL. The bridge pushes the old
    # drug at 1/10 = 0.1 mL/day: 3.8 days, 0.38 mL. Then 1/20 = 0.05 mL/day.
    # 20 mL -> 2 mL: 18 - 0.38 = 17.62 mL at 0.05 = 352.4 days; total 356.2 days.
    lead = bridge_lead(
        t_s=T0,
        therapy=Therapy.simple(1.0),
        offset_s=0,
        clock_error_s=0.0,
        old_conc_mg_per_ml=10.0,
        path_volume_ml=0.38,
        min_rate_ml_per_day=0.048,
        max_rate_ml_per_day=24.0,
    )
    assert lead == Lead(pytest.approx(T0 + 3.8 * DAY), pytest.approx(0.1))  # type: ignore[arg-type]
    t = time_to_level(
        t_s=T0, volume_ml=20.0, level_ml=2.0, therapy=Therapy.simple(1.0), conc_mg_per_ml=20.0, offset_s=0, lead=lead
    )
    assert t == pytest.approx(T0 + 356.2 * DAY)


def test_180_days_caps_the_interval() -> None:
    # baclofen 100 mcg/day at 2000 mcg/mL = 0.05 mL/day: 18 mL last 360 days; baclofen stability
    # 180 days [assumption] and the 180-day maximum -> next refill at 180 days.
    s = schedule_refill(
        t_s=T0,
        estimate_ml=20.0,
        low_reservoir_ml=2.0,
        therapy=Therapy.simple(0.1),
        conc_mg_per_ml=2.0,
        offset_s=0,
        ptm=None,
        drug=get_drug("baclofen"),
    )
    assert s.low_reservoir_alarm_s == pytest.approx(T0 + 360 * DAY)
    assert s.next_refill_s == pytest.approx(T0 + 180 * DAY)


def test_stopped_pump_never_alarms() -> None:
    assert (
        time_to_level(t_s=T0, volume_ml=20, level_ml=2, therapy=Therapy.stopped(), conc_mg_per_ml=10, offset_s=0)
        is None
    )


# ---- the projection agrees with the pump's own alarm ----------------------------------------------


def _alarm_time(imp) -> float:  # type: ignore[no-untyped-def]
    for e in imp.log.history:
        if e.type == "low_reservoir_alarm":
            return float(e.time_s)
    raise AssertionError("no alarm")


@settings(max_examples=40)
@given(
    st.lists(st.tuples(st.integers(0, 1439), st.floats(0.5, 6.0)), min_size=1, max_size=5, unique_by=lambda s: s[0]),
    st.sampled_from([0, 3600, -5 * 3600, 19800]),
    st.integers(-1800, 1800),
    st.floats(3.0, 20.0),
)
def test_projection_matches_the_pump_alarm(steps, offset_s, clock_err, fill) -> None:  # type: ignore[no-untyped-def]
    th = Therapy.flex([(m * 60, d) for m, d in steps])
    imp = make_implant(therapy=th, conc=10.0, fill=fill, low=2.0, offset_s=offset_s, clock_offset_s=float(clock_err))
    predicted = time_to_level(
        t_s=T0,
        volume_ml=fill,
        level_ml=2.0,
        therapy=th,
        conc_mg_per_ml=10.0,
        offset_s=offset_s,
        clock_error_s=float(clock_err),
    )
    assert predicted is not None
    imp.run_until(predicted + DAY)
    assert _alarm_time(imp) == pytest.approx(predicted, abs=1e-3)


def test_refill_workflow_alarm_date_matches_the_pump_after_a_concentration_change() -> None:
    imp = make_implant(therapy=Therapy.flex([(7 * 3600, 2.0), (22 * 3600, 1.0)]), conc=10.0, fill=20.0, low=3.0)
    imp.run_until(T0 + 30 * DAY)
    rec = refill(Session(DirectLink(imp)), RefillRequest(fill_ml=20.0, conc_mg_per_ml=20.0), clinician="dr-a")
    assert rec.bridge_bolus and rec.bridge_volume_ml == pytest.approx(0.38)
    imp.run_until(T0 + 400 * DAY)
    from itdd import quantities as q

    alarms = [e.time_s for e in imp.log.history if e.type == "low_reservoir_alarm"]
    assert q.iso(alarms[-1])[:10] == rec.to_dict()["low_reservoir_alarm_date"]
    assert rec.low_reservoir_alarm_s == pytest.approx(alarms[-1], abs=1e-3)


def test_no_refill_is_scheduled_after_the_pump_end_of_service() -> None:
    # Stability would allow 90 days and the reservoir 180 days, but the pump stops for good at
    # day 40: the next date is the replacement deadline.
    s = schedule_refill(
        t_s=T0,
        estimate_ml=20.0,
        low_reservoir_ml=2.0,
        therapy=Therapy.simple(1.0),
        conc_mg_per_ml=10.0,
        offset_s=0,
        ptm=None,
        drug=MORPHINE,
        end_of_service_s=T0 + 40 * DAY,
    )
    assert s.next_refill_s == pytest.approx(T0 + 40 * DAY)
    assert s.next_refill_reason == "pump_end_of_service"


def test_refill_workflow_caps_the_next_date_at_end_of_service() -> None:
    from itdd.pump.models import get_model

    m = get_model("synchromed-ii-20")
    # 1 mg/day at 10 mg/mL = 0.1 mL/day; a battery with 10 days of charge left to ERI at that flow
    # reaches ERI at day 10 and end of service 90 days later (day 100).  Refill at day 30: the
    # stability limit (day 120) is later than end of service, so the next date is day 100.
    to_eri = 10.0 * (m.battery_drain_per_day + m.battery_drain_per_ml * 0.1)
    imp = make_implant(battery_to_eri=to_eri)
    imp.run_until(T0 + 30 * DAY)
    rec = refill(Session(DirectLink(imp)), RefillRequest(fill_ml=18.0, conc_mg_per_ml=10.0), clinician="dr-a")
    assert rec.next_refill_reason == "pump_end_of_service"

    assert rec.next_refill_s == pytest.approx(T0 + 100 * DAY, abs=1.0)
