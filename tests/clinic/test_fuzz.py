"""Property-based fuzzing of every API operation (schemathesis, from the app's own OpenAPI schema) and every form
(hypothesis, from the forms' fields): no 5xx on any input, and a refusal changes nothing.

Every operation gets a fresh demo database and is called as the role that may use it (clinician routes as
the physician, the patient's routes as a patient), so the generated inputs reach the handlers instead of
stopping at the login.  After any 4xx answer the clinic's state (:func:`digest`: every table's row count and
last id, and the mutable columns of the mutable tables) is what it was, and the only audit entries added are
refusals (``*.refused``).  Bounded: :data:`MAX_EXAMPLES` per operation under the CI profile, many more under
``make soak`` (``examples``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from itdd.clinic.app import Settings, create_app
from itdd.clinic.db import Database
from itdd.clinic.models import Appointment, AuditEntry, Base, Patient, Pump, Refill

from .conftest import Clinic, FakeWall, examples, login_form_token

MAX_EXAMPLES = examples(15)  # per operation (CI): keeps the whole clinic suite within a few minutes
FORM_EXAMPLES = examples(25)  # per form (CI)
CALL_TIMEOUT_S = 60

# append-only or bookkeeping tables a refusal may legitimately touch (failed logins are counted on purpose;
# refusals are audited — checked separately; the audit entry of a refusal moves its clinic's change counter)
UNCHECKED = {"audit_log", "login_attempts", "sessions", "change_counters"}
# the columns that change in place on the tables that have them (everything else is insert-only)
MUTABLE = {
    "clinics": "id, version, mode, clock_t_s",
    "pumps": "id, version",
    "refills": "id, verified_by_id, discrepancy_resolved, resolution_note",
    "appointments": "id, status",
    "prescriptions": "id, status",
    "adverse_events": "id, status",
    "virtual_patients": "id, t_s",
    "users": "id, active",
}


def digest(db: Database) -> str:
    """A fingerprint of the clinic's state: each table's row count and last id, plus the mutable columns."""
    h = hashlib.sha256()
    with db.read() as s:
        for name in sorted(Base.metadata.tables):
            if name in UNCHECKED:
                continue
            h.update(repr((name, s.execute(text(f"SELECT count(*), max(id) FROM {name}")).one())).encode())
            if name in MUTABLE:
                rows = s.execute(text(f"SELECT {MUTABLE[name]} FROM {name} ORDER BY id")).all()
                h.update(repr(rows).encode())
    return h.hexdigest()


def last_audit_id(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0)


def audit_since(db: Database, after_id: int) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.id > after_id).order_by(AuditEntry.id)))


def assert_refusal_changed_nothing(db: Database, before: str, audit0: int, what: Any) -> None:
    assert digest(db) == before, ("a refused request changed the clinic", what)
    added = audit_since(db, audit0)
    assert all(a.endswith(".refused") for a in added), ("a refused request left audit entries", added, what)


@pytest.fixture
def fuzz_clinic(sqlite_url: str) -> Iterator[Clinic]:
    c = Clinic(sqlite_url, FakeWall())
    c.token("dr.ellis")
    c.token("linda.park")
    yield c
    c.close()


def _schema_only_app() -> object:
    """The app without a database behind it: enough to serve its OpenAPI document at collection time."""
    return create_app(Database("sqlite://"), settings=Settings(seed_demo=False), migrate=False)


schema = schemathesis.openapi.from_asgi("/api/openapi.json", _schema_only_app())


@pytest.mark.property
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_on_any_input(case: schemathesis.Case, fuzz_clinic: Clinic) -> None:
    path = case.operation.path
    headers: dict[str, str] = {}
    if path.startswith("/api/v1/my/"):
        headers = fuzz_clinic.h("linda.park")
    elif path not in ("/api/v1/auth/login", "/api/v1/auth/logout"):
        headers = fuzz_clinic.h("dr.ellis")
    before, audit0 = digest(fuzz_clinic.db), last_audit_id(fuzz_clinic.db)
    # each operation: its own fresh database; a whole clinic's FHIR export may take more than schemathesis's
    # default 10 s read timeout on a loaded machine
    response = case.call(headers=headers, app=fuzz_clinic.app, timeout=CALL_TIMEOUT_S)
    assert response.status_code < 500, (case.method, path, case.body, response.text[:500])
    if response.status_code >= 400:
        assert_refusal_changed_nothing(fuzz_clinic.db, before, audit0, (case.method, path, case.body))
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.headers
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= set(problem)
        assert problem["status"] == response.status_code


def test_the_schema_documents_every_api_route(fuzz_clinic: Clinic) -> None:
    spec = fuzz_clinic.client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "Problem" in spec["components"]["schemas"]
    ops = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert ("POST", "/api/v1/pumps/{pump_id}/refill") in ops and ("POST", "/api/v1/my/bolus") in ops
    assert all(p.startswith("/api/") for _m, p in ops)
    assert "not a medical device" in spec["info"]["description"]


# ---- every form --------------------------------------------------------------------------------------

WEIRD = [
    "",
    " ",
    "0",
    "-1",
    "-1 mL",
    "-0.5 mg/day",
    "inf",
    "inf mL",
    "nan mL",
    "NaN",
    "Infinity mg/mL",
    "1e999 mL",
    "1e308 mL",
    "1e308 mg/day",
    "1e300 mcg/h",
    "99999999999999999999",
    str(2**63),
    "1e3",
    "5.5",
    "\x00",
    "mL",
    "٣ mL",
    "２０ mL",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-14:00",
    "1d",
    "99999d",
    "25:61",
    "yes",
    "apply",
    "x" * 3000,
]
GOOD = {
    "withdrawn": ["1.8 mL", "3 mL", "22 mL", "0 mL"],
    "fill": ["20 mL", "10 mL", "40 mL"],
    "concentration": ["10 mg/mL", "20 mg/mL", "500 mcg/mL"],
    "reservoir_volume": ["20 mL"],
    "drug": ["morphine", "baclofen"],
    "dose": ["2.5 mg/day", "3 mg/day", "500 mg/day"],
    "basal": ["1 mg/day"],
    "step_start_0": ["00:00", "07:00"],
    "step_dose_0": ["2 mg/day"],
    "bolus_at_0": ["08:00"],
    "bolus_dose_0": ["0.5 mg"],
    "bolus_duration_0": ["30min"],
    "mode": ["simple_continuous", "flex", "periodic_bolus", "stopped", "training", "live"],
    "ptm_mode": ["keep", "off", "set"],
    "ptm_dose": ["0.2 mg"],
    "ptm_duration": ["10min"],
    "ptm_lockout": ["3h"],
    "ptm_max_per_day": ["4"],
    "ptm_max_daily": ["1 mg/day"],
    "low_reservoir_alarm": ["4 mL", "2 mL"],
    "step": ["check", "review", "apply", "1h", "1d", "next_refill"],
    "action": ["review", "apply"],
    "bridge_bolus": ["auto", "yes", "no"],
    "pain_nrs": ["4", "10"],
    "function_score": ["60"],
    "oral_opioid": ["30 mg/day", "0 mg/day"],
    "severity": ["mild", "severe"],
    "kind": ["nausea"],
    "note": ["checked"],
    "username": ["dr.ellis", "nobody"],
    "password": ["itdd-demo", "x"],
    "next": ["/", "//evil.example/", "/patients"],
    "back": ["/", "/patients"],
}
# (path template, role, fields): every form the pages post
FORMS: list[tuple[str, str, list[str]]] = [
    ("/login", "anonymous", ["username", "password", "next"]),
    ("/clinic/advance", "dr.ellis", ["step", "back"]),
    ("/clinic/mode", "dr.ellis", ["mode"]),
    ("/patients/{patient_id}/assessments", "nurse.okafor", ["pain_nrs", "function_score", "oral_opioid", "notes"]),
    ("/patients/{patient_id}/adverse-events", "nurse.okafor", ["kind", "severity", "description"]),
    ("/appointments/{appointment_id}/cancel", "nurse.okafor", []),
    ("/pumps/{pump_id}/interrogate", "nurse.okafor", []),
    ("/refills/{refill_id}/verify", "nurse.berg", ["drug", "concentration", "fill", "reservoir_volume"]),
    ("/refills/{refill_id}/resolve", "dr.ellis", ["note"]),
    (
        "/pumps/{pump_id}/program",
        "dr.ellis",
        [
            *("version", "action", "mode", "dose", "basal", "step_start_0", "step_dose_0", "step_start_1"),
            *("step_dose_1", "bolus_at_0", "bolus_dose_0", "bolus_duration_0", "ptm_mode", "ptm_dose"),
            *("ptm_duration", "ptm_lockout", "ptm_max_per_day", "ptm_max_daily", "low_reservoir_alarm", "reason"),
            *("confirm_therapy.dose", "reason_therapy.dose"),
        ],
    ),
    (
        "/pumps/{pump_id}/refill",
        "nurse.okafor",
        ["version", "step", "withdrawn", "fill", "concentration", "bridge_bolus", "notes", "confirm_fill"],
    ),
    ("/my/bolus", "linda.park", []),
]


def _field_value(name: str) -> st.SearchStrategy[str | None]:
    good = GOOD.get(name, ["ok"])
    return st.one_of(st.none(), st.sampled_from(good), st.sampled_from(WEIRD), st.text(max_size=20))


class FormTarget:
    def __init__(self, c: Clinic) -> None:
        with c.db.read() as s:
            p = s.scalar(select(Patient).where(Patient.mrn == "P-1001"))
            assert p is not None
            pump = s.scalar(select(Pump).where(Pump.patient_id == p.id))
            assert pump is not None
            refill = s.scalar(select(Refill).where(Refill.pump_id == pump.id).order_by(Refill.id.desc()))
            appt = s.scalar(select(Appointment).where(Appointment.patient_id == p.id).order_by(Appointment.id))
            assert refill is not None and appt is not None
            self.ids = {
                "patient_id": p.id,
                "pump_id": pump.id,
                "refill_id": refill.id,
                "appointment_id": appt.id,
            }

    def version(self, c: Clinic) -> str:
        with c.db.read() as s:
            pump = s.get(Pump, self.ids["pump_id"])
            assert pump is not None
            return str(pump.version)


ODD_IDS = [0, -1, 2**31, 2**63, 10**30]


@pytest.mark.property
@pytest.mark.parametrize(("template", "role", "fields"), FORMS, ids=[f[0] for f in FORMS])
def test_no_form_gives_a_server_error_and_a_refusal_changes_nothing(
    template: str, role: str, fields: list[str], fuzz_clinic: Clinic
) -> None:
    c = fuzz_clinic
    target = FormTarget(c)
    if role == "anonymous":
        client = None
        csrf = ""
    else:
        client, csrf = c.browser(role)

    @settings(max_examples=FORM_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        values=st.fixed_dictionaries({f: _field_value(f) for f in fields}),
        odd_id=st.one_of(st.none(), st.sampled_from(ODD_IDS)),
        current_version=st.booleans(),
    )
    def run(values: dict[str, str | None], odd_id: int | None, current_version: bool) -> None:
        path = template
        for key, value in target.ids.items():
            path = path.replace("{" + key + "}", str(value if odd_id is None else odd_id))
        data = {k: v for k, v in values.items() if v is not None}
        if "version" in fields and current_version:
            data["version"] = target.version(c)
        from fastapi.testclient import TestClient

        if client is None:  # the login form, from a fresh browser that opened it
            browser = TestClient(c.app, raise_server_exceptions=False, follow_redirects=False)
            data["csrf_token"] = login_form_token(browser)
        else:
            browser = client
            data["csrf_token"] = csrf
        before, audit0 = digest(c.db), last_audit_id(c.db)
        r = browser.post(path, data=data)
        assert r.status_code < 500, (path, data, r.text[:500])
        assert "Traceback" not in r.text
        if r.status_code >= 400:
            assert_refusal_changed_nothing(c.db, before, audit0, (path, data))

    run()
