"""Property-based API fuzzing from the app's own OpenAPI schema (schemathesis, in process): no 5xx on any input.

Every operation gets a fresh demo database and is called as the role that may use it (clinician routes as
the physician, the patient's routes as a patient), so the generated inputs reach the handlers instead of
stopping at the login.  Bounded: :data:`MAX_EXAMPLES` per operation.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from itdd.clinic.app import Settings, create_app
from itdd.clinic.db import Database

from .conftest import Clinic, FakeWall

MAX_EXAMPLES = 15  # per operation: keeps the whole clinic suite within a few minutes


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


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_on_any_input(case: schemathesis.Case, fuzz_clinic: Clinic) -> None:
    path = case.operation.path
    headers: dict[str, str] = {}
    if path.startswith("/api/v1/my/"):
        headers = fuzz_clinic.h("linda.park")
    elif path not in ("/api/v1/auth/login", "/api/v1/auth/logout"):
        headers = fuzz_clinic.h("dr.ellis")
    response = case.call(headers=headers, app=fuzz_clinic.app)  # each operation: its own fresh database
    assert response.status_code < 500, (case.method, path, case.body, response.text[:500])
    if response.status_code >= 400:
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
