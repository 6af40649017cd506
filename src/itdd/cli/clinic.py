"""``itdd serve``: run the clinic web app (SQLite file by default, or PostgreSQL)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import DISCLAIMER
from ..clinic.db import DEFAULT_DATABASE_URL, DEFAULT_THREADS, normalise_url
from ..errors import InputError


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1..65535")
    return port


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.exc import OperationalError

    from ..clinic.app import Settings, create_app, fault_from_env
    from ..clinic.serving import THREADS_MAX, WORKERS_MAX, prepare, worker_env

    url = normalise_url(args.database_url)
    proxies = tuple(a.strip() for a in (args.forwarded_allow_ips or "").split(",") if a.strip())
    workers = args.workers
    if not 1 <= workers <= WORKERS_MAX:
        raise InputError("--workers", f"must be 1 to {WORKERS_MAX} (got {workers})")
    if not 1 <= args.threads <= THREADS_MAX:
        raise InputError("--threads", f"must be 1 to {THREADS_MAX} (got {args.threads})")
    settings = Settings(
        secure_cookies=args.secure_cookies,
        seed_demo=not args.no_demo,
        fault=fault_from_env(),
        trusted_proxies=proxies,
        threads=args.threads,
        tune_gc=True,
    )
    try:
        if workers == 1:
            app = create_app(url, settings=settings)
        else:  # migrations and the demo seed run once, here, before any worker starts
            prepare(url, seed_demo=settings.seed_demo)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise InputError("--database-url", f"cannot open the database: {reason}") from None
    print(f"itdd clinic on http://{args.host}:{args.port}/  (database: {_redacted(url)}, workers: {workers})")
    print("Demo logins: see README.md (section 'The clinic').  " + DISCLAIMER, flush=True)
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 by default; the clinic
    # reads it itself, and only from --forwarded-allow-ips (auth.client_ip)
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "access_log": args.log_level == "debug",
        "backlog": 2048,
        "proxy_headers": False,
    }
    if workers == 1:
        uvicorn.run(app, **common)
    else:
        env = worker_env(url, secure_cookies=args.secure_cookies, trusted_proxies=proxies, threads=args.threads)
        os.environ.update(env)
        uvicorn.run("itdd.clinic.serving:worker_app", factory=True, workers=workers, **common)
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the clinic web app",
        description="Run the clinic web app (pages and JSON API). On first start it creates the demo clinic. "
        + DISCLAIMER,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument(
        "--database-url",
        default=os.environ.get("ITDD_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db (default $ITDD_DATABASE_URL or "
        f"{DEFAULT_DATABASE_URL})",
    )
    p.add_argument("--no-demo", action="store_true", help="do not create the demo clinic on an empty database")
    p.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure (when served over HTTPS)")
    p.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("ITDD_FORWARDED_ALLOW_IPS", ""),
        metavar="ADDRESSES",
        help="comma-separated addresses of reverse proxies whose X-Forwarded-For is trusted (default: none, the "
        "header is ignored; '*' trusts any peer: only behind a proxy that overwrites the header)",
    )
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes behind the one port (default 1; use about one per core, on PostgreSQL or SQLite)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("ITDD_SERVE_THREADS") or DEFAULT_THREADS),
        help=f"threads per server process for the request handlers (default {DEFAULT_THREADS}; $ITDD_SERVE_THREADS)",
    )
    p.set_defaults(func=cmd_serve)
    register_clinic(sub)


def _cmd_seed(args: argparse.Namespace) -> int:
    from ..clinic.network import cmd_seed

    return cmd_seed(args)


def register_clinic(sub: Any) -> None:
    """``itdd clinic seed``: a large demo clinic network (see :mod:`itdd.clinic.network`)."""
    p = sub.add_parser("clinic", help="clinic database tools (seed a large clinic network)")
    csub = p.add_subparsers(dest="clinic_command", metavar="COMMAND", parser_class=type(p))
    s = csub.add_parser(
        "seed",
        help="add a large demo clinic network (thousands of patients, years of history)",
        description="Add a large demo clinic network beside the demo clinics: --patients implanted patients "
        "over --clinics clinics (the first is the demo's Riverside), with --years of refills, prescriptions and "
        "assessments, and --detail-days of per-day amounts, reservoir levels and model samples. Bulk inserts, "
        "deterministic (--seed). " + DISCLAIMER,
    )
    s.add_argument(
        "--database-url",
        default=os.environ.get("ITDD_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"SQLAlchemy URL (default $ITDD_DATABASE_URL or {DEFAULT_DATABASE_URL})",
    )
    s.add_argument("--patients", type=int, default=5_000, help="patients to add (default 5000)")
    s.add_argument("--clinics", type=int, default=5, help="clinics they are spread over (default 5)")
    s.add_argument("--years", type=float, default=3.0, help="years of history (default 3)")
    s.add_argument("--detail-days", type=int, default=90, help="days of per-day detail (default 90)")
    s.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    s.set_defaults(func=_cmd_seed)
