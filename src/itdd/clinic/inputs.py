"""The clinic's input boundary for quantities and therapies: the request fields that carry a unit
(``"20 mL"``, ``"3 mg/day"``, ``"1d"``), checked when the request is read, and the therapy and patient-bolus
settings a clinician enters, built into the pump's own objects (:class:`itdd.pump.therapy.Therapy`,
:class:`itdd.pump.firmware.PtmSettings`) here, at the boundary.  The pages' forms and the JSON API share them.

The request schema is the one the scenario files use for a therapy (same keys, same units), so a therapy
copied from a scenario can be sent to the API as it is.
"""

from __future__ import annotations

from ..errors import InputError
from ..pump.firmware import PtmSettings
from ..pump.therapy import PeriodicBolus, Therapy

# One home for the request schema: the scenario file's unit fields and therapy blocks (itdd.sim.values,
# itdd.sim.scenario), so a therapy copied from a scenario is a valid request and the two cannot drift apart.
from ..sim.scenario import PtmSpec, TherapySpec
from ..sim.values import Amount, Concentration, DateTime, DoseRate, Duration, TimeOfDay, Volume

__all__ = [
    "Amount",
    "Concentration",
    "DateTime",
    "DoseRate",
    "Duration",
    "PtmSpec",
    "TherapySpec",
    "TimeOfDay",
    "Volume",
    "build_ptm",
    "build_therapy",
]


def build_therapy(spec: TherapySpec) -> Therapy:
    """The pump's therapy of a spec (its quantities were parsed once, when the request was read).  A
    periodic-bolus therapy without ``basal`` has none (0 mg/day)."""
    if spec.mode == "stopped":
        return Therapy.stopped()
    if spec.mode == "simple_continuous":
        dose_mg_per_day = spec.dose_mg_per_day
        assert dose_mg_per_day is not None  # the model requires a dose in this mode
        return Therapy.simple(dose_mg_per_day)
    if spec.mode == "flex":
        assert spec.steps is not None
        return Therapy.flex([(s.start_s, s.dose_mg_per_day) for s in spec.steps])
    assert spec.boluses is not None
    boluses = [PeriodicBolus(b.at_s, b.dose_mg, b.duration_s) for b in spec.boluses]
    basal = spec.basal_mg_per_day
    return Therapy.periodic(boluses, basal if basal is not None else 0.0)


def build_ptm(spec: PtmSpec) -> PtmSettings:
    duration_s = spec.duration_s
    if duration_s <= 0:
        raise InputError("ptm.duration", "must be more than 0")
    return PtmSettings(
        dose_mg=spec.dose_mg,
        duration_s=duration_s,
        lockout_s=spec.lockout_s,
        max_per_day=spec.max_per_day,
        max_daily_dose_mg=spec.max_daily_dose_mg_per_day,
        enabled=spec.enabled,
    )
