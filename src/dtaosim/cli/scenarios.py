"""``dtaosim scenarios``: the built-in scenarios, and one of them in full."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dtaosim.experiments.config import dump_config_toml, load_scenario, resolve_mechanism
from dtaosim.experiments.scenario import builtin_scenarios

__all__ = ["register", "scenarios"]


def scenarios(
    show: Annotated[
        str | None,
        typer.Option("--show", help="Print a scenario (name or file) as its resolved TOML."),
    ] = None,
) -> None:
    """List the built-in scenarios (run one with `dtaosim run --scenario NAME`)."""
    console = Console()
    if show is not None:
        cfg = load_scenario(show)
        typer.echo(dump_config_toml(cfg, resolve_mechanism(cfg)), nl=False)
        return
    table = Table(title="built-in scenarios")
    table.add_column("name", style="bold")
    table.add_column("description")
    for name in builtin_scenarios():
        table.add_row(name, load_scenario(name).description)
    console.print(table)
    console.print("run one: dtaosim run --scenario NAME; see it in full: "
                  "dtaosim scenarios --show NAME")


def register(app: typer.Typer) -> None:
    """Add the ``scenarios`` command to ``app``."""
    app.command()(scenarios)
