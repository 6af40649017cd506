"""Run a scenario: compile it to an implant and an event schedule, run it, build the result.

Event handlers live in :data:`EVENT_HANDLERS` (event type -> function).  Later layers replace or
add handlers (the programmer's refill workflow, the patient's pathway events) without touching
the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import DISCLAIMER, __version__
from .. import quantities as q
from ..drugs import get_drug, library
from ..errors import InputError, ItddError, SafetyRefusal
from ..pump.firmware import PtmSettings
from ..pump.implant import Implant
from ..pump.models import FLOW_ACCURACY_REFILL_SD, PumpModel, battery_life_years, get_model
from ..pump.therapy import PeriodicBolus, Therapy
from .engine import Simulation
from .entry import as_written, check_duration, check_ptm_block, check_ptm_rate, check_pump_block
from .guardrail_findings import findings_for_start, record_findings
from .scenario import (
    PtmSpec,
    RefillEvent,
    Scenario,
    TherapySpec,
    parse_accuracy,
    parse_ppm,
    parse_signed_duration_s,
    parse_volume_per_cm,
)
from .series import series_of

DAY_S = q.SECONDS_PER_DAY


# ---- compiling specs ---------------------------------------------------------------------------


def build_therapy(spec: TherapySpec, min_basal_mg_per_day: float = 0.0) -> Therapy:
    """The therapy of a spec.  A periodic-bolus therapy without ``basal`` gets
    ``min_basal_mg_per_day`` (callers pass the pump's minimum rate at the concentration, the
    documented default that keeps the catheter open)."""
    if spec.mode == "stopped":
        return Therapy.stopped()
    if spec.mode == "simple_continuous":
        assert spec.dose is not None
        return Therapy.simple(q.parse_dose_rate_mg_per_day(spec.dose))
    if spec.mode == "flex":
        assert spec.steps is not None
        return Therapy.flex(
            [(q.parse_time_of_day_s(s.start), q.parse_dose_rate_mg_per_day(s.dose)) for s in spec.steps]
        )
    assert spec.boluses is not None
    boluses = [
        PeriodicBolus(q.parse_time_of_day_s(b.at), q.parse_amount_mg(b.dose), q.parse_duration_s(b.duration))
        for b in spec.boluses
    ]
    basal = q.parse_dose_rate_mg_per_day(spec.basal) if spec.basal is not None else None
    return Therapy.periodic(boluses, basal if basal is not None else min_basal_mg_per_day)


def min_basal_mg_per_day(model: PumpModel, conc_mg_per_ml: float) -> float:
    """The pump's minimum rate in mg/day at a concentration (the default periodic-bolus basal)."""
    return model.min_rate_ml_per_day * conc_mg_per_ml


def build_ptm(spec: PtmSpec | None) -> PtmSettings | None:
    if spec is None:
        return None
    duration_s = q.parse_duration_s(spec.duration)
    if duration_s <= 0:
        raise InputError("ptm.duration", "must be more than 0")
    return PtmSettings(
        dose_mg=q.parse_amount_mg(spec.dose),
        duration_s=duration_s,
        lockout_s=q.parse_duration_s(spec.lockout),
        max_per_day=spec.max_per_day,
        max_daily_dose_mg=None if spec.max_daily_dose is None else q.parse_dose_rate_mg_per_day(spec.max_daily_dose),
        enabled=spec.enabled,
    )


def event_time_s(at: str, start_s: float) -> float:
    s = at.strip()
    if s.startswith("+"):
        return start_s + q.parse_duration_s(s[1:])
    return q.to_epoch_s(q.parse_datetime(s))


def _with_field(exc: ItddError, prefix: str) -> ItddError:
    field = exc.field if exc.field.startswith(prefix) else f"{prefix}.{exc.field}" if exc.field else prefix
    if isinstance(exc, SafetyRefusal):
        return SafetyRefusal(field, exc.message, exc.rule)
    return type(exc)(field, exc.message)


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Run:
    scenario: Scenario
    start_s: float
    end_s: float
    offset_s: int
    implant: Implant
    sim: Simulation
    refills: list[dict[str, Any]] = field(default_factory=list)
    ptm_decisions: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    guardrail_findings: list[dict[str, Any]] = field(default_factory=list)

    def iso(self, t_s: float) -> str:
        return q.iso(t_s, self.offset_s)


