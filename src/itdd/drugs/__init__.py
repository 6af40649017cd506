"""Drug library (a data file with citations) and guardrails."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..errors import InputError


@dataclass(frozen=True)
class Drug:
    name: str
    dose_unit: str  # "mg" or "mcg": how clinicians write doses of this drug
    data: dict[str, Any]


@cache
def library() -> dict[str, Drug]:
    text = resources.files(__package__).joinpath("library.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)["drugs"]
    return {name: Drug(name, entry["dose_unit"], entry) for name, entry in raw.items()}


def get_drug(name: str, field: str = "drug") -> Drug:
    lib = library()
    if name not in lib:
        raise InputError(field, f"'{name}' is not in the drug library (known: {', '.join(sorted(lib))})")
    return lib[name]
