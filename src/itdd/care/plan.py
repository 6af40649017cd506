"""The care pathway plan (a scenario's ``pathway`` block) and the scenario's ``patient`` block.

Every quantity is a string with its unit, parsed by :mod:`itdd.quantities`.  The models are
strict (unknown keys are refused) and have defaults, so ``PathwayPlan()`` is the standard
intrathecal morphine pathway documented in ``docs/care.md``.  This module imports nothing from
:mod:`itdd.sim` (the scenario schema imports it).

Parse once: the text stays the model's input and output (same format, errors and JSON Schema),
and each quantity is parsed once, when the model is validated, into a number that a typed
property with the unit in its name returns (``TrialPlan.washout`` -> ``TrialPlan.washout_s``).
Below this boundary (the pathway) nothing calls ``parse_*``.  ``model_copy(update=...)``
validates the update, so a copied plan never carries numbers of its old text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from .. import quantities as q
from ..errors import InputError
from ..timeunits import SECONDS_PER_HOUR

_check = q.unit_validator


Amount = Annotated[str, AfterValidator(_check(q.parse_amount_mg)), Field(examples=["0.5 mg"])]
DoseRate = Annotated[str, AfterValidator(_check(q.parse_dose_rate_mg_per_day)), Field(examples=["0.5 mg/day"])]
Concentration = Annotated[str, AfterValidator(_check(q.parse_concentration_mg_per_ml)), Field(examples=["10 mg/mL"])]
Volume = Annotated[str, AfterValidator(_check(q.parse_volume_ml)), Field(examples=["2 mL"])]
Duration = Annotated[str, AfterValidator(_check(q.parse_duration_s)), Field(examples=["7d", "45min"])]
Length = Annotated[str, AfterValidator(_check(q.parse_length_cm)), Field(examples=["50 cm"])]
Percent = Annotated[str, AfterValidator(_check(q.parse_fraction)), Field(examples=["25%"])]
DateTime = Annotated[str, AfterValidator(_check(q.parse_datetime)), Field(examples=["2026-01-05T08:00:00+01:00"])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: text field -> its parser: parsed once at validation into ``_num`` (read by typed properties)
    _PARSED: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    _num: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _parse_once(self) -> Self:
        values = {name: getattr(self, name) for name in self._PARSED}
        self._num = {name: None if v is None else self._PARSED[name](v) for name, v in values.items()}
        return self

    def _parsed(self, name: str) -> Any:
        """The number parsed from the text field ``name`` at validation (read without pydantic's
        private-attribute lookup: the pathway reads some at every visit)."""
        private = self.__pydantic_private__
        assert private is not None
        return private["_num"][name]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, validated again (so the parsed numbers follow the new text)."""
        if not update:
            return super().model_copy(deep=deep)
        data = {name: getattr(self, name) for name in self.model_fields_set} | dict(update)
        return type(self).model_validate(data)


