"""An A/A trial (two identical arms, the same patients) gives exactly zero difference for the
issue-10 endpoints of further side effects, pain interference, return to work and satisfaction."""

from __future__ import annotations

from itdd.trial import run_trial

from .conftest import protocol

LATER = [
    "urinary_retention_rate",
    "constipation_rate",
    "sweating_rate",
    "hypocortisolism_rate",
    "mean_pain_interference_change_12_months",
    "return_to_work_12_months",
    "satisfied_12_months",
]


def test_aa_trial_gives_exactly_zero_for_the_later_endpoints() -> None:
    p = protocol(patients_per_arm=12, endpoints={"primary": LATER[0], "secondary": LATER[1:]})
    s = run_trial(p, workers=1).summary
    a, b = s["arms"]
    assert a["endpoints"] == b["endpoints"]
    compared = 0
    for c in s["comparisons"]:
        if c["difference"] is None:  # an empty group: nothing to compare
            continue
        assert c["difference"] == 0.0, c
        assert c["p_value"] == 1.0, c
        compared += 1
    # 12 patients followed a year: every one of these groups has someone in it
    assert compared == len(LATER)
