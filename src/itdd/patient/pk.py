"""Intrathecal pharmacokinetics: one linear compartment model per drug and patient.

Compartments of an intrathecal chain (amounts in mg unless noted)::

    input (csf_mg) ─► T  near-tip spinal fluid, V_T = lumbosacral CSF x 5 cm / 25 cm
                      │ ▲  mixing Q_TS (mL/h, both ways)
                      ▼ │
                      S  the wider spinal fluid, V_S = lumbosacral + 30 mL - V_T
                      │ ▲  mixing Q_SR (mL/h, both ways)
                      ▼ │
                      R  intracranial (cisternal) spinal fluid, V_R = 50 mL
    T, S, R ── permeation k (1/h, drug-specific: into cord, epidural fat, blood) ──► P
    R ── bulk absorption of spinal fluid (20 mL/h, every drug alike) ─────────────► P
    input (tissue_mg) ─► D  subcutaneous / epidural depot ── ka ──► P  plasma ── k10 ──► eliminated
    E  spinal-cord effect site (mg/mL):  E' = ke_sp (T/V_T - E)       (analgesia, spasticity)
    B  brainstem effect site (mg/mL):    B' = ke_br (R/V_R - B)       (late respiratory depression)
    Y  systemic effect site (mg/mL):     Y' = ke_pl (P/V_P - Y)       (oral/leaked drug, early effects)
    A  dependence (adaptation) state, L1 spinal tolerance, L2 supraspinal tolerance:
       first-order filters X' = (drive - X)/tau of linear drives read from E, B and Y.

The exchange block T-S-R is symmetrisable, the rest a cascade, so the model is linear with real,
distinct, negative eigenvalues: it is solved exactly by :mod:`itdd.patient.linear`.

The two mixing flows are physical (the same for every drug): they are solved in closed form for
morphine in the reference patient so that at steady state the tip concentration is 5x the wider
spinal fluid (Bernards) and the lumbar:cisternal ratio is 7:1.  Each drug's permeation rate is
then solved (one-dimensional root) so that the terminal half-life of the spinal-fluid concentration
after a bolus in the reference patient equals the drug's cited half-life (94 min for morphine).

Drives are normalised so that pharmacodynamics is written in clinical units:

* ``u_sp``  spinal analgesic drive, in *intrathecal morphine mg/day at steady state* in the
  reference patient (for baclofen: intrathecal baclofen mg/day, antispastic);
* ``u_sys`` systemic opioid drive in the same unit (1 = 300 mg/day oral morphine, Krames 300:1);
* ``s``     supraspinal drive in naive half-effect units (1 = half-maximal respiratory depression
  in an opioid-naive patient), from the brainstem (rostral spread) and plasma.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
from scipy.optimize import brentq

from . import parameters as P
from .linear import ModalModel, ModesTooClose

LN2 = math.log(2.0)
H_PER_DAY = 24.0

ORAL_STATES = ("G", "P", "Y", "A", "L1", "L2")


# ---- anatomy -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsfVolumes:
    tip_ml: float
    spinal_ml: float  # the wider spinal fluid (S)
    cisternal_ml: float

    @classmethod
    def for_lumbosacral(cls, lumbosacral_ml: float) -> CsfVolumes:
        tip = lumbosacral_ml * P.TIP_SEGMENT_CM.value / P.LUMBOSACRAL_LENGTH_CM.value
        spinal = lumbosacral_ml + P.THORACOCERVICAL_CSF_ML.value - tip
        return cls(tip, spinal, P.INTRACRANIAL_MIXING_ML.value)


REFERENCE_VOLUMES = CsfVolumes.for_lumbosacral(P.CSF_LUMBOSACRAL_MEAN_ML.value)


def csf_block(k_perm: float, vol: CsfVolumes, q_ts: float, q_sr: float) -> np.ndarray:
    """The 3x3 spinal-fluid matrix (per hour) on amounts (T, S, R)."""
    vt, vs, vr = vol.tip_ml, vol.spinal_ml, vol.cisternal_ml
    bulk = P.CSF_BULK_ABSORPTION_ML_PER_H.value / vr
    return np.array(
        [
            [-(q_ts / vt + k_perm), q_ts / vs, 0.0],
            [q_ts / vt, -(q_ts / vs + q_sr / vs + k_perm), q_sr / vr],
            [0.0, q_sr / vs, -(q_sr / vr + k_perm + bulk)],
        ]
    )


def slowest_csf_rate(k_perm: float, vol: CsfVolumes, q_ts: float, q_sr: float) -> float:
    """The terminal (slowest) decay rate of spinal-fluid concentrations, per hour."""
    lam = np.linalg.eigvals(csf_block(k_perm, vol, q_ts, q_sr)).real
    return float(-np.max(lam))


def mixing_flows_for(k_perm: float, vol: CsfVolumes = REFERENCE_VOLUMES) -> tuple[float, float]:
    """(Q_TS, Q_SR) in mL/h giving the morphine steady-state ratios for permeation ``k_perm``.

    Cisternal balance: Q_SR (C_S - C_R) = (bulk + k V_R) C_R, with C_S = 7 C_R.
    Wider-spine balance: Q_TS (C_T - C_S) = k V_S C_S + Q_SR (C_S - C_R), with C_T = 5 C_S.
    """
    cist = P.LUMBAR_TO_CISTERNAL_RATIO_MORPHINE.value
    tip = P.TIP_TO_WIDE_RATIO_MORPHINE.value
    q_sr = (P.CSF_BULK_ABSORPTION_ML_PER_H.value + k_perm * vol.cisternal_ml) / (cist - 1.0)
    q_ts = (k_perm * vol.spinal_ml + q_sr * (1.0 - 1.0 / cist)) / (tip - 1.0)
    return q_ts, q_sr


@cache
def mixing_flows() -> tuple[float, float]:
    """The physical mixing flows (Q_TS, Q_SR), solved once from the morphine targets."""
    target = LN2 / P.DRUGS["morphine"].csf_half_life_h.value

    def f(k: float) -> float:
        q_ts, q_sr = mixing_flows_for(k)
        return slowest_csf_rate(k, REFERENCE_VOLUMES, q_ts, q_sr) - target

    k = brentq(f, 1e-6, 50.0, xtol=1e-14, rtol=1e-13)
    return mixing_flows_for(k)


@cache
def permeation_rate(drug: str) -> float:
    """Permeation rate out of the spinal fluid (1/h) reproducing the drug's terminal CSF half-life."""
    pk = P.DRUGS[drug]
    q_ts, q_sr = mixing_flows()
    target = LN2 / pk.csf_half_life_h.value
    lo = slowest_csf_rate(0.0, REFERENCE_VOLUMES, q_ts, q_sr)
    if target <= lo:  # slower than bulk flow alone allows: no permeation at all
        return 0.0
    return float(
        brentq(
            lambda k: slowest_csf_rate(k, REFERENCE_VOLUMES, q_ts, q_sr) - target,
            0.0,
            100.0,
            xtol=1e-14,
            rtol=1e-13,
        )
    )


