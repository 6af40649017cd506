"""Crash safety: a real server process killed with SIGKILL leaves the database consistent.

* In the middle of a refill (everything written, not yet committed; the server is paused there by its
  fault-injection hook and killed from outside): none of the refill is stored.
* Right after a refill answered: all of it is stored.
* At a random moment under a stream of refills, clock advances and patient boluses: every stored pump state,
  event log, refill record and audit entry still agree with each other.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from itdd.clinic.db import Database
from itdd.clinic.models import (
    AuditEntry,
    Patient,
    PatientModelSample,
    Pump,
    PumpEvent,
    PumpSample,
    Refill,
    VirtualPatient,
)
from itdd.clinic.seed import DEMO_PASSWORD
from itdd.patient import PatientSim
from itdd.pump import persist

from .server import Server


def token(s: Server, user: str) -> str:
    r = httpx.post(s.url + "/api/v1/auth/login", json={"username": user, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def snapshot(url: str, serial: str = "NGP-204511") -> dict[str, Any]:
    db = Database(url, pool_size=1)
    try:
        with db.read() as s:
            pump = s.scalar(select(Pump).where(Pump.serial == serial))
            assert pump is not None
            return {
                "pump_id": pump.id,
                "version": pump.version,
                "estimate_ml": pump.estimate_ml,
                "state_estimate_ml": pump.state["firmware"]["estimate_ml"],
                "log_seq": pump.log_seq,
                "refills": s.scalar(select(func.count()).select_from(Refill).where(Refill.pump_id == pump.id)),
                "events": s.scalar(select(func.count()).select_from(PumpEvent).where(PumpEvent.pump_id == pump.id)),
                "samples": s.scalar(select(func.count()).select_from(PumpSample).where(PumpSample.pump_id == pump.id)),
                "audit_refills": s.scalar(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "pump.refill")
                ),
                "patient_state": s.scalar(
                    select(VirtualPatient.state).where(VirtualPatient.patient_id == pump.patient_id)
                ),
                "patient_samples": s.scalar(
                    select(func.count())
                    .select_from(PatientModelSample)
                    .where(PatientModelSample.patient_id == pump.patient_id)
                ),
            }
    finally:
        db.dispose()


def check_consistency(url: str) -> None:
    """Every pump's state, event log, records and audit entries agree."""
    db = Database(url, pool_size=1)
    try:
        with db.read() as s:
            for pump in s.scalars(select(Pump)):
                implant = persist.load(pump.state)  # the stored state is complete and loads
                assert implant.t_s == pytest.approx(pump.t_s)
                assert implant.fw.estimate_ml == pytest.approx(pump.estimate_ml)
                seqs = list(
                    s.scalars(select(PumpEvent.seq).where(PumpEvent.pump_id == pump.id).order_by(PumpEvent.seq))
                )
                assert seqs == list(range(1, pump.log_seq + 1)), pump.serial  # no event lost or duplicated
                # the virtual patient moved with its pump, in the same transactions: same instant, no sample beyond
                vp = s.scalar(select(VirtualPatient).where(VirtualPatient.patient_id == pump.patient_id))
                assert vp is not None and vp.t_s == pump.t_s, pump.serial
                assert PatientSim.from_dict(vp.state).t_s == pump.t_s  # the stored state is complete and loads
                last = s.scalar(
                    select(func.max(PatientModelSample.t_s)).where(PatientModelSample.patient_id == pump.patient_id)
                )
                assert last == pump.t_s, pump.serial
            refills = {r.id: r for r in s.scalars(select(Refill))}
            audited = [a.after for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "pump.refill"))]
            audited_ids = {a["refill_id"] for a in audited if a}
            seeded = {r.id for r in refills.values() if r.t_s < 1_772_438_400.0}  # history before the demo's now
            assert audited_ids == set(refills) - seeded
            for rid in audited_ids:
                r = refills[rid]
                ev = s.scalar(
                    select(func.count())
                    .select_from(PumpEvent)
                    .where(PumpEvent.pump_id == r.pump_id, PumpEvent.type == "refill", PumpEvent.t_s == r.t_s)
                )
                assert ev and ev >= 1
            n_patients = s.scalar(select(func.count()).select_from(Patient))
            assert n_patients == 14
    finally:
        db.dispose()


