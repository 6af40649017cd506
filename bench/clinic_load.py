"""Clinic capacity: ``locust`` drives a real ``itdd serve`` on loopback, on SQLite and on PostgreSQL.

For each database and each number of users (8, 50, 200 by default) this starts the server itself (its own
fresh database; ``--workers`` processes behind one port), runs the clinic-day mix of
``bench/clinic_locustfile.py`` headless and bounded in time (``--duration`` seconds per step, 127.0.0.1 only),
stops the server and reports requests/s, p50, p99 and errors (any answer other than 2xx, or none).
``--patients N`` first seeds a clinic network of N patients (``itdd clinic seed``) so that the same mix runs
against a health system's size.  ``--write-docs`` puts the table into ``docs/benchmarks.md``.

Measured, never asserted in tests.  PostgreSQL: ``--postgres-url`` or ``$ITDD_BENCH_POSTGRES_URL`` /
``$ITDD_TEST_POSTGRES_URL`` (a throw-away database is created beside it and dropped afterwards); without one,
only SQLite runs.  ``--src DIR`` serves the code in DIR instead (a checkout of an older commit: before/after).

Usage: ``python bench/clinic_load.py [--users 8,50,200] [--duration 20] [--workers 2] [--patients 0]
[--db sqlite,postgresql] [--write-docs] [--json]``; ``make bench`` runs the quick form through
``bench/bench_clinic.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).with_name("clinic_locustfile.py")
DOC = ROOT / "docs" / "benchmarks.md"
DOC_BEGIN = "<!-- clinic-capacity:begin -->"
DOC_END = "<!-- clinic-capacity:end -->"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class _Server:
    def __init__(self, url: str, log: Path, *, workers: int, src: Path | None) -> None:
        self.port = _free_port()
        self.db_name = make_url(url).database if url.startswith("postgres") else None
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        args = [sys.executable, "-m", "itdd.cli", "serve", "--port", str(self.port), "--database-url", url]
        args += ["--log-level", "warning"] + (["--workers", str(workers)] if workers > 1 else [])
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=_env(src))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}); see {log}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def cpu_s(self) -> float:
        """CPU seconds used so far by the server and its worker processes (user + system)."""
        import psutil

        try:
            top = psutil.Process(self.proc.pid)
            procs = [top, *top.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def db_cpu(self) -> dict[int, float]:
        """CPU seconds so far of each PostgreSQL backend serving this server's database (its processes are
        named after the database); empty on SQLite (it runs inside the server)."""
        import psutil

        name = self.db_name
        if not name:
            return {}
        out = {}
        for p in psutil.process_iter(["cmdline", "cpu_times"]):
            try:
                cmd = " ".join(p.info["cmdline"] or [])
                if cmd.startswith("postgres:") and f" {name} " in f"{cmd} ":
                    out[p.pid] = p.info["cpu_times"].user + p.info["cpu_times"].system
            except (psutil.Error, TypeError):
                continue
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def _seed(url: str, patients: int, src: Path | None, log: Path) -> float:
    t = time.perf_counter()
    with open(log, "ab") as out:
        subprocess.run(
            [sys.executable, "-m", "itdd.cli", "clinic", "seed", "--database-url", url, "--patients", str(patients)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(src),
            check=True,
        )
    return time.perf_counter() - t


def _locust(base: str, users: int, duration_s: int, tmp: Path, server: _Server | None = None) -> dict[str, Any]:
    prefix = tmp / f"locust_{users}"
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base]
    cmd += ["-u", str(users), "-r", str(max(users, 1)), "-t", f"{duration_s}s", "--csv", str(prefix)]
    cmd += ["--only-summary", "--reset-stats", "--stop-timeout", "10", "--loglevel", "WARNING"]
    server_cpu0 = server.cpu_s() if server is not None else 0.0
    db_cpu0 = server.db_cpu() if server is not None else {}
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(tmp / "locust.log", "ab") as out:
        subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=duration_s + 240, check=False)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = (server.cpu_s() - server_cpu0) if server is not None else 0.0
    db_cpu = sum(t - db_cpu0.get(pid, 0.0) for pid, t in (server.db_cpu() if server is not None else {}).items())
    locust_cpu = (children1.ru_utime - children0.ru_utime) + (children1.ru_stime - children0.ru_stime)
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))  # noqa: SIM115
    agg = next(r for r in rows if r["Name"] == "Aggregated")
    kinds = {r["Name"]: r for r in rows if r["Name"] != "Aggregated"}
    n, fails = int(agg["Request Count"]), int(agg["Failure Count"])
    return {
        "users": users,
        "requests": n,
        "errors": fails,
        "throughput_rps": float(agg["Requests/s"]),
        "p50_ms": float(agg["50%"]),
        "p99_ms": float(agg["99%"]),
        "max_ms": float(agg["Max Response Time"]),
        "by_kind_p50_ms": {k: float(v["50%"]) for k, v in kinds.items()},
        # CPU over the whole locust run (its start-up and the login included; the stats count the measured part)
        "server_cpu_s": server_cpu,
        "locust_cpu_s": locust_cpu,
        "server_cpu_ms_per_request": server_cpu / max(n, 1) * 1000,
        "db_cpu_s": db_cpu,
        "db_cpu_ms_per_request": db_cpu / max(n, 1) * 1000,
        "locust_cpu_ms_per_request": locust_cpu / max(n, 1) * 1000,
    }


def load(
    url: str, *, users: list[int], duration_s: int, workers: int, patients: int = 0, src: Path | None = None
) -> list[dict[str, Any]]:
    """Seed (optionally), then per user count: start a server on ``url``, run locust, stop the server."""
    out = []
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        seed_s = _seed(url, patients, src, tmp / "seed.log") if patients else None
        for n in users:
            server = _Server(url, tmp / "server.log", workers=workers, src=src)
            try:
                row = _locust(server.base, n, duration_s, tmp, server)
            finally:
                server.stop()
            row["seed_s"] = seed_s
            row["load_avg_1m"] = os.getloadavg()[0]
            out.append(row)
    return out


def _pg_base_url(explicit: str | None) -> str | None:
    return explicit or os.environ.get("ITDD_BENCH_POSTGRES_URL") or os.environ.get("ITDD_TEST_POSTGRES_URL") or None


def _with_pg(base_url: str, fn: Any) -> Any:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"itdd_bench_{os.getpid()}"
    eng = create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return fn(admin.set(database=name).render_as_string(hide_password=False))
    finally:
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


def run_all(
    *,
    users: list[int],
    duration_s: int,
    workers: int,
    patients: int = 0,
    dbs: tuple[str, ...] = ("sqlite", "postgresql"),
    postgres_url: str | None = None,
    src: Path | None = None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    size = f"{patients:,} seeded patients" if patients else "the demo clinic"
    if "sqlite" in dbs:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'clinic.sqlite3'}"
            for r in load(url, users=users, duration_s=duration_s, workers=workers, patients=patients, src=src):
                rows.append({"benchmark": f"clinic capacity, SQLite, {size}", "db": "SQLite", "workers": workers, **r})
    pg = _pg_base_url(postgres_url)
    if "postgresql" in dbs and pg:
        try:
            res = _with_pg(
                pg, lambda u: load(u, users=users, duration_s=duration_s, workers=workers, patients=patients, src=src)
            )
            for r in res:
                rows.append(
                    {"benchmark": f"clinic capacity, PostgreSQL, {size}", "db": "PostgreSQL", "workers": workers, **r}
                )
        except Exception as exc:  # the bench reports what it could not measure instead of failing
            rows.append({"benchmark": "clinic capacity, PostgreSQL", "skipped": f"{type(exc).__name__}: {exc}"})
    elif "postgresql" in dbs:
        rows.append({"benchmark": "clinic capacity, PostgreSQL", "skipped": "no PostgreSQL URL given"})
    return rows


def run(quick: bool = True, postgres_url: str | None = None) -> list[dict[str, Any]]:
    """``bench/run.py`` entry point (``make bench``): 8, 50 and 200 users on both databases, bounded in time
    (quick: 15 s per step, about 3 minutes in all with server starts)."""
    return run_all(users=[8, 50, 200], duration_s=15 if quick else 30, workers=2, postgres_url=postgres_url)


def markdown(rows: list[dict[str, Any]], note: str) -> str:
    lines = [
        DOC_BEGIN,
        note,
        "",
        "| database | size | workers | users | requests/s | p50 (ms) | p99 (ms) | errors / requests "
        "| CPU / request (ms): server | PostgreSQL | locust |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['benchmark']} | skipped: {r['skipped']} | | | | | | | | | |")
            continue
        size = r["benchmark"].split(", ", 2)[2]
        lines.append(
            f"| {r['db']} | {size} | {r['workers']} | {r['users']} | {r['throughput_rps']:.0f} | "
            f"{r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['errors']} / {r['requests']:,} | "
            f"{r.get('server_cpu_ms_per_request', 0.0):.1f} | {r.get('db_cpu_ms_per_request', 0.0):.1f} | "
            f"{r.get('locust_cpu_ms_per_request', 0.0):.1f} |"
        )
    lines.append(DOC_END)
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    if DOC_BEGIN in doc and DOC_END in doc:
        head, rest = doc.split(DOC_BEGIN, 1)
        doc = head + text + rest.split(DOC_END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n## Clinic capacity (`bench/clinic_load.py`)\n\n" + text + "\n"
    DOC.write_text(doc, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", default="8,50,200", help="comma-separated user counts (default 8,50,200)")
    ap.add_argument("--duration", type=int, default=20, help="seconds of load per step (default 20)")
    ap.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    ap.add_argument("--patients", type=int, default=0, help="seed a network of this many patients first")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--postgres-url", default=None)
    ap.add_argument("--src", type=Path, default=None, help="serve the code in this src/ directory instead")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = run_all(
        users=[int(u) for u in args.users.split(",")],
        duration_s=args.duration,
        workers=args.workers,
        patients=args.patients,
        dbs=tuple(args.db.split(",")),
        postgres_url=args.postgres_url,
        src=args.src,
    )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(markdown(rows, f"load average {os.getloadavg()[0]:.1f}"))
    if args.write_docs:
        write_docs(markdown(rows, f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
