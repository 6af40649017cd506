"""Words and numbers of the report: times in the scenario's offset, numbers, doses in the drug's
unit (through the one dose formatter, :mod:`itdd.quantities`), event details and labels."""

from __future__ import annotations

import math
import re
from datetime import timezone
from typing import Any

from .. import quantities as q
from ..pump.events import ALARM_EVENTS, CRITICAL_ALARM_EVENTS, EVENTS, ROUTINE_EVENTS
from .times import parse_time

# The event vocabulary and its wording live in itdd.pump.events (one home, shared with the clinic).
EVENT_LABELS: dict[str, str] = {t: k.label for t, k in EVENTS.items()}
ALARM_TYPES = ALARM_EVENTS
CRITICAL_ALARMS = CRITICAL_ALARM_EVENTS
ROUTINE_TYPES = ROUTINE_EVENTS


def category_of(event: dict[str, Any]) -> str:
    if not event.get("device", True):
        return "hidden"
    kind = EVENTS.get(event["type"])
    return kind.category if kind is not None else "other"


# ---- formatting --------------------------------------------------------------------------------


def fmt_time(text: str | None, tz: timezone) -> str:
    """ISO text -> ``2026-01-06 17:00`` in the scenario's offset (seconds only when not zero)."""
    if not text:
        return "—"
    try:
        dt = parse_time(text, tz)
    except ValueError:
        return text
    return dt.strftime("%Y-%m-%d %H:%M" if dt.second == 0 and dt.microsecond == 0 else "%Y-%m-%d %H:%M:%S")


def fmt_date(text: str | None, tz: timezone) -> str:
    return fmt_time(text, tz)[:10] if text else "—"


def num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if abs(x) < 1e-9:  # rounding noise (and -0) reads as zero
        return "0"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    if "e" in text:
        text = f"{x:.{digits + 3}f}".rstrip("0").rstrip(".")
    return text


def signed(x: float, decimals: int = 2) -> str:
    """``+9.06`` / ``-1.20`` / ``0.00`` (never ``-0.00``)."""
    text = f"{x:+.{decimals}f}"
    return text[1:] if float(text) == 0 else text


def pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


class DrugUnits:
    """Displays amounts in the unit clinicians prescribe the drug in (mcg for ziconotide...)."""

    def __init__(self, drug: str | None) -> None:
        self.unit = "mg"
        if drug:
            try:
                from ..drugs import get_drug

                self.unit = get_drug(drug).dose_unit
            except Exception:  # an unknown drug: show mg
                self.unit = "mg"
        self.factor = q.display_factor(self.unit)

    def amount(self, mg: float | None) -> str:
        return "—" if mg is None else q.fmt_amount(mg, self.unit, grouping=True)

    def rate(self, mg_per_day: float | None) -> str:
        return "—" if mg_per_day is None else q.fmt_dose_rate(mg_per_day, self.unit, grouping=True)

    def conc(self, mg_per_ml: float | None) -> str:
        return "—" if mg_per_ml is None else q.fmt_concentration(mg_per_ml, self.unit, grouping=True)

    def text(self, text: str) -> str:
        """Amounts written in mg inside a text (a therapy description) rewritten in the drug's unit."""
        if self.unit == "mg":
            return text
        return _MG_RE.sub(lambda m: q.fmt_amount(float(m.group(1)), self.unit, grouping=True), text)


_MG_RE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?) ?mg\b")


_UNIT_TOKENS = (("mg", "per", "ml"), ("mg", "per", "day"), ("ml",), ("mg",), ("s",), ("fraction",))


def _split_unit(key: str) -> tuple[str, str]:
    """``reservoir_ml_entered`` -> (``reservoir entered``, ``ml``); ``leak_fraction`` -> (``leak``, ``fraction``)."""
    tokens = key.split("_")
    for unit in _UNIT_TOKENS:
        n = len(unit)
        for i in range(len(tokens) - n, 0, -1):  # the unit is never the first word
            if tuple(tokens[i : i + n]) == unit:
                label = " ".join(tokens[:i] + tokens[i + n :])
                return label, "_".join(unit)
    return key.replace("_", " "), ""


def detail_text(key: str, value: Any, tz: timezone, units: DrugUnits) -> str:
    """One event detail as ``label: value unit``, the unit read from the key's name."""
    label, unit = _split_unit(key)
    if value is None:
        return f"{label}: —"
    if isinstance(value, bool):
        return f"{label}: {'yes' if value else 'no'}"
    if isinstance(value, int | float):
        if unit == "mg_per_ml":
            text = units.conc(value)
        elif unit == "mg_per_day":
            text = units.rate(value)
        elif unit == "ml":
            text = f"{num(value, 4)} mL"
        elif unit == "mg":
            text = units.amount(value)
        elif unit == "s":
            text = q.fmt_duration(value)
        elif unit == "fraction":
            text = pct(value)
        else:
            text = num(value, 4)
        return f"{label}: {text}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return f"{label}: {fmt_time(value, tz)}"
    if isinstance(value, dict | list):
        return f"{label}: {_compact(value)}"
    return f"{label}: {value}"


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_compact(v) for v in value)
    if isinstance(value, float):
        return num(value, 4)
    return str(value)


# ---- findings ----------------------------------------------------------------------------------


def hidden_label(event: dict[str, Any]) -> str:
    """A short label on the reservoir plot for the hidden events a clinician must not miss."""
    if event["type"] == "catheter_fault":
        return f"catheter {event.get('kind', 'fault')}"
    if event["type"] == "reservoir_depleted":
        return "ran dry"
    if event["type"] == "magnetic_field_on":
        return "MRI"
    if event["type"] == "catheter_revision":
        return "revision"
    return ""


_LABEL_UNITS = {
    "kg": "kg",
    "ml": "mL",
    "cm": "cm",
    "mg": "mg",
    "years": "years",
    "y": "years",
    "percent": "%",
    "per_min": "/min",
    "mg_per_day": "mg/day",
    "mg_per_ml": "mg/mL",
}
_ACRONYMS = {"csf": "CSF", "mme": "MME", "mri": "MRI", "bmi": "BMI", "spo2": "SpO2", "id": "ID", "ptm": "PTM"}


def nice_label(key: str) -> str:
    """``csf_volume_ml`` -> ``CSF volume (mL)``; ``weight_kg`` -> ``Weight (kg)``; ``mri`` -> ``MRI``."""
    unit = ""
    for suffix in sorted(_LABEL_UNITS, key=len, reverse=True):
        if key.endswith("_" + suffix):
            unit = _LABEL_UNITS[suffix]
            key = key[: -len(suffix) - 1]
            break
    words = [_ACRONYMS.get(w, w) for w in key.split("_") if w]
    text = " ".join(words)
    text = text[:1].upper() + text[1:] if text else text
    return f"{text} ({unit})" if unit else text


def drug_name(drug: str | None) -> str:
    return (drug or "drug").capitalize()
