"""Recording the patient series of a pathway: the grid samples behind the report's patient plots.

The pathway moves the patient; when it records (``record=True``), it hands the patient to
:meth:`SeriesRecorder.observe` at every grid point (3-hourly, hourly during the trial).  The
columns are the report contract's (:class:`itdd.report.schema.PatientSeries`), in its order.
Output only: recording never changes what happens to the patient.
"""

from __future__ import annotations

from ..patient import PatientSim
from ..report.schema import PatientSeries
from ..timeunits import SECONDS_PER_DAY

__all__ = ["SERIES_COLUMNS", "SeriesRecorder"]

DAY_S = SECONDS_PER_DAY

#: The patient columns of the report contract (``itdd.report.schema.PatientSeries``), in its order.
SERIES_COLUMNS = tuple(k for k in PatientSeries.__annotations__ if k not in ("days", "origin"))


class SeriesRecorder:
    """The patient's series on a grid from ``start_s``: days since the start and one value per column."""

    def __init__(self, start_s: float) -> None:
        self.start_s = start_s
        self.samples: dict[str, list[float | None]] = {c: [] for c in SERIES_COLUMNS}
        self.days: list[float] = []
        self.next_grid_s = start_s  # the next grid point to sample

    def observe(self, sim: PatientSim, t_s: float) -> None:
        """Sample the patient now (``t_s``: the patient's time)."""
        o = sim.observe()
        self.days.append((t_s - self.start_s) / DAY_S)
        s = self.samples
        s["pain"].append(o.pain)
        s["oral_mme_per_day"].append(o.oral_mme_per_day)
        s["csf_tip_mg_per_ml"].append(o.csf_tip_mg_per_ml)
        s["csf_mg_per_ml"].append(o.csf_mg_per_ml)
        s["effect_site_mg_per_ml"].append(o.effect_site_mg_per_ml)
        s["plasma_mg_per_ml"].append(o.plasma_mg_per_ml)
        s["resp_rate_per_min"].append(o.resp_rate_per_min)
        s["spo2_pct"].append(o.spo2_pct)
        s["sedation"].append(o.sedation)
        s["withdrawal"].append(o.withdrawal)
        s["pruritus"].append(o.pruritus)
        s["nausea"].append(o.nausea)
