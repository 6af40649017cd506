"""``itdd serve``: run the clinic web app (SQLite file by default, or PostgreSQL)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import DISCLAIMER
from ..errors import InputError
from .db import DEFAULT_DATABASE_URL, normalise_url


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

    from .app import Settings, create_app, fault_from_env

    url = normalise_url(args.database_url)
    proxies = tuple(a.strip() for a in (args.forwarded_allow_ips or "").split(",") if a.strip())
    settings = Settings(
        secure_cookies=args.secure_cookies,
        seed_demo=not args.no_demo,
        fault=fault_from_env(),
        trusted_proxies=proxies,
    )
    try:
        app = create_app(url, settings=settings)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise InputError("--database-url", f"cannot open the database: {reason}") from None
    print(f"itdd clinic on http://{args.host}:{args.port}/  (database: {_redacted(url)})")
    print("Demo logins: see README.md (section 'The clinic').  " + DISCLAIMER, flush=True)
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 by default; the clinic
    # reads it itself, and only from --forwarded-allow-ips (auth.client_ip)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        proxy_headers=False,
    )
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
    p.set_defaults(func=cmd_serve)
