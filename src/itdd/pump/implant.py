"""The implant: simulated hardware and its firmware, moved exactly through virtual time.

:class:`Implant` owns one :class:`~itdd.pump.hardware.Hardware`, one
:class:`~itdd.pump.firmware.Firmware` and one :class:`~itdd.pump.log.EventLog`.  Time moves
only through :meth:`Implant.run_until`, which jumps from one breakpoint to the next (a schedule
step, a bolus end, a reservoir threshold, a battery threshold, the drug front reaching the catheter
tip) and integrates every amount exactly in between.  Commands (programming, refill, a magnetic
field...) apply at the implant's current instant ``t_s``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..errors import SafetyRefusal
from ..quantities import fmt_volume
from .firmware import EPS_ML, INF, Firmware, PtmDecision, PtmSettings
from .hardware import CATHETER_FAULTS, FAULT_DESTINATION, Hardware
from .limits import check_range
from .log import EventLog
from .models import (
    CATHETER_LENGTH_CM,
    CATHETER_ML_PER_CM,
    DEVICE_LOG_CAPACITY,
    FLOW_ACCURACY_REFILL_MEAN,
    FLOW_ACCURACY_REFILL_SD,
    PumpModel,
)
from .record import PointDose, Record
from .status import FirmwareStatus, FluidSegment, PumpStatus
from .stepper import MAX_STEPS_PER_RUN
from .stepper import run_until as _run_until
from .therapy import DAY_S, Therapy, check_rates


@dataclass(frozen=True, slots=True)
class RefillResult:
    time_s: float
    expected_ml: float  # the firmware's estimate just before the refill
    withdrawn_ml: float  # what the needle actually removed
    filled_ml: float
    reservoir_ml_entered: float  # what the clinician programmed as the new reservoir volume
    drug: str
    conc_mg_per_ml: float
    previous_conc_mg_per_ml: float
    bridge_bolus: bool
    bridge_volume_ml: float

    @property
    def discrepancy_ml(self) -> float:
        """Withdrawn minus expected: positive = more came back than the pump thinks was left."""
        return self.withdrawn_ml - self.expected_ml

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected_ml": self.expected_ml,
            "withdrawn_ml": self.withdrawn_ml,
            "discrepancy_ml": self.discrepancy_ml,
            "filled_ml": self.filled_ml,
            "reservoir_ml_entered": self.reservoir_ml_entered,
            "drug": self.drug,
            "concentration_mg_per_ml": self.conc_mg_per_ml,
            "previous_concentration_mg_per_ml": self.previous_conc_mg_per_ml,
            "bridge_bolus": self.bridge_bolus,
            "bridge_volume_ml": self.bridge_volume_ml,
        }


class Implant:
    def __init__(
        self,
        model: PumpModel,
        *,
        t_s: float,
        offset_s: int,
        drug: str,
        conc_mg_per_ml: float,
        fill_ml: float,
        low_reservoir_ml: float,
        therapy: Therapy,
        ptm: PtmSettings | None = None,
        catheter_length_cm: float = CATHETER_LENGTH_CM,
        catheter_ml_per_cm: float = CATHETER_ML_PER_CM,
        primed: bool = True,
        flow_accuracy: float = 1.0,
        random_flow_accuracy: bool = False,
        flow_accuracy_sd: float = FLOW_ACCURACY_REFILL_SD,
        battery_to_eri: float = 1.0,
        clock_offset_s: float = 0.0,
        clock_drift_ppm: float = 0.0,
        seed: int = 0,
        log_capacity: int = DEVICE_LOG_CAPACITY,
        record: Record | None = None,
    ) -> None:
        check_rates(therapy, conc_mg_per_ml, model)
        if low_reservoir_ml >= model.reservoir_capacity_ml:
            raise SafetyRefusal(
                "pump.low_reservoir_alarm",
                f"{fmt_volume(low_reservoir_ml)} must be below the reservoir capacity "
                f"{fmt_volume(model.reservoir_capacity_ml)}",
            )
        self.model = model
        self.t_s = t_s
        self.offset_s = offset_s
        self.log = EventLog(log_capacity)
        self.rng = random.Random(seed)
        self.random_flow_accuracy = random_flow_accuracy
        self.flow_accuracy_sd = flow_accuracy_sd
        if random_flow_accuracy:
            flow_accuracy = self._draw_accuracy()
        self.hw = Hardware(
            model,
            reservoir_ml=fill_ml,
            drug=drug,
            conc_mg_per_ml=conc_mg_per_ml,
            catheter_length_cm=catheter_length_cm,
            catheter_ml_per_cm=catheter_ml_per_cm,
            primed=primed,
            flow_accuracy=flow_accuracy,
            battery_to_eri=battery_to_eri,
        )
        self.fw = Firmware(
            model,
            self.log,
            t_s=t_s,
            drug=drug,
            conc_mg_per_ml=conc_mg_per_ml,
            therapy=therapy,
            offset_s=offset_s,
            reservoir_ml=fill_ml,
            low_reservoir_ml=low_reservoir_ml,
            ptm=ptm,
            clock_offset_s=clock_offset_s,
            clock_drift_ppm=clock_drift_ppm,
        )
        self.record = record if record is not None else Record()
        self.depleted = False
        self.field_count = 0
        self._sync()

    def _draw_accuracy(self) -> float:
        return max(0.5, self.rng.gauss(FLOW_ACCURACY_REFILL_MEAN, self.flow_accuracy_sd))

    # ---- time ----------------------------------------------------------------------------------
    def next_change_s(self) -> float:
        """The next instant at which some rate changes or a threshold is crossed."""
        t = self.t_s
        fw, hw = self.fw, self.hw
        nxt = fw.next_change_s(t)
        q_cmd = fw.rate_ml_per_day
        if q_cmd > 0.0:
            q = hw.actual_flow_ml_per_day(q_cmd)
            if q > 0.0:
                above = hw.reservoir_ml - self.model.residual_ml
                nxt = min(nxt, t + above / q * DAY_S)
                # the next fluid front reaching the tip (FluidPath.tip_volume_ml, inlined: this
                # runs at every breakpoint, and the common case - one fluid, the same as the
                # reservoir's - has no front and schedules nothing)
                segs = hw.path.segments
                if len(segs) > 1:
                    nxt = min(nxt, t + segs[0].volume_ml / q * DAY_S)
                elif segs:
                    head = segs[0]
                    if head.conc_mg_per_ml != hw.reservoir_conc_mg_per_ml or head.drug != hw.reservoir_drug:
                        nxt = min(nxt, t + head.volume_ml / q * DAY_S)
        if fw.eri_s is None:
            drain = self.model.battery_drain_per_day + self.model.battery_drain_per_ml * q_cmd
            nxt = min(nxt, t + hw.battery_to_eri / drain * DAY_S)
        return nxt

    def _advance(self, t1: float) -> None:
        t0 = self.t_s
        dt = t1 - t0
        if dt <= 0.0:
            return
        fw, hw = self.fw, self.hw
        days = dt / DAY_S
        q_cmd = fw.rate_ml_per_day
        res0, est0 = hw.reservoir_ml, fw.estimate_ml
        pumped = csf_ml = csf_mg = tissue_mg = 0.0
        tip = hw.path.tip
        drug = tip.drug if tip is not None else hw.reservoir_drug
        if q_cmd > 0.0:
            q = hw.actual_flow_ml_per_day(q_cmd)
            if q > 0.0:
                pumped = q * days
                res = res0 - pumped
                if res <= self.model.residual_ml + EPS_ML:
                    res = self.model.residual_ml
                hw.reservoir_ml = res
                out_ml, out_mg = hw.path.push(pumped, hw.reservoir_conc_mg_per_ml, hw.reservoir_drug)
                frac = hw.csf_fraction()
                csf_ml, csf_mg = out_ml * frac, out_mg * frac
                tissue_mg = out_mg - csf_mg
            fw.consume(t0, t1)
        if fw.eri_s is None:
            hw.battery_to_eri -= (self.model.battery_drain_per_day + self.model.battery_drain_per_ml * q_cmd) * days
        self.record.append(
            t0, t1, pumped, csf_ml, csf_mg, tissue_mg, fw.mg_per_day * days, res0, est0, q_cmd * days, drug, fw.state
        )
        self.t_s = t1

    def _on_time(self) -> None:
        t = self.t_s
        hw, fw = self.hw, self.fw
        if fw.eri_s is None and hw.battery_to_eri <= 1e-12:
            hw.battery_to_eri = 0.0
            fw.eri(t)
        if not self.depleted and hw.reservoir_ml <= self.model.residual_ml + EPS_ML:
            self.depleted = True
            self.log.append(t, "reservoir_depleted", reservoir_ml=hw.reservoir_ml)
        fw.on_time(t)
        self._sync()

    def _sync(self) -> None:
        """A motor that starts to turn inside a magnetic field stalls at once."""
        fw = self.fw
        if self.hw.field_present and not fw.motor_stalled and fw.wants_to_run():
            fw.stall(self.t_s)

    # Move exactly to ``t_end_s``, handling every internal change on the way:
    # itdd.pump.stepper.run_until, which is run_until_stepwise below with its methods written
    # inline, identical to it bit for bit (tests/pump/test_stepper.py).
    run_until = _run_until

    def run_until_stepwise(self, t_end_s: float) -> None:
        """The reference loop: from breakpoint to breakpoint through :meth:`next_change_s`,
        :meth:`_advance` and :meth:`_on_time`."""
        steps = 0
        while self.t_s < t_end_s:
            t1 = min(self.next_change_s(), t_end_s)
            if t1 <= self.t_s:
                # A threshold due now that was not handled (floating-point edge): handle it.
                self._on_time()
                t1 = min(self.next_change_s(), t_end_s)
                if t1 <= self.t_s:
                    t1 = min(self.t_s + 1e-3, t_end_s)
            self._advance(t1)
            self._on_time()
            steps += 1
            if steps > MAX_STEPS_PER_RUN:  # pragma: no cover - a bug guard, never expected
                raise RuntimeError("the engine made no progress")

    # ---- commands (at the current instant) -----------------------------------------------------
    def program(self, therapy: Therapy, source: str = "clinician", details: dict[str, Any] | None = None) -> None:
        self.fw.program(self.t_s, therapy, source=source, details=details)
        self._sync()

    def stop(self) -> None:
        self.fw.stop(self.t_s)

    def resume(self) -> None:
        self.fw.resume(self.t_s)
        self._sync()

    def clinician_bolus(self, dose_mg: float, duration_s: float) -> None:
        self.fw.clinician_bolus(self.t_s, dose_mg, duration_s)
        self._sync()

    def priming_bolus(self, volume_ml: float | None = None, rate_ml_per_day: float | None = None) -> float:
        """Prime the fluid path (default: its whole volume); returns the volume."""
        vol = self.hw.path_volume_ml if volume_ml is None else volume_ml
        self.fw.priming_bolus(self.t_s, vol, rate_ml_per_day)
        self._sync()
        return vol

    def ptm_request(self) -> PtmDecision:
        """A patient's bolus request: the myPTM interrogates the pump first (which releases a
        stall that waits for an interrogation, [S] TGA), then asks for the bolus."""
        fw = self.fw
        if fw.motor_stalled:  # (Firmware.stall_needs_interrogation needs a stall)
            self.ptm_connect()
        decision = fw.request_ptm_bolus(self.t_s)
        if self.hw.field_present:  # (Implant._sync acts only in a field)
            self._sync()
        return decision

    def ptm_connect(self) -> None:
        """The patient therapy manager talks to the pump.  Like the clinician programmer's
        interrogation, it releases a pump that stayed stopped after a magnetic field because it
        was alarming when the field came ([S] TGA hazard alert: "drug infusion will only resume
        after performing a post-MRI pump interrogation using the Clinician Programmer or
        Personal Therapy Manager").  Otherwise it changes nothing and logs nothing."""
        if self.fw.stall_needs_interrogation(self.hw.field_present):
            self.fw.interrogate(self.t_s, False, source="ptm")
            self._sync()

    def set_ptm(self, ptm: PtmSettings | None) -> None:
        self.fw.set_ptm(ptm)

    def interrogate(self) -> FirmwareStatus:
        """The clinician programmer's interrogation."""
        status = self.fw.interrogate(self.t_s, self.hw.field_present)
        self._sync()
        return status

    def magnetic_field_on(self) -> None:
        """A magnetic field (MRI) reaches the pump. Overlapping fields nest: the field is present
        until the last one has ended."""
        self.field_count += 1
        if self.hw.field_present:
            return
        self.hw.field_present = True
        self.log.append(self.t_s, "magnetic_field_on")
        self.fw.field_applied()
        self._sync()

    def magnetic_field_off(self, resume_delay_s: float = 0.0) -> None:
        self.field_count = max(self.field_count - 1, 0)
        if not self.hw.field_present or self.field_count > 0:
            return
        self.hw.field_present = False
        self.log.append(self.t_s, "magnetic_field_off", resume_delay_s=resume_delay_s)
        self.fw.field_removed(self.t_s, resume_delay_s)
        self._sync()

    def catheter_fault(self, kind: str, leak_fraction: float = 0.5) -> None:
        if kind not in CATHETER_FAULTS:
            raise SafetyRefusal("kind", f"unknown catheter fault '{kind}' (one of {', '.join(CATHETER_FAULTS)})")
        self.hw.set_fault(kind, leak_fraction)
        self.log.append(
            self.t_s,
            "catheter_fault",
            kind=kind,
            leak_fraction=self.hw.leak_fraction,
            destination=FAULT_DESTINATION.get(kind, "none"),
        )

    def catheter_revision(self, length_cm: float | None = None, primed: bool = False) -> None:
        """Surgical replacement of the catheter; a new catheter is full of saline unless primed."""
        self.hw.replace_catheter(self.hw.catheter_length_cm if length_cm is None else length_cm, primed)
        self.log.append(self.t_s, "catheter_revision", length_cm=self.hw.catheter_length_cm, primed=primed)

    def check_refill(self, *, withdraw_ml: float | None, fill_ml: float, drug: str, conc_mg_per_ml: float) -> None:
        """Refuse a refill that would overfill, mix drugs, or leave the therapy unprogrammable."""
        hw = self.hw
        left = hw.reservoir_ml - (hw.reservoir_ml if withdraw_ml is None else min(withdraw_ml, hw.reservoir_ml))
        space = self.model.reservoir_capacity_ml - left
        if fill_ml > space + EPS_ML:
            raise SafetyRefusal(
                "fill",
                f"{fmt_volume(fill_ml)} would overfill the reservoir: capacity "
                f"{fmt_volume(self.model.reservoir_capacity_ml)}, "
                f"{fmt_volume(left)} left inside after withdrawal, room for {fmt_volume(max(space, 0.0))}",
                rule="overfill",
            )
        if left > EPS_ML and drug != hw.reservoir_drug:
            raise SafetyRefusal(
                "drug",
                f"{fmt_volume(left)} of {hw.reservoir_drug} would stay in the reservoir; withdraw it all "
                f"before filling {drug}",
                rule="drug_mix",
            )
        therapy = self.fw.therapy if self.fw.therapy.running else self.fw.suspended
        if therapy is not None:
            check_rates(therapy, conc_mg_per_ml, self.model, field="concentration")

    def refill(
        self,
        *,
        withdraw_ml: float | None,
        fill_ml: float,
        drug: str,
        conc_mg_per_ml: float,
        reservoir_ml_entered: float | None = None,
        bridge_bolus: bool | None = None,
    ) -> RefillResult:
        """The refill mechanism: withdraw, fill, reset the estimate (and bridge if asked).

        ``withdraw_ml=None`` aspirates everything. Nothing changes if the refill is refused.
        """
        fill_ml = check_range("fill", fill_ml, key="refill.fill")
        conc_mg_per_ml = check_range("concentration", conc_mg_per_ml, key="refill.concentration")
        if withdraw_ml is not None:
            withdraw_ml = check_range("withdraw", withdraw_ml, key="refill.withdraw")
        if reservoir_ml_entered is not None:
            reservoir_ml_entered = check_range(
                "reservoir", reservoir_ml_entered, key="refill.reservoir", high=self.model.reservoir_capacity_ml
            )
        self.check_refill(withdraw_ml=withdraw_ml, fill_ml=fill_ml, drug=drug, conc_mg_per_ml=conc_mg_per_ml)
        t = self.t_s
        fw, hw = self.fw, self.hw
        expected = fw.estimate_ml
        withdrawn = hw.withdraw(withdraw_ml)
        hw.fill(fill_ml, drug, conc_mg_per_ml)
        if reservoir_ml_entered is None:
            believed_left = 0.0 if withdraw_ml is None else max(expected - withdrawn, 0.0)
            reservoir_ml_entered = fill_ml + believed_left
        changed = abs(conc_mg_per_ml - fw.conc_mg_per_ml) > 1e-12 or drug != fw.drug
        do_bridge = changed if bridge_bolus is None else (bridge_bolus and changed)
        if self.random_flow_accuracy:
            hw.flow_accuracy = self._draw_accuracy()
        self.depleted = hw.reservoir_ml <= self.model.residual_ml + EPS_ML
        self.log.append(
            t,
            "refill",
            expected_ml=expected,
            withdrawn_ml=withdrawn,
            discrepancy_ml=withdrawn - expected,
            filled_ml=fill_ml,
            reservoir_ml_entered=reservoir_ml_entered,
            drug=drug,
            concentration_mg_per_ml=conc_mg_per_ml,
            bridge_bolus=do_bridge,
        )
        old_conc = fw.refill(t, reservoir_ml_entered, drug, conc_mg_per_ml)
        bridge_ml = 0.0
        if do_bridge:
            bridge_ml = hw.path_volume_ml
            fw.bridge_bolus(t, bridge_ml, old_conc)
        self._sync()
        return RefillResult(
            t,
            expected,
            withdrawn,
            fill_ml,
            reservoir_ml_entered,
            drug,
            conc_mg_per_ml,
            old_conc,
            do_bridge,
            bridge_ml,
        )

    def catheter_access_port_injection(self, volume_ml: float, drug: str, conc_mg_per_ml: float) -> float:
        """An injection into the catheter access port goes straight to the spinal fluid.

        Returns the drug (mg) delivered at once.  The fluid in the catheter ahead of the
        injection is flushed into the spinal fluid as well (plug flow): the port lies at the
        catheter's pump end.
        """
        hw = self.hw
        out_ml, out_mg = hw.path.push(volume_ml, conc_mg_per_ml, drug)
        frac = hw.csf_fraction() if hw.catheter_fault != "occlusion" else 0.0
        self.record.add_point(PointDose(self.t_s, out_mg * frac, out_ml * frac, drug, "catheter_access_port"))
        self.log.append(
            self.t_s,
            "catheter_access_port_injection",
            volume_ml=volume_ml,
            drug=drug,
            concentration_mg_per_ml=conc_mg_per_ml,
            delivered_mg=out_mg * frac,
        )
        return out_mg * frac

    # ---- reporting -----------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.fw.state

    def status(self) -> PumpStatus:
        """The simulator's view: the firmware's status plus the hidden hardware truth."""
        hw = self.hw
        return PumpStatus(
            firmware=self.fw.status(self.t_s),
            model_id=self.model.model_id,
            reservoir_ml=hw.reservoir_ml,
            reservoir_capacity_ml=self.model.reservoir_capacity_ml,
            reservoir_drug=hw.reservoir_drug,
            reservoir_concentration_mg_per_ml=hw.reservoir_conc_mg_per_ml,
            flow_accuracy=hw.flow_accuracy,
            catheter_fault=hw.catheter_fault,
            catheter_length_cm=hw.catheter_length_cm,
            fluid_path_volume_ml=hw.path_volume_ml,
            fluid_path=tuple(FluidSegment(s.volume_ml, s.conc_mg_per_ml, s.drug) for s in hw.path.segments),
            battery_to_eri=hw.battery_to_eri,
            magnetic_field=hw.field_present,
        )

    def next_internal_event_s(self) -> float:
        t = self.next_change_s()
        return t if t < INF else INF
