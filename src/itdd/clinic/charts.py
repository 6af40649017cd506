"""Inline SVG charts for the patient page (no JavaScript, no external assets).

Each function takes the plain series of :func:`itdd.clinic.views.chart_series` and returns SVG text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from html import escape
from typing import Any

from ..quantities import SECONDS_PER_DAY, display_factor, from_epoch_s

DAY_S = SECONDS_PER_DAY
W, H = 1000, 250
SMALL_W, SMALL_H = 600, 250
ML, MR, MT, MB = 52, 16, 14, 30  # margins: left, right, top, bottom

COLOURS = {
    "estimate": "#1f6fb2",
    "actual": "#d9822b",
    "low": "#c0392b",
    "grid": "#e3e8ee",
    "axis": "#8796a8",
    "text": "#51606f",
    "bar": "#9cc3e6",
    "delivered": "#2e7d4f",
    "pain": "#8e44ad",
    "now": "#34495e",
    "model": "#6c3483",
    "forecast": "#a569bd",
    "withdrawal": "#c0392b",
    "resp": "#16768a",
    "sedation": "#7f8c8d",
    "oral": "#b9770e",
}


class _Frame:
    def __init__(self, t0: float, t1: float, y0: float, y1: float, w: int = W, h: int = H) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 1.0)
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + 1.0
        self.w, self.h = w, h

    def x(self, t: float) -> float:
        return ML + (t - self.t0) / (self.t1 - self.t0) * (self.w - ML - MR)

    def y(self, v: float) -> float:
        return MT + (1.0 - (v - self.y0) / (self.y1 - self.y0)) * (self.h - MT - MB)


def _nice_step(span: float, target: int = 5) -> float:
    """A round axis step (1, 2, 2.5 or 5 times a power of ten) giving about ``target`` intervals."""
    raw = max(span / target, 1e-12)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw - 1e-15:
            return m * mag
    return 10 * mag  # pragma: no cover - the loop always returns


def _fmt_num(v: float) -> str:
    return f"{v:g}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}"


def _axes(f: _Frame, offset_s: int, y_label: str, y_step: float | None = None) -> list[str]:
    out: list[str] = []
    step = y_step or _nice_step(f.y1 - f.y0)
    v = f.y0
    while v <= f.y1 + 1e-9:
        y = f.y(v)
        out.append(f'<line x1="{ML}" y1="{y:.1f}" x2="{f.w - MR}" y2="{y:.1f}" stroke="{COLOURS["grid"]}"/>')
        out.append(f'<text x="{ML - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt_num(round(v, 6))}</text>')
        v += step
    out.append(
        f'<text x="12" y="{MT + (f.h - MT - MB) / 2:.0f}" class="axis-label" '
        f'transform="rotate(-90 12 {MT + (f.h - MT - MB) / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>'
    )
    # time ticks: weekly for short spans, monthly otherwise (local dates in the clinic's fixed offset)
    span_days = (f.t1 - f.t0) / DAY_S
    start = from_epoch_s(f.t0, offset_s)
    if span_days <= 45:
        d = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        while d.weekday() != 0:
            d += timedelta(days=1)
        ticks = []
        while d.timestamp() <= f.t1:
            ticks.append(d)
            d += timedelta(days=7)
        fmt = "%d %b"
    else:
        d = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        ticks = []
        while d.timestamp() <= f.t1:
            if d.timestamp() >= f.t0:
                ticks.append(d)
            d = (d + timedelta(days=32)).replace(day=1)
        fmt = "%b %Y" if span_days > 200 else "%d %b"
    for d in ticks:
        x = f.x(d.timestamp())
        out.append(f'<line x1="{x:.1f}" y1="{MT}" x2="{x:.1f}" y2="{f.h - MB}" stroke="{COLOURS["grid"]}"/>')
        out.append(f'<text x="{x:.1f}" y="{f.h - MB + 16}" text-anchor="middle" class="tick">{d.strftime(fmt)}</text>')
    out.append(
        f'<line x1="{ML}" y1="{f.h - MB}" x2="{f.w - MR}" y2="{f.h - MB}" stroke="{COLOURS["axis"]}"/>'
        f'<line x1="{ML}" y1="{MT}" x2="{ML}" y2="{f.h - MB}" stroke="{COLOURS["axis"]}"/>'
    )
    return out


def _now_line(f: _Frame, now_s: float) -> str:
    x = f.x(now_s)
    return (
        f'<line x1="{x:.1f}" y1="{MT}" x2="{x:.1f}" y2="{f.h - MB}" stroke="{COLOURS["now"]}" stroke-dasharray="2 3"/>'
        f'<text x="{x - 4:.1f}" y="{MT + 10}" text-anchor="end" class="tick">now</text>'
    )


def _svg(f: _Frame, title: str, body: Sequence[str], legend: Sequence[tuple[str, str, str]]) -> str:
    items = []
    x = ML
    for label, colour, style in legend:
        if style == "dot":
            mark = f'<circle cx="{x + 6}" cy="{f.h - 6}" r="4" fill="{colour}"/>'
        elif style == "bar":
            mark = f'<rect x="{x}" y="{f.h - 11}" width="12" height="9" fill="{colour}"/>'
        else:
            dash = ' stroke-dasharray="5 4"' if style == "dashed" else ""
            mark = (
                f'<line x1="{x}" y1="{f.h - 6}" x2="{x + 14}" y2="{f.h - 6}" stroke="{colour}" '
                f'stroke-width="2.5"{dash}/>'
            )
        items.append(mark + f'<text x="{x + 19}" y="{f.h - 2}" class="legend">{escape(label)}</text>')
        x += 26 + 7 * len(label)
    return (
        f'<svg class="chart" viewBox="0 0 {f.w} {f.h + 8}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>' + "".join(body) + "".join(items) + "</svg>"
    )


def reservoir_chart(series: dict[str, Any], offset_s: int, *, show_truth: bool) -> str:
    t0, t1 = series["since_t_s"], series["now_t_s"]
    cap = series.get("capacity_ml") or 20.0
    f = _Frame(t0, t1 + (t1 - t0) * 0.02, 0.0, cap)
    body = _axes(f, offset_s, "reservoir (mL)", 5.0 if cap <= 20 else 10.0)
    low = series.get("low_reservoir_alarm_ml")
    if low is not None:
        y = f.y(low)
        body.append(
            f'<line x1="{ML}" y1="{y:.1f}" x2="{f.w - MR}" y2="{y:.1f}" stroke="{COLOURS["low"]}" '
            f'stroke-dasharray="6 4" stroke-width="1.2"/>'
            f'<text x="{f.w - MR - 4}" y="{y - 4:.1f}" text-anchor="end" class="tick warn">low-reservoir alarm '
            f"{_fmt_num(low)} mL</text>"
        )
    pts = [s for s in series["reservoir"] if s["t_s"] >= t0]
    if show_truth and pts:
        body.append(_polyline(f, [(s["t_s"], s["actual_ml"]) for s in pts], COLOURS["actual"], dashed=True))
    if pts:
        body.append(_polyline(f, [(s["t_s"], s["estimate_ml"]) for s in pts], COLOURS["estimate"]))
    for r in series["refills"]:
        x = f.x(r["t_s"])
        colour = COLOURS["low"] if r["flag"] else COLOURS["actual"]
        body.append(
            f'<circle cx="{x:.1f}" cy="{f.y(r["expected_ml"]):.1f}" r="4" fill="white" stroke="{COLOURS["estimate"]}" '
            f'stroke-width="1.5"><title>expected {r["expected_ml"]:.2f} mL</title></circle>'
            f'<circle cx="{x:.1f}" cy="{f.y(r["withdrawn_ml"]):.1f}" r="4.5" fill="{colour}">'
            f"<title>withdrawn {r['withdrawn_ml']:.2f} mL</title></circle>"
        )
    body.append(_now_line(f, t1))
    legend = [("pump estimate", COLOURS["estimate"], "line"), ("withdrawn at refill", COLOURS["actual"], "dot")]
    if show_truth:
        legend.append(("actual (simulator truth)", COLOURS["actual"], "dashed"))
    legend.append(("low-reservoir alarm", COLOURS["low"], "dashed"))
    return _svg(f, "Reservoir volume: pump estimate and volumes measured at refills", body, legend)


def _column(cols: dict[str, list[Any]] | None, key: str, t0: float) -> list[tuple[float, float]]:
    """(t, value) points of one column of a columnar series, from ``t0`` on."""
    if not cols:
        return []
    return [(t, float(v)) for t, v in zip(cols["t_s"], cols[key], strict=True) if t >= t0]


def _thin(f: _Frame, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most the lowest and the highest point (in time order) per two pixels of width: the drawn line looks
    the same, spikes included, with far fewer points."""
    if len(pts) <= (f.w - ML - MR) // 2:
        return pts
    out: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    col = None
    t0, span, width = f.t0, f.t1 - f.t0, f.w - ML - MR  # f.x inlined (the same arithmetic, in the same order)
    for p in pts:
        c = int((ML + (p[0] - t0) / span * width) / 2.0)
        if c != col and bucket:
            out.extend(bucket if len(bucket) <= 2 else _extremes(bucket))
            bucket = []
        col = c
        bucket.append(p)
    out.extend(_extremes(bucket))
    return out


