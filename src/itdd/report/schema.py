"""The data contract of the HTML report: what a result may hold, section by section.

A *result* is the JSON object ``itdd simulate --json`` prints (built by
:func:`itdd.sim.runner.result_of`).  The pump layer fills ``scenario``, ``totals``, ``pump``,
``daily``, ``events``, ``refills``, ``ptm_requests`` and ``series``; later layers add the optional
``patient``, ``trial``, ``pathway`` and ``cohort`` sections defined here.  The report renders every
section that is present and says plainly when one is absent.  docs/report.md documents each field
for the people who fill them.

Conventions (the same as the rest of itdd):

* instants are ISO 8601 texts with the scenario's UTC offset (``"2026-01-05T08:00:00+01:00"``);
  dense time series are columns of ``days`` since an ``origin`` instant instead (compact);
* every number carries its unit in its name (``dose_mg``, ``spo2_pct``); drug amounts are mg
  (a mcg drug is converted), concentrations mg/mL, rates per day, fractions 0..1;
* ``None`` (JSON ``null``) marks a value that is not known at that point.

Every key not listed here is allowed and ignored by the report, so a layer may add more.
Validation (:func:`validate_result`) is strict: a wrong type or unequal column lengths is an
:class:`~itdd.errors.InputError` naming the field, never a traceback half-way through a render.
"""

from __future__ import annotations

from typing import Any, NotRequired

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from ..errors import InputError

Num = float  # JSON numbers (an int is accepted where a float is expected)
OptNum = float | None

# ---- the pump layer's sections (only what the report reads) ------------------------------------


class ScenarioInfo(TypedDict):
    name: str
    start: str
    end: str
    utc_offset: str
    seed: NotRequired[int | None]


class Totals(TypedDict, total=False):
    pumped_ml: Num
    delivered_ml: Num
    delivered_mg: Num
    lost_mg: Num
    programmed_mg: Num
    ptm_requests: int
    ptm_granted: int
    ptm_denied: int


class TherapyInfo(TypedDict, total=False):
    mode: str
    daily_dose_mg: Num
    description: str


class AlarmInfo(TypedDict, total=False):
    type: str
    severity: str
    raised: str


class PumpInfo(TypedDict, total=False):
    model: str
    state: str
    drug: str
    concentration_mg_per_ml: Num
    therapy: TherapyInfo
    reservoir_ml: Num
    reservoir_estimate_ml: Num
    low_reservoir_alarm_ml: Num
    alarms: list[AlarmInfo]
    battery_to_eri: Num
    eri: str | None
    end_of_service: str | None
    flow_accuracy: Num
    catheter_fault: str | None
    fluid_path_volume_ml: Num


class DailyRow(TypedDict, total=False):
    date: str
    pumped_ml: Num
    delivered_ml: Num
    delivered_mg: Num
    lost_mg: Num
    programmed_mg: Num


class EventRow(TypedDict):
    """One entry of the full chronological log; other keys are the event's details."""

    time: str
    type: str
    device: bool  # False: hardware truth the pump cannot see (a catheter fault, an MRI field)


class RefillRow(TypedDict):
    time: str
    expected_ml: Num  # the pump's estimate just before the refill
    withdrawn_ml: Num  # what the needle actually removed
    discrepancy_ml: Num  # withdrawn - expected
    filled_ml: NotRequired[Num]
    drug: NotRequired[str]
    concentration_mg_per_ml: NotRequired[Num]
    bridge_bolus: NotRequired[bool]
    flag: NotRequired[bool | str | None]  # set by the programmer's refill workflow when it judged the discrepancy
    discrepancy_threshold_ml: NotRequired[Num | None]
    flag_reasons: NotRequired[list[str]]
    likely_causes: NotRequired[list[str]]
    next_refill: NotRequired[str | None]


# ---- result["series"] (itdd.sim.series) --------------------------------------------------------


class LevelSeries(TypedDict):
    days: list[Num]
    ml: list[Num]
    max_error_ml: NotRequired[Num]
    exact_points: NotRequired[int]


class ReservoirSeries(TypedDict):
    actual: LevelSeries  # hardware truth
    estimate: LevelSeries  # the firmware's belief


