"""The pump's side of the telemetry link: authenticate, de-duplicate, apply once, answer.

:class:`PumpEndpoint` sits between the radio and an :class:`~itdd.pump.implant.Implant`.  For each
received frame it checks, in order: structure and CRC, protocol version, frame type, pump serial,
role code, size, the AES-GCM tag (with the sender's device key derived from the pump secret),
then freshness (the frame counter must be newer than any accepted from that device).  A frame that
fails any of these gets **no answer** (the pump cannot, or must not, speak to an unauthenticated
sender), is logged as ``telemetry_rejected`` with the reason, and changes nothing else.

An authenticated, fresh frame always gets an authenticated answer.  The payload must be a
well-formed command, allowed for the sender's role (:data:`~itdd.telemetry.commands.COMMANDS`);
otherwise the answer is an error and the rejection is logged.  Then the command id is looked up in
the sender's memory of recent commands: a retry (same id, same payload) gets the remembered answer
and is **not** applied again; the same id with a different payload is refused; an id older than
the memory is refused (it can no longer be told apart from an applied one).  A new command is
applied at the implant's current instant; a state-changing command that succeeds is logged as
``command_applied`` with its command id, and its answer is remembered.

Time is the implant's: the endpoint never reads a clock.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import InputError, ItddError, SafetyRefusal
from ..pump.implant import Implant
from ..timeunits import SECONDS_PER_HOUR
from .commands import CLINICIAN, COMMANDS, PATIENT, execute
from .frames import (
    COMMAND,
    MAX_COMMAND_CIPHERTEXT,
    RESPONSE,
    VERSION,
    FrameError,
    Header,
    canonical_json,
    open_payload,
    parse_header,
    parse_json,
    seal,
)
from .keys import PumpKeys
from .messages import decode_command_status

# Commands answered by the telemetry layer itself (they need to know who is asking).
ENDPOINT_COMMANDS: dict[str, tuple[str, ...]] = {"command_status": (CLINICIAN, PATIENT)}

# The pump's memory of command ids, per sender device (assumptions; a real pump keeps a small
# table).  It remembers the last COMMAND_IDS_KEPT command ids with a digest of each command and
# whether it succeeded, and keeps the full answer of the last ANSWERS_KEPT state-changing ones
# (at most ANSWER_BYTES_KEPT bytes of answers: an interrogation's answer carries the log; the
# newest answer is always kept).  One programming session retries far fewer commands than this.
COMMAND_IDS_KEPT = 1024
ANSWERS_KEPT = 32
ANSWER_BYTES_KEPT = 2 * 1024 * 1024
# Unanswered rejections (forged, corrupted, replayed frames) logged per hour of implant time; more
# are counted, not logged, so that radio noise or an attacker cannot roll the real entries off
# the bounded device log (assumption).
MAX_UNANSWERED_LOGGED_PER_HOUR = 100
HOUR_S = SECONDS_PER_HOUR


@dataclass
class _Remembered:
    digest: str  # SHA-256 (hex) of the canonical command payload
    command: str
    ok: bool  # the pump applied (or read) it; False: refused
    changes_state: bool
    response: bytes | None  # canonical JSON of the answer, while it is kept


@dataclass
class _SenderState:
    last_counter: int = 0
    low_water: int = 0  # every command id <= this that is not remembered is forgotten
    memory: OrderedDict[int, _Remembered] = field(default_factory=OrderedDict)
    answers: deque[int] = field(default_factory=deque)  # ids whose answer is kept, oldest first
    answer_bytes: int = 0

    def remember(self, command_id: int, entry: _Remembered) -> None:
        self.memory[command_id] = entry
        while len(self.memory) > COMMAND_IDS_KEPT:
            old_id, _ = self.memory.popitem(last=False)
            self.low_water = max(self.low_water, old_id)
        if entry.response is None:
            return
        self.answers.append(command_id)
        self.answer_bytes += len(entry.response)
        while len(self.answers) > 1 and (len(self.answers) > ANSWERS_KEPT or self.answer_bytes > ANSWER_BYTES_KEPT):
            old = self.memory.get(self.answers.popleft())
            if old is not None and old.response is not None:
                self.answer_bytes -= len(old.response)
                old.response = None


def _error_body(exc: ItddError, reason: str | None = None) -> dict[str, Any]:
    """An error answer; ``reason`` is set when the telemetry layer (not the pump's therapy rules) refused."""
    return {
        "ok": False,
        "error": {
            "type": "TelemetryRejected" if reason else type(exc).__name__,
            "field": exc.field,
            "message": exc.message,
            "rule": getattr(exc, "rule", "") or "",
            "reason": reason,
        },
    }


class PumpEndpoint:
    """The implant's telemetry receiver: ``receive(frame) -> response frame | None``."""

    def __init__(self, implant: Implant, keys: PumpKeys, state: dict[str, Any] | None = None) -> None:
        self.implant = implant
        self.keys = keys
        self.serial = keys.serial
        self._aead: dict[tuple[str, int], AESGCM] = {}
        self._senders: dict[tuple[str, int], _SenderState] = {}
        self._hour: int | None = None
        self._logged_this_hour = 0
        self._suppressed = 0
        self.stats: Counter[str] = Counter()
        if state is not None:
            self._load_state(state)

    # ---- the frame path --------------------------------------------------------------------------
    def receive(self, frame: bytes) -> bytes | None:
        """Process one received frame at the implant's current instant; return the answer frame."""
        try:
            data = bytes(frame)
        except (TypeError, ValueError):
            data = b""
        try:
            header = parse_header(data, max_ciphertext=MAX_COMMAND_CIPHERTEXT)
            if header.frame_type != COMMAND:
                raise FrameError("bad_frame_type", "a pump accepts only command frames")
            if header.serial != self.serial:
                raise FrameError("wrong_pump", f"addressed to pump {header.serial!r}, this is {self.serial!r}")
            aead = self._cipher(header.role, header.device_id)
            plain = open_payload(aead, header, data)
        except FrameError as exc:
            self._reject_silently(exc, len(data), None)
            return None
        sender = self._senders.get((header.role, header.device_id))
        if sender is not None and header.counter <= sender.last_counter:
            replay = FrameError(
                "replay", f"counter {header.counter}, last accepted {sender.last_counter} from this device"
            )
            self._reject_silently(replay, len(data), header)
            return None
        # Authenticated and fresh: the counter is spent whatever happens next.
        if sender is None:
            sender = self._senders[(header.role, header.device_id)] = _SenderState()
        sender.last_counter = header.counter
        body = self._handle(header, plain, sender)
        return seal(
            aead,
            Header(VERSION, RESPONSE, self.serial, header.role, header.device_id, header.counter, header.command_id, 0),
            canonical_json(body) if isinstance(body, dict) else body,
        )

    def _handle(self, header: Header, plain: bytes, sender: _SenderState) -> dict[str, Any] | bytes:
        try:
            command, args, digest = self._parse_command(plain)
            allowed = COMMANDS[command].roles if command in COMMANDS else ENDPOINT_COMMANDS.get(command)
            if allowed is None:
                raise FrameError("unknown_command", f"unknown command {command!r}")
            if header.role not in allowed:
                raise FrameError("role_not_allowed", f"a {header.role} may not send {command!r}")
            if not 0 < header.command_id <= header.counter:
                raise FrameError(
                    "bad_command_id",
                    f"command id {header.command_id} must be from 1 to the frame counter {header.counter}",
                )
            remembered = sender.memory.get(header.command_id)
            if remembered is not None and remembered.digest != digest:
                raise FrameError(
                    "command_id_reuse",
                    f"command id {header.command_id} was {remembered.command!r} with other arguments",
                )
            if remembered is None and header.command_id <= sender.low_water:
                raise FrameError(
                    "command_id_expired",
                    f"command id {header.command_id} is older than the pump's memory (it keeps ids after "
                    f"{sender.low_water}); reconcile from the log instead",
                )
            if remembered is not None and remembered.changes_state and remembered.response is None:
                raise FrameError(
                    "answer_forgotten",
                    f"command id {header.command_id} ({command!r}) was already "
                    f"{'applied' if remembered.ok else 'refused'}; its answer is no longer kept",
                )
        except FrameError as exc:
            self.stats["rejected:" + exc.reason] += 1
            self._log_rejection(exc, header, authenticated=True)
            return _error_body(_rejection_error(exc), exc.reason)

        if remembered is not None and remembered.response is not None:
            self.stats["retry_answered_from_memory"] += 1
            return remembered.response
        if command in ENDPOINT_COMMANDS:
            return self._command_status(header, args, sender)
        changes_state = COMMANDS[command].changes_state
        ok, response = self._apply(header, command, args)
        if remembered is None:
            sender.remember(
                header.command_id, _Remembered(digest, command, ok, changes_state, response if changes_state else None)
            )
        return response

    def _apply(self, header: Header, command: str, args: dict[str, Any]) -> tuple[bool, bytes]:
        """Run one command on the implant; log ``command_applied`` when it changed the pump's state."""
        try:
            result = execute(self.implant, command, args, header.role)
        except (InputError, SafetyRefusal) as exc:
            self.stats["refused"] += 1
            return False, canonical_json(_error_body(exc))
        self.stats["applied"] += 1
        if COMMANDS[command].changes_state:
            details: dict[str, Any] = {
                "command": command,
                "command_id": header.command_id,
                "role": header.role,
                "device_id": header.device_id,
            }
            if command == "ptm_bolus":
                details["granted"] = bool(result.get("granted"))
            self.implant.log.append(self.implant.t_s, "command_applied", **details)
        return True, canonical_json({"ok": True, "result": result}, lenient=True)

    def _parse_command(self, plain: bytes) -> tuple[str, dict[str, Any], str]:
        obj = parse_json(plain)
        if not isinstance(obj, dict) or set(obj) != {"command", "args"}:
            raise FrameError("malformed_payload", 'the payload must be {"command": ..., "args": {...}}')
        command, args = obj["command"], obj["args"]
        if not isinstance(command, str) or not isinstance(args, dict):
            raise FrameError("malformed_payload", "command must be a string and args an object")
        return command, args, hashlib.sha256(canonical_json(obj)).hexdigest()

    def _command_status(self, header: Header, args: dict[str, Any], sender: _SenderState) -> dict[str, Any]:
        """Whether one of the *sender's own* commands was applied: from the pump's log and its memory."""
        try:
            cid = decode_command_status(args).command_id
        except InputError as exc:
            return _error_body(exc)
        entry = None
        for e in reversed(self.implant.log.device):
            if (
                e.type == "command_applied"
                and e.details.get("command_id") == cid
                and e.details.get("device_id") == header.device_id
                and e.details.get("role") == header.role
            ):
                entry = {"seq": e.seq, "time_s": e.time_s, "type": e.type, **e.details}
                break
        remembered = sender.memory.get(cid)
        out: dict[str, Any] = {"command_id": cid, "log_entry": entry, "response": None, "command": None}
        if remembered is not None:
            if not remembered.changes_state:
                status = "read_only"  # received; a read changes nothing
            else:
                status = "applied" if remembered.ok else "refused"
            response = None if remembered.response is None else parse_json(remembered.response)
            out.update(command=remembered.command, response=response, status=status)
        elif entry is not None:
            out.update(command=entry["command"], status="applied")
        elif cid <= sender.low_water:
            out["status"] = "unknown"  # forgotten by the pump's memory, and not (or no longer) in its log
        else:
            # Never received. The frame counter has moved past it, so its frames can no longer be
            # accepted, and the pump remembers every id after low_water: "not applied" is final.
            out["status"] = "not_applied"
        out["time_s"] = self.implant.t_s
        return {"ok": True, "result": out}

    # ---- keys, logging, state -------------------------------------------------------------------------
    def _cipher(self, role: str, device_id: int) -> AESGCM:
        k = (role, device_id)
        aead = self._aead.get(k)
        if aead is None:
            aead = AESGCM(self.keys.device_key(role, device_id))
            if len(self._aead) < 4096:  # bounded memo (assumption)
                self._aead[k] = aead
        return aead

    def _reject_silently(self, exc: FrameError, n_bytes: int, header: Header | None) -> None:
        """A frame that gets no answer: logged, within a per-hour budget so the log cannot be flooded."""
        self.stats["rejected:" + exc.reason] += 1
        hour = int(self.implant.t_s // HOUR_S)
        if hour != self._hour:
            self._hour, self._logged_this_hour = hour, 0
        if self._logged_this_hour >= MAX_UNANSWERED_LOGGED_PER_HOUR:
            self._suppressed += 1
            self.stats["rejections_not_logged"] += 1
            return
        self._logged_this_hour += 1
        extra: dict[str, Any] = {"frame_bytes": n_bytes}
        if self._suppressed:
            extra["not_logged_before"] = self._suppressed
            self._suppressed = 0
        self._log_rejection(exc, header, authenticated=header is not None, **extra)

    def _log_rejection(self, exc: FrameError, header: Header | None, *, authenticated: bool, **extra: Any) -> None:
        details: dict[str, Any] = {"reason": exc.reason, "message": exc.detail, "authenticated": authenticated}
        if header is not None and authenticated:
            details.update(role=header.role, device_id=header.device_id, command_id=header.command_id)
        details.update(extra)
        self.implant.log.append(self.implant.t_s, "telemetry_rejected", **details)

    def state(self) -> dict[str, Any]:
        """The endpoint's memory (counters, remembered commands) as JSON-able data, to save with the implant."""
        return {
            "senders": [
                {
                    "role": role,
                    "device_id": device_id,
                    "last_counter": s.last_counter,
                    "low_water": s.low_water,
                    "memory": [
                        [
                            cid,
                            r.digest,
                            r.command,
                            r.ok,
                            r.changes_state,
                            None if r.response is None else r.response.decode("ascii"),
                        ]
                        for cid, r in s.memory.items()
                    ],
                }
                for (role, device_id), s in self._senders.items()
            ],
            "suppressed": self._suppressed,
            "hour": self._hour,
            "logged_this_hour": self._logged_this_hour,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        try:
            for s in state["senders"]:
                st = _SenderState(int(s["last_counter"]), int(s["low_water"]))
                for cid, digest, command, ok, changes_state, response in s["memory"]:
                    st.memory[int(cid)] = r = _Remembered(
                        str(digest),
                        str(command),
                        bool(ok),
                        bool(changes_state),
                        None if response is None else str(response).encode("ascii"),
                    )
                    if r.response is not None:
                        st.answers.append(int(cid))
                        st.answer_bytes += len(r.response)
                self._senders[(str(s["role"]), int(s["device_id"]))] = st
            self._suppressed = int(state.get("suppressed", 0))
            self._hour = state.get("hour")
            self._logged_this_hour = int(state.get("logged_this_hour", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError("telemetry_state", f"malformed telemetry endpoint state ({exc})") from None


def _rejection_error(exc: FrameError) -> ItddError:
    if exc.reason == "role_not_allowed":
        return InputError("role", exc.detail)
    if exc.reason == "unknown_command":
        return InputError("command", exc.detail)
    if exc.reason == "malformed_payload":
        return InputError("payload", exc.detail)
    return InputError("command_id", exc.detail)
