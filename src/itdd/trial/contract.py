"""The trial summary's JSON contract (docs/trials.md "JSON contract") as typed records.

:func:`itdd.trial.summary.summarize_trial` builds a :class:`TrialSummary`; the command line
writes it as JSON and :mod:`itdd.trial.report` draws it.  They are ``TypedDict`` s: the JSON is
the records themselves, key for key and in this order, so typing them changed no output.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "ArmSummary",
    "Comparison",
    "ComparisonRow",
    "Consort",
    "DoseBands",
    "EndpointsInfo",
    "Enrolment",
    "Estimate",
    "IndividualEffect",
    "KaplanMeierCurve",
    "TrialSummary",
]

OptFloat = float | None


class Estimate(TypedDict):
    """One arm's estimate of one endpoint with its 95% interval (None where undefined)."""

    estimate: OptFloat
    ci_low: OptFloat
    ci_high: OptFloat
    n: int


class Comparison(TypedDict):
    """``arm - reference`` for one endpoint: the difference, its 95% interval, the test."""

    difference: OptFloat
    ci_low: OptFloat
    ci_high: OptFloat
    p_value: OptFloat
    test: str | None
    n: int


class ComparisonRow(TypedDict):
    """A :class:`Comparison` with the endpoint and arms it compares."""

    endpoint: str
    arm: str
    reference: str
    difference: OptFloat
    ci_low: OptFloat
    ci_high: OptFloat
    p_value: OptFloat
    test: str | None
    n: int


class IndividualEffect(TypedDict):
    """Paired trials: shares of patients better, the same or worse in the arm than in the reference."""

    n: int
    better: OptFloat
    same: OptFloat
    worse: OptFloat
    difference_percentiles: dict[str, float] | None  # "5", "25", "50", "75", "95"


class KaplanMeierCurve(TypedDict):
    t_years: list[OptFloat]
    survival: list[OptFloat]
    ci_low: list[OptFloat]
    ci_high: list[OptFloat]


class Consort(TypedDict):
    """Participant flow of one arm."""

    screened: int
    refused: int
    trialled: int
    trial_failed: int
    implanted: int
    completed: int
    died: int | None  # None: deaths not modelled
    explanted: int
    lost: int


#: Programmed dose (mg/day) at each month after the implant: percentiles over implanted patients.
class DoseBands(TypedDict):
    months: list[int]
    patients: int
    p10: list[OptFloat]
    p25: list[OptFloat]
    p50: list[OptFloat]
    p75: list[OptFloat]
    p90: list[OptFloat]


class ArmSummary(TypedDict):
    name: str
    patients: int
    endpoints: dict[str, Estimate]


class EndpointsInfo(TypedDict):
    primary: str
    secondary: list[str]
    units: dict[str, str]
    kinds: dict[str, str]


class Enrolment(TypedDict):
    sampled: int
    eligible: int


class TrialSummary(TypedDict):
    """The whole summary (summary.json, ``itdd trial --json``)."""

    itdd_version: str
    disclaimer: str
    name: str
    seed: int
    patients_per_arm: int
    years: float
    paired: bool
    reference: str
    endpoints: EndpointsInfo
    enrolment: Enrolment
    arms: list[ArmSummary]
    comparisons: list[ComparisonRow]
    consort: dict[str, Consort]
    kaplan_meier: dict[str, dict[str, KaplanMeierCurve]]
    individual_effects: dict[str, dict[str, IndividualEffect]]
    dose_trajectories: dict[str, DoseBands]
    failed_patients: dict[str, list[str]]
    protocol: dict[str, Any]  # the protocol as parsed (pydantic's JSON dump of trial.protocol.Protocol)
