"""The refill record: a typed record of one refill, its JSON form, and the second clinician's check.

:class:`RefillRecord` holds numbers (volumes in mL, instants in epoch seconds, the pump's UTC
offset) and dates; :meth:`RefillRecord.to_dict` writes the JSON the programmer has always written
(the state file, ``--json``, the simulator's output, the clinic's database), with the same keys and
values; :meth:`RefillRecord.from_dict` reads it back at that boundary, refusing a malformed record
with an error naming the field.

The checksum covers the record's numbers as written (:data:`CHECKSUM_FIELDS`), so a record read
back from storage is checked against the JSON it was stored as (:func:`verify_record`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date
from typing import Any

from .. import quantities as q
from ..drugs.guardrails import Confirmation, Finding
from ..errors import InputError, SafetyRefusal

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

VERIFIED = "values match; checksum valid"

# every key RefillRecord.to_dict writes (a stored record's other keys are kept in ``extra``)
JSON_KEYS = frozenset(
    {
        *CHECKSUM_FIELDS,
        "concentration",
        "discrepancy_threshold_ml",
        "delivered_expected_ml",
        "delivery_error",
        "flag_reasons",
        "likely_causes",
        "bridge_ends",
        "next_refill",
        "next_refill_reason",
        "low_reservoir_alarm",
        "low_reservoir_all_boluses_date",
        "ptm_boluses_per_day_assumed",
        "stability_limit_date",
        "guardrail_findings",
        "confirmations",
        "delivery_certain",
        "link_notes",
        "checksum",
        "verified_by",
        "verification",
    }
)


def at_record_resolution(t_s: float) -> float:
    """An instant as the record's text keeps it: to the millisecond (``quantities.iso``), as a number.

    The same value as reading the record's ISO text back with ``quantities.parse_datetime``,
    computed without the text.
    """
    dt = q.from_epoch_s(t_s)
    return q.to_epoch_s(dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000))


@dataclass(frozen=True)
class RefillRecord:
    """One refill, as performed and checked (see :mod:`itdd.programmer.refill`)."""

    record_id: str
    time_s: float
    offset_s: int  # the pump's UTC offset: the record's dates are local dates in it
    clinician: str
    drug: str
    concentration_mg_per_ml: float
    concentration_label: str  # the concentration as the drug library writes it ("25 mg/mL")
    previous_concentration_mg_per_ml: float
    expected_ml: float
    withdrawn_ml: float
    discrepancy_ml: float
    discrepancy_threshold_ml: float
    delivered_expected_ml: float | None
    delivery_error: float | None  # (actual - expected delivery) / expected delivery
    flag: bool
    flag_reasons: tuple[str, ...]
    likely_causes: tuple[str, ...]
    filled_ml: float
    reservoir_ml_entered: float
    bridge_bolus: bool
    bridge_volume_ml: float
    bridge_ends_s: float | None
    next_refill_s: float
    next_refill_reason: str
    low_reservoir_alarm_s: float | None
    low_reservoir_all_boluses_date: date | None
    ptm_boluses_per_day_assumed: int
    stability_limit_date: date
    guardrail_findings: tuple[Finding, ...]
    confirmations: tuple[Confirmation, ...]
    delivery_certain: bool
    link_notes: tuple[str, ...]
    checksum: str = ""
    verified_by: str | None = None
    verification: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)  # keys a caller added (kept as written)

    @property
    def next_refill_date(self) -> date:
        return q.from_epoch_s(self.next_refill_s, self.offset_s).date()

    @property
    def next_refill_at_record_s(self) -> float:
        """The next refill instant as the record writes it (to the millisecond)."""
        return at_record_resolution(self.next_refill_s)

    def with_checksum(self) -> RefillRecord:
        return replace(self, checksum=checksum(self.checksum_payload()))

    def checksum_payload(self) -> dict[str, Any]:
        """The values :func:`checksum` reads from :meth:`to_dict` (:data:`CHECKSUM_FIELDS`), written
        without the rest of the JSON (``tests/programmer/test_refill_row.py`` compares the two)."""
        off = self.offset_s
        alarm = self.low_reservoir_alarm_s
        return {
            "record_id": self.record_id,
            "time": q.iso(self.time_s, off),
            "clinician": self.clinician,
            "drug": self.drug,
            "concentration_mg_per_ml": self.concentration_mg_per_ml,
            "previous_concentration_mg_per_ml": self.previous_concentration_mg_per_ml,
            "expected_ml": self.expected_ml,
            "withdrawn_ml": self.withdrawn_ml,
            "discrepancy_ml": self.discrepancy_ml,
            "filled_ml": self.filled_ml,
            "reservoir_ml_entered": self.reservoir_ml_entered,
            "bridge_bolus": self.bridge_bolus,
            "bridge_volume_ml": self.bridge_volume_ml,
            "flag": self.flag,
            "next_refill_date": q.local_date(self.next_refill_s, off),
            "low_reservoir_alarm_date": None if alarm is None else q.local_date(alarm, off),
        }

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON form (the same keys and values the programmer has always written)."""
        off = self.offset_s
        alarm = self.low_reservoir_alarm_s
        out: dict[str, Any] = {
            "record_id": self.record_id,
            "time": q.iso(self.time_s, off),
            "clinician": self.clinician,
            "drug": self.drug,
            "concentration_mg_per_ml": self.concentration_mg_per_ml,
            "concentration": self.concentration_label,
            "previous_concentration_mg_per_ml": self.previous_concentration_mg_per_ml,
            "expected_ml": self.expected_ml,
            "withdrawn_ml": self.withdrawn_ml,
            "discrepancy_ml": self.discrepancy_ml,
            "discrepancy_threshold_ml": self.discrepancy_threshold_ml,
            "delivered_expected_ml": self.delivered_expected_ml,
            "delivery_error": self.delivery_error,
            "flag": self.flag,
            "flag_reasons": list(self.flag_reasons),
            "likely_causes": list(self.likely_causes),
            "filled_ml": self.filled_ml,
            "reservoir_ml_entered": self.reservoir_ml_entered,
            "bridge_bolus": self.bridge_bolus,
            "bridge_volume_ml": self.bridge_volume_ml,
            "bridge_ends": None if self.bridge_ends_s is None else q.iso(self.bridge_ends_s, off),
            "next_refill_date": q.local_date(self.next_refill_s, off),
            "next_refill": q.iso(self.next_refill_s, off),
            "next_refill_reason": self.next_refill_reason,
            "low_reservoir_alarm_date": None if alarm is None else q.local_date(alarm, off),
            "low_reservoir_alarm": None if alarm is None else q.iso(alarm, off),
            "low_reservoir_all_boluses_date": _date_text(self.low_reservoir_all_boluses_date),
            "ptm_boluses_per_day_assumed": self.ptm_boluses_per_day_assumed,
            "stability_limit_date": self.stability_limit_date.isoformat(),
            "guardrail_findings": [f.to_dict() for f in self.guardrail_findings],
            "confirmations": [c.to_dict() for c in self.confirmations],
            "delivery_certain": self.delivery_certain,
            "link_notes": list(self.link_notes),
            "checksum": self.checksum,
            "verified_by": self.verified_by,
        }
        if self.verification is not None:
            out["verification"] = self.verification
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, d: object) -> RefillRecord:
        """Read a stored record (state file, database); a malformed one is refused naming the field.

        Instants are read back from their ISO text, so they are at the record's resolution (ms).
        """
        r = _Reader(d)
        time_text = r.text("time")
        try:
            offset = q.offset_of(q.parse_datetime(time_text))
        except q.UnitError as exc:
            raise InputError("record.time", str(exc)) from None
        return cls(
            record_id=r.text("record_id"),
            time_s=r.instant("time"),
            offset_s=offset,
            clinician=r.text("clinician"),
            drug=r.text("drug"),
            concentration_mg_per_ml=r.number("concentration_mg_per_ml"),
            concentration_label=r.text("concentration"),
            previous_concentration_mg_per_ml=r.number("previous_concentration_mg_per_ml"),
            expected_ml=r.number("expected_ml"),
            withdrawn_ml=r.number("withdrawn_ml"),
            discrepancy_ml=r.number("discrepancy_ml"),
            discrepancy_threshold_ml=r.number("discrepancy_threshold_ml"),
            delivered_expected_ml=r.opt_number("delivered_expected_ml"),
            delivery_error=r.opt_number("delivery_error"),
            flag=r.boolean("flag"),
            flag_reasons=r.texts("flag_reasons"),
            likely_causes=r.texts("likely_causes"),
            filled_ml=r.number("filled_ml"),
            reservoir_ml_entered=r.number("reservoir_ml_entered"),
            bridge_bolus=r.boolean("bridge_bolus"),
            bridge_volume_ml=r.number("bridge_volume_ml"),
            bridge_ends_s=r.opt_instant("bridge_ends"),
            next_refill_s=r.instant("next_refill"),
            next_refill_reason=r.text("next_refill_reason"),
            low_reservoir_alarm_s=r.opt_instant("low_reservoir_alarm"),
            low_reservoir_all_boluses_date=r.opt_day("low_reservoir_all_boluses_date"),
            ptm_boluses_per_day_assumed=int(r.number("ptm_boluses_per_day_assumed")),
            stability_limit_date=r.day("stability_limit_date"),
            guardrail_findings=tuple(Finding(**x) for x in r.objects("guardrail_findings", Finding)),
            confirmations=tuple(Confirmation(**x) for x in r.objects("confirmations", Confirmation)),
            delivery_certain=r.boolean("delivery_certain"),
            link_notes=r.texts("link_notes", default=()),
            checksum=r.text("checksum"),
            verified_by=r.opt_text("verified_by"),
            verification=r.opt_text("verification"),
            extra={k: v for k, v in r.d.items() if k not in JSON_KEYS},
        )


