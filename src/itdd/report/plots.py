"""The report's figures: matplotlib (no pyplot, no GUI backend) rendered to inline SVG text.

Each function takes plain data (already validated by :mod:`itdd.report.schema`) and returns one
``<svg>`` element as text.  Figures are deterministic (fixed SVG id salt, no date metadata), so
the same result always gives the same page.

Colours are the Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design");
meaning never rests on colour alone: the truth is a solid line, the pump's belief a dashed one,
and markers differ in shape.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..thresholds import thresholds
from ..timeunits import SECONDS_PER_DAY, SECONDS_PER_HOUR_INT, SECONDS_PER_MINUTE_INT
from .times import parse_time, tz_of

# Okabe-Ito palette (Okabe & Ito 2008).
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#6B6B6B"

TRUTH = BLUE  # what really happened (hardware, patient)
BELIEF = ORANGE  # what the pump believes / what was programmed
ALARM = VERMILLION
REFILL = GREEN
HIDDEN = PURPLE

# Alert limits (respiratory rate, SpO2, sedation, withdrawal): drugs/thresholds.yaml, with sources.
RR_ALERT_PER_MIN = thresholds().resp_rate_alert_per_min.value
SPO2_ALERT_PERCENT = thresholds().spo2_alert_pct.value
SEDATION_ALERT_SCORE = thresholds().sedation_alert_score.value
WITHDRAWAL_MODERATE_SCORE = thresholds().withdrawal_moderate_score.value

WIDTH_IN = 11.0  # figure width (assumption: fits a 1,100 px content column at 100 dpi)

_RC: Any = {
    "svg.fonttype": "none",  # text stays text: selectable, searchable, small
    "svg.hashsalt": "itdd-report",  # deterministic element ids
    "font.family": "DejaVu Sans",
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}


# ---- helpers -----------------------------------------------------------------------------------


def day_times(origin: datetime, days: Sequence[float]) -> list[datetime]:
    return [origin + timedelta(days=d) for d in days]


def _figure(n_rows: int, height_in: float, *, sharex: bool = True, ratios: Sequence[float] | None = None) -> Any:
    fig = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    kw: dict[str, Any] = {}
    if ratios is not None:
        kw["height_ratios"] = list(ratios)
    axes = fig.subplots(n_rows, 1, sharex=sharex, squeeze=False, gridspec_kw=kw)
    return fig, [a[0] for a in axes]


def _date_axis(ax: Axes, tz: timezone, label: bool = True) -> None:
    locator = mdates.AutoDateLocator(tz=tz, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz, show_offset=True))
    if label:
        ax.set_xlabel(f"Date and time (UTC{_offset_text(tz)})")


def _offset_text(tz: timezone) -> str:
    off = tz.utcoffset(None)
    secs = int(off.total_seconds()) if off is not None else 0
    sign = "+" if secs >= 0 else "-"
    secs = abs(secs)
    return f"{sign}{secs // SECONDS_PER_HOUR_INT:02d}:{secs % SECONDS_PER_HOUR_INT // SECONDS_PER_MINUTE_INT:02d}"


def to_svg(fig: Any, title: str) -> str:
    """One figure as an inline ``<svg>`` element (no XML prolog, no DOCTYPE), with a <title>."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Title": title})
    text = buf.getvalue()
    start = text.find("<svg")
    svg = text[start:]
    svg = re.sub(r'\swidth="[\d.]+pt"\s+height="[\d.]+pt"', "", svg, count=1)
    return svg.replace("<svg ", '<svg role="img" aria-label="' + _attr(title) + '" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _legend(fig: Any, handles: list[Any], ncol: int | None = None) -> None:
    """One legend for the whole figure, below the plots (it never hides data)."""
    if handles:
        fig.legend(handles=handles, ncol=ncol or min(len(handles), 4), loc="outside lower center")


def _robust_top(values: Sequence[float], floor: float) -> tuple[float, float]:
    """A y-limit that keeps the bulk visible; returns (limit, true maximum)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return floor, floor
    vmax = max(finite)
    return max(vmax * 1.12, floor), vmax


# ---- pump figures ------------------------------------------------------------------------------


def reservoir_figure(
    *,
    origin: datetime,
    actual: tuple[Sequence[float], Sequence[float]],
    estimate: tuple[Sequence[float], Sequence[float]],
    capacity_ml: float | None,
    low_alarm_ml: float | None,
    refills: Sequence[tuple[datetime, float, bool]],  # (time, discrepancy mL, flagged)
    alarms: Sequence[tuple[datetime, str]],
    hidden: Sequence[tuple[datetime, str]],  # (time, label or "")
    end: datetime | None = None,
) -> str:
    tz = origin.tzinfo if isinstance(origin.tzinfo, timezone) else UTC
    with matplotlib.rc_context(_RC):
        fig, (ax,) = _figure(1, 4.6)
        xa = day_times(origin, actual[0])
        xe = day_times(origin, estimate[0])
        top = capacity_ml if capacity_ml else max([*actual[1], *estimate[1], 1.0]) * 1.1
        handles: list[Any] = []
        handles += ax.plot(xa, actual[1], color=TRUTH, lw=2.0, label="Actual volume (hardware truth)")
        handles += ax.plot(xe, estimate[1], color=BELIEF, lw=1.8, ls=(0, (5, 3)), label="Pump's estimate")
        if low_alarm_ml:
            ax.axhline(low_alarm_ml, color=GREY, lw=1.2, ls=":")
            handles.append(
                Line2D([], [], color=GREY, lw=1.2, ls=":", label=f"Low-reservoir alarm ({low_alarm_ml:g} mL)")
            )
        refill_alpha = 0.8 if len(refills) <= 12 else 0.45
        for t, disc, flagged in refills:
            ax.axvline(t, color=REFILL, lw=1.0, alpha=refill_alpha)
            if flagged:
                ax.annotate(
                    f"refill discrepancy {disc:+.1f} mL",
                    xy=(t, top * 0.97),
                    xytext=(4, -2),
                    textcoords="offset points",
                    fontsize=9,
                    color=ALARM,
                    fontweight="bold",
                    va="top",
                )
        if refills:
            handles.append(Line2D([], [], color=REFILL, lw=1.0, label="Refill"))
        if any(f for _, _, f in refills):
            handles.append(Line2D([], [], color=ALARM, ls="none", marker="$!$", ms=9, label="Flagged discrepancy"))
        y_mark = top * 0.03
        if alarms:
            ax.plot([t for t, _ in alarms], [y_mark] * len(alarms), ls="none", marker="v", ms=9, color=ALARM)
            handles.append(Line2D([], [], color=ALARM, ls="none", marker="v", ms=9, label="Alarm raised"))
        if hidden:
            ax.plot([t for t, _ in hidden], [y_mark * 2.6] * len(hidden), ls="none", marker="X", ms=9, color=HIDDEN)
            span_days = max((hidden[-1][0] - hidden[0][0]).total_seconds() / SECONDS_PER_DAY, 1.0)
            if end is not None:
                span_days = max((end - origin).total_seconds() / SECONDS_PER_DAY, 1.0)
            last_t: datetime | None = None
            level = 0
            for t, label in sorted(hidden, key=lambda h: h[0]):
                if not label:
                    continue
                # Stagger labels that would overlap (closer than 6% of the time axis).
                close = last_t is not None and (t - last_t).total_seconds() / SECONDS_PER_DAY < 0.06 * span_days
                level = (level + 1) % 3 if close else 0
                last_t = t
                if label:
                    ax.annotate(
                        label,
                        xy=(t, y_mark * 2.6),
                        xytext=(0, 8 + 11 * level),
                        textcoords="offset points",
                        ha="center",
                        fontsize=8.5,
                        color=HIDDEN,
                        fontweight="bold",
                    )
            handles.append(Line2D([], [], color=HIDDEN, ls="none", marker="X", ms=9, label="Hidden from the pump"))
        ax.set_ylim(0, top)
        if end is not None:
            ax.set_xlim(origin, end)
        ax.set_ylabel("Reservoir volume (mL)")
        ax.set_title("Reservoir: actual volume vs the pump's estimate")
        _date_axis(ax, tz)
        _legend(fig, handles)
        return to_svg(fig, "Reservoir volume, actual and estimated, with refills and alarms")


def dose_figure(
    *,
    origin: datetime,
    days: Sequence[float],
    programmed: Sequence[float],
    delivered: Sequence[float],
    bin_days: float | None,
    daily: Sequence[tuple[datetime, float, float]],  # (local midnight, programmed, delivered) per day
    point_doses: Sequence[tuple[datetime, float]],
    drug: str,
    unit: str = "mg",
    start: datetime | None = None,
    end: datetime | None = None,
) -> str:
    tz = origin.tzinfo if isinstance(origin.tzinfo, timezone) else UTC
    with matplotlib.rc_context(_RC):
        n = 2 if daily else 1
        fig, axes = _figure(n, 6.4 if n == 2 else 3.8, ratios=[1.15, 1.0] if n == 2 else None)
        ax = axes[0]
        x = day_times(origin, days)
        top, vmax = _robust_top([*programmed, *delivered], 0.1)
        # Bolus rates dwarf the basal rate: clip the axis at a robust level and say so.
        basal = _time_weighted_quantile(days, [max(p, d) for p, d in zip(programmed, delivered, strict=True)], 0.9)
        clipped = False
        if basal > 0 and vmax > 4 * basal:
            top = basal * 2.2
            clipped = True
        handles: list[Any] = []
        handles += ax.step(x, delivered, where="post", color=TRUTH, lw=2.0, label="Reached the spinal fluid")
        ax.fill_between(x, delivered, step="post", color=SKY, alpha=0.35, lw=0)
        handles += ax.step(
            x, programmed, where="post", color=BELIEF, lw=1.6, ls=(0, (5, 3)), label="Programmed (pump's belief)"
        )
        for t, mg in point_doses:
            ax.annotate(
                f"port injection {mg:.3g} {unit}",
                xy=(t, top * 0.95),
                fontsize=9,
                color=ALARM,
                ha="left",
                va="top",
                xytext=(3, 0),
                textcoords="offset points",
            )
            ax.axvline(t, color=ALARM, lw=1.0, ls="-.")
        ax.set_ylim(0, top)
        how = "exact" if not bin_days else f"mean over {_bin_text(bin_days)} bins"
        ax.set_ylabel(f"{drug} dose rate ({unit}/day)")
        ax.set_title(f"Dose rate: programmed vs delivered ({how})")
        if clipped:
            ax.annotate(
                f"bolus peaks up to {_fmt(vmax)} {unit}/day are off this scale",
                xy=(0.995, 0.98),
                xycoords="axes fraction",
                ha="right",
                va="top",
                fontsize=9,
                color=GREY,
            )
        _legend(fig, handles)
        if daily:
            ax2 = axes[1]
            xd = [d for d, _, _ in daily]
            pd = [p for _, p, _ in daily]
            dd = [v for _, _, v in daily]
            xs = [*xd, xd[-1] + timedelta(days=1)]
            ax2.step(xs, [*dd, dd[-1]], where="post", color=TRUTH, lw=2.0, label="Reached the spinal fluid")
            ax2.fill_between(xs, [*dd, dd[-1]], step="post", color=SKY, alpha=0.35, lw=0)
            ax2.step(
                xs,
                [*pd, pd[-1]],
                where="post",
                color=BELIEF,
                lw=1.6,
                ls=(0, (5, 3)),
                label="Programmed (pump's belief)",
            )
            t2, _ = _robust_top([*pd, *dd], 0.1)
            ax2.set_ylim(0, t2)
            ax2.set_ylabel(f"{drug} dose ({unit}/day)")
            ax2.set_title("Mean dose per calendar day (boluses included)")
            _date_axis(ax2, tz)
        else:
            _date_axis(ax, tz)
        if end is not None:
            ax.set_xlim(start or origin, end)
        return to_svg(fig, f"{drug} dose, programmed and delivered")


def _fmt(x: float) -> str:
    """3 significant digits, thousands separated, never in exponent form."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    text = f"{x:.3g}"
    return f"{x:.6f}".rstrip("0").rstrip(".") if "e" in text else text


def _bin_text(bin_days: float) -> str:
    hours = bin_days * 24
    if hours < 23.5:
        return f"{hours:g}-hour"
    return "1-day" if abs(bin_days - 1) < 1e-9 else f"{bin_days:g}-day"


def _time_weighted_quantile(days: Sequence[float], values: Sequence[float], q: float) -> float:
    """Quantile of a step series weighted by how long each value holds."""
    pairs = []
    for i in range(len(days) - 1):
        w = days[i + 1] - days[i]
        if w > 0:
            pairs.append((values[i], w))
    if not pairs:
        return max(values) if values else 0.0
    pairs.sort()
    total = sum(w for _, w in pairs)
    acc = 0.0
    for v, w in pairs:
        acc += w
        if acc >= q * total:
            return v
    return pairs[-1][0]


# ---- patient figures ---------------------------------------------------------------------------


__all__ = [
    "dose_figure",
    "parse_time",
    "reservoir_figure",
    "to_svg",
    "tz_of",
]
