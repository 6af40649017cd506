"""Small trials shared by the trial tests (module-scoped: each runs once per test process)."""

from __future__ import annotations

from typing import Any

from itdd.trial import parse_protocol


def protocol(**kw: Any) -> Any:
    base: dict[str, Any] = {
        "name": "test",
        "seed": 11,
        "patients_per_arm": 24,
        "years": 1,
        "arms": [{"name": "standard"}, {"name": "again"}],
        "endpoints": {
            "primary": "relief_50_at_12_months",
            "secondary": [
                "trial_success_rate",
                "mean_dose_mg_per_day_6_months",
                "oral_mme_reduction",
                "complications_per_100_patient_years",
                "time_to_catheter_event",
                "time_to_reoperation",
                "time_to_explant",
            ],
        },
    }
    base.update(kw)
    return parse_protocol(base)
