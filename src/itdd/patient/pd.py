"""Pharmacodynamics: from drives (see :mod:`itdd.patient.pk`) to what a clinician observes.

All functions here are pure and instantaneous: every delay lives in the linear PK model (effect
sites, dependence and tolerance filters), so the exactness of the PK solution carries through.

Scales:

* pain, pruritus, nausea, confusion, withdrawal: 0-10 (NRS-like);
* sedation: 0-3 (0 alert, 1 occasionally drowsy, 2 frequently drowsy, 3 somnolent);
* spasticity: Modified Ashworth 0-4;
* respiratory rate /min, SpO2 % (room air), heart rate /min, systolic BP mmHg, temperature degC.
"""

from __future__ import annotations

import math

from ..timeunits import SECONDS_PER_DAY, SECONDS_PER_HOUR
from . import parameters as P


def hill(x: float, n: float) -> float:
    """x^n / (1 + x^n) for x >= 0 (0 for x <= 0)."""
    if x <= 0.0:
        return 0.0
    xn = x**n
    return xn / (1.0 + xn)


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def tolerance_factor(level: float, rate: float, maximum: float, half: float) -> float:
    """Multiplier (>= 1) on the drive needed for the same effect, from a tolerance level."""
    level = max(level, 0.0)
    return 1.0 + rate * maximum * level / (level + half)


def withdrawal_score(adapted: float, drive: float, gain: float, floor: float, threshold: float) -> float:
    """0-10: how far the current drive has fallen below what the body has adapted to (log ratio)."""
    a = max(adapted, 0.0) + floor
    d = max(drive, 0.0) + floor
    return clamp(gain * math.log(a / d) - threshold, 0.0, 10.0)


PAO2_FLOOR_MMHG = 20.0  # U: the formula's floor (SpO2 ~32%); below it the model says nothing useful


def spo2_pct(resp_rate_per_min: float, baseline_rr_per_min: float, aa_gradient_mmhg: float) -> float:
    """Room-air SpO2 from the respiratory rate (alveolar ventilation -> PaCO2 -> PAO2 -> SaO2).

    Assumes tidal volume is kept (opioids slow the rate first): PaCO2 = 40 x RR0/RR (alveolar
    ventilation equation), PAO2 = 0.21 x (760 - 47) - PaCO2/0.8 (alveolar gas equation),
    PaO2 = PAO2 - A-a gradient, SaO2 from Severinghaus (1979).
    """
    v = max(resp_rate_per_min / baseline_rr_per_min, 1e-3)
    paco2 = min(40.0 / v, 200.0)
    pao2 = max(0.21 * (760.0 - 47.0) - paco2 / 0.8 - aa_gradient_mmhg, PAO2_FLOOR_MMHG)
    return 100.0 / (1.0 + 23400.0 / (pao2**3 + 150.0 * pao2))


def respiratory_rate(baseline_per_min: float, supraspinal_drive: float) -> float:
    """Respiratory rate under a supraspinal drive (1 = half-maximal depression; apnoea possible)."""
    return baseline_per_min * (1.0 - hill(supraspinal_drive, P.HILL_RESPIRATORY.value))


def sedation(drive: float) -> float:
    return 3.0 * hill(drive / P.SEDATION_HALF_DRIVE.value, 2.0)


def pruritus(drive: float, sensitivity: float) -> float:
    """Linear in the drive (Palmer 1999: pruritus proportional to intrathecal morphine dose)."""
    return clamp(P.PRURITUS_PER_DRIVE.value * sensitivity * max(drive, 0.0), 0.0, 10.0)


def nausea(drive: float, maximum: float) -> float:
    return 10.0 * maximum * hill(drive / P.NAUSEA_HALF_DRIVE.value, 1.0)


def activity(t_s: float, offset_s: int, wake_h: float, sleep_h: float) -> float:
    """1 while awake, 0 asleep, in the patient's fixed UTC offset."""
    h = ((t_s + offset_s) % SECONDS_PER_DAY) / SECONDS_PER_HOUR
    if wake_h <= sleep_h:
        return 1.0 if wake_h <= h < sleep_h else 0.0
    return 1.0 if (h >= wake_h or h < sleep_h) else 0.0


def awake_fraction(wake_h: float, sleep_h: float) -> float:
    return ((sleep_h - wake_h) % 24.0) / 24.0
