"""Cohort arithmetic against hand-built outcomes, and the CLI's refusals (src/itdd/care/cohort.py, cli.py).

Every expected value below is computed by hand in the comment next to it.
"""

from __future__ import annotations

import json

import pytest

from itdd.care.cohort import REQUIRED_KEYS, patient_seed, summarize
from itdd.care.outcome import Complication, PatientOutcome
from itdd.cli import main
from itdd.cli.cohort import format_table, patients_csv, result_of
from itdd.report import render_report

DAY = 86400.0
YEAR = 365.25 * DAY
MONTH = YEAR / 12
T0 = 1_767_600_000.0


def outcome(i: int, **kw: object) -> PatientOutcome:
    base: dict[str, object] = {
        "patient_id": f"VP-{i}",
        "refused": None,
        "trial_success": True,
        "implanted": True,
        "implant_s": T0,
        "baseline_pain": 8.0,
        "baseline_oral_mme_per_day": 100.0,
        "relief_12_months": 0.6,
        "dose_mg_per_day_6_months": 10.0,
        "dose_mg_per_day_36_months": None,
        "oral_mme_per_day_12_months": 20.0,
        "complications": (),
        "reoperations": 0,
        "explanted": False,
        "explant_reason": None,
        "followed_s": YEAR,
    }
    base.update(kw)
    return PatientOutcome(**base)  # type: ignore[arg-type]


def cx(kind: str, months: float, stage: str = "follow-up", reop: bool = True) -> Complication:
    return Complication(kind, stage, T0 + months * MONTH, T0 + months * MONTH + 7 * DAY, reop)


def ten_patients() -> list[PatientOutcome]:
    """1 refused, 1 failed trial, 8 implanted (one explanted at 5 months)."""
    return [
        outcome(0, refused="active infection", trial_success=None, implanted=False, implant_s=None,
                relief_12_months=None, dose_mg_per_day_6_months=None, oral_mme_per_day_12_months=None, followed_s=0.0),
        outcome(1, trial_success=False, implanted=False, implant_s=None, relief_12_months=None,
                dose_mg_per_day_6_months=None, oral_mme_per_day_12_months=None, followed_s=0.0),
        outcome(2, relief_12_months=0.7, dose_mg_per_day_6_months=8.0, oral_mme_per_day_12_months=0.0),
        outcome(3, relief_12_months=0.5, dose_mg_per_day_6_months=12.0, oral_mme_per_day_12_months=50.0,
                baseline_oral_mme_per_day=200.0),
        outcome(4, relief_12_months=0.4, dose_mg_per_day_6_months=6.0, oral_mme_per_day_12_months=30.0,
                complications=(cx("catheter_kink", 4.0),), reoperations=1),
        outcome(5, relief_12_months=0.9, dose_mg_per_day_6_months=14.0, oral_mme_per_day_12_months=10.0,
                complications=(cx("catheter_migration", 10.0), cx("granuloma", 11.0)), reoperations=2),
        outcome(6, relief_12_months=0.2, dose_mg_per_day_6_months=10.0, oral_mme_per_day_12_months=90.0,
                baseline_oral_mme_per_day=0.0, complications=(cx("csf_leak", 0.0, "implant", reop=False),)),
        outcome(7, relief_12_months=0.55, dose_mg_per_day_6_months=10.0, oral_mme_per_day_12_months=0.0),
        outcome(8, relief_12_months=0.65, dose_mg_per_day_6_months=10.0, oral_mme_per_day_12_months=0.0),
        outcome(9, relief_12_months=None, dose_mg_per_day_6_months=None, oral_mme_per_day_12_months=None,
                complications=(cx("infection", 5.0),), reoperations=1, explanted=True, explant_reason="infection",
                followed_s=5 * MONTH),
    ]  # fmt: skip


