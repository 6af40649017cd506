"""Save and restore an implant's complete state as plain JSON-able data.

``load(dump(implant))`` gives an implant that behaves identically from that instant on: same
firmware timers, same fluid-path segments, same random-number state.  The piecewise record is
not part of the state (a caller that needs the history keeps it, e.g. the clinic's database);
the event log is, optionally without the simulator-only full history.
"""

from __future__ import annotations

import math
import random
from collections import deque
from typing import Any

from .firmware import ActiveBolus, Alarm, Firmware, PeriodicRun, PtmSettings
from .fluid_path import FluidPath, Segment
from .hardware import Hardware
from .implant import Implant
from .log import EventLog, LogEntry
from .models import get_model
from .record import Record
from .therapy import PeriodicBolus, Therapy

FORMAT_VERSION = 1


def _f(x: float) -> float | None:
    return None if math.isinf(x) else x


def _inf(x: float | None) -> float:
    return math.inf if x is None else float(x)


def therapy_dump(th: Therapy | None) -> dict[str, Any] | None:
    if th is None:
        return None
    out: dict[str, Any] = {"mode": th.mode}
    if th.mode == "simple_continuous":
        out["dose_mg_per_day"] = th.dose_mg_per_day
    elif th.mode == "flex":
        out["steps"] = [[s, d] for s, d in th.flex_steps]
    elif th.mode == "periodic_bolus":
        out["basal_mg_per_day"] = th.basal_mg_per_day
        out["boluses"] = [[b.at_s, b.dose_mg, b.duration_s] for b in th.boluses]
    return out


def therapy_load(d: dict[str, Any] | None) -> Therapy | None:
    if d is None:
        return None
    mode = d["mode"]
    if mode == "stopped":
        return Therapy.stopped()
    if mode == "simple_continuous":
        return Therapy.simple(float(d["dose_mg_per_day"]))
    if mode == "flex":
        return Therapy.flex([(int(s), float(v)) for s, v in d["steps"]])
    return Therapy.periodic(
        [PeriodicBolus(int(a), float(m), float(u)) for a, m, u in d["boluses"]], float(d["basal_mg_per_day"])
    )


