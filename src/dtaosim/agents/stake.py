"""Stake bookkeeping shared by the actors: selling through the pools and the UIDs' stakes.

The chain's conservation checks run on the *aggregate* holders of each subnet (``STAKE_MINERS``,
``STAKE_STAKERS``, ``STAKE_OWNER``, ...; :mod:`dtaosim.state.chain_state`); the per-UID
``alpha_stake`` of :class:`~dtaosim.state.neurons.NeuronState` is the chain's
``TotalHotkeyAlpha`` view of the same alpha. Whoever sells alpha therefore does two things: the
swap itself, through :func:`dtaosim.chain.pools.sell_batch` from the aggregate holder (slippage,
fees and the chain's rejections included), and the matching debit of the sellers' UIDs.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.chain.pools import sell_batch
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import SI, ChainState
from dtaosim.state.neurons import NI, NeuronState

__all__ = ["anchor_preferences", "sell_from_holder", "spread_over_validators"]


def anchor_preferences(c: NDArray[np.float64], held: NDArray[np.float64] | np.ndarray,
                       y: NDArray[np.float64], temperature: float, rho: float) -> None:
    """Move logit intercepts ``c`` toward the values that make the present holdings the target.

    ``c += rho * (log(max(held, 1)) - y / temperature - c)``, in place: at ``rho = 1`` the
    target equals the holdings (only a later change of ``y`` moves it), at ``rho = 0`` the
    preferences stay where they were (rules C9 and C17 of ``docs/assumptions.md``).

    Parameters
    ----------
    c : ndarray of float64
        Intercepts (modified in place).
    held : ndarray
        Present holdings, same shape (RAO of TAO value).
    y : ndarray of float64
        Expected yields the intercepts were paired with (per day).
    temperature, rho
        Logit temperature (per day) and the share of the gap closed.
    """
    c += rho * (np.log(np.maximum(held, 1.0)) - y / temperature - c)


def spread_over_validators(nrn: NeuronState, delta: NDArray[np.int64]) -> None:
    """Add each subnet's change of staked alpha to its permitted validators, pro rata to their
    alpha stake (floored; the remainder to the largest, the first on ties); a loss never takes
    a stake below 0.

    Parameters
    ----------
    nrn
        Neurons (``alpha_stake`` of permit holders modified in place).
    delta : ndarray of int64, (runs, subnets)
        Change of the subnet's validator stake (RAO; negative for a sale).
    """
    _spread(nrn.ints[:, :, NI.ALPHA_STAKE, :], nrn.permit, np.ascontiguousarray(delta))


@njit(cache=True)
def _spread(stake: NDArray[np.int64], permit: NDArray[np.bool_],
            delta: NDArray[np.int64]) -> None:  # pragma: no cover - compiled
    runs, subnets, n = permit.shape
    part = np.empty(n, np.int64)
    held = np.empty(n, np.int64)  # the permit holders' UIDs of the subnet, ascending
    for r in range(runs):
        for k in range(subnets):
            d = delta[r, k]
            if d == 0:
                continue
            t = 0
            big = -1
            m = 0
            for u in range(n):
                if permit[r, k, u]:
                    held[m] = u
                    m += 1
                    t += stake[r, k, u]
                    if big < 0 or stake[r, k, u] > stake[r, k, big]:
                        big = u
            if t <= 0:
                continue
            if d < -t:
                d = -t
            acc = 0
            jbig = 0
            for j in range(m):  # UIDs without a permit hold 0 here: their part is 0
                u = held[j]
                p = np.int64(np.floor(stake[r, k, u] / t * d))  # float: h x d can overflow
                part[j] = p
                acc += p
                if u == big:
                    jbig = j
            part[jbig] += d - acc
            for j in range(m):
                u = held[j]
                p = part[j]
                stake[r, k, u] += p if p > -stake[r, k, u] else -stake[r, k, u]


def sell_from_holder(state: ChainState, mech: Mechanism, alpha: NDArray[np.int64],
                     holder: SI) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Sell ``alpha[r, k]`` RAO of ``holder``'s alpha on every subnet at once.

    Parameters
    ----------
    state
        Chain state (modified in place).
    mech
        Mechanism.
    alpha : ndarray of int64, (runs, subnets)
        Alpha to sell (entries ``<= 0`` ignored).
    holder
        Aggregate holder debited.

    Returns
    -------
    sold : ndarray of int64, (runs, subnets)
        Alpha that left the holder (0 where the chain refused the sale, e.g. below the minimum
        stake; less than asked only if the sale hit the default price limit).
    tao : ndarray of int64, (runs, subnets)
        TAO received (RAO).
    """
    a = np.minimum(np.maximum(alpha, 0), state.ints[:, :, holder])
    if not a.any():
        return np.zeros_like(a), np.zeros_like(a)
    before = state.ints[:, :, holder].copy()
    tao = sell_batch(state, mech, a, holder)
    return before - state.ints[:, :, holder], tao
