"""Command-line interface: ``dtaosim run``, ``dtaosim mechanisms`` and ``dtaosim snapshot``.

User errors (:class:`~dtaosim.errors.DtaosimError`, bad option values, unknown commands) print
one line ``error: <message>`` to stderr and exit with code 2 (1 for an
:class:`~dtaosim.errors.InvariantViolation`), without a traceback; a failed run leaves no
output directory behind.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
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
from rich.table import Table
from typer.core import TyperGroup

from . import simulation, snapshot_cli
from .config import (
    RunConfig,
    apply_overrides,
    dump_config_toml,
    load_config,
    resolve_mechanism,
)
from .errors import DataError, DtaosimError, InvariantViolation
from .mechanisms import HEAD_PRESET, PRESETS, Mechanism, get_mechanism
from .results import RunWriter, summary_table

__all__ = ["app", "main"]

_RULE_FIELDS = (
    "share_rule",
    "pool_model",
    "injection_rule",
    "bought_alpha",
    "epoch_schedule",
    "ema_rule",
    "root_dividends",
    "pool_seeding",
)
_META_FIELDS = ("name", "date", "description")

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


def _error_line(message: str) -> None:
    """Print ``error: <message>`` as a single line on stderr."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)


class _OneLineErrorGroup(TyperGroup):
    """Typer group whose user errors are one ``error:`` line on stderr, no traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except DtaosimError as e:
            _error_line(str(e))
            sys.exit(1 if isinstance(e, InvariantViolation) else 2)
        except typer.Abort:
            _error_line("aborted")
            sys.exit(1)
        except typer.TyperException as e:  # click usage errors: bad option value, no such option
            if type(e).__name__ == "NoArgsIsHelpError":
                show = getattr(e, "show", None)
                if callable(show):
                    show()
                sys.exit(2)
            _error_line(e.format_message())
            sys.exit(int(getattr(e, "exit_code", 2)))
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="dtaosim",
    cls=_OneLineErrorGroup,
    help="Simulator of the Bittensor dynamic-TAO economy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _stdout() -> Console:
    return Console()


def _stderr() -> Console:
    return Console(stderr=True)


# ---------------------------------------------------------------------------------- run
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


@app.command()
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

    from . import snapshot as snapshots  # imported here: `mechanisms` does not need it

    if cfg.snapshot is not None:
        if not cfg.snapshot.is_file():
            raise DataError(f"snapshot file not found: {cfg.snapshot}")
        snap = snapshots.load_snapshot(cfg.snapshot)
    else:
        snap = snapshots.default_snapshot()
    state = snapshots.snapshot_to_state(snap, cfg.runs, mech=mech)
    if cfg.uids > 0:
        from .neurons import starting_neurons

        state.neurons = starting_neurons(state, snap, cfg.snapshot, cfg.uids, cfg.validators,
                                         seed=np.random.SeedSequence([cfg.seed, 1]))
    state.meta.setdefault("start_block", state.block)
    start_block = int(state.block)
    first = state  # simulate() does not modify its input
    blocks = cfg.blocks

    err = _stderr()
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
            console=err,
            transient=True,
        )
        with progress:
            task = progress.add_task("simulating", total=blocks)
            t0 = time.perf_counter()
            final = simulation.simulate(
                state,
                mech,
                blocks=blocks,
                record_every=cfg.record_every_blocks,
                seed=cfg.seed,
                exogenous=cfg.exogenous,
                check_invariants=cfg.check_invariants,
                on_record=writer.record,
                on_progress=lambda done: progress.update(task, completed=done),
            )
            wall = time.perf_counter() - t0
        writer.write_manifest(
            {
                "mechanism": {
                    "name": mech.name,
                    "preset": cfg.mechanism,
                    "date": mech.date,
                    "rules": mech.rules(),
                    "overrides": cfg.mechanism_overrides,
                },
                "seed": cfg.seed,
                "runs": cfg.runs,
                "days": cfg.days,
                "blocks": blocks,
                "record_every_blocks": cfg.record_every_blocks,
                "start_block": start_block,
                "end_block": int(final.block),
                "check_invariants": cfg.check_invariants,
                "uids": cfg.uids,
                "validators": cfg.validators if cfg.uids else None,
                "snapshot": str(cfg.snapshot) if cfg.snapshot is not None else "embedded",
                "wall_time_s": round(wall, 3),
                "blocks_per_second": round(blocks / wall, 1) if wall > 0 else None,
            }
        )

    console = _stdout()
    console.print(summary_table(first, final))
    console.print(
        f"simulated {blocks:,} blocks x {cfg.runs:,} runs in {wall:.1f} s "
        f"({blocks / max(wall, 1e-9):,.0f} blocks/s)"
    )
    console.print(f"run directory: [bold]{cfg.out}[/]", soft_wrap=True)


# ---------------------------------------------------------------------------------- mechanisms
def _fmt_value(v: Any) -> str:
    if isinstance(v, IntEnum):
        return v.name.lower()
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:_}"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _constants_differing(m: Mechanism, head: Mechanism) -> list[str]:
    skip = set(_RULE_FIELDS) | set(_META_FIELDS)
    return [
        f"{name}={_fmt_value(getattr(m, name))}"
        for name in Mechanism.model_fields
        if name not in skip and getattr(m, name) != getattr(head, name)
    ]


@app.command()
def mechanisms(
    show: Annotated[
        str | None, typer.Option("--show", help="Print every field of one preset.")
    ] = None,
) -> None:
    """List the mechanism presets (rules and constants that differ from HEAD)."""
    console = _stdout()
    if show is not None:
        m = get_mechanism(show)
        table = Table(title=f"{m.name} ({m.date})", caption=m.description, show_lines=False)
        table.add_column("field", no_wrap=True)
        table.add_column("value", no_wrap=True)
        table.add_column("description")
        for name, info in Mechanism.model_fields.items():
            if name in _META_FIELDS:
                continue
            table.add_row(name, _fmt_value(getattr(m, name)), info.description or "")
        console.print(table)
        return
    head = PRESETS[HEAD_PRESET]
    table = Table(title="mechanism presets", show_lines=True)
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("date", no_wrap=True)
    table.add_column("rules")
    table.add_column(f"constants differing from {HEAD_PRESET}")
    for name, m in PRESETS.items():
        rules = ", ".join(f"{k}={v}" for k, v in m.rules().items())
        diff = _constants_differing(m, head)
        label = f"{name} (HEAD)" if name == HEAD_PRESET else name
        table.add_row(label, m.date, rules, ", ".join(diff) or "-")
    console.print(table)


# ---------------------------------------------------------------------------------- snapshot
snapshot_cli.register(app)  # `dtaosim snapshot` (live chain through the bittensor SDK)


def main() -> None:
    """Console-script entry point (``dtaosim``)."""
    app(prog_name="dtaosim")


if __name__ == "__main__":  # pragma: no cover
    main()