def _bolus_dump(b: ActiveBolus | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {
        "kind": b.kind,
        "start_s": b.start_s,
        "end_s": b.end_s,
        "rate_ml_per_day": b.rate_ml_per_day,
        "mg_per_day": b.mg_per_day,
        "dose_mg": b.dose_mg,
        "given_mg": b.given_mg,
        "interrupted_by": b.interrupted_by,
    }


def _bolus_load(d: dict[str, Any] | None) -> ActiveBolus | None:
    if d is None:
        return None
    return ActiveBolus(
        d["kind"],
        d["start_s"],
        d["end_s"],
        d["rate_ml_per_day"],
        d["mg_per_day"],
        d["dose_mg"],
        d.get("given_mg", d["dose_mg"]),
        d.get("interrupted_by"),
    )


def _periodic_dump(p: PeriodicRun | None) -> list[Any] | None:
    return None if p is None else [p.index, p.dose_mg, p.mg_per_day, p.given_mg, p.interrupted_by]


def _periodic_load(d: list[Any] | None) -> PeriodicRun | None:
    return None if d is None else PeriodicRun(int(d[0]), d[1], d[2], d[3], d[4])


def _entry_dump(e: LogEntry) -> list[Any]:
    return [e.seq, e.time_s, e.type, e.details]


def dump(implant: Implant, *, include_history: bool = True) -> dict[str, Any]:
    hw, fw, log = implant.hw, implant.fw, implant.log
    rng_state = implant.rng.getstate()
    return {
        "format": FORMAT_VERSION,
        "model": implant.model.model_id,
        "t_s": implant.t_s,
        "offset_s": implant.offset_s,
        "rng": [rng_state[0], list(rng_state[1]), rng_state[2]],
        "random_flow_accuracy": implant.random_flow_accuracy,
        "flow_accuracy_sd": implant.flow_accuracy_sd,
        "depleted": implant.depleted,
        "field_count": implant.field_count,
        "hardware": {
            "reservoir_ml": hw.reservoir_ml,
            "reservoir_drug": hw.reservoir_drug,
            "reservoir_conc_mg_per_ml": hw.reservoir_conc_mg_per_ml,
            "catheter_length_cm": hw.catheter_length_cm,
            "catheter_ml_per_cm": hw.catheter_ml_per_cm,
            "path": [[s.volume_ml, s.conc_mg_per_ml, s.drug] for s in hw.path.segments],
            "flow_accuracy": hw.flow_accuracy,
            "battery_to_eri": hw.battery_to_eri,
            "catheter_fault": hw.catheter_fault,
            "leak_fraction": hw.leak_fraction,
            "field_present": hw.field_present,
        },
        "firmware": {
            "drug": fw.drug,
            "conc_mg_per_ml": fw.conc_mg_per_ml,
            "offset_s": fw.offset_s,
            "estimate_ml": fw.estimate_ml,
            "low_reservoir_ml": fw.low_reservoir_ml,
            "ptm": fw.ptm.to_dict() if fw.ptm else None,
            "clock_offset_s": fw.clock_offset_s,
            "clock_drift": fw.clock_drift,
            "clock_ref_s": fw.clock_ref_s,
            "therapy": therapy_dump(fw.therapy),
            "suspended": therapy_dump(fw.suspended),
            "bolus": _bolus_dump(fw.bolus),
            "ptm_bolus": _bolus_dump(fw.ptm_bolus),
            "periodic": _periodic_dump(fw.periodic),
            "min_rate_mode": fw.min_rate_mode,
            "motor_stalled": fw.motor_stalled,
            "stall_latched": fw.stall_latched,
            "recover_at_s": _f(fw.recover_at_s),
            "eri_s": fw.eri_s,
            "eos_at_s": _f(fw.eos_at_s),
            "eos": fw.eos,
            "alarms": [[a.type, a.severity, a.raised_s] for a in fw.alarms.values()],
            "ptm_grants": list(fw.ptm_grants),
            "history": [list(h) for h in fw.history],
            "step_idx": fw.step_idx,
            "next_step_s": _f(fw.next_step_s),
        },
        "log": {
            "capacity": log.capacity,
            "seq": log.last_seq,
            "counters": dict(log.counters),
            "device": [_entry_dump(e) for e in log.device],
            "history": [_entry_dump(e) for e in log.history] if include_history else None,
        },
    }


def load(state: dict[str, Any]) -> Implant:
    if state.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported implant state format {state.get('format')!r}")
    model = get_model(state["model"])
    h, f, lg = state["hardware"], state["firmware"], state["log"]
    imp = Implant.__new__(Implant)
    imp.model = model
    imp.t_s = state["t_s"]
    imp.offset_s = state["offset_s"]
    imp.rng = random.Random()
    r = state["rng"]
    imp.rng.setstate((r[0], tuple(r[1]), r[2]))
    imp.random_flow_accuracy = state["random_flow_accuracy"]
    imp.flow_accuracy_sd = state["flow_accuracy_sd"]
    imp.depleted = state["depleted"]
    imp.field_count = state.get("field_count", 1 if state["hardware"]["field_present"] else 0)
    imp.record = Record()

    log = EventLog(lg["capacity"])
    log._seq = lg["seq"]
    log.counters = dict(lg["counters"])
    log.device = deque((LogEntry(s, t, ty, d) for s, t, ty, d in lg["device"]), maxlen=lg["capacity"])
    log.history = [LogEntry(s, t, ty, d) for s, t, ty, d in (lg["history"] or [])]
    imp.log = log

    hw = Hardware.__new__(Hardware)
    hw.model = model
    hw.reservoir_ml = h["reservoir_ml"]
    hw.reservoir_drug = h["reservoir_drug"]
    hw.reservoir_conc_mg_per_ml = h["reservoir_conc_mg_per_ml"]
    hw.catheter_length_cm = h["catheter_length_cm"]
    hw.catheter_ml_per_cm = h["catheter_ml_per_cm"]
    hw.path = FluidPath(0.0, 0.0, "saline")
    hw.path.segments = [Segment(v, c, d) for v, c, d in h["path"]]
    hw.flow_accuracy = h["flow_accuracy"]
    hw.battery_to_eri = h["battery_to_eri"]
    hw.catheter_fault = h["catheter_fault"]
    hw.leak_fraction = h["leak_fraction"]
    hw.field_present = h["field_present"]
    imp.hw = hw

    fw = Firmware.__new__(Firmware)
    fw.model = model
    fw.log = log
    fw.drug = f["drug"]
    fw.conc_mg_per_ml = f["conc_mg_per_ml"]
    fw.offset_s = f["offset_s"]
    fw.estimate_ml = f["estimate_ml"]
    fw.low_reservoir_ml = f["low_reservoir_ml"]
    p = f["ptm"]
    fw.ptm = (
        None
        if p is None
        else PtmSettings(
            p["dose_mg"], p["duration_s"], p["lockout_s"], p["max_per_day"], p["max_daily_dose_mg"], p["enabled"]
        )
    )
    fw.clock_offset_s = f["clock_offset_s"]
    fw.clock_drift = f["clock_drift"]
    fw.clock_ref_s = f["clock_ref_s"]
    therapy = therapy_load(f["therapy"])
    assert therapy is not None
    fw.therapy = therapy
    fw.suspended = therapy_load(f["suspended"])
    fw.bolus = _bolus_load(f["bolus"])
    fw.ptm_bolus = _bolus_load(f["ptm_bolus"])
    fw.periodic = _periodic_load(f.get("periodic"))
    fw.min_rate_mode = f["min_rate_mode"]
    fw.motor_stalled = f["motor_stalled"]
    fw.stall_latched = f["stall_latched"]
    fw.recover_at_s = _inf(f["recover_at_s"])
    fw.eri_s = f["eri_s"]
    fw.eos_at_s = _inf(f["eos_at_s"])
    fw.eos = f["eos"]
    fw.alarms = {t: Alarm(t, s, r) for t, s, r in f["alarms"]}
    fw.ptm_grants = deque(f["ptm_grants"])
    fw.history = deque(tuple(x) for x in f["history"])
    fw.step_idx = f["step_idx"]
    fw.next_step_s = _inf(f["next_step_s"])
    fw.rate_ml_per_day = 0.0
    fw.mg_per_day = 0.0
    fw._recompute()
    imp.fw = fw
    return imp
