"""Issue 8 ("Trust"), items 11-15: one named test per item, each written from the rule, on SQLite and PostgreSQL.

Demo facts used (itdd/clinic/seed.py; clinic offset +01:00, now Mon 2 Mar 2026 09:00, training mode):

* Margaret Holt (P-1001): 20 mL pump (SynchroMed-like, capacity 20 mL), morphine 10 mg/mL; the pump expects
  3.0 mL.  A refill that withdraws 1.8 mL differs by 1.8 - 3.0 = -1.2 mL, beyond the 1 mL threshold of a 20 mL
  pump: a flagged discrepancy.
* Linda Park (P-1008): the patient user ``linda.park``, with a patient-bolus lockout running.
* Robert Chen (P-1005): flex dosing on morphine (3.4375 mg/day).

The races are real: the first transaction is held open (its rows written, not committed) until the second,
on another connection, is seen waiting for it (PostgreSQL: ``pg_stat_activity`` shows it waiting for a lock;
SQLite: it waits for the write lock, given 0.5 s to get there), then the first commits.  Without row locks
the second would read the state from before the first and overwrite it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from itdd.clinic import services
from itdd.clinic.app import Settings, create_app
from itdd.clinic.models import Appointment, AuditEntry, Patient, Pump, Refill, User
from itdd.clinic.seed import DEMO_PASSWORD
from itdd.quantities import parse_datetime, to_epoch_s

from .conftest import Clinic, FakeWall

NOW = to_epoch_s(parse_datetime("2026-03-02T09:00:00+01:00"))
DAY = 86400.0


# ---- helpers -------------------------------------------------------------------------------------


def ids(c: Clinic, mrn: str) -> tuple[int, int, int]:
    with c.db.read() as s:
        p = s.scalar(select(Patient).where(Patient.mrn == mrn))
        assert p is not None
        pump = s.scalar(select(Pump).where(Pump.patient_id == p.id, Pump.active.is_(True)))
        assert pump is not None
        return p.id, pump.id, pump.version


def actor(c: Clinic, username: str) -> services.Actor:
    with c.db.read() as s:
        u = s.scalar(select(User).where(User.username == username))
        assert u is not None
        return services.Actor(u.id, u.username, u.role, u.clinic_id, u.patient_id, u.display_name)


def audit_actions(c: Clinic) -> list[str]:
    with c.db.read() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _blocked_or_done(c: Clinic, done: threading.Event, timeout_s: float = 20.0) -> None:
    """Wait until the other connection waits for our locks (or has finished without needing them)."""
    if c.db.dialect == "sqlite":
        done.wait(0.5)  # SQLite cannot say who waits for its write lock: give the second writer time to queue
        return
    eng = create_engine(c.url, isolation_level="AUTOCOMMIT")
    deadline = time.monotonic() + timeout_s
    try:
        with eng.connect() as conn:
            while time.monotonic() < deadline and not done.is_set():
                waiting = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    )
                )
                if waiting:
                    return
                time.sleep(0.02)
    finally:
        eng.dispose()


def race(c: Clinic, first: Callable[[services.Ctx], Any], first_user: str, second: Callable[[], Any]) -> Any:
    """``first`` in a transaction held open until ``second`` (an HTTP request, another connection) is waiting for
    it; then ``first`` commits.  Returns ``second``'s response."""
    who = actor(c, first_user)
    out: dict[str, Any] = {}
    done = threading.Event()

    def run_second() -> None:
        try:
            out["r"] = second()
        finally:
            done.set()

    thread = threading.Thread(target=run_second)
    with c.db.write() as s:
        first(services.Ctx(s, who, c.wall))
        s.flush()
        thread.start()
        _blocked_or_done(c, done)
    thread.join(60)
    assert not thread.is_alive()
    return out["r"]


def _refill(c: Clinic, user: str = "nurse.okafor") -> int:
    _pid, pump_id, version = ids(c, "P-1001")
    r = c.post(
        f"/api/v1/pumps/{pump_id}/refill", user, json={"version": version, "withdrawn": "1.8 mL", "fill": "20 mL"}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["refill_id"])


VERIFY = {"drug": "morphine", "concentration": "10 mg/mL", "fill": "20 mL", "reservoir_volume": "20 mL"}


# ---- item 11: exactly one of two simultaneous verifications / resolutions wins -------------------


