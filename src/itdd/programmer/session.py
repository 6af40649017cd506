"""A programming session over any :class:`~itdd.telemetry.commands.Link`, built for a lossy radio.

The workflows talk to the pump only through ``link.call(command, args)``: a
:class:`~itdd.telemetry.commands.DirectLink` (no radio) or the telemetry layer's authenticated
link.  A call can end three ways:

* an answer: the command was applied (or read);
* a refusal (:class:`~itdd.errors.InputError` / :class:`~itdd.errors.SafetyRefusal`): the pump
  said no and nothing changed; it is passed on, never retried;
* anything else (a delivery error such as the telemetry layer's ``DeliveryUncertain``): the
  command **may or may not** have been applied.

After an uncertain write the session never simply sends the command again (that is the field's
"double bolus" failure).  It first finds out, by reading the pump: for a command that is not
idempotent (refill, bolus, priming) from the pump's event log since the sequence number read just
before the write; for a setting, by reading the setting back.  Only when the pump shows the
command was *not* applied is it sent again.  Every write, certain or not, is read back and
verified; a mismatch raises :class:`VerificationError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, ItddError, SafetyRefusal
from ..pump.log import LogEntry
from ..telemetry.commands import Link
from ..telemetry.local import LocalLink
from ..telemetry.messages import LogReply, RefillArgs, RefillReply, StatusReply, TherapyReply, refill_to_args

REFUSALS = (InputError, SafetyRefusal)
DEFAULT_ATTEMPTS = 3  # assumption: tries per command before the session gives up and says so
LAST_SEQ_PROBE = 1 << 62  # read_log since this returns no entries, only the last sequence number


class CommunicationError(ItddError):
    """The pump could not be reached (or its answer never came) after every attempt."""


class VerificationError(ItddError):
    """The pump's read-back does not match what was sent: the change is not confirmed."""


@dataclass
class WriteResult:
    result: dict[str, Any]
    certain: bool  # the pump's own answer came back
    reconciled: bool = False  # the outcome was established by reading the pump after a lost answer
    attempts: int = 1


@dataclass
class Session:
    link: Link
    attempts: int = DEFAULT_ATTEMPTS
    notes: list[str] = field(default_factory=list)  # what happened on the link, for the record

    # ---- reads (idempotent: retried) ----------------------------------------------------------
    def read(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        last: Exception | None = None
        for _ in range(self.attempts):
            try:
                return self.link.call(command, args)
            except REFUSALS:
                raise
            except Exception as exc:  # a delivery error of whatever link is in use
                last = exc
                self.notes.append(f"{command}: no answer ({type(exc).__name__}); read again")
        raise CommunicationError(
            "telemetry",
            f"no answer from the pump to {command!r} after {self.attempts} attempts "
            f"({type(last).__name__ if last else 'unknown'}); move the programmer closer and try again",
        )

    def read_status(self, since_seq: int, *, side_effects: bool) -> StatusReply:
        """The status answer (``interrogate`` with ``side_effects``, else ``read_status``), decoded.
        A :class:`~itdd.telemetry.local.LocalLink` gives the same record without the wire round trip."""
        link = self.link
        if isinstance(link, LocalLink):
            return link.status_reply(since_seq, side_effects=side_effects)
        command = "interrogate" if side_effects else "read_status"
        return StatusReply.from_wire(self.read(command, {"since_seq": since_seq}))

    def read_therapy(self) -> TherapyReply:
        """The ``read_therapy`` answer, decoded (typed straight from a ``LocalLink``)."""
        link = self.link
        if isinstance(link, LocalLink):
            return link.therapy_reply()
        return TherapyReply.from_wire(self.read("read_therapy"))

    def last_seq(self) -> int:
        return LogReply.from_wire(self.read("read_log", {"since_seq": LAST_SEQ_PROBE})).last_seq

    def log_since(self, seq: int) -> tuple[LogEntry, ...]:
        return LogReply.from_wire(self.read("read_log", {"since_seq": seq})).entries

    # ---- writes ---------------------------------------------------------------------------------
    def write(
        self,
        command: str,
        args: dict[str, Any] | None,
        *,
        verify: Callable[[], bool],
        applied: Callable[[], dict[str, Any] | None] | None = None,
    ) -> WriteResult:
        """Send a state-changing command once, establish its outcome, verify it by read-back.

        ``applied()`` looks for the command's effect after a lost answer (e.g. its log entry) and
        returns a result built from it, or ``None`` if it was not applied; without it,
        ``verify()`` decides.  Raises the pump's refusal, :class:`VerificationError` or
        :class:`CommunicationError`.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                result = self.link.call(command, args)
            except REFUSALS:
                raise
            except Exception as exc:
                self.notes.append(f"{command}: delivery uncertain ({type(exc).__name__}); reading the pump back")
                found: dict[str, Any] | None
                if applied is not None:
                    found = applied()
                else:
                    found = {} if verify() else None
                if found is not None:
                    if not verify():
                        raise VerificationError(
                            command, "the pump applied the command but its read-back does not match what was sent"
                        ) from None
                    self.notes.append(f"{command}: the pump shows it was applied once; not sent again")
                    return WriteResult(found, certain=False, reconciled=True, attempts=attempt)
                self.notes.append(f"{command}: the pump shows it was not applied; sending it again")
                continue
            if not verify():
                raise VerificationError(command, "read-back after the change does not match what was sent")
            return WriteResult(result, certain=True, attempts=attempt)
        raise CommunicationError(
            "telemetry",
            f"{command!r} could not be delivered after {self.attempts} attempts; the pump shows it was not "
            "applied. Nothing changed; try again closer to the pump",
        )

    def write_refill(
        self, args: RefillArgs, *, verify: Callable[[], bool], applied: Callable[[], dict[str, Any] | None]
    ) -> tuple[RefillReply, bool]:
        """:meth:`write` of the ``refill`` command, its answer decoded, and whether it is certain.
        A :class:`~itdd.telemetry.local.LocalLink` answers typed (it cannot lose an answer); the
        read-back is verified the same way."""
        link = self.link
        if isinstance(link, LocalLink):
            reply = link.refill_reply(args)
            if not verify():
                raise VerificationError("refill", "read-back after the change does not match what was sent")
            return reply, True
        res = self.write("refill", refill_to_args(args), verify=verify, applied=applied)
        return RefillReply.from_wire(res.result), res.certain

    def log_entry_since(
        self, seq: int, type_: str, match: Callable[[LogEntry], bool] | None = None
    ) -> Callable[[], dict[str, Any] | None]:
        """An ``applied`` probe: the first log entry of ``type_`` after ``seq`` (that ``match``es),
        in its wire form (what the command's answer would have said)."""

        def probe() -> dict[str, Any] | None:
            for e in self.log_since(seq):
                if e.type == type_ and (match is None or match(e)):
                    return e.to_wire()
            return None

        return probe
