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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    ptm_boluses_per_day,
)
from ..errors import InputError, SafetyRefusal
from ..pump.firmware import PtmSettings
from ..pump.models import PumpModel
from ..pump.therapy import Therapy
from .projection import Lead, bridge_lead, time_to_level
from .session import LAST_SEQ_PROBE, Session
from .status import Interrogation, interrogate

DAY_S = q.SECONDS_PER_DAY

CAUSES_LESS_WITHDRAWN = (
    "over-infusion: the pump delivered more than programmed",
    "leak into the pump pocket (e.g. part of a previous refill injected into the pocket, or a leaking refill port)",
)
CAUSES_MORE_WITHDRAWN = (
    "under-delivery: the pump delivered less than programmed (e.g. a motor stall, as after an MRI)",
    "catheter occlusion (kink, granuloma at the tip, blocked catheter)",
)


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


# ---- pure arithmetic (hand-checkable) ------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    expected_ml: float
    withdrawn_ml: float
    discrepancy_ml: float  # withdrawn - expected
    threshold_ml: float
    delivered_expected_ml: float | None  # what the pump believes it delivered since the last fill
    accuracy_error: float | None  # (actual - expected delivery) / expected delivery
    accuracy_spec: float
    flag: bool
    reasons: tuple[str, ...]
    likely_causes: tuple[str, ...]


def assess_discrepancy(
    expected_ml: float,
    withdrawn_ml: float,
    threshold_ml: float,
    accuracy_spec: float,
    previous_reservoir_ml: float | None,
) -> Discrepancy:
    disc = withdrawn_ml - expected_ml
    reasons: list[str] = []
    if abs(disc) > threshold_ml + 1e-9:
        reasons.append(f"discrepancy {disc:+.2f} mL is beyond the {threshold_ml:g} mL threshold")
    delivered = err = None
    if previous_reservoir_ml is not None:
        delivered = previous_reservoir_ml - expected_ml
        if delivered > 1e-9:
            err = -disc / delivered  # actual delivered = previous - withdrawn
            if abs(err) > accuracy_spec + 1e-12:
                reasons.append(
                    f"delivery {err * 100:+.1f}% off the expected {delivered:.2f} mL is outside the "
                    f"+/-{accuracy_spec * 100:g}% flow-accuracy specification"
                )
    flag = bool(reasons)
    causes: tuple[str, ...] = ()
    if flag:
        causes = CAUSES_LESS_WITHDRAWN if disc < 0 else CAUSES_MORE_WITHDRAWN
    return Discrepancy(
        expected_ml, withdrawn_ml, disc, threshold_ml, delivered, err, accuracy_spec, flag, tuple(reasons), causes
    )


@dataclass(frozen=True)
class RefillSchedule:
    next_refill_s: float
    next_refill_reason: str  # low_reservoir_all_boluses | drug_stability | max_refill_interval | pump_end_of_service
    low_reservoir_alarm_s: float | None  # programmed therapy alone
    low_reservoir_all_boluses_s: float | None
    stability_limit_s: float
    max_interval_s: float
    ptm_boluses_per_day: int
    ptm_ml_per_day: float


def schedule_refill(
    *,
    t_s: float,
    estimate_ml: float,
    low_reservoir_ml: float,
    therapy: Therapy,
    conc_mg_per_ml: float,
    offset_s: int,
    ptm: PtmSettings | None,
    drug: Drug,
    clock_error_s: float = 0.0,
    lead: Lead | None = None,
    end_of_service_s: float | None = None,
) -> RefillSchedule:
    """Next refill date and low-reservoir alarm date after a refill (or at any time).

    ``end_of_service_s`` (reached or projected from the battery): a pump stops for good then, so no
    refill is scheduled after it; the date becomes the pump's replacement deadline
    (reason ``pump_end_of_service``).
    """
    n = 0
    extra = 0.0
    if ptm is not None and ptm.enabled and conc_mg_per_ml > 0:
        n = ptm_boluses_per_day(ptm, therapy.daily_dose_mg())
        extra = n * ptm.dose_mg / conc_mg_per_ml
    common = {
        "t_s": t_s,
        "volume_ml": estimate_ml,
        "level_ml": low_reservoir_ml,
        "therapy": therapy,
        "conc_mg_per_ml": conc_mg_per_ml,
        "offset_s": offset_s,
        "clock_error_s": clock_error_s,
        "lead": lead,
    }
    alarm = time_to_level(**common)  # type: ignore[arg-type]
    worst = time_to_level(**common, extra_ml_per_day=extra) if extra > 0 else alarm  # type: ignore[arg-type]
    stability = drug.stability_for(conc_mg_per_ml)
    stab_s = t_s + (stability.value if stability else 180.0) * DAY_S
    max_s = t_s + device_limits().max_refill_interval.value
    candidates = [(stab_s, "drug_stability"), (max_s, "max_refill_interval")]
    if worst is not None:
        candidates.insert(0, (worst, "low_reservoir_all_boluses"))
    if end_of_service_s is not None:
        candidates.append((max(end_of_service_s, t_s), "pump_end_of_service"))
    nxt, why = min(candidates, key=lambda c: c[0])
    return RefillSchedule(nxt, why, alarm, worst, stab_s, max_s, n, extra)


