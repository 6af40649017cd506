"""Detection that behaves like a clinic (care/clinician/detection.py): a rising dose need is
worked up even when titration keeps the pain controlled."""

from __future__ import annotations

from itdd.care.clinician.detection import dose_months_ago, rapid_escalation
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.patient import PatientParams

DAY = 86400.0
MONTH = 365.25 * DAY / 12


def test_dose_months_ago_reads_the_steps() -> None:
    steps = [(0.0, 1.0), (3 * MONTH, 2.0), (9 * MONTH, 4.0)]
    # 6 months before month 12 is month 6: the step of month 3 (2 mg/day) is in force
    assert dose_months_ago(steps, 12 * MONTH, 6.0) == 2.0
    # before the first step: None
    assert dose_months_ago(steps, 3 * MONTH, 6.0) is None


def test_rapid_escalation_by_hand() -> None:
    kw = {"since_implant_s": 13 * MONTH, "recent_negative_workup": False, "workup_booked": False}
    # 8 mg/day now, 4 six months ago: x2.0 -> work-up
    d = rapid_escalation(dose_mg_per_day=8.0, dose_months_ago_mg_per_day=4.0, **kw)  # type: ignore[arg-type]
    assert d.action == "workup" and "x2.0" in d.reason
    # x1.9: no; within the first 12 months (titration 6 + window 6): no; after a negative study: no
    assert rapid_escalation(dose_mg_per_day=7.6, dose_months_ago_mg_per_day=4.0, **kw).action == "continue"  # type: ignore[arg-type]
    kw2 = {**kw, "since_implant_s": 11 * MONTH}
    assert rapid_escalation(dose_mg_per_day=8.0, dose_months_ago_mg_per_day=4.0, **kw2).action == "continue"  # type: ignore[arg-type]
    kw3 = {**kw, "recent_negative_workup": True}
    assert rapid_escalation(dose_mg_per_day=8.0, dose_months_ago_mg_per_day=4.0, **kw3).action == "continue"  # type: ignore[arg-type]


def test_a_leak_hidden_by_titration_is_found_by_the_rising_dose() -> None:
    """A stable-tolerance patient (dose flat after the first months) gets a 50% leak at 15 months:
    half the drug goes to the tissue, the clinician titrates the dose up to about twice (the pain
    is brought back under control), and within 6 months of the leak the doubled dose prompts a
    catheter study that finds it."""
    base = PatientParams.sample(2026, 13)
    p = base.__class__(**{**base.to_dict(), "allergies": (), "stable_tolerance": True, "tolerance_rate": 0.05})
    plan = PathwayPlan(
        years=2.5,
        hazards=False,
        side_effect_reactions=False,
        surgical_complications=False,
        events=[{"after_implant": "456d", "type": "catheter_fault", "kind": "leak"}],
    )
    run = run_pathway(p, plan, 1, record=True)
    leaks = [c for c in run.outcome.complications if c.kind == "catheter_leak"]
    assert len(leaks) == 1 and leaks[0].detected_s is not None
    assert (leaks[0].detected_s - leaks[0].t_s) / DAY <= 200
    assert any(s["label"].startswith("Clinic visit: dose x") for s in run.events)
