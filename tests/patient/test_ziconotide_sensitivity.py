"""Each patient's ziconotide sensitivity: one patient in three responds (patient/ziconotide.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from itdd.patient import PatientParams, PatientSim, pd
from itdd.patient import parameters as P
from itdd.patient import ziconotide as Z

RAUCK_DOSE_MG_PER_DAY = 6.96e-3  # Rauck 2006: mean dose at termination 0.29 mcg/h = 6.96 mcg/day


def _own_uniform(seed: int, index: int) -> float:
    # the patient's own ziconotide stream, derived here from numpy's SeedSequence as the module says
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(index, 0x7A69636F))
    return float(np.random.default_rng(ss).random())


def _hand_built(seed: int, index: int) -> PatientParams:
    # ED50 0.16 mg/day IT morphine, Emax 0.9, Hill 2, the reference CSF volume (49.9 mL), no oral opioid
    base = PatientParams.sample(3, 5)
    return dataclasses.replace(
        base,
        seed=seed,
        index=index,
        ed50_mg_per_day=0.16,
        emax=0.9,
        hill=2.0,
        csf_lumbosacral_ml=49.9,
        oral_mme_per_day=0.0,
        placebo_relief=0.0,
    )


def test_a_hand_built_responder_gets_2_2_times_the_calibrated_drive() -> None:
    # (3, 1): its own uniform is below 1/3, so a responder
    assert _own_uniform(3, 1) < 1.0 / 3.0
    p = _hand_built(3, 1)
    assert Z.ziconotide_sensitivity(p) == 2.2
    # drive = 6.96e-3 x 200 (it_potency) x 0.084 (analgesic_scale) x 2.2 = 0.2572416 mg/day morphine-eq;
    # x = 0.2572416 / 0.16 = 1.60776; x^2 = 2.584892; relief = 0.9 x 2.584892 / 3.584892 = 0.64895
    sim = PatientSim.at_steady_state(
        p, 0.0, drug="ziconotide", csf_mg_per_day=RAUCK_DOSE_MG_PER_DAY, oral_mme_per_day=0.0
    )
    v = sim.vitals()
    assert v.relief == pytest.approx(0.64895, rel=2e-3)
    assert v.analgesic_drive_mg_per_day == pytest.approx(0.2572416, rel=2e-3)


def test_a_hand_built_non_responder_gets_no_ziconotide_analgesia_but_its_side_effects() -> None:
    # (3, 0): its own uniform is above 1/3, so a non-responder: multiplier 0
    assert _own_uniform(3, 0) >= 1.0 / 3.0
    p = _hand_built(3, 0)
    assert Z.ziconotide_sensitivity(p) == 0.0
    # no analgesia even at the label's maximum, 19.2 mcg/day: drive 0, relief 0
    sim = PatientSim.at_steady_state(p, 0.0, drug="ziconotide", csf_mg_per_day=19.2e-3, oral_mme_per_day=0.0)
    o = sim.observe()
    assert o.relief == 0.0
    # its confusion is the responder's: the sensitivity scales the spinal analgesic drive only
    r = PatientSim.at_steady_state(
        _hand_built(3, 1), 0.0, drug="ziconotide", csf_mg_per_day=19.2e-3, oral_mme_per_day=0.0
    ).observe()
    assert o.confusion == r.confusion > 0.0
    assert r.relief > 0.5


def test_a_patient_without_a_seed_is_not_drawn() -> None:
    assert Z.ziconotide_sensitivity(PatientParams.reference()) == 1.0


def test_morphine_is_untouched_by_the_ziconotide_draw() -> None:
    # a responder and a non-responder that differ only in their draw: the same morphine patient to the last bit
    a = PatientSim.at_steady_state(_hand_built(3, 1), 0.0, drug="morphine", csf_mg_per_day=2.0)
    b = PatientSim.at_steady_state(_hand_built(3, 0), 0.0, drug="morphine", csf_mg_per_day=2.0)
    assert a.observe() == b.observe()


def test_population_share_of_responders_and_the_responders_at_the_label_maximum() -> None:
    n = 3000
    ps = [PatientParams.sample(2026, i) for i in range(n)]
    sens = [Z.ziconotide_sensitivity(p) for p in ps]
    share = sum(s > 0 for s in sens) / n
    # one in three (Staats 2004: 50.0% vs 17.5% on placebo): +-3 SD, SD = sqrt(1/3 x 2/3 / 3000) = 0.0086
    assert share == pytest.approx(1.0 / 3.0, abs=0.026)
    scale = P.DRUGS["ziconotide"].analgesic_scale.value * P.DRUGS["ziconotide"].it_potency.value
    drug = [p.emax * pd.hill(19.2e-3 * scale * s / p.ed50_mg_per_day, p.hill) for p, s in zip(ps, sens, strict=True)]
    # with the placebo response (30% of patients, 30-50% relief: patient/placebo.py) the share with at
    # least 30% less pain at 19.2 mcg/day is about the open-label and randomised figures: Staats 2004 50.0%
    # responders, Ellis 2008 52.2% moderate to complete relief (between 35% and 65%)
    total = [1 - (1 - r) * (1 - p.placebo_relief) for r, p in zip(drug, ps, strict=True)]
    assert 0.35 < float(np.mean([t >= 0.30 for t in total])) < 0.65


def test_the_sensitivity_survives_a_saved_and_restored_patient() -> None:
    # the draw is a function of (seed, index), which the saved patient keeps: the same relief to the last bit
    sim = PatientSim.at_steady_state(_hand_built(3, 1), 0.0, drug="ziconotide", csf_mg_per_day=RAUCK_DOSE_MG_PER_DAY)
    back = PatientSim.from_dict(sim.to_dict())
    assert back.vitals() == sim.vitals() and sim.vitals().relief > 0.5
