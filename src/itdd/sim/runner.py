"""Run a pump scenario: compile it to an implant and an event schedule, run it, build the result.

Event handlers live in :data:`EVENT_HANDLERS` (event type -> function).  A ``refill`` event goes
through the clinician programmer's refill workflow (:mod:`itdd.programmer.scenario`, a layer
below).  The top-level scenario (patient and pathway blocks) is dispatched by
:func:`itdd.scenario.run_scenario`, above this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import quantities as q
from ..drugs.guardrails import Finding
from ..errors import InputError, ItddError, SafetyRefusal
from ..programmer.refill import RefillRequest, RefillSettings
from ..programmer.scenario import scenario_refill
from ..pump.firmware import PtmSettings
from ..pump.implant import Implant
from ..pump.models import FLOW_ACCURACY_REFILL_SD, PumpModel, battery_life_years, get_model
from ..pump.therapy import PeriodicBolus, Therapy
from .engine import Simulation
from .entry import as_written, check_duration, check_ptm_block, check_ptm_rate, check_pump_block
from .guardrail_findings import (
    findings_for_bolus,
    findings_for_ptm,
    findings_for_start,
    findings_for_therapy,
    record_findings,
)
from .result import RunResult, build_result
from .scenario import (
    ProgrammerSpec,
    PtmSpec,
    PumpScenario,
    RefillEvent,
    TherapySpec,
)
from .values import Written

DAY_S = q.SECONDS_PER_DAY


# ---- compiling specs ---------------------------------------------------------------------------


def build_therapy(spec: TherapySpec, min_basal_mg_per_day: float = 0.0) -> Therapy:
    """The therapy of a spec.  A periodic-bolus therapy without ``basal`` gets
    ``min_basal_mg_per_day`` (callers pass the pump's minimum rate at the concentration, the
    documented default that keeps the catheter open)."""
    if spec.mode == "stopped":
        return Therapy.stopped()
    if spec.mode == "simple_continuous":
        assert spec.dose_mg_per_day is not None
        return Therapy.simple(spec.dose_mg_per_day)
    if spec.mode == "flex":
        assert spec.steps is not None
        return Therapy.flex([(s.start_s, s.dose_mg_per_day) for s in spec.steps])
    assert spec.boluses is not None
    boluses = [PeriodicBolus(b.at_s, b.dose_mg, b.duration_s) for b in spec.boluses]
    basal = spec.basal_mg_per_day
    return Therapy.periodic(boluses, basal if basal is not None else min_basal_mg_per_day)


def min_basal_mg_per_day(model: PumpModel, conc_mg_per_ml: float) -> float:
    """The pump's minimum rate in mg/day at a concentration (the default periodic-bolus basal)."""
    return model.min_rate_ml_per_day * conc_mg_per_ml


def build_ptm(spec: PtmSpec | None) -> PtmSettings | None:
    if spec is None:
        return None
    duration_s = spec.duration_s
    if duration_s <= 0:
        raise InputError("ptm.duration", "must be more than 0")
    return PtmSettings(
        dose_mg=spec.dose_mg,
        duration_s=duration_s,
        lockout_s=spec.lockout_s,
        max_per_day=spec.max_per_day,
        max_daily_dose_mg=spec.max_daily_dose_mg_per_day,
        enabled=spec.enabled,
    )


def event_time_s(at: str, start_s: float) -> float:
    """An event time: an offset after the start (``+3d10h``) or an instant (epoch seconds)."""
    assert isinstance(at, Written)
    if at.after_start:
        return start_s + at.value
    return at.value


def _with_field(exc: ItddError, prefix: str) -> ItddError:
    field = exc.field if exc.field.startswith(prefix) else f"{prefix}.{exc.field}" if exc.field else prefix
    if isinstance(exc, SafetyRefusal):
        return SafetyRefusal(field, exc.message, exc.rule)
    return type(exc)(field, exc.message)


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Run:
    scenario: PumpScenario
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

    def add_findings(self, findings: list[Finding], where: str) -> None:
        record_findings(self.guardrail_findings, findings, where, self.implant.t_s, self.offset_s)


Handler = Callable[[Run, Any], None]


