"""A fault-injecting link for tests: loses the request or the answer of chosen calls.

It wraps a real DirectLink (the pump is real); only the radio is unreliable.  ``plan`` lists the
fate of successive calls: ``ok``, ``lose_request`` (never reaches the pump) or ``lose_answer``
(applied by the pump, answer lost).
"""

from __future__ import annotations

from typing import Any

from itdd.telemetry.commands import DirectLink


class LinkLost(Exception):
    pass


class LossyLink:
    def __init__(self, inner: DirectLink, plan: list[str] | None = None, *, only: set[str] | None = None) -> None:
        self.inner = inner
        self.plan = list(plan or [])
        self.only = only  # if set, only these commands are subject to the plan
        self.sent: list[str] = []

    def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        fate = "ok"
        if self.plan and (self.only is None or command in self.only):
            fate = self.plan.pop(0)
        if fate == "lose_request":
            raise LinkLost(f"{command}: request lost")
        self.sent.append(command)
        result = self.inner.call(command, args)
        if fate == "lose_answer":
            raise LinkLost(f"{command}: answer lost")
        return result
