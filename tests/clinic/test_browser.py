"""Browser tests: Playwright driving Debian's Chromium against a real ``itdd serve`` process.

Screenshots go to ``test-artifacts/clinic/`` (git-ignored).  Chromium is never downloaded: the test uses
``/usr/bin/chromium`` (``apt-get install chromium``) and skips locally / fails in CI without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require

from .server import ROOT, Server

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("ITDD_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "test-artifacts" / "clinic"
PASSWORD = "itdd-demo"


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    s = Server(sqlite_url, log=tmp_path / "server.log")
    yield s
    s.stop()


@pytest.fixture
def page(server: Server) -> Iterator[object]:
    require(CHROMIUM.exists(), f"Debian Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=server.url)
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        yield pg
        context.close()
        browser.close()


def login(pg: object, user: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(pg, Page)
    pg.goto("/login")
    pg.fill("input[name=username]", user)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_load_state("networkidle")


def test_nurse_finds_the_overdue_refill_and_records_it_with_a_discrepancy(page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    pg = page
    login(pg, "nurse.okafor")
    expect(pg.get_by_text("not a medical device").first).to_be_visible()
    due = pg.locator("[data-testid=refills-due] tbody tr").first
    expect(due).to_have_attribute("data-patient", "Margaret Holt")
    expect(due.locator(".badge-crit").first).to_contain_text("overdue")
    expect(pg.locator("[data-testid=tile-overdue]")).to_have_text("1")
    pg.screenshot(path=str(SHOTS / "1-dashboard-before.png"), full_page=True)

    due.get_by_role("link", name="Start refill").click()
    expect(pg.locator("h1")).to_contain_text("Refill")
    expect(pg.locator("[data-testid=expected]")).to_have_text("3.00 mL")
    syringe = pg.locator("[data-testid=syringe]").inner_text()  # what the nurse reads: "1.8 mL"
    assert syringe == "1.8 mL"
    pg.screenshot(path=str(SHOTS / "2-refill-withdraw.png"), full_page=True)

    pg.fill("[data-testid=withdrawn]", syringe)
    pg.click("[data-testid=check]")
    result = pg.locator("[data-testid=discrepancy-result]")
    expect(result).to_be_visible()
    expect(pg.locator("[data-testid=discrepancy]")).to_have_text("-1.20 mL")
    expect(result).to_contain_text("flagged")
    expect(pg.locator("[data-testid=likely-causes]")).to_contain_text("over-infusion")
    pg.screenshot(path=str(SHOTS / "3-refill-discrepancy.png"), full_page=True)

    expect(pg.locator("[data-testid=fill]")).to_have_value("20 mL")
    pg.click("[data-testid=review]")
    expect(pg.locator("[data-testid=refill-review]")).to_be_visible()
    expect(pg.locator("[data-testid=plan-next-refill]")).to_contain_text("May 2026")  # 64 days after 2 March
    pg.screenshot(path=str(SHOTS / "4-refill-review.png"), full_page=True)

    pg.click("[data-testid=record-refill]")
    pg.wait_for_url(re.compile(r"/patients/\d+\?ok=refill"))
    expect(pg.get_by_role("status")).to_contain_text("Refill recorded")
    expect(pg.locator("[data-testid=reservoir-estimate]")).to_have_text("20.00 mL")
    expect(pg.locator("[data-testid=discrepancy-flag]").first).to_have_text("-1.20 mL")
    pg.screenshot(path=str(SHOTS / "5-patient-after-refill.png"), full_page=True)

    pg.get_by_role("link", name="Dashboard").click()
    expect(pg.locator("[data-testid=tile-overdue]")).to_have_text("0")
    expect(pg.locator("[data-testid=refills-due]")).not_to_contain_text("Margaret Holt")
    expect(pg.locator("[data-testid=open-discrepancies]")).to_contain_text("Margaret Holt")
    expect(pg.locator("[data-testid=awaiting-verification]")).to_contain_text("Margaret Holt")
    pg.screenshot(path=str(SHOTS / "6-dashboard-after.png"), full_page=True)


def test_patient_requests_a_bolus_during_lockout(page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    pg = page
    login(pg, "linda.park")
    assert pg.url.endswith("/my")
    expect(pg.locator("[data-testid=boluses-left]")).to_have_text("3")
    expect(pg.locator("[data-testid=next-allowed]")).to_contain_text("11:00")  # 3 h after the bolus at 08:00
    expect(pg.get_by_role("link", name="Patients")).to_have_count(0)  # nothing else to see
    pg.screenshot(path=str(SHOTS / "7-patient-before.png"), full_page=True)
    pg.click("[data-testid=request-bolus]")
    decision = pg.locator("[data-testid=bolus-decision]")
    expect(decision).to_contain_text("No bolus now")
    expect(decision).to_contain_text("Too soon")
    expect(pg.locator("[data-testid=boluses-left]")).to_have_text("3")
    pg.screenshot(path=str(SHOTS / "8-patient-lockout.png"), full_page=True)
    assert pg.goto("/patients").status == 403


def test_clinician_sees_the_virtual_patient_beside_what_the_patient_told_us(page: object) -> None:
    """Daniel Reyes, whose catheter occluded three weeks ago: the dashboard lists him as getting worse; his page
    shows the model's pain (line) beside the reported scores (dots), withdrawal and breathing, and the forecast;
    the assessment form is prefilled with what he would say now."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    pg = page
    login(pg, "dr.ellis")
    worse = pg.locator("[data-testid=worsening]")
    expect(worse).to_contain_text("Daniel Reyes")
    pg.screenshot(path=str(SHOTS / "9-dashboard-worsening.png"), full_page=True)
    worse.get_by_role("link", name="Daniel Reyes").click()
    expect(pg.locator("[data-testid=patient-name]")).to_have_text("Daniel Reyes")
    card = pg.locator("[data-testid=virtual-patient]")
    expect(card).to_contain_text("simulator truth")
    expect(card.locator("svg.chart")).to_have_count(4)  # withdrawal, breathing, sedation, oral opioids
    expect(pg.get_by_role("img", name="Pain score over time")).to_be_visible()
    pain = float(pg.locator("[data-testid=model-pain]").inner_text())
    assert pain > 5.0  # no hydromorphone reaches him: pain is back towards his untreated level
    card.scroll_into_view_if_needed()
    pg.screenshot(path=str(SHOTS / "10-patient-virtual-patient.png"), full_page=True)
    pg.locator("#assessments summary").click()
    prefill = pg.locator("[data-testid=prefill-pain]")
    expect(prefill).to_be_visible()
    assert 0 <= int(prefill.input_value()) <= 10
