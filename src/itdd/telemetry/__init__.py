"""The authenticated telemetry link between the programmers and the implant.

* :mod:`~itdd.telemetry.commands` — the command set (names, roles, handlers), ``Link``, ``DirectLink``;
* :mod:`~itdd.telemetry.keys` — per-pump secret, HKDF-derived role and device keys;
* :mod:`~itdd.telemetry.frames` — byte frames: header, canonical JSON payload, AES-GCM, CRC-32;
* :mod:`~itdd.telemetry.endpoint` — the pump side (:class:`PumpEndpoint`);
* :mod:`~itdd.telemetry.client` — the programmer and therapy-manager side (``Link`` over frames);
* :mod:`~itdd.telemetry.radio` — a virtual radio with range, loss and bit errors.

See docs/telemetry.md.
"""

from .client import (
    BolusResult,
    CallOutcome,
    ClinicianProgrammerLink,
    DeliveryUncertain,
    PatientManagerLink,
    PtmStatus,
    Reconciliation,
    TelemetryLink,
    TelemetryRejected,
)
from .commands import CLINICIAN, COMMANDS, PATIENT, DirectLink, Link, execute
from .endpoint import PumpEndpoint
from .keys import DeviceCredentials, PumpKeys
from .radio import COMMUNICATOR_RANGE_M, Radio

__all__ = [
    "CLINICIAN",
    "COMMANDS",
    "COMMUNICATOR_RANGE_M",
    "PATIENT",
    "BolusResult",
    "CallOutcome",
    "ClinicianProgrammerLink",
    "DeliveryUncertain",
    "DeviceCredentials",
    "DirectLink",
    "Link",
    "PatientManagerLink",
    "PtmStatus",
    "PumpEndpoint",
    "PumpKeys",
    "Radio",
    "Reconciliation",
    "TelemetryLink",
    "TelemetryRejected",
    "execute",
]
