"""Side effects that change the course (issue 10): onsets found at clinic visits, the clinician's
reaction acted on (treat, lower the dose, switch the opioid, explant), and the explant the patient
asks for.

At the implant the patient's onset thresholds are drawn from the side-effect stream in the order
the end-of-follow-up computation used to draw them (``rng_se``: oedema, hypogonadism; its first
spawned child: urinary retention, constipation, sweating, hypocortisolism), so no other draw moves
and the onset of a side effect is the same whether it is computed at a visit on the exposure so
far or at the end of the follow-up on the whole exposure (the onset functions of
:mod:`itdd.patient.outcomes_pro` are cumulative: an onset before ``t`` depends only on the
exposure before ``t``).

At each clinic visit every side effect whose threshold was crossed since the last visit is found;
:func:`~itdd.care.clinician.side_effects.react_to_side_effect` decides, the visit acts.  A side
effect still there at the next visit moves one rung up its ladder.  When a side effect resolves is
an assumption [U] (:data:`RESOLVES_AT_RUNG`).  The patient's wish to have the pump removed is an
exponential waiting time at :data:`WISH_EXPLANT_PER_YEAR` from a stream of its own (the second
spawned child of ``rng_se``, which then draws whether a urinary retention is refractory), acted on
at the first visit after it.

**Calls between visits** (:data:`CALL_DAYS`): a patient with a troublesome side effect does not
wait for the next planned visit.  After every visit the onset of each symptomatic side effect not
yet found is computed under the exposure in place (the same exact onset functions, up to
:data:`CALL_HORIZON_DAYS` ahead); the first one books an unscheduled visit (the pathway's
"the patient called" visit) that many days after it.  Whatever changes the exposure later books
again at the next visit (cancelling the booking it replaces), and a booking overtaken by a visit
that found the side effect does nothing.  Hypogonadism and
hypocortisolism are found by laboratory tests at planned visits, so they prompt no call.
"""

from __future__ import annotations

from ...patient import outcomes_pro as pro
from ...patient.parameters import U
from ...pump.therapy import Therapy
from ...sim.engine import Scheduled, Simulation
from ...timeunits import SECONDS_PER_YEAR
from ..clinician import drug_change as dc
from ..clinician.side_effects import DOSE_REDUCTION, react_to_side_effect
from .drug_steps import DrugSteps
from .rules import DAY

__all__ = [
    "CALL_DAYS",
    "CALL_HORIZON_DAYS",
    "ONSET_KINDS",
    "RESOLVES_AT_RUNG",
    "RETENTION_REFRACTORY",
    "WISH_EXPLANT_PER_YEAR",
    "SideEffectSteps",
    "onsets_before",
]

#: the onset-based side effects, in the order their thresholds are drawn
ONSET_KINDS = ("peripheral_edema", "hypogonadism", "urinary_retention", "constipation", "sweating", "hypocortisolism")

#: the rung of the ladder (0: the first treatment; 1, 2: the persistent steps of
#: care/clinician/side_effects.py) after which the side effect is taken as resolved (assumptions [U]):
#: laxatives and hormone replacement control constipation, hypogonadism and hypocortisolism;
#: sweating eases at a 20% lower dose; oedema needs the opioid switched (Aldrete 2000 reports it with
#: morphine [S]; with drug changes off the rung lowers the dose again); urinary retention resolves
#: after catheterisation and a lower dose unless it is refractory (:data:`RETENTION_REFRACTORY`).
RESOLVES_AT_RUNG: dict[str, int | None] = {
    "peripheral_edema": 2,
    "hypogonadism": 0,
    "urinary_retention": 1,
    "constipation": 0,
    "sweating": 1,
    "hypocortisolism": 0,
}

RETENTION_REFRACTORY = U(
    0.25,
    "assumption: urinary retention persists after catheterisation and a 20% lower dose in 1 of 4, who "
    "then need the pump removed (Anderson 1998: 2 of 11 explanted for bladder dysfunction, a small series; "
    "with every onset ending in an explant the cohort explanted 27% for side effects by 3 years)",
)

WISH_EXPLANT_PER_YEAR = U(
    0.01,
    "assumption: explant at the patient's request about 1% a year; long-term IT series list 'patient "
    "request' among explant reasons (Duarte 2012, Hamza 2012) but no rate was found in our sources",
)


#: days from the onset of a symptomatic side effect to the unscheduled visit the patient's call
#: brings (assumptions [U]; no published delay was found): urinary retention is an emergency
#: (catheterised within a day: the bladder cannot wait); oedema and constipation are seen within a
#: week; sweating, a nuisance, within two.  The Infumorph and SynchroMed labelling tell patients to
#: report such symptoms to their clinician [S2]; that every patient calls is an assumption [U].
CALL_DAYS: dict[str, float] = {
    "urinary_retention": 1.0,
    "peripheral_edema": 7.0,
    "constipation": 7.0,
    "sweating": 14.0,
}
CALL_KINDS = tuple(k for k in ONSET_KINDS if k in CALL_DAYS)
#: how far ahead of a visit an onset is looked for (beyond it, a later visit books the call) [U]
CALL_HORIZON_DAYS = U(120.0, "assumption: longer than the longest planned interval between visits and refills")


