"""My therapy (a logged-in patient's plain-words view of their own pump) and "Contact my clinic".

The view reads only the patient's own pump, prescription, appointments and patient-bolus history; the
contact form writes one message into the clinic's triage inbox (a dashboard panel for nurses), audited.
Which message is urgent is a pure decision (:func:`triage_urgency`) with its reason: a symptom that can mean
too much drug (very drowsy, slow breathing, confusion) or an infection always makes it urgent, and every page
that shows an urgent symptom shows the emergency instruction first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ...drugs import get_drug
from ...errors import ItddError
from ...pump.events import ALARMS as ALARM_KINDS
from ...pump.firmware import ALARMS
from ...quantities import SECONDS_PER_DAY, fmt_amount, iso
from ..models import Appointment, Patient, Prescription, Pump, PumpEvent, User
from ..problems import Forbidden, Invalid, NotFound
from ..services import Ctx, ptm_status
from .models import URGENCIES, TriageMessage

DAY_S = SECONDS_PER_DAY
HISTORY_DAYS = 14  # assumption: two weeks of patient boluses is what a patient looks back on
MAX_BODY = 2000

EMERGENCY = (
    "If the person with the pump is very hard to wake, is breathing slowly (fewer than 10 breaths a minute) or "
    "not at all, or is confused: call the emergency number now (999 in the UK, 112 in Europe) and say they "
    "have an implanted drug pump. Do not wait for the clinic to answer."
)

# symptom code -> (label for the patient, urgency it implies, why)
SYMPTOMS: dict[str, tuple[str, str, str]] = {
    "very_drowsy": ("Very drowsy or hard to wake", "urgent", "a sign of too much drug"),
    "slow_breathing": ("Slow or shallow breathing", "urgent", "a sign of too much drug"),
    "confused": ("New confusion", "urgent", "a sign of too much drug (or of withdrawal)"),
    "fever_wound": ("Fever, or redness, swelling or fluid at the pump or wound", "urgent", "a possible infection"),
    "weakness_numbness": ("New weakness or numbness in the legs", "urgent", "a possible mass at the catheter tip"),
    "withdrawal": ("Sweating, chills, restlessness, diarrhoea, muscle aches", "soon", "a sign of too little drug"),
    "pain_back": ("My pain is back or much worse", "soon", "a sign of too little drug or a catheter problem"),
    "alarm": ("My pump is beeping", "soon", "the pump needs the clinic (see the alarm tones)"),
    "refill_question": ("A question about my refill date", "routine", "administrative"),
    "other": ("Something else", "routine", "no symptom given"),
}
RANK = {u: i for i, u in enumerate(URGENCIES)}


@dataclass(frozen=True)
class Triage:
    urgency: str  # routine | soon | urgent
    reason: str
    emergency_first: bool  # show the emergency instruction before anything else


def triage_urgency(symptoms: list[str], chosen: str) -> Triage:
    """The message's urgency: the patient's choice, raised (never lowered) by the symptoms they ticked."""
    if chosen not in RANK:
        raise Invalid(f"choose one of {', '.join(URGENCIES)}", field="urgency")
    for s in symptoms:
        if s not in SYMPTOMS:
            raise Invalid(f"unknown symptom {s!r}", field="symptoms")
    urgency, reason = chosen, "as chosen by the patient"
    for s in symptoms:
        label, level, why = SYMPTOMS[s]
        if RANK[level] > RANK[urgency]:
            urgency, reason = level, f"{label.lower()}: {why}"
    return Triage(urgency, reason, urgency == "urgent")


# alarm tones: clinical-facts [S] (critical: 3-second two-tone; non-critical: 1-second single tone)
TONES = {
    "critical": "a two-tone sound lasting about 3 seconds, repeating",
    "non-critical": "a single tone lasting about 1 second, repeating",
}
ALARM_HELP: dict[str, tuple[str, str]] = {
    # alarm -> (what it means, what to do)
    "low_reservoir": (
        "The drug in the pump is running low.",
        "Call your clinic today to bring your refill forward. Do not wait for the pump to run empty.",
    ),
    "reservoir_empty": (
        "The pump has run out of drug (or believes it has).",
        "Call your clinic now: you may soon feel the drug wear off (withdrawal). If you feel very unwell, call "
        "the emergency number.",
    ),
    "eri": (
        "The pump's battery is near its end: the pump must be replaced within months.",
        "Call your clinic in working hours to plan the replacement operation.",
    ),
    "end_of_service": (
        "The pump has stopped: its battery is exhausted.",
        "Call your clinic now. You are no longer getting drug from the pump.",
    ),
    "motor_stall": (
        "The pump's motor has stopped (for example after an MRI scan).",
        "Call your clinic now: the pump must be checked with the programmer before it delivers drug again.",
    ),
}
ALARM_NAMES = {kind: a.patient_label for kind, a in ALARM_KINDS.items()}  # itdd.pump.events


def alarm_guide() -> list[dict[str, str]]:
    """Every pump alarm: its tone (from the firmware's own severity), what it means and what to do."""
    out = []
    for kind, (_event, severity) in ALARMS.items():
        means, todo = ALARM_HELP[kind]
        out.append(
            {
                "kind": kind,
                "name": ALARM_NAMES[kind],
                "severity": severity,
                "tone": TONES[severity],
                "means": means,
                "todo": todo,
            }
        )
    return sorted(out, key=lambda a: (a["severity"] != "critical", a["name"]))


def _own(ctx: Ctx) -> tuple[Patient, Pump | None]:
    a = ctx.actor
    if a.role != "patient" or a.patient_id is None:
        raise Forbidden("only a patient has a therapy page")
    p = ctx.db.get(Patient, a.patient_id)
    if p is None:  # pragma: no cover - a patient user always has a record
        raise NotFound("your record was not found")
    pump = ctx.db.scalar(select(Pump).where(Pump.patient_id == p.id, Pump.active.is_(True)).order_by(Pump.id))
    return p, pump


def _amount(mg: float, unit: str) -> str:
    return fmt_amount(mg, unit, digits=3)


def my_therapy(ctx: Ctx) -> dict[str, Any]:
    """Everything the My therapy page shows, for the logged-in patient only."""
    patient, pump = _own(ctx)
    clinic = ctx.clinic()
    off = clinic.utc_offset_s
    now = ctx.now_s()
    out: dict[str, Any] = {
        "patient_name": patient.name,
        "now": iso(now, off),
        "pump": None,
        "alarms_guide": alarm_guide(),
    }
    appt = ctx.db.scalar(
        select(Appointment)
        .where(Appointment.patient_id == patient.id, Appointment.status == "scheduled", Appointment.t_s >= now - DAY_S)
        .order_by(Appointment.t_s)
    )
    out["next_appointment"] = None if appt is None else {"at": iso(appt.t_s, off), "kind": appt.kind}
    if pump is None:
        return out
    try:
        drug = get_drug(pump.drug)
        unit, drug_name = drug.dose_unit, drug.name
    except ItddError:
        unit, drug_name = "mg", pump.drug
    rx = ctx.db.scalar(
        select(Prescription)
        .where(Prescription.pump_id == pump.id, Prescription.status == "active")
        .order_by(Prescription.id.desc())
    )
    fw = pump.state.get("firmware", {})
    ptm = fw.get("ptm")
    daily = pump.daily_dose_mg
    out["pump"] = {
        "model": pump.model,
        "serial": pump.serial,
        "drug": drug_name,
        "concentration": f"{_amount(pump.conc_mg_per_ml, unit)} in each mL",
        "daily": _amount(daily, unit),
        "hourly": _amount(daily / 24.0, unit),
        "schedule": rx.description if rx is not None else "",
        "reservoir_ml": pump.estimate_ml,
        "next_refill_at": None if pump.next_refill_t_s is None else iso(pump.next_refill_t_s, off),
        "low_alarm_at": None if pump.low_alarm_t_s is None else iso(pump.low_alarm_t_s, off),
        "days_to_low_alarm": None if pump.low_alarm_t_s is None else (pump.low_alarm_t_s - now) / DAY_S,
        "alarms": [
            {
                "kind": a["type"],
                "name": ALARM_NAMES.get(a["type"], a["type"]),
                "severity": a["severity"],
                "todo": ALARM_HELP.get(a["type"], ("", "Call your clinic."))[1],
            }
            for a in pump.alarms
        ],
    }
    if ptm:
        st = ptm_status(ctx)
        out["ptm"] = {
            "dose": _amount(float(ptm["dose_mg"]), unit),
            "per_day": int(ptm["max_per_day"]),
            "lockout_min": round(float(ptm["lockout_s"]) / 60.0),
            "left": st.boluses_left_24h,
            "used": None if st.boluses_left_24h is None else int(ptm["max_per_day"]) - st.boluses_left_24h,
            "next_allowed_at": None if st.next_allowed_s is None else iso(float(st.next_allowed_s), off),
        }
        rows = ctx.db.scalars(
            select(PumpEvent)
            .where(
                PumpEvent.pump_id == pump.id,
                PumpEvent.type.in_(("ptm_bolus_granted", "ptm_bolus_denied")),
                PumpEvent.t_s >= now - HISTORY_DAYS * DAY_S,
                PumpEvent.t_s <= now,
            )
            .order_by(PumpEvent.t_s.desc())
            .limit(100)
        )
        out["history"] = [
            {
                "at": iso(e.t_s, off),
                "granted": e.type == "ptm_bolus_granted",
                "what": (
                    f"{_amount(float(e.details.get('dose_mg', 0.0)), unit)} given"
                    if e.type == "ptm_bolus_granted"
                    else str(e.details.get("message") or e.details.get("reason", "")).replace("_", " ")
                ),
            }
            for e in rows
        ]
    else:
        out["ptm"] = None
        out["history"] = []
    return out


# ---- contact my clinic ---------------------------------------------------------------------------


def contact_clinic(ctx: Ctx, *, symptoms: list[str], urgency: str, body: str) -> tuple[int, Triage]:
    """The patient's message into the triage inbox (audited); returns its id and the triage decision."""
    patient, _pump = _own(ctx)
    decision = triage_urgency(symptoms, urgency)
    body = body.strip()
    if len(body) > MAX_BODY:
        raise Invalid(f"at most {MAX_BODY} characters", field="message")
    if not body and not symptoms:
        raise Invalid("tick a symptom or write a message", field="message")
    row = TriageMessage(
        clinic_id=ctx.actor.clinic_id,
        patient_id=patient.id,
        user_id=ctx.actor.user_id,
        wall_s=ctx.wall(),
        t_s=ctx.now_s(),
        urgency=decision.urgency,
        symptoms=list(dict.fromkeys(symptoms)),
        body=body,
        status="new",
        note="",
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit(
        "triage.message",
        "triage_message",
        row.id,
        t_s=row.t_s,
        after={"urgency": decision.urgency, "reason": decision.reason, "symptoms": row.symptoms, "chars": len(body)},
    )
    return row.id, decision


def my_messages(ctx: Ctx, limit: int = 20) -> list[dict[str, Any]]:
    patient, _ = _own(ctx)
    off = ctx.clinic().utc_offset_s
    rows = ctx.db.scalars(
        select(TriageMessage)
        .where(TriageMessage.patient_id == patient.id)
        .order_by(TriageMessage.id.desc())
        .limit(limit)
    )
    return [
        {"id": m.id, "at": iso(m.t_s, off), "urgency": m.urgency, "body": m.body, "status": m.status, "note": m.note}
        for m in rows
    ]


def inbox(ctx: Ctx, limit: int = 50) -> list[dict[str, Any]]:
    """The clinic's open triage messages for the dashboard: urgent first, then oldest first."""
    if not ctx.actor.is_clinician:
        raise Forbidden("the triage inbox is for clinicians")
    off = ctx.clinic().utc_offset_s
    rows = list(
        ctx.db.scalars(
            select(TriageMessage)
            .where(TriageMessage.clinic_id == ctx.actor.clinic_id, TriageMessage.status == "new")
            .order_by(TriageMessage.id)
            .limit(500)
        )
    )
    rows.sort(key=lambda m: (-RANK.get(m.urgency, 0), m.wall_s, m.id))
    names = {
        p.id: p.name for p in ctx.db.scalars(select(Patient).where(Patient.id.in_({m.patient_id for m in rows} or {0})))
    }
    return [
        {
            "id": m.id,
            "patient_id": m.patient_id,
            "patient_name": names.get(m.patient_id, "?"),
            "at": iso(m.t_s, off),
            "urgency": m.urgency,
            "symptoms": [SYMPTOMS.get(s, (s,))[0] for s in m.symptoms],
            "body": m.body,
        }
        for m in rows[:limit]
    ]


def handle_message(ctx: Ctx, message_id: int, note: str) -> None:
    if not ctx.actor.is_clinician:
        raise Forbidden("the triage inbox is for clinicians")
    m = ctx.db.get(TriageMessage, message_id)
    if m is None or m.clinic_id != ctx.actor.clinic_id:
        raise NotFound(f"no message {message_id} in your clinic", field="message_id")
    if m.status != "new":
        raise Invalid("this message is already handled", field="message_id")
    note = note.strip()
    if not note:
        raise Invalid("say what was done (for example 'called back, refill brought forward')", field="note")
    if len(note) > MAX_BODY:
        raise Invalid(f"at most {MAX_BODY} characters", field="note")
    m.status = "handled"
    m.note = note
    m.handled_by_id = ctx.actor.user_id
    m.handled_wall_s = ctx.wall()
    ctx.audit("triage.handle", "triage_message", m.id, t_s=ctx.now_s(), after={"note": note})


def user_by_id(ctx: Ctx, user_id: int) -> User | None:
    return ctx.db.get(User, user_id)
