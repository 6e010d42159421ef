"""``dtaosim run``: simulate a configuration and write a run directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dtaosim.cli.report import report_after_run
from dtaosim.cli.summary import summary_table
from dtaosim.experiments.config import (
    RunConfig,
    apply_overrides,
    dump_config_toml,
    load_config,
    resolve_mechanism,
)
from dtaosim.experiments.run import execute_run, initial_state
from dtaosim.io.results import RunWriter

__all__ = ["register", "run"]

# RunConfig field -> CLI option, for error messages.
_OPTION_NAMES = {
    "days": "--days",
    "runs": "--runs",
    "seed": "--seed",
    "mechanism": "--mechanism",
    "snapshot": "--snapshot",
    "record_every_blocks": "--record-every",
    "check_invariants": "--no-invariants",
    "uids": "--uids",
    "validators": "--validators",
    "out": "--out",
}


def _default_out(mechanism: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = Path("runs") / f"{mechanism}-{stamp}"
    out, k = base, 2
    while out.exists():
        out = base.with_name(f"{base.name}-{k}")
        k += 1
    return out


def _build_config(config: Path | None, overrides: dict[str, Any], no_invariants: bool) -> RunConfig:
    cfg = load_config(config) if config is not None else RunConfig()
    if no_invariants:
        overrides = {**overrides, "check_invariants": False}
    return apply_overrides(cfg, overrides, _OPTION_NAMES)


def run(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Run configuration (TOML).")
    ] = None,
    days: Annotated[float | None, typer.Option(help="Days to simulate (7200 blocks/day).")] = None,
    runs: Annotated[int | None, typer.Option(help="Monte Carlo runs (1..100000).")] = None,
    seed: Annotated[int | None, typer.Option(help="Experiment seed (>= 0).")] = None,
    mechanism: Annotated[
        str | None, typer.Option(help="Mechanism preset (see `dtaosim mechanisms`).")
    ] = None,
    snapshot: Annotated[
        Path | None, typer.Option(help="Snapshot file (default: embedded snapshot).")
    ] = None,
    record_every: Annotated[
        int | None, typer.Option("--record-every", help="Recording cadence in blocks.")
    ] = None,
    no_invariants: Annotated[
        bool, typer.Option("--no-invariants", help="Skip conservation checks.")
    ] = False,
    uids: Annotated[
        int | None,
        typer.Option(help="UIDs per subnet; Yuma pays them at each epoch (0: aggregate holders)."),
    ] = None,
    validators: Annotated[
        int | None, typer.Option(help="Validators per subnet in the synthetic metagraph.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default: runs/<mechanism>-<UTC time>).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a non-empty --out directory.")
    ] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write report.html into the run directory.")
    ] = False,
) -> None:
    """Simulate the network and write a run directory (config, manifest, Parquet series).

    Options given on the command line override the --config file.
    """
    cfg = _build_config(
        config,
        {
            "days": days,
            "runs": runs,
            "seed": seed,
            "mechanism": mechanism,
            "snapshot": snapshot,
            "record_every_blocks": record_every,
            "uids": uids,
            "validators": validators,
            "out": out,
        },
        no_invariants,
    )
    mech = resolve_mechanism(cfg)
    if cfg.out is None:
        cfg = cfg.model_copy(update={"out": _default_out(cfg.mechanism)})
    assert cfg.out is not None
    writer = RunWriter(cfg.out, overwrite=overwrite)  # refuses a non-empty --out up front
    state = initial_state(cfg, mech)  # a bad snapshot fails before anything is written

    with writer:
        writer.write_text("config.toml", dump_config_toml(cfg, mech))
        progress = Progress(
            TextColumn("[bold]simulating[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("blocks"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with progress:
            task = progress.add_task("simulating", total=cfg.blocks)
            outcome = execute_run(cfg, mech, writer, state=state,
                                  on_progress=lambda done: progress.update(task, completed=done))

    blocks, wall = cfg.blocks, outcome.wall_s
    console = Console()
    console.print(summary_table(outcome.first, outcome.final))
    console.print(
        f"simulated {blocks:,} blocks x {cfg.runs:,} runs in {wall:.1f} s "
        f"({blocks / max(wall, 1e-9):,.0f} blocks/s)"
    )
    console.print(f"run directory: [bold]{cfg.out}[/]", soft_wrap=True)
    if not no_report:
        report_after_run(cfg.out, console)  # a failure is a warning line; the data stays


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to ``app``."""
    app.command()(run)