def _refill(s: Server, tok: str, version: int, fill: str = "20 mL") -> httpx.Response:
    return httpx.post(
        f"{s.url}/api/v1/pumps/1/refill",
        headers={"Authorization": f"Bearer {tok}"},
        json={"version": version, "withdrawn": "1.8 mL", "fill": fill},
        timeout=120,
    )


def test_killed_in_the_middle_of_a_refill_nothing_is_stored(db_url: str, tmp_path: Path) -> None:
    before = snapshot(db_url)
    assert before["pump_id"] == 1
    marker = tmp_path / "paused"
    server = Server(db_url, env={"ITDD_CLINIC_FAULT": f"pause:refill:{marker}"}, log=tmp_path / "server.log")
    try:
        tok = token(server, "nurse.okafor")
        outcome: dict[str, Any] = {}

        def go() -> None:
            try:
                outcome["response"] = _refill(server, tok, before["version"])
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        t = threading.Thread(target=go, daemon=True)
        t.start()
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the refill never reached its commit point"
            time.sleep(0.05)
        server.kill()  # the refill's rows are written but not committed
        t.join(timeout=30)
        assert "response" not in outcome
    finally:
        server.stop()
    after = snapshot(db_url)
    assert after == before  # none of the refill: no record, no events, no levels, no audit, same twin
    check_consistency(db_url)

    server = Server(db_url, log=tmp_path / "server2.log")
    try:
        r = _refill(server, token(server, "nurse.okafor"), before["version"])
        assert r.status_code == 201, r.text
        server.kill()  # right after the answer: all of the refill must be there
    finally:
        server.stop()
    done = snapshot(db_url)
    assert done["version"] == before["version"] + 1
    assert done["refills"] == before["refills"] + 1
    assert done["audit_refills"] == before["audit_refills"] + 1
    assert done["estimate_ml"] == pytest.approx(20.0) and done["state_estimate_ml"] == pytest.approx(20.0)
    assert done["events"] > before["events"] and done["log_seq"] > before["log_seq"]
    check_consistency(db_url)


def test_killed_at_a_random_moment_under_load_stays_consistent(db_url: str, tmp_path: Path) -> None:
    server = Server(db_url, log=tmp_path / "server.log")
    rng = random.Random(5)
    stop = threading.Event()
    try:
        nurse, patient = token(server, "nurse.okafor"), token(server, "linda.park")

        def work(seed: int) -> None:
            r = random.Random(seed)
            with httpx.Client(base_url=server.url, timeout=60) as c:
                while not stop.is_set():
                    try:
                        action = r.choice(("refill", "advance", "bolus", "read"))
                        if action == "refill":
                            pump = c.get("/api/v1/pumps/1", headers={"Authorization": f"Bearer {nurse}"}).json()
                            c.post(
                                "/api/v1/pumps/1/refill",
                                headers={"Authorization": f"Bearer {nurse}"},
                                json={"version": pump["version"], "withdrawn": "2 mL", "fill": "19 mL"},
                            )
                        elif action == "advance":
                            c.post(
                                "/api/v1/clinic/advance",
                                headers={"Authorization": f"Bearer {nurse}"},
                                json={"by": "6h"},
                            )
                        elif action == "bolus":
                            c.post("/api/v1/my/bolus", headers={"Authorization": f"Bearer {patient}"})
                        else:
                            c.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {nurse}"})
                    except httpx.HTTPError:
                        return

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.5 + rng.random() * 2.0)
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        stop.set()
        server.stop()
    check_consistency(db_url)
    # and the clinic still works on what was left
    server = Server(db_url, log=tmp_path / "server2.log")
    try:
        r = httpx.get(
            server.url + "/api/v1/dashboard", headers={"Authorization": f"Bearer {token(server, 'dr.ellis')}"}
        )
        assert r.status_code == 200
    finally:
        server.stop()
