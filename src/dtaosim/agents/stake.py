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
from numpy.typing import NDArray

from dtaosim.chain.pools import sell_batch
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import SI, ChainState
from dtaosim.state.neurons import NI, NeuronState

__all__ = ["sell_from_holder", "spread_over_validators"]


def spread_over_validators(nrn: NeuronState, delta: NDArray[np.int64]) -> None:
    """Add each subnet's change of staked alpha to its permitted validators, pro rata to their
    alpha stake (floored; the remainder to the largest); a loss never takes a stake below 0.

    Parameters
    ----------
    nrn
        Neurons (``alpha_stake`` of permit holders modified in place).
    delta : ndarray of int64, (runs, subnets)
        Change of the subnet's validator stake (RAO; negative for a sale).
    """
    stake = nrn.ints[:, :, NI.ALPHA_STAKE, :]
    held = np.where(nrn.permit, stake, 0)
    tot = held.sum(axis=2)
    r, k = np.nonzero((delta != 0) & (tot > 0))
    if r.size == 0:
        return
    t = tot[r, k][:, None]
    d = np.maximum(delta[r, k], -tot[r, k])
    h = held[r, k]
    part = np.floor(h / t * d[:, None]).astype(np.int64)  # float: h x d can overflow int64
    part[np.arange(r.size), np.argmax(h, axis=1)] += d - part.sum(axis=1)
    stake[r, k] += np.maximum(part, -stake[r, k])


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
