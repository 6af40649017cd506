"""The programmer's and the therapy manager's side of the link: ``Link.call`` over authenticated frames.

:class:`ClinicianProgrammerLink` and :class:`PatientManagerLink` implement the same
``call(command, args) -> dict`` as :class:`~itdd.telemetry.commands.DirectLink`, so every workflow
runs unchanged over the radio.  Each call:

1. gets a command id (the frame counter of its first attempt);
2. sends the command in a sealed frame and waits for the answer; a lost, corrupted, forged or
   mismatched answer is ignored and the command is sent again **with the same command id** and a
   new frame counter (at most ``max_attempts`` frames);
3. returns the result, or raises the pump's refusal (``InputError`` / ``SafetyRefusal``, as with
   ``DirectLink``), or — when no valid answer ever came — raises :class:`DeliveryUncertain`: the
   command may or may not have been applied.

Because the pump applies a command id at most once, retrying is safe (no double bolus).  After an
uncertain outcome, :meth:`TelemetryLink.reconcile` asks the pump (when it is reachable again)
whether that command id was applied, from its event log and its memory of recent commands.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import InputError, ItddError, SafetyRefusal
from .commands import CLINICIAN, COMMANDS, PATIENT
from .frames import (
    COMMAND,
    MAX_COMMAND_CIPHERTEXT,
    MAX_RESPONSE_CIPHERTEXT,
    RESPONSE,
    TAG_LEN,
    VERSION,
    FrameError,
    Header,
    canonical_json,
    open_payload,
    parse_header,
    parse_json,
    seal,
)
from .keys import DeviceCredentials
from .radio import Channel

# Frames sent per command before the outcome is declared uncertain (assumption: the first try
# plus three retries, as a handheld programmer would before telling the user).
DEFAULT_MAX_ATTEMPTS = 4
MAX_COMMAND_NAME = 64

CONFIRMED = "confirmed"  # the pump answered: applied (or read) with this result
REFUSED = "refused"  # the pump answered: refused, nothing changed
UNCERTAIN = "uncertain"  # no valid answer: it may or may not have been applied


class DeliveryUncertain(ItddError):
    """No answer came back: the command may or may not have been applied. Reconcile before retrying."""

    def __init__(self, outcome: CallOutcome, serial: str) -> None:
        if is_read_only(outcome.command):
            what = "it is a read, so nothing changed: try again when the pump is in range"
        else:
            what = (
                f"it may or may not have been applied; reconcile command {outcome.command_id} "
                "when the pump is in range before sending it again"
            )
        super().__init__(
            "telemetry",
            f"no answer from pump {serial} after {outcome.attempts} attempts to send {outcome.command!r} "
            f"(command id {outcome.command_id}): {what}",
        )
        self.outcome = outcome
        self.command_id = outcome.command_id
        self.command = outcome.command


class TelemetryRejected(InputError):
    """The pump's telemetry layer refused an authenticated frame (role, command id...); nothing changed."""

    def __init__(self, field: str, message: str, reason: str) -> None:
        super().__init__(field, message)
        self.reason = reason


@dataclass
class CallOutcome:
    command: str
    command_id: int
    status: str  # confirmed | refused | uncertain
    attempts: int
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    args: dict[str, Any] | None = None  # kept for an uncertain outcome, so that it can be retried

    @property
    def certain(self) -> bool:
        return self.status != UNCERTAIN

    def raise_error(self) -> None:
        """Raise the pump's refusal as the same exception ``DirectLink`` would raise."""
        e = self.error or {}
        field_, message = str(e.get("field", "")), str(e.get("message", ""))
        kind = e.get("type")
        if kind == "SafetyRefusal":
            raise SafetyRefusal(field_, message, str(e.get("rule") or ""))
        if kind == "TelemetryRejected":
            raise TelemetryRejected(field_, message, str(e.get("reason") or ""))
        raise InputError(field_, message)


@dataclass
class Reconciliation:
    """What the pump says about one command id, learned after an uncertain outcome."""

    command_id: int
    status: str  # applied | refused | not_applied | read_only | unknown | unreachable
    command: str | None = None
    result: dict[str, Any] | None = None  # the answer the pump gave (when it still remembers it)
    error: dict[str, Any] | None = None
    log_entry: dict[str, Any] | None = None  # the pump's command_applied log entry

    @property
    def applied(self) -> bool | None:
        """True / False when known; None when the pump is unreachable or has forgotten."""
        if self.status == "applied":
            return True
        if self.status in ("refused", "not_applied", "read_only"):
            return False
        return None


def is_read_only(command: str) -> bool:
    """A command that changes nothing on the pump (its outcome never needs reconciling)."""
    if command in COMMANDS:
        return not COMMANDS[command].changes_state
    return command == "command_status"


