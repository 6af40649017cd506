"""Lack of effect after a successful trial: the clinician's ladder, as pure decisions (issue 10).

A patient whose pain stays uncontrolled for months on therapy (a placebo responder whose relief
faded, patient/placebo.py; tolerance at the ceiling; a drug that does not suit) goes down a ladder,
one rung per decision, each with its reason:

1. ``continue``: not long enough yet (:data:`UNCONTROLLED_MONTHS` of uncontrolled pain, and not
   within the titration phase, :data:`TITRATION_PHASE_MONTHS` after the implant);
2. ``workup``: rule out a delivery problem first (reservoir check, catheter study, imaging);
3. ``lift_ceiling``: a practice with a ceiling of its own that allows it titrates beyond it;
4. **a change of drug or an added adjunct** (PACC algorithm): the ``drugs`` helper's
   ``care/clinician/drug_change.py`` decides it; the pathway passes its decision in as
   ``drug_change`` (``None``: no other drug available), and the ladder returns it unchanged;
5. ``saline_trial``: a blinded switch of the reservoir to saline for :data:`SALINE_TRIAL_DAYS`,
   to tell the drug's effect from placebo; :func:`saline_verdict` reads it;
6. after a saline trial that showed a drug effect: ``continue`` (partial relief accepted: the
   patient keeps the therapy); a saline trial that showed none ends the therapy
   (:func:`saline_verdict`: ``therapy_off`` and an explant for lack of effect).

Sources: PACC 2017 (Deer, Neuromodulation 20:96) for the order (rule out catheter problems, change
drug or add an adjunct, consider therapy removal) [S2]; Raphael 2013 (BMJ Open 3:e003061: blinded
20%/week dose reduction of long-term IT morphine, 7 of 10 withdrew for worse pain, none of 5 on an
unchanged dose) for a blinded test of the drug's effect [S]; Farrar 2001 (Pain 94:149) for 30% as the
clinically important difference [S].  Durations are assumptions [U].
"""

from __future__ import annotations

from ...patient.parameters import S, U
from ...timeunits import SECONDS_PER_DAY, SECONDS_PER_MONTH
from .decisions import Decision

__all__ = [
    "DRUG_EFFECT_MIN",
    "SALINE_TRIAL_DAYS",
    "THERAPY_OFF_TO_EXPLANT_DAYS",
    "TITRATION_PHASE_MONTHS",
    "UNCONTROLLED_MONTHS",
    "lack_of_effect_ladder",
    "saline_verdict",
]

UNCONTROLLED_MONTHS = U(6.0, "assumption: two refill cycles of uncontrolled pain with titration (as decisions.py)")
TITRATION_PHASE_MONTHS = U(6.0, "assumption: the first months after the implant are titration, not failure")
SALINE_TRIAL_DAYS = U(14.0, "assumption: two weeks, well past the washout of the drug from the catheter and CSF")
DRUG_EFFECT_MIN = S(0.30, "Farrar 2001: a 30% pain reduction is clinically important")
THERAPY_OFF_TO_EXPLANT_DAYS = U(30.0, "assumption: the explant is booked about a month after the therapy is stopped")


def lack_of_effect_ladder(
    *,
    uncontrolled_since_s: float | None,
    now_s: float,
    since_implant_s: float,
    delivery_ruled_out: bool,
    policy_ceiling_active: bool,
    lift_ceiling_allowed: bool,
    drug_change: Decision | None,
    saline_trial_done: bool,
    saline_showed_effect: bool | None,
    limited_survival: bool = False,
) -> Decision:
    """The next rung of the ladder (module docstring) for pain that stays uncontrolled.

    ``limited_survival`` (cancer pain, patient/population.py): the goal is comfort for the months
    left, so the ladder stops before the saline trial and the explant (an operation and weeks
    without the drug are not offered): titration and the drug change go on (PACC 2017 [S2]: in
    cancer pain the therapy is kept and adjuncts added)."""
    if uncontrolled_since_s is None:
        return Decision("continue", "pain controlled")
    months = (now_s - uncontrolled_since_s) / SECONDS_PER_MONTH
    if months < UNCONTROLLED_MONTHS.value:
        return Decision("continue", f"pain uncontrolled for {months:.1f} months: titration continues")
    if since_implant_s < TITRATION_PHASE_MONTHS.value * SECONDS_PER_MONTH:
        return Decision("continue", "still in the titration phase after the implant")
    if not delivery_ruled_out:
        return Decision(
            "workup",
            f"pain uncontrolled for {months:.1f} months: rule out a delivery problem",
            trigger="lack of effect",
        )
    if policy_ceiling_active and lift_ceiling_allowed:
        return Decision(
            "lift_ceiling",
            f"pain uncontrolled at the low-dose ceiling for {months:.1f} months: titrate beyond it",
            trigger="lack of effect at the ceiling dose",
        )
    if drug_change is not None and drug_change.action not in ("none", "continue"):
        return drug_change
    if limited_survival:
        return Decision("continue", "limited survival: comfort first, no saline trial or explant; titration goes on")
    if not saline_trial_done:
        return Decision(
            "saline_trial",
            f"pain uncontrolled for {months:.1f} months, no delivery problem: blinded saline trial "
            "to tell the drug's effect from placebo",
            delay_s=SALINE_TRIAL_DAYS.value * SECONDS_PER_DAY,
            trigger="lack of effect",
        )
    if saline_showed_effect:
        return Decision("continue", "the saline trial showed a drug effect: partial relief accepted, therapy kept")
    return Decision(
        "explant",
        "lack of effect: no drug effect at the saline trial",
        delay_s=THERAPY_OFF_TO_EXPLANT_DAYS.value * SECONDS_PER_DAY,
        trigger="lack of effect",
    )


def saline_verdict(*, pain_on_drug: float, pain_on_saline: float) -> Decision:
    """After the blinded saline trial: ``drug_effect`` (the drug is restored) when pain on saline is
    at least :data:`DRUG_EFFECT_MIN` (30%) worse than on the drug, i.e. the drug removes >= 30% of
    it; else ``therapy_off`` (the therapy is stopped and an explant for lack of effect booked after
    ``delay_s``)."""
    effect = 1.0 - pain_on_drug / pain_on_saline if pain_on_saline > 0 else 0.0
    if effect >= DRUG_EFFECT_MIN.value:
        return Decision(
            "drug_effect",
            f"pain {pain_on_drug:.1f} on the drug, {pain_on_saline:.1f} on saline: the drug removes {effect:.0%}; "
            "drug restored",
        )
    return Decision(
        "therapy_off",
        f"pain {pain_on_drug:.1f} on the drug, {pain_on_saline:.1f} on saline: "
        f"the drug removes {max(effect, 0.0):.0%}, under the {DRUG_EFFECT_MIN.value:.0%} that matters; "
        "therapy stopped, explant for lack of effect",
        delay_s=THERAPY_OFF_TO_EXPLANT_DAYS.value * SECONDS_PER_DAY,
        trigger="lack of effect",
    )
