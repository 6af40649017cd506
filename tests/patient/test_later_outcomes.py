"""Issue 10, further side effects and what patients and payers care about
(patient/outcomes_pro.py: urinary retention, constipation, sweating, hypocortisolism, BPI pain
interference, satisfaction, return to work), by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.patient import PatientParams
from itdd.patient import outcomes_pro as pro

YEAR = 365.25 * 86400.0


class FixedDraws:
    """A stand-in for the patient's stream: the given thresholds and uniforms, in order."""

    def __init__(self, thresholds: list[float], uniforms: list[float], normal: float = 0.0) -> None:
        self.thresholds, self.uniforms, self.normal = thresholds, uniforms, normal

    def exponential(self, size: int) -> list[float]:
        assert size == 4
        return self.thresholds

    def random(self, size: int) -> list[float]:
        assert size == 2
        return self.uniforms

    def standard_normal(self) -> float:
        return self.normal


def test_rates_reproduce_their_sources() -> None:
    # Anderson 1998: 2 of 11 after 1.5 years (assumed) at 10 mg/day (assumed)
    assert 1 - math.exp(-pro.URINARY_RETENTION * 10.0 * 1.5) == pytest.approx(2 / 11)
    # Veiga 2018: 24.8% after 6 months at 60 oral MME/day (assumed)
    assert 1 - math.exp(-pro.CONSTIPATION * 60.0 * 0.5) == pytest.approx(0.248)
    # assumption: 10% after 2 years at 10 mg/day
    assert 1 - math.exp(-pro.SWEATING * 10.0 * 2.0) == pytest.approx(0.10)
    # Abs 2000: 14 of 71 after 26.6 months at 4.8 mg/day (as hypogonadism)
    assert 1 - math.exp(-pro.HYPOCORTISOLISM * 4.8 * 26.6 / 12) == pytest.approx(14 / 71)


def test_urinary_retention_onset_at_a_constant_dose_by_hand() -> None:
    # rate per year at 10 mg/day = ln(11/9) / 1.5 = 0.2006707 / 1.5 = 0.1337805;
    # threshold 0.5 -> onset at 0.5 / 0.1337805 = 3.73747 years
    log = [(0.0, 10.0, 0.0)]
    t = pro.onset_s(log, 5 * YEAR, 0.5, pro.URINARY_RETENTION, count_oral=False)
    assert t is not None and t / YEAR == pytest.approx(3.73747, rel=1e-5)
    # oral opioids do not count (a spinal effect): oral alone never gives it
    assert pro.onset_s([(0.0, 0.0, 300.0)], 40 * YEAR, 0.5, pro.URINARY_RETENTION, count_oral=False) is None


def test_constipation_counts_systemic_exposure_by_hand() -> None:
    # Veiga's cumulative hazard after 6 months at 60 MME/day is -ln(0.752) = 0.285019.
    # 10 mg/day IT = 30 systemic MME, + 30 oral = 60 MME/day: that threshold is reached at 0.5 y
    h = -math.log(0.752)
    log = [(0.0, 10.0, 30.0)]
    t = pro.onset_weighted_s(log, 2 * YEAR, h, pro.CONSTIPATION, it_weight=3.0, oral_weight=1.0)
    assert t is not None and t / YEAR == pytest.approx(0.5)
    # 20 mg/day IT alone = 60 MME/day: the same instant
    t = pro.onset_weighted_s([(0.0, 20.0, 0.0)], 2 * YEAR, h, pro.CONSTIPATION, it_weight=3.0, oral_weight=1.0)
    assert t is not None and t / YEAR == pytest.approx(0.5)
    # 60 oral MME/day for 0.25 y, then nothing: H = 0.285019 / 2 < h -> never
    log = [(0.0, 0.0, 60.0), (0.25 * YEAR, 0.0, 0.0)]
    assert pro.onset_weighted_s(log, 5 * YEAR, h, pro.CONSTIPATION, it_weight=3.0, oral_weight=1.0) is None
    # piecewise: 60 MME for 0.25 y (H = h/2), then 120 MME (rate 2 x 0.570038 = 1.140076/y):
    # the remaining h/2 = 0.1425095 takes 0.125 y -> onset at 0.375 y
    log = [(0.0, 0.0, 60.0), (0.25 * YEAR, 0.0, 120.0)]
    t = pro.onset_weighted_s(log, 5 * YEAR, h, pro.CONSTIPATION, it_weight=3.0, oral_weight=1.0)
    assert t is not None and t / YEAR == pytest.approx(0.375)


