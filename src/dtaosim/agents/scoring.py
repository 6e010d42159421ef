"""Validators' rank-based weights: how a team's skill reaches Yuma.

Real subnets are winner-takes-most: validators score miners' work, and most of a validator's
weight goes to the best few. Each day (:class:`ScoringConfig`), the validators (permit holders)
of every subnet score every *eligible* miner UID - a UID held by an active team - as::

    score(u) = log_skill(team(u)) - ramp(team(u)) + sigma_common x z_u

(``ramp`` the learning-curve handicap of a team new to the subnet,
:meth:`dtaosim.agents.miners.MinerTeams.uid_log_skill`; ``z_u`` the day's noise of the work
itself, which validators see alike), rank the UIDs by score
(rank 0 = best) and weight rank ``i`` by the subnet's scoring curve ``c(i)`` times each
validator's own noise ``exp(sigma_validator x z_vu)``:

* ``exponential``: ``exp(-i / s)``, ``s`` the subnet's *steepness* in ranks (the rank at which
  weight has fallen by ``e``);
* ``top_k``: ``1`` for the best ``round(s)`` ranks, else ``0``.

``s`` is drawn once per subnet slot (and again when a new subnet takes the slot) from a
lognormal with median ``steepness_median`` and log-s.d. ``steepness_sigma``. The row is
normalised, the owner's UID gets the subnet's ``miner_burn_fraction`` share of it (the owners
who burn miner emission, assumption A13), and the row is stored as the chain stores rows -
normalised, quantised to u16 and max-upscaled (:func:`dtaosim.chain.weights.weights_row_u16`).
Ineligible UIDs (validators, departed teams, empty slots) get no weight, so a team that leaves
stops earning once Yuma's bonds and consensus follow; its UID stays until the chain prunes it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.chain.weights import weights_row_u16

__all__ = ["CURVES", "ScoringConfig", "draw_steepness", "score_run"]

CURVES: tuple[str, ...] = ("exponential", "top_k")


class ScoringConfig(BaseModel):
    """Validators' scoring of miners (section ``[scoring]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    curve: Literal["exponential", "top_k"] = Field(
        "exponential", description="scoring curve: weight exp(-rank/s) or 1 for the top s ranks")
    steepness_median: float = Field(
        3.0, gt=0, le=1000,
        description="median over subnets of s, the curve's scale (ranks); assumed so that "
                    "a typical subnet pays ~10 ranks (real: pay in a few ranks)")
    steepness_sigma: float = Field(
        0.7, ge=0, le=5, description="log-s.d. of s across subnets (dimensionless)")
    sigma_common: float = Field(
        0.3, ge=0, le=10,
        description="s.d. of the score noise shared by a subnet's validators, redrawn daily "
                    "(log-skill units)")
    sigma_validator: float = Field(
        0.1, ge=0, le=10,
        description="s.d. of each validator's own log-noise on its weights, redrawn daily "
                    "(dimensionless)")


def draw_steepness(cfg: ScoringConfig, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """``n`` subnet steepness draws (ranks)."""
    return cfg.steepness_median * np.exp(cfg.steepness_sigma * rng.standard_normal(n))


@njit(cache=True)
def score_run(weights: NDArray[np.uint16], permit: NDArray[np.bool_],
              eligible: NDArray[np.bool_], log_skill: NDArray[np.float64],
              owner_uid: NDArray[np.int64], owner_share: NDArray[np.float64],
              steepness: NDArray[np.float64], top_k: bool, subnets: NDArray[np.bool_],
              sigma_common: float, sigma_validator: float,
              seed: int) -> None:  # pragma: no cover - compiled
    """Rescore every subnet of one run in place (see the module docstring).

    Parameters
    ----------
    weights : ndarray of uint16, (subnets, uids, uids)
        The run's stored weights (rows of permit holders are rewritten).
    permit : ndarray of bool, (subnets, uids)
        Validator permits.
    eligible : ndarray of bool, (subnets, uids)
        Miner UIDs held by an active team.
    log_skill : ndarray of float64, (subnets, uids)
        The holding team's log skill (read where eligible).
    owner_uid : ndarray of int64, (subnets,)
        The owner hotkey's UID (-1 if none).
    owner_share : ndarray of float64, (subnets,)
        Share of each row put on the owner's UID (``miner_burn_fraction``).
    steepness : ndarray of float64, (subnets,)
        Curve scale ``s`` per subnet.
    top_k
        ``top_k`` curve instead of ``exponential``.
    subnets : ndarray of bool, (subnets,)
        Slots to rescore.
    sigma_common, sigma_validator
        Score noise s.d. (common to the subnet's validators; each validator's own, applied to
        its weights as ``exp(sigma_validator x z)``).
    seed
        Seed of the noise (numba's generator, reseeded per call).
    """
    np.random.seed(seed)  # noqa: NPY002 - numba's compiled generator, seeded per call
    n_sub, n = permit.shape
    base = np.empty(n)
    idx = np.empty(n, np.int64)
    curve = np.empty(n)
    row = np.empty(n)
    scratch = np.empty(n)
    qrow = np.empty(n, np.int64)
    for k in range(n_sub):
        if not subnets[k]:
            continue
        m = 0
        for u in range(n):
            if eligible[k, u]:
                idx[m] = u
                z = np.random.standard_normal()  # noqa: NPY002
                base[m] = -(log_skill[k, u] + sigma_common * z)
                m += 1
        f = owner_share[k]
        own = owner_uid[k]
        s = steepness[k]
        order = np.argsort(base[:m])  # best first: the ranking the validators agree on
        for i in range(m):
            if top_k:
                curve[i] = 1.0 if i < max(1.0, np.floor(s + 0.5)) else 0.0
            else:
                curve[i] = np.exp(-i / s)
        for v in range(n):
            if not permit[k, v]:
                continue
            for u in range(n):
                row[u] = 0.0
            if m > 0:
                tot = 0.0
                for i in range(m):
                    w = curve[i]
                    if w > 1e-9:  # below u16 resolution after the max-upscale
                        w *= np.exp(sigma_validator * np.random.standard_normal())  # noqa: NPY002
                    else:
                        w = 0.0
                    row[idx[order[i]]] = w
                    tot += w
                for j in range(m):
                    row[idx[j]] *= (1.0 - f) / tot
                if own >= 0 and f > 0.0:
                    row[own] += f
            elif own >= 0:  # no miner worth weighting: the whole row on the owner (burned)
                row[own] = 1.0
            weights_row_u16(row, 65535, qrow, scratch)
            for u in range(n):
                weights[k, v, u] = qrow[u]
