"""Records that travel: HL7 FHIR R4 export and import, every resource validated by ``fhir.resources``.

``fhir.resources`` 8 carries the FHIR R5 models by default and the R4B (4.3.0) models in ``fhir.resources.R4B``;
it no longer ships a plain R4 (4.0.1) package.  R4B changed none of the resources used here (Patient, Device,
MedicationRequest, MedicationAdministration, MedicationDispense, Procedure, Observation, AdverseEvent, Bundle)
in a way that touches what we write, so the R4B models validate our R4 output; the Bundle says which version it
was validated against in ``meta.tag``.

What maps to what (docs/patient-side.md has the table):

* the clinic patient -> Patient (MRN as an identifier, birth year as a year-only birthDate);
* each pump -> Device (model, serial number, active or not);
* each prescription -> MedicationRequest (drug, concentration, daily dose as a rate in UCUM ``mg/d``);
* each refill -> MedicationDispense (volume filled in ``mL`` and the drug amount in ``mg``), plus a Procedure;
* each patient or clinician bolus the pump completed -> MedicationAdministration (dose in ``mg``);
* the implant of each pump (and a replacement pump as a revision) -> Procedure;
* each assessment -> Observations: pain NRS (LOINC 72514-3, ``{score}``), function (local code) and oral
  morphine equivalents (local code, ``mg/d``); the virtual patient's latest breathing rate (LOINC 9279-1,
  ``/min``) and oxygen saturation (LOINC 59408-5, ``%``) as vital signs marked *simulated*;
* each adverse event -> AdverseEvent.

Import (:func:`import_patient`) takes a Patient resource, or a Bundle holding one Patient and its
Observations, and creates a new clinic patient: an assessment where pain, function and oral morphine
equivalents share an instant, otherwise one :class:`PatientObservation` per Observation, kept as received.
Anything that does not validate is refused whole with a problem naming the field (nothing is stored).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from ...errors import ItddError
from ...quantities import iso, parse_datetime, to_epoch_s
from ..models import (
    AdverseEvent,
    Assessment,
    Patient,
    PatientModelSample,
    Prescription,
    Pump,
    PumpEvent,
    Refill,
)
from ..problems import Conflict, Invalid
from ..services import Ctx
from .models import PatientObservation

FHIR_VERSION = "4.0.1"  # what we emit; validated with the R4B (4.3.0) models (see the module docstring)
MRN_SYSTEM = "urn:itdd:mrn"
SERIAL_SYSTEM = "urn:itdd:pump-serial"
LOCAL = "urn:itdd:observation"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
PAIN = (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "{score}")
FUNCTION = (LOCAL, "function-score", "Function score 0-100 (higher is better)", "{score}")
MME = (LOCAL, "oral-mme-per-day", "Oral morphine milligram equivalents per day", "mg/d")
RESP = (LOINC, "9279-1", "Respiratory rate", "/min")
SPO2 = (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%")
# range checks on import (invariant 4): code -> (low, high)
RANGES = {
    PAIN[1]: (0.0, 10.0),
    FUNCTION[1]: (0.0, 100.0),
    MME[1]: (0.0, 10000.0),
    RESP[1]: (0.0, 80.0),
    SPO2[1]: (0.0, 100.0),
}
GENDER = {"F": "female", "M": "male", "X": "other", "U": "unknown"}
SEX = {v: k for k, v in GENDER.items()}
MAX_IMPORT_ENTRIES = 5000


def _models() -> dict[str, Any]:
    from fhir.resources.R4B import (
        adverseevent,
        bundle,
        device,
        medicationadministration,
        medicationdispense,
        medicationrequest,
        observation,
        patient,
        procedure,
    )

    return {
        "Patient": patient.Patient,
        "Device": device.Device,
        "MedicationRequest": medicationrequest.MedicationRequest,
        "MedicationAdministration": medicationadministration.MedicationAdministration,
        "MedicationDispense": medicationdispense.MedicationDispense,
        "Procedure": procedure.Procedure,
        "Observation": observation.Observation,
        "AdverseEvent": adverseevent.AdverseEvent,
        "Bundle": bundle.Bundle,
    }


def validate(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate one resource with its fhir.resources model; returns its JSON form (the model's own dump)."""
    models = _models()
    kind = resource.get("resourceType")
    if kind not in models:
        raise Invalid(f"unsupported resourceType {kind!r}", field="resourceType")
    try:
        obj = models[kind].model_validate(resource)
    except ValidationError as exc:
        raise _invalid(exc, kind) from None
    out: dict[str, Any] = obj.model_dump(mode="json", exclude_none=True)
    return out


