"""Program therapy: build from doses, validate against the guardrails, show every pending change
side by side with the current value (like the A810 programmer's Finish screen), commit in one
atomic command, read back and verify.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import quantities as q
from ..drugs.guardrails import (
    Confirmation,
    Finding,
    check_low_reservoir,
    check_ptm,
    check_therapy,
    check_titration,
    enforce,
)
from ..errors import InputError
from ..pump.firmware import PtmSettings
from ..pump.therapy import PeriodicBolus, Therapy
from ..telemetry.commands import therapy_to_args
from ..telemetry.messages import ProgramArgs, program_to_args
from ..timeunits import SECONDS_PER_HOUR_INT
from .session import Session
from .status import Interrogation, interrogate, last_increase_s

KEEP: Any = object()  # "leave this setting as it is"
DOSE_TOLERANCE = 1e-9  # read-back comparison tolerance (relative)


# ---- building a therapy from what the clinician writes -------------------------------------------


def _parse(field_name: str, fn: Any, text: object) -> float:
    try:
        return float(fn(text))
    except q.UnitError as exc:
        raise InputError(field_name, str(exc)) from None


def therapy_from_text(
    mode: str,
    *,
    dose: str | None = None,
    steps: Sequence[str] = (),
    boluses: Sequence[str] = (),
    basal: str | None = None,
) -> Therapy:
    """Build a therapy from text with units.

    ``steps``: ``"07:00=2 mg/day"``; ``boluses``: ``"08:00=0.5 mg/30min"`` (time=amount/duration).
    """
    if mode == "stopped":
        return Therapy.stopped()
    if mode == "simple_continuous":
        if dose is None:
            raise InputError("therapy.dose", "a simple continuous therapy needs a dose, e.g. '1.5 mg/day'")
        return Therapy.simple(_parse("therapy.dose", q.parse_dose_rate_mg_per_day, dose))
    if mode == "flex":
        if not steps:
            raise InputError("therapy.steps", "a flex therapy needs steps like '07:00=2 mg/day'")
        parsed = []
        for i, s in enumerate(steps):
            at, sep, d = s.partition("=")
            if not sep:
                raise InputError(f"therapy.steps[{i}]", f"'{s}' should read like '07:00=2 mg/day'")
            parsed.append(
                (
                    int(_parse(f"therapy.steps[{i}].start", q.parse_time_of_day_s, at.strip())),
                    _parse(f"therapy.steps[{i}].dose", q.parse_dose_rate_mg_per_day, d.strip()),
                )
            )
        return Therapy.flex(parsed)
    if mode == "periodic_bolus":
        if not boluses:
            raise InputError("therapy.boluses", "a periodic-bolus therapy needs boluses like '08:00=0.5 mg/30min'")
        out = []
        for i, b in enumerate(boluses):
            at, sep, rest = b.partition("=")
            amount, sep2, dur = rest.rpartition("/")
            if not sep or not sep2:
                raise InputError(f"therapy.boluses[{i}]", f"'{b}' should read like '08:00=0.5 mg/30min'")
            out.append(
                PeriodicBolus(
                    int(_parse(f"therapy.boluses[{i}].at", q.parse_time_of_day_s, at.strip())),
                    _parse(f"therapy.boluses[{i}].dose", q.parse_amount_mg, amount.strip()),
                    _parse(f"therapy.boluses[{i}].duration", q.parse_duration_s, dur.strip()),
                )
            )
        base = 0.0 if basal is None else _parse("therapy.basal", q.parse_dose_rate_mg_per_day, basal)
        return Therapy.periodic(out, base)
    raise InputError("therapy.mode", f"unknown mode {mode!r} (stopped, simple_continuous, flex, periodic_bolus)")


# ---- plan: validate and show the changes ---------------------------------------------------------


@dataclass(frozen=True)
class Change:
    label: str
    current: str
    pending: str

    @property
    def changed(self) -> bool:
        return self.current != self.pending


@dataclass
class ProgramPlan:
    current: Interrogation
    therapy: Therapy
    ptm: PtmSettings | None
    low_reservoir_ml: float
    ptm_changed: bool
    low_changed: bool
    findings: list[Finding]
    changes: list[Change]

    def finish_screen(self) -> str:
        """Every pending setting beside its current value; '*' marks what changes."""
        w1 = max(len(c.label) for c in self.changes)
        w2 = max(len("Current"), *(len(c.current) for c in self.changes))
        lines = [f"  {'Setting':<{w1}}  {'Current':<{w2}}  Pending", f"  {'-' * w1}  {'-' * w2}  {'-' * 7}"]
        for c in self.changes:
            mark = "*" if c.changed else " "
            lines.append(f"{mark} {c.label:<{w1}}  {c.current:<{w2}}  {c.pending}")
        notes = [f for f in self.findings if f.level != "ok"]
        if notes:
            lines.append("")
            for f in notes:
                lines.append(f"  [{f.level.upper()}] {f.field}: {f.reason}")
        return "\n".join(lines)


def _therapy_rows(th: Therapy, it: Interrogation) -> dict[str, str]:
    d = it.drug
    rows = {"Mode": th.mode.replace("_", " ")}
    if th.mode == "simple_continuous":
        rows["Dose"] = d.fmt_dose_rate(th.dose_mg_per_day)
    elif th.mode == "flex":
        for i, (s, v) in enumerate(th.flex_steps):
            rows[f"Step {i + 1}"] = f"{_hhmm(s)} {d.fmt_dose_rate(v)}"
    elif th.mode == "periodic_bolus":
        rows["Basal"] = d.fmt_dose_rate(th.basal_mg_per_day)
        for i, b in enumerate(th.boluses):
            rows[f"Bolus {i + 1}"] = f"{_hhmm(b.at_s)} {d.fmt_amount(b.dose_mg)} over {q.fmt_duration(b.duration_s)}"
    rows["Daily dose"] = d.fmt_dose_rate(th.daily_dose_mg())
    rows["Pump rate"] = (
        q.fmt_flow(th.daily_dose_mg() / it.conc_mg_per_ml) + " (average)" if it.conc_mg_per_ml > 0 else "-"
    )
    return rows


def _ptm_rows(p: PtmSettings | None, it: Interrogation) -> dict[str, str]:
    d = it.drug
    if p is None:
        return {"PTM": "off"}
    return {
        "PTM": "enabled" if p.enabled else "disabled",
        "PTM bolus": d.fmt_amount(p.dose_mg),
        "PTM duration": q.fmt_duration(p.duration_s),
        "PTM lockout": q.fmt_duration(p.lockout_s),
        "PTM max per day": str(p.max_per_day),
        "PTM 24 h maximum": "-" if p.max_daily_dose_mg is None else d.fmt_dose_rate(p.max_daily_dose_mg),
    }


def plan_program(
    current: Interrogation,
    therapy: Therapy,
    *,
    ptm: PtmSettings | None = KEEP,
    low_reservoir_ml: float | None = None,
    last_increase_at_s: float | None = None,
) -> ProgramPlan:
    """Validate a new therapy (and optionally PTM settings and the alarm) against the guardrails."""
    it = current
    new_ptm = it.ptm if ptm is KEEP else ptm
    low = it.low_reservoir_ml if low_reservoir_ml is None else low_reservoir_ml
    findings = check_therapy(it.drug, it.conc_mg_per_ml, therapy, it.model)
    cur_daily = it.therapy.daily_dose_mg() if it.therapy.running else 0.0
    since = None if last_increase_at_s is None else it.time_s - last_increase_at_s
    findings += check_titration(it.drug, cur_daily, therapy.daily_dose_mg(), since)
    if new_ptm is not None and new_ptm.enabled:
        findings += check_ptm(it.drug, it.conc_mg_per_ml, new_ptm, therapy.daily_dose_mg(), it.model)
    findings.append(check_low_reservoir(low, it.model))
    changes = [
        Change(
            "Drug",
            f"{it.drug.name} {it.drug.fmt_concentration(it.conc_mg_per_ml)}",
            f"{it.drug.name} {it.drug.fmt_concentration(it.conc_mg_per_ml)}",
        )
    ]
    for rows_cur, rows_new in (
        (_therapy_rows(it.therapy, it), _therapy_rows(therapy, it)),
        (_ptm_rows(it.ptm, it), _ptm_rows(new_ptm, it)),
    ):
        for label in list(dict.fromkeys([*rows_cur, *rows_new])):
            changes.append(Change(label, rows_cur.get(label, "-"), rows_new.get(label, "-")))
    changes.append(Change("Low-reservoir alarm", q.fmt_volume(it.low_reservoir_ml), q.fmt_volume(low)))
    return ProgramPlan(
        current=it,
        therapy=therapy,
        ptm=new_ptm,
        low_reservoir_ml=low,
        ptm_changed=ptm is not KEEP and _ptm_key(new_ptm) != _ptm_key(it.ptm),
        low_changed=abs(low - it.low_reservoir_ml) > 1e-12,
        findings=findings,
        changes=changes,
    )


# ---- commit ----------------------------------------------------------------------------------


@dataclass
class ProgrammingRecord:
    record_id: str
    time_s: float
    clinician: str
    drug: str
    changes: list[Change]
    findings: list[Finding]
    confirmations: list[Confirmation]
    readback: str
    certain: bool
    notes: list[str] = field(default_factory=list)
    offset_s: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "time": q.iso(self.time_s, self.offset_s),
            "clinician": self.clinician,
            "drug": self.drug,
            "changes": [
                {"setting": c.label, "current": c.current, "pending": c.pending, "changed": c.changed}
                for c in self.changes
            ],
            "findings": [f.to_dict() for f in self.findings if f.level != "ok"],
            "confirmations": [c.to_dict() for c in self.confirmations],
            "readback": self.readback,
            "delivery_certain": self.certain,
            "link_notes": self.notes,
        }


def _ptm_key(p: PtmSettings | None) -> Any:
    return None if p is None else tuple(sorted(p.to_dict().items()))


def _same_therapy(a: Therapy, b: Therapy) -> bool:
    x, y = therapy_to_args(a), therapy_to_args(b)
    return json.dumps(x, sort_keys=True) == json.dumps(y, sort_keys=True) or _close(x, y)


def _close(x: Any, y: Any) -> bool:
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple) and isinstance(y, list | tuple):
        return len(x) == len(y) and all(_close(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, int | float) and isinstance(y, int | float):
        return abs(x - y) <= DOSE_TOLERANCE * max(1.0, abs(x), abs(y))
    return bool(x == y)


def record_id_for(prefix: str, time_s: float, payload: Any) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{prefix}-{int(time_s)}-{digest}"


def commit_program(
    session: Session,
    plan: ProgramPlan,
    *,
    clinician: str,
    confirmations: Mapping[str, str] | None = None,
) -> ProgrammingRecord:
    """Enforce the guardrails, send one atomic ``program`` command, read back and verify."""
    if not clinician.strip():
        raise InputError("clinician", "a clinician id is required to program the pump")
    confirmed = enforce(plan.findings, confirmations, clinician)
    it = plan.current
    cmd = ProgramArgs(
        plan.therapy,
        low_reservoir_ml=plan.low_reservoir_ml if plan.low_changed else None,
        ptm_given=plan.ptm_changed,
        ptm=plan.ptm if plan.ptm_changed else None,
    )
    rid = record_id_for("prog", it.time_s, program_to_args(cmd))
    details = {"record_id": rid, "clinician": clinician, "confirmations": [c.to_dict() for c in confirmed]}
    args = program_to_args(replace(cmd, details=details))
    seq0 = session.last_seq()

    def verify() -> bool:
        th = session.read_therapy()
        ok = _same_therapy(th.therapy, plan.therapy)
        ok = ok and abs(th.low_reservoir_ml - plan.low_reservoir_ml) <= 1e-9
        if plan.ptm_changed:
            ok = ok and _close(_ptm_key(th.ptm), _ptm_key(plan.ptm))
        return ok

    res = session.write(
        "program",
        args,
        verify=verify,
        applied=session.log_entry_since(seq0, "therapy_programmed", lambda e: e.details.get("record_id") == rid),
    )
    return ProgrammingRecord(
        record_id=rid,
        time_s=it.time_s,
        clinician=clinician,
        drug=it.drug.name,
        changes=plan.changes,
        findings=plan.findings,
        confirmations=confirmed,
        readback="verified",
        certain=res.certain,
        notes=list(session.notes),
        offset_s=it.offset_s,
    )


def program(
    session: Session,
    therapy: Therapy,
    *,
    clinician: str,
    confirmations: Mapping[str, str] | None = None,
    ptm: PtmSettings | None = KEEP,
    low_reservoir_ml: float | None = None,
) -> tuple[ProgramPlan, ProgrammingRecord]:
    """The whole workflow: read the pump, plan, enforce, commit, verify."""
    it = interrogate(session, side_effects=False)
    plan = plan_program(
        it, therapy, ptm=ptm, low_reservoir_ml=low_reservoir_ml, last_increase_at_s=last_increase_s(session)
    )
    return plan, commit_program(session, plan, clinician=clinician, confirmations=confirmations)


def _hhmm(seconds_of_day: int) -> str:
    h, rem = divmod(int(seconds_of_day), SECONDS_PER_HOUR_INT)
    return f"{h:02d}:{rem // 60:02d}"
