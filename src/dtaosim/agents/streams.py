"""Random streams: one per run *and* per random process, for common random numbers.

Every random process of a scenario (stake flows, subnet registrations, hotkey registrations,
newcomer scores, and each agent population as it lands) draws from its own generator, seeded
``numpy.random.SeedSequence(seed, spawn_key=(run, process))`` - child ``process`` of run
``run``'s child of the experiment's ``SeedSequence(seed)``. So

* a run's numbers do not depend on how runs are batched (run ``r`` is always child ``r``);
* a process's draws do not depend on how many numbers *another* process drew. Two
  configurations that differ only in their rules (an A/B of mechanisms) see the same stake-flow
  shocks, registration arrivals and market paths in every run even when their chain states
  diverge: common random numbers (``dtaosim compare``, ``docs/experiments.md``).

A process whose number of draws depends on the state (e.g. one score per successful
registration) still stays in step with itself only as long as the states agree; where a count
depends on the state through a rate, draw it by inversion from a fixed number of uniforms
(:func:`poisson_from_uniform`) so that A and B share the uniforms.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["Process", "RunStreams", "poisson_from_uniform", "stream_seed"]


class Process(IntEnum):
    """Identifiers of the random processes (the second word of a stream's spawn key).

    Never renumber a process: its number is part of every result's seed. New processes take
    new numbers.
    """

    STAKE_FLOWS = 1
    SUBNET_REGISTRATIONS = 2
    UID_REGISTRATIONS = 3
    NEWCOMER_SCORES = 4
    TEAMS = 5  # miner teams: profiles, entry pool, exits, switching (agents/miners.py)
    SCORING = 6  # validators' scoring noise (agents/validators.py)
    MARKET = 7  # TAO/USD (agents/market.py)
    NOISE = 8  # noise traders' stake flows (agents/noise.py)
    OWNERS = 9  # owners' types, abandonment draws (agents/owners.py)
    OWNER_REGISTRATIONS = 10  # would-be owners' arrivals and idea quality (agents/owners.py)


def stream_seed(seed: int, run: int, process: int) -> np.random.SeedSequence:
    """The ``SeedSequence`` of ``process`` in run ``run`` of an experiment seeded ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(int(run), int(process)))


class RunStreams:
    """Generators per run and per process, created on first use.

    Parameters
    ----------
    seed
        Experiment seed.
    runs
        Number of runs (run ``r`` of the batch is run ``r`` of the experiment).

    Examples
    --------
    >>> streams = RunStreams(7, runs=2)
    >>> flows = streams[Process.STAKE_FLOWS]      # one Generator per run
    >>> z = [g.standard_normal(3) for g in flows]
    """

    def __init__(self, seed: int, runs: int) -> None:
        self.seed = int(seed)
        self.runs = int(runs)
        self._streams: dict[int, list[np.random.Generator]] = {}

    def __getitem__(self, process: int) -> list[np.random.Generator]:
        key = int(process)
        found = self._streams.get(key)
        if found is None:
            found = [np.random.default_rng(stream_seed(self.seed, r, key))
                     for r in range(self.runs)]
            self._streams[key] = found
        return found

    def __len__(self) -> int:
        return self.runs


def poisson_from_uniform(u: NDArray[np.float64], lam: NDArray[np.float64]) -> NDArray[np.int64]:
    """Poisson counts with means ``lam`` by inversion of uniforms ``u`` (same shapes).

    The smallest ``k`` with ``P(X <= k) >= u``. One uniform per count whatever the mean, so two
    runs whose rates differ still share their uniforms (common random numbers); a larger rate
    never gives a smaller count for the same ``u``.
    """
    u = np.asarray(u, dtype=np.float64)
    lam = np.maximum(np.asarray(lam, dtype=np.float64), 0.0)
    k = np.zeros(u.shape, dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    todo = u > cdf
    cap = int(np.ceil(float(lam.max(initial=0.0)) + 12.0 * np.sqrt(float(lam.max(initial=0.0)))
                      + 40.0))
    n = 0
    while todo.any() and n < cap:
        n += 1
        p = p * lam / n
        cdf = cdf + p
        k += todo
        todo &= u > cdf
    return k