def _check_call(command: Any, args: Any) -> bytes:
    if not isinstance(command, str) or not 0 < len(command) <= MAX_COMMAND_NAME:
        raise InputError("command", f"{command!r} is not a command name")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InputError(f"{command}.args", "arguments must be a mapping of names to values")
    try:
        payload = canonical_json({"command": command, "args": args})
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"{command}.args", f"arguments cannot be sent ({exc})") from None
    if len(payload) + TAG_LEN > MAX_COMMAND_CIPHERTEXT:
        raise InputError(
            f"{command}.args", f"{len(payload)} bytes of arguments, above the frame limit {MAX_COMMAND_CIPHERTEXT}"
        )
    return payload


class TelemetryLink:
    """A ``Link`` over sealed frames, for one device (role + device id) talking to one pump."""

    role: str = ""

    def __init__(
        self, channel: Channel, credentials: DeviceCredentials, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> None:
        if self.role and credentials.role != self.role:
            raise InputError("credentials.role", f"{type(self).__name__} needs {self.role} credentials")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InputError("max_attempts", f"{max_attempts!r} must be a whole number of at least 1")
        self.channel = channel
        self.credentials = credentials
        self.max_attempts = max_attempts
        self._aead = AESGCM(credentials.key)
        self.uncertain: dict[int, CallOutcome] = {}  # commands whose outcome is not known yet
        self.stats: Counter[str] = Counter()

    @property
    def serial(self) -> str:
        return self.credentials.serial

    # ---- one command --------------------------------------------------------------------------------
    def send(self, command: str, args: dict[str, Any] | None = None, *, command_id: int | None = None) -> CallOutcome:
        """Send one command, retrying with the same command id; never raises for a lost link.

        ``command_id`` re-sends an earlier command (e.g. after an uncertain outcome): the pump
        answers from its memory if it applied it, and applies it now if it never received it.
        """
        payload = _check_call(command, args)
        creds = self.credentials
        attempts = 0
        for _ in range(self.max_attempts):
            counter = creds.next_counter()
            if command_id is None:
                command_id = counter
            attempts += 1
            self.stats["frames_sent"] += 1
            header = Header(VERSION, COMMAND, creds.serial, creds.role, creds.device_id, counter, command_id, 0)
            answer = self.channel.transmit(seal(self._aead, header, payload))
            if answer is None:
                self.stats["no_answer"] += 1
                continue
            try:
                body = self._open_answer(answer, counter, command_id)
            except FrameError as exc:
                self.stats["answer_rejected:" + exc.reason] += 1
                continue
            self.uncertain.pop(command_id, None)
            if body["ok"]:
                return CallOutcome(command, command_id, CONFIRMED, attempts, result=body["result"])
            return CallOutcome(command, command_id, REFUSED, attempts, error=body["error"])
        assert command_id is not None
        outcome = CallOutcome(command, command_id, UNCERTAIN, attempts, args=dict(args or {}))
        self.stats["no_answer_after_retries"] += 1
        if not is_read_only(command):
            self.uncertain[command_id] = outcome
            self.stats["uncertain"] += 1
        return outcome

    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """``Link.call``: the result, the pump's refusal raised, or :class:`DeliveryUncertain`."""
        outcome = self.send(command, args)
        if outcome.status == CONFIRMED:
            assert outcome.result is not None
            return outcome.result
        if outcome.status == REFUSED:
            outcome.raise_error()
        raise DeliveryUncertain(outcome, self.serial)

    def _open_answer(self, frame: bytes, counter: int, command_id: int) -> dict[str, Any]:
        """Believe an answer only if it is sealed with this device's key and answers this very frame."""
        creds = self.credentials
        header = parse_header(frame, max_ciphertext=MAX_RESPONSE_CIPHERTEXT)
        if header.frame_type != RESPONSE:
            raise FrameError("bad_frame_type", "a device accepts only response frames")
        if header.serial != creds.serial:
            raise FrameError("wrong_pump", f"answer from pump {header.serial!r}, expected {creds.serial!r}")
        if (header.role, header.device_id, header.counter, header.command_id) != (
            creds.role,
            creds.device_id,
            counter,
            command_id,
        ):
            raise FrameError("mismatched_response")
        body = parse_json(open_payload(self._aead, header, frame))
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            raise FrameError("malformed_payload", "an answer is {ok, result | error}")
        if body["ok"] and not isinstance(body.get("result"), dict):
            raise FrameError("malformed_payload", "an answer without a result")
        if not body["ok"] and not isinstance(body.get("error"), dict):
            raise FrameError("malformed_payload", "a refusal without an error")
        return body

    # ---- after an uncertain outcome ----------------------------------------------------------------
    def retry(self, command_id: int) -> dict[str, Any]:
        """Send an uncertain command again, with its command id: like :meth:`call`, applied at most once.

        If the pump applied it, it answers from its memory; if it never received it, it applies it
        now (at the implant's current instant).  Use :meth:`reconcile` instead to only find out.
        """
        pending = self.uncertain.get(command_id)
        if pending is None:
            raise InputError("command_id", f"command {command_id} is not an uncertain command of this link")
        outcome = self.send(pending.command, pending.args, command_id=command_id)
        if outcome.status == CONFIRMED:
            assert outcome.result is not None
            return outcome.result
        if outcome.status == REFUSED:
            outcome.raise_error()
        raise DeliveryUncertain(outcome, self.serial)

    def reconcile(self, command_id: int) -> Reconciliation:
        """Ask the pump whether this device's command ``command_id`` was applied (from its log).

        ``status`` is ``applied`` (with the pump's answer when it still remembers it, and its
        ``command_applied`` log entry), ``refused``, ``not_applied`` (never received; the original
        frames can no longer be accepted, so this is final), ``read_only`` (a read: nothing to
        apply), ``unknown`` (older than the pump's memory and its log) or ``unreachable`` (no answer
        now: try again when the pump is in range).
        """
        outcome = self.send("command_status", {"command_id": command_id})
        if outcome.status == UNCERTAIN:
            return Reconciliation(command_id, "unreachable")
        if outcome.status == REFUSED:
            outcome.raise_error()
        res = outcome.result or {}
        response = res.get("response") or {}
        rec = Reconciliation(
            command_id,
            str(res.get("status")),
            command=res.get("command"),
            result=response.get("result"),
            error=response.get("error"),
            log_entry=res.get("log_entry"),
        )
        if rec.status != "unknown":
            self.uncertain.pop(command_id, None)
        return rec


class ClinicianProgrammerLink(TelemetryLink):
    """The clinician programmer's link: every command of the command set."""

    role = CLINICIAN


@dataclass
class BolusResult:
    """What the patient sees after asking for a bolus."""

    certain: bool
    granted: bool | None  # None when the answer was lost
    reason: str | None
    message: str
    next_allowed_s: float | None
    boluses_left_24h: int | None
    command_id: int

    @classmethod
    def from_answer(cls, answer: dict[str, Any], command_id: int) -> BolusResult:
        return cls(
            True,
            bool(answer.get("granted")),
            answer.get("reason"),
            str(answer.get("message", "")),
            answer.get("next_allowed_s"),
            answer.get("boluses_left_24h"),
            command_id,
        )


@dataclass
class PtmStatus:
    """The limited status a patient may see."""

    state: str
    reservoir_estimate_ml: float
    alarms: list[dict[str, Any]] = field(default_factory=list)
    ptm_enabled: bool = False
    boluses_left_24h: int | None = None
    next_allowed_s: float | None = None
    time_s: float | None = None


UNCERTAIN_BOLUS_MESSAGE = (
    "no answer from the pump: the bolus may or may not have started. Do not ask again now; "
    "hold the therapy manager over the pump to check"
)


class PatientManagerLink(TelemetryLink):
    """The patient therapy manager's link: bolus requests and limited status only."""

    role = PATIENT

    def request_bolus(self) -> BolusResult:
        """Ask for a patient bolus: granted or denied with the reason and the next allowed time."""
        outcome = self.send("ptm_bolus")
        if outcome.status == CONFIRMED:
            return BolusResult.from_answer(outcome.result or {}, outcome.command_id)
        if outcome.status == REFUSED:
            outcome.raise_error()
        return BolusResult(False, None, None, UNCERTAIN_BOLUS_MESSAGE, None, None, outcome.command_id)

    def check_bolus(self, command_id: int) -> BolusResult:
        """After an uncertain request: was that bolus granted? (reconciles with the pump)."""
        rec = self.reconcile(command_id)
        if rec.status == "applied" and rec.result is not None:
            return BolusResult.from_answer(rec.result, command_id)
        if rec.status == "applied" and rec.log_entry is not None:
            granted = bool(rec.log_entry.get("granted"))
            msg = "bolus granted" if granted else "bolus denied"
            return BolusResult(True, granted, None, msg, None, None, command_id)
        if rec.status in ("not_applied", "refused"):
            return BolusResult(
                True, False, "not_received", "the pump never received that request", None, None, command_id
            )
        return BolusResult(False, None, None, UNCERTAIN_BOLUS_MESSAGE, None, None, command_id)

    def status(self) -> PtmStatus:
        """Reservoir estimate, alarms and bolus availability (raises DeliveryUncertain if unreachable)."""
        r = self.call("ptm_status")
        return PtmStatus(
            state=str(r.get("state")),
            reservoir_estimate_ml=float(r["reservoir_estimate_ml"]),
            alarms=list(r.get("alarms") or []),
            ptm_enabled=bool(r.get("ptm_enabled")),
            boluses_left_24h=r.get("boluses_left_24h"),
            next_allowed_s=r.get("next_allowed_s"),
            time_s=r.get("time_s"),
        )