Handler = Callable[[Run, Any], None]


def build_run(scn: Scenario) -> Run:
    start_dt = q.parse_datetime(scn.start)
    offset_s = q.offset_of(start_dt)
    start_s = q.to_epoch_s(start_dt)
    if scn.duration is None or scn.pump is None:
        raise InputError("pump" if scn.pump is None else "duration", "required key is missing")
    end_s = start_s + check_duration(scn.duration)
    p = scn.pump
    model = get_model(p.model)
    conc = q.parse_concentration_mg_per_ml(p.concentration)
    check_pump_block(p)
    check_ptm_block(scn.ptm)
    check_ptm_rate(scn.ptm, conc, model)
    fill_ml = q.parse_volume_ml(p.fill)
    if fill_ml > model.reservoir_capacity_ml + 1e-9:
        raise SafetyRefusal(
            "pump.fill",
            f"{q.fmt_volume(fill_ml)} exceeds the {model.model_id} reservoir capacity "
            f"{q.fmt_volume(model.reservoir_capacity_ml)}",
            rule="overfill",
        )
    try:
        therapy = build_therapy(scn.therapy, min_basal_mg_per_day(model, conc))
    except ItddError as exc:
        raise _with_field(exc, "therapy") from None
    if conc <= 0 and therapy.running:
        raise InputError(
            "pump.concentration",
            f"{p.concentration!r}: the pump holds no drug; a running therapy needs a concentration above 0",
        )
    accuracy = parse_accuracy(p.flow_accuracy)
    battery_to_eri = 1.0
    if p.battery_age is not None:
        age_days = q.parse_duration_s(p.battery_age) / DAY_S
        flow = therapy.daily_dose_mg() / conc if conc > 0 else 0.0
        drain = model.battery_drain_per_day + model.battery_drain_per_ml * flow
        battery_to_eri = 1.0 - age_days * drain
        if battery_to_eri <= 0.0:
            life = battery_life_years(model, flow)
            raise InputError(
                "pump.battery_age",
                f"{p.battery_age} is past the battery's elective replacement point "
                f"(life to end of service about {life:.1f} years at this flow)",
            )
    try:
        implant = Implant(
            model,
            t_s=start_s,
            offset_s=offset_s,
            drug=p.drug,
            conc_mg_per_ml=conc,
            fill_ml=fill_ml,
            low_reservoir_ml=q.parse_volume_ml(p.low_reservoir_alarm),
            therapy=therapy,
            ptm=build_ptm(scn.ptm),
            catheter_length_cm=q.parse_length_cm(p.catheter.length),
            catheter_ml_per_cm=parse_volume_per_cm(p.catheter.volume_per_cm),
            primed=p.primed,
            flow_accuracy=accuracy if accuracy is not None else 1.0,
            random_flow_accuracy=accuracy is None,
            flow_accuracy_sd=(
                q.parse_fraction(p.flow_accuracy_sd) if p.flow_accuracy_sd is not None else FLOW_ACCURACY_REFILL_SD
            ),
            battery_to_eri=battery_to_eri,
            clock_offset_s=parse_signed_duration_s(p.clock_error),
            clock_drift_ppm=parse_ppm(p.clock_drift),
            seed=scn.seed,
        )
    except ItddError as exc:
        if exc.field.startswith(("therapy", "pump", "ptm")):
            raise
        raise _with_field(exc, "therapy") from None
    sim = Simulation(implant, start_s, end_s)
    run = Run(scn, start_s, end_s, offset_s, implant, sim)
    record_findings(run, findings_for_start(p.drug, conc, therapy, implant.fw.ptm, model), "start")
    for i, ev in enumerate(scn.events):
        handler = EVENT_HANDLERS[ev.type]
        for t in _occurrences(run, ev, i):
            sim.schedule(t, _bind(run, handler, ev, i), priority=0, label=f"events[{i}]")
    return run


