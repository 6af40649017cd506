"""The pathway's own rules: monitoring, complication probabilities, delays, the recording grid.

The clinician's rules (trial success, titration, weaning, loss of effect) are in
:mod:`itdd.care.clinician.decisions`.  Sources in docs/care.md; every constant names its
source or says "assumption".
"""

from __future__ import annotations

from ...pump.hardware import CATHETER_FAULTS
from ...thresholds import thresholds
from ...timeunits import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_MINUTE, SECONDS_PER_MONTH, SECONDS_PER_YEAR

H = SECONDS_PER_HOUR
DAY = SECONDS_PER_DAY
MONTH = SECONDS_PER_MONTH  # mean month (assumption: "12 months" = one Julian year)
YEAR = SECONDS_PER_YEAR

#: Vital signs after intrathecal morphine: hourly for 12 h, then 2-hourly for 12 h [S: clinical-facts].
VITALS_HOURLY_H = 12
VITALS_TWO_HOURLY_H = 12
#: Respiratory depression alert: RR below 10/min or SpO2 below 90% (itdd.thresholds, with sources).
RR_ALERT_PER_MIN = thresholds().resp_rate_alert_per_min.value
SPO2_ALERT_PCT = thresholds().spo2_alert_pct.value
#: Per-procedure complication probabilities.  (probability, source, reoperation)
TRIAL_COMPLICATIONS: dict[str, tuple[float, str, bool]] = {
    "post_dural_puncture_headache": (
        0.05,
        "assumption [U]: single lumbar puncture; lower than the 23% after IDDS placement (Neuman 2013)",
        False,
    ),
    "trial_bleeding": (0.002, "assumption [U]: seed FAQ lists bleeding; rare after a lumbar puncture", False),
    "trial_infection": (0.002, "assumption [U]: seed FAQ lists infection; rare after a lumbar puncture", False),
}
TRIAL_CATHETER_COMPLICATIONS: dict[str, tuple[float, str, bool]] = {
    "post_dural_puncture_headache": (
        0.15,
        "assumption [U]: temporary intrathecal catheter for days; below 23% (Neuman 2013, implants)",
        False,
    ),
    "trial_bleeding": (0.005, "assumption [U]", False),
    "trial_infection": (0.01, "assumption [U]: catheter left in place for days", False),
}
IMPLANT_COMPLICATIONS: dict[str, tuple[float, str, bool]] = {
    "post_dural_puncture_headache": (
        0.23,
        "[S] Neuman 2013 (Pain Physician 16:101): PDPH in 73 of 319 IDDS procedures (23%)",
        False,
    ),
    "csf_leak": (0.02, "assumption [U]: persistent leak or hygroma; treated with a blood patch", False),
    "wound_infection": (0.02, "assumption [U]: surgical-site infection needing explant", True),
}
REFILL_MARGIN_DAYS = 7.0  # refill when the reservoir would reach the alarm within this (assumption)
#: Delays (assumptions [U]): a problem found -> operation; symptoms -> clinic visit (the ERI
#: replacement delay is the clinician's: clinician/decisions.py).
REVISION_DELAY_S = 3 * DAY
CALL_TO_VISIT_S = 1 * DAY
INFECTION_DETECTION_S = 3 * DAY
#: Granuloma workup: MRI of the catheter tip (30 min in the field, assumption).
IMAGING_S = 30 * SECONDS_PER_MINUTE
#: Patient self-checks (``TitrationPlan.self_check``, weekly by default) run on the grid implant +
#: k x self_check while the patient's pain is controlled, but only in the SELF_CHECK_WATCH_S after
#: something that can bring pain back (a complication, a dose decrease, an oral opioid cut, a
#: concentration or drug change at a refill, therapy stopped, an MRI, a revision or replacement);
#: otherwise every SELF_CHECK_QUIET_EVERY-th grid point (monthly by default).  Pain that returns
#: without any such change (tolerance) rises over months and is caught by the monthly check or the
#: monthly visit (assumption [U]; docs/care.md "Self-checks").  A grid point at a planned clinic
#: visit has no self-check: the clinic has just assessed the pain (assumption [U]).
SELF_CHECK_WATCH_S = 28 * DAY
SELF_CHECK_QUIET_EVERY = 4
#: Patient bolus decisions at activity breakpoints: waking and 6 h later (assumption [U]).
PTM_DECISION_OFFSETS_H = (0.0, 6.0)
#: Series resolution when recording (output only, not an integration step).
GRID_S = 3 * H
TRIAL_GRID_S = H

FAULT_OF_KIND = {"kink": "occlusion", "occlusion": "occlusion", "leak": "leak", "disconnection": "disconnection"}
FAULT_OF_KIND["migration"] = "migration"
COMPLICATION_OF_FAULT = {
    "occlusion": "catheter_kink",
    "leak": "catheter_leak",
    "disconnection": "catheter_disconnection",
    "migration": "catheter_migration",
}
assert set(FAULT_OF_KIND.values()) <= set(CATHETER_FAULTS)
