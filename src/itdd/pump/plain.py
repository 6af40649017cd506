"""The hot loop's plain regime: :func:`run_plain`, the common case of ``Implant.run_until``.

A flex or simple day cycle with at most a patient bolus running, the fluid path one segment of the
reservoir's own fluid, no alarm level reached that is not raised yet (:func:`plain_ok`): the
common case of a pump-year (workload (b) of ``make bench`` and the care pathway's pumps alike).
Here the loop keeps every amount in a local name for the whole call and skips, before a safe
horizon, the breakpoints and due checks of thresholds no amount can reach yet.  Every expression
is :func:`itdd.pump.stepper._general`'s (and so the reference loop's,
``Implant.run_until_stepwise``), on the same operands, in the same order:
``tests/pump/test_stepper.py`` compares the whole implant, bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .delivered import DAY_F, SCALE, TWO_DAYS_S
from .firmware import EPS_ML, EPS_S, INF

if TYPE_CHECKING:
    from .implant import Implant

# What run_plain returns: run Implant._on_time() at the implant's instant, then go on; or run the
# general loop from it; or the implant is at the end.
ON_TIME, GENERAL, DONE = "on_time", "general", "done"


def plain_ok(imp: Implant) -> bool:
    """Is the implant in the plain regime?  Its day cycle (flex or simple) runs with at most a
    patient bolus on it: no clinician, priming or bridge bolus, no periodic window, no minimum
    rate, no stall, no end of service, no magnetic field, no occlusion; the reservoir above its
    residual volume and the estimate above the alarm levels not yet raised; and the fluid path one
    segment of the reservoir's own fluid.  Nothing but a patient bolus's end, a step boundary
    and the thresholds :func:`run_plain` watches can then change anything."""
    fw, hw = imp.fw, imp.hw
    if (
        fw.bolus is not None
        or fw.periodic is not None
        or fw.min_rate_mode
        or fw.motor_stalled
        or fw.eos
        or imp.depleted
        or hw.field_present
        or hw.catheter_fault == "occlusion"
        or not fw.rate_ml_per_day > 0.0
        or not fw.mg_per_day > 0.0
        or not fw.conc_mg_per_ml > 0.0
        or not hw.flow_accuracy > 0.0
        or not fw.rate_ml_per_day * hw.flow_accuracy > 0.0
    ):
        return False
    mode = fw.therapy.mode
    if mode == "periodic_bolus" or mode == "stopped":
        return False
    res_floor = imp.model.residual_ml + EPS_ML
    est = fw.estimate_ml
    if not (hw.reservoir_ml > res_floor and est > res_floor):
        return False
    if not est > fw.low_reservoir_ml + EPS_ML and "low_reservoir" not in fw.alarms:
        return False
    segs = hw.path.segments
    if len(segs) != 1:
        return False
    return segs[0].conc_mg_per_ml == hw.reservoir_conc_mg_per_ml and segs[0].drug == hw.reservoir_drug


def run_plain(imp: Implant, t_end_s: float) -> str:
    """The plain regime (:func:`plain_ok`) from ``imp.t_s`` towards ``t_end_s``, on local names.

    The same expressions as :func:`itdd.pump.stepper._general` (and the reference methods), on the same operands,
    in the same order, with the state the plain regime fixes read once: the state's name is
    ``infusing`` (``Firmware.state``); the rate changes only at a step boundary or a patient
    bolus's end, where :meth:`Firmware._recompute` reduces to a step's dose over the
    concentration plus the patient bolus; the estimate's next alarm level stays (the estimate
    only falls, and reaching that level ends the regime); the fluid path keeps its one segment.
    The amounts live in local names and are written back to the implant whenever this returns.
    """
    t0 = imp.t_s
    if not t0 < t_end_s:
        return DONE
    # the plain regime's conditions (plain_ok's, read once into the names the loop uses)
    fw, hw = imp.fw, imp.hw
    if (
        fw.bolus is not None
        or fw.periodic is not None
        or fw.min_rate_mode
        or fw.motor_stalled
        or fw.eos
        or imp.depleted
        or hw.field_present
    ):
        return GENERAL
    fault = hw.catheter_fault
    if fault is None:
        frac = 1.0
    elif fault == "occlusion":
        return GENERAL
    else:
        frac = 1.0 - hw.leak_fraction if fault == "leak" else 0.0
    whole = frac == 1.0
    rate, mg, conc = fw.rate_ml_per_day, fw.mg_per_day, fw.conc_mg_per_ml
    flow_accuracy = hw.flow_accuracy
    q = rate * flow_accuracy  # (> 0 only if both are: neither is ever negative)
    th = fw.therapy
    mode = th.mode
    if not (q > 0.0 and mg > 0.0 and conc > 0.0) or mode == "periodic_bolus" or mode == "stopped":
        return GENERAL
    model = imp.model
    residual = model.residual_ml
    res_floor = residual + EPS_ML
    res, est = hw.reservoir_ml, fw.estimate_ml
    low = fw.low_reservoir_ml
    low_floor = low + EPS_ML
    if not (res > res_floor and est > res_floor):
        return GENERAL
    # The estimate's next alarm level (Firmware.next_change_s: the highest of the low-reservoir
    # level, the residual and zero that the estimate is above) and the estimate at which
    # Firmware.on_time has something to do (the level of an alarm not raised yet).  With both
    # levels >= 0 and the estimate above the residual's: the low level's if the estimate is
    # above it and it is the higher; otherwise the residual's.
    if est > low_floor:
        if residual > low:
            level, est_floor = residual, res_floor
        else:
            level, est_floor = low, low_floor
    elif "low_reservoir" in fw.alarms:
        level, est_floor = residual, res_floor
    else:
        return GENERAL
    if not (low >= 0.0 and residual >= 0.0):
        return GENERAL
    segs = hw.path.segments
    if len(segs) != 1:
        return GENERAL
    one = segs[0]
    one_conc, drug = one.conc_mg_per_ml, one.drug
    if one_conc != hw.reservoir_conc_mg_per_ml or drug != hw.reservoir_drug:
        return GENERAL
    vol = one.volume_ml
    drain_day, drain_ml = model.battery_drain_per_day, model.battery_drain_per_ml
    drain = drain_day + drain_ml * rate
    eri_pending = fw.eri_s is None
    bat = hw.battery_to_eri
    lim = fw.recover_at_s
    if fw.eos_at_s < lim:
        lim = fw.eos_at_s
    steps = th.steps
    lengths = fw._lengths  # Firmware.step_lengths_s(), its cache read in place
    if fw._lengths_of is not th or fw._lengths_drift != fw.clock_drift:
        lengths = fw.step_lengths_s()
    n = len(lengths)
    idx, nstep = fw.step_idx, fw.next_step_s
    p = fw.ptm_bolus
    p_end = INF if p is None else p.end_s
    history = fw.history
    cums = fw._cums  # Firmware.history_cums(), its cache read in place
    if fw._cums_of is not history or len(cums) != len(history) + 1:
        cums = fw.history_cums()
    cum = cums[-1]
    if history:
        h_first, h_end, h_mg = history[-1]
        cum_prev = cums[-2]
    else:
        h_first = h_end = h_mg = -1.0
        cum_prev = 0
    (a_t0, a_t1, a_pumped, a_csf_ml, a_csf_mg, a_tissue, a_prog, a_res, a_est, a_cmd, a_drug, a_state) = (
        imp.record.appenders
    )
    # The safe horizon: before it no amount can reach a threshold.  No rate in this call exceeds
    # rate_max (a step's dose over the concentration plus the patient bolus running now: none
    # starts inside a call), so the estimate, the reservoir and the battery fall at most at
    # rate_max, rate_max * flow_accuracy and the drain at rate_max; each reaches its threshold
    # (the one its breakpoint aims at, and the one its due check reads) no earlier than its
    # amount above it over that rate, less 60 s and a millionth (far more than every rounding
    # of the amounts and instants).  So until the next breakpoint passes it, their candidate
    # breakpoints are later than the other ones (and skipping them leaves the minimum as it is),
    # and until an interval ends after it, their due checks are false.
    max_dose = fw._max_dose
    if fw._max_dose_of is not th:
        fw._max_dose = max_dose = max(st.dose_mg_per_day for st in steps)
        fw._max_dose_of = th
    rate_max = max_dose / conc
    if p is not None:
        rate_max += p.rate_ml_per_day
    if rate > rate_max:
        rate_max = rate
    rate_max *= 1.000001
    span = DAY_F * 0.999999
    safe = t0 + (est - est_floor) / rate_max * span - 60.0
    x = t0 + (res - res_floor) / (rate_max * flow_accuracy) * span - 60.0
    if x < safe:
        safe = x
    if eri_pending:
        x = t0 + (bat - 1e-12) / (drain_day + drain_ml * rate_max) * span - 60.0
        if x < safe:
            safe = x
    code = DONE
    try:
        while t0 < t_end_s:
            # ---- the next breakpoint ---------------------------------------------------------
            nxt = nstep
            if lim < nxt:
                nxt = lim
            if p_end < nxt:
                nxt = p_end
            if nxt > safe:
                x = t0 + (est - level) / rate * DAY_F
                if x < nxt:
                    nxt = x
                x = t0 + (res - residual) / q * DAY_F
                if x < nxt:
                    nxt = x
                if eri_pending:
                    x = t0 + bat / drain * DAY_F
                    if x < nxt:
                        nxt = x
            t1 = nxt if nxt < t_end_s else t_end_s
            if t1 <= t0:
                code = GENERAL  # a threshold due now: the general loop's edge handling
                break
            # ---- move exactly to t1 ----------------------------------------------------------
            days = (t1 - t0) / DAY_F
            pumped = q * days
            res0 = res
            res = res0 - pumped
            if res <= res_floor:
                res = residual
            vol += pumped
            out_mg = pumped * one_conc  # FluidPath.push's 0.0 + out_mg: the same, out_mg >= +0.0
            vol -= pumped
            if whole:  # x * 1.0 is x; out_mg - out_mg is +0.0
                csf_ml, csf_mg, tissue_mg = pumped, out_mg, 0.0
            else:
                csf_ml, csf_mg = pumped * frac, out_mg * frac
                tissue_mg = out_mg - csf_mg
            est0 = est
            est = est0 - rate * days
            if not est > EPS_ML:
                est = 0.0
            if p is not None:
                p.given_mg += p.mg_per_day * days
            # itdd.pump.delivered.record, inline (its running count too)
            if h_mg == mg and abs(h_end - t0) < EPS_S:
                history[-1] = (h_first, t1, mg)
                cum = cum_prev + int(mg * (t1 - h_first) / DAY_F * SCALE) + 1
                cums[-1] = cum
            else:
                history.append((t0, t1, mg))
                cum_prev = cum
                cum += int(mg * (t1 - t0) / DAY_F * SCALE) + 1
                cums.append(cum)
                h_first, h_mg = t0, mg
            h_end = t1
            horizon = t1 - TWO_DAYS_S
            while history[0][1] < horizon:
                history.popleft()
                cums.popleft()
            if eri_pending:
                bat -= drain * days
            a_t0(t0)
            a_t1(t1)
            a_pumped(pumped)
            a_csf_ml(csf_ml)
            a_csf_mg(csf_mg)
            a_tissue(tissue_mg)
            a_prog(mg * days)
            a_res(res0)
            a_est(est0)
            a_cmd(rate * days)
            a_drug(drug)
            a_state("infusing")
            t0 = t1
            # ---- what is due at t1 -----------------------------------------------------------
            due = t1 + EPS_S
            if lim <= due or (t1 > safe and (res <= res_floor or est <= est_floor or (eri_pending and bat <= 1e-12))):
                code = ON_TIME
                break
            changed = False
            if p_end <= due and p is not None:
                fw.ptm_bolus = None
                fw._log_bolus_end(t1, "ptm", p.dose_mg, p.given_mg, p.interrupted_by)
                fw._forget_empty_grant(p)
                p = None
                p_end = INF
                changed = True
            if nstep <= due:
                while nstep <= due:
                    idx = (idx + 1) % n
                    nstep += lengths[idx]
                changed = True
            if changed:  # Firmware._recompute
                mg = steps[idx].dose_mg_per_day
                rate = mg / conc
                if p is not None:
                    rate += p.rate_ml_per_day
                    mg += p.mg_per_day
                q = rate * flow_accuracy
                if not (q > 0.0 and mg > 0.0):
                    code = GENERAL
                    break
                drain = drain_day + drain_ml * rate
    finally:
        imp.t_s = t0
        hw.reservoir_ml = res
        fw.estimate_ml = est
        hw.battery_to_eri = bat
        one.volume_ml = vol
        fw.step_idx, fw.next_step_s = idx, nstep
        fw.rate_ml_per_day, fw.mg_per_day = rate, mg
    return code
