"""The front door (itdd.clinic.front): a cached dashboard, chart or patient page sent after one statement.

It may only ever send what the route itself would send at that moment: after every kind of write the answer is
the freshly computed one (never a stale copy), a logged-out session is refused at once, another clinic's patient
stays invisible, other roles are refused, and live mode (whose instant moves) always goes to the route."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from itdd.clinic import cache
from itdd.clinic.models import Patient, Pump
from tests.clinic.conftest import Clinic

NURSE = "nurse.okafor"


def _served(c: Clinic) -> int:
    return int(c.app.state.front.served)


def _linda(c: Clinic) -> tuple[int, int]:
    """(patient, pump) of Linda Park, the demo patient who uses her therapy manager."""
    with c.db.read() as s:
        p = s.scalars(select(Patient).where(Patient.name == "Linda Park")).one()
        pump = s.scalars(select(Pump).where(Pump.patient_id == p.id, Pump.active.is_(True))).one()
        return p.id, pump.id


def _reads(patient_id: int) -> list[str]:
    return [
        "/api/v1/dashboard",
        "/api/v1/dashboard?limit=3",
        f"/api/v1/patients/{patient_id}/chart?days=90",
        f"/api/v1/patients/{patient_id}/chart?days=30&forecast=true",
        f"/patients/{patient_id}",
        f"/patients/{patient_id}?truth=1&days=30",
    ]


def _fresh(c: Clinic, path: str) -> Any:
    """The answer computed from the database now (every cache emptied first)."""
    cache.clear_all()
    served = _served(c)
    r = c.get(path, NURSE)
    assert _served(c) == served  # nothing cached: the route answered
    return r.status_code, r.content


def test_a_cached_answer_is_sent_by_the_front_door_as_the_route_sent_it(clinic: Clinic) -> None:
    c = clinic
    patient_id, _ = _linda(c)
    for path in _reads(patient_id):
        first = c.get(path, NURSE)
        assert first.status_code == 200, (path, first.text)
        served = _served(c)
        again = c.get(path, NURSE)
        assert _served(c) == served + 1, path  # the second came through the front door
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        for name in ("content-security-policy", "cache-control", "x-content-type-options", "referrer-policy"):
            assert again.headers[name] == first.headers[name], (path, name)


WRITES = ["bolus", "interrogate", "assessment", "appointment", "advance", "program"]


@pytest.mark.parametrize("write", WRITES)
def test_after_each_kind_of_write_the_answer_is_the_fresh_one(clinic: Clinic, write: str) -> None:
    c = clinic
    patient_id, pump_id = _linda(c)
    reads = _reads(patient_id)
    for path in reads:  # cache every answer (and check the front door serves it)
        c.get(path, NURSE)
    before = {path: c.get(path, NURSE).content for path in reads}
    if write == "bolus":
        r = c.post("/api/v1/my/bolus", "linda.park")
    elif write == "interrogate":
        r = c.post(f"/api/v1/pumps/{pump_id}/interrogate", NURSE)
    elif write == "assessment":
        body = {"pain_nrs": 7, "function_score": 40, "oral_opioid": "0 mg/day", "notes": "front 4711"}
        r = c.post(f"/api/v1/patients/{patient_id}/assessments", NURSE, json=body)
    elif write == "appointment":
        body = {"at": "2026-03-04T10:30:00+01:00", "kind": "follow-up", "notes": "front 4711"}
        r = c.post(f"/api/v1/patients/{patient_id}/appointments", NURSE, json=body)
    elif write == "advance":
        r = c.post("/api/v1/clinic/advance", "dr.ellis", json={"by": "1d"})
    else:
        pump = c.get(f"/api/v1/pumps/{pump_id}", NURSE).json()
        dose = f"{pump['daily_dose_mg'] * 1.05:.3f} mg/day"  # 5 % more: inside every limit
        body = {"version": pump["version"], "therapy": {"mode": "simple_continuous", "dose": dose}, "reason": "front"}
        r = c.post(f"/api/v1/pumps/{pump_id}/program", "dr.ellis", json=body)
    assert r.status_code in (200, 201), r.text
    changed = 0
    for path in reads:
        got = c.get(path, NURSE)
        assert (got.status_code, got.content) == _fresh(c, path), (write, path)
        changed += got.content != before[path]
    assert changed > 0, write  # the write showed somewhere


def test_a_logged_out_session_is_refused_at_once(clinic: Clinic) -> None:
    c = clinic
    patient_id, _ = _linda(c)
    for path in _reads(patient_id)[:3]:
        for _ in range(2):
            assert c.get(path, NURSE).status_code == 200
    assert c.post("/api/v1/auth/logout", NURSE).status_code == 204
    assert c.get("/api/v1/dashboard", NURSE).status_code == 401
    assert c.get(f"/api/v1/patients/{patient_id}/chart?days=90", NURSE).status_code == 401
    assert c.get(f"/patients/{patient_id}", NURSE, follow_redirects=False).status_code == 303  # to the login


def test_other_clinics_and_roles_never_get_a_cached_answer(clinic: Clinic) -> None:
    c = clinic
    patient_id, _ = _linda(c)
    for path in _reads(patient_id):
        for _ in range(2):
            assert c.get(path, NURSE).status_code == 200
    served = _served(c)
    assert c.get(f"/api/v1/patients/{patient_id}/chart?days=90", "dr.iyer").status_code == 404  # Northgate
    assert c.get(f"/patients/{patient_id}", "dr.iyer").status_code == 404
    assert (
        c.get("/api/v1/dashboard", "dr.iyer").json()["clinic"]["name"]
        != c.get("/api/v1/dashboard", NURSE).json()["clinic"]["name"]
    )
    assert c.get("/api/v1/dashboard", "linda.park").status_code == 403  # a patient
    assert c.get(f"/api/v1/patients/{patient_id}/chart?days=90", "linda.park").status_code == 403
    assert c.get("/api/v1/dashboard", "nurse.okafor").status_code == 200
    assert _served(c) == served + 1  # only Riverside's nurse's last dashboard came from the front door


def test_odd_parameters_and_live_mode_go_to_the_route(clinic: Clinic) -> None:
    c = clinic
    patient_id, _ = _linda(c)
    for path in ("/api/v1/dashboard?limit=0", "/api/v1/dashboard?limit=50&limit=3", "/api/v1/dashboard?x=1"):
        c.get(path, NURSE)
        served = _served(c)
        c.get(path, NURSE)
        assert _served(c) == served, path
    assert c.get("/api/v1/dashboard?limit=0", NURSE).status_code == 422
    assert c.get(f"/api/v1/patients/{patient_id}/chart?days=nan", NURSE).status_code == 422
    assert c.post("/api/v1/clinic/mode", "dr.ellis", json={"mode": "live"}).status_code == 200
    served = _served(c)
    for _ in range(3):
        assert c.get("/api/v1/dashboard", NURSE).status_code == 200
        assert c.get(f"/patients/{patient_id}", NURSE).status_code == 200
    assert _served(c) == served


def test_a_refill_preview_is_cached_encoded_and_never_older_than_the_pump(clinic: Clinic) -> None:
    c = clinic
    _, pump_id = _linda(c)
    version = c.get(f"/api/v1/pumps/{pump_id}", NURSE).json()["version"]
    body = {"version": version, "withdrawn": "2 mL", "fill": "18 mL"}
    path = f"/api/v1/pumps/{pump_id}/refill/preview"
    first = c.post(path, NURSE, json=body)
    assert first.status_code == 200, first.text
    assert c.post(path, NURSE, json=body).content == first.content  # the cached bytes
    assert first.json()["version"] == version
    assert c.post("/api/v1/my/bolus", "linda.park").status_code == 200  # the pump moves on
    after = c.post(path, NURSE, json=body)
    assert after.json()["version"] > version
    cache.clear_all()
    assert c.post(path, NURSE, json=body).content == after.content  # what the pump says now, computed afresh


def test_a_write_formats_only_its_own_pump_row_of_the_dashboard_again(clinic: Clinic) -> None:
    """The dashboard's pump rows are cached per pump version (itdd.clinic.views.dashboard): after an interrogation
    of one listed pump, the next dashboard formats that row again and takes every other row from the cache, and
    the whole answer is the one computed afresh."""
    c = clinic
    first = c.get("/api/v1/dashboard", NURSE).json()
    listed = {r["pump_id"] for r in first["refills_due"] + first["approaching_eri"]}
    assert len(listed) >= 2  # the demo lists Margaret Holt's overdue refill, George Whitfield's ERI, ...
    pump_id = min(listed)
    misses = cache.ROWS.misses
    assert c.post(f"/api/v1/pumps/{pump_id}/interrogate", NURSE).status_code == 200
    got = c.get("/api/v1/dashboard", NURSE)
    # one pump's row, listed once or twice (due and ERI): computed once, then the second listing is a hit
    assert cache.ROWS.misses == misses + 1
    assert (got.status_code, got.content) == _fresh(c, "/api/v1/dashboard")


def test_a_dropped_database_connection_does_not_fail_a_one_statement_read(clinic: Clinic) -> None:
    """Authentication and the front door read in one statement on PostgreSQL's autocommit pool, which skips the
    pre-ping: a connection the server has closed is replaced and the statement run again (no error reaches the
    user).  On SQLite there is no server to close it; the reads still answer."""
    c = clinic
    patient_id, _ = _linda(c)
    for _ in range(2):
        assert c.get("/api/v1/dashboard", NURSE).status_code == 200
    if c.db.dialect == "postgresql":
        from sqlalchemy import create_engine, text

        admin = create_engine(c.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        admin.dispose()
        assert killed  # the pools' connections are gone
    served = _served(c)
    assert c.get("/api/v1/dashboard", NURSE).status_code == 200
    assert _served(c) == served + 1  # from the front door, on a new connection
    assert c.get(f"/patients/{patient_id}", NURSE).status_code == 200
    assert c.post("/api/v1/my/bolus", "linda.park").status_code == 200  # a POST: authentication, then the app