MAX_OCCURRENCES = 100_000


def _occurrences(run: Run, ev: Any, index: int) -> list[float]:
    """The instants of an event: once at ``at``, or repeated ``every`` until ``until``/``count``."""
    start_s, end_s = run.start_s, run.end_s
    t = event_time_s(ev.at, start_s)
    if t < start_s - 1e-6 or t > end_s + 1e-6:
        raise InputError(
            f"events[{index}].at", f"{ev.at} is outside the scenario ({run.iso(start_s)} to {run.iso(end_s)})"
        )
    if ev.every is None:
        return [t]
    step = q.parse_duration_s(ev.every)
    last = end_s
    if ev.until is not None:
        last = event_time_s(ev.until, start_s)
        if last < t or last > end_s + 1e-6:
            raise InputError(f"events[{index}].until", f"{ev.until} is before 'at' or outside the scenario")
    count = ev.count if ev.count is not None else MAX_OCCURRENCES
    times: list[float] = []
    k = 0
    while k < count and t + k * step <= last + 1e-6:
        times.append(t + k * step)
        k += 1
    if ev.count is not None and len(times) < ev.count:
        raise InputError(f"events[{index}].count", f"{ev.count} repeats every {ev.every} run past the scenario's end")
    if len(times) >= MAX_OCCURRENCES and ev.count is None:
        raise InputError(f"events[{index}].every", f"more than {MAX_OCCURRENCES} repeats; use a longer interval")
    return times


def _bind(run: Run, handler: Handler, ev: Any, index: int) -> Callable[[Simulation], None]:
    def action(_sim: Simulation) -> None:
        try:
            handler(run, ev)
        except ItddError as exc:
            raise _with_field(exc, f"events[{index}]") from None

    return action


# ---- event handlers ----------------------------------------------------------------------------


def _ptm_request(run: Run, ev: Any) -> None:
    d = run.implant.ptm_request()
    row = {"time": run.iso(d.time_s), "granted": d.granted, "reason": d.reason}
    run.ptm_decisions.append(row)


def _clinician_bolus(run: Run, ev: Any) -> None:
    from .guardrail_findings import findings_for_bolus

    dose_mg = as_written("dose", ev.dose, q.parse_amount_mg, "clinician_bolus.dose")
    duration_s = as_written("duration", ev.duration, q.parse_duration_s, "clinician_bolus.duration")
    try:
        run.implant.clinician_bolus(dose_mg, duration_s)
    except SafetyRefusal as exc:
        if exc.rule not in ("max_rate", "min_rate"):
            raise
        # the rate comes from the dose and the duration together: name the dose, show both as written
        raise SafetyRefusal("dose", f"{ev.dose!r} over {ev.duration!r} {exc.message}", exc.rule) from None
    record_findings(run, findings_for_bolus(run.implant, dose_mg, duration_s), "clinician_bolus")


def _priming_bolus(run: Run, ev: Any) -> None:
    vol = None if ev.volume is None else as_written("volume", ev.volume, q.parse_volume_ml, "priming_bolus.volume")
    rate = None if ev.rate is None else as_written("rate", ev.rate, q.parse_flow_ml_per_day, "priming_bolus.rate")
    run.implant.priming_bolus(vol, rate)


def _mri(run: Run, ev: Any) -> None:
    implant = run.implant
    implant.magnetic_field_on()
    delay = q.parse_duration_s(ev.resume_delay)
    end = implant.t_s + q.parse_duration_s(ev.duration)

    def field_off(_sim: Simulation) -> None:
        run.implant.magnetic_field_off(delay)  # the run's implant then (a restored copy after a save)

    run.sim.schedule(end, field_off, priority=-1, label="mri end")


def _catheter_fault(run: Run, ev: Any) -> None:
    run.implant.catheter_fault(ev.kind, q.parse_fraction(ev.leak_fraction))


