"""locust workload for the clinic (driven by bench/clinic_load.py; loopback only).

The mix is the clinic day of ``bench/clinic_load.py`` since issue 6, unchanged so that numbers compare:

====  =====================================================================
 40   dashboard (JSON API)
 20   a patient page (HTML: charts, model forecast, records)
 15   90 days of chart data (JSON API)
 10   a refill preview on a copy of the twin (POST, changes nothing)
 10   a patient bolus request (POST, a write: the pump decides)
  5   an interrogation by a nurse (POST, a write)
====  =====================================================================

Every simulated user runs closed-loop with no think time (each waits for its answer, then sends the next
request), so N users are N requests in flight: the server's capacity, not a user's pace, is measured.
Users log in once for the whole run (``test_start``): the password hash (Argon2id) is deliberately slow and
is not what this measures.  Patients and pumps are read from the API, every page of it, so the targets
spread over the whole clinic network when it was seeded large (``itdd clinic seed``).
"""

from __future__ import annotations

import random
from typing import Any

import httpx
from locust import FastHttpUser, constant, events, task

PASSWORD = "itdd-demo"  # the demo clinic's password (README)
SHARED: dict[str, Any] = {}


@events.test_start.add_listener
def _login(environment: Any, **_kw: Any) -> None:
    base = environment.host
    with httpx.Client(base_url=base, timeout=60) as c:

        def token(user: str) -> dict[str, str]:
            r = c.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['token']}"}

        nurse, patient = token("nurse.okafor"), token("linda.park")
        patients: list[dict[str, Any]] = []
        offset = 0
        while True:  # every page (older servers answer everything at once and ignore the parameters)
            r = c.get("/api/v1/patients", headers=nurse, params={"limit": 500, "offset": offset})
            r.raise_for_status()
            page = r.json()
            patients.extend(page)
            if len(page) < 500 or "x-total-count" not in r.headers:
                break
            offset += 500
    SHARED.update(nurse=nurse, patient=patient, with_pump=[p for p in patients if p["pump"]])


class ClinicDay(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = random.Random(id(self))

    def _target(self) -> dict[str, Any]:
        return dict(self.rng.choice(SHARED["with_pump"]))

    @task(40)
    def dashboard(self) -> None:
        self.client.get("/api/v1/dashboard", headers=SHARED["nurse"], name="dashboard")

    @task(20)
    def patient_page(self) -> None:
        p = self._target()
        self.client.get(f"/patients/{p['patient_id']}", headers=SHARED["nurse"], name="patient_page")

    @task(15)
    def chart(self) -> None:
        p = self._target()
        self.client.get(f"/api/v1/patients/{p['patient_id']}/chart?days=90", headers=SHARED["nurse"], name="chart")

    @task(10)
    def refill_preview(self) -> None:
        pump = self._target()["pump"]
        body = {"version": pump["version"], "withdrawn": "2 mL", "fill": "18 mL"}
        self.client.post(
            f"/api/v1/pumps/{pump['pump_id']}/refill/preview", headers=SHARED["nurse"], json=body, name="refill_preview"
        )

    @task(10)
    def patient_bolus(self) -> None:
        self.client.post("/api/v1/my/bolus", headers=SHARED["patient"], name="patient_bolus")

    @task(5)
    def interrogate(self) -> None:
        pump = self._target()["pump"]
        self.client.post(f"/api/v1/pumps/{pump['pump_id']}/interrogate", headers=SHARED["nurse"], name="interrogate")
