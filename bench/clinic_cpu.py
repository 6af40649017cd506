"""CPU per request of the clinic's load mix, in process (no network, no load generator): the load-independent
measure of what a request costs the server.

A fresh demo clinic (SQLite file, or ``--postgres-url``) is served by ``create_app`` in this process; every
request kind of ``bench/clinic_locustfile.py`` is sent ``--n`` times, one at a time, through httpx's ASGI
transport, and the process CPU time it took is reported per kind and for the locust mix (weighted as the
locustfile weights them).  ``--profile KIND`` runs the sync handlers inline on the event loop (no thread pool)
under cProfile and prints the top of the profile for that kind.

Compare two checkouts in the same run, alternating (the machine's load moves CPU time too):
``python bench/clinic_cpu.py --compare /tmp/before/src`` runs this script under that ``src/`` and under this
one, ``--rounds`` times each, alternately, and prints both.

Measured, never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the locust mix (bench/clinic_locustfile.py): kind -> weight
MIX = {"dashboard": 40, "patient_page": 20, "chart": 15, "refill_preview": 10, "patient_bolus": 10, "interrogate": 5}
WALL0 = 1_772_438_400.0  # 2026-03-02T08:00:00Z, as the tests' fake wall clock


def _inline_threadpool() -> None:
    """Run sync handlers and dependencies on the event loop's thread (so cProfile sees them)."""
    import fastapi.dependencies.utils as fdu
    import fastapi.routing as fr
    import starlette.concurrency as sc

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    for mod in (sc, fr, fdu):
        if hasattr(mod, "run_in_threadpool"):
            mod.run_in_threadpool = inline  # type: ignore[attr-defined]


def _report(prof: cProfile.Profile) -> str:
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(60)
    focus = os.environ.get("CLINIC_CPU_CALLEES")
    if focus:
        s.write("\n---- callees ----\n")
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_callees(focus)
    s.write("\n---- by own time ----\n")
    pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(40)
    return s.getvalue()


async def _measure(url: str, n: int, profile: str | None, kinds: list[str], mixed: bool) -> dict[str, Any]:
    import httpx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from itdd.clinic.app import Settings, create_app

    wall = [WALL0]
    app = create_app(url, wall=lambda: wall[0], settings=Settings())
    transport = httpx.ASGITransport(app=app)
    out: dict[str, Any] = {"itdd": sys.modules["itdd"].__file__}
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic") as c:

        async def token(user: str) -> dict[str, str]:
            r = await c.post("/api/v1/auth/login", json={"username": user, "password": "itdd-demo"})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['token']}"}

        nurse, patient = await token("nurse.okafor"), await token("linda.park")
        r = await c.get("/api/v1/patients", headers=nurse)
        targets = [p for p in r.json() if p["pump"]]
        rng = random.Random(1)

        def request(kind: str) -> Any:
            p = rng.choice(targets)
            if kind == "dashboard":
                return c.get("/api/v1/dashboard", headers=nurse)
            if kind == "patient_page":
                return c.get(f"/patients/{p['patient_id']}", headers=nurse)
            if kind == "chart":
                return c.get(f"/api/v1/patients/{p['patient_id']}/chart?days=90", headers=nurse)
            if kind == "refill_preview":
                pump = p["pump"]
                body = {"version": pump["version"], "withdrawn": "2 mL", "fill": "18 mL"}
                return c.post(f"/api/v1/pumps/{pump['pump_id']}/refill/preview", headers=nurse, json=body)
            if kind == "patient_bolus":
                return c.post("/api/v1/my/bolus", headers=patient)
            if kind == "interrogate":
                return c.post(f"/api/v1/pumps/{p['pump']['pump_id']}/interrogate", headers=nurse)
            raise ValueError(kind)

        for kind in kinds:  # one warm-up round of each (imports, first compiles)
            (await request(kind)).raise_for_status()
        cpu: dict[str, float] = {}
        statuses: dict[str, dict[int, int]] = {}
        if mixed:  # the locust mix's proportions, interleaved (writes invalidate cached reads as under load)
            weights = [MIX.get(k, 1) for k in kinds]
            spent = dict.fromkeys(kinds, 0.0)
            count = dict.fromkeys(kinds, 0)
            pick = random.Random(2)
            mixprof = cProfile.Profile() if profile else None
            for _ in range(n * len(kinds)):
                kind = pick.choices(kinds, weights)[0]
                on = mixprof is not None and kind == profile
                t0 = time.process_time()
                if on:
                    mixprof.enable()  # type: ignore[union-attr]
                resp = await request(kind)
                if on:
                    mixprof.disable()  # type: ignore[union-attr]
                spent[kind] += time.process_time() - t0
                count[kind] += 1
                statuses.setdefault(kind, {}).setdefault(resp.status_code, 0)
                statuses[kind][resp.status_code] += 1
            cpu = {k: spent[k] / max(count[k], 1) * 1000 for k in kinds}
            kinds = []
            if mixprof is not None:
                out["profile"] = _report(mixprof)
        for kind in kinds:
            prof = cProfile.Profile() if profile == kind else None
            st: dict[int, int] = {}
            t0 = time.process_time()
            if prof:
                prof.enable()
            for _ in range(n):
                resp = await request(kind)
                st[resp.status_code] = st.get(resp.status_code, 0) + 1
            if prof:
                prof.disable()
            cpu[kind] = (time.process_time() - t0) / n * 1000
            statuses[kind] = st
            if prof:
                out["profile"] = _report(prof)
        out["cpu_ms"] = cpu
        out["statuses"] = statuses
        if all(k in cpu for k in MIX):
            out["cpu_ms"]["mix"] = sum(cpu[k] * w for k, w in MIX.items()) / sum(MIX.values())
    app.state.db.dispose()
    return out


