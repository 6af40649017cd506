"""Drugs in the pathway: the drug (or mixture) the pump carries, its concentration, what the
clinician sees of its side effects, and the clinician's change of drug or added adjunct (PACC).

A morphine-only pathway never takes a branch of its own here (every override hands it to the
step it overrides), so its runs are unchanged bit for bit.  The decisions are pure functions of
:mod:`itdd.care.clinician.drug_change`; this mixin acts on them (a refill with the new contents,
a new program).
"""

from __future__ import annotations

import math
from typing import Any, cast

from ...drugs import get_drug
from ...drugs.mixture import label, mixture_name, split
from ...errors import SafetyRefusal
from ...patient.parameters import DRUGS
from ...patient.sim import Vitals
from ...pump.models import PumpModel
from ...pump.therapy import Therapy, check_rates
from ..clinician import decisions as cd
from ..clinician import drug_change as dc
from .visits import Visits

#: what a visit passes for the side effects when none can matter to the decision
NO_EFFECTS = dc.SideEffects()


def _round_sig(x: float, digits: int = 2) -> float:
    if x <= 0:
        return x
    e = math.floor(math.log10(x)) - digits + 1
    return round(x / 10**e) * 10**e


class DrugSteps(Visits):
    """The drug parts of the pathway (see the module docstring)."""

    # ---- what the pump carries ---------------------------------------------------------------
    def pump_drug(self, conc_mg_per_ml: float, dose_mg_per_day: float | None = None) -> str:
        """The name for the reservoir: the drug, or the mixture whose added drugs give their target
        daily doses at ``dose_mg_per_day`` (default: the current dose) of the primary drug.  Each
        added drug's concentration is written to 2 significant figures and kept within its own
        concentration and daily-dose soft limits."""
        dose = self.dose if dose_mg_per_day is None else dose_mg_per_day
        if not self.adjuncts or dose <= 0 or conc_mg_per_ml <= 0:
            return self.drug.name
        parts = []
        for name, target in self.adjuncts.items():
            adj = get_drug(name)
            c = _round_sig(target * conc_mg_per_ml / dose)
            cb = adj.concentration
            top = cb.soft_max or cb.hard_max
            if top is not None:
                c = min(c, top.value)
            if cb.hard_min is not None:
                c = max(c, cb.hard_min.value)
            soft = adj.daily_dose.soft_max or adj.daily_dose.hard_max
            if soft is not None and dose * c / conc_mg_per_ml > soft.value:
                c = soft.value * conc_mg_per_ml / dose
            parts.append((name, c / conc_mg_per_ml))
        return mixture_name(self.drug.name, parts)

    def choose_conc(self, dose: float, model: Any, usable_ml: float) -> float:
        """Morphine: the clinician's list (decisions.choose_concentration).  Another drug: the same
        list in morphine equivalents (divided by the drug's potency: ziconotide 5-100 mcg/mL,
        hydromorphone 0.2-4 mg/mL), within the drug's concentration bounds, lasting the drug's
        in-pump stability (ziconotide 40 days diluted, 84 undiluted, Prialt label) or 90 days."""
        if self.drug.name == "morphine":
            return super().choose_conc(dose, model, usable_ml)
        potency = self.potency
        b = self.drug.concentration
        lo = b.hard_min.value if b.hard_min is not None else 0.0
        hi = b.hard_max.value if b.hard_max is not None else math.inf
        candidates = [c / potency for c in cd.CONCENTRATIONS_MG_PER_ML if lo <= c / potency <= hi] or [hi]
        for c in candidates:
            rate = dose / c
            if rate < model.min_rate_ml_per_day:
                continue
            st = self.drug.stability_for(c)
            days = min(cd.TARGET_REFILL_DAYS, st.value) if st is not None else cd.TARGET_REFILL_DAYS
            if usable_ml / rate >= days:
                return c
        return candidates[-1]

    #: the last ceiling and what it was computed from (drug, potency, lifted, reservoir, adjuncts):
    #: a visit asks twice (titration, drug limit) and the inputs rarely change between visits
    _ceiling_memo: tuple[tuple[Any, ...], float] | None = None

    def ceiling(self) -> float:
        """The policy's ceiling, and with a mixture in the reservoir also the primary dose at which
        an added drug would reach its own hard daily limit (the programmer would refuse more)."""
        adjuncts = self.adjuncts
        imp = self.implant
        key = (
            self.drug,
            self.potency,
            self.ceiling_lifted,
            (imp.hw.reservoir_drug if imp is not None else None, tuple(adjuncts)) if adjuncts else None,
        )
        memo = self._ceiling_memo
        if memo is not None and memo[0] == key:
            return memo[1]
        c = self._ceiling()
        self._ceiling_memo = (key, c)
        return c

    def _ceiling(self) -> float:
        c = super().ceiling()
        if not self.adjuncts:
            return c
        for name in self.adjuncts:
            r = self.adjunct_ratio(name)
            hard = get_drug(name).daily_dose.hard_max
            if r > 0 and hard is not None:
                c = min(c, hard.value / r)
        return c

    # ---- what the clinician sees ------------------------------------------------------------------
    def observe_clinic(self, t: float) -> Vitals:
        """The bedside vitals (all an opioid's titration reads, in morphine equivalents for another
        opioid), or the full observation, which has every field of the vitals with the same values,
        when the visit reads more: confusion for ziconotide's own titration, blood pressure and heart
        rate for an added clonidine (:meth:`drug_change_visit` would observe the patient anyway;
        bupivacaine's block and retention come from its dose)."""
        adjuncts = self.adjuncts
        if self.drug.name != "ziconotide" and (not adjuncts or all(a == "bupivacaine" for a in adjuncts)):
            return super().observe_clinic(t)
        self.sync(t)
        return cast(Vitals, self.sim.observe(activity=1.0))

    def side_effects(self, o: Any) -> dc.SideEffects:
        bupi = self.dose * self.adjunct_ratio("bupivacaine")
        block, retention = dc.adjunct_effects(bupi)
        return dc.SideEffects(
            sedation=o.sedation,
            pruritus=o.pruritus,
            nausea=float(getattr(o, "nausea", 0.0)),
            confusion=float(getattr(o, "confusion", 0.0)),
            respiratory_depression=o.respiratory_depression,
            systolic_bp_mmhg=float(getattr(o, "systolic_bp_mmhg", 120.0)),
            heart_rate_per_min=float(getattr(o, "heart_rate_per_min", 70.0)),
            sensory_motor_block=block,
            urinary_retention=retention,
        )

    def adjunct_ratio(self, name: str) -> float:
        """mg of ``name`` per mg of the primary drug in the reservoir now (0 if absent)."""
        drug = self.implant.hw.reservoir_drug if self.implant is not None else self.drug.name
        if "+" not in drug:
            return 0.0
        for d, r in split(drug):
            if d == name:
                return r
        return 0.0

    # ---- the clinician's change of drug -----------------------------------------------------------
    def lack_of_effect(self, t: float, uncontrolled: bool, pain: float) -> bool:
        """A plan that allows drug changes asks :meth:`drug_change_visit` at every visit, before
        the lack-of-effect ladder (visits.py), so the ladder's own drug-change rung sees none."""
        if self.plan.drug_changes and self.drug_change_visit(t, uncontrolled):
            return False
        return super().lack_of_effect(t, uncontrolled, pain)

    def drug_limit(self) -> float:
        """The dose the clinician will not pass before changing the drug: the drug's soft maximum
        (PACC 2017 table, drug library) or the policy's ceiling, whichever is lower."""
        soft = self.drug.daily_dose.soft_max or self.drug.daily_dose.hard_max
        assert soft is not None
        return min(soft.value, self.ceiling())

    def drug_change_visit(self, t: float, uncontrolled: bool) -> bool:
        """Ask :func:`~itdd.care.clinician.drug_change.drug_change` (and, with an added drug,
        :func:`~itdd.care.clinician.drug_change.adjunct_step`); act; True when something changed."""
        imp = self.implant
        if imp is None or self.explanted or not self.therapy_on or self.saline:
            return False
        limit = self.drug_limit()
        if self.dose >= 0.95 * limit:
            if self.limit_since_s is None:
                self.limit_since_s = t
        else:
            self.limit_since_s = None
        adjuncts = self.adjuncts
        if not dc.change_possible(
            drug=self.drug.name,
            dose_mg_per_day=self.dose,
            limit_mg_per_day=limit,
            at_limit_since_s=self.limit_since_s,
            uncontrolled=uncontrolled,
            now_s=t,
            has_adjuncts=bool(adjuncts),
        ):
            return False  # the decision below would keep (most visits): nothing observed or built
        # the side effects matter only to a switch for intolerance (pain uncontrolled), to ziconotide
        # and to an added drug: otherwise the full observation (the visit's costliest step) is skipped;
        # bupivacaine's own effects come from its dose, not from the observation
        if uncontrolled or self.drug.name == "ziconotide" or (adjuncts and any(a != "bupivacaine" for a in adjuncts)):
            fx = self.side_effects(self.sim.observe(activity=1.0))
        elif adjuncts:
            block, retention = dc.adjunct_effects(self.dose * self.adjunct_ratio("bupivacaine"))
            fx = dc.SideEffects(sensory_motor_block=block, urinary_retention=retention)
        else:
            fx = NO_EFFECTS
        d = dc.drug_change(
            drug=self.drug.name,
            dose_mg_per_day=self.dose,
            limit_mg_per_day=limit,
            at_limit_since_s=self.limit_since_s,
            uncontrolled=uncontrolled,
            now_s=t,
            effects=fx,
            adjuncts=tuple(self.adjuncts),
            tried=tuple(self.drugs_tried),
        )
        if d.action == "switch":
            self.switch_drug(t, d.trigger, d.dose_mg_per_day or 0.0, d.reason)
            return True
        if d.action == "add_adjunct":
            self.adjuncts[d.trigger] = d.dose_mg_per_day or 0.0
            self.limit_since_s = None
            self.stage("visit", t, f"{d.trigger} added to {self.drug.name}", details=d.reason)
            self.do_refill(f"{d.trigger} added ({d.reason})")
            return True
        for name, target in list(self.adjuncts.items()):
            adj = get_drug(name)
            soft = adj.daily_dose.soft_max or adj.daily_dose.hard_max
            assert soft is not None
            a = dc.adjunct_step(
                adjunct=name,
                dose_mg_per_day=target,
                effects=fx,
                uncontrolled=uncontrolled or self.limit_since_s is not None,  # or opioid-sparing at the limit
                soft_max_mg_per_day=soft.value,
            )
            if a.action != "keep" and a.dose_mg_per_day is not None:
                self.adjuncts[name] = a.dose_mg_per_day
                if self.record:  # the label is report output only
                    self.stage(
                        "visit",
                        t,
                        f"{name} {adj.fmt_dose_rate(target)} → {adj.fmt_dose_rate(a.dose_mg_per_day)}",
                        details=a.reason,
                    )
                if a.action == "reduce":
                    self.do_refill(f"{name} reduced ({a.reason})")
                    return True
        return False

    def switch_drug(self, t: float, new: str, dose_mg_per_day: float, why: str) -> None:
        """Empty the reservoir and refill it with ``new`` (the pump bridges the old drug still in the
        path), then program ``dose_mg_per_day`` of it."""
        imp = self.implant
        assert imp is not None
        old, old_dose = self.drug, self.dose
        self.drugs_tried.append(new)
        self.drug = get_drug(new)
        pk = DRUGS.get(new)
        self.potency = pk.it_potency.value if pk is not None else 1.0
        self.is_opioid = self.drug.drug_class == "opioid"
        if new == "ziconotide":
            self.adjuncts.clear()  # ziconotide alone (assumption: no mixture studied with it here)
        lo = self.drug.starting_dose[0].value if self.drug.starting_dose else dose_mg_per_day
        self.dose = max(dose_mg_per_day, lo)
        self.limit_since_s = None
        self.uncontrolled_since_s = None
        self.ceiling_lifted = False
        self.last_change_s = t
        self.stage(
            "visit",
            t,
            f"Drug switch {old.name} {old.fmt_dose_rate(old_dose)} → {new} {self.drug.fmt_dose_rate(self.dose)}",
            details=why,
        )
        if not runs_at(imp.fw.therapy, self.refill_conc(), imp.model):
            # The old drug's dose cannot run on the new drug's concentration (fentanyl 0.75 mg/day
            # on ziconotide 5 mcg/mL would need 150 mL/day): the pump refuses such a refill, so the
            # clinician stops the pump before emptying it and programs the new dose after the fill.
            imp.program(Therapy.stopped(), details={"reason": f"stopped for the drug switch to {new}"})
        self.do_refill(f"drug switch to {new}")
        self.changed(t)
        imp.program(Therapy.simple(self.dose), details={"reason": f"drug switch ({why})"})
        self.log_dose(t)
        self.exposure(t)

    def drug_profile(self) -> dict[str, str]:
        """For the report's profile table: each drug delivered to the spinal fluid (mg, in its
        own unit), the drugs tried and the reservoir's contents at the end; empty for a
        morphine-only pathway (its result is unchanged)."""
        plan = self.plan
        if plan.drug == "morphine" and plan.adjunct is None and not plan.drug_changes:
            return {}
        delivered = "; ".join(
            f"{d} {get_drug(d).fmt_amount(mg)}" for d, mg in self.sim.delivered_csf_mg.items() if d in DRUGS and mg > 0
        )
        return {
            "intrathecal_drugs_delivered": delivered or "none",
            "drugs_tried": " → ".join(self.drugs_tried),
            "reservoir_at_end": self.contents_label(),
        }

    def contents_label(self) -> str:
        """The reservoir's contents for a reader (``morphine 10 mg/mL + bupivacaine 20 mg/mL``)."""
        imp = self.implant
        if imp is None:
            return self.drug.name
        name, conc = imp.hw.reservoir_drug, imp.hw.reservoir_conc_mg_per_ml
        return label(name, conc) if name != "saline" else "saline"


__all__ = ["DrugSteps"]


def runs_at(therapy: Therapy, conc_mg_per_ml: float, model: PumpModel) -> bool:
    """Whether ``therapy`` stays within the pump's rates at ``conc_mg_per_ml`` (the pump's own
    check of a refill, asked before the refill instead of refused by it)."""
    try:
        check_rates(therapy, conc_mg_per_ml, model)
    except SafetyRefusal:
        return False
    return True
