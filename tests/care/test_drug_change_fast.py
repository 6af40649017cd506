"""The pathway's fast paths (issue 10's speed bound) agree with the slow computations they skip.

Each test draws many random states and checks the shortcut against the full computation: the
cheap "can a change of drug happen now?" test against :func:`drug_change` itself, the
bupivacaine-only side effects against the full ones, the written-out onset scan against the
reference scan with its rate functions, the direct copy of the vitals against
``dataclasses.replace``, the delegation of the drug-aware policy and the memoised ceiling.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from itdd.care.clinician import drug_change as dc
from itdd.care.clinician import get_policy
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.care.steps import drug_steps as ds
from itdd.care.steps.visits import with_pain
from itdd.patient import PatientParams, PatientSim
from itdd.patient import outcomes_pro as pro
from itdd.patient.sim import Observation, Vitals

DAY = 86400.0
DRUGS = ("morphine", "hydromorphone", "fentanyl", "ziconotide")


def _effects(rng: random.Random) -> dc.SideEffects:
    return dc.SideEffects(
        sedation=rng.choice((0.0, 1.0, 2.0, 3.0)),
        pruritus=rng.uniform(0, 10),
        nausea=rng.uniform(0, 10),
        confusion=rng.uniform(0, 10),
        respiratory_depression=rng.random() < 0.2,
        systolic_bp_mmhg=rng.uniform(70, 150),
        heart_rate_per_min=rng.uniform(40, 100),
        sensory_motor_block=rng.uniform(0, 10),
        urinary_retention=rng.uniform(0, 10),
    )


def test_no_change_possible_means_the_full_decision_keeps() -> None:
    rng = random.Random(10)
    seen_fast = 0
    for _ in range(20_000):
        drug = rng.choice(DRUGS)
        limit = rng.uniform(0.5, 30.0)
        dose = limit * rng.choice((rng.uniform(0.5, 1.2), 0.95, 0.9499999))
        since = rng.choice((None, rng.uniform(0, 200) * DAY))
        now = (since or 0.0) + rng.choice((0.0, 59.999 * DAY, 60 * DAY, rng.uniform(0, 120) * DAY))
        uncontrolled = rng.random() < 0.5
        adjuncts = rng.choice(((), ("bupivacaine",), ("bupivacaine", "clonidine")))
        tried = tuple(rng.sample(DRUGS, rng.randint(0, 3)))
        possible = dc.change_possible(
            drug=drug,
            dose_mg_per_day=dose,
            limit_mg_per_day=limit,
            at_limit_since_s=since,
            uncontrolled=uncontrolled,
            now_s=now,
            has_adjuncts=bool(adjuncts),
        )
        if possible:
            continue
        seen_fast += 1
        assert not adjuncts  # an added drug always gets its own step
        d = dc.drug_change(
            drug=drug,
            dose_mg_per_day=dose,
            limit_mg_per_day=limit,
            at_limit_since_s=since,
            uncontrolled=uncontrolled,
            now_s=now,
            effects=_effects(rng),  # whatever the patient shows
            adjuncts=adjuncts,
            tried=tried,
        )
        assert d.action == "keep"
    assert seen_fast > 1_500  # the shortcut is exercised, not vacuous


def test_bupivacaine_needs_no_observation() -> None:
    """A mixture with bupivacaine alone and pain controlled: its step reads only the block and
    retention, which come from its dose; the full side effects give the same decision."""
    rng = random.Random(11)
    for _ in range(5_000):
        full = _effects(rng)
        light = dc.SideEffects(sensory_motor_block=full.sensory_motor_block, urinary_retention=full.urinary_retention)
        kw = dict(
            adjunct="bupivacaine",
            dose_mg_per_day=rng.uniform(0.5, 20.0),
            uncontrolled=rng.random() < 0.5,
            soft_max_mg_per_day=rng.uniform(5.0, 20.0),
        )
        assert dc.adjunct_step(effects=full, **kw) == dc.adjunct_step(effects=light, **kw)  # type: ignore[arg-type]
        # and the change of drug ignores the side effects while pain is controlled (not ziconotide)
        dkw = dict(
            drug=rng.choice(DRUGS[:3]),
            dose_mg_per_day=rng.uniform(0.5, 20.0),
            limit_mg_per_day=rng.uniform(0.5, 20.0),
            at_limit_since_s=rng.choice((None, 0.0)),
            uncontrolled=False,
            now_s=rng.uniform(0, 200) * DAY,
            adjuncts=("bupivacaine",),
            tried=(),
        )
        assert dc.drug_change(effects=full, **dkw) == dc.drug_change(effects=light, **dkw)  # type: ignore[arg-type]


def _reference(exposure, end_s, threshold, form, rate, a, b, scan):  # type: ignore[no-untyped-def]
    """The scan with its rate functions, as onset_s / onset_weighted_s wrote them before."""
    if form == pro.IT_ONLY:
        fn = lambda it, oral: rate * (max(it, 0.0) + 0.0)  # noqa: E731
    elif form == pro.CENTRAL:
        fn = lambda it, oral: rate * (max(it, 0.0) + max(oral, 0.0) / a)  # noqa: E731
    else:
        fn = lambda it, oral: rate * (a * max(it, 0.0) + b * max(oral, 0.0))  # noqa: E731
    return pro._onset(exposure, end_s, threshold, fn, scan)


@pytest.mark.parametrize("form", [pro.IT_ONLY, pro.CENTRAL, pro.WEIGHTED])
def test_written_out_onset_scan_equals_the_reference_scan(form: int) -> None:
    rng = random.Random(12 + form)
    a, b = (pro.ORAL_TO_IT.value, 0.0) if form == pro.CENTRAL else (pro.IT_TO_SYSTEMIC_MME.value, 1.0)
    for _ in range(400):
        t = 0.0
        log: list[tuple[float, float, float]] = []
        for _ in range(rng.randint(1, 25)):
            t += rng.choice((0.0, rng.uniform(0, 90) * DAY))
            log.append((t, rng.choice((0.0, -0.0, rng.uniform(-1, 30))), rng.choice((0.0, rng.uniform(-5, 300)))))
        threshold = rng.expovariate(1.0)
        rate = rng.uniform(0.001, 0.5)
        fast_scan, slow_scan = pro.OnsetScan(), pro.OnsetScan()
        # visits at rising times: the scans resume where they stopped
        for end in sorted(rng.uniform(0, t + 200 * DAY) for _ in range(6)):
            fast = pro.scan_onset(log, end, threshold, rate, form, a, b, fast_scan)
            slow = _reference(log, end, threshold, form, rate, a, b, slow_scan)
            assert fast == slow and (fast is None or str(fast) == str(slow))
            assert (fast_scan.row, fast_scan.cum) == (slow_scan.row, slow_scan.cum)
        assert pro.scan_onset(log, t + DAY, threshold, rate, form, a, b, None) == _reference(
            log, t + DAY, threshold, form, rate, a, b, None
        )


def test_with_pain_equals_replace() -> None:
    sim = PatientSim(PatientParams.sample(2026, 3), 0.0)
    sim.advance(3600.0, csf_mg_per_day=2.0, drug="morphine")
    v = sim.vitals(activity=1.0)
    o = sim.observe(activity=1.0)
    assert isinstance(v, Vitals) and isinstance(o, Observation)
    for x in (v, o):
        assert with_pain(x, 3.25) == dataclasses.replace(x, pain=3.25)
        assert type(with_pain(x, 3.25)) is type(x)
    # the direct copy lists every field of the vitals, in order
    assert [f.name for f in dataclasses.fields(Vitals)][:2] == ["t_s", "pain"]
    assert len(dataclasses.fields(Vitals)) == 11


def test_drug_aware_policy_hands_every_other_question_to_the_wrapped_policy() -> None:
    inner = get_policy("conventional")
    wrapped = dc.DrugAwarePolicy(inner)
    for name in dc.DELEGATED:
        assert getattr(wrapped, name) == getattr(inner, name)
    assert wrapped.name == inner.name  # properties through __getattr__

    class Partial:  # a policy without most methods: they are simply absent
        name = "partial"

        def wean(self, **kw: object) -> str:
            return "weaned"

    w = dc.DrugAwarePolicy(Partial())
    assert w.wean(pain=1.0) == "weaned" and w.name == "partial"
    with pytest.raises(AttributeError):
        _ = w.escalation


def test_memoised_ceiling_equals_the_computed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ceiling a drug-changing pathway asks for (mixtures, switches, lifted ceilings) equals
    the one computed afresh."""
    checked = []
    memo = ds.DrugSteps.ceiling

    def ceiling(self: ds.DrugSteps) -> float:
        c = memo(self)
        assert c == self._ceiling()
        checked.append(bool(self.adjuncts))
        return c

    monkeypatch.setattr(ds.DrugSteps, "ceiling", ceiling)
    plan = PathwayPlan(years=3.0)
    for i in range(12):
        run_pathway(PatientParams.sample(2026, i), plan, i, record=False)
    assert len(checked) > 300 and any(checked)  # mixtures were among them