class TrialPlan(Strict):
    """The screening trial."""

    method: Literal["single_bolus", "multiple_bolus", "continuous_infusion"] = "multiple_bolus"
    washout: Duration = Field(
        default="7d", description="Oral opioids stopped this long before the trial ('0d': none; 1-2 weeks usual)."
    )
    doses: list[Amount] = Field(
        default_factory=lambda: ["0.5 mg", "1 mg"],
        min_length=1,
        max_length=5,
        description=(
            "Intrathecal bolus doses; multiple_bolus gives them on successive days until one succeeds "
            "(default 0.5 mg then 1 mg); single_bolus takes one (default 0.5 mg)."
        ),
    )
    infusion: DoseRate = Field(default="0.5 mg/day", description="continuous_infusion: rate via a temporary catheter.")
    infusion_duration: Duration = Field(default="3d", description="continuous_infusion: how long.")

    _PARSED = {
        "washout": q.parse_duration_s,
        "infusion": q.parse_dose_rate_mg_per_day,
        "infusion_duration": q.parse_duration_s,
        "doses": lambda ds: tuple(q.parse_amount_mg(d) for d in ds),
    }

    @property
    def washout_s(self) -> float:
        return float(self._parsed("washout"))

    @property
    def infusion_mg_per_day(self) -> float:
        return float(self._parsed("infusion"))

    @property
    def infusion_duration_s(self) -> float:
        return float(self._parsed("infusion_duration"))

    @model_validator(mode="after")
    def _sane(self) -> TrialPlan:
        if self.method == "single_bolus" and "doses" in self.model_fields_set and len(self.doses) != 1:
            raise ValueError("single_bolus takes exactly one dose in 'doses'")
        for d in self.doses:
            if q.parse_amount_mg(d) <= 0:
                raise ValueError("every trial dose must be more than 0 mg")
        if q.parse_duration_s(self.washout) > 28 * q.SECONDS_PER_DAY:
            raise ValueError("washout longer than 28 days is not a screening practice (1-2 weeks usual)")
        if self.method == "continuous_infusion":
            if q.parse_dose_rate_mg_per_day(self.infusion) <= 0:
                raise ValueError("infusion must be more than 0 mg/day")
            dur = q.parse_duration_s(self.infusion_duration)
            if not SECONDS_PER_HOUR <= dur <= 14 * q.SECONDS_PER_DAY:
                raise ValueError("infusion_duration must be between 1h and 14d")
        return self

    def bolus_doses_mg(self) -> list[float]:
        """The bolus doses in mg (single_bolus without 'doses': 0.5 mg)."""
        if self.method == "single_bolus" and "doses" not in self.model_fields_set:
            return [0.5]
        return list(self._parsed("doses"))


class ImplantPlan(Strict):
    """The implant operation."""

    delay: Duration = Field(default="14d", description="From a successful trial to the operation.")
    pump_model: Literal["synchromed-ii-20", "synchromed-ii-40"] = "synchromed-ii-40"
    catheter_tip: str = Field(default="T10", min_length=2, max_length=4, description="Vertebral level of the tip.")
    catheter_length: Length = "50 cm"
    concentration: Concentration | None = Field(
        default=None, description="Initial drug concentration; default: chosen from the starting dose."
    )
    low_reservoir_alarm: Volume = "2 mL"
    battery_used: Percent = Field(
        default="0%", description="Share of the battery's life to ERI already used (a what-if: an old pump)."
    )

    _PARSED = {
        "delay": q.parse_duration_s,
        "catheter_length": q.parse_length_cm,
        "concentration": q.parse_concentration_mg_per_ml,
        "low_reservoir_alarm": q.parse_volume_ml,
        "battery_used": q.parse_fraction,
    }

    @property
    def delay_s(self) -> float:
        return float(self._parsed("delay"))

    @property
    def catheter_length_cm(self) -> float:
        return float(self._parsed("catheter_length"))

    @property
    def concentration_mg_per_ml(self) -> float | None:
        """None: chosen from the starting dose."""
        c = self._parsed("concentration")
        return None if c is None else float(c)

    @property
    def low_reservoir_alarm_ml(self) -> float:
        return float(self._parsed("low_reservoir_alarm"))

    @property
    def battery_used_fraction(self) -> float:
        return float(self._parsed("battery_used"))

    @model_validator(mode="after")
    def _battery(self) -> ImplantPlan:
        if not 0 <= q.parse_fraction(self.battery_used) < 1:
            raise ValueError("battery_used must be at least 0% and below 100%")
        return self


class TitrationPlan(Strict):
    """Titration and follow-up visits."""

    weekly_visits: int = Field(default=12, ge=0, le=52, description="Weekly titration visits after the implant.")
    visit_interval: Duration = Field(default="30d", description="Then a clinic visit this often.")
    wean_step: Percent = Field(
        default="25%", description="Oral opioids cut by this share of the home dose per visit with pain controlled."
    )
    self_check: Duration = Field(
        default="7d", description="How often the patient weighs whether to call the clinic about returning pain."
    )

    _PARSED = {"visit_interval": q.parse_duration_s, "wean_step": q.parse_fraction, "self_check": q.parse_duration_s}

    @property
    def visit_interval_s(self) -> float:
        return float(self._parsed("visit_interval"))

    @property
    def wean_step_fraction(self) -> float:
        return float(self._parsed("wean_step"))

    @property
    def self_check_s(self) -> float:
        return float(self._parsed("self_check"))


