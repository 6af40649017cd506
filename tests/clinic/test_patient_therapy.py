"""The decision aid, My therapy and Contact my clinic (with the nurses' triage panel)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from itdd.clinic.models import AuditEntry
from itdd.clinic.patient_side import decision_aid, therapy
from itdd.clinic.patient_side.models import TriageMessage
from itdd.clinic.problems import Invalid

from .conftest import Clinic

VERDICT_WORDS = re.compile(
    r"\b(eligible|ineligible|not suitable|suitable for|you are a (good )?candidate|approved)\b", re.I
)


# ---- decision aid (pure) ---------------------------------------------------------------------------


def answers_strategy() -> st.SearchStrategy[dict[str, list[str]]]:
    parts = {}
    for q in decision_aid.QUESTIONS:
        values = [o.value for o in q.options]
        if q.multiple:
            parts[q.key] = st.lists(st.sampled_from(values), unique=True)
        else:
            parts[q.key] = st.one_of(st.just([]), st.sampled_from(values).map(lambda v: [v]))
    return st.fixed_dictionaries(parts)


@given(answers_strategy())
def test_the_summary_never_gives_a_verdict(answers: dict[str, list[str]]) -> None:
    s = decision_aid.summarise(decision_aid.parse(answers))
    text = " ".join(f"{p.topic} {p.answer} {p.faq} {p.ask}" for p in s.points)
    assert not VERDICT_WORDS.search(text)
    assert not VERDICT_WORDS.search(decision_aid.NOT_A_VERDICT.replace("not a recommendation", ""))
    # every answered question appears; the unanswered ones are listed, never silently dropped
    answered_single = [q for q in decision_aid.QUESTIONS if not q.multiple and answers[q.key]]
    assert len(s.points) == len(answered_single) + 1  # + the (multiple-choice) treatments tried
    assert len(s.unanswered) == sum(1 for q in decision_aid.QUESTIONS if not q.multiple and not answers[q.key])


def test_the_faqs_criteria_raise_the_right_points() -> None:
    s = decision_aid.summarise(
        decision_aid.parse({"pain_where": ["other"], "tried": [], "infection": ["yes"], "neurostim": ["yes"]})
    )
    flagged = {p.topic for p in s.flagged}
    # headaches etc. are not treated; nothing tried yet; an active infection: all three raised first
    assert flagged == {"The kind of pain", "Treatments already tried", "Infection"}
    where = next(p for p in s.points if p.topic == "The kind of pain")
    assert "headaches" in where.faq
    s2 = decision_aid.summarise(decision_aid.parse({"pain_where": ["limb"], "tried": ["physio"], "neurostim": ["no"]}))
    assert "neurostimulation" in next(p for p in s2.points if p.topic == "The kind of pain").faq
    assert "The alternative: neurostimulation" in {p.topic for p in s2.flagged}


def test_an_unknown_answer_is_refused_naming_the_question() -> None:
    with pytest.raises(Invalid) as e:
        decision_aid.parse({"infection": ["perhaps"]})
    assert e.value.field == "infection"
    with pytest.raises(Invalid) as e:
        decision_aid.parse({"pain_where": ["limb", "widespread"]})
    assert e.value.field == "pain_where"


def test_the_decision_aid_is_public_and_ends_with_a_printable_summary(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    r = c.client.get("/decide")
    assert r.status_code == 200 and "neurostimulation" in r.text
    r = c.client.post(
        "/decide", data={"pain_where": "widespread", "tried": ["medication", "physio"], "infection": "no"}
    )
    assert r.status_code == 200
    assert 'data-testid="not-a-verdict"' in r.text and "data-print" in r.text
    assert "Pain medication by mouth, Physical therapy" in r.text
    r = c.client.post("/decide", data={"infection": "maybe"})
    assert r.status_code == 422 and "infection" in r.text
    with c.db.read() as s:  # nothing about an anonymous visitor is kept
        assert s.scalar(select(AuditEntry).where(AuditEntry.action.like("decide%"))) is None


# ---- My therapy ------------------------------------------------------------------------------------


def _text(html: str, testid: str) -> str:
    m = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:b|p|table|section)>', html, re.S)
    assert m, testid
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


def test_my_therapy_in_plain_words(sqlite_clinic: Clinic) -> None:
    b, _ = sqlite_clinic.browser("linda.park")
    page = b.get("/my/therapy")
    assert page.status_code == 200
    html = page.text
    # Linda (demo): morphine 10 mg/mL at 2 mg/day; patient bolus 0.2 mg, 4 a day, 3 h lockout
    assert _text(html, "daily-dose") == "2 mg of morphine a day"
    assert "about 0.0833 mg an hour" in html  # 2 / 24
    # refilled 20 mL 30 days ago; 0.2 mL/day (2 mg/day / 10 mg/mL) and two 0.02 mL boluses since:
    # 20 - 6 - 0.04 = 13.96 mL; the 2 mL alarm after (13.96 - 2) / 0.2 = 59.8 days: 2 March 09:00 -> 1 May
    assert "01 May 2026" in _text(html, "alarm-date")
    # boluses 1 h and exactly 24 h before now: the 24 h window has only the later one
    assert _text(html, "boluses-used") == "1" and _text(html, "boluses-left") == "3"
    history = _text(html, "bolus-history")
    assert history.count("0.2 mg given") == 2
    for section in ("alarm-guide", "mri", "daily-life", "signs", "contact"):
        assert f'data-testid="{section}"' in html
    assert "3 seconds" in html and "1 second" in html  # the two alarm tones
    assert html.index('data-testid="emergency-note"') < html.index("Too much drug")


def test_the_alarm_guide_covers_every_firmware_alarm() -> None:
    from itdd.pump.firmware import ALARMS

    guide = therapy.alarm_guide()
    assert {a["kind"] for a in guide} == set(ALARMS)
    assert all(a["tone"] == therapy.TONES[ALARMS[a["kind"]][1]] for a in guide)
    assert [a["severity"] for a in guide] == sorted((a["severity"] for a in guide), key=lambda s: s != "critical")


# ---- Contact my clinic and the triage panel ----------------------------------------------------------


@pytest.mark.parametrize("symptom", [k for k, v in therapy.SYMPTOMS.items() if v[1] == "urgent"])
@pytest.mark.parametrize("chosen", ["routine", "soon", "urgent"])
def test_an_urgent_symptom_always_makes_the_message_urgent(symptom: str, chosen: str) -> None:
    d = therapy.triage_urgency([symptom, "other"], chosen)
    assert d.urgency == "urgent" and d.emergency_first


def test_the_patients_choice_is_raised_never_lowered() -> None:
    assert therapy.triage_urgency([], "soon").urgency == "soon"
    assert therapy.triage_urgency(["refill_question"], "soon").urgency == "soon"
    assert therapy.triage_urgency(["pain_back"], "routine").urgency == "soon"
    assert not therapy.triage_urgency(["pain_back"], "routine").emergency_first
    with pytest.raises(Invalid) as e:
        therapy.triage_urgency(["itchy"], "routine")
    assert e.value.field == "symptoms"


def test_contact_my_clinic_reaches_the_nurses_panel_urgent_first(clinic: Clinic) -> None:
    c = clinic
    lb, lcsrf = c.browser("linda.park")
    r = lb.post(
        "/my/contact",
        data={
            "csrf_token": lcsrf,
            "symptoms": "refill_question",
            "urgency": "routine",
            "message": "Can I come on Friday?",
        },
    )
    assert r.status_code == 303
    rb, rcsrf = c.browser("robert.chen")
    r = rb.post(
        "/my/contact",
        data={
            "csrf_token": rcsrf,
            "symptoms": "slow_breathing",
            "urgency": "routine",
            "message": "My wife says I breathe slowly",
        },
    )
    assert r.status_code == 200  # the page itself, with the emergency instruction first
    assert r.text.index('data-testid="emergency"') < r.text.index("<h1>My therapy</h1>")
    nb, ncsrf = c.browser("nurse.okafor")
    dash = nb.get("/").text
    panel = dash[dash.index('data-testid="triage"') :]
    assert panel.index("Robert Chen") < panel.index("Linda Park")  # urgent first, though sent later
    assert 'data-urgency="urgent"' in panel and "Slow or shallow breathing" in panel
    # Northgate's nurse sees none of it
    kb, _ = c.browser("nurse.kowalski")
    assert "Linda Park" not in kb.get("/").text
    with c.db.read() as s:
        rows = list(s.scalars(select(TriageMessage).order_by(TriageMessage.id)))
        assert [m.urgency for m in rows] == ["routine", "urgent"]
        ids = [m.id for m in rows]
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.action.like("triage.%")))]
        assert actions == ["triage.message", "triage.message"]
    # handling needs a note, then the message leaves the panel and the patient sees the answer
    r = nb.post(f"/triage/{ids[1]}/handle", data={"csrf_token": ncsrf, "note": ""})
    assert r.status_code == 422 and "note" in r.text
    r = nb.post(f"/triage/{ids[1]}/handle", data={"csrf_token": ncsrf, "note": "Called: naloxone protocol"})
    assert r.status_code == 303
    assert "Robert Chen" not in nb.get("/").text.split('data-testid="triage"')[1].split("</section>")[0]
    assert "naloxone protocol" in rb.get("/my/therapy").text
    kb2, kcsrf = c.browser("nurse.kowalski")
    assert kb2.post(f"/triage/{ids[0]}/handle", data={"csrf_token": kcsrf, "note": "x"}).status_code == 404


def test_contact_form_errors_name_the_field_and_keep_the_text(sqlite_clinic: Clinic) -> None:
    b, csrf = sqlite_clinic.browser("linda.park")
    r = b.post("/my/contact", data={"csrf_token": csrf, "urgency": "whenever", "message": "keep me"})
    assert r.status_code == 422 and "urgency" in r.text and "keep me" in r.text
    r = b.post("/my/contact", data={"csrf_token": csrf, "urgency": "routine", "message": "x" * 2001})
    assert r.status_code == 422 and "message" in r.text
    r = b.post("/my/contact", data={"csrf_token": csrf, "urgency": "routine"})
    assert r.status_code == 422
    r = b.post("/my/contact", data={"urgency": "routine", "message": "no token"})
    assert r.status_code == 403
