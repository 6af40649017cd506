"""One home for each fact (issue 9): time lengths, clinical thresholds, dose formatting, event
wording and progress bars each live in one place; these tests fail when a copy comes back."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

from itdd import timeunits as tu

SRC = Path(__file__).resolve().parents[1] / "src" / "itdd"


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


# ---- time -----------------------------------------------------------------------------------------


def test_time_constants_have_their_definitions() -> None:
    # By hand: 60 s; 60 * 60 = 3600 s; 24 * 3600 = 86 400 s; 7 * 86 400 = 604 800 s;
    # Julian year 365.25 * 86 400 = 31 557 600 s; month = 31 557 600 / 12 = 2 629 800 s.
    assert tu.SECONDS_PER_MINUTE == 60.0
    assert tu.SECONDS_PER_HOUR == 3600.0
    assert tu.SECONDS_PER_DAY == 86400.0
    assert tu.SECONDS_PER_WEEK == 604800.0
    assert tu.SECONDS_PER_YEAR == 31557600.0
    assert tu.SECONDS_PER_MONTH == 2629800.0
    assert (tu.SECONDS_PER_DAY_INT, tu.SECONDS_PER_HOUR_INT, tu.SECONDS_PER_MINUTE_INT) == (86400, 3600, 60)
    assert all(isinstance(v, int) for v in (tu.SECONDS_PER_DAY_INT, tu.SECONDS_PER_HOUR_INT))


def test_quantities_reexports_the_same_objects() -> None:
    from itdd import quantities as q

    assert q.SECONDS_PER_DAY is tu.SECONDS_PER_DAY
    assert q.DAYS_PER_YEAR is tu.DAYS_PER_YEAR


# A day, a week or a year written as a number of seconds (or a year as 365.25 days), or an hour
# as 3600: number tokens of the code (not text, not comments) that belong in itdd.timeunits only.
_TIME_NUMBERS = {86400.0, 604800.0, 31557600.0, 365.25, 3600.0}


def _numbers(path: Path) -> list[tuple[int, str]]:
    with path.open("rb") as f:
        return [
            (tok.start[0], tok.string)
            for tok in tokenize.tokenize(f.readline)
            if tok.type == tokenize.NUMBER and not tok.string.lower().endswith("j")
        ]


def test_no_module_writes_its_own_time_length() -> None:
    home = SRC / "timeunits.py"
    found = [
        f"{path.relative_to(SRC)}:{line}: {text}"
        for path in _sources()
        if path != home
        for line, text in _numbers(path)
        if not text.lower().startswith(("0x", "0o", "0b")) and float(text.replace("_", "")) in _TIME_NUMBERS
    ]
    assert not found, "time lengths written outside itdd.timeunits:\n" + "\n".join(found)


# ---- clinical thresholds --------------------------------------------------------------------------


def test_thresholds_file_values_and_sources() -> None:
    from itdd.thresholds import thresholds

    t = thresholds()
    # clinical-facts.md "Screening trials": RR < 10-12/min or SpO2 < ~90%; the issue fixes 10 and 90.
    assert (t.resp_rate_alert_per_min.value, t.spo2_alert_pct.value) == (10.0, 90.0)
    assert t.resp_rate_alert_per_min.alerts(9.9) and not t.resp_rate_alert_per_min.alerts(10.0)
    assert t.sedation_alert_score.alerts(2.0) and not t.sedation_alert_score.alerts(1.99)
    assert all(th.source and th.confidence for th in (t.resp_rate_alert_per_min, t.spo2_alert_pct))


def test_every_user_reads_the_same_threshold_objects() -> None:
    from itdd.care.clinician import decisions
    from itdd.care.steps import rules as pathway
    from itdd.patient import parameters as P
    from itdd.report import plots
    from itdd.thresholds import thresholds

    t = thresholds()
    assert pathway.RR_ALERT_PER_MIN == plots.RR_ALERT_PER_MIN == P.RESP_DEPRESSION_RR_PER_MIN.value
    assert pathway.SPO2_ALERT_PCT == plots.SPO2_ALERT_PERCENT == P.RESP_DEPRESSION_SPO2_PCT.value
    assert decisions.SEDATION_LIMIT == plots.SEDATION_ALERT_SCORE == t.sedation_alert_score.value
    assert P.RESP_DEPRESSION_RR_PER_MIN.source == t.resp_rate_alert_per_min.source


_THRESHOLD_NAME = re.compile(r"^\s*\w*(RR|RESP|SPO2|SEDATION|WITHDRAWAL)\w*\s*=\s*[SU2(]*\s*[0-9.]+\s*[,)]?", re.M)


def test_the_thresholds_file_is_the_only_source() -> None:
    # No module gives a respiratory-rate, SpO2, sedation or withdrawal cut-off a number of its own.
    found = [
        f"{p.relative_to(SRC)}: {m.group(0).strip()}"
        for p in _sources()
        for m in _THRESHOLD_NAME.finditer(p.read_text(encoding="utf-8"))
        if re.search(r"ALERT|LIMIT|DEPRESSION|MODERATE|_PCT\b|PER_MIN\b", m.group(0))
    ]
    assert not found, "\n".join(found)


def test_a_malformed_thresholds_file_is_refused_with_the_field() -> None:
    import pytest

    from itdd.errors import InputError
    from itdd.thresholds import load_thresholds

    good = (SRC / "drugs" / "thresholds.yaml").read_text(encoding="utf-8")
    assert load_thresholds(good).spo2_alert_pct.value == 90.0
    with pytest.raises(InputError, match=r"spo2_alert_pct\.value"):
        load_thresholds(good.replace("value: 90", "value: ninety"))
    with pytest.raises(InputError, match="missing"):
        load_thresholds(good.replace("spo2_alert_pct:", "spo2_alarm_pct:"))


# ---- dose formatting ------------------------------------------------------------------------------


def test_one_dose_formatter_by_hand() -> None:
    from itdd import quantities as q

    # 0.0012 mg/day of ziconotide is 1.2 mcg/day; 0.5 mg/day morphine stays in mg.
    assert q.fmt_dose_rate(0.0012, "mcg") == "1.2 mcg/day"
    assert q.fmt_dose_rate(0.5) == "0.5 mg/day"
    # 54.9065432 mg = 54 906.5432 mcg: 4 significant digits cannot show it, so whole mcg:
    # 54907, with thousands separators on a page people read.
    assert q.fmt_amount(54.9065432, "mcg") == "54907 mcg"
    assert q.fmt_amount(54.9065432, "mcg", grouping=True) == "54,907 mcg"
    # 0.00005 mg: %.4g would write 5e-05; the formatter never writes an exponent.
    assert q.fmt_amount(0.00005) == "0.00005 mg"
    # The clinic's form values keep 6 digits so they round-trip: 1.23456 mg/day.
    assert q.fmt_dose_rate(1.23456, "mg", digits=6) == "1.23456 mg/day"
    assert q.parse_dose_rate_mg_per_day(q.fmt_dose_rate(1.23456, "mg", digits=6)) == 1.23456


def test_report_drug_and_clinic_delegate_to_the_one_formatter() -> None:
    from itdd import quantities as q
    from itdd.clinic.web import program as web
    from itdd.drugs import get_drug
    from itdd.report.render import DrugUnits

    zic = get_drug("ziconotide")
    assert zic.dose_unit == "mcg"
    for mg in (0.0012, 0.0192, 1.5, 54.9065432):
        assert DrugUnits("ziconotide").rate(mg) == q.fmt_dose_rate(mg, "mcg", grouping=True)
        assert zic.fmt_dose_rate(mg) == q.fmt_dose_rate(mg, "mcg")
        assert web._fmt_rate(mg, "mcg") == q.fmt_dose_rate(mg, "mcg", digits=6)


def test_no_module_scales_mg_to_mcg_for_display_by_hand() -> None:
    # "x * 1000 if unit == 'mcg'" outside quantities is a second dose formatter.
    pattern = re.compile(r"1000(\.0)?\s+if\s+\w*\.?unit\s*==\s*['\"]mcg['\"]|['\"]mcg['\"]\s+else\s+1\b")
    found = [
        str(p.relative_to(SRC))
        for p in _sources()
        if p.name != "quantities.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert not found, found


# ---- event vocabulary -----------------------------------------------------------------------------


def test_event_vocabulary_is_the_one_list() -> None:
    from itdd.clinic import views
    from itdd.clinic.patient_side import therapy as patient_therapy
    from itdd.pump import events, firmware, log
    from itdd.report import render

    assert log.EVENT_TYPES is events.EVENT_TYPES and log.DEVICE_INVISIBLE is events.DEVICE_INVISIBLE
    assert {k: (a.event, a.severity) for k, a in events.ALARMS.items()} == firmware.ALARMS
    assert set(render.EVENT_LABELS) == set(events.EVENTS)
    assert views.ALARM_LABELS["eri"] == events.ALARMS["eri"].label
    assert patient_therapy.ALARM_NAMES["eri"] == events.ALARMS["eri"].patient_label
    # Every alarm logs an event of the vocabulary, in the "alarm" category.
    assert all(events.EVENTS[a.event].category == "alarm" for a in events.ALARMS.values())
    # By hand from the device's tones (clinical-facts): the reservoir running empty, a stalled
    # motor and end of service are critical; low reservoir and ERI are not.
    assert {"reservoir_empty_alarm", "motor_stall", "end_of_service"} == events.CRITICAL_ALARM_EVENTS
    assert events.alarm_level("eri_alarm") == "warning" and events.alarm_level("refill") == ""
    assert events.event_label("something_new") == "Something new"


def test_no_module_writes_event_wording_of_its_own() -> None:
    # A label of the vocabulary written as a dict value next to its event type elsewhere is a copy.
    from itdd.pump import events

    home = SRC / "pump" / "events.py"
    pairs = [(t, k.label) for t, k in events.EVENTS.items()]
    pairs += [(a, k.patient_label) for a, k in events.ALARMS.items()]
    pairs += [(a, k.label) for a, k in events.ALARMS.items() if a != "end_of_service"]  # also a pump state
    found = []
    for p in _sources():
        if p == home:
            continue
        text = p.read_text(encoding="utf-8")
        found += [f"{p.relative_to(SRC)}: {t}" for t, label in pairs if f'"{t}": "{label}"' in text]
    assert not found, found


# ---- progress bars --------------------------------------------------------------------------------


def test_no_hand_written_progress_bar() -> None:
    # A carriage return in a string literal is a hand-drawn bar; tqdm (itdd.progress) draws them.
    found = []
    for p in _sources():
        with p.open("rb") as f:
            for tok in tokenize.tokenize(f.readline):
                if tok.type == tokenize.STRING and "\\r" in tok.string and not tok.string.startswith(('"""', "'''")):
                    found.append(f"{p.relative_to(SRC)}:{tok.start[0]}")
    assert not found, found


