"""Scheduling: refills, complications from the hazard clock, deaths, self-checks, patient boluses, milestones."""

from __future__ import annotations

import math
from collections.abc import Callable

from ... import quantities as q
from ...patient.parameters import DRUGS
from ...patient.placebo import reported_pain
from ...sim.engine import Simulation
from ..clinician.decisions import TARGET_REFILL_DAYS
from .rules import (
    CALL_TO_VISIT_S,
    DAY,
    PTM_DECISION_OFFSETS_H,
    REFILL_MARGIN_DAYS,
    SELF_CHECK_QUIET_EVERY,
    SELF_CHECK_WATCH_S,
    H,
)
from .state import PathwayState


class Scheduling(PathwayState):
    """Scheduling: refills, complications from the hazard clock, deaths, self-checks, patient boluses, milestones."""

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
            drug=self.drug.name if not self.saline else "saline",
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

    def mortality_changed(self, t: float) -> None:
        """The exposure that drives the death hazard changed at ``t``: re-book the death."""
        m = self.mort
        if m is None or self.death_s is not None or self.engine is None:
            return
        opioid = self.opioid_running()
        if self.mort_booked and m.unchanged(
            dose_mg_per_day=self.dose * self.potency, oral_mme_per_day=self.oral, opioid=opioid
        ):
            return  # nothing that drives the hazard changed: the booked death (or none) stands
        self.mort_booked = True
        m.set_state(
            t,
            dose_mg_per_day=self.dose * self.potency if opioid else 0.0,
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

    def _milestone(self, which: str) -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            imp = self.implant
            if imp is None:
                return
            t = imp.t_s
            self.sync(t)
            running = imp.fw.therapy.running and not self.explanted and not self.saline
            dose = self.dose
            if self.drug.name != self.plan.drug:  # after a switch: in the plan drug's units (IT potency)
                pk = DRUGS.get(self.plan.drug)
                dose = dose * self.potency / (pk.it_potency.value if pk is not None else 1.0)
            self.milestones[f"dose_{which}"] = dose if running else 0.0
            self.milestones[f"pain_{which}"] = reported_pain(  # the placebo relief left (patient/placebo.py)
                self.sim.pain(activity=1.0), self.params.placebo_relief, t - self.start_s
            )
            self.milestones[f"oral_{which}"] = self.oral

        return action
