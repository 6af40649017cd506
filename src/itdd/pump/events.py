"""The pump's event and alarm vocabulary: the one home of each event type and its wording.

Every event the pump log accepts (:data:`EVENTS`: type -> label, category, whether the device can
see it, whether it is routine) and every alarm the firmware raises (:data:`ALARMS`: kind -> log
event, severity, the clinic's and the patient's name for it).  The pump log
(:mod:`itdd.pump.log`) takes its list of types from here, the firmware its alarm severities, the
report (:mod:`itdd.report.render`) and the clinic (:mod:`itdd.clinic.views`,
:mod:`itdd.clinic.patient_side.therapy`) their wording.  ``tests/test_facts.py`` checks that no
other module writes an event label of its own.

Severities are the device's (clinical-facts [S]): ``critical`` = 3 s two-tone, ``non-critical`` =
1 s single tone.
"""

from __future__ import annotations

from dataclasses import dataclass

CRITICAL = "critical"
NON_CRITICAL = "non-critical"

# Categories of the report's event log, in the order the page shows them, with their wording.
CATEGORY_LABELS: dict[str, str] = {
    "alarm": "Alarms",
    "refill": "Refills and injections",
    "programming": "Programming and visits",
    "bolus": "Boluses",
    "hidden": "Hidden truth (the pump cannot see)",
    "other": "Other",
}


@dataclass(frozen=True, slots=True)
class EventKind:
    """One event type of the pump log."""

    label: str  # how a clinician reads it ("Low-reservoir alarm")
    category: str  # a key of CATEGORY_LABELS
    device_visible: bool = True  # False: hardware truth only the simulator knows
    routine: bool = False  # routine rows are the first a long log leaves out


@dataclass(frozen=True, slots=True)
class AlarmKind:
    """One alarm the firmware raises: the event it logs, its tone, and how people name it."""

    event: str  # the log event type raised with it
    severity: str  # CRITICAL or NON_CRITICAL
    label: str  # the clinic's name for the active alarm
    patient_label: str  # the patient's name for it (plain words)


EVENTS: dict[str, EventKind] = {
    # firmware events (device log)
    "therapy_programmed": EventKind("Therapy programmed", "programming"),
    "therapy_stopped": EventKind("Therapy stopped", "programming"),
    "therapy_resumed": EventKind("Therapy resumed", "programming"),
    "bolus_started": EventKind("Bolus started", "bolus", routine=True),
    "bolus_completed": EventKind("Bolus completed", "bolus", routine=True),
    "bolus_cancelled": EventKind("Bolus cancelled", "bolus"),
    # a bolus whose time ran out before its dose was given: dose_mg given, reason
    "bolus_ended_short": EventKind("Bolus ended short", "bolus"),
    "ptm_bolus_granted": EventKind("Patient bolus granted", "bolus", routine=True),
    "ptm_bolus_denied": EventKind("Patient bolus denied", "bolus", routine=True),
    "low_reservoir_alarm": EventKind("Low-reservoir alarm", "alarm"),
    "reservoir_empty_alarm": EventKind("Reservoir-empty alarm", "alarm"),
    "alarm_cleared": EventKind("Alarm cleared", "alarm"),
    "motor_stall": EventKind("Motor stall", "alarm"),
    "motor_stall_recovery": EventKind("Motor stall recovery", "alarm"),
    "eri_alarm": EventKind("Battery ERI alarm", "alarm"),
    "end_of_service": EventKind("End of service: pump stopped", "alarm"),
    "refill": EventKind("Refill", "refill"),
    "interrogation": EventKind("Interrogation", "programming"),
    "clock_set": EventKind("Pump clock set", "programming"),
    "telemetry_rejected": EventKind("Telemetry rejected", "other"),
    # a telemetry command applied once: command, command_id, role, device_id
    "command_applied": EventKind("Command applied", "other"),
    "catheter_access_port_injection": EventKind("Catheter access port injection", "refill"),
    # hardware truth (simulator only; the device cannot see these)
    "catheter_fault": EventKind("Catheter fault", "other", device_visible=False),
    "catheter_revision": EventKind("Catheter revision", "other", device_visible=False),
    "magnetic_field_on": EventKind("MRI magnetic field on", "other", device_visible=False),
    "magnetic_field_off": EventKind("MRI magnetic field off", "other", device_visible=False),
    "reservoir_depleted": EventKind("Reservoir actually empty", "other", device_visible=False),
}

ALARMS: dict[str, AlarmKind] = {
    "low_reservoir": AlarmKind("low_reservoir_alarm", NON_CRITICAL, "Low reservoir", "Low reservoir"),
    "reservoir_empty": AlarmKind("reservoir_empty_alarm", CRITICAL, "Reservoir empty", "Reservoir empty"),
    "eri": AlarmKind(
        "eri_alarm", NON_CRITICAL, "Elective replacement indicator (ERI)", "Battery replacement due (ERI)"
    ),
    "end_of_service": AlarmKind("end_of_service", CRITICAL, "End of service", "Pump stopped (end of service)"),
    "motor_stall": AlarmKind("motor_stall", CRITICAL, "Motor stall", "Motor stalled"),
}

EVENT_TYPES: frozenset[str] = frozenset(EVENTS)
DEVICE_INVISIBLE: frozenset[str] = frozenset(t for t, k in EVENTS.items() if not k.device_visible)
ALARM_EVENTS: frozenset[str] = frozenset(a.event for a in ALARMS.values())
CRITICAL_ALARM_EVENTS: frozenset[str] = frozenset(a.event for a in ALARMS.values() if a.severity == CRITICAL)
ROUTINE_EVENTS: frozenset[str] = frozenset(t for t, k in EVENTS.items() if k.routine)


def event_label(event_type: str) -> str:
    """The wording of an event type (an unknown type reads as its words, capitalised)."""
    kind = EVENTS.get(event_type)
    return kind.label if kind is not None else event_type.replace("_", " ").capitalize()


def alarm_level(event_type: str) -> str:
    """``critical``, ``warning`` (a non-critical alarm) or ``""`` (not an alarm event)."""
    if event_type in CRITICAL_ALARM_EVENTS:
        return "critical"
    return "warning" if event_type in ALARM_EVENTS else ""


__all__ = [
    "ALARMS",
    "ALARM_EVENTS",
    "CATEGORY_LABELS",
    "CRITICAL",
    "CRITICAL_ALARM_EVENTS",
    "DEVICE_INVISIBLE",
    "EVENTS",
    "EVENT_TYPES",
    "NON_CRITICAL",
    "ROUTINE_EVENTS",
    "AlarmKind",
    "EventKind",
    "alarm_level",
    "event_label",
]
