"""The server-rendered pages: forms post back through the same transactions as the API."""

from __future__ import annotations

import re

from sqlalchemy import select

from itdd.clinic.models import Patient, Pump, Refill

from .conftest import Clinic


def ids(c: Clinic, mrn: str) -> tuple[int, int, int]:
    with c.db.read() as s:
        p = s.scalar(select(Patient).where(Patient.mrn == mrn))
        assert p is not None
        pump = s.scalar(select(Pump).where(Pump.patient_id == p.id))
        assert pump is not None
        return p.id, pump.id, pump.version


def test_every_page_says_it_is_not_a_medical_device(sqlite_clinic: Clinic) -> None:
    c, _ = sqlite_clinic.browser("dr.ellis")
    pid, pump_id, _v = ids(sqlite_clinic, "P-1001")
    for path in (
        "/",
        "/patients",
        f"/patients/{pid}",
        f"/pumps/{pump_id}/refill",
        f"/pumps/{pump_id}/program",
        "/audit",
    ):
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert "not a medical device" in r.text, path
    p, _ = sqlite_clinic.browser("linda.park")
    assert "not a medical device" in p.get("/my").text
    assert "not a medical device" in sqlite_clinic.client.get("/login").text


def test_refill_through_the_form(sqlite_clinic: Clinic) -> None:
    c, csrf = sqlite_clinic.browser("nurse.okafor")
    pid, pump_id, version = ids(sqlite_clinic, "P-1001")
    page = c.get(f"/pumps/{pump_id}/refill").text
    assert "3.00 mL" in page  # what the pump expects
    base = {"csrf_token": csrf, "version": str(version)}
    check = c.post(f"/pumps/{pump_id}/refill", data={**base, "withdrawn": "1.8 mL", "step": "check"})
    assert check.status_code == 200
    assert "-1.20 mL" in check.text and "flagged" in check.text
    assert "over-infusion" in check.text
    bad = c.post(f"/pumps/{pump_id}/refill", data={**base, "withdrawn": "1.8", "step": "check"})
    assert bad.status_code == 422 and "withdrawn" in bad.text and "unit" in bad.text
    review = c.post(
        f"/pumps/{pump_id}/refill",
        data={**base, "withdrawn": "1.8 mL", "fill": "20 mL", "concentration": "10 mg/mL", "step": "review"},
    )
    assert review.status_code == 200 and 'data-testid="record-refill"' in review.text
    # the partial answer (what the page script asks for) is only the panel
    part = c.post(
        f"/pumps/{pump_id}/refill",
        headers={"X-Partial": "1"},
        data={**base, "withdrawn": "1.8 mL", "fill": "20 mL", "step": "review"},
    )
    assert part.status_code == 200 and "<html" not in part.text and "record-refill" in part.text
    done = c.post(
        f"/pumps/{pump_id}/refill",
        data={**base, "withdrawn": "1.8 mL", "fill": "20 mL", "concentration": "10 mg/mL", "step": "apply"},
    )
    assert done.status_code == 303 and done.headers["location"].startswith(f"/patients/{pid}?ok=refill")
    with sqlite_clinic.db.read() as s:
        r = s.scalar(select(Refill).where(Refill.pump_id == pump_id).order_by(Refill.id.desc()))
        assert r is not None and r.withdrawn_ml == 1.8 and r.discrepancy_flag
    # the same form again is a stale version: a conflict, and the entries are still on the page
    again = c.post(f"/pumps/{pump_id}/refill", data={**base, "withdrawn": "1.8 mL", "fill": "20 mL", "step": "apply"})
    assert again.status_code == 409 and 'value="1.8 mL"' in again.text