def test_metrics_by_hand() -> None:
    s = summarize(ten_patients(), years=1.0, seed=1)
    m = s.metrics
    assert m["patients"] == 10
    assert m["trial_success_rate"] == pytest.approx(8 / 9)  # 9 trialled (one refused), 8 succeeded
    assert m["implant_rate"] == pytest.approx(8 / 10)  # of all patients
    # followed 12 months: patients 2-8 (7); >= 50% relief: 2 (0.7), 3 (0.5), 5 (0.9), 7, 8 -> 5 of 7
    assert m["followed_12_months"] == 7
    assert m["relief_50_at_12_months"] == pytest.approx(5 / 7)
    assert m["mean_relief_12_months"] == pytest.approx((0.7 + 0.5 + 0.4 + 0.9 + 0.2 + 0.55 + 0.65) / 7)
    # 6-month doses of those with one: 8, 12, 6, 14, 10, 10, 10 -> 70 / 7
    assert m["mean_dose_mg_per_day_6_months"] == pytest.approx(10.0)
    assert m["mean_dose_mg_per_day_36_months"] is None  # 1-year horizon
    # oral MME among the 7 followed: baseline 100+200+100+100+0+100+100 = 700, at 12 months 0+50+30+10+90+0+0 = 180
    assert m["oral_mme_reduction"] == pytest.approx(1 - 180 / 700)
    # complications after implant: patients 4, 5, 6 (csf leak at implant), 9 -> 4 of 8
    assert m["complication_rate"] == pytest.approx(4 / 8)
    assert m["reoperation_rate"] == pytest.approx(3 / 8)  # 4, 5, 9
    assert m["explant_rate"] == pytest.approx(1 / 8)
    # Follett comparison: implanted followed >= 9 months: 2-8 (7; patient 9 left at 5 months without a
    # catheter complication); catheter complication within 9 months: patient 4 only -> 6 / 7 free
    assert m["complication_free_9_months"] == pytest.approx(6 / 7)
    # patient-years: 7 x 1 + 5/12
    assert m["implanted_patient_years"] == pytest.approx(7 + 5 / 12)
    per = m["complications_per_100_patient_years"]
    assert per["catheter_kink"] == pytest.approx(100 / (7 + 5 / 12))
    assert per["infection"] == pytest.approx(100 / (7 + 5 / 12))
    assert m["complication_counts"]["csf_leak"] == 1
    assert m["refused_rate"] == pytest.approx(0.1)


def test_short_horizon_gives_null() -> None:
    short = [
        outcome(i, followed_s=0.5 * YEAR, relief_12_months=None, oral_mme_per_day_12_months=None) for i in range(3)
    ]
    m = summarize(short, years=0.5).metrics
    for key in ("relief_50_at_12_months", "oral_mme_reduction", "mean_dose_mg_per_day_36_months"):
        assert m[key] is None, key
    assert m["complication_free_9_months"] is None
    assert m["mean_dose_mg_per_day_6_months"] == pytest.approx(10.0)  # 6 months fits in half a year
    js = summarize(short, years=0.5).to_json()
    assert all(k in js for k in REQUIRED_KEYS)
    assert json.loads(json.dumps(js))["relief_50_at_12_months"] is None


def test_empty_groups_give_null() -> None:
    nobody = [outcome(i, refused="allergy", trial_success=None, implanted=False, implant_s=None, followed_s=0.0)
              for i in range(4)]  # fmt: skip
    m = summarize(nobody, years=3.0).metrics
    assert m["trial_success_rate"] is None
    assert m["implant_rate"] == 0.0
    for key in ("relief_50_at_12_months", "complication_rate", "reoperation_rate", "explant_rate"):
        assert m[key] is None, key


def test_36_month_dose_uses_those_followed_36_months() -> None:
    outs = [outcome(0, dose_mg_per_day_36_months=12.0, followed_s=3 * YEAR),
            outcome(1, dose_mg_per_day_36_months=18.0, followed_s=3 * YEAR),
            outcome(2, dose_mg_per_day_36_months=None, explanted=True, followed_s=YEAR)]  # fmt: skip
    assert summarize(outs, years=3.0).metrics["mean_dose_mg_per_day_36_months"] == pytest.approx(15.0)


