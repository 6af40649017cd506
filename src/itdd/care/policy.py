"""The clinician policies' registry under its first name (``itdd.care.policy``).

The policies and their decisions live in :mod:`itdd.care.clinician`; this module re-exports the
registry for code and tests that import it from here."""

from .clinician.decisions import LACK_OF_EFFECT_MONTHS, Decision
from .clinician.decisions import lack_of_effect as react_to_lack_of_effect
from .clinician.policies import POLICIES, ClinicianPolicy, Practice, get_policy

__all__ = [
    "LACK_OF_EFFECT_MONTHS",
    "POLICIES",
    "ClinicianPolicy",
    "Decision",
    "Practice",
    "get_policy",
    "react_to_lack_of_effect",
]
