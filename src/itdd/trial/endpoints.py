"""The closed list of trial endpoints: a registry, one :class:`Endpoint` per name.

Each endpoint says what it measures, in which group of patients, its kind (which decides the
statistics) and how to read one patient's contribution from a
:class:`~itdd.care.outcome.PatientOutcome`.  The per-patient rules reproduce
:func:`itdd.care.cohort.summarize` exactly, so a one-arm trial's estimates are the cohort's
metrics, and the issue-10 ones (mortality, durability, side effects, ODI, EQ-5D, pain interference,
return to work, satisfaction) reproduce
:func:`itdd.care.metrics.new_metrics` (``tests/trial/test_wiring.py``).  An endpoint the model
cannot support may stay in the registry with ``available=False`` and a reason, so a protocol
naming one gets a clear error; a later model registers its endpoints with :func:`register`.

Kinds:

* ``proportion``: value 1/0 per patient in the group; Wilson interval.
* ``mean``: a number per patient in the group; t interval.
* ``ratio``: ``1 - sum(numerator) / sum(denominator)`` over the group (oral MME reduction);
  percentile bootstrap interval.
* ``rate``: events per 100 patient-years (events, years at risk per patient); exact Poisson interval.
* ``time_to_event``: years from the implant to the event (or censoring) among implanted patients;
  Kaplan-Meier with Greenwood intervals (lifelines); the estimate is the event-free fraction at
  the trial horizon (``years``; or the endpoint's own ``at_years``, e.g. 5 for
  ``catheter_event_free_5_years``), so its unit is ``fraction``; with ``complement`` it is
  1 - that (``explanted_by_3_years``: a cumulative incidence; the curve stays event-free).

Why one module of ~540 lines: it is the one closed list a protocol's endpoint names are checked
against; most of its length is the table of endpoints itself (one short entry each), read top to
bottom like docs/trials.md, and splitting the table would make two lists to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..care.hazards import CATHETER_KINDS, YEAR_S
from ..care.outcome import PatientOutcome
from ..timeunits import DAYS_PER_YEAR, SECONDS_PER_DAY, SECONDS_PER_MONTH

__all__ = ["ENDPOINTS", "Endpoint", "Extracted", "available_names", "get_endpoint", "register"]

MONTH_S = SECONDS_PER_MONTH
DAY_S = SECONDS_PER_DAY
STABLE_BAND = 0.20  # as itdd.care.metrics: dose at 36 months within +/-20% of the dose at 12 months
HORIZON_SLACK_S = SECONDS_PER_DAY  # as itdd.care.cohort: followed "12 months" to within a day counts

#: one patient's contribution: a value, (numerator, denominator), (events, years) or (years, event);
#: None when the patient is not in the endpoint's group
Extracted = float | tuple[float, float] | None


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # proportion | mean | ratio | rate | time_to_event
    unit: str  # fraction | mg/day | MME/day | per 100 patient-years (time to event: event-free fraction)
    description: str
    group: str
    higher_is_better: bool
    min_years: float = 0.0  # the follow-up the endpoint needs
    extract: Callable[[PatientOutcome, float], Extracted] | None = None
    available: bool = True
    unavailable_reason: str = ""
    at_years: float | None = None  # time to event: estimate at this time instead of the trial horizon
    complement: bool = False  # time to event: report 1 - Kaplan-Meier (cumulative incidence)


def _followed(o: PatientOutcome, months: float) -> bool:
    return o.followed_s + HORIZON_SLACK_S >= months * MONTH_S


def _after_implant(o: PatientOutcome) -> int:
    return sum(1 for c in o.complications if c.stage in ("implant", "follow-up"))


def _catheter_by_9_months(o: PatientOutcome) -> bool:
    return any(
        c.kind in CATHETER_KINDS and o.implant_s is not None and c.t_s - o.implant_s <= 9 * MONTH_S
        for c in o.complications
    )


def _g12(o: PatientOutcome) -> bool:
    return o.implanted and _followed(o, 12)


def _tte(o: PatientOutcome, times: list[float]) -> Extracted:
    """(years from implant to the first event, 1) or (years followed, 0); None if not implanted."""
    if not o.implanted or o.implant_s is None:
        return None
    followed = o.followed_s / YEAR_S
    events = [t for t in times if t >= o.implant_s]
    if events:
        return (min(min(events) - o.implant_s, o.followed_s) / YEAR_S, 1.0)
    return (followed, 0.0)


def _catheter_times(o: PatientOutcome) -> list[float]:
    return [c.t_s for c in o.complications if c.kind in CATHETER_KINDS]


def _tte_catheter(o: PatientOutcome, _y: float) -> Extracted:
    r = _tte(o, _catheter_times(o))
    if r is None or not isinstance(r, tuple) or r[1] or o.explant_s is None or o.implant_s is None:
        return r
    # no catheter can fail once the pump is out: censored at the explant
    return ((o.explant_s - o.implant_s) / YEAR_S, 0.0)


def _died_within(o: PatientOutcome, seconds: float) -> Extracted:
    """1/0 for death within ``seconds`` of the implant; None outside the group (as itdd.care.metrics)."""
    if not o.implanted or o.implant_s is None:
        return None
    died = o.death_s is not None and o.death_s - o.implant_s <= seconds
    if died:
        return 1.0
    return 0.0 if o.followed_s + HORIZON_SLACK_S >= seconds else None


def _tte_metrics(o: PatientOutcome, event_s: float | None, *, censor_at_explant: bool = False) -> Extracted:
    """(years, event) from the outcome's own first-event time, as itdd.care.metrics._time_to."""
    if not o.implanted or o.implant_s is None:
        return None
    if event_s is not None:
        return ((event_s - o.implant_s) / YEAR_S, 1.0)
    end = o.followed_s
    if censor_at_explant and o.explant_s is not None:
        end = min(end, o.explant_s - o.implant_s)
    return (end / YEAR_S, 0.0)


