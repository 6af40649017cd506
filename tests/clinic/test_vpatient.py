"""The clinic's patients as virtual patients: they move with their pumps, feel what the pump delivers, and
survive a schema upgrade.

Expectations are derived, not copied: the direction of pain after a catheter occlusion (no drug reaches the
spinal fluid, so analgesia can only fall), hand arithmetic of what a pump delivers in a day, the steady-state
property (a patient at steady state on a constant rate stays there), and the equality of the patient's
instant with its pump's.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from itdd.clinic import twin, vpatient, workflows
from itdd.clinic.db import Database, upgrade
from itdd.clinic.models import Patient, PatientModelSample, Pump, VirtualPatient
from itdd.clinic.seed import DEMO_NOW
from itdd.patient import PatientSim
from itdd.pump import persist
from itdd.pump.implant import Implant
from itdd.pump.models import get_model
from itdd.pump.therapy import Therapy

from .conftest import Clinic
from .test_migrations import empty_db  # noqa: F401 (fixture: an empty database on SQLite and PostgreSQL)

DAY = 86400.0
_n = itertools.count()


def model_of(c: Clinic, mrn: str) -> tuple[VirtualPatient, Pump]:
    with c.db.read() as s:
        pid = s.scalar(select(Patient.id).where(Patient.mrn == mrn))
        vp = s.scalar(select(VirtualPatient).where(VirtualPatient.patient_id == pid))
        pump = s.scalar(select(Pump).where(Pump.patient_id == pid, Pump.active.is_(True)))
        assert vp is not None and pump is not None
        s.expunge_all()
        return vp, pump


def pain_now(c: Clinic, mrn: str) -> float:
    vp, _ = model_of(c, mrn)
    return vpatient.observe(PatientSim.from_dict(vp.state)).pain


def test_every_demo_pump_patient_is_in_step_with_the_pump(clinic: Clinic) -> None:
    with clinic.db.read() as s:
        pumps = list(s.scalars(select(Pump).where(Pump.active.is_(True))))
        for pump in pumps:
            vp = s.scalar(select(VirtualPatient).where(VirtualPatient.patient_id == pump.patient_id))
            assert vp is not None, pump.serial
            assert vp.t_s == pump.t_s == DEMO_NOW
            assert PatientSim.from_dict(vp.state).t_s == DEMO_NOW
        # the demo patient without a pump has no model
        brandt = s.scalar(select(Patient.id).where(Patient.mrn == "P-1012"))
        assert s.scalar(select(VirtualPatient).where(VirtualPatient.patient_id == brandt)) is None


def test_occlusion_returns_pain_the_patient_feels(clinic: Clinic) -> None:
    """Daniel Reyes' catheter occluded 21 days ago: since then no hydromorphone reached him, so the model's pain
    must be higher now than before the fault, and it showed withdrawal in between."""
    with clinic.db.read() as s:
        pid = s.scalar(select(Patient.id).where(Patient.mrn == "P-1003"))
        rows = list(s.scalars(select(PatientModelSample).where(PatientModelSample.patient_id == pid).order_by("t_s")))
        s.expunge_all()
    fault = DEMO_NOW - 21 * DAY
    before = [r for r in rows if fault - 7 * DAY <= r.t_s < fault]
    after = [r for r in rows if r.t_s > fault + 2 * DAY]
    assert before and after
    assert min(r.pain for r in after) > max(r.pain for r in before) + 2.0
    assert max(r.withdrawal for r in rows if fault < r.t_s < fault + 3 * DAY) > 0.0
    assert max(r.withdrawal for r in before) == 0.0
    # and the dashboard lists him among the patients getting worse
    d = clinic.get("/api/v1/dashboard", "nurse.okafor").json()
    names = [w["patient_name"] for w in d["worsening"]]
    assert "Daniel Reyes" in names
    sev = [w["severity"] for w in d["worsening"]]
    assert sev == sorted(sev, reverse=True)


def test_advancing_the_clock_moves_the_patient_and_a_new_kink_hurts(clinic: Clinic) -> None:
    """Robert Chen is stable on morphine.  Occlude his catheter now and advance 2 days: the patient moved with the
    clock, received (almost) nothing, and hurts more than before."""
    vp0, pump = model_of(clinic, "P-1005")
    p0 = pain_now(clinic, "P-1005")
    delivered0 = PatientSim.from_dict(vp0.state).delivered_csf_mg.get("morphine", 0.0)
    with clinic.db.write() as s:
        row = s.get(Pump, pump.id)
        assert row is not None
        implant = twin.load(row)
        implant.catheter_fault("occlusion")
        twin.save(s, row, implant, workflows.refill_dates(implant, row.last_fill_t_s))
    r = clinic.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "2d"})
    assert r.status_code == 200, r.text
    vp1, pump1 = model_of(clinic, "P-1005")
    assert vp1.t_s == pump1.t_s == DEMO_NOW + 2 * DAY
    sim = PatientSim.from_dict(vp1.state)
    # an occluded catheter lets nothing out: at most what was already past the blockage (plug flow)
    assert sim.delivered_csf_mg.get("morphine", 0.0) - delivered0 < 0.05 * 3.4375 * 2
    assert vpatient.observe(sim).pain > p0 + 1.0


def test_a_granted_patient_bolus_reaches_the_patient(clinic: Clinic) -> None:
    """Linda Park: 2 mg/day continuous plus one granted 0.2 mg bolus.  Over the next day the model receives what
    the pump's record says reached the spinal fluid: 2.0 + 0.2 mg (uniform concentration: what the pump pushes in,
    the catheter tip lets out)."""
    r = clinic.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "3h"})  # past the lockout
    assert r.status_code == 200, r.text
    vp0, _ = model_of(clinic, "P-1008")
    d0 = PatientSim.from_dict(vp0.state).delivered_csf_mg["morphine"]
    r = clinic.post("/api/v1/my/bolus", "linda.park")
    assert r.status_code == 200 and r.json()["granted"], r.text
    r = clinic.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "1d"})
    assert r.status_code == 200, r.text
    vp1, _ = model_of(clinic, "P-1008")
    d1 = PatientSim.from_dict(vp1.state).delivered_csf_mg["morphine"]
    assert d1 - d0 == pytest.approx(2.0 + 0.2, rel=1e-6)


def test_running_out_of_drug_shows_withdrawal_on_the_dashboard(clinic: Clinic) -> None:
    """Margaret Holt's reservoir really holds 1.81 mL at 0.2675 mL/day (2.5 mg/day at 10 mg/mL, 7 % fast): empty
    in under 7 days.  Ten days on, she has been without morphine for days: withdrawal and pain up."""
    p0 = pain_now(clinic, "P-1001")
    r = clinic.post("/api/v1/clinic/advance", "nurse.okafor", json={"by": "10d"})
    assert r.status_code == 200, r.text
    vp, _ = model_of(clinic, "P-1001")
    o = vpatient.observe(PatientSim.from_dict(vp.state))
    assert o.pain > p0 + 2.0
    d = clinic.get("/api/v1/dashboard", "nurse.okafor").json()
    holt = [w for w in d["worsening"] if w["patient_name"] == "Margaret Holt"]
    assert holt, d["worsening"]


def test_model_prefill_is_reproducible_and_assessment_sets_oral_intake(clinic: Clinic) -> None:
    with clinic.db.read() as s:
        pid = s.scalar(select(Patient.id).where(Patient.mrn == "P-1003"))
    a = clinic.get(f"/api/v1/patients/{pid}/model", "nurse.okafor").json()["model"]
    b = clinic.get(f"/api/v1/patients/{pid}/model", "dr.ellis").json()["model"]
    assert a == b
    assert 0 <= a["reported_pain_nrs"] <= 10
    assert a["observation"]["t_s"] == DEMO_NOW
    assert a["oral_mme_mg_per_day"] == pytest.approx(70.0)  # the story's last recorded oral use: 20 + 20 * 2.5
    _, pump0 = model_of(clinic, "P-1003")
    r = clinic.post(
        f"/api/v1/patients/{pid}/assessments",
        "nurse.okafor",
        json={"pain_nrs": a["reported_pain_nrs"], "function_score": 40, "oral_opioid": "90 mg/day"},
    )
    assert r.status_code == 201, r.text
    vp, pump1 = model_of(clinic, "P-1003")
    assert PatientSim.from_dict(vp.state).oral_mme_per_day == 90.0
    assert pump1.version == pump0.version  # an assessment leaves the pump alone (no programming review goes stale)
    # the patient page prefills the form with the model's answer (training mode shows the model)
    page = clinic.client.get(f"/patients/{pid}", headers=clinic.h("nurse.okafor"))
    assert page.status_code == 200
    assert 'data-testid="virtual-patient"' in page.text and 'data-testid="prefill-pain"' in page.text


def test_demo_next_refill_is_never_after_end_of_service(clinic: Clinic) -> None:
    """A refill after the pump has stopped is meaningless: every demo pump is refilled before end of service
    (ERI + 90 days, clinical-facts)."""
    with clinic.db.read() as s:
        for pump in s.scalars(select(Pump).where(Pump.active.is_(True))):
            eri = pump.eri_t_s if pump.eri_t_s is not None else pump.projected_eri_t_s
            if eri is None or pump.next_refill_t_s is None:
                continue
            eos = eri + get_model(pump.model).eri_to_eos_days * DAY
            assert pump.next_refill_t_s <= eos, pump.serial


def test_forecast_if_nothing_is_done_shows_baclofen_withdrawal(clinic: Clinic) -> None:
    """George Whitfield (baclofen, ERI in 45 days, end of service 90 days later): the forecast runs past end of
    service.  Until the next refill is due the pump still delivers, so no withdrawal; without a refill the
    reservoir runs dry and the model goes into baclofen withdrawal, its spasticity back.  A forecast stores
    nothing."""
    with clinic.db.read() as s:
        pid = s.scalar(select(Patient.id).where(Patient.mrn == "P-1002"))
        due = s.scalar(select(Pump.next_refill_t_s).where(Pump.patient_id == pid))
        n0 = s.scalar(select(func.count()).select_from(PatientModelSample))
    series = clinic.get(f"/api/v1/patients/{pid}/chart?forecast=true", "nurse.okafor").json()
    cols = series["forecast"]
    fc = [dict(zip(cols, row, strict=True)) for row in zip(*cols.values(), strict=True)]
    eos = DEMO_NOW + (45 + 90) * DAY
    assert fc and series["forecast_end_t_s"] >= eos
    assert max(f["withdrawal"] for f in fc if f["t_s"] < due) == 0.0
    assert max(f["withdrawal"] for f in fc if f["t_s"] > due) > vpatient.WITHDRAWAL_ALERT
    assert fc[-1]["spasticity"] > fc[0]["spasticity"]  # without baclofen the spasticity comes back
    with clinic.db.read() as s:
        assert s.scalar(select(func.count()).select_from(PatientModelSample)) == n0


# ---- migration: existing rows get a virtual patient ----------------------------------------------


def test_upgrade_from_0001_gives_existing_patients_a_model(empty_db: Database) -> None:  # noqa: F811
    upgrade(empty_db.engine, "0001")
    t0 = 1_772_000_000.0
    implant = Implant(
        get_model("synchromed-ii-20"),
        t_s=t0,
        offset_s=3600,
        drug="morphine",
        conc_mg_per_ml=10.0,
        fill_ml=20.0,
        low_reservoir_ml=2.0,
        therapy=Therapy.simple(3.0),
    )
    state = twin.clean(persist.dump(implant, include_history=False))
    with empty_db.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO clinics (id, name, mode, clock_t_s, utc_offset_s, version, created_wall_s) "
                "VALUES (1, 'C', 'training', :t, 3600, 1, 0)"
            ),
            {"t": t0},
        )
        for pid, ind in ((7, "Failed back surgery syndrome"), (8, "Spasticity, MS")):
            c.execute(
                text(
                    "INSERT INTO patients (id, clinic_id, mrn, name, birth_year, sex, indication, stage, notes, "
                    "created_wall_s) VALUES (:id, 1, :mrn, 'X', 1960, 'F', :ind, 's', '', 0)"
                ),
                {"id": pid, "mrn": f"M{pid}", "ind": ind},
            )
        c.execute(
            text(
                "INSERT INTO pumps (id, clinic_id, patient_id, model, serial, implant_t_s, catheter_tip_level, "
                "catheter_length_cm, catheter_volume_ml, active, state, t_s, log_seq, version, status, drug, "
                "conc_mg_per_ml, daily_dose_mg, estimate_ml, low_reservoir_ml, battery_to_eri, last_fill_t_s, "
                "next_refill_reason, alarms) VALUES (1, 1, 7, 'synchromed-ii-20', 'S1', :t, 'T10', 50, 0.1, :yes, "
                ":state, :t, 0, 1, 'infusing', 'morphine', 10, 3.0, 20, 2, 1, :t, '', '[]')"
            ),
            {"t": t0, "state": __import__("json").dumps(state), "yes": True},
        )
        c.execute(
            text(
                "INSERT INTO assessments (patient_id, t_s, pain_nrs, function_score, oral_opioid_mme_mg_per_day, "
                "notes) VALUES (7, :t, 4, 60, 25.0, '')"
            ),
            {"t": t0 - DAY},
        )
    upgrade(empty_db.engine)
    with empty_db.read() as s:
        vps = list(s.scalars(select(VirtualPatient)))
        assert [v.patient_id for v in vps] == [7]  # patient 8 has no pump: no model
        vp = vps[0]
        assert vp.t_s == t0
        sim = PatientSim.from_dict(vp.state)
        assert sim.params == vpatient.default_params(7, "pain")
        assert sim.oral_mme_per_day == 25.0  # the last recorded oral opioids
        assert s.scalar(select(func.count()).select_from(PatientModelSample)) == 1
    # at steady state on 3 mg/day: a day more of the same changes nothing (an independent property)
    o0 = sim.observe(activity=1.0)
    sim.advance(t0 + DAY, csf_mg_per_day=3.0, drug="morphine")
    o1 = sim.observe(activity=1.0)
    assert o1.pain == pytest.approx(o0.pain, abs=1e-6)
    assert o1.resp_rate_per_min == pytest.approx(o0.resp_rate_per_min, abs=1e-6)


def test_downgrade_to_0001_drops_the_model_tables(empty_db: Database, tmp_path: Path) -> None:  # noqa: F811
    from sqlalchemy import inspect

    from itdd.clinic.db import downgrade

    upgrade(empty_db.engine)
    downgrade(empty_db.engine, "0001")
    names = set(inspect(empty_db.engine).get_table_names())
    assert "virtual_patients" not in names and "patient_model_samples" not in names and "pumps" in names


def test_chart_thinning_keeps_the_extremes() -> None:
    """A chart draws at most two points per two pixels, but a one-sample spike (a withdrawal peak) survives."""
    from itdd.clinic import charts

    f = charts._Frame(0.0, 180 * DAY, 0.0, 10.0, charts.SMALL_W, charts.SMALL_H)
    pts = [(i * 3 * 3600.0, 1.0) for i in range(1441)]
    pts[700] = (pts[700][0], 9.5)
    thin = charts._thin(f, pts)
    assert len(thin) <= charts.SMALL_W
    assert max(v for _, v in thin) == 9.5 and min(v for _, v in thin) == 1.0
    assert [t for t, _ in thin] == sorted(t for t, _ in thin)


def test_live_mode_the_model_follows_the_wall_clock(clinic: Clinic) -> None:
    """In live mode the patient page's model is at the wall clock (in memory) before anything is stored, and the
    dashboard's catch-up stores pump and patient together; the dashboard panel is a training-mode view."""
    assert clinic.post("/api/v1/clinic/mode", "dr.ellis", json={"mode": "live"}).status_code == 200
    clinic.wall.advance(6 * 3600.0)
    with clinic.db.read() as s:
        pid = s.scalar(select(Patient.id).where(Patient.mrn == "P-1005"))
    m = clinic.get(f"/api/v1/patients/{pid}/model", "dr.ellis").json()["model"]
    assert m["t_s"] == DEMO_NOW + 6 * 3600.0
    d = clinic.get("/api/v1/dashboard", "dr.ellis").json()
    assert d["worsening"] == []  # not shown in live mode: the clinic sees only what it was told
    vp, pump = model_of(clinic, "P-1005")
    assert vp.t_s == pump.t_s == DEMO_NOW + 6 * 3600.0
