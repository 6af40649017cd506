"""Browser tests of the patient side: Playwright driving Debian's Chromium against a real ``itdd serve``.

The flows of issue 12 (a prospective patient uses the decision aid and finds the nearest centre; a patient
reads My therapy and contacts the clinic, and the nurse sees it; a coordinator connects a volunteer and a
prospective patient, who exchange messages), axe-core on every patient-facing page (no serious or critical
violation) and every one of those pages at a 375 px phone width (no horizontal scrolling).  Screenshots go to
``test-artifacts/clinic/patient/`` (git-ignored).  Chromium is never downloaded (``/usr/bin/chromium``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clinic.conftest import login_form_token
from tests.conftest import require

from .server import ROOT, Server
from .test_browser import ARGS, CHROMIUM, PASSWORD

pytestmark = pytest.mark.browser
SHOTS = ROOT / "test-artifacts" / "clinic" / "patient"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    s = Server(sqlite_url, log=tmp_path / "server.log")
    yield s
    s.stop()


@pytest.fixture
def browser(server: Server) -> Iterator[Any]:
    require(CHROMIUM.exists(), f"Debian Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def new_page(browser: Any, server: Server, user: str | None = None, viewport: dict[str, int] = DESKTOP) -> Any:
    context = browser.new_context(viewport=viewport, base_url=server.url)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    if user:
        pg.goto("/login")
        pg.fill("input[name=username]", user)
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_load_state("networkidle")
    return pg


def test_a_prospective_patient_uses_the_decision_aid_and_finds_the_nearest_centre(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    pg = new_page(browser, server)
    pg.goto("/decide")
    expect(pg.locator("h1")).to_have_text("Is targeted drug delivery for me?")
    pg.get_by_label("In many parts of my body, or across my trunk").check()
    pg.get_by_label("Pain medication by mouth").check()
    pg.get_by_label("Physical therapy").check()
    pg.locator("[data-testid=q-infection]").get_by_label("No", exact=True).check()
    pg.locator("[data-testid=q-body_size]").get_by_label("I am not sure").check()
    pg.locator("[data-testid=q-not_cure]").get_by_label("I understand this").check()
    pg.locator("[data-testid=q-neurostim]").get_by_label("No", exact=True).check()
    pg.screenshot(path=str(SHOTS / "1-decision-aid.png"), full_page=True)
    pg.click("[data-testid=make-summary]")
    expect(pg.locator("h1")).to_have_text("Summary to bring to my doctor")
    expect(pg.locator("[data-testid=not-a-verdict]")).to_contain_text("not a recommendation")
    expect(pg.locator("[data-testid=flagged]")).to_contain_text("Body size")
    expect(pg.locator("[data-testid=flagged]")).to_contain_text("neurostimulation")
    pg.screenshot(path=str(SHOTS / "2-decision-summary.png"), full_page=True)
    pg.get_by_role("link", name="Find a pain centre near me").click()
    pg.fill("[data-testid=centre-q]", "LS6 3HN")
    pg.check("[data-testid=offer-trials]")
    pg.click("[data-testid=centre-go]")
    first = pg.locator("[data-testid=centre]").first
    expect(first).to_have_attribute("data-name", "Riverside Pain & Spasticity Clinic")
    expect(pg.locator("h2#results-h")).to_contain_text("postcode area LS (Leeds)")
    # York Hospital (trials) is farther; Harrogate (refills only) is filtered out
    expect(pg.locator("[data-testid=centre-results]")).not_to_contain_text("Harrogate")
    expect(first.locator("[data-testid=distance]")).to_have_text("0.0 km")
    pg.screenshot(path=str(SHOTS / "3-nearest-centre.png"), full_page=True)


def test_a_patient_reads_my_therapy_contacts_the_clinic_and_the_nurse_sees_it(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    pg = new_page(browser, server, "linda.park")
    pg.get_by_role("link", name="My therapy").click()
    expect(pg.locator("[data-testid=daily-dose]")).to_have_text("2 mg of morphine a day")
    expect(pg.locator("[data-testid=alarm-date]")).to_contain_text("01 May 2026")
    expect(pg.locator("[data-testid=boluses-left]")).to_have_text("3")
    pg.screenshot(path=str(SHOTS / "4-my-therapy.png"), full_page=True)
    pg.check("[data-testid=symptom-very_drowsy]")
    pg.fill("[data-testid=contact-message]", "Very sleepy since this morning.")
    pg.click("[data-testid=contact-send]")
    emergency = pg.locator("[data-testid=emergency]")
    expect(emergency).to_be_visible()
    expect(emergency).to_contain_text("call the emergency number")
    box = emergency.bounding_box()
    h1 = pg.locator("h1").bounding_box()
    assert box is not None and h1 is not None and box["y"] < h1["y"]  # the emergency instruction comes first
    pg.screenshot(path=str(SHOTS / "5-contact-urgent.png"), full_page=True)
    nurse = new_page(browser, server, "nurse.okafor")
    row = nurse.locator("[data-testid=triage] tbody tr").first
    expect(row).to_have_attribute("data-patient", "Linda Park")
    expect(row).to_have_attribute("data-urgency", "urgent")
    expect(row).to_contain_text("Very sleepy since this morning.")
    nurse.locator("#triage").screenshot(path=str(SHOTS / "6-nurse-triage-panel.png"))
    row.locator("input[name=note]").fill("Called back; came in, dose reviewed")
    row.get_by_role("button", name="Done").click()
    expect(nurse.locator("[data-testid=triage]")).to_contain_text("No message waiting")
    pg.goto("/my/therapy#contact")
    expect(pg.locator("[data-testid=my-messages]")).to_contain_text("dose reviewed")


def test_a_coordinator_connects_a_volunteer_and_a_prospective_patient_who_exchange_messages(
    browser: Any, server: Server
) -> None:
    from playwright.sync_api import expect

    sam = new_page(browser, server, "sam.taylor")
    expect(sam.locator("[data-testid=no-advice]")).to_contain_text("never give medical advice")
    sam.fill("[data-testid=alias]", "Sam")
    sam.check("[data-testid=topic-deciding]")
    sam.check("[data-testid=topic-daily-life]")
    sam.check("[data-testid=consent]")
    sam.click("[data-testid=request-send]")
    expect(sam.locator("[data-testid=request-status]").first).to_contain_text("pending")
    coord = new_page(browser, server, "coord.adeyemi")
    req = coord.locator("[data-testid=pending-request]").first
    expect(req).to_contain_text("Sam")
    req.locator("[data-testid=choose-volunteer]").select_option(
        label="Rob — deciding, the operation, refills, daily life, work"
    )
    coord.screenshot(path=str(SHOTS / "7-coordinator.png"), full_page=True)
    req.locator("[data-testid=connect]").click()
    expect(coord.locator("[data-testid=done]")).to_contain_text("Connected")
    sam.goto("/ambassadors")
    sam.locator("[data-testid=conversation-link]").first.click()
    sam.fill("[data-testid=message-input]", "Hello Rob, what is a refill like? My number is 07700 900123.")
    sam.click("[data-testid=send]")
    expect(sam.locator("[data-testid=message]").last).to_contain_text("[contact details removed]")
    rob = new_page(browser, server, "robert.chen")
    rob.goto("/ambassadors")
    rob.locator("[data-testid=conversation-link]").first.click()
    expect(rob.locator("h1")).to_have_text("Conversation with Sam")
    expect(rob.locator("[data-testid=messages]")).not_to_contain_text("07700")
    rob.fill("[data-testid=message-input]", "Hi Sam: a small needle, ten minutes, every few months.")
    rob.click("[data-testid=send]")
    sam.reload()
    expect(sam.locator("[data-testid=message]").last).to_contain_text("ten minutes")
    sam.screenshot(path=str(SHOTS / "8-conversation.png"), full_page=True)


def _setup_conversation(server: Server) -> str:
    """Over HTTP (as the browser would): Sam asks, the coordinator connects Rob; returns the conversation's path."""

    def client(user: str) -> tuple[httpx.Client, str]:
        c = httpx.Client(base_url=server.url, follow_redirects=False)
        token = login_form_token(c)
        c.post("/login", data={"username": user, "password": PASSWORD, "next": "/", "csrf_token": token})
        return c, c.get("/api/v1/me").json()["csrf_token"]

    sam, scsrf = client("sam.taylor")
    sam.post("/ambassadors/request", data={"csrf_token": scsrf, "alias": "Sam", "topics": "deciding", "consent": "yes"})
    coord, ccsrf = client("coord.adeyemi")
    page = coord.get("/coordinator").text
    rid = re.search(r"/coordinator/requests/(\d+)/connect", page).group(1)  # type: ignore[union-attr]
    vid = re.search(r'<option value="(\d+)">Rob', page).group(1)  # type: ignore[union-attr]
    coord.post(f"/coordinator/requests/{rid}/connect", data={"csrf_token": ccsrf, "volunteer": vid})
    link = re.search(r'href="(/conversations/\d+)"', sam.get("/ambassadors").text).group(1)  # type: ignore[union-attr]
    sam.post(link + "/messages", data={"csrf_token": scsrf, "message": "Hello!"})
    return link