def _catheter_revision(run: Run, ev: Any) -> None:
    """A new catheter, full of saline.  ``priming_bolus: true`` primes the whole path (what
    the pump's priming function does by default, and the documented overdose hazard: the drug
    left in the pump's internal path reaches the spinal fluid within minutes);
    ``priming_bolus: catheter`` primes the catheter volume only."""
    length = None if ev.length is None else q.parse_length_cm(ev.length)
    implant = run.implant
    implant.catheter_revision(length, primed=False)
    if ev.priming_bolus == "catheter":
        implant.priming_bolus(implant.hw.catheter_volume_ml)
    elif ev.priming_bolus:
        implant.priming_bolus()


def refill_mechanism(run: Run, ev: RefillEvent) -> dict[str, Any]:
    """Pump-level refill (withdraw, fill, reset the estimate); returns its JSON row."""
    implant = run.implant
    conc = implant.fw.conc_mg_per_ml if ev.concentration is None else q.parse_concentration_mg_per_ml(ev.concentration)
    drug = ev.drug or implant.fw.drug
    result = implant.refill(
        withdraw_ml=None if ev.withdraw == "all" else q.parse_volume_ml(ev.withdraw),
        fill_ml=q.parse_volume_ml(ev.fill),
        drug=drug,
        conc_mg_per_ml=conc,
        reservoir_ml_entered=None if ev.reservoir_volume is None else q.parse_volume_ml(ev.reservoir_volume),
        bridge_bolus=ev.bridge_bolus,
    )
    row = {"time": run.iso(result.time_s), **result.to_dict()}
    return row


def _refill(run: Run, ev: Any) -> None:
    """A refill goes through the clinician programmer's refill workflow (itdd.programmer.refill)."""
    from ..programmer.scenario import scenario_refill  # the programmer layer sits above the runner

    as_written("fill", ev.fill, q.parse_volume_ml, "refill.fill")
    if ev.concentration is not None:
        as_written("concentration", ev.concentration, q.parse_concentration_mg_per_ml, "refill.concentration")
    if ev.withdraw != "all":
        as_written("withdraw", ev.withdraw, q.parse_volume_ml, "refill.withdraw")
    run.refills.append(scenario_refill(run, ev))


def _program(run: Run, ev: Any) -> None:
    from .guardrail_findings import findings_for_therapy

    implant = run.implant
    try:
        therapy = build_therapy(ev.therapy, min_basal_mg_per_day(implant.model, implant.fw.conc_mg_per_ml))
    except ItddError as exc:
        raise _with_field(exc, "therapy") from None
    try:
        implant.program(therapy)
    except ItddError as exc:
        raise _with_field(exc, "therapy") from None
    record_findings(run, findings_for_therapy(implant, therapy), "program")


def _set_ptm(run: Run, ev: Any) -> None:
    from .guardrail_findings import findings_for_ptm

    check_ptm_block(ev.ptm)
    check_ptm_rate(ev.ptm, run.implant.fw.conc_mg_per_ml, run.implant.model)
    run.implant.set_ptm(build_ptm(ev.ptm))
    record_findings(run, findings_for_ptm(run.implant), "set_ptm")


def _ptm_interrogate(run: Run, ev: Any) -> None:
    run.implant.ptm_connect()


def _simple(run: Run, ev: Any) -> None:
    implant = run.implant
    if ev.type == "interrogate":
        implant.interrogate()
    elif ev.type == "stop":
        implant.stop()
    else:
        implant.resume()


def _cap_injection(run: Run, ev: Any) -> None:
    implant = run.implant
    conc = (
        implant.hw.reservoir_conc_mg_per_ml
        if ev.concentration is None
        else q.parse_concentration_mg_per_ml(ev.concentration)
    )
    implant.catheter_access_port_injection(q.parse_volume_ml(ev.volume), ev.drug or implant.hw.reservoir_drug, conc)


EVENT_HANDLERS: dict[str, Handler] = {
    "ptm_request": _ptm_request,
    "clinician_bolus": _clinician_bolus,
    "priming_bolus": _priming_bolus,
    "mri": _mri,
    "catheter_fault": _catheter_fault,
    "catheter_revision": _catheter_revision,
    "refill": _refill,
    "program": _program,
    "set_ptm": _set_ptm,
    "interrogate": _simple,
    "ptm_interrogate": _ptm_interrogate,
    "stop": _simple,
    "resume": _simple,
    "cap_injection": _cap_injection,
}


