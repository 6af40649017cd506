"""Clinician policies: the :class:`ClinicianPolicy` protocol and the practices that implement it.

A policy answers the pathway's questions (trial verdict, starting dose, titration step, weaning,
returning pain, escalation, refill discrepancy, lack of effect, battery ERI) with a
:class:`~itdd.care.clinician.decisions.Decision`.  :class:`Practice` implements the protocol
with the pure functions of :mod:`.decisions` and a few numbers of its own; ``POLICIES`` holds
the two practices of docs/care.md "Clinician policies".  Another policy (another drug, another
strategy, a trial arm) is any object with these methods: pass it to
:func:`itdd.care.pathway.run_pathway` (``policy=``), or add it to ``POLICIES`` and to the plan's
``policy`` names (care/plan.py) so scenarios and trial arms (trial/protocol.py) can name it.

* ``conventional``: keep the patient's oral opioids through the trial (after a washout) and wean
  them once pain is controlled; titrate the intrathecal dose to the patient's response with no
  ceiling below the drug library's hard limit.  Published long-term doses: Roberts 2001, IT
  morphine 9.95 mg/day at 6 months, 15.26 mg/day at 36 months.
* ``low_dose``: wean systemic opioids completely before the trial and keep them off; titrate to a
  lower target and never above a low ceiling.  Published long-term doses: Hamza 2012, 1.4 mg/day
  morphine equivalents at 6 months, 1.48 mg/day at 36 months, with oral opioids stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ...drugs import Drug
from ...errors import InputError
from ...patient.parameters import S, Sourced, U
from ...patient.sim import Vitals
from . import decisions as d
from . import failure as f
from .decisions import Decision

__all__ = ["POLICIES", "ClinicianPolicy", "Practice", "get_policy"]


class ClinicianPolicy(Protocol):
    """What the pathway asks the simulated clinician.  Every method is pure (no scheduling, no
    random draws, no pump access) and returns a :class:`Decision` (or a number / a yes-no)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def wean_before_trial(self) -> bool:
        """Systemic opioids tapered off before the trial and kept off."""
        ...

    @property
    def has_ceiling(self) -> bool:
        """A ceiling of the policy's own, below the drug's hard limit (lifted after lack of effect)."""
        ...

    def trial_verdict(self, *, relief_fraction: float) -> Decision:
        """``implant`` or ``no_implant`` from the best relief in the screening trial."""
        ...

    def starting_dose(self, *, effective: float, continuous_infusion: bool, drug: Drug) -> Decision:
        """``start`` at ``dose_mg_per_day`` after a successful trial."""
        ...

    def ceiling_mg_per_day(self, *, drug: Drug, it_potency: float, lifted: bool) -> float:
        """The highest dose (mg/day of the drug) the clinician gives."""
        ...

    def titration_step(
        self,
        o: Vitals,
        *,
        dose_mg_per_day: float,
        ed50_mg_per_day: float,
        ceiling_mg_per_day: float,
        since_last_change_s: float,
        drug: Drug,
        now_s: float,
        min_rate_ml_per_day: float,
        max_rate_ml_per_day: float,
        conc_mg_per_ml: float,
        cancer_pain: bool = False,
    ) -> Decision:
        """``change`` (to ``dose_mg_per_day``) or ``keep`` at a visit (larger steps in cancer pain)."""
        ...

    def wean(
        self,
        *,
        pain: float,
        pre_implant_pain: float,
        oral_mme_per_day: float,
        home_oral_mme_per_day: float,
        step_fraction: float,
        floor_mme_per_day: float = 0.0,
    ) -> Decision:
        """``not_controlled``, ``controlled`` or ``wean`` (to ``oral_mme_per_day``, not below the floor)."""
        ...

    def pain_uncontrolled(self, *, pain: float, pre_implant_pain: float) -> bool: ...

    def pain_is_back(self, *, pain: float, best_pain: float, controlled_once: bool) -> bool: ...

    def returning_pain(
        self,
        *,
        pain_back: bool,
        withdrawal: float,
        therapy_on: bool,
        saline: bool,
        recent_negative_workup: bool,
        workup_booked: bool,
    ) -> Decision:
        """``workup`` or ``continue``."""
        ...

    def escalation(
        self,
        *,
        uncontrolled: bool,
        dose_mg_per_day: float,
        window_start_dose_mg_per_day: float,
        recent_negative_workup: bool,
        workup_booked: bool,
        since_implant_s: float,
    ) -> Decision:
        """``workup`` or ``continue``."""
        ...

    def refill_discrepancy(self, *, flagged: bool, flag_reasons: Sequence[str], saline: bool) -> Decision:
        """``catheter_study`` or ``none``."""
        ...

    def lack_of_effect(self, *, uncontrolled_since_s: float | None, now_s: float, policy_ceiling: bool) -> Decision:
        """``continue``, ``lift_ceiling`` or ``explant`` (pain uncontrolled at the ceiling)."""
        ...

    def battery_eri(self, *, already_booked: bool) -> Decision:
        """``book_replacement`` (after ``delay_s``) or ``none``."""
        ...

    def failure_ladder(
        self,
        *,
        uncontrolled_since_s: float | None,
        now_s: float,
        since_implant_s: float,
        delivery_ruled_out: bool,
        ceiling_lifted: bool,
        drug_change: Decision | None,
        saline_trial_done: bool,
        saline_showed_effect: bool | None,
        limited_survival: bool = False,
    ) -> Decision:
        """Pain uncontrolled for months: ``continue``, ``workup``, ``lift_ceiling``, the drug change
        passed in, ``saline_trial`` or ``explant`` (care/clinician/failure.py)."""
        ...

    def saline_verdict(self, *, pain_on_drug: float, pain_on_saline: float) -> Decision:
        """After a blinded saline trial: ``drug_effect`` or ``therapy_off``."""
        ...


