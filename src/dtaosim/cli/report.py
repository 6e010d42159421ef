"""``dtaosim report RUN_DIR``: write a run directory's self-contained HTML report.

:func:`report_after_run` is what ``dtaosim run`` calls at the end: a report that cannot be
written is one warning line, never a failed run (the run's data is already in place).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dtaosim.report.page import ReportResult, write_report

__all__ = ["register", "report", "report_after_run"]


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _describe(r: ReportResult) -> str:
    text = f"report: {r.path} ({_mb(r.bytes)}, {r.charts} charts, {r.seconds:.1f} s)"
    if r.unavailable:
        text += f"; not available: {', '.join(r.unavailable)}"
    return text


def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `dtaosim run`.")],
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also save static images of the key charts in this folder "
                                   "(needs Playwright and Chromium)."),
    ] = None,
) -> None:
    """Write RUN_DIR/report.html: headline, charts, validation, configuration; works offline.

    An interrupted run directory gets a report that says what is missing.
    """
    result = write_report(run_dir)
    console = Console()
    for p in result.problems:
        console.print(f"[yellow]warning:[/] {p}", soft_wrap=True)
    console.print(_describe(result), soft_wrap=True, highlight=False)
    if png is not None:
        from dtaosim.report.png import export_pngs  # Playwright only when asked for

        images = export_pngs(result.path, png, result.key_charts)
        console.print(f"{len(images)} images in {png}", soft_wrap=True, highlight=False)


def report_after_run(run_dir: Path, console: Console | None = None) -> ReportResult | None:
    """Write the report of a finished run; on any failure print one warning line instead.

    Returns
    -------
    ReportResult or None
        ``None`` if the report could not be written (the run directory is left as it was).
    """
    out = console or Console()
    err = Console(stderr=True)
    try:
        result = write_report(run_dir)
    except Exception as e:  # the run succeeded; its report is a bonus
        msg = " ".join(str(e).split()) or type(e).__name__
        err.print(f"warning: report not written ({type(e).__name__}: {msg}); the run's data is "
                  f"in place - retry with: dtaosim report {run_dir}", soft_wrap=True,
                  highlight=False, markup=False)
        return None
    out.print(_describe(result), soft_wrap=True, highlight=False)
    return result


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""
    app.command("report")(report)
