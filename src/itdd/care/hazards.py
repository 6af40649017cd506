"""Complication hazard models of long-term intrathecal therapy, and an exact event clock.

``HAZARDS`` is data: one :class:`Hazard` per follow-up complication, each with its rate per
patient-year (piecewise constant in the age of the component), its source, whether it needs
surgery, and what it does to the digital twin.  :class:`HazardClock` samples event times exactly
under piecewise-constant hazards: no time step, the event fires where the cumulative hazard
crosses an Exp(1) threshold drawn from the caller's seeded ``numpy.random.Generator``
(the clock is in :mod:`itdd.care.hazard_clock`).

Derivations (docs/cohort.md repeats them with the published figures):

* **Catheter** (all four kinds together).  Follett 2000 [S]: 9-month catheter-complication-free
  survival 78.9% (49 complications in 37 of 209 patients, 1,764 patient-months; 42 of the 49
  procedure-related), so the first 9 months carry ``-ln(0.789) / 0.75 = 0.316`` per year.  After
  9 months the rate is the remainder of Roberts 2001 [S] (40% had >= 1 re-operation over 3 years,
  so a first-re-operation cumulative hazard of ``-ln(0.6) = 0.511``) once the first 9 months of
  catheter hazard, infection, pump failure and granuloma at Roberts' doses are taken out:
  ``(0.511 - 0.237 - 0.021 - 0.011 - 0.051) / 2.25 = 0.085`` per year (Swiss cohort [S]: catheter
  complications 65% of 10.5%/year = 6.8%/year, the same order).
* **Infection** 0.7%/year (Swiss cohort [S]); leads to explant, so it happens once.
* **Pump failure** (motor stall): 2.4% at 78 months with approved drugs, 7.0% with unapproved
  drugs [S]: ``-ln(1 - p) / 6.5`` per year.
* **Granuloma** (inflammatory mass at the tip): ``base x (dose/10)^1 x (conc/20)^0.5`` in
  intrathecal-morphine equivalents (mg/day, mg/mL); see :func:`granuloma_rate_per_year`.

Every number is a :class:`~itdd.patient.parameters.Sourced` with its tag ([S] seen, [S2]
secondary, [U] assumption).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..patient.parameters import S, U
from ..timeunits import SECONDS_PER_YEAR

__all__ = [
    "CATHETER_KINDS",
    "HAZARDS",
    "KINDS",
    "YEAR_S",
    "Hazard",
    "exposure_factor",
    "granuloma_rate_per_year",
    "hazard_by_kind",
    "pump_failure_rate_per_year",
]

YEAR_S = SECONDS_PER_YEAR  # Julian year (assumption: the unit "patient-year" of the sources)
INF = math.inf

# ---- sourced numbers -----------------------------------------------------------------------------

FOLLETT_FREE_9_MONTHS = S(0.789, "Follett 2000: 9-month catheter-complication-free survival 78.9% (209 patients)")
FOLLETT_MONTHS = S(9.0, "Follett 2000: survival reported at 9 months")
ROBERTS_REOP_3_YEARS = S(0.40, "Roberts 2001: 40% had at least one re-operation (mostly catheter), mean 36.2 months")
ROBERTS_YEARS = S(3.0, "Roberts 2001: mean follow-up 36.2 months, taken as 3 years")
ROBERTS_DOSE_6_MONTHS = S(9.95, "Roberts 2001: IT morphine 9.95 mg/day at 6 months")
ROBERTS_DOSE_36_MONTHS = S(15.26, "Roberts 2001: IT morphine 15.26 mg/day at 36 months")
SWISS_INFECTION_PER_YEAR = S(0.007, "Swiss cohort: infection 0.7% per year")
SWISS_SURGICAL_PER_YEAR = S(0.105, "Swiss cohort: surgical complications 10.5% per year (35% pump, 65% catheter)")
STALL_APPROVED_78_MONTHS = S(0.024, "motor stall: failure 2.4% at 78 months with approved drugs")
STALL_UNAPPROVED_78_MONTHS = S(0.070, "motor stall: failure 7.0% at 78 months with unapproved drugs")
STALL_YEARS = S(6.5, "78 months")
GRANULOMA_DEER_FRACTION = S(0.03, "Deer 2004 surveillance: 6 of 208 imaged (3%), mean infusion 27 months")
GRANULOMA_DEER_YEARS = S(2.25, "Deer 2004: mean catheter infusion time 27 months")
GRANULOMA_HM_FRACTION = S(
    0.087, "hydromorphone cohort (Neuromodulation 2016;19:760): 8.7% of 69, mean detection 35.1 months"
)
GRANULOMA_HM_YEARS = S(35.1 / 12.0, "35.1 months")
GRANULOMA_REF_DOSE_MG_PER_DAY = U(
    10.0, "assumption: typical exposure of the Deer 2004 surveillance, near Roberts 2001's 9.95-15.26 mg/day"
)
GRANULOMA_REF_CONC_MG_PER_ML = U(20.0, "assumption: typical morphine infusate (PACC maximum 20 mg/mL, Infumorph 25)")
GRANULOMA_HM_DOSE_ME = U(15.0, "assumption: hydromorphone cohort ~3 mg/day x 5 (IT potency) in morphine equivalents")
GRANULOMA_HM_CONC_ME = U(50.0, "assumption: hydromorphone cohort ~10 mg/mL x 5 in morphine equivalents")
GRANULOMA_DOSE_EXPONENT = U(
    1.0, "assumption: risk proportional to opioid dose (Duarte 2010: dose correlates, r = 0.28; Yaksh dog studies)"
)
GRANULOMA_CONC_EXPONENT = U(
    0.5, "derived: with dose exponent 1, fits Deer 3%/27 mo and hydromorphone 8.7%/35 mo (b = 0.47, rounded)"
)
GRANULOMA_LIPOPHILIC_WEIGHT = U(
    0.1, "assumption: fentanyl and sufentanil clear from the tip fast; granulomas with them are rare"
)

# Share of catheter complications by kind.  No source found splits the four kinds; Follett 2000
# attributes 42 of 49 to the implantation procedure (dislodgement/migration, leaks at the
# puncture, kinks at the anchor) and 7 to the catheter itself (Penn 1995: "kinks, holes, breaks,
# dislodgments and disconnections" most common).
CATHETER_SHARE = {
    "catheter_migration": U(0.40, "assumption: dislodgement/migration, the commonest procedure-related problem"),
    "catheter_kink": U(0.25, "assumption: kink or occlusion at the anchor or tunnel"),
    "catheter_leak": U(0.20, "assumption: tear, hole or break, and leaks at the dural puncture"),
    "catheter_disconnection": U(0.15, "assumption: disconnection at the pump or splice"),
}
LEAK_FRACTION = U(0.5, "assumption: half of the flow leaves through a tear (pump twin default)")
GRANULOMA_CSF_FRACTION = U(
    0.5,
    "assumption: a mass at the tip lets about half the drug act at the cord; modelled on the twin as a 50% leak",
)

# Drugs approved for the SynchroMed II (label): morphine (Infumorph), ziconotide (Prialt), baclofen.
APPROVED_DRUGS = frozenset({"morphine", "ziconotide", "baclofen", "saline", ""})

# Granuloma risk per drug: weight x morphine-equivalent potency (IT potency from the patient model).
GRANULOMA_DRUGS: dict[str, tuple[float, float, str]] = {
    # drug: (weight, IT-morphine potency per mg, source)
    "morphine": (1.0, 1.0, "Deer 2004; most granulomas are with morphine [S]"),
    "hydromorphone": (1.0, 5.0, "hydromorphone granulomas reported (8.7% cohort) [S]; potency 5 [S2 PACC]"),
    "fentanyl": (GRANULOMA_LIPOPHILIC_WEIGHT.value, 10.0, "rare [S2]; potency 10 [U]"),
    "sufentanil": (GRANULOMA_LIPOPHILIC_WEIGHT.value, 40.0, "rare [S2]; potency 40 [U]"),
    # Non-opioids: baclofen sole-agent masses are case reports only (Deer 2007: 2 cases; Murphy
    # 2006: 1), and a review argues the opioid mechanism does not apply; ziconotide, clonidine
    # (protective: Duarte 2010) and bupivacaine have none reported.  Zero [S2].
    "baclofen": (0.0, 0.0, "case reports only (Deer 2007, Murphy 2006) [S2]"),
    "ziconotide": (0.0, 0.0, "none reported [S2]"),
    "clonidine": (0.0, 0.0, "none; protective (Duarte 2010) [S2]"),
    "bupivacaine": (0.0, 0.0, "none as a sole agent [S2]"),
    "saline": (0.0, 0.0, "no drug"),
    "": (0.0, 0.0, "no drug"),
}


def _rate_from_survival(survival: float, years: float) -> float:
    """Constant hazard per year that leaves ``survival`` after ``years``."""
    return -math.log(survival) / years


CATHETER_EARLY_PER_YEAR = _rate_from_survival(FOLLETT_FREE_9_MONTHS.value, FOLLETT_MONTHS.value / 12.0)
INFECTION_PER_YEAR = SWISS_INFECTION_PER_YEAR.value
STALL_APPROVED_PER_YEAR = _rate_from_survival(1.0 - STALL_APPROVED_78_MONTHS.value, STALL_YEARS.value)
STALL_UNAPPROVED_PER_YEAR = _rate_from_survival(1.0 - STALL_UNAPPROVED_78_MONTHS.value, STALL_YEARS.value)
GRANULOMA_BASE_PER_YEAR = _rate_from_survival(1.0 - GRANULOMA_DEER_FRACTION.value, GRANULOMA_DEER_YEARS.value)


def _late_catheter_rate() -> float:
    """Catheter hazard after 9 months: what Roberts' 3-year re-operations leave (module docstring)."""
    years = ROBERTS_YEARS.value
    early_years = FOLLETT_MONTHS.value / 12.0
    total = -math.log(1.0 - ROBERTS_REOP_3_YEARS.value)
    mean_dose = (ROBERTS_DOSE_6_MONTHS.value + ROBERTS_DOSE_36_MONTHS.value) / 2.0
    granuloma = GRANULOMA_BASE_PER_YEAR * mean_dose / GRANULOMA_REF_DOSE_MG_PER_DAY.value * years
    others = CATHETER_EARLY_PER_YEAR * early_years + INFECTION_PER_YEAR * years
    others += STALL_APPROVED_PER_YEAR * years + granuloma
    return (total - others) / (years - early_years)