def _extremes(bucket: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(bucket) <= 2:
        return bucket
    # the first lowest and the first highest point: min/max keep the first of equal values, and index finds the
    # first value equal to it (or the very object, for a nan)
    values = [p[1] for p in bucket]
    lo, hi = values.index(min(values)), values.index(max(values))
    return [bucket[i] for i in sorted({lo, hi})]


def _polyline(f: _Frame, pts: list[tuple[float, float]], colour: str, *, dashed: bool = False) -> str:
    # f.x and f.y inlined (the same arithmetic, in the same order): charts draw thousands of points
    t0, span, width = f.t0, f.t1 - f.t0, f.w - ML - MR
    y0, yspan, height = f.y0, f.y1 - f.y0, f.h - MT - MB
    coords = " ".join(
        f"{ML + (t - t0) / span * width:.1f},{MT + (1.0 - (v - y0) / yspan) * height:.1f}" for t, v in _thin(f, pts)
    )
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash} stroke-linejoin="round"/>'


def dose_chart(series: dict[str, Any], offset_s: int, *, show_truth: bool) -> str:
    t0, t1 = series["since_t_s"], series["now_t_s"]
    unit = series.get("dose_unit") or "mg"
    k = display_factor(unit)
    days = [d for d in series["days"] if d["t_s"] + DAY_S > t0]
    top = max([d["programmed_mg"] * k for d in days] + [d["delivered_mg"] * k for d in days if show_truth] + [0.0])
    top = top * 1.15 if top > 0 else 1.0
    step = _nice_step(top, 4)
    top = step * (int(top / step) + 1)
    f = _Frame(t0, t1 + (t1 - t0) * 0.02, 0.0, top, SMALL_W, SMALL_H)
    body = _axes(f, offset_s, f"{unit}/day", step)
    for d in days:
        a, b = max(d["t_s"], t0), min(d["t_s"] + DAY_S, t1)
        if b <= a:
            continue
        frac_day = (b - a) / DAY_S
        v = d["programmed_mg"] * k / max(frac_day, 1e-9) if b - a < DAY_S else d["programmed_mg"] * k
        x0, x1 = f.x(a), f.x(b)
        y = f.y(min(v, top))
        body.append(
            f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 0.4, 0.6):.1f}" height="{f.y(0) - y:.1f}" '
            f'fill="{COLOURS["bar"]}"><title>{d["date"]}: {_fmt_num(round(d["programmed_mg"] * k, 4))} {unit} '
            f"programmed</title></rect>"
        )
    if show_truth and days:
        pts = []
        for d in days:
            if d["t_s"] + DAY_S <= t1:
                pts.append((d["t_s"] + DAY_S / 2, d["delivered_mg"] * k))
        if pts:
            body.append(_polyline(f, pts, COLOURS["delivered"]))
    body.append(_now_line(f, t1))
    legend = [("programmed (pump)", COLOURS["bar"], "bar")]
    if show_truth:
        legend.append(("reached the spinal fluid (simulator truth)", COLOURS["delivered"], "line"))
    return _svg(f, f"Daily dose ({unit}/day)", body, legend)


