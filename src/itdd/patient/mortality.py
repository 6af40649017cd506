"""Who dies, when and of what: background mortality from a life table and therapy-related deaths.

A :class:`MortalityClock` samples one patient's time of death exactly, like the complication
clock (:class:`itdd.care.hazard_clock.HazardClock`): the total death hazard is piecewise constant
between breakpoints (a birthday, the end of a risk window), and death comes where its cumulative
hazard crosses an Exp(1) threshold drawn once from the caller's seeded generator.  The cause is
drawn in proportion to the cause-specific hazards at that instant (exact for competing risks).
Events that are instants rather than rates (an overdose after a refill into the pocket or a
programming error, meningitis after an infection) are Bernoulli draws at the event:
:func:`overdose_death`, :func:`meningitis_death`.

Causes (``CAUSES``):

* ``background``: the bundled period life table (``data/life_table_us_ssa_2016.json``, its
  source inside) by single year of age and sex, times ``CHRONIC_PAIN_EXCESS``.
* ``respiratory_depression``: intrathecal opioid, rising with the starting dose and with a dose
  increase, with systemic opioids, benzodiazepines and sleep apnoea; highest in the first days
  after the implant or an increase (``RD_WINDOWS``), then a lower rate while an intrathecal
  opioid runs.  Calibrated to Coffey 2009 (see :func:`calibration`): the registry's all-cause
  mortality after implant, minus the life-table background of our population.
* ``overdose``: a refill into the pocket or a programming error (per event).
* ``meningitis``: a share of pump/catheter infections, with its case fatality (per event).

Sources and assumptions are :class:`~itdd.patient.parameters.Sourced`; docs/cohort.md
"Mortality" shows the calibration beside the published figures.  No wall clock, no hidden
randomness: everything random comes from the generator passed in.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ..errors import InputError
from ..timeunits import DAYS_PER_YEAR, SECONDS_PER_DAY, SECONDS_PER_YEAR
from .parameters import S2, S, Sourced, U

__all__ = [
    "CAUSES",
    "LifeTable",
    "MortalityClock",
    "RiskFactors",
    "calibration",
    "life_table",
    "meningitis_death",
    "overdose_death",
    "relative_risk",
]

CAUSES = ("background", "respiratory_depression", "overdose", "meningitis", "cancer")

# ---- published figures ---------------------------------------------------------------------------

COFFEY_3_DAYS = S(
    0.00088,
    "Coffey 2009 (Anesthesiology 111:881): all-cause mortality 0.088% at 3 days after IT opioid implant (non-cancer)",
)
COFFEY_30_DAYS = S(0.0039, "Coffey 2009: 0.39% at 1 month after implant")
COFFEY_1_YEAR = S(0.0389, "Coffey 2009: 3.89% at 1 year after implant")

# ---- background ----------------------------------------------------------------------------------

CHRONIC_PAIN_EXCESS = U(
    1.5,
    "assumption: people with chronic non-cancer pain on long-term opioids die more often than the general "
    "population of their age (Coffey 2009 compared them with similar patients on other therapies, who also "
    "died more often than the population); no single ratio found, 1.5 chosen",
)

# ---- respiratory depression ----------------------------------------------------------------------

#: Risk windows after the implant (start of intrathecal opioid): (from day, to day).  The rate in
#: each is calibrated (:func:`calibration`) so that our population matches Coffey 2009.
RD_WINDOWS_DAYS = ((0.0, 3.0), (3.0, 30.0), (30.0, DAYS_PER_YEAR))
RD_INCREASE_WINDOW_DAYS = U(3.0, "monitor respiration 24-72 h after a start or increase (Infumorph label) [S]")
RD_INCREASE_WEIGHT = U(
    0.25,
    "assumption: a dose increase adds, for 3 days, this share of the first-3-days rate per doubling of the dose",
)
RD_LATE_FRACTION = U(
    0.5,
    "assumption: after the first year the therapy-related rate is half that of months 1-12 (no registry "
    "figure beyond 1 year found)",
)
RD_REF_START_MG_PER_DAY = U(0.5, "the pathway's typical start: half of a 1 mg effective trial bolus per day")
RD_START_DOSE_EXPONENT = U(1.0, "assumption: early risk proportional to the starting dose (label: start low)")
RR_SYSTEMIC_PER_100_MME = U(
    2.0,
    "assumption after Coffey 2009's hypothesis (mixed IT and systemic opioids) and the dose-response of "
    "overdose with oral MME (Dunn 2010: HR 8.9 at >= 100 MME/day): +2 relative risk per 100 MME/day",
)
RR_BENZODIAZEPINE = S2(3.86, "Park 2015 (BMJ 350:h2698): overdose death, current benzodiazepine + opioid, HR 3.86")
RR_SLEEP_APNOEA = U(2.0, "assumption: obstructive sleep apnoea doubles opioid-induced respiratory arrest risk")
BENZODIAZEPINE_PREVALENCE = S2(0.27, "Park 2015: 27% of veterans on opioid analgesics also had benzodiazepines")
SLEEP_APNOEA_PREVALENCE = U(0.25, "assumption: sleep-disordered breathing is common on chronic opioids (Walker 2007)")
#: The share of the cohort on systemic opioids at implant and their mean dose (population.py),
#: used to turn the cohort-level calibration into a per-patient baseline.
#: Mean systemic opioid dose (MME/day, over the whole cohort) in each window of RD_WINDOWS_DAYS
#: under the standard pathway (conventional titration, oral weaning once pain is controlled):
#: measured on 120 sampled patients (docs/cohort.md "Mortality"), so the calibration knows how
#: much of Coffey's excess falls on patients still on oral opioids.
REF_MEAN_ORAL_MME_BY_WINDOW = (
    U(98.0, "measured: mean oral MME/day in days 0-3 after implant (standard pathway)"),
    U(87.0, "measured: days 3-30"),
    U(8.0, "measured: days 30-365"),
)
REF_AGE_MEAN = U(55.0, "Population.age_mean")
REF_AGE_SD = U(12.0, "Population.age_sd")
REF_FEMALE = U(0.55, "Population.female_rate")

# ---- cancer ----------------------------------------------------------------------------------------

SMITH_6_MONTH_SURVIVAL = S(
    0.539, "Smith 2002 (J Clin Oncol 20:4040): 53.9% alive at 6 months with IDDS for refractory cancer pain"
)
CANCER_PER_YEAR = -math.log(SMITH_6_MONTH_SURVIVAL.value) / 0.5  # constant hazard (assumption)

# ---- overdose and infection ----------------------------------------------------------------------

POCKET_FILL_PER_REFILL = U(
    1e-4,
    "assumption: pocket fills are rare (FDA Class I recall 2011 for reports since 1996); 1 in 10,000 refills, "
    "above the reported rate for under-reporting",
)
POCKET_FILL_FATALITY = U(0.05, "assumption: most pocket fills are recognised and treated (naloxone, observation)")
PROGRAMMING_ERROR_PER_CHANGE = U(2e-5, "assumption: a tenfold programming error in 1 of 50,000 dose changes")
PROGRAMMING_ERROR_FATALITY = U(0.1, "assumption: a tenfold opioid overdose found late")
MENINGITIS_SHARE_OF_INFECTIONS = U(0.1, "assumption: most pump infections are of the pocket; a tenth reach the CSF")
MENINGITIS_FATALITY = S2(0.15, "bacterial meningitis case fatality in adults about 15-20% (review figures)")


# ---- the life table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LifeTable:
    """Probability of dying within a year (qx) by single year of age and sex."""

    male_qx: tuple[float, ...]
    female_qx: tuple[float, ...]
    source: str

    def qx(self, age_y: float, female: bool) -> float:
        q = self.female_qx if female else self.male_qx
        i = min(max(math.floor(age_y), 0), len(q) - 1)
        return q[i]

    def hazard_per_year(self, age_y: float, female: bool) -> float:
        """Constant hazard within the year of age that leaves ``1 - qx`` alive at its end."""
        return -math.log1p(-min(self.qx(age_y, female), 0.999999))


@functools.cache
def life_table() -> LifeTable:
    """The bundled US period life table (SSA 2016)."""
    text = resources.files("itdd.patient").joinpath("data/life_table_us_ssa_2016.json").read_text(encoding="utf-8")
    d = json.loads(text)
    return LifeTable(tuple(d["male_qx"]), tuple(d["female_qx"]), d["source"])


# ---- risk factors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskFactors:
    """What raises one patient's risk of respiratory depression."""

    oral_mme_per_day: float = 0.0
    benzodiazepine: bool = False
    sleep_apnoea: bool = False


