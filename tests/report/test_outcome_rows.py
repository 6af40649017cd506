"""The report's outcome table (report/outcome.py) from hand-built pathway outcomes."""

from __future__ import annotations

from itdd.report.outcome import outcome_rows


def test_outcome_rows_for_an_explant_with_side_effects() -> None:
    o = {
        "implanted": True,
        "explanted": True,
        "explant_day": 248.0,
        "explant_reason": "lack of effect",
        "relief_12_months": 0.25,
        "oral_mme_per_day_12_months": 90.0,
        "odi_baseline": 60.0,
        "odi_12_months": 50.0,
        "eq5d_baseline": 0.3,
        "eq5d_12_months": 0.45,
        "satisfied_12_months": False,
        "not_working_at_baseline": True,
        "returned_to_work_12_months": False,
        "side_effect_onset_days": {"constipation": 150.0, "peripheral_edema": 30.0},
    }
    rows = dict(outcome_rows(o))
    assert rows["How the therapy ended"] == "explanted on day 248: lack of effect"
    assert rows["At 12 months"] == "25% pain relief from before the trial; oral opioids 90 MME/day"
    # 60 -> 50: -10 points; 0.3 -> 0.45: +0.15
    assert rows["Function (Oswestry Disability Index, 0-100)"] == "60 before → 50 at 12 months (-10)"
    assert rows["Quality of life (EQ-5D utility)"] == "0.3 before → 0.45 at 12 months (+0.15)"
    assert rows["Satisfied at 12 months"] == "no"
    assert rows["Work"] == "not working before the implant; not back at work at 12 months"
    # in order of onset: oedema (day 30) before constipation (day 150)
    assert rows["Side effects (onset after the implant)"] == "peripheral oedema (day 30); constipation (day 150)"


def test_outcome_rows_for_a_death_and_for_no_implant() -> None:
    o = {"implanted": True, "death_cause": "respiratory_depression", "death_day": 2.0, "side_effect_onset_days": {}}
    rows = dict(outcome_rows(o))
    assert rows["How the therapy ended"] == "died on day 2 after the implant: respiratory depression"
    assert rows["Side effects (onset after the implant)"] == "none while followed"
    assert outcome_rows({"implanted": False}) == []
    assert outcome_rows(None) == []


def test_the_summary_names_a_mixture_drug_by_drug() -> None:
    # The reservoir's internal name "morphine+bupivacaine@0.55+clonidine@0.0055" at 20 mg/mL of
    # morphine holds bupivacaine at 20 x 0.55 = 11 mg/mL and clonidine at 20 x 0.0055 = 0.11 mg/mL
    # = 110 mcg/mL; a name the library does not know is shown as stored.
    from itdd.report.render import drug_row
    from itdd.report.text import DrugUnits

    mix = "morphine+bupivacaine@0.55+clonidine@0.0055"
    assert drug_row(mix, 20.0, DrugUnits(mix)) == "morphine 20 mg/mL + bupivacaine 11 mg/mL + clonidine 110 mcg/mL"
    assert drug_row("morphine", 20.0, DrugUnits("morphine")) == "morphine 20 mg/mL"
    assert drug_row("nosuch+bupivacaine@1", 5.0, DrugUnits(None)) == "nosuch+bupivacaine@1 5 mg/mL"
