"""Drugs other than morphine, and the clinician's change of drug or added adjunct (PACC).

Pure decisions returning a :class:`~itdd.care.clinician.decisions.Decision` and its reason, in
the style of :mod:`.decisions`, plus :class:`DrugAwarePolicy`, which wraps any
:class:`~itdd.care.clinician.ClinicianPolicy` so that its titration works for every drug:

* morphine: the wrapped policy, untouched (morphine runs are unchanged bit for bit);
* another opioid (hydromorphone, fentanyl, sufentanil): the wrapped policy's titration in
  intrathecal-morphine equivalents (the drug's limits scaled by its potency), converted back;
* ziconotide: its own slow schedule (:func:`ziconotide_step`), with psychiatric and cognitive
  side effects making the clinician reduce the dose.

The drug-change decisions (:func:`drug_change`, :func:`adjunct_step`) follow the PACC algorithm
(Deer 2012, Neuromodulation 15:436; Deer 2017, Neuromodulation 20:96): an opioid at its dose
limit without relief gets bupivacaine added (then clonidine), or is switched; intolerable opioid
side effects switch to another opioid (morphine -> hydromorphone -> fentanyl) or to ziconotide;
ziconotide's psychiatric side effects at its lowest dose end it (switch to morphine).  The
pathway acts on them at a refill (care/steps/drug_steps.py).  Every constant names its source or
says "assumption"; docs/care.md "Drugs" lists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from ...drugs import Bounds, Cited, Drug, get_drug
from ...patient.parameters import DRUGS, S2, S, U
from ...patient.sim import Vitals
from ...timeunits import SECONDS_PER_DAY
from .decisions import Decision

__all__ = [
    "ADJUNCT_START_MG_PER_DAY",
    "DrugAwarePolicy",
    "SideEffects",
    "adjunct_effects",
    "adjunct_step",
    "change_possible",
    "convert_dose",
    "drug_change",
    "equianalgesic_ratio",
    "morphine_equivalent",
    "with_drugs",
    "ziconotide_step",
]

MCG = 1e-3  # mg

# ---- ziconotide titration ---------------------------------------------------------------------------

#: Prialt label [S]: start <= 2.4 mcg/day, increase by <= 2.4 mcg/day at most 2-3 times a week
#: (>= 56 h apart, drugs/library.yaml), maximum 19.2 mcg/day by day 21.
ZICONOTIDE_LABEL_STEP_MG_PER_DAY = S(2.4 * MCG, "Prialt label: increases of up to 2.4 mcg/day")
ZICONOTIDE_MAX_MG_PER_DAY = S(19.2 * MCG, "Prialt label: maximum 19.2 mcg/day")
#: PACC 2017's slower schedule [S2: PACC via prialt.com and clinical-facts.md]: start 0.5-1.2
#: mcg/day, increase by 0.5-1.2 mcg/day no more than weekly.  The clinician here uses the
#: upper end, 1.2 mcg/day a step, at the weekly titration visits.
ZICONOTIDE_PACC_STEP_MG_PER_DAY = S2(1.2 * MCG, "PACC 2017: ziconotide increases of 0.5-1.2 mcg/day, weekly")
ZICONOTIDE_LOWEST_MG_PER_DAY = S(0.5 * MCG, "PACC: ziconotide starting dose 0.5-1.2 mcg/day (lowest)")
#: Confusion (0-10, patient/sim.py Observation.confusion) at which the clinician halves the dose
#: (Prialt label [S]: severe psychiatric symptoms or cognitive impairment -> reduce or stop;
#: the number is an assumption [U]).
ZICONOTIDE_CONFUSION_REDUCE = U(3.0, "assumption: confusion noticeable at the bedside (label: reduce or stop)")
ZICONOTIDE_REDUCE_FRACTION = U(0.5, "assumption: the label allows any decrease, including stopping")

# ---- equianalgesic conversion -----------------------------------------------------------------------

#: Switching opioids: the converted dose is reduced for incomplete cross-tolerance (PACC 2012
#: [S2]: reduce by 20-50% when rotating; the low end taken).
SWITCH_REDUCTION = S2(0.25, "PACC 2012: reduce the equianalgesic dose 20-50% when switching opioid")


def morphine_equivalent(drug: str) -> float:
    """Intrathecal morphine mg per mg of ``drug`` (patient/parameters.py ``it_potency``:
    hydromorphone 5 [S2, PACC 5:1], fentanyl 10 [U], sufentanil 40 [U], ziconotide 200 [U])."""
    pk = DRUGS.get(drug)
    return pk.it_potency.value if pk is not None else 1.0


def equianalgesic_ratio(from_drug: str, to_drug: str) -> float:
    """mg of ``to_drug`` per mg of ``from_drug`` at equal analgesia (before any reduction)."""
    return morphine_equivalent(from_drug) / morphine_equivalent(to_drug)


def convert_dose(from_drug: str, to_drug: str, dose_mg_per_day: float, *, reduce: bool = True) -> float:
    """The equianalgesic dose of ``to_drug``, reduced by 25% between opioids (PACC); a switch to
    or from ziconotide starts the new drug at its lowest starting dose instead (no equivalence:
    different mechanism; Prialt label: start low)."""
    to = get_drug(to_drug)
    if "ziconotide" in (from_drug, to_drug):
        lo = to.starting_dose[0].value if to.starting_dose else dose_mg_per_day
        return lo
    dose = dose_mg_per_day * equianalgesic_ratio(from_drug, to_drug)
    return dose * (1.0 - SWITCH_REDUCTION.value) if reduce else dose


def scaled_drug(drug: Drug, factor: float) -> Drug:
    """``drug`` with every mg-based bound multiplied by ``factor`` (mg of morphine per mg): the
    titration rules of another opioid written in morphine equivalents."""

    def c(x: Cited | None) -> Cited | None:
        return None if x is None else replace(x, value=x.value * factor)

    def b(x: Bounds | None) -> Bounds | None:
        return None if x is None else Bounds(c(x.hard_min), c(x.soft_min), c(x.soft_max), c(x.hard_max))

    sd = drug.starting_dose
    return replace(
        drug,
        dose_unit="mg",
        concentration=b(drug.concentration) or drug.concentration,
        starting_dose=None if sd is None else (c(sd[0]) or sd[0], c(sd[1]) or sd[1]),
        daily_dose=b(drug.daily_dose) or drug.daily_dose,
        bolus_dose=b(drug.bolus_dose),
        max_increase_amount=b(drug.max_increase_amount),
    )


# ---- ziconotide's own schedule ---------------------------------------------------------------------


def ziconotide_step(
    o: Vitals,
    *,
    dose_mg_per_day: float,
    ed50_mg_per_day: float,
    target_drive: float,
    ceiling_mg_per_day: float,
    since_last_change_s: float,
    drug: Drug,
    min_rate_ml_per_day: float,
    max_rate_ml_per_day: float,
    conc_mg_per_ml: float,
    step_mg_per_day: float = ZICONOTIDE_PACC_STEP_MG_PER_DAY.value,
) -> Decision:
    """One ziconotide titration step: ``change`` or ``keep``.

    Psychiatric or cognitive side effects (confusion >= 3/10, read from ``o.confusion`` when ``o``
    is a full :class:`~itdd.patient.sim.Observation`) or sedation >= 2 halve the dose (label:
    reduce or stop).  Otherwise, pain not at the target drive: up by ``step_mg_per_day`` (PACC
    1.2 mcg/day; the label allows 2.4), at most once per the library's minimum interval (56 h,
    label), never above ``ceiling_mg_per_day`` (19.2 mcg/day).  No respiratory depression or
    withdrawal is looked for: ziconotide causes neither (label)."""
    dose = dose_mg_per_day
    confusion = float(getattr(o, "confusion", 0.0))
    if confusion >= ZICONOTIDE_CONFUSION_REDUCE.value or o.sedation >= 2.0:
        new = max(dose * (1 - ZICONOTIDE_REDUCE_FRACTION.value), ZICONOTIDE_LOWEST_MG_PER_DAY.value)
        new = max(new, min_rate_ml_per_day * conc_mg_per_ml * 1.0001)
        if new < dose - 1e-12:
            return Decision(
                "change", f"ziconotide side effects (confusion {confusion:.1f}, sedation {o.sedation:.1f})", new
            )
        return Decision("keep", "ziconotide side effects at the lowest dose", dose)
    want = target_drive * ed50_mg_per_day * o.opioid_tolerance
    if o.analgesic_drive_mg_per_day >= 0.95 * want:
        return Decision("keep", f"pain {o.pain:.1f}/10: at the target", dose)
    mi = drug.min_interval
    interval = mi.soft_min.value if mi is not None and mi.soft_min is not None else 0.0
    if since_last_change_s < interval - 1.0:
        return Decision("keep", f"pain {o.pain:.1f}/10: the last increase was too recent", dose)
    new = min(dose + step_mg_per_day, ceiling_mg_per_day, max_rate_ml_per_day * conc_mg_per_ml)
    new = math.floor(new / MCG * 100 + 1e-6) / 100 * MCG  # written to 0.01 mcg/day
    if new <= dose + 1e-12:
        return Decision("keep", f"pain {o.pain:.1f}/10: at the ziconotide maximum", dose)
    return Decision(
        "change", f"pain {o.pain:.1f}/10: ziconotide slow titration (+{step_mg_per_day / MCG:g} mcg/day)", new
    )


# ---- the policy wrapper ----------------------------------------------------------------------------


#: the questions :class:`DrugAwarePolicy` hands to the wrapped policy unchanged: bound once, at
#: construction, as attributes of the wrapper (a visit asks several; ``__getattr__`` is the fallback)
DELEGATED = (
    "trial_verdict",
    "starting_dose",
    "wean",
    "pain_uncontrolled",
    "pain_is_back",
    "returning_pain",
    "escalation",
    "refill_discrepancy",
    "lack_of_effect",
    "battery_eri",
    "failure_ladder",
    "saline_verdict",
)


@cache
def primary_of(name: str) -> str:
    """The primary drug of a drug or mixture name (``Drug.primary``, parsed once per name)."""
    return name.split("+", 1)[0]


class DrugAwarePolicy:
    """Any :class:`~itdd.care.clinician.ClinicianPolicy` made to titrate every drug (see the module
    docstring); every other question goes to the wrapped policy unchanged."""

    def __init__(self, inner: Any, ziconotide_step_mg_per_day: float = ZICONOTIDE_PACC_STEP_MG_PER_DAY.value) -> None:
        self.inner = inner
        self.ziconotide_step_mg_per_day = ziconotide_step_mg_per_day
        self._scaled: tuple[Drug, float, Drug] | None = None  # the last drug scaled to morphine equivalents
        for name in DELEGATED:  # the wrapped policy's own methods, without a lookup per question
            method = getattr(inner, name, None)
            if method is not None:
                setattr(self, name, method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ceiling_mg_per_day(self, *, drug: Drug, it_potency: float, lifted: bool) -> float:
        c = float(self.inner.ceiling_mg_per_day(drug=drug, it_potency=it_potency, lifted=lifted))
        if primary_of(drug.name) == "ziconotide":
            return min(c, ZICONOTIDE_MAX_MG_PER_DAY.value)
        return c

    def titration_step(self, o: Vitals, **kw: Any) -> Decision:
        drug: Drug = kw["drug"]
        name = primary_of(drug.name)
        if name == "morphine":
            return self.inner.titration_step(o, **kw)
        if name == "ziconotide":
            return ziconotide_step(
                o,
                dose_mg_per_day=kw["dose_mg_per_day"],
                ed50_mg_per_day=kw["ed50_mg_per_day"],
                target_drive=float(getattr(getattr(self.inner, "target_drive", None), "value", 3.0)),
                ceiling_mg_per_day=kw["ceiling_mg_per_day"],
                since_last_change_s=kw["since_last_change_s"],
                drug=drug,
                min_rate_ml_per_day=kw["min_rate_ml_per_day"],
                max_rate_ml_per_day=kw["max_rate_ml_per_day"],
                conc_mg_per_ml=kw["conc_mg_per_ml"],
                step_mg_per_day=self.ziconotide_step_mg_per_day,
            )
        p = morphine_equivalent(name)
        me = dict(kw)
        last = self._scaled
        if last is None or last[0] is not drug or last[1] != p:
            last = self._scaled = (drug, p, scaled_drug(drug, p))  # the same drug visit after visit: built once
        me["drug"] = last[2]
        for k in ("dose_mg_per_day", "ceiling_mg_per_day", "conc_mg_per_ml"):
            me[k] = kw[k] * p
        d = self.inner.titration_step(o, **me)
        if d.dose_mg_per_day is None:
            return d
        return Decision(d.action, d.reason, d.dose_mg_per_day / p, d.oral_mme_per_day, d.delay_s, d.trigger)


def with_drugs(
    policy: Any, drug: str, *, mixture: bool = False, changes: bool = False, ziconotide_schedule: str = "pacc"
) -> Any:
    """The policy the pathway uses: ``policy`` itself for a morphine-only pathway (unchanged bit for
    bit), else wrapped in :class:`DrugAwarePolicy` (ziconotide steps: ``pacc`` 1.2 mcg/day,
    ``label`` 2.4 mcg/day)."""
    if drug == "morphine" and not mixture and not changes:
        return policy
    step = ZICONOTIDE_LABEL_STEP_MG_PER_DAY if ziconotide_schedule == "label" else ZICONOTIDE_PACC_STEP_MG_PER_DAY
    return DrugAwarePolicy(policy, step.value)


# ---- adjunct effects -------------------------------------------------------------------------------

#: Default starting doses of an added drug (care/plan.py ADJUNCT_START; PACC 2017 [U, verify]).
ADJUNCT_START_MG_PER_DAY = {"bupivacaine": 2.0, "clonidine": 50 * MCG}
#: Bupivacaine: sensory/motor block and urinary retention become likely at higher doses (PACC
#: 2017 [U]: keep bupivacaine <= 15-20 mg/day; Deer 2002: motor and sensory deficits, urinary
#: retention at the higher doses).  Half-maximal block at 25 mg/day, Hill 3 (assumption [U]): so
#: 10 mg/day scores 0.6/10, 15 mg/day 1.8, 20 mg/day 3.4.
BUPIVACAINE_BLOCK_HALF_MG_PER_DAY = U(25.0, "assumption: half-maximal sensory/motor block at 25 mg/day")
ADJUNCT_EFFECT_LIMIT = U(3.0, "assumption: a block or retention score the clinician acts on")
#: Clonidine: hypotension (systolic < 90 mmHg), bradycardia (< 50/min) or sedation >= 2 make the
#: clinician lower it [S2: clonidine label (Duraclon): hypotension, bradycardia, sedation].
HYPOTENSION_SBP_MMHG = S2(90.0, "hypotension: systolic blood pressure below 90 mmHg")
BRADYCARDIA_HR_PER_MIN = S2(50.0, "bradycardia: heart rate below 50/min")
ADJUNCT_STEP = U(0.3, "assumption: an added drug changed by 30% a step, as opioid titration (PACC 2007)")


@dataclass(frozen=True)
class SideEffects:
    """What the clinician sees that matters for a change of drug (bedside, 0-10 unless stated)."""

    sedation: float = 0.0  # 0-3
    pruritus: float = 0.0
    nausea: float = 0.0
    confusion: float = 0.0
    respiratory_depression: bool = False
    systolic_bp_mmhg: float = 120.0
    heart_rate_per_min: float = 70.0
    sensory_motor_block: float = 0.0  # bupivacaine (adjunct_effects)
    urinary_retention: float = 0.0  # bupivacaine (adjunct_effects)

    @property
    def opioid_intolerable(self) -> bool:
        """Sedation >= 2, pruritus >= 7, nausea >= 7 or respiratory depression (decisions.py limits)."""
        return self.sedation >= 2.0 or self.pruritus >= 7.0 or self.nausea >= 7.0 or self.respiratory_depression


def adjunct_effects(bupivacaine_mg_per_day: float) -> tuple[float, float]:
    """(sensory/motor block, urinary retention) scores 0-10 from the daily bupivacaine dose."""
    x = max(bupivacaine_mg_per_day, 0.0) / BUPIVACAINE_BLOCK_HALF_MG_PER_DAY.value
    block = 10.0 * x**3 / (1.0 + x**3)
    return block, block  # assumption: retention follows the same dose-response as the block


# ---- the decisions ---------------------------------------------------------------------------------

#: PACC's order of opioids when one fails or is not tolerated (PACC 2012/2017 [S2]: morphine or
#: ziconotide first line; hydromorphone; fentanyl), then ziconotide.
SWITCH_ORDER = ("morphine", "hydromorphone", "fentanyl", "ziconotide")
#: PACC's order of adjuncts added to an opioid (bupivacaine first, then clonidine [S2]).
ADJUNCT_ORDER = ("bupivacaine", "clonidine")
#: At the dose limit for this long before the clinician changes the drug (assumption [U]: about
#: one refill cycle, shorter than the six months before an explant for lack of effect).
CHANGE_AFTER_S = U(60 * SECONDS_PER_DAY, "assumption: two months at the limit")


def _next(order: tuple[str, ...], current: str, tried: tuple[str, ...]) -> str | None:
    for d in order[order.index(current) + 1 if current in order else 0 :]:
        if d != current and d not in tried:
            return d
    return None


def drug_change(
    *,
    drug: str,
    dose_mg_per_day: float,
    limit_mg_per_day: float,
    at_limit_since_s: float | None,
    uncontrolled: bool,
    now_s: float,
    effects: SideEffects,
    adjuncts: tuple[str, ...],
    tried: tuple[str, ...],
) -> Decision:
    """The clinician's change of drug at a visit (PACC algorithm).

    Actions:

    * ``switch`` (``trigger`` = the new drug, ``dose_mg_per_day`` its starting dose):
      an opioid with intolerable side effects (sedation >= 2, pruritus >= 7, nausea >= 7 or
      respiratory depression) while pain is uncontrolled -> the next opioid of
      :data:`SWITCH_ORDER` not yet tried; ziconotide with confusion >= 3 at its lowest dose -> morphine;
    * ``add_adjunct`` (``trigger`` = bupivacaine or clonidine, ``dose_mg_per_day`` its start):
      the drug at 95% of ``limit_mg_per_day`` (its soft maximum) for :data:`CHANGE_AFTER_S`
      (``at_limit_since_s``; opioid-sparing, PACC 2017) -> the next adjunct of :data:`ADJUNCT_ORDER`
      not in the mixture; with both in and pain uncontrolled -> ``switch`` to the next opioid not
      yet tried;
    * ``keep``.
    """
    if drug == "ziconotide":
        if (
            effects.confusion >= ZICONOTIDE_CONFUSION_REDUCE.value
            and dose_mg_per_day <= ZICONOTIDE_LOWEST_MG_PER_DAY.value * 1.01
        ):
            new = _next(("morphine", "hydromorphone"), "", (*tried, "ziconotide"))
            if new is not None:
                return Decision(
                    "switch",
                    f"ziconotide psychiatric/cognitive side effects (confusion {effects.confusion:.1f}) at its lowest "
                    f"dose: stop it, start {new}",
                    convert_dose("ziconotide", new, dose_mg_per_day),
                    trigger=new,
                )
        return Decision("keep", "ziconotide continues")
    if effects.opioid_intolerable and uncontrolled:
        new = _next(SWITCH_ORDER, drug, tried)
        if new is not None:
            return Decision(
                "switch",
                f"intolerable {drug} side effects (sedation {effects.sedation:.1f}, pruritus {effects.pruritus:.0f}, "
                f"nausea {effects.nausea:.0f}) with pain uncontrolled: switch to {new} (PACC)",
                convert_dose(drug, new, dose_mg_per_day),
                trigger=new,
            )
    at_limit = dose_mg_per_day >= 0.95 * limit_mg_per_day
    if at_limit and at_limit_since_s is not None and now_s - at_limit_since_s >= CHANGE_AFTER_S.value:
        for a in ADJUNCT_ORDER:
            if a not in adjuncts:
                return Decision(
                    "add_adjunct",
                    f"{drug} at its dose limit for {(now_s - at_limit_since_s) / SECONDS_PER_DAY:.0f} days: "
                    f"add {a} (PACC)",
                    ADJUNCT_START_MG_PER_DAY[a],
                    trigger=a,
                )
        new = _next(SWITCH_ORDER, drug, tried) if uncontrolled else None
        if new is not None:
            return Decision(
                "switch",
                f"{drug} with {' and '.join(adjuncts)} at its limit without relief: switch to {new} (PACC)",
                convert_dose(drug, new, dose_mg_per_day),
                trigger=new,
            )
    return Decision("keep", "no change of drug")


def change_possible(
    *,
    drug: str,
    dose_mg_per_day: float,
    limit_mg_per_day: float,
    at_limit_since_s: float | None,
    uncontrolled: bool,
    now_s: float,
    has_adjuncts: bool,
) -> bool:
    """Whether a visit's change of drug can be anything but ``keep``, from what the pathway has
    without observing the patient: False only when :func:`drug_change` keeps whatever the side
    effects, and no added drug needs its :func:`adjunct_step` (the cheap test the pathway makes
    first; tests/care/test_drug_change_fast.py checks it against the full decision)."""
    if has_adjuncts or uncontrolled or drug == "ziconotide":
        return True
    return (
        dose_mg_per_day >= 0.95 * limit_mg_per_day
        and at_limit_since_s is not None
        and now_s - at_limit_since_s >= CHANGE_AFTER_S.value
    )


def adjunct_step(
    *, adjunct: str, dose_mg_per_day: float, effects: SideEffects, uncontrolled: bool, soft_max_mg_per_day: float
) -> Decision:
    """The added drug's target dose at a visit (it takes effect at the next refill's concentrations):
    ``reduce`` (by 30%) for its side effects (bupivacaine: sensory/motor block or urinary retention
    >= 3; clonidine: systolic < 90 mmHg, heart rate < 50/min or sedation >= 2), ``increase`` (by 30%,
    up to its soft maximum) while ``uncontrolled`` (pain uncontrolled, or the primary drug at its
    limit: opioid-sparing, PACC 2017), else ``keep``."""
    if adjunct == "bupivacaine":
        bad = max(effects.sensory_motor_block, effects.urinary_retention) >= ADJUNCT_EFFECT_LIMIT.value
        what = (
            f"sensory/motor block {effects.sensory_motor_block:.1f}, urinary retention {effects.urinary_retention:.1f}"
        )
    else:
        bad = (
            effects.systolic_bp_mmhg < HYPOTENSION_SBP_MMHG.value
            or effects.heart_rate_per_min < BRADYCARDIA_HR_PER_MIN.value
            or effects.sedation >= 2.0
        )
        what = (
            f"systolic {effects.systolic_bp_mmhg:.0f} mmHg, heart rate {effects.heart_rate_per_min:.0f}/min, "
            f"sedation {effects.sedation:.1f}"
        )
    if bad:
        return Decision("reduce", f"{adjunct} side effects ({what})", dose_mg_per_day * (1 - ADJUNCT_STEP.value))
    if uncontrolled and dose_mg_per_day < soft_max_mg_per_day * 0.999:
        new = min(dose_mg_per_day * (1 + ADJUNCT_STEP.value), soft_max_mg_per_day)
        return Decision("increase", f"pain uncontrolled or the primary drug at its limit: {adjunct} up 30%", new)
    return Decision("keep", f"{adjunct} unchanged", dose_mg_per_day)
