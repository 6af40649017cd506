"""The refill workflow.

1. Read the pump (no side effects): expected reservoir volume, therapy, concentration.
2. Check the refill before touching anything: drug and concentration against the library, the
   therapy's pump rates at the new concentration, the fill against the capacity, a drug change
   while a therapy runs, a concentration change without a bridge bolus.
3. Send the refill once (reconciled from the pump's log if the answer is lost), read back, verify.
4. Compare the volume withdrawn with the pump's expected volume: flag a discrepancy above the
   pump's threshold (1 mL for a 20 mL pump, 2 mL for a 40 mL pump) or outside the flow-accuracy
   specification, and name the likely causes.
5. Compute the next refill date (earliest of: the day the estimate reaches the low-reservoir
   threshold with every allowed patient bolus used; the drug's in-pump stability; 180 days) and
   the low-reservoir alarm date (programmed therapy alone).
6. Produce a refill record with a checksum of its numbers, for a second clinician to verify.

The arithmetic of steps 4 and 5 is in :mod:`~itdd.programmer.refill_math` (pure functions), the
record and its verification in :mod:`~itdd.programmer.refill_record`; this module is the workflow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import quantities as q
from ..drugs import Drug, device_limits
from ..drugs.guardrails import (
    HARD,
    SOFT,
    Confirmation,
    Finding,
    check_concentration,
    check_drug,
    check_therapy,
    enforce,
)
from ..errors import InputError, SafetyRefusal
from ..pump.log import LogEntry
from ..pump.models import PumpModel
from ..pump.therapy import Therapy
from ..telemetry.messages import RefillArgs
from .projection import bridge_lead
from .refill_math import CAUSES_LESS_WITHDRAWN as CAUSES_LESS_WITHDRAWN  # re-exported: the refill's API
from .refill_math import CAUSES_MORE_WITHDRAWN as CAUSES_MORE_WITHDRAWN
from .refill_math import Discrepancy as Discrepancy
from .refill_math import RefillSchedule as RefillSchedule
from .refill_math import assess_discrepancy, schedule_refill
from .refill_record import CHECKSUM_FIELDS as CHECKSUM_FIELDS
from .refill_record import RefillRecord
from .refill_record import checksum as checksum
from .refill_record import render as render
from .refill_record import verify as verify
from .refill_record import verify_record as verify_record
from .session import LAST_SEQ_PROBE, Session
from .status import Interrogation, interrogate


@dataclass(frozen=True)
class RefillSettings:
    """Clinic settings for the refill workflow (the scenario's ``programmer`` block)."""

    discrepancy_threshold_ml: float | None = None  # None: by pump model, from the library
    flow_accuracy_spec: float | None = None  # None: from the library
    enforce_guardrails: bool = True  # False: findings are recorded, not enforced (scenario replay)

    def threshold_for(self, model: PumpModel) -> float:
        if self.discrepancy_threshold_ml is not None:
            return self.discrepancy_threshold_ml
        cited = device_limits().discrepancy_threshold.get(model.model_id)
        if cited is None:  # pragma: no cover - the library covers every model (validated at load)
            raise InputError("pump.model", f"no discrepancy threshold for {model.model_id}")
        return cited.value

    def accuracy(self) -> float:
        return device_limits().flow_accuracy_spec.value if self.flow_accuracy_spec is None else self.flow_accuracy_spec


@dataclass(frozen=True)
class RefillRequest:
    fill_ml: float
    withdraw_ml: float | None = None  # None: aspirate everything
    drug: str | None = None  # None: the same drug
    conc_mg_per_ml: float | None = None  # None: the same concentration
    reservoir_ml: float | None = None  # what the clinician programs (None: computed)
    bridge_bolus: bool | None = None  # None: whenever the concentration changes


# ---- the workflow ------------------------------------------------------------------------------------


def previous_reservoir_ml(log: Sequence[LogEntry]) -> float | None:
    """The reservoir volume programmed at the last refill, from the pump's log."""
    for e in reversed(log):
        if e.type == "refill":
            return e.number("reservoir_ml_entered")
    return None


# The library checks are pure functions of the drug (a library object), the numbers and the pump
# model: their findings (immutable) are kept per process, as the same concentrations and doses
# come back refill after refill.  Keys hold the objects' ids (the objects themselves are kept with
# the findings and compared by identity, so a reloaded library is never answered from the cache)
# and the numbers' repr (so 25 and 25.0, 0.0 and -0.0, which the findings' text may write
# differently, are different keys).
_FINDINGS_CACHE_MAX = 4096
_conc_findings: dict[tuple[int, str], tuple[Drug, Finding]] = {}
_therapy_findings: dict[tuple[object, ...], tuple[Drug, PumpModel, tuple[Finding, ...]]] = {}


def _check_concentration(drug: Drug, conc: float) -> Finding:
    key = (id(drug), repr(conc))
    hit = _conc_findings.get(key)
    if hit is not None and hit[0] is drug:
        return hit[1]
    f = check_concentration(drug, conc)
    if len(_conc_findings) >= _FINDINGS_CACHE_MAX:
        _conc_findings.clear()
    _conc_findings[key] = (drug, f)
    return f


def _check_therapy(drug: Drug, conc: float, therapy: Therapy, model: PumpModel) -> tuple[Finding, ...]:
    th = therapy
    key = (
        id(drug),
        repr(conc),
        id(model),
        th.mode,
        repr(th.dose_mg_per_day),
        repr(th.flex_steps),
        repr(th.boluses),
        repr(th.basal_mg_per_day),
    )
    hit = _therapy_findings.get(key)
    if hit is not None and hit[0] is drug and hit[1] is model:
        return hit[2]
    fs = tuple(check_therapy(drug, conc, therapy, model, field="concentration"))
    if len(_therapy_findings) >= _FINDINGS_CACHE_MAX:
        _therapy_findings.clear()
    _therapy_findings[key] = (drug, model, fs)
    return fs


def check_refill(it: Interrogation, req: RefillRequest, drug: Drug, conc: float) -> list[Finding]:
    """Everything to check before the needle goes in; hard findings are refusals."""
    out: list[Finding] = [_check_concentration(drug, conc)]
    cap = it.model.reservoir_capacity_ml
    left = 0.0 if req.withdraw_ml is None else max(it.estimate_ml - req.withdraw_ml, 0.0)
    if req.fill_ml > cap - left + 1e-9:
        out.append(
            Finding(
                "fill",
                "overfill",
                HARD,
                q.fmt_volume(req.fill_ml),
                q.fmt_volume(cap - left),
                f"{q.fmt_volume(req.fill_ml)} would overfill the reservoir: capacity {q.fmt_volume(cap)}, "
                f"{q.fmt_volume(left)} expected to stay inside, room for {q.fmt_volume(max(cap - left, 0.0))}",
            )
        )
    if req.reservoir_ml is not None and req.reservoir_ml > cap + 1e-9:
        out.append(
            Finding(
                "reservoir_volume",
                "reservoir_volume_above_capacity",
                HARD,
                q.fmt_volume(req.reservoir_ml),
                q.fmt_volume(cap),
                f"reservoir volume {q.fmt_volume(req.reservoir_ml)} is above the capacity {q.fmt_volume(cap)}",
            )
        )
    running = it.therapy.running
    if drug.name != it.drug.name and running:
        out.append(
            Finding(
                "drug",
                "drug_change_while_running",
                HARD,
                drug.name,
                None,
                f"the pump is running {it.drug.name} at {it.drug.fmt_dose_rate(it.therapy.daily_dose_mg())}; stop the "
                f"therapy before filling {drug.name}, then program the new drug's dose",
            )
        )
    elif running:
        out += [f for f in _check_therapy(drug, conc, it.therapy, it.model) if f.rule in ("min_rate", "max_rate")]
    changed = abs(conc - it.conc_mg_per_ml) > 1e-12 or drug.name != it.drug.name
    if changed and running and req.bridge_bolus is False:
        out.append(
            Finding(
                "bridge_bolus",
                "bridge_bolus_skipped",
                SOFT,
                "no",
                "bridge bolus",
                f"the concentration changes from {it.drug.fmt_concentration(it.conc_mg_per_ml)} to "
                f"{drug.fmt_concentration(conc)} without a bridge bolus: the {it.fluid_path_volume_ml:.3f} mL of old "
                "drug in the fluid path would be delivered at the new rate",
            )
        )
    return out


def refill(
    session: Session,
    req: RefillRequest,
    *,
    clinician: str,
    confirmations: Mapping[str, str] | None = None,
    settings: RefillSettings | None = None,
    previous_reservoir: float | None = None,
    numbers_only: bool = False,
) -> RefillRecord:
    """Run the refill workflow; returns the refill record (see the module docstring).

    The record's checksum is computed from its numbers as :meth:`RefillRecord.to_dict` writes them
    (:meth:`RefillRecord.checksum_payload`), without writing the whole JSON: a caller that needs the
    JSON too calls ``record.to_dict()``.

    ``numbers_only=True`` is for a caller that reads the record's numbers (volumes, discrepancy and
    its flag, the next refill) and never shows, stores or has it verified (the care pathway without
    a report): the pump sees the same refill and every number is the same, but the record's id,
    checksum and concentration label are left empty (``""``) and, unless guardrails are enforced,
    its guardrail findings too (the checks are then not run: their findings would only be
    recorded; an overfill is still refused)."""
    settings = settings or RefillSettings()
    if not clinician.strip():
        raise InputError("clinician", "a clinician id is required for a refill")
    if req.fill_ml <= 0:
        raise InputError("fill", "the fill volume must be more than 0 mL")
    # The workflow needs the pump's state, not its log: read the status with no log entries
    # (LAST_SEQ_PROBE) and take the sequence number before the write from it.
    it = interrogate(session, LAST_SEQ_PROBE, side_effects=False)
    drug = check_drug(req.drug or it.drug.name)
    conc = it.conc_mg_per_ml if req.conc_mg_per_ml is None else req.conc_mg_per_ml
    full = settings.enforce_guardrails or not numbers_only
    findings = check_refill(it, req, drug, conc) if full else []
    confirmed: list[Confirmation] = []
    if settings.enforce_guardrails:
        confirmed = enforce(findings, confirmations, clinician)
    elif req.fill_ml > it.model.reservoir_capacity_ml + 1e-9:
        findings = findings or check_refill(it, req, drug, conc)
        raise SafetyRefusal("fill", next(f.reason for f in findings if f.rule == "overfill"), rule="overfill")
    # the whole log is read only when the caller does not know the previous refill's volume
    prev = previous_reservoir if previous_reservoir is not None else previous_reservoir_ml(session.log_since(0))
    seq0 = it.log_last_seq
    args = RefillArgs(
        fill_ml=req.fill_ml,
        withdraw_ml=req.withdraw_ml,
        drug=drug.name,
        conc_mg_per_ml=conc,
        reservoir_ml=req.reservoir_ml,
        bridge_bolus=req.bridge_bolus,
    )

    def verify() -> bool:
        th = session.read_therapy()
        return th.drug == drug.name and abs(th.concentration_mg_per_ml - conc) <= 1e-12 * max(1.0, conc)

    r, certain = session.write_refill(args, verify=verify, applied=session.log_entry_since(seq0, "refill"))
    after = interrogate(session, LAST_SEQ_PROBE, side_effects=False)
    expected = r.expected_ml
    withdrawn = r.withdrawn_ml
    entered = r.reservoir_ml_entered
    bridge = r.bridge_bolus
    t = after.time_s if r.time_s is None else r.time_s
    if abs(after.estimate_ml - entered) > 1e-6 and after.time_s <= t + 1e-6:
        raise SafetyRefusal(
            "reservoir_volume", "the pump's reservoir estimate does not read back as entered", rule="readback_verified"
        )
    disc = assess_discrepancy(expected, withdrawn, settings.threshold_for(it.model), settings.accuracy(), prev)
    lead = None
    if bridge:
        lead = bridge_lead(
            t_s=t,
            therapy=after.therapy,
            offset_s=after.offset_s,
            clock_error_s=after.clock_error_s,
            old_conc_mg_per_ml=it.conc_mg_per_ml,
            path_volume_ml=it.fluid_path_volume_ml,
            min_rate_ml_per_day=it.model.min_rate_ml_per_day,
            max_rate_ml_per_day=it.model.max_rate_ml_per_day,
        )
    sched = schedule_refill(
        t_s=t,
        estimate_ml=entered,
        low_reservoir_ml=after.low_reservoir_ml,
        therapy=after.therapy,
        conc_mg_per_ml=conc,
        offset_s=after.offset_s,
        ptm=after.ptm,
        drug=drug,
        clock_error_s=after.clock_error_s,
        lead=lead,
        end_of_service_s=after.end_of_service_s,
    )
    record = RefillRecord(
        record_id=""
        if numbers_only
        else f"refill-{int(t)}-{hashlib.sha256(q.iso(t, after.offset_s).encode()).hexdigest()[:6]}",
        time_s=t,
        offset_s=after.offset_s,
        clinician=clinician.strip(),
        drug=drug.name,
        concentration_mg_per_ml=conc,
        concentration_label="" if numbers_only else drug.fmt_concentration(conc),
        previous_concentration_mg_per_ml=it.conc_mg_per_ml,
        expected_ml=expected,
        withdrawn_ml=withdrawn,
        discrepancy_ml=disc.discrepancy_ml,
        discrepancy_threshold_ml=disc.threshold_ml,
        delivered_expected_ml=disc.delivered_expected_ml,
        delivery_error=disc.accuracy_error,
        flag=disc.flag,
        flag_reasons=disc.reasons,
        likely_causes=disc.likely_causes,
        filled_ml=r.filled_ml,
        reservoir_ml_entered=entered,
        bridge_bolus=bridge,
        bridge_volume_ml=it.fluid_path_volume_ml if bridge else 0.0,
        bridge_ends_s=None if lead is None else lead.end_s,
        next_refill_s=sched.next_refill_s,
        next_refill_reason=sched.next_refill_reason,
        low_reservoir_alarm_s=sched.low_reservoir_alarm_s,
        low_reservoir_all_boluses_date=None
        if sched.low_reservoir_all_boluses_s is None
        else q.from_epoch_s(sched.low_reservoir_all_boluses_s, after.offset_s).date(),
        ptm_boluses_per_day_assumed=sched.ptm_boluses_per_day,
        stability_limit_date=q.from_epoch_s(sched.stability_limit_s, after.offset_s).date(),
        guardrail_findings=tuple(f for f in findings if f.level != "ok"),
        confirmations=tuple(confirmed),
        delivery_certain=certain,
        link_notes=tuple(session.notes),
    )
    # the record was built here and no one else holds it: set its checksum in place (a copy with
    # dataclasses.replace would cost more than the checksum)
    if not numbers_only:
        object.__setattr__(record, "checksum", checksum(record.checksum_payload()))
    return record
