"""The pump's typed status and its pure patient-bolus decision."""

from __future__ import annotations

import pytest

from itdd.pump.ptm import PtmSettings, decide_ptm
from itdd.pump.status import FirmwareStatus, PumpStatus
from itdd.pump.therapy import Therapy
from tests.helpers import DAY, HOUR, T0, make_implant

# The keys the status has always carried (the simulator's output and the telemetry answer).
FIRMWARE_KEYS = {
    "state",
    "drug",
    "concentration_mg_per_ml",
    "therapy",
    "reservoir_estimate_ml",
    "low_reservoir_alarm_ml",
    "rate_ml_per_day",
    "alarms",
    "eri_s",
    "end_of_service_s",
    "ptm",
    "pump_clock_error_s",
}
HARDWARE_KEYS = {
    "model",
    "reservoir_ml",
    "reservoir_capacity_ml",
    "reservoir_drug",
    "reservoir_concentration_mg_per_ml",
    "flow_accuracy",
    "catheter_fault",
    "catheter_length_cm",
    "fluid_path_volume_ml",
    "fluid_path",
    "battery_to_eri",
    "magnetic_field",
}


def test_the_status_is_a_record_with_units_in_its_names() -> None:
    imp = make_implant()  # 20 mL, morphine 10 mg/mL at 1 mg/day = 0.1 mL/day
    imp.run_until(T0 + 10 * DAY)
    st = imp.status()
    assert isinstance(st, PumpStatus) and isinstance(st.firmware, FirmwareStatus)
    assert st.state == "infusing" and st.eri_s is None
    assert st.reservoir_estimate_ml == pytest.approx(19.0)  # 20 - 10 days x 0.1 mL
    assert st.firmware.rate_ml_per_day == pytest.approx(0.1)
    d = st.to_dict()
    assert set(d) == FIRMWARE_KEYS | HARDWARE_KEYS
    assert d["therapy"] == Therapy.simple(1.0).to_dict() and d["model"] == "synchromed-ii-20"
    assert set(imp.interrogate().to_dict()) == FIRMWARE_KEYS


def test_the_status_is_a_snapshot() -> None:
    imp = make_implant(ptm=PtmSettings(0.1, 600.0, HOUR, 4))
    st = imp.status()
    imp.fw.ptm.dose_mg = 0.2  # type: ignore[union-attr]
    assert st.firmware.ptm is not None and st.firmware.ptm.dose_mg == 0.1


def _no_history(a_s: float, b_s: float) -> float:
    return 0.0


P = PtmSettings(dose_mg=0.1, duration_s=600.0, lockout_s=HOUR, max_per_day=4, max_daily_dose_mg=1.5)


@pytest.mark.parametrize(
    ("ptm", "state", "running", "grants", "bolus_end", "reason", "next_allowed"),
    [
        (None, "infusing", True, (), None, "not_enabled", None),
        (P, "stopped", False, (), None, "pump_not_infusing", None),
        # a clinician bolus on a stopped therapy is not infusing
        (P, "clinician_bolus", False, (), None, "pump_not_infusing", None),
        # last grant 30 min ago, lockout 1 h: allowed again at last + 1 h
        (P, "infusing", True, (T0 - 1800,), None, "lockout", T0 - 1800 + HOUR),
        # 4 grants in 24 h, the oldest 20 h ago: allowed again when it is 24 h old
        (
            P,
            "infusing",
            True,
            (T0 - 20 * HOUR, T0 - 15 * HOUR, T0 - 10 * HOUR, T0 - 5 * HOUR),
            None,
            "daily_limit",
            T0 + 4 * HOUR,
        ),
        (P, "infusing", True, (), None, None, T0 + HOUR),
    ],
)
def test_the_patient_bolus_decision_is_a_pure_function_with_its_reason(
    ptm: PtmSettings | None,
    state: str,
    running: bool,
    grants: tuple[float, ...],
    bolus_end: float | None,
    reason: str | None,
    next_allowed: float | None,
) -> None:
    d = decide_ptm(
        ptm,
        t_s=T0,
        state=state,
        therapy_running=running,
        grants=grants,
        running_end_s=bolus_end,
        delivered_mg_between=_no_history,
        planned_basal_mg=_no_history,
    )
    assert d.reason == reason and d.granted == (reason is None)
    assert d.next_allowed_s == next_allowed
    assert d.message


def test_the_24_hour_maximum_counts_the_past_the_basal_and_the_bolus() -> None:
    # 1.3 mg delivered in the past 24 h + 0.05 mg of basal during the bolus + 0.1 mg bolus = 1.45 mg <= 1.5
    def decide(past_mg: float):  # type: ignore[no-untyped-def]
        return decide_ptm(
            P,
            t_s=T0,
            state="infusing",
            therapy_running=True,
            grants=(),
            running_end_s=None,
            delivered_mg_between=lambda a, b: past_mg,
            planned_basal_mg=lambda a, b: 0.05,
        )

    assert decide(1.3).granted
    # 1.4 + 0.05 + 0.1 = 1.55 mg > 1.5 mg: denied
    denied = decide(1.4)
    assert not denied.granted and denied.reason == "max_dose"