class PtmPlan(Strict):
    """Patient-activated boluses (personal therapy manager), decided at activity breakpoints."""

    dose: Amount = "0.1 mg"
    duration: Duration = "10min"
    lockout: Duration = "3h"
    max_per_day: int = Field(default=4, ge=1, le=24)
    pain_threshold: float = Field(default=5.0, ge=0, le=10, description="Request a bolus when pain (NRS) is at least.")

    _PARSED = {"dose": q.parse_amount_mg, "duration": q.parse_duration_s, "lockout": q.parse_duration_s}

    @property
    def dose_mg(self) -> float:
        return float(self._parsed("dose"))

    @property
    def duration_s(self) -> float:
        return float(self._parsed("duration"))

    @property
    def lockout_s(self) -> float:
        return float(self._parsed("lockout"))


PathwayEventType = Literal[
    "mri",
    "catheter_fault",
    "pump_failure",
    "infection",
    "granuloma",
    "therapy_off",
    "therapy_on",
    "saline",
    "explant",
]


class PathwayEvent(Strict):
    """A scripted event after the implant (in addition to complications from the hazard models)."""

    after_implant: Duration = Field(description="When, counted from the implant operation.")
    type: PathwayEventType
    kind: Literal["kink", "occlusion", "leak", "disconnection", "migration"] | None = Field(
        default=None, description="catheter_fault: which fault."
    )
    leak_fraction: Percent = "50%"
    duration: Duration = Field(default="45min", description="mri: time in the scanner.")
    resume_delay: Duration = Field(default="0min", description="mri: motor restart delay after the field.")

    _PARSED = {
        "after_implant": q.parse_duration_s,
        "leak_fraction": q.parse_fraction,
        "duration": q.parse_duration_s,
        "resume_delay": q.parse_duration_s,
    }

    @property
    def after_implant_s(self) -> float:
        return float(self._parsed("after_implant"))

    @property
    def leak_fraction_of_flow(self) -> float:
        return float(self._parsed("leak_fraction"))

    @property
    def duration_s(self) -> float:
        return float(self._parsed("duration"))

    @property
    def resume_delay_s(self) -> float:
        return float(self._parsed("resume_delay"))

    @model_validator(mode="after")
    def _kind(self) -> PathwayEvent:
        if self.type == "catheter_fault" and self.kind is None:
            raise ValueError("catheter_fault needs 'kind'")
        if self.type != "catheter_fault" and self.kind is not None:
            raise ValueError(f"'kind' does not belong to {self.type}")
        return self


#: Drugs that can go through the whole pathway (trial, implant, titration, refills): PACC 2012/2017
#: first-line and second-line intrathecal analgesics [S2: Deer 2012/2017, via docs/drug-library.md].
PathwayDrug = Literal["morphine", "hydromorphone", "fentanyl", "sufentanil", "ziconotide"]
#: Drugs PACC adds to an opioid (or ziconotide) in the same reservoir.
AdjunctDrug = Literal["bupivacaine", "clonidine"]
#: The added drug's default daily dose at the start: PACC 2017 starting ranges [U, verify]
#: bupivacaine 1-4 mg/day, clonidine 40-100 mcg/day (docs/drug-library.md); the low middle.
ADJUNCT_START = {"bupivacaine": "2 mg/day", "clonidine": "50 mcg/day"}


class AdjunctPlan(Strict):
    """A drug added to the primary drug in the reservoir (a mixture, drugs/mixture.py)."""

    drug: AdjunctDrug
    dose: DoseRate | None = Field(
        default=None, description="Its daily dose at the implant (default: bupivacaine 2 mg/day, clonidine 50 mcg/day)."
    )

    _PARSED = {"dose": q.parse_dose_rate_mg_per_day}

    @property
    def dose_mg_per_day(self) -> float:
        d = self._parsed("dose")
        return float(d) if d is not None else q.parse_dose_rate_mg_per_day(ADJUNCT_START[self.drug])

    @model_validator(mode="after")
    def _positive(self) -> AdjunctPlan:
        if self.dose is not None and q.parse_dose_rate_mg_per_day(self.dose) <= 0:
            raise ValueError("dose must be more than 0 mg/day")
        return self