def _date_text(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


class _Reader:
    """Reads one stored record's fields, naming the field (``record.<key>``) when one is malformed."""

    def __init__(self, d: object) -> None:
        if not isinstance(d, Mapping):
            raise InputError("record", f"a refill record must be an object, not {type(d).__name__}")
        self.d: Mapping[str, object] = d

    def _get(self, key: str) -> object:
        if key not in self.d:
            raise InputError(f"record.{key}", "is missing")
        return self.d[key]

    def number(self, key: str) -> float:
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InputError(f"record.{key}", f"{v!r} is not a number")
        return v  # kept as written (an int stays an int: the checksum covers the JSON)

    def opt_number(self, key: str) -> float | None:
        return None if self.d.get(key) is None else self.number(key)

    def text(self, key: str) -> str:
        v = self._get(key)
        if not isinstance(v, str):
            raise InputError(f"record.{key}", f"{v!r} is not text")
        return v

    def opt_text(self, key: str) -> str | None:
        return None if self.d.get(key) is None else self.text(key)

    def boolean(self, key: str) -> bool:
        v = self._get(key)
        if not isinstance(v, bool):
            raise InputError(f"record.{key}", f"{v!r} is not true or false")
        return v

    def texts(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if default is not None and key not in self.d:
            return default
        v = self._get(key)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise InputError(f"record.{key}", "must be a list of texts")
        return tuple(v)

    def instant(self, key: str) -> float:
        text = self.text(key)
        try:
            return q.to_epoch_s(q.parse_datetime(text))
        except q.UnitError as exc:
            raise InputError(f"record.{key}", str(exc)) from None

    def opt_instant(self, key: str) -> float | None:
        return None if self.d.get(key) is None else self.instant(key)

    def day(self, key: str) -> date:
        text = self.text(key)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InputError(f"record.{key}", f"{text!r} is not a date (YYYY-MM-DD)") from None

    def opt_day(self, key: str) -> date | None:
        return None if self.d.get(key) is None else self.day(key)

    def objects(self, key: str, kind: type[Finding] | type[Confirmation]) -> list[dict[str, Any]]:
        v = self._get(key)
        names = {f.name for f in fields(kind)}
        required = {f.name for f in fields(kind) if f.default is MISSING and f.default_factory is MISSING}
        if not isinstance(v, list):
            raise InputError(f"record.{key}", "must be a list")
        out = []
        for i, x in enumerate(v):
            if not isinstance(x, Mapping) or not required <= set(x) <= names:
                raise InputError(f"record.{key}[{i}]", f"must be an object with {', '.join(sorted(required))}")
            out.append(dict(x))
        return out


def checksum(record: Mapping[str, Any]) -> str:
    """SHA-256 of the record's numbers (canonical JSON of :data:`CHECKSUM_FIELDS`)."""
    payload = {k: record.get(k) for k in CHECKSUM_FIELDS}
    return hashlib.sha256(_CANONICAL.encode(payload).encode()).hexdigest()


# json.dumps(payload, sort_keys=True, separators=(",", ":")), with its encoder built once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _check_verification(
    record: RefillRecord,
    verifier: str,
    *,
    checksum_valid: bool,
    drug: str,
    conc_mg_per_ml: float,
    filled_ml: float,
    reservoir_ml: float,
) -> None:
    """Refuse unless a second clinician may verify the record with these independent entries."""
    if not verifier.strip():
        raise InputError("verifier", "a verifier id is required")
    if record.verified_by:
        raise SafetyRefusal(
            "verifier", f"the record was already verified by {record.verified_by}", rule="second_clinician"
        )
    if verifier.strip() == record.clinician.strip():
        raise SafetyRefusal(
            "verifier",
            f"{verifier} performed this refill; a different clinician must verify it",
            rule="second_clinician",
        )
    if not checksum_valid:
        raise SafetyRefusal(
            "record",
            "the record's numbers do not match its checksum (altered after the refill)",
            rule="record_checksum",
        )
    checks = (
        ("drug", drug == record.drug, drug, record.drug),
        (
            "concentration",
            _close(conc_mg_per_ml, record.concentration_mg_per_ml),
            conc_mg_per_ml,
            record.concentration_mg_per_ml,
        ),
        ("fill", _close(filled_ml, record.filled_ml), filled_ml, record.filled_ml),
        (
            "reservoir_volume",
            _close(reservoir_ml, record.reservoir_ml_entered),
            reservoir_ml,
            record.reservoir_ml_entered,
        ),
    )
    for name, ok, mine, theirs in checks:
        if not ok:
            raise SafetyRefusal(
                name,
                f"the verifier's {name} {mine!r} does not match the record's {theirs!r}",
                rule="verify_values_match",
            )


def verify(
    record: RefillRecord,
    verifier: str,
    *,
    drug: str,
    conc_mg_per_ml: float,
    filled_ml: float,
    reservoir_ml: float,
) -> RefillRecord:
    """A second clinician checks the record against what they independently read and measured.

    Returns the record with its verification added; refuses (nothing added) on any mismatch.
    """
    _check_verification(
        record,
        verifier,
        checksum_valid=checksum(record.to_dict()) == record.checksum,
        drug=drug,
        conc_mg_per_ml=conc_mg_per_ml,
        filled_ml=filled_ml,
        reservoir_ml=reservoir_ml,
    )
    return replace(record, verified_by=verifier.strip(), verification=VERIFIED)


def verify_record(
    stored: Mapping[str, Any],
    verifier: str,
    *,
    drug: str,
    conc_mg_per_ml: float,
    filled_ml: float,
    reservoir_ml: float,
) -> dict[str, Any]:
    """:func:`verify` for a record as stored (state file, clinic database): JSON in, JSON out.

    The checksum is checked against the stored JSON itself; the stored keys are kept as written.
    """
    record = RefillRecord.from_dict(stored)
    _check_verification(
        record,
        verifier,
        checksum_valid=checksum(stored) == stored.get("checksum"),
        drug=drug,
        conc_mg_per_ml=conc_mg_per_ml,
        filled_ml=filled_ml,
        reservoir_ml=reservoir_ml,
    )
    return {**stored, "verified_by": verifier.strip(), "verification": VERIFIED}


def _close(a: float, b: float) -> bool:
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))


