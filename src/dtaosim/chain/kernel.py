"""The compiled block loop: every mechanism of one block, for every run (spec section 1).

:func:`advance` runs ``n_blocks`` blocks on all runs in place (``prange`` over runs, so a batch
of runs uses every core). It takes the state's field-major storage (``runs x fields x
subnets``), so each phase of a block streams over contiguous per-subnet arrays. Per block and
run, in the chain's order:

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
from .injection import subnet_terms
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
def _check_run(ir: NDArray[np.int64], g: NDArray[np.int64], r: int, block: int,
               err: NDArray[np.int64]) -> bool:
    n_sub = ir.shape[1]
    held = g[G_ROOT_STAKE] + g[G_FREE_TAO]
    if g[G_ROOT_STAKE] < 0 or g[G_FREE_TAO] < 0:
        err[r, 0] = ERR_NEGATIVE
        err[r, 1] = block
        err[r, 2] = 0
        err[r, 3] = min(g[G_ROOT_STAKE], g[G_FREE_TAO])
        return False
    for n in range(n_sub):
        if ir[I_EXISTS, n] == 0:
            continue
        held += ir[I_TAO_RESERVE, n] + ir[I_PENDING_ROOT_TAO, n]
        parts = (ir[I_PENDING_SERVER, n] + ir[I_PENDING_VALIDATOR, n] + ir[I_PENDING_ROOT, n]
                 + ir[I_PENDING_OWNER, n] + ir[I_STAKE_OWNER, n] + ir[I_STAKE_MINERS, n]
                 + ir[I_STAKE_STAKERS, n] + ir[I_STAKE_ROOT_KEPT, n] + ir[I_ROOT_CLAIMABLE, n]
                 + ir[I_PROTOCOL_ALPHA, n] + ir[I_BURNED_ALPHA, n]
                 + ir[I_UNDISTRIBUTED_ALPHA, n])
        lowest = min(ir[I_TAO_RESERVE, n], ir[I_ALPHA_IN, n], ir[I_ALPHA_OUT, n],
                     ir[I_PENDING_ROOT_TAO, n], ir[I_PENDING_SERVER, n],
                     ir[I_PENDING_VALIDATOR, n], ir[I_PENDING_ROOT, n], ir[I_PENDING_OWNER, n],
                     ir[I_STAKE_OWNER, n], ir[I_STAKE_MINERS, n], ir[I_STAKE_STAKERS, n],
                     ir[I_STAKE_ROOT_KEPT, n], ir[I_ROOT_CLAIMABLE, n], ir[I_PROTOCOL_ALPHA, n])
        code = ERR_NONE
        value = 0
        if lowest < 0:
            code = ERR_NEGATIVE
            value = lowest
        elif parts != ir[I_ALPHA_OUT, n]:
            code = ERR_ALPHA_PARTS
            value = ir[I_ALPHA_OUT, n] - parts
        else:
            issued = (ir[I_ALPHA_ISSUANCE_START, n] + ir[I_ALPHA_MINTED, n]
                      - ir[I_ALPHA_RECYCLED, n])
            if ir[I_ALPHA_IN, n] + ir[I_ALPHA_OUT, n] != issued:
                code = ERR_ALPHA_ISSUANCE
                value = ir[I_ALPHA_IN, n] + ir[I_ALPHA_OUT, n] - issued
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
def _block(ir: NDArray[np.int64], fr: NDArray[np.float64], g: NDArray[np.int64],
           block: int, p, thresholds: NDArray[np.int64],
           eligible: NDArray[np.bool_], enabled: NDArray[np.bool_],
           rho: NDArray[np.float64], share: NDArray[np.float64], alpha_em: NDArray[np.int64],
           price: NDArray[np.float64], tao_in_a: NDArray[np.int64],
           alpha_in_a: NDArray[np.int64], excess_a: NDArray[np.int64],
           bought_a: NDArray[np.int64]) -> None:
    """One block of one run. ``ir``/``fr`` are the run's field-major storage; ``price`` holds
    each subnet's spot price at the block's start (the previous block's end price) and is
    updated at the end."""
    n_sub = ir.shape[1]
    exists = ir[I_EXISTS]
    # 2. TAO block emission (step 1, the UID burn decay, is done in the subnet pass below)
    issuance = g[G_TOTAL_ISSUANCE]
    em = emission_for_issuance(issuance, p.default_block_emission, p.total_supply, thresholds)
    room = p.total_supply - issuance
    if em > room:
        em = room if room > 0 else 0
    g[G_TOTAL_ISSUANCE] += em
    g[G_MINTED_TAO] += em
    g[G_BLOCK_EMISSION] = em
    # 3. eligibility, root proportion, alpha emission, flow EMAs, shares
    tr = p.tao_weight * float(g[G_ROOT_STAKE])
    tao = ir[I_TAO_RESERVE]
    ain = ir[I_ALPHA_IN]
    aout = ir[I_ALPHA_OUT]
    fe = ir[I_FIRST_EMISSION_BLOCK]
    ema = fr[F_PRICE_EMA]
    burn = ir[I_NEURON_BURN]
    factor = ir[I_BURN_FACTOR_Q32]
    decay = block > 1
    ema_sum = 0.0
    for n in range(n_sub):
        if decay and exists[n] != 0:  # 1. UID registration burn decay (independent of 2-3)
            burn[n] = decay_burn(burn[n], factor[n], p.min_burn, p.max_burn)
        el = (exists[n] != 0 and fe[n] >= 0 and block >= fe[n]
              and ir[I_REGISTRATION_ALLOWED, n] != 0)
        eligible[n] = el
        enabled[n] = ir[I_EMISSION_ENABLED, n] != 0
        issued = ain[n] + aout[n]
        den = tr + float(issued)
        rho[n] = tr / den if den > 0.0 else 0.0
        alpha_em[n] = emission_for_issuance(issued, p.default_block_emission, p.total_supply,
                                            thresholds)
        if el:
            ema_sum += ema[n]
    if p.share_rule == TAO_FLOW or p.share_rule == NET_FLOW:
        a = p.flow_ema_smoothing
        for n in range(n_sub):
            if eligible[n]:
                fr[F_FLOW_EMA, n] = (1.0 - a) * fr[F_FLOW_EMA, n] + a * ir[I_FLOW_ACC, n]
                fr[F_PROTOCOL_FLOW_EMA, n] = ((1.0 - a) * fr[F_PROTOCOL_FLOW_EMA, n]
                                              + a * ir[I_PROTOCOL_FLOW_ACC, n])
                ir[I_FLOW_ACC, n] = 0
                ir[I_PROTOCOL_FLOW_ACC, n] = 0
    compute_shares(p.share_rule, eligible, enabled, p.emission_enabled_flag, ema,
                   fr[F_MINER_BURNED], rho, fr[F_FLOW_EMA], fr[F_PROTOCOL_FLOW_EMA],
                   p.tao_flow_cutoff, p.flow_norm_exponent, share)
    root_to_pending = (not p.root_sell_flag) or ema_sum > 1.0
    # 4. injection terms and chain buys, computed for every subnet first (pure arithmetic on
    # the block's start reserves, so the loop pipelines), then applied with the alpha_out split
    em_f = float(em)
    w2s = fr[F_QUOTE_WEIGHT]
    for n in range(n_sub):
        fr[F_SHARE, n] = share[n]
        if not eligible[n]:
            tao_in_a[n] = 0
            alpha_in_a[n] = 0
            excess_a[n] = 0
            bought_a[n] = 0
            fr[F_TAO_EMISSION, n] = 0.0
            continue
        e = em_f * share[n]
        fr[F_TAO_EMISSION, n] = e
        fr[F_CUM_TAO_EMISSION, n] += e
        y = tao[n]
        x = ain[n]
        w2 = w2s[n]
        tao_in_f, alpha_in_f, excess_f = subnet_terms(p.injection_rule, e, price[n],
                                                      float(alpha_em[n]), rho[n], em_f)
        # floors of positive amounts: int() truncation equals floor
        tao_in = int(tao_in_f) if tao_in_f > 0.0 else 0
        alpha_in = int(alpha_in_f) if alpha_in_f > 0.0 else 0
        excess = int(excess_f) if excess_f > 0.0 else 0
        if p.pool_model == BALANCER and (tao_in > 0 or alpha_in > 0):
            w_new = quote_weight_after_injection(float(y), float(x), w2, float(tao_in),
                                                 float(alpha_in))
            if w_new < p.min_quote_weight or w_new > p.max_quote_weight:
                tao_in = 0
                alpha_in = 0
            else:
                w2s[n] = w_new
                w2 = w_new
        # chain buy with the excess, on the pre-injection reserves and updated weight
        bought = 0
        if excess > 0:
            bought = protocol_buy(p.pool_model, y, x, w2, excess, p.min_pool_liquidity,
                                  p.minimum_reserve, p.max_input_multiple)
            if bought <= 0:
                excess = 0  # rejected: the excess is recycled with the unspent credit
        tao_in_a[n] = tao_in
        alpha_in_a[n] = alpha_in
        excess_a[n] = excess
        bought_a[n] = bought
    # 5. apply: reserves, protocol alpha, alpha_out minted in full and split
    spent = 0
    protocol_keeps = p.bought_alpha == BOUGHT_PROTOCOL and p.injection_rule != SUBSIDY
    for n in range(n_sub):
        if not eligible[n]:
            ir[I_LAST_TAO_IN, n] = 0
            ir[I_LAST_ALPHA_IN, n] = 0
            ir[I_LAST_EXCESS_TAO, n] = 0
            continue
        tao_in = tao_in_a[n]
        alpha_in = alpha_in_a[n]
        excess = excess_a[n]
        bought = bought_a[n]
        if bought > 0:
            tao[n] += excess
            ain[n] -= bought
            if protocol_keeps:
                aout[n] += bought
                ir[I_PROTOCOL_ALPHA, n] += bought
            else:  # bought alpha burned/recycled (AlphaOut -= bought)
                ir[I_ALPHA_RECYCLED, n] += bought
            ir[I_CUM_EXCESS_TAO, n] += excess
            ir[I_CUM_CHAIN_BOUGHT, n] += bought
        ain[n] += alpha_in
        tao[n] += tao_in
        ir[I_PROTOCOL_FLOW_ACC, n] += tao_in + excess
        spent += tao_in + excess
        ir[I_CUM_TAO_IN, n] += tao_in
        ir[I_CUM_ALPHA_IN, n] += alpha_in
        ir[I_LAST_TAO_IN, n] = tao_in
        ir[I_LAST_ALPHA_IN, n] = alpha_in
        ir[I_LAST_EXCESS_TAO, n] = excess
        a_out = alpha_em[n]
        aout[n] += a_out
        ir[I_ALPHA_MINTED, n] += alpha_in + a_out
        ir[I_CUM_ALPHA_OUT, n] += a_out
        den = tr + float(ain[n] + aout[n])
        rho_after = tr / den if den > 0.0 else 0.0
        accrue_alpha_out(ir, fr, n, a_out, rho_after, p.owner_cut, root_to_pending,
                         p.root_dividends, p.pool_model, p.min_price, p.min_pool_liquidity,
                         p.minimum_reserve, p.max_input_multiple)
    unspent = em - spent
    if unspent > 0:
        g[G_TOTAL_ISSUANCE] -= unspent
        g[G_RECYCLED_TAO] += unspent
    elif unspent < 0:  # floors make this impossible; keep the books exact regardless
        g[G_FREE_TAO] += unspent
    # 6-7. epochs, then moving prices after emission (an epoch only moves its own subnet's
    # reserves, so one pass in netuid order is the chain's order; the end-of-block price is
    # the next block's start price)
    epochs_this_block = 0
    tempo = ir[I_TEMPO]
    last = ir[I_LAST_EPOCH_BLOCK]
    reg = ir[I_REGISTERED_AT]
    for n in range(n_sub):
        if exists[n] == 0:
            continue
        if p.epoch_schedule == LEGACY:
            due = legacy_due(n + 1, tempo[n], block)
        else:
            due = head_due(last[n], tempo[n], block)
            if due and epochs_this_block >= p.max_epochs_per_block:
                due = False
        if due:
            epochs_this_block += 1
            last[n] = block
            ir[I_EPOCH_COUNT, n] += 1
            distribute_epoch(ir, fr, g, n, p.delegate_take, p.miner_burn_recycles,
                             p.root_dividends, p.root_claim_swap_fraction, p.pool_model,
                             p.min_price, p.min_pool_liquidity, p.minimum_reserve,
                             p.max_input_multiple)
        spot = spot_price(float(tao[n]), float(ain[n]), w2s[n])
        price[n] = spot
        if eligible[n]:
            ema[n] = ema_step(p.ema_rule, ema[n], spot, block, reg[n], fe[n],
                              p.subnet_moving_alpha, p.ema_price_halving_blocks)


@njit(cache=True, parallel=True, error_model="numpy")
def advance(ints_fm: NDArray[np.int64], floats_fm: NDArray[np.float64],
            gints: NDArray[np.int64], start_block: int, n_blocks: int,
            p, thresholds: NDArray[np.int64],
            err: NDArray[np.int64]) -> None:
    """Run blocks ``start_block + 1 .. start_block + n_blocks`` on every run, in place.

    ``ints_fm``/``floats_fm`` are the field-major storage (``ChainState.ints_fm``,
    ``ChainState.floats_fm``). ``err`` (``int64[runs, 4]``) receives ``(code, block, netuid,
    value)`` for a run whose invariants failed; that run stops at the failing block. Runs
    already in error are skipped.
    """
    runs = ints_fm.shape[0]
    n_sub = ints_fm.shape[2]
    for r in prange(runs):
        if err[r, 0] != ERR_NONE:
            continue
        ir = ints_fm[r]
        fr = floats_fm[r]
        g = gints[r]
        eligible = np.zeros(n_sub, dtype=np.bool_)
        enabled = np.zeros(n_sub, dtype=np.bool_)
        rho = np.zeros(n_sub)
        share = np.zeros(n_sub)
        alpha_em = np.zeros(n_sub, dtype=np.int64)
        price = np.zeros(n_sub)
        tao_in_a = np.zeros(n_sub, dtype=np.int64)
        alpha_in_a = np.zeros(n_sub, dtype=np.int64)
        excess_a = np.zeros(n_sub, dtype=np.int64)
        bought_a = np.zeros(n_sub, dtype=np.int64)
        for n in range(n_sub):
            price[n] = spot_price(float(ir[I_TAO_RESERVE, n]), float(ir[I_ALPHA_IN, n]),
                                  fr[F_QUOTE_WEIGHT, n])
        for k in range(n_blocks):
            block = start_block + 1 + k
            _block(ir, fr, g, block, p, thresholds, eligible, enabled, rho, share, alpha_em,
                   price, tao_in_a, alpha_in_a, excess_a, bought_a)
            if p.check_invariants and not _check_run(ir, g, r, block, err):
                break
