"""``make bench`` hook for the clinic capacity check (the check itself is bench/clinic_load.py): locust at 8, 50
and 200 users on SQLite and PostgreSQL, 2 server workers; the table goes into docs/benchmarks.md."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from typing import Any


def run(quick: bool = True) -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("clinic_load", Path(__file__).with_name("clinic_load.py"))
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows: list[dict[str, Any]] = mod.run(quick=quick)
    note = (
        f"`make bench`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{os.getloadavg()[0]:.1f} at the end, {'15' if quick else '30'} s per step."
    )
    mod.write_docs(mod.markdown(rows, note))
    return rows
