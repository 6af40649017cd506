"""The report's one reader of time text: the scenario's UTC offset and ISO instants.

Used once per value, when :func:`itdd.report.input.report_input` builds the typed input (and by
:func:`itdd.report.text.fmt_time` for a time shown as written).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from ..timeunits import SECONDS_PER_HOUR_INT, SECONDS_PER_MINUTE_INT


def tz_of(offset: str) -> timezone:
    """``"+01:00"`` -> a fixed-offset tzinfo."""
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset.strip())
    if not m:
        return UTC
    secs = int(m.group(2)) * SECONDS_PER_HOUR_INT + int(m.group(3)) * SECONDS_PER_MINUTE_INT
    return timezone(timedelta(seconds=secs if m.group(1) == "+" else -secs))


def parse_time(text: str, tz: timezone) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(tz)


__all__ = ["parse_time", "tz_of"]
