"""A slow fixed-step reference simulator: the oracle the event-driven engine must agree with.

It re-implements the pump's rules from the scenario text, independently of ``itdd.pump``:
every ``dt`` seconds it looks up the rate in force (day-cycle step by local time of day, boluses,
magnetic field, faults), moves the reservoir, the estimate and the fluid, and accumulates the
drug at the catheter tip.  Plug flow is modelled differently from the engine: instead of
segments, it keeps the history of what entered the path by *cumulative volume*, and the fluid
leaving the tip is what entered when the cumulative input was ``V_out = V_in - path volume``.

Only what the random scenarios use is covered: simple/flex therapy, PTM requests (lockout, daily
limit, predictive max dose), clinician and priming boluses (saline or drug in the path), MRI with
a resume delay, catheter faults, catheter revisions (a saline catheter in front of the pump's
internal path, primed or not), refills (with or without a concentration change and bridge
bolus), program, stop, resume.
Event times fall on whole seconds so that the grid meets them exactly; what remains is the error
of internal transitions that fall between grid points (bounded by the largest rate x dt each).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from itdd import quantities as q
from itdd.scenario import Scenario

DAY = 86400.0
RESIDUAL_ML = 1.0  # the simulated pump's undeliverable volume (itdd.pump.models, assumption)
INTERNAL_ML = 0.25  # pump internal path volume (assumption, same source)
MIN_RATE = 0.048
MAX_RATE = 24.0


def _steps(spec: Any) -> list[tuple[int, float]] | None:
    if spec.mode == "stopped":
        return None
    if spec.mode == "simple_continuous":
        return [(0, q.parse_dose_rate_mg_per_day(spec.dose))]
    if spec.mode == "flex":
        return sorted((q.parse_time_of_day_s(s.start), q.parse_dose_rate_mg_per_day(s.dose)) for s in spec.steps)
    raise NotImplementedError(spec.mode)


@dataclass
class OracleResult:
    pumped_ml: float = 0.0
    csf_ml: float = 0.0
    csf_mg: float = 0.0
    tissue_mg: float = 0.0
    reservoir_ml: float = 0.0
    estimate_ml: float = 0.0
    decisions: list[tuple[float, bool, str | None, float]] = field(default_factory=list)
    daily_mg: dict[int, float] = field(default_factory=dict)
    hourly_mg: dict[int, float] = field(default_factory=dict)  # hours since the start -> mg to the spinal fluid
    alarm_times: dict[str, float] = field(default_factory=dict)
    n_transitions: int = 0


def run_oracle(scn: Scenario, dt: float = 1.0) -> OracleResult:
    start_dt = q.parse_datetime(scn.start)
    offset = q.offset_of(start_dt)
    t0 = q.to_epoch_s(start_dt)
    t_end = t0 + q.parse_duration_s(scn.duration)
    p = scn.pump
    cap = 20.0 if p.model.endswith("20") else 40.0
    conc = q.parse_concentration_mg_per_ml(p.concentration)  # programmed (firmware) concentration
    res_conc = conc  # actual reservoir concentration
    res = q.parse_volume_ml(p.fill)
    est = res
    low = q.parse_volume_ml(p.low_reservoir_alarm)
    acc = float(p.flow_accuracy.strip("%")) / 100.0
    length_cm = q.parse_length_cm(p.catheter.length)
    per_cm = q.parse_volume_ml(p.catheter.volume_per_cm.split("/")[0])
    path_ml = INTERNAL_ML + length_cm * per_cm
    # plug flow by cumulative volume: (cumulative input at which this fluid starts, its conc)
    inputs: list[tuple[float, float]] = [(0.0, res_conc)]
    path_conc0 = conc if p.primed else 0.0
    cum_in = 0.0
    # The input position now at the tip, and saline a new catheter puts in front of it (a
    # revision replaces the catheter's fluid, not the pump's internal path).
    out_pos = -path_ml
    pending_saline = 0.0

    steps = _steps(scn.therapy)
    initial_steps = steps  # assumed to have run through the 24 h before the start (docs/pump-model.md)
    suspended: list[tuple[int, float]] | None = None
    ptm = scn.ptm
    ptm_dose = q.parse_amount_mg(ptm.dose) if ptm else 0.0
    ptm_dur = q.parse_duration_s(ptm.duration) if ptm else 0.0
    ptm_lock = q.parse_duration_s(ptm.lockout) if ptm else 0.0
    ptm_max_n = ptm.max_per_day if ptm else 0
    ptm_max_mg = q.parse_dose_rate_mg_per_day(ptm.max_daily_dose) if ptm and ptm.max_daily_dose else None

    events: list[tuple[float, int, Any]] = []
    for i, ev in enumerate(scn.events):
        at = ev.at.strip()
        t = t0 + q.parse_duration_s(at[1:]) if at.startswith("+") else q.to_epoch_s(q.parse_datetime(at))
        events.append((t, i, ev))
        if ev.type == "mri":
            events.append((t + q.parse_duration_s(ev.duration), -1, ("field_off", q.parse_duration_s(ev.resume_delay))))
    events.sort(key=lambda x: (x[0], 0 if x[1] == -1 else 1, x[1]))

    clin: tuple[float, float, float] | None = None  # (end, ml/day, believed mg/day)
    ptm_b: tuple[float, float, float] | None = None
    ptm_given = 0.0  # mg the current patient bolus has delivered (a bolus that gave nothing is no grant)
    grants: list[float] = []
    field_on = False
    field_count = 0
    stalled = False
    latched = False
    recover_at = float("inf")
    fault: str | None = None
    leak = 0.0
    min_mode = False
    alarms: set[str] = set()
    out = OracleResult()
    believed: list[float] = []  # believed mg delivered per grid step

    def basal_of(steps_: list[tuple[int, float]] | None, t: float) -> float:
        if steps_ is None:
            return 0.0
        tod = (t + offset) % DAY
        starts = [s for s, _ in steps_]
        i = bisect.bisect_right(starts, tod) - 1
        return steps_[i][1]

    def basal(t: float) -> float:
        return basal_of(steps, t)

    def prior_mg(a: float) -> float:
        """Drug of the initial therapy over [a, t0) (the assumed history before the start)."""
        total = 0.0
        tt = a
        while tt < t0 - 1e-9:
            total += basal_of(initial_steps, tt) * dt / DAY
            tt += dt
        return total

    def running() -> bool:
        return steps is not None

    def commanded(t: float) -> tuple[float, float]:
        if stalled:
            return 0.0, 0.0
        ml = mg = 0.0
        if clin is not None:
            ml, mg = clin[1], clin[2]
        elif running():
            if min_mode:
                ml, mg = MIN_RATE, MIN_RATE * conc
            else:
                mg = basal(t)
                ml = mg / conc
        if ptm_b is not None:
            ml += ptm_b[1]
            mg += ptm_b[2]
        return ml, mg

    def state(t: float) -> str:
        if stalled:
            return "stalled"
        if clin is not None and clin[3] == "priming":  # type: ignore[misc]
            return "priming"
        if not running():
            return "stopped"
        if min_mode:
            return "min"
        return "infusing"

    def drop_ptm() -> None:
        nonlocal ptm_b
        if ptm_b is not None and ptm_given <= 1e-9 and grants:
            grants.pop()
        ptm_b = None

    def check_alarms(t: float) -> None:
        nonlocal min_mode, clin, ptm_b
        if est <= low + 1e-9 and "low" not in alarms:
            alarms.add("low")
            out.alarm_times.setdefault("low_reservoir_alarm", t)
        if est <= RESIDUAL_ML + 1e-9 and running() and "empty" not in alarms:
            alarms.add("empty")
            out.alarm_times.setdefault("reservoir_empty_alarm", t)
            min_mode = True
            if clin is not None and clin[3] != "priming":  # type: ignore[misc]
                clin = None  # a priming bolus runs on (it fills the path)
            drop_ptm()

    check_alarms(t0)
    k = 0
    ei = 0
    n_steps = round((t_end - t0) / dt)
    for k in range(n_steps + 1):
        t = t0 + k * dt
        # timers
        if clin is not None and clin[0] <= t + 1e-9:
            clin = None
        if ptm_b is not None and ptm_b[0] <= t + 1e-9:
            ptm_b = None
        if stalled and not latched and recover_at <= t + 1e-9:
            stalled = False
            recover_at = float("inf")
            alarms.discard("stall")
        while ei < len(events) and events[ei][0] <= t + 1e-9:
            te, idx, ev = events[ei]
            ei += 1
            if idx == -1:
                field_count -= 1
                if field_count > 0:
                    continue
                field_on = False
                if stalled and not latched:
                    recover_at = te + ev[1]
                    if ev[1] <= 0:
                        stalled = False
                        alarms.discard("stall")
                continue
            typ = ev.type
            if typ == "ptm_request":
                if stalled and latched and not field_on:  # the myPTM interrogates first ([S] TGA)
                    stalled = latched = False
                    alarms.discard("stall")
                st = state(te)
                grants[:] = [g for g in grants if g > te - DAY]
                if ptm is None:
                    out.decisions.append((te, False, "not_enabled", 0.0))
                elif st not in ("infusing",):
                    out.decisions.append((te, False, "pump_not_infusing", 0.0))
                elif ptm_b is not None or (grants and te - grants[-1] < ptm_lock):
                    out.decisions.append((te, False, "lockout", 0.0))
                elif len(grants) >= ptm_max_n:
                    out.decisions.append((te, False, "daily_limit", 0.0))
                else:
                    margin = 0.0
                    ok = True
                    if ptm_max_mg is not None:
                        end = te + ptm_dur
                        first = max(0, round((end - DAY - t0) / dt))
                        past = sum(believed[first:k]) + prior_mg(end - DAY)
                        ahead = 0.0
                        tt = te
                        while tt < end - 1e-9:
                            in_clin = clin is not None and tt < clin[0]
                            ahead += (clin[2] if in_clin else basal(tt)) * dt / DAY  # type: ignore[index]
                            tt += dt
                        total = past + ahead + ptm_dose
                        margin = total - ptm_max_mg
                        ok = total <= ptm_max_mg + 1e-12
                    if ok:
                        grants.append(te)
                        mgd = ptm_dose / ptm_dur * DAY
                        ptm_b = (te + ptm_dur, mgd / conc, mgd)
                        ptm_given = 0.0
                        out.decisions.append((te, True, None, margin))
                    else:
                        out.decisions.append((te, False, "max_dose", margin))
            elif typ == "clinician_bolus":
                dose = q.parse_amount_mg(ev.dose)
                dur = q.parse_duration_s(ev.duration)
                clin = (te + dur, dose / conc / dur * DAY, dose / dur * DAY, "clinician")  # type: ignore[assignment]
                if field_on and not stalled:
                    stalled, latched = True, bool(alarms)
                    alarms.add("stall")
            elif typ == "mri":
                field_count += 1
                field_on = True
                if stalled:
                    recover_at = float("inf")
                if (running() or clin is not None or ptm_b is not None) and not stalled:
                    latched = bool(alarms)
                    stalled = True
                    alarms.add("stall")
                    recover_at = float("inf")
            elif typ == "catheter_fault":
                fault = ev.kind
                leak = q.parse_fraction(ev.leak_fraction) if fault == "leak" else 0.0
            elif typ == "refill":
                new_conc = conc if ev.concentration is None else q.parse_concentration_mg_per_ml(ev.concentration)
                withdrawn = res if ev.withdraw == "all" else min(res, q.parse_volume_ml(ev.withdraw))
                left = res - withdrawn
                fill = q.parse_volume_ml(ev.fill)
                assert left + fill <= cap + 1e-9
                res_conc = (left * res_conc + fill * new_conc) / (left + fill)
                res = left + fill
                inputs.append((cum_in, res_conc))
                est = fill + (0.0 if ev.withdraw == "all" else max(est - withdrawn, 0.0))
                old_conc = conc
                conc = new_conc
                if clin is not None and clin[3] == "bridge":  # type: ignore[misc]
                    clin = None
                if est > RESIDUAL_ML:
                    min_mode = False
                    alarms.discard("empty")
                if est > low:
                    alarms.discard("low")
                changed = abs(new_conc - old_conc) > 1e-12
                bridge = changed if ev.bridge_bolus is None else (ev.bridge_bolus and changed)
                if bridge and running():
                    mgd = basal(te)
                    rate = min(max(mgd / old_conc, MIN_RATE), MAX_RATE)
                    clin = (te + path_ml / rate * DAY, rate, rate * old_conc, "bridge")  # type: ignore[assignment]
            elif typ == "catheter_revision":
                if ev.length is not None:
                    length_cm = q.parse_length_cm(ev.length)
                cath = length_cm * per_cm
                path_ml = INTERNAL_ML + cath
                fault, leak = None, 0.0
                pending_saline = cath
                out_pos = cum_in - INTERNAL_ML  # the internal path keeps what it holds
                if ev.priming_bolus is not False:
                    vol = cath if ev.priming_bolus == "catheter" else path_ml
                    clin = (te + vol / MAX_RATE * DAY, MAX_RATE, MAX_RATE * conc, "priming")  # type: ignore[assignment]
            elif typ == "priming_bolus":
                vol = path_ml if ev.volume is None else q.parse_volume_ml(ev.volume)
                rate = MAX_RATE if ev.rate is None else q.parse_flow_ml_per_day(ev.rate)
                clin = (te + vol / rate * DAY, rate, rate * conc, "priming")  # type: ignore[assignment]
            elif typ == "program":
                steps = _steps(ev.therapy)
                suspended = None
                if clin is not None and clin[3] != "priming":  # type: ignore[misc]
                    clin = None
            elif typ == "stop":
                if running():
                    suspended = steps
                steps = None
                clin = None
                drop_ptm()
            elif typ == "resume":
                if suspended is not None:
                    steps, suspended = suspended, None
                    if field_on and not stalled:
                        stalled, latched = True, bool(alarms)
                        alarms.add("stall")
            elif typ == "interrogate" and stalled and latched and not field_on:
                stalled = latched = False
                alarms.discard("stall")
            if field_on and not stalled and (running() or clin is not None or ptm_b is not None):
                latched = bool(alarms)
                stalled = True
                alarms.add("stall")
                recover_at = float("inf")
            check_alarms(te)
        if k == n_steps:
            break
        ml, mg = commanded(t)
        priming_mg = clin[2] if clin is not None and clin[3] == "priming" and not stalled else 0.0  # type: ignore[misc]
        believed.append((mg - priming_mg) * dt / DAY)  # priming is not counted as drug (docs/pump-model.md)
        if ptm_b is not None and not stalled:
            ptm_given += ptm_b[2] * dt / DAY
        if ml > 0:
            est = max(est - ml * dt / DAY, 0.0)
            flow = 0.0 if (field_on or fault == "occlusion" or res <= RESIDUAL_ML + 1e-12) else ml * acc
            vol = min(flow * dt / DAY, max(res - RESIDUAL_ML, 0.0))
            if vol > 0:
                res -= vol
                # fluid leaving the tip: first any saline of a new catheter, then the input
                # positions [out_pos, out_pos + the rest]
                saline = min(vol, pending_saline)
                pending_saline -= saline
                a = out_pos
                b = a + vol - saline
                out_pos = b
                mg_out = 0.0
                x = a
                while x < b - 1e-15:
                    if x < 0:
                        seg_end = min(0.0, b)
                        mg_out += (seg_end - x) * path_conc0
                    else:
                        j = bisect.bisect_right([c for c, _ in inputs], x) - 1
                        nxt = inputs[j + 1][0] if j + 1 < len(inputs) else float("inf")
                        seg_end = min(nxt, b)
                        mg_out += (seg_end - x) * inputs[j][1]
                    x = seg_end
                cum_in += vol
                frac = 1.0 if fault is None else (1.0 - leak if fault == "leak" else 0.0)
                out.pumped_ml += vol
                out.csf_ml += vol * frac
                out.csf_mg += mg_out * frac
                out.tissue_mg += mg_out * (1 - frac)
                day = int((t + offset) // DAY)
                out.daily_mg[day] = out.daily_mg.get(day, 0.0) + mg_out * frac
                hour = int((t - t0) // 3600)
                out.hourly_mg[hour] = out.hourly_mg.get(hour, 0.0) + mg_out * frac
        check_alarms(t + dt)
    out.reservoir_ml = res
    out.estimate_ml = est
    return out
