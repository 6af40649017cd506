"""``step_mix`` writes out the chains forced into the spinal fluid only without the zero terms of
its general form (issue 10's speed bound): the states must be the same bit for bit, zeros' signs
included, on random states, rates and steps (the general form is kept here as the reference)."""

from __future__ import annotations

import random
from math import exp, expm1

from itdd.patient import PatientParams, PatientSim
from itdd.patient.mixtures import H_PER_DAY, split_mixture, step_mix

T0 = 1_767_600_000.0


def reference_step_mix(sim: PatientSim, dt_h: float, name: str, r_csf: float, r_tis: float) -> None:
    """step_mix as it was written before (every chain through the general form)."""
    if dt_h <= 0.0:
        return
    parts = split_mixture(name)
    forcing: dict[int, tuple[float, float]] = {}
    for drug, ratio in parts:
        ch = sim._chains.get(drug)
        if ch is None:
            ch = sim._chain(drug)
        forcing[id(ch)] = (r_csf * ratio, r_tis * ratio)
        dc = sim.delivered_csf_mg
        dc[drug] = dc.get(drug, 0.0) + r_csf * ratio * dt_h
        if r_tis:
            dt_ = sim.delivered_tissue_mg
            dt_[drug] = dt_.get(drug, 0.0) + r_tis * ratio * dt_h
    sim.drug = parts[0][0]
    host = sim._host
    r_oral = sim.oral_mme_per_day / H_PER_DAY
    for ch in sim._chains.values():
        rc, rt = forcing.get(id(ch), (0.0, 0.0))
        ro = r_oral if ch is host else 0.0
        if rc or rt or ro:
            qo = ch.q_oral if ro else ch.q_in
            qt = ch.q_tis if rt else ch.q_in
            ch.z = [
                zi + expm1(li * dt_h) * (zi + rc * a + rt * b + ro * c)
                for zi, li, a, b, c in zip(ch.z, ch.lam, ch.q_in, qt, qo, strict=True)
            ]
        else:
            ch.z = [zi * exp(li * dt_h) for zi, li in zip(ch.z, ch.lam, strict=True)]
    o = sim._oral
    if o is None:
        return
    if r_oral:
        o.z = [zi + expm1(li * dt_h) * (zi + r_oral * qi) for zi, li, qi in zip(o.z, o.lam, o.q_in, strict=True)]
    elif o.active:
        o.z = [zi * exp(li * dt_h) for zi, li in zip(o.z, o.lam, strict=True)]
    else:
        return
    o.active = True


def _bits(sim: PatientSim) -> list[str]:
    out = [] if sim._oral is None else [x.hex() for x in sim._oral.z]
    for ch in sim._chains.values():
        out += [x.hex() for x in ch.z]
    out += [f"{k}={v.hex()}" for k, v in sorted(sim.delivered_csf_mg.items())]
    out += [f"{k}={v.hex()}" for k, v in sorted(sim.delivered_tissue_mg.items())]
    return out


def test_step_mix_equals_its_general_form_bit_for_bit() -> None:
    rng = random.Random(2026)
    names = (
        "morphine+bupivacaine@0.5",
        "morphine+bupivacaine@0.25+clonidine@0.011",
        "hydromorphone+clonidine@0.02",
        "fentanyl+bupivacaine@4.0",
    )
    for case in range(60):
        sim = PatientSim(PatientParams.sample(2026, case), T0, offset_s=3600)
        sim.advance(T0 + 3600.0, csf_mg_per_day=1.0, drug="morphine")  # the oral chain merges into morphine's
        for name in names:
            for d, _ in split_mixture(name):
                sim._chain(d)
        # random states, with zeros of both signs and tiny values among them
        for ch in sim._chains.values():
            ch.z = [rng.choice((0.0, -0.0, 1e-310, -1e-310, rng.uniform(-5, 5))) for _ in ch.z]
        for _ in range(8):
            name = rng.choice(names)
            r_csf = rng.choice((0.0, rng.uniform(0.001, 1.0)))
            r_tis = rng.choice((0.0, 0.0, rng.uniform(0.001, 0.3)))
            if r_csf == 0.0 and r_tis == 0.0:
                r_csf = 0.05
            sim.oral_mme_per_day = rng.choice((0.0, rng.uniform(1.0, 200.0)))
            dt_h = rng.choice((rng.uniform(0.0, 3.0), rng.uniform(10.0, 2000.0)))
            ref = sim.copy()
            step_mix(sim, dt_h, name, r_csf, r_tis)
            reference_step_mix(ref, dt_h, name, r_csf, r_tis)
            assert _bits(sim) == _bits(ref)
            assert sim.drug == ref.drug
