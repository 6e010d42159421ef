"""``dtaosim run``: simulate a configuration and write a run directory."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
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

from dtaosim.agents.economy import AgentsConfig
from dtaosim.cli.report import report_after_run
from dtaosim.cli.summary import summary_dict, summary_table
from dtaosim.errors import ConfigError, Interrupted
from dtaosim.experiments.config import (
    MAX_DAYS,
    RunConfig,
    apply_overrides,
    dump_config_toml,
    load_config,
    load_scenario,
    resolve_mechanism,
)
from dtaosim.experiments.run import execute_run, initial_state, load_start_snapshot
from dtaosim.io.results import RunWriter
from dtaosim.io.rundir import CONFIG_FILE, MANIFEST_FILE

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
    "agents": "--no-agents",
    "n_validators": "--validators",
    "out": "--out",
}
_DEFAULTS = RunConfig()
COMPILE_NOTE = "compiling the simulation kernel (first run only, about 1-2 minutes) ..."


def _default_out(mechanism: str) -> Path:
    """``runs/<mechanism>-<UTC time>``; the writer takes the first free ``-N`` of it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / f"{mechanism}-{stamp}"


def _build_config(config: Path | None, scenario: str | None, overrides: dict[str, Any],
                  no_invariants: bool, no_agents: bool) -> RunConfig:
    if config is not None and scenario is not None:
        raise ConfigError("give --scenario or --config, not both (a run's config.toml already "
                          "holds its whole scenario)")
    cfg = load_config(config) if config is not None else load_scenario(scenario or "baseline")
    if no_invariants:
        overrides = {**overrides, "check_invariants": False}
    if no_agents:
        overrides = {**overrides, "agents": AgentsConfig(enabled=False)}
    return apply_overrides(cfg, overrides, _OPTION_NAMES)


@contextmanager
def _signals_raise() -> Iterator[None]:
    """While running, SIGTERM, SIGHUP and SIGINT raise :class:`Interrupted`, so that the run
    directory's temporary files are removed; further signals are ignored during the cleanup."""

    def handler(signum: int, frame: FrameType | None) -> None:
        for s in caught:
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum, signal.Signals(signum).name)

    caught = [signal.SIGTERM, signal.SIGINT]
    if hasattr(signal, "SIGHUP"):
        caught.append(signal.SIGHUP)
    try:
        previous = {s: signal.signal(s, handler) for s in caught}
    except ValueError:  # not the main thread (e.g. called from a worker): leave them alone
        yield
        return
    try:
        yield
    except KeyboardInterrupt:  # raised before the handler was in place, or by a library
        raise Interrupted(int(signal.SIGINT), "SIGINT") from None
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class _Reporter:
    """Progress on stderr: a Rich bar on a terminal, plain lines every 10% elsewhere."""

    def __init__(self, total: int, console: Console) -> None:
        self.total = max(total, 1)
        self.console = console
        self.plain = not console.is_terminal
        self.t0 = time.perf_counter()
        self._last_decile = 0
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> _Reporter:
        if not self.plain:
            self._bar = Progress(
                TextColumn("[bold]simulating[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("blocks"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("simulating", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def note(self, text: str) -> None:
        if self.plain:
            self.console.print(text, highlight=False, soft_wrap=True)
        else:
            self.console.print(f"[dim]{text}[/]", soft_wrap=True)

    def progress(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
            return
        decile = min(10, done * 10 // self.total)
        if decile > self._last_decile:
            self._last_decile = decile
            self.console.print(
                f"progress: {decile * 10}% ({done:,} of {self.total:,} blocks, "
                f"{time.perf_counter() - self.t0:,.0f} s)", highlight=False, soft_wrap=True)


def _show(default: Any) -> str:
    return str(default)


def run(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Run configuration (TOML).",
                                  show_default="none")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", "-s",
                     help="Built-in scenario (see `dtaosim scenarios`) or a scenario TOML file.",
                     show_default="baseline"),
    ] = None,
    days: Annotated[
        float | None,
        typer.Option(help=f"Days to simulate (7200 blocks/day; at most {MAX_DAYS:,.0f}).",
                     show_default=_show(_DEFAULTS.days)),
    ] = None,
    runs: Annotated[int | None, typer.Option(help="Monte Carlo runs (1..100000).",
                                             show_default=_show(_DEFAULTS.runs))] = None,
    seed: Annotated[int | None, typer.Option(help="Experiment seed (>= 0).",
                                             show_default=_show(_DEFAULTS.seed))] = None,
    mechanism: Annotated[
        str | None, typer.Option(help="Mechanism preset (see `dtaosim mechanisms`).",
                                 show_default=_DEFAULTS.mechanism)
    ] = None,
    snapshot: Annotated[
        Path | None, typer.Option(help="Snapshot file to start from.",
                                  show_default="the embedded default network")
    ] = None,
    record_every: Annotated[
        int | None, typer.Option("--record-every", help="Recording cadence in blocks.",
                                 show_default=_show(_DEFAULTS.record_every_blocks))
    ] = None,
    no_invariants: Annotated[
        bool, typer.Option("--no-invariants", help="Skip conservation checks.")
    ] = False,
    no_agents: Annotated[
        bool, typer.Option("--no-agents",
                           help="The chain and the scripted exogenous processes only (no miner "
                                "teams, market or selling agents).")
    ] = False,
    uids: Annotated[
        int | None,
        typer.Option(help="UIDs per subnet; Yuma pays them at each epoch (0: aggregate holders).",
                     show_default=_show(_DEFAULTS.uids)),
    ] = None,
    validators: Annotated[
        int | None, typer.Option(help="Validators per subnet in the synthetic metagraph.",
                                 show_default=_show(_DEFAULTS.n_validators))
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory.",
                                  show_default="runs/<mechanism>-<UTC time>[-N]")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite",
                           help="Replace --out if it is an earlier dtaosim run directory.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable summary (JSON) on stdout "
                                          "instead of the table.")
    ] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write report.html into the run directory.")
    ] = False,
) -> None:
    """Simulate the network and write a run directory (config, manifest, Parquet series).

    Options given on the command line override the --scenario or --config file.

    Progress and notes go to stderr. An error is one line "error: ..." and leaves nothing behind.

    Exit codes: 0 done, 1 broken invariant, 2 bad input, 130 Ctrl-C, 143 SIGTERM.
    """
    with _signals_raise():
        _run(config, scenario, days, runs, seed, mechanism, snapshot, record_every,
             no_invariants, no_agents, uids, validators, out, overwrite, json_out, no_report)