def build_run(scn: PumpScenario) -> Run:
    offset_s = scn.utc_offset_s
    start_s = scn.start_s
    if scn.duration is None or scn.pump is None:
        raise InputError("pump" if scn.pump is None else "duration", "required key is missing")
    end_s = start_s + check_duration(scn.duration)
    p = scn.pump
    model = get_model(p.model)
    conc = p.conc_mg_per_ml
    check_pump_block(p)
    check_ptm_block(scn.ptm)
    check_ptm_rate(scn.ptm, conc, model)
    fill_ml = p.fill_ml
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
    accuracy = p.flow_accuracy_factor
    battery_to_eri = 1.0
    if p.battery_age_s is not None:
        age_days = p.battery_age_s / DAY_S
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
            low_reservoir_ml=p.low_reservoir_alarm_ml,
            therapy=therapy,
            ptm=build_ptm(scn.ptm),
            catheter_length_cm=p.catheter.length_cm,
            catheter_ml_per_cm=p.catheter.ml_per_cm,
            primed=p.primed,
            flow_accuracy=accuracy if accuracy is not None else 1.0,
            random_flow_accuracy=accuracy is None,
            flow_accuracy_sd=(
                p.flow_accuracy_sd_fraction if p.flow_accuracy_sd_fraction is not None else FLOW_ACCURACY_REFILL_SD
            ),
            battery_to_eri=battery_to_eri,
            clock_offset_s=p.clock_error_s,
            clock_drift_ppm=p.clock_drift_ppm,
            seed=scn.seed,
        )
    except ItddError as exc:
        if exc.field.startswith(("therapy", "pump", "ptm")):
            raise
        raise _with_field(exc, "therapy") from None
    sim = Simulation(implant, start_s, end_s)
    run = Run(scn, start_s, end_s, offset_s, implant, sim)
    run.add_findings(findings_for_start(p.drug, conc, therapy, implant.fw.ptm, model), "start")
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
    step = ev.every_s
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
    dose_mg = as_written("dose", ev.dose, "clinician_bolus.dose")
    duration_s = as_written("duration", ev.duration, "clinician_bolus.duration")
    try:
        run.implant.clinician_bolus(dose_mg, duration_s)
    except SafetyRefusal as exc:
        if exc.rule not in ("max_rate", "min_rate"):
            raise
        # the rate comes from the dose and the duration together: name the dose, show both as written
        raise SafetyRefusal("dose", f"{ev.dose!r} over {ev.duration!r} {exc.message}", exc.rule) from None
    run.add_findings(findings_for_bolus(run.implant, dose_mg, duration_s), "clinician_bolus")


def _priming_bolus(run: Run, ev: Any) -> None:
    vol = None if ev.volume is None else as_written("volume", ev.volume, "priming_bolus.volume")
    rate = None if ev.rate is None else as_written("rate", ev.rate, "priming_bolus.rate")
    run.implant.priming_bolus(vol, rate)


def _mri(run: Run, ev: Any) -> None:
    implant = run.implant
    implant.magnetic_field_on()
    delay = ev.resume_delay_s
    end = implant.t_s + ev.duration_s

    def field_off(_sim: Simulation) -> None:
        run.implant.magnetic_field_off(delay)  # the run's implant then (a restored copy after a save)

    run.sim.schedule(end, field_off, priority=-1, label="mri end")


def _catheter_fault(run: Run, ev: Any) -> None:
    run.implant.catheter_fault(ev.kind, ev.leak)


def _catheter_revision(run: Run, ev: Any) -> None:
    """A new catheter, full of saline.  ``priming_bolus: true`` primes the whole path (what
    the pump's priming function does by default, and the documented overdose hazard: the drug
    left in the pump's internal path reaches the spinal fluid within minutes);
    ``priming_bolus: catheter`` primes the catheter volume only."""
    length = ev.length_cm
    implant = run.implant
    implant.catheter_revision(length, primed=False)
    if ev.priming_bolus == "catheter":
        implant.priming_bolus(implant.hw.catheter_volume_ml)
    elif ev.priming_bolus:
        implant.priming_bolus()


def refill_mechanism(run: Run, ev: RefillEvent) -> dict[str, Any]:
    """Pump-level refill (withdraw, fill, reset the estimate); returns its JSON row."""
    implant = run.implant
    conc = implant.fw.conc_mg_per_ml if ev.conc_mg_per_ml is None else ev.conc_mg_per_ml
    drug = ev.drug or implant.fw.drug
    result = implant.refill(
        withdraw_ml=ev.withdraw_ml,
        fill_ml=ev.fill_ml,
        drug=drug,
        conc_mg_per_ml=conc,
        reservoir_ml_entered=ev.reservoir_volume_ml,
        bridge_bolus=ev.bridge_bolus,
    )
    row = {"time": run.iso(result.time_s), **result.to_dict()}
    return row


