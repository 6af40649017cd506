"""FHIR R4 import: a Patient (or a Bundle of one Patient and its Observations) becomes a new clinic patient
with assessments, all or nothing, audited.  Every resource is validated by ``fhir.resources`` (the R4B models,
as the export: see :mod:`.fhir`), and a value out of range is refused naming the field."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select

from ...errors import ItddError
from ...quantities import parse_datetime, to_epoch_s
from ..models import (
    Assessment,
    Patient,
)
from ..problems import Conflict, Invalid
from ..services import Ctx
from .fhir import (
    FUNCTION,
    MAX_IMPORT_ENTRIES,
    MME,
    MRN_SYSTEM,
    PAIN,
    RANGES,
    SEX,
    validate,
)
from .models import PatientObservation

# ---- import -------------------------------------------------------------------------------------


def _time_s(text: Any, field: str) -> float:
    try:
        return to_epoch_s(parse_datetime(str(text)))
    except (ItddError, ValueError, TypeError):
        raise Invalid("a date-time with a time zone, e.g. 2026-03-02T09:00:00+01:00", field=field) from None


def _parse(body: Any) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any]]]]:
    if not isinstance(body, dict):
        raise Invalid("send a FHIR Patient or Bundle resource as a JSON object", field="body")
    kind = body.get("resourceType")
    if kind == "Patient":
        return validate(body), []
    if kind != "Bundle":
        raise Invalid("resourceType must be Patient or Bundle", field="resourceType")
    entries = body.get("entry") or []
    if not isinstance(entries, list) or len(entries) > MAX_IMPORT_ENTRIES:
        raise Invalid(f"a list of at most {MAX_IMPORT_ENTRIES} entries", field="Bundle.entry")
    validate(body)  # the bundle as a whole (every entry with its own model)
    patients, observations = [], []
    for i, e in enumerate(entries):
        r = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(r, dict):
            raise Invalid("each entry needs a resource", field=f"Bundle.entry.{i}.resource")
        if r.get("resourceType") == "Patient":
            patients.append(validate(r))
        elif r.get("resourceType") == "Observation":
            observations.append((i, validate(r)))
        else:
            raise Invalid(
                f"only Patient and Observation can be imported, not {r.get('resourceType')!r}",
                field=f"Bundle.entry.{i}.resource.resourceType",
            )
    if len(patients) != 1:
        raise Invalid(f"the Bundle must hold exactly one Patient (it holds {len(patients)})", field="Bundle.entry")
    return patients[0], observations


def _patient_fields(r: dict[str, Any]) -> tuple[str, int, str, str | None]:
    names = r.get("name") or []
    if not names:
        raise Invalid("the patient needs a name", field="Patient.name")
    n = names[0]
    name = (n.get("text") or " ".join([*n.get("given", []), n.get("family", "")])).strip()
    if not name or len(name) > 200:
        raise Invalid("a name of 1-200 characters", field="Patient.name")
    birth = r.get("birthDate")
    if not birth:
        raise Invalid("the patient needs a birthDate (a year is enough)", field="Patient.birthDate")
    year = int(str(birth)[:4])
    if not 1900 <= year <= 2100:
        raise Invalid("a birth year between 1900 and 2100", field="Patient.birthDate")
    sex = SEX.get(str(r.get("gender") or "unknown"))
    if sex is None:
        raise Invalid("gender must be male, female, other or unknown", field="Patient.gender")
    mrn = next((i.get("value") for i in r.get("identifier") or [] if i.get("system") == MRN_SYSTEM), None)
    if mrn is not None and not (1 <= len(str(mrn)) <= 32):
        raise Invalid("an MRN of 1-32 characters", field="Patient.identifier")
    return name, year, sex, None if mrn is None else str(mrn)


def _observation(i: int, r: dict[str, Any]) -> tuple[float, str, str, str, float, str]:
    where = f"Bundle.entry.{i}.resource"
    codings = (r.get("code") or {}).get("coding") or []
    if not codings or not codings[0].get("code"):
        raise Invalid("the observation needs a coded code", field=f"{where}.code")
    c = codings[0]
    vq = r.get("valueQuantity")
    if not isinstance(vq, dict) or vq.get("value") is None:
        raise Invalid("only observations with a valueQuantity can be imported", field=f"{where}.valueQuantity")
    value = float(vq["value"])
    unit = str(vq.get("code") or vq.get("unit") or "")
    code = str(c["code"])
    if not math.isfinite(value):
        raise Invalid("a finite number", field=f"{where}.valueQuantity.value")
    if code in RANGES:
        lo, hi = RANGES[code]
        if not lo <= value <= hi:
            raise Invalid(f"must be between {lo:g} and {hi:g}", field=f"{where}.valueQuantity.value")
    if len(unit) > 32 or len(code) > 64:
        raise Invalid("unit or code too long", field=f"{where}.code")
    t = r.get("effectiveDateTime")
    if t is None:
        raise Invalid("the observation needs an effectiveDateTime", field=f"{where}.effectiveDateTime")
    return (
        _time_s(t, f"{where}.effectiveDateTime"),
        str(c.get("system") or ""),
        code,
        str(c.get("display") or (r.get("code") or {}).get("text") or code)[:200],
        value,
        unit,
    )


def import_patient(ctx: Ctx, body: Any) -> dict[str, Any]:
    """Create a new clinic patient from a FHIR Patient (and its Observations); all or nothing, audited."""
    if not ctx.actor.is_clinician:
        raise Invalid("only clinicians import records", field="role")
    patient_r, obs_r = _parse(body)
    name, year, sex, mrn = _patient_fields(patient_r)
    observations = [_observation(i, r) for i, r in obs_r]
    cid = ctx.actor.clinic_id
    if mrn is None:
        n = int(ctx.db.scalar(select(func.count()).select_from(Patient).where(Patient.clinic_id == cid)) or 0)
        mrn = f"F-{n + 1:04d}"
    if ctx.db.scalar(select(Patient.id).where(Patient.clinic_id == cid, Patient.mrn == mrn)) is not None:
        raise Conflict(f"your clinic already has a patient with MRN {mrn}", field="Patient.identifier")
    p = Patient(
        clinic_id=cid,
        mrn=mrn,
        name=name,
        birth_year=year,
        sex=sex,
        indication="imported (FHIR)",
        stage="imported — no pump",
        notes="Imported from a FHIR record.",
        created_wall_s=ctx.wall(),
    )
    ctx.db.add(p)
    ctx.db.flush()
    by_t: dict[float, dict[str, float]] = {}
    for t, system, code, _d, value, _u in observations:
        if (system, code) in ((PAIN[0], PAIN[1]), (FUNCTION[0], FUNCTION[1]), (MME[0], MME[1])):
            by_t.setdefault(t, {})[code] = value
    n_assess = 0
    for t, vals in by_t.items():
        if {PAIN[1], FUNCTION[1], MME[1]} <= set(vals):
            ctx.db.add(
                Assessment(
                    patient_id=p.id,
                    t_s=t,
                    pain_nrs=round(vals[PAIN[1]]),
                    function_score=round(vals[FUNCTION[1]]),
                    oral_opioid_mme_mg_per_day=vals[MME[1]],
                    notes="imported (FHIR)",
                    recorded_by_id=ctx.actor.user_id,
                )
            )
            n_assess += 1
    n_obs = 0
    for t, system, code, display, value, unit in observations:
        vals = by_t.get(t, {})
        if code in (PAIN[1], FUNCTION[1], MME[1]) and {PAIN[1], FUNCTION[1], MME[1]} <= set(vals):
            continue
        ctx.db.add(
            PatientObservation(
                patient_id=p.id,
                t_s=t,
                system=system,
                code=code,
                display=display,
                value=value,
                unit=unit,
                source="fhir-import",
            )
        )
        n_obs += 1
    ctx.db.flush()
    ctx.audit(
        "fhir.import", "patient", p.id, t_s=None, after={"mrn": mrn, "assessments": n_assess, "observations": n_obs}
    )
    return {"patient_id": p.id, "mrn": mrn, "assessments": n_assess, "observations": n_obs}
