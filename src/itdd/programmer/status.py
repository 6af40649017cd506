"""Interrogate: what the pump knows, read over the link, with the battery's projected ERI date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import quantities as q
from ..drugs import Drug, get_drug
from ..pump.firmware import PtmSettings
from ..pump.log import LogEntry
from ..pump.models import PumpModel, get_model
from ..pump.status import Alarm
from ..pump.therapy import Therapy
from .session import Session

DAY_S = q.SECONDS_PER_DAY


@dataclass
class Interrogation:
    """What the programmer read: the pump's status and therapy, decoded once from the link."""

    time_s: float
    offset_s: int
    model: PumpModel
    drug: Drug
    conc_mg_per_ml: float
    therapy: Therapy
    ptm: PtmSettings | None
    low_reservoir_ml: float
    estimate_ml: float
    state: str
    alarms: tuple[Alarm, ...]
    log: tuple[LogEntry, ...]  # the pump's event-log entries since the asked sequence number
    log_last_seq: int
    battery_to_eri: float
    eri_s: float | None  # when ERI was reached, or its projection
    eri_projected: bool
    end_of_service_s: float | None
    fluid_path_volume_ml: float
    catheter_volume_ml: float
    clock_error_s: float

    def iso(self, t_s: float | None) -> str | None:
        return None if t_s is None else q.iso(t_s, self.offset_s)

    @property
    def flow_ml_per_day(self) -> float:
        return self.therapy.daily_dose_mg() / self.conc_mg_per_ml if self.conc_mg_per_ml > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = self.drug
        return {
            "time": self.iso(self.time_s),
            "model": self.model.model_id,
            "state": self.state,
            "drug": d.name,
            "concentration": d.fmt_concentration(self.conc_mg_per_ml),
            "therapy": self.therapy.to_dict(d.dose_unit),
            "daily_dose": d.fmt_dose_rate(self.therapy.daily_dose_mg()),
            "reservoir_estimate_ml": self.estimate_ml,
            "low_reservoir_alarm_ml": self.low_reservoir_ml,
            "alarms": [a.to_dict() for a in self.alarms],
            "ptm": self.ptm.to_dict() if self.ptm else None,
            "battery": {
                "to_eri_fraction": self.battery_to_eri,
                "eri": self.iso(self.eri_s),
                "eri_projected": self.eri_projected,
                "end_of_service": self.iso(self.end_of_service_s),
            },
            "pump_clock_error_s": self.clock_error_s,
            "log_since_last_session": [e.to_wire() for e in self.log],
            "log_last_seq": self.log_last_seq,
        }


def projected_eri_s(model: PumpModel, t_s: float, battery_to_eri: float, flow_ml_per_day: float) -> float:
    """When the battery reaches ERI at a constant average flow (the pump model's drain law)."""
    drain_per_day = model.battery_drain_per_day + model.battery_drain_per_ml * flow_ml_per_day
    return t_s + battery_to_eri / drain_per_day * DAY_S


def interrogate(session: Session, since_seq: int = 0, *, side_effects: bool = True) -> Interrogation:
    """Read everything a clinician sees at the start of a session.

    ``side_effects=False`` reads the same status without logging an interrogation (used inside
    other workflows so that they do not change the pump's behaviour).
    """
    st = session.read_status(since_seq, side_effects=side_effects)
    th = session.read_therapy()
    model = get_model(st.model_id)
    drug = get_drug(th.drug)
    therapy = th.therapy
    conc = th.concentration_mg_per_ml
    t = st.time_s
    eri_s = st.eri_s
    flow = therapy.daily_dose_mg() / conc if conc > 0 else 0.0
    projected = eri_s is None
    if eri_s is None:
        eri_s = projected_eri_s(model, t, st.battery_to_eri, flow)
    eos = st.end_of_service_s
    if eos is None:
        eos = eri_s + model.eri_to_eos_days * DAY_S
    return Interrogation(
        time_s=t,
        offset_s=st.utc_offset_s,
        model=model,
        drug=drug,
        conc_mg_per_ml=conc,
        therapy=therapy,
        ptm=th.ptm,
        low_reservoir_ml=th.low_reservoir_ml,
        estimate_ml=st.reservoir_estimate_ml,
        state=st.state,
        alarms=st.alarms,
        log=st.log,
        log_last_seq=st.log_last_seq,
        battery_to_eri=st.battery_to_eri,
        eri_s=eri_s,
        eri_projected=projected,
        end_of_service_s=eos,
        fluid_path_volume_ml=st.fluid_path_volume_ml,
        catheter_volume_ml=st.catheter_volume_ml,
        clock_error_s=st.pump_clock_error_s,
    )


