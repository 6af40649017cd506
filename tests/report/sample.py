"""Results for the report tests: real pump runs, plus synthetic patient/trial/pathway/cohort sections.

The optional sections are made here by hand (simple closed forms and a seeded RNG), shaped as the
contract in itdd.report.schema says; they stand in for the patient and care layers so the report
can be tested before and independently of them.  They are test data, not a model.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from itdd.scenario import Scenario, run_scenario

START = "2026-01-05T08:00:00+01:00"


def kink_scenario(days: int = 180) -> Scenario:
    """Morphine 4 mg/day (0.2 mL/day); the catheter kinks on day 75 and the refill on day 120 finds it."""
    return Scenario.model_validate(
        {
            "name": "Morphine, a kinked catheter found at a refill",
            "start": START,
            "duration": f"{days}d",
            "seed": 11,
            "pump": {
                "model": "synchromed-ii-20",
                "drug": "morphine",
                "concentration": "20 mg/mL",
                "fill": "20 mL",
                "low_reservoir_alarm": "3 mL",
            },
            "therapy": {"mode": "simple_continuous", "dose": "4 mg/day"},
            "ptm": {"dose": "0.25 mg", "lockout": "4h", "max_per_day": 3},
            "events": [
                {"at": "+2d19h", "type": "ptm_request"},
                {"at": "+30d10h", "type": "mri", "duration": "40min", "resume_delay": "30min"},
                {"at": "+30d12h", "type": "interrogate"},
                {"at": "+60d10h", "type": "refill", "fill": "18 mL"},
                {"at": "+75d03h", "type": "catheter_fault", "kind": "occlusion"},
                {"at": "+120d10h", "type": "refill", "fill": "10 mL"},
                {"at": "+121d09h", "type": "catheter_revision"},
            ],
        }
    )


def multi_year_scenario(years: int = 5) -> Scenario:
    """Years of periodic boluses, patient boluses every third day, refills, a leak, battery end of life."""
    n_days = years * 365
    events: list[dict[str, Any]] = []
    events += [{"at": f"+{k}d10h", "type": "refill", "fill": "20 mL"} for k in range(50, n_days, 50)]
    events += [{"at": f"+{k}d19h", "type": "ptm_request"} for k in range(1, n_days, 3)]
    events += [
        {"at": "+400d", "type": "mri", "duration": "45min", "resume_delay": "2h"},
        {"at": "+700d", "type": "catheter_fault", "kind": "leak", "leak_fraction": "60%"},
        {"at": "+760d", "type": "catheter_revision"},
    ]
    return Scenario.model_validate(
        {
            "name": f"Morphine, {years} years of boluses and refills",
            "start": "2026-01-05T08:00:00-05:00",
            "duration": f"{n_days}d",
            "seed": 3,
            "pump": {
                "model": "synchromed-ii-20",
                "drug": "morphine",
                "concentration": "10 mg/mL",
                "fill": "20 mL",
                "low_reservoir_alarm": "3 mL",
                "battery_age": "3y",
            },
            "therapy": {
                "mode": "periodic_bolus",
                "basal": "1 mg/day",
                "boluses": [
                    {"at": "08:00", "dose": "0.3 mg", "duration": "30min"},
                    {"at": "14:00", "dose": "0.3 mg", "duration": "30min"},
                    {"at": "20:00", "dose": "0.3 mg", "duration": "30min"},
                ],
            },
            "ptm": {"dose": "0.1 mg", "lockout": "3h", "max_per_day": 4},
            "events": events,
        }
    )


def quiet_scenario() -> Scenario:
    """Two days, stopped pump, no events at all."""
    return Scenario.model_validate(
        {
            "name": "Quiet",
            "start": START,
            "duration": "2d",
            "pump": {"model": "synchromed-ii-40", "drug": "morphine", "concentration": "10 mg/mL", "fill": "10 mL"},
        }
    )


def run(scn: Scenario) -> dict[str, Any]:
    return run_scenario(scn)[1]


# ---- synthetic optional sections ----------------------------------------------------------------


def _rate_at(dose: dict[str, Any], day: float) -> float:
    days, vals = dose["days"], dose["delivered_mg_per_day"]
    lo, hi = 0, len(days) - 1
    if day < days[0]:
        return 0.0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if days[mid] <= day:
            lo = mid
        else:
            hi = mid - 1
    return vals[lo]


def patient_section(result: dict[str, Any], step_h: float = 2.0, seed: int = 1) -> dict[str, Any]:
    """Plausible-looking patient columns driven by the delivered dose of ``result`` (test data)."""
    rng = random.Random(seed)
    dose = result["series"]["dose"]
    span = dose["days"][-1]
    n = int(span * 24 / step_h) + 1
    days = [round(i * step_h / 24, 6) for i in range(n)]
    ke0 = 0.25  # per hour: slow onset (test data)
    ce = 0.0
    out: dict[str, list[float | None]] = {
        k: []
        for k in (
            "pain",
            "oral_mme_per_day",
            "csf_tip_mg_per_ml",
            "csf_mg_per_ml",
            "effect_site_mg_per_ml",
            "plasma_mg_per_ml",
            "resp_rate_per_min",
            "spo2_pct",
            "sedation",
            "withdrawal",
            "pruritus",
            "nausea",
        )
    }
    low_since = None
    for d in days:
        rate = _rate_at(dose, d)
        wide = rate / 50.0 / (24 * math.log(2) / (94 / 60)) / 1.0  # mg/mL, steady state of 50 mL, t1/2 94 min
        tip = wide * 7
        ce += (wide - ce) * (1 - math.exp(-ke0 * step_h))
        effect = ce / (ce + 2e-4) if ce > 0 else 0.0
        pain = max(0.0, min(10.0, 8.0 * (1 - 0.7 * effect) + rng.gauss(0, 0.4)))
        if rate < 0.5:
            low_since = d if low_since is None else low_since
        else:
            low_since = None
        wd = 0.0 if low_since is None else min(7.5, (d - low_since) * 5.0)
        out["pain"].append(round(pain, 2))
        out["oral_mme_per_day"].append(round(max(0.0, (pain - 3.0) * 15.0), 1))
        out["csf_tip_mg_per_ml"].append(tip if tip > 0 else None)
        out["csf_mg_per_ml"].append(wide if wide > 0 else None)
        out["effect_site_mg_per_ml"].append(ce if ce > 0 else None)
        out["plasma_mg_per_ml"].append(wide / 1000 if wide > 0 else None)
        out["resp_rate_per_min"].append(round(15.0 - 2.5 * effect + rng.gauss(0, 0.5), 1))
        out["spo2_pct"].append(round(min(100.0, 97.0 - 1.5 * effect + rng.gauss(0, 0.4)), 1))
        out["sedation"].append(round(0.9 * effect, 2))
        out["withdrawal"].append(round(min(10.0, wd + abs(rng.gauss(0, 0.3))), 1))
        out["pruritus"].append(round(2.0 * effect, 2))
        out["nausea"].append(round(1.0 * effect, 2))
    return {
        "id": "VP-0007",
        "drug": "morphine",
        "profile": {"baseline_pain_score": 8.0, "weight_kg": 78.0, "csf_volume_ml": 50.0, "sex": "female"},
        "series": {"origin": result["scenario"]["start"], "days": days, **out},
    }


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def trial_section(alert: bool = True) -> dict[str, Any]:
    t0 = datetime.fromisoformat("2025-12-01T09:00:00+01:00")
    vitals = []
    times = [t0 + timedelta(hours=h) for h in [0, *range(1, 13), *range(14, 25, 2)]]
    for t in times:
        h = (t - t0).total_seconds() / 3600
        dip = 6.0 * math.exp(-(((h - 7) / 2.5) ** 2)) if alert else 2.0 * math.exp(-(((h - 7) / 2.5) ** 2))
        vitals.append(
            {
                "time": _iso(t),
                "resp_rate_per_min": round(16 - dip, 1),
                "spo2_pct": round(97 - dip * 1.2, 1),
                "pain": round(max(0.0, 8 - 5.5 * (1 - math.exp(-h / 3)) * math.exp(-max(0.0, h - 16) / 10)), 1),
                "sedation": 1.0 if dip > 4 else 0.0,
            }
        )
    alerts = []
    for v in vitals:
        if v["resp_rate_per_min"] < 10:
            alerts.append(
                {
                    "time": v["time"],
                    "kind": "respiratory_rate",
                    "value": v["resp_rate_per_min"],
                    "limit": 10.0,
                    "message": f"respiratory rate {v['resp_rate_per_min']}/min is below 10/min",
                }
            )
        if v["spo2_pct"] < 90:
            alerts.append(
                {
                    "time": v["time"],
                    "kind": "spo2",
                    "value": v["spo2_pct"],
                    "limit": 90.0,
                    "message": f"SpO2 {v['spo2_pct']}% is below 90%",
                }
            )
    return {
        "drug": "morphine",
        "method": "single_bolus",
        "start": _iso(t0),
        "end": _iso(t0 + timedelta(hours=24)),
        "doses": [{"time": _iso(t0), "dose_mg": 0.3, "route": "intrathecal bolus"}],
        "vitals": vitals,
        "alerts": alerts,
        "outcome": {
            "success": True,
            "pain_relief_fraction": 0.66,
            "success_threshold_fraction": 0.5,
            "baseline_pain_score": 8.0,
            "best_pain_score": 2.7,
            "summary": "Relief of 66% at 6 h; oral opioids to be weaned before implant.",
        },
        "refusal": None,
        "complications": [],
    }


def pathway_section(result: dict[str, Any]) -> dict[str, Any]:
    stages: list[dict[str, Any]] = [
        {"stage": "screening", "start": "2025-11-20T10:00:00+01:00", "label": "Contraindication check: none found"},
        {
            "stage": "trial",
            "start": "2025-12-01T09:00:00+01:00",
            "end": "2025-12-02T09:00:00+01:00",
            "label": "Single intrathecal morphine bolus 0.3 mg",
            "outcome": "success, 66% relief",
        },
        {"stage": "implant", "start": result["scenario"]["start"], "label": "SynchroMed II-like 20 mL, tip T10"},
        {"stage": "titration", "start": "2026-01-19T10:00:00+01:00", "label": "Titration visit 1"},
        {"stage": "titration", "start": "2026-02-02T10:00:00+01:00", "label": "Titration visit 2"},
    ]
    for r in result.get("refills", []):
        stages.append({"stage": "refill", "start": r["time"], "label": f"Refill {r['filled_ml']:g} mL"})
    for e in result.get("events", []):
        if e["type"] == "magnetic_field_on":
            stages.append({"stage": "mri", "start": e["time"], "label": "MRI"})
        if e["type"] == "catheter_fault":
            stages.append(
                {"stage": "complication", "start": e["time"], "label": f"Catheter {e['kind']}", "details": "hidden"}
            )
        if e["type"] == "catheter_revision":
            stages.append({"stage": "revision", "start": e["time"], "label": "Catheter revision surgery"})
    return {"stages": stages}


def cohort_section() -> dict[str, Any]:
    return {
        "patients": 200,
        "years": 3,
        "seed": 42,
        "rows": [
            {"metric": "Trial success", "simulated": 0.9, "published": 0.93, "unit": "fraction", "source": "Deer 2004"},
            {"metric": "Implanted", "simulated": 0.8, "published": 0.82, "unit": "fraction", "source": "Deer 2004"},
            {
                "metric": "Re-operation over 3 years",
                "simulated": 0.35,
                "published": 0.40,
                "unit": "fraction",
                "source": "Roberts 2001",
            },
            {
                "metric": "Complication-free at 9 months",
                "simulated": 0.81,
                "published": 0.789,
                "unit": "fraction",
                "source": "Follett 2000",
            },
            {"metric": "Explanted", "simulated": 0.05, "published": 0.06, "unit": "fraction", "source": "Roberts 2001"},
            {
                "metric": "Relief >= 50% at 12 months",
                "simulated": 0.55,
                "published": None,
                "unit": "fraction",
                "source": "none",
            },
            {
                "metric": "Mean dose at 6 months",
                "simulated": 10.4,
                "published": 9.95,
                "unit": "mg/day",
                "source": "Roberts 2001",
            },
            {
                "metric": "Mean dose at 36 months",
                "simulated": 14.8,
                "published": 15.26,
                "unit": "mg/day",
                "source": "Roberts 2001",
            },
        ],
        "calibration": "Test data: these numbers are made up for the report tests.",
    }


def full_result() -> dict[str, Any]:
    """The kink run with every optional section filled."""
    result = run(kink_scenario())
    result["patient"] = patient_section(result)
    result["trial"] = trial_section()
    result["pathway"] = pathway_section(result)
    result["cohort"] = cohort_section()
    return result


def cohort_only_result() -> dict[str, Any]:
    return {"itdd_version": "0.1.0", "cohort": cohort_section()}
