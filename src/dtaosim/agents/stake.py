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
from dtaosim.state.chain_state import GI, SI, ChainState
from dtaosim.state.neurons import NI, NeuronState

__all__ = ["anchor_preferences", "dividend_yields", "scale_root_stakes", "sell_from_holder",
           "spread_over_validators"]


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


def dividend_yields(state: ChainState, paid_prev: NDArray[np.int64],
                    root_prev: NDArray[np.int64], same: NDArray[np.bool_]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Dividend yield per day since the last call, per subnet and on root.

    Subnets: the alpha paid to stakers (``CUM_STAKER_PAID``) per alpha staked
    (``STAKE_STAKERS``); root: the root dividends of every subnet (``CUM_ROOT_DIVS``) valued at
    the spot price, per TAO on root. Only slots whose subnet is the same as at the last call
    (``same``) count. ``paid_prev`` and ``root_prev`` are updated in place.

    Returns
    -------
    tuple of ndarray
        ``(runs, subnets)`` subnet yields and ``(runs,)`` root yields (per day, unclipped).
    """
    ints = state.ints
    exists = ints[:, :, SI.EXISTS] != 0
    paid = ints[:, :, SI.CUM_STAKER_PAID]
    divs = np.where(same, np.maximum(paid - paid_prev, 0), 0).astype(np.float64)
    staked = ints[:, :, SI.STAKE_STAKERS].astype(np.float64)
    div_y = np.where(staked > 0, divs / np.maximum(staked, 1.0), 0.0)
    rd = ints[:, :, SI.CUM_ROOT_DIVS]
    rdiv = (np.where(same & exists, np.maximum(rd - root_prev, 0), 0)
            * state.spot_price()).sum(axis=1)
    root = state.gints[:, GI.ROOT_STAKE].astype(np.float64)
    root_y = np.where(root > 0, rdiv / np.maximum(root, 1.0), 0.0)
    paid_prev[:] = paid
    root_prev[:] = rd
    return div_y, root_y


def scale_root_stakes(nrn: NeuronState, root0: NDArray[np.int64],
                      root1: NDArray[np.int64]) -> None:
    """Scale every UID's root stake by the change of the network's root stake (``root0`` ->
    ``root1``, ``(runs,)``; floored), after a move through
    :func:`~dtaosim.chain.pools.move_root_stake`."""
    ratio = np.where(root0 > 0, root1 / np.maximum(root0, 1), 1.0)
    rs = nrn.ints[:, :, NI.ROOT_STAKE, :]
    rs[:] = np.floor(rs * ratio[:, None, None]).astype(np.int64)


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
