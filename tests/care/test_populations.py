"""Populations (non-cancer, cancer) and the cohort's new options (--population, --policy, --drug)."""

from __future__ import annotations

import numpy as np
import pytest

from itdd.cli import main
from itdd.patient import POPULATIONS, PatientParams, get_population
from itdd.patient import mortality as M

YEAR = 365.25 * 86400.0


def test_cancer_population_is_sampled_with_its_traits() -> None:
    assert set(POPULATIONS) == {"non_cancer", "cancer"}
    ps = [PatientParams.sample(4, i, population=get_population("cancer")) for i in range(200)]
    assert all(p.cancer for p in ps)
    assert all(p.oral_mme_per_day > 0 for p in ps)  # Smith 2002: all on systemic opioids
    assert not any(PatientParams.sample(4, i).cancer for i in range(50))


def test_cancer_death_hazard_by_hand() -> None:
    # Smith 2002: 53.9% alive at 6 months -> constant hazard -ln(0.539)/0.5 = 1.2361/year
    assert pytest.approx(1.2361, abs=1e-4) == M.CANCER_PER_YEAR
    c = M.MortalityClock(
        np.random.default_rng(0),
        implant_s=0.0,
        age_y=62.0,
        female=True,
        start_dose_mg_per_day=0.5,
        risk=M.RiskFactors(),
        therapy_related=False,
        cancer=True,
    )
    r = c.rates(0.1 * YEAR)
    assert r["cancer"] == pytest.approx(M.CANCER_PER_YEAR)
    # threshold = half the 6-month cumulative hazard: death at 3 months (background constant in the year)
    c.threshold = (r["cancer"] + r["background"]) * 0.25
    t = c.next_death(YEAR)
    assert t is not None and t / YEAR == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--population", "martian"], "--population"),
        (["--policy", "aggressive"], "--policy"),
        (["--drug", "aspirin"], "--drug"),
    ],
)
def test_cohort_refuses_unknown_options(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["cohort", "--patients", "2", "--years", "1", "--seed", "1", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and flag in err and "Traceback" not in err
