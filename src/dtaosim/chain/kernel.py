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

from dtaosim.chain._fields import (
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
from dtaosim.chain.curves import (
    SMALL,
    alpha_out_for_tao_in,
    expm1_small,
    log1p_small,
    spot_price,
)
from dtaosim.chain.distribution import SOLD_EACH_BLOCK, distribute_epoch, split_alpha_out
from dtaosim.chain.emission import emission_for_issuance
from dtaosim.chain.epoch_uids import distribute_epoch_uids, epoch_work
from dtaosim.chain.epochs import legacy_due
from dtaosim.chain.injection import (
    CAP_ALPHA_EMISSION,
    CAP_BLOCK_EMISSION,
    CAP_ROOT_PROP,
    subnet_terms,
)
from dtaosim.chain.presets import EpochSchedule, InjectionRule, PoolModel, ShareRule
from dtaosim.chain.price_ema import PLAIN, RAMP_REGISTRATION, ema_step
from dtaosim.chain.protocol_swaps import protocol_sell
from dtaosim.chain.registration import decay_burn
from dtaosim.chain.shares import compute_shares
from dtaosim.chain.summation import lane_sum

TAO_FLOW = int(ShareRule.TAO_FLOW)
PRICE_BURN = int(ShareRule.PRICE_BURN)
NET_FLOW = int(ShareRule.NET_FLOW)
BALANCER = int(PoolModel.BALANCER)
CONSTANT_PRODUCT = int(PoolModel.CONSTANT_PRODUCT)
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
ERR_OVERSPENT = 6
ERROR_NAMES = {
    ERR_NEGATIVE: "a reserve or balance became negative",
    ERR_ALPHA_PARTS: "alpha_out != sum of its holders (pending, stakes, protocol, burned)",
    ERR_ALPHA_ISSUANCE: "alpha_in + alpha_out != start + minted - recycled",
    ERR_TAO_HOLDINGS: "total_issuance != pools + root stake + free TAO + pending root TAO",
    ERR_TAO_ISSUANCE: "total_issuance != start + minted - recycled",
    ERR_OVERSPENT: "TAO injected and spent on subnets > the block's emission (over-spent)",
}


@njit(cache=True, inline="always", error_model="numpy")
def _alpha_out_parts(ir: NDArray[np.int64], n: int) -> int:
    """Sum of the holders of subnet ``n``'s alpha_out (``ALPHA_OUT_PARTS``)."""
    return (ir[I_PENDING_SERVER, n] + ir[I_PENDING_VALIDATOR, n] + ir[I_PENDING_ROOT, n]
            + ir[I_PENDING_OWNER, n] + ir[I_STAKE_OWNER, n] + ir[I_STAKE_MINERS, n]
            + ir[I_STAKE_STAKERS, n] + ir[I_STAKE_ROOT_KEPT, n] + ir[I_ROOT_CLAIMABLE, n]
            + ir[I_PROTOCOL_ALPHA, n] + ir[I_BURNED_ALPHA, n] + ir[I_UNDISTRIBUTED_ALPHA, n])


# balances that may never be negative
NONNEGATIVE = (I_TAO_RESERVE, I_ALPHA_IN, I_ALPHA_OUT, I_PENDING_ROOT_TAO, I_PENDING_SERVER,
               I_PENDING_VALIDATOR, I_PENDING_ROOT, I_PENDING_OWNER, I_STAKE_OWNER,
               I_STAKE_MINERS, I_STAKE_STAKERS, I_STAKE_ROOT_KEPT, I_ROOT_CLAIMABLE,
               I_PROTOCOL_ALPHA)


@njit(cache=True, inline="always", error_model="numpy")
def _lowest_balance(ir: NDArray[np.int64], n: int) -> int:
    """Smallest of subnet ``n``'s balances that may never be negative (``NONNEGATIVE``)."""
    lowest = ir[NONNEGATIVE[0], n]
    for f in NONNEGATIVE:
        lowest = min(lowest, ir[f, n])
    return lowest


@njit(cache=True, inline="always", error_model="numpy")
def _any_negative(ir: NDArray[np.int64], n: int) -> bool:
    """True when one of subnet ``n``'s ``NONNEGATIVE`` balances is negative: their bitwise OR
    has the sign bit set exactly then (cheaper than a 64-bit min, which AVX2 lacks)."""
    bits = 0
    for f in NONNEGATIVE:
        bits |= ir[f, n]
    return bits < 0


@njit(cache=True, error_model="numpy")
def _books_balance(ir: NDArray[np.int64], g: NDArray[np.int64]) -> bool:
    """Fast branch-free pass: True when every identity of :func:`_check_run` holds."""
    n_sub = ir.shape[1]
    held = g[G_ROOT_STAKE] + g[G_FREE_TAO]
    bad = (g[G_ROOT_STAKE] < 0) | (g[G_FREE_TAO] < 0)
    for n in range(n_sub):
        ex = ir[I_EXISTS, n] != 0
        held += ir[I_TAO_RESERVE, n] + ir[I_PENDING_ROOT_TAO, n] if ex else 0
        parts = _alpha_out_parts(ir, n)
        issued = ir[I_ALPHA_ISSUANCE_START, n] + ir[I_ALPHA_MINTED, n] - ir[I_ALPHA_RECYCLED, n]
        broken = (_any_negative(ir, n) | (parts != ir[I_ALPHA_OUT, n])
                  | (ir[I_ALPHA_IN, n] + ir[I_ALPHA_OUT, n] != issued))
        bad = bad | (ex & broken)
    expected = g[G_ISSUANCE_START] + g[G_MINTED_TAO] - g[G_RECYCLED_TAO]
    return not bad and held == g[G_TOTAL_ISSUANCE] and expected == g[G_TOTAL_ISSUANCE]


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
        parts = _alpha_out_parts(ir, n)
        lowest = _lowest_balance(ir, n)
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


@njit(cache=True, inline="always", error_model="numpy")
def _floors(ti: float, ai: float, ex: float) -> tuple[int, int, int]:
    """Injection terms floored to RAO; int() truncation is the floor of a positive amount."""
    return (int(ti) if ti > 0.0 else 0, int(ai) if ai > 0.0 else 0,
            int(ex) if ex > 0.0 else 0)


@njit(cache=True, inline="always", error_model="numpy")
def _book_split(n: int, a_out: int, cut_i: int, server_i: int, val_i: int, root_i: int,
                p_own: NDArray[np.int64], p_srv: NDArray[np.int64], p_val: NDArray[np.int64],
                undist: NDArray[np.int64], root_dest: NDArray[np.int64]) -> None:
    """Book one subnet's split of ``a_out`` into its pending buckets (floor dust undistributed)."""
    p_own[n] += cut_i
    p_srv[n] += server_i
    p_val[n] += val_i
    undist[n] += a_out - cut_i - server_i - val_i - root_i
    root_dest[n] += root_i


# scratch rows (per run): floats and ints, each a contiguous array over subnets
S_RHO, S_SHARE, S_PRICE, S_E, S_OUT = 0, 1, 2, 3, 4
N_SCRATCH_F = 5
J_ALPHA_EM, J_TAO_IN, J_ALPHA_IN, J_EXCESS, J_BOUGHT, J_ROOT, J_DUE = 0, 1, 2, 3, 4, 5, 6
J_TAO_IN_B, J_ALPHA_IN_B, J_ALPHA_OUT = 7, 8, 9  # second copies: a loop never rewrites its input
N_SCRATCH_I = 10


@njit(cache=True, error_model="numpy", inline="always")
def _block(ir: NDArray[np.int64], fr: NDArray[np.float64], g: NDArray[np.int64],
           block: int, p, thresholds: NDArray[np.int64],
           eligible: NDArray[np.bool_], enabled: NDArray[np.bool_],
           sf: NDArray[np.float64], si: NDArray[np.int64], has_neurons: bool,
           nints: NDArray[np.int64], nfloats: NDArray[np.float64], nperm: NDArray[np.bool_],
           nweights: NDArray[np.uint16], nbonds: NDArray[np.uint16], nhyper: NDArray[np.int64],
           work: tuple) -> int:
    """One block of one run (inlined into :func:`advance`: as a called function its ~25 array
    arguments cost reference counting and copies on every block, ~25% of the time).

    Returns the RAO by which the subnets' TAO (injection plus chain buys) exceeded the block's
    emission: 0 unless the engine is broken; :func:`advance` then stops the run.

    ``ir``/``fr`` are the run's field-major storage; ``sf``/``si`` scratch rows. ``sf[S_PRICE]``
    holds each subnet's spot price at the block's start (the previous block's end price) and is
    updated at the end. The phases are simple loops over contiguous arrays so that the
    arithmetic ones vectorise; rare paths (rejected guards, large trades, per-block root sells)
    are fixed up in scalar loops afterwards.
    """
    n_sub = ir.shape[1]
    exists = ir[I_EXISTS]
    tao = ir[I_TAO_RESERVE]
    ain = ir[I_ALPHA_IN]
    aout = ir[I_ALPHA_OUT]
    fe = ir[I_FIRST_EMISSION_BLOCK]
    ema = fr[F_PRICE_EMA]
    w2s = fr[F_QUOTE_WEIGHT]
    rho = sf[S_RHO]
    share = sf[S_SHARE]
    price = sf[S_PRICE]
    e_arr = sf[S_E]
    buy_out = sf[S_OUT]
    alpha_em = si[J_ALPHA_EM]
    tao_in_a = si[J_TAO_IN]
    alpha_in_a = si[J_ALPHA_IN]
    excess_a = si[J_EXCESS]
    bought_a = si[J_BOUGHT]
    root_a = si[J_ROOT]
    # 2. TAO block emission (step 1, the UID burn decay, is done in the subnet pass below)
    issuance = g[G_TOTAL_ISSUANCE]
    em = emission_for_issuance(issuance, p.default_block_emission, p.total_supply, thresholds)
    room = p.total_supply - issuance
    if em > room:
        em = room if room > 0 else 0
    g[G_TOTAL_ISSUANCE] += em
    g[G_MINTED_TAO] += em
    g[G_BLOCK_EMISSION] = em
    em_f = float(em)
    # 3. UID burn decay, eligibility, alpha emission, flow EMAs, root proportion, shares
    if block > 1:  # 1. UID registration burn decay
        burn = ir[I_NEURON_BURN]
        factor = ir[I_BURN_FACTOR_Q32]
        for n in range(n_sub):  # every slot: a new subnet's burn is set when it registers
            burn[n] = decay_burn(burn[n], factor[n], p.min_burn, p.max_burn)
    t0 = thresholds[0]
    base = p.default_block_emission
    allowed = ir[I_REGISTRATION_ALLOWED]
    em_on = ir[I_EMISSION_ENABLED]
    any_disabled = False
    for n in range(n_sub):
        el = (exists[n] != 0) & (fe[n] >= 0) & (block >= fe[n]) & (allowed[n] != 0)
        on = em_on[n] != 0
        eligible[n] = el
        enabled[n] = on
        any_disabled = any_disabled | (el & (not on))
        e_arr[n] = ema[n] if el else 0.0
    ema_sum = lane_sum(e_arr)
    n_halved = 0  # no halving yet is the common case: a branch-free pass, then the others
    for n in range(n_sub):
        issued = ain[n] + aout[n]
        alpha_em[n] = base
        n_halved += 1 if (issued >= t0) | (issued >= p.total_supply) else 0
    if n_halved > 0:
        for n in range(n_sub):
            issued = ain[n] + aout[n]
            if (issued >= t0) | (issued >= p.total_supply):
                alpha_em[n] = emission_for_issuance(issued, base, p.total_supply, thresholds)
    if p.share_rule == TAO_FLOW or p.share_rule == NET_FLOW:
        a = p.flow_ema_smoothing
        for n in range(n_sub):
            if eligible[n]:
                fr[F_FLOW_EMA, n] = (1.0 - a) * fr[F_FLOW_EMA, n] + a * ir[I_FLOW_ACC, n]
                fr[F_PROTOCOL_FLOW_EMA, n] = ((1.0 - a) * fr[F_PROTOCOL_FLOW_EMA, n]
                                              + a * ir[I_PROTOCOL_FLOW_ACC, n])
                ir[I_FLOW_ACC, n] = 0
                ir[I_PROTOCOL_FLOW_ACC, n] = 0
    tr = p.tao_weight * float(g[G_ROOT_STAKE])
    rule = p.injection_rule
    root_caps = rule == CAP_ROOT_PROP
    if tr == 0.0:  # no root stake: rho = 0 exactly (tr / den = 0), no conversion or division
        rho[:] = 0.0
        if root_caps:
            buy_out[:] = 0.0
    elif root_caps:  # HEAD's caps here, for speed (buy_out is free until 4c)
        for n in range(n_sub):
            den = tr + float(ain[n] + aout[n])
            rho_n = tr / den if den > 0.0 else 0.0
            rho[n] = rho_n
            buy_out[n] = rho_n * float(alpha_em[n])
    else:
        for n in range(n_sub):
            den = tr + float(ain[n] + aout[n])
            rho[n] = tr / den if den > 0.0 else 0.0
    if p.share_rule == PRICE_BURN and not (p.emission_enabled_flag and any_disabled):
        # compute_shares inlined for HEAD's rule, for speed: e_arr and ema_sum above are its
        # masked EMAs and their total, and the first normalisation is folded into the weight
        # pass ((ema / total) * f: the same operations in the same order)
        mb = fr[F_MINER_BURNED]
        if ema_sum > 0.0:
            for n in range(n_sub):
                share[n] = (e_arr[n] / ema_sum) * (1.0 - min(mb[n], 1.0))
        else:
            for n in range(n_sub):
                share[n] = e_arr[n] * (1.0 - min(mb[n], 1.0))
        wsum = lane_sum(share)
        if wsum > 0.0:
            for n in range(n_sub):
                share[n] /= wsum
        else:  # every weight is zero: fall back to the price shares
            for n in range(n_sub):
                share[n] = e_arr[n] / ema_sum if ema_sum > 0.0 else e_arr[n]
    else:
        compute_shares(p.share_rule, eligible, enabled, p.emission_enabled_flag, ema,
                       fr[F_MINER_BURNED], rho, fr[F_FLOW_EMA], fr[F_PROTOCOL_FLOW_EMA],
                       p.tao_flow_cutoff, p.flow_norm_exponent, share)
    root_to_pending = (not p.root_sell_flag) or ema_sum > 1.0
    # 4a. injection terms (spec 4.1), floored to RAO
    f_share = fr[F_SHARE]
    f_em = fr[F_TAO_EMISSION]
    f_cum = fr[F_CUM_TAO_EMISSION]
    for n in range(n_sub):  # E_i and its records
        sh = share[n]
        en = em_f * sh if eligible[n] else 0.0
        e_arr[n] = en
        f_share[n] = sh
        f_em[n] = en
        f_cum[n] += en
    # one loop per rule, with the rule a compile-time constant (a rule tested inside the loop
    # keeps it scalar); LAUNCH needs the eligibility mask (alpha_in = alpha_em when p = 0)
    if rule == LAUNCH:
        for n in range(n_sub):
            ti, ai, ex = subnet_terms(LAUNCH, e_arr[n], price[n], float(alpha_em[n]), rho[n],
                                      em_f)
            ok = eligible[n]
            tao_in_a[n], alpha_in_a[n], excess_a[n] = _floors(ti if ok else 0.0,
                                                              ai if ok else 0.0,
                                                              ex if ok else 0.0)
    elif rule == SUBSIDY:
        for n in range(n_sub):
            ti, ai, ex = subnet_terms(SUBSIDY, e_arr[n], price[n], float(alpha_em[n]), rho[n],
                                      em_f)
            ok = eligible[n]
            tao_in_a[n], alpha_in_a[n], excess_a[n] = _floors(ti if ok else 0.0,
                                                              ai if ok else 0.0,
                                                              ex if ok else 0.0)
    else:
        caps = buy_out  # free until 4c
        if rule == CAP_ALPHA_EMISSION:
            for n in range(n_sub):
                caps[n] = float(alpha_em[n])
        elif rule == CAP_BLOCK_EMISSION:
            for n in range(n_sub):
                caps[n] = min(float(alpha_em[n]), em_f)
        # CAP_ROOT_PROP: caps written with the root proportion above
        for n in range(n_sub):
            en = e_arr[n]
            pn = price[n]
            ratio = en / pn if pn > 0.0 else 0.0
            cap = caps[n]
            capped = ratio > cap
            ai = cap if capped else ratio
            ti = cap * pn if capped else en
            ex = en - ti if capped else 0.0
            # E_i = 0 when not eligible, so then ti = ai = ex = 0 (caps and prices are >= 0)
            tao_in_a[n], alpha_in_a[n], excess_a[n] = _floors(ti, ai, ex)
    # 4b. balancer weights: price-preserving injection, rejected outside the bounds (written to
    # second rows: a loop that rewrites its input in place becomes masked stores, slow on AVX2)
    if p.pool_model == BALANCER:
        lo = p.min_quote_weight
        hi = p.max_quote_weight
        tao_in_b = si[J_TAO_IN_B]
        alpha_in_b = si[J_ALPHA_IN_B]
        for n in range(n_sub):
            ti = tao_in_a[n]
            ai = alpha_in_a[n]
            y = float(tao[n])
            x = float(ain[n])
            w2 = w2s[n]
            num = w2 * x * (y + float(ti))
            den = (1.0 - w2) * y * (x + float(ai)) + num
            w_new = num / den if den > 0.0 else w2
            inj = (ti > 0) | (ai > 0)
            bad = inj & ((w_new < lo) | (w_new > hi))
            tao_in_b[n] = 0 if bad else ti
            alpha_in_b[n] = 0 if bad else ai
            w2s[n] = w_new if inj & (not bad) else w2
        tao_in_a = tao_in_b
        alpha_in_a = alpha_in_b
    # 4c. fee-less chain buys with the excess on the pre-injection reserves: the small-trade
    # series for every subnet, exact libm powers for the rare large trades, then the guards
    for n in range(n_sub):
        y = float(tao[n])
        x = float(ain[n])
        dy = float(excess_a[n])
        w2 = w2s[n]
        ew = w2 / (1.0 - w2)
        u = dy / y if y > 0.0 else 0.0
        lin = x * dy / (y + dy) if y + dy > 0.0 else 0.0
        ser = x * -expm1_small(-ew * log1p_small(u))
        buy_out[n] = x if y <= 0.0 else (lin if ew == 1.0 else ser)
    n_large = 0
    for n in range(n_sub):  # the series is exact for u < SMALL and ew < 2 (w2 < 2/3)
        w2 = w2s[n]
        large = ((excess_a[n] > 0) & (w2 != 0.5)
                 & ((float(excess_a[n]) >= SMALL * float(tao[n])) | (3.0 * w2 >= 2.0)))
        n_large += 1 if large else 0
    any_large = n_large > 0
    if any_large:
        for n in range(n_sub):
            if excess_a[n] > 0:
                buy_out[n] = alpha_out_for_tao_in(float(tao[n]), float(ain[n]), w2s[n],
                                                  float(excess_a[n]))
    # the guards, one loop per pool model (a test of the model inside the loop is not hoisted)
    if p.pool_model == BALANCER:
        x_min = p.minimum_reserve
        mult = p.max_input_multiple
        for n in range(n_sub):
            ex = excess_a[n]
            x = ain[n]
            y = tao[n]
            out = buy_out[n]
            out_i = int(out) if out > 0.0 else 0
            ok = ((ex > 0) & (x > 0) & (out_i > 0) & (out_i <= x) & (x >= x_min)
                  & ((y <= 0) | (ex <= mult * y)))
            bought_a[n] = out_i if ok else 0
            excess_a[n] = ex if ok else 0  # a rejected buy's excess is recycled as unspent credit
    else:
        liq = p.min_pool_liquidity if p.pool_model == CONSTANT_PRODUCT else 0
        for n in range(n_sub):
            ex = excess_a[n]
            x = ain[n]
            out = buy_out[n]
            out_i = int(out) if out > 0.0 else 0
            ok = (ex > 0) & (x > 0) & (out_i > 0) & (out_i <= x) & (x - out_i >= liq)
            bought_a[n] = out_i if ok else 0
            excess_a[n] = ex if ok else 0
    # 5. apply injection and chain buys; mint alpha_out and split it (root proportion after
    # minting) into the pending buckets
    # Small loops over a few arrays each: with every field a view of one buffer, LLVM only
    # vectorises a loop whose runtime alias checks stay few.
    protocol_keeps = p.bought_alpha == BOUGHT_PROTOCOL and p.injection_rule != SUBSIDY
    sold_each_block = p.root_dividends == SOLD_EACH_BLOCK
    spent = 0
    for n in range(n_sub):  # reserves and the TAO actually spent
        ti = tao_in_a[n]
        ex = excess_a[n]
        tao[n] += ex + ti
        ain[n] += alpha_in_a[n] - bought_a[n]
        spent += ti + ex
    if protocol_keeps:
        prot = ir[I_PROTOCOL_ALPHA]
        for n in range(n_sub):
            bo = bought_a[n]
            aout[n] += bo
            prot[n] += bo
    else:  # bought alpha burned/recycled (AlphaOut -= bought)
        rec = ir[I_ALPHA_RECYCLED]
        for n in range(n_sub):
            rec[n] += bought_a[n]
    c_ex = ir[I_CUM_EXCESS_TAO]
    c_bo = ir[I_CUM_CHAIN_BOUGHT]
    pfa = ir[I_PROTOCOL_FLOW_ACC]
    for n in range(n_sub):
        ex = excess_a[n]
        c_ex[n] += ex
        c_bo[n] += bought_a[n]
        pfa[n] += tao_in_a[n] + ex
    c_ti = ir[I_CUM_TAO_IN]
    c_ai = ir[I_CUM_ALPHA_IN]
    for n in range(n_sub):
        c_ti[n] += tao_in_a[n]
        c_ai[n] += alpha_in_a[n]
    l_ti = ir[I_LAST_TAO_IN]
    l_ai = ir[I_LAST_ALPHA_IN]
    l_ex = ir[I_LAST_EXCESS_TAO]
    for n in range(n_sub):
        l_ti[n] = tao_in_a[n]
        l_ai[n] = alpha_in_a[n]
        l_ex[n] = excess_a[n]
    minted = ir[I_ALPHA_MINTED]
    c_ao = ir[I_CUM_ALPHA_OUT]
    a_out_a = si[J_ALPHA_OUT]
    for n in range(n_sub):  # mint alpha_out
        a_out = alpha_em[n] if eligible[n] else 0
        a_out_a[n] = a_out
        aout[n] += a_out
        minted[n] += alpha_in_a[n] + a_out
        c_ao[n] += a_out
    # split it (root proportion after minting) into the pending buckets; the root part goes
    # straight to PendingRoot in the common case (one loop less), else to root_a for the
    # recycling or the per-block sell below
    p_own = ir[I_PENDING_OWNER]
    p_srv = ir[I_PENDING_SERVER]
    p_val = ir[I_PENDING_VALIDATOR]
    undist = ir[I_UNDISTRIBUTED_ALPHA]
    cut_f = p.owner_cut
    root_pending = root_to_pending and not sold_each_block
    if root_pending:
        root_dest = ir[I_PENDING_ROOT]
    else:
        root_dest = root_a
        root_a[:] = 0
    if tr != 0.0:
        for n in range(n_sub):
            a_out = a_out_a[n]
            den = tr + float(ain[n] + aout[n])
            rho_after = tr / den if den > 0.0 else 0.0
            cut_i, server_i, val_i, root_i = split_alpha_out(a_out, rho_after, cut_f)
            _book_split(n, a_out, cut_i, server_i, val_i, root_i, p_own, p_srv, p_val, undist,
                        root_dest)
    else:  # no root stake: the root proportion is exactly 0 (no conversion, no division)
        for n in range(n_sub):
            a_out = a_out_a[n]
            cut_i, server_i, val_i, root_i = split_alpha_out(a_out, 0.0, cut_f)
            _book_split(n, a_out, cut_i, server_i, val_i, root_i, p_own, p_srv, p_val, undist,
                        root_dest)
    if not root_to_pending:  # root-sell flag off: root alpha recycled
        rec = ir[I_ALPHA_RECYCLED]
        for n in range(n_sub):
            aout[n] -= root_a[n]
            rec[n] += root_a[n]
            root_a[n] = 0
    if root_to_pending and sold_each_block:  # launch era: root alpha sold every block
        for n in range(n_sub):
            root_i = root_a[n]
            if root_i <= 0:
                continue
            sold, got = protocol_sell(p.pool_model, tao[n], ain[n], w2s[n], root_i,
                                      p.min_price, p.min_pool_liquidity, p.minimum_reserve,
                                      p.max_input_multiple)
            aout[n] -= sold
            ain[n] += sold
            tao[n] -= got
            ir[I_PENDING_ROOT_TAO, n] += got
            ir[I_PENDING_ROOT, n] += root_i - sold
    unspent = em - spent
    if unspent > 0:
        g[G_TOTAL_ISSUANCE] -= unspent
        g[G_RECYCLED_TAO] += unspent
    # unspent < 0 (floors make it impossible): TAO from nowhere; reported, the run stops
    overspent = -unspent if unspent < 0 else 0
    # 6. epochs (an epoch only moves its own subnet's reserves)
    tempo = ir[I_TEMPO]
    last = ir[I_LAST_EPOCH_BLOCK]
    due_at = si[J_DUE]
    n_due = n_sub  # legacy: the scalar loop below decides, visiting every subnet
    if p.epoch_schedule != LEGACY:  # a branch-free count first: most blocks have no epoch
        n_due = 0
        for n in range(n_sub):
            n_due += 1 if (exists[n] != 0) & (tempo[n] > 0) & (block - last[n] >= tempo[n]) else 0
        if n_due > 0:  # for speed: collect the due netuids (branch-free) and visit only those
            k = 0
            for n in range(n_sub):
                due_at[k] = n
                k += 1 if (exists[n] != 0) & (tempo[n] > 0) & (block - last[n] >= tempo[n]) else 0
            # at most MaxEpochsPerBlock of them, in netuid order; the rest wait a block
            n_due = min(n_due, max(p.max_epochs_per_block, 0))
    for k in range(n_due):
        if p.epoch_schedule == LEGACY:
            n = k
            if exists[n] == 0 or not legacy_due(n + 1, tempo[n], block):
                continue
        else:
            n = due_at[k]
        last[n] = block
        ir[I_EPOCH_COUNT, n] += 1
        if has_neurons:
            distribute_epoch_uids(ir, fr, g, n, block, p, nints[n], nfloats[n], nperm[n],
                                  nweights[n], nbonds[n], nhyper[n], work)
        else:
            distribute_epoch(ir, fr, g, n, p.delegate_take, p.miner_burn_recycles,
                             p.root_dividends, p.root_claim_swap_fraction, p.pool_model,
                             p.min_price, p.min_pool_liquidity, p.minimum_reserve,
                             p.max_input_multiple)
    # 7. moving prices after emission; the end-of-block price is the next block's start price
    # (the rule is chosen outside the loop: a ramp's start block comes from one row, as
    # RAMP_REGISTRATION's ``block - start``; RAMP_START_CALL's ``block - (FirstEmission - 1)``
    # is that with start = FirstEmission - 1)
    if p.ema_rule == PLAIN:
        for n in range(n_sub):
            spot = spot_price(float(tao[n]), float(ain[n]), w2s[n])
            price[n] = spot
            new = ema_step(PLAIN, ema[n], spot, block, 0, 0, p.subnet_moving_alpha,
                           p.ema_price_halving_blocks)
            ema[n] = new if eligible[n] else ema[n]
    else:
        start = ir[I_REGISTERED_AT] if p.ema_rule == RAMP_REGISTRATION else fe
        shift = 0 if p.ema_rule == RAMP_REGISTRATION else 1
        for n in range(n_sub):
            spot = spot_price(float(tao[n]), float(ain[n]), w2s[n])
            price[n] = spot
            new = ema_step(RAMP_REGISTRATION, ema[n], spot, block, start[n] - shift, 0,
                           p.subnet_moving_alpha, p.ema_price_halving_blocks)
            ema[n] = new if eligible[n] else ema[n]
    return overspent


@njit(cache=True, error_model="numpy", inline="always")
def _advance_run(r: int, ints_fm: NDArray[np.int64], floats_fm: NDArray[np.float64],
                 gints: NDArray[np.int64], start_block: int, n_blocks: int,
                 p, thresholds: NDArray[np.int64],
                 err: NDArray[np.int64], has_neurons: bool, nints: NDArray[np.int64],
                 nfloats: NDArray[np.float64], nperm: NDArray[np.bool_],
                 nweights: NDArray[np.uint16], nbonds: NDArray[np.uint16],
                 nhyper: NDArray[np.int64]) -> None:
    """The blocks of run ``r``: the body of :func:`advance`'s parallel loop (inlined there).

    Measured alternatives (docs/performance.md, "Compile time"): called as a function of its
    own, the kernel compiles in ~22% less time but the chain-only block runs ~10% slower; in a
    serial kernel without ``prange``, ~40% less compile time and ~40% slower. Inside the
    parallel loop it compiles to the fastest code, so it stays there."""
    if err[r, 0] != ERR_NONE:
        return
    n_sub = ints_fm.shape[2]
    ir = ints_fm[r]
    fr = floats_fm[r]
    g = gints[r]
    eligible = np.zeros(n_sub, dtype=np.bool_)
    enabled = np.zeros(n_sub, dtype=np.bool_)
    sf = np.zeros((N_SCRATCH_F, n_sub))
    si = np.zeros((N_SCRATCH_I, n_sub), dtype=np.int64)
    for n in range(n_sub):
        sf[S_PRICE, n] = spot_price(float(ir[I_TAO_RESERVE, n]), float(ir[I_ALPHA_IN, n]),
                                    fr[F_QUOTE_WEIGHT, n])
    rn = r if has_neurons else 0
    work = epoch_work(nints.shape[3])
    ni_r, nf_r, np_r = nints[rn], nfloats[rn], nperm[rn]  # views made once per run
    nw_r, nb_r, nh_r = nweights[rn], nbonds[rn], nhyper[rn]
    for k in range(n_blocks):
        block = start_block + 1 + k
        overspent = _block(ir, fr, g, block, p, thresholds, eligible, enabled, sf, si,
                           has_neurons, ni_r, nf_r, np_r, nw_r, nb_r, nh_r, work)
        if overspent > 0:  # checked always: it costs one comparison per block
            err[r, 0] = ERR_OVERSPENT
            err[r, 1] = block
            err[r, 2] = 0
            err[r, 3] = overspent
            break
        if p.check_invariants and not _books_balance(ir, g):
            _check_run(ir, g, r, block, err)  # names the first broken identity
            break


@njit(cache=True, parallel=True, error_model="numpy")
def advance(ints_fm: NDArray[np.int64], floats_fm: NDArray[np.float64],
            gints: NDArray[np.int64], start_block: int, n_blocks: int,
            p, thresholds: NDArray[np.int64],
            err: NDArray[np.int64], has_neurons: bool, nints: NDArray[np.int64],
            nfloats: NDArray[np.float64], nperm: NDArray[np.bool_],
            nweights: NDArray[np.uint16], nbonds: NDArray[np.uint16],
            nhyper: NDArray[np.int64]) -> None:
    """Run blocks ``start_block + 1 .. start_block + n_blocks`` on every run, in place.

    ``ints_fm``/``floats_fm`` are the field-major storage (``ChainState.ints_fm``,
    ``ChainState.floats_fm``). ``err`` (``int64[runs, 4]``) receives ``(code, block, netuid,
    value)`` for a run whose invariants failed or whose emission was over-spent (checked even
    without ``check_invariants``); that run stops at the failing block. Runs
    already in error are skipped. With ``has_neurons`` the epochs run Yuma and pay UIDs
    (:mod:`dtaosim.chain.epoch_uids`) on the ``NeuronState`` arrays ``nints`` ... ``nhyper``
    (leading axes runs x subnets); without, those are placeholders of one run and subnet.
    Runs are spread over the threads (``prange``); each runs :func:`_advance_run` (inlined).
    """
    for r in prange(ints_fm.shape[0]):
        _advance_run(np.int64(r), ints_fm, floats_fm, gints, start_block, n_blocks, p,
                     thresholds, err, has_neurons, nints, nfloats, nperm, nweights, nbonds,
                     nhyper)
