"""Intrathecal pharmacokinetics: published half-lives, ratios, mass balance and an ODE oracle.

The oracle below writes the model's differential equations by hand from docs/patient-model.md
(not from the matrix the code builds) and integrates them with scipy's stiff solver at tight
tolerances; the exact solution must agree on random piecewise-constant dosing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from itdd.patient import PatientParams, PatientSim, pk
from itdd.patient import parameters as P

H = 3600.0
DAY = 86400.0
LN2 = math.log(2.0)


def ref_sim(**kw: object) -> PatientSim:
    return PatientSim(PatientParams.reference(**kw), 0.0)  # type: ignore[arg-type]


# ---- published half-lives and ratios -------------------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "half_life_min"),
    [
        ("morphine", 94.0),  # clinical-facts: CSF elimination half-life 94 min after an IT bolus
        ("ziconotide", 4.6 * 60),  # Prialt label: 4.6 h
        ("baclofen", 1.5 * 60),  # Kroin: 1.5 h
        ("clonidine", 66.0),  # Glynn 1992: 66 min
    ],
)
def test_terminal_csf_half_life_after_a_bolus(drug: str, half_life_min: float) -> None:
    """Long after a bolus the wider spinal fluid halves every cited half-life (terminal phase)."""
    sim = ref_sim()
    sim.dose(1.0, drug, "lumbar_puncture")
    t = 10 * half_life_min * 60.0  # ten half-lives: the faster modes are long gone
    sim.advance(t)
    c1 = sim.observe().csf_mg_per_ml
    sim.advance(t + half_life_min * 60.0)
    c2 = sim.observe().csf_mg_per_ml
    assert c2 / c1 == pytest.approx(0.5, rel=0.01)


def test_morphine_steady_state_ratios_tip_wide_cisternal() -> None:
    """At steady state: tip 5x the wider spinal fluid (Bernards), lumbar:cisternal 7:1."""
    sim = PatientSim.at_steady_state(PatientParams.reference(), 0.0, drug="morphine", csf_mg_per_day=2.0)
    o = sim.observe()
    assert o.csf_tip_mg_per_ml / o.csf_mg_per_ml == pytest.approx(5.0, rel=1e-9)
    assert o.csf_mg_per_ml / o.csf_cisternal_mg_per_ml == pytest.approx(7.0, rel=1e-9)
    # the spinal-cord effect site equals the tip fluid at steady state
    assert o.effect_site_mg_per_ml == pytest.approx(o.csf_tip_mg_per_ml, rel=1e-9)


def test_steady_state_plasma_is_rate_over_clearance() -> None:
    """Every mg delivered ends in plasma and is cleared there: C = rate / CL.

    Hand: morphine CL 25 mL/min/kg x 70 kg = 1750 mL/min = 2,520,000 mL/day, so 10 mg/day gives
    3.968e-6 mg/mL (about 4 ng/mL), whatever the split between spinal fluid and tissue.
    """
    expected = 10.0 / (25.0 * 70.0 * 1440.0)
    for csf, tissue in ((10.0, 0.0), (4.0, 6.0), (0.0, 10.0)):
        sim = PatientSim.at_steady_state(
            PatientParams.reference(), 0.0, drug="morphine", csf_mg_per_day=csf, tissue_mg_per_day=tissue
        )
        assert sim.observe().plasma_mg_per_ml == pytest.approx(expected, rel=1e-9)


def test_spinal_fluid_is_about_a_thousand_times_plasma() -> None:
    """clinical-facts: CSF ~1000x plasma during intrathecal morphine (order of magnitude)."""
    sim = PatientSim.at_steady_state(PatientParams.reference(), 0.0, drug="morphine", csf_mg_per_day=5.0)
    o = sim.observe()
    ratio = o.csf_mg_per_ml / o.plasma_mg_per_ml
    assert 10**2.5 < ratio < 10**3.7


def test_most_drug_stays_near_the_tip_and_lipophilic_drugs_spread_less() -> None:
    ratios = {}
    for drug in ("morphine", "hydromorphone", "fentanyl", "sufentanil", "baclofen"):
        sim = PatientSim.at_steady_state(PatientParams.reference(), 0.0, drug=drug, csf_mg_per_day=0.5)
        o = sim.observe()
        assert o.csf_tip_mg_per_ml / o.csf_mg_per_ml >= 5.0 - 1e-9  # Bernards: 5-10 fold
        ratios[drug] = o.csf_mg_per_ml / o.csf_cisternal_mg_per_ml
        # hand, cisternal balance: Q_SR (C_S - C_R) = (bulk 20 mL/h + k V_R) C_R
        _, q_sr = pk.mixing_flows()
        assert ratios[drug] == pytest.approx(1.0 + (20.0 + pk.permeation_rate(drug) * 50.0) / q_sr, rel=1e-9)
    # hydrophilic morphine reaches the cisterns; lipophilic fentanyl and sufentanil are cleared first
    assert ratios["fentanyl"] > 2.5 * ratios["morphine"]
    assert ratios["sufentanil"] > 2.5 * ratios["morphine"]


def test_lipophilic_opioids_are_cleared_from_csf_faster() -> None:
    left = {}
    for drug in ("morphine", "hydromorphone", "fentanyl", "sufentanil"):
        sim = ref_sim()
        sim.dose(0.1, drug, "lumbar_puncture")
        sim.advance(2 * H)
        left[drug] = sim.amounts_mg(drug)["T"] + sim.amounts_mg(drug)["S"] + sim.amounts_mg(drug)["R"]
    assert left["fentanyl"] < left["hydromorphone"] < left["morphine"]
    assert left["sufentanil"] < left["hydromorphone"]


def test_mixing_flows_are_physical_and_shared() -> None:
    q_ts, q_sr = pk.mixing_flows()
    assert q_ts > 0 and q_sr > 0
    # Solved so that the reference morphine model has the 94 min terminal half-life.
    k = pk.permeation_rate("morphine")
    assert pk.slowest_csf_rate(k, pk.REFERENCE_VOLUMES, q_ts, q_sr) == pytest.approx(LN2 / (94 / 60), rel=1e-10)


def test_csf_volume_scales_concentrations() -> None:
    """A smaller spinal-fluid volume gives higher concentrations for the same dose (Carpenter 1998)."""
    small = PatientSim(PatientParams.reference(csf_lumbosacral_ml=30.0), 0.0)
    large = PatientSim(PatientParams.reference(csf_lumbosacral_ml=70.0), 0.0)
    for s in (small, large):
        s.dose(0.5, "morphine", "lumbar_puncture")
        s.advance(2 * H)
    assert small.observe().effect_site_mg_per_ml > large.observe().effect_site_mg_per_ml


# ---- mass and jumps ------------------------------------------------------------------------------


def test_a_point_dose_is_an_instantaneous_jump_of_its_amount() -> None:
    sim = ref_sim()
    sim.dose(0.7, "morphine", "catheter_access_port")
    assert sim.mass_mg("morphine") == pytest.approx(0.7, rel=1e-12)
    assert sim.amounts_mg("morphine")["T"] == pytest.approx(0.7, rel=1e-12)
    sim.dose(0.3, "morphine", "subcutaneous")
    assert sim.amounts_mg("morphine")["D"] == pytest.approx(0.3, rel=1e-12)
    sim.dose(90.0, "morphine", "oral")
    assert sim.amounts_mg("oral")["G"] == pytest.approx(90.0, rel=1e-12)


def test_mass_only_decreases_without_input_and_reaches_zero() -> None:
    sim = ref_sim()
    sim.dose(1.0, "morphine", "lumbar_puncture")
    last = 1.0
    for h in (1, 2, 4, 8, 16, 32, 64):
        sim.advance(h * H)
        m = sim.mass_mg("morphine")
        assert 0.0 <= m < last
        last = m
    assert last < 1e-6


# ---- the ODE oracle ------------------------------------------------------------------------------


def hand_rhs(drug: str, patient: PatientParams):
    """The model's equations, written out from docs/patient-model.md."""
    d = P.DRUGS[drug]
    vt = patient.csf_lumbosacral_ml * 5.0 / 25.0
    vs = patient.csf_lumbosacral_ml + 30.0 - vt
    vr = 50.0
    bulk = 20.0  # mL/h
    q_ts, q_sr = pk.mixing_flows()
    k = pk.permeation_rate(drug)
    vp = d.plasma_volume_l_per_kg.value * patient.weight_kg * 1000.0
    k10 = d.plasma_clearance_ml_per_min_per_kg.value * patient.weight_kg * 60.0 / vp
    ke_sp = LN2 / d.spinal_ke0_half_life_h.value
    ke_br = LN2 / d.brain_ke0_half_life_h.value
    ke_pl = LN2 / d.plasma_ke0_half_life_h.value
    ka = LN2 / d.tissue_absorption_half_life_h.value
    norm = pk.normalisation(drug)
    r_a = 1.0 / (P.DEPENDENCE_TAU_D.value * 24.0)
    r_l1 = 1.0 / (P.SPINAL_TOLERANCE_TAU_D.value * 24.0)
    r_l2 = 1.0 / (P.SUPRASPINAL_TOLERANCE_TAU_D.value * 24.0)
    ed50 = patient.ed50_mg_per_day
    assert d.drug_class == P.OPIOID

    def f(_t: float, x: np.ndarray, r_csf: float, r_tis: float) -> np.ndarray:
        t, s, r, e, b, p, y, dep, a, l1, l2, _out = x
        ct, cs, cr = t / vt, s / vs, r / vr
        dt = r_csf - q_ts * (ct - cs) - k * t
        ds = q_ts * (ct - cs) - q_sr * (cs - cr) - k * s
        dr = q_sr * (cs - cr) - k * r - bulk * cr
        de = ke_sp * (ct - e)
        db = ke_br * (cr - b)
        dp = k * (t + s + r) + bulk * cr + ka * dep - k10 * p
        dy = ke_pl * (p / vp - y)
        ddep = r_tis - ka * dep
        u_sp, u_sys = e / norm.e_ref, y / norm.y_ref
        s_drive = b / norm.b50 + y / norm.y50
        dep_drive = s_drive + P.WITHDRAWAL_SYSTEMIC_WEIGHT.value * u_sys + P.WITHDRAWAL_SPINAL_WEIGHT.value * u_sp
        da = r_a * (dep_drive - a)
        dl1 = r_l1 * ((u_sp + P.ORAL_CROSS_TOLERANCE.value * u_sys) / ed50 - l1)
        dl2 = r_l2 * (s_drive - l2)
        dout = k10 * p  # eliminated (for the mass balance)
        return np.array([dt, ds, dr, de, db, dp, dy, ddep, da, dl1, dl2, dout])

    return f