CATHETER_LATE_PER_YEAR = _late_catheter_rate()


# ---- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hazard:
    """One follow-up complication.

    ``profile`` is the baseline rate per patient-year, piecewise constant in the age of the
    component (years since implant or since the component was renewed): ``((0.0, r0), (a1, r1),
    ...)`` means ``r0`` from age 0 to ``a1``, then ``r1``.  ``exposure`` says what multiplies it:
    ``"none"``, ``"granuloma"`` (:func:`granuloma_rate_per_year`) or ``"drug_approval"``
    (:func:`pump_failure_rate_per_year`).
    """

    kind: str
    profile: tuple[tuple[float, float], ...]
    source: str
    confidence: str  # S, S2 or U (the weakest of what the rate rests on)
    reoperation: bool  # needs surgery (revision, replacement or explant)
    once: bool  # can happen only once (ends therapy: explant)
    effect: str  # what happens to the implant, in words the pathway maps to the twin
    twin_fault: str | None  # pump catheter_fault kind (itdd.pump.hardware.CATHETER_FAULTS), if any
    leak_fraction: float = 0.0  # for twin_fault == "leak"
    group: str = ""  # "catheter": suspended together while there is no working catheter
    exposure: str = "none"
    notes: str = ""

    def rate_at_age(self, age_years: float) -> float:
        """Baseline rate per year (exposure factor 1) at this component age."""
        rate = self.profile[0][1]
        for start, r in self.profile:
            if age_years >= start:
                rate = r
        return rate


