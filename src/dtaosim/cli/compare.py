"""``dtaosim compare``: A/B (or A/B/C...) of rules or configurations with common random
numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from dtaosim.cli.sweep import run_plan
from dtaosim.errors import ConfigError
from dtaosim.experiments.config import RunConfig, apply_overrides, load_config
from dtaosim.experiments.sweep import OutputSpec, plan_from_arms, scenario_config

__all__ = ["compare", "register"]

_OPTION_NAMES = {"days": "--days", "runs": "--runs", "seed": "--seed", "uids": "--uids",
                 "record_every_blocks": "--record-every", "mechanism": "--mechanism",
                 "agents": "--no-agents"}


def _arms(configs: list[Path], mechanisms: list[str], overrides: dict[str, Any],
          scenario: str | None = None) -> list[tuple[str, RunConfig]]:
    if len(configs) >= 2 and mechanisms:
        raise ConfigError("compare either several --config files or several --mechanism "
                          "names on one configuration, not both")
    if scenario is not None and configs:
        raise ConfigError("give --scenario or --config, not both")
    if len(configs) >= 2:
        cfgs = [apply_overrides(load_config(c), overrides, _OPTION_NAMES) for c in configs]
        labels = [c.stem for c in configs]
        if len(set(labels)) != len(labels):
            labels = [str(c) for c in configs]
        return list(zip(labels, cfgs, strict=True))
    if len(mechanisms) < 2:
        raise ConfigError("give at least two --mechanism names (or two --config files)")
    base = (load_config(configs[0]) if configs
            else scenario_config(scenario) if scenario is not None else RunConfig())
    base = apply_overrides(base, overrides, _OPTION_NAMES)
    arms = []
    for m in mechanisms:
        # the base's mechanism_overrides stay: they apply on top of each preset
        arms.append((m, apply_overrides(base, {"mechanism": m}, _OPTION_NAMES)))
    return arms


def compare(
    scenario: Annotated[str | None, typer.Option(
        help="Scenario (built-in name or file) every arm runs.")] = None,
    config: Annotated[list[Path] | None, typer.Option(
        "--config", "-c",
        help="Run configuration (TOML); give two or more to compare them.")] = None,
    mechanism: Annotated[list[str] | None, typer.Option(
        help="Mechanism preset to compare; repeat (the first is the baseline).")] = None,
    days: Annotated[float | None, typer.Option(help="Days to simulate.")] = None,
    runs: Annotated[int | None, typer.Option(help="Monte Carlo runs (paired).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed shared by every arm.")] = None,
    uids: Annotated[int | None, typer.Option(help="UIDs per subnet (0: aggregate).")] = None,
    record_every: Annotated[int | None, typer.Option(
        "--record-every", help="Recording cadence in blocks.")] = None,
    no_agents: Annotated[bool, typer.Option(
        "--no-agents", help="The chain and the scripted exogenous processes only.")] = False,
    metric: Annotated[list[str] | None, typer.Option(
        help="Outcome to compare (a column of the `runs` view); repeat.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Sweep directory (default: sweeps/compare-<UTC time>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue --out.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an earlier comparison in --out.")] = False,
    processes: Annotated[int | None, typer.Option(help="N local worker processes.")] = None,
    workers: Annotated[int | None, typer.Option(help="Dask LocalCluster of N workers.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://HOST:PORT).")] = None,
) -> None:
    """Compare rules (or whole configurations) on the same economy: every arm runs with the
    same seed, so each random process draws the same numbers in A and B (common random
    numbers); prints per-run paired differences of key outcomes with confidence intervals
    across runs, and writes them to compare.csv in the sweep directory.
    """
    overrides: dict[str, Any] = {"days": days, "runs": runs, "seed": seed, "uids": uids,
                                 "record_every_blocks": record_every}
    if no_agents and "agents" in RunConfig.model_fields:  # (without agents: nothing to do)
        overrides["agents"] = {"enabled": False}
    arms = _arms(config or [], mechanism or [], overrides, scenario)
    first = arms[0][1]
    plan = plan_from_arms(arms, runs=first.runs, seed=first.seed,
                          output=OutputSpec(network="all", subnets="ends", uids="none"),
                          metrics=metric or None)
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path("sweeps") / f"compare-{stamp}"
    run_plan(plan, out, resume=resume, retry_failed=False, overwrite=overwrite,
             processes=processes, workers=workers, scheduler=scheduler)


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command to ``app``."""
    app.command()(compare)
