"""One run of a configuration, from its starting state to a run directory.

:func:`initial_state` builds the starting :class:`~dtaosim.state.ChainState` a
:class:`~dtaosim.experiments.config.RunConfig` asks for (snapshot, runs, UIDs);
:func:`execute_run` simulates it and streams the records into an open
:class:`~dtaosim.io.results.RunWriter`. The CLI's ``dtaosim run`` is a thin shell around these
two, and so is anything else that runs configurations (sweeps, comparisons).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dtaosim.agents.economy import Economy
from dtaosim.chain.engine import compile_timer, kernel_cached, warm_up
from dtaosim.chain.presets import Mechanism
from dtaosim.errors import ConfigError, DataError
from dtaosim.experiments.config import RunConfig
from dtaosim.experiments.resources import check_disk, check_memory
from dtaosim.experiments.scenario import adjust_network
from dtaosim.experiments.simulation import simulate
from dtaosim.io import snapshot as snapshots
from dtaosim.io.metagraphs import starting_neurons
from dtaosim.io.results import RunWriter
from dtaosim.state.chain_state import ChainState

__all__ = ["RunOutcome", "execute_run", "initial_state", "kernel_threads", "load_start_snapshot",
           "make_economy"]


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`execute_run` returns.

    Attributes
    ----------
    first, final
        The starting state (chain arrays only, without neurons) and the final state.
    wall_s
        Wall time of the simulation (seconds), compilation included.
    compile_s
        Seconds of it spent compiling numba functions (0 when every one came from the cache).
    manifest
        The manifest written into the run directory.
    """

    first: ChainState
    final: ChainState
    wall_s: float
    manifest: dict[str, object]
    compile_s: float = 0.0

    @property
    def simulate_s(self) -> float:
        """Wall time without compilation."""
        return max(self.wall_s - self.compile_s, 0.0)


def load_start_snapshot(cfg: RunConfig) -> snapshots.Snapshot:
    """The snapshot ``cfg`` starts from: its ``snapshot`` file, else the embedded default.

    Raises
    ------
    DataError
        If the file is missing, is a directory, or is not a valid snapshot.
    """
    if cfg.snapshot is None:
        return snapshots.default_snapshot()
    p = cfg.snapshot
    if p.is_dir():
        raise DataError(f"snapshot {p} is a directory, not a snapshot file (.json)")
    if not p.is_file():
        raise DataError(f"snapshot file not found: {p}")
    return snapshots.load_snapshot(p)


def kernel_threads(runs: int) -> int:
    """Threads the kernel uses for ``runs`` runs (at most one per run)."""
    return max(1, min(runs, os.cpu_count() or 1))


def initial_state(cfg: RunConfig, mech: Mechanism, *,
                  snapshot: snapshots.Snapshot | None = None) -> ChainState:
    """The starting state of ``cfg``: its snapshot (or the embedded default) for ``cfg.runs``
    runs, with UIDs (the snapshot's saved metagraphs, else a synthetic metagraph) unless
    ``cfg.uids == 0``.

    The memory the run needs is estimated first (:func:`~.resources.check_memory`); a run that
    does not fit is refused before anything is allocated.

    Parameters
    ----------
    cfg, mech
        The configuration and its mechanism.
    snapshot
        The starting snapshot if already loaded (:func:`load_start_snapshot`).

    Raises
    ------
    DataError
        If the snapshot file is missing or invalid.
    ConfigError
        If the run would not fit in the memory available.
    """
    snap = snapshot if snapshot is not None else load_start_snapshot(cfg)
    slots = snapshots.subnet_slots(snap)
    check_memory(cfg.runs, slots, cfg.uids, kernel_threads(cfg.runs))
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
    on_compile: Callable[[], None] | None = None,
) -> RunOutcome:
    """Simulate ``cfg`` and write its records and manifest through the open ``writer``.

    Before the long work: the output's size is checked against the free disk space
    (:func:`~.resources.check_disk`), and the compiled kernel is loaded or, on a first run,
    compiled (``on_compile`` is called first, so that a caller can say so). The manifest keeps
    compilation out of ``blocks_per_second`` (``compile_s``, ``simulate_s``).

    Parameters
    ----------
    cfg
        The run configuration (``cfg.out`` is not used: the writer owns the directory).
    mech
        The mechanism resolved from ``cfg``.
    writer
        An entered :class:`~dtaosim.io.results.RunWriter`.
    state
        The starting state, if already built by :func:`initial_state`; the run advances it in
        place (pass a copy to keep it).
    on_progress
        Called with the number of blocks done so far.
    on_compile
        Called once before the kernel is compiled, when its on-disk cache is cold.

    Returns
    -------
    RunOutcome

    Raises
    ------
    ConfigError
        If the run directory would not fit on its file system.
    """
    if state is None:
        state = initial_state(cfg, mech)
    if writer.tmp is not None:
        check_disk(writer.tmp.parent, cfg.runs, state.subnets, cfg.uids, cfg.blocks,
                   cfg.record_every_blocks)
    first = ChainState(state.block, state.ints.copy(order="K"), state.floats.copy(order="K"),
                       state.gints.copy(), dict(state.meta))
    start_block = int(state.block)
    blocks = cfg.blocks
    t0 = time.perf_counter()
    economy = make_economy(cfg, state)

    def record(s: ChainState) -> None:
        if economy is None:
            writer.record(s)
        else:
            writer.record(s, network_extra=economy.record(s),
                          subnet_extra=economy.subnet_record(s))

    with compile_timer() as compiling:
        if on_compile is not None and kernel_cached() is False:
            on_compile()
        warm_up(state, mech, check_invariants=cfg.check_invariants)
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
            copy=False,
        )
    if economy is not None:
        writer.write_teams(economy.teams_table(final))
    wall = time.perf_counter() - t0
    compile_s = min(compiling.seconds, wall)
    sim_s = wall - compile_s
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
            "compile_s": round(compile_s, 3),
            "simulate_s": round(sim_s, 3),
            "blocks_per_second": round(blocks / sim_s, 1) if sim_s > 0 else None,
        }
    )
    return RunOutcome(first=first, final=final, wall_s=wall, manifest=manifest,
                      compile_s=compile_s)
