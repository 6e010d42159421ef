"""``dtaosim validate RUN_DIR``: a run directory's metrics against the real network's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dtaosim.report.validation import Check, Validation, validate

__all__ = ["register", "validate_command", "validation_table"]

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


def validation_table(v: Validation) -> Table:
    """The validation as a Rich table (one row per metric)."""
    runs = f"{v.runs} run" + ("s" if v.runs != 1 else "")
    title = (f"dtaosim validate: {v.mechanism}, {v.horizon_days:.4g} days, {runs} "
             f"({v.counts['within']} within, {v.counts['outside']} outside, "
             f"{v.counts['n/a']} n/a)")
    t = Table(title=title, show_header=True, header_style="bold", show_lines=False)
    t.add_column("metric")
    t.add_column("unit")
    t.add_column("simulated median [p10, p90]", justify="right")
    t.add_column("real [band]", justify="right")
    t.add_column("horizon", justify="right")
    t.add_column("verdict")
    t.add_column("note")
    for c in v.checks:
        label = f"{c.ref} {c.label}" if c.ref else c.label
        horizon = f"{c.real_horizon_days} d" if c.real_horizon_days > 0 else "level"
        style = _VERDICT_STYLE.get(c.verdict, "")
        t.add_row(label, c.unit, _sim(c), _real(c), horizon, f"[{style}]{c.verdict}[/]", c.note)
    return t


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
    console.print(validation_table(v))


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate")(validate_command)
