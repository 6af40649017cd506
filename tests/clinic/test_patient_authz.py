"""Authorization of the patient side: every new route x every role (docs/patient-side.md, "Who may do what").

:data:`ROUTES` is the specification, written here independently of the app: for each route, the roles that
may use it (``None``: public) and the roles for whom the object it names does not exist (404: another clinic's
centre, message or request; a conversation one does not take part in; another patient's record).  A meta-test
checks that the table covers exactly the patient side's routes, so no route ships without a line here.

Expectations: not logged in — the API answers 401, a page redirects to the login (303); a role without the
permission — 403; a hidden object — 404; allowed — anything but 401/403/404, and never a 5xx.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from itdd.clinic.models import Patient
from itdd.clinic.patient_side import api as ps_api
from itdd.clinic.patient_side import pages as ps_pages
from itdd.clinic.patient_side.models import AmbassadorRequest, Centre, Conversation, ConversationReport, TriageMessage

from .conftest import Clinic

USERS = {
    "physician": "dr.ellis",
    "nurse": "nurse.okafor",
    "patient": "linda.park",  # a Riverside patient, not a volunteer
    "volunteer": "robert.chen",  # a Riverside patient who volunteered (demo)
    "prospective": "sam.taylor",
    "coordinator": "coord.adeyemi",
    "clinic_admin": "admin.riverside",
    "other_admin": "admin.northgate",
    "other_clinic": "dr.iyer",
}
ROLES = ["anonymous", *USERS]
PATIENTS = {"patient", "volunteer"}
CLINICIANS = {"physician", "nurse", "other_clinic"}
ADMINS = {"clinic_admin", "other_admin"}
PARTICIPANTS = {"volunteer", "prospective"}

# (method, path) -> (roles allowed or None for public, roles for whom the object does not exist)
ROUTES: dict[tuple[str, str], tuple[set[str] | None, set[str]]] = {
    ("GET", "/decide"): (None, set()),
    ("POST", "/decide"): (None, set()),
    ("GET", "/centres"): (None, set()),
    ("GET", "/api/v1/centres"): (None, set()),
    ("GET", "/ambassadors"): (None, set()),
    ("GET", "/admin/centres"): (ADMINS, set()),
    ("POST", "/admin/centres"): (ADMINS, set()),
    ("POST", "/admin/centres/{centre_id}"): (ADMINS, {"other_admin"}),
    ("POST", "/admin/centres/{centre_id}/delete"): (ADMINS, {"other_admin"}),
    ("GET", "/my/therapy"): (PATIENTS, set()),
    ("POST", "/my/contact"): (PATIENTS, set()),
    ("POST", "/triage/{message_id}/handle"): (CLINICIANS, {"other_clinic"}),
    ("POST", "/ambassadors/volunteer"): (PATIENTS, set()),
    ("POST", "/ambassadors/withdraw"): (PATIENTS, set()),
    ("POST", "/ambassadors/request"): ({"prospective"}, set()),
    ("GET", "/coordinator"): ({"coordinator"}, set()),
    ("POST", "/coordinator/requests/{request_id}/connect"): ({"coordinator"}, set()),
    ("POST", "/coordinator/requests/{request_id}/decline"): ({"coordinator"}, set()),
    ("POST", "/coordinator/reports/{report_id}/close"): ({"coordinator"}, set()),
    ("GET", "/conversations/{conversation_id}"): (PATIENTS | {"prospective"}, {"patient"}),
    ("POST", "/conversations/{conversation_id}/messages"): (PATIENTS | {"prospective"}, {"patient"}),
    ("POST", "/conversations/{conversation_id}/end"): (PATIENTS | {"prospective"}, {"patient"}),
    ("POST", "/conversations/{conversation_id}/report"): (PATIENTS | {"prospective"}, {"patient"}),
    ("GET", "/api/v1/patients/{patient_id}/fhir"): (CLINICIANS | PATIENTS, {"other_clinic", "patient", "volunteer"}),
    ("GET", "/api/v1/fhir/export"): ({"physician", "other_clinic"}, set()),
    ("POST", "/api/v1/fhir/import"): (CLINICIANS, set()),
}


def patient_side_routes() -> set[tuple[str, str]]:
    out = set()
    for router in (ps_api.router, ps_pages.router):
        for r in iter_route_contexts(router.routes):  # the API: one router per resource (centres, FHIR)
            assert isinstance(r.original_route, APIRoute)
            out |= {(m, str(r.path)) for m in r.methods or ()}
    return out


def test_the_table_covers_every_patient_side_route() -> None:
    assert set(ROUTES) == patient_side_routes()


class World:
    """Riverside objects the requests point at: a centre, a triage message, a pending request, a conversation
    between the volunteer and the prospective patient, a report on it, and Margaret Holt's record."""

    def __init__(self, c: Clinic) -> None:
        b, csrf = c.browser("sam.taylor")
        form = {"csrf_token": csrf, "alias": "Sam", "topics": "deciding", "consent": "yes"}
        assert b.post("/ambassadors/request", data=form).status_code == 303
        with c.db.read() as s:
            first_id = s.scalar(select(AmbassadorRequest.id).order_by(AmbassadorRequest.id.desc()))
            assert first_id is not None
            rob = s.scalar(select(Centre).where(Centre.name.like("Riverside%")))  # any Riverside centre
            assert rob is not None
            self.centre_id = rob.id
        k, kcsrf = c.browser("coord.adeyemi")
        vol = self.profile_id(c, "robert.chen")
        r = k.post(f"/coordinator/requests/{first_id}/connect", data={"csrf_token": kcsrf, "volunteer": str(vol)})
        assert r.status_code == 303, r.text
        assert b.post("/ambassadors/request", data=form).status_code == 303  # a second request, pending
        lb, lcsrf = c.browser("linda.park")
        r = lb.post("/my/contact", data={"csrf_token": lcsrf, "symptoms": "refill_question", "urgency": "routine"})
        assert r.status_code == 303, r.text
        with c.db.read() as s:
            conv = s.scalar(select(Conversation))
            assert conv is not None
            self.conversation_id = conv.id
            pending = s.scalar(select(AmbassadorRequest).where(AmbassadorRequest.status == "pending"))
            assert pending is not None
            self.request_id = pending.id
            msg = s.scalar(select(TriageMessage))
            assert msg is not None
            self.message_id = msg.id
            margaret = s.scalar(select(Patient).where(Patient.mrn == "P-1001"))
            assert margaret is not None
            self.patient_id = margaret.id
        r = b.post(f"/conversations/{self.conversation_id}/report", data={"csrf_token": csrf, "reason": "test"})
        assert r.status_code == 303
        with c.db.read() as s:
            rep = s.scalar(select(ConversationReport))
            assert rep is not None
            self.report_id = rep.id

    @staticmethod
    def profile_id(c: Clinic, username: str) -> int:
        from itdd.clinic.models import User
        from itdd.clinic.patient_side.models import AmbassadorProfile

        with c.db.read() as s:
            u = s.scalar(select(User).where(User.username == username))
            assert u is not None
            p = s.scalar(select(AmbassadorProfile).where(AmbassadorProfile.user_id == u.id))
            assert p is not None
            return p.id

    def path(self, template: str) -> str:
        for key, value in (
            ("centre_id", self.centre_id),
            ("message_id", self.message_id),
            ("request_id", self.request_id),
            ("report_id", self.report_id),
            ("conversation_id", self.conversation_id),
            ("patient_id", self.patient_id),
        ):
            template = template.replace("{" + key + "}", str(value))
        return template

    def form(self, template: str, csrf: str) -> dict[str, Any]:
        forms: dict[str, dict[str, Any]] = {
            "/decide": {"pain_where": "widespread"},
            "/admin/centres": {
                "name": "X",
                "address": "1 Road",
                "town": "Leeds",
                "postcode": "LS1 1AA",
                "phone": "0113 496 0999",
            },
            "/admin/centres/{centre_id}": {
                "name": "X",
                "address": "1 Road",
                "town": "Leeds",
                "postcode": "LS1 1AA",
                "phone": "0113 496 0999",
                "offers": "refills",
            },
            "/my/contact": {"symptoms": "other", "urgency": "routine", "message": "hello"},
            "/triage/{message_id}/handle": {"note": "called back"},
            "/ambassadors/volunteer": {"alias": "Lin", "topics": "travel", "consent": "yes"},
            "/ambassadors/request": {"alias": "Sam", "topics": "refills", "consent": "yes"},
            "/coordinator/requests/{request_id}/connect": {"volunteer": str(self.profile_id_cache)},
            "/coordinator/requests/{request_id}/decline": {"reason": "no volunteer for this topic"},
            "/conversations/{conversation_id}/messages": {"message": "hello"},
            "/conversations/{conversation_id}/report": {"reason": "rude"},
        }
        return {**forms.get(template, {}), "csrf_token": csrf}

    profile_id_cache = 0


