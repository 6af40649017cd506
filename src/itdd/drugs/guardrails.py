"""Guardrails: classify every programmable value against the drug library's hard and soft bounds.

Each check returns a :class:`Finding` (``ok``, ``soft`` or ``hard``) with a human-readable reason
such as "morphine 22 mg/day exceeds the 15 mg/day soft limit".  :func:`enforce` turns findings
into a decision: any ``hard`` finding is refused (:class:`~itdd.errors.SafetyRefusal` naming the
field, the limit and the rule); every ``soft`` finding must be confirmed with a reason, and the
confirmations come back as records to store (programming record, pump log).

The checks are pure functions of their arguments (no clock, no pump): time enters as numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import quantities as q
from ..errors import InputError, SafetyRefusal
from ..pump.firmware import PtmSettings
from ..pump.models import PumpModel
from ..pump.therapy import DAY_S, Therapy
from ..timeunits import SECONDS_PER_HOUR_INT
from . import Bounds, Cited, DeviceLimits, Drug, device_limits, get_drug
from .rules import RULES_BY_ID

OK, SOFT, HARD = "ok", "soft", "hard"
MIN_REASON_CHARS = 3  # assumption: a confirmation reason must say something


@dataclass(frozen=True)
class Finding:
    field: str
    rule: str  # the rule that applied (e.g. "daily_dose_soft"), or the check's base name when ok
    level: str  # ok | soft | hard
    value: str
    limit: str | None
    reason: str
    source: str | None = None  # library source id of the limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "rule": self.rule,
            "level": self.level,
            "value": self.value,
            "limit": self.limit,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class Confirmation:
    field: str
    rule: str
    finding: str  # the finding's reason, as the clinician saw it
    reason: str  # the clinician's reason for going beyond the soft limit
    clinician: str

    def to_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "rule": self.rule,
            "finding": self.finding,
            "reason": self.reason,
            "clinician": self.clinician,
        }


def classify(
    field: str,
    base: str,
    subject: str,
    value: float,
    bounds: Bounds | None,
    fmt: Callable[[float], str],
    *,
    hard_rule: str | None = None,
    soft_rule: str | None = None,
    hard_note: str = "",
) -> Finding:
    """Classify one value. ``base`` names the rules ``<base>_hard`` / ``<base>_soft``."""
    shown = fmt(value)
    if bounds is None:
        return Finding(field, base, OK, shown, None, f"{subject} {shown}: no library limit")
    level, side, limit = bounds.classify(value)
    if level == OK or limit is None:
        return Finding(field, base, OK, shown, None, f"{subject} {shown} is within limits")
    word = "exceeds" if side == "high" else "is below"
    rule = (hard_rule or f"{base}_hard") if level == HARD else (soft_rule or f"{base}_soft")
    reason = f"{subject} {shown} {word} the {fmt(limit.value)} {level} limit"
    if level == HARD and hard_note:
        reason += f" {hard_note}"
    return Finding(field, rule, level, shown, fmt(limit.value), reason, limit.source)


def _pct(x: float) -> str:
    return f"{x * 100:.4g}%"


def _count(x: float) -> str:
    return f"{x:g}"


# ---- the checks --------------------------------------------------------------------------------


def check_drug(name: str, field: str = "drug") -> Drug:
    """The drug, or a refusal (rule ``unknown_drug``)."""
    try:
        return get_drug(name, field)
    except InputError as exc:
        raise SafetyRefusal(field, exc.message, rule="unknown_drug") from None


def _component(field: str, subject: str, value: float, bounds: Bounds | None, fmt: Callable[[float], str]) -> Finding:
    """One added drug of a mixture against its own library limits (rules ``component_limit_*``)."""
    return classify(
        field,
        "component_limit",
        subject,
        value,
        bounds,
        fmt,
        hard_rule="component_limit_hard",
        soft_rule="component_limit_soft",
    )


def check_components(drug: Drug, field: str, what: str, primary_value: float) -> list[Finding]:
    """Every added drug of a mixture (``drug.components``) against its own limits: ``what`` is
    ``concentration`` (mg/mL), ``daily_dose`` (mg/day) or ``bolus_dose`` (mg); the value of each
    component is the primary's value times its ratio.  Fields are ``<field>.<drug>``.  Empty for a
    single drug."""
    out: list[Finding] = []
    for comp, ratio in drug.components:
        value = primary_value * ratio
        if what == "concentration":
            out.append(_component(f"{field}.{comp.name}", comp.name, value, comp.concentration, comp.fmt_concentration))
        elif what == "daily_dose":
            out.append(_component(f"{field}.{comp.name}", comp.name, value, comp.daily_dose, comp.fmt_dose_rate))
        else:
            out.append(
                _component(f"{field}.{comp.name}", f"{comp.name} bolus", value, comp.bolus_dose, comp.fmt_amount)
            )
    return out


def _worst(findings: list[Finding]) -> Finding:
    for level in (HARD, SOFT):
        for f in findings:
            if f.level == level:
                return f
    return findings[0]


def check_concentration(drug: Drug, conc_mg_per_ml: float, field: str = "concentration") -> Finding:
    """The concentration against the library; for a mixture, the worst of the primary's and of every
    added drug's own concentration (``<field>.<drug>``)."""
    primary = _check_concentration(drug, conc_mg_per_ml, field)
    if not drug.components:
        return primary
    return _worst([primary, *check_components(drug, field, "concentration", conc_mg_per_ml)])


