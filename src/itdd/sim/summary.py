"""A readable plain-text summary of a run's result, for the terminal."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .. import DISCLAIMER

NOTABLE = {
    "therapy_programmed": "therapy programmed",
    "therapy_stopped": "therapy stopped",
    "therapy_resumed": "therapy resumed",
    "low_reservoir_alarm": "LOW RESERVOIR alarm",
    "reservoir_empty_alarm": "RESERVOIR EMPTY alarm (critical)",
    "motor_stall": "MOTOR STALL (critical)",
    "motor_stall_recovery": "motor stall recovery",
    "eri_alarm": "ERI alarm: elective replacement indicator",
    "end_of_service": "END OF SERVICE (critical)",
    "refill": "refill",
    "catheter_fault": "catheter fault (hidden from the pump)",
    "catheter_revision": "catheter revision",
    "magnetic_field_on": "MRI: magnetic field on",
    "magnetic_field_off": "MRI: magnetic field off",
    "reservoir_depleted": "reservoir actually empty (hidden from the pump)",
    "catheter_access_port_injection": "INJECTION INTO THE CATHETER ACCESS PORT",
    "clock_set": "pump clock set",
}


def _short(t: str) -> str:
    return t[:16].replace("T", " ")


def summary_text(result: dict[str, Any]) -> str:
    s = result["scenario"]
    t = result["totals"]
    p = result["pump"]
    lines = [
        f"itdd: {DISCLAIMER}",
        "",
        f"Scenario  {s['name']}",
        f"Period    {_short(s['start'])} to {_short(s['end'])} (UTC{s['utc_offset']})",
        f"Pump      {p['model']}, {p['drug']} {p.get('concentration', '')}, {p['therapy']['description']}",
        "",
        f"Delivered to the spinal fluid  {t['delivered_mg']:.3f} mg in {t['delivered_ml']:.3f} mL "
        f"(the pump believes {t['programmed_mg']:.3f} mg)",
        f"Left the reservoir             {t['pumped_ml']:.3f} mL",
    ]
    if t["lost_mg"] > 0:
        lines.append(f"Lost outside the spinal fluid  {t['lost_mg']:.3f} mg")
    lines += [
        f"Reservoir at the end           actual {p['reservoir_ml']:.2f} mL, pump estimate "
        f"{p['reservoir_estimate_ml']:.2f} mL",
        f"Pump state                     {p['state'].replace('_', ' ')}",
    ]
    if p["alarms"]:
        alarms = ", ".join(
            f"{a['type'].replace('_', ' ')} ({a['severity']}, since {_short(a['raised'])})" for a in p["alarms"]
        )
        lines.append(f"Active alarms                  {alarms}")
    if p.get("eri"):
        lines.append(
            f"Battery                        ERI {_short(p['eri'])}, end of service {_short(p['end_of_service'])}"
        )
    if t["ptm_requests"]:
        reasons = Counter(d["reason"] for d in result["ptm_requests"] if not d["granted"])
        why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        lines.append(
            f"Patient boluses                {t['ptm_requests']} requested, {t['ptm_granted']} granted, "
            f"{t['ptm_denied']} denied" + (f" ({why})" if why else "")
        )
    if result.get("refills"):
        lines += ["", "Refills"]
        for r in result["refills"]:
            flag = "  ** evaluate **" if r.get("flag") else ""
            lines.append(
                f"  {_short(r['time'])}  expected {r['expected_ml']:.2f} mL, withdrawn {r['withdrawn_ml']:.2f} mL, "
                f"discrepancy {r['discrepancy_ml']:+.2f} mL{flag}"
            )
            if r.get("next_refill_date"):
                lines.append(
                    f"                    next refill {r['next_refill_date']}, low-reservoir alarm "
                    f"{r.get('low_reservoir_alarm_date')}"
                )
    notable = [e for e in result["events"] if e["type"] in NOTABLE]
    if notable:
        lines += ["", "Key events"]
        for e in notable[:40]:
            extra = ""
            if e["type"] == "catheter_fault":
                extra = f": {e.get('kind')}"
            elif e["type"] == "refill":
                extra = f": {e.get('filled_ml', 0):.1f} mL of {e.get('drug')}"
            lines.append(f"  {_short(e['time'])}  {NOTABLE[e['type']]}{extra}")
        if len(notable) > 40:
            lines.append(f"  ... and {len(notable) - 40} more (see --json or --out)")
    return "\n".join(lines)
