"""No 5xx from the patient side, whatever is sent: random text into every new form and query, random JSON into
the FHIR import (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Clinic

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(q=text, offers=st.lists(text, max_size=3), limit=text)
def test_centre_search_never_fails(sqlite_clinic: Clinic, q: str, offers: list[str], limit: str) -> None:
    r = sqlite_clinic.client.get("/api/v1/centres", params={"q": q, "offers": offers, "limit": limit})
    assert r.status_code in (200, 422), r.text
    r = sqlite_clinic.client.get("/centres", params={"q": q, "offers": offers})
    assert r.status_code in (200, 422)


@FUZZ
@given(body=json_values)
def test_fhir_import_never_fails(sqlite_clinic: Clinic, body: Any) -> None:
    r = sqlite_clinic.post("/api/v1/fhir/import", "dr.ellis", json=body)
    assert r.status_code in (201, 409, 422), r.text
    assert r.headers["content-type"].startswith(("application/problem+json", "application/json"))


@FUZZ
@given(
    patient=st.fixed_dictionaries(
        {"resourceType": st.just("Patient")},
        optional={
            "name": json_values,
            "birthDate": text,
            "gender": text,
            "identifier": json_values,
            "active": json_values,
        },
    )
)
def test_fhir_import_of_odd_patients_never_fails(sqlite_clinic: Clinic, patient: dict[str, Any]) -> None:
    r = sqlite_clinic.post("/api/v1/fhir/import", "dr.ellis", json=patient)
    assert r.status_code in (201, 409, 422), r.text


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "symptoms",
                "urgency",
                "message",
                "alias",
                "topics",
                "note",
                "consent",
                "about",
                "name",
                "postcode",
                "lat",
                "lon",
                "phone",
                "town",
                "offers",
                "pain_where",
                "tried",
                "infection",
                "volunteer",
                "reason",
            ]
        ),
        text,
        max_size=8,
    )
)
def test_patient_side_forms_never_fail(sqlite_clinic: Clinic, fields: dict[str, str]) -> None:
    c = sqlite_clinic
    for user, paths in (
        (None, ["/decide"]),
        ("linda.park", ["/my/contact", "/ambassadors/volunteer"]),
        ("sam.taylor", ["/ambassadors/request"]),
        ("admin.riverside", ["/admin/centres"]),
        ("coord.adeyemi", ["/coordinator/requests/1/connect", "/coordinator/requests/1/decline"]),
    ):
        client, csrf = (c.client, "") if user is None else _login(c, user)
        for path in paths:
            r = client.post(path, data={**fields, "csrf_token": csrf})
            assert r.status_code < 500, (user, path, r.status_code, r.text[:300])


_sessions: dict[tuple[int, str], Any] = {}


def _login(c: Clinic, user: str) -> Any:
    key = (id(c), user)
    if key not in _sessions:
        _sessions[key] = c.browser(user)
    return _sessions[key]
