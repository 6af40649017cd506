"""The care pathway of one virtual patient: screening, trial, implant, titration, years of follow-up.

Everything happens in virtual time and is event-driven.  Before the implant the patient is moved
with :meth:`PatientSim.advance` (piecewise-constant inputs, exact).  From the implant on, an
:class:`~itdd.pump.implant.Implant` runs inside an :class:`~itdd.sim.engine.Simulation`; clinic
visits, refills, self-checks, patient boluses, MRI, complications and operations are scheduled
actions, and the patient follows the pump's exact record up to each action
(:meth:`PatientSim.follow`).  Nothing reads the wall clock; the only randomness is a numpy
generator seeded from ``seed``.

The pathway schedules and acts; the simulated clinician decides (:mod:`itdd.care.clinician`: a
:class:`~itdd.care.clinician.ClinicianPolicy` returns each decision with its reason); the
patient series is recorded by :mod:`itdd.care.series`.  The steps of the journey are the mixins
of :mod:`itdd.care.steps` over one :class:`~itdd.care.steps.state.PathwayState`; this module
assembles them, runs the whole pathway and builds the outcome and the report result.

Rules, their sources and the decisions where the issue is silent are in ``docs/care.md``; every
constant names its source or says "assumption".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import DISCLAIMER, __version__
from ..patient import PatientParams
from ..patient import outcomes_pro as pro
from ..report.schema import PathwayStage
from ..sim.result import NoDevice, RunTrace, build_result
from .cancer import cancer_reported
from .clinician import ClinicianPolicy
from .hazards import CATHETER_KINDS
from .outcome import Complication, PatientOutcome, patient_reported
from .plan import PathwayPlan
from .series import SERIES_COLUMNS
from .steps.complications import Complications
from .steps.drug_steps import DrugSteps
from .steps.operations import Operations
from .steps.rules import DAY, RR_ALERT_PER_MIN
from .steps.scheduling import Scheduling
from .steps.screening import Screening
from .steps.side_effect_steps import SideEffectSteps
from .steps.visits import Visits


@dataclass
class PathwayRun:
    outcome: PatientOutcome
    result: dict[str, Any] | None = None
    events: list[PathwayStage] = field(default_factory=list)  # the pathway's own log (stages)
    run: Any = None  # with record=True: the itdd.sim.result.RunTrace of the implanted period (empty without an implant)


# ---- the run ------------------------------------------------------------------------------------


class _Pathway(SideEffectSteps, DrugSteps, Visits, Complications, Operations, Scheduling, Screening):
    """One patient's pathway while it runs: the steps (care/steps/) over one state."""

    # ---- the whole pathway ------------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None) -> PatientOutcome:
        refused = self.screening()
        success: bool | None = None
        if refused is None:
            success, effective = self.run_trial()
            if success:
                self.do_implant(effective)
                self.start_side_effects(
                    self.implant_s_or(self.trial_end_s)
                )  # thresholds drawn now (steps/side_effect_steps.py)
                assert self.engine is not None
                self.engine.run(progress)
                self.sync(self.end_s)
            else:
                self.end_s = self.trial_end_s + 14 * DAY
                self.advance(self.end_s)
                self.stage("trial", self.trial_end_s, "No implant: trial failed", outcome="failure")
        if progress is not None:
            progress(1.0)
        implanted = self.implant_s is not None
        followed = (self.end_s - self.implant_s) if self.implant_s is not None else 0.0
        pain12 = self.milestones.get("pain_12")
        relief12 = None
        if pain12 is not None and self.baseline_pain > 0:
            relief12 = 1 - pain12 / self.baseline_pain
        pain36 = self.milestones.get("pain_36")
        relief36 = None
        if pain36 is not None and self.baseline_pain > 0:
            relief36 = 1 - pain36 / self.baseline_pain
        se: dict[str, Any] = {}
        if implanted:
            end = self.end_s
            th = self.se_thresholds  # drawn at the implant (steps/side_effect_steps.py)
            th_edema, th_hypo = th["peripheral_edema"], th["hypogonadism"]
            log = self.exposure_log
            se["side_effects_modelled"] = True
            se["peripheral_edema_s"] = pro.onset_s(log, end, th_edema, pro.EDEMA, count_oral=False)
            se["hypogonadism_s"] = pro.onset_s(log, end, th_hypo, pro.HYPOGONADISM, count_oral=True)
            pain12_ = self.milestones.get("pain_12")
            if pain12_ is not None:
                se["odi_baseline"], se["odi_12_months"] = pro.odi_from_pain(self.baseline_pain, pain12_)
                se["eq5d_baseline"] = pro.eq5d_from_pain(self.baseline_pain)
                se["eq5d_12_months"] = pro.eq5d_from_pain(pain12_)
            later = pro.later_outcomes(
                log,
                end,
                self.rng_later,  # its own stream: no earlier draw changes (outcomes_pro.py)
                baseline_pain=self.baseline_pain,
                pain_12=pain12_,
                age_y=self.params.age_y,
                thresholds=tuple(th[k] for k in ("urinary_retention", "constipation", "sweating", "hypocortisolism")),
            )
            se.update(later)
            self.record_side_effects(se)  # the clinician's reaction at each onset (report output)
        pain24 = self.milestones.get("pain_24")
        relief24 = None
        if pain24 is not None and self.baseline_pain > 0:
            relief24 = 1 - pain24 / self.baseline_pain
        pending = [
            Complication(c.kind, c.stage, c.t_s, None, c.reoperation, c.details + "; never found")
            for c in self.pending.values()
        ]
        comps = tuple(sorted(self.complications + pending, key=lambda c: c.t_s))
        return PatientOutcome(
            patient_id=self.patient_id,
            refused=refused,
            trial_success=success,
            implanted=implanted,
            implant_s=self.implant_s,
            baseline_pain=self.baseline_pain,
            baseline_oral_mme_per_day=self.home_oral,
            relief_12_months=relief12,
            dose_mg_per_day_6_months=self.milestones.get("dose_6"),
            dose_mg_per_day_36_months=self.milestones.get("dose_36"),
            oral_mme_per_day_12_months=self.milestones.get("oral_12"),
            complications=comps,
            reoperations=self.reoperations,
            explanted=self.explanted,
            explant_reason=self.explant_reason,
            followed_s=followed,
            relief_36_months=relief36,
            death_s=self.death_s,
            death_cause=self.death_cause,
            explant_s=self.explant_s,
            catheter_event_s=next(
                (c.t_s for c in comps if c.kind in CATHETER_KINDS and c.stage in ("implant", "follow-up")), None
            ),
            reoperation_s=self.reoperation_s,
            dose_mg_per_day_12_months=self.milestones.get("dose_12"),
            dose_mg_per_day_24_months=self.milestones.get("dose_24"),
            relief_24_months=relief24,
            oral_mme_per_day_24_months=self.milestones.get("oral_24"),
            **se,
            reoperations_s=tuple(self.reoperations_s),
            dose_steps=tuple(self.dose_steps),
            **asdict(self.cancer_outcome),  # cancer pain only (care/steps/cancer_steps.py)
        )

    # ---- the result for the report ----------------------------------------------------------------
    def result(self, outcome: PatientOutcome, name: str) -> dict[str, Any]:
        p = self.params
        profile: dict[str, Any] = {
            "baseline_pain_score": round(self.baseline_pain, 2),
            "oral_mme_per_day_at_enrolment": round(self.home_oral),
            "age_y": round(p.age_y, 1),
            "weight_kg": round(p.weight_kg, 1),
            "bmi": round(p.bmi, 1),
            "csf_volume_ml": round(p.csf_lumbosacral_ml, 1),
            "responds_to_intrathecal_opioid_model_truth": p.responder,
            "contraindications": ", ".join(p.contraindications(self.plan.drug)) or "none",
        }
        profile.update(self.drug_profile())  # other drugs and mixtures only (care/steps/drug_steps.py)
        series: dict[str, Any] = {"days": self.days, "origin": self.iso(self.start_s)}
        for c in SERIES_COLUMNS:
            series[c] = self.samples[c]
        res: dict[str, Any]
        if self.implant is not None and self.engine is not None:
            imp = self.implant
            self.run_obj = RunTrace(imp, self.start_s, self.end_s, self.offset_s)
            res = build_result(
                imp,
                start_s=self.start_s,
                end_s=self.end_s,
                offset_s=self.offset_s,
                name=name,
                seed=0,
                refills=self.refills,
                ptm_decisions=self.ptm_rows,
            ).to_json()
            if self.retired_logs:
                older = [
                    {"time": self.iso(e.time_s), "type": e.type, "device": e.device, **_plain(self, e.details)}
                    for log in self.retired_logs
                    for e in log.history
                ]
                res["events"] = older + res["events"]
        else:
            self.run_obj = RunTrace(NoDevice(), self.start_s, self.end_s, self.offset_s)  # an empty record
            res = {
                "itdd_version": __version__,
                "disclaimer": DISCLAIMER,
                "scenario": {
                    "name": name,
                    "start": self.iso(self.start_s),
                    "end": self.iso(self.end_s),
                    "utc_offset": self.iso(self.start_s)[-6:],
                    "seed": None,
                },
            }
        res["patient"] = {"id": self.patient_id, "drug": self.plan.drug, "profile": profile, "series": series}
        res["trial"] = self.trial
        res["pathway"] = {"stages": sorted(self.stages, key=lambda s: s["start"])}
        res["outcome"] = _outcome_dict(self, outcome)
        return res


