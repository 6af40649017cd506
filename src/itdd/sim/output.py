"""Writing a run's outputs to a folder (atomically: a temporary folder renamed into place)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .. import quantities as q


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half of it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(out_dir: Path, run: Any, result: dict[str, Any]) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".itdd-", dir=out_dir.parent))
    try:
        (tmp / "result.json").write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        _csv(tmp / "daily.csv", result["daily"])
        events = [
            {
                "time": e["time"],
                "type": e["type"],
                "device": e["device"],
                "details": json.dumps({k: v for k, v in e.items() if k not in ("time", "type", "device")}),
            }
            for e in result["events"]
        ]
        _csv(tmp / "events.csv", events, ["time", "type", "device", "details"])
        rec = run.implant.record
        rows = [
            {
                "start": q.iso(iv.t0_s, run.offset_s),
                "end": q.iso(iv.t1_s, run.offset_s),
                "pumped_ml": iv.pumped_ml,
                "delivered_ml": iv.csf_ml,
                "delivered_mg": iv.csf_mg,
                "lost_mg": iv.tissue_mg,
                "programmed_mg": iv.programmed_mg,
                "reservoir_ml_at_start": iv.reservoir_ml,
                "estimate_ml_at_start": iv.estimate_ml,
                "drug_at_tip": iv.drug,
            }
            for iv in rec.intervals()
        ]
        _csv(tmp / "intervals.csv", rows)
        if out_dir.exists():
            backup = Path(tempfile.mkdtemp(prefix=".itdd-old-", dir=out_dir.parent))
            os.replace(out_dir, backup / "old")
            os.replace(tmp, out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _csv(path: Path, rows: list[dict[str, Any]], fields: list[str] | None = None) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        names = fields or (list(rows[0]) if rows else [])
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        for r in rows:
            w.writerow(r)
