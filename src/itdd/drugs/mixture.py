"""Mixtures in the reservoir: a primary drug with one or more drugs added (PACC: bupivacaine or
clonidine added to an opioid).

A mixture has one name that says everything about it::

    morphine+bupivacaine@0.5            0.5 mg of bupivacaine per mg of morphine
    hydromorphone+clonidine@0.02        20 mcg of clonidine per mg of hydromorphone

The pump and its fluid path carry, as for a single drug, a name and one concentration (the
primary drug's, mg/mL); each component's concentration is that concentration times its ratio, and
each component's delivered dose is the primary's delivered dose times its ratio.  A plug-flow
segment therefore carries the vector of concentrations ``conc x (1, ratio_1, ...)``: a refill with
another ratio is another name, so its front travels down the path and reaches the tip exactly as a
concentration change does today (the bridge-bolus arithmetic is unchanged), and a single-drug run
never sees a mixture (bit for bit as before).

:func:`itdd.drugs.get_drug` returns a mixture as a :class:`~itdd.drugs.Drug` with the primary
drug's bounds and its ``components``; :mod:`itdd.drugs.guardrails` checks every component against
its own library limits.  The patient model splits a mixture into its drugs
(:func:`split`); each drug has its own pharmacokinetic chain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from . import Drug

#: Drugs PACC adds to an intrathecal opioid (or to ziconotide) [S2: PACC 2012/2017 algorithm,
#: via docs/drug-library.md]; any library drug other than the primary is accepted.
ADJUNCTS = ("bupivacaine", "clonidine")
SEP, AT = "+", "@"


@dataclass(frozen=True, slots=True)
class Mixture:
    primary: str
    adjuncts: tuple[tuple[str, float], ...]  # (drug, mg per mg of the primary)

    @property
    def name(self) -> str:
        return mixture_name(self.primary, self.adjuncts)

    def concentrations(self, conc_mg_per_ml: float) -> tuple[tuple[str, float], ...]:
        """Each drug's concentration (mg/mL) for the primary's ``conc_mg_per_ml``."""
        return ((self.primary, conc_mg_per_ml), *((d, conc_mg_per_ml * r) for d, r in self.adjuncts))


def mixture_name(primary: str, adjuncts: Iterable[tuple[str, float]]) -> str:
    """The canonical name (``primary`` alone without adjuncts); ratios are written exactly (repr)."""
    parts = [primary] + [f"{d}{AT}{float(r)!r}" for d, r in adjuncts]
    return SEP.join(parts)


def is_mixture(name: str) -> bool:
    return SEP in name


@cache
def parse_mixture(name: str, field: str = "drug") -> Mixture:
    """The mixture a name describes; ``InputError`` naming ``field`` when it is not one."""
    from . import library

    lib = library()
    parts = name.split(SEP)
    primary = parts[0].strip()
    if primary not in lib:
        raise InputError(field, f"'{primary}' is not in the drug library (known: {', '.join(sorted(lib))})")
    adjuncts: list[tuple[str, float]] = []
    for part in parts[1:]:
        drug, _, ratio_text = part.partition(AT)
        drug = drug.strip()
        if drug not in lib:
            raise InputError(field, f"'{drug}' is not in the drug library (known: {', '.join(sorted(lib))})")
        if drug == primary or drug in (d for d, _ in adjuncts):
            raise InputError(field, f"'{drug}' appears twice in the mixture {name!r}")
        try:
            ratio = float(ratio_text)
        except ValueError:
            raise InputError(field, f"'{part}' needs '@' and mg of {drug} per mg of {primary}") from None
        if not math.isfinite(ratio) or ratio <= 0:
            raise InputError(field, f"'{part}': the ratio must be a positive number")
        adjuncts.append((drug, ratio))
    if not adjuncts:
        raise InputError(field, f"{name!r} names no added drug")
    return Mixture(primary, tuple(adjuncts))


@cache
def _mixture_drug(name: str, field: str) -> Drug:
    from . import library

    mix = parse_mixture(name, field)
    lib = library()
    return replace(lib[mix.primary], name=name, components=tuple((lib[d], r) for d, r in mix.adjuncts))


def mixture_drug(name: str, field: str = "drug") -> Drug:
    """The :class:`~itdd.drugs.Drug` of a mixture: the primary drug's bounds, with ``components``."""
    return _mixture_drug(name, field)


@cache
def split(name: str) -> tuple[tuple[str, float], ...]:
    """``(drug, mg per mg of the name's primary)`` for every drug a name delivers: ``((name, 1.0),)``
    for a single drug."""
    if not is_mixture(name):
        return ((name, 1.0),)
    mix = parse_mixture(name)
    return ((mix.primary, 1.0), *mix.adjuncts)


def label(name: str, conc_mg_per_ml: float) -> str:
    """A reader's label: ``morphine 10 mg/mL + bupivacaine 5 mg/mL``."""
    from . import get_drug

    parts = []
    for drug, r in split(name):
        d = get_drug(drug)
        parts.append(f"{drug} {d.fmt_concentration(conc_mg_per_ml * r)}")
    return " + ".join(parts)


__all__ = ["ADJUNCTS", "Mixture", "is_mixture", "label", "mixture_drug", "mixture_name", "parse_mixture", "split"]
