"""The API's OpenAPI document describes every answer, and every answer matches it (schemathesis).

* every operation declares its success answer (a named response model for JSON, a schema for the FHIR media
  types) and the documented errors (400/401/403/404/409/422) as problem details;
* every operation, called with valid inputs as the role that may use it (logged in with a bearer token),
  answers 2xx with a body that conforms to the declared schema — on SQLite and on PostgreSQL;
* generated inputs (schemathesis, from the same document) never give a 5xx, and whatever they get back —
  success or problem details — conforms too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from itdd.clinic.models import Appointment, Patient, Pump, Refill
from itdd.clinic.seed import DEMO_PASSWORD

from .conftest import Clinic, FakeWall, examples
from .test_fuzz import _schema_only_app

CHECKS = [not_a_server_error, response_schema_conformance]
MAX_EXAMPLES = examples(8)  # per operation (CI); the fuzz test already runs more for 5xx alone
PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "422"}
JSON_TYPES = {"application/json", "application/fhir+json"}

schema = schemathesis.openapi.from_asgi("/api/openapi.json", _schema_only_app())


def _spec() -> dict[str, Any]:
    return _schema_only_app().openapi()  # type: ignore[attr-defined]


def _named(s: dict[str, Any]) -> bool:
    """A schema that refers to a declared model (or a list of one)."""
    if "$ref" in s:
        return True
    if s.get("type") == "array":
        return _named(s.get("items", {}))
    return False


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, item in _spec()["paths"].items() for m, op in item.items()]


def test_every_operation_declares_its_answer_and_its_errors() -> None:
    ops = _operations()
    # 33 clinic operations (auth 3, clinic 4, audit 1, patients 4, events 1, prescriptions 1, refills 6,
    # assessments 2, adverse events 2, appointments 3, pumps 4, my 2) and 4 patient-side ones (centres, FHIR 3)
    assert len(ops) == 37, sorted((m, p) for m, p, _ in ops)
    lacking = []
    for method, path, op in ops:
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert ok, (method, path)
        for code, r in ok.items():
            content = r.get("content") or {}
            if code == "204":
                assert not content, (method, path)  # no body, nothing to describe
                continue
            if not content:
                lacking.append((method, path, code, "no content"))
            for media, c in content.items():
                s = c.get("schema") or {}
                if not s or (media in JSON_TYPES and not _named(s)):
                    lacking.append((method, path, code, media))
        errors = {code for code in op["responses"] if code[0] in "45"}
        assert errors >= PROBLEM_STATUSES, (method, path, errors)
        for code in PROBLEM_STATUSES:
            content = op["responses"][code]["content"]
            assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert lacking == []


@pytest.fixture
def conform_clinic(db_url: str) -> Iterator[Clinic]:
    c = Clinic(db_url, FakeWall())
    yield c
    c.close()


def _ids(c: Clinic) -> dict[str, int]:
    with c.db.read() as s:
        p = s.scalar(select(Patient).where(Patient.mrn == "P-1001"))
        assert p is not None
        pump = s.scalar(select(Pump).where(Pump.patient_id == p.id))
        refill = s.scalar(
            select(Refill).where(Refill.verified_by_id.is_(None)).order_by(Refill.id)
        )  # Samuel Ortiz's, awaiting verification
        appt = s.scalar(
            select(Appointment)
            .where(Appointment.patient_id == p.id, Appointment.status == "scheduled")
            .order_by(Appointment.id)
        )
        assert pump is not None and refill is not None and appt is not None
        return {"patient_id": p.id, "pump_id": pump.id, "refill_id": refill.id, "appointment_id": appt.id}


def _version(c: Clinic, pump_id: int) -> int:
    return int(c.get(f"/api/v1/pumps/{pump_id}", "dr.ellis").json()["version"])


def test_every_operation_answers_what_its_schema_says(conform_clinic: Clinic) -> None:
    """Each operation once with valid inputs, in an order where each finds what it needs (the refill it
    verifies, the discrepancy it resolves); every answer is 2xx and conforms to the declared schema."""
    c = conform_clinic
    ids = _ids(c)
    pid, pump = ids["patient_id"], ids["pump_id"]
    seen: set[tuple[str, str]] = set()

    def call(method: str, path: str, user: str | None, *, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        case = schema[path][method].Case(path_parameters={**ids, **(params or {})}, **kw)
        headers = c.h(user) if user else {}
        response = case.call(app=c.app, headers=headers)
        assert 200 <= response.status_code < 300, (method, path, response.status_code, response.text[:500])
        case.validate_response(response, checks=CHECKS)
        seen.add((method, path))
        return None if not response.content or path.endswith("/export") else response.json()

    v = "/api/v1"
    call("POST", f"{v}/auth/login", None, body={"username": "nurse.okafor", "password": DEMO_PASSWORD})
    call("GET", f"{v}/me", "nurse.okafor")
    call("GET", f"{v}/clinic", "nurse.okafor")
    call("GET", f"{v}/dashboard", "nurse.okafor")
    call("GET", f"{v}/patients", "nurse.okafor")
    for sub in ("", "/events", "/prescriptions", "/refills", "/assessments", "/adverse-events", "/appointments"):
        call("GET", f"{v}/patients/{{patient_id}}{sub}", "nurse.okafor")
    call("GET", f"{v}/patients/{{patient_id}}/chart", "nurse.okafor", query={"forecast": "true", "days": "30"})
    call("GET", f"{v}/patients/{{patient_id}}/model", "nurse.okafor")
    call("GET", f"{v}/pumps/{{pump_id}}", "nurse.okafor")
    call(
        "POST",
        f"{v}/patients/{{patient_id}}/assessments",
        "nurse.okafor",
        body={"pain_nrs": 5, "function_score": 60, "oral_opioid": "30 mg/day"},
    )
    call(
        "POST",
        f"{v}/patients/{{patient_id}}/adverse-events",
        "nurse.okafor",
        body={"kind": "nausea", "severity": "mild"},
    )
    call(
        "POST",
        f"{v}/patients/{{patient_id}}/appointments",
        "nurse.okafor",
        body={"at": "2026-03-05T10:30:00+01:00", "kind": "follow-up"},
    )
    call("POST", f"{v}/appointments/{{appointment_id}}/cancel", "nurse.okafor")
    call("POST", f"{v}/pumps/{{pump_id}}/interrogate", "nurse.okafor")
    call("GET", f"{v}/pumps/{{pump_id}}/refill/aspirate", "nurse.okafor")
    refill = {"version": _version(c, pump), "withdrawn": "1.8 mL", "fill": "20 mL"}
    call("POST", f"{v}/pumps/{{pump_id}}/refill/preview", "nurse.okafor", body=refill)
    done = call("POST", f"{v}/pumps/{{pump_id}}/refill", "nurse.okafor", body=refill)
    assert done["flag"] is True  # 1.8 mL withdrawn where 3 mL were expected: a discrepancy to resolve
    call(
        "POST",
        f"{v}/refills/{{refill_id}}/verify",
        "nurse.berg",
        params={"refill_id": done["refill_id"]},
        body={"drug": "morphine", "concentration": "10 mg/mL", "fill": "20 mL", "reservoir_volume": "20 mL"},
    )
    call(
        "POST",
        f"{v}/refills/{{refill_id}}/resolve",
        "dr.ellis",
        params={"refill_id": done["refill_id"]},
        body={"note": "checked"},
    )
    program = {"version": _version(c, pump), "therapy": {"mode": "simple_continuous", "dose": "3 mg/day"}}
    call("POST", f"{v}/pumps/{{pump_id}}/program/preview", "dr.ellis", body=program)
    call("POST", f"{v}/pumps/{{pump_id}}/program", "dr.ellis", body=program)
    call("GET", f"{v}/my/pump", "linda.park")
    call("POST", f"{v}/my/bolus", "linda.park")
    call("POST", f"{v}/clinic/advance", "nurse.okafor", body={"by": "1d"})
    call("GET", f"{v}/audit", "dr.ellis")
    call("GET", f"{v}/centres", None, query={"q": "Leeds"})
    call("GET", f"{v}/patients/{{patient_id}}/fhir", "dr.ellis")
    call("GET", f"{v}/fhir/export", "dr.ellis")
    bundle = c.get(f"{v}/patients/{pid}/fhir", "dr.ellis").json()
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient = {**patient, "identifier": [{"system": "urn:example:mrn", "value": "P-9001"}]}
    patient.pop("id", None)
    call("POST", f"{v}/fhir/import", "dr.ellis", body=patient, media_type="application/json")
    call("POST", f"{v}/clinic/mode", "dr.ellis", body={"mode": "live"})
    call("POST", f"{v}/auth/logout", "nurse.okafor")
    assert seen == {(m, p) for m, p, _ in _operations()}, "an operation is not called with valid inputs here"


@pytest.fixture
def fuzz_conform_clinic(sqlite_url: str) -> Iterator[Clinic]:
    c = Clinic(sqlite_url, FakeWall())
    c.token("dr.ellis")
    c.token("linda.park")
    yield c
    c.close()


@pytest.mark.property
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_answers_that_match_the_schema(
    case: schemathesis.Case, fuzz_conform_clinic: Clinic
) -> None:
    c = fuzz_conform_clinic
    path = case.operation.path
    headers: dict[str, str] = {}
    if path.startswith("/api/v1/my/"):
        headers = c.h("linda.park")
    elif path not in ("/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/centres"):
        headers = c.h("dr.ellis")
    response = case.call(headers=headers, app=c.app)
    case.validate_response(response, checks=CHECKS)