def _run(config: Path | None, scenario: str | None, days: float | None, runs: int | None,
         seed: int | None, mechanism: str | None, snapshot: Path | None,
         record_every: int | None, no_invariants: bool, no_agents: bool, uids: int | None,
         validators: int | None, out: Path | None, overwrite: bool, json_out: bool,
         no_report: bool) -> None:
    cfg = _build_config(
        config,
        scenario,
        {
            "days": days,
            "runs": runs,
            "seed": seed,
            "mechanism": mechanism,
            "snapshot": snapshot,
            "record_every_blocks": record_every,
            "uids": uids,
            "n_validators": validators,
            "out": out,
        },
        no_invariants,
        no_agents,
    )
    mech = resolve_mechanism(cfg)
    default_name = cfg.out is None
    target = _default_out(cfg.mechanism) if default_name else cfg.out
    assert target is not None
    # refuses a non-empty --out (or one it may not overwrite) before anything else
    writer = RunWriter(target, overwrite=overwrite, unique=default_name)
    snap = load_start_snapshot(cfg)  # a bad snapshot fails before anything is written
    state = initial_state(cfg, mech, snapshot=snap)  # refuses a run that cannot fit in memory

    err = Console(stderr=True)
    with writer, _Reporter(cfg.blocks, err) as report:
        writer.write_text(CONFIG_FILE, dump_config_toml(cfg, mech))
        outcome = execute_run(cfg, mech, writer, state=state, on_progress=report.progress,
                              on_compile=lambda: report.note(COMPILE_NOTE))
    if writer.moved_from is not None:
        err.print(f"note: {writer.moved_from} appeared while running; the results are in "
                  f"{writer.out} instead", highlight=False, soft_wrap=True)

    if json_out:
        # the report's one line goes to stderr so that stdout stays one JSON document
        written = None if no_report else report_after_run(writer.out, err)
        summary = summary_dict(outcome.first, outcome.final, outcome.manifest)
        summary = {"run_directory": str(writer.out),
                   "manifest": str(writer.out / MANIFEST_FILE),
                   "report": str(written.path) if written is not None else None,
                   "moved_from": str(writer.moved_from) if writer.moved_from else None,
                   **summary}
        typer.echo(json.dumps(summary, indent=2))
        return
    blocks = cfg.blocks
    sim_s = outcome.simulate_s
    console = Console()
    console.print(summary_table(outcome.first, outcome.final))
    compiled = f", {outcome.compile_s:.1f} s compiling" if outcome.compile_s >= 0.05 else ""
    console.print(
        f"simulated {blocks:,} blocks x {cfg.runs:,} runs in {sim_s:.1f} s "
        f"({blocks / max(sim_s, 1e-9):,.0f} blocks/s{compiled})"
    )
    console.print(f"run directory: [bold]{writer.out}[/]", soft_wrap=True)
    if not no_report:
        report_after_run(writer.out, console)  # a failure is a warning line; the data stays


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to ``app``."""
    app.command()(run)