def onsets_before(
    exposure: list[tuple[float, float, float]],
    t_s: float,
    thresholds: dict[str, float],
    scans: dict[str, pro.OnsetScan] | None = None,
    kinds: tuple[str, ...] = ONSET_KINDS,
) -> dict[str, float | None]:
    """Each side effect of ``kinds``: its onset on ``exposure`` up to ``t_s`` (None: not yet): the
    functions and rates of the end-of-follow-up computation (pathway.py,
    outcomes_pro.later_outcomes).  ``scans``: each kind's :class:`~itdd.patient.outcomes_pro.OnsetScan`,
    so a visit scans only the rows since the last one (the same onsets to the last bit)."""
    th = thresholds
    sc = scans if scans is not None else {}
    out: dict[str, float | None] = {}
    scan_onset = pro.scan_onset
    for k in kinds:
        # pro.onset_weighted_s (constipation) and pro.onset_s, called without their wrappers
        rate, form, a, b = _ONSET_FORMS[k]
        out[k] = scan_onset(exposure, t_s, th[k], rate, form, a, b, sc.get(k))
    return out


#: each onset-based side effect but constipation: (hazard rate, whether oral opioids count)
_ONSET_RATES: dict[str, tuple[float, bool]] = {
    "peripheral_edema": (pro.EDEMA, False),
    "hypogonadism": (pro.HYPOGONADISM, True),
    "urinary_retention": (pro.URINARY_RETENTION, False),
    "sweating": (pro.SWEATING, True),
    "hypocortisolism": (pro.HYPOCORTISOLISM, True),
}


#: each onset-based side effect's hazard as :func:`~itdd.patient.outcomes_pro.scan_onset` takes it:
#: (rate, form, a, b), the arguments :func:`~itdd.patient.outcomes_pro.onset_s` and
#: :func:`~itdd.patient.outcomes_pro.onset_weighted_s` pass it
_ONSET_FORMS: dict[str, tuple[float, int, float, float]] = {
    **{
        k: (rate, pro.CENTRAL, pro.ORAL_TO_IT.value, 0.0) if oral else (rate, pro.IT_ONLY, 0.0, 0.0)
        for k, (rate, oral) in _ONSET_RATES.items()
    },
    "constipation": (pro.CONSTIPATION, pro.WEIGHTED, pro.IT_TO_SYSTEMIC_MME.value, 1.0),
}


