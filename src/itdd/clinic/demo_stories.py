"""The demo clinic's patients, as stories: each patient's scripted history (implant, refills, reprogrammings,
faults, MRIs, pain and oral opioids over time, adverse events, appointments) in days relative to the demo's
now.  :mod:`itdd.clinic.seed` builds the clinic from them by running every pump through its history.

The stories are data, one long list per clinic, written to be read as the clinic's case notes; values are
illustrative (see docs/clinic.md), not clinical recommendations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..pump.firmware import PtmSettings
from ..pump.therapy import PeriodicBolus, Therapy
from ..quantities import SECONDS_PER_DAY
from ..timeunits import SECONDS_PER_HOUR, SECONDS_PER_HOUR_INT

DAY_S = SECONDS_PER_DAY
HOUR_S = SECONDS_PER_HOUR


@dataclass
class Story:
    """One patient's scripted history, in days relative to the demo's now (negative = past)."""

    mrn: str
    name: str
    birth_year: int
    sex: str
    indication: str
    stage: str
    notes: str = ""
    pump: dict[str, Any] | None = None  # model, serial, drug, conc, fill, low, therapy, ptm, accuracy, ...
    start_day: float = -120.0  # when the simulated history starts (the implant, or when records begin)
    implant_day: float | None = None  # if earlier than start_day (records before are archived)
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    pain: Callable[[float], float] | None = None  # pain NRS as a function of day
    mme: Callable[[float], float] | None = None
    assess_every_days: float = 28.0
    adverse: list[tuple[float, str, str, str, str]] = field(default_factory=list)  # day, kind, sev, text, status
    appointments: list[tuple[float, str, str]] = field(default_factory=list)  # day, kind, notes
    model: dict[str, Any] = field(default_factory=dict)  # overrides of the virtual patient's parameters
    settled_pain: float | None = None  # awake pain on the current therapy at steady state (default: pain(0))


def _simple(mg_per_day: float) -> Therapy:
    return Therapy.simple(mg_per_day)


def stories_riverside() -> list[Story]:
    return [
        Story(
            "P-1001",
            "Margaret Holt",
            1951,
            "F",
            "Failed back surgery syndrome",
            "maintenance — refill overdue",
            notes="Missed her refill appointment last week (transport).",
            pump=dict(
                model="synchromed-ii-20",
                serial="NGP-204511",
                drug="morphine",
                conc=10.0,
                fill=20.0,
                low=4.0,
                therapy=_simple(2.5),
                tip="T10",
            ),
            start_day=-250,
            implant_day=-700,
            events=[
                (-182, "refill", {"fill": 20.0}),
                (-114, "refill", {"fill": 20.0}),
                (-68, "refill", {"fill": 20.0}),
                # per-refill flow variation [S] Wesemann 2014; this refill's factor is high (within the labelled range)
                (-68, "accuracy", {"value": 1.07}),
            ],
            pain=lambda d: 4.0 + (1.5 if d > -6 else 0.0),
            mme=lambda d: 30.0,
            settled_pain=4.0,
            appointments=[(-7, "refill", "missed"), (0, "refill", "rebooked: refill overdue")],
        ),
        Story(
            "P-1002",
            "George Whitfield",
            1962,
            "M",
            "Spasticity after spinal cord injury (T6)",
            "maintenance — pump near ERI",
            notes="Pump replacement to be planned before end of service.",
            pump=dict(
                model="synchromed-ii-40",
                serial="NGP-117203",
                drug="baclofen",
                conc=2.0,
                fill=40.0,
                low=3.0,
                therapy=_simple(0.45),
                battery_days_left=45,
                tip="T11",
            ),
            start_day=-300,
            implant_day=-2420,
            events=[
                (-240, "refill", {"fill": 40.0}),
                (-120, "refill", {"fill": 40.0}),
                # 25 mL: enough until the planned replacement, so the next refill comes before end of service
                (-10, "refill", {"fill": 25.0}),
            ],
            pain=lambda d: 3.0,
            mme=lambda d: 0.0,
            assess_every_days=60,
            appointments=[(30, "pump replacement", "surgical consult: replacement before ERI")],
        ),
        Story(
            "P-1003",
            "Daniel Reyes",
            1974,
            "M",
            "Chronic pancreatitis pain",
            "maintenance — worsening pain",
            notes="Reports pain creeping back over the last three weeks.",
            pump=dict(
                model="synchromed-ii-20",
                serial="NGP-209934",
                drug="hydromorphone",
                conc=5.0,
                fill=20.0,
                low=2.0,
                therapy=_simple(0.8),
                tip="T8",
            ),
            start_day=-170,
            implant_day=-400,
            events=[(-80, "refill", {"fill": 20.0}), (-21, "fault", {"kind": "occlusion"})],
            pain=lambda d: 3.0 if d < -21 else 3.0 + (d + 21) * 0.2,
            mme=lambda d: 20.0 if d < -21 else 20.0 + (d + 21) * 2.5,
            settled_pain=3.0,
            assess_every_days=7,
            appointments=[(1, "follow-up", "worsening pain"), (10, "refill", "")],
        ),
        Story(
            "P-1004",
            "Aisha Karim",
            1980,
            "F",
            "Metastatic breast cancer pain",
            "titration — new implant",
            pump=dict(
                model="synchromed-ii-20",
                serial="NGP-221087",
                drug="morphine",
                conc=10.0,
                fill=18.0,
                low=2.0,
                therapy=_simple(0.5),
                tip="T10",
                current_dose_mg_per_day=1.0,
            ),
            start_day=-10,
            events=[
                (-7, "program", {"therapy": _simple(0.75), "reason": "titration +50% (cancer pain)"}),
                (-3, "program", {"therapy": _simple(1.0), "reason": "titration +33%"}),
            ],
            pain=lambda d: 7.0 - (d + 10) * 0.3,
            mme=lambda d: max(40.0, 180.0 - (d + 10) * 14.0),
            assess_every_days=3,
            appointments=[(2, "programming", "titration review")],
        ),
        Story(
            "P-1005",
            "Robert Chen",
            1958,
            "M",
            "Lumbar radiculopathy, failed back surgery",
            "maintenance — stable (day-night flex dosing)",
            pump=dict(
                model="synchromed-ii-40",
                serial="NGP-118456",
                drug="morphine",
                conc=20.0,
                fill=40.0,
                low=3.0,
                therapy=Therapy.flex([(7 * SECONDS_PER_HOUR_INT, 4.0), (22 * SECONDS_PER_HOUR_INT, 2.5)]),
                tip="T9",
            ),
            start_day=-330,
            implant_day=-1100,
            events=[
                (-240, "refill", {"fill": 40.0}),
                (-155, "refill", {"fill": 40.0}),
                (-70, "refill", {"fill": 40.0}),
            ],
            pain=lambda d: 3.0,
            mme=lambda d: 0.0,
            assess_every_days=90,
            appointments=[(20, "refill", "")],
        ),
        Story(
            "P-1006",
            "Helen Novak",
            1969,
            "F",
            "Complex regional pain syndrome, opioid intolerant",
            "titration — ziconotide",
            pump=dict(
                model="synchromed-ii-20",
                serial="NGP-223310",
                drug="ziconotide",
                conc=0.025,
                fill=20.0,
                low=2.0,
                therapy=_simple(0.0012),
                tip="T10",
                current_dose_mg_per_day=0.0036,
            ),
            start_day=-35,
            events=[
                (-21, "program", {"therapy": _simple(0.0024), "reason": "titration +1.2 mcg/day"}),
                (-7, "program", {"therapy": _simple(0.0036), "reason": "titration +1.2 mcg/day"}),
            ],
            pain=lambda d: 7.0 - (d + 35) * 0.06,
            mme=lambda d: 0.0,
            model={"baseline_pain": 7.0},
            assess_every_days=7,
            adverse=[(-6, "dizziness", "mild", "Mild dizziness after the last increase.", "open")],
        ),
        Story(
            "P-1007",
            "Tomás Alvarez",
            1988,
            "M",
            "Spasticity, multiple sclerosis",
            "maintenance — periodic boluses",
            pump=dict(
                model="synchromed-ii-40",
                serial="NGP-119902",
                drug="baclofen",
                conc=1.0,
                fill=40.0,
                low=3.0,
                therapy=Therapy.periodic(
                    [
                        PeriodicBolus(7 * SECONDS_PER_HOUR_INT, 0.05, 1800.0),
                        PeriodicBolus(19 * SECONDS_PER_HOUR_INT, 0.05, 1800.0),
                    ],
                    0.3,
                ),
                tip="T12",
            ),
            start_day=-200,
            implant_day=-800,
            events=[(-120, "refill", {"fill": 40.0}), (-40, "refill", {"fill": 40.0})],
            pain=lambda d: 2.0,
            mme=lambda d: 0.0,
            assess_every_days=45,
        ),
        Story(
            "P-1008",
            "Linda Park",
            1966,
            "F",
            "Pelvic cancer pain",
            "maintenance — patient therapy manager",
            pump=dict(
                model="synchromed-ii-20",
                serial="NGP-224471",
                drug="morphine",
                conc=10.0,
                fill=20.0,
                low=2.0,
                therapy=_simple(2.0),
                tip="T11",
                ptm=PtmSettings(
                    dose_mg=0.2, duration_s=600.0, lockout_s=3 * HOUR_S, max_per_day=4, max_daily_dose_mg=3.2
                ),
            ),
            start_day=-60,
            events=[(-30, "refill", {"fill": 20.0}), (-1.0, "ptm", {}), (-1 / 24, "ptm", {})],
            pain=lambda d: 4.0,
            mme=lambda d: 15.0,
            assess_every_days=14,
        ),
        Story(
            "P-1009",
            "Peter Osei",
            1955,
            "M",
            "Failed back surgery syndrome",
            "maintenance — after MRI",
            notes="Knee MRI yesterday afternoon at the radiology centre.",
            pump=dict(
                model="synchromed-ii-20",
                serial="NGP-206618",
                drug="morphine",
                conc=20.0,
                fill=20.0,
                low=3.0,
                therapy=_simple(3.0),
                tip="T10",
            ),
            start_day=-120,
            implant_day=-900,
            # MRI yesterday 16:00-17:00; the pump resumes only after a delay (2-24 h [S] clinical-facts "MRI")
            events=[(-78, "refill", {"fill": 20.0}), (-(17 / 24), "mri", {"duration_h": 1.0, "resume_delay_h": 20.0})],
            pain=lambda d: 3.5,
            mme=lambda d: 10.0,
            assess_every_days=30,
            appointments=[(0, "interrogation", "post-MRI check")],
        ),
        Story(
            "P-1010",
            "Grace Müller",
            1949,
            "F",
            "Vertebral compression fractures",
            "maintenance — stable",
            pump=dict(
                model="synchromed-ii-40",
                serial="NGP-120077",
                drug="fentanyl",
                conc=0.5,
                fill=40.0,
                low=3.0,
                therapy=_simple(0.15),
                tip="T11",
            ),
            start_day=-200,
            implant_day=-1500,
            events=[(-175, "refill", {"fill": 40.0}), (-90, "refill", {"fill": 40.0}), (-5, "refill", {"fill": 40.0})],
            pain=lambda d: 3.0,
            mme=lambda d: 0.0,
            assess_every_days=60,
        ),
        Story(
            "P-1011",
            "Samuel Ortiz",
            1971,
            "M",
            "Post-herpetic neuralgia, thoracic",
            "maintenance — concentration change",
            pump=dict(
                model="synchromed-ii-40",
                serial="NGP-120530",
                drug="bupivacaine",
                conc=15.0,
                fill=40.0,
                low=3.0,
                therapy=_simple(6.0),
                tip="T6",
            ),
            start_day=-80,
            implant_day=-500,
            events=[(-1 + 2 / 24, "refill", {"fill": 38.0, "conc": 20.0, "unverified": True})],
            pain=lambda d: 4.0,
            mme=lambda d: 0.0,
            assess_every_days=30,
        ),
        Story(
            "P-1012",
            "Oliver Brandt",
            1977,
            "M",
            "Cancer pain, pancreatic",
            "screening trial passed — implant scheduled",
            notes="Single-shot intrathecal morphine trial: 60% relief, no respiratory depression.",
            pump=None,
            start_day=-14,
            pain=lambda d: 7.0,
            mme=lambda d: 240.0,
            assess_every_days=7,
            appointments=[(5, "implant", "SynchroMed II-like 20 mL, morphine")],
        ),
    ]


def stories_northgate() -> list[Story]:
    return [
        Story(
            "N-2001",
            "Ana Silva",
            1979,
            "F",
            "Spasticity, cerebral palsy",
            "maintenance",
            pump=dict(
                model="synchromed-ii-20",
                serial="NGP-301145",
                drug="baclofen",
                conc=0.5,
                fill=20.0,
                low=2.0,
                therapy=_simple(0.2),
                tip="T10",
                ptm=PtmSettings(dose_mg=0.02, duration_s=600.0, lockout_s=6 * HOUR_S, max_per_day=2),
            ),
            start_day=-70,
            events=[(-40, "refill", {"fill": 20.0})],
            pain=lambda d: 2.0,
            mme=lambda d: 0.0,
            assess_every_days=30,
        ),
        Story(
            "N-2002",
            "Jonas Weber",
            1960,
            "M",
            "Chronic low back pain",
            "maintenance",
            pump=dict(
                model="synchromed-ii-40",
                serial="NGP-301877",
                drug="morphine",
                conc=10.0,
                fill=40.0,
                low=3.0,
                therapy=_simple(1.5),
                tip="T10",
            ),
            start_day=-120,
            events=[(-60, "refill", {"fill": 40.0})],
            pain=lambda d: 3.0,
            mme=lambda d: 5.0,
            assess_every_days=60,
        ),
    ]
