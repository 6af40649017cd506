"""The HTML report: one self-contained page a pain physician would read.

``write_report(result, path)`` turns a result (the JSON object ``itdd simulate --json`` prints,
plus the optional ``patient``, ``trial``, ``pathway`` and ``cohort`` sections of later layers;
see :mod:`itdd.report.schema` and docs/report.md) into a single HTML file: inline SVG figures
made with matplotlib, inline CSS and a few lines of inline JavaScript, nothing fetched from a
network.  The page is a pure function of the result, so ``itdd simulate --report`` and
``itdd report RESULT.json`` write the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from .schema import validate_result


def render_report(result: dict[str, Any]) -> str:
    """The page as text; raises InputError (naming the field) for a result that breaks the contract."""
    from .render import render_html

    return render_html(validate_result(result))


def write_report(result: dict[str, Any], path: str | os.PathLike[str], run: Any = None) -> Path:
    """Write the report atomically (a temporary file renamed into place); returns the path.

    ``run`` (an :class:`itdd.sim.runner.Run`) is used only when ``result`` lacks its ``series``
    (made by an older itdd): the series is then derived from the run's exact record.
    """
    if run is not None and "series" not in result and "scenario" in result:
        from ..sim.series import series_of

        imp = run.implant
        result = {**result, "series": series_of(imp.record, imp.log.history, run.start_s, run.end_s, run.offset_s)}
    html = render_report(result)
    out = Path(path)
    if out.is_dir():
        raise InputError("report", f"{out} is a directory; give a file name such as report.html")
    from ..sim.output import write_text_atomic

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("report", f"cannot write {out}: {exc.strerror or exc}") from None
    write_text_atomic(out, html, mode=0o644)
    return out


def load_result(path: str | os.PathLike[str], field: str = "RESULT") -> dict[str, Any]:
    """Read and validate a result JSON file; every problem is an InputError naming ``field``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(field, f"no such file: {p}") from None
    except IsADirectoryError:
        raise InputError(field, f"{p} is a directory, not a result file") from None
    except UnicodeDecodeError:
        raise InputError(field, f"{p} is not a text (UTF-8) file, so not an itdd result") from None
    except OSError as exc:
        raise InputError(field, f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(field, f"{p} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise InputError(field, f"{p} is nested too deeply to be an itdd result") from None
    try:
        return validate_result(obj)
    except InputError as exc:
        if exc.field == "result":
            raise InputError(field, f"{p}: {exc.message}") from None
        raise InputError(exc.field, f"{exc.message} (in {p})") from None


__all__ = ["load_result", "render_report", "write_report"]
