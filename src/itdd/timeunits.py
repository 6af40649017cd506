"""Time units: the one home of itdd's time constants.

Core time is float seconds (``t_s``, ``*_s``).  Every module that needs the length of a minute,
hour, day, week, month or year takes it from here instead of writing ``86400`` itself, so a
duration means the same everywhere.  A test (``tests/test_facts.py``) fails if a module in
``src/`` writes one of these lengths as a literal again.

Definitions:

* day   — 86 400 s (civil day in a fixed UTC offset; itdd never applies daylight saving);
* week  — 7 days;
* year  — the Julian year, 365.25 days = 31 557 600 s: the unit of "patient-year" in the sources
  and the ``y`` of durations written in years (``"3y"``); there is no 365-day year in itdd;
* month — a twelfth of the Julian year, 30.4375 days = 2 629 800 s ("12 months" = one year).

All values are exact in binary floating point (whole numbers of seconds), so an expression that
used to write the literal gives the same float with the name.  The ``_INT`` twins are for integer
time-of-day arithmetic (schedules in whole seconds since local midnight), where a float would
change the type of the result.
"""

from __future__ import annotations

SECONDS_PER_MINUTE = 60.0
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY  # 604 800 s
DAYS_PER_YEAR = 365.25  # Julian year
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY  # 31 557 600 s
SECONDS_PER_MONTH = SECONDS_PER_YEAR / 12.0  # 2 629 800 s (30.4375 days)

# Whole seconds, for integer time-of-day arithmetic (``divmod(seconds_of_day, SECONDS_PER_HOUR_INT)``).
SECONDS_PER_MINUTE_INT = 60
SECONDS_PER_HOUR_INT = 3600
SECONDS_PER_DAY_INT = 86400

__all__ = [
    "DAYS_PER_YEAR",
    "SECONDS_PER_DAY",
    "SECONDS_PER_DAY_INT",
    "SECONDS_PER_HOUR",
    "SECONDS_PER_HOUR_INT",
    "SECONDS_PER_MINUTE",
    "SECONDS_PER_MINUTE_INT",
    "SECONDS_PER_MONTH",
    "SECONDS_PER_WEEK",
    "SECONDS_PER_YEAR",
]