def test_item11_two_clinicians_verifying_or_resolving_at_once_exactly_one_wins(clinic: Clinic) -> None:
    # Nurse Okafor refills Margaret Holt (withdrawn 1.8 mL, expected 3.0 mL: a flagged -1.2 mL discrepancy).
    rid = _refill(clinic)
    clinic.token("dr.ellis")
    clinic.token("dr.moreau")
    vreq = services.VerifyRequest("morphine", 10.0, 20.0, 20.0)
    # Nurse Berg verifies (transaction held open); Dr Ellis verifies the same record meanwhile: he must get 409.
    second = race(
        clinic,
        lambda ctx: services.verify_refill(ctx, rid, vreq),
        "nurse.berg",
        lambda: clinic.post(f"/api/v1/refills/{rid}/verify", "dr.ellis", json=VERIFY),
    )
    assert second.status_code == 409, second.text
    # Dr Ellis resolves the discrepancy (held open); Dr Moreau resolves it meanwhile: 409, Ellis's note stays.
    second = race(
        clinic,
        lambda ctx: services.resolve_discrepancy(ctx, rid, "note A: pump runs fast"),
        "dr.ellis",
        lambda: clinic.post(f"/api/v1/refills/{rid}/resolve", "dr.moreau", json={"note": "note B"}),
    )
    assert second.status_code == 409, second.text
    with clinic.db.read() as s:
        r = s.get(Refill, rid)
        assert r is not None
        berg, ellis = (s.scalar(select(User.id).where(User.username == u)) for u in ("nurse.berg", "dr.ellis"))
        assert (r.verified_by_id, r.resolved_by_id, r.resolution_note) == (berg, ellis, "note A: pump runs fast")
    actions = audit_actions(clinic)
    assert actions.count("refill.verify") == 1 and actions.count("refill.resolve_discrepancy") == 1


