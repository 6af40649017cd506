"""The clinic's bridge to the clinician-programmer workflows (``itdd.programmer``) and guardrails (``itdd.drugs``).

The clinic never re-implements guardrails or refill arithmetic.  It talks to each twin exactly as a clinician
programmer would — a :class:`~itdd.programmer.session.Session` over a
:class:`~itdd.telemetry.commands.DirectLink` — and turns the programmer's results into plain data for the
pages and the API:

* programming: :func:`itdd.programmer.programming.plan_program` (guardrail findings, pending changes side by
  side) and :func:`~itdd.programmer.programming.commit_program` (enforce, one atomic command, read back);
* refill: a preview runs the programmer's whole refill workflow on a *copy* of the twin (so the clinician
  sees the discrepancy, likely causes, bridge bolus and dates before the needle goes in), the commit runs it on
  the twin itself; the volume the clinician *reads* on the syringe is the record's withdrawn volume and its
  discrepancy is assessed with :func:`~itdd.programmer.refill.assess_discrepancy`;
* dates: :func:`~itdd.programmer.refill.schedule_refill` (next refill, low-reservoir alarm);
* patient: :class:`~itdd.programmer.ptm.PatientTherapyManager`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..drugs.guardrails import check_drug
from ..errors import ItddError, SafetyRefusal
from ..programmer import programming as prog
from ..programmer import refill as prefill
from ..programmer.projection import Lead
from ..programmer.ptm import PatientTherapyManager
from ..programmer.session import Session
from ..programmer.status import Interrogation, interrogate, last_increase_s
from ..pump.firmware import PtmSettings
from ..pump.implant import Implant
from ..pump.therapy import Therapy
from ..telemetry.commands import CLINICIAN, PATIENT, DirectLink
from . import twin

KEEP = prog.KEEP


@dataclass
class Message:
    level: str  # info | soft | hard | flag
    field: str
    text: str
    rule: str = ""
    limit: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "field": self.field,
            "text": self.text,
            "rule": self.rule,
            "limit": self.limit,
            "source": self.source,
        }


def _messages(findings: list[Any]) -> list[Message]:
    return [Message(f.level, f.field, f.reason, f.rule, f.limit, f.source) for f in findings if f.level != "ok"]


def session_for(implant: Implant) -> Session:
    return Session(DirectLink(implant, CLINICIAN))


def read(implant: Implant) -> Interrogation:
    """What a programmer reads from the pump (no side effects on the pump)."""
    return interrogate(session_for(implant), side_effects=False)


# ---- programming ---------------------------------------------------------------------------------


@dataclass
class ProgramCheck:
    plan: prog.ProgramPlan
    messages: list[Message]
    changes: list[dict[str, Any]]

    @property
    def hard(self) -> list[Message]:
        return [m for m in self.messages if m.level == "hard"]

    @property
    def soft(self) -> list[Message]:
        hard_fields = {m.field for m in self.hard}
        return [m for m in self.messages if m.level == "soft" and m.field not in hard_fields]


def check_program(
    implant: Implant, therapy: Therapy, ptm: PtmSettings | Any | None, low_reservoir_ml: float | None
) -> ProgramCheck:
    """The programmer's plan: guardrail findings and every pending setting beside its current value."""
    s = session_for(implant)
    it = interrogate(s, side_effects=False)
    plan = prog.plan_program(
        it, therapy, ptm=ptm, low_reservoir_ml=low_reservoir_ml, last_increase_at_s=last_increase_s(s)
    )
    changes = [{"label": c.label, "before": c.current, "after": c.pending, "changed": c.changed} for c in plan.changes]
    return ProgramCheck(plan, _messages(plan.findings), changes)


def commit_program(
    implant: Implant, check: ProgramCheck, *, clinician: str, confirmations: Mapping[str, str]
) -> prog.ProgrammingRecord:
    """Enforce the guardrails and program the twin (raises SafetyRefusal and changes nothing if refused)."""
    return prog.commit_program(session_for(implant), check.plan, clinician=clinician, confirmations=confirmations)