def relative_risk(r: RiskFactors) -> float:
    """Multiplier on the respiratory-depression rate of a patient with no risk factor."""
    rr = 1.0 + RR_SYSTEMIC_PER_100_MME.value * max(r.oral_mme_per_day, 0.0) / 100.0
    if r.benzodiazepine:
        rr *= RR_BENZODIAZEPINE.value
    if r.sleep_apnoea:
        rr *= RR_SLEEP_APNOEA.value
    return rr


def _population_background(t_years: float) -> float:
    """Mean background cumulative hazard (with the chronic-pain excess) of our population over
    ``t_years`` after implant: ages on a grid of the normal age distribution, both sexes."""
    lt = life_table()
    total = 0.0
    weight = 0.0
    for k in range(-30, 31):
        z = k / 10.0
        w = math.exp(-z * z / 2)
        age = min(max(REF_AGE_MEAN.value + REF_AGE_SD.value * z, 20.0), 90.0)
        for female, pw in ((True, REF_FEMALE.value), (False, 1 - REF_FEMALE.value)):
            total += w * pw * lt.hazard_per_year(age, female) * t_years
            weight += w * pw
    return CHRONIC_PAIN_EXCESS.value * total / weight


def _mean_relative_risk(mean_oral_mme_per_day: float) -> float:
    """Population mean of :func:`relative_risk` (independent risk factors; linear in the oral dose)."""
    systemic = 1.0 + RR_SYSTEMIC_PER_100_MME.value * mean_oral_mme_per_day / 100.0
    benzo = 1 - BENZODIAZEPINE_PREVALENCE.value + BENZODIAZEPINE_PREVALENCE.value * RR_BENZODIAZEPINE.value
    osa = 1 - SLEEP_APNOEA_PREVALENCE.value + SLEEP_APNOEA_PREVALENCE.value * RR_SLEEP_APNOEA.value
    return systemic * benzo * osa


