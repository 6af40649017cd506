"""Records that travel: FHIR R4 Bundle, bulk NDJSON export, import; every resource validated by fhir.resources."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from itdd.clinic.models import Assessment, AuditEntry, Patient
from itdd.quantities import parse_datetime, to_epoch_s

from .conftest import Clinic

R4B_MODELS = "fhir.resources.R4B"
EXPECTED_TYPES = {
    "Patient",
    "Device",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationDispense",
    "Procedure",
    "Observation",
    "AdverseEvent",
}


def _validate(resource: dict[str, Any]) -> None:
    """Independently of the app's own validation: parse with the fhir.resources model of the resource's type."""
    import importlib

    kind = resource["resourceType"]
    module = importlib.import_module(f"{R4B_MODELS}.{kind.lower()}")
    getattr(module, kind).model_validate(resource)


def _pid(c: Clinic, mrn: str) -> int:
    with c.db.read() as s:
        pid = s.scalar(select(Patient.id).where(Patient.mrn == mrn))
        assert pid is not None
        return pid


def test_a_patients_bundle_validates_and_has_every_resource(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    linda = _pid(c, "P-1008")  # a patient with a patient therapy manager (patient boluses), refills, assessments
    r = c.get(f"/api/v1/patients/{linda}/fhir", "dr.ellis")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    b = r.json()
    _validate(b)
    assert b["type"] == "collection"
    kinds = {e["resource"]["resourceType"] for e in b["entry"]}
    assert {
        "Patient",
        "Device",
        "MedicationRequest",
        "MedicationAdministration",
        "MedicationDispense",
        "Procedure",
        "Observation",
    } <= kinds
    for e in b["entry"]:
        _validate(e["resource"])
        assert e["fullUrl"].endswith(f"{e['resource']['resourceType']}/{e['resource']['id']}")
    patient = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["name"][0]["text"] == "Linda Park" and patient["birthDate"] == "1966"
    assert patient["gender"] == "female" and patient["identifier"][0]["value"] == "P-1008"
    # units are UCUM, codes LOINC where one exists
    obs = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Observation"]
    pain = [o for o in obs if o["code"]["coding"][0]["code"] == "72514-3"]
    assert pain and all(o["code"]["coding"][0]["system"] == "http://loinc.org" for o in pain)
    assert all(o["valueQuantity"]["system"] == "http://unitsofmeasure.org" for o in obs)
    vitals = {
        o["code"]["coding"][0]["code"]: o["valueQuantity"]["code"]
        for o in obs
        if o["category"][0]["coding"][0]["code"] == "vital-signs"
    }
    assert vitals == {"9279-1": "/min", "59408-5": "%"}
    # Linda's two patient boluses (demo: 0.2 mg each, 1 h and 24 h ago)
    doses = [
        e["resource"]["dosage"]["dose"]
        for e in b["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
    ]
    assert len(doses) >= 2 and all(
        d == {"value": 0.2, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"} for d in doses[-2:]
    )
    rx = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    active = [x for x in rx if x["status"] == "active"]
    assert len(active) == 1 and active[0]["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] == 2.0


def test_the_bulk_export_is_ndjson_of_valid_resources_of_one_clinic(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    r = c.get("/api/v1/fhir/export", "dr.ellis")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    for res in lines:
        _validate(res)
    assert {res["resourceType"] for res in lines} == EXPECTED_TYPES
    names = {res["name"][0]["text"] for res in lines if res["resourceType"] == "Patient"}
    assert "Margaret Holt" in names and "Ana Silva" not in names  # Riverside only
    with c.db.read() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "fhir.export_clinic")) is not None
    assert c.get("/api/v1/fhir/export", "nurse.okafor").status_code == 403


def test_a_patient_reads_only_their_own_record(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    assert c.get(f"/api/v1/patients/{_pid(c, 'P-1008')}/fhir", "linda.park").status_code == 200
    assert c.get(f"/api/v1/patients/{_pid(c, 'P-1001')}/fhir", "linda.park").status_code == 404
    assert c.get(f"/api/v1/patients/{_pid(c, 'P-1001')}/fhir", "dr.iyer").status_code == 404


def _facts(bundle: dict[str, Any]) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    res = [e["resource"] for e in bundle["entry"]]
    p = next(r for r in res if r["resourceType"] == "Patient")
    patient = (p["name"][0]["text"], p["gender"], p["birthDate"], p["identifier"][0]["value"])
    obs = sorted(
        (
            o["code"]["coding"][0]["system"],
            o["code"]["coding"][0]["code"],
            round(to_epoch_s(parse_datetime(o["effectiveDateTime"])), 3),
            float(o["valueQuantity"]["value"]),
            o["valueQuantity"]["code"],
        )
        for o in res
        if o["resourceType"] == "Observation"
    )
    return patient, obs


@pytest.mark.parametrize("mrn", ["P-1001", "P-1008", "P-1012"])
def test_round_trip_export_validate_import_gives_the_same_patient_facts(clinic: Clinic, mrn: str) -> None:
    c = clinic
    with c.db.read() as s:
        pid = s.scalar(select(Patient.id).where(Patient.mrn == mrn))
    if pid is None:
        pytest.skip(f"no demo patient {mrn}")
    exported = c.get(f"/api/v1/patients/{pid}/fhir", "dr.ellis").json()
    _validate(exported)
    keep = [e for e in exported["entry"] if e["resource"]["resourceType"] in ("Patient", "Observation")]
    body = {"resourceType": "Bundle", "type": "collection", "entry": keep}
    r = c.post("/api/v1/fhir/import", "dr.iyer", json=body)  # into the other clinic
    assert r.status_code == 201, r.text
    new_id = r.json()["patient_id"]
    assert r.json()["mrn"] == mrn
    again = c.get(f"/api/v1/patients/{new_id}/fhir", "dr.iyer").json()
    _validate(again)
    assert _facts(again) == _facts(exported)
    with c.db.read() as s:
        n_assess = len(list(s.scalars(select(Assessment).where(Assessment.patient_id == pid))))
        assert len(list(s.scalars(select(Assessment).where(Assessment.patient_id == new_id)))) == n_assess
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "fhir.import")) is not None
    # the same MRN again in the same clinic is a conflict, not a second patient
    r = c.post("/api/v1/fhir/import", "dr.iyer", json=body)
    assert r.status_code == 409 and r.json()["field"] == "Patient.identifier"


BAD: list[tuple[Any, str]] = [
    ([1, 2], "body"),
    ({"resourceType": "Condition"}, "resourceType"),
    ({"resourceType": "Patient", "birthDate": "1970-13-45", "name": [{"text": "A B"}]}, "Patient.birthDate"),
    ({"resourceType": "Patient", "name": [{"text": "A B"}]}, "Patient.birthDate"),
    ({"resourceType": "Patient", "birthDate": "1970"}, "Patient.name"),
    ({"resourceType": "Patient", "birthDate": "1970", "name": [{"text": "A"}], "gender": "robot"}, "Patient.gender"),
    ({"resourceType": "Patient", "birthDate": "1970", "name": [{"text": "A"}], "active": "perhaps"}, "Patient.active"),
    (
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Patient", "birthDate": "1970", "name": [{"text": "A"}]}},
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                        "effectiveDateTime": "2026-01-01T09:00:00+01:00",
                        "valueQuantity": {"value": 14, "code": "{score}"},
                    }
                },
            ],
        },
        "Bundle.entry.1.resource.valueQuantity.value",
    ),
    (
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}},
            ],
        },
        "Bundle.entry",
    ),
    (
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Patient", "birthDate": "1970", "name": [{"text": "A"}]}},
                {"resource": {"resourceType": "Device"}},
            ],
        },
        "Bundle.entry.1.resource.resourceType",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_what_does_not_validate_is_refused_with_problem_json(sqlite_clinic: Clinic, body: Any, field: str) -> None:
    c = sqlite_clinic
    with c.db.read() as s:
        before = len(list(s.scalars(select(Patient))))
    r = c.post("/api/v1/fhir/import", "dr.ellis", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"].startswith(field), r.json()
    with c.db.read() as s:
        assert len(list(s.scalars(select(Patient)))) == before  # nothing stored


def test_a_patient_without_identifier_gets_a_new_mrn_and_observations_as_received(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    body = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "birthDate": "1980-05-02",
                    "gender": "male",
                    "name": [{"given": ["Jo"], "family": "Bloggs"}],
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
                    "effectiveDateTime": "2026-02-01T10:00:00+01:00",
                    "valueQuantity": {
                        "value": 72,
                        "unit": "/min",
                        "system": "http://unitsofmeasure.org",
                        "code": "/min",
                    },
                }
            },
        ],
    }
    r = c.post("/api/v1/fhir/import", "nurse.okafor", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["mrn"].startswith("F-") and out["observations"] == 1 and out["assessments"] == 0
    b = c.get(f"/api/v1/patients/{out['patient_id']}/fhir", "nurse.okafor").json()
    obs = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert [(o["code"]["coding"][0]["code"], o["valueQuantity"]["value"]) for o in obs] == [("8867-4", 72.0)]
    p = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Patient")
    assert p["name"][0]["text"] == "Jo Bloggs" and p["birthDate"] == "1980"  # the clinic keeps a birth year
