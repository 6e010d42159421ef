"""The compiled block loop: every mechanism of one block, for every run (spec section 1).

:func:`advance` runs ``n_blocks`` blocks on all runs in place (``prange`` over runs, so a batch
of runs uses every core). Per block and run, in the chain's order:

1. UID registration burn decays (``update_registration_prices_for_networks``);
2. TAO block emission is minted from ``TotalIssuance`` (:mod:`.emission`);
3. flow EMAs are updated (flow rules) and the block's shares computed (:mod:`.shares`);
4. per subnet in netuid order: injection terms, balancer weight update, fee-less chain buy with
   the excess, alpha_in/tao_in minted (:mod:`.injection`); unspent credit is recycled;
5. alpha_out minted and split into pending buckets (:mod:`.distribution`);
6. due epochs drain the buckets and pay holders (:mod:`.epochs`, :mod:`.distribution`);
7. price EMAs are updated after emission (:mod:`.price_ema`);
8. invariants are checked (optional): a violation stops that run and is reported in ``err``.

:mod:`.step_numpy` implements the same block with NumPy over ``(runs, subnets)``; the tests
check that both give identical states.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from ..mechanisms import EpochSchedule, InjectionRule, PoolModel, ShareRule
from ._fields import (
    F_CUM_TAO_EMISSION,
    F_FLOW_EMA,
    F_MINER_BURNED,
    F_PRICE_EMA,
    F_PROTOCOL_FLOW_EMA,
    F_QUOTE_WEIGHT,
    F_SHARE,
    F_TAO_EMISSION,
    G_BLOCK_EMISSION,
    G_FREE_TAO,
    G_ISSUANCE_START,
    G_MINTED_TAO,
    G_RECYCLED_TAO,
    G_ROOT_STAKE,
    G_TOTAL_ISSUANCE,
    I_ALPHA_IN,
    I_ALPHA_ISSUANCE_START,
    I_ALPHA_MINTED,
    I_ALPHA_OUT,
    I_ALPHA_RECYCLED,
    I_BURN_FACTOR_Q32,
    I_BURNED_ALPHA,
    I_CUM_ALPHA_IN,
    I_CUM_ALPHA_OUT,
    I_CUM_CHAIN_BOUGHT,
    I_CUM_EXCESS_TAO,
    I_CUM_TAO_IN,
    I_EMISSION_ENABLED,
    I_EPOCH_COUNT,
    I_EXISTS,
    I_FIRST_EMISSION_BLOCK,
    I_FLOW_ACC,
    I_LAST_ALPHA_IN,
    I_LAST_EPOCH_BLOCK,
    I_LAST_EXCESS_TAO,
    I_LAST_TAO_IN,
    I_NEURON_BURN,
    I_PENDING_OWNER,
    I_PENDING_ROOT,
    I_PENDING_ROOT_TAO,
    I_PENDING_SERVER,
    I_PENDING_VALIDATOR,
    I_PROTOCOL_ALPHA,
    I_PROTOCOL_FLOW_ACC,
    I_REGISTERED_AT,
    I_REGISTRATION_ALLOWED,
    I_ROOT_CLAIMABLE,
    I_STAKE_MINERS,
    I_STAKE_OWNER,
    I_STAKE_ROOT_KEPT,
    I_STAKE_STAKERS,
    I_TAO_RESERVE,
    I_TEMPO,
    I_UNDISTRIBUTED_ALPHA,
)
from .curves import quote_weight_after_injection, spot_price
from .distribution import accrue_alpha_out, distribute_epoch
from .emission import emission_for_issuance
from .epochs import head_due, legacy_due
from .injection import root_proportion, subnet_terms
from .price_ema import ema_step
from .protocol_swaps import protocol_buy
from .registration import decay_burn
from .shares import compute_shares

TAO_FLOW = int(ShareRule.TAO_FLOW)
NET_FLOW = int(ShareRule.NET_FLOW)
BALANCER = int(PoolModel.BALANCER)
LEGACY = int(EpochSchedule.LEGACY)
SUBSIDY = int(InjectionRule.SUBSIDY)
LAUNCH = int(InjectionRule.LAUNCH)
BOUGHT_PROTOCOL = 1  # BoughtAlpha.PROTOCOL

# error codes written to ``err[run, 0]``
ERR_NONE = 0
ERR_NEGATIVE = 1
ERR_ALPHA_PARTS = 2
ERR_ALPHA_ISSUANCE = 3
ERR_TAO_HOLDINGS = 4
ERR_TAO_ISSUANCE = 5
ERROR_NAMES = {
    ERR_NEGATIVE: "a reserve or balance became negative",
    ERR_ALPHA_PARTS: "alpha_out != sum of its holders (pending, stakes, protocol, burned)",
    ERR_ALPHA_ISSUANCE: "alpha_in + alpha_out != start + minted - recycled",
    ERR_TAO_HOLDINGS: "total_issuance != pools + root stake + free TAO + pending root TAO",
    ERR_TAO_ISSUANCE: "total_issuance != start + minted - recycled",
}


@njit(cache=True, error_model="numpy")
def _check_run(ints: NDArray[np.int64], g: NDArray[np.int64], r: int, block: int,
               err: NDArray[np.int64]) -> bool:
    n_sub = ints.shape[1]
    held = g[G_ROOT_STAKE] + g[G_FREE_TAO]
    if g[G_ROOT_STAKE] < 0 or g[G_FREE_TAO] < 0:
        err[r, 0] = ERR_NEGATIVE
        err[r, 1] = block
        err[r, 2] = 0
        err[r, 3] = min(g[G_ROOT_STAKE], g[G_FREE_TAO])
        return False
    for n in range(n_sub):
        ri = ints[r, n]
        if ri[I_EXISTS] == 0:
            continue
        held += ri[I_TAO_RESERVE] + ri[I_PENDING_ROOT_TAO]
        parts = (ri[I_PENDING_SERVER] + ri[I_PENDING_VALIDATOR] + ri[I_PENDING_ROOT]
                 + ri[I_PENDING_OWNER] + ri[I_STAKE_OWNER] + ri[I_STAKE_MINERS]
                 + ri[I_STAKE_STAKERS] + ri[I_STAKE_ROOT_KEPT] + ri[I_ROOT_CLAIMABLE]
                 + ri[I_PROTOCOL_ALPHA] + ri[I_BURNED_ALPHA] + ri[I_UNDISTRIBUTED_ALPHA])
        lowest = min(ri[I_TAO_RESERVE], ri[I_ALPHA_IN], ri[I_ALPHA_OUT], ri[I_PENDING_ROOT_TAO],
                     ri[I_PENDING_SERVER], ri[I_PENDING_VALIDATOR], ri[I_PENDING_ROOT],
                     ri[I_PENDING_OWNER], ri[I_STAKE_OWNER], ri[I_STAKE_MINERS],
                     ri[I_STAKE_STAKERS], ri[I_STAKE_ROOT_KEPT], ri[I_ROOT_CLAIMABLE],
                     ri[I_PROTOCOL_ALPHA])
        code = ERR_NONE
        value = 0
        if lowest < 0:
            code = ERR_NEGATIVE
            value = lowest
        elif parts != ri[I_ALPHA_OUT]:
            code = ERR_ALPHA_PARTS
            value = ri[I_ALPHA_OUT] - parts
        else:
            issued = ri[I_ALPHA_ISSUANCE_START] + ri[I_ALPHA_MINTED] - ri[I_ALPHA_RECYCLED]
            if ri[I_ALPHA_IN] + ri[I_ALPHA_OUT] != issued:
                code = ERR_ALPHA_ISSUANCE
                value = ri[I_ALPHA_IN] + ri[I_ALPHA_OUT] - issued
        if code != ERR_NONE:
            err[r, 0] = code
            err[r, 1] = block
            err[r, 2] = n + 1
            err[r, 3] = value
            return False
    if held != g[G_TOTAL_ISSUANCE]:
        err[r, 0] = ERR_TAO_HOLDINGS
        err[r, 1] = block
        err[r, 2] = 0
        err[r, 3] = g[G_TOTAL_ISSUANCE] - held
        return False
    expected = g[G_ISSUANCE_START] + g[G_MINTED_TAO] - g[G_RECYCLED_TAO]
    if expected != g[G_TOTAL_ISSUANCE]:
        err[r, 0] = ERR_TAO_ISSUANCE
        err[r, 1] = block
        err[r, 2] = 0
        err[r, 3] = g[G_TOTAL_ISSUANCE] - expected
        return False
    return True


@njit(cache=True, error_model="numpy")
def _block(ints: NDArray[np.int64], floats: NDArray[np.float64], gints: NDArray[np.int64],
           r: int, block: int, p, thresholds: NDArray[np.int64],
           eligible: NDArray[np.bool_], enabled: NDArray[np.bool_],
           ema: NDArray[np.float64], burned: NDArray[np.float64], rho: NDArray[np.float64],
           uflow: NDArray[np.float64], pflow: NDArray[np.float64],
           share: NDArray[np.float64], alpha_em: NDArray[np.int64],
           price: NDArray[np.float64]) -> None:
    """One block of run ``r``. ``price`` holds each subnet's spot price at the block's start
    (the end-of-block price of the previous block) and is updated at the end."""
    n_sub = ints.shape[1]
    g = gints[r]
    # 1. UID registration burn decay
    if block > 1:
        for n in range(n_sub):
            ri = ints[r, n]
            if ri[I_EXISTS] != 0:
                ri[I_NEURON_BURN] = decay_burn(ri[I_NEURON_BURN], ri[I_BURN_FACTOR_Q32],
                                               p.min_burn, p.max_burn)
    # 2. TAO block emission
    issuance = g[G_TOTAL_ISSUANCE]
    em = emission_for_issuance(issuance, p.default_block_emission, p.total_supply, thresholds)
    room = p.total_supply - issuance
    if em > room:
        em = room if room > 0 else 0
    g[G_TOTAL_ISSUANCE] += em
    g[G_MINTED_TAO] += em
    g[G_BLOCK_EMISSION] = em
    # 3. eligibility, flow EMAs, shares
    root_stake = float(g[G_ROOT_STAKE])
    ema_sum = 0.0
    flow_rule = p.share_rule == TAO_FLOW or p.share_rule == NET_FLOW
    for n in range(n_sub):
        ri = ints[r, n]
        rf = floats[r, n]
        fe = ri[I_FIRST_EMISSION_BLOCK]
        el = (ri[I_EXISTS] != 0 and fe >= 0 and block >= fe
              and ri[I_REGISTRATION_ALLOWED] != 0)
        eligible[n] = el
        enabled[n] = ri[I_EMISSION_ENABLED] != 0
        ema[n] = rf[F_PRICE_EMA]
        burned[n] = rf[F_MINER_BURNED]
        issued = ri[I_ALPHA_IN] + ri[I_ALPHA_OUT]
        rho[n] = root_proportion(root_stake, p.tao_weight, float(issued))
        alpha_em[n] = emission_for_issuance(issued, p.default_block_emission, p.total_supply,
                                            thresholds)
        if el:
            ema_sum += rf[F_PRICE_EMA]
            if flow_rule:
                a = p.flow_ema_smoothing
                rf[F_FLOW_EMA] = (1.0 - a) * rf[F_FLOW_EMA] + a * ri[I_FLOW_ACC]
                rf[F_PROTOCOL_FLOW_EMA] = ((1.0 - a) * rf[F_PROTOCOL_FLOW_EMA]
                                           + a * ri[I_PROTOCOL_FLOW_ACC])
                ri[I_FLOW_ACC] = 0
                ri[I_PROTOCOL_FLOW_ACC] = 0
        uflow[n] = rf[F_FLOW_EMA]
        pflow[n] = rf[F_PROTOCOL_FLOW_EMA]
    compute_shares(p.share_rule, eligible, enabled, p.emission_enabled_flag, ema, burned, rho,
                   uflow, pflow, p.tao_flow_cutoff, p.flow_norm_exponent, share)
    root_to_pending = (not p.root_sell_flag) or ema_sum > 1.0
    # 4-5. injection, chain buys, alpha_out
    spent = 0
    em_f = float(em)
    for n in range(n_sub):
        ri = ints[r, n]
        rf = floats[r, n]
        rf[F_SHARE] = share[n]
        if not eligible[n]:
            rf[F_TAO_EMISSION] = 0.0
            ri[I_LAST_TAO_IN] = 0
            ri[I_LAST_ALPHA_IN] = 0
            ri[I_LAST_EXCESS_TAO] = 0
            continue
        e = em_f * share[n]
        rf[F_TAO_EMISSION] = e
        rf[F_CUM_TAO_EMISSION] += e
        y = ri[I_TAO_RESERVE]
        x = ri[I_ALPHA_IN]
        w2 = rf[F_QUOTE_WEIGHT]
        tao_in_f, alpha_in_f, excess_f = subnet_terms(p.injection_rule, e, price[n],
                                                      float(alpha_em[n]), rho[n], em_f)
        tao_in = math.floor(tao_in_f) if tao_in_f > 0.0 else 0
        alpha_in = math.floor(alpha_in_f) if alpha_in_f > 0.0 else 0
        excess = math.floor(excess_f) if excess_f > 0.0 else 0
        if p.pool_model == BALANCER and (tao_in > 0 or alpha_in > 0):
            w_new = quote_weight_after_injection(float(y), float(x), w2, float(tao_in),
                                                 float(alpha_in))
            if w_new < p.min_quote_weight or w_new > p.max_quote_weight:
                tao_in = 0
                alpha_in = 0
            else:
                rf[F_QUOTE_WEIGHT] = w_new
                w2 = w_new
        # chain buy with the excess, on the pre-injection reserves and updated weight
        bought = 0
        if excess > 0:
            bought = protocol_buy(p.pool_model, y, x, w2, excess, p.min_pool_liquidity,
                                  p.minimum_reserve, p.max_input_multiple)
            if bought > 0:
                ri[I_TAO_RESERVE] += excess
                ri[I_ALPHA_IN] -= bought
                if p.bought_alpha == BOUGHT_PROTOCOL and p.injection_rule != SUBSIDY:
                    ri[I_ALPHA_OUT] += bought
                    ri[I_PROTOCOL_ALPHA] += bought
                else:  # bought alpha burned/recycled (AlphaOut -= bought)
                    ri[I_ALPHA_RECYCLED] += bought
                ri[I_PROTOCOL_FLOW_ACC] += excess
                ri[I_CUM_EXCESS_TAO] += excess
                ri[I_CUM_CHAIN_BOUGHT] += bought
                spent += excess
            else:
                excess = 0
        ri[I_ALPHA_IN] += alpha_in
        ri[I_TAO_RESERVE] += tao_in
        ri[I_PROTOCOL_FLOW_ACC] += tao_in
        spent += tao_in
        ri[I_CUM_TAO_IN] += tao_in
        ri[I_CUM_ALPHA_IN] += alpha_in
        ri[I_LAST_TAO_IN] = tao_in
        ri[I_LAST_ALPHA_IN] = alpha_in
        ri[I_LAST_EXCESS_TAO] = excess
        # alpha_out minted in full, then split (root proportion after minting)
        a_out = alpha_em[n]
        ri[I_ALPHA_OUT] += a_out
        ri[I_ALPHA_MINTED] += alpha_in + a_out
        ri[I_CUM_ALPHA_OUT] += a_out
        rho_after = root_proportion(root_stake, p.tao_weight,
                                    float(ri[I_ALPHA_IN] + ri[I_ALPHA_OUT]))
        accrue_alpha_out(ri, rf, a_out, rho_after, p.owner_cut, root_to_pending,
                         p.root_dividends, p.pool_model, p.min_price, p.min_pool_liquidity,
                         p.minimum_reserve, p.max_input_multiple)
    unspent = em - spent
    if unspent > 0:
        g[G_TOTAL_ISSUANCE] -= unspent
        g[G_RECYCLED_TAO] += unspent
    elif unspent < 0:  # floors make this impossible; keep the books exact regardless
        g[G_FREE_TAO] += unspent
    # 6. epochs
    epochs_this_block = 0
    for n in range(n_sub):
        ri = ints[r, n]
        if ri[I_EXISTS] == 0:
            continue
        if p.epoch_schedule == LEGACY:
            due = legacy_due(n + 1, ri[I_TEMPO], block)
        else:
            due = head_due(ri[I_LAST_EPOCH_BLOCK], ri[I_TEMPO], block)
            if due and epochs_this_block >= p.max_epochs_per_block:
                due = False
        if not due:
            continue
        epochs_this_block += 1
        ri[I_LAST_EPOCH_BLOCK] = block
        ri[I_EPOCH_COUNT] += 1
        distribute_epoch(ri, floats[r, n], g, p.delegate_take, p.miner_burn_recycles,
                         p.root_dividends, p.root_claim_swap_fraction, p.pool_model,
                         p.min_price, p.min_pool_liquidity, p.minimum_reserve,
                         p.max_input_multiple)
    # 7. moving prices, after emission (the end-of-block price is the next block's start price)
    for n in range(n_sub):
        ri = ints[r, n]
        if ri[I_EXISTS] == 0:
            continue
        rf = floats[r, n]
        spot = spot_price(float(ri[I_TAO_RESERVE]), float(ri[I_ALPHA_IN]), rf[F_QUOTE_WEIGHT])
        price[n] = spot
        if not eligible[n]:
            continue
        rf[F_PRICE_EMA] = ema_step(p.ema_rule, rf[F_PRICE_EMA], spot, block,
                                   ri[I_REGISTERED_AT], ri[I_FIRST_EMISSION_BLOCK],
                                   p.subnet_moving_alpha, p.ema_price_halving_blocks)


@njit(cache=True, parallel=True, error_model="numpy")
def advance(ints: NDArray[np.int64], floats: NDArray[np.float64], gints: NDArray[np.int64],
            start_block: int, n_blocks: int, p, thresholds: NDArray[np.int64],
            err: NDArray[np.int64]) -> None:
    """Run blocks ``start_block + 1 .. start_block + n_blocks`` on every run, in place.

    ``err`` (``int64[runs, 4]``) receives ``(code, block, netuid, value)`` for a run whose
    invariants failed; that run stops at the failing block. Runs already in error are skipped.
    """
    runs = ints.shape[0]
    n_sub = ints.shape[1]
    for r in prange(runs):
        if err[r, 0] != ERR_NONE:
            continue
        eligible = np.zeros(n_sub, dtype=np.bool_)
        enabled = np.zeros(n_sub, dtype=np.bool_)
        ema = np.zeros(n_sub)
        burned = np.zeros(n_sub)
        rho = np.zeros(n_sub)
        uflow = np.zeros(n_sub)
        pflow = np.zeros(n_sub)
        share = np.zeros(n_sub)
        alpha_em = np.zeros(n_sub, dtype=np.int64)
        price = np.zeros(n_sub)
        for n in range(n_sub):
            price[n] = spot_price(float(ints[r, n, I_TAO_RESERVE]), float(ints[r, n, I_ALPHA_IN]),
                                  floats[r, n, F_QUOTE_WEIGHT])
        for k in range(n_blocks):
            block = start_block + 1 + k
            _block(ints, floats, gints, r, block, p, thresholds, eligible, enabled, ema, burned,
                   rho, uflow, pflow, share, alpha_em, price)
            if p.check_invariants and not _check_run(ints, gints[r], r, block, err):
                break
