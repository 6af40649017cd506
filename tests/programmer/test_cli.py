"""The ``itdd programmer`` and ``itdd ptm`` commands, end to end, and bad input for every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itdd.cli import main

START = "2026-01-05T08:00:00+01:00"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def pump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    state = tmp_path / "pump.json"
    rc, _, err = run(
        capsys,
        "programmer",
        "implant",
        "--state",
        str(state),
        "--drug",
        "morphine",
        "--concentration",
        "10 mg/mL",
        "--fill",
        "20 mL",
        "--start",
        START,
        "--dose",
        "0.8 mg/day",
        "--clinician",
        "dr-a",
        "--ptm-dose",
        "0.1 mg",
        "--ptm-lockout",
        "3h",
        "--ptm-max-per-day",
        "4",
    )
    assert rc == 0, err
    return state


def test_a_whole_clinic_journey(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = str(pump)
    assert run(capsys, "programmer", "advance", "--state", s, "--by", "10d")[0] == 0
    rc, out, _ = run(capsys, "programmer", "interrogate", "--state", s, "--json")
    it = json.loads(out)
    # 10 days at 0.8 mg/day / 10 mg/mL = 0.08 mL/day -> 0.8 mL used: 19.2 mL left
    assert rc == 0 and it["reservoir_estimate_ml"] == pytest.approx(19.2)
    assert it["battery"]["eri_projected"] is True
    rc, out, _ = run(capsys, "programmer", "program", "--state", s, "--dose", "1 mg/day", "--clinician", "dr-a")
    assert rc == 0 and "* Daily dose" in out and "verified by read-back" in out
    rc, out, _ = run(capsys, "ptm", "bolus", "--state", s)
    assert rc == 0 and out.startswith("GRANTED")
    rc, out, _ = run(capsys, "ptm", "bolus", "--state", s)
    assert out.startswith("NOT GRANTED") and "Too soon" in out
    rc, out, _ = run(capsys, "ptm", "status", "--state", s, "--json")
    assert json.loads(out)["boluses_left_24h"] == 3
    assert run(capsys, "programmer", "advance", "--state", s, "--by", "20d")[0] == 0
    rc, out, _ = run(capsys, "programmer", "refill", "--state", s, "--fill", "20 mL", "--clinician", "dr-a", "--json")
    rec = json.loads(out)
    assert rc == 0 and rec["flag"] is False and rec["next_refill_date"]
    rc, _, err = run(
        capsys,
        "programmer",
        "verify-refill",
        "--state",
        s,
        "--clinician",
        "dr-b",
        "--drug",
        "morphine",
        "--concentration",
        "10 mg/mL",
        "--fill",
        "20 mL",
        "--reservoir-volume",
        "20 mL",
    )
    assert rc == 0, err
    saved = json.loads(pump.read_text())
    assert saved["programmer"]["refills"][0]["verified_by"] == "dr-b"
    assert [r["kind"] for r in saved["programmer"]["records"]] == ["implant", "programming"]
    for argv in (
        ("programmer", "clock", "--state", s, "--set"),
        ("programmer", "titrate", "--state", s, "--to", "1.5 mg/day"),
        ("programmer", "prime", "--state", s, "--catheter-length", "50 cm", "--dry-run"),
        ("programmer", "cap-hazard", "--state", s, "--volume", "20 mL"),
        ("programmer", "bolus", "--state", s, "--dose", "0.2 mg", "--duration", "1h", "--clinician", "dr-a"),
        ("programmer", "drugs", "ziconotide"),
        (
            "programmer",
            "titrate",
            "--drug",
            "baclofen",
            "--from",
            "100 mcg/day",
            "--to",
            "150 mcg/day",
            "--start",
            START,
        ),
    ):
        rc, out, err = run(capsys, *argv)
        assert rc == 0, (argv, err)


def test_cap_hazard_leaves_the_pump_unchanged_unless_applied(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = pump.read_bytes()
    rc, out, _ = run(capsys, "programmer", "cap-hazard", "--state", str(pump), "--volume", "20 mL")
    assert rc == 0 and "200 mg" in out and pump.read_bytes() == before  # 20 mL x 10 mg/mL
    rc, out, _ = run(capsys, "programmer", "cap-hazard", "--state", str(pump), "--volume", "20 mL", "--apply")
    assert pump.read_bytes() != before


S = "{state}"
BAD = [
    (
        [
            "programmer",
            "implant",
            "--state",
            "{new}",
            "--drug",
            "heroin",
            "--concentration",
            "1 mg/mL",
            "--fill",
            "20 mL",
            "--start",
            START,
            "--clinician",
            "a",
        ],
        "--drug",
    ),
    (
        [
            "programmer",
            "implant",
            "--state",
            "{new}",
            "--drug",
            "morphine",
            "--concentration",
            "10",
            "--fill",
            "20 mL",
            "--start",
            START,
            "--clinician",
            "a",
        ],
        "--concentration",
    ),
    (
        [
            "programmer",
            "implant",
            "--state",
            "{new}",
            "--drug",
            "morphine",
            "--concentration",
            "10 mg/mL",
            "--fill",
            "25 mL",
            "--start",
            START,
            "--clinician",
            "a",
        ],
        "--fill",
    ),
    (
        [
            "programmer",
            "implant",
            "--state",
            "{new}",
            "--drug",
            "morphine",
            "--concentration",
            "10 mg/mL",
            "--fill",
            "20 mL",
            "--start",
            "2026-01-05T08:00",
            "--clinician",
            "a",
        ],
        "--start",
    ),
    (
        [
            "programmer",
            "implant",
            "--state",
            "{new}",
            "--drug",
            "morphine",
            "--concentration",
            "10 mg/mL",
            "--fill",
            "20 mL",
            "--start",
            START,
            "--dose",
            "5 mg/day",
            "--clinician",
            "a",
        ],
        "therapy.daily_dose: morphine starting dose",
    ),
    (
        [
            "programmer",
            "implant",
            "--state",
            S,
            "--drug",
            "morphine",
            "--concentration",
            "10 mg/mL",
            "--fill",
            "20 mL",
            "--start",
            START,
            "--clinician",
            "a",
        ],
        "--state",
    ),
    (["programmer", "advance", "--state", S, "--by", "ten days"], "--by"),
    (["programmer", "advance", "--state", S, "--to", "2020-01-01T00:00:00+00:00"], "--to"),
    (["programmer", "advance", "--state", "{missing}", "--by", "1d"], "--state"),
    (["programmer", "interrogate", "--state", "{garbage}"], "--state"),
    (["programmer", "program", "--state", S, "--dose", "1 mg", "--clinician", "a"], "therapy.dose"),
    (["programmer", "program", "--state", S, "--dose", "22 mg/day", "--clinician", "a"], "therapy.daily_dose.increase"),
    (["programmer", "program", "--state", S, "--dose", "0.9 mg/day"], "--clinician"),
    (["programmer", "program", "--state", S, "--step", "7am=1 mg/day", "--clinician", "a"], "therapy.steps[0]"),
    (
        [
            "programmer",
            "program",
            "--state",
            S,
            "--dose",
            "0.9 mg/day",
            "--ptm-dose",
            "3 mg",
            "--ptm-lockout",
            "3h",
            "--ptm-max-per-day",
            "4",
            "--clinician",
            "a",
        ],
        "ptm.dose",
    ),
    (["programmer", "program", "--state", S, "--low-reservoir", "0.5 mL", "--clinician", "a"], "low_reservoir_alarm"),
    (
        ["programmer", "program", "--state", S, "--dose", "0.9 mg/day", "--confirm", "nonsense", "--clinician", "a"],
        "--confirm",
    ),
    (["programmer", "bolus", "--state", S, "--dose", "5 mg", "--duration", "1h", "--clinician", "a"], "bolus.dose"),
    (["programmer", "bolus", "--state", S, "--dose", "0.1 mg", "--duration", "soon", "--clinician", "a"], "--duration"),
    (["programmer", "refill", "--state", S, "--fill", "21 mL", "--clinician", "a"], "fill"),
    (
        ["programmer", "refill", "--state", S, "--fill", "20 mL", "--concentration", "50 mg/mL", "--clinician", "a"],
        "concentration",
    ),
    (["programmer", "refill", "--state", S, "--fill", "20 mL", "--withdraw", "most", "--clinician", "a"], "--withdraw"),
    (["programmer", "refill", "--state", S, "--fill", "20 mL", "--drug", "heroin", "--clinician", "a"], "--drug"),
    (
        [
            "programmer",
            "verify-refill",
            "--state",
            S,
            "--clinician",
            "b",
            "--drug",
            "morphine",
            "--concentration",
            "10 mg/mL",
            "--fill",
            "20 mL",
            "--reservoir-volume",
            "20 mL",
        ],
        "--record",
    ),
    (["programmer", "prime", "--state", S, "--catheter-length", "fifty"], "--catheter-length"),
    (["programmer", "prime", "--state", S, "--catheter-length", "50 cm", "--volume-per-cm", "lots"], "--volume-per-cm"),
    (
        ["programmer", "titrate", "--drug", "morphine", "--from", "1 mg/day", "--to", "40 mg/day", "--start", START],
        "target",
    ),
    (["programmer", "titrate", "--to", "2 mg/day"], "--drug"),
    (["programmer", "titrate", "--state", S, "--to", "2 mg/day", "--step", "80%"], "plan.step"),
    (["programmer", "clock", "--state", "{missing}"], "--state"),
    (["programmer", "cap-hazard", "--state", S, "--volume", "-5 mL"], "--volume"),
    (["programmer", "drugs", "heroin"], "name"),
    (["ptm", "status", "--state", "{garbage}"], "--state"),
    (["ptm", "bolus", "--state", "{missing}"], "--state"),
    (["programmer", "frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize(("argv", "field"), BAD, ids=[" ".join(a[:2]) + f" {f}" for a, f in BAD])
def test_bad_input_exits_2_with_one_line_naming_the_field(
    argv: list[str], field: str, pump: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    subs = {
        "{state}": str(pump),
        "{new}": str(tmp_path / "new.json"),
        "{missing}": str(tmp_path / "none.json"),
        "{garbage}": str(garbage),
    }
    argv = [subs.get(a, a) for a in argv]
    before = pump.read_bytes()
    rc, out, err = run(capsys, *argv)
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("itdd: error: "), err
    assert field in lines[0]
    assert "Traceback" not in err
    assert pump.read_bytes() == before  # a refused command changes nothing
    assert not (tmp_path / "new.json").exists()