def _end(series: dict[str, Any], show_model: bool) -> float:
    t0, t1 = series["since_t_s"], series["now_t_s"]
    end = series.get("forecast_end_t_s") if show_model else None
    return max(t1, end or t1) + (t1 - t0) * 0.02


def _forecast_band(f: _Frame, now_s: float) -> str:
    if f.t1 <= now_s + 1.0:
        return ""
    x0, x1 = f.x(now_s), f.w - MR
    return (
        f'<rect x="{x0:.1f}" y="{MT}" width="{x1 - x0:.1f}" height="{f.h - MT - MB}" fill="#f4eef8">'
        "<title>forecast if nothing is done</title></rect>"
        f'<text x="{x1 - 3:.1f}" y="{MT + 10}" text-anchor="end" class="tick">forecast</text>'
    )


def pain_chart(series: dict[str, Any], offset_s: int, *, show_model: bool = False) -> str:
    """Pain: what the patient reported at assessments (dots) and, with the model shown, the virtual patient's
    pain while awake (line) and its forecast (dashed)."""
    t0, t1 = series["since_t_s"], series["now_t_s"]
    f = _Frame(t0, _end(series, show_model), 0.0, 10.0, SMALL_W, SMALL_H)
    body = [_forecast_band(f, t1)] if show_model else []
    body += _axes(f, offset_s, "pain (NRS 0-10)", 2.0)
    legend: list[tuple[str, str, str]] = []
    if show_model:
        model = _column(series.get("model"), "pain", t0)
        if model:
            body.append(_polyline(f, model, COLOURS["model"]))
        fc = _column(series.get("forecast"), "pain", t0)
        if fc:
            body.append(_polyline(f, fc, COLOURS["forecast"], dashed=True))
        legend.append(("model (truth, awake)", COLOURS["model"], "line"))
        if fc:
            legend.append(("forecast", COLOURS["forecast"], "dashed"))
    pts = [(p["t_s"], float(p["pain_nrs"])) for p in series["pain"] if p["t_s"] >= t0]
    fill = "white" if show_model else COLOURS["pain"]
    if pts:
        if not show_model:
            body.append(_polyline(f, pts, COLOURS["pain"]))
        for t, v in pts:
            body.append(
                f'<circle cx="{f.x(t):.1f}" cy="{f.y(v):.1f}" r="3.6" fill="{fill}"'
                f' stroke="{COLOURS["pain"]}" stroke-width="1.8"><title>reported NRS {v:g}</title></circle>'
            )
    body.append(_now_line(f, t1))
    legend.insert(0, ("reported (NRS)", COLOURS["pain"], "dot"))
    return _svg(f, "Pain score over time", body, legend)