def test_item11_simultaneous_http_verifications_one_200_one_409(clinic: Clinic) -> None:
    # the same race through the API only: two threads released together by a barrier
    rid = _refill(clinic)
    users = ("nurse.berg", "dr.ellis")
    for u in users:
        clinic.token(u)
    barrier = threading.Barrier(2)
    codes: dict[str, int] = {}

    def go(u: str) -> None:
        barrier.wait()
        codes[u] = clinic.post(f"/api/v1/refills/{rid}/verify", u, json=VERIFY).status_code

    threads = [threading.Thread(target=go, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes.values()) == [200, 409], codes
    assert audit_actions(clinic).count("refill.verify") == 1


# ---- item 12: records that do not conflict must not conflict -------------------------------------


@pytest.mark.parametrize("mode", ["training", "live"])
def test_item12_an_assessment_during_an_interrogation_or_a_bolus_is_not_lost(clinic: Clinic, mode: str) -> None:
    if mode == "live":
        assert clinic.post("/api/v1/clinic/mode", "dr.ellis", json={"mode": "live"}).status_code == 200
        clinic.wall.advance(3600.0)  # an hour later: every action now brings its pump forward first
    linda, linda_pump, _v = ids(clinic, "P-1008")
    body = {"pain_nrs": 4, "function_score": 60, "oral_opioid": "30 mg/day", "notes": "during"}
    clinic.token("nurse.okafor")
    # 1. interrogation (Nurse Berg, held open) while Nurse Okafor records an assessment for the same patient
    r = race(
        clinic,
        lambda ctx: services.interrogate(ctx, linda_pump),
        "nurse.berg",
        lambda: clinic.post(f"/api/v1/patients/{linda}/assessments", "nurse.okafor", json=body),
    )
    assert r.status_code == 201, r.text
    # 2. Linda's own bolus request (held open) while the assessment is recorded
    r = race(
        clinic,
        services.ptm_request,
        "linda.park",
        lambda: clinic.post(f"/api/v1/patients/{linda}/assessments", "nurse.okafor", json=body),
    )
    assert r.status_code == 201, r.text
    # 3. the other way round: the assessment held open, the interrogation and the bolus meanwhile
    clinic.token("linda.park")
    aq = {"pain_nrs": 5, "function_score": 55, "oral_mme_mg_per_day": 30.0, "notes": "first"}
    r = race(
        clinic,
        lambda ctx: services.add_assessment(ctx, linda, **aq),
        "nurse.okafor",
        lambda: clinic.post(f"/api/v1/pumps/{linda_pump}/interrogate", "nurse.berg"),
    )
    assert r.status_code == 200, r.text
    r = race(
        clinic,
        lambda ctx: services.add_assessment(ctx, linda, **aq),
        "nurse.okafor",
        lambda: clinic.post("/api/v1/my/bolus", "linda.park"),
    )
    assert r.status_code == 200, r.text
    rows = clinic.get(f"/api/v1/patients/{linda}/assessments", "nurse.okafor").json()
    # all four assessments stored (2 through the API, 2 in the held transactions)
    assert [a["notes"] for a in rows].count("during") == 2 and [a["notes"] for a in rows].count("first") == 2
    actions = audit_actions(clinic)
    assert actions.count("assessment.add") == 4
    assert actions.count("pump.interrogate") == 2 and actions.count("ptm.request") == 2


# ---- item 13: stored data never makes a page unreadable; dates and quantities range-checked ------

POISON_T = 253_402_299_000.0  # 9999-12-31T23:30:00Z: 10000-01-01T00:30 in the clinic's +01:00, not a datetime


def test_item13_a_poisoned_date_cannot_break_a_page(clinic: Clinic) -> None:
    pid, pump_id, _v = ids(clinic, "P-1001")
    rid = _refill(clinic)
    # rows stored before the boundary checks existed (or by hand): far-future and far-past instants, huge amounts
    with clinic.db.write() as s:
        s.execute(
            text(
                "INSERT INTO appointments (patient_id, t_s, kind, status, notes) "
                "VALUES (:p, :t, 'follow-up', 'scheduled', 'poisoned')"
            ),
            {"p": pid, "t": POISON_T},
        )
        s.execute(
            text(
                "INSERT INTO assessments (patient_id, t_s, pain_nrs, function_score, oral_opioid_mme_mg_per_day, "
                "notes) VALUES (:p, :t, 99, -5, :inf, 'poisoned')"
            ),
            {"p": pid, "t": 1e300, "inf": float("inf")},  # not JSON: must leave the API as null
        )
        s.execute(
            text(
                "INSERT INTO adverse_events (patient_id, t_s, kind, severity, description, status) "
                "VALUES (:p, :t, 'poisoned', 'mild', '', 'open')"
            ),
            {"p": pid, "t": -1e300},
        )
        s.execute(
            text("UPDATE refills SET t_s = :t, withdrawn_ml = :v, next_refill_t_s = :t WHERE id = :r"),
            {"t": POISON_T, "v": 1e308, "r": rid},
        )
    c, _csrf = clinic.browser("dr.ellis")
    for path in (f"/patients/{pid}", f"/patients/{pid}?truth=1", "/", "/patients", "/audit"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:300])
    for path in (
        f"/api/v1/patients/{pid}",
        f"/api/v1/patients/{pid}/appointments",
        f"/api/v1/patients/{pid}/assessments",
        f"/api/v1/patients/{pid}/adverse-events",
        f"/api/v1/patients/{pid}/refills",
        f"/api/v1/patients/{pid}/chart",
        f"/api/v1/patients/{pid}/chart?forecast=true",
        "/api/v1/dashboard",
        "/api/v1/patients",
        f"/api/v1/pumps/{pump_id}",
    ):
        r = clinic.get(path, "dr.ellis")
        assert r.status_code == 200, (path, r.text[:300])
    appts = clinic.get(f"/api/v1/patients/{pid}/appointments", "dr.ellis").json()
    poisoned = next(a for a in appts if a["notes"] == "poisoned")
    assert poisoned["at"] is None  # shown as unknown, never as a crash
    # and the poisoned appointment can still be cancelled
    r = clinic.post(f"/api/v1/appointments/{poisoned['appointment_id']}/cancel", "dr.ellis")
    assert r.status_code == 200, r.text


