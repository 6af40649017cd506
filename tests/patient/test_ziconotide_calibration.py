"""Ziconotide's analgesia calibrated to its randomised trials (patient/parameters.py
``analgesic_scale``; docs/care.md "Ziconotide: calibrated to its trials")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from itdd.patient import PatientParams, PatientSim, pd
from itdd.patient import parameters as P
from itdd.patient.ziconotide import ziconotide_sensitivity

RAUCK_DOSE_MG_PER_DAY = 6.96e-3  # Rauck 2006: mean dose at termination 0.29 mcg/h = 6.96 mcg/day


def test_a_hand_built_patient_gets_the_calibrated_drive() -> None:
    # ED50 0.16 mg/day IT morphine, Emax 0.9, Hill 2; ziconotide 6.96 mcg/day at steady state:
    # drive = 6.96e-3 x 200 (it_potency) x 0.084 (analgesic_scale) = 0.116928 mg/day morphine-eq;
    # x = 0.116928 / 0.16 = 0.7308; relief = 0.9 x x^2 / (1 + x^2) = 0.9 x 0.53407 / 1.53407 = 0.3133
    # (the reference lumbosacral CSF volume, 49.9 mL, at which a unit of drive is defined: patient/pk.py)
    # (no seed: the patient's ziconotide sensitivity is not drawn, its multiplier is 1 (patient/ziconotide.py))
    p = dataclasses.replace(
        PatientParams.sample(3, 5),
        ed50_mg_per_day=0.16,
        emax=0.9,
        hill=2.0,
        csf_lumbosacral_ml=49.9,
        seed=None,
        index=None,
    )
    sim = PatientSim.at_steady_state(
        p, 0.0, drug="ziconotide", csf_mg_per_day=RAUCK_DOSE_MG_PER_DAY, oral_mme_per_day=0.0
    )
    v = sim.vitals()
    assert v.relief == pytest.approx(0.3133, rel=2e-3)
    # no opioid: no respiratory depression drive and no withdrawal, whatever the relief
    assert v.withdrawal == 0.0


def test_population_mean_relief_matches_rauck_2006() -> None:
    # Rauck 2006: pain 14.7% better on ziconotide vs 7.2% on placebo at 3 weeks -> 7.5 points from
    # the drug; the model's patients (no placebo) at the trial's mean dose give that mean (+-1.5 points:
    # 2,000 patients, sampling and the rounded calibration), each with the sensitivity drawn from its
    # own stream (patient/ziconotide.py: one in three responds, with 2.2 times the drive; the others 0)
    scale = P.DRUGS["ziconotide"].analgesic_scale.value * P.DRUGS["ziconotide"].it_potency.value
    ps = [PatientParams.sample(2026, i) for i in range(2000)]
    sens = [ziconotide_sensitivity(p) for p in ps]
    relief = [
        p.emax * pd.hill(RAUCK_DOSE_MG_PER_DAY * scale * s / p.ed50_mg_per_day, p.hill)
        for p, s in zip(ps, sens, strict=True)
    ]
    assert float(np.mean(relief)) == pytest.approx(0.075, abs=0.015)
    # at the label's maximum, 19.2 mcg/day, the mean drug relief is about Wallace 2006's 25-point
    # difference (31.2% vs 6.0%, after a fast titration to higher doses): between 15 and 40 points
    high = [p.emax * pd.hill(19.2e-3 * scale * s / p.ed50_mg_per_day, p.hill) for p, s in zip(ps, sens, strict=True)]
    assert 0.15 < float(np.mean(high)) < 0.40


def test_other_drugs_keep_their_full_drive() -> None:
    assert all(d.analgesic_scale.value == 1.0 for n, d in P.DRUGS.items() if n != "ziconotide")
