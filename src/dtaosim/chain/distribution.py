"""Distribution of each subnet's alpha_out (spec 5): owner cut, miners, validators, root.

Every block (:func:`split_alpha_out`, applied by the block kernel), after this block's
alpha_in/alpha_out are minted::

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
)
from .protocol_swaps import protocol_sell

SOLD_EACH_BLOCK = 0  # RootDividends.SOLD_EACH_BLOCK


@njit(cache=True, error_model="numpy", inline="always")
def split_alpha_out(alpha_out: int, rho: float, owner_cut: float) -> tuple[int, int, int, int]:
    """One block's ``alpha_out`` split into ``(owner, server, validator, root)`` RAO (floored).

    ``rho`` is the root proportion after this block's minting. The floor dust
    ``alpha_out - sum(parts)`` stays minted in AlphaOut (``UNDISTRIBUTED_ALPHA``).
    """
    if alpha_out <= 0:
        return 0, 0, 0, 0
    # every amount floored below is >= 0, so int() (truncation) is the chain's floor
    cut = alpha_out * owner_cut
    a = alpha_out - cut
    server = a * 0.5
    root = rho * server
    return int(cut), int(server), int(server - root), int(root)


@njit(cache=True, error_model="numpy")
def distribute_epoch(ir: NDArray[np.int64], fr: NDArray[np.float64], g: NDArray[np.int64],
                     n: int, delegate_take: float, miner_burn_recycles: bool,
                     root_dividends: int, claim_swap_fraction: float, pool_model: int,
                     min_price: float, min_liquidity: int, minimum_reserve: int,
                     max_input_multiple: float) -> None:
    """Drain the pending buckets of subnet slot ``n`` and pay the holders (spec 5.6, 5.7).

    ``ir``/``fr`` are one run's field-major storage, ``g`` its network fields.
    """
    s = ir[I_PENDING_SERVER, n]
    v = ir[I_PENDING_VALIDATOR, n]
    rt = ir[I_PENDING_ROOT, n]
    o = ir[I_PENDING_OWNER, n]
    ir[I_PENDING_SERVER, n] = 0
    ir[I_PENDING_VALIDATOR, n] = 0
    ir[I_PENDING_ROOT, n] = 0
    ir[I_PENDING_OWNER, n] = 0
    # owner cut
    ir[I_STAKE_OWNER, n] += o
    ir[I_CUM_OWNER_CUT, n] += o
    # miners: incentive routed to the owner's hotkeys is withheld
    frac = fr[F_MINER_BURN_FRACTION, n]
    frac = 0.0 if frac < 0.0 else (1.0 if frac > 1.0 else frac)
    withheld = int(s * frac)
    paid = s - withheld
    ir[I_STAKE_MINERS, n] += paid
    ir[I_CUM_MINER_PAID, n] += paid
    ir[I_CUM_MINER_BURNED, n] += withheld
    if withheld > 0:
        if miner_burn_recycles:
            ir[I_ALPHA_OUT, n] -= withheld
            ir[I_ALPHA_RECYCLED, n] += withheld
        else:
            ir[I_BURNED_ALPHA, n] += withheld
    if s > 0:
        fr[F_MINER_BURNED, n] = withheld / s
    # validators and nominators
    ir[I_STAKE_STAKERS, n] += v
    ir[I_CUM_STAKER_PAID, n] += v
    # root dividends
    if root_dividends == SOLD_EACH_BLOCK:
        g[G_ROOT_STAKE] += ir[I_PENDING_ROOT_TAO, n]
        ir[I_CUM_ROOT_SOLD_TAO, n] += ir[I_PENDING_ROOT_TAO, n]
        ir[I_PENDING_ROOT_TAO, n] = 0
        ir[I_STAKE_ROOT_KEPT, n] += rt  # alpha that could not be sold stays with root stakers
        ir[I_CUM_ROOT_DIVS, n] += rt
        return
    take = int(rt * delegate_take)
    ir[I_STAKE_STAKERS, n] += take
    ir[I_ROOT_CLAIMABLE, n] += rt - take
    ir[I_CUM_ROOT_DIVS, n] += rt
    claim = ir[I_ROOT_CLAIMABLE, n]
    if claim <= 0:
        return
    swap_part = int(claim * claim_swap_fraction)
    keep = claim - swap_part
    ir[I_STAKE_ROOT_KEPT, n] += keep
    ir[I_ROOT_CLAIMABLE, n] -= keep
    if swap_part > 0:
        sold, tao = protocol_sell(pool_model, ir[I_TAO_RESERVE, n], ir[I_ALPHA_IN, n],
                                  fr[F_QUOTE_WEIGHT, n], swap_part, min_price, min_liquidity,
                                  minimum_reserve, max_input_multiple)
        ir[I_ROOT_CLAIMABLE, n] -= sold
        ir[I_ALPHA_OUT, n] -= sold
        ir[I_ALPHA_IN, n] += sold
        ir[I_TAO_RESERVE, n] -= tao
        g[G_ROOT_STAKE] += tao
        ir[I_PROTOCOL_FLOW_ACC, n] -= tao
        ir[I_CUM_ROOT_SOLD_TAO, n] += tao
