"""A granuloma is a mass: it blocks drug, then causes neurological signs; MRI finds it; it is managed."""

from __future__ import annotations

from itdd.care.granuloma import manage_granuloma
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayEvent, PathwayPlan
from itdd.patient import PatientParams


def test_management_decision() -> None:
    d = manage_granuloma(neurological_signs=True, dose_mg_per_day=12.0)
    assert d.action == "surgical_removal" and "12.00 mg/day" in d.reason
    assert manage_granuloma(neurological_signs=False, dose_mg_per_day=3.0).action == "revise_catheter"


def test_scripted_granuloma_is_found_and_operated() -> None:
    # a granuloma at 3 months, two years of follow-up, no random complications: the mass blocks
    # half the drug (dose need rises); it is found by MRI, either in the escalation work-up or when
    # its neurological signs appear (mean 6 months later), and operated on (a revision)
    p = PatientParams.sample(7, 2)
    plan = PathwayPlan(
        years=2.0,
        hazards=False,
        surgical_complications=False,
        events=[PathwayEvent(after_implant="90d", type="granuloma")],
    )
    r = run_pathway(p, plan, 3, record=True)
    o = r.outcome
    g = [c for c in o.complications if c.kind == "granuloma"]
    assert len(g) == 1 and g[0].detected_s is not None and g[0].detected_s > g[0].t_s
    assert "MRI" in g[0].details
    assert o.reoperations >= 1 and o.reoperation_s is not None and o.reoperation_s > g[0].detected_s
    assert r.result is not None
    labels = [s["label"] for s in r.result["pathway"]["stages"]]
    assert any(x.startswith("Granuloma") for x in labels)
    assert "Catheter revision" in labels


def test_after_a_granuloma_the_concentration_is_lowered() -> None:
    from itdd.care.clinician.decisions import CONCENTRATIONS_MG_PER_ML
    from itdd.care.granuloma import lower_concentration, manage_granuloma

    supplied = CONCENTRATIONS_MG_PER_ML  # 1, 2, 5, 10, 20 mg/mL
    # half of 20 is 10 (supplied); half of 5 is 2.5 -> 2; half of 1 is 0.5 -> none supplied, the lowest (1)
    assert lower_concentration(20.0, supplied) == 10.0
    assert lower_concentration(5.0, supplied) == 2.0
    assert lower_concentration(1.0, supplied) == 1.0
    d = manage_granuloma(
        neurological_signs=False, dose_mg_per_day=12.0, conc_mg_per_ml=20.0, supplied_mg_per_ml=supplied
    )
    assert d.action == "revise_catheter" and d.max_conc_mg_per_ml == 10.0 and "from 20 to at most 10" in d.reason
    d = manage_granuloma(neurological_signs=True, dose_mg_per_day=12.0)
    assert d.action == "surgical_removal" and d.max_conc_mg_per_ml is None  # no concentration given: unchanged