@dataclass(frozen=True)
class Practice:
    """How one clinic practises intrathecal opioid therapy: the decisions of :mod:`.decisions`
    with this practice's numbers.  Implements :class:`ClinicianPolicy`."""

    name: str
    description: str
    wean_before_trial: bool  # systemic opioids tapered off before the trial and kept off
    target_drive: Sourced  # titration target: analgesic drive x ED50 x tolerance (decisions.titration_step)
    ceiling: Sourced | None  # IT morphine-equivalent dose (mg/day) the clinician will not exceed
    published_dose_6_months: Sourced
    published_dose_36_months: Sourced
    lift_ceiling_on_failure: bool = True  # a ceiling of its own is lifted after lack of effect

    @property
    def has_ceiling(self) -> bool:
        return self.ceiling is not None

    def trial_verdict(self, *, relief_fraction: float) -> Decision:
        return d.trial_verdict(relief_fraction=relief_fraction)

    def starting_dose(self, *, effective: float, continuous_infusion: bool, drug: Drug) -> Decision:
        sd = drug.starting_dose
        lo, hi = (sd[0].value, sd[1].value) if sd else (0.2, 1.0)
        return d.starting_dose(
            effective=effective, continuous_infusion=continuous_infusion, lowest_mg_per_day=lo, highest_mg_per_day=hi
        )

    def ceiling_mg_per_day(self, *, drug: Drug, it_potency: float, lifted: bool) -> float:
        """The policy's ceiling or the drug library's hard limit, whichever is lower (the hard limit
        alone once the ceiling was lifted after lack of effect)."""
        hard = drug.daily_dose.hard_max.value if drug.daily_dose and drug.daily_dose.hard_max else 30.0
        c = self.ceiling
        return hard if c is None or lifted else min(hard, c.value / it_potency)

    def titration_step(
        self,
        o: Vitals,
        *,
        dose_mg_per_day: float,
        ed50_mg_per_day: float,
        ceiling_mg_per_day: float,
        since_last_change_s: float,
        drug: Drug,
        now_s: float,
        min_rate_ml_per_day: float,
        max_rate_ml_per_day: float,
        conc_mg_per_ml: float,
        cancer_pain: bool = False,
    ) -> Decision:
        return d.titration_step(
            o,
            dose_mg_per_day=dose_mg_per_day,
            ed50_mg_per_day=ed50_mg_per_day,
            target_drive=self.target_drive.value,
            ceiling_mg_per_day=ceiling_mg_per_day,
            since_last_change_s=since_last_change_s,
            drug=drug,
            now_s=now_s,
            min_rate_ml_per_day=min_rate_ml_per_day,
            max_rate_ml_per_day=max_rate_ml_per_day,
            conc_mg_per_ml=conc_mg_per_ml,
            cancer_pain=cancer_pain,
        )

    def wean(
        self,
        *,
        pain: float,
        pre_implant_pain: float,
        oral_mme_per_day: float,
        home_oral_mme_per_day: float,
        step_fraction: float,
        floor_mme_per_day: float = 0.0,
    ) -> Decision:
        return d.wean_oral(
            pain=pain,
            pre_implant_pain=pre_implant_pain,
            oral_mme_per_day=oral_mme_per_day,
            home_oral_mme_per_day=home_oral_mme_per_day,
            step_fraction=step_fraction,
            floor_mme_per_day=floor_mme_per_day,
        )

    def pain_uncontrolled(self, *, pain: float, pre_implant_pain: float) -> bool:
        return d.pain_uncontrolled(pain=pain, pre_implant_pain=pre_implant_pain)

    def pain_is_back(self, *, pain: float, best_pain: float, controlled_once: bool) -> bool:
        return d.pain_is_back(pain=pain, best_pain=best_pain, controlled_once=controlled_once)

    def returning_pain(
        self,
        *,
        pain_back: bool,
        withdrawal: float,
        therapy_on: bool,
        saline: bool,
        recent_negative_workup: bool,
        workup_booked: bool,
    ) -> Decision:
        return d.react_to_returning_pain(
            pain_back=pain_back,
            withdrawal=withdrawal,
            therapy_on=therapy_on,
            saline=saline,
            recent_negative_workup=recent_negative_workup,
            workup_booked=workup_booked,
        )

    def escalation(
        self,
        *,
        uncontrolled: bool,
        dose_mg_per_day: float,
        window_start_dose_mg_per_day: float,
        recent_negative_workup: bool,
        workup_booked: bool,
        since_implant_s: float,
    ) -> Decision:
        return d.escalation_without_response(
            uncontrolled=uncontrolled,
            dose_mg_per_day=dose_mg_per_day,
            window_start_dose_mg_per_day=window_start_dose_mg_per_day,
            recent_negative_workup=recent_negative_workup,
            workup_booked=workup_booked,
            since_implant_s=since_implant_s,
        )

    def refill_discrepancy(self, *, flagged: bool, flag_reasons: Sequence[str], saline: bool) -> Decision:
        return d.react_to_refill_discrepancy(flagged=flagged, flag_reasons=flag_reasons, saline=saline)

    def lack_of_effect(self, *, uncontrolled_since_s: float | None, now_s: float, policy_ceiling: bool) -> Decision:
        return d.lack_of_effect(
            uncontrolled_since_s=uncontrolled_since_s,
            now_s=now_s,
            at_ceiling=True,
            delivery_problem_ruled_out=True,
            policy_ceiling=policy_ceiling,
        )

    def battery_eri(self, *, already_booked: bool) -> Decision:
        return d.react_to_eri(already_booked=already_booked)

    def failure_ladder(
        self,
        *,
        uncontrolled_since_s: float | None,
        now_s: float,
        since_implant_s: float,
        delivery_ruled_out: bool,
        ceiling_lifted: bool,
        drug_change: Decision | None,
        saline_trial_done: bool,
        saline_showed_effect: bool | None,
        limited_survival: bool = False,
    ) -> Decision:
        return f.lack_of_effect_ladder(
            uncontrolled_since_s=uncontrolled_since_s,
            now_s=now_s,
            since_implant_s=since_implant_s,
            delivery_ruled_out=delivery_ruled_out,
            policy_ceiling_active=self.has_ceiling and not ceiling_lifted,
            lift_ceiling_allowed=self.lift_ceiling_on_failure,
            drug_change=drug_change,
            saline_trial_done=saline_trial_done,
            saline_showed_effect=saline_showed_effect,
            limited_survival=limited_survival,
        )

    def saline_verdict(self, *, pain_on_drug: float, pain_on_saline: float) -> Decision:
        return f.saline_verdict(pain_on_drug=pain_on_drug, pain_on_saline=pain_on_saline)


