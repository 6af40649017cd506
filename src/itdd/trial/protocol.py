"""The trial protocol file (``itdd trial PROTOCOL.yaml``): population, arms, endpoints.

A protocol is parsed once, strictly (unknown keys refused), and every error is one
:class:`~itdd.errors.InputError` naming the field, e.g. ``arms[1].drug``.  An arm is a care plan:
every field of :class:`itdd.care.plan.PathwayPlan` except ``years`` and ``start`` (which the
protocol sets for all arms), plus ``name``, ``policy`` and the ``catheter_tip`` shortcut.
``policy`` and the endpoints are registries (:data:`POLICIES`, :mod:`itdd.trial.endpoints`), so
new clinician policies and endpoints slot in without a format change.  docs/trials.md documents
the format; docs/trial-protocol.schema.json is generated from these models
(``tests/trial/test_protocol.py`` keeps it current).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..care.clinician import POLICIES as CLINICIAN_POLICIES
from ..care.plan import (
    AdjunctPlan,
    CancerPlan,
    ImplantPlan,
    PathwayDrug,
    PathwayEvent,
    PathwayPlan,
    PtmPlan,
    TitrationPlan,
    TrialPlan,
)
from ..errors import InputError
from .endpoints import ENDPOINTS, available_names

__all__ = [
    "MAX_PATIENTS_PER_ARM",
    "MAX_PATIENT_YEARS",
    "PATHWAY_DRUGS",
    "POLICIES",
    "Arm",
    "Endpoints",
    "PopulationSpec",
    "Protocol",
    "load_protocol",
    "parse_protocol",
]

MAX_PATIENTS_PER_ARM = 100_000
MAX_ARMS = 8
#: all arms together (assumption: what a few machines finish in hours; the cohort's own cap)
MAX_PATIENT_YEARS = 1_000_000.0

#: policy names that are another policy under an older name
POLICY_ALIASES = {"standard": "conventional"}
#: the policies an arm can name: name -> (available, what it is / why not yet).  The registry is
#: :data:`itdd.care.clinician.POLICIES` (docs/care.md "Clinician policies"), plus the aliases.
POLICIES: dict[str, tuple[bool, str]] = {name: (True, p.description) for name, p in CLINICIAN_POLICIES.items()} | {
    "standard": (True, "the name protocols used before the policies existed: the same as conventional"),
}
#: populations (itdd.patient.population.POPULATIONS)
PopulationKind = Literal["non_cancer", "cancer"]
#: drugs the care pathway can run (the plan's ``drug`` field, care/plan.py PathwayDrug)
PATHWAY_DRUGS = get_args(PathwayDrug)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _order(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class PopulationSpec(_Strict):
    """Who is enrolled: the default referred population, with inclusion ranges and a sex mix."""

    kind: PopulationKind = Field(
        default="non_cancer", description='non_cancer or cancer (docs/patient-model.md "Populations").'
    )
    female_share: float | None = Field(default=None, ge=0, le=1, description="Share of women (default 0.55).")
    age_years: Range | None = Field(default=None, description="Inclusion: age range in years.")
    baseline_pain: Range | None = Field(default=None, description="Inclusion: pain (NRS 0-10) without analgesia.")
    oral_mme_per_day: Range | None = Field(default=None, description="Inclusion: home oral opioids, MME/day.")

    @property
    def has_criteria(self) -> bool:
        return any(r is not None for r in (self.age_years, self.baseline_pain, self.oral_mme_per_day))


class Arm(_Strict):
    """One arm: a name and the care plan its patients follow."""

    name: str = Field(min_length=1, max_length=60)
    policy: str = Field(
        default="conventional",
        description=f"Clinician policy: one of {', '.join(POLICIES)} (standard = conventional).",
    )
    drug: str = Field(
        default="morphine",
        description=f"Intrathecal drug: one of {', '.join(PATHWAY_DRUGS)} (docs/care.md 'Drugs').",
    )
    adjunct: AdjunctPlan | None = Field(
        default=None, description="A drug added in the same reservoir (bupivacaine or clonidine; docs/care.md)."
    )
    drug_changes: bool = Field(
        default=True, description="The clinician may switch the drug or add an adjunct (PACC; docs/care.md)."
    )
    catheter_tip: str | None = Field(
        default=None, min_length=2, max_length=4, description="Catheter tip level (shortcut for implant.catheter_tip)."
    )
    trial: TrialPlan = TrialPlan()
    implant: ImplantPlan = Field(default=ImplantPlan(), description="The implant operation (docs/care.md).")
    titration: TitrationPlan = TitrationPlan()
    late_refill_days: float = Field(
        default=0.0, ge=0, le=120, description="Refill policy: refills this many days late."
    )
    hazards: bool = True
    surgical_complications: bool = True
    ptm: PtmPlan | None = Field(default=None, description="Patient-activated boluses (none when absent).")
    events: list[PathwayEvent] = Field(default_factory=list)
    cancer: CancerPlan = Field(
        default_factory=CancerPlan,
        description="Visits and complications for patients with cancer pain (population cancer; docs/cohort.md).",
    )

    def plan(self, years: float, population: str = "non_cancer") -> PathwayPlan:
        implant = self.implant
        if self.catheter_tip is not None:
            implant = implant.model_copy(update={"catheter_tip": self.catheter_tip})
        return PathwayPlan.model_validate(
            {
                "years": years,
                "population": population,
                "policy": POLICY_ALIASES.get(self.policy, self.policy),
                "drug": self.drug,
                **({"adjunct": self.adjunct} if self.adjunct is not None else {}),
                "drug_changes": self.drug_changes,
                "trial": self.trial,
                "implant": implant,
                "titration": self.titration,
                "late_refill_days": self.late_refill_days,
                "hazards": self.hazards,
                "surgical_complications": self.surgical_complications,
                "ptm": self.ptm,
                "events": self.events,
                "cancer": self.cancer,
            }
        )


class Endpoints(_Strict):
    primary: str
    secondary: list[str] = Field(default_factory=list, max_length=30)

    @property
    def all(self) -> list[str]:
        out = [self.primary]
        out += [e for e in self.secondary if e not in out]
        return out


class Protocol(_Strict):
    """A virtual trial: who, how many, how long, which arms, which endpoints."""

    name: str = Field(min_length=1, max_length=120)
    seed: int = Field(ge=0, le=2**63 - 1)
    patients_per_arm: int = Field(ge=1, le=MAX_PATIENTS_PER_ARM)
    years: float = Field(gt=0, le=40, description="Follow-up after the implant, in years.")
    population: PopulationSpec | PopulationKind = "non_cancer"
    paired: bool = Field(default=True, description="Every virtual patient is followed in every arm.")
    arms: list[Arm] = Field(min_length=1, max_length=MAX_ARMS, description="The first arm is the reference.")
    endpoints: Endpoints
    bootstrap_resamples: int = Field(default=1000, ge=100, le=20000, description="For ratio and difference CIs.")

    @property
    def population_spec(self) -> PopulationSpec:
        return self.population if isinstance(self.population, PopulationSpec) else PopulationSpec(kind=self.population)

    @property
    def n_arms(self) -> int:
        return len(self.arms)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("PopulationSpec", "literal['non_cancer','cancer']", "function-after[_order(), Range]"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "protocol"


def _check_semantics(p: Protocol) -> None:
    names = [a.name for a in p.arms]
    for i, a in enumerate(p.arms):
        if names.index(a.name) != i:
            raise InputError(f"arms[{i}].name", f"'{a.name}' is used by arm {names.index(a.name)} too")
        if a.policy not in POLICIES:
            raise InputError(f"arms[{i}].policy", f"unknown policy '{a.policy}' (known: {', '.join(POLICIES)})")
        ok, why = POLICIES[a.policy]
        if not ok:
            raise InputError(f"arms[{i}].policy", f"'{a.policy}' is not available yet: {why}")
        if a.drug not in PATHWAY_DRUGS:
            from ..drugs import library

            known = sorted(library())
            if a.drug in known:
                raise InputError(
                    f"arms[{i}].drug",
                    f"'{a.drug}' is in the drug library but is not a pain pathway drug (the pathway runs: "
                    f"{', '.join(PATHWAY_DRUGS)})",
                )
            runs = ", ".join(PATHWAY_DRUGS)
            raise InputError(f"arms[{i}].drug", f"unknown drug '{a.drug}' (the pathway runs: {runs})")
        try:
            a.plan(p.years, p.population_spec.kind)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InputError(f"arms[{i}].{_where(tuple(err['loc']))}", err["msg"]) from None
    for where, name in [("endpoints.primary", p.endpoints.primary)] + [
        (f"endpoints.secondary[{k}]", n) for k, n in enumerate(p.endpoints.secondary)
    ]:
        e = ENDPOINTS.get(name)
        if e is None:
            raise InputError(where, f"unknown endpoint '{name}' (known: {', '.join(available_names())})")
        if not e.available:
            raise InputError(where, f"'{name}' is not available: {e.unavailable_reason}")
        if p.years * 12 + 1e-9 < e.min_years * 12:
            raise InputError(where, f"'{name}' needs at least {e.min_years:g} years of follow-up (years: {p.years:g})")
    total = p.patients_per_arm * p.years * p.n_arms
    if total > MAX_PATIENT_YEARS:
        raise InputError(
            "patients_per_arm",
            f"{p.patients_per_arm} patients x {p.n_arms} arms x {p.years:g} years = {total:,.0f} patient-years, "
            f"above the limit of {MAX_PATIENT_YEARS:,.0f}",
        )
    pop = p.population_spec
    for fname in ("age_years", "baseline_pain", "oral_mme_per_day"):
        r = getattr(pop, fname)
        for bound in ("min", "max"):
            v = None if r is None else getattr(r, bound)
            if v is not None and not math.isfinite(v):
                raise InputError(f"population.{fname}.{bound}", "must be a finite number")


def parse_protocol(data: Any) -> Protocol:
    """A validated protocol from parsed YAML/JSON; errors name the field."""
    if not isinstance(data, dict):
        raise InputError("protocol", "must be a mapping with name, seed, patients_per_arm, years, arms, endpoints")
    try:
        p = Protocol.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        if err["type"] == "missing":
            msg = "is required"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        raise InputError(_where(loc), msg) from None
    _check_semantics(p)
    return p


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file (YAML or JSON)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("PROTOCOL", f"{path}: no such file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError("PROTOCOL", f"{path} is not valid YAML: {first}") from None
    return parse_protocol(data)


def json_schema() -> dict[str, Any]:
    """The protocol's JSON Schema (docs/trial-protocol.schema.json)."""
    schema = Protocol.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "itdd trial protocol"
    schema["$defs"]["Endpoints"]["properties"]["primary"]["enum"] = available_names()
    schema["$defs"]["Endpoints"]["properties"]["secondary"]["items"]["enum"] = available_names()
    return schema
