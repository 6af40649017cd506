"""Records that travel: HL7 FHIR R4 export (the import: :mod:`.fhir_import`), validated by ``fhir.resources``.

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

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from ...quantities import iso
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
from ..problems import Invalid
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