def render(record: RefillRecord) -> str:
    r = record
    ends = None if r.bridge_ends_s is None else q.iso(r.bridge_ends_s, r.offset_s)
    lines = [
        f"Refill {r.record_id}  {q.iso(r.time_s, r.offset_s)}  by {r.clinician}",
        f"  Drug               {r.drug} {r.concentration_label}"
        + (f"  (bridge bolus {r.bridge_volume_ml:.3f} mL, ends {ends})" if r.bridge_bolus else ""),
        f"  Expected           {r.expected_ml:.2f} mL",
        f"  Withdrawn          {r.withdrawn_ml:.2f} mL",
        f"  Discrepancy        {r.discrepancy_ml:+.2f} mL (threshold {r.discrepancy_threshold_ml:g} mL)"
        + ("   ** EVALUATE **" if r.flag else ""),
    ]
    for reason in r.flag_reasons:
        lines.append(f"    - {reason}")
    if r.likely_causes:
        lines.append("  Likely causes")
        lines += [f"    - {c}" for c in r.likely_causes]
    alarm_date = None if r.low_reservoir_alarm_s is None else q.local_date(r.low_reservoir_alarm_s, r.offset_s)
    lines += [
        f"  Filled             {r.filled_ml:.2f} mL; reservoir volume programmed {r.reservoir_ml_entered:.2f} mL",
        f"  Next refill        {q.local_date(r.next_refill_s, r.offset_s)} ({r.next_refill_reason.replace('_', ' ')})",
        f"  Low-reservoir alarm {alarm_date or 'not within 3 years'}"
        + (
            f"; with every patient bolus used {_date_text(r.low_reservoir_all_boluses_date)}"
            if r.ptm_boluses_per_day_assumed
            else ""
        ),
        f"  Checksum           {r.checksum[:16]}",
        f"  Verified by        {r.verified_by or '(awaiting a second clinician)'}",
    ]
    for f in r.guardrail_findings:
        lines.append(f"  [{f.level.upper()}] {f.field}: {f.reason}")
    return "\n".join(lines)