def last_increase_s(session: Session) -> float | None:
    """When the programmed daily dose was last increased, from the pump's log (None if not there)."""
    last = None
    for e in session.log_since(0):
        if e.type != "therapy_programmed":
            continue
        if e.number("daily_dose_mg", 0.0) > e.number("previous_daily_dose_mg", 0.0) + 1e-12:
            last = e.time_s
    return last


def render(it: Interrogation) -> str:
    d = it.drug
    lines = [
        f"Pump        {it.model.label}, state {it.state.replace('_', ' ')}",
        f"Time        {it.iso(it.time_s)} (pump clock {it.clock_error_s:+.0f} s)",
        f"Drug        {d.name} {d.fmt_concentration(it.conc_mg_per_ml)}",
        f"Therapy     {it.therapy.describe(d.dose_unit)}; daily dose {d.fmt_dose_rate(it.therapy.daily_dose_mg())}",
        f"Reservoir   {it.estimate_ml:.2f} mL estimated (low-reservoir alarm at {it.low_reservoir_ml:g} mL)",
    ]
    if it.ptm is not None:
        p = it.ptm
        lines.append(
            f"PTM         {'enabled' if p.enabled else 'disabled'}: {d.fmt_amount(p.dose_mg)} over "
            f"{q.fmt_duration(p.duration_s)}, lockout {q.fmt_duration(p.lockout_s)}, {p.max_per_day}/day"
            + (f", 24 h maximum {d.fmt_dose_rate(p.max_daily_dose_mg)}" if p.max_daily_dose_mg is not None else "")
        )
    else:
        lines.append("PTM         not set")
    alarms = ", ".join(f"{a.type.replace('_', ' ')} ({a.severity})" for a in it.alarms) or "none"
    lines.append(f"Alarms      {alarms}")
    eri_word = "projected ERI" if it.eri_projected else "ERI reached"
    lines.append(
        f"Battery     {it.battery_to_eri * 100:.1f}% to ERI; {eri_word} {q.local_date(it.eri_s or 0.0, it.offset_s)}, "
        f"end of service {q.local_date(it.end_of_service_s or 0.0, it.offset_s)}"
    )
    lines.append(f"Log         {len(it.log)} entries since the last session")
    for e in it.log[-30:]:
        keys = sorted(e.details, key=_detail_rank)
        short = ", ".join(f"{k}={_short(e.details[k])}" for k in keys[:4])
        lines.append(f"  {q.iso(e.time_s, it.offset_s)[:16].replace('T', ' ')}  {e.type}  {short}")
    if len(it.log) > 30:
        lines.append(f"  ... {len(it.log) - 30} earlier entries (use --json)")
    return "\n".join(lines)


# The details a clinician reads first, in this order; the rest follow alphabetically.  A fixed order,
# because the telemetry link carries each entry as canonical JSON (sorted keys).
LOG_DETAIL_ORDER = (
    "command",
    "kind",
    "mode",
    "daily_dose_mg",
    "previous_daily_dose_mg",
    "description",
    "expected_ml",
    "withdrawn_ml",
    "discrepancy_ml",
    "filled_ml",
    "dose_mg",
    "duration_s",
)


def _detail_rank(key: str) -> tuple[int, str]:
    return (LOG_DETAIL_ORDER.index(key) if key in LOG_DETAIL_ORDER else len(LOG_DETAIL_ORDER), key)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."