MODEL_PANELS = {
    # key: (title, y label, y range, step, colour, threshold (value, label) or None)
    "withdrawal": ("Withdrawal (model, 0-10)", "withdrawal 0-10", (0.0, 10.0), 2.0, "withdrawal", (2.0, "alert 2")),
    "resp_rate_per_min": ("Respiratory rate (model)", "breaths/min", (0.0, 24.0), 4.0, "resp", (10.0, "10/min")),
    "sedation": ("Sedation (model, 0-3)", "sedation 0-3", (0.0, 3.0), 1.0, "sedation", (2.0, "frequently drowsy")),
    "spasticity": ("Spasticity (model, Ashworth 0-4)", "Ashworth 0-4", (0.0, 4.0), 1.0, "model", None),
    "oral_mme_per_day": ("Oral opioids taken (model input)", "MME/day", (0.0, 0.0), 0.0, "oral", None),
}


def model_chart(series: dict[str, Any], offset_s: int, key: str) -> str:
    """One quantity of the virtual patient over time (exact values at the stored samples) with its forecast."""
    title, label, (y0, y1), step, colour, threshold = MODEL_PANELS[key]
    t0, t1 = series["since_t_s"], series["now_t_s"]
    model = _column(series.get("model"), key, t0)
    fc = _column(series.get("forecast"), key, t0)
    if key == "oral_mme_per_day":
        reported = [(p["t_s"], float(p["oral_mme"])) for p in series["pain"] if p["t_s"] >= t0]
        top = max([v for _, v in model + fc + reported] + [10.0]) * 1.15
        step = _nice_step(top, 4)
        y1 = step * (int(top / step) + 1)
    f = _Frame(t0, _end(series, True), y0, y1, SMALL_W, SMALL_H)
    body = [_forecast_band(f, t1), *_axes(f, offset_s, label, step or None)]
    if threshold is not None:
        y = f.y(threshold[0])
        body.append(
            f'<line x1="{ML}" y1="{y:.1f}" x2="{f.w - MR}" y2="{y:.1f}" stroke="{COLOURS["low"]}" '
            f'stroke-dasharray="6 4" stroke-width="1"/>'
            f'<text x="{f.w - MR - 4}" y="{y - 4:.1f}" text-anchor="end" class="tick warn">'
            f"{escape(threshold[1])}</text>"
        )
    if model:
        body.append(_polyline(f, [(t, min(max(v, y0), y1)) for t, v in model], COLOURS[colour]))
    if fc:
        body.append(_polyline(f, [(t, min(max(v, y0), y1)) for t, v in fc], COLOURS["forecast"], dashed=True))
    legend = [("virtual patient", COLOURS[colour], "line")]
    if fc:
        legend.append(("forecast", COLOURS["forecast"], "dashed"))
    if key == "oral_mme_per_day":
        for t, v in reported:
            body.append(f'<circle cx="{f.x(t):.1f}" cy="{f.y(v):.1f}" r="3.2" fill="{COLOURS["oral"]}"/>')
        legend.append(("reported at assessments", COLOURS["oral"], "dot"))
    body.append(_now_line(f, t1))
    return _svg(f, title, body, legend)


