"""Clinic load check: concurrent clients on loopback against a real ``itdd serve``, on SQLite and PostgreSQL.

A fixed number of requests (a fixed, seeded mix of what a clinic day does: dashboards, patient pages with
their charts, chart data, refill previews on a copy of the twin, patient bolus requests and interrogations,
the last two writing to the database) is shared among N client threads, each with its own keep-alive
connection.  Reported per database: p50 / p90 / p99 / max latency, errors (any answer other than 2xx, or no
answer) and throughput.  Measured here, never asserted in tests.

PostgreSQL: ``--postgres-url`` or ``$ITDD_BENCH_POSTGRES_URL`` / ``$ITDD_TEST_POSTGRES_URL`` (a throw-away
database is created beside it and dropped afterwards); without one, only SQLite runs.

Usage: ``python bench/clinic_load.py [--requests 2000] [--clients 8] [--json]``; ``make bench`` runs the
quick form through ``bench/bench_clinic.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "itdd-demo"  # the demo clinic's password (README)
MIX = (  # (weight, name)
    (40, "dashboard"),
    (20, "patient_page"),
    (15, "chart"),
    (10, "refill_preview"),
    (10, "patient_bolus"),
    (5, "interrogate"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    def __init__(self, url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "itdd.cli",
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                url,
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}); see {log}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def _login(base: str, user: str) -> dict[str, str]:
    r = httpx.post(base + "/api/v1/auth/login", json={"username": user, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _plan(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names = [name for w, name in MIX for _ in range(w)]
    return [rng.choice(names) for _ in range(n)]


def load(url: str, *, requests: int, clients: int, seed: int = 1) -> dict[str, Any]:
    """Start a server on ``url``, run the mix, stop the server; returns the measurements."""
    with tempfile.TemporaryDirectory() as tmp:
        server = _Server(url, Path(tmp) / "server.log")
        try:
            base = server.base
            nurse, patient = _login(base, "nurse.okafor"), _login(base, "linda.park")
            patients = httpx.get(base + "/api/v1/patients", headers=nurse, timeout=30).json()
            with_pump = [p for p in patients if p["pump"]]
            plan = _plan(requests, seed)
            rng = random.Random(seed + 1)
            targets = [rng.choice(with_pump) for _ in range(requests)]
            counter = itertools.count()
            lock = threading.Lock()
            latencies: list[float] = []
            errors: list[str] = []

            def one(c: httpx.Client, kind: str, p: dict[str, Any]) -> httpx.Response:
                pump = p["pump"]
                if kind == "dashboard":
                    return c.get("/api/v1/dashboard", headers=nurse)
                if kind == "patient_page":
                    return c.get(f"/patients/{p['patient_id']}", headers=nurse)
                if kind == "chart":
                    return c.get(f"/api/v1/patients/{p['patient_id']}/chart?days=90", headers=nurse)
                if kind == "refill_preview":
                    body = {"version": pump["version"], "withdrawn": "2 mL", "fill": "18 mL"}
                    return c.post(f"/api/v1/pumps/{pump['pump_id']}/refill/preview", headers=nurse, json=body)
                if kind == "patient_bolus":
                    return c.post("/api/v1/my/bolus", headers=patient)
                return c.post(f"/api/v1/pumps/{pump['pump_id']}/interrogate", headers=nurse)

            def worker() -> None:
                with httpx.Client(base_url=base, timeout=120) as c:
                    for _ in range(3):  # warm the connection and the server's caches; not counted
                        c.get("/api/v1/dashboard", headers=nurse)
                    while True:
                        i = next(counter)
                        if i >= requests:
                            return
                        t0 = time.perf_counter()
                        try:
                            r = one(c, plan[i], targets[i])
                            bad = None if r.status_code < 300 else f"{plan[i]}: HTTP {r.status_code}"
                        except httpx.HTTPError as exc:
                            bad = f"{plan[i]}: {type(exc).__name__}"
                        dt = time.perf_counter() - t0
                        with lock:
                            latencies.append(dt)
                            if bad:
                                errors.append(bad)

            threads = [threading.Thread(target=worker) for _ in range(clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
        finally:
            server.stop()
    ms = sorted(x * 1000 for x in latencies)

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, max(0, round(q * (len(ms) - 1))))]

    return {
        "requests": len(ms),
        "clients": clients,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": ms[-1],
        "mean_ms": statistics.fmean(ms),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "throughput_rps": len(ms) / wall,
    }


def _pg_base_url(explicit: str | None) -> str | None:
    return explicit or os.environ.get("ITDD_BENCH_POSTGRES_URL") or os.environ.get("ITDD_TEST_POSTGRES_URL") or None


def _with_pg(base_url: str, fn: Any) -> dict[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"itdd_bench_{os.getpid()}"
    eng = create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        result: dict[str, Any] = fn(admin.set(database=name).render_as_string(hide_password=False))
        return result
    finally:
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


def run(
    quick: bool = True, postgres_url: str | None = None, requests: int | None = None, clients: int | None = None
) -> list[dict[str, Any]]:
    """``bench/run.py`` entry point: one row per database."""
    n = requests or (600 if quick else 3000)
    k = clients or (4 if quick else 8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        res = load(f"sqlite:///{Path(tmp) / 'clinic.sqlite3'}", requests=n, clients=k)
        rows.append({"benchmark": f"clinic load, SQLite ({k} clients, {n} requests on loopback)", **res})
    pg = _pg_base_url(postgres_url)
    if pg:
        try:
            res = _with_pg(pg, lambda u: load(u, requests=n, clients=k))
            rows.append({"benchmark": f"clinic load, PostgreSQL ({k} clients, {n} requests on loopback)", **res})
        except Exception as exc:  # the bench reports what it could not measure instead of failing
            rows.append({"benchmark": "clinic load, PostgreSQL", "skipped": f"{type(exc).__name__}: {exc}"})
    else:
        rows.append({"benchmark": "clinic load, PostgreSQL", "skipped": "no PostgreSQL URL given"})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--postgres-url", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = run(quick=False, postgres_url=args.postgres_url, requests=args.requests, clients=args.clients)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(r["benchmark"])
        for key, value in r.items():
            if key != "benchmark":
                print(f"  {key:16s} {value:,.1f}" if isinstance(value, float) else f"  {key:16s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
