"""``dtaosim query``: SQL (DuckDB) over a sweep directory's views."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dtaosim.errors import ConfigError
from dtaosim.experiments.metrics import columns, open_sweep
from dtaosim.io.sweep_store import views

__all__ = ["query", "register"]

_DESCRIBE = {
    "design": "one row per point: point, seed, axis values",
    "status": "one row per finished point: status, seed, wall_s, error, traceback, worker",
    "points": "design + status (status 'pending' until a point is done)",
    "runs": "one row per point and run: design, network at the last record, outcomes",
    "network": "one row per point, run and record",
    "subnets": "one row per point, run, record and subnet (timeseries.parquet)",
    "uids": "one row per point, run, record and UID",
}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.10g}"
    return str(v)


def query(
    sweep_dir: Annotated[Path, typer.Argument(help="A sweep directory.")],
    sql: Annotated[str | None, typer.Argument(
        help="SQL over the views (without it: list the views and their columns).")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", help="Output: table, csv or json (one object per line).")] = "table",
) -> None:
    """Run DuckDB SQL over a sweep: views design, status, points, runs, network, subnets,
    uids (and any agent table the points wrote). Axis columns are named by their path:
    quote them, e.g. "exogenous.stake_flow_volatility".
    """
    if fmt not in ("table", "csv", "json"):
        raise ConfigError(f"--format: choose table, csv or json (got {fmt!r})")
    con = open_sweep(sweep_dir)
    if sql is None:
        t = Table(title=f"views of {sweep_dir}", header_style="bold", show_lines=True)
        t.add_column("view", style="bold")
        t.add_column("rows", justify="right")
        t.add_column("what")
        t.add_column("columns")
        for v in views(con):
            n = con.execute(f'select count(*) from "{v}"').fetchone()[0]
            t.add_row(v, f"{n:,}", _DESCRIBE.get(v, "a table the points wrote"),
                      ", ".join(columns(con, v)))
        Console().print(t)
        return
    import duckdb

    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall() if names else []
    except duckdb.Error as e:
        raise ConfigError(f"query: {' '.join(str(e).split())}") from None
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(names)
        for r in rows:
            w.writerow([_cell(v) for v in r])
    elif fmt == "json":
        for r in rows:
            sys.stdout.write(json.dumps(dict(zip(names, r, strict=True)), default=str) + "\n")
    else:
        t = Table(header_style="bold")
        for n in names:
            t.add_column(n, overflow="fold")
        for r in rows:
            t.add_row(*(_cell(v) for v in r))
        Console().print(t)
        Console(stderr=True).print(f"{len(rows):,} rows", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``query`` command to ``app``."""
    app.command()(query)
