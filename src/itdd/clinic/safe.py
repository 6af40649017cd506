"""Defensive output: stored data must never make a page or an API answer unreadable.

Every value is range-checked on the way in (``limits.py``), but a database can still hold rows written before a
check existed, by hand, or by another program.  Reads therefore never trust a stored instant or amount to be
printable: an instant that is not a representable date in the clinic's offset is shown as unknown (``None``,
"—" on a page) and a non-finite number leaves the JSON API as ``null``, with a warning in the log.  Nothing here
changes what is stored.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi.responses import JSONResponse

from .. import quantities as q

log = logging.getLogger("itdd.clinic")


def iso(t_s: float | None, offset_s: int = 0) -> str | None:
    """:func:`itdd.quantities.iso`, or ``None`` when ``t_s`` is no representable instant (year 1..9999 locally)."""
    if t_s is None:
        return None
    try:
        if not math.isfinite(t_s):
            raise ValueError("not finite")
        return q.iso(t_s, offset_s)
    except (OverflowError, ValueError, OSError, TypeError):
        log.warning("stored instant %r cannot be shown as a date; shown as unknown", t_s)
        return None


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (inf, nan) replaced by ``None``, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


class SafeJSONResponse(JSONResponse):
    """JSON that never fails on a stored inf or nan (they become ``null``); otherwise Starlette's JSONResponse."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except ValueError:  # "Out of range float values are not JSON compliant"
            log.warning("non-finite number in an answer; sent as null")
            return json.dumps(
                finite(content), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
            ).encode("utf-8")
