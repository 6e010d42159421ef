"""The miner-team population: one set of arrays with a leading run axis (runs x team capacity).

A *team* is the people behind one coldkey on one subnet: it holds one or more UIDs of that
subnet at a time, pays its hardware in USD, earns alpha through Yuma, sells alpha through the
pool and decides every day whether to stay, switch subnet or leave
(:mod:`dtaosim.agents.miners`). The starting teams are the miner coldkeys of the starting
metagraph (each coldkey's miner UIDs on a subnet form one team); entrants come from an outside
pool (a second :class:`TeamState` whose rows are candidates) and register one UID.

:class:`TeamState` holds every per-team quantity as an array ``(runs, capacity)``; a row is a
team slot (``status`` says whether it is free, a candidate, active or gone). Capacity grows by
doubling (:meth:`TeamState.ensure`), so team ids stay stable for the whole run and
``teams.parquet`` has one row per team that ever held a UID.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ACTIVE",
    "CANDIDATE",
    "EXIT_REASONS",
    "FREE",
    "GONE",
    "TIER_NAMES",
    "TeamState",
]

FREE, CANDIDATE, ACTIVE, GONE = 0, 1, 2, 3
"""``status`` values: an unused slot, a candidate in the outside pool, a team holding UIDs, a
team that left."""

EXIT_REASONS: tuple[str, ...] = ("cost", "outside_option", "deregistered", "subnet_dissolved",
                                 "switched", "abandoned")
"""Exit reasons; ``exit_reason`` stores the index (-1: none). ``switched`` is recorded on the
team's exit counters when it moves subnet (the team itself stays active); ``abandoned`` is
reserved for issue 11 (owners abandoning their subnet)."""
R_COST, R_OUTSIDE, R_DEREGISTERED, R_DISSOLVED, R_SWITCHED, R_ABANDONED = range(6)

TIER_NAMES: tuple[str, ...] = ("top_decile", "top_quartile", "rest", "entrant")
"""``tier`` values: the skill tier among the starting teams of the run (``top_quartile`` =
deciles 2-3), or ``entrant`` for teams that entered during the run."""
T_TOP_DECILE, T_TOP_QUARTILE, T_REST, T_ENTRANT = range(4)


@dataclass
class TeamState:
    """Per-team arrays, shape ``(runs, capacity)`` each (see the module docstring).

    Identity and profile (drawn once): ``skill`` (heavy-tailed, higher is better) and its log
    ``log_skill``; ``skill_pct`` (its percentile in the skill distribution); ``tier``;
    ``hardware`` (profile id in :func:`~dtaosim.agents.hardware.hardware_table`);
    ``cost_uid_day`` (USD per UID and day at price index 1); ``sunk`` (sunk share of the cost);
    ``setup_usd``; ``team_size`` (people); ``capital_rate`` (cost of capital per year);
    ``optimism_z`` (normal quantile of the team's optimism); ``loyal``; ``outside_usd_day``
    (outside option, USD per day); ``coldkey``.

    Position: ``status``; ``slot`` (subnet slot, -1 none); ``subnet_reg`` (that subnet's
    registration block); ``n_uids`` (UIDs held now) and ``start_uids`` (when it entered);
    ``entered_block`` / ``exited_block`` (-1 none); ``exit_reason`` (index into
    :data:`EXIT_REASONS`, -1 none); ``switches``; ``joined_day`` (day it joined the outside
    pool, or entered its current subnet).

    Books: ``income_alpha`` (alpha earned, RAO as float), ``income_tao`` and ``income_usd``
    (from selling), ``cost_usd`` (operating and entry costs), ``cash_usd`` (USD from sales not
    yet spent on costs; negative = costs paid from the team's own funds), ``alpha_held``
    (RAO, what it earned and has not sold). Forecast inputs: ``ema_income_usd`` (USD per day,
    alpha earned marked at the day's price), ``ema_days`` (days observed on the current
    subnet), ``day_alpha`` (alpha earned since the last daily step). Record helpers:
    ``rec_income_usd`` / ``rec_cost_usd`` (books at the last record).
    """

    status: NDArray[np.int8]
    skill: NDArray[np.float64]
    log_skill: NDArray[np.float64]
    skill_pct: NDArray[np.float64]
    tier: NDArray[np.int8]
    hardware: NDArray[np.int16]
    cost_uid_day: NDArray[np.float64]
    sunk: NDArray[np.float64]
    setup_usd: NDArray[np.float64]
    team_size: NDArray[np.int16]
    capital_rate: NDArray[np.float64]
    optimism_z: NDArray[np.float64]
    loyal: NDArray[np.bool_]
    outside_usd_day: NDArray[np.float64]
    coldkey: NDArray[np.int64]
    slot: NDArray[np.int32]
    subnet_reg: NDArray[np.int64]
    n_uids: NDArray[np.int32]
    start_uids: NDArray[np.int32]
    entered_block: NDArray[np.int64]
    exited_block: NDArray[np.int64]
    exit_reason: NDArray[np.int8]
    switches: NDArray[np.int32]
    joined_day: NDArray[np.float64]
    income_alpha: NDArray[np.float64]
    income_tao: NDArray[np.float64]
    income_usd: NDArray[np.float64]
    cost_usd: NDArray[np.float64]
    cash_usd: NDArray[np.float64]
    alpha_held: NDArray[np.int64]
    ema_income_usd: NDArray[np.float64]
    ema_days: NDArray[np.int32]
    day_alpha: NDArray[np.float64]
    rec_income_usd: NDArray[np.float64]
    rec_cost_usd: NDArray[np.float64]

    _FILL: ClassVar[dict[str, int]] = {
        "tier": T_ENTRANT, "slot": -1, "subnet_reg": -1, "entered_block": -1,
        "exited_block": -1, "exit_reason": -1, "coldkey": -1, "hardware": -1}

    @classmethod
    def empty(cls, runs: int, capacity: int) -> TeamState:
        """All slots free."""
        arrays = {}
        for f in fields(cls):
            dtype = np.dtype(str(f.type).split("np.")[-1].rstrip("]"))  # NDArray[np.<dtype>]
            arrays[f.name] = np.full((runs, capacity), cls._FILL.get(f.name, 0), dtype=dtype)
        return cls(**arrays)

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.status.shape[0])

    @property
    def capacity(self) -> int:
        """Team slots per run."""
        return int(self.status.shape[1])

    def arrays(self) -> dict[str, NDArray]:
        """Every per-team array by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def ensure(self, capacity: int) -> None:
        """Grow to at least ``capacity`` slots per run (doubling; new slots free)."""
        if capacity <= self.capacity:
            return
        new = max(capacity, 2 * self.capacity)
        for name, a in self.arrays().items():
            grown = np.full((a.shape[0], new), self._FILL.get(name, 0), dtype=a.dtype)
            grown[:, : a.shape[1]] = a
            setattr(self, name, grown)

    def copy_rows(self, dst_run: NDArray[np.int64], dst: NDArray[np.int64], src: TeamState,
                  src_run: NDArray[np.int64], src_rows: NDArray[np.int64]) -> None:
        """Copy every field of ``src[src_run, src_rows]`` into ``self[dst_run, dst]``."""
        for name, a in self.arrays().items():
            a[dst_run, dst] = getattr(src, name)[src_run, src_rows]
