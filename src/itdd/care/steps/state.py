"""The state of one patient's pathway while it runs, and the helpers every step uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ... import quantities as q
from ...drugs import get_drug
from ...patient import PatientParams, PatientSim
from ...patient.mortality import MortalityClock
from ...patient.parameters import DRUGS
from ...patient.sim import Vitals
from ...programmer.session import Session
from ...pump.firmware import PtmSettings
from ...pump.implant import Implant
from ...report.schema import PathwayStage, TrialInfo
from ...sim.engine import Simulation
from ...telemetry.local import LocalLink
from ..cancer import CancerMeasures, cancer_rng, for_cancer
from ..clinician import ClinicianPolicy, get_policy
from ..clinician.drug_change import with_drugs
from ..hazard_clock import HazardClock
from ..outcome import Complication
from ..plan import PathwayEvent, PathwayPlan
from ..series import SeriesRecorder
from .rules import GRID_S


class PathwayState:
    """The state of one patient's pathway while it runs.

    Reason for the length of ``__init__``: it lists every piece of the running state in one place
    (the steps in care/steps/ read and change it).  The steps call each other through the stubs
    at the end of this class, which the mixins replace."""

    def __init__(
        self,
        params: PatientParams,
        plan: PathwayPlan,
        seed: int,
        record: bool,
        patient_id: str | None,
        policy: ClinicianPolicy | None = None,
    ) -> None:
        self.params = params
        self.plan = plan
        self.record = record
        self.patient_id = patient_id or f"VP-{seed}"
        ss = np.random.SeedSequence(entropy=abs(int(seed)), spawn_key=(0xCA7E,))
        # a third stream for deaths: the first two are those of spawn(2), so adding it changed nothing else
        streams = [np.random.default_rng(s) for s in ss.spawn(5)]
        self.rng_proc, self.rng_hazard, self.rng_death, self.rng_se, self.rng_mass = streams
        self.rng_cancer = cancer_rng(seed) if params.cancer else None  # cancer pain only (care/cancer.py)
        self.cancer_outcome = CancerMeasures()  # pain and toxicity at enrolment and 4 weeks (cancer pain)
        self.offset_s = plan.utc_offset_s
        self.start_s = plan.start_s
        self.drug = get_drug(plan.drug)
        pk = DRUGS.get(plan.drug)
        self.potency = pk.it_potency.value if pk is not None else 1.0
        self.is_opioid = self.drug.drug_class == "opioid"
        self.sim = PatientSim(params, self.start_s, offset_s=self.offset_s)
        self.oral = params.oral_mme_per_day
        self.home_oral = params.oral_mme_per_day
        self.stages: list[PathwayStage] = []
        self.complications: list[Complication] = []
        self.reoperations = 0
        self.explanted = False
        self.explant_reason: str | None = None
        # recording
        self.recorder = SeriesRecorder(self.start_s)
        self.trial: TrialInfo | None = None
        self.baseline_pain = 0.0  # screening: pain without the trial drug
        self.trial_end_s = self.start_s  # set by the trial
        self.trial_success = False
        # implanted period
        self.implant: Implant | None = None
        self.retired_logs: list[Any] = []
        self.engine: Simulation | None = None
        self.implant_s: float | None = None
        self.end_s = self.start_s
        self.dose = 0.0
        self.conc = 0.0
        self.pre_implant_pain = 0.0
        self.controlled_once = False
        self.refills: list[dict[str, Any]] = []
        self.ptm_rows: list[dict[str, Any]] = []
        self.refill_token = 0
        self.hazard_token = 0
        # the one pending refill, hazard and self-check actions: replaced ones are cancelled
        self.refill_item: Any = None
        self.hazard_item: Any = None
        self.sc_item: Any = None
        self.clock: HazardClock | None = None
        self.pending: dict[str, Complication] = {}  # undetected problems, by kind
        self.workup_booked_s: float | None = None
        self.call_booked_s: float | None = None
        self.eri_booked = False
        self.therapy_on = True
        self.saline = False
        self.milestones: dict[str, float | None] = {}
        self.prev_reservoir_ml: float | None = None
        self.run_obj: Any = None
        self.negative_workup_s: float | None = None
        self.best_pain = 10.0
        self.last_change_s = -math.inf
        self.dose_history: list[tuple[float, float]] = []
        self.failed_pump = False
        self.policy: ClinicianPolicy = (
            policy if policy is not None else for_cancer(get_policy(plan.policy), params.cancer)
        )
        self.policy = with_drugs(
            self.policy,
            plan.drug,
            mixture=plan.adjunct is not None,
            changes=plan.drug_changes,
            ziconotide_schedule=plan.ziconotide_schedule,
        )
        # drugs (care/steps/drug_steps.py): added drugs' daily doses, drugs tried, limit reached since
        self.adjuncts: dict[str, float] = {plan.adjunct.drug: plan.adjunct.dose_mg_per_day} if plan.adjunct else {}
        self.drugs_tried: list[str] = [plan.drug]
        self.limit_since_s: float | None = None
        self.uncontrolled_since_s: float | None = None  # pain uncontrolled at the ceiling since
        self.ceiling_lifted = False  # the policy's ceiling abandoned after lack of effect
        self.saline_trial: tuple[float, float] | None = None  # running blinded saline trial: (start s, pain on drug)
        self.saline_effect: bool | None = None  # the saline trial's verdict: the drug works (None: no trial yet)
        self.conc_cap_mg_per_ml: float | None = None  # highest concentration after a granuloma (care/granuloma.py)
        # deaths and times to event (outcome.py)
        self.mort: MortalityClock | None = None
        self.death_item: Any = None
        self.mort_booked = False  # the death has been booked once (later unchanged states keep it)
        self.death_s: float | None = None
        self.death_cause: str | None = None
        self.explant_s: float | None = None
        self.reoperation_s: float | None = None
        # opioid exposure (t, IT-morphine mg/day, oral MME/day) for side-effect onsets (outcomes_pro.py)
        self.exposure_log: list[tuple[float, float, float]] = []
        # self-checks (see SELF_CHECK_WATCH_S): the grid, the last change, the one booked check
        self.sc_s = 0.0
        self.sc_origin_s = 0.0
        self.sc_token = 0
        self.sc_next_s: float | None = None
        self.sc_last_s = -math.inf
        self.watch_from_s = -math.inf
        self.visit_s: set[int] = set()  # planned clinic visits (s, rounded): no self-check then
        # for trials (outputs only): operations, the explant and the programmed dose over time
        self.reoperations_s: list[float] = []  # every operation after the implant (trials)
        self.dose_steps: list[tuple[float, float]] = []  # (t_s, mg/day delivered by the program; 0: off)

    def iso(self, t_s: float) -> str:
        return q.iso(t_s, self.offset_s)

    def stage(self, stage: str, t_s: float, label: str, **kw: str | float | None) -> None:
        """Note a stage of the journey (report output only).  ``kw``: ``end`` (a time, s),
        ``outcome``, ``details``; absent when None, in the order given (the JSON keeps it)."""
        if not self.record:
            return  # stages are report output only
        row: dict[str, str] = {"stage": stage, "start": self.iso(t_s), "label": label}
        for k, v in kw.items():
            if v is not None:
                row[k] = self.iso(float(v)) if k == "end" else str(v)
        self.stages.append(cast(PathwayStage, row))

    def advance(self, t_s: float, *, csf_mg_per_day: float = 0.0, grid_s: float = GRID_S) -> None:
        """Move the patient (no implant yet) to ``t_s``, sampling the grid on the way if recording."""
        sim = self.sim
        drug = self.drug.name if csf_mg_per_day > 0 else None
        if self.record:
            rc = self.recorder
            while rc.next_grid_s <= t_s:
                if rc.next_grid_s > sim.t_s:
                    sim.advance(rc.next_grid_s, csf_mg_per_day=csf_mg_per_day, oral_mme_per_day=self.oral, drug=drug)
                if rc.next_grid_s >= sim.t_s:
                    rc.observe(sim, sim.t_s)
                rc.next_grid_s += grid_s
        if t_s > sim.t_s:
            sim.advance(t_s, csf_mg_per_day=csf_mg_per_day, oral_mme_per_day=self.oral, drug=drug)

    def sync(self, t_s: float) -> None:
        """The patient follows the implant's record up to ``t_s`` (grid samples on the way)."""
        sim = self.sim
        assert self.implant is not None
        rec: Any = self.implant.record
        if self.record:
            rc = self.recorder
            while rc.next_grid_s <= t_s:
                if rc.next_grid_s > sim.t_s:
                    sim.follow(rec, rc.next_grid_s, oral_mme_per_day=self.oral)
                rc.observe(sim, sim.t_s)
                rc.next_grid_s += GRID_S
        if t_s > sim.t_s or not math.isclose(t_s, sim.t_s):
            sim.follow(rec, t_s, oral_mme_per_day=self.oral)

    def set_oral(self, t_s: float, oral: float) -> None:
        self.oral = max(oral, 0.0)
        if self.implant_s is not None:
            self.log_exposure(t_s)
        if self.mort is not None:
            self.mortality_changed(t_s)

    def log_exposure(self, t: float) -> None:
        it = self.dose * self.drug_potency() if self.opioid_running() and self.death_s is None else 0.0
        oral = self.oral if self.death_s is None else 0.0
        log = self.exposure_log
        if log and log[-1][1] == it and log[-1][2] == oral:
            return
        if log and log[-1][0] >= t:
            log[-1] = (log[-1][0], it, oral)
        else:
            log.append((t, it, oral))

    def reoperated(self, t: float) -> None:
        self.reoperations += 1
        self.reoperations_s.append(t)
        if self.reoperation_s is None:
            self.reoperation_s = t

    def drug_potency(self) -> float:
        """Intrathecal-morphine equivalents per mg of the pathway's drug (the patient model's)."""
        return self.potency

    def opioid_running(self) -> bool:
        imp = self.implant
        return (
            imp is not None
            and not self.explanted
            and not self.saline
            and self.therapy_on
            and self.is_opioid
            and imp.fw.therapy.running
        )

    def log_dose(self, t_s: float) -> None:
        """Note the programmed dose now (0 while therapy is off, saline or explanted): trial output only."""
        dose = self.dose if self.therapy_on and not self.saline and not self.explanted else 0.0
        if not self.dose_steps or self.dose_steps[-1][1] != dose:
            self.dose_steps.append((t_s, dose))

    def book(self, when: float, fn: Callable[[Simulation], None], label: str = "") -> None:
        assert self.engine is not None
        self.engine.schedule(when, fn, label=label)

    def detect(self, kinds: list[str], t: float, how: str) -> None:
        for k in kinds:
            c = self.pending.pop(k)
            self.complications.append(
                Complication(c.kind, c.stage, c.t_s, t, c.reoperation, f"{c.details}; found by {how}".strip("; "))
            )
            for s in self.stages:
                if (
                    s["stage"] == "complication"
                    and s["start"] == self.iso(c.t_s)
                    and "not yet" in (s.get("details") or "")
                ):
                    s["details"] = f"found {self.iso(t)[:10]} by {how}"

    def keep_failed(self, imp: Implant) -> None:
        """A failed motor stays stalled: an interrogation or the end of an MRI field (which restart
        a pump stalled by a field) does not repair it."""
        if "pump_failure" in self.pending or self.failed_pump:
            if not imp.fw.motor_stalled:
                imp.fw.stall(imp.t_s)
            imp.fw.stall_latched = False
            imp.fw.recover_at_s = math.inf

    def implant_s_or(self, t: float) -> float:
        return self.implant_s if self.implant_s is not None else t

    def session(self) -> Session:
        assert self.implant is not None
        return Session(LocalLink(self.implant))

    def observe_clinic(self, t: float) -> Vitals:
        """What the clinic checks at a visit: pain, breathing, sedation, itch, withdrawal (the
        bedside subset of an observation, identical values, a third of the cost)."""
        self.sync(t)
        return self.sim.vitals(activity=1.0)

    # ---- the recorded series (series.py), as the report's result reads it -------------------------
    @property
    def days(self) -> list[float]:
        return self.recorder.days

    @property
    def samples(self) -> dict[str, list[float | None]]:
        return self.recorder.samples

    # ---- steps defined by the mixins (care/steps/*.py) ---------------------------------------------
    def changed(self, t: float) -> None:
        raise NotImplementedError

    def exposure(self, t: float) -> None:
        raise NotImplementedError

    def mortality_changed(self, t: float) -> None:
        raise NotImplementedError

    def book_death(self, when: float, cause: str) -> None:
        raise NotImplementedError

    def book_self_check(self, t: float) -> None:
        raise NotImplementedError

    def days_left(self, t: float) -> float:
        raise NotImplementedError

    def schedule_refill(self, now: float, when: float) -> None:
        raise NotImplementedError

    def schedule_ptm(self, t0: float) -> None:
        raise NotImplementedError

    def choose_conc(self, dose: float, model: Any, usable_ml: float) -> float:
        raise NotImplementedError

    def pump_drug(self, conc_mg_per_ml: float, dose_mg_per_day: float | None = None) -> str:
        """The drug (or mixture) name for the reservoir (care/steps/drug_steps.py)."""
        return self.drug.name

    def ptm_settings(self) -> PtmSettings | None:
        raise NotImplementedError

    def do_explant(self, t: float, reason: str) -> None:
        raise NotImplementedError

    def do_refill(self, why: str, *, drug: str | None = None) -> None:
        raise NotImplementedError

    def catheter_study(self, t: float, how: str) -> bool:
        raise NotImplementedError

    def complication(self, kind: str, t: float, *, leak_fraction: float | None = None) -> None:
        raise NotImplementedError

    def pain_back(self, pain: float) -> bool:
        raise NotImplementedError

    def _visit(self, kind: str, why: str = "") -> Callable[[Simulation], None]:
        raise NotImplementedError

    def _revision(self, kinds: list[str]) -> Callable[[Simulation], None]:
        raise NotImplementedError

    def _replace_pump(self, why: str) -> Callable[[Simulation], None]:
        raise NotImplementedError

    def _surgical(self, kind: str, src: str) -> Callable[[Simulation], None]:
        raise NotImplementedError

    def _found_infection(self, _s: Simulation) -> None:
        raise NotImplementedError

    def _granuloma_signs(self, _s: Simulation) -> None:
        raise NotImplementedError

    def _self_check(self, _s: Simulation) -> None:
        raise NotImplementedError

    def _scripted(self, ev: PathwayEvent) -> Callable[[Simulation], None]:
        raise NotImplementedError

    def _milestone(self, which: str) -> Callable[[Simulation], None]:
        raise NotImplementedError

    def _ptm_decision(self, _s: Simulation) -> None:
        raise NotImplementedError
