"""Clinical alert thresholds, read once from ``drugs/thresholds.yaml``.

The data file sits beside the drug library (``drugs/library.yaml``) and holds, with a source and
a confidence tag each, the cut-offs that several layers share: respiratory rate and SpO2 below
which a patient has respiratory depression, the sedation score at which the clinician lowers the
dose, the withdrawal score drawn as "moderate".  The patient model, the care pathway, the report
and the clinic read them from :func:`thresholds` and write no copy of their own
(``tests/test_facts.py`` checks it).

This module sits in the lowest layer (beside :mod:`itdd.quantities`): it reads the file as package
data and imports nothing from the drug library's code, so the patient model may use it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

import yaml

from .errors import InputError

CONFIDENCE = ("S", "S2", "U", "assumption")
ALERT_WHEN = ("below", "at_or_above")
_RECORD_KEYS = {"value", "alert_when", "meaning", "source", "confidence"}


@dataclass(frozen=True, slots=True)
class Threshold:
    """One cut-off: its value (unit in the field's name), which side alerts, and where it comes from."""

    value: float
    alert_when: str  # "below" or "at_or_above"
    meaning: str
    source: str
    confidence: str

    def alerts(self, x: float) -> bool:
        return x < self.value if self.alert_when == "below" else x >= self.value


@dataclass(frozen=True, slots=True)
class ClinicalThresholds:
    resp_rate_alert_per_min: Threshold
    spo2_alert_pct: Threshold
    sedation_alert_score: Threshold
    withdrawal_moderate_score: Threshold
    withdrawal_clinic_alert_score: Threshold


def load_thresholds(text: str, where: str = "thresholds.yaml") -> ClinicalThresholds:
    """Parse and validate a thresholds file completely (every key, every record)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(where, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(where, "expected a mapping of threshold name -> record")
    names = [f.name for f in fields(ClinicalThresholds)]
    unknown = sorted(set(data) - set(names))
    missing = [n for n in names if n not in data]
    if unknown or missing:
        raise InputError(where, f"unknown thresholds {unknown}, missing {missing}; expected exactly {names}")
    return ClinicalThresholds(**{n: _record(data[n], f"{where}: {n}") for n in names})


def _record(rec: Any, where: str) -> Threshold:
    if not isinstance(rec, dict) or set(rec) != _RECORD_KEYS:
        raise InputError(where, f"expected the keys {sorted(_RECORD_KEYS)}")
    value = rec["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}.value", f"expected a number, got {value!r}")
    if rec["alert_when"] not in ALERT_WHEN:
        raise InputError(f"{where}.alert_when", f"expected one of {ALERT_WHEN}, got {rec['alert_when']!r}")
    if rec["confidence"] not in CONFIDENCE:
        raise InputError(f"{where}.confidence", f"expected one of {CONFIDENCE}, got {rec['confidence']!r}")
    for key in ("meaning", "source"):
        if not isinstance(rec[key], str) or not rec[key].strip():
            raise InputError(f"{where}.{key}", "expected a non-empty text")
    return Threshold(float(value), rec["alert_when"], rec["meaning"], rec["source"], rec["confidence"])


@cache
def thresholds() -> ClinicalThresholds:
    """The bundled thresholds (read and validated once)."""
    text = resources.files(__package__).joinpath("drugs", "thresholds.yaml").read_text(encoding="utf-8")
    return load_thresholds(text)


__all__ = ["ClinicalThresholds", "Threshold", "load_thresholds", "thresholds"]
