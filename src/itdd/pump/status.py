"""The pump's status as typed records: what the firmware reports, and the simulator's full view.

:class:`FirmwareStatus` is what a real pump knows and tells an interrogating programmer;
:class:`PumpStatus` adds the hidden hardware truth only a simulator has (the actual reservoir
volume, the flow accuracy, the catheter).  Units are in the field names.  ``to_dict`` gives the
JSON the telemetry link and the simulator's output have always carried (same keys, same values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ptm import PtmSettings
from .therapy import Therapy


@dataclass(slots=True)
class Alarm:
    type: str
    severity: str
    raised_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "severity": self.severity, "raised_s": self.raised_s}


@dataclass(frozen=True, slots=True)
class FirmwareStatus:
    """What the firmware reports at one instant (its own beliefs: the reservoir is an estimate)."""

    state: str
    drug: str
    concentration_mg_per_ml: float
    therapy: Therapy
    reservoir_estimate_ml: float
    low_reservoir_alarm_ml: float
    rate_ml_per_day: float
    alarms: tuple[Alarm, ...]
    eri_s: float | None  # when the battery reached its elective replacement indicator
    end_of_service_s: float | None  # when the pump stops for good (None: not yet known)
    ptm: PtmSettings | None
    pump_clock_error_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "drug": self.drug,
            "concentration_mg_per_ml": self.concentration_mg_per_ml,
            "therapy": self.therapy.to_dict(),
            "reservoir_estimate_ml": self.reservoir_estimate_ml,
            "low_reservoir_alarm_ml": self.low_reservoir_alarm_ml,
            "rate_ml_per_day": self.rate_ml_per_day,
            "alarms": [a.to_dict() for a in self.alarms],
            "eri_s": self.eri_s,
            "end_of_service_s": self.end_of_service_s,
            "ptm": self.ptm.to_dict() if self.ptm else None,
            "pump_clock_error_s": self.pump_clock_error_s,
        }


@dataclass(frozen=True, slots=True)
class FluidSegment:
    """One plug of fluid in the pump's fluid path (catheter included), pump end first."""

    volume_ml: float
    conc_mg_per_ml: float
    drug: str

    def to_dict(self) -> dict[str, float | str]:
        return {"volume_ml": self.volume_ml, "conc_mg_per_ml": self.conc_mg_per_ml, "drug": self.drug}


@dataclass(frozen=True, slots=True)
class PumpStatus:
    """The simulator's view: the firmware's status plus the hidden hardware truth."""

    firmware: FirmwareStatus
    model_id: str
    reservoir_ml: float
    reservoir_capacity_ml: float
    reservoir_drug: str
    reservoir_concentration_mg_per_ml: float
    flow_accuracy: float
    catheter_fault: str | None
    catheter_length_cm: float
    fluid_path_volume_ml: float
    fluid_path: tuple[FluidSegment, ...]
    battery_to_eri: float
    magnetic_field: bool

    # the firmware's fields, read through
    @property
    def state(self) -> str:
        return self.firmware.state

    @property
    def reservoir_estimate_ml(self) -> float:
        return self.firmware.reservoir_estimate_ml

    @property
    def alarms(self) -> tuple[Alarm, ...]:
        return self.firmware.alarms

    @property
    def eri_s(self) -> float | None:
        return self.firmware.eri_s

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.firmware.to_dict(),
            "model": self.model_id,
            "reservoir_ml": self.reservoir_ml,
            "reservoir_capacity_ml": self.reservoir_capacity_ml,
            "reservoir_drug": self.reservoir_drug,
            "reservoir_concentration_mg_per_ml": self.reservoir_concentration_mg_per_ml,
            "flow_accuracy": self.flow_accuracy,
            "catheter_fault": self.catheter_fault,
            "catheter_length_cm": self.catheter_length_cm,
            "fluid_path_volume_ml": self.fluid_path_volume_ml,
            "fluid_path": [s.to_dict() for s in self.fluid_path],
            "battery_to_eri": self.battery_to_eri,
            "magnetic_field": self.magnetic_field,
        }
