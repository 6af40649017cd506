"""The ambassador programme: a patient living with the therapy volunteers to talk about it; a prospective
patient asks for a conversation; a coordinator connects them; they message inside the app.

Rules (each guarded by a test in tests/clinic/test_patient_ambassadors.py):

* every step needs the person's explicit consent (a ticked box), and every step is audited;
* a volunteer withdraws at any time: their profile is deleted and their open conversations end;
* each side sees only the other's alias (chosen by them), never a name, a record or contact details; e-mail
  addresses and phone numbers typed into a message are replaced by "[contact details removed]";
* either side can end a conversation or report it to the coordinator; a volunteer never sees a prospective
  patient's record (they have none in the clinic, and the volunteer's role opens no clinical page);
* volunteers share experience, never medical advice — the pages say so.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select

from ..models import User
from ..problems import Conflict, Forbidden, Invalid, NotFound
from ..services import Ctx
from .models import (
    TOPICS,
    AmbassadorProfile,
    AmbassadorRequest,
    Conversation,
    ConversationMessage,
    ConversationReport,
)

NO_ADVICE = (
    "Volunteers share their own experience of living with a drug pump. They are not clinicians and never give "
    "medical advice: questions about your treatment, your dose or your symptoms are for your doctor or clinic."
)
MAX_MESSAGE = 2000
MAX_ABOUT = 600
ALIAS = re.compile(r"^[A-Za-zÀ-ÿ' .\-]{2,40}$")
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+")
PHONE = re.compile(r"(?<!\w)\+?\d[\d ()\-.]{6,}\d(?!\w)")
URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
REMOVED = "[contact details removed]"


def redact(text: str) -> tuple[str, bool]:
    """Remove e-mail addresses, phone numbers and links (the app keeps contact details out of conversations)."""
    out = EMAIL.sub(REMOVED, text)
    out = URL.sub(REMOVED, out)
    out = PHONE.sub(REMOVED, out)
    return out, out != text


def _consent(value: bool, field: str = "consent") -> None:
    if not value:
        raise Invalid("tick the box to give your consent", field=field)


def _alias(value: str) -> str:
    v = value.strip()
    if not ALIAS.match(v):
        raise Invalid("2-40 letters (a first name or a nickname; no numbers or contact details)", field="alias")
    return v


def _topics(values: list[str]) -> list[str]:
    if not values:
        raise Invalid("choose at least one topic", field="topics")
    for v in values:
        if v not in TOPICS:
            raise Invalid(f"unknown topic {v!r}", field="topics")
    return list(dict.fromkeys(values))


def _role(ctx: Ctx, *roles: str) -> None:
    if ctx.actor.role not in roles:
        raise Forbidden(f"a {ctx.actor.role} may not do this")


# ---- volunteers --------------------------------------------------------------------------------


def my_profile(ctx: Ctx) -> AmbassadorProfile | None:
    return ctx.db.scalar(select(AmbassadorProfile).where(AmbassadorProfile.user_id == ctx.actor.user_id))


def volunteer(ctx: Ctx, *, alias: str, topics: list[str], about: str, consent: bool) -> int:
    """A patient opts in (or updates their profile)."""
    _role(ctx, "patient")
    _consent(consent)
    alias_, topics_ = _alias(alias), _topics(topics)
    about = about.strip()
    if len(about) > MAX_ABOUT:
        raise Invalid(f"at most {MAX_ABOUT} characters", field="about")
    about, _ = redact(about)
    p = my_profile(ctx)
    before = None if p is None else {"alias": p.alias, "topics": p.topics}
    if p is None:
        p = AmbassadorProfile(user_id=ctx.actor.user_id, clinic_id=ctx.actor.clinic_id)
        ctx.db.add(p)
    p.alias, p.topics, p.about, p.consent_wall_s = alias_, topics_, about, ctx.wall()
    ctx.db.flush()
    ctx.audit(
        "ambassador.volunteer",
        "ambassador_profile",
        p.id,
        t_s=None,
        before=before,
        after={"alias": alias_, "topics": topics_, "consent": True},
    )
    return p.id


def withdraw(ctx: Ctx) -> None:
    """The volunteer withdraws: the profile is deleted and every open conversation of theirs ends."""
    _role(ctx, "patient")
    p = my_profile(ctx)
    if p is None:
        raise Invalid("you are not a volunteer: there is no profile to withdraw", field="profile")
    for c in ctx.db.scalars(
        select(Conversation).where(Conversation.volunteer_user_id == ctx.actor.user_id, Conversation.status == "open")
    ):
        _end(ctx, c, "the volunteer withdrew from the programme")
    pid = p.id
    ctx.db.delete(p)
    ctx.audit("ambassador.withdraw", "ambassador_profile", pid, t_s=None, after={"profile": "deleted"})


# ---- prospective patients ------------------------------------------------------------------------


def my_requests(ctx: Ctx) -> list[AmbassadorRequest]:
    return list(
        ctx.db.scalars(
            select(AmbassadorRequest)
            .where(AmbassadorRequest.user_id == ctx.actor.user_id)
            .order_by(AmbassadorRequest.id.desc())
        )
    )


def ask(ctx: Ctx, *, alias: str, topics: list[str], note: str, consent: bool) -> int:
    _role(ctx, "prospective")
    _consent(consent)
    alias_, topics_ = _alias(alias), _topics(topics)
    note = note.strip()
    if len(note) > MAX_ABOUT:
        raise Invalid(f"at most {MAX_ABOUT} characters", field="note")
    note, _ = redact(note)
    if any(r.status == "pending" for r in my_requests(ctx)):
        raise Conflict("you already have a request waiting for the coordinator", field="request")
    now = ctx.wall()
    r = AmbassadorRequest(
        clinic_id=ctx.actor.clinic_id,
        user_id=ctx.actor.user_id,
        alias=alias_,
        topics=topics_,
        note=note,
        consent_wall_s=now,
        wall_s=now,
        status="pending",
        decided_by_id=None,
    )
    ctx.db.add(r)
    ctx.db.flush()
    ctx.audit("ambassador.request", "ambassador_request", r.id, t_s=None, after={"topics": topics_, "consent": True})
    return r.id


# ---- coordinator ---------------------------------------------------------------------------------


def coordinator_view(ctx: Ctx) -> dict[str, Any]:
    _role(ctx, "coordinator")
    cid = ctx.actor.clinic_id
    pending = list(
        ctx.db.scalars(
            select(AmbassadorRequest)
            .where(AmbassadorRequest.clinic_id == cid, AmbassadorRequest.status == "pending")
            .order_by(AmbassadorRequest.id)
        )
    )
    volunteers = list(
        ctx.db.scalars(
            select(AmbassadorProfile).where(AmbassadorProfile.clinic_id == cid).order_by(AmbassadorProfile.alias)
        )
    )
    convs = list(
        ctx.db.scalars(
            select(Conversation).where(Conversation.clinic_id == cid).order_by(Conversation.id.desc()).limit(50)
        )
    )
    reports = list(
        ctx.db.scalars(
            select(ConversationReport)
            .join(Conversation, Conversation.id == ConversationReport.conversation_id)
            .where(Conversation.clinic_id == cid, ConversationReport.status == "open")
            .order_by(ConversationReport.id)
        )
    )
    return {"pending": pending, "volunteers": volunteers, "conversations": convs, "reports": reports}


def _request(ctx: Ctx, request_id: int) -> AmbassadorRequest:
    _role(ctx, "coordinator")
    r = ctx.db.get(AmbassadorRequest, request_id)
    if r is None or r.clinic_id != ctx.actor.clinic_id:
        raise NotFound(f"no request {request_id} in your clinic", field="request_id")
    if r.status != "pending":
        raise Conflict(f"this request is already {r.status}", field="request_id")
    return r


def connect(ctx: Ctx, request_id: int, volunteer_profile_id: int) -> int:
    r = _request(ctx, request_id)
    p = ctx.db.get(AmbassadorProfile, volunteer_profile_id)
    if p is None or p.clinic_id != ctx.actor.clinic_id:
        raise Invalid("choose a volunteer of your clinic's programme", field="volunteer")
    c = Conversation(
        clinic_id=r.clinic_id,
        request_id=r.id,
        volunteer_user_id=p.user_id,
        prospective_user_id=r.user_id,
        volunteer_alias=p.alias,
        prospective_alias=r.alias,
        coordinator_id=ctx.actor.user_id,
        status="open",
        started_wall_s=ctx.wall(),
        ended_wall_s=None,
        ended_reason="",
    )
    ctx.db.add(c)
    r.status, r.decided_by_id = "connected", ctx.actor.user_id
    ctx.db.flush()
    ctx.audit(
        "ambassador.connect",
        "ambassador_conversation",
        c.id,
        t_s=None,
        after={"request_id": r.id, "volunteer_profile_id": p.id},
    )
    return c.id


def decline(ctx: Ctx, request_id: int, reason: str) -> None:
    r = _request(ctx, request_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("say why (the prospective patient sees it)", field="reason")
    if len(reason) > MAX_ABOUT:
        raise Invalid(f"at most {MAX_ABOUT} characters", field="reason")
    r.status, r.decided_by_id = "declined", ctx.actor.user_id
    r.note = (r.note + "\n\nCoordinator: " + reason).strip()
    ctx.audit("ambassador.decline", "ambassador_request", r.id, t_s=None, after={"reason": reason})


def close_report(ctx: Ctx, report_id: int, end_conversation: bool) -> None:
    _role(ctx, "coordinator")
    rep = ctx.db.get(ConversationReport, report_id)
    conv = None if rep is None else ctx.db.get(Conversation, rep.conversation_id)
    if rep is None or conv is None or conv.clinic_id != ctx.actor.clinic_id:
        raise NotFound(f"no report {report_id} in your clinic", field="report_id")
    if rep.status != "open":
        raise Conflict("this report is already closed", field="report_id")
    rep.status = "closed"
    if end_conversation and conv.status == "open":
        _end(ctx, conv, "ended by the coordinator after a report")
    ctx.audit("ambassador.report_close", "ambassador_report", rep.id, t_s=None, after={"ended": end_conversation})


# ---- conversations -------------------------------------------------------------------------------


def my_conversations(ctx: Ctx) -> list[Conversation]:
    _role(ctx, "patient", "prospective")
    uid = ctx.actor.user_id
    return list(
        ctx.db.scalars(
            select(Conversation)
            .where(or_(Conversation.volunteer_user_id == uid, Conversation.prospective_user_id == uid))
            .order_by(Conversation.id.desc())
        )
    )


def conversation(ctx: Ctx, conversation_id: int) -> Conversation:
    """A conversation the actor takes part in; any other does not exist for them (404)."""
    _role(ctx, "patient", "prospective")
    c = ctx.db.get(Conversation, conversation_id)
    uid = ctx.actor.user_id
    if c is None or uid not in (c.volunteer_user_id, c.prospective_user_id):
        raise NotFound(f"no conversation {conversation_id} of yours", field="conversation_id")
    return c


def view(ctx: Ctx, conversation_id: int) -> dict[str, Any]:
    c = conversation(ctx, conversation_id)
    me_volunteer = c.volunteer_user_id == ctx.actor.user_id
    msgs = ctx.db.scalars(
        select(ConversationMessage).where(ConversationMessage.conversation_id == c.id).order_by(ConversationMessage.id)
    )
    return {
        "id": c.id,
        "status": c.status,
        "ended_reason": c.ended_reason,
        "me": "volunteer" if me_volunteer else "prospective",
        "me_alias": c.volunteer_alias if me_volunteer else c.prospective_alias,
        "other_alias": c.prospective_alias if me_volunteer else c.volunteer_alias,
        "messages": [
            {
                "mine": m.sender_user_id == ctx.actor.user_id,
                "who": c.volunteer_alias if m.sender_user_id == c.volunteer_user_id else c.prospective_alias,
                "wall_s": m.wall_s,
                "body": m.body,
                "redacted": m.redacted,
            }
            for m in msgs
        ],
    }


def send(ctx: Ctx, conversation_id: int, body: str) -> tuple[int, bool]:
    c = conversation(ctx, conversation_id)
    if c.status != "open":
        raise Conflict("this conversation has ended", field="conversation_id")
    text = body.strip()
    if not text:
        raise Invalid("write a message", field="message")
    if len(text) > MAX_MESSAGE:
        raise Invalid(f"at most {MAX_MESSAGE} characters", field="message")
    clean, redacted = redact(text)
    m = ConversationMessage(
        conversation_id=c.id, sender_user_id=ctx.actor.user_id, wall_s=ctx.wall(), body=clean, redacted=redacted
    )
    ctx.db.add(m)
    ctx.db.flush()
    ctx.audit(
        "ambassador.message",
        "ambassador_message",
        m.id,
        t_s=None,
        after={"conversation_id": c.id, "chars": len(clean), "redacted": redacted},
    )
    return m.id, redacted


def _end(ctx: Ctx, c: Conversation, reason: str) -> None:
    c.status, c.ended_wall_s, c.ended_reason = "ended", ctx.wall(), reason
    ctx.audit("ambassador.end", "ambassador_conversation", c.id, t_s=None, after={"reason": reason})


def end(ctx: Ctx, conversation_id: int) -> None:
    c = conversation(ctx, conversation_id)
    if c.status != "open":
        raise Conflict("this conversation has already ended", field="conversation_id")
    who = "the volunteer" if c.volunteer_user_id == ctx.actor.user_id else "the prospective patient"
    _end(ctx, c, f"ended by {who}")


def report(ctx: Ctx, conversation_id: int, reason: str) -> int:
    c = conversation(ctx, conversation_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("say what happened", field="reason")
    if len(reason) > MAX_ABOUT:
        raise Invalid(f"at most {MAX_ABOUT} characters", field="reason")
    rep = ConversationReport(
        conversation_id=c.id, reporter_user_id=ctx.actor.user_id, reason=reason, wall_s=ctx.wall(), status="open"
    )
    ctx.db.add(rep)
    ctx.db.flush()
    ctx.audit("ambassador.report", "ambassador_report", rep.id, t_s=None, after={"conversation_id": c.id})
    return rep.id


def alias_of(ctx: Ctx, user_id: int) -> str:
    u = ctx.db.get(User, user_id)
    return "?" if u is None else u.display_name
