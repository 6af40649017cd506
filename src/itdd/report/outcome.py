"""The patient's outcome, as the report shows it (issue 10): how the therapy ended (on therapy,
explanted and why, dead and of what), relief and oral opioids at 12 months, the patient-reported
outcomes before and at 12 months (ODI, EQ-5D, BPI pain interference), satisfaction, return to work,
and each side effect with the day it began.  Reads ``result["outcome"]`` (care/pathway.py)."""

from __future__ import annotations

from typing import Any

from .text import num, pct

__all__ = ["outcome_rows"]

_SIDE_EFFECT_NAMES = {
    "peripheral_edema": "peripheral oedema",
    "hypogonadism": "hypogonadism",
    "urinary_retention": "urinary retention",
    "constipation": "constipation",
    "sweating": "sweating",
    "hypocortisolism": "hypocortisolism",
}


def _before_after(o: dict[str, Any], key: str, digits: int) -> str | None:
    b, a = o.get(f"{key}_baseline"), o.get(f"{key}_12_months")
    if b is None or a is None:
        return None
    return f"{num(b, digits)} before → {num(a, digits)} at 12 months ({'+' if a >= b else ''}{num(a - b, digits)})"


def outcome_rows(o: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, text) rows; empty when the result has no pathway outcome or no implant."""
    if not o or not o.get("implanted"):
        return []
    rows: list[tuple[str, str]] = []
    if o.get("death_cause"):
        end = f"died on day {num(o.get('death_day'), 4)} after the implant: {o['death_cause'].replace('_', ' ')}"
    elif o.get("explanted"):
        end = f"explanted on day {num(o.get('explant_day'), 4)}: {o.get('explant_reason') or 'reason not recorded'}"
    else:
        end = f"on therapy at the end of follow-up ({num(o.get('followed_days'), 4)} days)"
    rows.append(("How the therapy ended", end))
    if o.get("relief_12_months") is not None:
        oral = o.get("oral_mme_per_day_12_months")
        rows.append(
            (
                "At 12 months",
                f"{pct(o['relief_12_months'])} pain relief from before the trial"
                + (f"; oral opioids {num(oral, 3)} MME/day" if oral is not None else ""),
            )
        )
    for label, key, digits in (
        ("Function (Oswestry Disability Index, 0-100)", "odi", 3),
        ("Quality of life (EQ-5D utility)", "eq5d", 2),
        ("Pain interference (BPI, 0-10)", "pain_interference", 2),
    ):
        text = _before_after(o, key, digits)
        if text:
            rows.append((label, text))
    if o.get("satisfied_12_months") is not None:
        rows.append(("Satisfied at 12 months", "yes" if o["satisfied_12_months"] else "no"))
    if o.get("not_working_at_baseline") and o.get("returned_to_work_12_months") is not None:
        back = "back at work by 12 months" if o["returned_to_work_12_months"] else "not back at work at 12 months"
        rows.append(("Work", f"not working before the implant; {back}"))
    if o.get("pain_4_weeks") is not None and o.get("pain_enrolment") is not None:  # cancer pain (care/cancer.py)
        success = o.get("clinical_success_4_weeks")
        rows.append(
            (
                "Cancer pain at 4 weeks (Smith 2002's measures)",
                f"pain {num(o['pain_enrolment'], 2)} → {num(o['pain_4_weeks'], 2)}; drug toxicity "
                f"{num(o.get('toxicity_enrolment'), 2)} → {num(o.get('toxicity_4_weeks'), 2)} (0-60); "
                + ("clinical success" if success else "no clinical success"),
            )
        )
    if o.get("cancer_new_pains"):
        rows.append(("New pain from the cancer (not a pump fault)", f"{o['cancer_new_pains']} time(s)"))
    onsets = o.get("side_effect_onset_days") or {}
    if onsets:
        parts = [
            f"{_SIDE_EFFECT_NAMES.get(k, k)} (day {num(d, 4)})" for k, d in sorted(onsets.items(), key=lambda kv: kv[1])
        ]
        rows.append(("Side effects (onset after the implant)", "; ".join(parts)))
    elif "side_effect_onset_days" in o:
        rows.append(("Side effects (onset after the implant)", "none while followed"))
    return rows
