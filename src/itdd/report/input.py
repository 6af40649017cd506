"""The report's typed input, built once from a validated result.

A result is JSON: times are ISO text, the offset is text (``"+01:00"``).  :func:`report_input`
reads them once, at the report's boundary, into :class:`ReportInput`: aware datetimes in the
scenario's offset for the scenario period, the series origin, every event, refill, screening-trial
vital/dose/alert and pathway stage, with units in the field names (``discrepancy_ml``,
``dose_mg``).  The findings, tables and figures read these fields instead of parsing text again.

Sections the page shows as written (summary blocks, patient profile, cohort metrics) stay in
``result``: they hold no time and no unit text to parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .text import DrugUnits
from .times import parse_time, tz_of


def _maybe(text: str | None, tz: timezone) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(text, tz)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class EventIn:
    """One pump-log event: its instant, the ISO text as written, and whether the device saw it."""

    type: str
    at: datetime
    time: str
    device: bool
    row: dict[str, Any]  # the event as written (details: unit in each key's name)


@dataclass(frozen=True, slots=True)
class RefillIn:
    at: datetime
    discrepancy_ml: float
    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StageIn:
    """One care-pathway stage: a span (``end``) or an instant (``end`` is None)."""

    stage: str
    start: datetime
    end: datetime | None
    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrialIn:
    """The screening trial's timed rows (vital signs, test doses, alerts)."""

    drug: str | None
    vitals_at: tuple[datetime, ...]
    doses: tuple[tuple[datetime, float], ...]  # (instant, dose_mg)
    alerts: tuple[tuple[datetime, str], ...]  # (instant, kind)


@dataclass
class ReportInput:
    """Everything the page reads, its times parsed once (see the module's docstring)."""

    result: dict[str, Any]  # the validated result (sections shown as written)
    tz: timezone
    origin: datetime | None  # scenario start
    end: datetime | None  # scenario end
    units: DrugUnits  # the pump drug's dose unit
    series_origin: datetime | None = None
    patient_origin: datetime | None = None  # the patient series' origin
    events: tuple[EventIn, ...] = ()
    refills: tuple[RefillIn, ...] = ()
    trial: TrialIn | None = None
    stages: tuple[StageIn, ...] = ()
    findings: list[Any] = field(default_factory=list)


def report_input(result: dict[str, Any]) -> ReportInput:
    """Build the typed input once (``result`` already validated by :mod:`itdd.report.schema`)."""
    scenario = result.get("scenario") or {}
    tz = tz_of(scenario.get("utc_offset", "+00:00"))
    pump = result.get("pump") or {}
    series = result.get("series") or None
    trial = result.get("trial") or None
    pathway = result.get("pathway") or {}
    return ReportInput(
        result=result,
        tz=tz,
        origin=_maybe(scenario.get("start"), tz),
        end=_maybe(scenario.get("end"), tz),
        units=DrugUnits(pump.get("drug")),
        series_origin=parse_time(series["origin"], tz) if series else None,
        patient_origin=_maybe(((result.get("patient") or {}).get("series") or {}).get("origin"), tz),
        events=tuple(
            EventIn(e["type"], parse_time(e["time"], tz), e["time"], bool(e.get("device", True)), e)
            for e in result.get("events") or []
        ),
        refills=tuple(
            RefillIn(parse_time(x["time"], tz), float(x["discrepancy_ml"]), x) for x in result.get("refills") or []
        ),
        trial=None
        if not trial
        else TrialIn(
            drug=trial.get("drug"),
            vitals_at=tuple(parse_time(v["time"], tz) for v in trial.get("vitals") or []),
            doses=tuple((parse_time(d["time"], tz), d["dose_mg"]) for d in trial.get("doses") or []),
            alerts=tuple((parse_time(a["time"], tz), a["kind"]) for a in trial.get("alerts") or []),
        ),
        stages=tuple(
            StageIn(s["stage"], parse_time(s["start"], tz), parse_time(s["end"], tz) if s.get("end") else None, s)
            for s in pathway.get("stages") or []
        ),
    )


__all__ = ["EventIn", "RefillIn", "ReportInput", "StageIn", "TrialIn", "report_input"]