def _check_concentration(drug: Drug, conc_mg_per_ml: float, field: str) -> Finding:
    return classify(
        field,
        "concentration",
        drug.name,
        conc_mg_per_ml,
        drug.concentration,
        drug.fmt_concentration,
        hard_rule="concentration_outside_library",
        hard_note="(outside the drug library)",
    )


def _rate_findings(
    drug: Drug, conc: float, model: PumpModel, field: str, label: str, mg_per_day: float
) -> list[Finding]:
    """Refuse a dose rate the pump cannot run at this concentration (with the computed numbers)."""
    if mg_per_day <= 0 or conc <= 0:
        return []
    rate = mg_per_day / conc
    shown = f"{drug.fmt_dose_rate(mg_per_day)} at {drug.fmt_concentration(conc)}"
    if rate < model.min_rate_ml_per_day - 1e-12:
        lowest = model.min_rate_ml_per_day * conc
        return [
            Finding(
                field,
                "min_rate",
                HARD,
                shown,
                q.fmt_flow(model.min_rate_ml_per_day),
                f"{label}{shown} needs {q.fmt_flow(rate)}, below the pump's minimum rate "
                f"{q.fmt_flow(model.min_rate_ml_per_day)} (the lowest dose at this concentration is "
                f"{drug.fmt_dose_rate(lowest)}; use a lower concentration)",
            )
        ]
    if rate > model.max_rate_ml_per_day + 1e-12:
        highest = model.max_rate_ml_per_day * conc
        return [
            Finding(
                field,
                "max_rate",
                HARD,
                shown,
                q.fmt_flow(model.max_rate_ml_per_day),
                f"{label}{shown} needs {q.fmt_flow(rate)}, above the pump's maximum rate "
                f"{q.fmt_flow(model.max_rate_ml_per_day)} (the highest dose at this concentration is "
                f"{drug.fmt_dose_rate(highest)})",
            )
        ]
    return []


def check_therapy(
    drug: Drug, conc_mg_per_ml: float, therapy: Therapy, model: PumpModel, field: str = "therapy"
) -> list[Finding]:
    """Daily dose, each flex step, each periodic bolus, and the pump rate of every step."""
    out: list[Finding] = []
    if not therapy.running:
        return out
    daily = therapy.daily_dose_mg()
    dose_field = f"{field}.dose" if therapy.mode == "simple_continuous" else f"{field}.daily_dose"
    out.append(classify(dose_field, "daily_dose", drug.name, daily, drug.daily_dose, drug.fmt_dose_rate))
    out += check_components(drug, dose_field, "daily_dose", daily)
    if therapy.mode == "flex":
        for i, (start, dose) in enumerate(therapy.flex_steps):
            f = f"{field}.steps[{i}].dose"
            label = f"{drug.name} flex step {i + 1} ({_hhmm(start)})"
            out.append(classify(f, "flex_step", label, dose, drug.daily_dose, drug.fmt_dose_rate))
            out += _rate_findings(drug, conc_mg_per_ml, model, f, f"flex step {i + 1}: ", dose)
    elif therapy.mode == "periodic_bolus":
        for i, b in enumerate(therapy.boluses):
            f = f"{field}.boluses[{i}].dose"
            label = f"{drug.name} periodic bolus {i + 1} ({_hhmm(b.at_s)})"
            out.append(classify(f, "bolus_dose", label, b.dose_mg, drug.bolus_dose, drug.fmt_amount))
            out += _rate_findings(
                drug,
                conc_mg_per_ml,
                model,
                f,
                f"periodic bolus {i + 1}: ",
                therapy.basal_mg_per_day + b.dose_mg / b.duration_s * DAY_S,
            )
        if therapy.basal_mg_per_day > 0:
            out += _rate_findings(drug, conc_mg_per_ml, model, f"{field}.basal", "basal: ", therapy.basal_mg_per_day)
    else:
        out += _rate_findings(drug, conc_mg_per_ml, model, dose_field, "", therapy.dose_mg_per_day)
    return out