def refill_settings(spec: ProgrammerSpec | None) -> RefillSettings:
    """The refill workflow's settings from the scenario's ``programmer`` block."""
    if spec is None:
        return RefillSettings(enforce_guardrails=False)
    return RefillSettings(
        discrepancy_threshold_ml=spec.discrepancy_threshold_ml,
        flow_accuracy_spec=spec.flow_accuracy_spec_fraction,
        enforce_guardrails=spec.guardrails == "enforce",
    )


def _refill_row(run: Run, ev: RefillEvent) -> dict[str, Any]:
    """A scenario ``refill`` event through the programmer's refill workflow; its result row."""
    spec = run.scenario.programmer
    req = RefillRequest(
        fill_ml=ev.fill_ml,
        withdraw_ml=ev.withdraw_ml,
        drug=ev.drug,
        conc_mg_per_ml=ev.conc_mg_per_ml,
        reservoir_ml=ev.reservoir_volume_ml,
        bridge_bolus=ev.bridge_bolus,
    )
    # What the reservoir held after the last fill: the previous refill's programmed volume, or the
    # scenario's initial fill.
    pump = run.scenario.pump
    assert pump is not None  # a pump scenario (a pathway runs its own refills)
    prev = run.refills[-1]["reservoir_ml_entered"] if run.refills else pump.fill_ml
    return scenario_refill(
        run.implant,
        req,
        clinician=spec.clinician if spec is not None else "clinician",
        verifier=spec.verifier if spec is not None else None,
        settings=refill_settings(spec),
        previous_reservoir_ml=prev,
    )


def _refill(run: Run, ev: Any) -> None:
    """A refill goes through the clinician programmer's refill workflow (itdd.programmer.refill)."""
    as_written("fill", ev.fill, "refill.fill")
    if ev.concentration is not None:
        as_written("concentration", ev.concentration, "refill.concentration")
    if ev.withdraw_ml is not None:
        as_written("withdraw", ev.withdraw, "refill.withdraw", value=ev.withdraw_ml)
    run.refills.append(_refill_row(run, ev))


def _program(run: Run, ev: Any) -> None:
    implant = run.implant
    try:
        therapy = build_therapy(ev.therapy, min_basal_mg_per_day(implant.model, implant.fw.conc_mg_per_ml))
    except ItddError as exc:
        raise _with_field(exc, "therapy") from None
    try:
        implant.program(therapy)
    except ItddError as exc:
        raise _with_field(exc, "therapy") from None
    run.add_findings(findings_for_therapy(implant, therapy), "program")


def _set_ptm(run: Run, ev: Any) -> None:
    check_ptm_block(ev.ptm)
    check_ptm_rate(ev.ptm, run.implant.fw.conc_mg_per_ml, run.implant.model)
    run.implant.set_ptm(build_ptm(ev.ptm))
    run.add_findings(findings_for_ptm(run.implant), "set_ptm")


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
    conc = implant.hw.reservoir_conc_mg_per_ml if ev.conc_mg_per_ml is None else ev.conc_mg_per_ml
    implant.catheter_access_port_injection(ev.volume_ml, ev.drug or implant.hw.reservoir_drug, conc)


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


def result_of(run: Run) -> RunResult:
    """The run's result (a typed record; ``.to_json()`` is the published JSON)."""
    return build_result(
        run.implant,
        start_s=run.start_s,
        end_s=run.end_s,
        offset_s=run.offset_s,
        name=run.scenario.name,
        seed=run.scenario.seed,
        refills=run.refills,
        ptm_decisions=run.ptm_decisions,
        guardrail_findings=run.guardrail_findings,
        extras=run.extras,
    )


def run_pump_scenario(scn: PumpScenario, progress: Callable[[float], None] | None = None) -> tuple[Run, RunResult]:
    """Run a pump scenario: build the implant and its schedule, run it, build the result.

    The top-level dispatch (a pathway, a patient) is :func:`itdd.scenario.run_scenario`."""
    run = build_run(scn)
    run.sim.run(progress)
    return run, result_of(run)
