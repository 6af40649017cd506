"""Database engines, sessions and migrations (SQLite by default, PostgreSQL supported).

SQLite is opened in WAL mode with foreign keys on and a busy timeout, and every transaction is begun
explicitly: reads with ``BEGIN`` (deferred), writes with ``BEGIN IMMEDIATE`` so that two writers queue for
the lock instead of failing half-way when a read transaction tries to upgrade.  PostgreSQL runs at READ
COMMITTED; the optimistic-locking version columns make concurrent writers safe on both.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InputError

SQLITE_BUSY_TIMEOUT_MS = 30_000  # assumption: long enough for a queue of writers on one machine
DEFAULT_DATABASE_URL = "sqlite:///itdd-clinic.sqlite3"
# the server runs sync handlers in a pool of 40 threads (anyio's default): SQLite gets 20 + 20 connections so that
# no thread waits for a connection; PostgreSQL keeps pool_size + as many overflow per worker process (10 + 10 by
# default: 2 workers stay well inside the server's default max_connections of 100)
SQLITE_POOL_SIZE = 20
# ``itdd serve``'s threads per process for the sync handlers (``--threads``).  Assumption, measured
# (docs/benchmarks.md "Clinic capacity"): the handlers are CPU-bound Python that waits for the database only
# briefly, so a few threads keep a process's core busy; anyio's default of 40 has 40 threads take turns at the
# one interpreter lock, so every request's latency grows with all of them.  Each thread gets a pooled connection.
DEFAULT_THREADS = 8
_CACHE_NS = itertools.count(1)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as the psycopg 3 driver; refuse unknown schemes."""
    try:
        parsed = make_url(url)
    except Exception:
        raise InputError("--database-url", f"cannot read '{url}' as a database URL") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise InputError("--database-url", f"unsupported database '{backend}' (use sqlite:/// or postgresql://)")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        file_db = bool(parsed.database) and parsed.database != ":memory:"
        pool: dict[str, Any] = (  # one connection per server thread (readers never wait for each other in WAL mode)
            {
                "pool_size": max(pool_size, SQLITE_POOL_SIZE),
                "max_overflow": max(pool_size, SQLITE_POOL_SIZE),
                "pool_timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
            if file_db
            else {}
        )
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **pool
        )
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own handling is wrong for us)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a committed refill survives a crash of the machine too
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA cache_size=-32000")  # 32 MB of page cache per connection (the default is 2 MB)
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class _Gate:
    """A process-wide queue for SQLite writers, bounded by the busy timeout: a writer that has waited that long
    goes on to SQLite's own busy handler (which then times out with the usual error) rather than hanging."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._held = threading.local()

    def __enter__(self) -> None:
        got = self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        stack = getattr(self._held, "stack", [])
        stack.append(got)
        self._held.stack = stack

    def __exit__(self, *_exc: object) -> None:
        if self._held.stack.pop():
            self._lock.release()


class Database:
    """One engine and two session factories: read (deferred) and write (immediate on SQLite)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        write_bind = self.engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(self.engine) else self.engine
        # the in-process caches key on what this database says (versions, change stamps): a namespace per Database
        # keeps two databases served by one process (tests) from ever sharing an entry
        info = {"cache_ns": next(_CACHE_NS)}
        self.cache_ns: int = info["cache_ns"]
        # PostgreSQL reads in autocommit mode: at READ COMMITTED every statement of a transaction reads its own
        # snapshot anyway, so BEGIN and ROLLBACK (two round trips a read) bought nothing; and psycopg forgets its
        # prepared statements at every ROLLBACK, so without them a repeated statement is prepared once per
        # connection.  SQLite keeps its read transaction (one snapshot for the whole read, in WAL mode).
        read_bind = (
            self.engine if is_sqlite(self.engine) else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._read = sessionmaker(bind=read_bind, expire_on_commit=False, info=info)
        self._write = sessionmaker(bind=write_bind, expire_on_commit=False, info=info)
        from . import stamps

        stamps.install(self._write)  # every write transaction counts what it touched (the caches key on it)
        self._write_gate: Any = _Gate() if is_sqlite(self.engine) else nullcontext()
        # single-statement reads (authentication, the front door): see first()
        self._quick: Engine | None = (
            None
            if is_sqlite(self.engine)
            else create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False, isolation_level="AUTOCOMMIT"
            )
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A pooled connection for a few Core reads (its transaction is rolled back on the way out)."""
        with self.engine.connect() as conn:
            yield conn

    def first(self, statement: Any, params: dict[str, Any]) -> Any:
        """The first row of one read statement, outside any transaction (a single statement reads one snapshot).

        PostgreSQL: on a pool of its own in autocommit mode and without the pre-ping, so the statement is one round
        trip instead of four (ping, BEGIN, the statement, ROLLBACK); a connection the server has closed in the
        meantime is replaced and the statement run once more.  SQLite: the main engine (no round trips)."""
        if self._quick is None:
            return self._first(self.engine, statement, params)
        for attempt in (1, 2):
            try:
                return self._first(self._quick, statement, params)
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _first(engine: Engine, statement: Any, params: dict[str, Any]) -> Any:
        with engine.connect() as conn:
            return conn.execute(statement, params).first()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls everything back on any error.

        SQLite: the threads of one process queue for the database's single write lock on a lock of their own
        first, so that only one of them at a time polls SQLite's busy handler (which sleeps and retries, and
        under contention lets a waiting writer starve for seconds)."""
        with self._write_gate, self._write() as session, session.begin():
            yield session

    def migrate(self) -> None:
        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._quick is not None:
            self._quick.dispose()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("itdd.clinic").joinpath("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (idempotent)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("clinics")
