"""PatientSim.vitals: the bedside subset of observe(), with the very same values.

The care pathway checks vital signs with ``vitals()`` instead of ``observe()`` for speed (issue 4);
this is only sound if every value it returns is the one ``observe()`` gives at the same instant.
The oracle is ``observe()`` itself, on states reached with each drug class (opioid, GABA-B agonist,
alpha-2 agonist, N-type calcium channel blocker, local anaesthetic) and with oral opioids.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.patient import DRUGS, PatientParams, PatientSim
from itdd.patient.sim import Vitals

T0 = 1_767_600_000.0
FIELDS = Vitals.__slots__


@settings(max_examples=25)
@given(
    index=st.integers(0, 50),
    drug=st.sampled_from(sorted(DRUGS)),
    csf=st.floats(0.0, 2.0),
    hours=st.floats(0.5, 24 * 30),
    stop_h=st.floats(0.0, 24 * 10),
    activity=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_vitals_equal_observe(
    index: int, drug: str, csf: float, hours: float, stop_h: float, activity: float | None
) -> None:
    sim = PatientSim(PatientParams.sample(7, index), T0, offset_s=3600)
    sim.advance(T0 + hours * 3600, csf_mg_per_day=csf, drug=drug)
    sim.advance(sim.t_s + stop_h * 3600, oral_mme_per_day=0.0)  # after a stop: withdrawal may show
    o, v = sim.observe(activity), sim.vitals(activity)
    for f in FIELDS:
        assert getattr(v, f) == getattr(o, f), f
    assert v.respiratory_depression == o.respiratory_depression


def test_vitals_show_respiratory_depression_like_observe() -> None:
    # an opioid-naive reference adult given a large intrathecal morphine bolus: breathing slows
    sim = PatientSim(PatientParams.reference(), T0, oral_mme_per_day=0.0)
    sim.dose(5.0, "morphine", "lumbar_puncture")
    sim.advance(T0 + 6 * 3600)
    o, v = sim.observe(1.0), sim.vitals(1.0)
    assert o.respiratory_depression  # the oracle says so (RR < 10/min or SpO2 < 90%)
    assert v.respiratory_depression
    assert (v.resp_rate_per_min, v.spo2_pct, v.sedation) == (o.resp_rate_per_min, o.spo2_pct, o.sedation)
