"""Shared test helpers.

A test that needs a component this machine may lack (Chromium, PostgreSQL) calls
:func:`require`: locally it skips, in CI (``CI=true``) it fails, so CI never passes by skipping.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True, derandomize=True
)
# ``make soak`` (tests/soak.py): many examples, fresh random seeds (not derandomized), no example
# database (every round explores anew), every health check that only concerns speed off.
settings.register_profile(
    "soak",
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
    derandomize=False,
    database=None,
)
SOAK = os.environ.get("ITDD_SOAK") == "1"
settings.load_profile("soak" if SOAK else "ci" if os.environ.get("CI") == "true" else "default")


def examples(ci: int, soak_share: float = 1.0) -> int:
    """Examples for a property test: ``ci`` normally (CI and local runs stay small); in a soak
    round ``ITDD_SOAK_EXAMPLES`` (default 1000) times ``soak_share`` (slow properties take a share)."""
    if not SOAK:
        return ci
    return max(int(int(os.environ.get("ITDD_SOAK_EXAMPLES", "1000")) * soak_share), 1)


# ---- soak statistics: generated examples per property test -------------------------------------
_COUNTS: Counter[str] = Counter()


def _count_examples() -> None:
    """Wrap hypothesis' statistics report (the pytest plugin asks for it after each test) to
    count the valid examples each test ran, in every phase."""
    import hypothesis.statistics as hs

    original = hs.describe_statistics
    if getattr(original, "_itdd_counting", False):
        return

    def describe(stats: Any) -> str:
        n = 0
        for key, phase in stats.items():
            if key.endswith("-phase") and isinstance(phase, dict):
                n += sum(1 for t in phase.get("test-cases", []) if t.get("status") == "valid")
        _COUNTS[str(stats.get("nodeid", "?"))] += n
        return original(stats)

    describe._itdd_counting = True  # type: ignore[attr-defined]
    hs.describe_statistics = describe  # type: ignore[assignment]


if SOAK:
    _count_examples()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    out = os.environ.get("ITDD_SOAK_COUNTS")
    if SOAK and out:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(f"{out}.{worker}.{os.getpid()}.json", "w", encoding="utf-8") as fh:
            json.dump(dict(_COUNTS), fh)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip locally, fail in CI, when ``what`` is not available."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available on this machine")
