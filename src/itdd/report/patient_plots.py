"""The patient layer's figures: concentrations, pain and oral opioid, vital signs against their alert
limits, the care pathway's stages and the cohort.  Style, colours and helpers are shared with
:mod:`itdd.report.plots` (the pump figures)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .input import StageIn
from .plots import (
    _RC,
    ALARM,
    BLACK,
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    REFILL,
    RR_ALERT_PER_MIN,
    SEDATION_ALERT_SCORE,
    SKY,
    SPO2_ALERT_PERCENT,
    TRUTH,
    VERMILLION,
    WITHDRAWAL_MODERATE_SCORE,
    _date_axis,
    _figure,
    _legend,
    _robust_top,
    day_times,
    to_svg,
)


def _clean(xs: Sequence[datetime], ys: Sequence[float | None], positive: bool = False) -> tuple[list[Any], list[Any]]:
    """NaN for missing values (a gap in the line), also for non-positive values on a log axis."""
    out = []
    for v in ys:
        if v is None or (positive and v <= 0):
            out.append(math.nan)
        else:
            out.append(v)
    return list(xs), out


# Above this many samples a line is drawn faint, with its daily mean on top (assumption: about one
# sample per two pixels of a 1,100 px plot is the most a line can show).
DENSE_SAMPLES = 600


def daily_means(xs: Sequence[datetime], ys: Sequence[float]) -> tuple[list[datetime], list[float]]:
    """Mean of the finite samples of each calendar day (in the times' own offset), at noon."""
    acc: dict[Any, list[float]] = {}
    for t, v in zip(xs, ys, strict=True):
        if not math.isnan(v):
            acc.setdefault(t.date(), []).append(v)
    tz = xs[0].tzinfo if xs else UTC
    out_x, out_y = [], []
    for d in sorted(acc):
        out_x.append(datetime(d.year, d.month, d.day, 12, tzinfo=tz))
        out_y.append(sum(acc[d]) / len(acc[d]))
    return out_x, out_y


def _line(
    ax: Axes,
    xs: Any,
    ys: Sequence[float],
    colour: str,
    *,
    step: bool = False,
    markers: bool = False,
    lw: float = 1.8,
) -> bool:
    """Draw a sampled column; dense columns faint with a bold daily mean. Returns True if smoothed."""
    if len(xs) > DENSE_SAMPLES:
        if step:
            ax.step(xs, ys, where="post", color=colour, lw=0.6, alpha=0.35)
        else:
            ax.plot(xs, ys, color=colour, lw=0.6, alpha=0.35)
        mx: Any
        mx, my = daily_means(xs, ys)
        ax.plot(mx, my, color=colour, lw=lw + 0.4)
        return True
    if step:
        ax.step(xs, ys, where="post", color=colour, lw=lw)
    else:
        ax.plot(xs, ys, color=colour, lw=lw, marker="o" if markers else None, ms=3.5)
    return False


def concentration_figure(
    *,
    origin: datetime,
    days: Sequence[float],
    columns: Mapping[str, Sequence[float | None]],
    end: datetime | None = None,
) -> str:
    """Spinal-fluid, effect-site (and plasma) concentrations on a log axis (ng/mL or mcg/mL)."""
    tz = origin.tzinfo if isinstance(origin.tzinfo, timezone) else UTC
    styles = {
        "csf_tip_mg_per_ml": ("Spinal fluid near the catheter tip", BLUE, "-"),
        "csf_mg_per_ml": ("Wider spinal fluid", SKY, (0, (5, 2))),
        "effect_site_mg_per_ml": ("Spinal-cord effect site", VERMILLION, "-"),
        "plasma_mg_per_ml": ("Plasma", GREY, ":"),
    }
    peak = max((v for col in columns.values() for v in col if v is not None and v > 0), default=0.0)
    factor, unit = (1e6, "ng/mL") if peak * 1e6 < 1000 else (1e3, "mcg/mL")
    with matplotlib.rc_context(_RC):
        fig, (ax,) = _figure(1, 4.2)
        x = day_times(origin, days)
        handles: list[Any] = []
        for key, (label, colour, ls) in styles.items():
            col = columns.get(key)
            if col is None:
                continue
            scaled = [None if v is None else v * factor for v in col]
            xs, ys = _clean(x, scaled, positive=True)
            if all(math.isnan(v) for v in ys):
                continue
            dashed = ls != "-"
            handles += ax.plot(xs, ys, color=colour, ls=ls, lw=1.8, label=label, zorder=3 if dashed else 2)
        ax.set_yscale("log")
        if peak > 0:
            # Five decades below the peak (plasma is about 1/1000 of the spinal fluid, clinical-facts.md
            # "Intrathecal PK" [S]); a washout stays visible without an axis of 100 decades.
            top = peak * factor * 2.0
            ax.set_ylim(top / 1e5, top)
        ax.set_ylabel(f"Concentration ({unit}, log scale)")
        ax.set_title("Drug concentration: spinal fluid and effect site")
        _date_axis(ax, tz)
        if end is not None:
            ax.set_xlim(origin, end)
        _legend(fig, handles)
        return to_svg(fig, "Drug concentration in the spinal fluid and at the effect site")


def pain_figure(
    *,
    origin: datetime,
    days: Sequence[float],
    pain: Sequence[float | None] | None,
    mme: Sequence[float | None] | None,
    baseline_pain: float | None = None,
    end: datetime | None = None,
) -> str:
    tz = origin.tzinfo if isinstance(origin.tzinfo, timezone) else UTC
    rows = [r for r in (pain, mme) if r is not None]
    with matplotlib.rc_context(_RC):
        fig, axes = _figure(len(rows), 2.5 * len(rows) + 0.8)
        x = day_times(origin, days)
        handles: list[Any] = []
        smoothed = False
        i = 0
        if pain is not None:
            ax = axes[i]
            xs, ys = _clean(x, pain)
            smoothed |= _line(ax, xs, ys, TRUTH)
            handles.append(Line2D([], [], color=TRUTH, lw=2.0, label="Pain score"))
            title = "Pain score"
            if baseline_pain is not None:
                ax.axhline(baseline_pain, color=GREY, ls=":", lw=1.2)
                ax.axhline(baseline_pain * 0.5, color=GREEN, ls="--", lw=1.2)
                handles.append(Line2D([], [], color=GREY, ls=":", lw=1.2, label=f"Baseline pain ({baseline_pain:g})"))
                handles.append(Line2D([], [], color=GREEN, ls="--", lw=1.2, label="50% relief"))
            ax.set_ylim(0, 10.2)
            ax.set_ylabel("Pain (0-10 NRS)")
            ax.set_title(title)
            i += 1
        if mme is not None:
            ax = axes[i]
            xs, ys = _clean(x, mme)
            smoothed |= _line(ax, xs, ys, ORANGE, step=True)
            handles.append(Line2D([], [], color=ORANGE, lw=2.0, label="Oral opioid (MME/day)"))
            top, _ = _robust_top(ys, 10.0)
            ax.set_ylim(0, top)
            ax.set_ylabel("Oral opioid (MME mg/day)")
            ax.set_title("Oral opioid use for breakthrough pain (morphine milligram equivalents)")
        if smoothed:
            handles.append(Line2D([], [], color=GREY, lw=0.8, alpha=0.5, label="each sample (faint); bold: daily mean"))
        for ax in axes[:-1]:
            ax.tick_params(labelbottom=False)
        _date_axis(axes[-1], tz)
        if end is not None:
            axes[0].set_xlim(origin, end)
        _legend(fig, handles)
        return to_svg(fig, "Pain score and oral opioid use")


def vitals_figure(
    *,
    tz: timezone,
    times: Sequence[datetime],
    columns: Mapping[str, Sequence[float | None]],
    title: str,
    doses: Sequence[tuple[datetime, str]] = (),
    alerts: Sequence[tuple[datetime, str]] = (),
    xlim: tuple[datetime, datetime] | None = None,
    markers: bool = True,
) -> str:
    """Stacked panels: respiratory rate, SpO2, sedation, withdrawal, pruritus, nausea, pain (those present)."""
    spec = [
        (
            "resp_rate_per_min",
            "Resp. rate (/min)",
            RR_ALERT_PER_MIN,
            "below",
            f"alert < {RR_ALERT_PER_MIN:g}/min",
        ),
        ("spo2_pct", "SpO2 (%)", SPO2_ALERT_PERCENT, "below", f"alert < {SPO2_ALERT_PERCENT:g}%"),
        ("sedation", "Sedation (0-3)", SEDATION_ALERT_SCORE, "above", "2+: frequently drowsy"),
        ("withdrawal", "Withdrawal (0-10)", WITHDRAWAL_MODERATE_SCORE, "above", "5+: moderate"),
        ("pruritus", "Pruritus (0-10)", None, "", ""),
        ("pain", "Pain (0-10)", None, "", ""),
    ]

    def has(key: str) -> bool:
        col = columns.get(key)
        return col is not None and any(v is not None for v in col)

    present = [s for s in spec if has(s[0]) or (s[0] == "pruritus" and has("nausea"))]
    n = max(len(present), 1)
    with matplotlib.rc_context(_RC):
        fig, axes = _figure(n, 1.75 * n + 0.9)
        smoothed = False
        side_effects = False
        for ax, (key, label, limit, side, note) in zip(axes, present, strict=False):
            if key == "pruritus":  # pruritus and nausea share one 0-10 panel
                side_effects = True
                for k, colour in (("pruritus", PURPLE), ("nausea", GREEN)):
                    if has(k):
                        xs, ys = _clean(times, columns[k])
                        smoothed |= _line(ax, xs, ys, colour, markers=markers, lw=1.6)
                ax.set_ylim(0, 10.3)
                ax.set_ylabel("Side effects (0-10)", fontsize=9.5)
                continue
            xs, ys = _clean(times, columns[key])
            smoothed |= _line(ax, xs, ys, TRUTH, markers=markers, lw=1.6)
            if limit is not None:
                ax.axhline(limit, color=ALARM, ls="--", lw=1.0)
                ax.annotate(
                    note,
                    xy=(1.0, limit),
                    xycoords=("axes fraction", "data"),
                    xytext=(-4, 3),
                    textcoords="offset points",
                    ha="right",
                    fontsize=8.5,
                    color=ALARM,
                )
                bad = [
                    (t, v)
                    for t, v in zip(xs, ys, strict=True)
                    if not math.isnan(v) and ((side == "below" and v < limit) or (side == "above" and v >= limit))
                ]
                if bad and len(xs) > DENSE_SAMPLES:  # many samples: small dots, not rings
                    ax.plot([t for t, _ in bad], [v for _, v in bad], ls="none", marker=".", ms=3, color=ALARM)
                elif bad:
                    ax.plot(
                        [t for t, _ in bad],
                        [v for _, v in bad],
                        ls="none",
                        marker="o",
                        ms=7,
                        mfc="none",
                        mec=ALARM,
                        mew=1.8,
                    )
            finite = [v for v in ys if not math.isnan(v)]
            if key == "spo2_pct":
                ax.set_ylim(min(min(finite, default=90.0) - 2, 85), 100.5)
            elif key == "resp_rate_per_min":
                ax.set_ylim(0, max(max(finite, default=20.0) * 1.15, 20))
            elif key == "sedation":
                ax.set_ylim(-0.1, 3.15)
            else:  # 0-10 scales
                ax.set_ylim(0, 10.3)
            ax.set_ylabel(label, fontsize=9.5)
            for t, _ in doses:
                ax.axvline(t, color=GREEN, lw=1.2, ls="-")
            for t, _ in alerts:
                ax.axvline(t, color=ALARM, lw=0.8, ls=":")
        if not present:
            axes[0].text(0.5, 0.5, "no vital signs recorded", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_title(title)
        handles: list[Any] = [Line2D([], [], color=TRUTH, marker="o" if markers else None, ms=3.5, label="Measured")]
        if doses:
            handles.append(Line2D([], [], color=GREEN, lw=1.2, label="Dose given"))
        handles.append(Line2D([], [], color=ALARM, ls="--", lw=1.0, label="Alert limit"))
        handles.append(
            Line2D([], [], color=ALARM, ls="none", marker="o", mfc="none", mew=1.8, ms=7, label="Outside limit")
        )
        if side_effects:
            handles.append(Line2D([], [], color=PURPLE, lw=1.6, label="Pruritus"))
            handles.append(Line2D([], [], color=GREEN, lw=1.6, label="Nausea"))
        if smoothed:
            handles.append(Line2D([], [], color=GREY, lw=0.8, alpha=0.5, label="each sample (faint); bold: daily mean"))
        _legend(fig, handles)
        for ax in axes[:-1]:
            ax.tick_params(labelbottom=False)
        _date_axis(axes[-1], tz)
        if xlim is not None:
            axes[0].set_xlim(*xlim)
        return to_svg(fig, title)


# ---- pathway and cohort ------------------------------------------------------------------------


STAGE_COLOURS = {
    "screening": GREY,
    "trial": ORANGE,
    "implant": BLUE,
    "titration": SKY,
    "refill": REFILL,
    "mri": BLACK,
    "complication": VERMILLION,
    "revision": PURPLE,
    "battery_replacement": PURPLE,
    "explant": BLACK,
}


def _lane_label(stage: str) -> str:
    text = "MRI" if stage.lower() == "mri" else stage.replace("_", " ")
    return text[:1].upper() + text[1:]


def pathway_figure(*, tz: timezone, stages: Sequence[StageIn]) -> str:
    """A timeline: one lane per kind of stage; bars for stages with an end, diamonds for instants."""
    lanes: list[str] = []
    for s in sorted(stages, key=lambda s: s.start):
        if s.stage not in lanes:
            lanes.append(s.stage)
    spare = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, GREY]
    with matplotlib.rc_context(_RC):
        fig, (ax,) = _figure(1, 0.36 * len(lanes) + 1.4)
        for s in stages:
            y = lanes.index(s.stage)
            colour = STAGE_COLOURS.get(s.stage, spare[y % len(spare)])
            t0, t1 = s.start, s.end
            if t1 is not None:
                width = max(mdates.date2num(t1) - mdates.date2num(t0), 0.5)  # at least half a day: visible
                ax.barh(y, width, left=mdates.date2num(t0), height=0.55, color=colour)
            else:
                ax.plot([t0], [y], marker="D", ms=7, color=colour, ls="none")
        ax.set_yticks(range(len(lanes)), [_lane_label(lane) for lane in lanes])
        ax.set_ylim(len(lanes) - 0.5, -0.5)
        instants = [s.start for s in stages] + [s.end for s in stages if s.end is not None]
        first, last = min(instants), max(instants)
        if last - first < timedelta(days=2):  # a single instant or a short story: at least a few days wide
            mid = first + (last - first) / 2
            first, last = mid - timedelta(days=2), mid + timedelta(days=2)
        pad = (last - first) * 0.03
        ax.set_xlim(first - pad, last + pad)
        ax.xaxis_date(tz)
        ax.grid(axis="y", visible=False)
        ax.set_title("Care pathway")
        _date_axis(ax, tz)
        return to_svg(fig, "Care pathway timeline")


def cohort_figure(rows: Sequence[dict[str, Any]]) -> str:
    """Simulated vs published, side by side: rates (%) in one panel, other units in their own."""
    frac = [
        r for r in rows if r.get("unit") == "fraction" and (r["simulated"] is not None or r["published"] is not None)
    ]
    other = [
        r for r in rows if r.get("unit") != "fraction" and (r["simulated"] is not None or r["published"] is not None)
    ]
    panels = [p for p in (frac, other) if p]
    with matplotlib.rc_context(_RC):
        heights = [0.42 * len(p) + 0.9 for p in panels] or [1.0]
        fig, axes = _figure(max(len(panels), 1), sum(heights) + 0.6, sharex=False, ratios=heights)
        for ax, group in zip(axes, panels, strict=False):
            scale = 100.0 if group is frac else 1.0
            ys = list(range(len(group)))
            sim = [(r["simulated"] or 0.0) * scale for r in group]
            pub = [(r["published"] or 0.0) * scale for r in group]
            ax.barh([y - 0.2 for y in ys], sim, height=0.38, color=BLUE, label="Simulated")
            ax.barh(
                [y + 0.2 for y in ys], pub, height=0.38, color=ORANGE, hatch="//", edgecolor="white", label="Published"
            )
            for y, r in zip(ys, group, strict=True):
                if r["simulated"] is None:
                    ax.text(0, y - 0.2, " n/a", va="center", fontsize=8.5, color=GREY)
                if r["published"] is None:
                    ax.text(0, y + 0.2, " n/a", va="center", fontsize=8.5, color=GREY)
            ax.set_yticks(ys, [r["metric"] for r in group])
            ax.set_ylim(len(group) - 0.5, -0.6)
            ax.grid(axis="y", visible=False)
            if group is frac:
                ax.set_xlim(0, 100)
                ax.set_xlabel("Percent of the relevant group (%)")
                ax.set_title("Cohort rates: simulated vs published")
            else:
                units = sorted({r.get("unit") or "value" for r in group})
                ax.set_xlabel(", ".join(units))
                ax.set_title("Cohort quantities: simulated vs published")
        _legend(
            fig,
            [
                Patch(facecolor=BLUE, label="Simulated"),
                Patch(facecolor=ORANGE, hatch="//", edgecolor="white", label="Published"),
            ],
        )
        return to_svg(fig, "Cohort outcomes, simulated beside published figures")


__all__ = ["cohort_figure", "concentration_figure", "pain_figure", "pathway_figure", "vitals_figure"]
