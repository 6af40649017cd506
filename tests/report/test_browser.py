"""The report in a real browser: headless Chromium renders it to a PNG that is not blank."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from itdd.report import write_report
from tests.conftest import require

from .sample import full_result

pytestmark = pytest.mark.browser


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path, profile: Path, height: int = 3000) -> subprocess.CompletedProcess[str]:
    exe = chromium()
    assert exe is not None
    return subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size=1400,{height}",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_full_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    require(chromium() is not None, "chromium (apt-get install chromium)")
    html = tmp_path / "report.html"
    write_report(full_result(), html)
    png = tmp_path / "report.png"
    proc = screenshot(html, png, tmp_path / "profile")
    assert png.exists(), proc.stderr[-2000:]
    with Image.open(png) as im:
        assert im.size == (1400, 3000)
        rgb = im.convert("RGB")
        small = rgb.resize((280, 600))
        colours = small.getcolors(maxcolors=280 * 600) or []
        white = sum(n for n, c in colours if min(c) >= 245)
        assert len(colours) > 50, "a rendered report has many colours (text, plots, banners)"
        assert white < 0.97 * 280 * 600, "the page is not blank"
        # The disclaimer banner (a light orange box with a vermillion border) is at the top.
        top = rgb.crop((0, 0, 1400, 120))
        top_colours = top.getcolors(maxcolors=1400 * 120) or []
        assert any(c[0] > 200 and 80 < c[1] < 140 and c[2] < 60 for _, c in top_colours), "disclaimer border"
