"""Placebo response: relief that is not the drug's, strongest in the screening trial, fading over months.

A placebo responder's *reported* pain during the screening trial and after the implant is the
model's pain x ``1 - placebo_relief x exp(-t / tau)``, ``t`` counted from the start of the trial.
A patient whose drug response is too small (a non-responder) can then pass the trial (a
false-positive trial) and lose the relief after the implant; the clinician's reaction to that
(saline trial, explant for lack of effect) is in ``care/clinician/failure.py``.

Sources and assumptions (docs/cohort.md "Placebo responders"):

* share of placebo responders 30%: Cohen 2020 (ASRA consensus on spine injections, Reg Anesth Pain
  Med 45:424, table 9): 30% of patients given a saline medial-branch block reported >= 50% relief
  [S2]; no placebo rate for intrathecal opioid trials was found (Hayes 2012 used a double-blind IT
  trial but gives no rate);
* the placebo relief of a responder: 30-50% of the pain (uniform) [U], so a responder to saline
  passes a 50% trial with little drug effect, as Cohen's definition (>= 50% relief) implies;
* fading with a time constant of 3 months [U]: "placebo responses are often greatest at study
  onset and become gradually less marked" (Feingold/Leucht, trial design review [S2]); Kumar 2001:
  pain reduction 67.5% at 6 months, 57.5% at last follow-up (mean 29 months) [S].
"""

from __future__ import annotations

import math

from ..timeunits import SECONDS_PER_DAY
from .parameters import S2, U

__all__ = [
    "PLACEBO_FADE_DAYS",
    "PLACEBO_RELIEF_HIGH",
    "PLACEBO_RELIEF_LOW",
    "PLACEBO_SHARE",
    "placebo_fraction",
    "reported_pain",
]

PLACEBO_SHARE = S2(0.30, "Cohen 2020 (ASRA, table 9): 30% >= 50% relief after a saline medial-branch block")
PLACEBO_RELIEF_LOW = U(0.30, "assumption: enough to pass a 50% trial with a small drug effect")
PLACEBO_RELIEF_HIGH = U(0.50, "assumption: as the low end")
PLACEBO_FADE_DAYS = U(90.0, "assumption: placebo relief fades over months (time constant 3 months)")

_DAY_S = SECONDS_PER_DAY


def placebo_fraction(placebo_relief: float, since_trial_s: float) -> float:
    """The placebo relief (fraction of pain removed) ``since_trial_s`` after the trial started."""
    if placebo_relief <= 0.0:
        return 0.0
    return placebo_relief * math.exp(-max(since_trial_s, 0.0) / (PLACEBO_FADE_DAYS.value * _DAY_S))


def reported_pain(pain: float, placebo_relief: float, since_trial_s: float) -> float:
    """The pain the patient reports: the model's pain less the placebo relief left (0-10)."""
    f = placebo_fraction(placebo_relief, since_trial_s)
    return pain if f == 0.0 else pain * (1.0 - f)
