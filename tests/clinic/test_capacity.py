"""Capacity (issue 13): pages whose query count does not grow with the clinic, pagination, caches that follow
every change, the network seed, and ``itdd serve --workers``.  Speed itself is measured in ``make bench``
(bench/clinic_load.py), never asserted here."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from itdd.clinic import cache
from itdd.clinic.cache import VersionedCache
from itdd.clinic.db import Database
from itdd.clinic.models import Patient, Pump, Refill
from itdd.clinic.network import NetworkSpec, seed_network
from itdd.errors import InputError
from tests.clinic.conftest import WALL0, Clinic, FakeWall, fresh_sqlite

ROOT = Path(__file__).resolve().parents[2]


def _seed(url: str, patients: int, clinics: int = 1, seed: int = 1) -> None:
    db = Database(url, pool_size=1)
    try:
        with db.write() as s:
            seed_network(
                s, NetworkSpec(patients=patients, clinics=clinics, years=1.0, detail_days=30, seed=seed), wall_s=WALL0
            )
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_urls(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> tuple[str, str]:
    """Two fresh demo databases of the same kind: the demo as it is, and the demo plus 200 patients."""
    if request.param == "sqlite":
        small, big = fresh_sqlite(sqlite_template, tmp_path), fresh_sqlite(sqlite_template, tmp_path)
    else:
        maker: Callable[[], str] = request.getfixturevalue("fresh_pg")
        small, big = maker(), maker()
    _seed(big, 200)
    return small, big


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _queries(c: Clinic, paths: list[str]) -> dict[str, int]:
    out = {}
    c.token("nurse.okafor")  # log in first (not counted)
    for path in paths:
        assert c.get(path, "nurse.okafor").status_code == 200, path
        cache.clear_all()  # count the cold path: nothing computed yet
        with counting(c.db) as cold:
            r = c.get(path, "nurse.okafor")
        assert r.status_code == 200, (path, r.text[:300])
        with counting(c.db) as warm:
            c.get(path, "nurse.okafor")
        out[path] = (len(cold), len(warm))
    return out


def test_page_queries_do_not_grow_with_the_number_of_patients(two_urls: tuple[str, str], wall: FakeWall) -> None:
    small_url, big_url = two_urls
    db = Database(big_url, pool_size=1)
    with db.read() as s:
        riverside = s.scalar(select(func.min(Patient.clinic_id)))
        n_big = s.scalar(select(func.count()).select_from(Patient).where(Patient.clinic_id == riverside))
        demo_patient = s.scalar(select(Pump.patient_id).where(Pump.clinic_id == riverside).order_by(Pump.id))
    db.dispose()
    assert n_big is not None and n_big >= 200  # the demo's Riverside patients plus the 200 seeded ones
    paths = [
        "/api/v1/dashboard",
        "/",
        "/patients",
        "/api/v1/patients?limit=50",
        f"/patients/{demo_patient}",
        f"/api/v1/patients/{demo_patient}/chart?days=90",
    ]
    results = []
    for url in (small_url, big_url):
        c = Clinic(url, wall)
        try:
            results.append(_queries(c, paths))
        finally:
            c.close()
    small, big = results
    assert small == big  # (cold, warm) statement counts per page: equal at 12 and at 200+ patients


def test_patient_list_pages_and_searches(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    r = c.get("/api/v1/patients", "nurse.okafor")
    everyone = r.json()
    total = int(r.headers["X-Total-Count"])
    assert total == len(everyone) >= 5
    names = [p["name"] for p in everyone]
    assert names == sorted(names)
    pages = [c.get(f"/api/v1/patients?limit=3&offset={o}", "nurse.okafor").json() for o in range(0, total, 3)]
    assert [p["patient_id"] for page in pages for p in page] == [p["patient_id"] for p in everyone]
    assert all(len(page) == 3 for page in pages[:-1])
    one = everyone[1]
    found = c.get("/api/v1/patients", "nurse.okafor", params={"q": one["mrn"].lower()})
    assert [p["patient_id"] for p in found.json()] == [one["patient_id"]]
    assert found.headers["X-Total-Count"] == "1"
    nothing = c.get("/api/v1/patients", "nurse.okafor", params={"q": "%_"})  # wildcards are literal text
    assert nothing.json() == [] and nothing.headers["X-Total-Count"] == "0"
    assert c.get("/api/v1/patients?limit=0", "nurse.okafor").status_code == 422
    assert c.get("/api/v1/patients?limit=501", "nurse.okafor").status_code == 422


def test_patient_page_list_shows_fifty_a_page_with_links(sqlite_url: str, wall: FakeWall) -> None:
    _seed(sqlite_url, 120)
    c = Clinic(sqlite_url, wall)
    try:
        br, _ = c.browser("nurse.okafor")
        total = int(c.get("/api/v1/patients?limit=1", "nurse.okafor").headers["X-Total-Count"])
        assert total >= 120 + 5
        pages = -(-total // 50)  # ceil: 50 a page
        first = br.get("/patients")
        assert first.status_code == 200
        assert f"1–50 of {total} patients" in first.text
        assert f"page 1 of {pages}" in first.text and 'rel="next"' in first.text and 'rel="prev"' not in first.text
        last = br.get(f"/patients?page={pages}")
        assert f"{(pages - 1) * 50 + 1}–{total} of {total} patients" in last.text
        assert 'rel="next"' not in last.text
        assert br.get("/patients?page=abc").status_code == 200  # a bad page number is page 1
        dash = c.get("/api/v1/dashboard?limit=5", "nurse.okafor").json()
        assert all(len(dash[k]) <= 5 for k in ("refills_due", "alarms", "approaching_eri", "appointments"))
        assert dash["totals"]["appointments"] >= len(dash["appointments"])
    finally:
        c.close()


def test_cached_reads_follow_every_change(clinic: Clinic) -> None:
    """The caches key on the records' versions: an assessment (new oral opioids for the model) and an
    interrogation (a new pump version) show at once in the model summary and the chart series."""
    c = clinic
    patients = c.get("/api/v1/patients", "nurse.okafor").json()
    p = next(x for x in patients if x["pump"] and x["indication"].lower().startswith("chronic"))
    pid = p["patient_id"]
    before = c.get(f"/api/v1/patients/{pid}/model", "nurse.okafor").json()["model"]
    chart0 = c.get(f"/api/v1/patients/{pid}/chart?days=30", "nurse.okafor").json()
    new_mme = before["oral_mme_mg_per_day"] + 30.0
    r = c.post(
        f"/api/v1/patients/{pid}/assessments",
        "nurse.okafor",
        json={"pain_nrs": 5, "function_score": 60, "oral_opioid": f"{new_mme:g} mg/day", "notes": ""},
    )
    assert r.status_code == 201, r.text
    after = c.get(f"/api/v1/patients/{pid}/model", "nurse.okafor").json()["model"]
    assert after["oral_mme_mg_per_day"] == new_mme
    chart1 = c.get(f"/api/v1/patients/{pid}/chart?days=30", "nurse.okafor").json()
    assert len(chart1["pain"]) == len(chart0["pain"]) + 1  # the new assessment is on the chart
    assert chart1["model"]["oral_mme_per_day"][-1] == new_mme
    r = c.post(f"/api/v1/pumps/{p['pump']['pump_id']}/interrogate", "nurse.okafor")
    assert r.status_code == 200, r.text
    version = c.get(f"/api/v1/pumps/{p['pump']['pump_id']}", "nurse.okafor").json()["version"]
    assert version == p["pump"]["version"] + 1
    page = c.get(f"/patients/{pid}", "nurse.okafor")
    assert page.status_code == 200


def test_versioned_cache_is_a_bounded_lru() -> None:
    calls: list[str] = []
    c = VersionedCache(2)

    def make(v: str) -> Callable[[], str]:
        def f() -> str:
            calls.append(v)
            return v

        return f

    assert c.get(("a", 1), make("a1")) == "a1"
    assert c.get(("a", 1), make("never")) == "a1"  # same key: computed once
    assert c.get(("a", 2), make("a2")) == "a2"  # a new version is a new key
    assert c.get(("b", 1), make("b1")) == "b1"  # third entry: ("a", 1), the least recently used, goes
    assert c.get(("a", 1), make("a1 again")) == "a1 again"
    assert calls == ["a1", "a2", "b1", "a1 again"]
    assert (c.hits, c.misses) == (1, 4)


def test_network_seed_is_deterministic_and_refuses_a_second_time(sqlite_template: Path, tmp_path: Path) -> None:
    urls = [fresh_sqlite(sqlite_template, tmp_path) for _ in range(2)]
    dumps = []
    for url in urls:
        _seed(url, 40, clinics=3, seed=5)
        db = Database(url, pool_size=1)
        with db.read() as s:
            clinics = s.scalar(select(func.count(func.distinct(Patient.clinic_id))).where(Patient.mrn.like("H-%")))
            assert clinics == 3
            n = s.scalar(select(func.count()).select_from(Patient).where(Patient.mrn.like("H-%")))
            assert n == 40
            dumps.append(
                (
                    [tuple(r) for r in s.execute(select(Patient.mrn, Patient.name).order_by(Patient.id))],
                    [tuple(r) for r in s.execute(select(Pump.serial, Pump.estimate_ml, Pump.next_refill_t_s))],
                    [tuple(r) for r in s.execute(select(Refill.pump_id, Refill.t_s, Refill.withdrawn_ml))],
                )
            )
            # every seeded pump is a working twin: the patient page of one renders
        db.dispose()
    assert dumps[0] == dumps[1]
    db = Database(urls[0], pool_size=1)
    try:
        with pytest.raises(InputError, match="already holds a seeded network"), db.write() as s:
            seed_network(s, NetworkSpec(patients=5), wall_s=WALL0)
        with pytest.raises(InputError, match="--patients"), db.write() as s:
            seed_network(s, NetworkSpec(patients=0), wall_s=WALL0)
    finally:
        db.dispose()


def test_seeded_patients_work_like_any_other(sqlite_url: str, wall: FakeWall) -> None:
    _seed(sqlite_url, 20)
    c = Clinic(sqlite_url, wall)
    try:
        seeded = c.get("/api/v1/patients", "nurse.okafor", params={"q": "H-"}).json()
        assert len(seeded) == 20 and all(p["pump"] for p in seeded)
        p = seeded[0]
        assert c.get(f"/patients/{p['patient_id']}", "nurse.okafor").status_code == 200
        assert (
            c.get(f"/api/v1/patients/{p['patient_id']}/chart?days=30&forecast=true", "nurse.okafor").status_code == 200
        )
        pump = p["pump"]
        r = c.post(
            f"/api/v1/pumps/{pump['pump_id']}/refill/preview",
            "nurse.okafor",
            json={"version": pump["version"], "withdrawn": "2 mL", "fill": "18 mL"},
        )
        assert r.status_code == 200, r.text
        assert c.post(f"/api/v1/pumps/{pump['pump_id']}/interrogate", "nurse.okafor").status_code == 200
        assert c.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "1d"}).status_code == 200
    finally:
        c.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_workers_runs_processes_behind_one_port(tmp_path: Path) -> None:
    """Two worker processes on one fresh SQLite database: the schema and the demo are created once (before the
    workers start), and both answer on the one port."""
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "itdd.cli", "serve", "--port", str(port), "--database-url", url, "--workers", "2"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ITDD_CLINIC_FAULT": ""},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600  # generous: migrations, the demo seed and two workers' imports
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        token = httpx.post(
            base + "/api/v1/auth/login", json={"username": "nurse.okafor", "password": "itdd-demo"}, timeout=30
        ).json()["token"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for _ in range(20):  # new connections: the kernel spreads them over the workers
                with httpx.Client(base_url=base, headers=client.headers, timeout=30) as fresh:
                    assert fresh.get("/api/v1/dashboard").status_code == 200
        text = (tmp_path / "serve.log").read_text()
        assert "workers: 2" in text
        assert "Traceback" not in text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_serve_refuses_a_bad_worker_count() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "itdd.cli", "serve", "--workers", "0"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 2
    assert "--workers" in r.stderr and "Traceback" not in r.stderr


def test_serve_refuses_a_bad_thread_count() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "itdd.cli", "serve", "--threads", "0"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 2
    assert "--threads" in r.stderr and "Traceback" not in r.stderr


def test_the_server_process_is_tuned_at_start() -> None:
    """``itdd serve``'s lifespan sets the handler threads and freezes the start-up objects (tests keep defaults)."""
    import gc

    import anyio
    import anyio.to_thread

    from itdd.clinic.serving import GC_THRESHOLD, tune_process

    before = gc.get_threshold()

    async def run() -> float:
        tune_process(threads=3, tune_gc=True)
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    try:
        assert anyio.run(run) == 3
        assert gc.get_threshold() == GC_THRESHOLD and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
