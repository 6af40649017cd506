"""Schema changes go through Alembic: the migrations build exactly the models' schema, both ways, on both DBs."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from itdd.clinic.db import Database, downgrade, upgrade
from itdd.clinic.models import Base

from .conftest import _pg_exec, _worker, pg_url_for

_n = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield db
        db.dispose()
        return
    from tests.conftest import require

    from .conftest import pg_available

    require(pg_available(), "PostgreSQL (ITDD_TEST_POSTGRES_URL)")
    name = f"itdd_m_{_worker()}_{os.getpid()}_{next(_n)}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    db = Database(pg_url_for(name))
    yield db
    db.dispose()
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrations_build_the_models_schema(empty_db: Database) -> None:
    upgrade(empty_db.engine)
    with empty_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    upgrade(empty_db.engine)  # idempotent at head


def test_downgrade_removes_everything_and_upgrade_comes_back(empty_db: Database) -> None:
    upgrade(empty_db.engine)
    downgrade(empty_db.engine, "base")
    tables = set(inspect(empty_db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade(empty_db.engine)
    assert set(Base.metadata.tables) <= set(inspect(empty_db.engine).get_table_names())
