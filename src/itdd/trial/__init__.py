"""Virtual trials: a protocol of arms (care plans) and endpoints over paired virtual patients.

``itdd trial PROTOCOL.yaml`` (:mod:`itdd.trial.cli`); the format, the statistics and the JSON
contract are in docs/trials.md.  Not a medical device: results are simulations.
"""

from .protocol import Protocol, load_protocol, parse_protocol
from .summary import TrialResult, run_trial, summarize_trial

__all__ = ["Protocol", "TrialResult", "load_protocol", "parse_protocol", "run_trial", "summarize_trial"]