def test_item13_dates_and_quantities_are_range_checked_on_the_way_in(clinic: Clinic) -> None:
    pid, pump_id, version = ids(clinic, "P-1001")
    before = audit_actions(clinic)
    # appointments: from one year before the clinic's now to five years after it (docs/clinic.md)
    for at in ("9999-12-31T23:30:00+00:00", "2031-03-03T09:00:00+01:00", "2025-03-01T09:00:00+01:00"):
        r = clinic.post(f"/api/v1/patients/{pid}/appointments", "nurse.okafor", json={"at": at, "kind": "refill"})
        assert r.status_code == 422 and r.json()["field"] == "at", (at, r.text)
    ok = clinic.post(
        f"/api/v1/patients/{pid}/appointments",
        "nurse.okafor",
        json={"at": "2031-03-01T09:00:00+01:00", "kind": "refill"},  # 5 years minus a day or so: accepted
    )
    assert ok.status_code == 201, ok.text
    # oral opioids: at most 10000 mg/day oral morphine equivalents
    r = clinic.post(
        f"/api/v1/patients/{pid}/assessments",
        "nurse.okafor",
        json={"pain_nrs": 3, "function_score": 50, "oral_opioid": "1e12 mg/day"},
    )
    assert r.status_code == 422 and r.json()["field"] == "oral_opioid", r.text
    # refill: withdrawn at most capacity + 10 % (20 mL pump: 22 mL); 22.5 mL is refused and audited as refused
    body = {"version": version, "withdrawn": "22.5 mL", "fill": "20 mL"}
    r = clinic.post(f"/api/v1/pumps/{pump_id}/refill", "nurse.okafor", json=body)
    assert r.status_code == 422 and r.json()["field"] == "withdrawn", r.text
    assert r.json()["rule"] == "withdrawn_within_capacity"
    prev = clinic.post(f"/api/v1/pumps/{pump_id}/refill/preview", "nurse.okafor", json=body)
    assert prev.status_code == 422 and prev.json()["field"] == "withdrawn"
    # 22 mL is the limit itself: accepted by the range check (the rest of the refill goes on)
    prev = clinic.post(f"/api/v1/pumps/{pump_id}/refill/preview", "nurse.okafor", json={**body, "withdrawn": "22 mL"})
    assert prev.status_code == 200, prev.text
    # an absurd dose: refused by the hard limit (422 with its rule), audited as refused, never a 500
    _rc_pid, rc_pump, rc_version = ids(clinic, "P-1005")
    for dose in ("1e300 mg/day", "1e308 mg/day", "99999999999999999999 mcg/h"):
        r = clinic.post(
            f"/api/v1/pumps/{rc_pump}/program",
            "dr.ellis",
            json={"version": rc_version, "therapy": {"mode": "simple_continuous", "dose": dose}},
        )
        assert r.status_code == 422, (dose, r.text)
        assert r.json().get("rule"), (dose, r.json())
    after = audit_actions(clinic)
    new = after[len(before) :]
    assert new.count("pump.refill.refused") == 1
    assert new.count("pump.program.refused") == 3
    assert ids(clinic, "P-1005")[2] == rc_version and ids(clinic, "P-1001")[2] == version  # nothing changed


def test_item13_appointments_can_be_cancelled(clinic: Clinic) -> None:
    pid, _pump, _v = ids(clinic, "P-1003")
    r = clinic.post(
        f"/api/v1/patients/{pid}/appointments",
        "nurse.okafor",
        json={"at": "2026-03-05T10:30:00+01:00", "kind": "follow-up"},
    )
    aid = r.json()["appointment_id"]
    r = clinic.post(f"/api/v1/appointments/{aid}/cancel", "nurse.okafor")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    again = clinic.post(f"/api/v1/appointments/{aid}/cancel", "nurse.okafor")
    assert again.status_code == 409
    row = next(
        a
        for a in clinic.get(f"/api/v1/patients/{pid}/appointments", "nurse.okafor").json()
        if a["appointment_id"] == aid
    )
    assert row["status"] == "cancelled"
    assert audit_actions(clinic).count("appointment.cancel") == 1
    # two clinicians cancelling the same appointment at once: one wins, the other gets 409
    r = clinic.post(
        f"/api/v1/patients/{pid}/appointments",
        "nurse.okafor",
        json={"at": "2026-03-07T10:30:00+01:00", "kind": "follow-up"},
    )
    aid3 = r.json()["appointment_id"]
    second = race(
        clinic,
        lambda ctx: services.cancel_appointment(ctx, aid3),
        "nurse.berg",
        lambda: clinic.post(f"/api/v1/appointments/{aid3}/cancel", "nurse.okafor"),
    )
    assert second.status_code == 409, second.text
    assert audit_actions(clinic).count("appointment.cancel") == 2
    # through the page: a cancel button on each scheduled appointment
    r = clinic.post(
        f"/api/v1/patients/{pid}/appointments",
        "nurse.okafor",
        json={"at": "2026-03-06T10:30:00+01:00", "kind": "follow-up"},
    )
    aid2 = r.json()["appointment_id"]
    c, csrf = clinic.browser("nurse.okafor")
    page = c.get(f"/patients/{pid}").text
    assert f'action="/appointments/{aid2}/cancel"' in page
    r = c.post(f"/appointments/{aid2}/cancel", data={"csrf_token": csrf})
    assert r.status_code == 303, r.text
    with clinic.db.read() as s:
        a = s.get(Appointment, aid2)
        assert a is not None and a.status == "cancelled"


