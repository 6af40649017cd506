"""Shared test helpers.

A test that needs a component this machine may lack (Chromium, PostgreSQL) calls
:func:`require`: locally it skips, in CI (``CI=true``) it fails, so CI never passes by skipping.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True, derandomize=True
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip locally, fail in CI, when ``what`` is not available."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available on this machine")