def check_bolus(
    drug: Drug, conc_mg_per_ml: float, dose_mg: float, duration_s: float, model: PumpModel, field: str = "bolus"
) -> list[Finding]:
    """A clinician bolus: its dose against the drug's bolus limits, its rate against the pump's."""
    out = [classify(f"{field}.dose", "bolus_dose", f"{drug.name} bolus", dose_mg, drug.bolus_dose, drug.fmt_amount)]
    out += check_components(drug, f"{field}.dose", "bolus_dose", dose_mg)
    if duration_s > 0:
        out += _rate_findings(drug, conc_mg_per_ml, model, f"{field}.duration", "bolus: ", dose_mg / duration_s * DAY_S)
    return out


def ptm_boluses_per_day(ptm: PtmSettings, basal_daily_mg: float) -> int:
    """How many patient boluses any 24 h can hold: the count, the lockout and the 24 h maximum."""
    n = ptm.max_per_day
    if ptm.lockout_s > 0:
        n = min(n, math.ceil(DAY_S / ptm.lockout_s - 1e-9))
    if ptm.max_daily_dose_mg is not None and ptm.dose_mg > 0:
        room = ptm.max_daily_dose_mg - basal_daily_mg
        n = min(n, max(math.floor(room / ptm.dose_mg + 1e-9), 0))
    return max(n, 0)


def check_ptm(
    drug: Drug,
    conc_mg_per_ml: float,
    ptm: PtmSettings,
    basal_daily_mg: float,
    model: PumpModel,
    device: DeviceLimits | None = None,
    field: str = "ptm",
) -> list[Finding]:
    dev = device or device_limits()
    out = [
        classify(
            f"{field}.dose", "ptm_dose", f"{drug.name} patient bolus", ptm.dose_mg, drug.bolus_dose, drug.fmt_amount
        ),
        classify(
            f"{field}.max_per_day", "ptm_count", "patient boluses per day", ptm.max_per_day, dev.ptm_max_per_day, _count
        ),
        classify(f"{field}.lockout", "ptm_lockout", "lockout", ptm.lockout_s, dev.ptm_lockout, q.fmt_duration),
        classify(
            f"{field}.duration",
            "ptm_duration",
            "patient bolus duration",
            ptm.duration_s,
            dev.ptm_duration,
            q.fmt_duration,
        ),
    ]
    if ptm.lockout_s < ptm.duration_s and out[2].level != HARD:
        out[2] = Finding(
            f"{field}.lockout",
            "ptm_lockout_hard",
            HARD,
            q.fmt_duration(ptm.lockout_s),
            q.fmt_duration(ptm.duration_s),
            f"lockout {q.fmt_duration(ptm.lockout_s)} is shorter than the bolus duration "
            f"{q.fmt_duration(ptm.duration_s)}",
        )
    if ptm.duration_s > 0:
        extra = ptm.dose_mg / ptm.duration_s * DAY_S
        out += _rate_findings(drug, conc_mg_per_ml, model, f"{field}.duration", "patient bolus: ", extra)
    out += check_components(drug, f"{field}.dose", "bolus_dose", ptm.dose_mg)
    n = ptm_boluses_per_day(ptm, basal_daily_mg)
    worst = basal_daily_mg + n * ptm.dose_mg
    if ptm.max_daily_dose_mg is not None:
        worst = min(worst, ptm.max_daily_dose_mg)
        # the programmed maximum itself must be within the hard limit
        f_max = classify(
            f"{field}.max_daily_dose",
            "ptm_max_daily",
            f"{drug.name} 24 h maximum",
            ptm.max_daily_dose_mg,
            Bounds(hard_max=drug.daily_dose.hard_max),
            drug.fmt_dose_rate,
        )
        if f_max.level == HARD:
            out.append(f_max)
    out.append(
        classify(
            f"{field}.daily_maximum",
            "ptm_max_daily",
            f"{drug.name} with every allowed patient bolus ({n} a day)",
            worst,
            drug.daily_dose,
            drug.fmt_dose_rate,
        )
    )
    out += check_components(drug, f"{field}.daily_maximum", "daily_dose", worst)
    return _merge_same_field(out)


def check_low_reservoir(volume_ml: float, model: PumpModel, device: DeviceLimits | None = None) -> Finding:
    dev = device or device_limits()
    b = dev.low_reservoir_alarm
    if b.hard_max is not None and b.hard_max.value >= model.reservoir_capacity_ml:
        cap = Cited(model.reservoir_capacity_ml - 1.0, "capacity - 1 mL", "itdd", "assumption")
        b = Bounds(b.hard_min, b.soft_min, b.soft_max, cap)
    return classify("low_reservoir_alarm", "low_reservoir", "low-reservoir alarm", volume_ml, b, q.fmt_volume)