def plasma_volume_ml(drug: str, weight_kg: float) -> float:
    return P.DRUGS[drug].plasma_volume_l_per_kg.value * weight_kg * 1000.0


def plasma_clearance_ml_per_h(drug: str, weight_kg: float) -> float:
    return P.DRUGS[drug].plasma_clearance_ml_per_min_per_kg.value * weight_kg * 60.0


# ---- reference normalisation (reference patient, computed once per drug) -------------------------


@dataclass(frozen=True, slots=True)
class Normalisation:
    """Concentrations that define one unit of each drive for one drug."""

    e_ref: float  # spinal effect site (mg/mL) = 1 IT-morphine-mg/day (or 1 baclofen mg/day)
    y_ref: float  # systemic effect site (mg/mL) = 1 IT-morphine-mg/day; inf when no opioid action
    b50: float  # brainstem effect site (mg/mL) giving supraspinal drive 1
    y50: float  # systemic effect site (mg/mL) giving supraspinal drive 1


def _steady_csf(drug: str, mg_per_day: float, vol: CsfVolumes = REFERENCE_VOLUMES) -> np.ndarray:
    """Steady-state amounts (T, S, R) for a constant intrathecal infusion."""
    q_ts, q_sr = mixing_flows()
    m = csf_block(permeation_rate(drug), vol, q_ts, q_sr)
    b = np.array([mg_per_day / H_PER_DAY, 0.0, 0.0])
    return np.asarray(np.linalg.solve(m, -b))


