"""Issue-10 cohort metrics (src/itdd/care/metrics.py) against hand-built outcomes.

Every expected value is computed by hand in the comment next to it.
"""

from __future__ import annotations

import pytest

from itdd.care.cohort import summarize
from itdd.care.metrics import NEW_KEYS, kaplan_meier, new_metrics
from itdd.care.outcome import PatientOutcome
from tests.care.test_cohort import outcome as cohort_outcome

DAY = 86400.0
YEAR = 365.25 * DAY
MONTH = YEAR / 12
T0 = 1_767_600_000.0


def outcome(i: int, **kw: object) -> PatientOutcome:
    """The cohort tests' hand-built outcome, followed 5 years unless stated."""
    kw.setdefault("followed_s", 5 * YEAR)
    return cohort_outcome(i, **kw)


def dead(i: int, days: float, cause: str = "respiratory_depression", **kw: object) -> PatientOutcome:
    return outcome(i, death_s=T0 + days * DAY, death_cause=cause, followed_s=days * DAY, **kw)


def test_mortality_by_hand() -> None:
    # 10 implanted (+1 not implanted, not counted): deaths at day 2, 20, 200 and 400.
    # 30 days: 2 of 10 = 0.2; 1 year: 3 of 10 = 0.3 (day 400 is after a year).
    outs = [dead(0, 2), dead(1, 20, "background"), dead(2, 200), dead(3, 400)]
    outs += [outcome(i) for i in range(4, 10)]
    outs.append(outcome(10, implanted=False, implant_s=None, trial_success=False, followed_s=0.0))
    m = new_metrics(outs, 5.0)
    assert m["mortality_30_days"] == pytest.approx(0.2)
    assert m["mortality_1_year"] == pytest.approx(0.3)
    assert m["deaths"] == 4
    assert m["deaths_by_cause"] == {"respiratory_depression": 3, "background": 1}


def test_mortality_horizon() -> None:
    # followed 20 days only: no 30-day figure, no 1-year figure
    outs = [outcome(0, followed_s=20 * DAY), dead(1, 10)]
    m = new_metrics(outs, 20 / 365.25)
    assert m["mortality_30_days"] is None and m["mortality_1_year"] is None
    # followed 1 year: a patient alive and followed counts in the 30-day and 1-year groups
    m = new_metrics([outcome(0, followed_s=YEAR), dead(1, 10)], 1.0)
    assert m["mortality_30_days"] == pytest.approx(0.5) and m["mortality_1_year"] == pytest.approx(0.5)


def test_kaplan_meier_by_hand() -> None:
    # durations 1,2,3,4,5 (years), events at 1, 3, 4 (2 and 5 censored).
    # S = (4/5) after 1; 2 censored; at 3: 3 at risk -> x 2/3 = 0.5333; at 4: 2 at risk -> x 1/2 = 0.2667
    d = [y * YEAR for y in (1, 2, 3, 4, 5)]
    e = [True, False, True, True, False]
    assert kaplan_meier(d, e, 2.5 * YEAR) == pytest.approx(0.8)
    assert kaplan_meier(d, e, 3.5 * YEAR) == pytest.approx(0.8 * 2 / 3)
    assert kaplan_meier(d, e, 4.5 * YEAR) == pytest.approx(0.8 * 2 / 3 / 2)
    assert kaplan_meier(d, e, 6 * YEAR) is None  # nobody followed 6 years: no extrapolation
    assert kaplan_meier([], [], YEAR) is None


def test_catheter_and_explant_kaplan_meier() -> None:
    # 5 implanted, followed 5 years unless said otherwise.
    # catheter events at 1 and 3 years; patient 2 explanted at 2 years (censored there for the
    # catheter); patient 3 died at 4 years (censored); patient 4 event-free 5 years.
    # Catheter KM: at 1 y 5 at risk -> 4/5; at 2 y patient 2 censored; at 3 y 3 at risk -> x 2/3;
    # 4 y censored; 5 y: S = 0.8 x 2/3 = 0.5333.
    outs = [
        outcome(0, catheter_event_s=T0 + 1 * YEAR),
        outcome(1, catheter_event_s=T0 + 3 * YEAR),
        outcome(2, explanted=True, explant_s=T0 + 2 * YEAR),
        dead(3, 4 * 365.25, "background"),
        outcome(4),
    ]
    m = new_metrics(outs, 5.0)
    assert m["catheter_event_free_5_years"] == pytest.approx(0.8 * 2 / 3)
    # explant KM: one explant at 2 y with 5 at risk -> S(3 y) = 4/5; cumulative incidence 0.2
    assert m["explanted_by_3_years"] == pytest.approx(0.2)
    # 3 years of follow-up: no 5-year catheter figure
    short = [
        outcome(i, followed_s=3 * YEAR, explant_s=T0 + YEAR if i == 0 else None, explanted=i == 0) for i in range(4)
    ]
    m = new_metrics(short, 3.0)
    assert m["catheter_event_free_5_years"] is None
    assert m["explanted_by_3_years"] == pytest.approx(0.25)  # 1 of 4 at 1 year, nobody censored before