def test_36_month_relief_beside_roberts() -> None:
    # followed 36 months: patients 0, 1, 2 (patient 3 left at 2 years); patient 2 has no value
    # (therapy stopped) -> mean of 0.5 and 0.8 = 0.65, beside Roberts 2001's 60% at ~36 months
    outs = [outcome(0, relief_36_months=0.5, followed_s=3 * YEAR),
            outcome(1, relief_36_months=0.8, followed_s=3 * YEAR),
            outcome(2, relief_36_months=None, followed_s=3 * YEAR),
            outcome(3, relief_36_months=None, explanted=True, followed_s=2 * YEAR)]  # fmt: skip
    s = summarize(outs, years=3.0)
    assert s.metrics["mean_relief_36_months"] == pytest.approx(0.65)
    row = {r["metric"]: r for r in s.rows}["Mean relief at 36 months"]
    assert row["simulated"] == pytest.approx(0.65)
    assert row["published"] == pytest.approx(0.60) and "Roberts 2001" in row["source"]
    # a 1-year cohort has no 36-month value: null, and the row says why
    short = summarize(ten_patients(), years=1.0)
    assert short.metrics["mean_relief_36_months"] is None
    assert "horizon too short" in {r["metric"]: r for r in short.rows}["Mean relief at 36 months"]["note"]


def test_rows_scale_published_rates_to_the_horizon() -> None:
    rows = {r["metric"]: r for r in summarize(ten_patients(), years=1.0).rows}
    reop = rows["≥1 re-operation (over 1 years)"]
    # Roberts 40% over 3 years -> 1 - 0.6^(1/3) = 0.1566 over 1 year under a constant hazard
    assert reop["published"] == pytest.approx(1 - 0.6 ** (1 / 3))
    assert "scaled" in reop["note"]
    rows3 = {r["metric"]: r for r in summarize(ten_patients(), years=3.0).rows}
    assert rows3["≥1 re-operation (over 3 years)"]["published"] == pytest.approx(0.40)
    assert rows3["Explanted (over 3 years)"]["published"] == pytest.approx(0.06)
    assert rows["Trial success (of trialled)"]["published"] == pytest.approx(0.93)


def test_report_text_and_csv() -> None:
    s = summarize(ten_patients(), years=1.0, seed=5)
    html = render_report(result_of(s))
    assert "Trial success" in html and "Deer 2004" in html and "<svg" in html
    table = format_table(s)
    assert "88.9%" in table  # trial success 8/9
    assert "93.0%" in table
    lines = patients_csv(s).splitlines()
    assert len(lines) == 11
    assert lines[5].split(",")[13] == "follow-up:catheter_kink"


def test_patient_seed_depends_on_seed_and_index_only() -> None:
    assert patient_seed(7, 3) == patient_seed(7, 3)
    assert len({patient_seed(7, i) for i in range(100)} | {patient_seed(8, 0)}) == 101
    assert 0 <= patient_seed(2**40, 10**6) < 2**63


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--patients", "0", "--years", "1", "--seed", "1"], "--patients"),
        (["--patients", "-3", "--years", "1", "--seed", "1"], "--patients"),
        (["--patients", "2.5", "--years", "1", "--seed", "1"], "--patients"),
        (["--patients", "100001", "--years", "1", "--seed", "1"], "--patients"),
        (["--patients", "100000", "--years", "10", "--seed", "1"], "--patients"),
        (["--patients", "10", "--years", "0", "--seed", "1"], "--years"),
        (["--patients", "10", "--years", "nan", "--seed", "1"], "--years"),
        (["--patients", "10", "--years", "41", "--seed", "1"], "--years"),
        (["--patients", "10", "--years", "1", "--seed", "1.5"], "--seed"),
        (["--patients", "10", "--years", "1", "--seed", "-1"], "--seed"),
        (["--patients", "10", "--years", "1", "--seed", "1", "--workers", "0"], "--workers"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cohort", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert flag in err and "Traceback" not in err


def test_cli_out_must_be_a_directory(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    f = Path(str(tmp_path)) / "file.txt"
    f.write_text("x")
    assert main(["cohort", "--patients", "1", "--years", "1", "--seed", "1", "--out", str(f)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["cohort", "--patients", "1", "--years", "1", "--seed", "1", "--report", str(tmp_path)]) == 2
    assert "--report" in capsys.readouterr().err


def test_cli_missing_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cohort", "--patients", "3"]) == 2
    err = capsys.readouterr().err
    assert "--years" in err and len(err.strip().splitlines()) == 1