def test_fraction_bar_on_a_terminal_and_off() -> None:
    import io

    from itdd.progress import fraction_bar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, plain = Tty(), io.StringIO()
    show = fraction_bar(tty, desc="run")
    assert show is not None
    for k in range(101):
        show(k / 100)
    assert "\r" in tty.getvalue() and "100%" in tty.getvalue() and tty.getvalue().endswith("\n")
    assert fraction_bar(plain) is None  # off a terminal, no bar
    lines = fraction_bar(plain, plain="done {pct}%")
    assert lines is not None
    for k in range(101):
        lines(k / 100)
    # By hand: a line at 0, 25, 50, 75 and 100 % (quarters 0..4), nothing in between.
    assert plain.getvalue().splitlines() == ["done 0%", "done 25%", "done 50%", "done 75%", "done 100%"]


# ---- the report's typed input ---------------------------------------------------------------------


def test_report_input_parses_times_once() -> None:
    from datetime import timedelta

    from itdd.report.input import report_input

    result = {
        "scenario": {"utc_offset": "+01:00", "start": "2026-01-05T09:00:00+01:00", "end": "2026-01-07T09:00:00+01:00"},
        "pump": {"drug": "ziconotide"},
        "events": [
            {"type": "motor_stall", "time": "2026-01-05T10:00:00+01:00"},
            {"type": "catheter_fault", "time": "2026-01-05T08:30:00Z", "device": False},
        ],
        "refills": [{"time": "2026-01-06T09:00:00+01:00", "discrepancy_ml": 2.5}],
    }
    inp = report_input(result)
    assert inp.tz.utcoffset(None) == timedelta(hours=1)
    assert inp.origin is not None and inp.end is not None and inp.end - inp.origin == timedelta(days=2)
    stall, fault = inp.events
    assert (stall.type, stall.at.hour, stall.device) == ("motor_stall", 10, True)
    # 08:30 UTC is 09:30 at +01:00: read in the scenario's offset.
    assert (fault.at.hour, fault.at.minute, fault.device) == (9, 30, False)
    assert inp.refills[0].discrepancy_ml == 2.5 and inp.units.unit == "mcg"


def test_the_report_parses_times_only_at_its_input() -> None:
    # parse_time / tz_of are called in itdd.report.input (and times, where they live); the one other
    # reader is text.fmt_time (a time shown as written) and the order of findings (origin_of).
    allowed = {"input.py", "times.py", "text.py", "findings.py"}
    calls = {
        p.name: len(re.findall(r"(?<!def )\b(parse_time|tz_of)\(", p.read_text(encoding="utf-8")))
        for p in (SRC / "report").glob("*.py")
    }
    assert {name for name, n in calls.items() if n} <= allowed, calls
    assert calls["findings.py"] <= 1 and calls["text.py"] <= 1
