"""The ambassador programme: consent, connection by a coordinator, messages without contact details, ending,
reporting, withdrawal; every step audited."""

from __future__ import annotations

from sqlalchemy import select

from itdd.clinic.models import AuditEntry
from itdd.clinic.patient_side import ambassadors
from itdd.clinic.patient_side.models import AmbassadorProfile, Conversation, ConversationMessage

from .conftest import Clinic


def test_contact_details_are_removed_from_messages() -> None:
    for text in (
        "mail me at rob.c@example.org",
        "ring 07700 900123",
        "+44 113 496 0100 any time",
        "see https://example.org/me",
        "www.example.org",
    ):
        out, redacted = ambassadors.redact(text)
        assert redacted and ambassadors.REMOVED in out, text
    assert ambassadors.redact("I had my pump in 2019, refills every 12 weeks") == (
        "I had my pump in 2019, refills every 12 weeks",
        False,
    )


def _audit(c: Clinic) -> list[str]:
    with c.db.read() as s:
        return [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.action.like("ambassador.%")))]


def test_a_volunteer_and_a_prospective_patient_are_connected_and_talk(clinic: Clinic) -> None:
    c = clinic
    sam, scsrf = c.browser("sam.taylor")
    page = sam.get("/ambassadors").text
    assert ambassadors.NO_ADVICE in page
    # consent is required
    r = sam.post("/ambassadors/request", data={"csrf_token": scsrf, "alias": "Sam", "topics": "deciding"})
    assert r.status_code == 422 and "consent" in r.text
    r = sam.post(
        "/ambassadors/request",
        data={
            "csrf_token": scsrf,
            "alias": "Sam",
            "topics": ["deciding", "refills"],
            "consent": "yes",
            "note": "call me on 07700 900123",
        },
    )
    assert r.status_code == 303
    coord, ccsrf = c.browser("coord.adeyemi")
    cpage = coord.get("/coordinator").text
    assert "Sam" in cpage and "07700" not in cpage and "Rob" in cpage  # the phone number never reaches anyone
    with c.db.read() as s:
        rob_profile = s.scalar(select(AmbassadorProfile).where(AmbassadorProfile.alias == "Rob"))
        assert rob_profile is not None
        rob_pid = rob_profile.id
    import re

    req_id = int(re.search(r"/coordinator/requests/(\d+)/connect", cpage).group(1))  # type: ignore[union-attr]
    r = coord.post(f"/coordinator/requests/{req_id}/connect", data={"csrf_token": ccsrf, "volunteer": str(rob_pid)})
    assert r.status_code == 303
    assert (
        coord.post(
            f"/coordinator/requests/{req_id}/connect", data={"csrf_token": ccsrf, "volunteer": str(rob_pid)}
        ).status_code
        == 409
    )
    with c.db.read() as s:
        conv = s.scalar(select(Conversation))
        assert conv is not None
        cid = conv.id
    rob, rcsrf = c.browser("robert.chen")
    assert "Conversation with Sam" in rob.get("/ambassadors").text
    r = sam.post(f"/conversations/{cid}/messages", data={"csrf_token": scsrf, "message": "Hi Rob, does it hurt?"})
    assert r.status_code == 303
    r = rob.post(
        f"/conversations/{cid}/messages",
        data={"csrf_token": rcsrf, "message": "Hi Sam! Only at refills. Email me: rob@example.org"},
    )
    assert r.status_code == 303
    page = sam.get(f"/conversations/{cid}").text
    assert "Only at refills" in page and "rob@example.org" not in page and ambassadors.REMOVED in page
    assert "Robert Chen" not in page and "Sam Taylor" not in rob.get(f"/conversations/{cid}").text
    assert ambassadors.NO_ADVICE in page
    # a patient who is not part of it: the conversation does not exist for them
    linda, lcsrf = c.browser("linda.park")
    assert linda.get(f"/conversations/{cid}").status_code == 404
    assert linda.post(f"/conversations/{cid}/messages", data={"csrf_token": lcsrf, "message": "x"}).status_code == 404
    # report, then end; after the end nobody can write
    assert sam.post(f"/conversations/{cid}/report", data={"csrf_token": scsrf, "reason": "pushy"}).status_code == 303
    assert "pushy" in coord.get("/coordinator").text
    assert rob.post(f"/conversations/{cid}/end", data={"csrf_token": rcsrf}).status_code == 303
    r = sam.post(f"/conversations/{cid}/messages", data={"csrf_token": scsrf, "message": "still there?"})
    assert r.status_code == 409
    assert "ended by the volunteer" in sam.get(f"/conversations/{cid}").text
    with c.db.read() as s:
        msgs = list(s.scalars(select(ConversationMessage)))
        assert [m.redacted for m in msgs] == [False, True]
    assert _audit(c) == [
        "ambassador.request",
        "ambassador.connect",
        "ambassador.message",
        "ambassador.message",
        "ambassador.report",
        "ambassador.end",
    ]