def steady_tip_concentration(drug: str, mg_per_day: float, vol: CsfVolumes = REFERENCE_VOLUMES) -> float:
    return float(_steady_csf(drug, mg_per_day, vol)[0] / vol.tip_ml)


def steady_cisternal_concentration(drug: str, mg_per_day: float, vol: CsfVolumes = REFERENCE_VOLUMES) -> float:
    return float(_steady_csf(drug, mg_per_day, vol)[2] / vol.cisternal_ml)


@cache
def normalisation(drug: str) -> Normalisation:
    pk = P.DRUGS[drug]
    w = P.REFERENCE_WEIGHT_KG.value
    e_ref = steady_tip_concentration(drug, 1.0 / pk.it_potency.value)
    cl = plasma_clearance_ml_per_h(drug, w)
    y50 = pk.supraspinal_ref_iv_mg_per_day.value / H_PER_DAY / cl
    if pk.sys_potency.value > 0.0:
        # 1 unit = the IV dose equianalgesic to 1 mg/day IT morphine (100 mg/day IV morphine).
        y_ref = P.IV_TO_IT_MORPHINE.value / pk.sys_potency.value / H_PER_DAY / cl
    else:
        y_ref = math.inf
    if pk.supraspinal_ref_it_mg_per_day is not None:
        b50 = steady_cisternal_concentration(drug, pk.supraspinal_ref_it_mg_per_day.value)
    else:  # another opioid: same receptor potency ratio as in plasma
        ref = normalisation("morphine")
        b50 = ref.b50 * (y_ref / ref.y_ref)
    return Normalisation(e_ref, y_ref, b50, y50)


# ---- chains --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatientPK:
    """The patient quantities the PK models need."""

    weight_kg: float
    csf_lumbosacral_ml: float
    ed50_mg_per_day: float  # opioid/analgesic half-effect drive (tolerance is normalised by it)
    ed50_baclofen_mg_per_day: float
    ziconotide_sensitivity: float = 1.0  # multiplies ziconotide's analgesic drive (patient/ziconotide.py)


@dataclass(frozen=True, slots=True)
class ChainModel:
    """A decomposed model plus the rows and vectors a simulation needs."""

    drug: str  # drug name, or "oral" for the oral-opioid chain
    drug_class: str
    model: ModalModel
    q_in: list[float]  # forcing of input 1 (csf_mg or oral MME), per mg/h
    q_tissue: list[float]  # forcing of input 2 (tissue_mg), per mg/h (empty for oral)
    jumps: dict[str, list[float]]  # route -> modal image of 1 mg
    rows: dict[str, list[float]]  # output name -> modal row
    volumes: CsfVolumes | None
    nudged: tuple[str, ...]  # rates nudged to keep modes distinct (normally empty)
    # (pool key, row) pairs this chain adds to the patient's pharmacological pools
    pool_rows: tuple[tuple[str, list[float]], ...] = ()
    pain_rows: tuple[tuple[str, list[float]], ...] = ()  # the subset pain needs
    q_oral: list[float] | None = None  # forcing of oral MME (mg/h) when this chain hosts oral morphine


# Which pool each output of a chain feeds, per pharmacological class (see PatientSim._pool).
_POOLS: dict[str, tuple[tuple[str, str], ...]] = {
    P.OPIOID: (("u_an", "u_op"), ("A", "a_op"), ("dep_drive", "d_op"), ("L1", "l1_op"), ("s", "s_op"), ("L2", "l2_op")),
    P.GABA_B: (
        ("u_sp", "u_bac"),
        ("A", "a_bac"),
        ("dep_drive", "d_bac"),
        ("L1", "l1_bac"),
        ("s", "s_bac"),
        ("L2", "l2_bac"),
    ),
    P.ALPHA2: (("u_sp", "u_na"), ("u_own", "u_clon"), ("A", "a_clon"), ("dep_drive", "d_clon"), ("s", "s_clon")),
    P.LOCAL_ANAESTHETIC: (("u_sp", "u_na"), ("s", "s_bupi")),
    P.N_TYPE_BLOCKER: (("u_sp", "u_na"), ("s", "s_zic")),
}
PAIN_POOLS = ("u_op", "a_op", "d_op", "l1_op", "u_na")


