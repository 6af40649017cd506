"""Operations: the implant (and what it sets in motion), catheter revision, pump replacement, explant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import quantities as q
from ...errors import SafetyRefusal
from ...patient.mortality import MortalityClock, RiskFactors
from ...programmer.tools import prime, priming_plan
from ...pump.firmware import PtmSettings
from ...pump.implant import Implant
from ...pump.models import CATHETER_ML_PER_CM, get_model
from ...pump.therapy import Therapy
from ...sim.engine import Simulation
from ..cancer import implant_complications
from ..clinician import decisions as cd
from ..hazard_clock import HazardClock
from ..outcome import Complication
from .cancer_steps import start_cancer
from .rules import DAY, IMPLANT_COMPLICATIONS, MONTH, YEAR, H
from .state import PathwayState


class Operations(PathwayState):
    """Operations: the implant (and what it sets in motion), catheter revision, pump replacement, explant."""

    def start_dose(self, effective: float) -> float:
        d = self.policy.starting_dose(
            effective=effective, continuous_infusion=self.plan.trial.method == "continuous_infusion", drug=self.drug
        )
        assert d.dose_mg_per_day is not None
        return d.dose_mg_per_day

    def choose_conc(self, dose: float, model: Any, usable_ml: float) -> float:
        return cd.choose_concentration(
            dose_mg_per_day=dose, min_rate_ml_per_day=model.min_rate_ml_per_day, usable_ml=usable_ml
        )

    def do_implant(self, effective: float) -> None:
        ip = self.plan.implant
        t = self.trial_end_s + ip.delay_s
        t = q.start_of_local_day_s(t, self.offset_s) + 8 * H  # operations at 08:00 (assumption)
        self.advance(t)
        self.pre_implant_pain = self.sim.pain(activity=1.0)
        model = get_model(ip.pump_model)
        low_ml = ip.low_reservoir_alarm_ml
        dose = self.start_dose(effective)
        conc = (
            ip.concentration_mg_per_ml
            if ip.concentration_mg_per_ml is not None
            else self.choose_conc(dose, model, model.reservoir_capacity_ml - low_ml)
        )
        length = ip.catheter_length_cm
        self.implant_s = t
        self.end_s = t + self.plan.years * YEAR
        if conc * model.min_rate_ml_per_day > dose or conc * model.max_rate_ml_per_day < dose:
            raise SafetyRefusal(
                "pathway.implant.concentration",
                f"{self.drug.fmt_concentration(conc)} cannot deliver the starting dose {self.drug.fmt_dose_rate(dose)} "
                f"within the pump's "
                f"{q.fmt_flow(model.min_rate_ml_per_day)}..{q.fmt_flow(model.max_rate_ml_per_day)}",
                rule="min_rate",
            )
        self.implant = Implant(
            model,
            t_s=t,
            offset_s=self.offset_s,
            drug=self.pump_drug(conc, dose),
            conc_mg_per_ml=conc,
            fill_ml=model.reservoir_capacity_ml,
            low_reservoir_ml=low_ml,
            therapy=Therapy.simple(dose),
            ptm=self.ptm_settings(),
            catheter_length_cm=length,
            primed=False,
            battery_to_eri=1.0 - ip.battery_used_fraction,
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
            outcome=f"start {self.drug.fmt_dose_rate(dose)} at "
            + (f"{conc:g} mg/mL" if self.drug.name == "morphine" else self.drug.fmt_concentration(conc)),
            details=f"priming bolus {pp.volume_ml:.3f} mL over {q.fmt_duration(pp.duration_s)}",
        )
        if self.plan.surgical_complications:
            for kind, (p, src, reop) in implant_complications(IMPLANT_COMPLICATIONS, self.params.cancer).items():
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
        if self.params.cancer:  # cancer pain: its own visits (care/steps/cancer_steps.py), complications, 4 weeks
            start_cancer(self, t)
        weekly = self.plan.titration.weekly_visits if not self.params.cancer else 0
        for k in range(1, weekly + 1):
            self.engine.schedule(t + k * 7 * DAY, self._visit("titration"), label="titration")
            self.visit_s.add(round(t + k * 7 * DAY))
        vi = self.plan.titration.visit_interval_s
        tv = t + weekly * 7 * DAY + vi
        while tv <= self.end_s and not self.params.cancer:
            self.engine.schedule(tv, self._visit("follow-up"), label="visit")
            self.visit_s.add(round(tv))
            tv += vi
        self.sc_s = self.plan.titration.self_check_s
        self.sc_origin_s = t
        self.watch_from_s = t  # self-checks start once pain is controlled (changed(): at that visit)
        self.schedule_refill(t, t + self.days_left(t) * DAY)
        if self.plan.ptm is not None:
            self.schedule_ptm(t)
        for ev in self.plan.events:
            self.engine.schedule(t + ev.after_implant_s, self._scripted(ev), label=ev.type)
        for m, months in (("6", 6), ("12", 12), ("24", 24), ("36", 36)):
            self.engine.schedule(t + months * MONTH, self._milestone(m), priority=5, label=f"{m} months")

    def ptm_settings(self) -> PtmSettings | None:
        p = self.plan.ptm
        if p is None:
            return None
        return PtmSettings(
            dose_mg=p.dose_mg,
            duration_s=p.duration_s,
            lockout_s=p.lockout_s,
            max_per_day=p.max_per_day,
        )

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
                drug=old.hw.reservoir_drug if old.hw.reservoir_drug != "saline" else self.pump_drug(fw.conc_mg_per_ml),
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
