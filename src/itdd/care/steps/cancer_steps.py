"""Cancer pain in the pathway (care/cancer.py has the numbers): visits, complications of its own,
new pain from the disease, and the measurements Smith 2002 compared (pain and toxicity at 4 weeks).

Called only for a patient with cancer pain (``params.cancer``); its random draws come from the
pathway's cancer stream (:func:`itdd.care.cancer.cancer_rng`), so a non-cancer patient's run is
unchanged to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable

from ...patient import PatientSim
from ...patient.placebo import reported_pain
from ...sim.engine import Simulation
from .. import cancer as cx
from ..outcome import Complication
from .rules import DAY, IMAGING_S
from .state import PathwayState

#: Smith 2002 measured pain and toxicity 4 weeks after randomisation; here after the implant.
FOUR_WEEKS_S = 28 * DAY


def start_cancer(pw: PathwayState, t: float) -> None:
    """At the implant ``t`` of a patient with cancer pain: book the cancer visit schedule (instead
    of the plan's titration visits), the 4-week measurement, bleeding at the implant and the new
    pains from the disease; measure pain and toxicity at enrolment."""
    assert pw.engine is not None and pw.rng_cancer is not None
    cp = pw.plan.cancer
    for when, kind in cp.visit_times_s(t, pw.end_s):
        pw.engine.schedule(when, pw._visit(kind), label="titration" if kind == "titration" else "visit")
        pw.visit_s.add(round(when))
    o = PatientSim(pw.params, pw.start_s, offset_s=pw.offset_s).observe(activity=1.0)
    pw.cancer_outcome.pain_enrolment = o.pain
    constipation, fatigue = cx.systemic_burden(oral_mme_per_day=pw.params.oral_mme_per_day)  # home orals, no IT
    pw.cancer_outcome.toxicity_enrolment = cx.toxicity_score(
        sedation=o.sedation,
        nausea=o.nausea,
        pruritus=o.pruritus,
        confusion=o.confusion,
        constipation=constipation,
        fatigue=fatigue,
    )
    pw.engine.schedule(t + FOUR_WEEKS_S, _four_weeks(pw), priority=5, label="4 weeks")
    if not (cp.complications and pw.plan.hazards):
        return
    rng = pw.rng_cancer
    if pw.plan.surgical_complications and float(rng.random()) < cx.BLEEDING_AT_IMPLANT.value:
        when = t + 1 * DAY
        src = f"[U] {cx.BLEEDING_AT_IMPLANT.source}"
        pw.complications.append(Complication("implant_bleeding", "implant", when, when, False, src))
        pw.engine.schedule(when, lambda _s: pw.stage("complication", when, "Bleeding at the implant", details=src))
    for when, ev in cx.event_times(rng, t, pw.end_s):
        pw.engine.schedule(when, _event(pw, ev), label=ev.kind)


def _event(pw: PathwayState, ev: cx.CancerEvent) -> Callable[[Simulation], None]:
    """New pain from the disease: the patient's pain without treatment rises (not a pump fault)."""

    def action(_s: Simulation) -> None:
        imp = pw.implant
        if imp is None or pw.explanted or pw.death_s is not None:
            return
        t = imp.t_s
        pw.sync(t)
        # more pain without treatment, and more drug needed for the same relief: the patient model
        # (pain) and the clinician's titration target (ED50) both see it
        p = pw.sim.params
        ed50 = p.ed50_mg_per_day * ev.ed50_factor.value
        pw.sim.params = p.with_(baseline_pain=min(p.baseline_pain + ev.pain_step.value, 10.0), ed50_mg_per_day=ed50)
        pw.params = pw.params.with_(ed50_mg_per_day=ed50)
        pw.cancer_outcome.cancer_events += 1
        pw.stage("complication", t, ev.label, details=ev.details)
        if ev.mri:
            imp.magnetic_field_on()  # the urgent MRI stalls the pump's motor for the scan

            def off(_s2: Simulation) -> None:
                imp.magnetic_field_off(0.0)
                pw.keep_failed(imp)

            pw.book(t + IMAGING_S, off, "imaging end")
        pw.changed(t)  # pain can come back: the patient's self-checks watch for it

    return action


def _four_weeks(pw: PathwayState) -> Callable[[Simulation], None]:
    def action(_s: Simulation) -> None:
        imp = pw.implant
        if imp is None or pw.death_s is not None:
            return
        t = imp.t_s
        pw.sync(t)
        o = pw.sim.observe(activity=1.0)
        pw.cancer_outcome.pain_4_weeks = reported_pain(o.pain, pw.params.placebo_relief, t - pw.start_s)
        # the systemic opioids now: what weaning left of the home dose, and the intrathecal opioid
        # (IT-morphine equivalents) reaching the gut
        it = pw.dose * pw.drug_potency() if pw.opioid_running() else 0.0
        constipation, fatigue = cx.systemic_burden(oral_mme_per_day=pw.oral, it_mg_per_day=it)
        pw.cancer_outcome.toxicity_4_weeks = cx.toxicity_score(
            sedation=o.sedation,
            nausea=o.nausea,
            pruritus=o.pruritus,
            confusion=o.confusion,
            constipation=constipation,
            fatigue=fatigue,
        )

    return action
