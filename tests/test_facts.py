"""One home for each fact (issue 9): time lengths, clinical thresholds, dose formatting, event
wording and progress bars each live in one place; these tests fail when a copy comes back."""

from __future__ import annotations

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
