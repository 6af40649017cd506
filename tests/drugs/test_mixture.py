"""Mixtures in the reservoir (drugs/mixture.py, patient/mixtures.py): names, limits per component,
the programmer refusing a refill or a program where any component is beyond its hard limit, and
the patient receiving each drug of the mixture.  Expected numbers are worked out by hand."""

from __future__ import annotations

import pytest

from itdd.drugs import get_drug
from itdd.drugs.guardrails import check_concentration
from itdd.drugs.mixture import label, mixture_name, parse_mixture, split
from itdd.errors import InputError, SafetyRefusal
from itdd.patient import PatientParams, PatientSim
from itdd.programmer.programming import plan_program
from itdd.programmer.refill import RefillRequest, refill
from itdd.programmer.session import Session
from itdd.programmer.status import interrogate
from itdd.pump.therapy import Therapy
from itdd.telemetry.commands import DirectLink
from tests.helpers import DAY, T0, make_implant


def test_names_round_trip_and_split() -> None:
    name = mixture_name("morphine", [("bupivacaine", 0.5)])
    assert name == "morphine+bupivacaine@0.5"
    assert parse_mixture(name).adjuncts == (("bupivacaine", 0.5),)
    assert split(name) == (("morphine", 1.0), ("bupivacaine", 0.5))
    assert split("morphine") == (("morphine", 1.0),)
    # 10 mg/mL of morphine carries 0.5 x 10 = 5 mg/mL of bupivacaine
    assert label(name, 10.0) == "morphine 10 mg/mL + bupivacaine 5 mg/mL"
    mix = get_drug(name)
    assert mix.primary == "morphine" and mix.components[0][0].name == "bupivacaine"
    assert mix.daily_dose == get_drug("morphine").daily_dose  # the primary's own bounds


@pytest.mark.parametrize(
    "name",
    ["morphine+aspirin@1", "morphine+bupivacaine", "morphine+bupivacaine@-1", "morphine+morphine@1", "x+clonidine@1"],
)
def test_bad_mixture_names_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(InputError) as e:
        get_drug(name, "drug")
    assert e.value.field == "drug"


def test_component_concentration_is_guarded() -> None:
    # morphine+bupivacaine@4.0 at 10 mg/mL: bupivacaine 40 mg/mL, above its 30 mg/mL hard maximum
    f = check_concentration(get_drug("morphine+bupivacaine@4.0"), 10.0)
    assert (f.level, f.rule, f.field) == ("hard", "component_limit_hard", "concentration.bupivacaine")
    assert "bupivacaine 40 mg/mL exceeds the 30 mg/mL hard limit" in f.reason


def test_refill_with_too_much_bupivacaine_is_refused_and_changes_nothing() -> None:
    imp = make_implant(conc=10.0, fill=20.0, dose_mg_per_day=1.0)
    imp.run_until(T0 + 10 * DAY)
    before = (imp.hw.reservoir_ml, imp.hw.reservoir_drug, imp.hw.reservoir_conc_mg_per_ml)
    req = RefillRequest(fill_ml=20.0, drug="morphine+bupivacaine@4.0", conc_mg_per_ml=10.0)
    with pytest.raises(SafetyRefusal) as e:
        refill(Session(DirectLink(imp)), req, clinician="dr-a")
    assert e.value.field == "concentration.bupivacaine" and "30 mg/mL hard limit" in e.value.message
    assert (imp.hw.reservoir_ml, imp.hw.reservoir_drug, imp.hw.reservoir_conc_mg_per_ml) == before


def test_program_exceeding_bupivacaine_hard_max_is_refused_though_morphine_is_fine() -> None:
    # reservoir: morphine 10 mg/mL + bupivacaine 10 mg/mL (ratio 1.0), running 20 mg/day.  Programming
    # 21 mg/day of morphine (+5%; soft 15 < 21 < hard 30: confirmable) brings 21 mg/day of
    # bupivacaine, above its own 20 mg/day hard limit.
    imp = _mixture_implant("morphine+bupivacaine@1.0", dose_mg_per_day=20.0)
    it = interrogate(Session(DirectLink(imp)), side_effects=False)
    plan = plan_program(it, Therapy.simple(21.0))
    hard = [f for f in plan.findings if f.level == "hard"]
    assert [(f.field, f.rule) for f in hard] == [("therapy.dose.bupivacaine", "component_limit_hard")]
    assert [f.level for f in plan.findings if f.field == "therapy.dose"] == ["soft"]  # morphine 21 > 15 soft


def test_patient_receives_each_drug_of_the_mixture() -> None:
    # 1 mg/day of morphine+bupivacaine@2.0 (primed path) for 10 days reaches the spinal fluid as
    # 10 mg of morphine and 2 x 10 = 20 mg of bupivacaine.
    imp = _mixture_implant("morphine+bupivacaine@2.0", dose_mg_per_day=1.0)
    sim = PatientSim(PatientParams.reference(), T0)
    t_end = T0 + 10 * DAY
    imp.run_until(t_end)
    sim.follow(imp.record, t_end)
    got = sim.delivered_csf_mg
    assert got["morphine"] == pytest.approx(10.0, rel=1e-9)
    assert got["bupivacaine"] == pytest.approx(20.0, rel=1e-9)
    # and a patient following it has the bupivacaine's spinal drive as well as morphine's
    assert sim.mass_mg("bupivacaine") > 0


def test_a_new_ratio_reaches_the_tip_after_the_path_volume() -> None:
    # Refill (bridge bolus off) from morphine+bupivacaine@2.0 to @1.0 at the same 10 mg/mL, 1 mg/day
    # = 0.1 mL/day: the old mixture fills the path (internal volume + 50 cm catheter), so bupivacaine
    # keeps arriving at 2 mg per mg of morphine until that volume has been pushed: path_ml / 0.1 days.
    imp = _mixture_implant("morphine+bupivacaine@2.0", dose_mg_per_day=1.0, catheter_length_cm=50.0)
    imp.run_until(T0 + DAY)
    path_ml = imp.hw.path_volume_ml
    imp.hw.withdraw(None)
    imp.hw.reservoir_drug = "morphine+bupivacaine@1.0"
    imp.hw.fill(20.0, "morphine+bupivacaine@1.0", 10.0)
    front_s = T0 + DAY + path_ml / 0.1 * DAY
    imp.run_until(front_s - 3600.0)
    assert imp.hw.path.tip is not None and imp.hw.path.tip.drug == "morphine+bupivacaine@2.0"
    imp.run_until(front_s + 3600.0)
    assert imp.hw.path.tip.drug == "morphine+bupivacaine@1.0"


def _mixture_implant(name: str, *, dose_mg_per_day: float, catheter_length_cm: float = 50.0):  # type: ignore[no-untyped-def]
    from itdd.pump.implant import Implant
    from itdd.pump.models import get_model

    return Implant(
        get_model("synchromed-ii-20"),
        t_s=T0,
        offset_s=0,
        drug=name,
        conc_mg_per_ml=10.0,
        fill_ml=20.0,
        low_reservoir_ml=2.0,
        therapy=Therapy.simple(dose_mg_per_day),
        catheter_length_cm=catheter_length_cm,
    )
