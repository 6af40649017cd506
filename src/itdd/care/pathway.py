"""The care pathway of one virtual patient: screening, trial, implant, titration, years of follow-up.

Everything happens in virtual time and is event-driven.  Before the implant the patient is moved
with :meth:`PatientSim.advance` (piecewise-constant inputs, exact).  From the implant on, an
:class:`~itdd.pump.implant.Implant` runs inside an :class:`~itdd.sim.engine.Simulation`; clinic
visits, refills, self-checks, patient boluses, MRI, complications and operations are scheduled
actions, and the patient follows the pump's exact record up to each action
(:meth:`PatientSim.follow`).  Nothing reads the wall clock; the only randomness is a numpy
generator seeded from ``seed``.

Rules, their sources and the decisions where the issue is silent are in ``docs/care.md``; every
constant below names its source or says "assumption".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import DISCLAIMER, __version__
from .. import quantities as q
from ..drugs import get_drug
from ..errors import InputError, SafetyRefusal
from ..patient import PatientParams, PatientSim
from ..patient import outcomes_pro as pro
from ..patient.mortality import MortalityClock, RiskFactors, meningitis_death, overdose_death
from ..patient.parameters import DRUGS
from ..patient.sim import Vitals
from ..programmer.refill import RefillRequest, RefillSettings, refill
from ..programmer.session import Session
from ..programmer.tools import plan_titration, prime, priming_plan
from ..pump.firmware import PtmSettings
from ..pump.hardware import CATHETER_FAULTS
from ..pump.implant import Implant
from ..pump.models import CATHETER_ML_PER_CM, get_model
from ..pump.therapy import Therapy
from ..report.schema import PatientSeries
from ..sim.engine import Simulation
from ..telemetry.commands import DirectLink
from ..thresholds import thresholds
from ..timeunits import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_MINUTE, SECONDS_PER_MONTH, SECONDS_PER_YEAR
from .granuloma import GRANULOMA_SIGNS_MEAN_S, manage_granuloma
from .hazards import CATHETER_KINDS, HazardClock, hazard_by_kind
from .outcome import Complication, PatientOutcome
from .plan import PathwayEvent, PathwayPlan
from .policy import get_policy, react_to_lack_of_effect

H = SECONDS_PER_HOUR
DAY = SECONDS_PER_DAY
MONTH = SECONDS_PER_MONTH  # mean month (assumption: "12 months" = one Julian year)
YEAR = SECONDS_PER_YEAR

# ---- rules (sources in docs/care.md) ------------------------------------------------------------

#: Trial success: at least 50% pain reduction from the pre-trial pain [S: clinical-facts "Screening trials"].
SUCCESS_RELIEF = 0.5
#: Vital signs after intrathecal morphine: hourly for 12 h, then 2-hourly for 12 h [S: clinical-facts].
VITALS_HOURLY_H = 12
VITALS_TWO_HOURLY_H = 12
#: Respiratory depression alert: RR below 10/min or SpO2 below 90% (itdd.thresholds, with sources).
RR_ALERT_PER_MIN = thresholds().resp_rate_alert_per_min.value
SPO2_ALERT_PCT = thresholds().spo2_alert_pct.value
#: Per-procedure complication probabilities.  (probability, source, reoperation)
TRIAL_COMPLICATIONS: dict[str, tuple[float, str, bool]] = {
    "post_dural_puncture_headache": (
        0.05,
        "assumption [U]: single lumbar puncture; lower than the 23% after IDDS placement (Neuman 2013)",
        False,
    ),
    "trial_bleeding": (0.002, "assumption [U]: seed FAQ lists bleeding; rare after a lumbar puncture", False),
    "trial_infection": (0.002, "assumption [U]: seed FAQ lists infection; rare after a lumbar puncture", False),
}
TRIAL_CATHETER_COMPLICATIONS: dict[str, tuple[float, str, bool]] = {
    "post_dural_puncture_headache": (
        0.15,
        "assumption [U]: temporary intrathecal catheter for days; below 23% (Neuman 2013, implants)",
        False,
    ),
    "trial_bleeding": (0.005, "assumption [U]", False),
    "trial_infection": (0.01, "assumption [U]: catheter left in place for days", False),
}
IMPLANT_COMPLICATIONS: dict[str, tuple[float, str, bool]] = {
    "post_dural_puncture_headache": (
        0.23,
        "[S] Neuman 2013 (Pain Physician 16:101): PDPH in 73 of 319 IDDS procedures (23%)",
        False,
    ),
    "csf_leak": (0.02, "assumption [U]: persistent leak or hygroma; treated with a blood patch", False),
    "wound_infection": (0.02, "assumption [U]: surgical-site infection needing explant", True),
}
#: Starting dose after a bolus trial: half the effective bolus per day (assumption [U], after the
#: brief's PACC reading), kept within the library's starting range (Infumorph 0.2-1 mg/day [S]).
START_FRACTION_OF_BOLUS = 0.5
#: Titration target: analgesic drive 3 x ED50 x current tolerance (patient/calibration.py: the
#: reference titration calibrated to Roberts 2001 doses [S]); steps by the programmer's planner
#: (PACC 2007: <= 30% per change [S2]).  The clinician's judgement over visits is modelled with
#: the patient's own dose-response (assumption).
TITRATION_TARGET_DRIVE = 3.0  # the conventional policy's target (care/policy.py holds the policies)
#: Side effects that make the clinician lower the dose by 20% (assumption [U]).
DECREASE_FRACTION = 0.2
SEDATION_LIMIT = thresholds().sedation_alert_score.value  # frequently drowsy (POSS-like 0-3 scale)
PRURITUS_LIMIT = 7.0
#: Pain "controlled" for oral weaning: NRS <= 4 or >= 40% below the pre-implant pain (assumption [U]).
CONTROLLED_PAIN = 4.0
CONTROLLED_RELIEF = 0.4
#: The patient calls the clinic (and the clinic suspects a delivery problem) when pain, once
#: controlled, is back 2 NRS points above the best pain on therapy and at least 4, or with
#: withdrawal signs >= 3/10 (assumption [U]).
PAIN_BACK_POINTS = 2.0
CALL_WITHDRAWAL = 3.0
#: Concentrations the pharmacy can supply (assumption [U]: compounded 1, 2, 5 mg/mL; Infumorph 10
#: [S]; 20 mg/mL PACC maximum [U]).  The lowest that lasts a full refill interval is chosen.
CONCENTRATIONS_MG_PER_ML = (1.0, 2.0, 5.0, 10.0, 20.0)
TARGET_REFILL_DAYS = 90.0  # morphine stability 90 days (drug library [S2])
REFILL_MARGIN_DAYS = 7.0  # refill when the reservoir would reach the alarm within this (assumption)
#: Delays (assumptions [U]): a problem found -> operation; ERI found -> replacement (before the
#: 90-day end of service [S]); symptoms -> clinic visit.
REVISION_DELAY_S = 3 * DAY
ERI_REPLACEMENT_DELAY_S = 14 * DAY
CALL_TO_VISIT_S = 1 * DAY
INFECTION_DETECTION_S = 3 * DAY
#: After a catheter study found nothing, returning pain is treated by titration for 90 days before
#: another study (assumption [U]).
NEGATIVE_WORKUP_S = 90 * DAY
#: Escalation without response: dose x1.5 within 90 days with pain still not controlled (assumption [U]).
ESCALATION_FACTOR = 1.5
ESCALATION_WINDOW_S = 90 * DAY
#: Granuloma workup: MRI of the catheter tip (30 min in the field, assumption).
IMAGING_S = 30 * SECONDS_PER_MINUTE
#: Patient self-checks (``TitrationPlan.self_check``, weekly by default) run on the grid implant +
#: k x self_check while the patient's pain is controlled, but only in the SELF_CHECK_WATCH_S after
#: something that can bring pain back (a complication, a dose decrease, an oral opioid cut, a
#: concentration or drug change at a refill, therapy stopped, an MRI, a revision or replacement);
#: otherwise every SELF_CHECK_QUIET_EVERY-th grid point (monthly by default).  Pain that returns
#: without any such change (tolerance) rises over months and is caught by the monthly check or the
#: monthly visit (assumption [U]; docs/care.md "Self-checks").  A grid point at a planned clinic
#: visit has no self-check: the clinic has just assessed the pain (assumption [U]).
SELF_CHECK_WATCH_S = 28 * DAY
SELF_CHECK_QUIET_EVERY = 4
#: Patient bolus decisions at activity breakpoints: waking and 6 h later (assumption [U]).
PTM_DECISION_OFFSETS_H = (0.0, 6.0)
#: Series resolution when recording (output only, not an integration step).
GRID_S = 3 * H
TRIAL_GRID_S = H

FAULT_OF_KIND = {"kink": "occlusion", "occlusion": "occlusion", "leak": "leak", "disconnection": "disconnection"}
FAULT_OF_KIND["migration"] = "migration"
COMPLICATION_OF_FAULT = {
    "occlusion": "catheter_kink",
    "leak": "catheter_leak",
    "disconnection": "catheter_disconnection",
    "migration": "catheter_migration",
}
assert set(FAULT_OF_KIND.values()) <= set(CATHETER_FAULTS)

#: The patient columns of the report contract (``itdd.report.schema.PatientSeries``), in its order.
SERIES_COLUMNS = tuple(k for k in PatientSeries.__annotations__ if k not in ("days", "origin"))


@dataclass
class PathwayRun:
    outcome: PatientOutcome
    result: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # the pathway's own log (stages)
    run: Any = None  # with record=True and an implant: the itdd.sim.runner.Run of the implanted period


# ---- the run ------------------------------------------------------------------------------------


class _Pathway:
    """The state of one patient's pathway while it runs."""

    def __init__(
        self, params: PatientParams, plan: PathwayPlan, seed: int, record: bool, patient_id: str | None
    ) -> None:
        self.params = params
        self.plan = plan
        self.record = record
        self.patient_id = patient_id or f"VP-{seed}"
        ss = np.random.SeedSequence(entropy=abs(int(seed)), spawn_key=(0xCA7E,))
        # a third stream for deaths: the first two are those of spawn(2), so adding it changed nothing else
        streams = [np.random.default_rng(s) for s in ss.spawn(5)]
        self.rng_proc, self.rng_hazard, self.rng_death, self.rng_se, self.rng_mass = streams
        start_dt = q.parse_datetime(plan.start)
        self.offset_s = q.offset_of(start_dt)
        self.start_s = q.to_epoch_s(start_dt)
        self.drug = get_drug(plan.drug)
        pk = DRUGS.get(plan.drug)
        self.potency = pk.it_potency.value if pk is not None else 1.0
        self.is_opioid = self.drug.drug_class == "opioid"
        self.sim = PatientSim(params, self.start_s, offset_s=self.offset_s)
        self.oral = params.oral_mme_per_day
        self.home_oral = params.oral_mme_per_day
        self.stages: list[dict[str, Any]] = []
        self.complications: list[Complication] = []
        self.reoperations = 0
        self.explanted = False
        self.explant_reason: str | None = None
        # recording
        self.samples: dict[str, list[float | None]] = {c: [] for c in SERIES_COLUMNS}
        self.days: list[float] = []
        self.next_grid_s = self.start_s
        self.trial: dict[str, Any] | None = None
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
        self.policy = get_policy(plan.policy)
        self.uncontrolled_since_s: float | None = None  # pain uncontrolled at the ceiling since
        self.ceiling_lifted = False  # the policy's ceiling abandoned after lack of effect
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

    # ---- helpers -----------------------------------------------------------------------------------
    def iso(self, t_s: float) -> str:
        return q.iso(t_s, self.offset_s)

    def stage(self, stage: str, t_s: float, label: str, **kw: Any) -> None:
        if not self.record:
            return  # stages are report output only
        row: dict[str, Any] = {"stage": stage, "start": self.iso(t_s), "label": label}
        for k, v in kw.items():
            if v is not None:
                row[k] = self.iso(v) if k == "end" else v
        self.stages.append(row)

    def observe_row(self, t_s: float) -> None:
        o = self.sim.observe()
        self.days.append((t_s - self.start_s) / DAY)
        s = self.samples
        s["pain"].append(o.pain)
        s["oral_mme_per_day"].append(o.oral_mme_per_day)
        s["csf_tip_mg_per_ml"].append(o.csf_tip_mg_per_ml)
        s["csf_mg_per_ml"].append(o.csf_mg_per_ml)
        s["effect_site_mg_per_ml"].append(o.effect_site_mg_per_ml)
        s["plasma_mg_per_ml"].append(o.plasma_mg_per_ml)
        s["resp_rate_per_min"].append(o.resp_rate_per_min)
        s["spo2_pct"].append(o.spo2_pct)
        s["sedation"].append(o.sedation)
        s["withdrawal"].append(o.withdrawal)
        s["pruritus"].append(o.pruritus)
        s["nausea"].append(o.nausea)

    def advance(self, t_s: float, *, csf_mg_per_day: float = 0.0, grid_s: float = GRID_S) -> None:
        """Move the patient (no implant yet) to ``t_s``, sampling the grid on the way if recording."""
        sim = self.sim
        drug = self.plan.drug if csf_mg_per_day > 0 else None
        if self.record:
            while self.next_grid_s <= t_s:
                if self.next_grid_s > sim.t_s:
                    sim.advance(self.next_grid_s, csf_mg_per_day=csf_mg_per_day, oral_mme_per_day=self.oral, drug=drug)
                if self.next_grid_s >= sim.t_s:
                    self.observe_row(sim.t_s)
                self.next_grid_s += grid_s
        if t_s > sim.t_s:
            sim.advance(t_s, csf_mg_per_day=csf_mg_per_day, oral_mme_per_day=self.oral, drug=drug)

    def sync(self, t_s: float) -> None:
        """The patient follows the implant's record up to ``t_s`` (grid samples on the way)."""
        sim = self.sim
        assert self.implant is not None
        rec: Any = self.implant.record
        if self.record:
            while self.next_grid_s <= t_s:
                if self.next_grid_s > sim.t_s:
                    sim.follow(rec, self.next_grid_s, oral_mme_per_day=self.oral)
                self.observe_row(sim.t_s)
                self.next_grid_s += GRID_S
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

    # ---- mortality (patient/mortality.py) -----------------------------------------------------------
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

    def mortality_changed(self, t: float) -> None:
        """The exposure that drives the death hazard changed at ``t``: re-book the death."""
        m = self.mort
        if m is None or self.death_s is not None or self.engine is None:
            return
        opioid = self.opioid_running()
        if self.mort_booked and m.unchanged(dose_mg_per_day=self.dose, oral_mme_per_day=self.oral, opioid=opioid):
            return  # nothing that drives the hazard changed: the booked death (or none) stands
        self.mort_booked = True
        m.set_state(
            t,
            dose_mg_per_day=self.dose if opioid else 0.0,
            oral_mme_per_day=self.oral,
            opioid=opioid,
            benzodiazepine=self.params.benzodiazepine,
        )
        when = m.next_death(self.end_s)
        item = self.death_item
        if item is not None and not item.cancelled and when is not None and abs(item.time_s - when) < 1e-6:
            return
        Simulation.cancel(item)
        self.death_item = None
        if when is None:
            return

        def action(_s: Simulation) -> None:
            self.death_item = None
            now = self.implant.t_s if self.implant is not None else when
            self.die(now, m.cause(now, float(self.rng_death.random())))

        self.death_item = self.engine.schedule(max(when, t), action, priority=-3, label="death")

    def book_death(self, when: float, cause: str) -> None:
        """A death decided by an event (overdose, meningitis) at ``when``."""
        if self.engine is None or self.death_s is not None or when > self.end_s:
            return
        self.engine.schedule(when, lambda _s: self.die(when, cause), priority=-3, label="death")

    def die(self, t: float, cause: str) -> None:
        """Death: the pathway's end state; the follow-up stops here."""
        if self.death_s is not None:
            return
        imp = self.implant
        assert imp is not None and self.engine is not None
        self.sync(t)
        if not self.explanted:
            imp.stop()
        self.death_s, self.death_cause = t, cause
        self.therapy_on = False
        self.log_dose(t)
        self.refill_token += 1
        self.hazard_token += 1
        self.sc_token += 1
        for item in (self.refill_item, self.hazard_item, self.sc_item, self.death_item):
            Simulation.cancel(item)
        if self.clock is not None:
            self.clock.suspend("all", t)
        self.end_s = t
        self.engine.end_s = t  # the event loop stops after this action
        self.stage("death", t, "Death", details=cause.replace("_", " "))

    def log_dose(self, t_s: float) -> None:
        """Note the programmed dose now (0 while therapy is off, saline or explanted): trial output only."""
        dose = self.dose if self.therapy_on and not self.saline and not self.explanted else 0.0
        if not self.dose_steps or self.dose_steps[-1][1] != dose:
            self.dose_steps.append((t_s, dose))

    # ---- screening ---------------------------------------------------------------------------------
    def screening(self) -> str | None:
        t = self.start_s
        reasons = self.params.contraindications(self.plan.drug)
        self.baseline_pain = self.sim.pain(activity=1.0)
        if reasons:
            refusal = SafetyRefusal("patient.contraindications", "; ".join(reasons), rule="contraindication")
            self.stage("screening", t, "Screening: refused", outcome="refused", details=refusal.message)
            self.trial = {
                "drug": self.plan.drug,
                "method": self.plan.trial.method,
                "start": self.iso(t),
                "end": self.iso(t),
                "doses": [],
                "vitals": [],
                "alerts": [],
                "refusal": {"field": refusal.field, "message": refusal.message, "rule": refusal.rule or ""},
                "complications": [],
                "outcome": {
                    "success": None,
                    "summary": f"No trial: {refusal.message}.",
                    "success_threshold_fraction": SUCCESS_RELIEF,
                    "baseline_pain_score": self.baseline_pain,
                },
            }
            if self.record:
                self.observe_row(t)
            self.end_s = t + 7 * DAY
            self.advance(self.end_s)
            return refusal.message
        self.stage("screening", t, "Screening: no contraindication", outcome="accepted")
        return None

    # ---- trial -------------------------------------------------------------------------------------
    def run_trial(self) -> tuple[bool, float]:
        """Washout then the trial; returns (success, effective dose: mg bolus or mg/day infusion)."""
        tp = self.plan.trial
        washout_s = q.parse_duration_s(tp.washout)
        t = self.start_s
        if self.policy.wean_before_trial and self.home_oral > 0:
            # low-dose practice: systemic opioids tapered off before the trial and kept off
            self.set_oral(t, 0.0)
            self.stage("screening", t, "Systemic opioids weaned", details=f"{self.home_oral:.0f} MME/day stopped")
        if washout_s > 0:
            self.set_oral(t, 0.0)
            self.advance(t + washout_s)
            self.stage(
                "screening",
                t,
                f"Oral opioid washout ({q.fmt_duration(washout_s)})",
                end=t + washout_s,
                details=f"{self.home_oral:.0f} MME/day stopped",
            )
        t0 = self.start_s + washout_s
        self.advance(t0)
        pre = self.sim.pain(activity=1.0)
        doses: list[dict[str, Any]] = []
        vitals: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        comps: list[dict[str, Any]] = []
        best = 0.0
        best_pain = pre
        success = False
        effective = 0.0
        table = TRIAL_CATHETER_COMPLICATIONS if tp.method == "continuous_infusion" else TRIAL_COMPLICATIONS

        def procedure(t_s: float) -> None:
            if not self.plan.surgical_complications:
                return
            for kind, (p, src, reop) in table.items():
                if self.rng_proc.random() < p:
                    comps.append({"time": self.iso(t_s + 6 * H), "kind": kind, "details": src})
                    self.complications.append(Complication(kind, "trial", t_s + 6 * H, t_s + 6 * H, reop, src))

        def checks(t_dose: float, rate: float, until_s: float) -> bool:
            """Vitals on the schedule; returns True if an alert was raised."""
            nonlocal best, best_pain
            times = [t_dose + k * H for k in range(1, VITALS_HOURLY_H + 1)]
            times += [t_dose + VITALS_HOURLY_H * H + k * 2 * H for k in range(1, VITALS_TWO_HOURLY_H // 2 + 1)]
            alerted = False
            for tc in times:
                if tc > until_s + 1e-6:
                    break
                self.advance(tc, csf_mg_per_day=rate if not alerted else 0.0, grid_s=TRIAL_GRID_S)
                o = self.sim.vitals(activity=1.0)
                if self.record:
                    vitals.append(
                        {
                            "time": self.iso(tc),
                            "resp_rate_per_min": o.resp_rate_per_min,
                            "spo2_pct": o.spo2_pct,
                            "pain": o.pain,
                            "sedation": o.sedation,
                        }
                    )
                if pre > 0 and 1 - o.pain / pre > best:
                    best, best_pain = 1 - o.pain / pre, o.pain
                if o.resp_rate_per_min >= RR_ALERT_PER_MIN and o.spo2_pct >= SPO2_ALERT_PCT:
                    continue
                response = (
                    "infusion stopped; oxygen, stimulation, physician called (naloxone not modelled)"
                    if rate > 0
                    else "no further trial doses; oxygen, stimulation, physician called (naloxone not modelled)"
                )
                if o.resp_rate_per_min < RR_ALERT_PER_MIN:
                    alerts.append(
                        {
                            "time": self.iso(tc),
                            "kind": "respiratory_rate",
                            "value": o.resp_rate_per_min,
                            "limit": RR_ALERT_PER_MIN,
                            "message": f"respiratory rate {o.resp_rate_per_min:.1f}/min is below "
                            f"{RR_ALERT_PER_MIN:g}/min: {response}",
                        }
                    )
                    alerted = True
                if o.spo2_pct < SPO2_ALERT_PCT:
                    alerts.append(
                        {
                            "time": self.iso(tc),
                            "kind": "spo2",
                            "value": o.spo2_pct,
                            "limit": SPO2_ALERT_PCT,
                            "message": f"SpO2 {o.spo2_pct:.0f}% is below {SPO2_ALERT_PCT:g}%: {response}",
                        }
                    )
                    alerted = True
            return alerted

        t = t0
        if tp.method == "continuous_infusion":
            rate = q.parse_dose_rate_mg_per_day(tp.infusion)
            dur = q.parse_duration_s(tp.infusion_duration)
            procedure(t)
            doses.append({"time": self.iso(t), "dose_mg": rate * dur / DAY, "route": "intrathecal infusion"})
            doses[-1]["duration_s"] = dur
            alerted = checks(t, rate, t + dur)
            t_end = t + dur
            if not alerted:
                # after the first 24 h: 4-hourly checks while the infusion runs (assumption [U])
                tc = t + 24 * H
                while tc + 4 * H <= t_end + 1e-6:
                    tc += 4 * H
                    self.advance(tc, csf_mg_per_day=rate, grid_s=TRIAL_GRID_S)
                    o = self.sim.vitals(activity=1.0)
                    vitals.append(
                        {
                            "time": self.iso(tc),
                            "resp_rate_per_min": o.resp_rate_per_min,
                            "spo2_pct": o.spo2_pct,
                            "pain": o.pain,
                            "sedation": o.sedation,
                        }
                    )
                    if pre > 0 and 1 - o.pain / pre > best:
                        best, best_pain = 1 - o.pain / pre, o.pain
            self.advance(max(t_end, self.sim.t_s), csf_mg_per_day=0.0 if alerted else rate, grid_s=TRIAL_GRID_S)
            success = best >= SUCCESS_RELIEF
            effective = rate
            t = max(t_end, self.sim.t_s)
            label = f"Continuous infusion {q.fmt_dose_rate(rate)} for {q.fmt_duration(dur)}"
        else:
            amounts = tp.bolus_doses_mg()
            for i, amount in enumerate(amounts):
                t_dose = t0 + i * DAY
                self.advance(t_dose, grid_s=TRIAL_GRID_S)
                procedure(t_dose)
                self.sim.dose(amount, self.plan.drug, "lumbar_puncture")
                doses.append({"time": self.iso(t_dose), "dose_mg": amount, "route": "intrathecal bolus"})
                best_before = best
                alerted = checks(t_dose, 0.0, t_dose + 24 * H)
                t = t_dose + 24 * H
                if best >= SUCCESS_RELIEF and best_before < SUCCESS_RELIEF:
                    success, effective = True, amount
                    break
                if alerted:
                    break
            given = ", then ".join(q.fmt_amount(a) for a in amounts[: len(doses)])
            planned = ", ".join(q.fmt_amount(a) for a in amounts)
            label = (
                f"Single bolus {q.fmt_amount(amounts[0])}"
                if tp.method == "single_bolus"
                else f"Bolus trial: {given} (planned {planned}, one a day until success)"
            )
        self.advance(t, grid_s=TRIAL_GRID_S)
        outcome = "success" if success else "failure"
        summary = (
            f"Best pain {best_pain:.1f} vs {pre:.1f} before the trial: {best:.0%} relief "
            f"({'at least' if success else 'below'} the 50% needed)"
        )
        if alerts:
            summary += f"; {len(alerts)} respiratory alert(s)"
        self.trial = {
            "drug": self.plan.drug,
            "method": tp.method,
            "start": self.iso(t0),
            "end": self.iso(t),
            "doses": doses,
            "vitals": vitals,
            "alerts": alerts,
            "outcome": {
                "success": success,
                "pain_relief_fraction": best,
                "success_threshold_fraction": SUCCESS_RELIEF,
                "baseline_pain_score": pre,
                "best_pain_score": best_pain,
                "summary": summary,
            },
            "refusal": None,
            "complications": comps,
        }
        self.stage("trial", t0, label, end=t, outcome=outcome, details=summary)
        for c in comps:
            self.stage("complication", q.to_epoch_s(q.parse_datetime(c["time"])), c["kind"].replace("_", " "))
        self.trial_end_s = t
        self.trial_success = success
        # back on home oral opioids after the trial (assumption [U]), unless weaned for good
        self.set_oral(t, 0.0 if self.policy.wean_before_trial else self.home_oral)
        return success, effective

    # ---- implant -----------------------------------------------------------------------------------
    def start_dose(self, effective: float) -> float:
        sd = self.drug.starting_dose
        lo, hi = (sd[0].value, sd[1].value) if sd else (0.2, 1.0)
        raw = effective if self.plan.trial.method == "continuous_infusion" else START_FRACTION_OF_BOLUS * effective
        return min(max(raw, lo), hi)

    def choose_conc(self, dose: float, model: Any, usable_ml: float) -> float:
        for c in CONCENTRATIONS_MG_PER_ML:
            rate = dose / c
            if rate < model.min_rate_ml_per_day:
                continue
            if usable_ml / rate >= TARGET_REFILL_DAYS:
                return c
        return CONCENTRATIONS_MG_PER_ML[-1]

    def do_implant(self, effective: float) -> None:
        ip = self.plan.implant
        t = self.trial_end_s + q.parse_duration_s(ip.delay)
        t = q.start_of_local_day_s(t, self.offset_s) + 8 * H  # operations at 08:00 (assumption)
        self.advance(t)
        self.pre_implant_pain = self.sim.pain(activity=1.0)
        model = get_model(ip.pump_model)
        low_ml = q.parse_volume_ml(ip.low_reservoir_alarm)
        dose = self.start_dose(effective)
        conc = (
            q.parse_concentration_mg_per_ml(ip.concentration)
            if ip.concentration
            else self.choose_conc(dose, model, model.reservoir_capacity_ml - low_ml)
        )
        length = q.parse_length_cm(ip.catheter_length)
        self.implant_s = t
        self.end_s = t + self.plan.years * YEAR
        if conc * model.min_rate_ml_per_day > dose or conc * model.max_rate_ml_per_day < dose:
            raise SafetyRefusal(
                "pathway.implant.concentration",
                f"{conc:g} mg/mL cannot deliver the starting dose {q.fmt_dose_rate(dose)} within the pump's "
                f"{q.fmt_flow(model.min_rate_ml_per_day)}..{q.fmt_flow(model.max_rate_ml_per_day)}",
                rule="min_rate",
            )
        self.implant = Implant(
            model,
            t_s=t,
            offset_s=self.offset_s,
            drug=self.plan.drug,
            conc_mg_per_ml=conc,
            fill_ml=model.reservoir_capacity_ml,
            low_reservoir_ml=low_ml,
            therapy=Therapy.simple(dose),
            ptm=self.ptm_settings(),
            catheter_length_cm=length,
            primed=False,
            battery_to_eri=1.0 - q.parse_fraction(ip.battery_used),
            seed=int(self.rng_proc.integers(1 << 31)),
        )
        self.engine = Simulation(self.implant, self.start_s, self.end_s)
        self.engine.implant.run_until(t)
        self.dose, self.conc = dose, conc
        self.log_exposure(t)
        self.log_dose(t)
        self.prev_reservoir_ml = model.reservoir_capacity_ml
        pp = priming_plan(model, length, CATHETER_ML_PER_CM, conc)
        prime(self.session(), pp)
        self.stage(
            "implant",
            t,
            f"{int(model.reservoir_capacity_ml)} mL pump, catheter tip {ip.catheter_tip}, {q.fmt_length(length)}"
            if hasattr(q, "fmt_length")
            else f"{int(model.reservoir_capacity_ml)} mL pump, catheter tip {ip.catheter_tip}, {length:g} cm",
            outcome=f"start {q.fmt_dose_rate(dose)} at {conc:g} mg/mL",
            details=f"priming bolus {pp.volume_ml:.3f} mL over {q.fmt_duration(pp.duration_s)}",
        )
        if self.plan.surgical_complications:
            for kind, (p, src, reop) in IMPLANT_COMPLICATIONS.items():
                if self.rng_proc.random() < p:
                    when = t + (10 * DAY if kind == "wound_infection" else 2 * DAY)
                    self.complications.append(Complication(kind, "implant", when, when, reop, src))
                    self.engine.schedule(when, self._surgical(kind, src), label=kind)
        # hazards
        if self.plan.hazards:
            self.clock = HazardClock(self.rng_hazard, start_s=t)
            self.exposure(t)
        if self.plan.hazards and self.plan.mortality:
            pt = self.params
            self.mort = MortalityClock(
                self.rng_death,
                implant_s=t,
                age_y=pt.age_y,
                female=pt.female,
                start_dose_mg_per_day=dose * self.drug_potency(),
                risk=RiskFactors(self.oral, pt.benzodiazepine, pt.sleep_apnoea),
                opioid=self.drug.drug_class == "opioid",
                cancer=pt.cancer,
            )
            self.mortality_changed(t)
        # visits
        weekly = self.plan.titration.weekly_visits
        for k in range(1, weekly + 1):
            self.engine.schedule(t + k * 7 * DAY, self._visit("titration"), label="titration")
            self.visit_s.add(round(t + k * 7 * DAY))
        vi = q.parse_duration_s(self.plan.titration.visit_interval)
        tv = t + weekly * 7 * DAY + vi
        while tv <= self.end_s:
            self.engine.schedule(tv, self._visit("follow-up"), label="visit")
            self.visit_s.add(round(tv))
            tv += vi
        self.sc_s = q.parse_duration_s(self.plan.titration.self_check)
        self.sc_origin_s = t
        self.watch_from_s = t  # self-checks start once pain is controlled (changed(): at that visit)
        self.schedule_refill(t, t + self.days_left(t) * DAY)
        if self.plan.ptm is not None:
            self.schedule_ptm(t)
        for ev in self.plan.events:
            self.engine.schedule(t + q.parse_duration_s(ev.after_implant), self._scripted(ev), label=ev.type)
        for m, months in (("6", 6), ("12", 12), ("24", 24), ("36", 36)):
            self.engine.schedule(t + months * MONTH, self._milestone(m), priority=5, label=f"{m} months")

    def ptm_settings(self) -> PtmSettings | None:
        p = self.plan.ptm
        if p is None:
            return None
        return PtmSettings(
            dose_mg=q.parse_amount_mg(p.dose),
            duration_s=q.parse_duration_s(p.duration),
            lockout_s=q.parse_duration_s(p.lockout),
            max_per_day=p.max_per_day,
        )

    def session(self) -> Session:
        assert self.implant is not None
        return Session(DirectLink(self.implant))

    # ---- scheduling helpers -----------------------------------------------------------------------
    def days_left(self, t: float) -> float:
        """Days until the firmware's estimate reaches the low-reservoir alarm at the current dose."""
        imp = self.implant
        assert imp is not None
        fw = imp.fw
        rate = fw.therapy.daily_dose_mg() / fw.conc_mg_per_ml if fw.therapy.running and fw.conc_mg_per_ml > 0 else 0.0
        if rate <= 0:
            return TARGET_REFILL_DAYS
        usable = fw.estimate_ml - fw.low_reservoir_ml
        return max(min(usable / rate - REFILL_MARGIN_DAYS, TARGET_REFILL_DAYS), 0.0)

    def schedule_refill(self, now: float, when: float) -> None:
        assert self.engine is not None
        # booked on the date the workflow gives, at clinic opening (08:00 local, assumption), then late if planned
        day = q.start_of_local_day_s(when, self.offset_s) + 8 * H
        when = max(day + self.plan.late_refill_days * DAY, now)
        item = self.refill_item
        if item is not None and not item.cancelled and item.time_s == when:
            return  # already booked for that instant
        self.refill_token += 1
        token = self.refill_token

        def action(_s: Simulation) -> None:
            if token == self.refill_token and not self.explanted:
                self.refill_item = None
                self.do_refill("scheduled refill")

        Simulation.cancel(self.refill_item)
        self.refill_item = self.engine.schedule(when, action, label="refill")

    def exposure(self, t: float) -> None:
        """Tell the hazard clock the current exposure and (re)schedule the next complication."""
        self.log_exposure(t)
        if self.mort is not None:
            self.mortality_changed(t)
        if self.clock is None or self.engine is None or self.explanted:
            return
        imp = self.implant
        assert imp is not None
        running = imp.fw.therapy.running and not self.saline
        self.clock.set_exposure(
            t,
            dose_mg_per_day=self.dose if running else 0.0,
            conc_mg_per_ml=imp.hw.reservoir_conc_mg_per_ml,
            drug=self.plan.drug if not self.saline else "saline",
        )
        nxt = self.clock.next_event()
        item = self.hazard_item
        if nxt is not None and item is not None and not item.cancelled and nxt == (item.time_s, item.label):
            return  # the next complication is still the one booked
        self.hazard_token += 1
        Simulation.cancel(item)
        self.hazard_item = None
        if nxt is None:
            return
        token = self.hazard_token
        t_ev, kind = nxt

        def action(_s: Simulation) -> None:
            if token != self.hazard_token or self.explanted or self.clock is None:
                return
            self.hazard_item = None
            now = self.implant.t_s if self.implant else t_ev
            dose, conc, drug = self.clock.exposure
            self.clock.set_exposure(now, dose_mg_per_day=dose, conc_mg_per_ml=conc, drug=drug)
            self.clock.fire(kind, now)
            self.complication(kind, now)
            self.exposure(now)

        self.hazard_item = self.engine.schedule(max(t_ev, imp.t_s), action, priority=-2, label=kind)

    # ---- actions -----------------------------------------------------------------------------------
    def complication(self, kind: str, t: float, *, leak_fraction: float | None = None) -> None:
        """A complication happens now: apply it to the twin; it stays pending until detected."""
        imp = self.implant
        assert imp is not None
        self.sync(t)
        try:
            hz = hazard_by_kind(kind)
            twin, frac, reop = hz.twin_fault, hz.leak_fraction, hz.reoperation
        except InputError:
            twin, frac, reop = None, 0.0, True
        if leak_fraction is not None:
            frac = leak_fraction
        if twin is not None:
            imp.catheter_fault(twin, frac if twin == "leak" else 0.5)
            if self.clock is not None:
                self.clock.suspend("catheter", t)
        if kind == "pump_failure":
            self.failed_pump = True
            imp.fw.stall(t)
            self.keep_failed(imp)
            if self.clock is not None:
                self.clock.suspend("pump_failure", t)
        self.pending[kind] = Complication(kind, "follow-up", t, None, reop, hz.effect if twin or kind else "")
        self.changed(t)
        self.stage("complication", t, kind.replace("_", " ").capitalize(), details="not yet known to the care team")
        if kind == "infection":
            self.book(t + INFECTION_DETECTION_S, self._found_infection)
        if kind == "granuloma":
            # a mass grows: new radicular pain and neurological signs some months later (granuloma.py)
            delay = float(self.rng_mass.exponential(GRANULOMA_SIGNS_MEAN_S))
            self.book(t + delay, self._granuloma_signs, "granuloma signs")

    def _granuloma_signs(self, _s: Simulation) -> None:
        """The mass presses on the cord or roots: the patient presents, MRI finds it, it is managed."""
        imp = self.implant
        if imp is None or self.explanted or self.death_s is not None or "granuloma" not in self.pending:
            return
        t = imp.t_s
        self.sync(t)
        decision = manage_granuloma(neurological_signs=True, dose_mg_per_day=self.dose * self.drug_potency())
        self.stage("complication", t, "Granuloma: new radicular pain and neurological signs", details=decision.reason)
        imp.magnetic_field_on()  # urgent MRI of the catheter tip stalls the motor
        self.book(t + IMAGING_S, lambda _s2: imp.magnetic_field_off(0.0), "imaging end")
        self.detect(["granuloma"], t, "new neurological signs → MRI")
        self.workup_booked_s = t + REVISION_DELAY_S
        self.book(t + REVISION_DELAY_S, self._revision(["granuloma"]), "granuloma surgery")

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
                if s["stage"] == "complication" and s["start"] == self.iso(c.t_s) and "not yet" in s.get("details", ""):
                    s["details"] = f"found {self.iso(t)[:10]} by {how}"

    def _surgical(self, kind: str, src: str) -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            t = self.implant.t_s if self.implant else 0.0
            label = {"wound_infection": "Wound infection", "csf_leak": "Spinal fluid leak"}.get(
                kind, "Post-dural puncture headache"
            )
            self.stage("complication", t, label, details=src)
            if kind == "wound_infection":
                self.do_explant(t, "wound infection")

        return action

    def _found_infection(self, _s: Simulation) -> None:
        if self.explanted or "infection" not in self.pending:
            return
        t = self.implant.t_s if self.implant else 0.0
        self.detect(["infection"], t, "fever and wound signs")
        self.do_explant(t, "infection")
        if self.mort is not None and meningitis_death(self.rng_death):
            self.book_death(t + 7 * DAY, "meningitis")  # assumption: death within a week of the diagnosis

    def observe_clinic(self, t: float) -> Vitals:
        """What the clinic checks at a visit: pain, breathing, sedation, itch, withdrawal (the
        bedside subset of an observation, identical values, a third of the cost)."""
        self.sync(t)
        return self.sim.vitals(activity=1.0)

    def changed(self, t: float) -> None:
        """Something that can bring pain back happened at ``t``: weekly self-checks for the next
        SELF_CHECK_WATCH_S (from the grid point at or after ``t``)."""
        self.watch_from_s = t
        self.book_self_check(t)

    def book_self_check(self, t: float) -> None:
        """Book the first self-check due at or after ``t`` (none while pain was never controlled)."""
        if self.sc_s <= 0 or not self.controlled_once or self.explanted or self.engine is None:
            return
        k = max(math.ceil((t - self.sc_origin_s) / self.sc_s - 1e-9), 1)
        while True:
            g = self.sc_origin_s + k * self.sc_s
            if (
                g > self.sc_last_s + 1.0
                and (g - self.watch_from_s <= SELF_CHECK_WATCH_S + 1.0 or k % SELF_CHECK_QUIET_EVERY == 0)
                and round(g) not in self.visit_s
            ):
                break
            k += 1
        if g > self.end_s or (self.sc_next_s is not None and self.sc_next_s <= g):
            return
        self.sc_token += 1
        token = self.sc_token
        self.sc_next_s = g

        def action(sim: Simulation) -> None:
            if token == self.sc_token:
                self._self_check(sim)

        Simulation.cancel(self.sc_item)
        self.sc_item = self.engine.schedule(g, action, label="self-check")

    def _self_check(self, _s: Simulation) -> None:
        if self.explanted or self.implant is None:
            return
        t = self.implant.t_s
        self.sc_next_s = None
        self.sc_last_s = t
        if not self.controlled_once:
            return  # resumes when pain is controlled again (changed() at that visit)
        self.book_self_check(t)
        if self.call_booked_s is not None and self.call_booked_s >= t:
            return
        self.sync(t)
        # pain() includes withdrawal hyperalgesia: the patient weighs pain alone (cheap, no observe)
        if not self.pain_back(self.sim.pain(activity=1.0)):
            return
        self.call_booked_s = t + CALL_TO_VISIT_S
        self.book(t + CALL_TO_VISIT_S, self._visit("unscheduled", "the patient called"), "unscheduled visit")

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

    def pain_back(self, pain: float) -> bool:
        """Pain has come back: >= 2 points above the best pain on therapy and >= 4 (assumption [U])."""
        return self.controlled_once and pain >= max(self.best_pain + PAIN_BACK_POINTS, CONTROLLED_PAIN)

    def _visit(self, kind: str, why: str = "") -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            if self.explanted or self.implant is None:
                return
            self.visit(self.implant.t_s, kind, why)

        return action

    def visit(self, t: float, kind: str, why: str = "") -> None:
        imp = self.implant
        assert imp is not None
        o = self.observe_clinic(t)
        status = imp.interrogate()
        self.keep_failed(imp)
        # ERI found at interrogation: book a replacement before end of service
        if status.get("eri_s") is not None and not self.eri_booked:
            self.eri_booked = True
            self.book(t + ERI_REPLACEMENT_DELAY_S, self._replace_pump("battery at elective replacement"), "replacement")
            self.stage(
                "battery_replacement",
                t,
                "Battery ERI found at interrogation",
                details=f"ERI since {self.iso(status['eri_s'])[:10]}",
            )
        if "pump_failure" in self.pending and imp.fw.motor_stalled:
            self.detect(["pump_failure"], t, "motor stall alarm at interrogation")
            self.book(t + REVISION_DELAY_S, self._replace_pump("motor stall"), "replacement")
        pain_back = self.pain_back(o.pain)
        recent_negative = self.negative_workup_s is not None and t - self.negative_workup_s < NEGATIVE_WORKUP_S
        if (
            (pain_back or o.withdrawal >= CALL_WITHDRAWAL)
            and self.therapy_on
            and not self.saline
            and not recent_negative
            and (self.workup_booked_s is None or self.workup_booked_s < t)
        ):
            # loss of efficacy: check the reservoir (a refill with its discrepancy), then a catheter study
            self.stage(
                "visit",
                t,
                "Clinic visit: pain back" if pain_back else "Clinic visit: withdrawal signs",
                details=f"pain {o.pain:.1f}, withdrawal {o.withdrawal:.1f}" + (f" ({why})" if why else ""),
            )
            self.do_refill("reservoir check for loss of efficacy")
            if self.catheter_study(t, "loss of efficacy at a visit"):
                return
        if not self.therapy_on or self.saline:
            return
        if self.workup_booked_s is not None and self.workup_booked_s >= t:
            return  # an operation is booked for the problem found: no titration meanwhile
        # escalation without response: the dose rose by half in 90 days and pain is still not
        # controlled -> catheter study (assumption [U]; masked leaks and masses show up this way)
        self.dose_history = [(ts, d) for ts, d in self.dose_history if t - ts <= ESCALATION_WINDOW_S]
        self.dose_history.append((t, self.dose))
        uncontrolled = o.pain > CONTROLLED_PAIN and o.pain > (1 - CONTROLLED_RELIEF) * self.pre_implant_pain
        if (
            uncontrolled
            and self.dose >= ESCALATION_FACTOR * self.dose_history[0][1]
            and not recent_negative
            and (self.workup_booked_s is None or self.workup_booked_s < t)
            and t - self.implant_s_or(t) > ESCALATION_WINDOW_S
        ):
            self.stage("visit", t, "Clinic visit: escalating dose, poor response", details=f"pain {o.pain:.1f}")
            if self.catheter_study(t, "dose escalation without response"):
                return
        self.titrate(t, o)
        if self.lack_of_effect(t, uncontrolled):
            return
        # oral weaning
        controlled = o.pain <= CONTROLLED_PAIN or o.pain <= (1 - CONTROLLED_RELIEF) * self.pre_implant_pain
        self.best_pain = min(self.best_pain, o.pain)
        if controlled:
            if not self.controlled_once:
                self.controlled_once = True
                self.book_self_check(t)
            if self.oral > 0:
                step = q.parse_fraction(self.plan.titration.wean_step) * self.home_oral
                before = self.oral
                self.set_oral(t, self.oral - step if self.oral - step > 1e-6 else 0.0)
                self.changed(t)
                self.stage(
                    "titration",
                    t,
                    f"Oral opioids {before:.0f} → {self.oral:.0f} MME/day",
                    details="weaning, pain controlled",
                )
        if self.days_left(t) <= REFILL_MARGIN_DAYS and self.plan.late_refill_days == 0:
            self.do_refill("refill at a visit (reservoir low)")

    def ceiling(self) -> float:
        """The highest dose (mg/day of the drug) the clinician gives: the policy's ceiling or the
        drug library's hard limit, whichever is lower."""
        hard = self.drug.daily_dose.hard_max.value if self.drug.daily_dose and self.drug.daily_dose.hard_max else 30.0
        c = self.policy.ceiling_mg_per_day
        return hard if c is None or self.ceiling_lifted else min(hard, c.value / self.drug_potency())

    def lack_of_effect(self, t: float, uncontrolled: bool) -> bool:
        """Pain uncontrolled at the ceiling for months: the clinician's reaction (policy.py).
        Returns True when the therapy ended (explant)."""
        at_ceiling = self.dose >= 0.95 * self.ceiling()
        if not (uncontrolled and at_ceiling):
            self.uncontrolled_since_s = None
            return False
        if self.uncontrolled_since_s is None:
            self.uncontrolled_since_s = t
        ruled_out = self.negative_workup_s is not None and self.negative_workup_s >= self.uncontrolled_since_s
        d = react_to_lack_of_effect(
            uncontrolled_since_s=self.uncontrolled_since_s,
            now_s=t,
            at_ceiling=True,
            delivery_problem_ruled_out=True,
            policy_ceiling=self.policy.ceiling_mg_per_day is not None and not self.ceiling_lifted,
        )
        if d.action == "continue":
            return False
        # rule out a delivery problem first (aspiration, dye study, imaging)
        if not ruled_out and self.catheter_study(t, "lack of effect at the ceiling dose"):
            return True
        if d.action == "lift_ceiling":
            self.ceiling_lifted = True
            self.uncontrolled_since_s = None
            self.stage("visit", t, "Low-dose ceiling lifted", details=d.reason)
            return False
        self.stage("visit", t, "Therapy failed: lack of effect", details=d.reason)
        self.do_explant(t, "lack of effect")
        return True

    def titrate(self, t: float, o: Vitals) -> None:
        imp = self.implant
        assert imp is not None
        dose = self.dose
        if o.sedation >= SEDATION_LIMIT or o.respiratory_depression or o.pruritus >= PRURITUS_LIMIT:
            target = dose * (1 - DECREASE_FRACTION)
            why = (
                f"side effects (sedation {o.sedation:.1f}, RR {o.resp_rate_per_min:.0f}/min, pruritus {o.pruritus:.0f})"
            )
        else:
            p = self.params
            want = self.policy.target_drive.value * p.ed50_mg_per_day * o.opioid_tolerance
            drive = max(o.analgesic_drive_mg_per_day, 1e-9)
            # the drive counts oral opioids too; the clinician adjusts the intrathecal part
            target = dose * want / drive
            why = f"pain {o.pain:.1f}/10"
        target = min(max(target, 0.1), self.ceiling())
        if abs(target / dose - 1) < 0.05:
            return
        mi = self.drug.min_interval
        interval = mi.soft_min.value if mi is not None and mi.soft_min is not None else 0.0
        if target > dose and t - self.last_change_s < interval - 1.0:
            return  # increases at most every 72 h (drug library, Infumorph)
        try:
            plan = plan_titration(self.drug, dose, target, start_s=t)
        except SafetyRefusal as exc:
            if exc.field != "target":
                raise
            plan = plan_titration(
                self.drug,
                dose,
                target,
                start_s=t,
                confirmations={"target": "tolerant patient, pain not controlled at lower doses"},
            )
        new = plan.steps[1][1] if len(plan.steps) > 1 else dose
        # programmed doses are rounded as a clinician would write them (assumption): 0.01 mg/day
        # below 10 mg/day, 0.1 mg/day above, never past the planner's step
        if new > dose:
            new = math.floor(new * (100 if new < 10 else 10)) / (100 if new < 10 else 10)
        else:
            new = math.ceil(new * (100 if new < 10 else 10)) / (100 if new < 10 else 10)
        model = imp.model
        conc = imp.fw.conc_mg_per_ml
        new = min(max(new, model.min_rate_ml_per_day * conc * 1.0001), model.max_rate_ml_per_day * conc)
        if abs(new - dose) < 1e-9:
            return
        imp.program(Therapy.simple(new), details={"reason": f"titration ({why})"})
        self.dose = new
        if self.mort is not None and overdose_death(self.rng_death, "programming"):
            self.book_death(t + 6 * H, "overdose")  # a tenfold programming error (assumption: found too late)
        self.log_dose(t)
        self.last_change_s = t
        if new < dose:
            self.changed(t)
        if self.record:  # the label is report output only
            self.stage("titration", t, f"{q.fmt_dose_rate(dose)} → {q.fmt_dose_rate(new)}", details=why)
        self.exposure(t)
        left = self.days_left(t)
        if left <= REFILL_MARGIN_DAYS and self.plan.late_refill_days == 0:
            self.do_refill("refill at a visit (reservoir low)")
        else:
            self.schedule_refill(t, t + left * DAY)

    def do_refill(self, why: str, *, drug: str | None = None) -> dict[str, Any] | None:
        imp = self.implant
        assert imp is not None
        t = imp.t_s
        self.sync(t)
        model = imp.model
        low = imp.fw.low_reservoir_ml
        if drug == "saline":
            conc, d = 0.0, "saline"
        else:
            conc = self.choose_conc(self.dose, model, model.reservoir_capacity_ml - low) if not self.saline else 0.0
            d = self.plan.drug if not self.saline else "saline"
        req = RefillRequest(fill_ml=model.reservoir_capacity_ml, withdraw_ml=None, drug=d, conc_mg_per_ml=conc)
        rec = refill(
            self.session(),
            req,
            clinician="care-pathway",
            settings=RefillSettings(enforce_guardrails=False),
            previous_reservoir=self.prev_reservoir_ml,
        )
        rec.pop("link_notes", None)
        rec["reason"] = why
        self.refills.append(rec)
        self.prev_reservoir_ml = rec["reservoir_ml_entered"]
        if conc != self.conc or d == "saline":
            self.changed(t)  # a new concentration or drug reaches the tip after the old one in the path
        self.conc = conc
        label = f"Refill {rec['filled_ml']:.0f} mL {d} {conc:g} mg/mL"
        details = f"discrepancy {rec['discrepancy_ml']:+.2f} mL" + (" — flagged" if rec["flag"] else "")
        self.stage("refill", t, label, details=details, outcome="flagged" if rec["flag"] else None)
        self.exposure(t)
        self.schedule_refill(t, q.to_epoch_s(q.parse_datetime(rec["next_refill"])))
        if self.mort is not None and d != "saline" and overdose_death(self.rng_death, "refill"):
            self.book_death(t + 6 * H, "overdose")  # drug injected into the pocket (assumption: hours)
        if rec["flag"] and not self.saline and drug != "saline":
            self.catheter_study(t, "refill discrepancy")
        return rec

    def catheter_study(self, t: float, how: str) -> bool:
        """Catheter-access-port aspiration and dye study; imaging for a mass at the tip."""
        imp = self.implant
        assert imp is not None
        if self.workup_booked_s is not None and self.workup_booked_s >= t - 1.0:
            return True
        found = [k for k in self.pending if k.startswith("catheter_") or k == "granuloma"]
        if "granuloma" in found:
            imp.magnetic_field_on()  # MRI of the catheter tip stalls the motor
            self.book(t + IMAGING_S, lambda _s: imp.magnetic_field_off(0.0), "imaging end")
        if not found:
            self.negative_workup_s = t
            self.stage("visit", t, "Catheter study: no catheter problem found", details=how)
            return False
        self.detect(found, t, how + " → catheter study" + (" and MRI" if "granuloma" in found else ""))
        if "granuloma" in found:
            d = manage_granuloma(neurological_signs=False, dose_mg_per_day=self.dose * self.drug_potency())
            self.stage("visit", t, "Granuloma found at MRI", details=d.reason)
        self.workup_booked_s = t + REVISION_DELAY_S
        self.book(t + REVISION_DELAY_S, self._revision(found), "revision")
        return True

    def _revision(self, kinds: list[str]) -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            imp = self.implant
            if imp is None or self.explanted:
                return
            t = imp.t_s
            self.sync(t)
            imp.catheter_revision(None, primed=False)
            pp = priming_plan(imp.model, imp.hw.catheter_length_cm, imp.hw.catheter_ml_per_cm, imp.fw.conc_mg_per_ml)
            # a stalled motor (pump failure) or a pump at end of service cannot prime: the new catheter
            # fills with the therapy once the pump runs again (or the replacement primes it)
            can_prime = imp.fw.therapy.running and imp.fw.state not in ("motor_stalled", "end_of_service")
            if can_prime:
                prime(self.session(), pp)
            self.reoperated(t)
            if self.clock is not None:
                self.clock.resume("catheter", t, renew=True)
            self.workup_booked_s = None
            self.best_pain = 10.0
            self.controlled_once = False
            self.stage(
                "revision",
                t,
                "Catheter revision",
                details=f"for {', '.join(kinds)}; new catheter "
                + ("primed" if can_prime else "not primed: the pump is not running"),
            )
            self.changed(t)  # checks resume once pain is controlled again
            self.exposure(t)

        return action

    def _replace_pump(self, why: str) -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            old = self.implant
            if old is None or self.explanted:
                return
            t = old.t_s
            self.sync(t)
            fw = old.fw
            therapy = fw.therapy if fw.therapy.running else Therapy.simple(self.dose)
            new = Implant(
                old.model,
                t_s=t,
                offset_s=self.offset_s,
                drug=old.hw.reservoir_drug if old.hw.reservoir_drug != "saline" else self.plan.drug,
                conc_mg_per_ml=fw.conc_mg_per_ml,
                fill_ml=old.model.reservoir_capacity_ml,
                low_reservoir_ml=fw.low_reservoir_ml,
                therapy=therapy if not self.saline else Therapy.stopped(),
                ptm=self.ptm_settings(),
                catheter_length_cm=old.hw.catheter_length_cm,
                primed=True,  # the existing catheter keeps its drug; the new pump comes primed (assumption)
                seed=int(self.rng_proc.integers(1 << 31)),
                record=old.record,
            )
            new.hw.set_fault(old.hw.catheter_fault, old.hw.leak_fraction)
            self.retired_logs.append(old.log)
            self.implant = new
            assert self.engine is not None
            self.engine.implant = new
            self.reoperated(t)
            self.prev_reservoir_ml = old.model.reservoir_capacity_ml
            self.eri_booked = False
            if old.fw.eri_s is not None:
                self.complications.append(
                    Complication("battery_end_of_life", "follow-up", old.fw.eri_s, t, True, "battery ERI; replaced")
                )
            self.failed_pump = False
            if self.clock is not None:
                self.clock.resume("pump_failure", t, renew=True)
            self.stage("battery_replacement", t, "Pump replacement", details=why)
            self.changed(t)
            self.exposure(t)
            self.schedule_refill(t, t + self.days_left(t) * DAY)

        return action

    def do_explant(self, t: float, reason: str) -> None:
        imp = self.implant
        assert imp is not None
        if self.explanted:
            return
        self.sync(t)
        imp.stop()
        self.explanted = True
        self.explant_s = t
        self.explant_reason = reason
        self.reoperated(t)
        self.therapy_on = False
        self.log_dose(t)
        self.refill_token += 1
        self.hazard_token += 1
        for item in (self.refill_item, self.hazard_item, self.sc_item):
            Simulation.cancel(item)
        if self.clock is not None:
            self.clock.suspend("all", t)
        for k in list(self.pending):
            self.detect([k], t, "explant")
        self.set_oral(t, self.home_oral)  # back to oral opioids (assumption [U])
        self.stage("explant", t, "Explant", details=reason)
        self.log_exposure(t)
        self.mortality_changed(t)

    def schedule_ptm(self, t0: float) -> None:
        p = self.params
        day0 = q.start_of_local_day_s(t0, self.offset_s)
        assert self.engine is not None
        d = day0
        while d <= self.end_s:
            for off in PTM_DECISION_OFFSETS_H:
                tt = d + (p.wake_h + off) * H
                if t0 < tt <= self.end_s:
                    self.engine.schedule(tt, self._ptm_decision, priority=3, label="ptm")
            d += DAY

    def _ptm_decision(self, _s: Simulation) -> None:
        imp = self.implant
        if imp is None or self.explanted or self.plan.ptm is None:
            return
        t = imp.t_s
        self.sync(t)
        if self.sim.pain() < self.plan.ptm.pain_threshold:
            return
        dec = imp.ptm_request()
        self.ptm_rows.append({"time": self.iso(t), "granted": dec.granted, "reason": dec.reason})

    def _scripted(self, ev: PathwayEvent) -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            imp = self.implant
            if imp is None or self.explanted:
                return
            t = imp.t_s
            self.sync(t)
            if ev.type == "mri":
                dur = q.parse_duration_s(ev.duration)
                delay = q.parse_duration_s(ev.resume_delay)
                imp.magnetic_field_on()
                self.changed(t)
                self.stage(
                    "mri", t, f"MRI ({q.fmt_duration(dur)})", end=t + dur, details="pump motor stalls in the field"
                )

                def off(_s2: Simulation) -> None:
                    imp.magnetic_field_off(delay)
                    self.keep_failed(imp)

                def check(_s2: Simulation) -> None:
                    # the clinic checks the pump resumed after the MRI (seed FAQ) and restarts it
                    self.sync(imp.t_s)
                    imp.interrogate()
                    self.keep_failed(imp)

                self.book(t + dur, off, "mri end")
                self.book(t + dur + max(delay, 0.0) + 30 * 60, check, "post-MRI check")
            elif ev.type == "catheter_fault":
                assert ev.kind is not None
                fault = FAULT_OF_KIND[ev.kind]
                self.complication(COMPLICATION_OF_FAULT[fault], t, leak_fraction=q.parse_fraction(ev.leak_fraction))
            elif ev.type in ("pump_failure", "infection", "granuloma"):
                self.complication(ev.type, t)
            elif ev.type == "therapy_off":
                imp.stop()
                self.therapy_on = False
                self.log_dose(t)
                self.changed(t)
                self.stage("therapy_off", t, "Therapy turned off", details="pump stopped by the clinician")
                self.exposure(t)
            elif ev.type == "therapy_on":
                if not self.saline:
                    imp.resume()
                    self.therapy_on = True
                    self.log_dose(t)
                    self.stage("therapy_on", t, "Therapy resumed")
                    self.exposure(t)
            elif ev.type == "saline":
                imp.program(Therapy.stopped(), details={"reason": "saline substitution"})
                self.saline = True
                self.therapy_on = False
                self.log_dose(t)
                self.do_refill("saline substitution", drug="saline")
                self.stage("saline", t, "Saline substitution", details="reservoir emptied and filled with saline")
            elif ev.type == "explant":
                self.do_explant(t, "planned explant")

        return action

    def _milestone(self, which: str) -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            imp = self.implant
            if imp is None:
                return
            t = imp.t_s
            self.sync(t)
            running = imp.fw.therapy.running and not self.explanted and not self.saline
            self.milestones[f"dose_{which}"] = self.dose if running else 0.0
            self.milestones[f"pain_{which}"] = self.sim.pain(activity=1.0)
            self.milestones[f"oral_{which}"] = self.oral

        return action

    # ---- the whole pathway ------------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None) -> PatientOutcome:
        refused = self.screening()
        success: bool | None = None
        if refused is None:
            success, effective = self.run_trial()
            if success:
                self.do_implant(effective)
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
            th_edema, th_hypo = float(self.rng_se.exponential()), float(self.rng_se.exponential())
            log = self.exposure_log
            se["side_effects_modelled"] = True
            se["peripheral_edema_s"] = pro.onset_s(log, end, th_edema, pro.EDEMA, count_oral=False)
            se["hypogonadism_s"] = pro.onset_s(log, end, th_hypo, pro.HYPOGONADISM, count_oral=True)
            pain12_ = self.milestones.get("pain_12")
            if pain12_ is not None:
                se["odi_baseline"], se["odi_12_months"] = pro.odi_from_pain(self.baseline_pain, pain12_)
                se["eq5d_baseline"] = pro.eq5d_from_pain(self.baseline_pain)
                se["eq5d_12_months"] = pro.eq5d_from_pain(pain12_)
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
        series: dict[str, Any] = {"days": self.days, "origin": self.iso(self.start_s)}
        for c in SERIES_COLUMNS:
            series[c] = self.samples[c]
        res: dict[str, Any]
        if self.implant is not None and self.engine is not None:
            from ..sim.runner import Run, result_of
            from ..sim.scenario import PumpSpec, Scenario

            imp = self.implant
            scn = Scenario(
                name=name,
                start=self.iso(self.start_s),
                duration=f"{(self.end_s - self.start_s) / DAY:.6f}d",
                pump=PumpSpec(
                    model=imp.model.model_id,
                    drug=self.plan.drug,
                    concentration=f"{imp.fw.conc_mg_per_ml:g} mg/mL",
                    fill=f"{imp.model.reservoir_capacity_ml:g} mL",
                ),
                seed=0,
            )
            run = Run(scn, self.start_s, self.end_s, self.offset_s, imp, self.engine)
            self.run_obj = run
            run.refills = self.refills
            run.ptm_decisions = self.ptm_rows
            res = result_of(run)
            if self.retired_logs:
                older = [
                    {"time": self.iso(e.time_s), "type": e.type, "device": e.device, **_plain(self, e.details)}
                    for log in self.retired_logs
                    for e in log.history
                ]
                res["events"] = older + res["events"]
        else:
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
) -> PathwayRun:
    """Run one patient's whole pathway. ``record=True`` also builds the report result."""
    pw = _Pathway(params, plan, seed, record, patient_id)
    outcome = pw.run(progress)
    result = pw.result(outcome, name) if record else None
    return PathwayRun(outcome=outcome, result=result, events=pw.stages, run=pw.run_obj)


__all__ = ["PathwayPlan", "PathwayRun", "run_pathway"]
