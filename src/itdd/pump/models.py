"""Pump models and their hardware constants.

Every constant names its source. Tags follow ``../shared/reference/clinical-facts.md``:
``[S]`` source seen, ``[S2]`` weaker secondary source, ``[U]``/``assumption`` not verified.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..timeunits import DAYS_PER_YEAR


@dataclass(frozen=True, slots=True)
class PumpModel:
    model_id: str
    label: str
    reservoir_capacity_ml: float
    # Volume left in the reservoir that the pump cannot deliver; the firmware raises its
    # reservoir-empty alarm when its estimate reaches it.
    residual_ml: float
    # Fluid path inside the pump, from reservoir outlet to catheter port.
    internal_volume_ml: float
    min_rate_ml_per_day: float
    max_rate_ml_per_day: float
    # Battery: consumed fraction (1.0 = new, 0.0 = ERI) per day at zero flow, and per mL pumped.
    battery_drain_per_day: float
    battery_drain_per_ml: float
    # Days from ERI to end of service.
    eri_to_eos_days: float


# Battery calibration (assumption, fitted to [S] "typical 5-7 years depending on daily volume;
# max 7 years; pump stops 90 days after ERI"): life to end of service is 7 years at zero flow and
# 5 years at 1 mL/day.  life_to_eri(q) = 1 / (a + b q):
#   a = 1 / (7 y - 90 d),   a + b = 1 / (5 y - 90 d).
_ERI_TO_EOS_DAYS = 90.0  # [S] clinical-facts: "pump stops 90 days after ERI"
_A = 1.0 / (7 * DAYS_PER_YEAR - _ERI_TO_EOS_DAYS)
_B = 1.0 / (5 * DAYS_PER_YEAR - _ERI_TO_EOS_DAYS) - _A


def _synchromed(capacity_ml: float) -> PumpModel:
    return PumpModel(
        model_id=f"synchromed-ii-{int(capacity_ml)}",
        label=f"SynchroMed II-like {int(capacity_ml)} mL (simulated)",
        reservoir_capacity_ml=capacity_ml,  # [S] 8637-20 / 8637-40 (Health Canada RA-71393)
        residual_ml=1.0,  # assumption: undeliverable volume, not verified
        internal_volume_ml=0.25,  # assumption: pump outlet path volume, not verified
        min_rate_ml_per_day=0.048,  # [S] prialt.com: 25 mcg/mL x 0.048 mL/day = 1.2 mcg/day
        max_rate_ml_per_day=24.0,  # [U] clinical-facts "max flow ~24 mL/day" (assumption)
        battery_drain_per_day=_A,
        battery_drain_per_ml=_B,
        eri_to_eos_days=_ERI_TO_EOS_DAYS,
    )


MODELS: dict[str, PumpModel] = {m.model_id: m for m in (_synchromed(20.0), _synchromed(40.0))}

# Catheter defaults.
CATHETER_ML_PER_CM = 0.0026  # [S] Prometra catheter 0.0026 mL/cm (clinical-facts, "Other pumps")
CATHETER_LENGTH_CM = 50.0  # assumption: typical trimmed length, pump pocket to tip

# Flow accuracy: clinical per-refill mean +2.5% (Wesemann 2014, RAPM 39:341) [S]; the spread of a
# random per-refill factor is an assumption.
FLOW_ACCURACY_REFILL_MEAN = 1.025
FLOW_ACCURACY_REFILL_SD = 0.04  # assumption

# Device event-log memory (assumption: a real device keeps a bounded log).
DEVICE_LOG_CAPACITY = 2000


def get_model(model_id: str) -> PumpModel:
    try:
        return MODELS[model_id]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise InputError("pump.model", f"unknown pump model '{model_id}' (known: {known})") from None


def battery_life_years(model: PumpModel, flow_ml_per_day: float) -> float:
    """Expected years from a new battery to end of service at a constant flow."""
    to_eri_days = 1.0 / (model.battery_drain_per_day + model.battery_drain_per_ml * flow_ml_per_day)
    return (to_eri_days + model.eri_to_eos_days) / DAYS_PER_YEAR
