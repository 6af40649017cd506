"""What the clinic does, as transactions: every function here runs inside one ``Database.write()`` unit.

A refill or a programming action changes the twin's state, writes its record (refill, prescription, events,
levels) and the audit entry in the same transaction, so either all of it is stored or none of it.  The pump
row's version column is checked twice: against the version the clinician saw (``expected_version``: they
reviewed a state that is no longer there) and at the UPDATE itself (two transactions racing).

One module per seam: :mod:`.context` (the unit of work, scope checks, the twin in a transaction),
:mod:`.clock`, :mod:`.pumps` (interrogation, programming), :mod:`.refills`, :mod:`.patients` (records and
the patient's own therapy manager); this package exposes them all.
"""

from __future__ import annotations

from .clock import (
    CLINIC_DAY_START_S,
    MAX_ADVANCE_S,
    advance_clinic,
    catch_up_live,
    set_mode,
)
from .context import (
    CLINIC_ROW_LOCK,
    DAY_S,
    Actor,
    Ctx,
    active_pump,
    check_version,
    close_twin,
    get_patient,
    get_pump,
    get_refill,
    open_twin,
    peek_twin,
    pump_snapshot,
    require_clinician,
    run_command,
    user_names,
)
from .patients import (
    add_adverse_event,
    add_appointment,
    add_assessment,
    cancel_appointment,
    ptm_request,
    ptm_status,
)
from .pumps import (
    ProgramRequest,
    interrogate,
    preview_program,
    program,
)
from .refills import (
    RefillRequest,
    VerifyRequest,
    aspirate_reading,
    preview_refill,
    preview_refill_json,
    refill,
    resolve_discrepancy,
    verify_refill,
)

__all__ = [
    "CLINIC_DAY_START_S",
    "CLINIC_ROW_LOCK",
    "DAY_S",
    "MAX_ADVANCE_S",
    "Actor",
    "Ctx",
    "ProgramRequest",
    "RefillRequest",
    "VerifyRequest",
    "active_pump",
    "add_adverse_event",
    "add_appointment",
    "add_assessment",
    "advance_clinic",
    "aspirate_reading",
    "cancel_appointment",
    "catch_up_live",
    "check_version",
    "close_twin",
    "get_patient",
    "get_pump",
    "get_refill",
    "interrogate",
    "open_twin",
    "peek_twin",
    "preview_program",
    "preview_refill",
    "preview_refill_json",
    "program",
    "ptm_request",
    "ptm_status",
    "pump_snapshot",
    "refill",
    "require_clinician",
    "resolve_discrepancy",
    "run_command",
    "set_mode",
    "user_names",
    "verify_refill",
]
