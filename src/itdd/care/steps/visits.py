"""Clinic visits: the clinician policy decides (titration, weaning, workups, lack of effect); the visit acts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...drugs.mixture import label as mixture_label
from ...patient.mortality import overdose_death
from ...patient.placebo import reported_pain
from ...patient.sim import Vitals
from ...programmer.refill import RefillRequest, RefillSettings, refill
from ...pump.therapy import Therapy
from ...sim.engine import Simulation
from ..clinician import decisions as cd
from ..clinician.detection import RAPID_ESCALATION_MONTHS, dose_months_ago, rapid_escalation
from ..clinician.side_effects import react_to_side_effect
from ..granuloma import manage_granuloma
from .rules import DAY, IMAGING_S, REFILL_MARGIN_DAYS, REVISION_DELAY_S, H
from .state import PathwayState


def with_pain(o: Vitals, pain: float) -> Vitals:
    """``dataclasses.replace(o, pain=pain)``, built directly for the bedside :class:`Vitals` (a
    placebo responder's every visit; tests/care/test_drug_change_fast.py checks they are equal)."""
    if type(o) is Vitals:
        return Vitals(
            o.t_s,
            pain,
            o.relief,
            o.resp_rate_per_min,
            o.spo2_pct,
            o.sedation,
            o.pruritus,
            o.withdrawal,
            o.withdrawal_opioid,
            o.analgesic_drive_mg_per_day,
            o.opioid_tolerance,
        )
    return replace(o, pain=pain)


class Visits(PathwayState):
    """Clinic visits: the clinician policy decides (titration, weaning, workups, lack of effect); the visit acts."""

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
        if self.params.placebo_relief > 0:  # what the patient reports: the placebo relief left
            o = with_pain(o, reported_pain(o.pain, self.params.placebo_relief, t - self.start_s))
        status = imp.interrogate()
        self.keep_failed(imp)
        # ERI found at interrogation: book a replacement before end of service
        if status.eri_s is not None and not self.eri_booked:
            eri = self.policy.battery_eri(already_booked=self.eri_booked)
            assert eri.delay_s is not None
            self.eri_booked = True
            self.book(t + eri.delay_s, self._replace_pump(eri.reason), "replacement")
            self.stage(
                "battery_replacement",
                t,
                "Battery ERI found at interrogation",
                details=f"ERI since {self.iso(status.eri_s)[:10]}",
            )
        if "pump_failure" in self.pending and imp.fw.motor_stalled:
            self.detect(["pump_failure"], t, "motor stall alarm at interrogation")
            self.book(t + REVISION_DELAY_S, self._replace_pump("motor stall"), "replacement")
        policy = self.policy
        pain_back = self.pain_back(o.pain)
        recent_negative = self.negative_workup_s is not None and t - self.negative_workup_s < cd.NEGATIVE_WORKUP_S
        d = policy.returning_pain(
            pain_back=pain_back,
            withdrawal=o.withdrawal,
            therapy_on=self.therapy_on,
            saline=self.saline,
            recent_negative_workup=recent_negative,
            workup_booked=not (self.workup_booked_s is None or self.workup_booked_s < t),
        )
        if d.action == "workup":
            # loss of efficacy: check the reservoir (a refill with its discrepancy), then a catheter study
            self.stage(
                "visit",
                t,
                f"Clinic visit: {d.reason}",
                details=f"pain {o.pain:.1f}, withdrawal {o.withdrawal:.1f}" + (f" ({why})" if why else ""),
            )
            self.do_refill("reservoir check for loss of efficacy")
            if self.catheter_study(t, d.trigger):
                return
        if not self.therapy_on or self.saline:
            return
        if self.workup_booked_s is not None and self.workup_booked_s >= t:
            return  # an operation is booked for the problem found: no titration meanwhile
        # escalation without response (the dose rose by half in 90 days, pain still not controlled)
        self.dose_history = [(ts, dd) for ts, dd in self.dose_history if t - ts <= cd.ESCALATION_WINDOW_S]
        self.dose_history.append((t, self.dose))
        uncontrolled = policy.pain_uncontrolled(pain=o.pain, pre_implant_pain=self.pre_implant_pain)
        d = policy.escalation(
            uncontrolled=uncontrolled,
            dose_mg_per_day=self.dose,
            window_start_dose_mg_per_day=self.dose_history[0][1],
            recent_negative_workup=recent_negative,
            workup_booked=not (self.workup_booked_s is None or self.workup_booked_s < t),
            since_implant_s=t - self.implant_s_or(t),
        )
        if d.action == "workup":
            self.stage("visit", t, f"Clinic visit: {d.reason}", details=f"pain {o.pain:.1f}")
            if self.catheter_study(t, d.trigger):
                return
        else:  # a dose need that keeps rising, even with pain controlled (care/clinician/detection.py)
            d = rapid_escalation(
                dose_mg_per_day=self.dose,
                dose_months_ago_mg_per_day=dose_months_ago(self.dose_steps, t, RAPID_ESCALATION_MONTHS.value),
                since_implant_s=t - self.implant_s_or(t),
                recent_negative_workup=recent_negative,
                workup_booked=not (self.workup_booked_s is None or self.workup_booked_s < t),
            )
            if d.action == "workup":
                self.stage("visit", t, f"Clinic visit: {d.reason}", details=f"pain {o.pain:.1f}")
                if self.catheter_study(t, d.trigger):
                    return
        self.titrate(t, o)
        if self.lack_of_effect(t, uncontrolled, o.pain):
            return
        # oral weaning
        d = policy.wean(
            pain=o.pain,
            pre_implant_pain=self.pre_implant_pain,
            oral_mme_per_day=self.oral,
            home_oral_mme_per_day=self.home_oral,
            step_fraction=self.plan.titration.wean_step_fraction,
            floor_mme_per_day=self.params.systemic_opioid_floor_fraction * self.home_oral,
        )
        self.best_pain = min(self.best_pain, o.pain)
        if d.action != "not_controlled":
            if not self.controlled_once:
                self.controlled_once = True
                self.book_self_check(t)
            if d.action == "wean":
                assert d.oral_mme_per_day is not None
                before = self.oral
                self.set_oral(t, d.oral_mme_per_day)
                self.changed(t)
                self.stage("titration", t, f"Oral opioids {before:.0f} → {self.oral:.0f} MME/day", details=d.reason)
        if self.days_left(t) <= REFILL_MARGIN_DAYS and self.plan.late_refill_days == 0:
            self.do_refill("refill at a visit (reservoir low)")

    def record_side_effects(self, se: dict[str, Any]) -> None:
        """Note each side effect whose onset came after the last visit (found only at the end of the
        follow-up) with the clinician's first reaction (report output); the onsets found at visits
        were acted on there (care/steps/side_effect_steps.py)."""
        if not self.record:
            return
        kinds = ("peripheral_edema", "hypogonadism", "urinary_retention", "constipation", "sweating", "hypocortisolism")
        for kind in kinds:
            t = se.get(f"{kind}_s")
            if t is not None and kind not in getattr(self, "se_found", {}):
                d = react_to_side_effect(kind)
                self.stage("side_effect", t, kind.replace("_", " ").capitalize(), details=d.reason)

    def pain_back(self, pain: float) -> bool:
        """Pain has come back (the policy's rule: >= 2 points above the best pain on therapy and >= 4)."""
        return self.policy.pain_is_back(pain=pain, best_pain=self.best_pain, controlled_once=self.controlled_once)

    def ceiling(self) -> float:
        """The highest dose (mg/day of the drug) the clinician gives (the policy's)."""
        return self.policy.ceiling_mg_per_day(drug=self.drug, it_potency=self.potency, lifted=self.ceiling_lifted)

    def lack_of_effect(self, t: float, uncontrolled: bool, pain: float) -> bool:
        """Pain uncontrolled for months: the policy's ladder (care/clinician/failure.py).  Returns
        True when the visit ends there (a work-up found something, a saline trial or an explant)."""
        if not uncontrolled:
            self.uncontrolled_since_s = None
            return False
        if self.uncontrolled_since_s is None:
            self.uncontrolled_since_s = t
        since = self.uncontrolled_since_s
        for _ in range(2):  # at most one work-up, then the ladder again with its result
            ruled_out = self.negative_workup_s is not None and self.negative_workup_s >= since
            d = self.policy.failure_ladder(
                uncontrolled_since_s=since,
                now_s=t,
                since_implant_s=t - self.implant_s_or(t),
                delivery_ruled_out=ruled_out,
                ceiling_lifted=self.ceiling_lifted,
                drug_change=None,  # asked before the ladder when the plan allows it (steps/drug_steps.py)
                saline_trial_done=self.saline_effect is not None,
                saline_showed_effect=self.saline_effect,
                limited_survival=self.params.cancer,
            )
            if d.action != "workup":
                break
            if self.catheter_study(t, d.trigger):
                return True
        if d.action in ("continue", "workup"):
            return False
        if d.action == "lift_ceiling":
            self.ceiling_lifted = True
            self.uncontrolled_since_s = None
            self.stage("visit", t, "Low-dose ceiling lifted", details=d.reason)
            return False
        if d.action == "saline_trial":
            assert d.delay_s is not None
            self.stage("saline", t, "Blinded saline trial", end=t + d.delay_s, details=d.reason)
            imp = self.implant
            assert imp is not None
            # as the scripted saline substitution (steps/complications.py): the drug program stopped,
            # the reservoir emptied and filled with saline; the patient is not told (blinded)
            imp.program(Therapy.stopped(), details={"reason": "blinded saline trial"})
            self.saline = True
            self.saline_trial = (t, pain)
            self.do_refill("blinded saline trial", drug="saline")
            self.log_dose(t)
            self.exposure(t)
            self.book(t + d.delay_s, self._saline_end, "saline trial end")
            return True
        self.stage("visit", t, "Therapy failed: lack of effect", details=d.reason)
        self.do_explant(t, "lack of effect")
        return True

    def _saline_end(self, _s: Simulation) -> None:
        """The end of a blinded saline trial: the policy's verdict; the drug back, or therapy off
        and an explant for lack of effect."""
        imp = self.implant
        if imp is None or self.explanted or self.saline_trial is None:
            return
        t = imp.t_s
        o = self.observe_clinic(t)
        pain = reported_pain(o.pain, self.params.placebo_relief, t - self.start_s)
        v = self.policy.saline_verdict(pain_on_drug=self.saline_trial[1], pain_on_saline=pain)
        self.saline_trial = None
        self.uncontrolled_since_s = None
        if v.action == "drug_effect":
            self.saline_effect = True
            self.saline = False
            self.stage("visit", t, "Saline trial: the drug works", details=v.reason)
            self.do_refill("drug restored after the saline trial")
            imp.program(Therapy.simple(self.dose), details={"reason": "drug restored after the saline trial"})
            self.changed(t)
            self.log_dose(t)
            self.exposure(t)
            return
        self.saline_effect = False
        imp.stop()
        self.therapy_on = False
        self.log_dose(t)
        self.changed(t)
        self.stage("therapy_off", t, "Therapy off: no drug effect at the saline trial", details=v.reason)
        self.exposure(t)
        self.set_oral(t, self.home_oral)  # back on systemic opioids (assumption [U], as at an explant)
        assert v.delay_s is not None

        def explant(_s2: Simulation) -> None:
            if self.implant is not None and not self.explanted:
                self.do_explant(self.implant.t_s, "lack of effect")

        self.book(t + v.delay_s, explant, "explant for lack of effect")

    def titrate(self, t: float, o: Vitals) -> None:
        """Act on the policy's titration step: program the pump, then book the refill it needs."""
        imp = self.implant
        assert imp is not None
        dose = self.dose
        d = self.policy.titration_step(
            o,
            dose_mg_per_day=dose,
            ed50_mg_per_day=self.params.ed50_mg_per_day,
            ceiling_mg_per_day=self.ceiling(),
            since_last_change_s=t - self.last_change_s,
            drug=self.drug,
            now_s=t,
            min_rate_ml_per_day=imp.model.min_rate_ml_per_day,
            max_rate_ml_per_day=imp.model.max_rate_ml_per_day,
            conc_mg_per_ml=imp.fw.conc_mg_per_ml,
            cancer_pain=self.params.cancer,
        )
        if d.action != "change":
            return
        assert d.dose_mg_per_day is not None
        new, why = d.dose_mg_per_day, d.reason
        imp.program(Therapy.simple(new), details={"reason": f"titration ({why})"})
        self.dose = new
        if self.mort is not None and overdose_death(self.rng_death, "programming"):
            self.book_death(t + 6 * H, "overdose")  # a tenfold programming error (assumption: found too late)
        self.log_dose(t)
        self.last_change_s = t
        if new < dose:
            self.changed(t)
        if self.record:  # the label is report output only
            self.stage("titration", t, f"{self.drug.fmt_dose_rate(dose)} → {self.drug.fmt_dose_rate(new)}", details=why)
        self.exposure(t)
        left = self.days_left(t)
        if left <= REFILL_MARGIN_DAYS and self.plan.late_refill_days == 0:
            self.do_refill("refill at a visit (reservoir low)")
        else:
            self.schedule_refill(t, t + left * DAY)

    def do_refill(self, why: str, *, drug: str | None = None) -> None:
        imp = self.implant
        assert imp is not None
        t = imp.t_s
        self.sync(t)
        model = imp.model
        if drug == "saline":
            conc, d = 0.0, "saline"
        else:
            conc = self.refill_conc()
            d = self.pump_drug(conc) if not self.saline else "saline"
        req = RefillRequest(fill_ml=model.reservoir_capacity_ml, withdraw_ml=None, drug=d, conc_mg_per_ml=conc)
        record = refill(
            self.session(),
            req,
            clinician="care-pathway",
            settings=RefillSettings(enforce_guardrails=False),
            previous_reservoir=self.prev_reservoir_ml,
            numbers_only=not self.record,  # the id, checksum, label and findings are report output only
        )
        if self.record:  # the record's JSON row is report output only
            rec = record.to_dict()
            rec.pop("link_notes", None)
            rec["reason"] = why
            self.refills.append(rec)
        self.prev_reservoir_ml = record.reservoir_ml_entered
        if conc != self.conc or d == "saline":
            self.changed(t)  # a new concentration or drug reaches the tip after the old one in the path
        self.conc = conc
        if self.record:
            label = f"Refill {record.filled_ml:.0f} mL " + (
                f"{d} {conc:g} mg/mL" if d in ("morphine", "saline") else mixture_label(d, conc)
            )
            details = f"discrepancy {record.discrepancy_ml:+.2f} mL" + (" — flagged" if record.flag else "")
            self.stage("refill", t, label, details=details, outcome="flagged" if record.flag else None)
        self.exposure(t)
        self.schedule_refill(t, record.next_refill_at_record_s)
        if self.mort is not None and d != "saline" and overdose_death(self.rng_death, "refill"):
            self.book_death(t + 6 * H, "overdose")  # drug injected into the pocket (assumption: hours)
        reaction = self.policy.refill_discrepancy(
            flagged=record.flag, flag_reasons=record.flag_reasons, saline=self.saline or drug == "saline"
        )
        if reaction.action == "catheter_study":
            self.catheter_study(t, reaction.trigger)

    def refill_conc(self) -> float:
        """The concentration the next refill fills (mg/mL of the primary drug; 0 on saline): the
        clinician's choice for the programmed dose, lowered to the cap after a granuloma."""
        if self.saline:
            return 0.0
        imp = self.implant
        assert imp is not None
        model = imp.model
        conc = self.choose_conc(self.dose, model, model.reservoir_capacity_ml - imp.fw.low_reservoir_ml)
        cap = self.conc_cap_mg_per_ml
        if cap is not None and conc > cap and self.dose / cap <= model.max_rate_ml_per_day:
            conc = cap  # lower concentration after a granuloma (more frequent refills)
        return conc

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
            d = manage_granuloma(
                neurological_signs=False,
                dose_mg_per_day=self.dose * self.drug_potency(),
                conc_mg_per_ml=self.conc,
                supplied_mg_per_ml=cd.CONCENTRATIONS_MG_PER_ML,
            )
            self.conc_cap_mg_per_ml = d.max_conc_mg_per_ml
            self.stage("visit", t, "Granuloma found at MRI", details=d.reason)
        self.workup_booked_s = t + REVISION_DELAY_S
        self.book(t + REVISION_DELAY_S, self._revision(found), "revision")
        return True
