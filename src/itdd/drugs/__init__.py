"""Drug library (a data file with citations) and guardrails.

The library lives in ``library.yaml`` beside this module: every value is written with its unit,
names its source and carries a confidence tag (``S``, ``S2``, ``U`` or ``assumption``, as in
``clinical-facts.md``).  :func:`load_library` validates a library text completely (unknown keys,
units, sources, and that hard bounds contain soft bounds) and turns it into :class:`Drug` objects
whose numbers are in itdd's canonical units (mg, mg/mL, mg/day, mL, seconds, fractions).

The guardrails that use these bounds are in :mod:`itdd.drugs.guardrails`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import yaml

from .. import quantities as q
from ..errors import InputError
from .mixture import mixture_drug as _mixture_drug  # mixture.py imports this package only inside functions

CONFIDENCE = ("S", "S2", "U", "assumption")
MAX_STABILITY_DAYS = 180  # [S] patient FAQ: refill every 6 to 26 weeks (180 days)


@dataclass(frozen=True, slots=True)
class Cited:
    """One library value: canonical number, the text as written, its source and confidence."""

    value: float
    text: str
    source: str
    confidence: str

    @property
    def verified(self) -> bool:
        return self.confidence in ("S", "S2")


@dataclass(frozen=True, slots=True)
class Bounds:
    """Hard bounds contain soft bounds (LoopKit Guardrail). Any bound may be absent."""

    hard_min: Cited | None = None
    soft_min: Cited | None = None
    soft_max: Cited | None = None
    hard_max: Cited | None = None

    def classify(self, value: float, eps: float = 1e-12) -> tuple[str, str, Cited | None]:
        """(level, side, limit): level is ``ok``, ``soft`` or ``hard``; side ``low``/``high``/``""``."""
        tol = eps * max(1.0, abs(value))
        if self.hard_min is not None and value < self.hard_min.value - tol:
            return "hard", "low", self.hard_min
        if self.hard_max is not None and value > self.hard_max.value + tol:
            return "hard", "high", self.hard_max
        if self.soft_min is not None and value < self.soft_min.value - tol:
            return "soft", "low", self.soft_min
        if self.soft_max is not None and value > self.soft_max.value + tol:
            return "soft", "high", self.soft_max
        return "ok", "", None


@dataclass(frozen=True)
class Drug:
    name: str
    dose_unit: str  # "mg" or "mcg": how clinicians write doses of this drug
    drug_class: str = ""
    usual_concentrations: tuple[Cited, ...] = ()
    concentration: Bounds = field(default_factory=Bounds)
    starting_dose: tuple[Cited, Cited] | None = None  # mg/day
    daily_dose: Bounds = field(default_factory=Bounds)  # mg/day
    bolus_dose: Bounds | None = None  # mg
    max_increase: Bounds | None = None  # fraction per change
    max_increase_amount: Bounds | None = None  # mg/day per change
    min_interval: Bounds | None = None  # seconds between increases
    stability_days: Cited | None = None
    stability_days_undiluted: Cited | None = None
    trial_bolus: tuple[Cited, Cited] | None = None  # mg
    #: a mixture (drugs/mixture.py): each added drug and its mg per mg of this (the primary) drug;
    #: empty for a single drug.  The bounds above are the primary drug's.
    components: tuple[tuple[Drug, float], ...] = ()

    @property
    def primary(self) -> str:
        """The primary drug's name (the name itself for a single drug)."""
        return self.name.split("+", 1)[0]

    @property
    def placebo(self) -> bool:
        return self.drug_class == "placebo"

    def stability_for(self, conc_mg_per_ml: float) -> Cited | None:
        """In-pump stability at a concentration: the undiluted value when it is a usual strength."""
        if self.stability_days_undiluted is not None and any(
            math.isclose(c.value, conc_mg_per_ml, rel_tol=1e-9) for c in self.usual_concentrations
        ):
            return self.stability_days_undiluted
        return self.stability_days

    def fmt_dose_rate(self, mg_per_day: float) -> str:
        return q.fmt_dose_rate(mg_per_day, self.dose_unit)

    def fmt_amount(self, mg: float) -> str:
        return q.fmt_amount(mg, self.dose_unit)

    def fmt_concentration(self, mg_per_ml: float) -> str:
        return q.fmt_concentration(mg_per_ml, self.dose_unit)


