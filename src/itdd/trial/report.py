"""A trial's outputs (``--out DIR``): summary.json, patients.parquet, patients.csv, report.html.

The page is self-contained (inline SVG figures from matplotlib, inline CSS, no scripts), like
:mod:`itdd.report`, and deterministic: the same summary gives the same bytes.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from ..care.hazards import YEAR_S
from ..report.plots import _RC, BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION, to_svg
from ..sim.output import write_text_atomic
from .contract import ComparisonRow, KaplanMeierCurve, TrialSummary
from .endpoints import ENDPOINTS

__all__ = ["patient_rows", "render_html", "summary_json", "write_outputs"]

COLORS = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY, "#000000")
STYLES = ("-", "--", "-.", ":", "-", "--", "-.", ":")
WIDTH_IN = 10.5


def summary_json(summary: TrialSummary) -> str:
    return json.dumps(summary, indent=2, allow_nan=False) + "\n"


# ---- per-patient table -------------------------------------------------------------------------------

FIELDS = (
    "arm",
    "index",
    "patient_id",
    "refused",
    "trial_success",
    "implanted",
    "implant_s",
    "baseline_pain",
    "baseline_oral_mme_per_day",
    "relief_12_months",
    "relief_36_months",
    "dose_mg_per_day_6_months",
    "dose_mg_per_day_36_months",
    "oral_mme_per_day_12_months",
    "complications",
    "complication_kinds",
    "reoperations",
    "explanted",
    "explant_reason",
    "followed_years",
    "lost",
)


def patient_rows(result: Any) -> tuple[list[str], list[list[Any]]]:
    """One row per (arm, patient), with the patient's time-to-event columns."""
    p = result.protocol
    tte = [e for e, ep in ENDPOINTS.items() if ep.kind == "time_to_event" and ep.available]
    cols = list(FIELDS) + [c for e in tte for c in (f"{e}_years", f"{e}_event")]
    rows: list[list[Any]] = []
    for arm, run in zip(p.arms, result.arms, strict=True):
        errors = {int(e.split(":")[0].split()[-1]): e for e in run.errors}
        for i, o in zip(run.indices, run.outcomes, strict=True):
            if o is None:
                rows.append([arm.name, i, f"VP-{p.seed}-{i:04d}"] + [None] * (len(cols) - 4) + [errors.get(i, "lost")])
                continue
            row: list[Any] = [
                arm.name,
                i,
                o.patient_id,
                o.refused,
                o.trial_success,
                o.implanted,
                o.implant_s,
                o.baseline_pain,
                o.baseline_oral_mme_per_day,
                o.relief_12_months,
                o.relief_36_months,
                o.dose_mg_per_day_6_months,
                o.dose_mg_per_day_36_months,
                o.oral_mme_per_day_12_months,
                len(o.complications),
                ";".join(f"{c.stage}:{c.kind}" for c in o.complications),
                o.reoperations,
                o.explanted,
                o.explant_reason,
                o.followed_s / YEAR_S,
                None,
            ]
            for e in tte:
                ex = ENDPOINTS[e].extract
                v = ex(o, p.years) if ex is not None else None
                row += [None, None] if not isinstance(v, tuple) else [v[0], bool(v[1])]
            rows.append(row)
    return cols, rows


