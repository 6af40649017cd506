"""A virtual patient moving through virtual time.

:class:`PatientSim` holds one patient's exact state: one linear chain per intrathecal drug it has
received (:mod:`itdd.patient.pk`) plus one for oral opioids (merged into the morphine chain once
intrathecal morphine starts: they share plasma).  Time only moves when the caller says so:

* :meth:`PatientSim.advance` — constant inputs (spinal-fluid and tissue drug rates, oral MME/day)
  until ``t1_s``, solved exactly;
* :meth:`PatientSim.dose` — an instantaneous dose (lumbar puncture, catheter access port,
  subcutaneous, intravenous or oral);
* :meth:`PatientSim.follow` — consume an implant's piecewise :class:`~itdd.pump.record.Record`
  up to an instant, remembering where it stopped, so a pathway can interleave pump and patient;
* :meth:`PatientSim.observe` — what a clinician would see now (:class:`Observation`).

Nothing here reads the clock; every time is float seconds since the Unix epoch.

Why one module of ~830 lines (over the project's ~500): :class:`PatientSim` is one exact numerical
engine whose methods share private state (the chains, the oral pool, the accumulators) and whose
results must not move by a bit (tests/test_golden.py); the exact step, the record follower and the
observation functions are one invariant (exact propagation between rate changes) read together.
The pure pieces already live beside it (:mod:`~itdd.patient.pk`, :mod:`~itdd.patient.pd`,
:mod:`~itdd.patient.linear`); a further split would cut the class, not a seam.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from math import exp, expm1
from operator import mul
from typing import Any, Protocol

from ..errors import InputError
from ..timeunits import SECONDS_PER_HOUR
from . import parameters as P
from . import pd
from .linear import dot, propagate2
from .mixtures import SEP, is_mixture, known, split_mixture, step_mix
from .pk import ChainModel, PatientPK, build_it_chain, build_oral_chain
from .population import PatientParams
from .ziconotide import ziconotide_sensitivity

H_PER_DAY = 24.0

INTRATHECAL_ROUTES = ("intrathecal", "lumbar_puncture", "catheter_access_port")
TISSUE_ROUTES = ("subcutaneous", "epidural", "tissue", "pocket")
ROUTES = (*INTRATHECAL_ROUTES, *TISSUE_ROUTES, "intravenous", "oral")
NO_DRUG = ("saline", "")
STATE_FORMAT = "itdd.patient_sim"
STATE_VERSION = 1
POOL_KEYS = (
    "u_op",
    "s_op",
    "a_op",
    "d_op",
    "l1_op",
    "l2_op",
    "u_na",
    "u_bac",
    "s_bac",
    "a_bac",
    "d_bac",
    "l1_bac",
    "l2_bac",
    "s_clon",
    "u_clon",
    "a_clon",
    "d_clon",
    "s_bupi",
    "s_zic",
)


class PointLike(Protocol):
    time_s: float
    csf_mg: float
    drug: str


class RecordLike(Protocol):
    """What :meth:`PatientSim.follow` reads from an :class:`itdd.pump.record.Record`."""

    t0: list[float]
    t1: list[float]
    csf_mg: list[float]
    tissue_mg: list[float]
    drug: list[str]

    @property
    def points(self) -> Sequence[PointLike]: ...


@dataclass(frozen=True, slots=True)
class Observation:
    """What can be measured or asked of the patient at one instant."""

    t_s: float
    pain: float  # NRS 0-10
    relief: float  # fraction of baseline pain removed by drugs (0-1)
    spasticity: float  # Modified Ashworth 0-4
    resp_rate_per_min: float
    spo2_pct: float
    heart_rate_per_min: float
    systolic_bp_mmhg: float
    temperature_c: float
    sedation: float  # 0-3
    pruritus: float  # 0-10
    nausea: float  # 0-10
    confusion: float  # 0-10 (altered mental state)
    withdrawal: float  # 0-10, the worst of the three below
    withdrawal_opioid: float
    withdrawal_baclofen: float
    withdrawal_clonidine: float
    drug: str  # the intrathecal drug the concentrations below are for ("" if none)
    csf_tip_mg_per_ml: float  # spinal fluid near the catheter tip
    csf_mg_per_ml: float  # the wider spinal fluid
    csf_cisternal_mg_per_ml: float
    effect_site_mg_per_ml: float  # spinal cord
    plasma_mg_per_ml: float
    analgesic_drive_mg_per_day: float  # IT-morphine mg/day equivalents, before tolerance
    opioid_tolerance: float  # factor (>= 1) on the drive needed
    oral_mme_per_day: float

    @property
    def respiratory_depression(self) -> bool:
        """RR < 10/min or SpO2 < 90% (clinical-facts thresholds)."""
        return (
            self.resp_rate_per_min < P.RESP_DEPRESSION_RR_PER_MIN.value
            or self.spo2_pct < P.RESP_DEPRESSION_SPO2_PCT.value
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["respiratory_depression"] = self.respiratory_depression
        return d


@dataclass(frozen=True, slots=True)
class Vitals:
    """The bedside subset of :class:`Observation` (pain, breathing, sedation, itch, withdrawal and
    the opioid drive), several times cheaper to compute; every value equals the same-named
    :class:`Observation` field at the same instant."""

    t_s: float
    pain: float
    relief: float
    resp_rate_per_min: float
    spo2_pct: float
    sedation: float
    pruritus: float
    withdrawal: float
    withdrawal_opioid: float
    analgesic_drive_mg_per_day: float
    opioid_tolerance: float

    @property
    def respiratory_depression(self) -> bool:
        """RR < 10/min or SpO2 < 90% (clinical-facts thresholds), as :class:`Observation`."""
        return (
            self.resp_rate_per_min < P.RESP_DEPRESSION_RR_PER_MIN.value
            or self.spo2_pct < P.RESP_DEPRESSION_SPO2_PCT.value
        )


class _Chain:
    __slots__ = ("active", "cm", "lam", "q_in", "q_oral", "q_tis", "z")

    def __init__(self, cm: ChainModel) -> None:
        self.cm = cm
        self.lam = cm.model.lam
        self.q_in = cm.q_in
        self.q_tis = cm.q_tissue
        self.q_oral: list[float] = cm.q_oral or []  # empty unless this chain can host oral morphine
        self.z = [0.0] * cm.model.n
        self.active = False  # False while the state is exactly zero (lets the oral chain be skipped)

    def clone(self) -> _Chain:
        new = _Chain.__new__(_Chain)
        new.cm, new.lam, new.q_in, new.q_tis, new.z = self.cm, self.lam, self.q_in, self.q_tis, list(self.z)
        new.q_oral = self.q_oral
        new.active = self.active
        return new


class PatientSim:
    """One virtual patient's exact state in virtual time (see the module docstring).

    At construction the patient is at steady state on ``oral_mme_per_day`` (default: the
    patient's home oral dose), i.e. has taken it for years; ``offset_s`` is the fixed UTC offset of
    the patient's day-cycle.
    """

    def __init__(
        self,
        params: PatientParams,
        t_s: float,
        *,
        oral_mme_per_day: float | None = None,
        offset_s: int = 0,
    ) -> None:
        if not isinstance(params, PatientParams):
            raise InputError("params", "expected PatientParams")
        _finite("t_s", t_s)
        oral = params.oral_mme_per_day if oral_mme_per_day is None else oral_mme_per_day
        _rate("oral_mme_per_day", oral)
        self.params = params
        self.t_s = float(t_s)
        self.offset_s = int(offset_s)
        self._pt = PatientPK(
            params.weight_kg,
            params.csf_lumbosacral_ml,
            params.ed50_mg_per_day,
            params.baclofen_ed50_mg_per_day,
            ziconotide_sensitivity(params),
        )
        # Oral opioids live in a small chain of their own until intrathecal morphine arrives; then
        # they move into the morphine chain, which shares their plasma (see pk.build_it_chain).
        self._oral: _Chain | None = _Chain(build_oral_chain(self._pt))
        self._host: _Chain = self._oral
        self.oral_mme_per_day = float(oral)
        # Enrolment: the patient has taken this oral dose long enough to be at steady state.
        r = oral / H_PER_DAY
        self._host.z = [-qi * r for qi in self._oral.q_in]
        self._host.active = r > 0.0
        self._chains: dict[str, _Chain] = {}
        self.drug = ""  # the last intrathecal drug given
        self.delivered_csf_mg: dict[str, float] = {}
        self.delivered_tissue_mg: dict[str, float] = {}
        self._cursors: dict[int, tuple[object, int, int]] = {}

    @classmethod
    def at_steady_state(
        cls,
        params: PatientParams,
        t_s: float,
        *,
        drug: str,
        csf_mg_per_day: float,
        tissue_mg_per_day: float = 0.0,
        oral_mme_per_day: float | None = None,
        offset_s: int = 0,
    ) -> PatientSim:
        """A patient who has received these constant rates for years (tolerance included)."""
        _rate("csf_mg_per_day", csf_mg_per_day)
        _rate("tissue_mg_per_day", tissue_mg_per_day)
        if drug not in NO_DRUG and drug not in P.DRUGS:
            raise InputError("drug", f"no patient model for '{drug}' (known: {', '.join(sorted(P.DRUGS))})")
        sim = cls(params, t_s, oral_mme_per_day=oral_mme_per_day, offset_s=offset_s)
        if drug in NO_DRUG:
            return sim
        ch = sim._chain(drug)
        rc, rt = csf_mg_per_day / H_PER_DAY, tissue_mg_per_day / H_PER_DAY
        ch.z = [-(a * rc + b * rt) for a, b in zip(ch.q_in, ch.q_tis, strict=True)]
        if ch is sim._host and ch.q_oral:  # morphine hosts the oral steady state too
            ro = sim.oral_mme_per_day / H_PER_DAY
            ch.z = [zi - c * ro for zi, c in zip(ch.z, ch.q_oral, strict=True)]
        sim.drug = drug
        return sim

    def copy(self) -> PatientSim:
        """An independent copy of this patient's state (models are shared: they are immutable)."""
        new = object.__new__(PatientSim)
        new.params = self.params
        new.t_s = self.t_s
        new.offset_s = self.offset_s
        new._pt = self._pt
        new._oral = self._oral.clone() if self._oral is not None else None
        new.oral_mme_per_day = self.oral_mme_per_day
        new._chains = {k: ch.clone() for k, ch in self._chains.items()}
        new._host = new._oral if new._oral is not None else new._chains["morphine"]
        new.drug = self.drug
        new.delivered_csf_mg = dict(self.delivered_csf_mg)
        new.delivered_tissue_mg = dict(self.delivered_tissue_mg)
        new._cursors = dict(self._cursors)
        return new

    # ---- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The complete state as JSON-safe data (versioned; floats kept exactly by ``json``).

        ``from_dict(to_dict())`` continues bit-for-bit like this patient: the modal states of every
        chain are stored in the order they are summed.  The position in the last record followed is
        kept as indices (``cursor``); pass that record to :meth:`from_dict` to resume it exactly
        (records themselves are not stored: they belong to the implant).
        """
        cursor = None
        if self._cursors:
            _, i, j = self._cursors[next(reversed(self._cursors))]
            cursor = [i, j]
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "params": self.params.to_dict(),
            "t_s": self.t_s,
            "offset_s": self.offset_s,
            "oral_mme_per_day": self.oral_mme_per_day,
            "drug": self.drug,
            "oral_chain": None if self._oral is None else {"z": list(self._oral.z), "active": self._oral.active},
            "chains": [{"drug": d, "z": list(ch.z), "active": ch.active} for d, ch in self._chains.items()],
            "delivered_csf_mg": dict(self.delivered_csf_mg),
            "delivered_tissue_mg": dict(self.delivered_tissue_mg),
            "cursor": cursor,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], record: RecordLike | None = None) -> PatientSim:
        """A patient restored from :meth:`to_dict`; ``record``: the record it was following, to resume it
        from the stored position (without it, the next :meth:`follow` starts from the patient's instant).

        Refuses (``InputError`` naming the field) anything that is not a complete state of this version.
        """
        if not isinstance(data, dict):
            raise InputError("patient_state", "expected an object (PatientSim.to_dict())")
        if data.get("format") != STATE_FORMAT:
            raise InputError("patient_state.format", f"expected {STATE_FORMAT!r}, got {data.get('format')!r}")
        if data.get("version") != STATE_VERSION:
            raise InputError(
                "patient_state.version", f"version {data.get('version')!r} is not supported (expected {STATE_VERSION})"
            )
        params_d = data.get("params")
        if not isinstance(params_d, dict):
            raise InputError("patient_state.params", "expected an object (PatientParams.to_dict())")
        params = PatientParams.from_dict(params_d)
        _finite("patient_state.t_s", data.get("t_s"))  # type: ignore[arg-type]
        _rate("patient_state.oral_mme_per_day", data.get("oral_mme_per_day"))  # type: ignore[arg-type]
        sim = cls(params, float(data["t_s"]), oral_mme_per_day=0.0, offset_s=int(data.get("offset_s", 0)))
        sim.oral_mme_per_day = float(data["oral_mme_per_day"])
        drug = data.get("drug", "")
        if not isinstance(drug, str) or (drug not in NO_DRUG and drug not in P.DRUGS):
            raise InputError("patient_state.drug", f"no patient model for {drug!r}")
        chains: dict[str, _Chain] = {}
        raw_chains = data.get("chains")
        if not isinstance(raw_chains, list):
            raise InputError("patient_state.chains", "expected a list")
        for k, c in enumerate(raw_chains):
            name = c.get("drug") if isinstance(c, dict) else None
            if not isinstance(name, str) or name not in P.DRUGS or name in chains:
                raise InputError(f"patient_state.chains[{k}].drug", f"no (or a repeated) patient model for {name!r}")
            ch = _Chain(build_it_chain(name, sim._pt))
            ch.z = _state_vector(f"patient_state.chains[{k}].z", c.get("z"), len(ch.z))
            ch.active = bool(c.get("active", True))
            chains[name] = ch
        oral_d = data.get("oral_chain")
        if oral_d is None:
            if "morphine" not in chains:
                raise InputError("patient_state.oral_chain", "missing: no morphine chain hosts oral opioids")
            sim._oral = None
            sim._host = chains["morphine"]
        else:
            assert sim._oral is not None
            if not isinstance(oral_d, dict):
                raise InputError("patient_state.oral_chain", "expected an object or null")
            sim._oral.z = _state_vector("patient_state.oral_chain.z", oral_d.get("z"), len(sim._oral.z))
            sim._oral.active = bool(oral_d.get("active", True))
            if "morphine" in chains:
                raise InputError("patient_state.oral_chain", "must be null once a morphine chain hosts oral opioids")
            sim._host = sim._oral
        sim._chains = chains
        sim.drug = drug
        sim.delivered_csf_mg = _amounts("patient_state.delivered_csf_mg", data.get("delivered_csf_mg", {}))
        sim.delivered_tissue_mg = _amounts("patient_state.delivered_tissue_mg", data.get("delivered_tissue_mg", {}))
        cursor = data.get("cursor")
        if record is not None and cursor is not None:
            if (
                not isinstance(cursor, list)
                or len(cursor) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in cursor)
            ):
                raise InputError("patient_state.cursor", "expected [interval index, point index]")
            sim._cursors[id(record)] = (record, cursor[0], cursor[1])
        return sim

    # ---- inputs --------------------------------------------------------------------------------
    def _chain(self, drug: str) -> _Chain:
        ch = self._chains.get(drug)
        if ch is None:
            if drug not in P.DRUGS:
                raise InputError("drug", f"no patient model for '{drug}' (known: {', '.join(sorted(P.DRUGS))})")
            ch = _Chain(build_it_chain(drug, self._pt))
            self._chains[drug] = ch
            if ch.q_oral and self._oral is not None:
                self._merge_oral(ch)
        return ch

    def _merge_oral(self, ch: _Chain) -> None:
        """Move the oral chain's state into ``ch`` (same plasma, effect and adaptation states)."""
        o = self._oral
        assert o is not None
        x = dict(zip(o.cm.model.names, o.cm.model.to_physical(o.z), strict=True))
        vec = [x.get(name, 0.0) for name in ch.cm.model.names]
        ch.z = [a + b for a, b in zip(ch.z, ch.cm.model.to_modal(vec), strict=True)]
        ch.active = ch.active or o.active
        self._oral = None
        self._host = ch

    def advance(
        self,
        t1_s: float,
        *,
        csf_mg_per_day: float = 0.0,
        tissue_mg_per_day: float = 0.0,
        oral_mme_per_day: float | None = None,
        drug: str | None = None,
    ) -> None:
        """Move to ``t1_s`` with constant inputs, exactly.

        ``csf_mg_per_day`` reaches the spinal fluid at the catheter tip; ``tissue_mg_per_day`` left
        the catheter into tissue (absorbed systemically).  ``oral_mme_per_day=None`` keeps the
        current oral rate.  Nothing changes if an argument is refused.
        """
        _finite("t1_s", t1_s)
        if t1_s < self.t_s:
            raise InputError("t1_s", f"{t1_s} is before the patient's current time {self.t_s}")
        _rate("csf_mg_per_day", csf_mg_per_day)
        _rate("tissue_mg_per_day", tissue_mg_per_day)
        if oral_mme_per_day is not None:
            _rate("oral_mme_per_day", oral_mme_per_day)
        has_drug = csf_mg_per_day > 0.0 or tissue_mg_per_day > 0.0
        name = drug or ""
        if has_drug:
            if name in NO_DRUG:
                raise InputError("drug", "a drug rate needs the drug's name")
            if name not in P.DRUGS:
                raise InputError("drug", f"no patient model for '{name}' (known: {', '.join(sorted(P.DRUGS))})")
        if oral_mme_per_day is not None:
            self.oral_mme_per_day = float(oral_mme_per_day)
        dt_h = (t1_s - self.t_s) / SECONDS_PER_HOUR
        self._step(dt_h, name if has_drug else "", csf_mg_per_day / H_PER_DAY, tissue_mg_per_day / H_PER_DAY)
        self.t_s = float(t1_s)

    def _step(self, dt_h: float, drug: str, r_csf: float, r_tis: float) -> None:
        """Exact move by ``dt_h`` hours (rates in mg/h); no validation.

        The hot path of every simulation: the modal updates are written inline (see
        :mod:`itdd.patient.linear` for the formula) to save function calls.
        """
        if dt_h <= 0.0:
            return
        target = None
        if drug:
            target = self._chains.get(drug)
            if target is None:
                target = self._chain(drug)
            self.drug = drug
            dc = self.delivered_csf_mg
            dc[drug] = dc.get(drug, 0.0) + r_csf * dt_h
            if r_tis:
                dt_ = self.delivered_tissue_mg
                dt_[drug] = dt_.get(drug, 0.0) + r_tis * dt_h
        host = self._host
        r_oral = self.oral_mme_per_day / H_PER_DAY
        for ch in self._chains.values():
            z = ch.z
            if ch is target:
                if ch is host and r_oral:
                    if r_tis:
                        ch.z = [
                            zi + expm1(li * dt_h) * (zi + r_csf * a + r_tis * b + r_oral * c)
                            for zi, li, a, b, c in zip(z, ch.lam, ch.q_in, ch.q_tis, ch.q_oral)  # noqa: B905
                        ]
                    else:
                        ch.z = [
                            zi + expm1(li * dt_h) * (zi + r_csf * a + r_oral * c)
                            for zi, li, a, c in zip(z, ch.lam, ch.q_in, ch.q_oral)  # noqa: B905
                        ]
                elif r_tis:
                    ch.z = propagate2(z, ch.lam, dt_h, r_csf, ch.q_in, r_tis, ch.q_tis)
                else:
                    ch.z = [zi + expm1(li * dt_h) * (zi + r_csf * qi) for zi, li, qi in zip(z, ch.lam, ch.q_in)]  # noqa: B905
            elif ch is host and r_oral:
                q = ch.q_oral
                ch.z = [zi + expm1(li * dt_h) * (zi + r_oral * qi) for zi, li, qi in zip(z, ch.lam, q)]  # noqa: B905
            else:
                ch.z = [zi * exp(li * dt_h) for zi, li in zip(z, ch.lam)]  # noqa: B905
        o = self._oral
        if o is None:
            return
        if r_oral:
            o.z = [zi + expm1(li * dt_h) * (zi + r_oral * qi) for zi, li, qi in zip(o.z, o.lam, o.q_in)]  # noqa: B905
        elif o.active:
            o.z = [zi * exp(li * dt_h) for zi, li in zip(o.z, o.lam)]  # noqa: B905
        else:
            return
        o.active = True

    def dose(self, amount_mg: float, drug: str, route: str = "intrathecal") -> None:
        """An instantaneous dose now.

        Routes: ``intrathecal`` / ``lumbar_puncture`` / ``catheter_access_port`` (spinal fluid at
        the tip), ``subcutaneous`` / ``epidural`` / ``tissue`` / ``pocket`` (depot absorbed into
        plasma), ``intravenous`` (plasma), ``oral`` (opioids only, converted to MME).
        """
        _rate("amount_mg", amount_mg)
        if route not in ROUTES:
            raise InputError("route", f"'{route}' is not one of {', '.join(ROUTES)}")
        if drug in NO_DRUG:
            return
        if is_mixture(drug):  # each drug of a mixture by its ratio (patient/mixtures.py)
            for part, ratio in split_mixture(drug):
                self.dose(amount_mg * ratio, part, route)
            return
        if drug not in P.DRUGS:
            raise InputError("drug", f"no patient model for '{drug}' (known: {', '.join(sorted(P.DRUGS))})")
        if route == "oral":
            factor = P.DRUGS[drug].oral_mme_factor
            if factor is None:
                raise InputError("route", f"oral {drug} is not modelled (oral opioids only, as MME)")
            self._jump(self._host, "oral", amount_mg * factor.value)
            return
        key = "csf" if route in INTRATHECAL_ROUTES else "tissue" if route in TISSUE_ROUTES else "iv"
        ch = self._chain(drug)
        self._jump(ch, key, amount_mg)
        if key == "csf" and amount_mg > 0.0:
            self.drug = drug
            self.delivered_csf_mg[drug] = self.delivered_csf_mg.get(drug, 0.0) + amount_mg
        elif key == "tissue":
            self.delivered_tissue_mg[drug] = self.delivered_tissue_mg.get(drug, 0.0) + amount_mg

    @staticmethod
    def _jump(ch: _Chain, key: str, amount: float) -> None:
        j = ch.cm.jumps[key]
        ch.z = [zi + amount * ji for zi, ji in zip(ch.z, j, strict=True)]
        ch.active = ch.active or amount != 0.0

    # ---- following an implant record -----------------------------------------------------------
    def follow(self, record: RecordLike, until_s: float, oral_mme_per_day: float | None = None) -> None:
        """Consume ``record`` from where this patient stopped up to ``until_s`` (exact).

        Intervals give constant rates (``csf_mg`` and ``tissue_mg`` spread evenly over
        ``[t0, t1]``); gaps in the record mean no intrathecal input.  Point doses (catheter access
        port, lumbar puncture) are applied at their instant, including one at ``until_s``.  The
        position in each record is remembered, so the record may keep growing between calls.
        """
        _finite("until_s", until_s)
        if until_s < self.t_s:
            raise InputError("until_s", f"{until_s} is before the patient's current time {self.t_s}")
        if oral_mme_per_day is not None:
            _rate("oral_mme_per_day", oral_mme_per_day)
        t0s, t1s, csf, tis, drugs = record.t0, record.t1, record.csf_mg, record.tissue_mg, record.drug
        points = record.points
        key = id(record)
        cur = self._cursors.get(key)
        if cur is None or cur[0] is not record:
            i = bisect_right(t1s, self.t_s)
            j = 0
            while j < len(points) and points[j].time_s < self.t_s:
                j += 1
        else:
            _, i, j = cur
        # Refuse, before changing anything, what cannot be applied exactly.
        last = self.t_s
        for p in points[j:]:
            if p.time_s > until_s:
                break
            if p.time_s < last:
                raise InputError("record.points", f"point dose at {p.time_s} is earlier than {last}; out of order")
            if p.drug not in NO_DRUG and p.drug not in P.DRUGS and not known(p.drug):
                raise InputError("record.points", f"no patient model for '{p.drug}'")
            last = p.time_s
        for k in range(i, len(t0s)):
            if t0s[k] >= until_s:
                break
            if (
                drugs[k] not in NO_DRUG
                and drugs[k] not in P.DRUGS
                and not known(drugs[k])
                and (csf[k] > 0.0 or tis[k] > 0.0)
            ):
                raise InputError("record.drug", f"no patient model for '{drugs[k]}'")
        if oral_mme_per_day is not None:
            self.oral_mme_per_day = float(oral_mme_per_day)

        n = len(t0s)
        n_pts = len(points)
        t = self.t_s
        next_pt = points[j].time_s if j < n_pts else math.inf
        while True:
            while j < n_pts and next_pt <= t:
                p = points[j]
                if p.csf_mg > 0.0 and p.drug not in NO_DRUG:
                    self.dose(p.csf_mg, p.drug, "intrathecal")
                j += 1
                next_pt = points[j].time_s if j < n_pts else math.inf
            if t >= until_s:
                break
            stop = until_s if until_s < next_pt else next_pt
            while i < n and t1s[i] <= t:
                i += 1
            if i < n and t0s[i] <= t:
                dur = t1s[i] - t0s[i]
                r_csf = csf[i] / dur * SECONDS_PER_HOUR
                r_tis = tis[i] / dur * SECONDS_PER_HOUR
                drug = drugs[i]
                end = t1s[i]
                # Merge following intervals with the same drug and rates (one exact step).
                while end < stop and i + 1 < n and t0s[i + 1] == end and drugs[i + 1] == drug:
                    d2 = t1s[i + 1] - t0s[i + 1]
                    if d2 <= 0.0:
                        break
                    a = csf[i + 1] / d2 * SECONDS_PER_HOUR
                    if a != r_csf and abs(a - r_csf) > 1e-12 * (a if a > r_csf else r_csf):
                        break
                    b = tis[i + 1] / d2 * SECONDS_PER_HOUR
                    if b != r_tis and abs(b - r_tis) > 1e-12 * (b if b > r_tis else r_tis):
                        break
                    i += 1
                    end = t1s[i]
                seg_end = end if end < stop else stop
                if drug in NO_DRUG or (r_csf <= 0.0 and r_tis <= 0.0):
                    self._step((seg_end - t) / SECONDS_PER_HOUR, "", 0.0, 0.0)
                elif SEP in drug:  # a mixture (patient/mixtures.py)
                    step_mix(self, (seg_end - t) / SECONDS_PER_HOUR, drug, r_csf, r_tis)
                else:
                    self._step((seg_end - t) / SECONDS_PER_HOUR, drug, r_csf, r_tis)
            else:
                seg_end = t0s[i] if i < n and t0s[i] < stop else stop
                self._step((seg_end - t) / SECONDS_PER_HOUR, "", 0.0, 0.0)
            t = seg_end
            self.t_s = t
        self.t_s = float(until_s)
        self._cursors.pop(key, None)  # re-insert: the last record followed is the last entry (see to_dict)
        self._cursors[key] = (record, i, j)

    def follow_and_observe(
        self, record: RecordLike, times_s: Iterable[float], oral_mme_per_day: float | None = None
    ) -> list[Observation]:
        """Follow ``record`` to each of ``times_s`` (ascending) and observe there: a time series."""
        out = []
        for t in times_s:
            self.follow(record, t, oral_mme_per_day)
            out.append(self.observe())
        return out

    # ---- observation ---------------------------------------------------------------------------
    # The last full pool and the last observation, kept with the state vectors they were computed
    # from: every change of state puts new lists in the chains (an exact step, a dose, a merge), so
    # the same lists (compared by identity, and held here so they cannot be reused) mean the same
    # state, and a second look at the same instant (a visit's vitals, then its full observation)
    # gives the same values without summing again.
    _pool_memo: tuple[tuple[list[float], ...], dict[str, float]] | None = None
    _obs_memo: tuple[tuple[list[float], ...], tuple[Any, ...], Observation] | None = None

    def _zs(self) -> tuple[list[float], ...]:
        o = self._oral
        if o is None:
            return tuple([ch.z for ch in self._chains.values()])
        return (o.z, *[ch.z for ch in self._chains.values()])

    @staticmethod
    def _same(a: tuple[list[float], ...], b: tuple[list[float], ...]) -> bool:
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))  # noqa: B905

    def _pool(self, pain_only: bool = False) -> dict[str, float]:
        """Sum the linear drives over chains, by pharmacological pool (see ``pk._POOLS``).  The
        full pool is read, never changed, by its callers: the last one is kept (see above)."""
        if pain_only:
            return self._sum_pool(True)
        zs = self._zs()
        memo = self._pool_memo
        if memo is not None and self._same(memo[0], zs):
            return memo[1]
        acc = self._sum_pool(False)
        self._pool_memo = (zs, acc)
        return acc

    def _sum_pool(self, pain_only: bool) -> dict[str, float]:
        acc = dict.fromkeys(POOL_KEYS, 0.0)
        chains = self._chains.values() if self._oral is None else (self._oral, *self._chains.values())
        for ch in chains:
            z = ch.z
            for key, row in ch.cm.pain_rows if pain_only else ch.cm.pool_rows:
                acc[key] += sum(map(mul, row, z))
        return acc

    def activity(self) -> float:
        """1 while the patient is awake, 0 asleep (day-cycle in the sim's fixed UTC offset)."""
        p = self.params
        return pd.activity(self.t_s, self.offset_s, p.wake_h, p.sleep_h)

    def pain(self, activity: float | None = None) -> float:
        """The current pain score alone (several times cheaper than :meth:`observe`)."""
        acc = self._pool(pain_only=True)
        return self._pain(acc, activity)[0]

    def _pain(self, acc: dict[str, float], activity: float | None) -> tuple[float, float, float, float]:
        """(pain, relief, opioid withdrawal, opioid tolerance factor) from pooled drives."""
        p = self.params
        f_sp = pd.tolerance_factor(
            acc["l1_op"], p.tolerance_rate, P.SPINAL_TOLERANCE_MAX.value, P.SPINAL_TOLERANCE_HALF.value
        )
        w_op = pd.withdrawal_score(
            acc["a_op"],
            acc["d_op"],
            P.WITHDRAWAL_GAIN.value,
            P.WITHDRAWAL_FLOOR.value,
            P.WITHDRAWAL_THRESHOLD.value,
        )
        drive = max(acc["u_op"], 0.0) / f_sp + max(acc["u_na"], 0.0)
        relief = p.emax * pd.hill(drive / p.ed50_mg_per_day, p.hill)
        if activity is None:
            activity = pd.activity(self.t_s, self.offset_s, p.wake_h, p.sleep_h)
        act = 1.0 + p.activity_pain_gain * (activity - pd.awake_fraction(p.wake_h, p.sleep_h))
        pain = p.baseline_pain * (1.0 - relief) * act
        pain += (10.0 - pain) * 0.06 * w_op  # U: withdrawal hyperalgesia
        return pd.clamp(pain, 0.0, 10.0), relief, w_op, f_sp

    def vitals(self, activity: float | None = None) -> Vitals:
        """The bedside subset of :meth:`observe` (same values), for checks that need only pain,
        breathing, sedation, itch, withdrawal and the opioid drive."""
        acc = self._pool()
        pain, relief, w_op, f_sp = self._pain(acc, activity)
        rr, spo2, sed, prur, w_bac, w_clon, _, _, _ = self._signs(acc, w_op)
        return Vitals(
            self.t_s,
            pain,
            relief,
            rr,
            spo2,
            sed,
            prur,
            max(w_op, w_bac, w_clon),
            w_op,
            max(acc["u_op"], 0.0) + max(acc["u_na"], 0.0),
            f_sp,
        )

    def _signs(
        self, acc: dict[str, float], w_op: float
    ) -> tuple[float, float, float, float, float, float, float, float, float]:
        """(RR, SpO2, sedation, pruritus, baclofen and clonidine withdrawal, nuisance, clonidine and
        ziconotide drives) from pooled drives: shared by :meth:`observe` and :meth:`vitals`."""
        p = self.params
        f_ss = 1.0 + P.SUPRASPINAL_TOLERANCE_GAIN.value * max(acc["l2_op"], 0.0)
        f_bac_ss = 1.0 + P.SUPRASPINAL_TOLERANCE_GAIN.value * max(acc["l2_bac"], 0.0)
        w_bac = pd.withdrawal_score(
            acc["a_bac"],
            acc["d_bac"],
            P.BACLOFEN_WITHDRAWAL_GAIN.value,
            P.BACLOFEN_WITHDRAWAL_FLOOR.value,
            P.BACLOFEN_WITHDRAWAL_THRESHOLD.value,
        )
        w_clon = pd.withdrawal_score(
            acc["a_clon"],
            acc["d_clon"],
            P.CLONIDINE_WITHDRAWAL_GAIN.value,
            P.CLONIDINE_WITHDRAWAL_FLOOR.value,
            P.CLONIDINE_WITHDRAWAL_THRESHOLD.value,
        )
        s_op = max(acc["s_op"], 0.0) / f_ss
        s_bac = max(acc["s_bac"], 0.0) / f_bac_ss
        # pruritus and nausea wane more completely than respiratory depression
        s_nuisance = max(acc["s_op"], 0.0) / (1.0 + P.NUISANCE_TOLERANCE_GAIN.value * max(acc["l2_op"], 0.0))
        s_clon = max(acc["s_clon"], 0.0)
        s_zic = max(acc["s_zic"], 0.0)
        s_resp = (s_op + s_bac) * p.resp_sensitivity + 0.3 * s_clon
        rr = pd.respiratory_rate(p.resp_rate_per_min, s_resp) * (1.0 + 0.03 * w_op)
        spo2 = pd.spo2_pct(rr, p.resp_rate_per_min, p.aa_gradient_mmhg)
        sed = pd.sedation(s_op + s_bac + s_clon + 0.5 * s_zic)
        prur = pd.clamp(pd.pruritus(s_nuisance, p.pruritus_sensitivity) + 0.6 * w_bac, 0.0, 10.0)
        return rr, spo2, sed, prur, w_bac, w_clon, s_nuisance, s_clon, s_zic

    def observe(self, activity: float | None = None) -> Observation:
        """What a clinician would see now.  ``activity`` (0 asleep .. 1 active) defaults to the
        patient's day-cycle in the sim's fixed UTC offset."""
        zs = self._zs()
        inputs = (self.t_s, activity, self.drug, self.oral_mme_per_day)
        memo = self._obs_memo
        if memo is not None and memo[1] == inputs and self._same(memo[0], zs):
            return memo[2]  # the same state, instant and inputs: the same (immutable) observation
        obs = self._observe(activity)
        self._obs_memo = (zs, inputs, obs)
        return obs

    def _observe(self, activity: float | None) -> Observation:
        p = self.params
        acc = self._pool()
        pain, relief, w_op, f_sp = self._pain(acc, activity)
        rr, spo2, sed, prur, w_bac, w_clon, s_nuisance, s_clon, s_zic = self._signs(acc, w_op)
        f_bac = pd.tolerance_factor(
            acc["l1_bac"], p.baclofen_tolerance_rate, P.BACLOFEN_TOLERANCE_MAX.value, P.BACLOFEN_TOLERANCE_HALF.value
        )
        u_op = max(acc["u_op"], 0.0)

        relief_sp = p.baclofen_emax * pd.hill(max(acc["u_bac"], 0.0) / (p.baclofen_ed50_mg_per_day * f_bac), 2.0)
        spasticity = p.spasticity * (1.0 - relief_sp) + 0.25 * w_bac  # U: rebound spasticity
        spasticity = pd.clamp(spasticity, 0.0, 4.0)

        s_bupi = max(acc["s_bupi"], 0.0)
        # clonidine lowers blood pressure spinally (sympathetic outflow) and supraspinally
        h_clon = s_clon + max(acc["u_clon"], 0.0) / P.CLONIDINE_HYPOTENSION_MG_PER_DAY.value
        nau = pd.clamp(pd.nausea(s_nuisance, p.nausea_max) + 0.5 * w_op + 3.0 * pd.hill(s_zic, 1.0), 0.0, 10.0)
        confusion = pd.clamp(10.0 * pd.hill(w_bac / 6.0, 3.0) + 6.0 * pd.hill(s_zic, 2.0), 0.0, 10.0)
        hr = p.heart_rate_per_min * (1.0 + 0.03 * w_op + 0.04 * w_bac + 0.03 * w_clon - 0.15 * pd.hill(h_clon, 1.5))
        sbp = (
            p.systolic_bp_mmhg
            + 2.0 * w_op
            + 3.0 * w_bac
            + 8.0 * w_clon
            - 25.0 * pd.hill(h_clon, 1.5)
            - 20.0 * pd.hill(s_bupi, 2.0)
        )
        temp = p.temperature_c + 0.35 * w_bac + 0.03 * w_op

        ch = self._chains.get(self.drug)
        if ch is not None:
            rows, z = ch.cm.rows, ch.z
            conc = (
                max(dot(rows["c_tip"], z), 0.0),
                max(dot(rows["c_csf"], z), 0.0),
                max(dot(rows["c_cist"], z), 0.0),
                max(dot(rows["effect"], z), 0.0),
                max(dot(rows["plasma"], z), 0.0),
            )
        else:
            conc = (0.0, 0.0, 0.0, 0.0, 0.0)
        return Observation(
            t_s=self.t_s,
            pain=pain,
            relief=relief,
            spasticity=spasticity,
            resp_rate_per_min=rr,
            spo2_pct=spo2,
            heart_rate_per_min=hr,
            systolic_bp_mmhg=sbp,
            temperature_c=temp,
            sedation=sed,
            pruritus=prur,
            nausea=nau,
            confusion=confusion,
            withdrawal=max(w_op, w_bac, w_clon),
            withdrawal_opioid=w_op,
            withdrawal_baclofen=w_bac,
            withdrawal_clonidine=w_clon,
            drug=self.drug if ch is not None else "",
            csf_tip_mg_per_ml=conc[0],
            csf_mg_per_ml=conc[1],
            csf_cisternal_mg_per_ml=conc[2],
            effect_site_mg_per_ml=conc[3],
            plasma_mg_per_ml=conc[4],
            analgesic_drive_mg_per_day=u_op + max(acc["u_na"], 0.0),
            opioid_tolerance=f_sp,
            oral_mme_per_day=self.oral_mme_per_day,
        )

    def reported_pain(self, rng: Any) -> int:
        """A patient-reported NRS (integer 0-10) with the patient's report noise (``rng``: numpy Generator)."""
        value = self.observe().pain + self.params.pain_report_sd * float(rng.standard_normal())
        return int(min(10, max(0, round(value))))

    # ---- introspection (tests, reports) --------------------------------------------------------
    def amounts_mg(self, drug: str) -> dict[str, float]:
        """Physical state of one drug's chain (amounts in mg, effect sites in mg/mL, drives as is)."""
        ch = self._chains.get(drug) if drug != "oral" else self._host
        if ch is None:
            return {}
        x = ch.cm.model.to_physical(ch.z)
        return dict(zip(ch.cm.model.names, x, strict=True))

    def mass_mg(self, drug: str) -> float:
        """Drug present in the body (spinal fluid, depot and plasma; gut for ``"oral"``)."""
        ch = self._chains.get(drug) if drug != "oral" else self._host
        return 0.0 if ch is None else dot(ch.cm.rows["mass"], ch.z)


def _finite(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, f"must be a finite number of seconds, got {value!r}")


def _rate(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, f"must be a finite number, got {value!r}")
    if value < 0.0:
        raise InputError(field, f"{value:g} must not be negative")


def _state_vector(field: str, value: Any, n: int) -> list[float]:
    if not isinstance(value, list) or len(value) != n:
        raise InputError(field, f"expected a list of {n} numbers")
    out = []
    for x in value:
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise InputError(field, f"expected finite numbers, got {x!r}")
        out.append(float(x))
    return out


def _amounts(field: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise InputError(field, "expected an object of mg by drug")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise InputError(field, "keys must be drug names")
        _rate(f"{field}.{k}", v)
        out[k] = float(v)
    return out