POLICIES: dict[str, ClinicianPolicy] = {
    "conventional": Practice(
        name="conventional",
        description="oral opioids kept until pain is controlled, then weaned; dose titrated to response",
        wean_before_trial=False,
        target_drive=U(3.0, "calibrated: the reference titration that reproduces Roberts 2001 doses"),
        ceiling=None,
        published_dose_6_months=S(9.95, "Roberts 2001: IT morphine 9.95 mg/day at 6 months"),
        published_dose_36_months=S(15.26, "Roberts 2001: 15.26 mg/day at 36 months"),
    ),
    "low_dose": Practice(
        name="low_dose",
        description="systemic opioids weaned before the trial; low intrathecal target and ceiling",
        wean_before_trial=True,
        target_drive=U(3.0, "as conventional: titrated to response, but under a low ceiling and without oral opioids"),
        ceiling=U(3.0, "assumption: Hamza 2012 kept a mean 1.4-1.48 mg/day; a ceiling at twice that mean"),
        published_dose_6_months=S(1.4, "Hamza 2012 (Pain Med 13:1304): 1.4 mg/day morphine equivalents at 6 months"),
        published_dose_36_months=S(1.48, "Hamza 2012: 1.48 mg/day at 36 months, oral opioids stopped"),
        # Hamza 2012's doses stayed low (1.4 -> 1.48 mg/day): the ceiling is kept; lack of effect goes
        # down the ladder (saline trial, explant) instead of titrating beyond it
        lift_ceiling_on_failure=False,
    ),
}


def get_policy(name: str) -> ClinicianPolicy:
    if name not in POLICIES:
        raise InputError("policy", f"'{name}' is not one of {', '.join(POLICIES)}")
    return POLICIES[name]
