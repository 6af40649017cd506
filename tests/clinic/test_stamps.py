"""Change stamps (itdd.clinic.stamps): every write transaction counts what it touched, and the whole-answer
caches (dashboard, patient page, chart data) keyed on them show every change at once, on both databases."""

from __future__ import annotations

import threading

from sqlalchemy import select

from itdd.clinic import stamps
from itdd.clinic.models import ChangeCounter, Patient, Pump
from tests.clinic.conftest import Clinic


def _counters(c: Clinic) -> dict[str, int]:
    with c.db.read() as s:
        return {k: int(v) for k, v in s.execute(select(ChangeCounter.scope, ChangeCounter.n)).all()}


def _a_pump(c: Clinic) -> tuple[int, int, int]:
    """(pump, its patient, their clinic) of Riverside's first pump."""
    with c.db.read() as s:
        pump = s.scalars(select(Pump).order_by(Pump.id)).first()
        assert pump is not None
        return pump.id, pump.patient_id, pump.clinic_id


def test_a_write_counts_its_patient_and_clinic_and_a_read_counts_nothing(clinic: Clinic) -> None:
    c = clinic
    pump_id, patient_id, clinic_id = _a_pump(c)
    c.token("nurse.okafor")
    before = _counters(c)
    assert c.get("/api/v1/dashboard", "nurse.okafor").status_code == 200
    assert c.get(f"/patients/{patient_id}", "nurse.okafor").status_code == 200
    assert _counters(c) == before  # reads write nothing
    assert c.post(f"/api/v1/pumps/{pump_id}/interrogate", "nurse.okafor").status_code == 200
    after = _counters(c)
    changed = {k for k in after if after[k] != before.get(k, 0)}
    # the pump row, its events and the interrogation are the patient's; the audit entry is the clinic's
    assert changed == {f"p:{patient_id}", f"c:{clinic_id}"}
    assert after[f"p:{patient_id}"] == before.get(f"p:{patient_id}", 0) + 1  # one transaction: counted once


def test_a_clock_advance_counts_the_clinic_itself_and_every_patient(clinic: Clinic) -> None:
    c = clinic
    _, patient_id, clinic_id = _a_pump(c)
    before = _counters(c)
    assert c.post("/api/v1/clinic/advance", "dr.ellis", json={"by": "1d"}).status_code == 200
    after = _counters(c)
    assert after[f"w:{clinic_id}"] == before.get(f"w:{clinic_id}", 0) + 1
    assert after[f"p:{patient_id}"] == before.get(f"p:{patient_id}", 0) + 1


def test_a_rolled_back_write_counts_nothing(clinic: Clinic) -> None:
    c = clinic
    pump_id, _, _ = _a_pump(c)
    before = _counters(c)
    try:
        with c.db.write() as s:
            pump = s.get(Pump, pump_id)
            assert pump is not None
            pump.status = "changed and rolled back"
            s.flush()
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert _counters(c) == before


def test_core_writes_are_counted_through_touch(clinic: Clinic) -> None:
    c = clinic
    _, patient_id, clinic_id = _a_pump(c)
    before = _counters(c)
    with c.db.write() as s:
        stamps.touch(s, patient_id=patient_id)
    after = _counters(c)
    assert after[f"p:{patient_id}"] == before.get(f"p:{patient_id}", 0) + 1
    assert after[f"c:{clinic_id}"] == before.get(f"c:{clinic_id}", 0) + 1
    with c.db.write() as s:
        stamps.touch(s)  # nothing named: everything
    assert _counters(c)["g"] == before.get("g", 0) + 1


def test_cached_answers_show_every_change_at_once(clinic: Clinic) -> None:
    """Each cached answer is asked twice (the second from the cache), then after a change made through another
    path: the change shows at once."""
    c = clinic
    pump_id, patient_id, _ = _a_pump(c)
    page = f"/patients/{patient_id}"
    chart = f"/api/v1/patients/{patient_id}/chart?days=30"
    for _ in range(2):
        dash0 = c.get("/api/v1/dashboard", "nurse.okafor").json()
        html0 = c.get(page, "nurse.okafor").text
        chart0 = c.get(chart, "nurse.okafor").json()
    r = c.post(
        f"/api/v1/patients/{patient_id}/appointments",
        "nurse.okafor",
        json={"at": "2026-03-05T10:30:00+01:00", "kind": "follow-up", "notes": "stamp check 4711"},
    )
    assert r.status_code == 201, r.text
    assert "stamp check 4711" in c.get(page, "nurse.okafor").text and "stamp check 4711" not in html0
    r = c.post(
        f"/api/v1/patients/{patient_id}/assessments",
        "nurse.okafor",
        json={"pain_nrs": 9, "function_score": 28, "oral_opioid": "0 mg/day", "notes": ""},
    )
    assert r.status_code == 201, r.text
    assert len(c.get(chart, "nurse.okafor").json()["pain"]) == len(chart0["pain"]) + 1
    assert c.post(f"/api/v1/pumps/{pump_id}/interrogate", "nurse.okafor").status_code == 200
    dash1 = c.get("/api/v1/dashboard", "nurse.okafor").json()
    rows0 = {r["pump_id"]: r["version"] for k in ("refills_due", "approaching_eri") for r in dash0[k]}
    rows1 = {r["pump_id"]: r["version"] for k in ("refills_due", "approaching_eri") for r in dash1[k]}
    if pump_id in rows0:  # the listed pump's new version is on the dashboard at once
        assert rows1[pump_id] == rows0[pump_id] + 1
    assert c.post("/api/v1/clinic/advance", "dr.ellis", json={"by": "1d"}).status_code == 200
    dash2 = c.get("/api/v1/dashboard", "nurse.okafor").json()
    assert dash2["clinic"]["now_t_s"] == dash0["clinic"]["now_t_s"] + 86400  # 1 d = 86,400 s later


def test_another_clinic_never_sees_a_cached_answer(clinic: Clinic) -> None:
    c = clinic
    _, patient_id, _ = _a_pump(c)
    assert c.get(f"/patients/{patient_id}", "nurse.okafor").status_code == 200  # cached for Riverside's nurse
    assert c.get(f"/api/v1/patients/{patient_id}/chart", "nurse.okafor").status_code == 200
    assert c.get(f"/patients/{patient_id}", "dr.iyer").status_code == 404  # Northgate's physician
    assert c.get(f"/api/v1/patients/{patient_id}/chart", "dr.iyer").status_code == 404


def test_concurrent_writers_both_count(clinic: Clinic) -> None:
    """Two transactions touching the same patient at once: both commit, the counter moves by two (the upsert
    takes the row's lock; the second waits for the first)."""
    c = clinic
    _, patient_id, _ = _a_pump(c)
    before = _counters(c).get(f"p:{patient_id}", 0)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait(timeout=30)
            with c.db.write() as s:
                patient = s.get(Patient, patient_id)
                assert patient is not None
                stamps.touch(s, patient_id=patient.id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert _counters(c)[f"p:{patient_id}"] == before + 2
