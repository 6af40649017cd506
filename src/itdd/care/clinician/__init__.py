"""The simulated clinician: pure decisions (:mod:`.decisions`) behind a swappable
:class:`ClinicianPolicy` (:mod:`.policies`).  The pathway (care/pathway.py) asks, the policy
decides and gives its reason, the pathway acts.  docs/care.md "Clinician policies"."""

from .decisions import Decision
from .policies import POLICIES, ClinicianPolicy, Practice, get_policy

__all__ = ["POLICIES", "ClinicianPolicy", "Decision", "Practice", "get_policy"]
