"""Authorization: every route x every role, including another clinic's staff and another patient.

The table :data:`ROUTES` is the specification (written here, independently of the app): each route's
permission, and :data:`ALLOWED` which roles hold it.  A meta-test checks that the table covers exactly the
app's routes, so a new route cannot ship without a line here.

Expectations:

* not logged in: the API answers 401 (problem+json); a page redirects to the login (303);
* a role without the permission: 403;
* a clinician of *another* clinic on this clinic's patient, pump or refill: 404 (it does not exist for them);
* allowed: anything but 401/403/404 and never a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from itdd.clinic import api as api_module
from itdd.clinic import web as web_module
from itdd.clinic.models import Appointment, Patient, Pump, Refill

from .conftest import Clinic, login_form_token

ALLOWED: dict[str | None, set[str]] = {
    None: {"anonymous", "physician", "nurse", "patient", "other_clinic", "other_patient"},
    "self": {"physician", "nurse", "patient", "other_clinic", "other_patient"},
    "clinician": {"physician", "nurse", "other_clinic"},
    "physician": {"physician", "other_clinic"},
    "patient": {"patient", "other_patient"},
}
USERS = {
    "physician": "dr.ellis",
    "nurse": "nurse.okafor",
    "patient": "linda.park",
    "other_clinic": "dr.iyer",  # Northgate's physician
    "other_patient": "robert.chen",  # another Riverside patient
}

# (method, path) -> permission class; the order puts the logouts last (they end the session)
ROUTES: dict[tuple[str, str], str | None] = {
    ("GET", "/healthz"): None,
    ("POST", "/api/v1/auth/login"): None,
    ("GET", "/api/v1/me"): "self",
    ("GET", "/api/v1/clinic"): "clinician",
    ("POST", "/api/v1/clinic/advance"): "clinician",
    ("POST", "/api/v1/clinic/mode"): "physician",
    ("GET", "/api/v1/dashboard"): "clinician",
    ("GET", "/api/v1/audit"): "physician",
    ("GET", "/api/v1/patients"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/events"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/prescriptions"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/refills"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/assessments"): "clinician",
    ("POST", "/api/v1/patients/{patient_id}/assessments"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/adverse-events"): "clinician",
    ("POST", "/api/v1/patients/{patient_id}/adverse-events"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/appointments"): "clinician",
    ("POST", "/api/v1/patients/{patient_id}/appointments"): "clinician",
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/chart"): "clinician",
    ("GET", "/api/v1/patients/{patient_id}/model"): "clinician",
    ("GET", "/api/v1/pumps/{pump_id}"): "clinician",
    ("POST", "/api/v1/pumps/{pump_id}/interrogate"): "clinician",
    ("POST", "/api/v1/pumps/{pump_id}/program/preview"): "clinician",
    ("POST", "/api/v1/pumps/{pump_id}/program"): "physician",
    ("GET", "/api/v1/pumps/{pump_id}/refill/aspirate"): "clinician",
    ("POST", "/api/v1/pumps/{pump_id}/refill/preview"): "clinician",
    ("POST", "/api/v1/pumps/{pump_id}/refill"): "clinician",
    ("POST", "/api/v1/refills/{refill_id}/verify"): "clinician",
    ("POST", "/api/v1/refills/{refill_id}/resolve"): "clinician",
    ("GET", "/api/v1/my/pump"): "patient",
    ("POST", "/api/v1/my/bolus"): "patient",
    ("GET", "/login"): None,
    ("POST", "/login"): None,
    ("GET", "/"): "self",
    ("GET", "/patients"): "clinician",
    ("GET", "/audit"): "physician",
    ("POST", "/clinic/advance"): "clinician",
    ("POST", "/clinic/mode"): "physician",
    ("GET", "/patients/{patient_id}"): "clinician",
    ("POST", "/patients/{patient_id}/assessments"): "clinician",
    ("POST", "/patients/{patient_id}/adverse-events"): "clinician",
    ("POST", "/appointments/{appointment_id}/cancel"): "clinician",
    ("POST", "/pumps/{pump_id}/interrogate"): "clinician",
    ("POST", "/refills/{refill_id}/verify"): "clinician",
    ("POST", "/refills/{refill_id}/resolve"): "clinician",
    ("GET", "/pumps/{pump_id}/program"): "clinician",
    ("POST", "/pumps/{pump_id}/program"): "clinician",  # a nurse may review; only a physician applies
    ("GET", "/pumps/{pump_id}/refill"): "clinician",
    ("POST", "/pumps/{pump_id}/refill"): "clinician",
    ("GET", "/my"): "patient",
    ("POST", "/my/bolus"): "patient",
    ("POST", "/api/v1/auth/logout"): "self",
    ("POST", "/logout"): "self",
}
SCOPED = ("{patient_id}", "{pump_id}", "{refill_id}", "{appointment_id}")


def app_routes() -> set[tuple[str, str]]:
    out = set()
    for router in (api_module.router, web_module.router):
        for r in iter_route_contexts(router.routes):  # the API's routes sit in one router per resource
            assert isinstance(r.original_route, APIRoute)
            out |= {(m, r.path) for m in r.methods or ()}
    return out | {("GET", "/healthz")}


def test_the_table_covers_every_route() -> None:
    assert set(ROUTES) == app_routes()


class Target:
    """The Riverside objects every request points at."""

    def __init__(self, c: Clinic) -> None:
        with c.db.read() as s:
            margaret = s.scalar(select(Patient).where(Patient.mrn == "P-1001"))
            assert margaret is not None
            pump = s.scalar(select(Pump).where(Pump.patient_id == margaret.id))
            assert pump is not None
            refill = s.scalar(select(Refill).where(Refill.pump_id == pump.id).order_by(Refill.id.desc()))
            assert refill is not None
            self.patient_id, self.pump_id, self.refill_id, self.version = margaret.id, pump.id, refill.id, pump.version
            appt = s.scalar(select(Appointment).where(Appointment.patient_id == margaret.id).order_by(Appointment.id))
            assert appt is not None
            self.appointment_id = appt.id

    def path(self, template: str) -> str:
        return (
            template.replace("{patient_id}", str(self.patient_id))
            .replace("{pump_id}", str(self.pump_id))
            .replace("{refill_id}", str(self.refill_id))
            .replace("{appointment_id}", str(self.appointment_id))
        )

    def json(self, method: str, path: str) -> dict[str, Any] | None:
        if method != "POST":
            return None
        v = self.version
        bodies: dict[str, dict[str, Any]] = {
            "/api/v1/auth/login": {"username": "nobody", "password": "x"},
            "/api/v1/clinic/advance": {"by": "1h"},
            "/api/v1/clinic/mode": {"mode": "training"},
            "/api/v1/patients/{patient_id}/assessments": {"pain_nrs": 4, "function_score": 60},
            "/api/v1/patients/{patient_id}/adverse-events": {"kind": "nausea", "severity": "mild"},
            "/api/v1/patients/{patient_id}/appointments": {"at": "2026-03-09T09:00:00+01:00", "kind": "refill"},
            "/api/v1/pumps/{pump_id}/program/preview": {
                "version": v,
                "therapy": {"mode": "simple_continuous", "dose": "2.5 mg/day"},
            },
            "/api/v1/pumps/{pump_id}/program": {
                "version": v,
                "therapy": {"mode": "simple_continuous", "dose": "2.5 mg/day"},
            },
            "/api/v1/pumps/{pump_id}/refill/preview": {"version": v, "withdrawn": "1.8 mL", "fill": "20 mL"},
            "/api/v1/pumps/{pump_id}/refill": {"version": v, "withdrawn": "1.8 mL", "fill": "20 mL"},
            "/api/v1/refills/{refill_id}/verify": {
                "drug": "morphine",
                "concentration": "10 mg/mL",
                "fill": "20 mL",
                "reservoir_volume": "20 mL",
            },
            "/api/v1/refills/{refill_id}/resolve": {"note": "checked"},
        }
        return bodies.get(path, {})

    def form(self, method: str, path: str, csrf: str) -> dict[str, str] | None:
        if method != "POST":
            return None
        forms: dict[str, dict[str, str]] = {
            "/login": {"username": "nobody", "password": "x"},
            "/clinic/advance": {"step": "1h"},
            "/clinic/mode": {"mode": "training"},
            "/patients/{patient_id}/assessments": {"pain_nrs": "4", "function_score": "60"},
            "/patients/{patient_id}/adverse-events": {"kind": "nausea", "severity": "mild"},
            "/refills/{refill_id}/verify": {
                "drug": "morphine",
                "concentration": "10 mg/mL",
                "fill": "20 mL",
                "reservoir_volume": "20 mL",
            },
            "/refills/{refill_id}/resolve": {"note": "checked"},
            "/pumps/{pump_id}/program": {
                "version": str(self.version),
                "mode": "simple_continuous",
                "dose": "2.5 mg/day",
                "action": "review",
            },
            "/pumps/{pump_id}/refill": {"version": str(self.version), "withdrawn": "1.8 mL", "step": "check"},
        }
        return {**forms.get(path, {}), "csrf_token": csrf}


ROLES = ["anonymous", "physician", "nurse", "patient", "other_clinic", "other_patient"]


@pytest.fixture
def target(sqlite_clinic: Clinic) -> Iterator[Target]:
    yield Target(sqlite_clinic)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(role: str, sqlite_clinic: Clinic, target: Target) -> None:
    c = sqlite_clinic
    api_headers: dict[str, str] = {}
    page_client = None
    csrf = ""
    if role != "anonymous":
        api_headers = c.h(USERS[role])
        page_client, csrf = c.browser(USERS[role])
    from fastapi.testclient import TestClient

    anon_pages = TestClient(c.app, raise_server_exceptions=False, follow_redirects=False)
    failures = []
    for (method, template), permission in ROUTES.items():
        path = target.path(template)
        is_api = template.startswith("/api/") or template == "/healthz"
        if is_api:
            r = c.client.request(method, path, headers=api_headers, json=target.json(method, template))
        else:
            client = page_client or anon_pages
            data = target.form(method, template, csrf)
            if template == "/login" and data is not None:  # public: from a fresh browser with the form's own token
                client = TestClient(c.app, raise_server_exceptions=False, follow_redirects=False)
                data["csrf_token"] = login_form_token(client)
            r = client.request(method, path, data=data)
        allowed = role in ALLOWED[permission]
        status = r.status_code
        if status >= 500:
            failures.append((role, method, template, status, "server error"))
        elif permission is None:  # public (the login answers 401 to the wrong password on purpose)
            if status == 403:
                failures.append((role, method, template, status, "public route refused"))
        elif role == "anonymous":
            want = 401 if is_api else 303
            if status != want or (not is_api and "/login" not in r.headers.get("location", "")):
                failures.append((role, method, template, status, f"expected {want}"))
        elif not allowed:
            if status != 403:
                failures.append((role, method, template, status, "expected 403"))
        elif role == "other_clinic" and any(k in template for k in SCOPED):
            if status != 404:
                failures.append((role, method, template, status, "expected 404 across clinics"))
        elif status in (401, 403, 404):
            failures.append((role, method, template, status, "allowed but refused: " + r.text[:120]))
        if is_api and status >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), (method, template)
    assert not failures, "\n".join(map(str, failures))


def test_patients_see_only_their_own_pump(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    linda = c.get("/api/v1/my/pump", "linda.park").json()
    robert = c.get("/api/v1/my/pump", "robert.chen").json()
    assert linda["ptm_enabled"] is True and robert["ptm_enabled"] is False
    assert linda["reservoir_estimate_ml"] != robert["reservoir_estimate_ml"]
    # a patient's bolus request changes only their own pump
    with c.db.read() as s:
        before = {p.serial: p.version for p in s.scalars(select(Pump))}
    c.post("/api/v1/my/bolus", "robert.chen")
    with c.db.read() as s:
        after = {p.serial: p.version for p in s.scalars(select(Pump))}
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"NGP-118456"}  # Robert's pump only


def test_another_clinic_sees_none_of_this_clinic(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    names = {p["name"] for p in c.get("/api/v1/patients", "dr.iyer").json()}
    assert names == {"Ana Silva", "Jonas Weber"}
    d = c.get("/api/v1/dashboard", "dr.iyer").json()
    assert {r["patient_name"] for r in d["refills_due"] + d["alarms"]} <= {"Ana Silva", "Jonas Weber"}
    assert all(a["user"] in ("dr.iyer", "system") for a in c.get("/api/v1/audit", "dr.iyer").json())
    # advancing Northgate's clock leaves Riverside's where it was
    c.post("/api/v1/clinic/advance", "dr.iyer", json={"by": "1d"})
    assert c.get("/api/v1/clinic", "dr.ellis").json()["now"] == "2026-03-02T09:00:00+01:00"