# ---- the record ------------------------------------------------------------------------------------

CHECKSUM_FIELDS = (
    "record_id",
    "time",
    "clinician",
    "drug",
    "concentration_mg_per_ml",
    "previous_concentration_mg_per_ml",
    "expected_ml",
    "withdrawn_ml",
    "discrepancy_ml",
    "filled_ml",
    "reservoir_ml_entered",
    "bridge_bolus",
    "bridge_volume_ml",
    "flag",
    "next_refill_date",
    "low_reservoir_alarm_date",
)


def checksum(record: Mapping[str, Any]) -> str:
    """SHA-256 of the record's numbers (canonical JSON of :data:`CHECKSUM_FIELDS`)."""
    payload = {k: record.get(k) for k in CHECKSUM_FIELDS}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def verify_record(
    record: Mapping[str, Any],
    verifier: str,
    *,
    drug: str,
    conc_mg_per_ml: float,
    filled_ml: float,
    reservoir_ml: float,
) -> dict[str, Any]:
    """A second clinician checks the record against what they independently read and measured.

    Returns the record with its verification added; refuses (nothing added) on any mismatch.
    """
    if not verifier.strip():
        raise InputError("verifier", "a verifier id is required")
    if record.get("verified_by"):
        raise SafetyRefusal(
            "verifier", f"the record was already verified by {record['verified_by']}", rule="second_clinician"
        )
    if verifier.strip() == str(record.get("clinician", "")).strip():
        raise SafetyRefusal(
            "verifier",
            f"{verifier} performed this refill; a different clinician must verify it",
            rule="second_clinician",
        )
    if checksum(record) != record.get("checksum"):
        raise SafetyRefusal(
            "record",
            "the record's numbers do not match its checksum (altered after the refill)",
            rule="record_checksum",
        )
    checks = (
        ("drug", drug == record.get("drug"), drug, record.get("drug")),
        (
            "concentration",
            _close(conc_mg_per_ml, record.get("concentration_mg_per_ml")),
            conc_mg_per_ml,
            record.get("concentration_mg_per_ml"),
        ),
        ("fill", _close(filled_ml, record.get("filled_ml")), filled_ml, record.get("filled_ml")),
        (
            "reservoir_volume",
            _close(reservoir_ml, record.get("reservoir_ml_entered")),
            reservoir_ml,
            record.get("reservoir_ml_entered"),
        ),
    )
    for name, ok, mine, theirs in checks:
        if not ok:
            raise SafetyRefusal(
                name,
                f"the verifier's {name} {mine!r} does not match the record's {theirs!r}",
                rule="verify_values_match",
            )
    return {**record, "verified_by": verifier.strip(), "verification": "values match; checksum valid"}


def _close(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))
    except (TypeError, ValueError):
        return False


# ---- the workflow ------------------------------------------------------------------------------------


def previous_reservoir_ml(log: list[dict[str, Any]]) -> float | None:
    """The reservoir volume programmed at the last refill, from the pump's log."""
    for e in reversed(log):
        if e.get("type") == "refill":
            return float(e["reservoir_ml_entered"])
    return None