@pytest.mark.parametrize("role", ROLES)
def test_every_patient_side_route_for_every_role(role: str, sqlite_clinic: Clinic) -> None:
    from fastapi.testclient import TestClient

    c = sqlite_clinic
    world = World(c)
    World.profile_id_cache = World.profile_id(c, "robert.chen")
    api_headers: dict[str, str] = {}
    client = TestClient(c.app, raise_server_exceptions=False, follow_redirects=False)
    csrf = ""
    if role != "anonymous":
        api_headers = c.h(USERS[role])
        client, csrf = c.browser(USERS[role])
    failures = []
    for (method, template), (allowed_roles, hidden) in ROUTES.items():
        path = world.path(template)
        is_api = template.startswith("/api/")
        if is_api:
            body = {"resourceType": "Patient", "name": [{"text": "Imported Person"}], "birthDate": "1970"}
            params = {"q": "Leeds"} if template == "/api/v1/centres" else None
            r = c.client.request(
                method, path, headers=api_headers, json=body if method == "POST" else None, params=params
            )
        else:
            r = client.request(method, path, data=world.form(template, csrf) if method == "POST" else None)
        status = r.status_code
        if status >= 500:
            failures.append((role, method, template, status, "server error"))
        elif allowed_roles is None:
            if status in (401, 403, 404):
                failures.append((role, method, template, status, "public route refused"))
        elif role == "anonymous":
            want = 401 if is_api else 303
            if status != want or (not is_api and "/login" not in r.headers.get("location", "")):
                failures.append((role, method, template, status, f"expected {want}"))
        elif role not in allowed_roles:
            if status != 403:
                failures.append((role, method, template, status, "expected 403"))
        elif role in hidden:
            if status != 404:
                failures.append((role, method, template, status, "expected 404"))
        elif status in (401, 403, 404):
            failures.append((role, method, template, status, "allowed but refused: " + r.text[:160]))
        if is_api and status >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), (method, template)
    assert not failures, "\n".join(map(str, failures))


def test_a_volunteer_never_sees_a_prospective_patients_details(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    world = World(c)
    vb, _ = c.browser("robert.chen")
    page = vb.get(f"/conversations/{world.conversation_id}")
    assert page.status_code == 200
    assert "Sam" in page.text and "Sam Taylor" not in page.text  # the alias, never the name
    assert "sam.taylor" not in page.text
    # no clinical page opens for a volunteer, and the prospective patient has no record to open
    assert vb.get("/patients").status_code == 403
    assert c.get("/api/v1/patients", "robert.chen").status_code == 403
    assert c.get("/api/v1/patients/1/fhir", "robert.chen").status_code == 404
    assert vb.get("/coordinator").status_code == 403
