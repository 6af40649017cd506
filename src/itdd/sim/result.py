"""The result of a pump run, as a typed record built straight from the implant and its logs.

:func:`build_result` takes an implant (its exact record, its logs, its status) and the numbers of
the run (start, end, UTC offset, name, seed, the rows the run collected) and returns a
:class:`RunResult`.  ``RunResult.to_json()`` is the published result JSON (``itdd simulate
--json``, ``result.json``; the report's input, :mod:`itdd.report.schema`), key for key and float
for float what the runner has always written.  The scenario runner (:func:`itdd.sim.runner.result_of`)
and the care pathway (the implanted period of a patient) both build their result here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import DISCLAIMER, __version__
from .. import quantities as q
from ..drugs import get_drug, library
from ..pump.implant import Implant
from ..pump.log import EventLog
from ..pump.record import Record
from .series import series_of


class Logged(Protocol):
    """What the outputs read of a device: its exact record and its event log."""

    @property
    def record(self) -> Record: ...

    @property
    def log(self) -> EventLog: ...


@dataclass(frozen=True)
class NoDevice:
    """A run without an implant (a pathway that never implanted): an empty record and log."""

    record: Record = field(default_factory=Record)
    log: EventLog = field(default_factory=EventLog)


@dataclass(frozen=True)
class RunTrace:
    """What the output writer (:func:`itdd.sim.output.write_outputs`) and the report read of a
    finished run: the device's record and log, and the run's interval and UTC offset."""

    implant: Logged
    start_s: float
    end_s: float
    offset_s: int


@dataclass(frozen=True)
class ScenarioHeader:
    name: str
    start: str
    end: str
    utc_offset: str
    seed: int | None


@dataclass(frozen=True)
class Totals:
    pumped_ml: float
    delivered_ml: float
    delivered_mg: float
    lost_mg: float
    programmed_mg: float
    ptm_requests: int
    ptm_granted: int
    ptm_denied: int


@dataclass(frozen=True)
class DeviceLogSummary:
    entries: int
    counters: dict[str, int]
    rolled_off: int


@dataclass(frozen=True)
class PumpSection:
    """The pump at the end of the run (times as ISO text in the run's offset)."""

    model: str
    state: str
    drug: str
    concentration_mg_per_ml: float
    dose_unit: str
    concentration: str
    therapy: dict[str, Any]  # the pump's therapy as it reports it, plus its description
    reservoir_ml: float
    reservoir_estimate_ml: float
    low_reservoir_alarm_ml: float
    alarms: list[dict[str, Any]]
    battery_to_eri: float
    eri: str | None
    end_of_service: str | None
    flow_accuracy: float
    catheter_fault: Any
    fluid_path_volume_ml: float
    magnetic_field: bool
    device_log: DeviceLogSummary


@dataclass(frozen=True)
class RunResult:
    """A pump run's result; :meth:`to_json` is the published JSON."""

    scenario: ScenarioHeader
    totals: Totals
    pump: PumpSection
    daily: list[dict[str, Any]]
    events: list[dict[str, Any]]
    refills: list[dict[str, Any]]
    ptm_requests: list[dict[str, Any]]
    series: dict[str, Any]
    guardrail_findings: list[dict[str, Any]]
    extras: dict[str, Any] = field(default_factory=dict)  # sections layers above add (none today)
    itdd_version: str = __version__
    disclaimer: str = DISCLAIMER

    def to_json(self) -> dict[str, Any]:
        """The result JSON (plain dicts and lists, in the published key order)."""
        return {
            "itdd_version": self.itdd_version,
            "disclaimer": self.disclaimer,
            "scenario": dataclasses.asdict(self.scenario),
            "totals": dataclasses.asdict(self.totals),
            "pump": dataclasses.asdict(self.pump),
            "daily": self.daily,
            "events": self.events,
            "refills": self.refills,
            "ptm_requests": self.ptm_requests,
            "series": self.series,
            "guardrail_findings": self.guardrail_findings,
            **self.extras,
        }


def event_rows(log: EventLog, offset_s: int) -> list[dict[str, Any]]:
    """The log's history as result rows (``*_at_s`` details become ISO times without the suffix)."""
    return [
        {"time": q.iso(e.time_s, offset_s), "type": e.type, "device": e.device, **_details(e.details, offset_s)}
        for e in log.history
    ]


def _details(details: dict[str, Any], offset_s: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in details.items():
        if k.endswith("_at_s"):
            out[k[:-5]] = None if v is None else q.iso(v, offset_s)
        else:
            out[k] = v
    return out


def build_result(
    implant: Implant,
    *,
    start_s: float,
    end_s: float,
    offset_s: int,
    name: str,
    seed: int | None,
    refills: list[dict[str, Any]],
    ptm_decisions: list[dict[str, Any]],
    guardrail_findings: list[dict[str, Any]] | None = None,
    extras: dict[str, Any] | None = None,
) -> RunResult:
    """The result of a run of ``implant`` from ``start_s`` to ``end_s`` (its record and logs)."""
    imp = implant
    rec = imp.record

    def iso(t_s: float) -> str:
        return q.iso(t_s, offset_s)

    status = imp.status().to_dict()
    totals = Totals(
        pumped_ml=rec.total("pumped_ml"),
        delivered_ml=rec.total("csf_ml"),
        delivered_mg=rec.total("csf_mg"),
        lost_mg=rec.total("tissue_mg"),
        programmed_mg=rec.total("programmed_mg"),
        ptm_requests=len(ptm_decisions),
        ptm_granted=sum(1 for d in ptm_decisions if d["granted"]),
        ptm_denied=sum(1 for d in ptm_decisions if not d["granted"]),
    )
    unit = get_drug(status["drug"]).dose_unit if status["drug"] in library() else "mg"
    eri = status["eri_s"]
    eos = status["end_of_service_s"]
    pump = PumpSection(
        model=status["model"],
        state=status["state"],
        drug=status["drug"],
        concentration_mg_per_ml=status["concentration_mg_per_ml"],
        dose_unit=unit,
        concentration=q.fmt_concentration(status["concentration_mg_per_ml"], unit),
        therapy={**status["therapy"], "description": imp.fw.therapy.describe(unit)},
        reservoir_ml=status["reservoir_ml"],
        reservoir_estimate_ml=status["reservoir_estimate_ml"],
        low_reservoir_alarm_ml=status["low_reservoir_alarm_ml"],
        alarms=[{**a, "raised": iso(a.pop("raised_s"))} for a in status["alarms"]],
        battery_to_eri=status["battery_to_eri"],
        eri=None if eri is None else iso(eri),
        end_of_service=None if eos is None else iso(eos),
        flow_accuracy=status["flow_accuracy"],
        catheter_fault=status["catheter_fault"],
        fluid_path_volume_ml=status["fluid_path_volume_ml"],
        magnetic_field=status["magnetic_field"],
        device_log=DeviceLogSummary(
            entries=len(imp.log.device), counters=dict(imp.log.counters), rolled_off=imp.log.rolled_off
        ),
    )
    return RunResult(
        scenario=ScenarioHeader(name=name, start=iso(start_s), end=iso(end_s), utc_offset=iso(start_s)[-6:], seed=seed),
        totals=totals,
        pump=pump,
        daily=rec.daily(offset_s, start_s, end_s),
        events=event_rows(imp.log, offset_s),
        refills=refills,
        ptm_requests=ptm_decisions,
        series=series_of(rec, imp.log.history, start_s, end_s, offset_s),
        guardrail_findings=[] if guardrail_findings is None else guardrail_findings,
        extras={} if extras is None else extras,
    )


__all__ = ["NoDevice", "RunResult", "RunTrace", "build_result", "event_rows"]
