"""Cohort metrics of issue 10 (deaths, failure, side effects, what patients report): pure functions
from a list of :class:`~itdd.care.outcome.PatientOutcome` to the new ``itdd cohort --json`` keys.

Every key is defined in docs/cohort.md ("Mortality, durability and patient-reported outcomes"):
its group (who counts in the denominator), its event and its horizon.  A key is ``None`` when the
follow-up is shorter than its horizon, its group is empty, or (side effects, PROs) the outcomes do
not carry the quantity.  Kaplan-Meier estimates use lifelines (imported when first needed: it
pulls in pandas, about 4 s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..timeunits import SECONDS_PER_DAY, SECONDS_PER_MONTH, SECONDS_PER_YEAR
from .outcome import PatientOutcome

__all__ = [
    "NEW_KEYS",
    "PUBLISHED_NEW",
    "explants_by_reason",
    "kaplan_meier",
    "later_metrics",
    "new_metrics",
    "new_rows",
]

DAY_S = SECONDS_PER_DAY
YEAR_S = SECONDS_PER_YEAR
MONTH_S = SECONDS_PER_MONTH
SLACK_S = DAY_S  # followed "12 months" to within a day counts (as cohort.py)
STABLE_BAND = 0.20  # dose at 36 months within +/-20% of the dose at 12 months (issue 10)

#: the keys this module adds to ``itdd cohort --json`` (issue 10), in order
NEW_KEYS = (
    "mortality_30_days",
    "mortality_1_year",
    "catheter_event_free_5_years",
    "explanted_by_3_years",
    "stable_dose_12_to_36_months",
    "off_systemic_opioids_12_months",
    "pain_reduction_25_at_24_months",
    "peripheral_edema_rate",
    "hypogonadism_rate",
    "mean_odi_change_12_months",
    "mean_eq5d_change_12_months",
    # further side effects and outcomes patients and payers care about (later_metrics)
    "urinary_retention_rate",
    "constipation_rate",
    "sweating_rate",
    "hypocortisolism_rate",
    "mean_pain_interference_change_12_months",
    "return_to_work_12_months",
    "satisfied_12_months",
)

#: (published value or None, source, unit) for each new key: docs/cohort.md has the discussion
PUBLISHED_NEW: dict[str, tuple[float | None, str, str]] = {
    "mortality_30_days": (0.0039, "Coffey 2009: 0.39% at 1 month after IT opioid implant (non-cancer)", "fraction"),
    "mortality_1_year": (0.0389, "Coffey 2009: 3.89% at 1 year after implant", "fraction"),
    "catheter_event_free_5_years": (None, "no 5-year figure found; Follett 2000: 78.9% free at 9 months", "fraction"),
    "explanted_by_3_years": (0.06, "Roberts 2001: 6% explanted over a mean 36 months", "fraction"),
    "stable_dose_12_to_36_months": (
        18 / 28,
        "Winkelmuller 1996: constant dose in 18 of 28 followed > 4 years (Kumar 2001: none of 16)",
        "fraction",
    ),
    "off_systemic_opioids_12_months": (None, "no share found; Hamza 2012: all reduced oral opioids", "fraction"),
    "pain_reduction_25_at_24_months": (
        11 / 22,
        "Anderson 1999: >= 25% VAS reduction in 11 of 22 at 24 months",
        "fraction",
    ),
    "peripheral_edema_rate": (5 / 23, "Aldrete 2000: leg oedema in 5 of 23 on IT opiates > 24 months", "fraction"),
    "hypogonadism_rate": (25 / 29, "Abs 2000: low testosterone in 25 of 29 men at a mean 26.6 months", "fraction"),
    "mean_odi_change_12_months": (None, "no mean found; Deer 2004: > 65% improved >= 1 ODI level", "points"),
    "mean_eq5d_change_12_months": (None, "no published mean found (docs/cohort.md)", "utility"),
    "urinary_retention_rate": (
        2 / 11,
        "Anderson 1998: bladder dysfunction needing pump removal in 2 of 11 (up to 3 years)",
        "fraction",
    ),
    "constipation_rate": (0.248, "Veiga 2018: opioid-induced constipation 24.8% in 6 months (oral)", "fraction"),
    "sweating_rate": (None, "no incidence found (assumption: 10% at 2 years at 10 mg/day)", "fraction"),
    "hypocortisolism_rate": (14 / 71, "Abs 2000: low urinary free cortisol in 14 of 71 at 26.6 months", "fraction"),
    "mean_pain_interference_change_12_months": (
        None,
        "no IT mean found; Hamza 2012: BPI average pain 7.47 -> 3.41 at 36 months",
        "points",
    ),
    "return_to_work_12_months": (
        5 / 19,
        "Njee 2004: 5 of 19 back to their jobs (mean 54 months); Roberts 2001: no change",
        "fraction",
    ),
    "satisfied_12_months": (
        0.80,
        "Deer 2004: 80% satisfied (Schultz 2025 80.7%, Kumar 2001 62.5%, Roberts 2001 88%, Winkelmuller 1996 92%)",
        "fraction",
    ),
}


def _frac(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _mean(values: Sequence[float]) -> float | None:
    return None if not values else math.fsum(values) / len(values)


def _followed(o: PatientOutcome, seconds: float) -> bool:
    return o.followed_s + SLACK_S >= seconds


def _died_by(o: PatientOutcome, seconds: float) -> bool:
    return o.death_s is not None and o.implant_s is not None and o.death_s - o.implant_s <= seconds


def kaplan_meier(durations_s: Sequence[float], events: Sequence[bool], at_s: float) -> float | None:
    """Kaplan-Meier survival at ``at_s`` (lifelines); None when nobody is at risk that long
    (no follow-up reaches ``at_s``: the estimate would be an extrapolation)."""
    if not durations_s or max(durations_s) + SLACK_S < at_s:
        return None
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit([d / DAY_S for d in durations_s], [bool(e) for e in events])
    return float(kmf.survival_function_at_times([at_s / DAY_S]).iloc[0])


def _time_to(o: PatientOutcome, event_s: float | None, *, censor_at_explant: bool = False) -> tuple[float, bool]:
    """(duration from implant, event happened) for one implanted patient; censored at the end of
    follow-up (death included) and, for catheter events, at explant (no catheter any more)."""
    assert o.implant_s is not None
    if event_s is not None:
        return event_s - o.implant_s, True
    end = o.followed_s
    if censor_at_explant and o.explant_s is not None:
        end = min(end, o.explant_s - o.implant_s)
    return end, False


def new_metrics(outcomes: Sequence[PatientOutcome], years: float) -> dict[str, Any]:
    """The issue-10 keys from outcomes followed ``years`` after implant (docs/cohort.md)."""
    horizon_s = years * YEAR_S + 1e-6
    implanted = [o for o in outcomes if o.implanted and o.implant_s is not None]
    out: dict[str, Any] = {}

    for key, s in (("mortality_30_days", 30 * DAY_S), ("mortality_1_year", YEAR_S)):
        group = [o for o in implanted if _followed(o, s) or _died_by(o, s)] if horizon_s + SLACK_S >= s else []
        out[key] = _frac(sum(1 for o in group if _died_by(o, s)), len(group))

    cath = [_time_to(o, o.catheter_event_s, censor_at_explant=True) for o in implanted]
    five = 5 * YEAR_S
    out["catheter_event_free_5_years"] = (
        kaplan_meier([d for d, _ in cath], [e for _, e in cath], five) if horizon_s + SLACK_S >= five else None
    )
    expl = [_time_to(o, o.explant_s) for o in implanted]
    three = 3 * YEAR_S
    km = kaplan_meier([d for d, _ in expl], [e for _, e in expl], three) if horizon_s + SLACK_S >= three else None
    out["explanted_by_3_years"] = None if km is None else 1.0 - km

    g36 = [o for o in implanted if _followed(o, 36 * MONTH_S) and (o.dose_mg_per_day_12_months or 0.0) > 0]
    stable = [
        o
        for o in g36
        if o.dose_mg_per_day_36_months is not None
        and o.dose_mg_per_day_12_months is not None
        and abs(o.dose_mg_per_day_36_months / o.dose_mg_per_day_12_months - 1.0) <= STABLE_BAND + 1e-12
    ]
    out["stable_dose_12_to_36_months"] = _frac(len(stable), len(g36)) if horizon_s + SLACK_S >= 36 * MONTH_S else None

    g12 = [o for o in implanted if _followed(o, 12 * MONTH_S) and o.oral_mme_per_day_12_months is not None]
    out["off_systemic_opioids_12_months"] = (
        _frac(sum(1 for o in g12 if (o.oral_mme_per_day_12_months or 0.0) <= 0.0), len(g12))
        if horizon_s + SLACK_S >= 12 * MONTH_S
        else None
    )
    # a patient followed 24 months without a pain value there (not possible in the pathway) counts
    # as not relieved, as relief_50_at_12_months does
    g24 = [o for o in implanted if _followed(o, 24 * MONTH_S)] if horizon_s + SLACK_S >= 24 * MONTH_S else []
    out["pain_reduction_25_at_24_months"] = _frac(
        sum(1 for o in g24 if o.relief_24_months is not None and o.relief_24_months >= 0.25), len(g24)
    )

    se = [o for o in implanted if o.side_effects_modelled]
    out["peripheral_edema_rate"] = _frac(sum(1 for o in se if o.peripheral_edema_s is not None), len(se))
    out["hypogonadism_rate"] = _frac(sum(1 for o in se if o.hypogonadism_s is not None), len(se))

    odi = [
        o.odi_12_months - o.odi_baseline
        for o in implanted
        if o.odi_12_months is not None and o.odi_baseline is not None
    ]
    out["mean_odi_change_12_months"] = _mean(odi)
    eq = [
        o.eq5d_12_months - o.eq5d_baseline
        for o in implanted
        if o.eq5d_12_months is not None and o.eq5d_baseline is not None
    ]
    out["mean_eq5d_change_12_months"] = _mean(eq)
    deaths: dict[str, int] = {}
    for o in implanted:
        if o.death_cause is not None:
            deaths[o.death_cause] = deaths.get(o.death_cause, 0) + 1
    out["deaths"] = sum(deaths.values())
    out["deaths_by_cause"] = deaths
    out["explants_by_reason"] = explants_by_reason(outcomes)
    out.update(later_metrics(outcomes))
    return out


def explants_by_reason(outcomes: Sequence[PatientOutcome]) -> dict[str, int]:
    """Implanted patients explanted while followed, counted by the reason recorded at the explant
    (``PatientOutcome.explant_reason``: "infection", "lack of effect", ...), sorted by reason."""
    counts: dict[str, int] = {}
    for o in outcomes:
        if o.implanted and o.explanted:
            r = o.explant_reason or "unknown"
            counts[r] = counts.get(r, 0) + 1
    return dict(sorted(counts.items()))


def later_metrics(outcomes: Sequence[PatientOutcome]) -> dict[str, Any]:
    """Further side effects and the outcomes patients and payers care about (docs/cohort.md).

    Onset rates: implanted patients with side effects modelled.  The 12-month outcomes need their
    12-month value, which only a patient followed 12 months has (None otherwise, so no horizon test
    is needed here)."""
    implanted = [o for o in outcomes if o.implanted and o.implant_s is not None]
    se = [o for o in implanted if o.side_effects_modelled]
    out: dict[str, Any] = {}
    for key, attr in (
        ("urinary_retention_rate", "urinary_retention_s"),
        ("constipation_rate", "constipation_s"),
        ("sweating_rate", "sweating_s"),
        ("hypocortisolism_rate", "hypocortisolism_s"),
    ):
        out[key] = _frac(sum(1 for o in se if getattr(o, attr) is not None), len(se))
    out["mean_pain_interference_change_12_months"] = _mean(
        [
            o.pain_interference_12_months - o.pain_interference_baseline
            for o in implanted
            if o.pain_interference_12_months is not None and o.pain_interference_baseline is not None
        ]
    )
    rtw = [o for o in implanted if o.not_working_at_baseline and o.returned_to_work_12_months is not None]
    out["return_to_work_12_months"] = _frac(sum(1 for o in rtw if o.returned_to_work_12_months), len(rtw))
    sat = [o for o in implanted if o.satisfied_12_months is not None]
    out["satisfied_12_months"] = _frac(sum(1 for o in sat if o.satisfied_12_months), len(sat))
    return out


LABELS = {
    "mortality_30_days": "Died within 30 days of implant (all causes)",
    "mortality_1_year": "Died within 1 year of implant (all causes)",
    "catheter_event_free_5_years": "Free of catheter complications at 5 years (Kaplan-Meier)",
    "explanted_by_3_years": "Explanted by 3 years (Kaplan-Meier)",
    "stable_dose_12_to_36_months": "Dose at 36 months within ±20% of 12 months",
    "off_systemic_opioids_12_months": "Off systemic opioids at 12 months",
    "pain_reduction_25_at_24_months": "Pain ≥25% below baseline at 24 months",
    "peripheral_edema_rate": "Developed peripheral oedema",
    "hypogonadism_rate": "Developed hypogonadism",
    "mean_odi_change_12_months": "Mean ODI change at 12 months",
    "mean_eq5d_change_12_months": "Mean EQ-5D utility change at 12 months",
    "urinary_retention_rate": "Developed urinary retention",
    "constipation_rate": "Developed opioid-induced constipation",
    "sweating_rate": "Developed excessive sweating",
    "hypocortisolism_rate": "Developed hypocortisolism",
    "mean_pain_interference_change_12_months": "Mean BPI pain interference change at 12 months",
    "return_to_work_12_months": "Back at work by 12 months (working age, not working before)",
    "satisfied_12_months": "Satisfied with the therapy at 12 months",
}


def new_rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    """Report/table rows for the new keys, beside their published figures."""
    rows = []
    for key in NEW_KEYS:
        value, source, unit = PUBLISHED_NEW[key]
        r: dict[str, Any] = {"metric": LABELS[key], "simulated": m.get(key), "published": value, "source": source}
        r["unit"] = unit
        if m.get(key) is None:
            r["note"] = "horizon too short, group empty or not modelled"
        rows.append(r)
    # explants by reason (a dict in the JSON): the share explanted for lack of effect, as a row
    by_reason, implanted = m.get("explants_by_reason"), m.get("implanted")
    if isinstance(by_reason, dict) and isinstance(implanted, int) and implanted > 0:
        rows.append(
            {
                "metric": "Explanted for lack of effect (while followed)",
                "simulated": by_reason.get("lack of effect", 0) / implanted,
                "published": 3 / 120,
                "source": "Winkelmuller 1996: 3 of 120 explanted for tolerance over a mean 3.4 years",
                "unit": "fraction",
                "note": "all explants by reason: " + (", ".join(f"{k} {v}" for k, v in by_reason.items()) or "none"),
            }
        )
    return rows
