"""``itdd serve --workers N``: several server processes behind one port.

uvicorn's supervisor starts N worker processes that share the listening socket; each imports
:func:`worker_app` and builds its own app (its own engine and connection pool, its own in-process caches,
which are keyed on the records' versions and so never serve data older than the database, see
:mod:`itdd.clinic.cache`).  Startup work that must happen once — the migrations and the demo seed — runs in
the parent before any worker exists (:func:`prepare`), so workers never race each other to create tables.
The configuration reaches the workers through the environment (:func:`worker_env`).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from .db import DEFAULT_THREADS, Database

WORKERS_MAX = 64  # assumption: beyond this a single machine gains nothing; a typo is more likely
ENV_URL = "ITDD_SERVE_DATABASE_URL"
ENV_SECURE = "ITDD_SERVE_SECURE_COOKIES"
ENV_PROXIES = "ITDD_SERVE_TRUSTED_PROXIES"
ENV_THREADS = "ITDD_SERVE_THREADS"
THREADS_MAX = 64
# assumption: a server allocates many short-lived objects per request (ORM rows, template fragments); collecting
# the youngest generation every 700 allocations (Python's default) costs more than it frees
GC_THRESHOLD = (20_000, 20, 20)


def tune_process(*, threads: int | None, tune_gc: bool) -> None:
    """In the server's event loop, at start: the size of the thread pool for sync handlers; the collector's
    thresholds, and everything built at start (the app, the schema, templates) moved out of its sight."""
    if threads is not None:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    if tune_gc:
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)


def prepare(url: str, *, seed_demo: bool) -> None:
    """Migrate the schema and seed the demo clinic (on an empty database), once, before the workers start."""
    from .clock import system_wall_clock
    from .seed import seed_demo as seed

    db = Database(url, pool_size=1)
    try:
        db.migrate()
        if seed_demo:
            with db.write() as session:
                seed(session, wall_s=system_wall_clock())
    finally:
        db.dispose()


def worker_env(
    url: str, *, secure_cookies: bool, trusted_proxies: tuple[str, ...] = (), threads: int = DEFAULT_THREADS
) -> dict[str, str]:
    return {
        ENV_URL: url,
        ENV_SECURE: "1" if secure_cookies else "",
        ENV_PROXIES: ",".join(trusted_proxies),
        ENV_THREADS: str(threads),
    }


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    from .app import Settings, create_app, fault_from_env

    proxies = tuple(a for a in os.environ.get(ENV_PROXIES, "").split(",") if a)
    settings = Settings(
        secure_cookies=bool(os.environ.get(ENV_SECURE)),
        seed_demo=False,
        fault=fault_from_env(),
        trusted_proxies=proxies,
        threads=int(os.environ.get(ENV_THREADS) or DEFAULT_THREADS),
        tune_gc=True,
    )
    return create_app(os.environ[ENV_URL], settings=settings, migrate=False)
