"""Passwords, session cookies, CSRF, rate-limited login, session expiry and the append-only audit log."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from itdd.clinic import security
from itdd.clinic.models import AuditEntry, User, UserSession
from itdd.clinic.seed import DEMO_PASSWORD

from .conftest import Clinic, login_form_token


def test_passwords_are_stored_as_argon2id_hashes(sqlite_clinic: Clinic) -> None:
    with sqlite_clinic.db.read() as s:
        hashes = [u.password_hash for u in s.scalars(select(User))]
    assert len(hashes) == 13  # six staff, three patients, four of the patient side (2 admins, coordinator, prospective)
    for h in hashes:
        assert h.startswith("$argon2id$")
        assert DEMO_PASSWORD not in h
    assert len(set(hashes)) == len(hashes)  # salted: equal passwords, different hashes
    assert security.verify_password(hashes[0], DEMO_PASSWORD)
    assert not security.verify_password(hashes[0], DEMO_PASSWORD + "x")


def test_session_cookie_is_httponly_samesite_and_only_its_hash_is_stored(sqlite_clinic: Clinic) -> None:
    c = TestClient(sqlite_clinic.app, follow_redirects=False)
    r = c.post(
        "/login", data={"username": "nurse.okafor", "password": DEMO_PASSWORD, "csrf_token": login_form_token(c)}
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{security.SESSION_COOKIE}=")
    parts = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
    assert "httponly" in parts
    assert "samesite=lax" in cookie.lower()
    token = cookie.split(";")[0].split("=", 1)[1]
    with sqlite_clinic.db.read() as s:
        ids = [row.id for row in s.scalars(select(UserSession))]
    assert hashlib.sha256(token.encode()).hexdigest() in ids
    assert token not in ids


def test_state_changes_by_cookie_need_the_csrf_token(sqlite_clinic: Clinic) -> None:
    c, csrf = sqlite_clinic.browser("nurse.okafor")
    no = c.post("/api/v1/clinic/advance", json={"by": "1h"})
    assert no.status_code == 403 and no.json()["field"] == "csrf_token"
    wrong = c.post("/api/v1/clinic/advance", json={"by": "1h"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    ok = c.post("/api/v1/clinic/advance", json={"by": "1h"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    form_no = c.post("/clinic/advance", data={"step": "1h"})
    assert form_no.status_code == 403 and "CSRF" in form_no.text
    form_ok = c.post("/clinic/advance", data={"step": "1h", "csrf_token": csrf})
    assert form_ok.status_code == 303
    # a bearer token is never sent by a browser on its own: no CSRF token needed
    bearer = sqlite_clinic.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "1h"})
    assert bearer.status_code == 200
    # reading needs none either
    assert c.get("/api/v1/dashboard").status_code == 200


def test_login_is_rate_limited_per_user_name(sqlite_clinic: Clinic) -> None:
    c = TestClient(sqlite_clinic.app)
    for _ in range(security.LOGIN_MAX_FAILURES):
        r = c.post("/api/v1/auth/login", json={"username": "dr.ellis", "password": "guess"})
        assert r.status_code == 401 and r.json()["field"] == "password"
    r = c.post("/api/v1/auth/login", json={"username": "dr.ellis", "password": DEMO_PASSWORD})
    assert r.status_code == 429  # even the right password waits: the guesser learns nothing
    assert int(r.headers["retry-after"]) == pytest.approx(security.LOGIN_WINDOW_S, abs=2)
    page = c.post("/login", data={"username": "dr.ellis", "password": DEMO_PASSWORD, "csrf_token": login_form_token(c)})
    assert page.status_code == 429 and "Too many" not in page.text.split("<body")[0]
    sqlite_clinic.wall.advance(security.LOGIN_WINDOW_S + 1)
    r = c.post("/api/v1/auth/login", json={"username": "dr.ellis", "password": DEMO_PASSWORD})
    assert r.status_code == 200


def test_login_is_rate_limited_per_client_address(sqlite_clinic: Clinic) -> None:
    c = TestClient(sqlite_clinic.app)
    for i in range(security.LOGIN_MAX_FAILURES):
        c.post("/api/v1/auth/login", json={"username": f"nobody{i}", "password": "x"})
    r = c.post("/api/v1/auth/login", json={"username": "nurse.berg", "password": DEMO_PASSWORD})
    assert r.status_code == 429


def test_sessions_expire_and_logout_ends_them(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    assert c.get("/api/v1/me", "nurse.okafor").status_code == 200
    c.wall.advance(security.SESSION_LIFETIME_S + 1)
    r = c.get("/api/v1/me", "nurse.okafor")
    assert r.status_code == 401
    c._tokens.clear()
    assert c.post("/api/v1/auth/logout", "nurse.okafor").status_code == 204
    assert c.client.get("/api/v1/me", headers=c.h("nurse.okafor")).status_code == 401
    page = TestClient(c.app, follow_redirects=False).get("/")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_wrong_password_on_the_page_says_so_in_one_line(sqlite_clinic: Clinic) -> None:
    c = TestClient(sqlite_clinic.app)
    r = c.post("/login", data={"username": "dr.ellis", "password": "nope", "csrf_token": login_form_token(c)})
    assert r.status_code == 401
    assert "wrong user name or password" in r.text
    assert "Traceback" not in r.text
    assert "not a medical device" in r.text


def test_the_login_redirect_stays_on_this_site(sqlite_clinic: Clinic) -> None:
    c = TestClient(sqlite_clinic.app, follow_redirects=False)
    data = {"username": "dr.ellis", "password": DEMO_PASSWORD, "next": "//evil.example/"}
    r = c.post("/login", data={**data, "csrf_token": login_form_token(c)})
    assert r.headers["location"] == "/"


def test_the_audit_log_is_append_only(clinic: Clinic) -> None:
    clinic.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "1h"})
    with clinic.db.read() as s:
        n = len(list(s.scalars(select(AuditEntry.id))))
    assert n >= 2
    for sql in ("UPDATE audit_log SET username = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), clinic.db.write() as s:
            s.execute(text(sql))
    with clinic.db.read() as s:
        names = list(s.scalars(select(AuditEntry.username)))
    assert len(names) == n and "mallory" not in names