def _with_pools(cm: ChainModel) -> ChainModel:
    pools = tuple((key, cm.rows[out]) for out, key in _POOLS[cm.drug_class] if out in cm.rows)
    pain = tuple((key, row) for key, row in pools if key in PAIN_POOLS)
    return ChainModel(
        cm.drug,
        cm.drug_class,
        cm.model,
        cm.q_in,
        cm.q_tissue,
        cm.jumps,
        cm.rows,
        cm.volumes,
        cm.nudged,
        pools,
        pain,
        cm.q_oral,
    )


def _dependence_weights(drug_class: str, norm: Normalisation, it_potency: float) -> dict[str, float]:
    """The linear drive of the dependence state A, as weights on E, B and Y."""
    supraspinal = {"B": 1.0 / norm.b50, "Y": 1.0 / norm.y50}
    if drug_class == P.OPIOID:
        return {
            "B": 1.0 / norm.b50,
            "Y": 1.0 / norm.y50 + P.WITHDRAWAL_SYSTEMIC_WEIGHT.value / norm.y_ref,
            "E": P.WITHDRAWAL_SPINAL_WEIGHT.value / norm.e_ref,
        }
    if drug_class in (P.GABA_B, P.ALPHA2):
        # in the drug's own intrathecal mg/day (u_sp is in morphine equivalents for clonidine)
        return {**supraspinal, "E": 1.0 / (norm.e_ref * it_potency)}
    return {}


# Chains shared while one patient is followed in several arms (the trial runner: a paired trial).
# A ChainModel is never changed after it is built (a simulation copies only its state vector), so
# the same (drug, patient) answer is the same model; outside :func:`shared_chains` nothing is kept.
# Per thread: a Dask worker may run chunks in threads of one process (processes=False), and a
# module-wide memo would then be entered and left by interleaved blocks and outlive them.
_local = threading.local()


@contextmanager
def shared_chains() -> Iterator[None]:
    """Within the block (in this thread), :func:`build_it_chain` and :func:`build_oral_chain`
    build each (drug, patient) once and answer repeats with the same model (emptied when the
    block ends)."""
    outer: dict[tuple[str, PatientPK], ChainModel] | None = getattr(_local, "memo", None)
    _local.memo = {} if outer is None else outer
    try:
        yield
    finally:
        _local.memo = outer


def _memo() -> dict[tuple[str, PatientPK], ChainModel] | None:
    memo: dict[tuple[str, PatientPK], ChainModel] | None = getattr(_local, "memo", None)
    return memo


def build_it_chain(drug: str, pt: PatientPK) -> ChainModel:
    """The exact linear model of one intrathecal drug in one patient."""
    memo = _memo()
    if memo is None:
        return _build_it_chain(drug, pt)
    cm = memo.get((drug, pt))
    if cm is None:
        cm = memo[(drug, pt)] = _build_it_chain(drug, pt)
    return cm


