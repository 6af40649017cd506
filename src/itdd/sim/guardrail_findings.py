"""Drug-library guardrails on a scenario's therapy: reported, not enforced.

A scenario replays what happened, so a therapy that breaks a drug-library limit still runs; but
like a clinician programmer would have, the run says so: every hard (and soft) finding goes into
the result's ``guardrail_findings`` and ``itdd simulate`` prints each hard one on stderr.  A drug
not in the library has no limits to check (nothing is reported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import quantities as q
from ..drugs import Drug, library
from ..drugs.guardrails import HARD, OK, Finding, check_bolus, check_concentration, check_ptm, check_therapy
from ..pump.firmware import PtmSettings
from ..pump.models import PumpModel
from ..pump.therapy import Therapy

if TYPE_CHECKING:
    from ..pump.implant import Implant


def _drug(name: str) -> Drug | None:
    return library().get(name)


def findings_for_start(
    drug_name: str, conc: float, therapy: Therapy, ptm: PtmSettings | None, model: PumpModel
) -> list[Finding]:
    drug = _drug(drug_name)
    if drug is None:
        return []
    out = [check_concentration(drug, conc, "pump.concentration")]
    out += check_therapy(drug, conc, therapy, model)
    if ptm is not None and ptm.enabled:
        out += check_ptm(drug, conc, ptm, therapy.daily_dose_mg(), model)
    return out


def findings_for_therapy(implant: Implant, therapy: Therapy) -> list[Finding]:
    drug = _drug(implant.fw.drug)
    return [] if drug is None else check_therapy(drug, implant.fw.conc_mg_per_ml, therapy, implant.model)


def findings_for_bolus(implant: Implant, dose_mg: float, duration_s: float) -> list[Finding]:
    drug = _drug(implant.fw.drug)
    if drug is None:
        return []
    return check_bolus(drug, implant.fw.conc_mg_per_ml, dose_mg, duration_s, implant.model, "clinician_bolus")


def findings_for_ptm(implant: Implant) -> list[Finding]:
    drug = _drug(implant.fw.drug)
    ptm = implant.fw.ptm
    if drug is None or ptm is None or not ptm.enabled:
        return []
    daily = implant.fw.therapy.daily_dose_mg() if implant.fw.therapy.running else 0.0
    return check_ptm(drug, implant.fw.conc_mg_per_ml, ptm, daily, implant.model)


def record_findings(rows: list[dict[str, Any]], findings: list[Finding], where: str, t_s: float, offset_s: int) -> None:
    """Add the non-ok findings to ``rows`` (a run's), with the instant and what set the value."""
    for f in findings:
        if f.level == OK:
            continue
        rows.append({"time": q.iso(t_s, offset_s), "set_by": where, **f.to_dict()})


def hard_lines(result: dict[str, Any]) -> list[str]:
    """One stderr line per hard finding: ``warning: <field>: <reason> (rule ...)``."""
    out = []
    for f in result.get("guardrail_findings", []):
        if f.get("level") == HARD:
            out.append(f"warning: {f['time']} {f['field']}: {f['reason']} (drug-library hard limit {f['rule']})")
    return out