def check_titration(
    drug: Drug,
    current_daily_mg: float,
    new_daily_mg: float,
    since_last_increase_s: float | None,
    field: str = "therapy.daily_dose",
) -> list[Finding]:
    """A dose increase: step size (%, and amount where the library has one) and the interval."""
    if new_daily_mg <= current_daily_mg + 1e-12:
        return []
    if current_daily_mg <= 0:
        if drug.starting_dose is None:
            return []
        hi = drug.starting_dose[1]
        return [
            classify(
                field,
                "starting_dose",
                f"{drug.name} starting dose",
                new_daily_mg,
                Bounds(soft_max=hi),
                drug.fmt_dose_rate,
                soft_rule="starting_dose_soft",
            )
        ]
    out: list[Finding] = []
    step = new_daily_mg / current_daily_mg - 1.0
    subject = f"{drug.name} increase {drug.fmt_dose_rate(current_daily_mg)} -> {drug.fmt_dose_rate(new_daily_mg)}:"
    out.append(classify(f"{field}.increase", "titration_step", subject, step, drug.max_increase, _pct))
    if drug.max_increase_amount is not None:
        out.append(
            classify(
                f"{field}.increase_amount",
                "titration_amount",
                subject,
                new_daily_mg - current_daily_mg,
                drug.max_increase_amount,
                drug.fmt_dose_rate,
            )
        )
    if since_last_increase_s is not None and drug.min_interval is not None:
        out.append(
            classify(
                f"{field}.interval",
                "titration_interval",
                f"{drug.name} increase {q.fmt_duration(since_last_increase_s)} after the last one:",
                since_last_increase_s,
                drug.min_interval,
                q.fmt_duration,
            )
        )
    return _merge_same_field(out)


def check_titration_plan(drug: Drug, step_fraction: float, interval_s: float, field: str = "plan") -> list[Finding]:
    """A titration plan's own step size and interval."""
    return [
        classify(
            f"{field}.step", "titration_step", f"{drug.name} titration step", step_fraction, drug.max_increase, _pct
        ),
        classify(
            f"{field}.interval",
            "titration_interval",
            f"{drug.name} titration interval",
            interval_s,
            drug.min_interval,
            q.fmt_duration,
        ),
    ]


def _merge_same_field(findings: list[Finding]) -> list[Finding]:
    """Keep the worst finding per field (hard over soft over ok), first one on ties."""
    rank = {OK: 0, SOFT: 1, HARD: 2}
    best: dict[str, Finding] = {}
    order: list[str] = []
    for f in findings:
        if f.field not in best:
            order.append(f.field)
            best[f.field] = f
        elif rank[f.level] > rank[best[f.field].level]:
            best[f.field] = f
    return [best[k] for k in order]


# ---- decision ----------------------------------------------------------------------------------


def enforce(findings: Iterable[Finding], confirmations: Mapping[str, str] | None, clinician: str) -> list[Confirmation]:
    """Refuse on any hard finding or unconfirmed soft one; return the confirmations to record.

    ``confirmations`` maps a finding's field to the clinician's reason.  A confirmation for a
    field with no soft finding is refused too (no blanket confirmations).
    """
    found = _merge_same_field(list(findings))
    given = dict(confirmations or {})
    for f in found:
        if f.level == HARD:
            raise SafetyRefusal(f.field, f.reason, rule=f.rule)
    out: list[Confirmation] = []
    soft_fields = set()
    for f in found:
        if f.level != SOFT:
            continue
        soft_fields.add(f.field)
        reason = given.get(f.field)
        if reason is None:
            raise SafetyRefusal(
                f.field,
                f'{f.reason}; to go ahead, confirm it with a reason (confirm {f.field}="...")',
                rule=f.rule,
            )
        if len(reason.strip()) < MIN_REASON_CHARS:
            raise SafetyRefusal(
                f"confirm.{f.field}", "a confirmation needs a reason (a few words)", rule="confirmation_needs_reason"
            )
        out.append(Confirmation(f.field, f.rule, f.reason, reason.strip(), clinician))
    for key in given:
        if key not in soft_fields:
            raise SafetyRefusal(
                f"confirm.{key}",
                "nothing at this field needs a confirmation (it is within its soft limits, or not being changed)",
                rule="confirmation_unneeded",
            )
    return out


def rule_kind(rule_id: str) -> str:
    r = RULES_BY_ID.get(rule_id)
    return r.kind if r else ""


def _hhmm(seconds_of_day: int) -> str:
    h, rem = divmod(int(seconds_of_day), SECONDS_PER_HOUR_INT)
    return f"{h:02d}:{rem // 60:02d}"