# ---- refill --------------------------------------------------------------------------------------


@dataclass
class RefillPlan:
    messages: list[Message]
    record: dict[str, Any] | None  # the programmer's refill record (None when a hard limit refuses)
    expected_ml: float
    syringe_ml: float  # what aspirating the reservoir completely gives (simulator truth)

    @property
    def hard(self) -> list[Message]:
        return [m for m in self.messages if m.level == "hard"]

    @property
    def soft(self) -> list[Message]:
        hard_fields = {m.field for m in self.hard}
        return [m for m in self.messages if m.level == "soft" and m.field not in hard_fields]


def _request(fill_ml: float, drug: str, conc_mg_per_ml: float, bridge_bolus: bool | None) -> prefill.RefillRequest:
    # The reservoir is always aspirated completely (withdraw_ml=None); the reservoir volume programmed is
    # then the fill volume (the programmer computes it).
    return prefill.RefillRequest(
        fill_ml=fill_ml,
        withdraw_ml=None,
        drug=drug,
        conc_mg_per_ml=conc_mg_per_ml,
        reservoir_ml=None,
        bridge_bolus=bridge_bolus,
    )


def _with_reading(record: dict[str, Any], withdrawn_ml: float) -> dict[str, Any]:
    """The record with the clinician's syringe reading as the withdrawn volume, its discrepancy re-assessed."""
    expected = float(record["expected_ml"])
    delivered = record.get("delivered_expected_ml")
    previous = None if delivered is None else float(delivered) + expected
    disc = prefill.assess_discrepancy(
        expected, withdrawn_ml, float(record["discrepancy_threshold_ml"]), prefill.RefillSettings().accuracy(), previous
    )
    out = dict(record)
    out.update(
        {
            "syringe_exact_ml": record["withdrawn_ml"],
            "withdrawn_ml": withdrawn_ml,
            "discrepancy_ml": disc.discrepancy_ml,
            "delivery_error": disc.accuracy_error,
            "flag": disc.flag,
            "flag_reasons": list(disc.reasons),
            "likely_causes": list(disc.likely_causes),
        }
    )
    out["checksum"] = prefill.checksum(out)
    return out


def plan_refill(
    implant: Implant,
    *,
    withdrawn_ml: float,
    fill_ml: float,
    drug: str,
    conc_mg_per_ml: float,
    bridge_bolus: bool | None,
    clinician: str,
) -> RefillPlan:
    """Dry run: the programmer's refill workflow on a copy of the twin (the twin itself is untouched)."""
    trial = twin.copy(implant)
    s = session_for(trial)
    it = interrogate(s, side_effects=False)
    messages: list[Message] = []
    try:
        d = check_drug(drug)
    except SafetyRefusal as exc:
        return RefillPlan(
            [Message("hard", exc.field, exc.message, exc.rule)], None, it.estimate_ml, implant.hw.reservoir_ml
        )
    req = _request(fill_ml, d.name, conc_mg_per_ml, bridge_bolus)
    if fill_ml <= 0:
        messages.append(Message("hard", "fill", "the fill volume must be more than 0 mL", "fill_positive"))
    messages += _messages(prefill.check_refill(it, req, d, conc_mg_per_ml))
    record = None
    if not any(m.level == "hard" for m in messages):
        try:
            record = prefill.refill(
                s, req, clinician=clinician or "-", settings=prefill.RefillSettings(enforce_guardrails=False)
            ).to_dict()
            record = _with_reading(record, withdrawn_ml)
        except ItddError as exc:
            messages.append(Message("hard", exc.field, exc.message, getattr(exc, "rule", "")))
    return RefillPlan(messages, record, it.estimate_ml, implant.hw.reservoir_ml)


