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

from dtaosim.chain._fields import (
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
from dtaosim.chain.protocol_swaps import protocol_sell

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
def drain_pending(ir: NDArray[np.int64], n: int) -> tuple[int, int, int, int]:
    """Empty subnet ``n``'s pending buckets; returns ``(server, validator, root, owner)`` RAO."""
    s = ir[I_PENDING_SERVER, n]
    v = ir[I_PENDING_VALIDATOR, n]
    rt = ir[I_PENDING_ROOT, n]
    o = ir[I_PENDING_OWNER, n]
    ir[I_PENDING_SERVER, n] = 0
    ir[I_PENDING_VALIDATOR, n] = 0
    ir[I_PENDING_ROOT, n] = 0
    ir[I_PENDING_OWNER, n] = 0
    return s, v, rt, o


@njit(cache=True, error_model="numpy")
def book_miners(ir: NDArray[np.int64], fr: NDArray[np.float64], n: int, paid: int,
                withheld: int, recycles: bool) -> None:
    """Book an epoch's miner incentive: ``paid`` staked, ``withheld`` (owner hotkeys) burned
    or recycled; ``MinerBurned = withheld / (paid + withheld)``."""
    ir[I_STAKE_MINERS, n] += paid
    ir[I_CUM_MINER_PAID, n] += paid
    ir[I_CUM_MINER_BURNED, n] += withheld
    if withheld > 0:
        if recycles:
            ir[I_ALPHA_OUT, n] -= withheld
            ir[I_ALPHA_RECYCLED, n] += withheld
        else:
            ir[I_BURNED_ALPHA, n] += withheld
    if paid + withheld > 0:
        fr[F_MINER_BURNED, n] = withheld / (paid + withheld)


@njit(cache=True, error_model="numpy")
def book_root_dividends(ir: NDArray[np.int64], fr: NDArray[np.float64], g: NDArray[np.int64],
                        n: int, take: int, rest: int, root_dividends: int,
                        claim_swap_fraction: float, pool_model: int, min_price: float,
                        min_liquidity: int, minimum_reserve: int,
                        max_input_multiple: float) -> None:
    """Book root alpha dividends: the delegate ``take`` is staked with the validators, the
    ``rest`` goes to root stakers (spec 5.6, 5.7).

    Launch era (``SOLD_EACH_BLOCK``): the TAO from root alpha sold during the tempo is paid as
    root stake and the unsold ``rest`` stays with root stakers as alpha. Since 2025-11: the
    ``rest`` becomes claimable and is claimed at once: the ``Swap`` part sold fee-less for TAO
    added to root stake, the ``Keep`` part kept as alpha.
    """
    ir[I_STAKE_STAKERS, n] += take
    ir[I_CUM_ROOT_DIVS, n] += take + rest
    if root_dividends == SOLD_EACH_BLOCK:
        g[G_ROOT_STAKE] += ir[I_PENDING_ROOT_TAO, n]
        ir[I_CUM_ROOT_SOLD_TAO, n] += ir[I_PENDING_ROOT_TAO, n]
        ir[I_PENDING_ROOT_TAO, n] = 0
        ir[I_STAKE_ROOT_KEPT, n] += rest  # alpha that could not be sold stays with root stakers
        return
    ir[I_ROOT_CLAIMABLE, n] += rest
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


@njit(cache=True, error_model="numpy")
def distribute_epoch(ir: NDArray[np.int64], fr: NDArray[np.float64], g: NDArray[np.int64],
                     n: int, delegate_take: float, miner_burn_recycles: bool,
                     root_dividends: int, claim_swap_fraction: float, pool_model: int,
                     min_price: float, min_liquidity: int, minimum_reserve: int,
                     max_input_multiple: float) -> None:
    """Drain the pending buckets of subnet slot ``n`` and pay the aggregate holders (spec 5.6,
    5.7), for a state without UIDs.

    ``ir``/``fr`` are one run's field-major storage, ``g`` its network fields.
    """
    s, v, rt, o = drain_pending(ir, n)
    ir[I_STAKE_OWNER, n] += o
    ir[I_CUM_OWNER_CUT, n] += o
    # miners: incentive routed to the owner's hotkeys is withheld
    frac = fr[F_MINER_BURN_FRACTION, n]
    frac = 0.0 if frac < 0.0 else (1.0 if frac > 1.0 else frac)
    withheld = int(s * frac)
    book_miners(ir, fr, n, s - withheld, withheld, miner_burn_recycles)
    # validators and nominators
    ir[I_STAKE_STAKERS, n] += v
    ir[I_CUM_STAKER_PAID, n] += v
    take = 0 if root_dividends == SOLD_EACH_BLOCK else int(rt * delegate_take)
    book_root_dividends(ir, fr, g, n, take, rt - take, root_dividends, claim_swap_fraction,
                        pool_model, min_price, min_liquidity, minimum_reserve,
                        max_input_multiple)
