"""One run of a configuration, from its starting state to a run directory.

:func:`initial_state` builds the starting :class:`~dtaosim.state.ChainState` a
:class:`~dtaosim.experiments.config.RunConfig` asks for (snapshot, runs, UIDs);
:func:`execute_run` simulates it and streams the records into an open
:class:`~dtaosim.io.results.RunWriter`. The CLI's ``dtaosim run`` is a thin shell around these
two, and so is anything else that runs configurations (sweeps, comparisons).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dtaosim.agents.economy import Economy
from dtaosim.chain.presets import Mechanism
from dtaosim.errors import ConfigError, DataError
from dtaosim.experiments.config import RunConfig
from dtaosim.experiments.scenario import adjust_network
from dtaosim.experiments.simulation import simulate
from dtaosim.io import snapshot as snapshots
from dtaosim.io.metagraphs import starting_neurons
from dtaosim.io.results import RunWriter
from dtaosim.state.chain_state import ChainState

__all__ = ["RunOutcome", "execute_run", "initial_state", "make_economy"]


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`execute_run` returns.

    Attributes
    ----------
    first, final
        The starting and the final state.
    wall_s
        Wall time of the simulation (seconds).
    manifest
        The manifest written into the run directory.
    """

    first: ChainState
    final: ChainState
    wall_s: float
    manifest: dict[str, object]


def initial_state(cfg: RunConfig, mech: Mechanism) -> ChainState:
    """The starting state of ``cfg``: its snapshot (or the embedded default) for ``cfg.runs``
    runs, with UIDs (the snapshot's saved metagraphs, else a synthetic metagraph) unless
    ``cfg.uids == 0``.

    Raises
    ------
    DataError
        If the snapshot file is missing or invalid.
    """
    if cfg.snapshot is not None:
        if not cfg.snapshot.is_file():
            raise DataError(f"snapshot file not found: {cfg.snapshot}")
        snap = snapshots.load_snapshot(cfg.snapshot)
    else:
        snap = snapshots.default_snapshot()
    state = snapshots.snapshot_to_state(snap, cfg.runs, mech=mech)
    adjust_network(state, cfg.network, mech)
    if cfg.uids > 0:
        state.neurons = starting_neurons(state, snap, cfg.snapshot, cfg.uids, cfg.n_validators,
                                         seed=np.random.SeedSequence([cfg.seed, 1]))
    state.meta.setdefault("start_block", state.block)
    return state


def make_economy(cfg: RunConfig, state: ChainState) -> Economy | None:
    """The agents of ``cfg`` for ``state`` (None when ``agents.enabled`` is false).

    Raises
    ------
    ConfigError
        If agents are enabled but the state has no UIDs (``uids = 0``).
    """
    if not cfg.agents.enabled:
        return None
    if state.neurons is None:
        raise ConfigError("agents need UIDs: miner teams hold UIDs (use --uids > 0, or "
                          "--no-agents for aggregate holders)")
    return Economy.create(state, cfg, cfg.seed)


def execute_run(
    cfg: RunConfig,
    mech: Mechanism,
    writer: RunWriter,
    *,
    state: ChainState | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RunOutcome:
    """Simulate ``cfg`` and write its records and manifest through the open ``writer``.

    Parameters
    ----------
    cfg
        The run configuration (``cfg.out`` is not used: the writer owns the directory).
    mech
        The mechanism resolved from ``cfg``.
    writer
        An entered :class:`~dtaosim.io.results.RunWriter`.
    state
        The starting state, if already built by :func:`initial_state` (not modified).
    on_progress
        Called with the number of blocks done so far.

    Returns
    -------
    RunOutcome
    """
    if state is None:
        state = initial_state(cfg, mech)
    start_block = int(state.block)
    blocks = cfg.blocks
    t0 = time.perf_counter()
    economy = make_economy(cfg, state)

    def record(s: ChainState) -> None:
        writer.record(s, network_extra=economy.record(s) if economy is not None else None)

    final = simulate(
        state,
        mech,
        blocks=blocks,
        record_every=cfg.record_every_blocks,
        seed=cfg.seed,
        exogenous=cfg.exogenous,
        economy=economy,
        check_invariants=cfg.check_invariants,
        on_record=record,
        on_progress=on_progress,
    )
    if economy is not None:
        writer.write_teams(economy.teams_table(final))
    wall = time.perf_counter() - t0
    manifest = writer.write_manifest(
        {
            "mechanism": {
                "name": mech.name,
                "preset": cfg.mechanism,
                "date": mech.date,
                "rules": mech.rules(),
                "overrides": cfg.mechanism_overrides,
            },
            "scenario": cfg.scenario,
            "agents": economy is not None,
            "seed": cfg.seed,
            "runs": cfg.runs,
            "days": cfg.days,
            "blocks": blocks,
            "record_every_blocks": cfg.record_every_blocks,
            "start_block": start_block,
            "end_block": int(final.block),
            "check_invariants": cfg.check_invariants,
            "uids": cfg.uids,
            "validators": cfg.n_validators if cfg.uids else None,
            "snapshot": str(cfg.snapshot) if cfg.snapshot is not None else "embedded",
            "wall_time_s": round(wall, 3),
            "blocks_per_second": round(blocks / wall, 1) if wall > 0 else None,
        }
    )
    return RunOutcome(first=state, final=final, wall_s=wall, manifest=manifest)
