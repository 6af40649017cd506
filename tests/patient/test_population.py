"""Virtual populations: reproducible from a seed on any number of workers, at the stated rates."""

from __future__ import annotations

import math

import pytest

from itdd.errors import InputError
from itdd.patient import DEFAULT_POPULATION, PatientParams, Population, sample_cohort
from itdd.patient.parameters import U

N = 20_000


@pytest.fixture(scope="module")
def cohort() -> list[PatientParams]:
    return sample_cohort(2026, N)


def test_same_seed_same_cohort_on_1_2_and_4_workers() -> None:
    one = sample_cohort(42, 61, workers=1)
    two = sample_cohort(42, 61, workers=2)
    four = sample_cohort(42, 61, workers=4)
    assert one == two == four
    assert [p.index for p in one] == list(range(61))


def test_a_patient_does_not_depend_on_the_cohort_size_or_order() -> None:
    small = sample_cohort(7, 5)
    big = sample_cohort(7, 50)
    assert small == big[:5]
    assert PatientParams.sample(7, 33) == big[33]


def test_different_seeds_differ() -> None:
    a = sample_cohort(1, 20)
    b = sample_cohort(2, 20)
    assert sum(x.ed50_mg_per_day == y.ed50_mg_per_day for x, y in zip(a, b, strict=True)) == 0


def _within(count: int, n: int, rate: float, sigmas: float = 4.0) -> bool:
    sd = math.sqrt(n * rate * (1 - rate))
    return abs(count - n * rate) <= sigmas * sd


def test_contraindication_and_responder_rates(cohort: list[PatientParams]) -> None:
    pop = DEFAULT_POPULATION
    assert _within(sum(p.active_infection for p in cohort), N, pop.active_infection_rate.value)
    assert _within(sum(p.body_too_small for p in cohort), N, pop.body_too_small_rate.value)
    assert _within(sum(p.responder for p in cohort), N, pop.responder_rate.value)
    rates = dict(pop.allergy_rates)
    assert _within(sum("morphine" in p.allergies for p in cohort), N, rates["morphine"])
    assert _within(sum("baclofen" in p.allergies for p in cohort), N, rates["baclofen"])
    assert _within(sum(p.oral_mme_per_day > 0 for p in cohort), N, pop.on_oral_opioids_rate.value)


def test_rates_follow_the_population_definition() -> None:
    pop = Population(active_infection_rate=U(0.3, "test"), responder_rate=U(0.5, "test"))
    n = 4000
    ps = sample_cohort(5, n, population=pop)
    assert _within(sum(p.active_infection for p in ps), n, 0.3)
    assert _within(sum(p.responder for p in ps), n, 0.5)


def test_spinal_fluid_volume_follows_carpenter(cohort: list[PatientParams]) -> None:
    """Lumbosacral CSF 49.9 +/- 12.1 mL (Carpenter 1998), truncated to 20-90 mL."""
    v = [p.csf_lumbosacral_ml for p in cohort]
    mean = sum(v) / N
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (N - 1))
    assert mean == pytest.approx(49.9, abs=0.5)
    assert sd == pytest.approx(12.1, rel=0.05)
    assert min(v) >= 20.0 and max(v) <= 90.0


def test_body_size_is_consistent_with_the_contraindication(cohort: list[PatientParams]) -> None:
    for p in cohort:
        if p.body_too_small:
            assert p.bmi < 17.0 + 1e-9
        else:
            assert p.bmi >= 18.5 - 1e-9


def test_responders_and_non_responders_differ_in_maximal_relief(cohort: list[PatientParams]) -> None:
    for p in cohort[:2000]:
        if p.responder:
            assert 0.5 <= p.emax <= 0.95
        else:
            assert 0.1 <= p.emax <= 0.4


def test_contraindications_name_the_reason() -> None:
    p = PatientParams(active_infection=True, allergies=("morphine",), body_too_small=True, weight_kg=38.0)
    reasons = p.contraindications("morphine")
    assert reasons[0] == "active infection"
    assert reasons[1].startswith("body too small for an implanted pump")
    assert reasons[2] == "allergy to the trial drug (morphine)"
    assert p.contraindications("hydromorphone") == reasons[:2]
    assert PatientParams().contraindications("morphine") == []


def test_spasticity_cohort() -> None:
    ps = sample_cohort(3, 200, indication="spasticity")
    assert all(p.indication == "spasticity" and p.spasticity >= 1.5 for p in ps)
    assert all(p.oral_mme_per_day == 0.0 for p in ps)
    with pytest.raises(InputError) as e:
        PatientParams.sample(3, 1, indication="headache")
    assert e.value.field == "indication"


def test_round_trip_and_validation() -> None:
    p = PatientParams.sample(9, 4)
    assert PatientParams.from_dict(p.to_dict()) == p
    with pytest.raises(InputError) as e:
        PatientParams.from_dict({"weight": 70})
    assert e.value.field == "patient.weight"
    with pytest.raises(InputError) as e:
        PatientParams(csf_lumbosacral_ml=5.0)
    assert e.value.field == "patient.csf_lumbosacral_ml"
    assert "10..150" in e.value.message
    with pytest.raises(InputError) as e:
        PatientParams(emax=float("nan"))
    assert e.value.field == "patient.emax"
    with pytest.raises(InputError) as e:
        PatientParams(allergies=("aspirin",))
    assert e.value.field == "patient.allergies"
    with pytest.raises(InputError):
        sample_cohort(1, -1)
    with pytest.raises(InputError):
        sample_cohort(1, 3, workers=0)