@dataclass(frozen=True)
class DeviceLimits:
    low_reservoir_alarm: Bounds  # mL
    ptm_max_per_day: Bounds  # count
    ptm_lockout: Bounds  # seconds
    ptm_duration: Bounds  # seconds
    max_refill_interval: Cited  # seconds
    flow_accuracy_spec: Cited  # fraction
    clock_error_tolerance: Cited  # seconds
    discrepancy_threshold: dict[str, Cited]  # model id -> mL


@dataclass(frozen=True)
class Library:
    drugs: dict[str, Drug]
    device: DeviceLimits
    sources: dict[str, str]


# ---- loading -------------------------------------------------------------------------------------


def _count(text: object) -> float:
    if isinstance(text, bool) or not isinstance(text, int):
        raise q.UnitError(f"expected a whole number, got {text!r}")
    return float(text)


def _days(text: object) -> float:
    value = _count(text)
    if not 1 <= value <= MAX_STABILITY_DAYS:
        raise q.UnitError(f"{int(value)} days is outside 1..{MAX_STABILITY_DAYS} days")
    return value


Parser = Callable[[object], float]


class _Reader:
    def __init__(self, sources: dict[str, str], where: str) -> None:
        self.sources = sources
        self.where = where

    def fail(self, path: str, message: str) -> InputError:
        return InputError(f"{self.where}: {path}", message)

    def mapping(
        self, node: object, path: str, allowed: set[str], required: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise self.fail(path, "expected a mapping")
        for k in node:
            if k not in allowed:
                raise self.fail(f"{path}.{k}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for k in sorted(required - set(node)):
            raise self.fail(f"{path}.{k}", "required key is missing")
        return node

    def cited(self, node: object, path: str, parse: Parser) -> Cited:
        m = self.mapping(node, path, {"value", "source", "confidence", "note"}, {"value", "source", "confidence"})
        source, conf = m["source"], m["confidence"]
        if source not in self.sources:
            raise self.fail(f"{path}.source", f"unknown source {source!r} (define it under 'sources')")
        if conf not in CONFIDENCE:
            raise self.fail(f"{path}.confidence", f"{conf!r} is not one of {', '.join(CONFIDENCE)}")
        try:
            value = parse(m["value"])
        except q.UnitError as exc:
            raise self.fail(f"{path}.value", str(exc)) from None
        return Cited(value, str(m["value"]), source, conf)

    def cited_list(self, node: object, path: str, parse: Parser) -> tuple[Cited, ...]:
        m = self.mapping(node, path, {"value", "source", "confidence", "note"}, {"value", "source", "confidence"})
        if not isinstance(m["value"], list) or not m["value"]:
            raise self.fail(f"{path}.value", "expected a non-empty list")
        return tuple(
            self.cited({**m, "value": v, "note": None}, f"{path}.value[{i}]", parse) for i, v in enumerate(m["value"])
        )

    def bounds(self, node: object, path: str, parse: Parser) -> Bounds:
        m = self.mapping(node, path, {"hard_min", "soft_min", "soft_max", "hard_max"})
        if not m:
            raise self.fail(path, "needs at least one bound")
        b = Bounds(**{k: self.cited(v, f"{path}.{k}", parse) for k, v in m.items()})
        order = [(k, getattr(b, k)) for k in ("hard_min", "soft_min", "soft_max", "hard_max")]
        present = [(k, c) for k, c in order if c is not None]
        for (k1, c1), (k2, c2) in pairwise(present):
            if c1.value > c2.value + 1e-12:
                raise self.fail(
                    f"{path}.{k2}", f"{c2.text} is below {k1} {c1.text}: hard bounds must contain soft ones"
                )
        return b

    def pair(self, node: object, path: str, parse: Parser) -> tuple[Cited, Cited]:
        m = self.mapping(node, path, {"min", "max"}, {"min", "max"})
        lo, hi = self.cited(m["min"], f"{path}.min", parse), self.cited(m["max"], f"{path}.max", parse)
        if lo.value > hi.value:
            raise self.fail(f"{path}.max", f"{hi.text} is below the minimum {lo.text}")
        return lo, hi


_DRUG_KEYS = {
    "dose_unit",
    "class",
    "usual_concentrations",
    "concentration",
    "starting_dose",
    "daily_dose",
    "bolus_dose",
    "titration",
    "stability_days",
    "stability_days_undiluted",
    "trial_bolus",
}


def _drug(r: _Reader, name: str, node: object) -> Drug:
    path = f"drugs.{name}"
    m = r.mapping(node, path, _DRUG_KEYS, {"dose_unit", "class", "concentration", "daily_dose", "stability_days"})
    if m["dose_unit"] not in ("mg", "mcg"):
        raise r.fail(f"{path}.dose_unit", f"{m['dose_unit']!r} must be mg or mcg")
    conc = r.bounds(m["concentration"], f"{path}.concentration", q.parse_concentration_mg_per_ml)
    if conc.hard_min is None or conc.hard_max is None:
        raise r.fail(f"{path}.concentration", "needs hard_min and hard_max (concentrations outside are refused)")
    daily = r.bounds(m["daily_dose"], f"{path}.daily_dose", q.parse_dose_rate_mg_per_day)
    if daily.hard_max is None:
        raise r.fail(f"{path}.daily_dose", "needs a hard_max")
    usual = (
        r.cited_list(m["usual_concentrations"], f"{path}.usual_concentrations", q.parse_concentration_mg_per_ml)
        if "usual_concentrations" in m
        else ()
    )
    for i, c in enumerate(usual):
        if conc.classify(c.value)[0] == "hard":
            raise r.fail(f"{path}.usual_concentrations.value[{i}]", f"{c.text} is outside the concentration bounds")
    starting = (
        r.pair(m["starting_dose"], f"{path}.starting_dose", q.parse_dose_rate_mg_per_day)
        if "starting_dose" in m
        else None
    )
    if starting is not None and starting[1].value > daily.hard_max.value:
        raise r.fail(f"{path}.starting_dose.max", "is above the daily-dose hard limit")
    max_inc = max_amount = min_interval = None
    if "titration" in m:
        t = r.mapping(
            m["titration"],
            f"{path}.titration",
            {"max_increase", "max_increase_amount", "min_interval"},
            {"max_increase", "min_interval"},
        )
        max_inc = r.bounds(t["max_increase"], f"{path}.titration.max_increase", q.parse_fraction)
        if "max_increase_amount" in t:
            max_amount = r.bounds(
                t["max_increase_amount"], f"{path}.titration.max_increase_amount", q.parse_dose_rate_mg_per_day
            )
        min_interval = r.bounds(t["min_interval"], f"{path}.titration.min_interval", q.parse_duration_s)
    return Drug(
        name=name,
        dose_unit=m["dose_unit"],
        drug_class=str(m["class"]),
        usual_concentrations=usual,
        concentration=conc,
        starting_dose=starting,
        daily_dose=daily,
        bolus_dose=r.bounds(m["bolus_dose"], f"{path}.bolus_dose", q.parse_amount_mg) if "bolus_dose" in m else None,
        max_increase=max_inc,
        max_increase_amount=max_amount,
        min_interval=min_interval,
        stability_days=r.cited(m["stability_days"], f"{path}.stability_days", _days),
        stability_days_undiluted=(
            r.cited(m["stability_days_undiluted"], f"{path}.stability_days_undiluted", _days)
            if "stability_days_undiluted" in m
            else None
        ),
        trial_bolus=r.pair(m["trial_bolus"], f"{path}.trial_bolus", q.parse_amount_mg) if "trial_bolus" in m else None,
    )


def _device(r: _Reader, node: object) -> DeviceLimits:
    keys = {
        "low_reservoir_alarm",
        "ptm_max_per_day",
        "ptm_lockout",
        "ptm_duration",
        "max_refill_interval",
        "flow_accuracy_spec",
        "clock_error_tolerance",
        "discrepancy_threshold",
    }
    m = r.mapping(node, "device", keys, keys)
    thresholds = r.mapping(m["discrepancy_threshold"], "device.discrepancy_threshold", set(_model_ids()))
    interval = r.cited(m["max_refill_interval"], "device.max_refill_interval", q.parse_duration_s)
    if interval.value > MAX_STABILITY_DAYS * q.SECONDS_PER_DAY:
        raise r.fail("device.max_refill_interval", f"must be at most {MAX_STABILITY_DAYS} days")
    return DeviceLimits(
        low_reservoir_alarm=r.bounds(m["low_reservoir_alarm"], "device.low_reservoir_alarm", q.parse_volume_ml),
        ptm_max_per_day=r.bounds(m["ptm_max_per_day"], "device.ptm_max_per_day", _count),
        ptm_lockout=r.bounds(m["ptm_lockout"], "device.ptm_lockout", q.parse_duration_s),
        ptm_duration=r.bounds(m["ptm_duration"], "device.ptm_duration", q.parse_duration_s),
        max_refill_interval=interval,
        flow_accuracy_spec=r.cited(m["flow_accuracy_spec"], "device.flow_accuracy_spec", q.parse_fraction),
        clock_error_tolerance=r.cited(m["clock_error_tolerance"], "device.clock_error_tolerance", q.parse_duration_s),
        discrepancy_threshold={
            k: r.cited(v, f"device.discrepancy_threshold.{k}", q.parse_volume_ml) for k, v in thresholds.items()
        },
    )


def _model_ids() -> list[str]:
    from ..pump.models import MODELS  # local: keeps the import graph of itdd.drugs small

    return list(MODELS)


def load_library(text: str, where: str = "library.yaml") -> Library:
    """Parse and validate a drug-library text; raises InputError naming the key at fault."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise InputError(where, "not valid YAML") from None
    if not isinstance(raw, dict):
        raise InputError(where, "expected a mapping with 'sources', 'drugs' and 'device'")
    for k in raw:
        if k not in ("sources", "drugs", "device"):
            raise InputError(f"{where}: {k}", "unknown key (allowed: device, drugs, sources)")
    for k in ("sources", "drugs", "device"):
        if k not in raw:
            raise InputError(f"{where}: {k}", "required key is missing")
    sources = raw["sources"]
    if not isinstance(sources, dict) or not all(isinstance(v, str) and v.strip() for v in sources.values()):
        raise InputError(f"{where}: sources", "expected a mapping of source id to citation text")
    r = _Reader(sources, where)
    drugs_node = raw["drugs"]
    if not isinstance(drugs_node, dict) or not drugs_node:
        raise InputError(f"{where}: drugs", "expected a mapping of drug name to entry")
    drugs = {str(name): _drug(r, str(name), entry) for name, entry in drugs_node.items()}
    return Library(drugs, _device(r, raw["device"]), dict(sources))


@cache
def _bundled() -> Library:
    text = resources.files(__package__).joinpath("library.yaml").read_text(encoding="utf-8")
    return load_library(text)


def library() -> dict[str, Drug]:
    return _bundled().drugs


def device_limits() -> DeviceLimits:
    return _bundled().device


def sources() -> dict[str, str]:
    return _bundled().sources


def get_drug(name: str, field: str = "drug") -> Drug:
    """A library drug, or a mixture named as :mod:`itdd.drugs.mixture` writes it
    (``morphine+bupivacaine@0.5``: 0.5 mg of bupivacaine per mg of morphine)."""
    lib = library()
    if "+" in name and name not in lib:
        return _mixture_drug(name, field)
    if name not in lib:
        raise InputError(field, f"'{name}' is not in the drug library (known: {', '.join(sorted(lib))})")
    return lib[name]
