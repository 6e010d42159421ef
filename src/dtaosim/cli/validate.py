"""``dtaosim validate RUN_DIR``: a run directory's metrics against the real network's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dtaosim.report.validation import Check, Validation, validate

__all__ = ["register", "validate_command", "validation_notes", "validation_table"]

_VERDICT_STYLE = {"within": "green", "outside": "red", "n/a": "dim"}


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:.3g}" if a < 100 else f"{x:.0f}"
    return f"{x:.3g}"


def _sim(c: Check) -> str:
    if c.sim_median is None:
        return "-"
    if c.runs <= 1 or c.sim_p10 == c.sim_p90:
        return _num(c.sim_median)
    return f"{_num(c.sim_median)} [{_num(c.sim_p10)}, {_num(c.sim_p90)}]"


def _real(c: Check) -> str:
    band = ""
    if c.real_low is not None or c.real_high is not None:
        band = f" [{_num(c.real_low)}, {_num(c.real_high)}]"
    value = _num(c.real_value) if c.real_value is not None else ""
    return (value + band).strip() or "-"


WIDE = 160
"""Console width from which the notes stay in the table; narrower consoles (and pipes, 80
columns) get a compact table and the notes numbered below it."""


def _title(v: Validation) -> str:
    runs = f"{v.runs} run" + ("s" if v.runs != 1 else "")
    return (f"dtaosim validate: {v.mechanism}, {v.horizon_days:.4g} days, {runs} "
            f"({v.counts['within']} within, {v.counts['outside']} outside, "
            f"{v.counts['n/a']} n/a)")


def _horizon(c: Check) -> str:
    return f"{c.real_horizon_days} d" if c.real_horizon_days > 0 else "level"


def validation_table(v: Validation, compact: bool = False) -> Table:
    """The validation as a Rich table (one row per metric).

    Parameters
    ----------
    v
        The validation.
    compact
        Leave out the unit, horizon and note columns (for narrow consoles): the metric is
        numbered and :func:`validation_notes` gives its unit, horizon and note.
    """
    t = Table(title=_title(v), show_header=True, header_style="bold", show_lines=compact)
    if compact:
        t.add_column("#", justify="right")
    t.add_column("metric", ratio=3 if compact else None)
    if not compact:
        t.add_column("unit")
    t.add_column("simulated median [p10, p90]", justify="right", ratio=2 if compact else None)
    t.add_column("real [band]", justify="right", ratio=2 if compact else None)
    if not compact:
        t.add_column("horizon", justify="right")
    t.add_column("verdict")
    if not compact:
        t.add_column("note")
    for i, c in enumerate(v.checks, start=1):
        label = f"{c.ref} {c.label}" if c.ref else c.label
        verdict = f"[{_VERDICT_STYLE.get(c.verdict, '')}]{c.verdict}[/]"
        if compact:
            t.add_row(str(i), label, _sim(c), _real(c), verdict)
        else:
            t.add_row(label, c.unit, _sim(c), _real(c), _horizon(c), verdict, c.note)
    return t


def validation_notes(v: Validation) -> list[str]:
    """One line per metric of the compact table: ``[n] unit; real horizon; note``."""
    return [f"[{i}] {c.unit}; real horizon {_horizon(c)}" + (f"; {c.note}" if c.note else "")
            for i, c in enumerate(v.checks, start=1)]


def validate_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `dtaosim run`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Compare a run directory with the real network (median and p10-p90 over runs).

    A metric is "within" when the simulated p10-p90 overlaps the real band; see
    docs/validation.md for how each metric and band is computed.
    """
    v = validate(run_dir)
    if as_json:
        typer.echo(json.dumps(v.to_dict(), indent=2, allow_nan=False))
        return
    console = Console()
    for p in v.problems:
        console.print(f"[yellow]warning:[/] {p}", soft_wrap=True)
    compact = console.width < WIDE
    console.print(validation_table(v, compact=compact))
    if compact:
        for line in validation_notes(v):
            console.print(line, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate")(validate_command)
