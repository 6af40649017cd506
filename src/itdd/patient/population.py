"""Virtual patients: their parameters and how a population of them is sampled.

A patient is a frozen :class:`PatientParams`.  ``PatientParams.sample(seed, index)`` draws patient
``index`` of the cohort ``seed`` from its own random stream, derived from ``(seed, index)`` with
:class:`numpy.random.SeedSequence` (``spawn_key=(index,)``), so a cohort is the same whatever the
number of workers that sample it or the order they do it in (:func:`sample_cohort`).

Every variable is drawn in a fixed order, whether or not it is used, so adding a field at the end
never changes the earlier ones.  Each distribution names its source in :class:`Population`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from ..errors import InputError
from . import parameters as P
from .parameters import S2, S, Sourced, U
from .placebo import PLACEBO_RELIEF_HIGH, PLACEBO_RELIEF_LOW, PLACEBO_SHARE

INDICATIONS = ("pain", "spasticity")


_RESPONDER_RATE = S(0.95, "Deer 2004: 93% trial success; a few responders fail on dose")
_ACTIVE_INFECTION_RATE = U(0.02, "assumption: infection found at the pre-trial check")
_BODY_TOO_SMALL_RATE = U(0.01, "assumption: too little subcutaneous tissue for the pump")
_AGE_MEAN = S2(55.0, "ITDD cohorts: mean age 50-60 (Deer 2004, Roberts 2001)")
_AGE_SD = U(12.0, "assumption")
_FEMALE_RATE = U(0.55, "assumption")
_WEIGHT_MEDIAN_KG = U(80.0, "assumption: adult chronic-pain population")
_WEIGHT_SDLOG = U(0.2, "assumption")
_BASELINE_PAIN_MEAN = U(7.5, "assumption: candidates report severe pain, NRS 7-8")
_BASELINE_PAIN_SD = U(1.1, "assumption")
_ON_ORAL_OPIOIDS_RATE = U(0.85, "assumption: most candidates take oral opioids")
_ORAL_MME_MEDIAN = U(90.0, "assumption: typical pre-trial oral dose")
_ORAL_MME_SDLOG = U(0.7, "assumption")
_ED50_MEDIAN_MG_PER_DAY = U(
    0.4,
    "calibrated: 1 mg IT morphine trial succeeds in ~93% (Deer 2004) and the titrated dose is ~10 mg/day at"
    " 6 months (Roberts 2001); 0.3 mg then fails in ~55%, more than Jacobson's 30%",
)
_ED50_SDLOG = U(0.5, "assumption")
_TOLERANCE_RATE_SDLOG = U(0.4, "assumption: spread of dose escalation in Roberts 2001")
_RESP_SENSITIVITY_SDLOG = U(0.3, "assumption (sleep apnoea, age, frailty)")
_PRURITUS_SENSITIVITY_SDLOG = U(0.5, "assumption")
_SPASTICITY_MEAN = U(3.0, "Modified Ashworth ~3 in ITB candidates (Heetla 2016 cohort)")
_BACLOFEN_ED50_MEDIAN_MG_PER_DAY = U(0.1, "calibrated: 50-100 mcg screening boluses work (Heetla 2016)")
_BENZODIAZEPINE_RATE = S2(0.27, "Park 2015 (BMJ 350:h2698): 27% on opioid analgesics also took benzodiazepines")
_STABLE_TOLERANCE_SHARE = U(
    0.3,
    "assumption: a share of patients keep a stable dose for years (Hamza 2012: mean low dose 1.4 -> 1.48 mg/day"
    " over 36 months; Roberts 2001's mean rises 53%): no published share, a third chosen",
)
_STABLE_TOLERANCE_FACTOR = U(0.1, "assumption: their analgesic tolerance builds at a tenth of the usual rate")
_KEEPS_SYSTEMIC_SHARE = S2(
    0.135,
    "derived from Grider 2015 (Neuromodulation 18:508): 16% of 99 IDDS patients still on systemic opioids at 1 year;"
    " the pathway leaves ~4.5% of implanted patients on them anyway (pain never controlled), so"
    " (0.16 - 0.045) / 0.85 of the patients on oral opioids keep part of them (docs/cohort.md)",
)
_SYSTEMIC_FLOOR_FRACTION = U(0.25, "assumption: they keep a quarter of their home dose (one weaning step)")
_SLEEP_APNOEA_RATE = U(0.25, "assumption: sleep-disordered breathing is common on chronic opioids (Walker 2007)")


@dataclass(frozen=True)
class Population:
    """The distributions a cohort is drawn from (defaults: adults referred for intrathecal therapy).

    Rates are fractions; ``*_median`` / ``*_sdlog`` describe log-normal distributions.
    """

    responder_rate: Sourced = _RESPONDER_RATE
    active_infection_rate: Sourced = _ACTIVE_INFECTION_RATE
    body_too_small_rate: Sourced = _BODY_TOO_SMALL_RATE
    allergy_rates: tuple[tuple[str, float], ...] = (
        ("morphine", 0.01),
        ("hydromorphone", 0.005),
        ("fentanyl", 0.003),
        ("sufentanil", 0.003),
        ("bupivacaine", 0.003),
        ("clonidine", 0.003),
        ("ziconotide", 0.003),
        ("baclofen", 0.003),
    )  # U: true IgE-mediated allergy to these drugs is rare; charted "allergies" ~1%
    age_mean: Sourced = _AGE_MEAN
    age_sd: Sourced = _AGE_SD
    female_rate: Sourced = _FEMALE_RATE
    weight_median_kg: Sourced = _WEIGHT_MEDIAN_KG
    weight_sdlog: Sourced = _WEIGHT_SDLOG
    csf_mean_ml: Sourced = P.CSF_LUMBOSACRAL_MEAN_ML
    csf_sd_ml: Sourced = P.CSF_LUMBOSACRAL_SD_ML
    baseline_pain_mean: Sourced = _BASELINE_PAIN_MEAN
    baseline_pain_sd: Sourced = _BASELINE_PAIN_SD
    on_oral_opioids_rate: Sourced = _ON_ORAL_OPIOIDS_RATE
    oral_mme_median: Sourced = _ORAL_MME_MEDIAN
    oral_mme_sdlog: Sourced = _ORAL_MME_SDLOG
    ed50_median_mg_per_day: Sourced = _ED50_MEDIAN_MG_PER_DAY
    ed50_sdlog: Sourced = _ED50_SDLOG
    emax_responder: tuple[float, float, float, float] = (0.5, 0.45, 2.2, 2.5)  # lo + span * Beta(a, b); U
    emax_nonresponder: tuple[float, float, float, float] = (0.1, 0.3, 2.0, 2.0)  # U
    tolerance_rate_sdlog: Sourced = _TOLERANCE_RATE_SDLOG
    resp_sensitivity_sdlog: Sourced = _RESP_SENSITIVITY_SDLOG
    pruritus_sensitivity_sdlog: Sourced = _PRURITUS_SENSITIVITY_SDLOG
    nausea_max: tuple[float, float] = (0.2, 0.7)  # uniform; U
    spasticity_mean: Sourced = _SPASTICITY_MEAN
    baclofen_ed50_median_mg_per_day: Sourced = _BACLOFEN_ED50_MEDIAN_MG_PER_DAY
    name: str = "non_cancer"  # POPULATIONS key
    cancer: bool = False  # patients have cancer pain (limited survival: patient/mortality.py)
    benzodiazepine_rate: Sourced = _BENZODIAZEPINE_RATE  # mortality risk factors (patient/mortality.py)
    sleep_apnoea_rate: Sourced = _SLEEP_APNOEA_RATE
    stable_tolerance_share: Sourced = _STABLE_TOLERANCE_SHARE  # heterogeneous tolerance (issue 10)
    stable_tolerance_factor: Sourced = _STABLE_TOLERANCE_FACTOR
    placebo_share: Sourced = PLACEBO_SHARE  # placebo responders (patient/placebo.py)
    keeps_systemic_share: Sourced = _KEEPS_SYSTEMIC_SHARE  # keep part of their systemic opioids (issue 10)
    # entry criterion: pain (NRS, on the home oral opioids, active) at least this; None: no criterion
    enrolment_min_pain: Sourced | None = None


DEFAULT_POPULATION = Population()

_CANCER_MIN_PAIN = S(
    5.0,
    "Smith 2002 (J Clin Oncol 20:4040): entry criterion VAS pain >= 5 of 10 despite >= 200 mg/day oral "
    "morphine equivalents (refractory to comprehensive medical management)",
)
#: Redraws allowed for the entry criterion; after them the last draw is kept (about 23% of the cancer
#: population's first draws fail it: 0.23**50 is nil).
MAX_ENROLMENT_DRAWS = 50

#: Cancer pain (issue 10): older, more pain, higher systemic opioid doses, limited survival.  The
#: analgesic response parameters are those of the non-cancer population (no separate calibration
#: found; docs/patient-model.md "Populations").
CANCER_POPULATION = Population(
    name="cancer",
    cancer=True,
    age_mean=U(62.0, "assumption: refractory cancer pain cohorts are older (Smith 2002: mean age about 60)"),
    baseline_pain_mean=U(8.0, "assumption: Smith 2002 enrolled pain >= 5 despite 200 mg/day oral morphine or more"),
    on_oral_opioids_rate=U(1.0, "Smith 2002: all on systemic opioids (refractory to comprehensive medical management)"),
    oral_mme_median=U(250.0, "assumption: Smith 2002 entry criterion >= 200 mg/day oral morphine equivalent"),
    responder_rate=U(0.9, "assumption: mixed nociceptive-neuropathic cancer pain responds somewhat less often"),
    enrolment_min_pain=_CANCER_MIN_PAIN,
)

POPULATIONS: dict[str, Population] = {"non_cancer": DEFAULT_POPULATION, "cancer": CANCER_POPULATION}


def get_population(name: str) -> Population:
    if name not in POPULATIONS:
        raise InputError("population", f"'{name}' is not one of {', '.join(POPULATIONS)}")
    return POPULATIONS[name]


@dataclass(frozen=True)
class PatientParams:
    """One virtual patient.  Units are in the names; scores are on the scales named below."""

    seed: int | None = None
    index: int | None = None
    indication: str = "pain"  # "pain" or "spasticity"
    # contraindications (screening-trial check)
    active_infection: bool = False
    body_too_small: bool = False  # for an implanted pump
    allergies: tuple[str, ...] = ()
    # body
    age_y: float = 55.0
    female: bool = False
    weight_kg: float = 70.0
    height_cm: float = 170.0
    csf_lumbosacral_ml: float = 49.9  # Carpenter 1998
    # pain and analgesia
    baseline_pain: float = 7.5  # NRS 0-10 with no analgesic at all
    oral_mme_per_day: float = 0.0  # home oral opioids at enrolment (steady state)
    responder: bool = True  # pain responds to neuraxial analgesia
    emax: float = 0.7  # maximal fraction of pain removed
    ed50_mg_per_day: float = 1.0  # IT-morphine-equivalent drive for half of emax
    hill: float = 2.0
    tolerance_rate: float = 1.0  # multiplies the maximal analgesic tolerance
    # side effects and vital signs
    resp_rate_per_min: float = 14.0
    aa_gradient_mmhg: float = 10.0  # alveolar-arterial O2 gradient (age/4 + 4)
    resp_sensitivity: float = 1.0
    pruritus_sensitivity: float = 1.0
    nausea_max: float = 0.4  # fraction of 10
    heart_rate_per_min: float = 75.0
    systolic_bp_mmhg: float = 130.0
    temperature_c: float = 36.8
    # spasticity (baclofen)
    spasticity: float = 0.0  # Modified Ashworth 0-4 with no baclofen
    baclofen_ed50_mg_per_day: float = 0.1
    baclofen_emax: float = 0.8
    baclofen_tolerance_rate: float = 1.0
    # daily life
    wake_h: float = 7.0  # local time of getting up
    sleep_h: float = 23.0  # local time of going to bed
    activity_pain_gain: float = 0.2  # pain x (1 + gain) when active, x (1 - gain) asleep
    pain_report_sd: float = 0.7  # spread of a reported NRS around the model's pain
    # risk factors for respiratory depression (patient/mortality.py)
    benzodiazepine: bool = False
    sleep_apnoea: bool = False
    stable_tolerance: bool = False  # model truth: analgesic tolerance builds slowly (a stable dose)
    cancer: bool = False  # cancer pain: limited survival (patient/mortality.py)
    placebo_relief: float = 0.0  # placebo responder: relief not due to the drug, fading (patient/placebo.py)
    systemic_opioid_floor_fraction: float = 0.0  # keeps this fraction of the home oral dose (another pain)

    def __post_init__(self) -> None:
        _check(self)

    # ---- construction --------------------------------------------------------------------------
    @classmethod
    def reference(cls, **overrides: Any) -> PatientParams:
        """The opioid-naive reference adult (70 kg, mean CSF volume) used for calibration.

        Its analgesic ED50 (0.07 IT-morphine mg/day) is that of opioid-naive acute pain, where
        analgesia plateaus near a 0.075 mg bolus (Palmer 1999); chronic-pain cohorts are less
        opioid-responsive (see :class:`Population`).
        """
        base: dict[str, Any] = {"ed50_mg_per_day": 0.07, "emax": 0.9, "oral_mme_per_day": 0.0}
        base.update(overrides)
        return cls(**base)

    @classmethod
    def sample(
        cls,
        seed: int,
        index: int,
        *,
        indication: str = "pain",
        population: Population = DEFAULT_POPULATION,
    ) -> PatientParams:
        """Patient ``index`` of cohort ``seed`` (independent of any other patient or worker).

        A population with an entry criterion (``enrolment_min_pain``: the cancer population's
        Smith 2002 pain >= 5 despite the home opioids) draws patient ``index`` again, from stream
        ``(index, attempt)``, until the pain on the home oral opioids meets it: the cohort is the
        trial's enrolled patients, not every candidate.  Without one (non-cancer), one draw from
        stream ``(index,)`` as before."""
        if indication not in INDICATIONS:
            raise InputError("indication", f"'{indication}' is not one of {', '.join(INDICATIONS)}")
        if seed < 0 or index < 0:
            raise InputError("seed" if seed < 0 else "index", "must not be negative")
        p = cls._draw(seed, index, (index,), indication, population)
        min_pain = population.enrolment_min_pain
        if min_pain is None or indication != "pain":
            return p
        for attempt in range(1, MAX_ENROLMENT_DRAWS):
            if enrolment_pain(p) >= min_pain.value:
                break
            p = cls._draw(seed, index, (index, attempt), indication, population)
        return p

    @classmethod
    def _draw(
        cls, seed: int, index: int, spawn_key: tuple[int, ...], indication: str, population: Population
    ) -> PatientParams:
        """One draw of patient ``index`` from the stream ``spawn_key`` of cohort ``seed``."""
        rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=spawn_key))
        pop = population
        u = rng.random(8).tolist()  # Bernoulli draws, in a fixed order
        responder = bool(u[0] < pop.responder_rate.value)
        infection = bool(u[1] < pop.active_infection_rate.value)
        too_small = bool(u[2] < pop.body_too_small_rate.value)
        female = bool(u[3] < pop.female_rate.value)
        on_orals = bool(u[4] < pop.on_oral_opioids_rate.value)
        allergy_u = rng.random(len(pop.allergy_rates)).tolist()
        allergies = tuple(d for (d, rate), x in zip(pop.allergy_rates, allergy_u, strict=True) if x < rate)
        z = rng.standard_normal(16).tolist()
        age = _clip(pop.age_mean.value + pop.age_sd.value * z[0], 20.0, 90.0)
        height = (163.0 if female else 177.0) + 7.0 * z[1]  # U: adult heights
        height = _clip(height, 140.0, 205.0)
        if too_small:
            # A small body: BMI 14-17 (U).
            bmi = 14.0 + 3.0 * float(rng.random())
            weight = bmi * (height / 100.0) ** 2
        else:
            _ = rng.random()  # keep the stream aligned
            weight = pop.weight_median_kg.value * math.exp(pop.weight_sdlog.value * z[2])
            weight = max(weight, 18.5 * (height / 100.0) ** 2)  # not underweight unless too small
            weight = min(weight, 200.0)
        csf = _clip(pop.csf_mean_ml.value + pop.csf_sd_ml.value * z[3], 20.0, 90.0)
        pain = _clip(pop.baseline_pain_mean.value + pop.baseline_pain_sd.value * z[4], 4.0, 10.0)
        oral = pop.oral_mme_median.value * math.exp(pop.oral_mme_sdlog.value * z[5])
        oral = _clip(oral, 10.0, 600.0) if on_orals else 0.0
        ed50 = pop.ed50_median_mg_per_day.value * math.exp(pop.ed50_sdlog.value * z[6])
        lo, span, a, b = pop.emax_responder
        emax_r = lo + span * float(rng.beta(a, b))
        lo, span, a, b = pop.emax_nonresponder
        emax_n = lo + span * float(rng.beta(a, b))
        tol = math.exp(pop.tolerance_rate_sdlog.value * z[7])
        rr = _clip(15.0 + 1.5 * z[8], 12.0, 20.0)  # U: adult resting RR 12-20/min
        resp_sens = math.exp(pop.resp_sensitivity_sdlog.value * z[9])
        prur = math.exp(pop.pruritus_sensitivity_sdlog.value * z[10])
        n_lo, n_hi = pop.nausea_max
        nausea = n_lo + (n_hi - n_lo) * float(rng.random())
        hr = _clip(75.0 + 10.0 * z[11], 50.0, 110.0)  # U
        sbp = _clip(130.0 + 15.0 * z[12], 95.0, 180.0)  # U
        temp = _clip(36.8 + 0.3 * z[13], 36.0, 37.5)  # U
        wake = _clip(7.0 + 0.75 * z[14], 5.0, 10.0)  # U
        sleep = _clip(23.0 + 0.75 * z[15], 20.5, 25.5) % 24.0  # U
        z2 = rng.standard_normal(4).tolist()
        spas = _clip(pop.spasticity_mean.value + 0.5 * z2[0], 1.5, 4.0)
        bac_ed50 = pop.baclofen_ed50_median_mg_per_day.value * math.exp(0.4 * z2[1])  # U: spread
        bac_emax = _clip(0.8 + 0.08 * z2[2], 0.55, 0.95)  # U
        bac_tol = math.exp(0.4 * z2[3])  # U
        u2 = rng.random(3).tolist()  # drawn last: earlier variables unchanged
        benzo = bool(u2[0] < pop.benzodiazepine_rate.value)
        osa = bool(u2[1] < pop.sleep_apnoea_rate.value)
        # heterogeneous tolerance: stable patients build it at a fraction of the rate; the others
        # faster, so the population mean rate (the Roberts 2001 calibration) is unchanged
        share, factor = pop.stable_tolerance_share.value, pop.stable_tolerance_factor.value
        stable = bool(u2[2] < share)
        tol *= factor if stable else (1.0 - share * factor) / (1.0 - share) if share < 1 else 1.0
        spasticity = indication == "spasticity"
        # placebo response (issue 10): drawn after everything else, so no earlier variable changes
        u3 = rng.random(2).tolist()
        lo_p, hi_p = PLACEBO_RELIEF_LOW.value, PLACEBO_RELIEF_HIGH.value
        placebo = lo_p + (hi_p - lo_p) * u3[1] if u3[0] < pop.placebo_share.value else 0.0
        keeps = bool(rng.random() < pop.keeps_systemic_share.value)  # drawn last: nothing earlier changes
        return cls(
            seed=seed,
            index=index,
            indication=indication,
            active_infection=infection,
            body_too_small=too_small,
            allergies=allergies,
            age_y=age,
            female=female,
            weight_kg=float(weight),
            height_cm=height,
            csf_lumbosacral_ml=csf,
            baseline_pain=pain if not spasticity else _clip(pain - 4.0, 0.0, 10.0),
            oral_mme_per_day=oral if not spasticity else 0.0,
            responder=responder,
            emax=emax_r if responder else emax_n,
            ed50_mg_per_day=ed50,
            hill=P.HILL_ANALGESIA.value,
            tolerance_rate=tol,
            resp_rate_per_min=rr,
            aa_gradient_mmhg=age / 4.0 + 4.0,  # S2: expected A-a gradient = age/4 + 4
            resp_sensitivity=resp_sens,
            pruritus_sensitivity=prur,
            nausea_max=nausea,
            heart_rate_per_min=hr,
            systolic_bp_mmhg=sbp,
            temperature_c=temp,
            spasticity=spas if spasticity else 0.0,
            baclofen_ed50_mg_per_day=bac_ed50,
            baclofen_emax=bac_emax if responder else bac_emax * 0.4,
            baclofen_tolerance_rate=bac_tol,
            wake_h=wake,
            sleep_h=sleep,
            benzodiazepine=benzo and not spasticity,
            sleep_apnoea=osa,
            stable_tolerance=stable,
            cancer=pop.cancer,
            placebo_relief=placebo if not spasticity else 0.0,
            systemic_opioid_floor_fraction=_SYSTEMIC_FLOOR_FRACTION.value if keeps and oral > 0 else 0.0,
        )

    # ---- derived -------------------------------------------------------------------------------
    @property
    def bmi(self) -> float:
        return self.weight_kg / (self.height_cm / 100.0) ** 2

    @property
    def opioid_naive(self) -> bool:
        return self.oral_mme_per_day <= 0.0

    def contraindications(self, trial_drug: str | None = None) -> list[str]:
        """Reasons not to trial or implant (seed FAQ): each a short sentence, empty if none."""
        reasons = []
        if self.active_infection:
            reasons.append("active infection")
        if self.body_too_small:
            reasons.append(f"body too small for an implanted pump (BMI {self.bmi:.1f})")
        if trial_drug is not None and trial_drug in self.allergies:
            reasons.append(f"allergy to the trial drug ({trial_drug})")
        return reasons

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["allergies"] = list(self.allergies)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatientParams:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"patient.{unknown[0]}", f"unknown field (known: {', '.join(sorted(known))})")
        d = dict(data)
        if "allergies" in d:
            d["allergies"] = tuple(d["allergies"])
        return cls(**d)

    def with_(self, **changes: Any) -> PatientParams:
        return replace(self, **changes)


def enrolment_pain(p: PatientParams) -> float:
    """Pain (NRS) of patient ``p`` at enrolment: at steady state on the home oral opioids, active
    (what care/steps/cancer_steps.py measures at the implant as Smith 2002's baseline)."""
    from .sim import PatientSim  # sim.py builds on this module

    return float(PatientSim(p, 0.0).observe(activity=1.0).pain)


# Ranges a patient's parameters must lie in: (low, high) inclusive.
_RANGES: dict[str, tuple[float, float]] = {
    "age_y": (1.0, 110.0),
    "weight_kg": (10.0, 300.0),
    "height_cm": (50.0, 250.0),
    "csf_lumbosacral_ml": (10.0, 150.0),
    "baseline_pain": (0.0, 10.0),
    "oral_mme_per_day": (0.0, 5000.0),
    "emax": (0.0, 1.0),
    "ed50_mg_per_day": (1e-4, 1000.0),
    "hill": (0.5, 6.0),
    "tolerance_rate": (0.0, 10.0),
    "resp_rate_per_min": (4.0, 40.0),
    "aa_gradient_mmhg": (0.0, 60.0),
    "resp_sensitivity": (0.05, 20.0),
    "pruritus_sensitivity": (0.0, 20.0),
    "nausea_max": (0.0, 1.0),
    "heart_rate_per_min": (30.0, 200.0),
    "systolic_bp_mmhg": (60.0, 250.0),
    "temperature_c": (34.0, 42.0),
    "spasticity": (0.0, 4.0),
    "baclofen_ed50_mg_per_day": (1e-4, 100.0),
    "baclofen_emax": (0.0, 1.0),
    "baclofen_tolerance_rate": (0.0, 10.0),
    "wake_h": (0.0, 24.0),
    "sleep_h": (0.0, 24.0),
    "activity_pain_gain": (0.0, 0.9),
    "pain_report_sd": (0.0, 5.0),
    "placebo_relief": (0.0, 0.9),
    "systemic_opioid_floor_fraction": (0.0, 1.0),
}


def _check(p: PatientParams) -> None:
    from .parameters import DRUGS

    if p.indication not in INDICATIONS:
        raise InputError("patient.indication", f"'{p.indication}' is not one of {', '.join(INDICATIONS)}")
    for name, (lo, hi) in _RANGES.items():
        v = getattr(p, name)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InputError(f"patient.{name}", f"must be a finite number, got {v!r}")
        if not lo <= v <= hi:
            raise InputError(f"patient.{name}", f"{v:g} is outside {lo:g}..{hi:g}")
    for d in p.allergies:
        if d not in DRUGS:
            raise InputError("patient.allergies", f"unknown drug '{d}'")


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else float(x)


# ---- cohorts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    seed: int
    indices: Sequence[int]
    indication: str
    population: Population = field(default=DEFAULT_POPULATION)


def _sample_chunk(job: _Job) -> list[PatientParams]:
    return [
        PatientParams.sample(job.seed, i, indication=job.indication, population=job.population) for i in job.indices
    ]


def sample_cohort(
    seed: int,
    n: int,
    *,
    workers: int = 1,
    indication: str = "pain",
    population: Population = DEFAULT_POPULATION,
) -> list[PatientParams]:
    """Patients 0..n-1 of cohort ``seed``; identical for any number of worker processes."""
    if n < 0:
        raise InputError("patients", "must not be negative")
    if workers < 1:
        raise InputError("workers", "must be at least 1")
    if workers == 1 or n < 2:
        return _sample_chunk(_Job(seed, range(n), indication, population))
    # Interleaved chunks on purpose: the result must not depend on who sampled what.
    jobs = [_Job(seed, range(w, n, workers), indication, population) for w in range(workers)]
    out: list[PatientParams | None] = [None] * n
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for job, chunk in zip(jobs, pool.map(_sample_chunk, jobs), strict=True):
            for i, params in zip(job.indices, chunk, strict=True):
                out[i] = params
    return [p for p in out if p is not None]
