"""The issue-10 keys for further side effects, pain interference, return to work and satisfaction
(care/metrics.py later_metrics, and their trial endpoints), against hand-built outcomes.

Every expected value is computed by hand in the comment next to it.
"""

from __future__ import annotations

import pytest

from itdd.care.cohort import summarize
from itdd.care.metrics import NEW_KEYS, PUBLISHED_NEW, new_metrics
from itdd.trial.endpoints import ENDPOINTS
from itdd.trial.statistics import arm_estimate, extract
from tests.care.test_cohort import outcome

DAY = 86400.0
LATER = (
    "urinary_retention_rate",
    "constipation_rate",
    "sweating_rate",
    "hypocortisolism_rate",
    "mean_pain_interference_change_12_months",
    "return_to_work_12_months",
    "satisfied_12_months",
)


def hand_built() -> list:
    """Five implanted patients followed 1 year (+ one never implanted).

    P0: side effects modelled; urinary retention and constipation; interference 7.2 -> 3.6;
        satisfied; working age, not working before, back at work
    P1: side effects modelled; constipation only; interference 7.2 -> 7.2; not satisfied;
        not working before, not back
    P2: side effects modelled; sweating and hypocortisolism; interference 6.3 -> 4.5; satisfied;
        working before (not in the return-to-work group)
    P3: side effects modelled; nothing; no 12-month values (in no 12-month group); not working
        before but no 12-month value
    P4: side effects not modelled (in no side-effect group); satisfied; over working age (None)
    P5: never implanted, with values that must not count
    """
    t = 1_767_600_000.0 + 100 * DAY
    return [
        outcome(0, side_effects_modelled=True, urinary_retention_s=t, constipation_s=t,
                pain_interference_baseline=7.2, pain_interference_12_months=3.6, satisfied_12_months=True,
                not_working_at_baseline=True, returned_to_work_12_months=True),
        outcome(1, side_effects_modelled=True, constipation_s=t,
                pain_interference_baseline=7.2, pain_interference_12_months=7.2, satisfied_12_months=False,
                not_working_at_baseline=True, returned_to_work_12_months=False),
        outcome(2, side_effects_modelled=True, sweating_s=t, hypocortisolism_s=t,
                pain_interference_baseline=6.3, pain_interference_12_months=4.5, satisfied_12_months=True,
                not_working_at_baseline=False),
        outcome(3, side_effects_modelled=True, not_working_at_baseline=True),
        outcome(4, satisfied_12_months=True),
        outcome(5, implanted=False, implant_s=None, trial_success=False, followed_s=0.0, side_effects_modelled=True,
                constipation_s=t, satisfied_12_months=False, not_working_at_baseline=True,
                returned_to_work_12_months=True, pain_interference_baseline=9.0, pain_interference_12_months=0.0),
    ]  # fmt: skip


#: by hand from hand_built():
#: side effects: group P0-P3 (4): urinary 1/4, constipation 2/4, sweating 1/4, hypocortisolism 1/4
#: interference change: (-3.6 + 0 - 1.8) / 3 = -1.8
#: return to work: group P0, P1 (not working, with a 12-month value): 1/2
#: satisfied: group P0, P1, P2, P4 (with a value): 3/4
WANT = {
    "urinary_retention_rate": 0.25,
    "constipation_rate": 0.5,
    "sweating_rate": 0.25,
    "hypocortisolism_rate": 0.25,
    "mean_pain_interference_change_12_months": -1.8,
    "return_to_work_12_months": 0.5,
    "satisfied_12_months": 0.75,
}


def test_later_metrics_by_hand() -> None:
    m = new_metrics(hand_built(), 1.0)
    for key, value in WANT.items():
        assert m[key] == pytest.approx(value, rel=1e-12), key


def test_nothing_modelled_gives_none_not_zero() -> None:
    m = new_metrics([outcome(0)], 1.0)
    for key in LATER:
        assert m[key] is None, key


def test_every_later_key_is_in_the_summary_with_a_source_and_a_row() -> None:
    s = summarize(hand_built(), 1.0)
    js = s.to_json()
    assert set(LATER) <= set(NEW_KEYS) <= set(js)
    for key in LATER:
        assert PUBLISHED_NEW[key][1]
    # the new keys come after every old one (the old keys keep their order)
    keys = list(js)
    assert keys.index("deaths_by_cause") < keys.index("urinary_retention_rate") < keys.index("years")
    assert js["satisfied_12_months"] == pytest.approx(0.75)
    assert any(r["metric"].startswith("Satisfied with the therapy") for r in s.rows)


def test_endpoints_reproduce_the_metrics_by_hand() -> None:
    outs = hand_built()
    m = new_metrics(outs, 1.0)
    sizes = {
        "urinary_retention_rate": 4,
        "constipation_rate": 4,
        "sweating_rate": 4,
        "hypocortisolism_rate": 4,
        "mean_pain_interference_change_12_months": 3,
        "return_to_work_12_months": 2,
        "satisfied_12_months": 4,
    }
    for name, value in WANT.items():
        e = ENDPOINTS[name]
        assert e.available
        r = arm_estimate(e, extract(e, outs, 1.0), 1.0, 0, (0,))
        assert r["estimate"] == pytest.approx(value, rel=1e-12) and r["n"] == sizes[name], name
        assert m[name] == pytest.approx(r["estimate"], rel=1e-12), name
