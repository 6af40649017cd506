"""The implant's hot loop: :meth:`Implant.run_until` as one function, exact to the last bit.

:class:`~itdd.pump.implant.Implant` defines what one step of time is, in three small methods
that read as the model: :meth:`~itdd.pump.implant.Implant.next_change_s` (the next breakpoint),
:meth:`~itdd.pump.implant.Implant._advance` (move every amount exactly to it, record the
interval) and :meth:`~itdd.pump.implant.Implant._on_time` (handle what is due there).  A year of
a flex day cycle with patient boluses is ~5,000 such steps, and in Python most of their cost is
the calls and attribute look-ups between those methods and the firmware's and hardware's own
(``Firmware.next_change_s``, ``Firmware.consume``, ``Hardware.actual_flow_ml_per_day``,
``FluidPath.push``, ``Record.append``...), not the arithmetic.

:func:`run_until` is the same loop with those methods written inline, on local names.  It
computes **the same floating-point expressions, on the same operands, in the same order**, so
every amount, breakpoint, record row and log entry is identical bit for bit
(``tests/pump/test_stepper.py`` runs both loops over random command sequences and compares the
whole implant state).  Only what is provably a no-op is skipped:

* ``min()`` over the candidate breakpoints becomes comparisons (the minimum of floats does not
  depend on the order it is taken in);
* the firmware's ``on_time`` at an instant where no timer is due, no alarm threshold is reached
  and the battery and reservoir are not at a threshold (the instant of an external action, e.g. a
  patient's bolus request) changes nothing: its reservoir check raises nothing and its rate
  recomputation gives the rate it already has (every command recomputes the rate itself, the
  invariant ``Firmware._recompute`` documents);
* a day-cycle step boundary on its own (nothing else due) is the firmware's ``_next_step``
  followed by ``_recompute``, done here without the general dispatch;
* the record's row and the firmware's state name are the ones the methods would produce; the
  state name changes only where the full ``_on_time`` runs, so it is read again only there.

Everything rarer — a bolus ending, an alarm threshold, the battery's ERI, a magnetic field, the
floating-point edge of a breakpoint due now — goes through the reference methods themselves.

Two loops share this.  :func:`itdd.pump.plain.run_plain` (its own module) runs the **plain
regime** (:func:`~itdd.pump.plain.plain_ok`: a flex or simple day cycle with at most a patient
bolus on it, the fluid path one segment of the reservoir's own fluid, no alarm level reached
that is not raised yet) with every amount in a local name, written back to the implant whenever
it returns; there the state's name is ``infusing``, a rate change is a step's dose over the
concentration plus the patient bolus, and the threshold breakpoints and due checks are skipped
before a *safe horizon* that no amount can reach a threshold by, at the highest rate the call can
command (with 60 s of margin).  :func:`_general` handles every other case, as described above,
and hands back to the plain regime as soon as it holds again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .delivered import record as record_delivery
from .firmware import EPS_ML, EPS_S, INF
from .plain import GENERAL, ON_TIME, plain_ok, run_plain
from .therapy import DAY_S

if TYPE_CHECKING:
    from .implant import Implant

MAX_STEPS_PER_RUN = 50_000_000


def run_until(imp: Implant, t_end_s: float) -> None:
    """Move ``imp`` exactly to ``t_end_s`` (see the module's docstring for why this is exact)."""
    while True:
        code = run_plain(imp, t_end_s)
        if code is ON_TIME:
            imp._on_time()
        elif code is GENERAL:
            _general(imp, t_end_s)
        else:  # DONE: the implant is at t_end_s (or was past it)
            return


def _general(imp: Implant, t_end_s: float) -> None:
    """Every case: from ``imp.t_s`` to ``t_end_s``, or until the plain regime holds again."""
    t0 = imp.t_s
    if not t0 < t_end_s:
        return
    fw, hw, model = imp.fw, imp.hw, imp.model
    path = hw.path
    history = fw.history
    cums = fw.history_cums()
    residual = model.residual_ml
    res_floor = residual + EPS_ML
    drain_day, drain_ml = model.battery_drain_per_day, model.battery_drain_per_ml
    low = fw.low_reservoir_ml
    low_floor = low + EPS_ML
    (a_t0, a_t1, a_pumped, a_csf_ml, a_csf_mg, a_tissue, a_prog, a_res, a_est, a_cmd, a_drug, a_state) = (
        imp.record.appenders
    )
    # What only a command changes (none runs inside this call): the hardware's flow conditions,
    # the reservoir's contents, the catheter's share to the spinal fluid (Hardware.csf_fraction).
    field_present = hw.field_present
    flowing = not (field_present or hw.catheter_fault == "occlusion")
    flow_accuracy = hw.flow_accuracy
    r_conc, r_drug = hw.reservoir_conc_mg_per_ml, hw.reservoir_drug
    fault = hw.catheter_fault
    frac = 1.0 if fault is None else (1.0 - hw.leak_fraction if fault == "leak" else 0.0)
    # The common fluid path: one segment of the reservoir's own fluid.  Pushing that fluid keeps
    # it so (FluidPath.push adds to the segment and takes as much from it): no front to schedule,
    # and the tip's drug stays the segment's.
    one = None
    segs = path.segments
    if len(segs) == 1 and segs[0].conc_mg_per_ml == r_conc and segs[0].drug == r_drug:
        one = segs[0]
    # The estimate's next alarm level (Firmware.next_change_s): the highest of the low-reservoir
    # level, the residual and zero that the estimate is above.  The estimate only falls inside
    # this call, so the level stays until the estimate reaches it.
    level = level_floor = INF
    state = fw.state
    steps = 0
    while t0 < t_end_s:
        steps += 1
        if steps > MAX_STEPS_PER_RUN:  # pragma: no cover - a bug guard, never expected
            raise RuntimeError("the engine made no progress")
        if steps > 1 and plain_ok(imp):
            return
        # ---- the next breakpoint (Implant.next_change_s and Firmware.next_change_s) ----------
        nxt = fw.next_step_s
        x = fw.recover_at_s
        if x < nxt:
            nxt = x
        if not fw.eos:
            x = fw.eos_at_s
            if x < nxt:
                nxt = x
        b = fw.bolus
        if b is not None:
            x = b.end_s
            if x < nxt:
                nxt = x
        p = fw.ptm_bolus
        if p is not None:
            x = p.end_s
            if x < nxt:
                nxt = x
        rate = fw.rate_ml_per_day
        q = 0.0
        if rate > 0.0:
            est = fw.estimate_ml
            if not est > level_floor:
                level = -1.0
                if est > low_floor and low > level:
                    level = low
                if est > res_floor and residual > level:
                    level = residual
                if est > EPS_ML and level < 0.0:
                    level = 0.0
                level_floor = level + EPS_ML
            if level >= 0.0:
                x = t0 + (est - level) / rate * DAY_S
                if x < nxt:
                    nxt = x
            # Hardware.actual_flow_ml_per_day
            if flowing and not hw.reservoir_ml <= res_floor:
                q = rate * flow_accuracy
            if q > 0.0:
                x = t0 + (hw.reservoir_ml - residual) / q * DAY_S
                if x < nxt:
                    nxt = x
                if one is not None:
                    pass
                elif len(segs := path.segments) > 1:
                    x = t0 + segs[0].volume_ml / q * DAY_S
                    if x < nxt:
                        nxt = x
                elif segs:
                    tip = segs[0]
                    if tip.conc_mg_per_ml != r_conc or tip.drug != r_drug:
                        x = t0 + tip.volume_ml / q * DAY_S
                        if x < nxt:
                            nxt = x
        eri_pending = fw.eri_s is None
        drain = 0.0
        if eri_pending:
            drain = drain_day + drain_ml * rate
            x = t0 + hw.battery_to_eri / drain * DAY_S
            if x < nxt:
                nxt = x
        t1 = nxt if nxt < t_end_s else t_end_s
        if t1 <= t0:
            # A threshold due now that was not handled (floating-point edge): the reference loop.
            imp._on_time()
            t1 = min(imp.next_change_s(), t_end_s)
            if t1 <= imp.t_s:
                t1 = min(imp.t_s + 1e-3, t_end_s)
            imp._advance(t1)
            imp._on_time()
            state = fw.state
            t0 = imp.t_s
            continue
        # ---- move exactly to t1 (Implant._advance, Firmware.consume, FluidPath.push) ---------
        days = (t1 - t0) / DAY_S
        res0, est0 = hw.reservoir_ml, fw.estimate_ml
        pumped = csf_ml = csf_mg = tissue_mg = 0.0
        if one is not None:
            drug = one.drug
        else:
            segs = path.segments
            drug = segs[0].drug if segs else hw.reservoir_drug
        if rate > 0.0:
            if q > 0.0:
                pumped = q * days
                res = res0 - pumped
                if res <= res_floor:
                    res = residual
                hw.reservoir_ml = res
                if one is not None:
                    # one fluid, the reservoir's: what goes in comes out at the same concentration
                    one.volume_ml += pumped
                    out_ml, out_mg = pumped, 0.0 + pumped * one.conc_mg_per_ml
                    one.volume_ml -= pumped
                else:
                    out_ml, out_mg = path.push(pumped, r_conc, r_drug)
                csf_ml, csf_mg = out_ml * frac, out_mg * frac
                tissue_mg = out_mg - csf_mg
            # Firmware.consume (its rate is the commanded rate, > 0 here)
            est = est0 - rate * days
            fw.estimate_ml = est if est > EPS_ML else 0.0
            mg = fw.mg_per_day
            if mg > 0.0:
                if b is not None:
                    b.given_mg += b.mg_per_day * days
                    if b.kind == "priming":
                        mg -= b.mg_per_day
                if p is not None:
                    p.given_mg += p.mg_per_day * days
                pr = fw.periodic
                if pr is not None and b is None and not fw.min_rate_mode:
                    pr.given_mg += pr.mg_per_day * days
            if mg > 0.0:
                record_delivery(history, cums, t0, t1, mg)
        if eri_pending:
            hw.battery_to_eri -= drain * days
        a_t0(t0)
        a_t1(t1)
        a_pumped(pumped)
        a_csf_ml(csf_ml)
        a_csf_mg(csf_mg)
        a_tissue(tissue_mg)
        a_prog(fw.mg_per_day * days)
        a_res(res0)
        a_est(est0)
        a_cmd(rate * days)
        a_drug(drug)
        a_state(state)
        imp.t_s = t0 = t1
        # ---- what is due at t1 (Implant._on_time, Firmware.on_time) ---------------------------
        due = t1 + EPS_S
        est = fw.estimate_ml
        if (
            field_present
            or (eri_pending and hw.battery_to_eri <= 1e-12)
            or (not imp.depleted and hw.reservoir_ml <= res_floor)
            or est <= low_floor
            or est <= res_floor
            or fw.recover_at_s <= due
            or (fw.eos_at_s <= due and not fw.eos)
            or (b is not None and b.end_s <= due)
        ):
            imp._on_time()
            state = fw.state
            continue
        # Only a patient bolus's end or a step boundary may be due: Firmware.on_time handles them
        # in this order, then recomputes the rate (neither changes the state's name).
        changed = False
        if p is not None and p.end_s <= due:
            fw.ptm_bolus = None
            fw._log_bolus_end(t1, "ptm", p.dose_mg, p.given_mg, p.interrupted_by)
            fw._forget_empty_grant(p)
            changed = True
        if fw.next_step_s <= due:
            th = fw.therapy
            if th.mode == "periodic_bolus":
                imp._on_time()  # the rest of Firmware.on_time (the patient bolus is done)
                state = fw.state
                continue
            # Firmware._next_step for a flex or simple day cycle
            lengths = fw.step_lengths_s()
            n = len(lengths)
            while fw.next_step_s <= due:
                idx = (fw.step_idx + 1) % n
                fw.step_idx = idx
                fw.next_step_s += lengths[idx]
            changed = True
        if changed:
            fw._recompute()
