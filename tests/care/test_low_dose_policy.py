"""The low-dose practice at its ceiling (issue 10: Hamza 2012's low-dose course keeps its pumps).

Before drug changes were on by default, a low-dose patient whose tolerance outgrew the 3 mg/day
ceiling went down the lack-of-effect ladder to a saline trial and an explant (40% explanted by 3
years).  Now the practice's ceiling is the limit at which the PACC rung adds an adjunct
(bupivacaine, then clonidine), and the ladder returns that rung before any saline trial
(docs/cohort.md "Policies")."""

from __future__ import annotations

from itdd.care.clinician import drug_change as dc
from itdd.care.clinician.policies import POLICIES
from itdd.drugs import get_drug
from itdd.timeunits import SECONDS_PER_DAY, SECONDS_PER_MONTH

LOW = POLICIES["low_dose"]


def test_the_low_dose_ceiling_is_the_limit_for_the_pacc_rung() -> None:
    # morphine: the library's hard maximum is far above 3 mg/day; the low-dose ceiling is 3 / potency 1 = 3
    morphine = get_drug("morphine")
    assert LOW.ceiling_mg_per_day(drug=morphine, it_potency=1.0, lifted=False) == 3.0
    # hydromorphone (potency 5): 3 / 5 = 0.6 mg/day
    assert LOW.ceiling_mg_per_day(drug=get_drug("hydromorphone"), it_potency=5.0, lifted=False) == 0.6


def test_at_the_ceiling_for_two_months_bupivacaine_is_added_not_a_saline_trial() -> None:
    # a patient at 2.9 mg/day (>= 95% of 3) since day 0, pain uncontrolled; at day 61 (past the 60 days
    # of CHANGE_AFTER_S) the PACC rung adds bupivacaine
    now = 61 * SECONDS_PER_DAY
    d = dc.drug_change(
        drug="morphine",
        dose_mg_per_day=2.9,
        limit_mg_per_day=3.0,
        at_limit_since_s=0.0,
        uncontrolled=True,
        now_s=now,
        effects=dc.SideEffects(),
        adjuncts=(),
        tried=("morphine",),
    )
    assert d.action == "add_adjunct" and d.trigger == "bupivacaine"
    # the ladder, 7 months uncontrolled, 9 months after the implant, delivery ruled out: the practice
    # never lifts its ceiling (Hamza's doses stayed low), and the drug change comes before a saline trial
    rung = LOW.failure_ladder(
        uncontrolled_since_s=0.0,
        now_s=7 * SECONDS_PER_MONTH,
        since_implant_s=9 * SECONDS_PER_MONTH,
        delivery_ruled_out=True,
        ceiling_lifted=False,
        drug_change=d,
        saline_trial_done=False,
        saline_showed_effect=None,
    )
    assert rung.action == "add_adjunct"
    # with no drug change left, the same ladder goes to the saline trial (the explant needs its verdict)
    rung = LOW.failure_ladder(
        uncontrolled_since_s=0.0,
        now_s=7 * SECONDS_PER_MONTH,
        since_implant_s=9 * SECONDS_PER_MONTH,
        delivery_ruled_out=True,
        ceiling_lifted=False,
        drug_change=None,
        saline_trial_done=False,
        saline_showed_effect=None,
    )
    assert rung.action == "saline_trial"
