"""PatientSim.to_dict / from_dict: a restored patient continues bit-for-bit like the original.

The oracle is the original itself: the same operations applied to the uninterrupted patient and to
one saved (through real JSON text) and restored half-way must give identical observations — equality
of floats, not closeness.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.errors import InputError
from itdd.patient import PatientParams, PatientSim
from itdd.patient.sim import STATE_VERSION

H = 3600.0
DAY = 86400.0
T0 = 1_767_600_000.0


@dataclass
class Point:
    time_s: float
    csf_mg: float
    drug: str


@dataclass
class Rec:
    t0: list[float] = field(default_factory=list)
    t1: list[float] = field(default_factory=list)
    csf_mg: list[float] = field(default_factory=list)
    tissue_mg: list[float] = field(default_factory=list)
    drug: list[str] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


def roundtrip(sim: PatientSim, record: Rec | None = None) -> PatientSim:
    text = json.dumps(sim.to_dict(), allow_nan=False)  # what a database column holds
    return PatientSim.from_dict(json.loads(text), record)


def obs(sim: PatientSim) -> dict:
    return sim.observe().to_dict()


DRUGS = ("morphine", "hydromorphone", "baclofen", "clonidine", "fentanyl")

op = st.one_of(
    st.tuples(
        st.just("advance"),
        st.floats(0.0, 3 * DAY),
        st.floats(0.0, 5.0),
        st.floats(0.0, 1.0),
        st.sampled_from(DRUGS),
        st.none() | st.floats(0.0, 200.0),
    ),
    st.tuples(st.just("dose"), st.floats(0.0, 2.0), st.sampled_from(DRUGS), st.sampled_from(("intrathecal", "tissue"))),
    st.tuples(st.just("oral"), st.floats(0.0, 60.0)),
)


def apply(sim: PatientSim, o: tuple) -> None:
    if o[0] == "advance":
        _, dt, csf, tis, drug, oral = o
        sim.advance(sim.t_s + dt, csf_mg_per_day=csf, tissue_mg_per_day=tis, drug=drug, oral_mme_per_day=oral)
    elif o[0] == "dose":
        sim.dose(o[1], o[2], o[3])
    else:
        sim.dose(o[1], "morphine", "oral")


@settings(max_examples=25)
@given(
    ops=st.lists(op, min_size=2, max_size=10),
    cut=st.integers(0, 10),
    seed=st.integers(0, 2**16),
    at_steady=st.sampled_from(("", "morphine", "baclofen")),
)
def test_restored_patient_continues_bit_for_bit(ops, cut, seed, at_steady):
    params = PatientParams.sample(seed=seed, index=3)
    if at_steady:
        a = PatientSim.at_steady_state(params, T0, drug=at_steady, csf_mg_per_day=1.5, offset_s=3600)
    else:
        a = PatientSim(params, T0, offset_s=-5 * 3600)
    cut = min(cut, len(ops))
    for o in ops[:cut]:
        apply(a, o)
    b = roundtrip(a)
    assert b.to_dict() == a.to_dict()
    for o in ops[cut:]:
        apply(a, o)
        apply(b, o)
        assert obs(b) == obs(a)  # exact equality of every float
    assert b.to_dict() == a.to_dict()
    assert b.delivered_csf_mg == a.delivered_csf_mg


@settings(max_examples=15)
@given(
    rates=st.lists(st.tuples(st.floats(0.1 * H, 2 * DAY), st.floats(0.0, 4.0), st.floats(0.0, 0.5)), min_size=2),
    points=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.01, 0.5)), max_size=3),
    cut=st.floats(0.0, 1.0),
)
def test_restored_patient_resumes_the_same_record_exactly(rates, points, cut):
    """Following a growing record, saved mid-way (even exactly at a point dose) and resumed on it."""
    rec = Rec()
    t = T0
    for dur, csf, tis in rates:
        rec.t0.append(t)
        rec.t1.append(t + dur)
        rec.csf_mg.append(csf * dur / DAY)
        rec.tissue_mg.append(tis * dur / DAY)
        rec.drug.append("morphine")
        t += dur
    end = t
    for frac, mg in sorted(points):
        rec.points.append(Point(T0 + frac * (end - T0), mg, "morphine"))
    a = PatientSim(PatientParams.reference(oral_mme_per_day=30.0), T0)
    stop = T0 + cut * (end - T0)
    if rec.points:
        stop = rec.points[0].time_s  # the hard case: a point dose exactly at the save instant
    a.follow(rec, stop)
    b = roundtrip(a, rec)
    grid = [stop + k * (end - stop) / 7 for k in range(1, 8)]
    for g in grid:
        a.follow(rec, g)
        b.follow(rec, g)
        assert obs(b) == obs(a)
    assert b.delivered_csf_mg == a.delivered_csf_mg
    # the total reaching the spinal fluid is the record's, by hand: intervals plus point doses
    want = sum(rec.csf_mg) + sum(p.csf_mg for p in rec.points)
    assert b.delivered_csf_mg.get("morphine", 0.0) == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_state_is_versioned_json_and_keeps_oral_merge():
    sim = PatientSim(PatientParams.reference(oral_mme_per_day=60.0), T0)
    d = sim.to_dict()
    assert d["format"] == "itdd.patient_sim" and d["version"] == STATE_VERSION
    assert d["oral_chain"] is not None and d["chains"] == []
    sim.advance(T0 + DAY, csf_mg_per_day=1.0, drug="morphine")  # oral opioids move into the morphine chain
    d = sim.to_dict()
    assert d["oral_chain"] is None and [c["drug"] for c in d["chains"]] == ["morphine"]
    back = roundtrip(sim)
    assert back.mass_mg("oral") == sim.mass_mg("oral")
    assert json.loads(json.dumps(d)) == d


def test_reported_pain_is_reproducible_after_restore():
    sim = PatientSim.at_steady_state(PatientParams.sample(seed=7, index=1), T0, drug="morphine", csf_mg_per_day=2.0)
    back = roundtrip(sim)
    assert [sim.reported_pain(np.random.default_rng(5)) for _ in range(3)] == [
        back.reported_pain(np.random.default_rng(5)) for _ in range(3)
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(version=99), "patient_state.version"),
        (lambda d: d.update(format="x"), "patient_state.format"),
        (lambda d: d.update(t_s=math.inf), "patient_state.t_s"),
        (lambda d: d["chains"][0].update(drug="aspirin"), "patient_state.chains[0].drug"),
        (lambda d: d["chains"][0].update(z=[1.0]), "patient_state.chains[0].z"),
        (lambda d: d.update(oral_chain={"z": [0.0], "active": True}), "patient_state.oral_chain.z"),
        (lambda d: d["params"].update(weight_kg=-3.0), "patient.weight_kg"),
        (lambda d: d.update(delivered_csf_mg={"morphine": -1.0}), "patient_state.delivered_csf_mg.morphine"),
    ],
)
def test_bad_state_is_refused_naming_the_field(change, field):
    sim = PatientSim.at_steady_state(PatientParams.reference(), T0, drug="baclofen", csf_mg_per_day=0.2)
    d = json.loads(json.dumps(sim.to_dict()))
    change(d)
    with pytest.raises(InputError) as e:
        PatientSim.from_dict(d)
    assert e.value.field == field
