"""Smaller clinician tools: priming bolus, titration planner, clock check, catheter-access-port hazard."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import quantities as q
from ..drugs import Drug
from ..drugs.guardrails import Confirmation, Finding, check_titration_plan, classify, enforce
from ..errors import InputError, SafetyRefusal
from ..pump.implant import Implant
from ..pump.models import PumpModel
from ..pump.therapy import Therapy
from ..telemetry.messages import ClockReply
from ..timeunits import SECONDS_PER_HOUR, SECONDS_PER_HOUR_INT
from .session import Session

DAY_S = q.SECONDS_PER_DAY
MAX_TITRATION_STEPS = 100  # assumption: a longer plan is a sign of a wrong step size


# ---- priming bolus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrimingPlan:
    catheter_length_cm: float
    catheter_ml_per_cm: float
    catheter_ml: float
    internal_ml: float
    volume_ml: float
    rate_ml_per_day: float
    duration_s: float
    drug_mg: float
    after_revision: bool = False
    catheter_only: bool = False
    warning: str | None = None  # the overdose hazard of priming the whole path after a revision

    @property
    def catheter_only_volume_ml(self) -> float:
        return self.catheter_ml

    def to_dict(self) -> dict[str, Any]:
        return {
            "catheter_length_cm": self.catheter_length_cm,
            "catheter_volume_ml": self.catheter_ml,
            "pump_internal_volume_ml": self.internal_ml,
            "priming_volume_ml": self.volume_ml,
            "rate_ml_per_day": self.rate_ml_per_day,
            "duration": q.fmt_duration(self.duration_s),
            "drug_in_path_mg": self.drug_mg,
            "after_revision": self.after_revision,
            "catheter_only": self.catheter_only,
            "catheter_only_volume_ml": self.catheter_ml,
            "warning": self.warning,
        }


def revision_priming_warning(model: PumpModel, catheter_ml: float, conc_mg_per_ml: float, rate: float) -> str:
    """The hazard of a whole-path priming bolus after a catheter revision, in numbers.

    Only the catheter is new (full of saline); the pump's internal path still holds drug.  A
    priming bolus of the whole path volume pushes the saline out and then the internal path's
    drug, at the priming rate, straight into the spinal fluid (sources in docs/pump-model.md:
    FDA Class I recall 2013 and MHRA MDA/2013/042 on the priming bolus)."""
    internal = model.internal_volume_ml
    mg = internal * conc_mg_per_ml
    minutes = internal / rate * DAY_S / 60.0
    return (
        f"after a catheter revision the pump's internal path still holds {internal:g} mL of drug "
        f"({mg:.4g} mg at {conc_mg_per_ml:g} mg/mL): priming the whole path pushes it into the spinal fluid "
        f"in about {minutes:.0f} min at {q.fmt_flow(rate)}. Prime the catheter only: {catheter_ml:.3f} mL "
        "(--catheter-only)."
    )


def priming_plan(
    model: PumpModel,
    catheter_length_cm: float,
    catheter_ml_per_cm: float,
    conc_mg_per_ml: float,
    rate_ml_per_day: float | None = None,
    *,
    after_revision: bool = False,
    catheter_only: bool = False,
) -> PrimingPlan:
    """Volume to fill the fluid path after implant: the pump's internal path plus the catheter
    (length x volume per cm), pushed at the priming rate (default: maximum).

    After a catheter revision (``after_revision``) the plan carries a warning and offers the
    catheter-only volume; ``catheter_only`` primes just the catheter."""
    if catheter_length_cm <= 0:
        raise InputError("catheter_length", "must be more than 0 cm")
    if catheter_ml_per_cm <= 0:
        raise InputError("catheter_volume_per_cm", "must be more than 0 mL/cm")
    rate = model.max_rate_ml_per_day if rate_ml_per_day is None else rate_ml_per_day
    if not model.min_rate_ml_per_day <= rate <= model.max_rate_ml_per_day:
        raise SafetyRefusal(
            "rate",
            f"{q.fmt_flow(rate)} is outside the pump's {q.fmt_flow(model.min_rate_ml_per_day)}.."
            f"{q.fmt_flow(model.max_rate_ml_per_day)}",
            rule="max_rate",
        )
    cath = catheter_length_cm * catheter_ml_per_cm
    vol = cath if catheter_only else model.internal_volume_ml + cath
    warning = None
    if after_revision and not catheter_only:
        warning = revision_priming_warning(model, cath, conc_mg_per_ml, rate)
    return PrimingPlan(
        catheter_length_cm,
        catheter_ml_per_cm,
        cath,
        model.internal_volume_ml,
        vol,
        rate,
        vol / rate * DAY_S,
        vol * conc_mg_per_ml,
        after_revision,
        catheter_only,
        warning,
    )


def prime(session: Session, plan: PrimingPlan) -> dict[str, Any]:
    """Start the priming bolus (once, even over a lossy link) and verify the pump is priming."""
    seq0 = session.last_seq()

    def verify() -> bool:
        return session.read("read_status", {"since_seq": 1 << 62})["state"] == "priming"

    res = session.write(
        "priming_bolus",
        {"volume_ml": plan.volume_ml, "rate_ml_per_day": plan.rate_ml_per_day},
        verify=verify,
        applied=session.log_entry_since(seq0, "bolus_started", lambda e: e.details.get("kind") == "priming"),
    )
    return {**plan.to_dict(), "state": "priming", "delivery_certain": res.certain, "link_notes": list(session.notes)}


# ---- titration planner -------------------------------------------------------------------------------


@dataclass
class TitrationPlan:
    drug: Drug
    steps: list[tuple[float, float]]  # (time_s, daily dose mg)
    step_fraction: float
    interval_s: float
    findings: list[Finding]
    confirmations: list[Confirmation] = field(default_factory=list)

    def to_dict(self, offset_s: int = 0) -> dict[str, Any]:
        d = self.drug
        rows = []
        prev = None
        for t, dose in self.steps:
            rows.append(
                {
                    "date": q.local_date(t, offset_s),
                    "time": q.iso(t, offset_s),
                    "daily_dose": d.fmt_dose_rate(dose),
                    "daily_dose_mg": dose,
                    "change": None if prev is None else f"{(dose / prev - 1) * 100:+.1f}%",
                }
            )
            prev = dose
        return {
            "drug": d.name,
            "step": f"{self.step_fraction * 100:g}%",
            "interval": q.fmt_duration(self.interval_s),
            "steps": rows,
            "findings": [f.to_dict() for f in self.findings if f.level != "ok"],
            "confirmations": [c.to_dict() for c in self.confirmations],
        }


def plan_titration(
    drug: Drug,
    current_mg_per_day: float,
    target_mg_per_day: float,
    *,
    start_s: float,
    step_fraction: float | None = None,
    interval_s: float | None = None,
    confirmations: Mapping[str, str] | None = None,
    clinician: str = "",
) -> TitrationPlan:
    """Steps from the current to the target daily dose, each within the drug's maximum step and
    (for ziconotide-like drugs) maximum step amount, at least the minimum interval apart.

    Defaults are the drug's soft limits; custom values are classified like any other setting.
    Decreases use the same step and interval (assumption: a conservative taper)."""
    if current_mg_per_day <= 0:
        raise InputError("current", "the current dose must be more than 0; to start a drug use its starting-dose range")
    if target_mg_per_day <= 0:
        raise InputError("target", "the target dose must be more than 0")
    if drug.max_increase is None or drug.min_interval is None:
        raise InputError("drug", f"{drug.name} has no titration limits in the library")
    step = step_fraction if step_fraction is not None else _soft(drug.max_increase.soft_max, drug.max_increase.hard_max)
    interval = interval_s if interval_s is not None else _soft(drug.min_interval.soft_min, drug.min_interval.hard_min)
    if step <= 0:
        raise InputError("step", "the step must be more than 0%")
    findings = _plan_findings(drug, step, interval)
    target_f = classify("target", "daily_dose", drug.name, target_mg_per_day, drug.daily_dose, drug.fmt_dose_rate)
    if target_f.level == "hard":
        raise SafetyRefusal("target", target_f.reason, rule="titration_target_limits")
    findings.append(target_f)
    confirmed = enforce(findings, confirmations, clinician or "clinician")
    amount_cap = None
    if drug.max_increase_amount is not None and drug.max_increase_amount.soft_max is not None:
        amount_cap = drug.max_increase_amount.soft_max.value
    steps = [(start_s, current_mg_per_day)]
    dose = current_mg_per_day
    t = start_s
    up = target_mg_per_day > current_mg_per_day
    while not math.isclose(dose, target_mg_per_day, rel_tol=1e-12):
        if up:
            nxt = dose * (1 + step)
            if amount_cap is not None:
                nxt = min(nxt, dose + amount_cap)
            nxt = min(nxt, target_mg_per_day)
        else:
            nxt = max(dose * (1 - min(step, 0.99)), target_mg_per_day)
        t += interval
        dose = nxt
        steps.append((t, dose))
        if len(steps) > MAX_TITRATION_STEPS:
            raise InputError("step", f"more than {MAX_TITRATION_STEPS} steps; use a larger step or a nearer target")
    return TitrationPlan(drug, steps, step, interval, findings, confirmed)


# check_titration_plan is a pure function of the drug (a library object) and the two numbers, which
# repeat plan after plan: its findings (immutable) are kept per process, keyed by the drug's id
# (identity-checked, so a reloaded library is never answered from here) and the numbers' repr.
_plan_findings_kept: dict[tuple[int, str, str], tuple[Drug, tuple[Finding, ...]]] = {}


def _plan_findings(drug: Drug, step: float, interval: float) -> list[Finding]:
    key = (id(drug), repr(step), repr(interval))
    hit = _plan_findings_kept.get(key)
    if hit is None or hit[0] is not drug:
        if len(_plan_findings_kept) >= 1024:
            _plan_findings_kept.clear()
        hit = _plan_findings_kept[key] = (drug, tuple(check_titration_plan(drug, step, interval)))
    return list(hit[1])


def _soft(soft: Any, hard: Any) -> float:
    c = soft if soft is not None else hard
    return float(c.value)


# ---- clock check -----------------------------------------------------------------------------------


@dataclass
class ClockReport:
    time_s: float
    pump_time_s: float
    error_s: float
    tolerance_s: float
    flag: bool
    boundaries: list[StepShift]
    drift_ppm: float | None = None
    set: bool = False
    error_after_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "programmer_time_s": self.time_s,
            "pump_time_s": self.pump_time_s,
            "error_s": self.error_s,
            "tolerance_s": self.tolerance_s,
            "flag": self.flag,
            "drift_ppm": self.drift_ppm,
            "boundaries": [b.to_dict() for b in self.boundaries],
            "clock_set": self.set,
            "error_after_s": self.error_after_s,
        }


@dataclass(frozen=True)
class StepShift:
    """Where one day-cycle step boundary really falls with the pump clock off."""

    step: int
    programmed: str  # HH:MM, pump clock
    happens_at: str  # HH:MM, true time
    shift_s: float
    from_label: str  # the dose rate before the boundary, as the drug library writes it
    to_label: str
    extra_drug_label: str
    extra_drug_mg: float  # drug in the shifted window, more (+) or less (-) than programmed

    def to_dict(self) -> dict[str, object]:
        return {
            "step": self.step,
            "programmed": self.programmed,
            "happens_at": self.happens_at,
            "shift_s": self.shift_s,
            "from": self.from_label,
            "to": self.to_label,
            "extra_drug": self.extra_drug_label,
            "extra_drug_mg": self.extra_drug_mg,
        }


def flex_shift(therapy: Therapy, error_s: float, drug: Drug, conc_mg_per_ml: float) -> list[StepShift]:
    """Where each day-cycle boundary really falls when the pump clock is off by ``error_s``.

    A pump clock that runs ahead (error > 0) starts every step ``error_s`` early in real time.
    At each boundary the old rate runs ``|error|`` too short or too long, so the drug in that
    window is off by ``|error| x (new - old rate)``.
    """
    if not therapy.running or len(therapy.steps) < 2:
        return []
    out = []
    n = len(therapy.steps)
    for i, st in enumerate(therapy.steps):
        prev = therapy.steps[i - 1]
        real = (st.start_s - error_s) % DAY_S
        delta_mg = (st.dose_mg_per_day - prev.dose_mg_per_day) * error_s / DAY_S
        out.append(
            StepShift(
                step=i + 1 if n else 0,
                programmed=_hhmm(st.start_s),
                happens_at=_hhmm(real),
                shift_s=-error_s,
                from_label=drug.fmt_dose_rate(prev.dose_mg_per_day),
                to_label=drug.fmt_dose_rate(st.dose_mg_per_day),
                extra_drug_label=drug.fmt_amount(delta_mg) if delta_mg >= 0 else "-" + drug.fmt_amount(-delta_mg),
                extra_drug_mg=delta_mg,
            )
        )
    return out


def clock_check(
    session: Session,
    *,
    set_clock: bool = False,
    tolerance_s: float,
    previous: tuple[float, float] | None = None,
) -> ClockReport:
    """Compare the pump clock with the programmer's; show the effect on the day cycle; set it if asked.

    ``previous`` is an earlier (time, error) reading, to estimate the drift rate in ppm.
    """
    c = ClockReply.from_wire(session.read("read_clock"))
    t, pump = c.time_s, c.pump_time_s
    err = pump - t
    th = session.read_therapy()
    therapy = th.therapy
    from ..drugs import get_drug  # local: avoids a cycle at import time

    drug = get_drug(th.drug)
    drift = None
    if previous is not None and t - previous[0] > SECONDS_PER_HOUR:
        drift = (err - previous[1]) / (t - previous[0]) * 1e6
    rep = ClockReport(
        t,
        pump,
        err,
        tolerance_s,
        abs(err) > tolerance_s,
        flex_shift(therapy, err, drug, th.concentration_mg_per_ml),
        drift,
    )
    if set_clock:

        def verify() -> bool:
            after = ClockReply.from_wire(session.read("read_clock"))
            return abs(after.pump_time_s - after.time_s) < 1.0

        session.write("set_clock", {"pump_time_s": t}, verify=verify)
        after = ClockReply.from_wire(session.read("read_clock"))
        rep.set = True
        rep.error_after_s = after.pump_time_s - after.time_s
    return rep


# ---- catheter access port hazard ---------------------------------------------------------------------


def cap_hazard(
    implant: Implant, volume_ml: float, *, drug: str | None = None, conc_mg_per_ml: float | None = None
) -> dict[str, Any]:
    """Simulate a refill volume injected into the catheter access port (a training hazard).

    The port leads straight to the catheter and the spinal fluid: the injected drug, and the drug
    already in the catheter ahead of it, arrive at once.  Mutates ``implant`` (pass a copy to keep
    the original); returns the numbers a trainee should see.
    """
    from ..drugs import get_drug

    if volume_ml <= 0:
        raise InputError("volume", "must be more than 0 mL")
    d = get_drug(drug or implant.hw.reservoir_drug)
    conc = implant.hw.reservoir_conc_mg_per_ml if conc_mg_per_ml is None else conc_mg_per_ml
    mg = implant.catheter_access_port_injection(volume_ml, d.name, conc)
    daily = implant.fw.therapy.daily_dose_mg()
    trial_max = d.trial_bolus[1].value if d.trial_bolus else None
    parts = [
        f"{q.fmt_volume(volume_ml)} of {d.name} {d.fmt_concentration(conc)} injected into the catheter access port "
        f"put {d.fmt_amount(mg)} straight into the spinal fluid"
    ]
    if daily > 0:
        parts.append(f"{mg / daily:.0f} times the programmed daily dose ({d.fmt_dose_rate(daily)})")
    if trial_max:
        parts.append(f"{mg / trial_max:.0f} times the largest screening bolus ({d.fmt_amount(trial_max)})")
    msg = "; ".join(parts) + ". An overdose: refill only through the reservoir fill port, never the access port."
    if d.name == "morphine":
        msg += " (A single intrathecal 2.5 mg morphine dose has caused apnoea [Jacobson 1988].)"
    return {
        "volume_ml": volume_ml,
        "drug": d.name,
        "concentration_mg_per_ml": conc,
        "delivered_mg": mg,
        "delivered": d.fmt_amount(mg),
        "times_daily_dose": None if daily <= 0 else mg / daily,
        "times_largest_trial_bolus": None if not trial_max else mg / trial_max,
        "message": msg,
    }


def _hhmm(seconds_of_day: float) -> str:
    s = round(seconds_of_day) % int(DAY_S)
    h, rem = divmod(s, SECONDS_PER_HOUR_INT)
    m, sec = divmod(rem, 60)
    return f"{h:02d}:{m:02d}" + (f":{sec:02d}" if sec else "")