def test_interference_satisfaction_and_return_to_work_by_hand() -> None:
    # BPI interference = 0.9 x NRS: 8 -> 7.2, 4 -> 3.6; clamped to 0-10
    assert pro.interference_from_pain(8.0) == pytest.approx(7.2)
    assert pro.interference_from_pain(4.0) == pytest.approx(3.6)
    assert pro.interference_from_pain(12.0) == 10.0 and pro.interference_from_pain(-1.0) == 0.0
    # the average patient (z = 0) is satisfied when relief >= 30%: 8 -> 5.6 is exactly 30%; 8 -> 5.7 is 28.75%
    assert pro.satisfied(8.0, 5.6) and not pro.satisfied(8.0, 5.7) and not pro.satisfied(0.0, 0.0)
    # a demanding patient (z = +1) needs 0.3 x 8 + 2.48 = 4.88 points: 8 -> 3.12 yes, 8 -> 3.2 (4.8) no
    assert pro.satisfied(8.0, 3.12, 1.0) and not pro.satisfied(8.0, 3.2, 1.0)
    # an easily satisfied one (z = -0.5) needs 2.4 - 1.24 = 1.16 points: 8 -> 6.84 yes, 8 -> 6.9 (1.1) no
    assert pro.satisfied(8.0, 6.84, -0.5) and not pro.satisfied(8.0, 6.9, -0.5)
    # P(back at work) = 0.30 x relief: relief 0.5 -> 0.15; worse pain -> 0; no pain -> 0.30
    assert pro.return_to_work_probability(8.0, 4.0) == pytest.approx(0.15)
    assert pro.return_to_work_probability(8.0, 9.0) == 0.0
    assert pro.return_to_work_probability(8.0, 0.0) == pytest.approx(0.30)


def test_later_outcomes_of_a_hand_built_patient() -> None:
    # 10 mg/day from t=0, followed 5 years; urinary threshold 0.5 -> 3.73747 y (above);
    # the other thresholds are out of reach (1e9)
    log = [(0.0, 10.0, 0.0)]
    big = 1e9
    out = pro.later_outcomes(
        log, 5 * YEAR, FixedDraws([0.5, big, big, big], [0.5, 0.1]), baseline_pain=8.0, pain_12=4.0, age_y=50.0
    )  # type: ignore[arg-type]
    assert out["urinary_retention_s"] / YEAR == pytest.approx(3.73747, rel=1e-5)
    assert out["constipation_s"] is None and out["sweating_s"] is None and out["hypocortisolism_s"] is None
    # interference 7.2 -> 3.6 (change -3.6); relief 0.5 (4 points) and z = 0 (needs 2.4): satisfied
    assert out["pain_interference_baseline"] == pytest.approx(7.2)
    assert out["pain_interference_12_months"] == pytest.approx(3.6)
    assert out["satisfied_12_months"] is True
    # the same relief with z = 1 (needs 2.4 + 2.48 = 4.88 > 4 points): not satisfied
    out2 = pro.later_outcomes(
        log, 5 * YEAR, FixedDraws([big] * 4, [0.5, 0.1], 1.0), baseline_pain=8.0, pain_12=4.0, age_y=50.0
    )  # type: ignore[arg-type]
    assert out2["satisfied_12_months"] is False
    # age 50, u = 0.5 < 43/50 = 0.86: not working; P(back) = 0.15 > 0.1: back at work
    assert out["not_working_at_baseline"] is True and out["returned_to_work_12_months"] is True
    # u = 0.2 >= 0.15: not back
    out = pro.later_outcomes(
        log, 5 * YEAR, FixedDraws([big] * 4, [0.5, 0.2]), baseline_pain=8.0, pain_12=4.0, age_y=50.0
    )  # type: ignore[arg-type]
    assert out["returned_to_work_12_months"] is False
    # u = 0.9 >= 0.86: working at baseline -> not in the return-to-work group
    out = pro.later_outcomes(
        log, 5 * YEAR, FixedDraws([big] * 4, [0.9, 0.0]), baseline_pain=8.0, pain_12=4.0, age_y=50.0
    )  # type: ignore[arg-type]
    assert out["not_working_at_baseline"] is False and "returned_to_work_12_months" not in out
    # age 70: not of working age (None); not followed 12 months: no 12-month values at all
    out = pro.later_outcomes(
        log, 0.5 * YEAR, FixedDraws([big] * 4, [0.0, 0.0]), baseline_pain=8.0, pain_12=None, age_y=70.0
    )  # type: ignore[arg-type]
    assert out["not_working_at_baseline"] is None
    assert not {"satisfied_12_months", "pain_interference_12_months", "returned_to_work_12_months"} & set(out)


