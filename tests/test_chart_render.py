"""The sequence chart renders in a real browser: headless Chromium takes a screenshot of
a real log.html, opened at the failing keyword, and the chart's own colours are on it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import ROOT, run_robot

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium")
SUITE = f"""
*** Settings ***
Library    SocketLibrary    timeout=2s
Suite Setup    Start Echo
Test Teardown    Close All Connections

*** Test Cases ***
Three Connections And A Failure
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=first
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=second
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=third
    Send    hello\\n
    Switch Connection    first
    Send Bytes    ff 00 41
    Reply Should Be Bytes    45 63 68 6f 3d 3e ff 00 41
    Switch Connection    third
    Reply Should Be    Echo=>HELLO\\n    timeout=500 ms

*** Keywords ***
Start Echo
    ${{port}}    Start Server    {sys.executable} -m services echo --port 0    0    cwd={ROOT}
    VAR    ${{PORT}}    ${{port}}    scope=SUITE
"""
# The chart's own colours (chart.py), which nothing else in log.html uses.
LIFELINE_FILL = (0xEE, 0xF3, 0xFB)
NOTE_FILL = (0xFD, 0xEC, 0xEA)
ALERT = (0xC6, 0x28, 0x28)


def screenshot(page: str, png: Path, profile: Path) -> None:
    """Headless Chromium, with a fresh profile and nothing that phones home."""
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            "--window-size=1280,1400",
            page,
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )


def pixels_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 6) -> int:
    return sum(
        count
        for count, pixel in image.getcolors(maxcolors=1 << 20)
        if all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))
    )


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs it)")
def test_the_chart_renders_in_log_html(tmp_path):
    (tmp_path / "chart.robot").write_text(SUITE)
    result = run_robot(tmp_path / "chart.robot", tmp_path / "out", log=True, timeout=60)
    (test,) = result.suite.tests
    assert test.status == "FAIL"
    failing = test.body[-1]
    png = tmp_path / "log.png"
    # The fragment opens log.html at the failing keyword, with the chart logged in it.
    screenshot(f"{(tmp_path / 'out' / 'log.html').as_uri()}#{failing.id}", png, tmp_path / "p")

    image = Image.open(png).convert("RGB")
    # Four lifeline boxes (three connections, the server) of about 178 x 34 pixels.
    assert pixels_near(image, LIFELINE_FILL) > 4 * 150 * 30
    # The failure: a red-framed note with red text.
    assert pixels_near(image, NOTE_FILL) > 200 * 12
    assert pixels_near(image, ALERT, tolerance=30) > 100
