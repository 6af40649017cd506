"""PatientSim: inputs refused cleanly, records followed exactly, device failures seen as a clinician would."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.errors import InputError
from itdd.patient import Observation, PatientParams, PatientSim

H = 3600.0
DAY = 86400.0
T0 = 1_767_600_000.0


@dataclass
class Point:
    time_s: float
    csf_mg: float
    drug: str
    volume_ml: float = 0.0
    route: str = "catheter_access_port"


@dataclass
class FakeRecord:
    """The columns PatientSim.follow reads (the real Record has more)."""

    t0: list[float] = field(default_factory=list)
    t1: list[float] = field(default_factory=list)
    csf_mg: list[float] = field(default_factory=list)
    tissue_mg: list[float] = field(default_factory=list)
    drug: list[str] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)

    def add(self, t0: float, t1: float, csf_mg_per_day: float, tissue_mg_per_day: float = 0.0, drug: str = "morphine"):
        days = (t1 - t0) / DAY
        self.t0.append(t0)
        self.t1.append(t1)
        self.csf_mg.append(csf_mg_per_day * days)
        self.tissue_mg.append(tissue_mg_per_day * days)
        self.drug.append(drug)
        return self


def state(sim: PatientSim) -> dict[str, float]:
    return {k: v for k, v in sim.observe(activity=1.0).to_dict().items() if isinstance(v, float)}


def assert_same(a: PatientSim, b: PatientSim, rel: float = 1e-9) -> None:
    sa, sb = state(a), state(b)
    for k in sa:
        assert sa[k] == pytest.approx(sb[k], rel=rel, abs=1e-15), k


# ---- refusing bad input, changing nothing --------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"csf_mg_per_day": -1.0, "drug": "morphine"}, "csf_mg_per_day"),
        ({"tissue_mg_per_day": float("nan"), "drug": "morphine"}, "tissue_mg_per_day"),
        ({"oral_mme_per_day": -5.0}, "oral_mme_per_day"),
        ({"csf_mg_per_day": 1.0}, "drug"),
        ({"csf_mg_per_day": 1.0, "drug": "aspirin"}, "drug"),
        ({"csf_mg_per_day": 1.0, "drug": "saline"}, "drug"),
    ],
)
def test_advance_refuses_bad_input_and_changes_nothing(kwargs: dict, field_name: str) -> None:
    sim = PatientSim(PatientParams.sample(1, 1), T0)
    sim.advance(T0 + DAY, csf_mg_per_day=2.0, drug="morphine")
    before = state(sim)
    with pytest.raises(InputError) as e:
        sim.advance(T0 + 2 * DAY, **kwargs)
    assert e.value.field == field_name
    assert sim.t_s == T0 + DAY
    assert state(sim) == before


def test_time_only_moves_forward() -> None:
    sim = PatientSim(PatientParams.sample(1, 1), T0)
    with pytest.raises(InputError) as e:
        sim.advance(T0 - 1.0)
    assert e.value.field == "t1_s"
    with pytest.raises(InputError):
        sim.follow(FakeRecord(), T0 - 1.0)
    sim.advance(T0)  # a zero-length step is fine
    assert sim.t_s == T0


def test_dose_refuses_unknown_routes_and_oral_non_opioids() -> None:
    sim = PatientSim(PatientParams.sample(1, 1), T0)
    with pytest.raises(InputError) as e:
        sim.dose(1.0, "morphine", "intramuscular")
    assert e.value.field == "route"
    with pytest.raises(InputError) as e:
        sim.dose(1.0, "baclofen", "oral")
    assert e.value.field == "route"
    with pytest.raises(InputError) as e:
        sim.dose(-1.0, "morphine")
    assert e.value.field == "amount_mg"
    sim.dose(5.0, "saline")  # no drug: nothing happens
    assert sim.observe().drug == ""


# ---- exactness and consistency -------------------------------------------------------------------


def test_one_long_advance_equals_many_short_ones() -> None:
    p = PatientParams.sample(1, 2)
    a = PatientSim(p, T0)
    b = PatientSim(p, T0)
    a.advance(T0 + 30 * DAY, csf_mg_per_day=3.0, tissue_mg_per_day=0.5, drug="morphine")
    for k in range(1, 721):
        b.advance(T0 + k * H, csf_mg_per_day=3.0, tissue_mg_per_day=0.5, drug="morphine")
    assert_same(a, b)


def test_steady_state_stays_put() -> None:
    p = PatientParams.sample(1, 2)
    sim = PatientSim.at_steady_state(p, T0, drug="hydromorphone", csf_mg_per_day=2.0, oral_mme_per_day=40.0)
    before = state(sim)
    sim.advance(T0 + 100 * DAY, csf_mg_per_day=2.0, drug="hydromorphone")
    after = state(sim)
    for k in before:
        if k != "t_s":
            assert after[k] == pytest.approx(before[k], rel=1e-8, abs=1e-14), k


def test_copy_is_independent() -> None:
    sim = PatientSim(PatientParams.sample(1, 2), T0)
    sim.advance(T0 + DAY, csf_mg_per_day=3.0, drug="morphine")
    twin = sim.copy()
    twin.advance(T0 + 2 * DAY)
    assert sim.t_s == T0 + DAY
    assert_same(sim, sim.copy())
    assert twin.observe().effect_site_mg_per_ml < sim.observe().effect_site_mg_per_ml


# ---- following a record --------------------------------------------------------------------------


def manual(p: PatientParams, rec: FakeRecord, until: float) -> PatientSim:
    """The same record replayed by hand with advance() and dose()."""
    sim = PatientSim(p, T0)
    events: list[tuple[float, str, object]] = []
    for i in range(len(rec.t0)):
        events.append((rec.t0[i], "start", i))
    for pt in rec.points:
        events.append((pt.time_s, "point", pt))
    events.sort(key=lambda e: (e[0], e[1] != "point"))
    rate = (0.0, 0.0, "")
    t_end_current = -1.0
    for t, kind, obj in events:
        if t > until:
            break
        if t_end_current >= 0 and t_end_current <= t:
            sim.advance(t_end_current, csf_mg_per_day=rate[0], tissue_mg_per_day=rate[1], drug=rate[2] or None)
            rate = (0.0, 0.0, "")
        sim.advance(t, csf_mg_per_day=rate[0], tissue_mg_per_day=rate[1], drug=rate[2] or None)
        if kind == "point":
            assert isinstance(obj, Point)
            sim.dose(obj.csf_mg, obj.drug, "catheter_access_port")
        else:
            assert isinstance(obj, int)
            i = obj
            days = (rec.t1[i] - rec.t0[i]) / DAY
            rate = (rec.csf_mg[i] / days, rec.tissue_mg[i] / days, rec.drug[i])
            t_end_current = rec.t1[i]
    if t_end_current >= 0 and t_end_current <= until:
        sim.advance(t_end_current, csf_mg_per_day=rate[0], tissue_mg_per_day=rate[1], drug=rate[2] or None)
        rate = (0.0, 0.0, "")
    sim.advance(until, csf_mg_per_day=rate[0], tissue_mg_per_day=rate[1], drug=rate[2] or None)
    return sim


def sample_record() -> FakeRecord:
    rec = FakeRecord()
    rec.add(T0, T0 + 2 * DAY, 2.0)
    rec.add(T0 + 2 * DAY, T0 + 2 * DAY + 600, 50.0)  # a bolus over 10 minutes
    rec.add(T0 + 2 * DAY + 600, T0 + 5 * DAY, 2.0)
    rec.add(T0 + 5 * DAY, T0 + 6 * DAY, 2.0, 1.0)  # a leak
    # a gap (pump stopped, nothing recorded) then saline
    rec.add(T0 + 7 * DAY, T0 + 8 * DAY, 0.0, drug="saline")
    rec.add(T0 + 8 * DAY, T0 + 10 * DAY, 3.0)
    rec.points.append(Point(T0 + 3 * DAY, 0.5, "morphine"))
    rec.points.append(Point(T0 + 9 * DAY, 0.2, "morphine"))
    return rec


def test_follow_equals_replaying_the_record_by_hand() -> None:
    p = PatientParams.sample(1, 3)
    rec = sample_record()
    sim = PatientSim(p, T0)
    sim.follow(rec, T0 + 11 * DAY)
    assert_same(sim, manual(p, rec, T0 + 11 * DAY))
    assert sim.delivered_csf_mg["morphine"] == pytest.approx(sum(rec.csf_mg) + 0.7, rel=1e-12)
    assert sim.delivered_tissue_mg["morphine"] == pytest.approx(1.0, rel=1e-12)


@settings(max_examples=25)
@given(cuts=st.lists(st.floats(0.0, 11.0), min_size=1, max_size=12))
def test_following_in_pieces_equals_following_at_once(cuts: list[float]) -> None:
    p = PatientParams.sample(1, 3)
    rec = sample_record()
    whole = PatientSim(p, T0)
    whole.follow(rec, T0 + 11 * DAY)
    pieces = PatientSim(p, T0)
    for c in sorted(cuts):
        pieces.follow(rec, T0 + c * DAY)
    pieces.follow(rec, T0 + 11 * DAY)
    assert_same(whole, pieces, rel=1e-8)


def test_a_point_dose_at_the_stop_time_is_applied_once() -> None:
    p = PatientParams.sample(1, 3)
    rec = FakeRecord().add(T0, T0 + DAY, 1.0)
    rec.points.append(Point(T0 + 0.5 * DAY, 0.3, "morphine"))
    sim = PatientSim(p, T0)
    sim.follow(rec, T0 + 0.5 * DAY)
    assert sim.delivered_csf_mg["morphine"] == pytest.approx(0.5 + 0.3)
    sim.follow(rec, T0 + 0.5 * DAY)
    sim.follow(rec, T0 + DAY)
    assert sim.delivered_csf_mg["morphine"] == pytest.approx(1.0 + 0.3)


def test_a_growing_record_is_followed_incrementally() -> None:
    p = PatientParams.sample(1, 3)
    rec = FakeRecord()
    sim = PatientSim(p, T0)
    for day in range(10):
        rec.add(T0 + day * DAY, T0 + (day + 1) * DAY, 1.0 + day)
        sim.follow(rec, T0 + (day + 1) * DAY)
    full = PatientSim(p, T0)
    full.follow(rec, T0 + 10 * DAY)
    assert_same(sim, full)


def test_follow_refuses_out_of_order_points_before_changing_anything() -> None:
    sim = PatientSim(PatientParams.sample(1, 3), T0)
    rec = FakeRecord().add(T0, T0 + DAY, 1.0)
    sim.follow(rec, T0 + 0.5 * DAY)
    before = state(sim)
    rec.points.append(Point(T0 + 0.25 * DAY, 0.3, "morphine"))  # in the past of this patient
    with pytest.raises(InputError) as e:
        sim.follow(rec, T0 + DAY)
    assert e.value.field == "record.points"
    assert state(sim) == before


def test_follow_and_observe_gives_a_time_series() -> None:
    sim = PatientSim(PatientParams.sample(1, 3), T0)
    rec = FakeRecord().add(T0, T0 + 3 * DAY, 2.0)
    obs = sim.follow_and_observe(rec, [T0 + k * 6 * H for k in range(1, 13)])
    assert [o.t_s for o in obs] == [T0 + k * 6 * H for k in range(1, 13)]
    conc = [o.effect_site_mg_per_ml for o in obs]
    assert all(b >= a for a, b in itertools.pairwise(conc))


def test_follow_a_real_implant_record() -> None:
    from tests.helpers import make_implant

    imp = make_implant(dose_mg_per_day=2.0, conc=10.0, fill=20.0)
    imp.run_until(T0 + 5 * DAY)
    imp.catheter_access_port_injection(0.05, "morphine", 10.0)
    imp.run_until(T0 + 8 * DAY)
    p = PatientParams.sample(1, 4)
    sim = PatientSim(p, T0, oral_mme_per_day=0.0)
    sim.follow(imp.record, T0 + 8 * DAY)
    delivered = imp.record.total("csf_mg", T0, T0 + 8 * DAY + 1)
    assert sim.delivered_csf_mg["morphine"] == pytest.approx(delivered, rel=1e-9)
    assert sim.observe().analgesic_drive_mg_per_day > 0.5


# ---- silent device failures show up as a clinician sees them -------------------------------------


def test_a_kinked_catheter_brings_back_pain_and_withdrawal() -> None:
    """Months of therapy, then csf_mg stops (kink, empty reservoir, end of service)."""
    p = PatientParams.sample(3, 5)
    rec = FakeRecord()
    rec.add(T0, T0 + 120 * DAY, 8.0)
    rec.add(T0 + 120 * DAY, T0 + 130 * DAY, 0.0)  # the pump runs; nothing reaches the spinal fluid
    sim = PatientSim(p, T0, oral_mme_per_day=0.0)
    sim.follow(rec, T0 + 120 * DAY)
    on = sim.observe(activity=1.0)
    sim.follow(rec, T0 + 121 * DAY)
    off = sim.observe(activity=1.0)
    assert on.withdrawal == 0.0
    assert off.pain >= 0.9 * p.baseline_pain
    assert off.pain > on.pain + 2.0
    assert off.withdrawal_opioid >= 2.0


def test_a_leak_into_tissue_relieves_far_less_than_the_spinal_fluid() -> None:
    p = PatientParams.sample(3, 5)
    intact = PatientSim.at_steady_state(p, T0, drug="morphine", csf_mg_per_day=8.0, oral_mme_per_day=0.0)
    leak = intact.copy()
    intact.advance(T0 + 3 * DAY, csf_mg_per_day=8.0, drug="morphine")
    leak.advance(T0 + 3 * DAY, tissue_mg_per_day=8.0, drug="morphine")
    a, b = intact.observe(activity=1.0), leak.observe(activity=1.0)
    assert b.pain > a.pain + 2.0
    assert b.plasma_mg_per_ml > a.plasma_mg_per_ml * 0.99  # the same mg reach plasma
    assert b.withdrawal_opioid > 0.0


def test_observation_serialises() -> None:
    o = PatientSim(PatientParams.sample(1, 1), T0).observe()
    d = o.to_dict()
    assert json.loads(json.dumps(d))["respiratory_depression"] is False
    assert set(Observation.__dataclass_fields__) <= set(d)


def test_reported_pain_is_an_integer_nrs_reproducible_from_the_rng() -> None:
    sim = PatientSim(PatientParams.sample(1, 1), T0)
    a = [sim.reported_pain(np.random.default_rng(5)) for _ in range(3)]
    assert len(set(a)) == 1
    many = [sim.reported_pain(np.random.default_rng(s)) for s in range(200)]
    assert all(isinstance(x, int) and 0 <= x <= 10 for x in many)
    assert abs(sum(many) / 200 - sim.observe().pain) < 0.5


def test_pain_fast_path_equals_observe() -> None:
    sim = PatientSim(PatientParams.sample(1, 6), T0)
    sim.advance(T0 + 3 * DAY, csf_mg_per_day=2.0, drug="morphine")
    sim.advance(T0 + 4 * DAY)
    assert sim.pain() == pytest.approx(sim.observe().pain, rel=1e-15)
    assert sim.pain(activity=0.0) < sim.pain(activity=1.0)


def test_oral_opioids_move_into_the_morphine_chain_without_changing_anything() -> None:
    """Oral morphine shares plasma with intrathecal morphine: merging the models is invisible."""
    p = PatientParams.sample(3, 5).with_(oral_mme_per_day=120.0)
    a = PatientSim(p, T0)
    b = PatientSim(p, T0)
    for sim in (a, b):
        sim.advance(T0 + DAY, oral_mme_per_day=60.0)
    a.dose(0.0, "morphine")  # creates the morphine chain: the oral state moves into it
    assert a._chains["morphine"].cm.nudged == ()
    assert_same(a, b, rel=1e-9)
    for sim in (a, b):
        sim.advance(T0 + 4 * DAY, oral_mme_per_day=30.0)
        sim.dose(20.0, "morphine", "oral")
        sim.advance(T0 + 5 * DAY)
    sa, sb = state(a), state(b)
    for k in ("pain", "withdrawal_opioid", "analgesic_drive_mg_per_day", "opioid_tolerance", "sedation"):
        assert sa[k] == pytest.approx(sb[k], rel=1e-9, abs=1e-12), k


def test_a_real_kinked_catheter_brings_back_pain_and_withdrawal() -> None:
    from tests.helpers import make_implant

    imp = make_implant(model="synchromed-ii-40", dose_mg_per_day=8.0, conc=25.0, fill=40.0)
    p = PatientParams.sample(3, 5)
    sim = PatientSim(p, T0, oral_mme_per_day=0.0)
    imp.run_until(T0 + 60 * DAY)
    sim.follow(imp.record, T0 + 60 * DAY)
    on = sim.observe(activity=1.0)
    imp.catheter_fault("occlusion")
    imp.run_until(T0 + 62 * DAY)
    sim.follow(imp.record, T0 + 62 * DAY)
    off = sim.observe(activity=1.0)
    assert off.pain > on.pain + 2.0
    assert off.withdrawal_opioid >= 2.0


def test_activity_follows_the_patients_day() -> None:
    p = PatientParams.sample(1, 1).with_(wake_h=7.0, sleep_h=23.0)
    midnight = 1_767_571_200.0  # 2026-01-05T00:00:00Z
    assert PatientSim(p, midnight + 3 * H).activity() == 0.0
    assert PatientSim(p, midnight + 12 * H).activity() == 1.0
    assert PatientSim(p, midnight + 12 * H, offset_s=-13 * 3600).activity() == 0.0  # 23:00 local
