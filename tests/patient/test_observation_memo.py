"""PatientSim keeps its last full pool and observation with the state they came from: a second
look at the same state gives the very same values, and any change of state (a step, a dose, a
new oral rate, another activity) gives a fresh observation equal to one computed from scratch."""

from __future__ import annotations

from itdd.patient import PatientParams, PatientSim

T0 = 1_767_600_000.0


def fresh(sim: PatientSim, activity: float | None) -> object:
    """The observation computed without the kept one."""
    sim._obs_memo = None
    sim._pool_memo = None
    return sim.observe(activity)


def test_the_same_state_gives_the_same_observation_and_a_change_a_fresh_one() -> None:
    sim = PatientSim(PatientParams.sample(7, 3), T0, offset_s=3600)
    sim.advance(T0 + 10 * 3600, csf_mg_per_day=0.5, drug="morphine")
    a = sim.observe(1.0)
    assert sim.observe(1.0) is a  # the same state, instant and activity
    v = sim.vitals(1.0)  # from the kept pool: the same values as the observation
    assert (v.pain, v.sedation, v.withdrawal, v.opioid_tolerance) == (
        a.pain,
        a.sedation,
        a.withdrawal,
        a.opioid_tolerance,
    )
    b = sim.observe(0.0)  # another activity
    assert b is not a and b == fresh(sim, 0.0)
    sim.dose(0.3, "morphine", "lumbar_puncture")  # same instant, new state
    c = sim.observe(0.0)
    assert c != b and c == fresh(sim, 0.0)
    sim.advance(sim.t_s, oral_mme_per_day=30.0)  # same state, another oral rate (reported in the observation)
    d = sim.observe(0.0)
    assert d is not c and d.oral_mme_per_day == 30.0 and d == fresh(sim, 0.0)
    sim.advance(sim.t_s + 3600.0, csf_mg_per_day=0.5, drug="morphine")  # a step
    e = sim.observe(0.0)
    assert e.t_s == d.t_s + 3600.0 and e == fresh(sim, 0.0)
    clone = sim.copy()
    assert clone.observe(0.0) == e