class SideEffectSteps(DrugSteps):
    """Side effects found and acted on at visits; the patient's wish to have the pump removed."""

    def start_side_effects(self, t: float) -> None:
        """Draw the onset thresholds and the patient's wish (at the implant, ``t``)."""
        th_edema, th_hypo = float(self.rng_se.exponential()), float(self.rng_se.exponential())
        self.rng_later = self.rng_se.spawn(1)[0]
        th_ur, th_con, th_sw, th_cort = (float(x) for x in self.rng_later.exponential(size=4))
        self.se_thresholds = dict(zip(ONSET_KINDS, (th_edema, th_hypo, th_ur, th_con, th_sw, th_cort), strict=True))
        self.se_found: dict[str, float] = {}  # kind -> onset found at a visit
        self.se_active: dict[str, int] = {}  # kind -> the last rung tried
        self.se_scans = {k: pro.OnsetScan() for k in ONSET_KINDS}  # where each kind's scan resumes
        rng_own = self.rng_se.spawn(1)[0]  # the wish, then whether retention is refractory
        self.wish_s = t + float(rng_own.exponential()) / WISH_EXPLANT_PER_YEAR.value * SECONDS_PER_YEAR
        self.retention_refractory = float(rng_own.random()) < RETENTION_REFRACTORY.value
        self.se_calls = 0  # unscheduled visits brought by a side effect between visits
        self.se_call_item: Scheduled | None = None  # the booked call (cancelled when a later visit books another)

    def visit(self, t: float, kind: str, why: str = "") -> None:
        if self.side_effect_visit(t):
            return
        super().visit(t, kind, why)
        self.book_side_effect_call(t)

    def book_side_effect_call(self, t: float) -> None:
        """After a visit at ``t``: book the unscheduled visit of the first symptomatic side effect
        (:data:`CALL_KINDS`) whose onset under the exposure in place falls within
        :data:`CALL_HORIZON_DAYS` (module docstring).  The scans move on exactly as at a visit (a
        resumed scan finalises only rows that already have a successor), so no onset changes."""
        if not hasattr(self, "se_thresholds") or self.explanted or self.engine is None:
            return
        if not self.therapy_on or self.saline or not self.plan.side_effect_reactions:
            return
        todo = tuple(k for k in CALL_KINDS if k not in self.se_found)
        if not todo:
            return
        horizon = t + CALL_HORIZON_DAYS.value * DAY
        found = onsets_before(self.exposure_log, horizon, self.se_thresholds, self.se_scans, todo)
        calls = [(onset + CALL_DAYS[k] * DAY, k) for k, onset in found.items() if onset is not None and onset > t]
        Simulation.cancel(self.se_call_item)  # superseded: it will not run, nor stop the run
        self.se_call_item = None
        if not calls:
            return
        when, k = min(calls)
        if when > self.end_s:
            return

        def call(sim: Simulation) -> None:
            # the side effect was found at a visit meanwhile (a superseded booking is cancelled)
            if k in self.se_found or self.explanted or self.implant is None:
                return
            self.se_calls += 1
            why = f"the patient called about {k.replace('_', ' ')}"
            self.stage("visit", self.implant.t_s, "Unscheduled visit", details=why)
            self._visit("unscheduled", why)(sim)

        self.se_call_item = self.engine.schedule(when, call, label="side-effect call")

    def side_effect_visit(self, t: float) -> bool:
        """Find and act on side effects and the patient's wish; True when the pump was removed."""
        if not hasattr(self, "se_thresholds") or self.explanted:
            return False
        if t >= self.wish_s and self.plan.hazards:
            self.stage("visit", t, "The patient asks for the pump to be removed")
            self.do_explant(t, "patient's wish")
            return True
        if not self.therapy_on or self.saline or not self.plan.side_effect_reactions:
            return False  # nothing to lower; onsets are found when the drug is back (the same times)
        for k, rung in list(self.se_active.items()):  # still there: one rung up
            if self.react(t, k, rung + 1):
                return True
        todo = [k for k in ONSET_KINDS if k not in self.se_found]
        if not todo:
            return False
        found = onsets_before(self.exposure_log, t, self.se_thresholds, self.se_scans, tuple(todo))
        for k in todo:
            onset = found[k]
            if onset is None:
                continue
            self.se_found[k] = onset
            if self.react(t, k, 0, onset):
                return True
        return False

    def react(self, t: float, kind: str, rung: int, onset: float | None = None) -> bool:
        """Act on the clinician's reaction at ``rung``; True when the pump was removed."""
        d = react_to_side_effect(kind, persistent_after=rung)
        name = kind.replace("_", " ")
        label = name.capitalize() + (f" since {self.iso(onset)[:10]}" if onset is not None and self.record else "")
        self.stage("side_effect", t, label, details=d.reason)
        if d.action == "explant":
            self.do_explant(t, "side effects")
            return True
        if d.action == "switch_drug" and not self.switch_for(t, d.reason):
            self.lower_dose(t, f"{name} persists (no drug change allowed or left): dose lowered")
        elif d.action == "lower_dose":
            self.lower_dose(t, d.reason)
        resolves = RESOLVES_AT_RUNG[kind]
        if kind == "urinary_retention" and self.retention_refractory:
            resolves = None
        done = d.action == "continue" or resolves == rung
        if done:
            self.se_active.pop(kind, None)
        else:
            self.se_active[kind] = rung
        return False

    def switch_for(self, t: float, why: str) -> bool:
        """Switch to the next opioid not yet tried (PACC order) if the plan allows drug changes."""
        if not self.plan.drug_changes or not self.is_opioid:
            return False
        order = tuple(d for d in dc.SWITCH_ORDER if d != "ziconotide")
        new = next((d for d in order if d != self.drug.name and d not in self.drugs_tried), None)
        if new is None:
            return False
        self.switch_drug(t, new, dc.convert_dose(self.drug.name, new, self.dose), why)
        return True

    def lower_dose(self, t: float, why: str) -> None:
        """Lower the programmed dose by DOSE_REDUCTION, not below the pump's minimum rate at the
        concentration in the reservoir (the guard of every dose change)."""
        imp = self.implant
        assert imp is not None
        dose = self.dose
        floor = imp.model.min_rate_ml_per_day * imp.fw.conc_mg_per_ml
        new = max(dose * (1.0 - DOSE_REDUCTION.value), floor)
        if new >= dose:
            return
        imp.program(Therapy.simple(new), details={"reason": f"side effect ({why})"})
        self.dose = new
        self.log_dose(t)
        self.last_change_s = t
        self.changed(t)
        if self.record:
            self.stage("titration", t, f"{self.drug.fmt_dose_rate(dose)} → {self.drug.fmt_dose_rate(new)}", details=why)
        self.exposure(t)
        self.schedule_refill(t, t + self.days_left(t) * DAY)
