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

from .db import Database

WORKERS_MAX = 64  # assumption: beyond this a single machine gains nothing; a typo is more likely
ENV_URL = "ITDD_SERVE_DATABASE_URL"
ENV_SECURE = "ITDD_SERVE_SECURE_COOKIES"
ENV_PROXIES = "ITDD_SERVE_TRUSTED_PROXIES"


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


def worker_env(url: str, *, secure_cookies: bool, trusted_proxies: tuple[str, ...] = ()) -> dict[str, str]:
    return {ENV_URL: url, ENV_SECURE: "1" if secure_cookies else "", ENV_PROXIES: ",".join(trusted_proxies)}


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    from .app import Settings, create_app, fault_from_env

    proxies = tuple(a for a in os.environ.get(ENV_PROXIES, "").split(",") if a)
    settings = Settings(
        secure_cookies=bool(os.environ.get(ENV_SECURE)),
        seed_demo=False,
        fault=fault_from_env(),
        trusted_proxies=proxies,
    )
    return create_app(os.environ[ENV_URL], settings=settings, migrate=False)