# ---- item 14: no 500 anywhere; the version returned is the pump's -------------------------------

BAD_NUMBERS = ("-1 mL", "inf mL", "nan mL", "1e999 mL", "-0.5 mL", "1e308 mL", "0x10 mL", "∞ mL", "1_0 mL", "")


def test_item14_bad_values_never_give_a_server_error(clinic: Clinic) -> None:
    pid, pump_id, version = ids(clinic, "P-1001")
    c, csrf = clinic.browser("nurse.okafor")
    n_assessments = len(clinic.get(f"/api/v1/patients/{pid}/assessments", "nurse.okafor").json())
    base = {"csrf_token": csrf, "version": str(version)}
    for bad in BAD_NUMBERS:
        for step in ("check", "review", "apply"):
            data = {**base, "step": step, "withdrawn": "1.8 mL", "fill": bad, "concentration": "10 mg/mL"}
            r = c.post(f"/pumps/{pump_id}/refill", data=data)
            assert r.status_code < 500, (bad, step, r.text[:300])
            assert r.status_code != 303, (bad, step)  # never recorded
            data = {**base, "step": step, "withdrawn": bad, "fill": "20 mL"}
            r = c.post(f"/pumps/{pump_id}/refill", data=data)
            assert r.status_code < 500, (bad, step, r.text[:300])
            assert r.status_code != 303, (bad, step)
        r = c.post(f"/pumps/{pump_id}/refill", data={**base, "step": "check", "withdrawn": "1.8 mL", "version": bad})
        assert r.status_code < 500, (bad, r.text[:300])
    for days in ("nan", "inf", "-inf", "1e999", "-5", "0", "abc", "1e308"):
        r = c.get(f"/patients/{pid}?days={days}")
        assert r.status_code == 200, (days, r.text[:300])
        r = clinic.get(f"/api/v1/patients/{pid}/chart?days={days}", "nurse.okafor")
        assert r.status_code == 422, (days, r.text[:300])
    for pain in ("99999999999999999999999", "1e3", "-1", "nan", "5.5"):
        r = c.post(f"/patients/{pid}/assessments", data={"csrf_token": csrf, "pain_nrs": pain, "function_score": "5"})
        assert r.status_code == 422, (pain, r.text[:300])
    for big in ("99999999999999999999999", str(2**63), "-1", "0"):
        assert c.get(f"/patients/{big}").status_code == 404
        assert clinic.get(f"/api/v1/patients/{big}", "nurse.okafor").status_code in (404, 422)
    # nothing was recorded by any of it
    assert ids(clinic, "P-1001")[2] == version
    assert len(clinic.get(f"/api/v1/patients/{pid}/assessments", "nurse.okafor").json()) == n_assessments


