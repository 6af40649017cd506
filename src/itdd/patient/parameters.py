"""Sourced parameters of the virtual-patient models.

Every number here carries where it comes from and how sure we are, as in
``/work/shared/reference/clinical-facts.md``:

* ``S``  — a source was seen (paper, label, registry);
* ``S2`` — a weaker secondary source (review, textbook table, guideline summary);
* ``U``  — an assumption (no source found, or chosen to honour a calibration target); the text says why.

The PK structure these parameters feed is described in :mod:`itdd.patient.pk` and
``docs/patient-model.md``.  Rates are given as half-lives (hours) because that is how the
literature reports them; the models convert to rate constants (ln 2 / half-life).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..thresholds import Threshold, thresholds

LN2 = math.log(2.0)


@dataclass(frozen=True, slots=True)
class Sourced:
    """A number with its provenance."""

    value: float
    source: str
    confidence: str  # "S", "S2" or "U"

    def __float__(self) -> float:
        return self.value


def S(value: float, source: str) -> Sourced:
    """A value whose source was seen (tag names mirror clinical-facts.md)."""
    return Sourced(value, source, "S")


def S2(value: float, source: str) -> Sourced:
    return Sourced(value, source, "S2")


def U(value: float, source: str) -> Sourced:
    return Sourced(value, source, "U")


# ---- spinal-fluid anatomy and flow (shared by every drug) ----------------------------------------

CSF_LUMBOSACRAL_MEAN_ML = S(49.9, "Carpenter 1998 (MRI, lumbosacral CSF 49.9 +/- 12.1 mL)")
CSF_LUMBOSACRAL_SD_ML = S(12.1, "Carpenter 1998")
TIP_SEGMENT_CM = U(5.0, "Bernards: most drug stays within a few cm of the tip; we take +/-2.5 cm")
LUMBOSACRAL_LENGTH_CM = U(25.0, "assumption: thecal sac L1 to S2 about 25 cm, so 2 mL of CSF per cm")
THORACOCERVICAL_CSF_ML = U(30.0, "assumption: total spinal CSF about 80 mL (lumbosacral 50 + 30)")
INTRACRANIAL_MIXING_ML = U(50.0, "assumption: basal cisterns and cranial subarachnoid CSF that mixes with the spine")
CSF_BULK_ABSORPTION_ML_PER_H = S2(
    20.0, "CSF production 300-500 mL/day, ~14%/h turnover (clinical-facts); absorbed intracranially"
)
TIP_TO_WIDE_RATIO_MORPHINE = S(5.0, "Bernards: concentration falls 5-10 fold over 5-10 cm from the tip (low end)")
LUMBAR_TO_CISTERNAL_RATIO_MORPHINE = S(7.0, "clinical-facts: lumbar:cisternal 7:1 with the tip at L2")
REFERENCE_WEIGHT_KG = U(70.0, "the reference adult used to normalise doses")


# ---- per-drug pharmacokinetics and potency -------------------------------------------------------

OPIOID = "opioid"
GABA_B = "gaba_b"  # baclofen
ALPHA2 = "alpha2"  # clonidine
LOCAL_ANAESTHETIC = "local_anaesthetic"  # bupivacaine
N_TYPE_BLOCKER = "n_type_blocker"  # ziconotide

CLASSES = (OPIOID, GABA_B, ALPHA2, LOCAL_ANAESTHETIC, N_TYPE_BLOCKER)


@dataclass(frozen=True)
class DrugPK:
    """Pharmacokinetic and potency parameters of one intrathecal drug.

    ``csf_half_life_h`` is the terminal half-life of the spinal-fluid concentration after an
    intrathecal bolus in the reference patient: the drug's permeation rate out of the spinal fluid
    is solved so that the model reproduces it exactly (see :func:`itdd.patient.pk.permeation_rate`).
    """

    name: str
    drug_class: str
    csf_half_life_h: Sourced
    spinal_ke0_half_life_h: Sourced  # spinal fluid at the tip -> spinal-cord effect site
    brain_ke0_half_life_h: Sourced  # intracranial spinal fluid -> brainstem effect site
    plasma_volume_l_per_kg: Sourced
    plasma_clearance_ml_per_min_per_kg: Sourced
    plasma_ke0_half_life_h: Sourced  # plasma -> systemic (brain) effect site
    tissue_absorption_half_life_h: Sourced  # subcutaneous / epidural depot -> plasma
    # Analgesic potency at the spinal cord, in intrathecal morphine mg/day per mg/day at steady
    # state (for baclofen: antispastic potency in baclofen units, i.e. 1).
    it_potency: Sourced
    # Systemic potency, in intravenous morphine mg per mg (brain receptors via plasma or CSF).
    sys_potency: Sourced
    # Intrathecal dose (mg/day, steady state) whose rostral spread alone gives a supraspinal drive
    # of 1 (half-maximal respiratory depression in a naive patient).  Opioids other than morphine
    # derive theirs from morphine through ``sys_potency``; None means "derive".
    supraspinal_ref_it_mg_per_day: Sourced | None
    # Intravenous dose (mg/day, steady state) giving a supraspinal drive of 1 through plasma.
    supraspinal_ref_iv_mg_per_day: Sourced
    oral_mme_factor: Sourced | None  # mg of oral morphine per mg of this drug taken orally
    validity: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The share of ``it_potency``'s analgesic drive the drug actually gives in the patient model
    # (1: all of it).  ``it_potency`` also converts doses (trial doses, concentrations, switches:
    # care/plan.py, care/clinician/drug_change.py), so a drug whose analgesia was calibrated to
    # trials apart from those conversions (ziconotide) scales its drive here.
    analgesic_scale: Sourced = field(default_factory=lambda: S(1.0, "the full drive of it_potency"))


_BERNARDS_LIPO = "lipophilic opioids are cleared from CSF fast (Bernards; Ummenhofer 2000, pigs)"

DRUGS: dict[str, DrugPK] = {
    "morphine": DrugPK(
        name="morphine",
        drug_class=OPIOID,
        csf_half_life_h=S(94.0 / 60.0, "clinical-facts: CSF elimination half-life 94 min after an IT bolus"),
        spinal_ke0_half_life_h=U(
            4.0, "chosen so a 0.25-0.5 mg bolus relieves pain for about 12 h (Nordberg 1984, dose-related ~12 h)"
        ),
        brain_ke0_half_life_h=U(
            3.5, "with rostral CSF transit puts peak respiratory depression ~5-6 h after a bolus (Sultan 2011 review)"
        ),
        plasma_volume_l_per_kg=S2(3.47, "Vss 243 L in 70 kg (IV morphine PK, elderly, TCRM 2022)"),
        plasma_clearance_ml_per_min_per_kg=S2(25.0, "CL 1748 mL/min in 70 kg (same study)"),
        plasma_ke0_half_life_h=S2(2.8, "slow blood-brain equilibration of morphine (ke0 t1/2 1.6-4.4 h, Dahan/Lotsch)"),
        tissue_absorption_half_life_h=U(0.35, "subcutaneous/epidural morphine peaks in plasma within 12-20 min"),
        it_potency=S(1.0, "reference drug"),
        sys_potency=S(1.0, "reference drug"),
        supraspinal_ref_it_mg_per_day=U(
            4.0, "calibrated: a 2.5 mg bolus can cause apnoea (Jacobson 1988), 0.3 mg does not, in the naive"
        ),
        supraspinal_ref_iv_mg_per_day=U(200.0, "naive half-maximal respiratory depression near 80 ng/mL (Dahan order)"),
        oral_mme_factor=S(1.0, "CDC 2016 MME conversion"),
        validity="adults; IT 0.05-3 mg boluses and 0.1-25 mg/day infusions; tip lumbar to mid-thoracic; hours-years",
        notes=("Nordberg 1984 measured a terminal CSF half-life of 175-196 min: the upper end of the range.",),
    ),
    "hydromorphone": DrugPK(
        name="hydromorphone",
        drug_class=OPIOID,
        csf_half_life_h=U(1.2, "intermediate lipophilicity between morphine and fentanyl (Bernards)"),
        spinal_ke0_half_life_h=U(2.0, "faster onset and shorter bolus effect than morphine"),
        brain_ke0_half_life_h=U(1.0, "assumption"),
        plasma_volume_l_per_kg=S2(4.0, "hydromorphone Vd about 4 L/kg (label tables)"),
        plasma_clearance_ml_per_min_per_kg=S2(22.0, "hydromorphone CL ~1.5 L/min; t1/2 2-3 h"),
        plasma_ke0_half_life_h=U(0.75, "assumption: faster blood-brain equilibration than morphine"),
        tissue_absorption_half_life_h=U(0.3, "assumption"),
        it_potency=S2(5.0, "PACC conversion IT morphine:hydromorphone about 5:1"),
        sys_potency=S2(5.0, "IV equianalgesic 10 mg morphine = 1.5-2 mg hydromorphone"),
        supraspinal_ref_it_mg_per_day=None,
        supraspinal_ref_iv_mg_per_day=U(40.0, "morphine's 200 mg/day divided by the systemic potency 5"),
        oral_mme_factor=S(4.0, "CDC 2016 MME conversion"),
        validity="adults; IT 0.02-10 mg/day; labelled assumptions for CSF kinetics",
    ),
    "fentanyl": DrugPK(
        name="fentanyl",
        drug_class=OPIOID,
        csf_half_life_h=U(0.33, _BERNARDS_LIPO + "; value assumed"),
        spinal_ke0_half_life_h=U(0.15, "fast onset, short effect after a bolus (assumption)"),
        brain_ke0_half_life_h=U(0.1, "assumption"),
        plasma_volume_l_per_kg=S2(4.0, "fentanyl Vss about 4 L/kg"),
        plasma_clearance_ml_per_min_per_kg=S2(13.0, "fentanyl CL about 13 mL/min/kg"),
        plasma_ke0_half_life_h=S2(0.08, "fentanyl ke0 t1/2 about 5 min (Scott and Stanski)"),
        tissue_absorption_half_life_h=U(0.25, "assumption"),
        it_potency=U(10.0, "PACC starting doses: fentanyl 25-75 mcg/day vs morphine 0.1-0.5 mg/day"),
        sys_potency=S2(100.0, "IV equianalgesic fentanyl:morphine about 100:1"),
        supraspinal_ref_it_mg_per_day=None,
        supraspinal_ref_iv_mg_per_day=U(2.0, "morphine's 200 mg/day divided by the systemic potency 100"),
        oral_mme_factor=None,
        validity="adults; IT 10-1000 mcg/day; CSF kinetics assumed",
    ),
    "sufentanil": DrugPK(
        name="sufentanil",
        drug_class=OPIOID,
        csf_half_life_h=U(0.25, _BERNARDS_LIPO + "; value assumed"),
        spinal_ke0_half_life_h=U(0.15, "assumption"),
        brain_ke0_half_life_h=U(0.12, "assumption"),
        plasma_volume_l_per_kg=S2(2.5, "sufentanil Vss 1.7-3 L/kg"),
        plasma_clearance_ml_per_min_per_kg=S2(12.0, "sufentanil CL about 12 mL/min/kg"),
        plasma_ke0_half_life_h=S2(0.1, "sufentanil ke0 t1/2 about 6 min (Scott 1991)"),
        tissue_absorption_half_life_h=U(0.25, "assumption"),
        it_potency=U(40.0, "PACC starting doses: sufentanil 10-20 mcg/day vs morphine 0.1-0.5 mg/day"),
        sys_potency=S2(1000.0, "IV equianalgesic sufentanil:morphine about 1000:1"),
        supraspinal_ref_it_mg_per_day=None,
        supraspinal_ref_iv_mg_per_day=U(0.2, "morphine's 200 mg/day divided by the systemic potency 1000"),
        oral_mme_factor=None,
        validity="adults; IT 2-500 mcg/day; CSF kinetics assumed",
    ),
    "bupivacaine": DrugPK(
        name="bupivacaine",
        drug_class=LOCAL_ANAESTHETIC,
        csf_half_life_h=U(0.8, "assumption: moderately lipophilic"),
        spinal_ke0_half_life_h=U(0.15, "spinal block develops within 10-20 min"),
        brain_ke0_half_life_h=U(0.5, "assumption"),
        plasma_volume_l_per_kg=S2(1.05, "bupivacaine Vd 73 L (label)"),
        plasma_clearance_ml_per_min_per_kg=S2(6.7, "bupivacaine CL 0.47 L/min (label)"),
        plasma_ke0_half_life_h=U(0.2, "assumption"),
        tissue_absorption_half_life_h=U(0.6, "assumption"),
        it_potency=U(0.2, "adjuvant: 10 mg/day adds about as much relief as 2 mg/day IT morphine"),
        sys_potency=U(0.0, "no opioid action"),
        supraspinal_ref_it_mg_per_day=U(40.0, "high spinal spread: hypotension and sedation well above 15-20 mg/day"),
        supraspinal_ref_iv_mg_per_day=U(1500.0, "systemic toxicity only far above IT doses"),
        oral_mme_factor=None,
        validity="adults; IT 1-30 mg/day as an adjuvant; sympathetic block (hypotension) only",
    ),
    "clonidine": DrugPK(
        name="clonidine",
        drug_class=ALPHA2,
        csf_half_life_h=S2(1.1, "Glynn 1992: CSF elimination half-life 66 min after epidural clonidine"),
        spinal_ke0_half_life_h=U(0.4, "assumption"),
        brain_ke0_half_life_h=U(0.6, "assumption"),
        plasma_volume_l_per_kg=S2(2.1, "clonidine Vd about 2 L/kg"),
        plasma_clearance_ml_per_min_per_kg=S2(3.0, "clonidine t1/2 about 8-12 h"),
        plasma_ke0_half_life_h=U(0.5, "assumption"),
        tissue_absorption_half_life_h=U(0.7, "assumption"),
        it_potency=U(3.0, "adjuvant: 0.3 mg/day adds about as much relief as 1 mg/day IT morphine"),
        sys_potency=U(0.0, "no opioid action"),
        supraspinal_ref_it_mg_per_day=U(1.0, "sedation becomes marked near the 0.6-1 mg/day maximum"),
        supraspinal_ref_iv_mg_per_day=U(0.6, "oral/IV antihypertensive doses 0.2-0.6 mg/day sedate"),
        oral_mme_factor=None,
        validity="adults; IT 0.02-0.6 mg/day (PACC max 600 mcg/day)",
    ),
    "ziconotide": DrugPK(
        name="ziconotide",
        drug_class=N_TYPE_BLOCKER,
        csf_half_life_h=S(4.6, "Prialt label: CSF t1/2 4.6 +/- 0.9 h, CL 0.38 mL/min"),
        spinal_ke0_half_life_h=U(6.0, "slow onset; benefit seen over days of titration (label)"),
        brain_ke0_half_life_h=U(3.0, "assumption"),
        plasma_volume_l_per_kg=S(0.435, "Prialt label: Vd 30,460 mL"),
        plasma_clearance_ml_per_min_per_kg=S(3.86, "Prialt label: plasma CL 270 mL/min"),
        plasma_ke0_half_life_h=U(0.5, "assumption"),
        tissue_absorption_half_life_h=U(0.6, "assumption"),
        it_potency=U(200.0, "5 mcg/day about as much relief as 1 mg/day IT morphine in responders"),
        sys_potency=U(0.0, "no opioid action"),
        supraspinal_ref_it_mg_per_day=U(0.04, "confusion and dizziness frequent near the 19.2 mcg/day maximum"),
        supraspinal_ref_iv_mg_per_day=U(100.0, "negligible systemic effect at IT doses"),
        oral_mme_factor=None,
        validity="adults; IT 0.5-19.2 mcg/day (label); no tolerance, no withdrawal (label)",
        analgesic_scale=S2(
            0.084,
            "calibrated to Rauck 2006 (JPSM 31:393, 220 patients): at its mean dose 6.96 mcg/day after 3 weeks of "
            "slow titration ziconotide improved pain 14.7% vs 7.2% on placebo; the model population's mean drug "
            "relief at 6.96 mcg/day is that 7.5-point difference with 0.084 x 200 = 16.8 mg IT morphine-eq per mg "
            "(docs/care.md 'Ziconotide: calibrated to its trials'; tests/patient/test_ziconotide_calibration.py)",
        ),
    ),
    "baclofen": DrugPK(
        name="baclofen",
        drug_class=GABA_B,
        csf_half_life_h=S(1.5, "CSF t1/2 0.9-5 h after IT bolus (Eur J Clin Pharmacol, 4 patients); Kroin 1.5 h"),
        spinal_ke0_half_life_h=U(1.5, "Heetla 2016 delayed-effect model: peak effect about 4 h after a bolus"),
        brain_ke0_half_life_h=U(1.0, "assumption"),
        plasma_volume_l_per_kg=S2(1.16, "oral baclofen Vss/F 1.16 L/kg (He 2014)"),
        plasma_clearance_ml_per_min_per_kg=S2(4.55, "oral baclofen CL/F 0.273 L/h/kg (He 2014)"),
        plasma_ke0_half_life_h=U(1.2, "assumption"),
        tissue_absorption_half_life_h=U(0.5, "assumption"),
        it_potency=S(1.0, "own units: antispastic drive in IT baclofen mg/day"),
        sys_potency=U(0.0, "no opioid action"),
        supraspinal_ref_it_mg_per_day=U(1.5, "overdose with drowsiness and hypoventilation above ~1.5 mg/day"),
        supraspinal_ref_iv_mg_per_day=U(80.0, "oral baclofen 60-80 mg/day sedates"),
        oral_mme_factor=None,
        validity="adults and adolescents with spasticity; IT 0.05-1.5 mg/day; screening boluses 50-100 mcg",
    ),
}


def drug_pk(name: str) -> DrugPK:
    from ..errors import InputError

    if name not in DRUGS:
        raise InputError("drug", f"no patient model for '{name}' (known: {', '.join(sorted(DRUGS))})")
    return DRUGS[name]


# ---- oral opioids (morphine milligram equivalents) -----------------------------------------------

ORAL_MORPHINE_BIOAVAILABILITY = S2(
    1.0 / 3.0, "oral morphine bioavailability 20-40%; oral:IV 3:1 (so 300 MME = 1 mg IT)"
)
ORAL_ABSORPTION_HALF_LIFE_H = U(0.5, "immediate/modified-release mix: plasma peak about 1 h after a dose")
ORAL_TO_IT_MORPHINE = S(300.0, "oral:IT morphine 300:1 (Krames); wide variation 10:1-125:1 (clinical-facts)")
IV_TO_IT_MORPHINE = S(100.0, "10 mg IV = 1 mg epidural = 0.1 mg IT (clinical-facts)")


# ---- pharmacodynamics ----------------------------------------------------------------------------

HILL_ANALGESIA = U(2.0, "assumption: steep enough to plateau (Palmer 1999) yet graded over titration")
HILL_RESPIRATORY = U(2.5, "assumption: RR falls slowly then steeply towards apnoea")
SEDATION_HALF_DRIVE = U(0.8, "sedation precedes respiratory depression (ASA neuraxial opioid guideline)")
PRURITUS_PER_DRIVE = U(12.0, "linear: pruritus proportional to dose (Palmer 1999); ~4/10 after 0.5 mg naive")
NAUSEA_HALF_DRIVE = U(0.05, "nausea saturates at low doses (Palmer 1999: no dose relation 0.025-0.5 mg)")

SUPRASPINAL_TOLERANCE_GAIN = U(
    2.5,
    "tolerance to respiratory depression and sedation is incomplete: it caps the chronic drive near 0.4"
    " (RR ~10% low) yet a 20 mg IT bolus still depresses breathing in a tolerant patient (case report)",
)
NUISANCE_TOLERANCE_GAIN = U(10.0, "tolerance to pruritus and nausea is near-complete within weeks")
SUPRASPINAL_TOLERANCE_TAU_D = U(10.0, "tolerance to nausea/pruritus/respiratory depression over days-weeks")

ORAL_CROSS_TOLERANCE = U(
    0.3, "incomplete cross-tolerance: IT opioids still work in patients tolerant to oral opioids (ITDD rationale)"
)
SPINAL_TOLERANCE_TAU_D = U(365.0, "analgesic tolerance builds over months to years (Roberts 2001 dose rise)")
SPINAL_TOLERANCE_MAX = U(12.0, "calibrated: titrated dose 9.9 -> 15.2 mg/day from 6 to 36 months (Roberts 2001)")
SPINAL_TOLERANCE_HALF = U(5.0, "calibrated with SPINAL_TOLERANCE_MAX")

DEPENDENCE_TAU_D = U(2.0, "opioid withdrawal: onset within a day, peak 1-3 days, resolves in 7-10 days")
WITHDRAWAL_GAIN = U(2.0, "score per log-unit of adaptation above the current drive")
WITHDRAWAL_FLOOR = U(0.05, "drive (naive units) below which adaptation is not felt")
WITHDRAWAL_THRESHOLD = U(1.5, "a single trial bolus leaves no felt withdrawal")
WITHDRAWAL_SPINAL_WEIGHT = U(0.05, "spinal opioid exposure adds to dependence (per IT morphine mg/day)")
WITHDRAWAL_SYSTEMIC_WEIGHT = U(
    2.0, "systemic opioid exposure: stopping 100 mg/day oral morphine gives moderate withdrawal"
)

BACLOFEN_DEPENDENCE_TAU_D = U(1.5, "baclofen withdrawal within 24-48 h of interruption (Coffey 2002)")
BACLOFEN_WITHDRAWAL_GAIN = U(2.5, "assumption")
BACLOFEN_WITHDRAWAL_FLOOR = U(0.03, "IT baclofen mg/day")
BACLOFEN_WITHDRAWAL_THRESHOLD = U(0.5, "assumption")
BACLOFEN_TOLERANCE_MAX = U(1.5, "IT baclofen doses rise over the first 1-2 years then plateau")
BACLOFEN_TOLERANCE_HALF = U(3.0, "assumption")

CLONIDINE_DEPENDENCE_TAU_D = U(1.0, "rebound hypertension 18-36 h after abrupt clonidine stop")
CLONIDINE_WITHDRAWAL_GAIN = U(2.0, "assumption")
CLONIDINE_WITHDRAWAL_FLOOR = U(0.05, "IT clonidine mg/day")
CLONIDINE_WITHDRAWAL_THRESHOLD = U(0.5, "assumption")
CLONIDINE_HYPOTENSION_MG_PER_DAY = U(0.3, "IT clonidine 0.3 mg/day: half-maximal fall in blood pressure (sympathetic)")


def _threshold(t: Threshold) -> Sourced:
    """A cut-off from drugs/thresholds.yaml (itdd.thresholds) as a sourced parameter."""
    return Sourced(t.value, t.source, "U" if t.confidence == "assumption" else t.confidence)


RESP_DEPRESSION_RR_PER_MIN = _threshold(thresholds().resp_rate_alert_per_min)
RESP_DEPRESSION_SPO2_PCT = _threshold(thresholds().spo2_alert_pct)


def sourced_rows() -> list[tuple[str, str, float, str, str]]:
    """Every sourced number: (group, name, value, confidence, source), for docs and reports."""
    rows: list[tuple[str, str, float, str, str]] = []
    for name, value in globals().items():
        if isinstance(value, Sourced):
            rows.append(("model", name.lower(), value.value, value.confidence, value.source))
    for drug in DRUGS.values():
        for f in drug.__dataclass_fields__:
            v = getattr(drug, f)
            if isinstance(v, Sourced):
                rows.append((drug.name, f, v.value, v.confidence, v.source))
    return rows