def _invalid(exc: ValidationError, prefix: str) -> Invalid:
    e = exc.errors()[0]
    loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("function-after", "function-wrap"))
    field = f"{prefix}.{loc}" if loc else prefix
    return Invalid(f"{field}: {e.get('msg', 'invalid')} (FHIR R4 validation)", field=field)


# ---- export -------------------------------------------------------------------------------------


def _q(value: float, unit: str) -> dict[str, Any]:
    return {"value": round(float(value), 6), "unit": unit, "system": UCUM, "code": unit}


def _coding(c: tuple[str, str, str, str]) -> dict[str, Any]:
    return {"coding": [{"system": c[0], "code": c[1], "display": c[2]}], "text": c[2]}


def _drug(name: str) -> dict[str, Any]:
    return {"text": name}


def _obs(
    pid: str, oid: str, c: tuple[str, str, str, str], t: str, value: float, *, vital: bool = False, note: str = ""
) -> dict[str, Any]:
    cat = "vital-signs" if vital else "survey"
    o: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": cat}]}
        ],
        "code": _coding(c),
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": t,
        "valueQuantity": _q(value, c[3]),
    }
    if note:
        o["note"] = [{"text": note}]
    return o


def patient_resources(ctx: Ctx, p: Patient) -> list[dict[str, Any]]:
    """Every resource of one patient (not yet validated)."""
    off = ctx.clinic().utc_offset_s
    db = ctx.db
    pid = f"itdd-patient-{p.id}"
    ref = {"reference": f"Patient/{pid}"}
    given, _, family = p.name.rpartition(" ")
    name: dict[str, Any] = {"text": p.name, "family": family or p.name}
    if given:
        name["given"] = given.split()
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": MRN_SYSTEM, "value": p.mrn}],
            "name": [name],
            "gender": GENDER.get(p.sex, "unknown"),
            "birthDate": f"{p.birth_year:04d}",
        }
    ]
    pumps = list(db.scalars(select(Pump).where(Pump.patient_id == p.id).order_by(Pump.implant_t_s, Pump.id)))
    for i, pump in enumerate(pumps):
        did = f"itdd-pump-{pump.id}"
        out.append(
            {
                "resourceType": "Device",
                "id": did,
                "identifier": [{"system": SERIAL_SYSTEM, "value": pump.serial}],
                "status": "active" if pump.active else "inactive",
                "serialNumber": pump.serial,
                "deviceName": [{"name": pump.model, "type": "model-name"}],
                "type": {"text": "Implantable programmable intrathecal infusion pump"},
                "patient": ref,
            }
        )
        out.append(
            {
                "resourceType": "Procedure",
                "id": f"itdd-implant-{pump.id}",
                "status": "completed",
                "code": {
                    "text": "Revision: replacement of intrathecal pump" if i else "Implantation of intrathecal pump"
                },
                "subject": ref,
                "performedDateTime": iso(pump.implant_t_s, off),
                "focalDevice": [{"manipulated": {"reference": f"Device/{did}"}}],
                "note": [{"text": f"catheter tip {pump.catheter_tip_level}, {pump.catheter_length_cm:g} cm"}],
            }
        )
        for e in db.scalars(
            select(PumpEvent)
            .where(PumpEvent.pump_id == pump.id, PumpEvent.type == "bolus_completed", PumpEvent.device.is_(True))
            .order_by(PumpEvent.seq)
        ):
            kind = str(e.details.get("kind", ""))
            if kind not in ("ptm", "clinician") or e.details.get("dose_mg") is None:
                continue
            out.append(
                {
                    "resourceType": "MedicationAdministration",
                    "id": f"itdd-bolus-{e.id}",
                    "status": "completed",
                    "medicationCodeableConcept": _drug(pump.drug),
                    "subject": ref,
                    "effectiveDateTime": iso(e.t_s, off),
                    "device": [{"reference": f"Device/{did}"}],
                    "dosage": {
                        "text": "patient bolus" if kind == "ptm" else "clinician bolus",
                        "route": {"text": "Intrathecal"},
                        "dose": _q(float(e.details["dose_mg"]), "mg"),
                    },
                }
            )
    for rx in db.scalars(select(Prescription).where(Prescription.patient_id == p.id).order_by(Prescription.id)):
        out.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"itdd-rx-{rx.id}",
                "status": "active" if rx.status == "active" else "stopped",
                "intent": "order",
                "medicationCodeableConcept": _drug(rx.drug),
                "subject": ref,
                "authoredOn": iso(rx.t_s, off),
                "dosageInstruction": [
                    {
                        "text": f"{rx.description} ({rx.conc_mg_per_ml:g} mg/mL)",
                        "route": {"text": "Intrathecal"},
                        "doseAndRate": [{"rateQuantity": _q(rx.daily_dose_mg, "mg/d")}],
                    }
                ],
                "note": [{"text": f"concentration {rx.conc_mg_per_ml:g} mg/mL"}],
            }
        )
    for r in db.scalars(select(Refill).where(Refill.patient_id == p.id).order_by(Refill.id)):
        t = iso(r.t_s, off)
        out.append(
            {
                "resourceType": "MedicationDispense",
                "id": f"itdd-refill-{r.id}",
                "status": "completed",
                "medicationCodeableConcept": _drug(r.drug),
                "subject": ref,
                "quantity": _q(r.filled_ml, "mL"),
                "whenHandedOver": t,
                "note": [
                    {
                        "text": f"{r.filled_ml:g} mL of {r.conc_mg_per_ml:g} mg/mL"
                        f"; withdrawn {r.withdrawn_ml:g} mL, discrepancy {r.discrepancy_ml:+.2f} mL"
                    }
                ],
            }
        )
        out.append(
            {
                "resourceType": "Procedure",
                "id": f"itdd-refill-procedure-{r.id}",
                "status": "completed",
                "code": {"text": "Refill of implanted intrathecal pump"},
                "subject": ref,
                "performedDateTime": t,
                "focalDevice": [{"manipulated": {"reference": f"Device/itdd-pump-{r.pump_id}"}}],
            }
        )
    for a in db.scalars(select(Assessment).where(Assessment.patient_id == p.id).order_by(Assessment.id)):
        t = iso(a.t_s, off)
        out.append(_obs(pid, f"itdd-pain-{a.id}", PAIN, t, a.pain_nrs))
        out.append(_obs(pid, f"itdd-function-{a.id}", FUNCTION, t, a.function_score))
        out.append(_obs(pid, f"itdd-mme-{a.id}", MME, t, a.oral_opioid_mme_mg_per_day))
    sample = db.scalar(
        select(PatientModelSample).where(PatientModelSample.patient_id == p.id).order_by(PatientModelSample.t_s.desc())
    )
    if sample is not None:
        t = iso(sample.t_s, off)
        note = "simulated: the virtual patient's value (itdd), not a measurement"
        out.append(_obs(pid, f"itdd-resp-{sample.id}", RESP, t, sample.resp_rate_per_min, vital=True, note=note))
        out.append(_obs(pid, f"itdd-spo2-{sample.id}", SPO2, t, sample.spo2_pct, vital=True, note=note))
    for o in db.scalars(
        select(PatientObservation).where(PatientObservation.patient_id == p.id).order_by(PatientObservation.id)
    ):
        c = (o.system, o.code, o.display, o.unit)
        out.append(_obs(pid, f"itdd-obs-{o.id}", c, iso(o.t_s, off), o.value))
    severity = {"mild": "mild", "moderate": "moderate", "severe": "severe"}
    for ae in db.scalars(select(AdverseEvent).where(AdverseEvent.patient_id == p.id).order_by(AdverseEvent.id)):
        out.append(
            {
                "resourceType": "AdverseEvent",
                "id": f"itdd-ae-{ae.id}",
                "actuality": "actual",
                "event": {"text": ae.kind},
                "subject": ref,
                "date": iso(ae.t_s, off),
                "severity": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                            "code": severity.get(ae.severity, "moderate"),
                        }
                    ]
                },
                "outcome": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                            "code": "resolved" if ae.status == "resolved" else "ongoing",
                        }
                    ]
                },
            }
        )
    return out


def bundle(ctx: Ctx, p: Patient, base_url: str) -> dict[str, Any]:
    """The patient's record as a validated collection Bundle."""
    entries = [
        {"fullUrl": f"{base_url}{r['resourceType']}/{r['id']}", "resource": validate(r)}
        for r in patient_resources(ctx, p)
    ]
    b = {
        "resourceType": "Bundle",
        "type": "collection",
        "meta": {"tag": [{"system": "urn:itdd:fhir-version", "code": FHIR_VERSION}]},
        "timestamp": iso(ctx.wall(), 0),
        "entry": entries,
    }
    return validate(b)


def export_ndjson(ctx: Ctx) -> Iterator[str]:
    """Every resource of every patient of the clinic, one validated resource per line (FHIR bulk data NDJSON)."""
    import json

    for p in ctx.db.scalars(select(Patient).where(Patient.clinic_id == ctx.actor.clinic_id).order_by(Patient.id)):
        for r in patient_resources(ctx, p):
            yield json.dumps(validate(r), separators=(",", ":")) + "\n"


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