class DoseSeries(TypedDict):
    """Step series: each value holds from its day until the next day."""

    days: list[Num]
    programmed_mg_per_day: list[Num]
    delivered_mg_per_day: list[Num]
    bin_days: NotRequired[Num | None]  # None: exact breakpoints; else the mean over bins of this width
    exact_points: NotRequired[int]


class PointDoseRow(TypedDict):
    day: Num
    mg: Num
    drug: NotRequired[str]
    route: NotRequired[str]


class Series(TypedDict):
    origin: str
    reservoir: ReservoirSeries
    dose: DoseSeries
    point_doses: NotRequired[list[PointDoseRow]]
    time_unit: NotRequired[str]
    max_points: NotRequired[int]


# ---- result["patient"] (the virtual patient layer, src/itdd/patient) ---------------------------


class PatientSeries(TypedDict):
    """Columns sampled at ``days``; every column present must have the length of ``days``.

    Instantaneous samples (drawn as lines), except ``oral_mme_per_day``, a rate held from its
    sample until the next (drawn as steps).  Names and scales are those of
    :class:`itdd.patient.sim.Observation`, so a layer can copy its observations column by column.
    """

    days: list[Num]
    origin: NotRequired[str]  # default: scenario.start
    pain: NotRequired[list[OptNum]]  # numeric rating scale 0 (none) .. 10 (worst)
    oral_mme_per_day: NotRequired[list[OptNum]]  # oral morphine milligram equivalents (mg) per day
    csf_tip_mg_per_ml: NotRequired[list[OptNum]]  # spinal fluid within a few cm of the catheter tip
    csf_mg_per_ml: NotRequired[list[OptNum]]  # the wider (lumbar) spinal fluid
    effect_site_mg_per_ml: NotRequired[list[OptNum]]  # spinal-cord effect site
    plasma_mg_per_ml: NotRequired[list[OptNum]]
    resp_rate_per_min: NotRequired[list[OptNum]]
    spo2_pct: NotRequired[list[OptNum]]  # 0..100
    sedation: NotRequired[list[OptNum]]  # 0 alert, 1 occasionally drowsy, 2 frequently drowsy, 3 somnolent
    withdrawal: NotRequired[list[OptNum]]  # 0..10, the worst withdrawal syndrome (opioid, baclofen, clonidine)
    pruritus: NotRequired[list[OptNum]]  # 0..10
    nausea: NotRequired[list[OptNum]]  # 0..10


class PatientInfo(TypedDict, total=False):
    id: str
    drug: str
    profile: dict[str, str | Num | bool | None]  # baseline pain, weight_kg, spinal-fluid volume ... shown as a table
    series: PatientSeries


# ---- result["trial"] (the screening trial, src/itdd/care) --------------------------------------


class TrialDose(TypedDict):
    time: str
    dose_mg: Num
    route: NotRequired[str]  # e.g. "intrathecal bolus", "intrathecal infusion"
    duration_s: NotRequired[Num]  # 0 or absent: a bolus


class TrialVitals(TypedDict):
    time: str
    resp_rate_per_min: NotRequired[OptNum]
    spo2_pct: NotRequired[OptNum]
    pain: NotRequired[OptNum]
    sedation: NotRequired[OptNum]


class TrialAlert(TypedDict):
    time: str
    kind: str  # "respiratory_rate", "spo2", "sedation", ...
    message: str
    value: NotRequired[OptNum]
    limit: NotRequired[OptNum]


class TrialOutcome(TypedDict, total=False):
    success: bool | None
    pain_relief_fraction: OptNum  # 1 - pain after / baseline pain
    success_threshold_fraction: Num  # the convention is 0.5 (>= 50% relief)
    baseline_pain_score: OptNum
    best_pain_score: OptNum
    summary: str


class TrialRefusal(TypedDict):
    field: str
    message: str
    rule: NotRequired[str]


class TrialComplication(TypedDict):
    time: str
    kind: str
    details: NotRequired[str]


class TrialInfo(TypedDict, total=False):
    drug: str
    method: str  # "single_bolus", "multiple_bolus", "continuous_infusion"
    start: str
    end: str
    doses: list[TrialDose]
    vitals: list[TrialVitals]
    alerts: list[TrialAlert]
    outcome: TrialOutcome
    refusal: TrialRefusal | None  # a contraindication: no trial took place
    complications: list[TrialComplication]


