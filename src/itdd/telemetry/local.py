"""A direct link that also answers the programmer's status and therapy reads as typed records.

:class:`LocalLink` is a :class:`~itdd.telemetry.commands.DirectLink` (every command still goes
through :func:`~itdd.telemetry.commands.execute`: the same handlers, role checks and refusals).
For the two reads the refill workflow makes most (``read_status``/``interrogate`` and
``read_therapy``) it also offers :meth:`LocalLink.status_reply` and :meth:`LocalLink.therapy_reply`,
which build :class:`~itdd.telemetry.messages.StatusReply` and
:class:`~itdd.telemetry.messages.TherapyReply` straight from the implant instead of writing the wire
answer and decoding it again.  The values are those the wire round trip gives, conversion for
conversion (``float``/``int``/``str`` as the decoders apply them), so a workflow reads exactly the
same numbers either way; ``tests/telemetry/test_local_link.py`` compares the two on every field.

Used where a simulated programmer talks to its own simulated implant in one process (the care
pathway's refills and primings); the scenario runner, the clinic and the telemetry layer keep the
wire path.
"""

from __future__ import annotations

from ..pump.log import LogEntry
from ..pump.status import Alarm
from ..pump.therapy import Therapy
from .commands import CLINICIAN, DirectLink, execute
from .messages import StatusReply, TherapyReply, log_entry_from_wire, ptm_from_args, therapy_from_args, therapy_wire


def _opt_float(v: float | None) -> float | None:
    return None if v is None else float(v)


def _therapy(th: Therapy) -> Therapy:
    """The therapy as ``therapy_from_args(therapy_wire(th))`` gives it.  A simple continuous therapy
    with a float dose comes back equal and of the same types, and a Therapy is immutable: shared."""
    if th.mode == "simple_continuous" and type(th.dose_mg_per_day) is float:
        return th
    return therapy_from_args(therapy_wire(th), "therapy_reading.therapy")


class LocalLink(DirectLink):
    """A :class:`DirectLink` (clinician role) with typed status and therapy reads (see the module)."""

    def status_reply(self, since_seq: int, *, side_effects: bool) -> StatusReply:
        """``StatusReply.from_wire(call("interrogate" | "read_status", {"since_seq": since_seq}))``."""
        if self.role != CLINICIAN:  # the role check of execute(): refused the same way
            execute(self.implant, "interrogate" if side_effects else "read_status", {"since_seq": since_seq}, self.role)
        imp = self.implant
        st = imp.interrogate() if side_effects else imp.fw.status(imp.t_s)
        log = imp.log
        entries: tuple[LogEntry, ...] = ()
        if since_seq < log.last_seq:
            entries = tuple(
                log_entry_from_wire(e.to_wire(), f"status.log[{i}]") for i, e in enumerate(log.since(since_seq))
            )
        hw = imp.hw
        return StatusReply(
            time_s=float(imp.t_s),
            utc_offset_s=int(imp.fw.offset_s),
            model_id=str(imp.model.model_id),
            state=str(st.state),
            reservoir_estimate_ml=float(st.reservoir_estimate_ml),
            alarms=tuple(Alarm(str(a.type), str(a.severity), float(a.raised_s)) for a in st.alarms),
            battery_to_eri=float(hw.battery_to_eri),
            eri_s=_opt_float(st.eri_s),
            end_of_service_s=_opt_float(st.end_of_service_s),
            fluid_path_volume_ml=float(hw.path_volume_ml),
            catheter_volume_ml=float(hw.catheter_volume_ml),
            pump_clock_error_s=float(st.pump_clock_error_s),
            log=entries,
            log_last_seq=int(log.last_seq),
        )

    def therapy_reply(self) -> TherapyReply:
        """``TherapyReply.from_wire(call("read_therapy"))``."""
        if self.role != CLINICIAN:
            execute(self.implant, "read_therapy", None, self.role)
        fw = self.implant.fw
        ptm = fw.ptm
        return TherapyReply(
            therapy=_therapy(fw.therapy),
            drug=str(fw.drug),
            concentration_mg_per_ml=float(fw.conc_mg_per_ml),
            low_reservoir_ml=float(fw.low_reservoir_ml),
            ptm=None if ptm is None else ptm_from_args(ptm.to_dict(), "therapy_reading.ptm"),
        )