def test_item14_program_and_refill_return_the_pumps_actual_version(clinic: Clinic) -> None:
    _pid, pump_id, version = ids(clinic, "P-1005")
    r = clinic.post(
        f"/api/v1/pumps/{pump_id}/program",
        "dr.ellis",
        json={"version": version, "therapy": {"mode": "simple_continuous", "dose": "3.5 mg/day"}},
    )
    assert r.status_code == 200, r.text
    # one committed change: the version goes up by exactly one, and the answer says so
    assert r.json()["version"] == ids(clinic, "P-1005")[2] == version + 1
    # the returned version is the one to send next: a second change with it is accepted
    r = clinic.post(
        f"/api/v1/pumps/{pump_id}/program",
        "dr.ellis",
        json={"version": r.json()["version"], "therapy": {"mode": "simple_continuous", "dose": "3.4 mg/day"}},
    )
    assert r.status_code == 200, r.text
    _pid, m_pump, m_version = ids(clinic, "P-1001")
    r = clinic.post(
        f"/api/v1/pumps/{m_pump}/refill",
        "nurse.okafor",
        json={"version": m_version, "withdrawn": "1.8 mL", "fill": "20 mL"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == ids(clinic, "P-1001")[2] == m_version + 1
    audit = clinic.get("/api/v1/audit", "dr.ellis").json()
    refill = next(a for a in audit if a["action"] == "pump.refill")
    assert refill["after"]["version"] == m_version + 1 and refill["before"]["version"] == m_version


# ---- item 15: security headers, forwarded addresses, login CSRF, audit TRUNCATE ------------------


def test_item15_security_headers_on_every_page(clinic: Clinic) -> None:
    pid, pump_id, _v = ids(clinic, "P-1001")
    c, _csrf = clinic.browser("dr.ellis")
    p, _ = clinic.browser("linda.park")
    anon = TestClient(clinic.app, raise_server_exceptions=False, follow_redirects=False)
    patient_pages = [
        (c, f"/patients/{pid}"),
        (c, f"/pumps/{pump_id}/refill"),
        (c, f"/pumps/{pump_id}/program"),
        (c, "/"),
        (c, "/patients"),
        (c, f"/api/v1/patients/{pid}"),
        (c, "/api/v1/dashboard"),
        (p, "/my"),
        (p, "/api/v1/my/pump"),
    ]
    others = [(anon, "/login"), (anon, "/"), (anon, "/static/app.js"), (anon, "/nowhere"), (anon, "/api/v1/me")]
    for client, path in patient_pages + others:
        r = client.get(path)
        h = r.headers
        assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), path
        assert "default-src 'self'" in h["content-security-policy"], path
        assert h.get("x-content-type-options") == "nosniff", path
        assert h.get("referrer-policy") == "no-referrer", path
        assert h.get("x-frame-options") == "DENY", path
    for client, path in patient_pages:
        assert client.get(path).headers.get("cache-control") == "no-store", path


def test_item15_forwarded_for_is_trusted_only_from_configured_proxies(sqlite_url: str) -> None:
    # Default: no trusted proxy.  Five failed logins from one client, each claiming another X-Forwarded-For
    # address and another user name, count against that one client: the sixth attempt is throttled (429).
    wall = FakeWall()
    app = create_app(sqlite_url, wall=wall, settings=Settings(seed_demo=False))
    c = TestClient(app)
    for i in range(5):
        r = c.post(
            "/api/v1/auth/login",
            json={"username": f"nobody{i}", "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert r.status_code == 401
    r = c.post(
        "/api/v1/auth/login",
        json={"username": "nurse.berg", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.99"},
    )
    assert r.status_code == 429
    # With the test client's address configured as a trusted proxy, the address it forwards is the client's:
    # five failures from 198.51.100.7 throttle that address, not another one behind the same proxy.
    wall.advance(3600)
    app2 = create_app(sqlite_url, wall=wall, settings=Settings(seed_demo=False, trusted_proxies=("testclient",)))
    c2 = TestClient(app2)
    for i in range(5):
        h = {"X-Forwarded-For": "198.51.100.7"}
        c2.post("/api/v1/auth/login", json={"username": f"nobody{i}", "password": "x"}, headers=h)
    throttled = c2.post(
        "/api/v1/auth/login",
        json={"username": "nurse.berg", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert throttled.status_code == 429
    other = c2.post(
        "/api/v1/auth/login",
        json={"username": "nurse.berg", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.8"},
    )
    assert other.status_code == 200, other.text
    # a client cannot prepend addresses: only the address the trusted proxy appended (the last) counts
    spoof = c2.post(
        "/api/v1/auth/login",
        json={"username": "nurse.okafor", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.8, 198.51.100.7"},
    )
    assert spoof.status_code == 429


def test_item15_a_real_server_ignores_forwarded_for_by_default(sqlite_url: str, tmp_path: Any) -> None:
    # `itdd serve` behind nothing: uvicorn would by default believe X-Forwarded-For from 127.0.0.1 (where this
    # test connects from); the clinic switches that off.  5 failures, each "from" another address: the 6th is 429.
    import httpx

    from .server import Server

    server = Server(sqlite_url, log=tmp_path / "server.log")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as h:
            for i in range(5):
                r = h.post(
                    "/api/v1/auth/login",
                    json={"username": f"nobody{i}", "password": "x"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                )
                assert r.status_code == 401
            r = h.post(
                "/api/v1/auth/login",
                json={"username": "nurse.berg", "password": DEMO_PASSWORD},
                headers={"X-Forwarded-For": "203.0.113.99"},
            )
            assert r.status_code == 429
            assert r.headers["x-content-type-options"] == "nosniff"  # the headers on a real server too
    finally:
        server.stop()


def test_item15_the_login_form_carries_a_csrf_token(sqlite_clinic: Clinic) -> None:
    c = TestClient(sqlite_clinic.app, raise_server_exceptions=False, follow_redirects=False)
    page = c.get("/login")
    assert 'name="csrf_token"' in page.text
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert len(token) >= 32
    no = c.post("/login", data={"username": "dr.ellis", "password": DEMO_PASSWORD})
    assert no.status_code == 403 and "itdd_session" not in no.headers.get("set-cookie", "")
    wrong = c.post("/login", data={"username": "dr.ellis", "password": DEMO_PASSWORD, "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    # another browser (no login cookie) cannot replay this page's token
    other = TestClient(sqlite_clinic.app, follow_redirects=False)
    assert (
        other.post("/login", data={"username": "dr.ellis", "password": DEMO_PASSWORD, "csrf_token": token}).status_code
        == 403
    )
    ok = c.post("/login", data={"username": "dr.ellis", "password": DEMO_PASSWORD, "csrf_token": token})
    assert ok.status_code == 303, ok.text
    # refused form posts are not counted as failed logins (no lockout by a cross-site page)
    assert "auth.login" in audit_actions(sqlite_clinic)


def test_item15_the_audit_log_cannot_be_emptied(clinic: Clinic) -> None:
    clinic.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "1h"})
    with clinic.db.read() as s:
        n = len(list(s.scalars(select(AuditEntry.id))))
    assert n >= 2
    statements = ["UPDATE audit_log SET username = 'mallory'", "DELETE FROM audit_log"]
    if clinic.db.dialect == "postgresql":
        statements += ["TRUNCATE audit_log", "TRUNCATE audit_log CASCADE", "TRUNCATE TABLE ONLY audit_log"]
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), clinic.db.write() as s:
            s.execute(text(sql))
    with clinic.db.read() as s:
        assert len(list(s.scalars(select(AuditEntry.id)))) == n


def test_item14_a_deadlock_or_busy_database_is_a_409_not_a_500(sqlite_clinic: Clinic) -> None:
    """A transaction the database rolled back (PostgreSQL deadlock 40P01, serialization failure 40001, lock
    timeout 55P03; SQLite 'database is locked') changed nothing, so the user is told to try again (409), on a
    page and in the API; any other database failure stays the logged internal error."""
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from itdd.clinic.app import transient_db_failure

    failures: dict[str, BaseException] = {
        "deadlock": psycopg.errors.DeadlockDetected("deadlock detected"),
        "serialization": psycopg.errors.SerializationFailure("could not serialize access"),
        "lock-timeout": psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
        "sqlite-locked": Exception("database is locked"),
        "other": Exception("disk I/O error"),
    }
    app = sqlite_clinic.app

    def raiser(kind: str) -> None:
        raise OperationalError("UPDATE pumps ...", {}, failures[kind])

    app.add_api_route("/api/v1/test-db-failure/{kind}", raiser, methods=["GET"])
    app.add_api_route("/test-db-failure/{kind}", raiser, methods=["GET"])
    c = sqlite_clinic.client
    for kind in failures:
        transient = kind != "other"
        assert transient_db_failure(OperationalError("x", {}, failures[kind])) is transient
        api = c.get(f"/api/v1/test-db-failure/{kind}")
        page = c.get(f"/test-db-failure/{kind}")
        assert api.status_code == page.status_code == (409 if transient else 500), kind
        if transient:
            assert api.headers["content-type"].startswith("application/problem+json")
            assert "try again" in api.json()["detail"]
