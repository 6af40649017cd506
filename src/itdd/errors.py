"""Errors that reach a user: each names the field at fault and the limit it broke."""

from __future__ import annotations


class ItddError(Exception):
    """Base of every error itdd reports to a user (CLI exit code 2, API problem+json)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class InputError(ItddError):
    """Malformed input: an unknown key or unit, a value that cannot be read."""


class SafetyRefusal(ItddError):
    """Well-formed input that breaks a hard limit (or a soft limit without confirmation)."""

    def __init__(self, field: str, message: str, rule: str = "") -> None:
        super().__init__(field, message)
        self.rule = rule