def _csv(cols: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


def _parquet(path: Path, cols: list[str], rows: list[list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "arm": pa.string(),
        "index": pa.int64(),
        "patient_id": pa.string(),
        "refused": pa.string(),
        "trial_success": pa.bool_(),
        "implanted": pa.bool_(),
        "complications": pa.int64(),
        "complication_kinds": pa.string(),
        "reoperations": pa.int64(),
        "explanted": pa.bool_(),
        "explant_reason": pa.string(),
        "lost": pa.string(),
    }
    fields = [pa.field(c, types.get(c, pa.bool_() if c.endswith("_event") else pa.float64())) for c in cols]
    schema = pa.schema(fields)
    table = pa.Table.from_pydict({c: [r[j] for r in rows] for j, c in enumerate(cols)}, schema=schema)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def write_outputs(out_dir: Path, result: Any) -> list[str]:
    """Write the four files; returns their names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "summary.json", summary_json(result.summary))
    cols, rows = patient_rows(result)
    _parquet(out_dir / "patients.parquet", cols, rows)
    write_text_atomic(out_dir / "patients.csv", _csv(cols, rows))
    write_text_atomic(out_dir / "report.html", render_html(result.summary))
    return ["summary.json", "patients.parquet", "patients.csv", "report.html"]


# ---- figures -----------------------------------------------------------------------------------------


def _fig(h: float, rows: int = 1, cols: int = 1, **kw: Any) -> tuple[Figure, Any]:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(WIDTH_IN, h), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False, **kw)
    return fig, axes


def km_figure(s: TrialSummary) -> str | None:
    km = s["kaplan_meier"]
    if not km:
        return None
    names = list(km)
    with matplotlib.rc_context(_RC):
        fig, axes = _fig(3.0 * len(names), len(names), 1)
        for ax, e in zip(axes[:, 0], names, strict=True):
            for k, (arm, c) in enumerate(km[e].items()):
                if not c["t_years"]:
                    continue
                col = COLORS[k % len(COLORS)]
                t = c["t_years"] + [s["years"]]
                sv = c["survival"] + [c["survival"][-1]]
                lo = [v if v is not None else 0.0 for v in c["ci_low"]]
                hi = [v if v is not None else 1.0 for v in c["ci_high"]]
                ax.fill_between(t, [*lo, lo[-1]], [*hi, hi[-1]], step="post", color=col, alpha=0.18, lw=0)
                ax.step(t, sv, where="post", color=col, ls=STYLES[k % len(STYLES)], label=f"{arm}")
            ax.set_title(f"{e.replace('_', ' ')}: event-free (Kaplan-Meier, 95% Greenwood band)")
            ax.set_xlim(0, s["years"])
            ax.set_ylim(max(0.0, _lowest(km[e]) - 0.05), 1.01)
            ax.set_ylabel("event-free")
            ax.set_xlabel("years since implant")
            ax.legend(loc="lower left")
        return to_svg(fig, "Kaplan-Meier curves with 95% bands, per arm")


def _lowest(curves: dict[str, KaplanMeierCurve]) -> float:
    vals = [v for c in curves.values() for v in c["ci_low"] if v is not None]
    return min(vals) if vals else 0.0


def dose_figure(s: TrialSummary) -> str | None:
    dt = s["dose_trajectories"]
    if not any(d["patients"] for d in dt.values()):
        return None
    with matplotlib.rc_context(_RC):
        n = len(dt)
        fig, axes = _fig(2.6 * n, n, 1, sharex=True, sharey=True)
        for k, (ax, (arm, d)) in enumerate(zip(axes[:, 0], dt.items(), strict=True)):
            col = COLORS[k % len(COLORS)]
            if d["patients"]:
                m = d["months"]
                ax.fill_between(m, d["p10"], d["p90"], color=col, alpha=0.15, lw=0, label="10th-90th percentile")
                ax.fill_between(m, d["p25"], d["p75"], color=col, alpha=0.35, lw=0, label="25th-75th percentile")
                ax.plot(m, d["p50"], color=col, label="median")
            ax.set_title(f"{arm}: programmed intrathecal dose ({d['patients']} implanted)")
            ax.set_ylabel("mg/day")
            ax.legend(loc="upper left")
        axes[-1, 0].set_xlabel("months since implant")
        return to_svg(fig, "Programmed dose over time, percentile bands per arm")


def forest_figure(s: TrialSummary) -> str | None:
    comps = [c for c in s["comparisons"] if c["difference"] is not None]
    if not comps:
        return None
    eps = list(dict.fromkeys(c["endpoint"] for c in comps))
    arms = list(dict.fromkeys(c["arm"] for c in comps))
    units = s["endpoints"]["units"]
    with matplotlib.rc_context(_RC):
        fig, axes = _fig(0.45 + 0.42 * len(arms) * len(eps) + 0.35 * len(eps), len(eps), 1)
        for ax, e in zip(axes[:, 0], eps, strict=True):
            rows = [c for c in comps if c["endpoint"] == e]
            for y, c in enumerate(rows):
                k = arms.index(c["arm"]) + 1
                col = COLORS[k % len(COLORS)]
                lo = c["ci_low"] if c["ci_low"] is not None else c["difference"]
                hi = c["ci_high"] if c["ci_high"] is not None else c["difference"]
                ax.plot([lo, hi], [y, y], color=col, lw=2.2)
                ax.plot([c["difference"]], [y], "D", color=col, ms=6)
                p = c["p_value"]
                ax.annotate(
                    f"{c['difference']:+.3g} [{lo:.3g}, {hi:.3g}]" + ("" if p is None else f"  p={p:.2g}"),
                    (1.0, y),
                    xycoords=("axes fraction", "data"),
                    xytext=(6, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=9,
                )
            ax.axvline(0.0, color=GREY, lw=1)
            ax.set_yticks(range(len(rows)), [f"{c['arm']} − {c['reference']}" for c in rows])
            ax.set_ylim(len(rows) - 0.3, -0.7)  # the first comparison on top, as in the table
            ax.grid(axis="y", visible=False)
            what = units.get(e, "")
            if s["endpoints"]["kinds"].get(e) == "time_to_event":
                at = ENDPOINTS[e].at_years if e in ENDPOINTS else None
                what = f"event-free fraction at {s['years'] if at is None else at:g} years"
                if e in ENDPOINTS and ENDPOINTS[e].complement:
                    what = f"cumulative incidence at {at:g} years"
            ax.set_title(f"{e.replace('_', ' ')} ({what})", fontsize=10.5)
            lo_all = min(min(c["ci_low"] or 0, _difference(c)) for c in rows)
            hi_all = max(max(c["ci_high"] or 0, _difference(c)) for c in rows)
            span = hi_all - lo_all
            # a span of rounding noise (identical arms' Kaplan-Meier products, ~1e-16) is drawn as 0
            pad = span * 0.1 if span > 1e-9 else 0.05
            ax.set_xlim(min(lo_all, 0) - pad, max(hi_all, 0) + pad)
        return to_svg(fig, "Forest plot: differences from the reference arm with 95% intervals")


def _difference(c: ComparisonRow) -> float:
    """The difference of a comparison the forest plot draws (one with a difference)."""
    d = c["difference"]
    assert d is not None
    return d


def effects_figure(s: TrialSummary) -> str | None:
    eff = s["individual_effects"]
    rows = [(e, arm, d) for e, by in eff.items() for arm, d in by.items() if d["n"]]
    if not rows:
        return None
    with matplotlib.rc_context(_RC):
        fig, axes = _fig(0.8 + 0.42 * len(rows))
        ax = axes[0, 0]
        labels = []
        for y, (e, arm, d) in enumerate(rows):
            left = 0.0
            for key, w_, col in (
                ("better", d["better"], GREEN),
                ("same", d["same"], "#CCCCCC"),
                ("worse", d["worse"], VERMILLION),
            ):
                w = w_ or 0.0  # n > 0: never None
                ax.barh(y, w, left=left, color=col, edgecolor="white", label=key if y == 0 else None)
                if w >= 0.06:
                    ax.text(left + w / 2, y, f"{w:.0%}", ha="center", va="center", fontsize=8.5)
                left += w
            labels.append(f"{e.replace('_', ' ')} — {arm} (n={d['n']})")
        ax.set_yticks(range(len(rows)), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of patients (better / same / worse in the arm than in the reference)")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
        return to_svg(fig, "Individual effects: share of patients better, same or worse in each arm")


# ---- the page ----------------------------------------------------------------------------------------

CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#111;
line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc;padding-bottom:.2em}
.disclaimer{background:#fff3cd;border:1px solid #e0c46c;padding:.5em .8em;border-radius:4px}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.consort{display:flex;gap:1.2em;flex-wrap:wrap}.flow{flex:1;min-width:240px}
.box{border:2px solid #444;border-radius:4px;padding:.35em .6em;margin:0 0 .25em;background:#fafafa}
.side{border:1px dashed #888;margin-left:2em;background:#fff;font-size:.9em}.arrow{text-align:center;color:#666;
margin:-.1em 0 .15em;font-size:.9em}.primary{font-weight:bold}svg{max-width:100%;height:auto}
.note{color:#444;font-size:.92em}
"""


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "fraction":
        return f"{100 * v:.1f}%"
    return f"{v:.3g}"


def _fmt_d(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "fraction":
        return f"{100 * v:+.1f} pp"
    return f"{v:+.3g}"


def _consort_html(s: TrialSummary) -> str:
    e = html.escape
    out = ['<div class="consort">']
    for arm, c in s["consort"].items():
        died = "not modelled" if c["died"] is None else str(c["died"])
        out.append(
            f'<div class="flow"><h3>{e(arm)}</h3>'
            f'<div class="box">Screened: {c["screened"]}</div>'
            f'<div class="box side">Refused (contraindication): {c["refused"]}</div><div class="arrow">↓</div>'
            f'<div class="box">Trialled: {c["trialled"]}</div>'
            f'<div class="box side">Trial failed: {c["trial_failed"]}</div><div class="arrow">↓</div>'
            f'<div class="box">Implanted: {c["implanted"]}</div>'
            f'<div class="box side">Explanted: {c["explanted"]}<br>Died: {died}<br>'
            f"Lost (simulation failed): {c['lost']}</div>"
            f'<div class="arrow">↓</div><div class="box">Completed {s["years"]:g} years with the pump: '
            f"{c['completed']}</div></div>"
        )
    out.append("</div>")
    return "".join(out)


def _tables(s: TrialSummary) -> tuple[str, str]:
    e = html.escape
    units = s["endpoints"]["units"]
    eps = [s["endpoints"]["primary"], *s["endpoints"]["secondary"]]
    head = "".join(f"<th>{e(a['name'])}</th>" for a in s["arms"])
    rows = []
    for ep in eps:
        cells = []
        for a in s["arms"]:
            r = a["endpoints"][ep]
            u = units[ep]
            cells.append(
                f'<td class="num">{_fmt(r["estimate"], u)}<br><small>[{_fmt(r["ci_low"], u)}, '
                f"{_fmt(r['ci_high'], u)}] n={r['n']}</small></td>"
            )
        cls = ' class="primary"' if ep == s["endpoints"]["primary"] else ""
        label = ENDPOINTS[ep].description if ep in ENDPOINTS else ep
        rows.append(
            f"<tr{cls}><td><code>{e(ep)}</code><br><small>{e(label)} ({e(units[ep])})</small></td>{''.join(cells)}</tr>"
        )
    arms_t = f"<table><tr><th>endpoint</th>{head}</tr>{''.join(rows)}</table>"
    crow = []
    for c in s["comparisons"]:
        u = units[c["endpoint"]]
        p = "—" if c["p_value"] is None else f"{c['p_value']:.3g}"
        crow.append(
            f"<tr><td><code>{e(c['endpoint'])}</code></td><td>{e(c['arm'])} − {e(c['reference'])}</td>"
            f'<td class="num">{_fmt_d(c["difference"], u)}</td><td class="num">[{_fmt_d(c["ci_low"], u)}, '
            f'{_fmt_d(c["ci_high"], u)}]</td><td class="num">{p}</td><td>{e(str(c.get("test") or ""))}</td></tr>'
        )
    comp_t = (
        "<table><tr><th>endpoint</th><th>comparison</th><th>difference</th><th>95% CI</th><th>p</th><th>test</th></tr>"
        + "".join(crow)
        + "</table>"
        if crow
        else "<p>One arm: no comparison.</p>"
    )
    return arms_t, comp_t


def render_html(s: TrialSummary) -> str:
    e = html.escape
    arms_t, comp_t = _tables(s)
    figs = [
        ("Differences from the reference (forest plot)", forest_figure(s)),
        ("Individual effects (paired patients)", effects_figure(s)),
        ("Time to event", km_figure(s)),
        ("Dose over time", dose_figure(s)),
    ]
    enrol = s["enrolment"]
    design = (
        f"{s['patients_per_arm']} patients per arm, {len(s['arms'])} arm(s), {s['years']:g} years after the implant, "
        f"seed {s['seed']}; {'paired: every patient followed in every arm' if s['paired'] else 'parallel groups'}; "
        f"reference arm: {e(s['reference'])}. Enrolment: {enrol['eligible']} eligible of {enrol['sampled']} sampled."
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Virtual trial: {e(s['name'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Virtual trial: {e(s['name'])}</h1>",
        f'<p class="disclaimer">{e(s["disclaimer"])} Simulated patients; no real person was treated.</p>',
        f"<p>{design}</p>",
        "<h2>Participant flow (CONSORT)</h2>",
        _consort_html(s),
        '<p class="note">"Died" counts implanted patients who died while followed (all causes; '
        'their follow-up ends there, so they are not "completed"); "lost" counts patients whose '
        "simulation failed (none expected).</p>",
        "<h2>Endpoints per arm (estimate, 95% CI, n)</h2>",
        arms_t,
        "<h2>Comparisons with the reference arm</h2>",
        comp_t,
        '<p class="note">Differences are arm − reference; intervals by percentile bootstrap over patients '
        "(paired when the trial is paired); p-values: McNemar (paired) or Fisher (unpaired) for proportions, "
        "paired or Welch t for means, log-rank for time to event, bootstrap for ratios and rates; when paired "
        "arms have different groups (the plan changes who is implanted) the paired bootstrap "
        "(<code>bootstrap_paired</code>), consistent with the interval. Time-to-event estimates are the "
        "Kaplan-Meier event-free fraction at the horizon (catheter_event_free_5_years: at 5 years). "
        "See docs/trials.md.</p>",
    ]
    for title, svg in figs:
        if svg:
            parts.append(f"<h2>{e(title)}</h2>{svg}")
    parts.append("</body></html>\n")
    return "".join(parts)
