"""Side-effect onsets and patient-reported outcomes (patient/outcomes_pro.py), by hand."""

from __future__ import annotations

import math

import pytest

from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.patient import PatientParams
from itdd.patient import outcomes_pro as pro

YEAR = 365.25 * 86400.0


def test_rates_reproduce_their_sources() -> None:
    # Abs 2000: 86% after 26.6 months at 4.8 mg/day -> 1 - exp(-rate x 4.8 x 26.6/12) = 0.86
    assert 1 - math.exp(-pro.HYPOGONADISM * 4.8 * 26.6 / 12) == pytest.approx(0.86)
    # Aldrete 2000: 5 of 23 after 2 years at 10 mg/day (assumed)
    assert 1 - math.exp(-pro.EDEMA * 10.0 * 2.0) == pytest.approx(0.217)  # 5/23 = 0.2174, rounded


def test_onset_by_hand() -> None:
    # rate 0.1 /year per mg/day: 2 mg/day for 1 year (H = 0.2), then 4 mg/day (0.4/year).
    # threshold 0.3: 0.2 used by t = 1 y, the remaining 0.1 at 0.4/year takes 0.25 y -> 1.25 y
    log = [(0.0, 2.0, 0.0), (1 * YEAR, 4.0, 0.0)]
    t = pro.onset_s(log, 5 * YEAR, 0.3, 0.1, count_oral=False)
    assert t is not None and t / YEAR == pytest.approx(1.25)
    assert pro.onset_s(log, 1.1 * YEAR, 0.3, 0.1, count_oral=False) is None  # not before the end
    # oral opioids count at 1/300: 300 MME/day = 1 mg/day IT: H = 0.1 x (0 + 1) x 2 years = 0.2
    assert pro.onset_s([(0.0, 0.0, 300.0)], 2 * YEAR, 0.2 + 1e-12, 0.1, count_oral=True) is None
    t = pro.onset_s([(0.0, 0.0, 300.0)], 3 * YEAR, 0.2, 0.1, count_oral=True)
    assert t is not None and t / YEAR == pytest.approx(2.0)
    assert pro.onset_s([(0.0, 0.0, 300.0)], 3 * YEAR, 0.2, 0.1, count_oral=False) is None
    assert pro.onset_s([], YEAR, 0.1, 1.0, count_oral=True) is None


def test_pros_by_hand() -> None:
    # baseline pain 8 -> ODI 60; pain 4 (relief 0.5) -> 60 x (1 - 0.6 x 0.5) = 42
    assert pro.odi_from_pain(8.0, 4.0) == pytest.approx((60.0, 42.0))
    # EQ-5D 0.92 - 0.075 x pain: pain 8 -> 0.32, pain 0 -> 0.92
    assert pro.eq5d_from_pain(8.0) == pytest.approx(0.32)
    assert pro.eq5d_from_pain(0.0) == pytest.approx(0.92)


def test_pathway_outcome_carries_side_effects_and_pros() -> None:
    p = PatientParams.sample(7, 2)
    o = run_pathway(p, PathwayPlan(years=1.0, hazards=False, surgical_complications=False), 1).outcome
    assert o.implanted and o.side_effects_modelled
    assert o.odi_baseline is not None and o.odi_12_months is not None
    assert o.eq5d_baseline is not None and o.eq5d_12_months is not None
    assert o.relief_12_months is not None
    # more relief -> less disability and a better utility
    assert (o.odi_12_months < o.odi_baseline) == (o.relief_12_months > 0)
    assert (o.eq5d_12_months > o.eq5d_baseline) == (o.relief_12_months > 0)
    for onset in (o.peripheral_edema_s, o.hypogonadism_s):
        assert onset is None or (o.implant_s is not None and o.implant_s <= onset <= o.implant_s + o.followed_s)
