"""End to end: the report opened in a real headless Chromium (Debian's chromium via Playwright).

Every chart must render (a plot element with drawn traces), the page must log no console error
and make no network request, and a screenshot is saved under ``test-artifacts/`` (ignored by
git). If the browser cannot be launched the test FAILS, saying how to install it: ``.ci/run``
installs Debian's ``chromium`` and the ``test`` extra installs Playwright.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dtaosim.errors import ConfigError
from dtaosim.report.page import REPORT_FILE, write_report

from .rundirs import rich_run_dir

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
HOW = ("install Debian's chromium (apt-get install -y chromium; .ci/run does it) and the test "
       "extra (pip install -e \".[test]\"), or point DTAOSIM_CHROMIUM at a Chromium binary")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(f"the browser test needs the playwright package: {HOW}")
    from dtaosim.report.png import find_chromium, launch_chromium

    exe = find_chromium()
    if exe is None:
        pytest.fail(f"no Chromium on this machine (looked for chromium, chromium-browser, "
                    f"google-chrome): {HOW}")
    try:
        with launch_chromium() as b:
            yield b
    except ConfigError as e:
        pytest.fail(f"cannot launch the browser {exe}: {e}")


def _open(browser: Any, report: Path) -> tuple[Any, list[str], list[str]]:
    """Open ``report``; every request other than the file itself is recorded and blocked."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    url = report.resolve().as_uri()

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto(url, wait_until="load")
    return page, requests, errors


_RENDERED = """
() => [...document.querySelectorAll('[data-chart]')].map(box => {
  const plot = box.querySelector('.js-plotly-plot');
  const r = plot ? plot.getBoundingClientRect() : {width: 0, height: 0};
  const drawn = plot ? [...plot.querySelectorAll('.trace path')].filter(
      p => (p.getAttribute('d') || '').length > 4).length : 0;
  return {key: box.dataset.chart, plot: !!plot, svg: plot ? plot.querySelectorAll('.main-svg')
          .length : 0, traces: plot ? plot.querySelectorAll('.trace').length : 0, drawn,
          width: r.width, height: r.height,
          title: plot ? (plot.querySelector('.gtitle') || {}).textContent || '' : ''};
})
"""


def test_report_renders_in_chromium(browser: Any, tmp_path: Path) -> None:
    run = rich_run_dir(tmp_path / "run", runs=3, days=20)
    result = write_report(run)
    page, requests, errors = _open(browser, result.path)
    expected = result.charts
    page.wait_for_function(
        f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {expected}")
    charts = page.evaluate(_RENDERED)
    assert len(charts) == expected == 18
    for c in charts:
        assert c["plot"] and c["svg"] >= 1, c
        assert c["traces"] >= 1 and c["drawn"] >= 1, c  # something was drawn
        assert c["width"] > 300 and c["height"] > 200, c
        assert len(c["title"]) > 10, c
    assert errors == [], errors
    assert requests == [], requests
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-browser.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert shot.stat().st_size > 50_000
    print(f"\nscreenshot of the report: {shot}")


def test_incomplete_run_report_renders_and_says_what_is_missing(browser: Any,
                                                                 tmp_path: Path) -> None:
    run = rich_run_dir(tmp_path / "run", runs=2, days=6, agents=False)
    (run / "uids.parquet").write_bytes(b"PAR1")
    (run / "manifest.json").unlink()
    result = write_report(run)
    page, requests, errors = _open(browser, result.path)
    page.wait_for_function(
        f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {result.charts}")
    charts = page.evaluate(_RENDERED)
    assert len(charts) == result.charts and all(c["drawn"] >= 1 for c in charts)
    text = page.inner_text("main")
    assert "This run directory is incomplete or damaged" in text
    assert "Miner pay by UID rank: not available (uids.parquet is unreadable" in text
    assert errors == [] and requests == []
    page.close()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_png_exports_the_key_charts(browser: Any, tmp_path: Path) -> None:
    """``dtaosim report --png`` in its own process (Playwright's sync API is per thread)."""
    run = rich_run_dir(tmp_path / "run", runs=2, days=8)
    out = tmp_path / "png"
    result = subprocess.run([sys.executable, "-m", "dtaosim.cli.app", "report", str(run),
                             "--png", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    keys = write_report(run).key_charts
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(keys)
    assert {"shares", "pay_rank", "burns", "churn", "tao_usd", "retention"} <= set(keys)
    for p in out.glob("*.png"):
        w, h = _png_size(p)
        assert w >= 1000 and h >= 400, (p.name, w, h)  # 2x device pixels of a full-width chart
    assert f"{len(keys)} images in {out}" in result.stdout
    assert (run / REPORT_FILE).is_file()
