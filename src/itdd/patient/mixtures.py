"""A mixture reaching the patient: one name, several drugs, each on its own pharmacokinetic chain.

The name format (``morphine+bupivacaine@0.5``: 0.5 mg of bupivacaine per mg of morphine) is
defined here, at the bottom of the layers, so the patient model can split what the pump delivers
without knowing the drug library; :mod:`itdd.drugs.mixture` builds on it (library checks, labels).

:func:`step_mix` is :meth:`PatientSim._step` for a mixture: every chain moves by the same exact
step, each drug's chain forced by its share of the flow.  A single-drug name never comes here
(single-drug runs are unchanged bit for bit).
"""

from __future__ import annotations

from functools import cache
from math import exp, expm1
from typing import TYPE_CHECKING

from ..errors import InputError
from . import parameters as P

if TYPE_CHECKING:
    from .sim import PatientSim

SEP, AT = "+", "@"
H_PER_DAY = 24.0
_NO_FORCING = (0.0, 0.0)


def is_mixture(name: str) -> bool:
    return SEP in name


@cache
def split_mixture(name: str) -> tuple[tuple[str, float], ...]:
    """``((drug, mg per mg of the first drug), ...)``; ``((name, 1.0),)`` for a single drug.
    ``InputError`` (field ``drug``) for a malformed name or a drug without a patient model."""
    if SEP not in name:
        return ((name, 1.0),)
    first, *rest = name.split(SEP)
    out: list[tuple[str, float]] = [(first, 1.0)]
    for part in rest:
        drug, _, ratio_text = part.partition(AT)
        try:
            ratio = float(ratio_text)
        except ValueError:
            raise InputError("drug", f"{part!r} in {name!r} needs '@' and mg per mg of {first}") from None
        if not ratio > 0 or ratio == float("inf"):
            raise InputError("drug", f"{part!r} in {name!r}: the ratio must be a positive number")
        out.append((drug, ratio))
    for drug, _ in out:
        if drug not in P.DRUGS:
            raise InputError("drug", f"no patient model for '{drug}' (known: {', '.join(sorted(P.DRUGS))})")
    return tuple(out)


@cache
def known(name: str) -> bool:
    """A single drug with a patient model, or a well-formed mixture of such drugs."""
    if SEP not in name:
        return name in P.DRUGS
    try:
        split_mixture(name)
    except InputError:
        return False
    return True


def step_mix(sim: PatientSim, dt_h: float, name: str, r_csf: float, r_tis: float) -> None:
    """Move ``sim`` by ``dt_h`` hours with a mixture flowing: ``r_csf`` / ``r_tis`` are mg/h of the
    first drug; each drug gets its ratio of them (exact, as ``PatientSim._step``)."""
    if dt_h <= 0.0:
        return
    parts = split_mixture(name)
    forcing: dict[object, tuple[float, float]] = {}  # by chain (hashed by identity, as id() was)
    for drug, ratio in parts:
        ch = sim._chains.get(drug)
        if ch is None:
            ch = sim._chain(drug)
        forcing[ch] = (r_csf * ratio, r_tis * ratio)
        dc = sim.delivered_csf_mg
        dc[drug] = dc.get(drug, 0.0) + r_csf * ratio * dt_h
        if r_tis:
            dt_ = sim.delivered_tissue_mg
            dt_[drug] = dt_.get(drug, 0.0) + r_tis * ratio * dt_h
    sim.drug = parts[0][0]
    host = sim._host
    r_oral = sim.oral_mme_per_day / H_PER_DAY
    for ch in sim._chains.values():
        rc, rt = forcing.get(ch, _NO_FORCING)
        ro = r_oral if ch is host else 0.0
        if rc and not rt:
            # A chain forced into the spinal fluid only: the general form below with rt = 0 adds
            # 0.0 * q_in[i] (once more when ro = 0), which leaves every sum bit for bit as it is
            # (S + 0.0*a is S: S cannot be -0.0 when a >= 0, and adding -0.0 changes nothing), so the
            # zero terms are not written (tests/patient/test_step_mix_fast.py checks it bit for bit).
            if ro:
                ch.z = [
                    zi + expm1(li * dt_h) * (zi + rc * a + ro * c)
                    for zi, li, a, c in zip(ch.z, ch.lam, ch.q_in, ch.q_oral)  # noqa: B905
                ]
            else:
                ch.z = [zi + expm1(li * dt_h) * (zi + rc * a) for zi, li, a in zip(ch.z, ch.lam, ch.q_in)]  # noqa: B905
        elif rc or rt or ro:
            qo = ch.q_oral if ro else ch.q_in
            qt = ch.q_tis if rt else ch.q_in
            ch.z = [
                zi + expm1(li * dt_h) * (zi + rc * a + rt * b + ro * c)
                for zi, li, a, b, c in zip(ch.z, ch.lam, ch.q_in, qt, qo, strict=True)
            ]
        else:
            ch.z = [zi * exp(li * dt_h) for zi, li in zip(ch.z, ch.lam, strict=True)]
    o = sim._oral
    if o is None:
        return
    if r_oral:
        o.z = [zi + expm1(li * dt_h) * (zi + r_oral * qi) for zi, li, qi in zip(o.z, o.lam, o.q_in, strict=True)]
    elif o.active:
        o.z = [zi * exp(li * dt_h) for zi, li in zip(o.z, o.lam, strict=True)]
    else:
        return
    o.active = True


__all__ = ["is_mixture", "known", "split_mixture", "step_mix"]