def test_programming_page_review_confirm_apply(sqlite_clinic: Clinic) -> None:
    pid, pump_id, version = ids(sqlite_clinic, "P-1001")
    nurse, ncsrf = sqlite_clinic.browser("nurse.okafor")
    form = {
        "version": str(version),
        "mode": "simple_continuous",
        "dose": "3.5 mg/day",
        "ptm_mode": "keep",
        "low_reservoir_alarm": "4 mL",
    }
    review = nurse.post(f"/pumps/{pump_id}/program", data={**form, "csrf_token": ncsrf, "action": "review"})
    assert review.status_code == 200
    assert "Soft limit" in review.text and "2.5 mg/day" in review.text and "3.5 mg/day" in review.text
    assert 'data-testid="apply-program"' not in review.text  # a nurse reviews; a physician programs
    refused = nurse.post(f"/pumps/{pump_id}/program", data={**form, "csrf_token": ncsrf, "action": "apply"})
    assert refused.status_code == 403 and "physician" in refused.text

    doc, csrf = sqlite_clinic.browser("dr.ellis")
    unconfirmed = doc.post(f"/pumps/{pump_id}/program", data={**form, "csrf_token": csrf, "action": "apply"})
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.text
    assert 'value="3.5 mg/day"' in unconfirmed.text  # nothing the physician typed is lost
    field = re.search(r'name="confirm_([^"]+)"', review.text)
    assert field is not None
    ok = doc.post(
        f"/pumps/{pump_id}/program",
        data={
            **form,
            "csrf_token": csrf,
            "action": "apply",
            f"confirm_{field.group(1)}": "yes",
            f"reason_{field.group(1)}": "pain 7/10 on 2.5 mg/day",
        },
    )
    assert ok.status_code == 303, ok.text[:500]
    page = doc.get(f"/patients/{pid}").text
    assert "soft limit confirmed" in page and "pain 7/10 on 2.5 mg/day" in page
    hard = doc.post(
        f"/pumps/{pump_id}/program",
        data={**form, "version": str(version + 1), "dose": "40 mg/day", "csrf_token": csrf, "action": "review"},
    )
    assert "Refused (hard limit)" in hard.text and 'data-testid="apply-program"' not in hard.text


def test_patient_page_and_bolus_form(sqlite_clinic: Clinic) -> None:
    p, csrf = sqlite_clinic.browser("linda.park")
    home = p.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/my"
    page = p.get("/my").text
    assert 'data-testid="boluses-left">3<' in page
    r = p.post("/my/bolus", data={"csrf_token": csrf})
    assert r.status_code == 200 and "No bolus now" in r.text and "Too soon" in r.text
    assert p.get("/patients").status_code == 403


def test_another_clinics_patient_page_does_not_exist(sqlite_clinic: Clinic) -> None:
    c, _ = sqlite_clinic.browser("dr.iyer")
    pid, pump_id, _v = ids(sqlite_clinic, "P-1001")
    for path in (f"/patients/{pid}", f"/pumps/{pump_id}/refill", f"/pumps/{pump_id}/program"):
        r = c.get(path)
        assert r.status_code == 404 and "Margaret" not in r.text


def test_verify_through_the_form(sqlite_clinic: Clinic) -> None:
    pid, pump_id, _v = ids(sqlite_clinic, "P-1011")  # Samuel Ortiz: yesterday's refill awaits its check
    with sqlite_clinic.db.read() as s:
        r = s.scalar(select(Refill).where(Refill.pump_id == pump_id, Refill.verified_by_id.is_(None)))
        assert r is not None
        rid = r.id
    c, csrf = sqlite_clinic.browser("nurse.berg")
    entries = {"drug": "bupivacaine", "concentration": "20 mg/mL", "fill": "38 mL", "reservoir_volume": "38 mL"}
    bad = c.post(f"/refills/{rid}/verify", data={**entries, "fill": "40 mL", "csrf_token": csrf})
    assert bad.status_code == 422 and "does not match" in bad.text
    ok = c.post(f"/refills/{rid}/verify", data={**entries, "csrf_token": csrf})
    assert ok.status_code == 303
    assert "verified by Ingrid Berg" in c.get(f"/patients/{pid}").text
