"""Each patient's sensitivity to ziconotide: a responder / non-responder mixture.

Ziconotide's mean analgesia is calibrated to Rauck 2006 (``analgesic_scale`` in
:mod:`itdd.patient.parameters`): at the trial's mean dose, 6.96 mcg/day, the drug relieved 7.5
points of pain more than placebo (14.7% vs 7.2%).  Given to every patient alike, that small mean
leaves almost no patient with a clear response, whereas the trials describe a minority who respond
well and a majority who do not.  Each patient is therefore a ziconotide *responder* (the drive of
``analgesic_scale`` x :data:`ZICONOTIDE_RESPONDER_GAIN`) or a *non-responder* (no ziconotide
analgesia), and the multiplier scales ziconotide's spinal analgesic drive in
:func:`itdd.patient.pk.build_it_chain`.

Sources and assumptions (docs/care.md "Ziconotide: calibrated to its trials"):

* share of responders 1/3 [S2]: Staats 2004 (JAMA 291:63, cancer or AIDS pain): 50.0% responders
  on ziconotide vs 17.5% on placebo, 32.5 points due to the drug; Ellis 2008 (Neuromodulation 11:103,
  open-label trial through an external pump, titrated over 1-4 weeks): 52.2% moderate to complete
  relief, placebo included;
* a non-responder gets no ziconotide analgesia [U]: Perruchoud 2010 (single 2.5 mcg bolus, 11
  patients): 9 had "modest or no pain relief";
* the responders' gain [U] is calibrated so that the population's mean drug relief at 6.96 mcg/day
  stays Rauck 2006's 7.5 points (tests/patient/test_ziconotide_sensitivity.py).

The draw comes from a random stream of its own, derived from the patient's ``(seed, index)``, so no
other draw of the patient or of the pathway moves (morphine patients are unchanged bit for bit).  A
hand-built patient without a seed is not drawn: its multiplier is 1 (``analgesic_scale`` alone,
the earlier population-mean drive).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .parameters import S2, U

if TYPE_CHECKING:
    from .population import PatientParams

__all__ = [
    "ZICONOTIDE_RESPONDER_GAIN",
    "ZICONOTIDE_RESPONDER_SHARE",
    "ziconotide_responder",
    "ziconotide_sensitivity",
]

ZICONOTIDE_RESPONDER_SHARE = S2(
    1.0 / 3.0,
    "Staats 2004: 50.0% responders on ziconotide vs 17.5% on placebo (32.5 points due to the drug); "
    "Ellis 2008: 52.2% moderate to complete relief in an open-label trial, placebo included",
)
ZICONOTIDE_RESPONDER_GAIN = U(
    2.2,
    "calibrated: with 1/3 responders and no analgesia in the others, the population's mean drug relief at "
    "6.96 mcg/day is Rauck 2006's 7.5 points (14.7% vs 7.2% on placebo)",
)

_STREAM_KEY = 0x7A69636F  # "zico": the patient's own ziconotide stream


@lru_cache(maxsize=4096)  # bounded: a long-running clinic sees many patients
def _uniform(seed: int, index: int) -> float:
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(index, _STREAM_KEY))
    return float(np.random.default_rng(ss).random())


def ziconotide_responder(seed: int, index: int) -> bool:
    """Whether patient ``index`` of cohort ``seed`` responds to ziconotide (one uniform of its own stream)."""
    return _uniform(seed, index) < ZICONOTIDE_RESPONDER_SHARE.value


def ziconotide_sensitivity(params: PatientParams) -> float:
    """The multiplier of ziconotide's analgesic drive for this patient (1 if the patient has no seed)."""
    if params.seed is None or params.index is None:
        return 1.0
    return ZICONOTIDE_RESPONDER_GAIN.value if ziconotide_responder(params.seed, params.index) else 0.0
