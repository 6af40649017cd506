"""Mortality: the bundled life table, the exact death clock, its risk factors and the pathway's end state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from itdd.care.cohort import patient_seed
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.errors import InputError
from itdd.patient import PatientParams
from itdd.patient import mortality as M

DAY = 86400.0
YEAR = 365.25 * DAY


def test_life_table_reproduces_the_published_life_expectancy() -> None:
    # SSA period life table 2016: e0 = 75.97 (males), 80.96 (females).  e0 = sum over ages of
    # l_x (1 - q_x / 2) with l_0 = 1 (deaths mid-year): computed here from the bundled q_x.
    lt = M.life_table()
    for qs, published in ((lt.male_qx, 75.97), (lt.female_qx, 80.96)):
        alive, e0 = 1.0, 0.0
        for q in qs:
            e0 += alive * (1 - q / 2)
            alive *= 1 - q
        assert e0 == pytest.approx(published, abs=0.01)
    assert lt.qx(55.9, female=False) == 0.007766  # the table's row for age 55
    assert lt.qx(200, female=True) == lt.female_qx[-1]  # beyond the table: its last row
    assert "Social Security" in lt.source


def _clock(threshold: float, **kw: object) -> M.MortalityClock:
    args: dict[str, object] = {
        "implant_s": 0.0,
        "age_y": 55.0,
        "female": False,
        "start_dose_mg_per_day": 0.5,
        "risk": M.RiskFactors(),
    }
    args.update(kw)
    c = M.MortalityClock(np.random.default_rng(0), **args)  # type: ignore[arg-type]
    c.threshold = threshold
    return c


def test_background_death_time_by_hand() -> None:
    # male aged 55.0: q = 0.007766, hazard -ln(1 - q) = 0.0077963/year, x 1.5 (chronic-pain
    # excess) = 0.0116945/year.  Threshold 0.005 -> death after 0.005 / 0.0116945 = 0.42755 years.
    c = _clock(0.005, therapy_related=False)
    t = c.next_death(10 * YEAR)
    assert t is not None
    assert t / YEAR == pytest.approx(0.005 / (1.5 * -math.log(1 - 0.007766)), rel=1e-9)
    assert c.cause(t, 0.3) == "background"
    # a threshold past the horizon: alive at the horizon
    assert _clock(5.0, therapy_related=False).next_death(1 * YEAR) is None


def test_background_crosses_a_birthday_exactly() -> None:
    # aged 55.5: half a year at age 55's hazard, then age 56's (q = 0.008445)
    h55 = 1.5 * -math.log(1 - 0.007766)
    h56 = 1.5 * -math.log(1 - 0.008445)
    threshold = h55 * 0.5 + h56 * 0.25  # -> 0.75 years
    c = _clock(threshold, age_y=55.5, therapy_related=False)
    t = c.next_death(10 * YEAR)
    assert t is not None and t / YEAR == pytest.approx(0.75, rel=1e-9)


def test_respiratory_death_needs_its_risk_factors() -> None:
    rates = M.calibration()
    plain = _clock(1.0)
    risky = _clock(1.0, risk=M.RiskFactors(oral_mme_per_day=100.0, benzodiazepine=True, sleep_apnoea=True))
    t = 1 * DAY  # first window, reference start dose 0.5 mg/day: factor 1
    assert plain.rates(t)["respiratory_depression"] == pytest.approx(rates[0])
    # relative risk: (1 + 2 x 100/100) x 3.86 (benzodiazepine) x 2 (sleep apnoea) = 23.16
    assert risky.rates(t)["respiratory_depression"] == pytest.approx(rates[0] * 23.16)
    # the risk is highest in the first days: days 3-30 and 30-365 are lower, later lower still
    r = [plain.rates(d * DAY)["respiratory_depression"] for d in (1, 10, 100, 500)]
    assert r[0] > r[1] and r[0] > r[2] > r[3] > 0
    # a higher starting dose raises the early risk in proportion (1 mg/day = 2 x reference)
    assert _clock(1.0, start_dose_mg_per_day=1.0).rates(t)["respiratory_depression"] == pytest.approx(2 * rates[0])


def test_no_opioid_no_respiratory_depression() -> None:
    # ziconotide (or therapy off): the respiratory-depression hazard is zero at every time
    c = _clock(1e-9, opioid=False)
    for d in (0.5, 2, 20, 200, 2000):
        assert c.rates(d * DAY)["respiratory_depression"] == 0.0
    t = c.next_death(YEAR)
    assert t is not None and c.cause(t, 0.999) == "background"


def test_dose_increase_opens_a_three_day_window() -> None:
    rates = M.calibration()
    c = _clock(10.0)
    t0 = 40 * DAY
    base = c.rates(t0 + DAY)["respiratory_depression"]
    c.set_state(t0, dose_mg_per_day=1.0, oral_mme_per_day=0.0, opioid=True, benzodiazepine=False)  # 0.5 -> 1: x2
    # one doubling: + 0.25 x the first-3-days rate, for 3 days
    assert c.rates(t0 + DAY)["respiratory_depression"] == pytest.approx(base + 0.25 * rates[0])
    assert c.rates(t0 + 3.5 * DAY)["respiratory_depression"] == pytest.approx(base)
    # a decrease adds nothing
    c.set_state(t0 + 4 * DAY, dose_mg_per_day=0.6, oral_mme_per_day=0.0, opioid=True, benzodiazepine=False)
    assert c.rates(t0 + 5 * DAY)["respiratory_depression"] == pytest.approx(base)


def test_set_state_integrates_the_old_state() -> None:
    # background only: hazard h for 0.2 years, then the clock is told about a change (nothing
    # that touches the background): cumulative hazard so far = 0.2 h
    c = _clock(10.0, therapy_related=False)
    c.set_state(0.2 * YEAR, dose_mg_per_day=0.5, oral_mme_per_day=0.0, opioid=True, benzodiazepine=False)
    assert c.cum == pytest.approx(0.2 * 1.5 * -math.log(1 - 0.007766), rel=1e-9)


def test_calibration_reproduces_coffey_for_the_reference_mix() -> None:
    # background (population mean) + respiratory depression x mean relative risk, window by window,
    # adds up to Coffey 2009's cumulative hazard at 3 days, 30 days and 1 year
    rates = M.calibration()
    total = 0.0
    for i, ((a, b), target) in enumerate(zip(M.RD_WINDOWS_DAYS, (0.00088, 0.0039, 0.0389), strict=True)):
        rr = M._mean_relative_risk(M.REF_MEAN_ORAL_MME_BY_WINDOW[i].value)
        total += rates[i] * (b - a) / 365.25 * rr
        assert total + M._population_background(b / 365.25) == pytest.approx(-math.log(1 - target), rel=1e-9)


def test_event_deaths_draw_once() -> None:
    rng = np.random.default_rng(3)
    n = 0
    for _ in range(100):
        M.overdose_death(rng, "refill")
        M.overdose_death(rng, "programming")
        M.meningitis_death(rng)
        n += 3
    assert rng.random() == np.random.default_rng(3).random(n + 1)[-1]
    with pytest.raises(InputError):
        M.overdose_death(rng, "bolus")


def test_population_risk_factors_sampled_at_their_rates() -> None:
    ps = [PatientParams.sample(5, i) for i in range(2000)]
    benzo = sum(p.benzodiazepine for p in ps) / len(ps)
    osa = sum(p.sleep_apnoea for p in ps) / len(ps)
    # binomial SE with n = 2000: ~0.010 at 27%, ~0.0097 at 25%; 4 SE
    assert abs(benzo - 0.27) < 0.04 and abs(osa - 0.25) < 0.04


def test_death_ends_the_pathway() -> None:
    # cohort 7, patient 11: benzodiazepines and 161 MME/day of oral opioids; dies of respiratory
    # depression in the second month (found by running the cohort; the assertions are on the
    # end state, not on the day).
    p = PatientParams.sample(7, 11)
    assert p.benzodiazepine
    r = run_pathway(p, PathwayPlan(years=1.0), patient_seed(7, 11), record=True)
    o = r.outcome
    assert o.death_cause == "respiratory_depression"
    assert o.death_s is not None and o.implant_s is not None and o.death_day is not None
    assert o.followed_s == pytest.approx(o.death_s - o.implant_s)
    assert 0 < o.death_day < 365.25
    assert o.relief_12_months is None and o.dose_mg_per_day_12_months is None  # no milestone after death
    assert all(c.t_s <= o.death_s for c in o.complications)
    assert r.result is not None
    assert r.result["outcome"]["death_cause"] == "respiratory_depression"
    assert any(s["stage"] == "death" for s in r.result["pathway"]["stages"])
    # without mortality the same patient lives through the year
    alive = run_pathway(p, PathwayPlan(years=1.0, mortality=False), patient_seed(7, 11)).outcome
    assert alive.death_s is None and alive.followed_s == pytest.approx(YEAR)


def test_the_scans_one_call_piece_is_the_breakpoint_and_the_total() -> None:
    # _piece(t) is (_breakpoints(t), _total(t)) computed together: identical floats, every state
    rng = np.random.default_rng(5)
    for cancer in (False, True):
        c = _clock(1.0, age_y=61.37, cancer=cancer, implant_s=1.7e9)
        dose = 0.5
        for k in range(40):
            t = 1.7e9 + k * 11.3 * DAY
            dose *= 1.0 + float(rng.random()) * 0.3
            c.set_state(t, dose_mg_per_day=dose, oral_mme_per_day=30.0, opioid=k % 7 != 6, benzodiazepine=False)
            for u in (t, t + 1.0, t + 3 * DAY, t + 400 * DAY):
                assert c._piece(u) == (c._breakpoints(u), c._total(u))