def _plain(pw: _Pathway, details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in details.items():
        if k.endswith("_at_s"):
            out[k[:-5]] = None if v is None else pw.iso(v)
        else:
            out[k] = v
    return out


def _outcome_dict(pw: _Pathway, o: PatientOutcome) -> dict[str, Any]:
    d: dict[str, Any] = {
        "patient_id": o.patient_id,
        "refused": o.refused,
        "trial_success": o.trial_success,
        "implanted": o.implanted,
        "implant": None if o.implant_s is None else pw.iso(o.implant_s),
        "baseline_pain": o.baseline_pain,
        "baseline_oral_mme_per_day": o.baseline_oral_mme_per_day,
        "relief_12_months": o.relief_12_months,
        "relief_36_months": o.relief_36_months,
        "dose_mg_per_day_6_months": o.dose_mg_per_day_6_months,
        "dose_mg_per_day_36_months": o.dose_mg_per_day_36_months,
        "oral_mme_per_day_12_months": o.oral_mme_per_day_12_months,
        "reoperations": o.reoperations,
        "explanted": o.explanted,
        "explant_reason": o.explant_reason,
        "followed_days": o.followed_s / DAY,
        "death": None if o.death_s is None else pw.iso(o.death_s),
        "death_day": o.death_day,
        "death_cause": o.death_cause,
        "explant_day": o.explant_day,
        "catheter_event_day": o.catheter_event_day,
        "reoperation_day": o.reoperation_day,
        "complications": [
            {
                "kind": c.kind,
                "stage": c.stage,
                "time": pw.iso(c.t_s),
                "detected": None if c.detected_s is None else pw.iso(c.detected_s),
                "reoperation": c.reoperation,
                "details": c.details,
            }
            for c in o.complications
        ],
    }
    d.update(patient_reported(o))  # care/outcome.py: side effects and what the patient reports (report)
    d.update(cancer_reported(o))  # cancer pain only: Smith 2002's measures (care/cancer.py)
    return d


def run_pathway(
    params: PatientParams,
    plan: PathwayPlan,
    seed: int,
    *,
    record: bool = False,
    progress: Callable[[float], None] | None = None,
    patient_id: str | None = None,
    name: str = "care pathway",
    policy: ClinicianPolicy | None = None,
) -> PathwayRun:
    """Run one patient's whole pathway. ``record=True`` also builds the report result.

    ``policy``: the clinician (default: the plan's ``policy``, from the registry); any
    :class:`~itdd.care.clinician.ClinicianPolicy` can be swapped in."""
    pw = _Pathway(params, plan, seed, record, patient_id, policy)
    outcome = pw.run(progress)
    result = pw.result(outcome, name) if record else None
    return PathwayRun(outcome=outcome, result=result, events=pw.stages, run=pw.run_obj)


__all__ = ["RR_ALERT_PER_MIN", "SERIES_COLUMNS", "PathwayPlan", "PathwayRun", "run_pathway"]