def test_stable_dose_by_hand() -> None:
    # followed 36 months with a 12-month dose > 0: 10 -> 11.9 (+19%, stable), 10 -> 12.5 (+25%, not),
    # 10 -> 8.0 (-20%, stable: the band is inclusive), 10 -> 0 (therapy stopped, not stable);
    # a patient followed 30 months does not count; a 12-month dose of 0 does not count.
    outs = [
        outcome(0, dose_mg_per_day_12_months=10.0, dose_mg_per_day_36_months=11.9),
        outcome(1, dose_mg_per_day_12_months=10.0, dose_mg_per_day_36_months=12.5),
        outcome(2, dose_mg_per_day_12_months=10.0, dose_mg_per_day_36_months=8.0),
        outcome(3, dose_mg_per_day_12_months=10.0, dose_mg_per_day_36_months=0.0),
        outcome(4, dose_mg_per_day_12_months=10.0, dose_mg_per_day_36_months=10.0, followed_s=30 * MONTH),
        outcome(5, dose_mg_per_day_12_months=0.0, dose_mg_per_day_36_months=0.0),
    ]
    m = new_metrics(outs, 5.0)
    assert m["stable_dose_12_to_36_months"] == pytest.approx(2 / 4)
    assert new_metrics(outs, 2.0)["stable_dose_12_to_36_months"] is None


def test_off_opioids_and_pain_reduction_by_hand() -> None:
    # 12 months: oral 0, 0, 20, 5 -> 2 of 4 off; a patient followed 6 months does not count.
    # 24 months: relief 0.25 (counts: at least 25%), 0.1, None (counts as not relieved), 0.5 -> 2 of 4.
    outs = [
        outcome(0, oral_mme_per_day_12_months=0.0, relief_24_months=0.25),
        outcome(1, oral_mme_per_day_12_months=0.0, relief_24_months=0.1),
        outcome(2, oral_mme_per_day_12_months=20.0, relief_24_months=None),
        outcome(3, oral_mme_per_day_12_months=5.0, relief_24_months=0.5),
        outcome(4, oral_mme_per_day_12_months=0.0, followed_s=6 * MONTH),
    ]
    m = new_metrics(outs, 5.0)
    assert m["off_systemic_opioids_12_months"] == pytest.approx(0.5)
    assert m["pain_reduction_25_at_24_months"] == pytest.approx(0.5)
    m1 = new_metrics(outs, 1.0)
    assert m1["pain_reduction_25_at_24_months"] is None


def test_side_effects_and_pros_by_hand() -> None:
    # side effects among patients where they were modelled: 4 modelled, oedema in 1, hypogonadism
    # in 2 -> 0.25 and 0.5; an unmodelled patient does not count.
    # ODI 50 -> 40 and 60 -> 56: mean change (-10 - 4) / 2 = -7; EQ-5D 0.4 -> 0.6, 0.5 -> 0.5: +0.1
    outs = [
        outcome(0, side_effects_modelled=True, peripheral_edema_s=T0 + YEAR, odi_baseline=50.0, odi_12_months=40.0),
        outcome(1, side_effects_modelled=True, hypogonadism_s=T0 + MONTH, odi_baseline=60.0, odi_12_months=56.0),
        outcome(2, side_effects_modelled=True, hypogonadism_s=T0 + 2 * MONTH, eq5d_baseline=0.4, eq5d_12_months=0.6),
        outcome(3, side_effects_modelled=True, eq5d_baseline=0.5, eq5d_12_months=0.5),
        outcome(4, peripheral_edema_s=T0),
    ]
    m = new_metrics(outs, 5.0)
    assert m["peripheral_edema_rate"] == pytest.approx(0.25)
    assert m["hypogonadism_rate"] == pytest.approx(0.5)
    assert m["mean_odi_change_12_months"] == pytest.approx(-7.0)
    assert m["mean_eq5d_change_12_months"] == pytest.approx(0.1)
    # nothing modelled: None, not 0
    m0 = new_metrics([outcome(0)], 5.0)
    assert m0["peripheral_edema_rate"] is None and m0["mean_odi_change_12_months"] is None


def test_summary_json_keeps_old_keys_and_adds_new() -> None:
    s = summarize([outcome(0), dead(1, 100)], 5.0)
    js = s.to_json()
    for k in NEW_KEYS:
        assert k in js
    assert js["mortality_1_year"] == pytest.approx(0.5)
    assert "explant_rate" in js and "patients" in js
    assert any(r["metric"].startswith("Died within 1 year") for r in s.rows)
