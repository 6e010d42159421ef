"""Static images of the report's key charts, taken by a headless Chromium (Playwright).

The browser renders ``report.html`` exactly as a reader sees it and screenshots each key chart's
element; nothing is drawn by hand. Needs the ``playwright`` Python package (``pip install
"dtaosim[png]"``, also in the ``test`` extra) and a Chromium: Debian's ``chromium`` package
(``apt-get install chromium``; ``.ci/run`` installs it), another Chromium or Chrome found on the
``PATH``, the one named by ``DTAOSIM_CHROMIUM``, or Playwright's own download.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dtaosim.errors import ConfigError

__all__ = ["CHROMIUM_NAMES", "export_pngs", "find_chromium", "launch_chromium"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium to drive: ``$DTAOSIM_CHROMIUM``, else the first on the ``PATH``."""
    env = os.environ.get("DTAOSIM_CHROMIUM")
    if env:
        return env
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright), closed on exit.

    Raises
    ------
    ConfigError
        If Playwright is not installed or no Chromium can be launched (the message says how
        to install one).
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ConfigError(
            "static images need the playwright package: pip install \"dtaosim[png]\""
        ) from None
    exe = find_chromium()
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=exe, headless=True)
        except PlaywrightError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            where = exe or "Playwright's bundled Chromium"
            raise ConfigError(
                f"cannot launch Chromium ({where}): {first}; install Debian's chromium "
                "(apt-get install chromium) or set DTAOSIM_CHROMIUM to a Chromium binary"
            ) from None
        try:
            yield browser
        finally:
            browser.close()


def export_pngs(report: Path, out_dir: Path, keys: list[str], *, width: int = 1200,
                scale: float = 2.0) -> list[Path]:
    """Screenshot the charts ``keys`` of ``report`` (an HTML file) into ``out_dir/<key>.png``.

    Parameters
    ----------
    report
        The report file.
    out_dir
        Folder for the images (created if missing).
    keys
        Chart keys (the element ids are ``chart-<key>``).
    width
        Viewport width in CSS pixels.
    scale
        Device pixel ratio (2 gives sharp images for print).

    Returns
    -------
    list of Path
        The images written, in the order of ``keys``.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create --png folder {out_dir}: {e.strerror or e}") from None
    from playwright.sync_api import Error as PlaywrightError

    written: list[Path] = []
    with launch_chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": 900},
                                device_scale_factor=scale)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file:") else route.abort())
        try:
            page.goto(report.resolve().as_uri())
            page.wait_for_function("() => typeof Plotly !== 'undefined'")
            for key in keys:
                sel = f"#chart-{key}"
                page.wait_for_selector(f"{sel} .main-svg", state="attached")
                target = out_dir / f"{key}.png"
                page.locator(sel).screenshot(path=str(target))
                written.append(target)
        except PlaywrightError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"PNG export failed: {first}") from None
        finally:
            page.close()
    return written