_PAGE_CHARTS: Any = None  # the cache (created on first use: charts stays importable without the clinic's DB layer)


def page_charts(
    series: dict[str, Any], offset_s: int, *, has_pump: bool, truth: bool, has_model: bool, model_keys: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """The patient page's charts (``{"reservoir", "dose", "pain"}`` and the model charts), computed once per
    change: cached under the series' version key (:class:`itdd.clinic.views.Series`) and the options."""
    global _PAGE_CHARTS

    def draw() -> tuple[dict[str, str], list[str]]:
        model = [model_chart(series, offset_s, k) for k in model_keys] if has_model else []
        if not has_pump:
            return {"pain": pain_chart(series, offset_s)}, model
        return {
            "reservoir": reservoir_chart(series, offset_s, show_truth=truth),
            "dose": dose_chart(series, offset_s, show_truth=truth),
            "pain": pain_chart(series, offset_s, show_model=has_model),
        }, model

    key = getattr(series, "key", None)
    if key is None:
        return draw()
    if _PAGE_CHARTS is None:
        from .cache import VersionedCache

        _PAGE_CHARTS = VersionedCache(1_000)
    value: tuple[dict[str, str], list[str]] = _PAGE_CHARTS.get(
        ("charts", key, offset_s, has_pump, truth, has_model, tuple(model_keys)), draw
    )
    return value