def test_a_volunteer_opts_in_and_withdraws_which_deletes_the_profile(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    linda, csrf = c.browser("linda.park")
    form = {"csrf_token": csrf, "alias": "Lin", "topics": ["travel", "family"], "about": "mail lin@example.org"}
    r = linda.post("/ambassadors/volunteer", data=form)
    assert r.status_code == 422 and "consent" in r.text  # no consent, no profile
    r = linda.post("/ambassadors/volunteer", data={**form, "alias": "Lin 07700900123", "consent": "yes"})
    assert r.status_code == 422 and "alias" in r.text
    r = linda.post("/ambassadors/volunteer", data={**form, "topics": "politics", "consent": "yes"})
    assert r.status_code == 422 and "topics" in r.text
    assert linda.post("/ambassadors/volunteer", data={**form, "consent": "yes"}).status_code == 303
    with c.db.read() as s:
        p = s.scalar(select(AmbassadorProfile).where(AmbassadorProfile.alias == "Lin"))
        assert p is not None and p.topics == ["travel", "family"] and "lin@example.org" not in p.about
    # connected to Sam, then Linda withdraws: profile gone, the conversation ended
    sam, scsrf = c.browser("sam.taylor")
    sam.post("/ambassadors/request", data={"csrf_token": scsrf, "alias": "Sam", "topics": "travel", "consent": "yes"})
    coord, ccsrf = c.browser("coord.adeyemi")
    with c.db.read() as s:
        pid = s.scalar(select(AmbassadorProfile.id).where(AmbassadorProfile.alias == "Lin"))
        from itdd.clinic.patient_side.models import AmbassadorRequest

        rid = s.scalar(select(AmbassadorRequest.id))
    assert (
        coord.post(
            f"/coordinator/requests/{rid}/connect", data={"csrf_token": ccsrf, "volunteer": str(pid)}
        ).status_code
        == 303
    )
    assert linda.post("/ambassadors/withdraw", data={"csrf_token": csrf}).status_code == 303
    with c.db.read() as s:
        assert s.scalar(select(AmbassadorProfile).where(AmbassadorProfile.alias == "Lin")) is None
        conv = s.scalar(select(Conversation))
        assert conv is not None and conv.status == "ended" and "withdrew" in conv.ended_reason
    assert "Lin" not in coord.get("/coordinator").text.split("Volunteers")[1].split("</section>")[0]
    r = linda.post("/ambassadors/withdraw", data={"csrf_token": csrf})
    assert r.status_code == 422  # nothing left to withdraw
    assert _audit(c) == [
        "ambassador.volunteer",
        "ambassador.request",
        "ambassador.connect",
        "ambassador.end",
        "ambassador.withdraw",
    ]


def test_a_coordinator_sees_only_their_clinics_programme(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    coord, _ = c.browser("coord.adeyemi")
    page = coord.get("/coordinator").text
    assert "Rob" in page and "Ana" not in page  # Ana volunteers at Northgate