# ---- results -----------------------------------------------------------------------------------


def _details(run: Run, details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in details.items():
        if k.endswith("_at_s"):
            out[k[:-5]] = None if v is None else run.iso(v)
        else:
            out[k] = v
    return out


def result_of(run: Run) -> dict[str, Any]:
    imp = run.implant
    rec = imp.record
    status = imp.status().to_dict()
    totals = {
        "pumped_ml": rec.total("pumped_ml"),
        "delivered_ml": rec.total("csf_ml"),
        "delivered_mg": rec.total("csf_mg"),
        "lost_mg": rec.total("tissue_mg"),
        "programmed_mg": rec.total("programmed_mg"),
        "ptm_requests": len(run.ptm_decisions),
        "ptm_granted": sum(1 for d in run.ptm_decisions if d["granted"]),
        "ptm_denied": sum(1 for d in run.ptm_decisions if not d["granted"]),
    }
    unit = get_drug(status["drug"]).dose_unit if status["drug"] in library() else "mg"
    eri = status["eri_s"]
    eos = status["end_of_service_s"]
    pump = {
        "model": status["model"],
        "state": status["state"],
        "drug": status["drug"],
        "concentration_mg_per_ml": status["concentration_mg_per_ml"],
        "dose_unit": unit,
        "concentration": q.fmt_concentration(status["concentration_mg_per_ml"], unit),
        "therapy": {**status["therapy"], "description": imp.fw.therapy.describe(unit)},
        "reservoir_ml": status["reservoir_ml"],
        "reservoir_estimate_ml": status["reservoir_estimate_ml"],
        "low_reservoir_alarm_ml": status["low_reservoir_alarm_ml"],
        "alarms": [{**a, "raised": run.iso(a.pop("raised_s"))} for a in status["alarms"]],
        "battery_to_eri": status["battery_to_eri"],
        "eri": None if eri is None else run.iso(eri),
        "end_of_service": None if eos is None else run.iso(eos),
        "flow_accuracy": status["flow_accuracy"],
        "catheter_fault": status["catheter_fault"],
        "fluid_path_volume_ml": status["fluid_path_volume_ml"],
        "magnetic_field": status["magnetic_field"],
        "device_log": {
            "entries": len(imp.log.device),
            "counters": dict(imp.log.counters),
            "rolled_off": imp.log.rolled_off,
        },
    }
    events = [
        {"time": run.iso(e.time_s), "type": e.type, "device": e.device, **_details(run, e.details)}
        for e in imp.log.history
    ]
    return {
        "itdd_version": __version__,
        "disclaimer": DISCLAIMER,
        "scenario": {
            "name": run.scenario.name,
            "start": run.iso(run.start_s),
            "end": run.iso(run.end_s),
            "utc_offset": run.iso(run.start_s)[-6:],
            "seed": run.scenario.seed,
        },
        "totals": totals,
        "pump": pump,
        "daily": rec.daily(run.offset_s, run.start_s, run.end_s),
        "events": events,
        "refills": run.refills,
        "ptm_requests": run.ptm_decisions,
        "series": series_of(rec, imp.log.history, run.start_s, run.end_s, run.offset_s),
        "guardrail_findings": run.guardrail_findings,
        **run.extras,
    }


def run_scenario(scn: Scenario, progress: Callable[[float], None] | None = None) -> tuple[Any, dict[str, Any]]:
    """Run a scenario; with a ``pathway`` block, the care pathway (itdd.care) runs instead.

    A ``patient`` block without a pathway adds the patient, following the pump's exact record.
    """
    if scn.pathway is not None:
        from ..care.scenario import run_pathway_scenario  # the care layer sits above the runner

        return run_pathway_scenario(scn, progress)
    run = build_run(scn)
    run.sim.run(progress)
    result = result_of(run)
    if scn.patient is not None:
        from ..care.scenario import patient_section

        result["patient"] = patient_section(run, scn.patient)
    return run, result