def _drug_defaults(data: Any) -> Any:
    """Trial doses for a drug other than morphine: the morphine defaults (0.5 mg then 1 mg; infusion
    0.5 mg/day) divided by the drug's intrathecal potency (patient/parameters.py), unless given.
    So hydromorphone (5:1) 0.1 then 0.2 mg, fentanyl (10:1) 50 then 100 mcg, ziconotide (200:1)
    2.5 then 5 mcg (the Prialt/PACC bolus trial range is 1-5 mcg)."""
    if not isinstance(data, dict) or data.get("drug", "morphine") == "morphine":
        return data
    from ..patient.parameters import DRUGS

    pk = DRUGS.get(str(data.get("drug")))
    if pk is None:
        return data
    potency = pk.it_potency.value
    trial = data.get("trial", {})
    if isinstance(trial, TrialPlan):
        trial = {k: getattr(trial, k) for k in trial.model_fields_set}
    if not isinstance(trial, dict):
        return data
    trial = dict(trial)
    unit = "mcg" if potency >= 10 else "mg"
    if "doses" not in trial:
        base = [0.5] if trial.get("method") == "single_bolus" else [0.5, 1.0]
        trial["doses"] = [q.fmt_amount(b / potency, unit) for b in base]
    if "infusion" not in trial:
        trial["infusion"] = q.fmt_dose_rate(0.5 / potency, unit)
    return {**data, "trial": trial}


class CancerPlan(Strict):
    """Visits for a patient with cancer pain (the population's schedule, care/cancer.py): used instead
    of ``titration``'s weekly visits and interval when the patient has cancer."""

    titration_visits: list[Duration] = Field(
        default_factory=lambda: ["3d", "6d", "9d", "12d", "15d", "21d", "28d"],
        min_length=1,
        max_length=30,
        description=(
            "Titration visits after the implant (default every 3 days for two weeks, then weekly to a month: "
            "the drug library's 72 h between increases lets each visit take a 50% step)."
        ),
    )
    visit_interval: Duration = Field(default="14d", description="Then a clinic visit this often (2-4 weeks usual).")
    complications: bool = Field(
        default=True, description="Cancer-specific complications and new pain from the disease (care/cancer.py)."
    )

    _PARSED = {
        "visit_interval": q.parse_duration_s,
        "titration_visits": lambda ds: tuple(q.parse_duration_s(d) for d in ds),
    }

    @property
    def visit_interval_s(self) -> float:
        return float(self._parsed("visit_interval"))

    def visit_times_s(self, implant_s: float, end_s: float) -> list[tuple[float, str]]:
        """Clinic visits from the implant to ``end_s``: ``(time s, "titration" | "follow-up")``."""
        early = sorted(self._parsed("titration_visits"))
        out = [(implant_s + a, "titration") for a in early if implant_s + a <= end_s]
        tv = implant_s + early[-1] + self.visit_interval_s
        while tv <= end_s:
            out.append((tv, "follow-up"))
            tv += self.visit_interval_s
        return out

    @model_validator(mode="after")
    def _sane(self) -> CancerPlan:
        if q.parse_duration_s(self.visit_interval) < q.SECONDS_PER_DAY:
            raise ValueError("visit_interval must be at least 1 day")
        for d in self.titration_visits:
            if not 0 < q.parse_duration_s(d) <= 365 * q.SECONDS_PER_DAY:
                raise ValueError("titration_visits must be after the implant and within a year")
        return self