def run_once(n: int, profile: str | None, kinds: list[str], postgres_url: str | None, mixed: bool) -> dict[str, Any]:
    if profile:
        _inline_threadpool()
    if postgres_url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = make_url(postgres_url).set(drivername="postgresql+psycopg")
        name = f"itdd_cpu_{os.getpid()}"
        eng = create_engine(admin, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            return asyncio.run(
                _measure(admin.set(database=name).render_as_string(hide_password=False), n, profile, kinds, mixed)
            )
        finally:
            with eng.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            eng.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_measure(f"sqlite:///{tmp}/clinic.sqlite3", n, profile, kinds, mixed))


def _child(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, __file__, "--n", str(args.n), "--json", "--kinds", args.kinds]
    cmd += ["--mixed"] if args.mixed else []
    if args.postgres_url:
        cmd += ["--postgres-url", args.postgres_url]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30, help="requests of each kind (default 30)")
    ap.add_argument("--kinds", default=",".join(MIX), help="comma-separated request kinds")
    ap.add_argument("--profile", default=None, help="cProfile this request kind and print the profile")
    ap.add_argument("--postgres-url", default=None, help="measure on a fresh PostgreSQL database beside this URL")
    ap.add_argument("--compare", type=Path, default=None, help="another src/ directory to alternate with")
    ap.add_argument("--rounds", type=int, default=2, help="with --compare: rounds of each (default 2)")
    ap.add_argument("--mixed", action="store_true", help="interleave the kinds in the mix's proportions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    if args.compare:
        here = ROOT / "src"
        table: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for label, src in (("before", args.compare), ("after", here)):
                table[label].append(_child(src, args)["cpu_ms"])
        print(f"load average {os.getloadavg()[0]:.1f}; CPU ms per request, {args.n} requests of each kind per round")
        print(
            "| request | "
            + " | ".join(f"before r{i + 1}" for i in range(args.rounds))
            + " | "
            + " | ".join(f"after r{i + 1}" for i in range(args.rounds))
            + " |"
        )
        for k in [*kinds, "mix"]:
            if k not in table["after"][0]:
                continue
            cells = [f"{r[k]:.1f}" for r in table["before"]] + [f"{r[k]:.1f}" for r in table["after"]]
            print(f"| {k} | " + " | ".join(cells) + " |")
        return 0
    res = run_once(args.n, args.profile, kinds, args.postgres_url, args.mixed)
    if args.json:
        res.pop("profile", None)
        print(json.dumps(res))
        return 0
    if "profile" in res:
        print(res.pop("profile"))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