def _build_it_chain(drug: str, pt: PatientPK) -> ChainModel:
    pk = P.DRUGS[drug]
    cls = pk.drug_class
    norm = normalisation(drug)
    vol = CsfVolumes.for_lumbosacral(pt.csf_lumbosacral_ml)
    q_ts, q_sr = mixing_flows()
    k = permeation_rate(drug)
    vp = plasma_volume_ml(drug, pt.weight_kg)
    k10 = plasma_clearance_ml_per_h(drug, pt.weight_kg) / vp
    bulk = P.CSF_BULK_ABSORPTION_ML_PER_H.value / vol.cisternal_ml
    rates = {
        "E": LN2 / pk.spinal_ke0_half_life_h.value,
        "B": LN2 / pk.brain_ke0_half_life_h.value,
        "Y": LN2 / pk.plasma_ke0_half_life_h.value,
        "D": LN2 / pk.tissue_absorption_half_life_h.value,
        "A": 1.0 / (_dependence_tau_d(cls) * H_PER_DAY),
        "L1": 1.0 / (_tolerance_tau_d(cls) * H_PER_DAY),
        "L2": 1.0 / (P.SUPRASPINAL_TOLERANCE_TAU_D.value * H_PER_DAY),
        "P": k10,
        "G": LN2 / P.ORAL_ABSORPTION_HALF_LIFE_H.value,
    }
    # Oral morphine (MME) shares the plasma, effect and adaptation states of intrathecal morphine,
    # so the morphine chain also hosts the gut: one model instead of two (faster, same result).
    hosts_oral = drug == "morphine"
    has_dep = cls in (P.OPIOID, P.GABA_B, P.ALPHA2)
    has_tol = cls in (P.OPIOID, P.GABA_B)
    names = ["T", "S", "R", "E", "B", "P", "Y", "D"]
    if hosts_oral:
        names.append("G")
    if has_dep:
        names.append("A")
    if has_tol:
        names += ["L1", "L2"]
    dep_w = _dependence_weights(cls, norm, pk.it_potency.value)
    u_sp = {"E": pk.analgesic_scale.value / norm.e_ref}  # 1.0 but for a drug calibrated apart (parameters.py)
    if cls == P.N_TYPE_BLOCKER:  # each patient's ziconotide sensitivity (patient/ziconotide.py)
        u_sp["E"] *= pt.ziconotide_sensitivity
    u_sys = {"Y": 1.0 / norm.y_ref} if math.isfinite(norm.y_ref) else {}
    s = {"B": 1.0 / norm.b50, "Y": 1.0 / norm.y50}
    ed50 = pt.ed50_mg_per_day if cls == P.OPIOID else pt.ed50_baclofen_mg_per_day
    # Spinal tolerance filters the analgesic (or antispastic) drive in units of the patient's ED50;
    # systemic opioid counts with the (incomplete) cross-tolerance weight.
    tol_w = {"E": u_sp["E"] / ed50}
    if u_sys:
        tol_w["Y"] = P.ORAL_CROSS_TOLERANCE.value * u_sys["Y"] / ed50

    nudged: list[str] = []
    for _attempt in range(40):
        idx = {n: i for i, n in enumerate(names)}
        m = np.zeros((len(names), len(names)))
        m[np.ix_([0, 1, 2], [0, 1, 2])] = csf_block(k, vol, q_ts, q_sr)
        m[idx["E"], idx["T"]] = rates["E"] / vol.tip_ml
        m[idx["E"], idx["E"]] = -rates["E"]
        m[idx["B"], idx["R"]] = rates["B"] / vol.cisternal_ml
        m[idx["B"], idx["B"]] = -rates["B"]
        m[idx["P"], idx["T"]] = k
        m[idx["P"], idx["S"]] = k
        m[idx["P"], idx["R"]] = k + bulk
        m[idx["P"], idx["D"]] = rates["D"]
        m[idx["P"], idx["P"]] = -rates["P"]
        m[idx["Y"], idx["P"]] = rates["Y"] / vp
        m[idx["Y"], idx["Y"]] = -rates["Y"]
        m[idx["D"], idx["D"]] = -rates["D"]
        if hosts_oral:
            m[idx["G"], idx["G"]] = -rates["G"]
            m[idx["P"], idx["G"]] = P.ORAL_MORPHINE_BIOAVAILABILITY.value * rates["G"]
        filters = []
        if has_dep:
            filters.append(("A", dep_w))
        if has_tol:
            filters += [("L1", tol_w), ("L2", s)]
        for state, weights in filters:
            r = rates[state]
            for src, w in weights.items():
                m[idx[state], idx[src]] += r * w
            m[idx[state], idx[state]] = -r
        try:
            model = ModalModel(names, m)
            break
        except ModesTooClose as exc:
            key = _nudge_key(rates, exc.pair, [n for n in names if n in rates])
            rates[key] *= 1.01
            nudged.append(key)
    else:  # pragma: no cover - 40 nudges never needed in practice
        raise RuntimeError(f"could not separate the modes of the {drug} model")

    specs: dict[str, dict[str, float]] = {
        "c_tip": {"T": 1.0 / vol.tip_ml},
        "c_csf": {"S": 1.0 / vol.spinal_ml},
        "c_cist": {"R": 1.0 / vol.cisternal_ml},
        "effect": {"E": 1.0},
        "brain": {"B": 1.0},
        "plasma": {"P": 1.0 / vp},
        "u_sp": u_sp,
        "u_sys": u_sys,
        "u_an": {k: u_sp.get(k, 0.0) + u_sys.get(k, 0.0) for k in u_sp | u_sys},
        "u_own": {"E": 1.0 / (norm.e_ref * pk.it_potency.value)},
        "s": s,
        "dep_drive": dep_w,
        "mass": {"T": 1.0, "S": 1.0, "R": 1.0, "P": 1.0, "D": 1.0} | ({"G": 1.0} if hosts_oral else {}),
    }
    for state in ("A", "L1", "L2"):
        if state in names:
            specs[state] = {state: 1.0}
    rows = model.rows(specs)
    jumps = {"csf": model.jump("T"), "tissue": model.jump("D"), "iv": model.jump("P")}
    q_oral = None
    if hosts_oral:
        jumps["oral"] = model.jump("G")
        q_oral = model.forcing("G")
    cm = ChainModel(drug, cls, model, model.forcing("T"), model.forcing("D"), jumps, rows, vol, tuple(nudged))
    return _with_pools(replace(cm, q_oral=q_oral))