def commit_refill(
    implant: Implant,
    *,
    withdrawn_ml: float,
    fill_ml: float,
    drug: str,
    conc_mg_per_ml: float,
    bridge_bolus: bool | None,
    clinician: str,
    confirmations: Mapping[str, str],
) -> dict[str, Any]:
    """The programmer's refill workflow on the twin, guardrails enforced; returns the refill record."""
    d = check_drug(drug)
    record = prefill.refill(
        session_for(implant),
        _request(fill_ml, d.name, conc_mg_per_ml, bridge_bolus),
        clinician=clinician,
        confirmations=confirmations,
    ).to_dict()
    return _with_reading(record, withdrawn_ml)


def verify_record(
    record: Mapping[str, Any], verifier: str, *, drug: str, conc_mg_per_ml: float, filled_ml: float, reservoir_ml: float
) -> dict[str, Any]:
    """Second-clinician verification against their own independent entries (the programmer's rule)."""
    return prefill.verify_record(
        record, verifier, drug=drug, conc_mg_per_ml=conc_mg_per_ml, filled_ml=filled_ml, reservoir_ml=reservoir_ml
    )


# ---- dates ---------------------------------------------------------------------------------------


@dataclass
class Dates:
    next_refill_t_s: float | None
    next_refill_reason: str
    low_alarm_t_s: float | None
    eri_t_s: float | None
    details: dict[str, Any] = field(default_factory=dict)


def refill_dates(implant: Implant, last_fill_t_s: float | None) -> Dates:
    """Next refill and low-reservoir alarm dates for the pump as it is now.

    The reservoir-level dates are projected from now with the programmer's exact projection (a bolus in
    progress first, then the day cycle); the drug-stability and maximum-interval limits count from the last
    fill (the same :func:`~itdd.programmer.refill.schedule_refill`, anchored there).  An alarm already sounding
    dates from when it was raised.
    """
    it = read(implant)
    fw = implant.fw
    therapy = it.therapy if it.therapy.running else (fw.suspended or it.therapy)
    lead = None
    b = fw.bolus
    if b is not None and b.end_s > implant.t_s:
        lead = Lead(b.end_s, b.rate_ml_per_day)

    def schedule(t_s: float, lead_: Lead | None = None) -> prefill.RefillSchedule:
        return prefill.schedule_refill(
            t_s=t_s,
            estimate_ml=it.estimate_ml,
            low_reservoir_ml=it.low_reservoir_ml,
            therapy=therapy,
            conc_mg_per_ml=it.conc_mg_per_ml,
            offset_s=it.offset_s,
            ptm=it.ptm,
            drug=it.drug,
            clock_error_s=it.clock_error_s,
            lead=lead_,
            end_of_service_s=it.end_of_service_s,
        )

    now = schedule(it.time_s, lead)
    candidates: list[tuple[float, str]] = []
    low_alarm = now.low_reservoir_alarm_s
    worst = now.low_reservoir_all_boluses_s
    raised = fw.alarms.get("low_reservoir")
    if raised is not None:
        low_alarm = raised.raised_s
        worst = raised.raised_s if worst is None else min(worst, raised.raised_s)
    if not therapy.running:
        low_alarm = worst = None if raised is None else raised.raised_s
    if worst is not None:
        candidates.append((worst, "low_reservoir_all_boluses"))
    anchor = schedule(last_fill_t_s if last_fill_t_s is not None else it.time_s)
    candidates += [(anchor.stability_limit_s, "drug_stability"), (anchor.max_interval_s, "max_refill_interval")]
    nxt, why = min(candidates, key=lambda c: c[0])
    return Dates(nxt, why, low_alarm, it.eri_s, {"ptm_boluses_per_day_assumed": now.ptm_boluses_per_day})


# ---- patient therapy manager ---------------------------------------------------------------------


def ptm(implant: Implant) -> PatientTherapyManager:
    return PatientTherapyManager(DirectLink(implant, PATIENT), offset_s=implant.offset_s)
