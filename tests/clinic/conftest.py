"""Fixtures for the clinic tests: a demo database per test on SQLite and on PostgreSQL, apps and logins.

The demo clinic is seeded once per test session (per xdist worker) into a template; each test gets a fresh
copy (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL), so tests never see each
other's changes.  PostgreSQL comes from ``ITDD_TEST_POSTGRES_URL`` (CI starts the machine's PostgreSQL 15);
without it the PostgreSQL half skips locally and fails in CI (``require``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from itdd.clinic.app import Settings, create_app
from itdd.clinic.db import Database
from itdd.clinic.seed import DEMO_PASSWORD, seed_demo
from tests.conftest import require

with warnings.catch_warnings():  # starlette's note about httpx2 is not ours to act on
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PG_URL = os.environ.get("ITDD_TEST_POSTGRES_URL", "")
WALL0 = 1_772_438_400.0  # 2026-03-02T08:00:00Z: the wall clock the tests start at (any fixed instant)
_counter = itertools.count()


class FakeWall:
    """A wall clock the test moves by hand (sessions, rate limits, audit times)."""

    def __init__(self, t: float = WALL0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_admin_url() -> str:
    return make_url(PG_URL).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def pg_available() -> bool:
    if not PG_URL:
        return False
    try:
        eng = create_engine(_pg_admin_url())
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:
        return False


def _pg_exec(sql: str) -> None:
    eng = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text(sql))
    finally:
        eng.dispose()


def pg_url_for(name: str) -> str:
    return make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def seed_into(url: str) -> None:
    db = Database(url)
    db.migrate()
    with db.write() as s:
        seed_demo(s, wall_s=WALL0)
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "demo.sqlite3"
    seed_into(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    require(pg_available(), "PostgreSQL (ITDD_TEST_POSTGRES_URL)")
    name = f"itdd_tpl_{_worker()}_{os.getpid()}"
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_exec(f'CREATE DATABASE "{name}"')
    seed_into(pg_url_for(name))
    yield name
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_sqlite(template: Path, tmp_path: Path) -> str:
    path = tmp_path / f"clinic-{next(_counter)}.sqlite3"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def fresh_pg(request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        template = request.getfixturevalue("pg_template")
        name = f"itdd_t_{_worker()}_{os.getpid()}_{next(_counter)}"
        _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        made.append(name)
        return pg_url_for(name)

    yield make
    for name in made:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh copy of the demo database, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return fresh_sqlite(sqlite_template, tmp_path)
    maker: Callable[[], str] = request.getfixturevalue("fresh_pg")
    return maker()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    return fresh_sqlite(sqlite_template, tmp_path)


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall()


def examples(ci_count: int) -> int:
    """Examples per property test, from the loaded hypothesis profile: ``ci_count`` under the default and "ci"
    profiles (``max_examples`` 100), scaled in proportion under a larger one (the "soak" profile of ``make soak``)."""
    from hypothesis import settings

    return max(1, ci_count * settings().max_examples // 100)


def login_form_token(client: Any) -> str:
    """Open the login page as a browser does: its CSRF token (the matching cookie stays in ``client``)."""
    page = client.get("/login")
    return str(page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0])


class Clinic:
    """An app on a database plus helpers to log in (bearer token or browser-style cookie + CSRF)."""

    def __init__(self, url: str, wall: FakeWall) -> None:
        self.url = url
        self.wall = wall
        self.db = Database(url, pool_size=4)
        self.app = create_app(self.db, wall=wall, settings=Settings(seed_demo=False))
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = TestClient(self.app).post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def h(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def get(self, path: str, user: str | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=self.h(user) if user else None, **kw)

    def post(self, path: str, user: str | None = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.h(user) if user else None, **kw)

    def browser(self, username: str) -> tuple[TestClient, str]:
        """A client logged in through the form (cookie) and the page's CSRF token."""
        c = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        token = login_form_token(c)
        r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "next": "/", "csrf_token": token})
        assert r.status_code == 303, r.text
        me = c.get("/api/v1/me").json()
        return c, me["csrf_token"]

    def close(self) -> None:
        self.client.close()
        self.db.dispose()


@pytest.fixture
def clinic(db_url: str, wall: FakeWall) -> Iterator[Clinic]:
    c = Clinic(db_url, wall)
    yield c
    c.close()


@pytest.fixture
def sqlite_clinic(sqlite_url: str, wall: FakeWall) -> Iterator[Clinic]:
    c = Clinic(sqlite_url, wall)
    yield c
    c.close()