def _catheter(kind: str, effect: str, twin: str, leak_fraction: float = 0.0) -> Hazard:
    share = CATHETER_SHARE[kind]
    return Hazard(
        kind=kind,
        profile=(
            (0.0, share.value * CATHETER_EARLY_PER_YEAR),
            (FOLLETT_MONTHS.value / 12.0, share.value * CATHETER_LATE_PER_YEAR),
        ),
        source=(
            f"{share.value:.0%} of all catheter complications [{share.confidence}: {share.source}]; "
            f"all kinds {CATHETER_EARLY_PER_YEAR:.3f}/year for 9 months [S: Follett 2000, 78.9% free at 9 months], "
            f"then {CATHETER_LATE_PER_YEAR:.3f}/year [derived: Roberts 2001, 40% re-operated over 3 years]"
        ),
        confidence="U",
        reoperation=True,
        once=False,
        effect=effect,
        twin_fault=twin,
        leak_fraction=leak_fraction,
        group="catheter",
        notes="catheter revision; the new catheter starts at age 0 (resume with renew=True)",
    )


HAZARDS: tuple[Hazard, ...] = (
    _catheter("catheter_kink", "occlusion: no flow, the reservoir stays full (refill discrepancy)", "occlusion"),
    _catheter("catheter_leak", "leak: part of the flow goes to tissue", "leak", LEAK_FRACTION.value),
    _catheter("catheter_disconnection", "disconnection: all the flow goes to the pump pocket", "disconnection"),
    _catheter("catheter_migration", "migration out of the intrathecal space: drug goes epidural", "migration"),
    Hazard(
        kind="infection",
        profile=((0.0, INFECTION_PER_YEAR),),
        source="0.7%/year [S: Swiss cohort]",
        confidence="S",
        reoperation=True,
        once=True,
        effect="deep infection of the pocket or meningitis: explant",
        twin_fault=None,
        notes="constant in time (assumption); the pathway's surgical-site infection at implant is separate",
    ),
    Hazard(
        kind="granuloma",
        profile=((0.0, GRANULOMA_BASE_PER_YEAR),),
        source=(
            f"{GRANULOMA_BASE_PER_YEAR:.4f}/year at 10 mg/day and 20 mg/mL IT morphine "
            "[S: Deer 2004, 3% of 208 imaged at mean 27 months], x (dose/10)^1 x (conc/20)^0.5 "
            "[U: fitted to the 8.7%/35-month hydromorphone cohort]"
        ),
        confidence="U",
        reoperation=True,
        once=False,
        effect="inflammatory mass at the tip: less drug reaches the cord; catheter revision",
        twin_fault="leak",
        leak_fraction=1.0 - GRANULOMA_CSF_FRACTION.value,
        group="catheter",
        exposure="granuloma",
        notes="Deer 2004: all six had percutaneous catheter revisions; stopping the opioid is an alternative",
    ),
    Hazard(
        kind="pump_failure",
        profile=((0.0, STALL_APPROVED_PER_YEAR),),
        source=(
            f"motor stall {STALL_APPROVED_PER_YEAR:.4f}/year with approved drugs, "
            f"{STALL_UNAPPROVED_PER_YEAR:.4f}/year with unapproved drugs [S: 2.4% vs 7.0% at 78 months]"
        ),
        confidence="S",
        reoperation=True,
        once=False,
        effect="motor stall: the pump stops (critical alarm); pump replacement",
        twin_fault=None,
        exposure="drug_approval",
        notes="constant in pump age (assumption: the source gives one point at 78 months)",
    ),
)