schedules = st.lists(
    st.tuples(
        st.floats(60.0, 3 * DAY),  # duration (s)
        st.floats(0.0, 20.0),  # csf mg/day
        st.floats(0.0, 5.0),  # tissue mg/day
        st.sampled_from([0.0, 0.0, 0.5]),  # bolus (mg) at the start of the interval
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25)
@given(schedule=schedules, drug=st.sampled_from(["morphine", "hydromorphone", "fentanyl"]))
def test_exact_solution_matches_an_ode_solver_on_random_dosing(
    schedule: list[tuple[float, float, float, float]], drug: str
) -> None:
    patient = PatientParams.reference(weight_kg=82.0, csf_lumbosacral_ml=44.0)
    sim = PatientSim(patient, 0.0)
    sim.dose(0.0, drug)  # create the drug's chain even if the schedule gives none
    f = hand_rhs(drug, patient)
    x = np.zeros(12)
    t = 0.0
    delivered = 0.0
    for duration, csf, tissue, bolus in schedule:
        if bolus:
            sim.dose(bolus, drug, "lumbar_puncture")
            x[0] += bolus
            delivered += bolus
        sim.advance(t + duration, csf_mg_per_day=csf, tissue_mg_per_day=tissue, drug=drug)
        sol = solve_ivp(
            f,
            (0.0, duration / H),
            x,
            args=(csf / 24.0, tissue / 24.0),
            method="LSODA",
            rtol=1e-10,
            atol=1e-16,
        )
        x = sol.y[:, -1]
        t += duration
        delivered += (csf + tissue) * duration / DAY
    got = sim.amounts_mg(drug)
    names = ("T", "S", "R", "E", "B", "P", "Y", "D", "A", "L1", "L2")
    norm = pk.normalisation(drug)
    # absolute floors at a billionth of each quantity's natural unit (mg, mg/mL, drive units)
    floors = {"E": norm.e_ref, "B": norm.b50, "Y": norm.y_ref}
    for i, name in enumerate(names):
        floor = 1e-9 * floors.get(name, 1.0)
        assert got[name] == pytest.approx(x[i], rel=1e-6, abs=floor), name
    # mass balance: in the body + eliminated = delivered (the oracle's own bookkeeping)
    assert sim.mass_mg(drug) + x[11] == pytest.approx(delivered, rel=1e-6, abs=1e-12)


def test_oral_chain_matches_hand_equations() -> None:
    """Oral MME: gut -> plasma with bioavailability 1/3; 300 MME/day = 1 mg/day IT (Krames 300:1)."""
    patient = PatientParams.reference(weight_kg=70.0)
    sim = PatientSim(patient, 0.0, oral_mme_per_day=300.0)  # enrolment at steady state
    o = sim.observe()
    # hand: plasma = F * 300 mg/day / CL = (1/3 * 300) / (25 * 70 * 1440) mg/mL
    assert sim.amounts_mg("oral")["P"] / (3.47 * 70 * 1000) == pytest.approx(100.0 / (25 * 70 * 1440), rel=1e-9)
    assert o.analgesic_drive_mg_per_day == pytest.approx(1.0, rel=1e-9)


def test_every_drug_builds_for_many_patients() -> None:
    """Sampled volumes and weights never leave a model that cannot be decomposed exactly."""
    for i in range(150):
        p = PatientParams.sample(99, i)
        sim = PatientSim(p, 0.0)
        for drug in P.DRUGS:
            sim.dose(0.01, drug, "intrathecal")
        sim.advance(DAY)
        assert all(math.isfinite(v) for v in sim.observe().to_dict().values() if isinstance(v, float))


def test_unit_drives_are_what_they_claim() -> None:
    """1 mg/day IT morphine at steady state in the reference patient = 1 IT-morphine mg/day of drive
    (+1% from the systemic share: IV:IT 100:1); 0.2 mg/day hydromorphone (potency 5) = the same."""
    m = PatientSim.at_steady_state(
        PatientParams.reference(), 0.0, drug="morphine", csf_mg_per_day=1.0, oral_mme_per_day=0
    )
    assert m.observe().analgesic_drive_mg_per_day == pytest.approx(1.01, rel=1e-9)
    h = PatientSim.at_steady_state(
        PatientParams.reference(), 0.0, drug="hydromorphone", csf_mg_per_day=0.2, oral_mme_per_day=0
    )
    assert h.observe().analgesic_drive_mg_per_day == pytest.approx(1.01, rel=1e-9)
