"""Small builders shared by tests."""

from __future__ import annotations

from itdd.pump.firmware import PtmSettings
from itdd.pump.implant import Implant
from itdd.pump.models import get_model
from itdd.pump.therapy import Therapy

T0 = 1_767_600_000.0  # 2026-01-05T08:00:00Z, an arbitrary fixed instant
DAY = 86400.0
HOUR = 3600.0


def make_implant(
    *,
    model: str = "synchromed-ii-20",
    dose_mg_per_day: float = 1.0,
    conc: float = 10.0,
    fill: float = 20.0,
    low: float = 2.0,
    therapy: Therapy | None = None,
    ptm: PtmSettings | None = None,
    offset_s: int = 0,
    **kw: object,
) -> Implant:
    return Implant(
        get_model(model),
        t_s=T0,
        offset_s=offset_s,
        drug="morphine",
        conc_mg_per_ml=conc,
        fill_ml=fill,
        low_reservoir_ml=low,
        therapy=therapy if therapy is not None else Therapy.simple(dose_mg_per_day),
        ptm=ptm,
        **kw,  # type: ignore[arg-type]
    )