def _node(n: dict[str, Any]) -> str:
    target = n["target"][0] if n.get("target") else "?"
    message = (n.get("any") or [{}])[0].get("message", "")
    return f"{target} [{message[:90]}]"


# every patient-facing page: (user or None, path or a form to submit)
PAGES: list[tuple[str | None, str]] = [
    (None, "/decide"),
    (None, "summary"),
    (None, "/centres"),
    (None, "/centres?q=Leeds&offers=refills"),
    (None, "/ambassadors"),
    (None, "/login"),
    ("linda.park", "/my"),
    ("linda.park", "/my/therapy"),
    ("linda.park", "/ambassadors"),
    ("robert.chen", "/ambassadors"),
    ("robert.chen", "conversation"),
    ("sam.taylor", "/ambassadors"),
    ("sam.taylor", "conversation"),
    ("coord.adeyemi", "/coordinator"),
    ("admin.riverside", "/admin/centres"),
    ("nurse.okafor", "/"),  # the dashboard with the triage panel
]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone-375"])
def test_axe_finds_no_serious_violation_on_any_patient_page(
    browser: Any, server: Server, viewport: dict[str, int]
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    conversation = _setup_conversation(server)
    axe = Axe()
    problems: list[str] = []
    pages: dict[str | None, Any] = {}
    for user, target in PAGES:
        if user not in pages:
            pages[user] = new_page(browser, server, user, viewport)
        pg = pages[user]
        if target == "summary":
            pg.goto("/decide")
            pg.get_by_label("In many parts of my body, or across my trunk").check()
            pg.click("[data-testid=make-summary]")
        elif target == "conversation":
            pg.goto(conversation)
        else:
            pg.goto(target)
        pg.wait_for_load_state("networkidle")
        assert pg.locator("main").count() == 1
        results = axe.run(pg)
        for v in results.response["violations"]:
            if v.get("impact") in ("serious", "critical"):
                nodes = "; ".join(_node(n) for n in v["nodes"][:3])
                problems.append(f"{user} {target}: {v['id']} ({v['impact']}): {nodes}")
        if viewport == PHONE:
            width = pg.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{user} {target}: {width} px wide at a 375 px viewport (horizontal scrolling)")
            name = re.sub(r"[^a-z0-9]+", "-", f"{user or 'public'}-{target}".lower()).strip("-")
            pg.screenshot(path=str(SHOTS / f"375-{name}.png"), full_page=True)
    assert not problems, "\n".join(problems)