def check_refill(it: Interrogation, req: RefillRequest, drug: Drug, conc: float) -> list[Finding]:
    """Everything to check before the needle goes in; hard findings are refusals."""
    out: list[Finding] = [check_concentration(drug, conc)]
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
        out += [
            f
            for f in check_therapy(drug, conc, it.therapy, it.model, field="concentration")
            if f.rule in ("min_rate", "max_rate")
        ]
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
) -> dict[str, Any]:
    """Run the refill workflow; returns the refill record (see the module docstring)."""
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
    findings = check_refill(it, req, drug, conc)
    confirmed: list[Confirmation] = []
    if settings.enforce_guardrails:
        confirmed = enforce(findings, confirmations, clinician)
    elif req.fill_ml > it.model.reservoir_capacity_ml + 1e-9:
        raise SafetyRefusal("fill", next(f.reason for f in findings if f.rule == "overfill"), rule="overfill")
    # the whole log is read only when the caller does not know the previous refill's volume
    prev = previous_reservoir if previous_reservoir is not None else previous_reservoir_ml(session.log_since(0))
    seq0 = it.log_last_seq
    args: dict[str, Any] = {
        "withdraw_ml": req.withdraw_ml,
        "fill_ml": req.fill_ml,
        "drug": drug.name,
        "conc_mg_per_ml": conc,
        "reservoir_ml": req.reservoir_ml,
        "bridge_bolus": req.bridge_bolus,
    }

    def verify() -> bool:
        th = session.read("read_therapy")
        return th["drug"] == drug.name and abs(float(th["concentration_mg_per_ml"]) - conc) <= 1e-12 * max(1.0, conc)

    res = session.write("refill", args, verify=verify, applied=session.log_entry_since(seq0, "refill"))
    r = res.result
    after = interrogate(session, LAST_SEQ_PROBE, side_effects=False)
    expected = float(r["expected_ml"])
    withdrawn = float(r["withdrawn_ml"])
    entered = float(r["reservoir_ml_entered"])
    bridge = bool(r["bridge_bolus"])
    t = float(r.get("time_s", after.time_s))
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
    off = after.offset_s
    record: dict[str, Any] = {
        "record_id": "",
        "time": q.iso(t, off),
        "clinician": clinician.strip(),
        "drug": drug.name,
        "concentration_mg_per_ml": conc,
        "concentration": drug.fmt_concentration(conc),
        "previous_concentration_mg_per_ml": it.conc_mg_per_ml,
        "expected_ml": expected,
        "withdrawn_ml": withdrawn,
        "discrepancy_ml": disc.discrepancy_ml,
        "discrepancy_threshold_ml": disc.threshold_ml,
        "delivered_expected_ml": disc.delivered_expected_ml,
        "delivery_error": disc.accuracy_error,
        "flag": disc.flag,
        "flag_reasons": list(disc.reasons),
        "likely_causes": list(disc.likely_causes),
        "filled_ml": float(r["filled_ml"]),
        "reservoir_ml_entered": entered,
        "bridge_bolus": bridge,
        "bridge_volume_ml": it.fluid_path_volume_ml if bridge else 0.0,
        "bridge_ends": None if lead is None else q.iso(lead.end_s, off),
        "next_refill_date": q.local_date(sched.next_refill_s, off),
        "next_refill": q.iso(sched.next_refill_s, off),
        "next_refill_reason": sched.next_refill_reason,
        "low_reservoir_alarm_date": None
        if sched.low_reservoir_alarm_s is None
        else q.local_date(sched.low_reservoir_alarm_s, off),
        "low_reservoir_alarm": None if sched.low_reservoir_alarm_s is None else q.iso(sched.low_reservoir_alarm_s, off),
        "low_reservoir_all_boluses_date": None
        if sched.low_reservoir_all_boluses_s is None
        else q.local_date(sched.low_reservoir_all_boluses_s, off),
        "ptm_boluses_per_day_assumed": sched.ptm_boluses_per_day,
        "stability_limit_date": q.local_date(sched.stability_limit_s, off),
        "guardrail_findings": [f.to_dict() for f in findings if f.level != "ok"],
        "confirmations": [c.to_dict() for c in confirmed],
        "delivery_certain": res.certain,
        "link_notes": list(session.notes),
    }
    record["record_id"] = f"refill-{int(t)}-{hashlib.sha256(record['time'].encode()).hexdigest()[:6]}"
    record["checksum"] = checksum(record)
    record["verified_by"] = None
    return record


def render(record: Mapping[str, Any]) -> str:
    lines = [
        f"Refill {record['record_id']}  {record['time']}  by {record['clinician']}",
        f"  Drug               {record['drug']} {record['concentration']}"
        + (
            "  (bridge bolus {:.3f} mL, ends {})".format(record["bridge_volume_ml"], record["bridge_ends"])
            if record["bridge_bolus"]
            else ""
        ),
        f"  Expected           {record['expected_ml']:.2f} mL",
        f"  Withdrawn          {record['withdrawn_ml']:.2f} mL",
        f"  Discrepancy        {record['discrepancy_ml']:+.2f} mL (threshold {record['discrepancy_threshold_ml']:g} mL)"
        + ("   ** EVALUATE **" if record["flag"] else ""),
    ]
    for reason in record["flag_reasons"]:
        lines.append(f"    - {reason}")
    if record["likely_causes"]:
        lines.append("  Likely causes")
        lines += [f"    - {c}" for c in record["likely_causes"]]
    lines += [
        f"  Filled             {record['filled_ml']:.2f} mL; "
        f"reservoir volume programmed {record['reservoir_ml_entered']:.2f} mL",
        f"  Next refill        {record['next_refill_date']} ({record['next_refill_reason'].replace('_', ' ')})",
        f"  Low-reservoir alarm {record['low_reservoir_alarm_date'] or 'not within 3 years'}"
        + (
            f"; with every patient bolus used {record['low_reservoir_all_boluses_date']}"
            if record["ptm_boluses_per_day_assumed"]
            else ""
        ),
        f"  Checksum           {record['checksum'][:16]}",
        f"  Verified by        {record.get('verified_by') or '(awaiting a second clinician)'}",
    ]
    for f in record["guardrail_findings"]:
        lines.append(f"  [{f['level'].upper()}] {f['field']}: {f['reason']}")
    return "\n".join(lines)
