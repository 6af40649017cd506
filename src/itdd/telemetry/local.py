"""A direct link that also answers the refill workflow's reads and its refill as typed records.

:class:`LocalLink` is a :class:`~itdd.telemetry.commands.DirectLink` (``call`` still goes through
:func:`~itdd.telemetry.commands.execute`: the same handlers, role checks and refusals).  For the
two reads the refill workflow makes most (``read_status``/``interrogate`` and ``read_therapy``) and
for the refill itself it also offers :meth:`LocalLink.status_reply`, :meth:`LocalLink.therapy_reply`
and :meth:`LocalLink.refill_reply`, which build :class:`~itdd.telemetry.messages.StatusReply`,
:class:`~itdd.telemetry.messages.TherapyReply` and :class:`~itdd.telemetry.messages.RefillReply`
straight from the implant instead of writing the wire answer and decoding it again (the refill's
arguments are still decoded as the pump decodes them).  The values are those the wire round trip
gives, conversion for conversion (``float``/``int``/``str`` as the decoders apply them), so a workflow reads exactly the
same numbers either way; ``tests/telemetry/test_local_link.py`` compares the two on every field.

Used where a simulated programmer talks to its own simulated implant in one process (the care
pathway's refills and primings); the scenario runner, the clinic and the telemetry layer keep the
wire path.
"""

from __future__ import annotations

from ..errors import InputError
from ..pump.log import LogEntry
from ..pump.status import Alarm
from ..pump.therapy import Therapy
from .commands import CLINICIAN, COMMANDS, DirectLink, execute
from .messages import (
    RefillArgs,
    RefillReply,
    StatusReply,
    TherapyReply,
    decode_args,
    log_entry_from_wire,
    ptm_from_args,
    refill_to_args,
    therapy_from_args,
    therapy_wire,
)

_MALFORMED = (LookupError, TypeError, ValueError, AttributeError, ArithmeticError)  # as execute() reports them


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

    def refill_reply(self, args: RefillArgs) -> RefillReply:
        """``RefillReply.from_wire(call("refill", refill_to_args(args)))``: the same decoding of the
        arguments, the same handler's effect on the pump, the same refusals."""
        if self.role not in COMMANDS["refill"].roles:
            execute(self.implant, "refill", refill_to_args(args), self.role)
        a = decode_args("refill", refill_to_args(args))
        assert isinstance(a, RefillArgs)
        imp = self.implant
        try:
            res = imp.refill(
                withdraw_ml=a.withdraw_ml,
                fill_ml=a.fill_ml,
                drug=a.drug or imp.fw.drug,
                conc_mg_per_ml=imp.fw.conc_mg_per_ml if a.conc_mg_per_ml is None else a.conc_mg_per_ml,
                reservoir_ml_entered=a.reservoir_ml,
                bridge_bolus=a.bridge_bolus,
            )
        except _MALFORMED as exc:
            raise InputError("refill.args", f"malformed arguments ({type(exc).__name__}: {exc})") from None
        return RefillReply(
            expected_ml=float(res.expected_ml),
            withdrawn_ml=float(res.withdrawn_ml),
            filled_ml=float(res.filled_ml),
            reservoir_ml_entered=float(res.reservoir_ml_entered),
            bridge_bolus=bool(res.bridge_bolus),
            time_s=_opt_float(res.time_s),
        )
