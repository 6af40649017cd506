"""The pump firmware: a deterministic state machine driven by events, in virtual time.

It never reads the wall clock: every method takes the instant ``t_s`` (float seconds since the
Unix epoch) at which it happens.  It knows only what a real pump knows: what it was programmed,
what it commanded the motor to do, its own reservoir *estimate*, its battery and its motor-stall
sensor.  It cannot see the actual reservoir volume, the catheter, or where the drug goes.

Between events the commanded rate is constant (``rate_ml_per_day``); the engine asks
:meth:`Firmware.next_change_s` for the next instant at which anything changes and calls
:meth:`Firmware.consume` / :meth:`Firmware.on_time` to move there exactly.

Why this module is one unit (~850 lines, above the project's ~500): it is one state machine.
Every section below — clock and schedule, rates, time, alarms, motor, commands, patient boluses —
reads and writes the same delivery state (the running bolus, the periodic window, the step
index, the minimum-rate mode, the reservoir estimate), and the invariant that makes the engine
exact (the commanded rate is constant between two instants :meth:`Firmware.next_change_s`
returns) holds only if every transition recomputes that state in one place
(:meth:`Firmware._recompute`).  Split across modules, each part would reach into the others'
attributes.  What is *not* state lives elsewhere, as pure functions returning a decision and its
reason: the patient-bolus grant (:func:`itdd.pump.ptm.decide_ptm`), the range checks
(:mod:`itdd.pump.limits`), the therapy's rate limits (:func:`itdd.pump.therapy.check_rates`); the
status it reports is a typed record (:mod:`itdd.pump.status`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from ..errors import SafetyRefusal
from ..quantities import fmt_dose_rate, fmt_flow, fmt_volume
from .delivered import DAY_F, END_S, SCALE, cumulative, delivered_mg_between
from .delivered import record as record_delivery
from .events import ALARMS as ALARM_KINDS
from .limits import RANGES, check_ptm, check_range
from .log import EventLog
from .models import PumpModel
from .ptm import PtmDecision as PtmDecision  # re-exported: the firmware's decisions
from .ptm import PtmSettings as PtmSettings
from .ptm import decide_ptm
from .status import Alarm as Alarm  # re-exported for the state file
from .status import FirmwareStatus
from .therapy import DAY_S, Therapy, check_rates

EPS_S = 1e-6
EPS_ML = 1e-9
INF = float("inf")


# alarm type -> (log event, severity).  Tones per clinical-facts [S]: critical = 3 s two-tone,
# non-critical = 1 s single tone.
ALARMS = {kind: (a.event, a.severity) for kind, a in ALARM_KINDS.items()}  # itdd.pump.events

DENIAL_REASONS = ("not_enabled", "pump_not_infusing", "lockout", "daily_limit", "max_dose")

# A bolus is complete when what the motor delivered is within this share of its dose (the
# integration of a constant rate over its exact duration differs only by rounding).
COMPLETE_REL = 1e-6
COMPLETE_ABS_MG = 1e-9


@dataclass(slots=True)
class ActiveBolus:
    kind: str  # clinician | priming | bridge | ptm
    start_s: float
    end_s: float
    rate_ml_per_day: float
    mg_per_day: float  # the firmware's belief of drug delivered per day during the bolus
    dose_mg: float
    given_mg: float = 0.0  # what the motor has delivered of it so far (commanded while turning)
    interrupted_by: str | None = None  # why it may end short (e.g. motor_stall)


@dataclass(slots=True)
class PeriodicRun:
    """A periodic bolus window in progress (mode periodic_bolus)."""

    index: int
    dose_mg: float
    mg_per_day: float  # the bolus part of the step's rate (the basal runs beneath it)
    given_mg: float = 0.0
    interrupted_by: str | None = None


class Firmware:
    # the cache of step_lengths_s() (class defaults: a firmware loaded by itdd.pump.persist has none yet)
    _lengths: tuple[float, ...] = ()
    _lengths_of: Therapy | None = None
    _lengths_drift = 0.0
    # the history's running count (itdd.pump.delivered), kept beside it (see history_cums)
    _cums: deque[int] = deque()  # noqa: RUF012 - never written: replaced on first use
    _cums_of: deque[tuple[float, float, float]] | None = None
    # the highest step dose of a therapy (itdd.pump.stepper's safe horizon), kept per therapy
    _max_dose_of: Therapy | None = None
    _max_dose = 0.0

    def __init__(
        self,
        model: PumpModel,
        log: EventLog,
        *,
        t_s: float,
        drug: str,
        conc_mg_per_ml: float,
        therapy: Therapy,
        offset_s: int,
        reservoir_ml: float,
        low_reservoir_ml: float,
        ptm: PtmSettings | None = None,
        clock_offset_s: float = 0.0,
        clock_drift_ppm: float = 0.0,
    ) -> None:
        self.model = model
        self.log = log
        self.drug = drug
        self.conc_mg_per_ml = conc_mg_per_ml
        self.offset_s = offset_s
        self.estimate_ml = reservoir_ml
        self.low_reservoir_ml = low_reservoir_ml
        self.ptm = ptm
        self.clock_offset_s = clock_offset_s
        self.clock_drift = clock_drift_ppm * 1e-6
        self.clock_ref_s = t_s
        self.therapy = therapy
        self.suspended: Therapy | None = None  # therapy kept by a "stop", restored by "resume"
        self.bolus: ActiveBolus | None = None  # clinician, priming or bridge: replaces the basal
        self.ptm_bolus: ActiveBolus | None = None  # adds to the basal
        self.periodic: PeriodicRun | None = None  # a periodic bolus window in progress
        self.min_rate_mode = False
        self.motor_stalled = False
        self.stall_latched = False
        self.recover_at_s = INF
        self.eri_s: float | None = None
        self.eos_at_s = INF
        self.eos = False
        self.alarms: dict[str, Alarm] = {}
        self.ptm_grants: deque[float] = deque()
        # the firmware's own record of what it delivered: (t0, t1, mg_per_day), last 48 h
        self.history: deque[tuple[float, float, float]] = deque()
        self.step_idx = 0
        self.next_step_s = INF
        self.rate_ml_per_day = 0.0
        self.mg_per_day = 0.0
        check_ptm(ptm)
        self._check_clock(clock_offset_s, clock_drift_ppm)
        self._schedule(t_s)
        self._seed_history(t_s)
        self._enter_periodic(t_s, log=False)
        self._recompute()
        self._check_reservoir(t_s)

    @staticmethod
    def _check_clock(clock_offset_s: float, clock_drift_ppm: float) -> None:
        check_range("clock_error", clock_offset_s)
        check_range("clock_drift", clock_drift_ppm)

    def _seed_history(self, t_s: float) -> None:
        """The 24 h before the start: the programmed therapy is assumed to have been running
        (documented in docs/pump-model.md), so the predictive maximum dose sees them."""
        th = self.therapy
        if not th.running:
            return
        t = t_s - DAY_S
        tod = self.local_time_of_day_s(t)
        idx = th.step_index_at(tod)
        nxt = t + th.seconds_to_next_step(idx, tod) / (1.0 + self.clock_drift) if len(th.steps) > 1 else INF
        while t < t_s - EPS_S:
            end = min(nxt, t_s)
            mg = th.steps[idx].dose_mg_per_day
            if mg > 0.0 and end > t:
                h = self.history
                if h and h[-1][2] == mg and abs(h[-1][1] - t) < EPS_S:
                    h[-1] = (h[-1][0], end, mg)
                else:
                    h.append((t, end, mg))
            t = end
            if nxt <= t:
                idx = (idx + 1) % len(th.steps)
                nxt += th.step_length_s(idx) / (1.0 + self.clock_drift)

    # ---- clock and schedule ------------------------------------------------------------------
    def pump_time_s(self, t_s: float) -> float:
        return t_s + self.clock_offset_s + self.clock_drift * (t_s - self.clock_ref_s)

    def local_time_of_day_s(self, t_s: float) -> float:
        return (self.pump_time_s(t_s) + self.offset_s) % DAY_S

    def _schedule(self, t_s: float) -> None:
        th = self.therapy
        if not th.running or len(th.steps) < 2:
            self.step_idx = 0
            self.next_step_s = INF
            return
        tod = self.local_time_of_day_s(t_s)
        self.step_idx = th.step_index_at(tod)
        self.next_step_s = t_s + th.seconds_to_next_step(self.step_idx, tod) / (1.0 + self.clock_drift)

    def set_clock(self, t_s: float, pump_time_s: float) -> None:
        """Set the pump clock (e.g. from the programmer) so that it reads ``pump_time_s`` now."""
        error_s = check_range("pump_time", pump_time_s) - t_s
        limit_s = RANGES["clock_error"].high or 0.0
        if abs(error_s) > limit_s:
            raise SafetyRefusal(
                "pump_time",
                f"would set the pump clock {error_s / DAY_S:+.1f} days from the programmer's time; "
                f"at most {limit_s / DAY_S:g} days either way",
                rule="programmable_value_range",
            )
        before = self.pump_time_s(t_s)
        self.clock_offset_s = pump_time_s - t_s
        self.clock_drift = self.clock_drift  # drift is a property of the crystal; it stays
        self.clock_ref_s = t_s
        self.log.append(t_s, "clock_set", error_before_s=before - t_s)
        self._schedule(t_s)
        self._recompute()

    # ---- rates ---------------------------------------------------------------------------------
    def basal_mg_per_day(self) -> float:
        th = self.therapy
        return th.steps[self.step_idx].dose_mg_per_day if th.running else 0.0

    def _recompute(self) -> None:
        if self.eos or self.motor_stalled:
            self.rate_ml_per_day = 0.0
            self.mg_per_day = 0.0
            return
        ml = mg = 0.0
        b = self.bolus
        th = self.therapy
        if b is not None:
            ml, mg = b.rate_ml_per_day, b.mg_per_day
        elif th.running:
            if self.min_rate_mode:
                ml = self.model.min_rate_ml_per_day
                mg = ml * self.conc_mg_per_ml
            else:
                mg = th.steps[self.step_idx].dose_mg_per_day  # basal_mg_per_day()
                conc = self.conc_mg_per_ml
                ml = mg / conc if conc > 0 else 0.0
        p = self.ptm_bolus
        if p is not None:
            ml += p.rate_ml_per_day
            mg += p.mg_per_day
        self.rate_ml_per_day = ml
        self.mg_per_day = mg

    def wants_to_run(self) -> bool:
        """Would the motor turn now if nothing stopped it?"""
        if self.eos:
            return False
        return self.bolus is not None or self.ptm_bolus is not None or self.therapy.running

    @property
    def state(self) -> str:
        if self.eos:
            return "end_of_service"
        if self.motor_stalled:
            return "motor_stalled"
        if self.bolus is not None:
            return {"priming": "priming", "bridge": "bridge_bolus"}.get(self.bolus.kind, "clinician_bolus")
        if not self.therapy.running:
            return "stopped"
        if self.min_rate_mode:
            return "minimum_rate"
        return "infusing"

    # ---- time ----------------------------------------------------------------------------------
    def next_change_s(self, t_s: float) -> float:
        nxt = min(self.next_step_s, self.recover_at_s, INF if self.eos else self.eos_at_s)
        if self.bolus is not None:
            nxt = min(nxt, self.bolus.end_s)
        if self.ptm_bolus is not None:
            nxt = min(nxt, self.ptm_bolus.end_s)
        rate = self.rate_ml_per_day
        if rate > 0.0:
            # the next reservoir level the estimate will cross: alarm thresholds, then zero
            est = self.estimate_ml
            level = -1.0
            for lv in (self.low_reservoir_ml, self.model.residual_ml, 0.0):
                if est > lv + EPS_ML and lv > level:
                    level = lv
            if level >= 0.0:
                nxt = min(nxt, t_s + (est - level) / rate * DAY_S)
        return nxt

    def consume(self, t0_s: float, t1_s: float) -> None:
        """Account for the interval [t0, t1] at the current (constant) commanded rate."""
        days = (t1_s - t0_s) / DAY_S
        if self.rate_ml_per_day > 0.0:
            est = self.estimate_ml - self.rate_ml_per_day * days
            self.estimate_ml = est if est > EPS_ML else 0.0
        mg = self.mg_per_day
        b = self.bolus
        if mg > 0.0:
            if b is not None:
                b.given_mg += b.mg_per_day * days
                if b.kind == "priming":
                    # The priming volume fills the fluid path (saline or not, the pump cannot
                    # tell): it is not counted as drug against the patient's 24 h maximum.
                    mg -= b.mg_per_day
            p = self.ptm_bolus
            if p is not None:
                p.given_mg += p.mg_per_day * days
            pr = self.periodic
            if pr is not None and b is None and not self.min_rate_mode:
                pr.given_mg += pr.mg_per_day * days
        if mg > 0.0:
            record_delivery(self.history, self.history_cums(), t0_s, t1_s, mg)

    def on_time(self, t_s: float) -> None:
        """Handle everything due at ``t_s`` (timers, schedule boundaries, reservoir thresholds)."""
        due = t_s + EPS_S
        if self.eos_at_s <= due and not self.eos:
            self._end_of_service(t_s)
        b = self.bolus
        if b is not None and b.end_s <= due:
            self.bolus = None
            self._log_bolus_end(t_s, b.kind, b.dose_mg, b.given_mg, b.interrupted_by)
        p = self.ptm_bolus
        if p is not None and p.end_s <= due:
            self.ptm_bolus = None
            self._log_bolus_end(t_s, "ptm", p.dose_mg, p.given_mg, p.interrupted_by)
            self._forget_empty_grant(p)
        while self.next_step_s <= due:
            self._next_step(t_s)
        if self.recover_at_s <= due:
            self._recover(t_s)
        self._check_reservoir(t_s)
        self._recompute()

    def step_lengths_s(self) -> tuple[float, ...]:
        """Each step's length in real seconds (``Therapy.step_length_s`` over the clock's drift),
        the same floats as computed at each use, computed once per therapy and drift."""
        th, drift = self.therapy, self.clock_drift
        if self._lengths_of is not th or self._lengths_drift != drift:
            self._lengths = tuple(th.step_length_s(i) / (1.0 + drift) for i in range(len(th.steps)))
            self._lengths_of, self._lengths_drift = th, drift
        return self._lengths

    def _next_step(self, t_s: float) -> None:
        th = self.therapy
        old = th.steps[self.step_idx]
        self.step_idx = (self.step_idx + 1) % len(th.steps)
        new = th.steps[self.step_idx]
        self.next_step_s += self.step_lengths_s()[self.step_idx]
        if th.mode == "periodic_bolus":
            if old.bolus >= 0 and new.bolus != old.bolus:
                self._end_periodic(t_s)
            if new.bolus >= 0 and new.bolus != old.bolus:
                self._enter_periodic(t_s, log=True)

    def _enter_periodic(self, t_s: float, *, log: bool) -> None:
        """Open the record of a periodic bolus window when the current step is one."""
        th = self.therapy
        if not th.running or th.mode != "periodic_bolus":
            self.periodic = None
            return
        idx = th.steps[self.step_idx].bolus
        if idx < 0:
            self.periodic = None
            return
        pb = th.boluses[idx]
        self.periodic = PeriodicRun(idx, pb.dose_mg, pb.dose_mg / pb.duration_s * DAY_S)
        if self.motor_stalled:
            self.periodic.interrupted_by = "motor_stall"
        elif self.min_rate_mode:  # after the empty alarm only the minimum rate runs
            self.periodic.interrupted_by = "reservoir_empty"
        if log:
            self.log.append(t_s, "bolus_started", kind="periodic", dose_mg=pb.dose_mg)

    def _end_periodic(self, t_s: float) -> None:
        pr = self.periodic
        self.periodic = None
        if pr is None:
            return
        self._log_bolus_end(t_s, "periodic", pr.dose_mg, pr.given_mg, pr.interrupted_by)

    def _log_bolus_end(self, t_s: float, kind: str, dose_mg: float, given_mg: float, why: str | None) -> None:
        """A bolus whose time is over: ``bolus_completed`` only when its whole dose was given;
        otherwise ``bolus_ended_short`` with the dose actually given and why."""
        # (a drifting clock shortens a scheduled window by its drift: not a cut-short bolus)
        if given_mg >= dose_mg * (1.0 - COMPLETE_REL - abs(self.clock_drift)) - COMPLETE_ABS_MG:
            self.log.add(t_s, "bolus_completed", {"kind": kind, "dose_mg": dose_mg})
        else:
            self.log.append(
                t_s,
                "bolus_ended_short",
                kind=kind,
                dose_mg=given_mg,
                planned_dose_mg=dose_mg,
                reason=why or "interrupted",
            )

    # ---- alarms --------------------------------------------------------------------------------
    def _raise(self, t_s: float, kind: str, **details: Any) -> None:
        if kind in self.alarms:
            return
        event, severity = ALARMS[kind]
        self.alarms[kind] = Alarm(kind, severity, t_s)
        self.log.append(t_s, event, severity=severity, **details)

    def _clear(self, t_s: float, kind: str) -> None:
        if self.alarms.pop(kind, None) is not None:
            self.log.append(t_s, "alarm_cleared", alarm=kind)

    def _check_reservoir(self, t_s: float) -> None:
        est = self.estimate_ml
        if est <= self.low_reservoir_ml + EPS_ML:
            self._raise(t_s, "low_reservoir", estimate_ml=est, threshold_ml=self.low_reservoir_ml)
        if est <= self.model.residual_ml + EPS_ML and self.therapy.running and "reservoir_empty" not in self.alarms:
            self._raise(t_s, "reservoir_empty", estimate_ml=est)
            # Assumption (documented): on its empty alarm the pump drops to its minimum rate
            # to keep the catheter open, as older SynchroMed pumps did, until it is refilled.
            self.min_rate_mode = True
            if self.bolus is not None and self.bolus.kind != "priming":
                self._cancel_bolus(t_s, "reservoir_empty")
            if self.ptm_bolus is not None:
                self._cancel_ptm(t_s, "reservoir_empty")
            if self.periodic is not None:
                self.periodic.interrupted_by = "reservoir_empty"
            self._recompute()

    def eri(self, t_s: float) -> None:
        """The battery reached its elective replacement indicator (called by the implant)."""
        if self.eri_s is not None:
            return
        self.eri_s = t_s
        self.eos_at_s = t_s + self.model.eri_to_eos_days * DAY_S
        self._raise(t_s, "eri", end_of_service_at_s=self.eos_at_s)

    def _end_of_service(self, t_s: float) -> None:
        self.eos = True
        self.eos_at_s = t_s
        if self.bolus is not None:
            self._cancel_bolus(t_s, "end_of_service")
        if self.ptm_bolus is not None:
            self._cancel_ptm(t_s, "end_of_service")
        self._cancel_periodic(t_s, "end_of_service")
        self._raise(t_s, "end_of_service")
        self._recompute()

    # ---- motor / magnetic field ----------------------------------------------------------------
    def stall(self, t_s: float) -> None:
        if self.motor_stalled or self.eos:
            return
        # If the pump was already alarming when the field came it stays stopped until a
        # clinician programmer or PTM interrogates it [S] (TGA, clinical-facts "MRI").
        self.stall_latched = bool(self.alarms)
        self.motor_stalled = True
        for b in (self.bolus, self.ptm_bolus, self.periodic):
            if b is not None:
                b.interrupted_by = "motor_stall"
        self.recover_at_s = INF
        self._raise(t_s, "motor_stall", latched=self.stall_latched)
        self._recompute()

    def field_applied(self) -> None:
        """A new field while the motor waits to recover: the wait starts again after this field."""
        if self.motor_stalled:
            self.recover_at_s = INF

    def field_removed(self, t_s: float, resume_delay_s: float) -> None:
        if self.motor_stalled and not self.stall_latched:
            self.recover_at_s = t_s + resume_delay_s
            if resume_delay_s <= 0:
                self._recover(t_s)

    def _recover(self, t_s: float) -> None:
        self.recover_at_s = INF
        if not self.motor_stalled:
            return
        self.motor_stalled = False
        self.stall_latched = False
        self.log.append(t_s, "motor_stall_recovery")
        self._clear(t_s, "motor_stall")
        self._recompute()

    # ---- commands ------------------------------------------------------------------------------
    def program(
        self, t_s: float, therapy: Therapy, *, source: str = "clinician", details: dict[str, Any] | None = None
    ) -> None:
        """Program a therapy; ``details`` (e.g. the programming record id and any soft-limit
        confirmations) are added to the ``therapy_programmed`` log entry."""
        check_rates(therapy, self.conc_mg_per_ml, self.model)
        if self.bolus is not None and self.bolus.kind != "priming":
            self._cancel_bolus(t_s, "reprogrammed")
        self._cancel_periodic(t_s, "reprogrammed")
        old = self.therapy
        self.therapy = therapy
        self.suspended = None
        self.log.append(
            t_s,
            "therapy_programmed",
            mode=therapy.mode,
            daily_dose_mg=therapy.daily_dose_mg(),
            previous_daily_dose_mg=old.daily_dose_mg(),
            description=therapy.describe(),
            source=source,
            **(details or {}),
        )
        self._schedule(t_s)
        self._enter_periodic(t_s, log=True)
        self._recompute()
        self._check_reservoir(t_s)

    def stop(self, t_s: float) -> None:
        if not self.therapy.running and self.bolus is None:
            return
        if self.bolus is not None:
            self._cancel_bolus(t_s, "stopped")
        if self.ptm_bolus is not None:
            self._cancel_ptm(t_s, "stopped")
        self._cancel_periodic(t_s, "stopped")
        self.suspended = self.therapy if self.therapy.running else self.suspended
        self.therapy = Therapy.stopped()
        self.log.append(t_s, "therapy_stopped")
        self._schedule(t_s)
        self._recompute()

    def resume(self, t_s: float) -> None:
        if self.suspended is None:
            return
        check_rates(self.suspended, self.conc_mg_per_ml, self.model)
        self.therapy = self.suspended
        self.suspended = None
        self.log.append(t_s, "therapy_resumed", description=self.therapy.describe())
        self._schedule(t_s)
        self._enter_periodic(t_s, log=True)
        self._recompute()
        self._check_reservoir(t_s)

    def _start_bolus(
        self,
        t_s: float,
        kind: str,
        volume_ml: float,
        rate_ml_per_day: float,
        mg_per_day: float,
        dose_mg: float,
        **details: Any,
    ) -> None:
        duration_s = volume_ml / rate_ml_per_day * DAY_S
        self.bolus = ActiveBolus(kind, t_s, t_s + duration_s, rate_ml_per_day, mg_per_day, dose_mg)
        self.log.append(
            t_s,
            "bolus_started",
            kind=kind,
            dose_mg=dose_mg,
            volume_ml=volume_ml,
            duration_s=duration_s,
            **details,
        )
        self._recompute()

    def _bolus_rate_check(self, field: str, rate_ml_per_day: float) -> None:
        if rate_ml_per_day > self.model.max_rate_ml_per_day + 1e-9:
            raise SafetyRefusal(
                field,
                f"needs {fmt_flow(rate_ml_per_day)}, above the pump's maximum rate "
                f"{fmt_flow(self.model.max_rate_ml_per_day)}; lengthen the duration",
                rule="max_rate",
            )
        if rate_ml_per_day < self.model.min_rate_ml_per_day - 1e-12:
            raise SafetyRefusal(
                field,
                f"needs {fmt_flow(rate_ml_per_day)}, below the pump's minimum rate "
                f"{fmt_flow(self.model.min_rate_ml_per_day)}",
                rule="min_rate",
            )

    def clinician_bolus(self, t_s: float, dose_mg: float, duration_s: float) -> None:
        """A single bolus over ``duration_s`` that replaces the basal, then back to the therapy."""
        if self.eos:
            raise SafetyRefusal("clinician_bolus", "the pump is at end of service", rule="end_of_service")
        check_range("clinician_bolus.dose", dose_mg)
        check_range("clinician_bolus.duration", duration_s)
        rate = dose_mg / self.conc_mg_per_ml / duration_s * DAY_S
        self._bolus_rate_check("clinician_bolus.duration", rate)
        if self.bolus is not None:
            self._cancel_bolus(t_s, "replaced")
        if self.periodic is not None:
            self.periodic.interrupted_by = "clinician_bolus"
        self._start_bolus(t_s, "clinician", dose_mg / self.conc_mg_per_ml, rate, dose_mg / duration_s * DAY_S, dose_mg)

    def priming_bolus(self, t_s: float, volume_ml: float, rate_ml_per_day: float | None = None) -> None:
        """Fill the fluid path at the priming rate; the programmed therapy follows."""
        volume_ml = check_range("priming_bolus.volume", volume_ml)
        rate = self.model.max_rate_ml_per_day if rate_ml_per_day is None else rate_ml_per_day
        rate = check_range("priming_bolus.rate", rate)
        self._bolus_rate_check("priming_bolus.rate", rate)
        if self.bolus is not None:
            self._cancel_bolus(t_s, "replaced")
        self._start_bolus(t_s, "priming", volume_ml, rate, rate * self.conc_mg_per_ml, volume_ml * self.conc_mg_per_ml)

    def bridge_bolus(self, t_s: float, path_volume_ml: float, old_conc_mg_per_ml: float) -> None:
        """After a concentration change: push the path's old drug at the old mg rate, then switch."""
        if not self.therapy.running or old_conc_mg_per_ml <= 0:
            return
        mg_per_day = self.basal_mg_per_day()
        rate = mg_per_day / old_conc_mg_per_ml
        rate = min(max(rate, self.model.min_rate_ml_per_day), self.model.max_rate_ml_per_day)
        self._start_bolus(
            t_s,
            "bridge",
            path_volume_ml,
            rate,
            rate * old_conc_mg_per_ml,
            path_volume_ml * old_conc_mg_per_ml,
            old_conc_mg_per_ml=old_conc_mg_per_ml,
        )

    def _cancel_bolus(self, t_s: float, reason: str) -> None:
        b = self.bolus
        if b is None:
            return
        self.bolus = None
        self.log.append(
            t_s, "bolus_cancelled", kind=b.kind, reason=reason, dose_mg=b.given_mg, planned_dose_mg=b.dose_mg
        )
        self._recompute()

    def _cancel_ptm(self, t_s: float, reason: str) -> None:
        p = self.ptm_bolus
        if p is None:
            return
        self.ptm_bolus = None
        self.log.append(
            t_s, "bolus_cancelled", kind="ptm", reason=reason, dose_mg=p.given_mg, planned_dose_mg=p.dose_mg
        )
        self._forget_empty_grant(p)
        self._recompute()

    def _cancel_periodic(self, t_s: float, reason: str) -> None:
        pr = self.periodic
        if pr is None:
            return
        self.periodic = None
        self.log.append(
            t_s, "bolus_cancelled", kind="periodic", reason=reason, dose_mg=pr.given_mg, planned_dose_mg=pr.dose_mg
        )

    def _forget_empty_grant(self, p: ActiveBolus) -> None:
        """A patient bolus that delivered nothing does not count against the per-day count
        (nor its lockout): the grant is withdrawn (documented in docs/pump-model.md)."""
        if p.given_mg <= COMPLETE_ABS_MG and self.ptm_grants and self.ptm_grants[-1] == p.start_s:
            self.ptm_grants.pop()

    def refill(self, t_s: float, reservoir_ml: float, drug: str, conc_mg_per_ml: float) -> float:
        """Record the new reservoir contents; returns the previous concentration."""
        old_conc = self.conc_mg_per_ml
        self.estimate_ml = reservoir_ml
        self.drug = drug
        self.conc_mg_per_ml = conc_mg_per_ml
        if self.bolus is not None and self.bolus.kind == "bridge":
            self._cancel_bolus(t_s, "refill")
        if reservoir_ml > self.model.residual_ml + EPS_ML:
            self.min_rate_mode = False
            self._clear(t_s, "reservoir_empty")
        if reservoir_ml > self.low_reservoir_ml + EPS_ML:
            self._clear(t_s, "low_reservoir")
        self._recompute()
        self._check_reservoir(t_s)
        return old_conc

    def check_low_reservoir_alarm(self, volume_ml: float, field: str = "low_reservoir_alarm") -> float:
        """The threshold as a float, or a refusal: a volume between 0 and the reservoir capacity."""
        return check_range(field, volume_ml, key="low_reservoir_alarm", high=self.model.reservoir_capacity_ml)

    def set_low_reservoir_alarm(self, t_s: float, volume_ml: float) -> None:
        volume_ml = self.check_low_reservoir_alarm(volume_ml)
        self.low_reservoir_ml = volume_ml
        if self.estimate_ml > volume_ml + EPS_ML:
            self._clear(t_s, "low_reservoir")
        self._check_reservoir(t_s)

    def set_ptm(self, ptm: PtmSettings | None) -> None:
        check_ptm(ptm)
        self.ptm = ptm

    def interrogate(self, t_s: float, field_present: bool, source: str = "clinician_programmer") -> FirmwareStatus:
        if source == "clinician_programmer":
            self.log.append(t_s, "interrogation")
        else:
            self.log.append(t_s, "interrogation", source=source)
        if self.motor_stalled and self.stall_latched and not field_present:
            self._recover(t_s)
        return self.status(t_s)

    def stall_needs_interrogation(self, field_present: bool) -> bool:
        """A stall that only an interrogation releases (the pump was alarming when the field came)."""
        return self.motor_stalled and self.stall_latched and not field_present

    # ---- patient-activated bolus ---------------------------------------------------------------
    def history_cums(self) -> deque[int]:
        """The history's running count (:mod:`itdd.pump.delivered`), kept beside it by
        :func:`~itdd.pump.delivered.record`; a history set from elsewhere (the seeding, a loaded
        state) gets its count here on first use."""
        h = self.history
        cums = self._cums
        if self._cums_of is not h or len(cums) != len(h) + 1:
            cums = self._cums = cumulative(h)
            self._cums_of = h
        return cums

    def delivered_mg_between(self, a_s: float, b_s: float) -> float:
        """What the firmware believes it delivered in [a, b] (its own commanded record; the sum,
        in time order, of each entry's part inside [a, b]: :func:`itdd.pump.delivered.delivered_mg_between`)."""
        return delivered_mg_between(self.history, a_s, b_s)

    def ptm_upper_bound_mg(self, a_s: float, t_s: float, until_s: float) -> float | None:
        """A number no smaller than ``delivered_mg_between(a, t) + planned_basal_mg(t, until)`` as
        those compute it, cheaply: the predictive maximum grants a patient bolus whose bound plus
        its dose is within the limit without the two sums (:func:`itdd.pump.ptm.decide_ptm`).
        None (no bound: the exact sums) outside the common case (a clinician, priming or bridge
        bolus, the minimum rate, end of service, a bolus longer than a day, a huge history).

        Why it bounds them (``t`` is the present: the history ends by it).  *Delivered*: the exact
        sum adds, for the entries that end after ``a``, a part of each no larger than its term
        (``hi - lo <= t1 - t0``, and rounding is monotone), ``n`` nonnegative floats: at most
        their real sum times ``1 + 1.01 n u`` (``u = 2**-53``); that sum is less than
        :func:`~itdd.pump.delivered.bound_since`'s integer quotient, computed within ``u``.
        *Planned*: without a bolus the plan adds, for each step piece of [t, until], its dose (at
        most the therapy's highest step dose) times the piece's length; the lengths add up to
        ``until - t`` (each rounded), and a day holds at most ``m = len(steps) + 2`` pieces: at
        most ``max_dose * (until - t) / DAY_S`` times ``1 + 1.01 (m + 4) u``.  With ``n + m`` below
        10**6, the exact sum is below this bound's ``past + ahead`` times ``1 + 2e-10``; the bound
        is that times ``1 + 1e-9``.  Where the bound plus the dose is within the limit (``fl(bound + dose) <=
        limit``), the exact total, rounded the same way and no larger at each step, is too: the
        decision, its reason and its message are the exact sums' (a grant's message has no number)."""
        if self.eos or self.bolus is not None or self.min_rate_mode or not until_s - t_s <= DAY_S:
            return None
        h = self.history
        th = self.therapy
        steps = th.steps
        if len(h) + len(steps) >= 1_000_000:
            return None
        cums = self._cums
        if self._cums_of is not h or len(cums) != len(h) + 1:
            cums = self.history_cums()
        past = (cums[-1] - cums[bisect_right(h, a_s, key=END_S)]) / SCALE  # delivered.bound_since
        if until_s > t_s and th.mode != "stopped":  # (Therapy.running)
            max_dose = self._max_dose
            if self._max_dose_of is not th:
                self._max_dose = max_dose = max(st.dose_mg_per_day for st in steps)
                self._max_dose_of = th
            past += max_dose * (until_s - t_s) / DAY_S
        return past * (1.0 + 1e-9)

    def planned_basal_mg(self, t_s: float, until_s: float) -> float:
        """Drug the current program will deliver in [t, until] apart from patient boluses."""
        if self.eos:
            return 0.0
        total = 0.0
        t = t_s
        b = self.bolus
        if b is not None:
            end = min(b.end_s, until_s)
            total += b.mg_per_day * (end - t) / DAY_S
            t = end
        th = self.therapy
        if t >= until_s or not th.running:
            return total
        if self.min_rate_mode:
            return total + self.model.min_rate_ml_per_day * self.conc_mg_per_ml * (until_s - t) / DAY_S
        lengths = self._lengths
        if self._lengths_of is not th or self._lengths_drift != self.clock_drift:
            lengths = self.step_lengths_s()
        steps = th.steps
        n = len(steps)
        idx, nxt = self.step_idx, self.next_step_s
        while nxt <= t:  # a clinician bolus may outlast step boundaries
            idx = (idx + 1) % n
            nxt += lengths[idx]
        while t < until_s:
            end = nxt if nxt < until_s else until_s
            total += steps[idx].dose_mg_per_day * (end - t) / DAY_S
            t = end
            idx = (idx + 1) % n
            nxt += lengths[idx]
        return total

    def request_ptm_bolus(self, t_s: float) -> PtmDecision:
        """Grant or deny a patient-activated bolus, with the reason; logs the decision."""
        decision = self._decide_ptm(t_s)
        if decision.granted:
            p = self.ptm
            assert p is not None
            mg_per_day = p.dose_mg / p.duration_s * DAY_F  # (DAY_F: DAY_S as a float, the same product)
            rate = mg_per_day / self.conc_mg_per_ml
            self.ptm_grants.append(t_s)
            dose, duration = p.dose_mg, p.duration_s
            self.ptm_bolus = ActiveBolus("ptm", t_s, t_s + duration, rate, mg_per_day, dose)
            log = self.log
            log.add(
                t_s,
                "ptm_bolus_granted",
                {"dose_mg": dose, "duration_s": duration, "boluses_left_24h": decision.boluses_left_24h},
            )
            log.add(t_s, "bolus_started", {"kind": "ptm", "dose_mg": dose, "duration_s": duration})
            self._recompute()
        else:
            self.log.add(
                t_s,
                "ptm_bolus_denied",
                {
                    "reason": decision.reason,
                    "message": decision.message,
                    "next_allowed_at_s": decision.next_allowed_s,
                },
            )
        return decision

    def _decide_ptm(self, t_s: float) -> PtmDecision:
        p = self.ptm
        grants = self.ptm_grants
        if p is not None and p.enabled:
            horizon = t_s - DAY_S
            while grants and grants[0] <= horizon:
                grants.popleft()
        running = self.ptm_bolus
        return decide_ptm(
            p,
            t_s=t_s,
            state=self.state,
            therapy_running=self.therapy.mode != "stopped",  # (Therapy.running, without the call)
            grants=grants,  # read only (decide_ptm takes any sequence): no copy
            running_end_s=None if running is None else running.end_s,
            delivered_mg_between=self.delivered_mg_between,
            planned_basal_mg=self.planned_basal_mg,
            upper_bound_mg=self.ptm_upper_bound_mg,
        )

    # ---- reporting -----------------------------------------------------------------------------
    def status(self, t_s: float) -> FirmwareStatus:
        return FirmwareStatus(
            state=self.state,
            drug=self.drug,
            concentration_mg_per_ml=self.conc_mg_per_ml,
            therapy=self.therapy,
            reservoir_estimate_ml=self.estimate_ml,
            low_reservoir_alarm_ml=self.low_reservoir_ml,
            rate_ml_per_day=self.rate_ml_per_day,
            alarms=tuple(self.alarms.values()),
            eri_s=self.eri_s,
            end_of_service_s=None if self.eos_at_s == INF else self.eos_at_s,
            ptm=None if self.ptm is None else replace(self.ptm),
            pump_clock_error_s=self.pump_time_s(t_s) - t_s,
        )

    def describe_rate(self) -> str:
        return f"{fmt_dose_rate(self.mg_per_day)} ({fmt_flow(self.rate_ml_per_day)}); reservoir " + fmt_volume(
            self.estimate_ml
        )