def test_later_outcomes_draw_exactly_seven_numbers_from_their_own_stream() -> None:
    # 4 exponentials, 2 uniforms, then 1 normal, whatever the patient: the stream is left exactly there
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    pro.later_outcomes([(0.0, 1.0, 0.0)], YEAR, a, baseline_pain=7.0, pain_12=None, age_y=80.0)
    b.exponential(size=4)
    b.random(size=2)
    b.standard_normal()
    assert a.random() == b.random()


def test_pathway_outcome_carries_the_later_outcomes() -> None:
    p = PatientParams.sample(7, 2)
    plan = PathwayPlan(years=1.0, hazards=False, surgical_complications=False)
    o = run_pathway(p, plan, 1).outcome
    assert o.implanted and o.relief_12_months is not None
    assert o.pain_interference_baseline == pytest.approx(0.9 * o.baseline_pain)
    assert o.pain_interference_12_months is not None
    assert o.satisfied_12_months is not None  # its threshold is the patient's own draw (test above)
    assert (o.not_working_at_baseline is None) == (not 18 <= p.age_y < 65)
    for onset in (o.urinary_retention_s, o.constipation_s, o.sweating_s, o.hypocortisolism_s):
        assert onset is None or (o.implant_s is not None and o.implant_s <= onset <= o.implant_s + o.followed_s)
    # the same seed gives the same outcome, the new fields included
    assert run_pathway(p, plan, 1).outcome == o


def test_a_resumed_onset_scan_finds_the_same_onset_to_the_last_bit() -> None:
    # The pathway checks onsets at every visit on the exposure log so far, resuming where the last
    # visit's scan stopped (OnsetScan).  A growing log checked at 40 instants must give, at every
    # instant, exactly (==, not approx) the onset of a scan from the start, for both onset forms.
    import random

    from itdd.patient.outcomes_pro import OnsetScan, onset_s, onset_weighted_s

    rnd = random.Random(7)
    log: list[tuple[float, float, float]] = []
    t = 0.0
    plain, weighted = OnsetScan(), OnsetScan()
    for _ in range(40):
        log.append((t, rnd.choice([0.0, 2.0, 7.5, 12.0]), rnd.choice([0.0, 30.0, 90.0])))
        t += rnd.uniform(1e5, 4e6)
        th = 3.0  # high enough that most checks find nothing yet
        a = onset_s(log, t, th, 0.05, count_oral=True)
        b = onset_s(log, t, th, 0.05, count_oral=True, scan=plain)
        assert a == b
        c = onset_weighted_s(log, t, th, 0.002, it_weight=3.0, oral_weight=1.0)
        d = onset_weighted_s(log, t, th, 0.002, it_weight=3.0, oral_weight=1.0, scan=weighted)
        assert c == d
    assert plain.row > 0 and weighted.row > 0  # the scans did resume


def test_satisfaction_share_follows_the_threshold_spread() -> None:
    # every patient at 8 -> 4 (4 points): satisfied when 2.4 + 2.48 z <= 4, i.e. z <= 1.6 / 2.48 = 0.645;
    # Phi(0.645) = 0.7406; 4,000 patients: SD = sqrt(0.7406 x 0.2594 / 4000) = 0.0069; 4 SD = 0.028
    rng = np.random.default_rng(2026)
    n = 4000
    hits = sum(
        pro.later_outcomes([(0.0, 1.0, 0.0)], YEAR, rng, baseline_pain=8.0, pain_12=4.0, age_y=70.0)[
            "satisfied_12_months"
        ]
        for _ in range(n)
    )
    assert abs(hits / n - 0.7406) < 0.028
