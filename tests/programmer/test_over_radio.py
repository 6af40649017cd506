"""The workflows over the telemetry layer's authenticated, lossy radio link (not only DirectLink)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from itdd.programmer.programming import program
from itdd.programmer.ptm import PatientTherapyManager
from itdd.programmer.refill import RefillRequest, refill
from itdd.programmer.session import CommunicationError, Session
from itdd.pump.firmware import PtmSettings
from itdd.pump.therapy import Therapy
from tests.helpers import DAY, HOUR, T0, make_implant

telemetry: Any = pytest.importorskip("itdd.telemetry.client")
radio_mod: Any = pytest.importorskip("itdd.telemetry.radio")
endpoint_mod: Any = pytest.importorskip("itdd.telemetry.endpoint")
keys_mod: Any = pytest.importorskip("itdd.telemetry.keys")


def _links(imp: Any, loss: float, seed: int) -> tuple[Any, Any]:
    keys = keys_mod.PumpKeys.provision("SIM-0001", seed=seed)
    radio = radio_mod.Radio(endpoint_mod.PumpEndpoint(imp, keys), command_loss=loss, response_loss=loss, seed=seed)
    clinician = telemetry.ClinicianProgrammerLink(radio, keys.issue("clinician", 1))
    patient = telemetry.PatientManagerLink(radio, keys.issue("patient", 2))
    return clinician, patient


@pytest.mark.parametrize("seed", range(8))
def test_workflows_over_a_lossy_radio_apply_each_change_once(seed: int) -> None:
    imp = make_implant(dose_mg_per_day=1.0, ptm=PtmSettings(0.1, 600, 3 * HOUR, 4))
    clinician, patient = _links(imp, 0.4, seed)
    done = {"program": False, "refill": False}
    try:
        program(Session(clinician), Therapy.simple(1.2), clinician="dr-a")
        done["program"] = True
    except CommunicationError:
        pass
    imp.run_until(T0 + 30 * DAY)
    try:
        refill(Session(clinician), RefillRequest(fill_ml=20.0), clinician="dr-a")
        done["refill"] = True
    except CommunicationError:
        pass
    with contextlib.suppress(CommunicationError):
        PatientTherapyManager(patient).request_bolus()
    history = imp.log.history
    assert len([e for e in history if e.type == "therapy_programmed"]) == int(done["program"]) or (
        not done["program"] and len([e for e in history if e.type == "therapy_programmed"]) <= 1
    )
    assert len([e for e in history if e.type == "refill"]) <= 1
    assert len([e for e in history if e.type == "ptm_bolus_granted"]) <= 1
    if done["refill"]:
        assert len([e for e in history if e.type == "refill"]) == 1
