"""Complications: applied to the twin when they happen, found later; scripted events of the plan."""

from __future__ import annotations

from collections.abc import Callable

from ... import quantities as q
from ...errors import InputError
from ...patient.mortality import meningitis_death
from ...pump.therapy import Therapy
from ...sim.engine import Simulation
from ..clinician.decisions import CONCENTRATIONS_MG_PER_ML
from ..granuloma import GRANULOMA_SIGNS_MEAN_S, manage_granuloma
from ..hazards import hazard_by_kind
from ..outcome import Complication
from ..plan import PathwayEvent
from .rules import COMPLICATION_OF_FAULT, DAY, FAULT_OF_KIND, IMAGING_S, INFECTION_DETECTION_S, REVISION_DELAY_S
from .state import PathwayState


class Complications(PathwayState):
    """Complications: applied to the twin when they happen, found later; scripted events of the plan."""

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
        decision = manage_granuloma(
            neurological_signs=True,
            dose_mg_per_day=self.dose * self.drug_potency(),
            conc_mg_per_ml=self.conc,
            supplied_mg_per_ml=CONCENTRATIONS_MG_PER_ML,
        )
        self.conc_cap_mg_per_ml = decision.max_conc_mg_per_ml
        self.stage("complication", t, "Granuloma: new radicular pain and neurological signs", details=decision.reason)
        imp.magnetic_field_on()  # urgent MRI of the catheter tip stalls the motor
        self.book(t + IMAGING_S, lambda _s2: imp.magnetic_field_off(0.0), "imaging end")
        self.detect(["granuloma"], t, "new neurological signs → MRI")
        self.workup_booked_s = t + REVISION_DELAY_S
        self.book(t + REVISION_DELAY_S, self._revision(["granuloma"]), "granuloma surgery")

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

    def _scripted(self, ev: PathwayEvent) -> Callable[[Simulation], None]:
        def action(_s: Simulation) -> None:
            imp = self.implant
            if imp is None or self.explanted:
                return
            t = imp.t_s
            self.sync(t)
            if ev.type == "mri":
                dur = ev.duration_s
                delay = ev.resume_delay_s
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
                self.complication(COMPLICATION_OF_FAULT[fault], t, leak_fraction=ev.leak_fraction_of_flow)
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
