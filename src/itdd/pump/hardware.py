"""Simulated hardware: reservoir, fluid path, peristaltic motor, battery, catheter, magnetic field.

The hardware holds the *truth* (actual reservoir volume, where the drug really goes); the firmware
only knows what it commanded.  The two diverge when flow accuracy is off or the catheter fails,
and the pump has no sensor that would tell it.
"""

from __future__ import annotations

from ..errors import SafetyRefusal
from ..quantities import fmt_volume
from .fluid_path import FluidPath
from .models import PumpModel

EPS_ML = 1e-9

CATHETER_FAULTS = ("occlusion", "leak", "disconnection", "migration")
# Where the drug goes when it does not reach the spinal fluid (for systemic absorption):
#   leak/tear and disconnection: subcutaneous tissue (pump pocket / catheter tract);
#   migration out of the intrathecal space: epidural or subdural space.
FAULT_DESTINATION = {
    "leak": "subcutaneous",
    "disconnection": "subcutaneous",
    "migration": "epidural",
}


class Hardware:
    __slots__ = (
        "battery_to_eri",
        "catheter_fault",
        "catheter_length_cm",
        "catheter_ml_per_cm",
        "field_present",
        "flow_accuracy",
        "leak_fraction",
        "model",
        "path",
        "reservoir_conc_mg_per_ml",
        "reservoir_drug",
        "reservoir_ml",
    )

    def __init__(
        self,
        model: PumpModel,
        *,
        reservoir_ml: float,
        drug: str,
        conc_mg_per_ml: float,
        catheter_length_cm: float,
        catheter_ml_per_cm: float,
        primed: bool = True,
        flow_accuracy: float = 1.0,
        battery_to_eri: float = 1.0,
    ) -> None:
        if reservoir_ml > model.reservoir_capacity_ml + EPS_ML:
            raise SafetyRefusal(
                "pump.fill",
                f"{fmt_volume(reservoir_ml)} exceeds the reservoir capacity {fmt_volume(model.reservoir_capacity_ml)}",
                rule="overfill",
            )
        self.model = model
        self.reservoir_ml = reservoir_ml
        self.reservoir_drug = drug
        self.reservoir_conc_mg_per_ml = conc_mg_per_ml
        self.catheter_length_cm = catheter_length_cm
        self.catheter_ml_per_cm = catheter_ml_per_cm
        path_ml = model.internal_volume_ml + catheter_length_cm * catheter_ml_per_cm
        if primed:
            self.path = FluidPath(path_ml, conc_mg_per_ml, drug)
        else:
            self.path = FluidPath(path_ml, 0.0, "saline")
        self.flow_accuracy = flow_accuracy
        self.battery_to_eri = battery_to_eri  # fraction of battery left before ERI (1 new, 0 ERI)
        self.catheter_fault: str | None = None
        self.leak_fraction = 0.0
        self.field_present = False

    # ---- derived ---------------------------------------------------------------------------
    @property
    def path_volume_ml(self) -> float:
        return self.model.internal_volume_ml + self.catheter_length_cm * self.catheter_ml_per_cm

    @property
    def catheter_volume_ml(self) -> float:
        return self.catheter_length_cm * self.catheter_ml_per_cm

    def actual_flow_ml_per_day(self, commanded_ml_per_day: float) -> float:
        """Volume per day that really leaves the reservoir for a commanded rate."""
        if (
            commanded_ml_per_day <= 0.0
            or self.field_present
            or self.catheter_fault == "occlusion"
            or self.reservoir_ml <= self.model.residual_ml + EPS_ML
        ):
            return 0.0
        return commanded_ml_per_day * self.flow_accuracy

    def csf_fraction(self) -> float:
        """Share of the outflow that reaches the spinal fluid."""
        fault = self.catheter_fault
        if fault is None:
            return 1.0
        if fault == "leak":
            return 1.0 - self.leak_fraction
        return 0.0  # disconnection, migration (occlusion has no outflow at all)

    # ---- mechanisms --------------------------------------------------------------------------
    def withdraw(self, volume_ml: float | None) -> float:
        """Aspirate through the refill port; returns the volume actually removed."""
        available = self.reservoir_ml
        take = available if volume_ml is None else min(volume_ml, available)
        self.reservoir_ml = available - take
        return take

    def check_fill(self, volume_ml: float) -> None:
        space = self.model.reservoir_capacity_ml - self.reservoir_ml
        if volume_ml > space + EPS_ML:
            raise SafetyRefusal(
                "fill",
                f"{fmt_volume(volume_ml)} would overfill the reservoir: "
                f"{fmt_volume(self.reservoir_ml)} already inside, capacity "
                f"{fmt_volume(self.model.reservoir_capacity_ml)}, room for {fmt_volume(max(space, 0.0))}",
                rule="overfill",
            )

    def check_drug(self, drug: str) -> None:
        if self.reservoir_ml > EPS_ML and drug != self.reservoir_drug:
            raise SafetyRefusal(
                "drug",
                f"the reservoir still holds {fmt_volume(self.reservoir_ml)} of {self.reservoir_drug}; "
                f"withdraw it all before filling {drug}",
                rule="drug_mix",
            )

    def fill(self, volume_ml: float, drug: str, conc_mg_per_ml: float) -> None:
        """Inject into the reservoir; what was left mixes with the new fluid (same drug only)."""
        self.check_fill(volume_ml)
        self.check_drug(drug)
        old_ml = self.reservoir_ml
        total = old_ml + volume_ml
        if total > 0:
            self.reservoir_conc_mg_per_ml = (
                old_ml * self.reservoir_conc_mg_per_ml + volume_ml * conc_mg_per_ml
            ) / total
        self.reservoir_drug = drug
        self.reservoir_ml = total

    def set_fault(self, kind: str | None, leak_fraction: float = 0.5) -> None:
        self.catheter_fault = kind
        self.leak_fraction = leak_fraction if kind == "leak" else 0.0

    def replace_catheter(self, length_cm: float, primed_with_drug: bool) -> None:
        """Catheter revision: a new catheter, full of saline unless primed with the drug.

        Only the catheter is new: the pump's internal path (``model.internal_volume_ml``) keeps
        the drug it held, and the next push delivers that drug first once the catheter's own
        volume has gone through (a priming bolus of the whole path volume pushes it into the
        spinal fluid within minutes)."""
        self.catheter_length_cm = length_cm
        self.catheter_fault = None
        self.leak_fraction = 0.0
        conc, drug = (self.reservoir_conc_mg_per_ml, self.reservoir_drug) if primed_with_drug else (0.0, "saline")
        self.path.replace_tip_part(self.model.internal_volume_ml, self.catheter_volume_ml, conc, drug)
