"""Progress bars for long command-line runs: one library (tqdm), one helper.

The simulator reports progress as a fraction of the simulated period (``progress(0.42)``);
:func:`fraction_bar` turns that into a tqdm bar on a terminal.  Off a terminal (a pipe, a log
file, CI) a bar's carriage returns are noise, so it returns ``None`` (no output) or, when the
caller gives ``plain``, a line at each quarter.  Nothing in the simulation core imports this
module: the bar reads the wall clock (elapsed time, rate), which only the command line may do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO


def _is_terminal(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def fraction_bar(
    stream: TextIO | None = None, *, desc: str = "", plain: str | None = None
) -> Callable[[float], None] | None:
    """``show(fraction)`` drawing a tqdm bar on ``stream`` (default stderr) when it is a terminal.

    Off a terminal: ``None`` without ``plain``; with ``plain`` (a format with ``{pct}``, e.g.
    ``"simulated {pct}%"``) one line at 25, 50, 75 and 100 %.
    """
    out: TextIO = stream if stream is not None else sys.stderr
    if not _is_terminal(out):
        return None if plain is None else _quarter_lines(out, plain)
    from tqdm import tqdm

    bar: Any = None

    def show(frac: float) -> None:
        nonlocal bar
        pct = max(0, min(100, int(frac * 100)))
        if bar is None:
            bar = tqdm(total=100, desc=desc, unit="%", file=out, leave=True, bar_format="{l_bar}{bar}| {elapsed}")
        if pct > bar.n:
            bar.update(pct - bar.n)
            if pct >= 100:
                bar.close()

    return show


def _quarter_lines(out: TextIO, text: str) -> Callable[[float], None]:
    last = -1

    def show(frac: float) -> None:
        nonlocal last
        quarter = max(0, min(100, int(frac * 100))) // 25
        if quarter <= last:
            return
        last = quarter
        out.write(text.format(pct=quarter * 25) + "\n")
        out.flush()

    return show


__all__ = ["fraction_bar"]
