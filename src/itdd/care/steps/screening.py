"""Screening and the screening trial: contraindications, washout, trial doses, vital signs, the verdict."""

from __future__ import annotations

from ... import quantities as q
from ...errors import SafetyRefusal
from ...patient.placebo import reported_pain
from ...report.schema import TrialAlert, TrialComplication, TrialDose, TrialVitals
from ..clinician.decisions import SUCCESS_RELIEF
from ..outcome import Complication
from .rules import (
    DAY,
    RR_ALERT_PER_MIN,
    SPO2_ALERT_PCT,
    TRIAL_CATHETER_COMPLICATIONS,
    TRIAL_COMPLICATIONS,
    TRIAL_GRID_S,
    VITALS_HOURLY_H,
    VITALS_TWO_HOURLY_H,
    H,
)
from .state import PathwayState


class Screening(PathwayState):
    """Screening and the screening trial: contraindications, washout, trial doses, vital signs, the verdict."""

    def screening(self) -> str | None:
        t = self.start_s
        reasons = self.params.contraindications(self.plan.drug)
        self.baseline_pain = self.sim.pain(activity=1.0)
        if reasons:
            refusal = SafetyRefusal("patient.contraindications", "; ".join(reasons), rule="contraindication")
            self.stage("screening", t, "Screening: refused", outcome="refused", details=refusal.message)
            self.trial = {
                "drug": self.plan.drug,
                "method": self.plan.trial.method,
                "start": self.iso(t),
                "end": self.iso(t),
                "doses": [],
                "vitals": [],
                "alerts": [],
                "refusal": {"field": refusal.field, "message": refusal.message, "rule": refusal.rule or ""},
                "complications": [],
                "outcome": {
                    "success": None,
                    "summary": f"No trial: {refusal.message}.",
                    "success_threshold_fraction": SUCCESS_RELIEF,
                    "baseline_pain_score": self.baseline_pain,
                },
            }
            if self.record:
                self.recorder.observe(self.sim, t)
            self.end_s = t + 7 * DAY
            self.advance(self.end_s)
            return refusal.message
        self.stage("screening", t, "Screening: no contraindication", outcome="accepted")
        return None

    def run_trial(self) -> tuple[bool, float]:
        """Washout then the trial; returns (success, effective dose: mg bolus or mg/day infusion)."""
        tp = self.plan.trial
        washout_s = tp.washout_s
        t = self.start_s
        if self.policy.wean_before_trial and self.home_oral > 0:
            # low-dose practice: systemic opioids tapered off before the trial and kept off
            self.set_oral(t, 0.0)
            self.stage("screening", t, "Systemic opioids weaned", details=f"{self.home_oral:.0f} MME/day stopped")
        if washout_s > 0:
            self.set_oral(t, 0.0)
            self.advance(t + washout_s)
            self.stage(
                "screening",
                t,
                f"Oral opioid washout ({q.fmt_duration(washout_s)})",
                end=t + washout_s,
                details=f"{self.home_oral:.0f} MME/day stopped",
            )
        t0 = self.start_s + washout_s
        self.advance(t0)
        pre = self.sim.pain(activity=1.0)
        doses: list[TrialDose] = []
        vitals: list[TrialVitals] = []
        alerts: list[TrialAlert] = []
        comps: list[TrialComplication] = []
        comp_times_s: list[float] = []
        best = 0.0
        best_pain = pre
        success = False
        effective = 0.0
        table = TRIAL_CATHETER_COMPLICATIONS if tp.method == "continuous_infusion" else TRIAL_COMPLICATIONS

        def procedure(t_s: float) -> None:
            if not self.plan.surgical_complications:
                return
            for kind, (p, src, reop) in table.items():
                if self.rng_proc.random() < p:
                    comps.append({"time": self.iso(t_s + 6 * H), "kind": kind, "details": src})
                    comp_times_s.append(t_s + 6 * H)
                    self.complications.append(Complication(kind, "trial", t_s + 6 * H, t_s + 6 * H, reop, src))

        def checks(t_dose: float, rate: float, until_s: float) -> bool:
            """Vitals on the schedule; returns True if an alert was raised."""
            nonlocal best, best_pain
            times = [t_dose + k * H for k in range(1, VITALS_HOURLY_H + 1)]
            times += [t_dose + VITALS_HOURLY_H * H + k * 2 * H for k in range(1, VITALS_TWO_HOURLY_H // 2 + 1)]
            alerted = False
            for tc in times:
                if tc > until_s + 1e-6:
                    break
                self.advance(tc, csf_mg_per_day=rate if not alerted else 0.0, grid_s=TRIAL_GRID_S)
                o = self.sim.vitals(activity=1.0)
                pain = reported_pain(o.pain, self.params.placebo_relief, tc - self.start_s)
                if self.record:
                    vitals.append(
                        {
                            "time": self.iso(tc),
                            "resp_rate_per_min": o.resp_rate_per_min,
                            "spo2_pct": o.spo2_pct,
                            "pain": pain,
                            "sedation": o.sedation,
                        }
                    )
                if pre > 0 and 1 - pain / pre > best:
                    best, best_pain = 1 - pain / pre, pain
                if o.resp_rate_per_min >= RR_ALERT_PER_MIN and o.spo2_pct >= SPO2_ALERT_PCT:
                    continue
                response = (
                    "infusion stopped; oxygen, stimulation, physician called (naloxone not modelled)"
                    if rate > 0
                    else "no further trial doses; oxygen, stimulation, physician called (naloxone not modelled)"
                )
                if o.resp_rate_per_min < RR_ALERT_PER_MIN:
                    alerts.append(
                        {
                            "time": self.iso(tc),
                            "kind": "respiratory_rate",
                            "value": o.resp_rate_per_min,
                            "limit": RR_ALERT_PER_MIN,
                            "message": f"respiratory rate {o.resp_rate_per_min:.1f}/min is below "
                            f"{RR_ALERT_PER_MIN:g}/min: {response}",
                        }
                    )
                    alerted = True
                if o.spo2_pct < SPO2_ALERT_PCT:
                    alerts.append(
                        {
                            "time": self.iso(tc),
                            "kind": "spo2",
                            "value": o.spo2_pct,
                            "limit": SPO2_ALERT_PCT,
                            "message": f"SpO2 {o.spo2_pct:.0f}% is below {SPO2_ALERT_PCT:g}%: {response}",
                        }
                    )
                    alerted = True
            return alerted

        t = t0
        if tp.method == "continuous_infusion":
            rate = tp.infusion_mg_per_day
            dur = tp.infusion_duration_s
            procedure(t)
            doses.append({"time": self.iso(t), "dose_mg": rate * dur / DAY, "route": "intrathecal infusion"})
            doses[-1]["duration_s"] = dur
            alerted = checks(t, rate, t + dur)
            t_end = t + dur
            if not alerted:
                # after the first 24 h: 4-hourly checks while the infusion runs (assumption [U])
                tc = t + 24 * H
                while tc + 4 * H <= t_end + 1e-6:
                    tc += 4 * H
                    self.advance(tc, csf_mg_per_day=rate, grid_s=TRIAL_GRID_S)
                    o = self.sim.vitals(activity=1.0)
                    pain = reported_pain(o.pain, self.params.placebo_relief, tc - self.start_s)
                    vitals.append(
                        {
                            "time": self.iso(tc),
                            "resp_rate_per_min": o.resp_rate_per_min,
                            "spo2_pct": o.spo2_pct,
                            "pain": pain,
                            "sedation": o.sedation,
                        }
                    )
                    if pre > 0 and 1 - pain / pre > best:
                        best, best_pain = 1 - pain / pre, pain
            self.advance(max(t_end, self.sim.t_s), csf_mg_per_day=0.0 if alerted else rate, grid_s=TRIAL_GRID_S)
            success = self.policy.trial_verdict(relief_fraction=best).action == "implant"
            effective = rate
            t = max(t_end, self.sim.t_s)
            label = f"Continuous infusion {self.drug.fmt_dose_rate(rate)} for {q.fmt_duration(dur)}"
        else:
            amounts = tp.bolus_doses_mg()
            for i, amount in enumerate(amounts):
                t_dose = t0 + i * DAY
                self.advance(t_dose, grid_s=TRIAL_GRID_S)
                procedure(t_dose)
                self.sim.dose(amount, self.plan.drug, "lumbar_puncture")
                doses.append({"time": self.iso(t_dose), "dose_mg": amount, "route": "intrathecal bolus"})
                best_before = best
                alerted = checks(t_dose, 0.0, t_dose + 24 * H)
                t = t_dose + 24 * H
                if (
                    self.policy.trial_verdict(relief_fraction=best).action == "implant"
                    and self.policy.trial_verdict(relief_fraction=best_before).action != "implant"
                ):
                    success, effective = True, amount
                    break
                if alerted:
                    break
            given = ", then ".join(self.drug.fmt_amount(a) for a in amounts[: len(doses)])
            planned = ", ".join(self.drug.fmt_amount(a) for a in amounts)
            label = (
                f"Single bolus {self.drug.fmt_amount(amounts[0])}"
                if tp.method == "single_bolus"
                else f"Bolus trial: {given} (planned {planned}, one a day until success)"
            )
        self.advance(t, grid_s=TRIAL_GRID_S)
        outcome = "success" if success else "failure"
        summary = (
            f"Best pain {best_pain:.1f} vs {pre:.1f} before the trial: {best:.0%} relief "
            f"({'at least' if success else 'below'} the 50% needed)"
        )
        if alerts:
            summary += f"; {len(alerts)} respiratory alert(s)"
        self.trial = {
            "drug": self.plan.drug,
            "method": tp.method,
            "start": self.iso(t0),
            "end": self.iso(t),
            "doses": doses,
            "vitals": vitals,
            "alerts": alerts,
            "outcome": {
                "success": success,
                "pain_relief_fraction": best,
                "success_threshold_fraction": SUCCESS_RELIEF,
                "baseline_pain_score": pre,
                "best_pain_score": best_pain,
                "summary": summary,
            },
            "refusal": None,
            "complications": comps,
        }
        self.stage("trial", t0, label, end=t, outcome=outcome, details=summary)
        for c, c_s in zip(comps, comp_times_s, strict=True):
            self.stage("complication", c_s, c["kind"].replace("_", " "))
        self.trial_end_s = t
        self.trial_success = success
        # back on home oral opioids after the trial (assumption [U]), unless weaned for good
        self.set_oral(t, 0.0 if self.policy.wean_before_trial else self.home_oral)
        return success, effective
