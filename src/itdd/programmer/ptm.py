"""The patient therapy manager (PTM): request a bolus, see why not and when next, see the reservoir.

It speaks only the patient's commands (``ptm_bolus``, ``ptm_status``, ``read_clock``); it cannot
change therapy.  The pump enforces the same through the role of the link; the PTM refuses first,
so a patient never even sends a clinician's command (rule ``ptm_cannot_program``).

A bolus request whose answer is lost is reconciled from the pump's status (the time of its last
granted patient bolus) before anything is sent again: a lost answer never becomes two boluses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import quantities as q
from ..errors import InputError, SafetyRefusal
from ..telemetry.commands import Link
from ..telemetry.messages import PtmStatusReply
from .session import REFUSALS, CommunicationError, Session

PATIENT_COMMANDS = frozenset({"ptm_bolus", "ptm_status", "read_clock"})

REASON_TEXT = {
    "not_enabled": "Patient boluses are not set up on your pump. Talk to your clinic.",
    "pump_not_infusing": "Your pump is not infusing right now, so no bolus can be given. Contact your clinic.",
    "lockout": "Too soon after your last bolus.",
    "daily_limit": "You have had all the boluses allowed in 24 hours.",
    "max_dose": "This bolus would take you over the most medicine allowed in 24 hours.",
}


@dataclass
class BolusOutcome:
    granted: bool
    reason: str | None
    message: str
    next_allowed_s: float | None
    boluses_left_24h: int | None
    certain: bool = True
    note: str = ""

    def to_dict(self, offset_s: int = 0) -> dict[str, Any]:
        return {
            "granted": self.granted,
            "reason": self.reason,
            "message": self.message,
            "next_allowed": None if self.next_allowed_s is None else q.iso(self.next_allowed_s, offset_s),
            "boluses_left_24h": self.boluses_left_24h,
            "delivery_certain": self.certain,
            "note": self.note,
        }


class PatientTherapyManager:
    def __init__(self, link: Link, *, offset_s: int = 0, attempts: int = 3) -> None:
        self.session = Session(link, attempts=attempts)
        self.offset_s = offset_s

    def _call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        if command not in PATIENT_COMMANDS:
            raise SafetyRefusal(
                "command", f"the patient therapy manager cannot send {command!r}", rule="ptm_cannot_program"
            )
        return self.session.read(command, args) if command != "ptm_bolus" else self.session.link.call(command, args)

    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Only patient commands pass; anything else is refused here, before the radio."""
        return self._call(command, args)

    def status(self) -> PtmView:
        return PtmView(PtmStatusReply.from_wire(self._call("ptm_status")), self.offset_s)

    def request_bolus(self) -> BolusOutcome:
        last_before = PtmStatusReply.from_wire(self._call("ptm_status")).last_grant_s
        notes: list[str] = []
        for _ in range(self.session.attempts):
            try:
                d = self._call("ptm_bolus")
            except REFUSALS:
                raise
            except Exception as exc:
                notes.append(f"no answer ({type(exc).__name__})")
                after = PtmStatusReply.from_wire(self._call("ptm_status"))
                last = after.last_grant_s
                if last is not None and last != last_before:
                    return BolusOutcome(
                        True,
                        None,
                        "Bolus granted (confirmed from the pump after a lost answer).",
                        after.next_allowed_s,
                        after.boluses_left_24h,
                        certain=False,
                        note="; ".join(notes) + "; the pump shows the bolus was granted once",
                    )
                notes.append("the pump shows no bolus; asking again")
                continue
            granted = bool(d["granted"])
            reason = d.get("reason")
            msg = "Bolus granted." if granted else REASON_TEXT.get(str(reason), str(d.get("message", "")))
            nxt = d.get("next_allowed_s")
            if not granted and nxt is not None:
                msg += f" Next bolus allowed from {q.iso(float(nxt), self.offset_s)[:16].replace('T', ' ')}."
            return BolusOutcome(
                granted, reason, msg, nxt, d.get("boluses_left_24h"), certain=True, note="; ".join(notes)
            )
        raise CommunicationError(
            "telemetry", "the pump did not answer; no bolus was given. Try again closer to the pump"
        )


@dataclass(frozen=True)
class PtmView:
    """What the patient therapy manager shows: the pump's limited status, in the pump's local time."""

    reply: PtmStatusReply
    offset_s: int

    def to_dict(self) -> dict[str, Any]:
        st, nxt = self.reply, self.reply.next_allowed_s
        return {
            "time": q.iso(st.time_s, self.offset_s),
            "state": st.state,
            "reservoir_estimate_ml": st.reservoir_estimate_ml,
            "alarms": [{"type": t, "severity": sev} for t, sev in st.alarms],
            "ptm_enabled": st.ptm_enabled,
            "boluses_left_24h": st.boluses_left_24h,
            "next_allowed": None if nxt is None else q.iso(nxt, self.offset_s),
        }


def render_status(view: PtmView) -> str:
    st = view.reply
    alarms = ", ".join(f"{t.replace('_', ' ')} ({sev})" for t, sev in st.alarms) or "none"
    lines = [
        f"Pump        {st.state.replace('_', ' ')}",
        f"Reservoir   about {st.reservoir_estimate_ml:.1f} mL",
        f"Alarms      {alarms}",
    ]
    if st.ptm_enabled:
        nxt = None if st.next_allowed_s is None else q.iso(st.next_allowed_s, view.offset_s)
        lines.append(
            f"Boluses     {st.boluses_left_24h} left in 24 h; "
            + ("next allowed now" if nxt is None else f"next allowed from {nxt[:16].replace('T', ' ')}")
        )
    else:
        lines.append("Boluses     not set up on this pump")
    return "\n".join(lines)


__all__ = ["PATIENT_COMMANDS", "BolusOutcome", "InputError", "PatientTherapyManager", "PtmView", "render_status"]