def _stable(o: PatientOutcome) -> Extracted:
    if not (o.implanted and _followed(o, 36) and (o.dose_mg_per_day_12_months or 0.0) > 0):
        return None
    d12, d36 = o.dose_mg_per_day_12_months, o.dose_mg_per_day_36_months
    assert d12 is not None
    return float(d36 is not None and abs(d36 / d12 - 1.0) <= STABLE_BAND + 1e-12)


def _mean_or_none(v: float | None) -> Extracted:
    return None if v is None else float(v)


def _onset(attr: str) -> Callable[[PatientOutcome, float], Extracted]:
    """1/0 for a side effect's onset while followed; None outside the group (as itdd.care.metrics)."""

    def extract(o: PatientOutcome, _y: float) -> Extracted:
        return float(getattr(o, attr) is not None) if o.implanted and o.side_effects_modelled else None

    return extract


_LIST: tuple[Endpoint, ...] = (
    Endpoint(
        "trial_success_rate",
        "proportion",
        "fraction",
        "Screening trial succeeded (>= 50% pain relief)",
        "trialled patients",
        True,
        extract=lambda o, y: None if o.trial_success is None else float(o.trial_success),
    ),
    Endpoint(
        "implant_rate",
        "proportion",
        "fraction",
        "Implanted",
        "all patients",
        True,
        extract=lambda o, y: float(o.implanted),
    ),
    Endpoint(
        "refused_rate",
        "proportion",
        "fraction",
        "Refused at screening (contraindication)",
        "all patients",
        False,
        extract=lambda o, y: float(o.refused is not None),
    ),
    Endpoint(
        "relief_50_at_12_months",
        "proportion",
        "fraction",
        ">= 50% pain relief at 12 months (no value there, e.g. therapy stopped, counts as not relieved)",
        "implanted, followed 12 months",
        True,
        min_years=1.0,
        extract=lambda o, y: float(o.relief_12_months is not None and o.relief_12_months >= 0.5) if _g12(o) else None,
    ),
    Endpoint(
        "mean_relief_12_months",
        "mean",
        "fraction",
        "Pain relief at 12 months, 1 - pain / baseline pain",
        "implanted, followed 12 months, with a value",
        True,
        min_years=1.0,
        extract=lambda o, y: _mean_or_none(o.relief_12_months) if _g12(o) else None,
    ),
    Endpoint(
        "mean_relief_36_months",
        "mean",
        "fraction",
        "Pain relief at 36 months",
        "implanted, followed 36 months, with a value",
        True,
        min_years=3.0,
        extract=lambda o, y: _mean_or_none(o.relief_36_months) if o.implanted and _followed(o, 36) else None,
    ),
    Endpoint(
        "mean_dose_mg_per_day_6_months",
        "mean",
        "mg/day",
        "Programmed intrathecal dose at 6 months (morphine equivalents; 0 if therapy stopped)",
        "implanted, with a 6-month dose",
        False,
        min_years=0.5,
        extract=lambda o, y: _mean_or_none(o.dose_mg_per_day_6_months) if o.implanted else None,
    ),
    Endpoint(
        "mean_dose_mg_per_day_36_months",
        "mean",
        "mg/day",
        "Programmed intrathecal dose at 36 months",
        "implanted, with a 36-month dose",
        False,
        min_years=3.0,
        extract=lambda o, y: _mean_or_none(o.dose_mg_per_day_36_months) if o.implanted else None,
    ),
    Endpoint(
        "mean_oral_mme_per_day_12_months",
        "mean",
        "MME/day",
        "Oral opioid use at 12 months",
        "implanted, followed 12 months, with a value",
        False,
        min_years=1.0,
        extract=lambda o, y: _mean_or_none(o.oral_mme_per_day_12_months) if _g12(o) else None,
    ),
    Endpoint(
        "oral_mme_reduction",
        "ratio",
        "fraction",
        "Oral opioid reduction at 12 months: 1 - mean MME at 12 months / mean MME at baseline",
        "implanted, followed 12 months, with a value",
        True,
        min_years=1.0,
        extract=lambda o, y: (
            (float(o.oral_mme_per_day_12_months), float(o.baseline_oral_mme_per_day))
            if _g12(o) and o.oral_mme_per_day_12_months is not None
            else None
        ),
    ),
    Endpoint(
        "complication_rate",
        "proportion",
        "fraction",
        ">= 1 complication after the implant (implant stage included)",
        "implanted",
        False,
        extract=lambda o, y: float(_after_implant(o) > 0) if o.implanted else None,
    ),
    Endpoint(
        "complication_free_9_months",
        "proportion",
        "fraction",
        "Free of catheter complications 9 months after the implant (Follett 2000)",
        "implanted, followed 9 months or with a catheter complication before",
        True,
        min_years=0.75,
        extract=lambda o, y: (
            float(not _catheter_by_9_months(o))
            if o.implanted and (o.followed_s + HORIZON_SLACK_S >= 9 * MONTH_S or _catheter_by_9_months(o))
            else None
        ),
    ),
    Endpoint(
        "reoperation_rate",
        "proportion",
        "fraction",
        ">= 1 re-operation (revision, replacement or explant)",
        "implanted",
        False,
        extract=lambda o, y: float(o.reoperations > 0) if o.implanted else None,
    ),
    Endpoint(
        "explant_rate",
        "proportion",
        "fraction",
        "Explanted",
        "implanted",
        False,
        extract=lambda o, y: float(o.explanted) if o.implanted else None,
    ),
    Endpoint(
        "complications_per_100_patient_years",
        "rate",
        "per 100 patient-years",
        "Complications after the implant (all kinds) per 100 implanted patient-years",
        "implanted (their years followed)",
        False,
        extract=lambda o, y: (float(_after_implant(o)), o.followed_s / YEAR_S) if o.implanted else None,
    ),
    Endpoint(
        "time_to_explant",
        "time_to_event",
        "fraction",
        "Years from the implant to the explant",
        "implanted",
        True,
        extract=lambda o, y: _tte(o, [] if o.explant_s is None else [o.explant_s]),
    ),
    Endpoint(
        "time_to_catheter_event",
        "time_to_event",
        "fraction",
        "Years from the implant to the first catheter complication (kink/occlusion, leak, disconnection, "
        "migration); censored at the explant",
        "implanted",
        True,
        extract=_tte_catheter,
    ),
    Endpoint(
        "time_to_reoperation",
        "time_to_event",
        "fraction",
        "Years from the implant to the first re-operation (revision, replacement or explant)",
        "implanted",
        True,
        extract=lambda o, y: _tte(o, list(o.reoperations_s)),
    ),
    Endpoint(
        "time_to_death",
        "time_to_event",
        "fraction",
        "Years from the implant to death (all causes); censored at the end of follow-up",
        "implanted",
        True,
        extract=lambda o, y: _tte(o, [] if o.death_s is None else [o.death_s]),
    ),
    Endpoint(
        "mortality_30_days",
        "proportion",
        "fraction",
        "Died within 30 days of the implant (all causes)",
        "implanted, followed 30 days or died before",
        False,
        min_years=30 / DAYS_PER_YEAR,
        extract=lambda o, y: _died_within(o, 30 * DAY_S),
    ),
    Endpoint(
        "mortality_1_year",
        "proportion",
        "fraction",
        "Died within a year of the implant (all causes)",
        "implanted, followed 12 months or died before",
        False,
        min_years=1.0,
        extract=lambda o, y: _died_within(o, YEAR_S),
    ),
    Endpoint(
        "catheter_event_free_5_years",
        "time_to_event",
        "fraction",
        "Free of catheter complications 5 years after the implant (Kaplan-Meier at 5 years; "
        "censored at the explant and the end of follow-up)",
        "implanted",
        True,
        min_years=5.0,
        at_years=5.0,
        extract=lambda o, y: _tte_metrics(o, o.catheter_event_s, censor_at_explant=True),
    ),
    Endpoint(
        "explanted_by_3_years",
        "time_to_event",
        "fraction",
        "Explanted by 3 years after the implant: 1 - Kaplan-Meier explant-free at 3 years (cumulative "
        "incidence); censored at the end of follow-up",
        "implanted",
        False,
        min_years=3.0,
        at_years=3.0,
        complement=True,
        extract=lambda o, y: _tte_metrics(o, o.explant_s),
    ),
    Endpoint(
        "stable_dose_12_to_36_months",
        "proportion",
        "fraction",
        "Dose at 36 months within +/-20% of the dose at 12 months",
        "implanted, followed 36 months, dose > 0 at 12 months",
        True,
        min_years=3.0,
        extract=lambda o, y: _stable(o),
    ),
    Endpoint(
        "off_systemic_opioids_12_months",
        "proportion",
        "fraction",
        "Off systemic (oral) opioids at 12 months",
        "implanted, followed 12 months, with a value",
        True,
        min_years=1.0,
        extract=lambda o, y: (
            float((o.oral_mme_per_day_12_months or 0.0) <= 0.0)
            if _g12(o) and o.oral_mme_per_day_12_months is not None
            else None
        ),
    ),
    Endpoint(
        "pain_reduction_25_at_24_months",
        "proportion",
        "fraction",
        "Pain >= 25% below baseline at 24 months (no value there counts as not relieved)",
        "implanted, followed 24 months",
        True,
        min_years=2.0,
        extract=lambda o, y: (
            float(o.relief_24_months is not None and o.relief_24_months >= 0.25)
            if o.implanted and _followed(o, 24)
            else None
        ),
    ),
    Endpoint(
        "peripheral_edema_rate",
        "proportion",
        "fraction",
        "Developed peripheral oedema while followed",
        "implanted (side effects simulated)",
        False,
        extract=lambda o, y: (
            float(o.peripheral_edema_s is not None) if o.implanted and o.side_effects_modelled else None
        ),
    ),
    Endpoint(
        "hypogonadism_rate",
        "proportion",
        "fraction",
        "Developed opioid-induced hypogonadism while followed",
        "implanted (side effects simulated)",
        False,
        extract=lambda o, y: float(o.hypogonadism_s is not None) if o.implanted and o.side_effects_modelled else None,
    ),
    Endpoint(
        "mean_odi_change_12_months",
        "mean",
        "points",
        "Oswestry Disability Index (0-100) change from baseline to 12 months (negative: less disabled)",
        "implanted, with both values",
        False,
        min_years=1.0,
        extract=lambda o, y: (
            o.odi_12_months - o.odi_baseline
            if o.implanted and o.odi_12_months is not None and o.odi_baseline is not None
            else None
        ),
    ),
    Endpoint(
        "mean_eq5d_change_12_months",
        "mean",
        "utility",
        "EQ-5D utility change from baseline to 12 months (positive: better)",
        "implanted, with both values",
        True,
        min_years=1.0,
        extract=lambda o, y: (
            o.eq5d_12_months - o.eq5d_baseline
            if o.implanted and o.eq5d_12_months is not None and o.eq5d_baseline is not None
            else None
        ),
    ),
    *(
        Endpoint(
            key,
            "proportion",
            "fraction",
            f"Developed {what} while followed",
            "implanted (side effects simulated)",
            False,
            extract=_onset(attr),
        )
        for key, attr, what in (
            ("urinary_retention_rate", "urinary_retention_s", "urinary retention"),
            ("constipation_rate", "constipation_s", "opioid-induced constipation"),
            ("sweating_rate", "sweating_s", "excessive sweating"),
            ("hypocortisolism_rate", "hypocortisolism_s", "central hypocortisolism"),
        )
    ),
    Endpoint(
        "mean_pain_interference_change_12_months",
        "mean",
        "points",
        "BPI pain interference (0-10) change from baseline to 12 months (negative: less interference)",
        "implanted, with both values",
        False,
        min_years=1.0,
        extract=lambda o, y: (
            o.pain_interference_12_months - o.pain_interference_baseline
            if o.implanted and o.pain_interference_12_months is not None and o.pain_interference_baseline is not None
            else None
        ),
    ),
    Endpoint(
        "return_to_work_12_months",
        "proportion",
        "fraction",
        "Back at work by 12 months after the implant",
        "implanted, of working age and not working at baseline, followed 12 months",
        True,
        min_years=1.0,
        extract=lambda o, y: (
            float(o.returned_to_work_12_months)
            if o.implanted and o.not_working_at_baseline and o.returned_to_work_12_months is not None
            else None
        ),
    ),
    Endpoint(
        "satisfied_12_months",
        "proportion",
        "fraction",
        "Satisfied with the therapy at 12 months (pain >= 30% below baseline)",
        "implanted, followed 12 months",
        True,
        min_years=1.0,
        extract=lambda o, y: (
            float(o.satisfied_12_months) if o.implanted and o.satisfied_12_months is not None else None
        ),
    ),
)

ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in _LIST}


def register(endpoint: Endpoint) -> None:
    """Add (or make available) an endpoint: how later models extend the closed list."""
    ENDPOINTS[endpoint.name] = endpoint


def available_names() -> list[str]:
    return [n for n, e in ENDPOINTS.items() if e.available]


def get_endpoint(name: str) -> Endpoint:
    return ENDPOINTS[name]