@functools.cache
def calibration() -> tuple[float, ...]:
    """Respiratory-depression rates per year for a patient with no risk factor at the reference
    start dose, one per window of ``RD_WINDOWS_DAYS``: Coffey's cumulative hazard in each window,
    minus our population's background in it, divided by the window's length and the population's
    mean relative risk in that window."""
    targets = [0.0, -math.log1p(-COFFEY_3_DAYS.value), -math.log1p(-COFFEY_30_DAYS.value)]
    targets.append(-math.log1p(-COFFEY_1_YEAR.value))
    rates = []
    for i, (a, b) in enumerate(RD_WINDOWS_DAYS):
        rr = _mean_relative_risk(REF_MEAN_ORAL_MME_BY_WINDOW[i].value)
        excess = (targets[i + 1] - targets[i]) - (
            _population_background(b / DAYS_PER_YEAR) - _population_background(a / DAYS_PER_YEAR)
        )
        rates.append(max(excess, 0.0) / ((b - a) / DAYS_PER_YEAR) / rr)
    return tuple(rates)


# ---- the clock -----------------------------------------------------------------------------------


class MortalityClock:
    """One patient's death time under piecewise-constant hazards, from the implant on.

    Call :meth:`set_state` whenever the intrathecal opioid dose, systemic opioids or therapy change
    (it integrates the hazard so far with the old state), then :meth:`next_death` for the death
    time before ``horizon_s`` (``None``: alive at the horizon).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        implant_s: float,
        age_y: float,
        female: bool,
        start_dose_mg_per_day: float,
        risk: RiskFactors,
        opioid: bool = True,
        therapy_related: bool = True,
        cancer: bool = False,
    ) -> None:
        if not math.isfinite(age_y) or age_y < 0:
            raise InputError("patient.age_y", f"must be a finite age, got {age_y!r}")
        self.implant_s = implant_s
        self.age_y = age_y
        self.female = female
        self.threshold = float(rng.exponential())
        self.cum = 0.0
        self.t_s = implant_s
        self.risk = risk
        self.opioid = opioid
        self.therapy_related = therapy_related
        self.cancer = cancer
        self.dose = max(start_dose_mg_per_day, 0.0)
        ratio = self.dose / RD_REF_START_MG_PER_DAY.value
        self.start_factor = ratio**RD_START_DOSE_EXPONENT.value if opioid else 0.0
        # increase windows: (end_s, extra rate per year for a no-risk patient)
        self.increases: list[tuple[float, float]] = []
        self._rates = calibration()
        self._late = self._rates[-1] * RD_LATE_FRACTION.value
        # window edges in virtual seconds: (start, end, rate) and the breakpoints they make
        self._windows = tuple(
            (implant_s + a * SECONDS_PER_DAY, implant_s + b * SECONDS_PER_DAY, r)
            for (a, b), r in zip(RD_WINDOWS_DAYS, self._rates, strict=True)
        )
        self._first_end_s = implant_s + RD_WINDOWS_DAYS[0][1] * SECONDS_PER_DAY
        self._edges = tuple(sorted({e for w in self._windows for e in w[:2]}))
        self._rr = relative_risk(risk)
        self._bg: dict[int, float] = {}

    # ---- hazard pieces -----------------------------------------------------------------------
    def _age_at(self, t_s: float) -> float:
        return self.age_y + (t_s - self.implant_s) / SECONDS_PER_YEAR

    def _background(self, t_s: float) -> float:
        year = math.floor(self._age_at(t_s))
        h = self._bg.get(year)
        if h is None:
            h = self._bg[year] = CHRONIC_PAIN_EXCESS.value * life_table().hazard_per_year(year, self.female)
        return h

    def _rd(self, t_s: float) -> float:
        if not self.therapy_related or not self.opioid:
            return 0.0
        rate = self._late
        for a, b, r in self._windows:
            if a <= t_s < b:
                rate = r
                break
        if t_s < self._first_end_s:
            rate *= self.start_factor
        if self.increases:
            rate += sum(x for end, x in self.increases if t_s < end)
        return rate * self._rr

    def rates(self, t_s: float) -> dict[str, float]:
        """Cause-specific hazards per year at ``t_s`` (constant until the next breakpoint)."""
        r = {"background": self._background(t_s), "respiratory_depression": self._rd(t_s)}
        if self.cancer:
            r["cancer"] = CANCER_PER_YEAR  # the disease itself (its deaths include the background's)
        return r

    def _breakpoints(self, t_s: float) -> float:
        """The next instant after ``t_s`` where a hazard may change."""
        nxt = self.implant_s + (math.floor(self._age_at(t_s)) + 1 - self.age_y) * SECONDS_PER_YEAR
        for e in self._edges:
            if e > t_s + 1e-6:
                nxt = min(nxt, e)
                break
        for end, _ in self.increases:
            if end > t_s + 1e-6:
                nxt = min(nxt, end)
        return max(nxt, t_s + 1e-3)

    def _total(self, t_s: float) -> float:
        return self._background(t_s) + self._rd(t_s) + (CANCER_PER_YEAR if self.cancer else 0.0)

    def _piece(self, t_s: float) -> tuple[float, float]:
        """``(self._breakpoints(t_s), self._total(t_s))`` in one call: the same expressions in the
        same order (the age and its year computed once for both), for the two scans below."""
        # min(a, b) and max(a, b) written as the comparisons they make (b if b < a else a; b if
        # b > a else a) and _rd written out: the next death is scanned piece by piece at every change
        age_y = self.age_y
        year = math.floor(age_y + (t_s - self.implant_s) / SECONDS_PER_YEAR)
        nxt = self.implant_s + (year + 1 - age_y) * SECONDS_PER_YEAR
        after = t_s + 1e-6
        for e in self._edges:
            if e > after:
                if e < nxt:
                    nxt = e
                break
        increases = self.increases
        for end, _ in increases:
            if end > after and end < nxt:
                nxt = end
        lo = t_s + 1e-3
        if lo > nxt:
            nxt = lo
        bg = self._bg.get(year)
        if bg is None:
            bg = self._bg[year] = CHRONIC_PAIN_EXCESS.value * life_table().hazard_per_year(year, self.female)
        if not self.therapy_related or not self.opioid:  # _rd
            rd = 0.0
        else:
            rate = self._late
            for a, b, r in self._windows:
                if a <= t_s < b:
                    rate = r
                    break
            if t_s < self._first_end_s:
                rate *= self.start_factor
            if increases:
                rate += sum(x for end, x in increases if t_s < end)
            rd = rate * self._rr
        return nxt, bg + rd + (CANCER_PER_YEAR if self.cancer else 0.0)

    def _integrate(self, t0: float, t1: float) -> float:
        h = 0.0
        t = t0
        while t < t1:
            bp, total = self._piece(t)
            nxt = t1 if t1 < bp else bp  # min(bp, t1)
            h += total * (nxt - t) / SECONDS_PER_YEAR
            t = nxt
        return h

    # ---- state changes -----------------------------------------------------------------------
    def set_state(
        self, t_s: float, *, dose_mg_per_day: float, oral_mme_per_day: float, opioid: bool, benzodiazepine: bool
    ) -> None:
        """The patient's exposure changes at ``t_s`` (an intrathecal dose, systemic opioids, therapy)."""
        if t_s > self.t_s:
            self.cum += self._integrate(self.t_s, t_s)
            self.t_s = t_s
        self.increases = [(end, x) for end, x in self.increases if end > t_s]
        if opioid and self.opioid and self.dose > 0 and dose_mg_per_day > self.dose * 1.0001:
            doublings = math.log2(dose_mg_per_day / self.dose)
            extra = self._rates[0] * RD_INCREASE_WEIGHT.value * doublings
            self.increases.append((t_s + RD_INCREASE_WINDOW_DAYS.value * SECONDS_PER_DAY, extra))
        elif opioid and not self.opioid and dose_mg_per_day > 0:
            # therapy restarted: a new start, as after the implant
            extra = self._rates[0] * dose_mg_per_day / RD_REF_START_MG_PER_DAY.value
            self.increases.append((t_s + RD_INCREASE_WINDOW_DAYS.value * SECONDS_PER_DAY, extra))
        self.dose = dose_mg_per_day if opioid else 0.0
        self.opioid = opioid
        self.risk = RiskFactors(oral_mme_per_day, benzodiazepine, self.risk.sleep_apnoea)
        self._rr = relative_risk(self.risk)

    def unchanged(self, *, dose_mg_per_day: float, oral_mme_per_day: float, opioid: bool) -> bool:
        """True when :meth:`set_state` with these values would change nothing (the booked death stands)."""
        return (
            opioid == self.opioid
            and (dose_mg_per_day if opioid else 0.0) == self.dose
            and oral_mme_per_day == self.risk.oral_mme_per_day
        )

    def next_death(self, horizon_s: float) -> float | None:
        """When the patient dies (before ``horizon_s``), under the current state."""
        cum = self.cum
        t = self.t_s
        while t < horizon_s:
            bp, rate = self._piece(t)
            nxt = horizon_s if horizon_s < bp else bp  # min(bp, horizon_s)
            step = rate * (nxt - t) / SECONDS_PER_YEAR
            if cum + step >= self.threshold and rate > 0:
                return t + (self.threshold - cum) / rate * SECONDS_PER_YEAR
            cum += step
            t = nxt
        return None

    def cause(self, t_s: float, u: float) -> str:
        """The cause of a death at ``t_s`` (``u`` uniform in [0, 1)), in proportion to the hazards."""
        r = self.rates(t_s)
        total = math.fsum(r.values())
        acc = 0.0
        for k, v in r.items():
            acc += v
            if u * total < acc:
                return k
        return "background"


def overdose_death(rng: np.random.Generator, event: str) -> bool:
    """Does this refill (``"refill"``) or dose change (``"programming"``) end in a fatal overdose?
    One uniform draw per event, whatever the answer, so streams stay aligned."""
    u = float(rng.random())
    if event == "refill":
        return u < POCKET_FILL_PER_REFILL.value * POCKET_FILL_FATALITY.value
    if event == "programming":
        return u < PROGRAMMING_ERROR_PER_CHANGE.value * PROGRAMMING_ERROR_FATALITY.value
    raise InputError("event", f"'{event}' is not 'refill' or 'programming'")


def meningitis_death(rng: np.random.Generator) -> bool:
    """Does this pump infection reach the spinal fluid and kill (one draw)?"""
    return float(rng.random()) < MENINGITIS_SHARE_OF_INFECTIONS.value * MENINGITIS_FATALITY.value


def sourced() -> dict[str, Sourced]:
    """Every sourced number of this module (docs and reports)."""
    return {k: v for k, v in globals().items() if isinstance(v, Sourced)}