KINDS: tuple[str, ...] = tuple(h.kind for h in HAZARDS)
CATHETER_KINDS: tuple[str, ...] = tuple(h.kind for h in HAZARDS if h.group == "catheter" and h.kind in CATHETER_SHARE)


def hazard_by_kind(kind: str, hazards: Sequence[Hazard] = HAZARDS) -> Hazard:
    for h in hazards:
        if h.kind == kind:
            return h
    raise InputError("kind", f"unknown complication '{kind}' (one of {', '.join(h.kind for h in hazards)})")


# ---- exposure ------------------------------------------------------------------------------------


def check_exposure(dose_mg_per_day: float, conc_mg_per_ml: float, drug: str) -> None:
    for name, value in (("dose_mg_per_day", dose_mg_per_day), ("conc_mg_per_ml", conc_mg_per_ml)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise InputError(name, f"must be a finite number >= 0, got {value!r}")
    if drug not in GRANULOMA_DRUGS:
        raise InputError("drug", f"unknown drug '{drug}' (one of {', '.join(sorted(d for d in GRANULOMA_DRUGS if d))})")


def granuloma_rate_per_year(dose_mg_per_day: float, conc_mg_per_ml: float, drug: str) -> float:
    """Granuloma hazard per year for this exposure (doses in the drug's own mg).

    ``rate = base x w x (dose_ME / 10 mg/day)^1 x (conc_ME / 20 mg/mL)^0.5``, with ``ME`` the
    intrathecal-morphine equivalent (drug mg x potency) and ``w`` the drug's weight (1 for
    morphine and hydromorphone, 0.1 for fentanyl and sufentanil, 0 for non-opioids).  So the Deer
    2004 population at 10 mg/day, 20 mg/mL gets 3% in 27 months, and the hydromorphone cohort at
    15 mg/day ME, 50 mg/mL ME gets 9.0% in 35 months (published 8.7%).
    """
    check_exposure(dose_mg_per_day, conc_mg_per_ml, drug)
    weight, potency, _ = GRANULOMA_DRUGS[drug]
    if weight == 0.0 or dose_mg_per_day == 0.0 or conc_mg_per_ml == 0.0:
        return 0.0
    dose_me = dose_mg_per_day * potency / GRANULOMA_REF_DOSE_MG_PER_DAY.value
    conc_me = conc_mg_per_ml * potency / GRANULOMA_REF_CONC_MG_PER_ML.value
    return (
        GRANULOMA_BASE_PER_YEAR
        * weight
        * dose_me**GRANULOMA_DOSE_EXPONENT.value
        * conc_me**GRANULOMA_CONC_EXPONENT.value
    )


def pump_failure_rate_per_year(drug: str) -> float:
    """Motor-stall hazard per year: approved drugs (or none) vs unapproved drugs."""
    if drug not in GRANULOMA_DRUGS:
        raise InputError("drug", f"unknown drug '{drug}'")
    return STALL_APPROVED_PER_YEAR if drug in APPROVED_DRUGS else STALL_UNAPPROVED_PER_YEAR


def exposure_factor(hazard: Hazard, dose_mg_per_day: float, conc_mg_per_ml: float, drug: str) -> float:
    """What multiplies ``hazard.profile`` under this exposure."""
    if hazard.exposure == "none":
        return 1.0
    if hazard.exposure == "granuloma":
        return granuloma_rate_per_year(dose_mg_per_day, conc_mg_per_ml, drug) / GRANULOMA_BASE_PER_YEAR
    if hazard.exposure == "drug_approval":
        return pump_failure_rate_per_year(drug) / STALL_APPROVED_PER_YEAR
    raise InputError("hazard.exposure", f"unknown exposure model '{hazard.exposure}'")
