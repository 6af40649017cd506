"""Side effects of intrathecal opioids: what the clinician does about each, as pure decisions (issue 10).

:func:`react_to_side_effect` takes the side effect, how bad it is and what was already tried, and
returns a :class:`~itdd.care.clinician.decisions.Decision`: ``treat`` (with what), ``lower_dose``
(by :data:`DOSE_REDUCTION`), ``switch_drug`` (the drugs helper's change of drug: PACC) or
``explant`` (the side effect persists after everything else, or the patient asks for it).

The ladder for each side effect follows PACC 2017 (Deer, Neuromodulation 20:96-132) and the
reviews of long-term IT morphine effects (Ruan 2007, Pain Physician 10:357) [S2]: nausea and
pruritus are treated (antiemetic; antihistamine or low-dose opioid antagonist) and, if they
persist, titrated around by lowering the dose; urinary retention is catheterised, then the dose
lowered, and needs the pump removed when it persists (Anderson 1998: 2 of 11 explanted for bladder
dysfunction [S2]); constipation is treated with laxatives; peripheral oedema with leg elevation and
a diuretic, then a lower dose or a switch of opioid (oedema is morphine-dose related: Aldrete 2000
[S]); hypogonadism and hypocortisolism with hormone replacement (Abs 2000 [S]); sweating has no
specific treatment.  The numbers are assumptions [U].

Where it acts: nausea, pruritus and sedation at clinic visits (care/clinician/decisions.py:
``titration_step`` lowers the dose); the onset-based side effects (patient/outcomes_pro.py) are
found at the first clinic visit after their onset and the reaction is acted on there, one rung up
at each visit they persist (care/steps/side_effect_steps.py, docs/care.md).
"""

from __future__ import annotations

from ...patient.parameters import U
from .decisions import Decision

__all__ = ["DOSE_REDUCTION", "SIDE_EFFECTS", "TREATMENT", "react_to_side_effect"]

DOSE_REDUCTION = U(0.2, "assumption: as decisions.DECREASE_FRACTION (20%)")
#: a symptom score (0-10) at or above which the clinician acts (nausea, pruritus) [U]
ACT_AT_SCORE = U(5.0, "assumption: moderate symptoms are treated")

#: what the clinician prescribes first, by side effect
TREATMENT: dict[str, str] = {
    "nausea": "antiemetic (ondansetron or metoclopramide)",
    "pruritus": "antihistamine; low-dose opioid antagonist if it persists",
    "urinary_retention": "bladder catheterisation, then an alpha-blocker",
    "constipation": "laxatives (osmotic and stimulant; a peripheral opioid antagonist if they fail)",
    "peripheral_edema": "leg elevation and a diuretic",
    "hypogonadism": "hormone replacement (testosterone in men; gynaecological referral in women)",
    "hypocortisolism": "hydrocortisone replacement (endocrinology referral)",
    "sweating": "no specific treatment: reassurance",
}
SIDE_EFFECTS = tuple(TREATMENT)

#: when the first treatment is not enough: lower the dose, then switch (or explant)
_PERSISTENT: dict[str, tuple[str, ...]] = {
    "nausea": ("lower_dose", "switch_drug"),
    "pruritus": ("lower_dose", "switch_drug"),
    "urinary_retention": ("lower_dose", "explant"),
    "constipation": ("lower_dose",),
    "peripheral_edema": ("lower_dose", "switch_drug"),
    "hypogonadism": (),
    "hypocortisolism": (),
    "sweating": ("lower_dose",),
}


def react_to_side_effect(
    kind: str,
    *,
    persistent_after: int = 0,
    score: float | None = None,
    patient_wants_explant: bool = False,
) -> Decision:
    """The clinician's reaction to side effect ``kind``.

    ``persistent_after``: how many reactions were already tried without success (0: just found).
    ``score``: the symptom score 0-10 where there is one (nausea, pruritus): below
    :data:`ACT_AT_SCORE` nothing is done.  ``patient_wants_explant``: the patient asks for the pump
    to be removed (always honoured: ``explant``).
    """
    if kind not in TREATMENT:
        raise ValueError(f"unknown side effect {kind!r} (known: {', '.join(SIDE_EFFECTS)})")
    name = kind.replace("_", " ")
    if patient_wants_explant:
        return Decision("explant", f"{name}: the patient asks for the pump to be removed", trigger="patient's wish")
    if score is not None and score < ACT_AT_SCORE.value:
        return Decision("none", f"{name} {score:.0f}/10: mild, watched")
    if persistent_after <= 0:
        return Decision("treat", f"{name}: {TREATMENT[kind]}")
    steps = _PERSISTENT[kind]
    if persistent_after > len(steps):
        return Decision("continue", f"{name} persists: treatment continued, nothing more to try")
    step = steps[persistent_after - 1]
    if step == "lower_dose":
        return Decision("lower_dose", f"{name} persists on treatment: dose lowered by {DOSE_REDUCTION.value:.0%}")
    if step == "switch_drug":
        return Decision("switch_drug", f"{name} persists at a lower dose: switch to another opioid (PACC)")
    return Decision("explant", f"{name} persists at a lower dose: pump removed", trigger="side effect")
