"""``make bench`` hook for the clinic load check (the check itself is bench/clinic_load.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def run(quick: bool = True) -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("clinic_load", Path(__file__).with_name("clinic_load.py"))
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows: list[dict[str, Any]] = mod.run(quick=quick)
    return rows
