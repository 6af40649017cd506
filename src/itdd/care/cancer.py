"""Cancer pain (issue 10): what differs from chronic non-cancer pain in the pathway, as data.

A patient of the ``cancer`` population (patient/population.py) has a limited survival
(patient/mortality.py) and, in the pathway:

* **complications of their own** (:data:`IMPLANT_OVERRIDES`, :data:`BLEEDING_AT_IMPLANT`,
  :data:`EVENTS`): a CSF leak and a wound infection at the implant as often as cancer cohorts
  report them, bleeding at the implant (thrombocytopenia, anticoagulation), and new pain from the
  disease itself (progression; an epidural metastasis with neurological signs and an urgent MRI)
  that is *not* a pump fault.  The cancer-only random draws come from a stream of their own
  (:func:`cancer_rng`), so no draw of a non-cancer patient changes;
* **visits as often as cancer titration needs** (:class:`~itdd.care.plan.CancerPlan`, the plan's
  ``cancer`` block): every three days in the first two weeks, then weekly to a month, then
  every two weeks (instead of 12 weekly visits then monthly);
* **comfort goals and a ceiling at the drug's hard limit** (:func:`for_cancer`): a policy ceiling
  of its own (the low-dose practice's) does not apply, nor does weaning before the trial; titration
  steps up to the library's hard step (care/clinician/decisions.py) and the lack-of-effect ladder
  stops before a saline trial or an explant (care/clinician/failure.py);
* **outcomes as Smith 2002 measured them** (:func:`toxicity_score`, :func:`clinical_success`):
  pain and drug toxicity at enrolment and 4 weeks after the implant; care/cancer_metrics.py adds
  the cohort figures beside the published ones.

Every number is a :class:`~itdd.patient.parameters.Sourced` with its tag ([S] seen, [S2]
secondary, [U] assumption); docs/cohort.md "Cancer population" repeats them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..patient.mortality import CANCER_PER_YEAR, SMITH_6_MONTH_SURVIVAL
from ..patient.outcomes_pro import IT_TO_SYSTEMIC_MME
from ..patient.parameters import S2, S, Sourced, U
from ..timeunits import SECONDS_PER_YEAR
from .clinician.policies import Practice

__all__ = [
    "BLEEDING_AT_IMPLANT",
    "EVENTS",
    "IMPLANT_OVERRIDES",
    "CancerEvent",
    "cancer_rng",
    "clinical_success",
    "for_cancer",
    "implant_complications",
    "systemic_burden",
    "toxicity_score",
]

# ---- complications at the implant ----------------------------------------------------------------

CSF_LEAK_CANCER = S(
    0.033,
    "Hunan Cancer Hospital 2024 (Pain Ther 13:637): postoperative CSF leak in 7 of 231 advanced-cancer "
    "IDDS implants (3.3%)",
)
WOUND_INFECTION_CANCER = S(
    0.027,
    "Engle 2013 (Pain Physician 16:251): infection 2.7% in cancer patients after IDD/SCS implants "
    "(3.3% in non-cancer patients, P = 1); Sindt 2020 (Anesth Analg): 0.9% at 6 months in 217 cancer "
    "IDDS implants despite leukopenia in 26%",
)
#: Overrides of the pathway's implant complication probabilities (care/steps/rules.py) for cancer
#: pain: (probability, source) by kind.  The draws stay the pathway's (one uniform per kind, in
#: the same order), so only the thresholds differ.
IMPLANT_OVERRIDES: dict[str, Sourced] = {"csf_leak": CSF_LEAK_CANCER, "wound_infection": WOUND_INFECTION_CANCER}
BLEEDING_AT_IMPLANT = U(
    0.01,
    "assumption: pocket or epidural haematoma with thrombocytopenia or anticoagulation, a risk the "
    "cancer guidelines name (Deer 2011, Pain Physician 14:E283) without a rate",
)
#: Follow-up infection (deep infection, meningitis) is *not* raised for cancer pain: the cancer
#: series found no excess (Engle 2013: 2.7% vs 3.3%; Sindt 2020: 0.9% despite antineoplastic
#: therapy in 79%), so the hazard model's 0.7%/year stands [S].
FOLLOW_UP_INFECTION_FACTOR = S(1.0, "Engle 2013 and Sindt 2020: no excess infection in cancer patients")


def implant_complications(
    base: Mapping[str, tuple[float, str, bool]], cancer: bool
) -> Mapping[str, tuple[float, str, bool]]:
    """The pathway's implant complications (``kind -> (probability, source, reoperation)``), with
    the cancer probabilities when ``cancer`` (same kinds, same order: the draws do not move)."""
    if not cancer:
        return base
    out = dict(base)
    for kind, p in IMPLANT_OVERRIDES.items():
        if kind in out:
            _, _, reop = out[kind]
            out[kind] = (p.value, f"[{p.confidence}] cancer pain: {p.source}", reop)
    return out


# ---- the disease: new pain that is not a pump fault ------------------------------------------------


@dataclass
class CancerMeasures:
    """What a cancer patient's pathway measures for its outcome (Smith 2002's pain and toxicity at
    enrolment and 4 weeks after the implant, and the new pains from the disease); the
    :class:`~itdd.care.outcome.PatientOutcome` fields of the same names, whose defaults these are
    (so a patient without cancer pain gets the outcome it always had)."""

    pain_enrolment: float | None = None
    toxicity_enrolment: float | None = None
    pain_4_weeks: float | None = None
    toxicity_4_weeks: float | None = None
    cancer_events: int = 0


@dataclass(frozen=True)
class CancerEvent:
    """New pain from the cancer itself, at a constant rate per year while followed."""

    kind: str
    rate_per_year: Sourced
    pain_step: Sourced  # added to the patient's baseline pain (NRS, capped at 10)
    ed50_factor: Sourced  # multiplies the patient's opioid requirement (ED50)
    mri: bool  # neurological signs: an urgent MRI (the pump's motor stalls in the field)
    label: str
    details: str


PROGRESSION_PER_YEAR = U(
    CANCER_PER_YEAR,
    f"assumption: one new pain from disease progression per expected survival time "
    f"(the cancer death hazard {CANCER_PER_YEAR:.2f}/year, from {SMITH_6_MONTH_SURVIVAL.source})",
)
EPIDURAL_METASTASIS_PER_YEAR = U(
    0.05,
    "assumption: metastatic epidural compression in about 5% a year of refractory cancer pain "
    "(S2: Loblaw 2003, 2.5% of all cancer patients in their last 5 years of life; more with spinal "
    "bone metastases, common in IDDS cohorts)",
)
REQUIREMENT_FACTOR = U(
    1.25,
    "assumption: each new pain raises the opioid requirement by a quarter (cancer doses escalate with the "
    "disease; no published rate of escalation per progression found)",
)
EVENTS: tuple[CancerEvent, ...] = (
    CancerEvent(
        kind="disease_progression",
        rate_per_year=PROGRESSION_PER_YEAR,
        pain_step=U(1.0, "assumption: a new site or growth adds one NRS point to the pain without treatment"),
        ed50_factor=REQUIREMENT_FACTOR,
        mri=False,
        label="Cancer progression: new pain",
        details="new pain from the disease, not a pump fault",
    ),
    CancerEvent(
        kind="epidural_metastasis",
        rate_per_year=EPIDURAL_METASTASIS_PER_YEAR,
        pain_step=U(2.0, "assumption: radicular pain of a compression, two NRS points"),
        ed50_factor=REQUIREMENT_FACTOR,
        mri=True,
        label="Epidural metastasis: new radicular pain and neurological signs",
        details="urgent MRI, radiotherapy; not a pump fault",
    ),
)


def cancer_rng(seed: int) -> np.random.Generator:
    """The cancer-only stream of pathway ``seed`` (independent of the pathway's five streams)."""
    return np.random.default_rng(np.random.SeedSequence(entropy=abs(int(seed)), spawn_key=(0xCA7E, 0xCA9C)))


def event_times(rng: np.random.Generator, start_s: float, end_s: float) -> list[tuple[float, CancerEvent]]:
    """Times of the cancer events between ``start_s`` and ``end_s`` (seconds): competing Poisson
    processes with the constant rates of :data:`EVENTS`, drawn from ``rng`` (one exponential per
    event and one uniform to choose its kind)."""
    total = sum(e.rate_per_year.value for e in EVENTS)
    out: list[tuple[float, CancerEvent]] = []
    if total <= 0:
        return out
    t = start_s
    while True:
        t += float(rng.exponential(SECONDS_PER_YEAR / total))
        u = float(rng.random()) * total
        if t > end_s:
            return out
        acc = 0.0
        for e in EVENTS:
            acc += e.rate_per_year.value
            if u < acc:
                out.append((t, e))
                break
        else:
            out.append((t, EVENTS[-1]))


# ---- goals: the clinician ------------------------------------------------------------------------

CEILING_NOTE = S2(
    0.0,
    "PACC 2007/2012: in cancer pain with a limited life expectancy dose limits give way to comfort; "
    "titration steps up to 50% (the drug library's hard step); the drug library's hard limit still holds",
)


def for_cancer(policy: Any, cancer: bool) -> Any:
    """The clinician for a patient with cancer pain: the practice without a ceiling of its own and
    without weaning before the trial (refractory cancer pain is on >= 200 mg/day of oral morphine:
    Smith 2002).  Other patients, and policies that are not a
    :class:`~itdd.care.clinician.policies.Practice`, are returned unchanged (the same object)."""
    if not cancer or not isinstance(policy, Practice):
        return policy
    if policy.ceiling is None and not policy.wean_before_trial:
        return policy
    return dataclasses.replace(policy, ceiling=None, wean_before_trial=False)


# ---- outcomes: Smith 2002 ------------------------------------------------------------------------

SMITH_SUCCESS = S(
    0.845, "Smith 2002 (J Clin Oncol 20:4040): clinical success in 60 of 71 IDDS patients (84.5%) at 4 weeks"
)
SMITH_BOTH = S(0.577, "Smith 2002: >= 20% reduction in both pain and toxicity in 41 of 71 (57.7%) at 4 weeks")
SMITH_PAIN_REDUCTION = S(0.52, "Smith 2002: mean VAS 7.57 -> 3.67 with IDDS (52% reduction) at 4 weeks")
SMITH_TOXICITY_REDUCTION = S(0.50, "Smith 2002: mean toxicity score 7.22 -> 3.59 with IDDS (50% reduction)")
SUCCESS_REDUCTION = S(0.20, "Smith 2002: clinical success = >= 20% less pain, or equal pain with >= 20% less toxicity")
TOXICITY_SCALE = U(
    1.0,
    "assumption: the sum of the model's opioid toxicities on 0-10 scales (sedation x 10/3, nausea, "
    "pruritus, confusion) and of the systemic opioids' burden (constipation, fatigue: "
    ":func:`systemic_burden`) stands for Smith's NCI Common Toxicity Criteria sum (fatigue, depressed "
    "consciousness, confusion, nausea, constipation...)",
)

# ---- the systemic opioids' burden the patient model leaves out -----------------------------------
# Smith 2002 found IDDS lowered toxicity mainly through fatigue and depressed consciousness (P < .05):
# the implant let the systemic opioids be cut.  The patient model's sedation is small in tolerant
# patients and it has no constipation or fatigue severity, so the toxicity measure adds both as a
# function of the systemic dose (oral MME, plus intrathecal morphine reaching the circulation for
# the gut: outcomes_pro.IT_TO_SYSTEMIC_MME, 1 mg = 3 oral MME [U]).

CONSTIPATION_MAX = S2(
    3.6,
    "Droney 2008 (Support Care Cancer 16:453): 72% of 274 cancer patients on oral morphine constipated "
    "(grade >= 1 of 0-3) despite laxatives; 0.72 x an assumed mean grade 1.5 of 3 [U] on a 0-10 scale = 3.6",
)
CONSTIPATION_HALF_MME = U(
    30.0,
    "assumption: constipation saturates at low systemic doses (Bennett 2003, Palliat Med 17:418: bowel "
    "scores worse on opioids than without, but no relationship with the opioid dose among those on them; "
    "Droney 2008: no dose effect found either); half the maximum at 30 MME/day",
)
FATIGUE_MAX = U(
    5.0,
    "assumption: opioid fatigue and depressed consciousness in tolerant patients, the toxicities Smith 2002 "
    "found reduced with IDDS (P < .05); no dose-response found: 2.5 of 10 (NCI CTC grade 1 of 4, "
    "'mild fatigue over baseline') at 250 MME/day, half of this maximum",
)
FATIGUE_HALF_MME = U(
    250.0,
    "assumption: half the maximum at Smith 2002's typical home dose (>= 200 mg/day oral morphine); "
    "a central effect of systemic opioids, so intrathecal morphine is not counted (its own central effect "
    "is the model's sedation)",
)


def systemic_burden(*, oral_mme_per_day: float, it_mg_per_day: float = 0.0) -> tuple[float, float]:
    """Constipation and fatigue (0-10 each) from the systemic opioids: constipation from the gut's
    exposure (oral MME + 3 x intrathecal morphine mg/day), fatigue from the oral dose; each
    ``max x dose / (dose + half)``."""
    gut = max(oral_mme_per_day, 0.0) + IT_TO_SYSTEMIC_MME.value * max(it_mg_per_day, 0.0)
    oral = max(oral_mme_per_day, 0.0)
    constipation = CONSTIPATION_MAX.value * gut / (gut + CONSTIPATION_HALF_MME.value) if gut > 0 else 0.0
    fatigue = FATIGUE_MAX.value * oral / (oral + FATIGUE_HALF_MME.value) if oral > 0 else 0.0
    return constipation, fatigue


def toxicity_score(
    *,
    sedation: float,
    nausea: float,
    pruritus: float,
    confusion: float,
    constipation: float = 0.0,
    fatigue: float = 0.0,
) -> float:
    """Drug toxicity, 0-60: sedation (0-3, scaled to 0-10) + nausea + pruritus + confusion +
    constipation + fatigue (0-10 each; the last two from :func:`systemic_burden`)."""
    return sedation * 10.0 / 3.0 + nausea + pruritus + confusion + constipation + fatigue


def cancer_reported(o: Any) -> dict[str, Any]:
    """The result's outcome keys for a patient with cancer pain (``o``: a
    :class:`~itdd.care.outcome.PatientOutcome`); empty for other patients, whose result is unchanged.
    A return to work is not a goal at the end of life: its key is None."""
    if o.pain_enrolment is None:
        return {}
    p0, p4, t0, t4 = o.pain_enrolment, o.pain_4_weeks, o.toxicity_enrolment, o.toxicity_4_weeks
    measured = p4 is not None and t0 is not None and t4 is not None
    return {
        "pain_enrolment": p0,
        "pain_4_weeks": p4,
        "toxicity_enrolment": t0,
        "toxicity_4_weeks": t4,
        "clinical_success_4_weeks": (
            clinical_success(pain_before=p0, pain_after=p4, toxicity_before=t0, toxicity_after=t4) if measured else None
        ),
        "cancer_new_pains": o.cancer_events,
        "returned_to_work_12_months": None,
    }


def clinical_success(*, pain_before: float, pain_after: float, toxicity_before: float, toxicity_after: float) -> bool:
    """Smith 2002: pain >= 20% lower, or pain not higher with toxicity >= 20% lower."""
    r = SUCCESS_REDUCTION.value
    if pain_after <= (1.0 - r) * pain_before:
        return True
    return pain_after <= pain_before and toxicity_after <= (1.0 - r) * toxicity_before
