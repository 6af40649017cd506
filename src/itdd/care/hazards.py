"""Complication hazard models of long-term intrathecal therapy, and an exact event clock.

``HAZARDS`` is data: one :class:`Hazard` per follow-up complication, each with its rate per
patient-year (piecewise constant in the age of the component), its source, whether it needs
surgery, and what it does to the digital twin.  :class:`HazardClock` samples event times exactly
under piecewise-constant hazards: no time step, the event fires where the cumulative hazard
crosses an Exp(1) threshold drawn from the caller's seeded ``numpy.random.Generator``.

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

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..patient.parameters import S, U
from ..timeunits import SECONDS_PER_YEAR

__all__ = [
    "CATHETER_KINDS",
    "HAZARDS",
    "KINDS",
    "YEAR_S",
    "Hazard",
    "HazardClock",
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


def _check_exposure(dose_mg_per_day: float, conc_mg_per_ml: float, drug: str) -> None:
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
    _check_exposure(dose_mg_per_day, conc_mg_per_ml, drug)
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


# ---- the clock -----------------------------------------------------------------------------------


class HazardClock:
    """Exact event times of competing complications under piecewise-constant hazards.

    Each kind holds a threshold ``E ~ Exp(1)`` drawn from ``rng``; its cumulative hazard grows
    from an anchor time (implant, the last event, a renewal) at ``rate_at_age x exposure x
    rate_scale``; the event happens where it reaches ``E``.  Rates change only at component-age
    breakpoints (known in advance) and at :meth:`set_exposure`, so the crossing is solved exactly
    segment by segment.  Random draws happen only at construction (one per kind, in ``hazards``
    order), in :meth:`fire` (a recurrent kind) and in :meth:`resume` with ``renew=True``: the
    same seed and the same calls give the same events.

    Exposure is in the drug's own units (``dose_mg_per_day`` of ``drug``, ``conc_mg_per_ml``);
    before the first :meth:`set_exposure` there is no drug (granuloma hazard zero).

    Cost: a kind's hazard is accumulated only when its own rate changes (a dose change touches the
    granuloma alone), and each kind's next event time is cached until that kind changes, so an
    exposure change plus :meth:`next_event` is a few microseconds.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        start_s: float,
        hazards: Sequence[Hazard] = HAZARDS,
        *,
        rate_scale: float = 1.0,
    ) -> None:
        if not isinstance(start_s, (int, float)) or not math.isfinite(start_s):
            raise InputError("start_s", f"must be a finite time, got {start_s!r}")
        if not isinstance(rate_scale, (int, float)) or not math.isfinite(rate_scale) or rate_scale < 0:
            raise InputError("rate_scale", f"must be a finite number >= 0, got {rate_scale!r}")
        kinds = [h.kind for h in hazards]
        if len(set(kinds)) != len(kinds):
            raise InputError("hazards", "each kind may appear once")
        self.rng = rng
        self.hazards: tuple[Hazard, ...] = tuple(hazards)
        self.rate_scale = float(rate_scale)
        self._index = {k: i for i, k in enumerate(kinds)}
        n = len(self.hazards)
        t0 = float(start_s)
        self._t = t0  # the latest set_exposure time (they never go back)
        # per-kind profile in seconds: breakpoints (age s) and rates per second (scale included)
        self._bp: list[list[float]] = []
        self._rs: list[list[float]] = []
        for h in self.hazards:
            self._bp.append([a * YEAR_S for a, _ in h.profile])
            self._rs.append([r * self.rate_scale / YEAR_S for _, r in h.profile])
        self._exposed = [h.exposure != "none" for h in self.hazards]
        self._origin = [t0] * n  # component age 0
        self._anchor = [t0] * n  # cumulative hazard counted from here
        self._tk = [t0] * n  # hazard accumulated up to here (the kind's rate is constant after it)
        self._h = [0.0] * n  # hazard accumulated from the anchor up to max(anchor, tk)
        self._thr = [float(x) for x in rng.standard_exponential(n)]
        self._due: list[float | None] = [None] * n  # crossing time when it is already behind tk
        self._next: list[float | None] = [None] * n  # cached next event time (None: to compute)
        self._active = [True] * n
        self._disabled = [False] * n
        self._factor = [exposure_factor(h, 0.0, 0.0, "") for h in self.hazards]
        self._exposure: tuple[float, float, str] = (0.0, 0.0, "")
        # exposure history (for events fired or resumed at a time behind a kind's accumulation)
        self._hist_t: list[float] = [t0]
        self._hist_f: list[list[float]] = [list(self._factor)]

    # ---- public API ------------------------------------------------------------------------------
    @property
    def t_s(self) -> float:
        """The time of the latest exposure (the clock never goes back before it)."""
        return self._t

    @property
    def exposure(self) -> tuple[float, float, str]:
        """The current exposure: ``(dose_mg_per_day, conc_mg_per_ml, drug)``."""
        return self._exposure

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(h.kind for h in self.hazards)

    def set_exposure(self, t_s: float, *, dose_mg_per_day: float, conc_mg_per_ml: float, drug: str) -> None:
        """The drug exposure from ``t_s`` on (``t_s`` never decreases)."""
        self._check_time(t_s, "t_s")
        if t_s < self._t:
            raise InputError("t_s", f"time moves forward only: {t_s} is before the last exposure ({self._t})")
        _check_exposure(dose_mg_per_day, conc_mg_per_ml, drug)
        t = float(t_s)
        self._t = t
        exposure = (float(dose_mg_per_day), float(conc_mg_per_ml), drug)
        if exposure == self._exposure:
            return
        self._exposure = exposure
        changed = False
        for i, h in enumerate(self.hazards):
            if not self._exposed[i]:
                continue
            f = exposure_factor(h, dose_mg_per_day, conc_mg_per_ml, drug)
            if f == self._factor[i]:
                continue
            changed = True
            if self._active[i]:
                self._accumulate(i, t)
            self._tk[i] = max(self._tk[i], t)
            self._factor[i] = f
            self._next[i] = None
        if changed:
            if self._hist_t[-1] == t:
                self._hist_f[-1] = list(self._factor)
            else:
                self._hist_t.append(t)
                self._hist_f.append(list(self._factor))

    def next_event(self) -> tuple[float, str] | None:
        """The earliest pending event ``(t_s, kind)`` under the current exposure, or None."""
        best_t = INF
        best_i = -1
        for i in range(len(self.hazards)):
            if not self._active[i]:
                continue
            t = self._next[i]
            if t is None:
                due = self._due[i]
                if due is None:
                    start = max(self._anchor[i], self._tk[i])
                    t = self._solve(i, start, self._thr[i] - self._h[i], self._factor[i])
                else:
                    t = due
                self._next[i] = t
            if t < best_t:
                best_t, best_i = t, i
        return None if best_i < 0 else (best_t, self.hazards[best_i].kind)

    def fire(self, kind: str, t_s: float) -> None:
        """``kind`` happened at ``t_s``: a fresh threshold from ``t_s`` (or disabled, if once only)."""
        i = self._kind_index(kind)
        self._check_time(t_s, "t_s")
        if not self._active[i]:
            raise InputError("kind", f"'{kind}' is {'disabled' if self._disabled[i] else 'suspended'}")
        if self.hazards[i].once:
            self._active[i] = False
            self._disabled[i] = True
            self._due[i] = None
            self._next[i] = None
            return
        self._restart(i, float(t_s), fresh=True, renew=False)

    def suspend(self, kind: str, t_s: float | None = None) -> None:
        """No hazard for ``kind`` (or a group: ``"catheter"``, ``"all"``) from ``t_s`` (default: now).

        Any pending event of a suspended kind is dropped.
        """
        if t_s is not None:
            self._check_time(t_s, "t_s")
        for i in self._indices(kind):
            if not self._active[i]:
                continue
            if t_s is not None and t_s > self._tk[i]:
                self._accumulate(i, float(t_s))
            self._active[i] = False
            self._due[i] = None
            self._next[i] = None

    def resume(self, kind: str, t_s: float, *, renew: bool = True) -> None:
        """Hazard for ``kind`` (or a group) again from ``t_s``.

        ``renew=True`` (default): a new component (revised catheter, new pump) — age 0 at ``t_s``
        and a fresh threshold.  ``renew=False``: the same component, the hazard it had accumulated
        is kept.  Disabled (once-only, fired) kinds stay disabled.
        """
        self._check_time(t_s, "t_s")
        for i in self._indices(kind):
            if self._disabled[i] or self._active[i]:
                continue
            self._active[i] = True
            self._restart(i, float(t_s), fresh=renew, renew=renew)

    def is_active(self, kind: str) -> bool:
        return self._active[self._kind_index(kind)]

    def rate_per_year(self, kind: str, t_s: float | None = None) -> float:
        """Current hazard of ``kind`` per year at ``t_s`` (default: now), 0 if inactive."""
        i = self._kind_index(kind)
        if not self._active[i]:
            return 0.0
        t = self._t if t_s is None else float(t_s)
        return self._rate_s(i, t) * self._factor_at(i, t) * YEAR_S

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (the generator's state included)."""
        return {
            "t_s": self._t,
            "rate_scale": self.rate_scale,
            "kinds": list(self.kinds),
            "origin": list(self._origin),
            "anchor": list(self._anchor),
            "tk": list(self._tk),
            "h": list(self._h),
            "thr": list(self._thr),
            "due": list(self._due),
            "active": list(self._active),
            "disabled": list(self._disabled),
            "factor": list(self._factor),
            "exposure": list(self._exposure),
            "hist_t": list(self._hist_t),
            "hist_f": [list(f) for f in self._hist_f],
            "rng": self.rng.bit_generator.state,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], hazards: Sequence[Hazard] = HAZARDS) -> HazardClock:
        if list(data.get("kinds", [])) != [h.kind for h in hazards]:
            raise InputError("kinds", "the saved clock was made with other hazards")
        try:
            rng = np.random.default_rng()
            rng.bit_generator.state = data["rng"]
            # build on a throwaway generator (no draw from ``rng``), then overwrite the state
            clock = cls(np.random.default_rng(0), data["t_s"], hazards, rate_scale=data["rate_scale"])
            clock.rng = rng
            clock._origin = [float(x) for x in data["origin"]]
            clock._anchor = [float(x) for x in data["anchor"]]
            clock._tk = [float(x) for x in data["tk"]]
            clock._h = [float(x) for x in data["h"]]
            clock._thr = [float(x) for x in data["thr"]]
            clock._due = [None if x is None else float(x) for x in data["due"]]
            clock._active = [bool(x) for x in data["active"]]
            clock._disabled = [bool(x) for x in data["disabled"]]
            clock._factor = [float(x) for x in data["factor"]]
            dose, conc, drug = data["exposure"]
            clock._exposure = (float(dose), float(conc), str(drug))
            clock._hist_t = [float(x) for x in data["hist_t"]]
            clock._hist_f = [[float(v) for v in f] for f in data["hist_f"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError("clock", f"not a saved hazard clock ({type(exc).__name__}: {exc})") from None
        return clock

    # ---- internals -------------------------------------------------------------------------------
    @staticmethod
    def _check_time(t_s: float, field: str) -> None:
        if not isinstance(t_s, (int, float)) or not math.isfinite(t_s):
            raise InputError(field, f"must be a finite time, got {t_s!r}")

    def _kind_index(self, kind: str) -> int:
        i = self._index.get(kind)
        if i is None:
            raise InputError("kind", f"unknown complication '{kind}' (one of {', '.join(self.kinds)})")
        return i

    def _indices(self, kind: str) -> list[int]:
        if kind == "all":
            return list(range(len(self.hazards)))
        group = [i for i, h in enumerate(self.hazards) if h.group == kind]
        if group:
            return group
        return [self._kind_index(kind)]

    def _rate_s(self, i: int, t: float) -> float:
        """Baseline rate per second (scale included, exposure excluded) at time ``t``."""
        age = t - self._origin[i]
        k = bisect.bisect_right(self._bp[i], age) - 1
        return self._rs[i][max(k, 0)]

    def _integral(self, i: int, t0: float, t1: float) -> float:
        """Integral of the baseline rate over [t0, t1] (exposure excluded)."""
        if t1 <= t0:
            return 0.0
        bp, rs, origin = self._bp[i], self._rs[i], self._origin[i]
        if len(bp) == 1:
            return rs[0] * (t1 - t0)
        total = 0.0
        a0, a1 = t0 - origin, t1 - origin
        for k in range(len(bp)):
            lo = bp[k] if k > 0 else -INF
            hi = bp[k + 1] if k + 1 < len(bp) else INF
            seg_lo, seg_hi = max(a0, lo), min(a1, hi)
            if seg_hi > seg_lo:
                total += rs[k] * (seg_hi - seg_lo)
        return total

    def _solve(self, i: int, start: float, need: float, factor: float) -> float:
        """First time T >= start with factor x integral(start, T) = need (INF if never)."""
        if need <= 0.0:
            return start
        if factor <= 0.0:
            return INF
        bp, rs, origin = self._bp[i], self._rs[i], self._origin[i]
        k = max(bisect.bisect_right(bp, start - origin) - 1, 0)
        t = start
        while True:
            rate = rs[k] * factor
            end = origin + bp[k + 1] if k + 1 < len(bp) else INF
            if rate > 0.0:
                dt = need / rate
                if t + dt <= end:
                    return t + dt
            if end == INF:
                return INF
            need -= rate * (end - t)
            t = end
            k += 1

    def _factor_at(self, i: int, t: float) -> float:
        if t >= self._tk[i]:
            return self._factor[i]
        j = bisect.bisect_right(self._hist_t, t) - 1
        return self._hist_f[max(j, 0)][i]

    def _accumulate(self, i: int, t: float) -> None:
        """Add kind ``i``'s hazard from its accumulation time to ``t`` (its rate is constant there)."""
        start = max(self._anchor[i], self._tk[i])
        if t > start and self._due[i] is None:
            dh = self._factor[i] * self._integral(i, start, t)
            if self._h[i] + dh >= self._thr[i]:
                self._due[i] = self._solve(i, start, self._thr[i] - self._h[i], self._factor[i])
            self._h[i] += dh
        self._tk[i] = max(self._tk[i], t)

    def _restart(self, i: int, t: float, *, fresh: bool, renew: bool) -> None:
        """Count kind ``i`` from ``t`` (behind or ahead of its accumulation time)."""
        if renew:
            self._origin[i] = t
        if fresh:
            self._thr[i] = float(self.rng.standard_exponential())
            self._h[i] = 0.0
        self._anchor[i] = t
        self._due[i] = None
        self._next[i] = None
        tk = self._tk[i]
        if t < tk:
            # counted from a time behind: integrate over the exposure history up to tk
            h0 = self._h[i]
            self._h[i] = h0 + self._history_integral(i, t, tk)
            if self._h[i] >= self._thr[i]:
                self._due[i] = self._history_solve(i, t, tk, self._thr[i] - h0)
        else:
            self._tk[i] = t

    def _history_segments(self, t0: float, t1: float) -> list[tuple[float, float, int]]:
        out = []
        j = max(bisect.bisect_right(self._hist_t, t0) - 1, 0)
        while j < len(self._hist_t):
            lo = max(t0, self._hist_t[j])
            hi = min(t1, self._hist_t[j + 1] if j + 1 < len(self._hist_t) else INF)
            if hi > lo:
                out.append((lo, hi, j))
            if j + 1 >= len(self._hist_t) or self._hist_t[j + 1] >= t1:
                break
            j += 1
        return out

    def _history_integral(self, i: int, t0: float, t1: float) -> float:
        return sum(self._hist_f[j][i] * self._integral(i, lo, hi) for lo, hi, j in self._history_segments(t0, t1))

    def _history_solve(self, i: int, t0: float, t1: float, need: float) -> float:
        for lo, hi, j in self._history_segments(t0, t1):
            f = self._hist_f[j][i]
            part = f * self._integral(i, lo, hi)
            if part >= need:
                return min(self._solve(i, lo, need, f), hi)
            need -= part
        return t1