# ---- result["pathway"] (the care pathway, src/itdd/care) ---------------------------------------


class PathwayStage(TypedDict):
    stage: str  # screening, trial, implant, titration, refill, mri, complication, revision, ...
    start: str
    label: str
    end: NotRequired[str | None]  # absent or None: an instant
    outcome: NotRequired[str | None]
    details: NotRequired[str | None]


class PathwayInfo(TypedDict):
    stages: list[PathwayStage]


# ---- result["cohort"] (virtual cohorts, src/itdd/care) -----------------------------------------


class CohortRow(TypedDict):
    metric: str
    simulated: OptNum
    published: OptNum
    source: str
    unit: NotRequired[str]  # "fraction" (shown as %), "mg/day", ...; absent: a plain number
    note: NotRequired[str]


class CohortInfo(TypedDict):
    rows: list[CohortRow]
    patients: NotRequired[int]
    years: NotRequired[Num]
    seed: NotRequired[int]
    summary: NotRequired[dict[str, Any]]  # the --json summary object
    calibration: NotRequired[str]  # how the population was calibrated, where it does not match


# ---- the whole result --------------------------------------------------------------------------


class Result(TypedDict):
    itdd_version: str
    disclaimer: NotRequired[str]
    scenario: NotRequired[ScenarioInfo]
    totals: NotRequired[Totals]
    pump: NotRequired[PumpInfo]
    daily: NotRequired[list[DailyRow]]
    events: NotRequired[list[EventRow]]
    refills: NotRequired[list[RefillRow]]
    series: NotRequired[Series]
    patient: NotRequired[PatientInfo | None]
    trial: NotRequired[TrialInfo | None]
    pathway: NotRequired[PathwayInfo | None]
    cohort: NotRequired[CohortInfo | None]


OPTIONAL_SECTIONS = ("patient", "trial", "pathway", "cohort")

_ADAPTER: TypeAdapter[Result] = TypeAdapter(Result)


def _loc(loc: tuple[Any, ...]) -> str:
    out = "result"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_result(obj: object) -> dict[str, Any]:
    """Check ``obj`` against the contract; returns it unchanged, or raises InputError naming the field."""
    if not isinstance(obj, dict):
        raise InputError("result", f"expected a JSON object (an itdd result), got {type(obj).__name__}")
    if "itdd_version" not in obj:
        raise InputError("result", "not an itdd result: it has no 'itdd_version' key")
    if not any(k in obj for k in ("scenario", "cohort")):
        raise InputError("result", "not an itdd result: it has neither a 'scenario' nor a 'cohort' section")
    try:
        _ADAPTER.validate_python(obj, strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(_loc(err["loc"]), f"{err['msg']} (got {_short(err.get('input'))})") from None
    _check_columns(obj)
    return obj


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _same_length(block: dict[str, Any], where: str, time_key: str, columns: list[str]) -> None:
    n = len(block[time_key])
    times = block[time_key]
    for i in range(1, n):
        if times[i] < times[i - 1]:
            raise InputError(f"{where}.{time_key}[{i}]", f"{times[i]} is earlier than the value before it")
    for col in columns:
        if col in block and block[col] is not None and len(block[col]) != n:
            raise InputError(
                f"{where}.{col}", f"has {len(block[col])} values but {where}.{time_key} has {n}: they must match"
            )


def _check_columns(obj: dict[str, Any]) -> None:
    series = obj.get("series")
    if series:
        for which in ("actual", "estimate"):
            _same_length(series["reservoir"][which], f"result.series.reservoir.{which}", "days", ["ml"])
        _same_length(series["dose"], "result.series.dose", "days", ["programmed_mg_per_day", "delivered_mg_per_day"])
    patient = obj.get("patient")
    if patient and patient.get("series"):
        ps = patient["series"]
        cols = sorted((PatientSeries.__required_keys__ | PatientSeries.__optional_keys__) - {"days", "origin"})
        _same_length(ps, "result.patient.series", "days", cols)


__all__ = [
    "OPTIONAL_SECTIONS",
    "CohortInfo",
    "CohortRow",
    "PathwayInfo",
    "PathwayStage",
    "PatientInfo",
    "PatientSeries",
    "Result",
    "Series",
    "TrialInfo",
    "validate_result",
]