def build_oral_chain(pt: PatientPK) -> ChainModel:
    """Oral opioids in morphine milligram equivalents: gut -> plasma morphine -> effect site."""
    memo = _memo()
    if memo is None:
        return _build_oral_chain(pt)
    cm = memo.get(("", pt))
    if cm is None:
        cm = memo[("", pt)] = _build_oral_chain(pt)
    return cm


def _build_oral_chain(pt: PatientPK) -> ChainModel:
    norm = normalisation("morphine")
    vp = plasma_volume_ml("morphine", pt.weight_kg)
    k10 = plasma_clearance_ml_per_h("morphine", pt.weight_kg) / vp
    ka = LN2 / P.ORAL_ABSORPTION_HALF_LIFE_H.value
    f = P.ORAL_MORPHINE_BIOAVAILABILITY.value
    ke = LN2 / P.DRUGS["morphine"].plasma_ke0_half_life_h.value
    r_a = 1.0 / (P.DEPENDENCE_TAU_D.value * H_PER_DAY)
    r_l1 = 1.0 / (P.SPINAL_TOLERANCE_TAU_D.value * H_PER_DAY)
    r_l2 = 1.0 / (P.SUPRASPINAL_TOLERANCE_TAU_D.value * H_PER_DAY)
    names = list(ORAL_STATES)
    m = np.zeros((6, 6))
    g, p, y, a, l1, l2 = range(6)
    m[g, g] = -ka
    m[p, g] = f * ka  # the rest is lost to first-pass metabolism
    m[p, p] = -k10
    m[y, p] = ke / vp
    m[y, y] = -ke
    dep_y = 1.0 / norm.y50 + P.WITHDRAWAL_SYSTEMIC_WEIGHT.value / norm.y_ref
    m[a, y] = r_a * dep_y
    m[a, a] = -r_a
    m[l1, y] = r_l1 * P.ORAL_CROSS_TOLERANCE.value / norm.y_ref / pt.ed50_mg_per_day
    m[l1, l1] = -r_l1
    m[l2, y] = r_l2 / norm.y50
    m[l2, l2] = -r_l2
    model = ModalModel(names, m)
    rows = model.rows(
        {
            "plasma": {"P": 1.0 / vp},
            "u_sys": {"Y": 1.0 / norm.y_ref},
            "u_an": {"Y": 1.0 / norm.y_ref},
            "s": {"Y": 1.0 / norm.y50},
            "dep_drive": {"Y": dep_y},
            "A": {"A": 1.0},
            "L1": {"L1": 1.0},
            "L2": {"L2": 1.0},
            "mass": {"G": 1.0, "P": 1.0},
        }
    )
    jumps = {"oral": model.jump("G"), "iv": model.jump("P")}
    cm = ChainModel("oral", P.OPIOID, model, model.forcing("G"), [], jumps, rows, None, ())
    return _with_pools(replace(cm, q_oral=model.forcing("G")))


def _dependence_tau_d(cls: str) -> float:
    if cls == P.GABA_B:
        return P.BACLOFEN_DEPENDENCE_TAU_D.value
    if cls == P.ALPHA2:
        return P.CLONIDINE_DEPENDENCE_TAU_D.value
    return P.DEPENDENCE_TAU_D.value


def _tolerance_tau_d(cls: str) -> float:
    return P.SPINAL_TOLERANCE_TAU_D.value


def _nudge_key(rates: dict[str, float], pair: tuple[float, float], candidates: list[str]) -> str:
    """The adjustable rate whose mode is one of the two colliding eigenvalues."""
    best, best_err = candidates[0], math.inf
    for key in candidates:
        r = rates[key]
        err = min(abs(r + pair[0]), abs(r + pair[1])) / r
        if err < best_err:
            best, best_err = key, err
    return best
