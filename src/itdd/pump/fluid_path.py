"""The fluid path from reservoir to catheter tip, as plug flow of concentration segments.

Fluid enters at the pump end and leaves at the catheter tip in the same order: nothing mixes in
the path.  After a concentration change the patient keeps receiving the old drug until the whole
path volume has been pushed through, and a catheter primed with saline delivers no drug until the
drug front reaches the tip.  (Real catheters show some Taylor dispersion at the front; plug flow
is the model the bridge-bolus arithmetic itself assumes.)
"""

from __future__ import annotations

from dataclasses import dataclass

EPS_ML = 1e-12


@dataclass(slots=True)
class Segment:
    volume_ml: float
    conc_mg_per_ml: float
    drug: str


class FluidPath:
    """Segments ordered from the catheter tip (index 0, leaves first) to the pump end (last)."""

    __slots__ = ("segments",)

    def __init__(self, volume_ml: float, conc_mg_per_ml: float, drug: str) -> None:
        self.segments: list[Segment] = []
        if volume_ml > EPS_ML:
            self.segments.append(Segment(volume_ml, conc_mg_per_ml, drug))

    @property
    def volume_ml(self) -> float:
        return sum(s.volume_ml for s in self.segments)

    @property
    def tip(self) -> Segment | None:
        return self.segments[0] if self.segments else None

    def tip_volume_ml(self, inflow_conc_mg_per_ml: float | None = None, inflow_drug: str | None = None) -> float:
        """Volume that must be pushed before the outflow concentration changes: the arrival of
        the next fluid front at the tip.

        With several segments the front is the end of the tip segment.  With one segment the
        front is the fluid about to enter (``inflow_*``, the reservoir's contents): if it differs
        from what fills the path — saline in a new catheter, the old concentration after a refill
        without a bridge bolus — it reaches the tip once the whole path has been pushed through.
        Only when nothing differs is there no front (infinity), so the common case schedules
        no event.
        """
        segs = self.segments
        if len(segs) > 1:
            return segs[0].volume_ml
        if not segs or inflow_conc_mg_per_ml is None:
            return float("inf")
        head = segs[0]
        if head.conc_mg_per_ml == inflow_conc_mg_per_ml and head.drug == inflow_drug:
            return float("inf")
        return head.volume_ml

    def push(self, volume_ml: float, conc_mg_per_ml: float, drug: str) -> tuple[float, float]:
        """Push ``volume_ml`` in at the pump end; return (mL, mg) that leave at the tip."""
        if volume_ml <= 0.0:
            return 0.0, 0.0
        segs = self.segments
        last = segs[-1] if segs else None
        if last is not None and last.conc_mg_per_ml == conc_mg_per_ml and last.drug == drug:
            last.volume_ml += volume_ml
        else:
            segs.append(Segment(volume_ml, conc_mg_per_ml, drug))
        # Remove the same volume at the tip.
        remaining = volume_ml
        out_mg = 0.0
        while remaining > 0.0 and len(segs) > 1:
            head = segs[0]
            if head.volume_ml <= remaining + EPS_ML:
                out_mg += head.volume_ml * head.conc_mg_per_ml
                remaining -= head.volume_ml
                segs.pop(0)
            else:
                out_mg += remaining * head.conc_mg_per_ml
                head.volume_ml -= remaining
                remaining = 0.0
        if remaining > 0.0:  # a single segment: what goes in comes out at the same concentration
            head = segs[0]
            out_mg += remaining * head.conc_mg_per_ml
            head.volume_ml -= remaining
        return volume_ml, out_mg

    def mg_by_drug(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.segments:
            out[s.drug] = out.get(s.drug, 0.0) + s.volume_ml * s.conc_mg_per_ml
        return out

    def replace(self, volume_ml: float, conc_mg_per_ml: float, drug: str) -> None:
        """The whole path holds one fluid."""
        self.segments = [Segment(volume_ml, conc_mg_per_ml, drug)] if volume_ml > EPS_ML else []

    def replace_tip_part(self, keep_pump_end_ml: float, new_ml: float, conc_mg_per_ml: float, drug: str) -> None:
        """A catheter revision: the pump's internal path (the last ``keep_pump_end_ml`` at the
        pump end) keeps what it holds; the catheter part is replaced by ``new_ml`` of one fluid."""
        kept: list[Segment] = []
        need = keep_pump_end_ml
        for seg in reversed(self.segments):
            if need <= EPS_ML:
                break
            take = min(seg.volume_ml, need)
            kept.append(Segment(take, seg.conc_mg_per_ml, seg.drug))
            need -= take
        kept.reverse()
        new = [Segment(new_ml, conc_mg_per_ml, drug)] if new_ml > EPS_ML else []
        segs = new + kept
        merged: list[Segment] = []
        for seg in segs:
            if merged and merged[-1].conc_mg_per_ml == seg.conc_mg_per_ml and merged[-1].drug == seg.drug:
                merged[-1].volume_ml += seg.volume_ml
            else:
                merged.append(seg)
        self.segments = merged

    def snapshot(self) -> list[dict[str, float | str]]:
        return [{"volume_ml": s.volume_ml, "conc_mg_per_ml": s.conc_mg_per_ml, "drug": s.drug} for s in self.segments]
