"""Distribution of each subnet's alpha_out (spec 5): owner cut, miners, validators, root.

Every block (:func:`accrue_alpha_out`), after this block's alpha_in/alpha_out are minted::

    owner_cut = alpha_out x cut                       -> PendingOwnerCut (floored)
    a         = alpha_out - owner_cut
    server    = a / 2                                 -> PendingServerEmission (miners)
    root      = rho' x a / 2                          -> PendingRootAlphaDivs, or recycled when
                                                         the root-sell flag is off
    validator = a / 2 - root                          -> PendingValidatorEmission

(``rho'`` = root proportion after minting). In the launch era root alpha was sold to TAO every
block and paid as root stake at the epoch. Floor dust stays minted in AlphaOut
(``UNDISTRIBUTED_ALPHA``).

At each epoch (:func:`distribute_epoch`) the buckets are drained. Until Yuma and UIDs land, the
miner and validator amounts go to one aggregate holder per subnet: miners receive the server
bucket less the share routed to the owner's hotkeys (``miner_burn_fraction``; burned or recycled,
and recorded as ``MinerBurned`` for the HEAD share rule); validators and their nominators
receive the validator bucket and the delegate take of root dividends; the rest of the root
dividends is claimable by root stakers, who claim it at the epoch: the ``Swap`` part is sold
fee-less for TAO added to root stake, the ``Keep`` part stays staked as alpha.
Chain: ``run_coinbase.rs::emit_to_subnets``, ``distribute_emission``, ``claim_root.rs``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._fields import (
    F_MINER_BURN_FRACTION,
    F_MINER_BURNED,
    F_QUOTE_WEIGHT,
    G_ROOT_STAKE,
    I_ALPHA_IN,
    I_ALPHA_OUT,
    I_ALPHA_RECYCLED,
    I_BURNED_ALPHA,
    I_CUM_MINER_BURNED,
    I_CUM_MINER_PAID,
    I_CUM_OWNER_CUT,
    I_CUM_ROOT_DIVS,
    I_CUM_ROOT_SOLD_TAO,
    I_CUM_STAKER_PAID,
    I_PENDING_OWNER,
    I_PENDING_ROOT,
    I_PENDING_ROOT_TAO,
    I_PENDING_SERVER,
    I_PENDING_VALIDATOR,
    I_PROTOCOL_FLOW_ACC,
    I_ROOT_CLAIMABLE,
    I_STAKE_MINERS,
    I_STAKE_OWNER,
    I_STAKE_ROOT_KEPT,
    I_STAKE_STAKERS,
    I_TAO_RESERVE,
    I_UNDISTRIBUTED_ALPHA,
)
from .protocol_swaps import protocol_sell

SOLD_EACH_BLOCK = 0  # RootDividends.SOLD_EACH_BLOCK


@njit(cache=True, error_model="numpy")
def accrue_alpha_out(ri: NDArray[np.int64], rf: NDArray[np.float64], alpha_out: int,
                     rho: float, owner_cut: float, root_to_pending: bool, root_dividends: int,
                     pool_model: int, min_price: float, min_liquidity: int,
                     minimum_reserve: int, max_input_multiple: float) -> None:
    """Split one block's ``alpha_out`` (already added to AlphaOut) into the pending buckets.

    ``ri``/``rf`` are one subnet's integer and float field rows. ``root_to_pending`` is the
    root-sell flag (False: root alpha is recycled).
    """
    if alpha_out <= 0:
        return
    cut = alpha_out * owner_cut
    cut_i = math.floor(cut)
    a = alpha_out - cut
    server = a * 0.5
    root = rho * server
    server_i = math.floor(server)
    val_i = math.floor(server - root)
    root_i = math.floor(root)
    ri[I_PENDING_OWNER] += cut_i
    ri[I_PENDING_SERVER] += server_i
    ri[I_PENDING_VALIDATOR] += val_i
    ri[I_UNDISTRIBUTED_ALPHA] += alpha_out - cut_i - server_i - val_i - root_i
    if root_i <= 0:
        return
    if not root_to_pending:
        ri[I_ALPHA_OUT] -= root_i
        ri[I_ALPHA_RECYCLED] += root_i
        return
    if root_dividends == SOLD_EACH_BLOCK:
        sold, tao = protocol_sell(pool_model, ri[I_TAO_RESERVE], ri[I_ALPHA_IN], rf[F_QUOTE_WEIGHT],
                                  root_i, min_price, min_liquidity, minimum_reserve,
                                  max_input_multiple)
        ri[I_ALPHA_OUT] -= sold
        ri[I_ALPHA_IN] += sold
        ri[I_TAO_RESERVE] -= tao
        ri[I_PENDING_ROOT_TAO] += tao
        ri[I_PENDING_ROOT] += root_i - sold
    else:
        ri[I_PENDING_ROOT] += root_i


@njit(cache=True, error_model="numpy")
def distribute_epoch(ri: NDArray[np.int64], rf: NDArray[np.float64], g: NDArray[np.int64],
                     delegate_take: float, miner_burn_recycles: bool, root_dividends: int,
                     claim_swap_fraction: float, pool_model: int, min_price: float,
                     min_liquidity: int, minimum_reserve: int,
                     max_input_multiple: float) -> None:
    """Drain the pending buckets of one subnet and pay the aggregate holders (spec 5.6, 5.7)."""
    s = ri[I_PENDING_SERVER]
    v = ri[I_PENDING_VALIDATOR]
    rt = ri[I_PENDING_ROOT]
    o = ri[I_PENDING_OWNER]
    ri[I_PENDING_SERVER] = 0
    ri[I_PENDING_VALIDATOR] = 0
    ri[I_PENDING_ROOT] = 0
    ri[I_PENDING_OWNER] = 0
    # owner cut
    ri[I_STAKE_OWNER] += o
    ri[I_CUM_OWNER_CUT] += o
    # miners: incentive routed to the owner's hotkeys is withheld
    frac = rf[F_MINER_BURN_FRACTION]
    frac = 0.0 if frac < 0.0 else (1.0 if frac > 1.0 else frac)
    withheld = math.floor(s * frac)
    paid = s - withheld
    ri[I_STAKE_MINERS] += paid
    ri[I_CUM_MINER_PAID] += paid
    ri[I_CUM_MINER_BURNED] += withheld
    if withheld > 0:
        if miner_burn_recycles:
            ri[I_ALPHA_OUT] -= withheld
            ri[I_ALPHA_RECYCLED] += withheld
        else:
            ri[I_BURNED_ALPHA] += withheld
    if s > 0:
        rf[F_MINER_BURNED] = withheld / s
    # validators and nominators
    ri[I_STAKE_STAKERS] += v
    ri[I_CUM_STAKER_PAID] += v
    # root dividends
    if root_dividends == SOLD_EACH_BLOCK:
        g[G_ROOT_STAKE] += ri[I_PENDING_ROOT_TAO]
        ri[I_CUM_ROOT_SOLD_TAO] += ri[I_PENDING_ROOT_TAO]
        ri[I_PENDING_ROOT_TAO] = 0
        ri[I_STAKE_ROOT_KEPT] += rt  # alpha that could not be sold stays with root stakers
        ri[I_CUM_ROOT_DIVS] += rt
        return
    take = math.floor(rt * delegate_take)
    ri[I_STAKE_STAKERS] += take
    ri[I_ROOT_CLAIMABLE] += rt - take
    ri[I_CUM_ROOT_DIVS] += rt
    claim = ri[I_ROOT_CLAIMABLE]
    if claim <= 0:
        return
    swap_part = math.floor(claim * claim_swap_fraction)
    keep = claim - swap_part
    ri[I_STAKE_ROOT_KEPT] += keep
    ri[I_ROOT_CLAIMABLE] -= keep
    if swap_part > 0:
        sold, tao = protocol_sell(pool_model, ri[I_TAO_RESERVE], ri[I_ALPHA_IN], rf[F_QUOTE_WEIGHT],
                                  swap_part, min_price, min_liquidity, minimum_reserve,
                                  max_input_multiple)
        ri[I_ROOT_CLAIMABLE] -= sold
        ri[I_ALPHA_OUT] -= sold
        ri[I_ALPHA_IN] += sold
        ri[I_TAO_RESERVE] -= tao
        g[G_ROOT_STAKE] += tao
        ri[I_PROTOCOL_FLOW_ACC] -= tao
        ri[I_CUM_ROOT_SOLD_TAO] += tao