class PathwayPlan(Strict):
    """A patient's care pathway: screening, trial, implant, titration and years of follow-up."""

    years: float = Field(default=1.0, gt=0, le=40, description="Follow-up after the implant, in years.")
    start: DateTime = Field(default="2026-01-05T08:00:00+00:00", description="Screening visit (UTC offset fixed).")
    drug: PathwayDrug = Field(default="morphine", description="The intrathecal drug (docs/drug-library.md).")
    adjunct: AdjunctPlan | None = Field(
        default=None, description="A drug added in the same reservoir (bupivacaine or clonidine; PACC)."
    )
    drug_changes: bool = Field(
        default=True,
        description="The clinician may switch the drug or add an adjunct (PACC; care/clinician/drug_change.py).",
    )
    ziconotide_schedule: Literal["pacc", "label"] = Field(
        default="pacc",
        description="Ziconotide titration: PACC's slow +1.2 mcg/day a week, or the label's +2.4 mcg/day.",
    )
    trial: TrialPlan = TrialPlan()
    implant: ImplantPlan = ImplantPlan()
    titration: TitrationPlan = TitrationPlan()
    late_refill_days: float = Field(default=0.0, ge=0, le=120, description="Refills happen this many days late.")
    hazards: bool = Field(default=True, description="Draw follow-up complications from the hazard models.")
    side_effect_reactions: bool = Field(
        default=True,
        description="Side effects found at visits change the course: dose lowered, drug switched, explant "
        "(care/steps/side_effect_steps.py); off: found only at the end of the follow-up. The explant at the "
        "patient's wish comes with hazards.",
    )
    population: Literal["non_cancer", "cancer"] = Field(
        default="non_cancer", description="Who cohorts sample (patient/population.py POPULATIONS)."
    )
    cancer: CancerPlan = Field(
        default_factory=CancerPlan, description="Visits and complications for a patient with cancer pain."
    )
    policy: Literal["conventional", "low_dose"] = Field(
        default="conventional", description="Clinician policy (care/policy.py): titration targets, ceiling, weaning."
    )
    mortality: bool = Field(
        default=True,
        description="Patients can die after the implant (life table and therapy-related deaths); only with hazards.",
    )
    surgical_complications: bool = Field(default=True, description="Draw trial and implant complications.")
    ptm: PtmPlan | None = None
    events: list[PathwayEvent] = Field(default_factory=list)

    _PARSED = {"start": q.parse_datetime}

    @model_validator(mode="before")
    @classmethod
    def _defaults_for_drug(cls, data: Any) -> Any:
        return _drug_defaults(data)

    @property
    def start_s(self) -> float:
        """The screening visit, epoch seconds."""
        return q.to_epoch_s(self._parsed("start"))

    @property
    def utc_offset_s(self) -> int:
        """The start's fixed UTC offset, seconds."""
        return q.offset_of(self._parsed("start"))


class PatientSpec(Strict):
    """The scenario's virtual patient: the reference adult or one sampled patient, with overrides."""

    reference: bool = Field(default=False, description="The opioid-naive 70 kg reference adult.")
    seed: int | None = Field(default=None, description="Cohort seed of a sampled patient.")
    index: int = Field(default=0, ge=0, description="Patient number within the cohort.")
    id: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict, description="PatientParams fields to change.")
    population: Literal["non_cancer", "cancer"] = Field(
        default="non_cancer", description="Who a sampled patient is drawn from (patient/population.py POPULATIONS)."
    )

    @model_validator(mode="after")
    def _one(self) -> PatientSpec:
        if self.reference == (self.seed is not None):
            raise ValueError("give either 'reference: true' or a 'seed' (and 'index')")
        return self

    def params(self) -> Any:
        """The :class:`~itdd.patient.PatientParams` (errors name ``patient.<field>``)."""
        from ..patient import PatientParams

        try:
            if self.reference:
                base = PatientParams.reference()
            elif self.population != "non_cancer":
                from ..patient import get_population

                base = PatientParams.sample(self.seed or 0, self.index, population=get_population(self.population))
            else:
                base = PatientParams.sample(self.seed or 0, self.index)
            return base.with_(**self.overrides) if self.overrides else base
        except InputError as exc:
            f = exc.field if exc.field.startswith("patient") else f"patient.overrides.{exc.field}"
            raise type(exc)(f, exc.message) from None
        except TypeError as exc:
            raise InputError("patient.overrides", str(exc)) from None

    def patient_id(self) -> str:
        if self.id:
            return self.id
        return "VP-reference" if self.reference else f"VP-{self.seed}-{self.index:04d}"


__all__ = [
    "AdjunctPlan",
    "CancerPlan",
    "PathwayEvent",
    "PathwayPlan",
    "PatientSpec",
    "PtmPlan",
    "TitrationPlan",
    "TrialPlan",
]
