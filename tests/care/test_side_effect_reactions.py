"""Side effects that change the course (care/steps/side_effect_steps.py) and the explant at the
patient's wish: hand-built patients whose thresholds are set by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from itdd import quantities as q
from itdd.care.metrics import explants_by_reason
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.care.steps import side_effect_steps as ses
from itdd.patient import PatientParams
from itdd.patient import outcomes_pro as pro

DAY = 86400.0
YEAR = 365.25 * DAY


@pytest.fixture
def hand_thresholds(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """Replace the drawn thresholds after they are drawn (the draws still happen, in order):
    every side effect at an infinite threshold except those set in the returned dict."""
    settings: dict[str, object] = {"thresholds": {}, "refractory": False, "wish_after_s": math.inf}
    original = ses.SideEffectSteps.start_side_effects

    def start(self: ses.SideEffectSteps, t: float) -> None:
        original(self, t)
        th = dict.fromkeys(ses.ONSET_KINDS, math.inf)
        th.update(settings["thresholds"])  # type: ignore[call-overload]
        self.se_thresholds = th
        self.retention_refractory = bool(settings["refractory"])
        self.wish_s = t + float(settings["wish_after_s"])  # type: ignore[arg-type]

    monkeypatch.setattr(ses.SideEffectSteps, "start_side_effects", start)
    yield settings


def _plan(**kw: object) -> PathwayPlan:
    return PathwayPlan.model_validate({"years": 1.0, "hazards": False, "mortality": False, **kw})


def _rows(run, kind: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return [s for s in run.events if s["stage"] == "side_effect" and s["label"].startswith(kind)]


def test_urinary_retention_is_treated_then_the_dose_is_lowered_then_it_resolves(
    hand_thresholds: dict[str, object],
) -> None:
    # A threshold of 1e-6 is crossed within minutes of the first dose: rate 0.0134/year per mg/day
    # (ln(11/9)/1.5/10) x ~0.2 mg/day needs 1e-6/0.0027 years, about 3 hours.  First visit after:
    # "treat" (catheterisation); second visit: still there, the dose is lowered by 20%
    # (d -> 0.8 d); not refractory, it resolves there: no third row, no explant.
    hand_thresholds["thresholds"] = {"urinary_retention": 1e-6}
    run = run_pathway(PatientParams.reference(), _plan(), seed=1, record=True)
    rows = _rows(run, "Urinary retention")
    assert [("catheterisation" in r["details"], "dose lowered" in r["details"]) for r in rows] == [
        (True, False),
        (False, True),
    ]
    lowered = [s for s in run.events if s["stage"] == "titration" and "urinary retention" in (s.get("details") or "")]
    assert len(lowered) == 1 and lowered[0]["start"] == rows[1]["start"]
    # the programmed dose before and after, from the dose steps at that visit (times in epoch seconds)
    steps = run.outcome.dose_steps
    i = next(k for k, (t, _) in enumerate(steps) if iso(t) == rows[1]["start"])
    before, after = steps[i - 1][1], steps[i][1]
    assert before > 0 and after == pytest.approx(0.8 * before, rel=1e-12)
    assert not run.outcome.explanted
    # the onset fields are the first onset, as before: within hours of the first dose after the implant
    assert run.outcome.urinary_retention_s is not None and run.outcome.implant_s is not None
    assert 0 < run.outcome.urinary_retention_s - run.outcome.implant_s < 2 * DAY


def iso(t_s: float) -> str:
    """The pathway's ISO time (UTC, the plan's default start has offset 0)."""
    return q.iso(t_s, 0.0)


def test_refractory_urinary_retention_ends_in_an_explant_for_side_effects(hand_thresholds: dict[str, object]) -> None:
    # refractory: treat (visit 1), dose lowered (visit 2), still there at visit 3: explant
    hand_thresholds["thresholds"] = {"urinary_retention": 1e-6}
    hand_thresholds["refractory"] = True
    run = run_pathway(PatientParams.reference(), _plan(), seed=1, record=True)
    rows = _rows(run, "Urinary retention")
    assert len(rows) == 3 and "pump removed" in rows[2]["details"]
    o = run.outcome
    assert o.explanted and o.explant_reason == "side effects"
    assert explants_by_reason([o]) == {"side effects": 1}


def test_oedema_is_switched_with_drug_changes_and_lowered_twice_without(hand_thresholds: dict[str, object]) -> None:
    # oedema ladder: treat, lower the dose, switch opioid (morphine -> hydromorphone, PACC order);
    # without drug changes the switch rung lowers the dose again (0.8 x 0.8 = 0.64 of the dose)
    hand_thresholds["thresholds"] = {"peripheral_edema": 1e-6}
    on = run_pathway(PatientParams.reference(), _plan(drug_changes=True), seed=1, record=True)
    assert any(s["label"].startswith("Drug switch morphine") for s in on.events)
    off = run_pathway(PatientParams.reference(), _plan(drug_changes=False), seed=1, record=True)
    assert not any(s["label"].startswith("Drug switch") for s in off.events)
    lowered = [s for s in off.events if s["stage"] == "titration" and "edema" in (s.get("details") or "")]
    assert len(lowered) == 2


def test_the_patients_wish_is_an_explant_with_its_reason(hand_thresholds: dict[str, object]) -> None:
    # the wish comes 100 days after the implant: the first visit after it removes the pump
    hand_thresholds["wish_after_s"] = 100 * DAY
    plan = _plan(hazards=True, surgical_complications=False)
    run = run_pathway(PatientParams.reference(), plan, seed=1, record=True)
    o = run.outcome
    assert o.explanted and o.explant_reason == "patient's wish"
    assert o.explant_s is not None and o.implant_s is not None and o.explant_s >= o.implant_s + 100 * DAY
    assert explants_by_reason([o]) == {"patient's wish": 1}


def test_onset_at_a_visit_equals_the_onset_at_the_end() -> None:
    # 5 mg/day IT for 2 years then 2.5 mg/day; urinary retention rate r = ln(11/9)/15 = 0.013378/year
    # per mg/day; threshold 0.1: 0.1/(0.013378 x 5) = 1.4950 years, before the change.  At a visit at
    # 3 years (exposure so far) and at the end of 10 years the onset is the same 1.4950 years.
    log = [(0.0, 5.0, 0.0), (2 * YEAR, 2.5, 0.0)]
    th = dict.fromkeys(ses.ONSET_KINDS, math.inf)
    th["urinary_retention"] = 0.1
    r = math.log(11 / 9) / 15
    want = 0.1 / (r * 5) * YEAR
    at_visit = ses.onsets_before(log, 3 * YEAR, th)["urinary_retention"]
    at_end = pro.onset_s(log, 10 * YEAR, 0.1, pro.URINARY_RETENTION, count_oral=False)
    assert at_visit == at_end == pytest.approx(want, rel=1e-12)
    # not yet at a visit before the onset
    assert ses.onsets_before(log, 1 * YEAR, th)["urinary_retention"] is None


def test_the_pathways_onset_is_the_end_of_follow_up_onset(hand_thresholds: dict[str, object]) -> None:
    # the onset found at a visit (the row's "since" date) is the outcome's onset (end of follow-up)
    hand_thresholds["thresholds"] = {"constipation": 0.002}  # crossed in the third month at this dose
    run = run_pathway(PatientParams.reference(), _plan(), seed=1, record=True)
    rows = _rows(run, "Constipation")
    assert len(rows) == 1  # laxatives: resolved at the first treatment (RESOLVES_AT_RUNG)
    o = run.outcome
    assert o.constipation_s is not None
    assert rows[0]["label"] == f"Constipation since {iso(o.constipation_s)[:10]}"


def test_explants_by_reason_counts_the_new_reasons() -> None:
    from tests.care.test_failure import _outcome

    outs = [
        _outcome("a", explanted=True, reason="side effects"),
        _outcome("b", explanted=True, reason="patient's wish"),
        _outcome("c", explanted=True, reason="side effects"),
        _outcome("d", explanted=True, reason="infection"),
        _outcome("e"),
    ]
    # 2 for side effects, 1 at the patient's wish, 1 for infection, sorted by reason
    assert explants_by_reason(outs) == {"infection": 1, "patient's wish": 1, "side effects": 2}


def test_the_cohort_counts_explants_for_side_effects_and_at_the_patients_wish() -> None:
    # 279 implanted for ~790 patient-years: at 1%/year about 8 wishes are expected before other
    # exits; side effects: the refractory quarter of ~28% with urinary retention, about 7% of 279
    from itdd.trial.cohort import run_cohort

    by_reason = run_cohort(300, 3.0, 11, workers=1).metrics["explants_by_reason"]
    assert by_reason.get("side effects", 0) > 0 and by_reason.get("patient's wish", 0) > 0


def test_a_side_effect_between_visits_brings_an_unscheduled_visit(hand_thresholds: dict[str, object]) -> None:
    # Urinary retention at threshold 0.01: rate 0.0134/year per mg/day x a titrated few mg/day reaches
    # it months after the implant, between two planned visits (which fall at 08:00).  The patient
    # calls: the unscheduled visit is CALL_DAYS["urinary_retention"] = 1 day after the onset, where
    # the retention is found and treated (catheterisation), not at the next planned visit.
    # Hypogonadism (threshold 0.05) prompts no call: it is found at a planned visit (08:00).
    hand_thresholds["thresholds"] = {"urinary_retention": 0.01, "hypogonadism": 0.05}
    run = run_pathway(PatientParams.reference(), _plan(), seed=1, record=True)
    onset = run.outcome.urinary_retention_s
    assert onset is not None
    rows = _rows(run, "Urinary retention")
    assert rows[0]["start"] == iso(onset + 1.0 * DAY) and "catheterisation" in rows[0]["details"]
    assert not rows[0]["start"].endswith("T08:00:00+00:00")  # not a planned visit
    calls = [s for s in run.events if s["stage"] == "visit" and s["label"] == "Unscheduled visit"]
    assert [c["start"] for c in calls] == [rows[0]["start"]]
    assert calls[0]["details"] == "the patient called about urinary retention"
    hypo = _rows(run, "Hypogonadism")
    assert len(hypo) == 1 and hypo[0]["start"].endswith("T08:00:00+00:00")


def test_without_calls_the_side_effect_waits_for_the_next_planned_visit(
    hand_thresholds: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same patient with no call (CALL_DAYS empty): the retention is found at the next planned
    # visit, 08:00 on a later day than onset + 1 day
    monkeypatch.setattr(ses, "CALL_KINDS", ())
    hand_thresholds["thresholds"] = {"urinary_retention": 0.01}
    run = run_pathway(PatientParams.reference(), _plan(), seed=1, record=True)
    onset = run.outcome.urinary_retention_s
    assert onset is not None
    rows = _rows(run, "Urinary retention")
    assert rows[0]["start"].endswith("T08:00:00+00:00") and rows[0]["start"] > iso(onset + 1.0 * DAY)
    assert not [s for s in run.events if s["stage"] == "visit" and s["label"] == "Unscheduled visit"]
