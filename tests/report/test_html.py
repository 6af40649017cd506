"""The report page, checked without a browser: its plots, its self-containment, its content."""

from __future__ import annotations

import copy
import re
from functools import cache
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.errors import InputError
from itdd.report import render_report, write_report
from itdd.report.render import MAX_EVENT_ROWS, findings_of

from .sample import (
    cohort_only_result,
    full_result,
    kink_scenario,
    multi_year_scenario,
    quiet_scenario,
    run,
)


class Page(HTMLParser):
    """Collects what the tests look at: figures and their images, sections, links, scripts, rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: dict[str, dict[str, int]] = {}
        self.sections: list[str] = []
        self.absent_in: dict[str, int] = {}
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.scripts_with_src = 0
        self.stylesheet_links = 0
        self.rows: list[dict[str, str]] = []
        self._figure: str | None = None
        self._section: str | None = None
        self._depth_svg = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("src", "href", "xlink:href", "action", "poster", "data"):
            if key in a:
                self.urls.append((tag, key, a[key]))
        if tag == "section":
            self._section = a.get("data-section")
            if self._section:
                self.sections.append(self._section)
        if tag == "figure" and "data-plot" in a:
            self._figure = a["data-plot"]
            self.figures[self._figure] = {"svg": 0, "png": 0}
        if self._figure and tag == "svg" and self._depth_svg == 0:
            self.figures[self._figure]["svg"] += 1
        if tag == "svg":
            self._depth_svg += 1
        if self._figure and tag == "img" and a.get("src", "").startswith("data:image/png;base64,"):
            self.figures[self._figure]["png"] += 1
        if tag == "script" and a.get("src"):
            self.scripts_with_src += 1
        if tag == "link" and "stylesheet" in a.get("rel", ""):
            self.stylesheet_links += 1
        if tag == "p" and "absent" in a.get("class", "") and self._section:
            self.absent_in[self._section] = self.absent_in.get(self._section, 0) + 1
        if tag == "tr" and "data-type" in a:
            self.rows.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._depth_svg -= 1
        if tag == "figure":
            self._figure = None
        if tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@cache
def _full() -> dict[str, Any]:
    return full_result()


@cache
def _kink() -> dict[str, Any]:
    return run(kink_scenario())


@cache
def _quiet() -> dict[str, Any]:
    return run(quiet_scenario())


@cache
def _multi() -> dict[str, Any]:
    return run(multi_year_scenario(5))


def full() -> dict[str, Any]:
    return copy.deepcopy(_full())


def assert_self_contained(html: str, page: Page) -> None:
    for tag, key, value in page.urls:
        assert value.startswith(("#", "data:")), f"<{tag} {key}={value!r}> points outside the page"
    assert page.scripts_with_src == 0
    assert page.stylesheet_links == 0
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html), "CSS fetches something"
    assert "@import" not in html
    for m in re.finditer(r"(src|href)\s*=\s*['\"]\s*(https?:)?//", html):
        pytest.fail(f"external reference: {m.group(0)}")


def assert_each_plot_has_one_image(page: Page, expected: set[str]) -> None:
    assert set(page.figures) == expected
    for name, counts in page.figures.items():
        assert counts["svg"] + counts["png"] == 1, f"figure {name} holds {counts}"


# ---- plots per section --------------------------------------------------------------------------


def test_full_result_has_a_plot_for_every_section() -> None:
    html = render_report(full())
    page = parse(html)
    assert_each_plot_has_one_image(
        page, {"pathway", "trial-vitals", "reservoir", "dose", "pain", "concentration", "safety", "cohort"}
    )
    assert_self_contained(html, page)
    assert page.absent_in == {}, "every section has data, none may say it is absent"


def test_pump_only_result_says_plainly_what_is_absent() -> None:
    html = render_report(copy.deepcopy(_kink()))
    page = parse(html)
    assert_each_plot_has_one_image(page, {"reservoir", "dose"})
    assert_self_contained(html, page)
    for section in ("patient", "trial", "pathway", "cohort"):
        assert page.absent_in.get(section) == 1, section
    text = " ".join(page.text)
    assert "No virtual patient in this result" in text
    assert "No screening trial in this result" in text


def test_multi_year_result_renders_compactly() -> None:
    result = copy.deepcopy(_multi())
    html = render_report(result)
    page = parse(html)
    assert_each_plot_has_one_image(page, {"reservoir", "dose"})
    assert_self_contained(html, page)
    assert len(result["events"]) > MAX_EVENT_ROWS
    assert len(page.rows) <= MAX_EVENT_ROWS
    # every event that is not a routine bolus is still in the table
    routine = ("bolus_started", "bolus_completed", "ptm_bolus_granted", "ptm_bolus_denied")
    notable = [e for e in result["events"] if e["type"] not in routine]
    assert len(page.rows) == len(notable)
    assert "routine entries are left out of this table" in html
    assert len(html) < 2_000_000  # a few hundred kB for five years


def test_empty_event_list_and_a_stopped_pump() -> None:
    result = run(quiet_scenario())
    assert result["events"] == []
    html = render_report(result)
    page = parse(html)
    assert_each_plot_has_one_image(page, {"reservoir", "dose"})
    assert page.absent_in.get("events") == 1
    assert "No events were recorded in this period." in html


def test_cohort_only_result() -> None:
    html = render_report(cohort_only_result())
    page = parse(html)
    assert_each_plot_has_one_image(page, {"cohort"})
    assert_self_contained(html, page)
    assert "93.0%" in html  # Deer 2004 trial success, as published
    assert "This is a cohort result" in html


def test_a_result_without_series_still_plots_the_daily_dose() -> None:
    result = copy.deepcopy(_kink())
    del result["series"]
    page = parse(render_report(result))
    assert_each_plot_has_one_image(page, {"dose"})
    assert page.absent_in.get("reservoir") == 1


# ---- content a physician relies on --------------------------------------------------------------


def test_disclaimer_is_visible_at_the_top_and_the_bottom() -> None:
    html = render_report(copy.deepcopy(_kink()))
    body = html[html.index("<body>") :]
    first = body.index('class="disclaimer"')
    assert first < body.index("<h1>")
    assert body.count("Not a medical device.") >= 2
    assert "do not use it to make decisions about a real patient" in body


def test_times_are_shown_in_the_scenario_offset() -> None:
    # The occlusion is at +75d03h from 2026-01-05 08:00+01:00: 2026-03-21 11:00 local (10:00 UTC).
    html = render_report(copy.deepcopy(_kink()))
    page = parse(html)
    fault = [r for r in page.rows if r["data-type"] == "catheter_fault"]
    assert len(fault) == 1
    assert "2026-03-21 11:00" in html
    assert "all times in UTC+01:00" in html
    assert "Date and time (UTC+01:00)" in html  # the plots' time axes say so too


def test_refill_table_flags_the_kink_with_the_hand_computed_discrepancy() -> None:
    # 0.2 mL/day; the refill on day 60 leaves 18 mL; the kink on day 75d03h stops the flow after 14d17h:
    # 18 - 0.2 x 14.7083 = 15.058 mL really inside, while the pump expects 18 - 0.2 x 60 = 6.00 mL.
    html = render_report(copy.deepcopy(_kink()))
    rows = re.findall(r'<table data-table="refills">.*?</table>', html, re.S)[0]
    flagged = re.findall(r'<tr class="flag">(.*?)</tr>', rows, re.S)
    assert len(flagged) >= 1
    cells = re.findall(r"<td[^>]*>(.*?)</td>", flagged[0], re.S)
    assert cells[0] == "2026-05-05 18:00"
    assert cells[1] == "6"
    assert cells[2] == "15.06"
    assert cells[3] == "+9.06"
    assert "evaluate" in cells[4]
    assert "within limit" in rows  # the first refill (day 60) was fine


def test_findings_lead_with_the_hidden_fault_and_the_discrepancy() -> None:
    findings = findings_of(copy.deepcopy(_kink()))
    texts = [(f.level, f.text) for f in findings]
    assert ("critical", texts[0][1]) == texts[0]
    assert any(level == "critical" and "Catheter occlusion on 2026-03-21 11:00" in t for level, t in texts)
    assert any(level == "warning" and t.startswith("Refill on 2026-05-05 18:00") for level, t in texts)
    assert any(level == "warning" and "less drug reached the spinal fluid" in t for level, t in texts)
    quiet = findings_of(run(quiet_scenario()))
    assert [f.level for f in quiet] == ["warning"]  # the pump is stopped: nothing else to say
    assert "state 'stopped'" in quiet[0].text


def test_an_uneventful_run_is_said_to_be_ok() -> None:
    from itdd.scenario import Scenario

    scn = Scenario.model_validate(
        {
            "name": "steady",
            "start": "2026-01-05T08:00:00+01:00",
            "duration": "3d",
            "pump": {"model": "synchromed-ii-20", "drug": "morphine", "concentration": "10 mg/mL", "fill": "20 mL"},
            "therapy": {"mode": "simple_continuous", "dose": "1 mg/day"},
        }
    )
    findings = findings_of(run(scn))
    assert [f.level for f in findings] == ["ok"]
    assert "matched the program" in findings[0].text


def test_hidden_events_are_marked() -> None:
    result = copy.deepcopy(_kink())
    page = parse(render_report(result))
    hidden = sum(1 for e in result["events"] if not e["device"])
    assert hidden >= 3  # MRI field on/off, the kink, the revision, the reservoir running dry
    marked = [r for r in page.rows if "ev-hidden" in r.get("class", "")]
    assert len(marked) == hidden
    assert all(r["data-cat"] == "hidden" for r in marked)


def test_summary_table_has_the_clinical_essentials() -> None:
    html = render_report(copy.deepcopy(_kink()))
    summary = re.findall(r'<section id="summary".*?</section>', html, re.S)[0]
    for label in (
        "Period",
        "Pump",
        "Drug",
        "Therapy at the end",
        "Programmed (pump&#39;s belief)",
        "Reached the spinal fluid",
        "Refills",
        "Alarms raised",
        "Battery",
    ):
        assert f">{label}<" in summary, label
    assert "180 days" in summary
    assert "morphine 20 mg/mL" in summary


def test_mcg_drugs_are_shown_in_mcg() -> None:
    from itdd.scenario import Scenario

    scn = Scenario.model_validate(
        {
            "name": "ziconotide",
            "start": "2026-01-05T08:00:00+00:00",
            "duration": "3d",
            "pump": {"model": "synchromed-ii-20", "drug": "ziconotide", "concentration": "25 mcg/mL", "fill": "20 mL"},
            "therapy": {"mode": "simple_continuous", "dose": "1.2 mcg/day"},
        }
    )
    html = render_report(run(scn))
    assert "ziconotide 25 mcg/mL" in html
    assert "(mcg/day)" in html  # the dose axis
    assert "1.2 mcg/day" in html


def test_colour_blind_safe_palette_for_truth_and_belief() -> None:
    html = render_report(copy.deepcopy(_kink()))
    svg = re.findall(r'<figure class="plot" data-plot="reservoir">(.*?)</figure>', html, re.S)[0].lower()
    assert "#0072b2" in svg  # Okabe-Ito blue: the truth
    assert "#e69f00" in svg  # Okabe-Ito orange: the pump's belief
    assert "stroke-dasharray" in svg  # ... and dashed, so colour is not the only cue


def test_the_page_is_deterministic() -> None:
    a = render_report(copy.deepcopy(_kink()))
    b = render_report(copy.deepcopy(_kink()))
    assert a == b


def test_user_text_is_escaped() -> None:
    result = copy.deepcopy(_kink())
    result["scenario"]["name"] = "<script>alert(1)</script>"
    html = render_report(result)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# ---- the contract --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["series"]["dose"]["delivered_mg_per_day"].pop(), "result.series.dose.delivered_mg_per_day"),
        (lambda r: r["patient"]["series"]["pain"].append(3.0), "result.patient.series.pain"),
        (
            lambda r: r["patient"]["series"]["spo2_pct"].__setitem__(0, "97"),
            "result.patient.series.spo2_pct[0]",
        ),
        (lambda r: r["trial"]["vitals"][0].__setitem__("time", 5), "result.trial.vitals[0].time"),
        (lambda r: r["cohort"]["rows"][0].pop("source"), "result.cohort.rows[0].source"),
        (lambda r: r["pathway"]["stages"][0].__setitem__("label", None), "result.pathway.stages[0].label"),
        (lambda r: r["series"]["reservoir"]["actual"]["days"].reverse(), "result.series.reservoir.actual.days[1]"),
        (lambda r: r.pop("itdd_version"), "result"),
    ],
)
def test_a_result_that_breaks_the_contract_names_the_field(mutate: Any, field: str, tmp_path: Any) -> None:
    result = full()
    mutate(result)
    out = tmp_path / "r.html"
    with pytest.raises(InputError) as err:
        write_report(result, out)
    assert err.value.field == field
    assert not out.exists(), "nothing is written when the result is refused"


def test_optional_sections_may_be_null() -> None:
    result = copy.deepcopy(_kink())
    result.update({"patient": None, "trial": None, "pathway": None, "cohort": None})
    page = parse(render_report(result))
    assert page.absent_in.get("patient") == 1


def test_write_report_is_atomic_and_replaces(tmp_path: Any) -> None:
    out = tmp_path / "deep" / "report.html"
    write_report(copy.deepcopy(_kink()), out)
    first = out.read_text(encoding="utf-8")
    write_report(cohort_only_result(), out)
    assert out.read_text(encoding="utf-8") != first
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary file left behind


# ---- robustness: any valid optional data renders --------------------------------------------------

_maybe = st.one_of(st.none(), st.floats(0.0, 100.0))


@st.composite
def patient_series(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 40))
    days = sorted(draw(st.lists(st.floats(0.0, 180.0), min_size=n, max_size=n)))
    out: dict[str, Any] = {"days": days}
    for key in (
        "pain",
        "oral_mme_per_day",
        "csf_tip_mg_per_ml",
        "csf_mg_per_ml",
        "effect_site_mg_per_ml",
        "plasma_mg_per_ml",
        "resp_rate_per_min",
        "spo2_pct",
        "sedation",
        "withdrawal",
        "pruritus",
    ):
        if draw(st.booleans()):
            out[key] = draw(st.lists(_maybe, min_size=n, max_size=n))
    return out


@given(patient_series(), st.booleans(), st.booleans())
@settings(max_examples=10, deadline=None)
def test_any_valid_patient_series_renders(series: dict[str, Any], with_trial: bool, with_pathway: bool) -> None:
    result = copy.deepcopy(_quiet())
    result["patient"] = {"series": series}
    if with_trial:
        result["trial"] = {"drug": "morphine", "vitals": [], "doses": [], "alerts": []}
    if with_pathway:
        result["pathway"] = {"stages": [{"stage": "implant", "start": result["scenario"]["start"], "label": "x"}]}
    html = render_report(result)
    page = parse(html)
    assert_self_contained(html, page)
    for counts in page.figures.values():
        assert counts["svg"] == 1


def test_a_patient_refused_at_screening_shows_the_refusal_not_an_empty_trial() -> None:
    from itdd.scenario import load_scenario_text, run_scenario

    scn = load_scenario_text(
        "name: refused\n"
        "start: '2026-01-05T08:00:00+01:00'\n"
        "patient: {reference: true, overrides: {active_infection: true}}\n"
        "pathway: {years: 1}\n"
    )
    _, result = run_scenario(scn)
    html = render_report(result)
    assert "active infection" in html
    assert "not done: refused at screening" in html
    assert "No vital signs were recorded" not in html  # there was no trial to monitor
    assert ">Method<" not in html
