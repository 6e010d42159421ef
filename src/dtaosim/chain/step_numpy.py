"""Plain-NumPy per-block step: the readable reference for :mod:`.kernel`.

One call advances every run by one block, vectorised over ``(runs, subnets)`` with NumPy; the
Python loop is over blocks only. It implements the same mechanisms in the same order as the
compiled kernel, and the test-suite checks both give the same state. It is also the
"plain NumPy per-block loop" of the performance comparison (``benchmarks/``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from dtaosim.chain.curves import SMALL
from dtaosim.chain.emission import halving_thresholds
from dtaosim.chain.injection import subnet_terms_numpy
from dtaosim.chain.presets import (
    BoughtAlpha,
    EpochSchedule,
    InjectionRule,
    Mechanism,
    PoolModel,
    RootDividends,
    ShareRule,
)
from dtaosim.chain.price_ema import ema_step_numpy
from dtaosim.chain.shares import shares_numpy
from dtaosim.chain.summation import lane_sum_rows
from dtaosim.errors import InvariantViolation
from dtaosim.state.chain_state import GI, SF, SI, ChainState

_THRESH_CACHE: dict[int, NDArray[np.int64]] = {}


def _emission(issuance: NDArray[np.int64], m: Mechanism) -> NDArray[np.int64]:
    t = _THRESH_CACHE.get(m.total_supply)
    if t is None:
        t = _THRESH_CACHE.setdefault(m.total_supply, halving_thresholds(m.total_supply))
    k = np.searchsorted(t, issuance, side="right")
    out = np.where(k >= 62, 0, np.int64(m.default_block_emission) >> np.minimum(k, 62))
    return np.where(issuance >= m.total_supply, 0, out).astype(np.int64)


def _price(y: NDArray, x: NDArray, w2: NDArray) -> NDArray[np.float64]:
    xf = x.astype(np.float64)
    return np.where(xf > 0, ((1.0 - w2) * y) / (w2 * np.where(xf > 0, xf, 1.0)), 0.0)


def _one_minus_ratio_pow(u: NDArray, e: NDArray) -> NDArray[np.float64]:
    """NumPy twin of :func:`.curves.one_minus_ratio_pow` (same operations, same order)."""
    t = -e * (u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * (0.2 - u * (1.0 / 6.0)))))))
    small = -(t * (1.0 + t * (0.5 + t * (1.0 / 6.0 + t * (1.0 / 24.0 + t * (1.0 / 120.0
                                                                         + t * (1.0 / 720.0)))))))
    with np.errstate(invalid="ignore"):
        big = -np.expm1(-e * np.log1p(u))
    return np.where((u < SMALL) & (e < 2.0), small, big)


def _buy_out(y: NDArray, x: NDArray, w2: NDArray, dy: NDArray) -> NDArray[np.float64]:
    yf, xf, dyf = y.astype(np.float64), x.astype(np.float64), dy.astype(np.float64)
    e = w2 / (1.0 - w2)
    safe_y = np.where(yf > 0, yf, 1.0)
    lin = xf * dyf / np.where(yf + dyf > 0, yf + dyf, 1.0)
    gen = xf * _one_minus_ratio_pow(dyf / safe_y, e)
    out = np.where(e == 1.0, lin, gen)
    out = np.where(yf <= 0, xf, out)
    return np.where((dyf <= 0) | (xf <= 0), 0.0, out)


def _sell_out(y: NDArray, x: NDArray, w2: NDArray, dx: NDArray) -> NDArray[np.float64]:
    yf, xf, dxf = y.astype(np.float64), x.astype(np.float64), dx.astype(np.float64)
    e = (1.0 - w2) / w2
    safe_x = np.where(xf > 0, xf, 1.0)
    lin = yf * dxf / np.where(xf + dxf > 0, xf + dxf, 1.0)
    gen = yf * _one_minus_ratio_pow(dxf / safe_x, e)
    out = np.where(e == 1.0, lin, gen)
    out = np.where(xf <= 0, yf, out)
    return np.where((dxf <= 0) | (yf <= 0), 0.0, out)


def _floor_pos(v: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.where(v > 0, np.floor(np.where(v > 0, v, 0.0)), 0).astype(np.int64)


def _protocol_buy(m: Mechanism, y, x, w2, tao):
    out = _floor_pos(_buy_out(y, x, w2, tao))
    ok = (tao > 0) & (x > 0) & (out > 0) & (out <= x)
    if m.pool_model == PoolModel.BALANCER:
        ok &= (x >= m.minimum_reserve) & ~((y > 0) & (tao > m.max_input_multiple * y))
    if m.pool_model == PoolModel.CONSTANT_PRODUCT:
        ok &= x - out >= m.min_pool_liquidity
    return np.where(ok, out, 0)


def _protocol_sell(m: Mechanism, y, x, w2, alpha):
    af = alpha.astype(np.float64)
    out_f = _sell_out(y, x, w2, af)
    binds = _price(y - out_f, x + af, w2) < m.min_price
    if binds.any():
        p = _price(y, x, w2)
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(
                m.min_price <= 0, np.inf,
                np.where(p <= m.min_price, 0.0,
                         x * np.expm1(w2 * np.log(np.where(p > 0, p, 1.0) / m.min_price))))
        dx = np.where(binds, np.floor(room), af)
        out_f = np.where(binds, _sell_out(y, x, w2, np.maximum(dx, 0.0)), out_f)
    else:
        dx = af
    out = _floor_pos(out_f)
    ok = (alpha > 0) & (y > 0) & (dx > 0) & (out > 0) & (out <= y)
    if m.pool_model == PoolModel.BALANCER:
        ok &= (y >= m.minimum_reserve) & ~((x > 0) & (dx > m.max_input_multiple * x))
    if m.pool_model == PoolModel.CONSTANT_PRODUCT:
        ok &= y - out >= m.min_pool_liquidity
    return np.where(ok, dx, 0).astype(np.int64), np.where(ok, out, 0)


def step_numpy(state: ChainState, m: Mechanism) -> None:
    """Advance every run of ``state`` by one block, in place (NumPy reference)."""
    block = state.block + 1
    I, F, G = state.ints, state.floats, state.gints  # noqa: E741
    ex = I[:, :, SI.EXISTS] != 0
    # 1. UID burn decay (exact Q32 product via 32-bit halves)
    if block > 1:
        burn = I[:, :, SI.NEURON_BURN].astype(np.uint64)
        f = I[:, :, SI.BURN_FACTOR_Q32].astype(np.uint64)
        hi, lo = burn >> np.uint64(32), burn & np.uint64(0xFFFFFFFF)
        dec = (hi * f + ((lo * f) >> np.uint64(32))).astype(np.int64)
        dec = np.clip(dec, m.min_burn, m.max_burn)
        I[:, :, SI.NEURON_BURN] = dec  # every slot: a new subnet's burn is set at registration
    # 2. TAO emission
    iss = G[:, GI.TOTAL_ISSUANCE]
    em = np.minimum(_emission(iss, m), np.maximum(m.total_supply - iss, 0))
    G[:, GI.TOTAL_ISSUANCE] += em
    G[:, GI.MINTED_TAO] += em
    G[:, GI.BLOCK_EMISSION] = em
    # 3. eligibility, flows, shares
    fe = I[:, :, SI.FIRST_EMISSION_BLOCK]
    elig = ex & (fe >= 0) & (block >= fe) & (I[:, :, SI.REGISTRATION_ALLOWED] != 0)
    issued = I[:, :, SI.ALPHA_IN] + I[:, :, SI.ALPHA_OUT]
    root = G[:, GI.ROOT_STAKE].astype(np.float64)[:, None]
    tr = m.tao_weight * root
    rho = np.where(tr + issued > 0, tr / np.where(tr + issued > 0, tr + issued, 1.0), 0.0)
    alpha_em = _emission(issued, m)
    ema_before = F[:, :, SF.PRICE_EMA].copy()
    if m.share_rule in (ShareRule.TAO_FLOW, ShareRule.NET_FLOW):
        a = m.flow_ema_smoothing
        F[:, :, SF.FLOW_EMA] = np.where(
            elig, (1 - a) * F[:, :, SF.FLOW_EMA] + a * I[:, :, SI.FLOW_ACC], F[:, :, SF.FLOW_EMA])
        F[:, :, SF.PROTOCOL_FLOW_EMA] = np.where(
            elig, (1 - a) * F[:, :, SF.PROTOCOL_FLOW_EMA] + a * I[:, :, SI.PROTOCOL_FLOW_ACC],
            F[:, :, SF.PROTOCOL_FLOW_EMA])
        I[:, :, SI.FLOW_ACC] = np.where(elig, 0, I[:, :, SI.FLOW_ACC])
        I[:, :, SI.PROTOCOL_FLOW_ACC] = np.where(elig, 0, I[:, :, SI.PROTOCOL_FLOW_ACC])
    share = shares_numpy(int(m.share_rule), elig, I[:, :, SI.EMISSION_ENABLED] != 0,
                         m.emission_enabled_flag, ema_before, F[:, :, SF.MINER_BURNED], rho,
                         F[:, :, SF.FLOW_EMA], F[:, :, SF.PROTOCOL_FLOW_EMA], m.tao_flow_cutoff,
                         m.flow_norm_exponent)
    ema_sum = lane_sum_rows(np.where(elig, ema_before, 0.0))
    root_to_pending = np.broadcast_to((not m.root_sell_flag) | (ema_sum > 1.0), elig.shape)
    F[:, :, SF.SHARE] = share
    # 4. injection and chain buys
    e = em.astype(np.float64)[:, None] * share
    F[:, :, SF.TAO_EMISSION] = np.where(elig, e, 0.0)
    F[:, :, SF.CUM_TAO_EMISSION] += np.where(elig, e, 0.0)
    y, x = I[:, :, SI.TAO_RESERVE].copy(), I[:, :, SI.ALPHA_IN].copy()
    w2 = F[:, :, SF.QUOTE_WEIGHT].copy()
    price = _price(y, x, w2)
    tao_in_f, alpha_in_f, excess_f = subnet_terms_numpy(
        int(m.injection_rule), e, price, alpha_em.astype(np.float64), rho,
        em.astype(np.float64)[:, None])
    tao_in = np.where(elig, _floor_pos(tao_in_f), 0)
    alpha_in = np.where(elig, _floor_pos(alpha_in_f), 0)
    excess = np.where(elig, _floor_pos(excess_f), 0)
    if m.pool_model == PoolModel.BALANCER:
        inj = (tao_in > 0) | (alpha_in > 0)
        num = w2 * x * (y + tao_in.astype(np.float64))
        den = (1.0 - w2) * y * (x + alpha_in.astype(np.float64)) + num
        w_new = np.where(den > 0, num / np.where(den > 0, den, 1.0), w2)
        bad = inj & ((w_new < m.min_quote_weight) | (w_new > m.max_quote_weight))
        tao_in = np.where(bad, 0, tao_in)
        alpha_in = np.where(bad, 0, alpha_in)
        w2 = np.where(inj & ~bad, w_new, w2)
        F[:, :, SF.QUOTE_WEIGHT] = w2
    bought = np.where(excess > 0, _protocol_buy(m, y, x, w2, excess), 0)
    excess = np.where(bought > 0, excess, 0)
    I[:, :, SI.TAO_RESERVE] += excess + tao_in
    I[:, :, SI.ALPHA_IN] += alpha_in - bought
    if m.bought_alpha == BoughtAlpha.PROTOCOL and m.injection_rule != InjectionRule.SUBSIDY:
        I[:, :, SI.ALPHA_OUT] += bought
        I[:, :, SI.PROTOCOL_ALPHA] += bought
    else:
        I[:, :, SI.ALPHA_RECYCLED] += bought
    I[:, :, SI.PROTOCOL_FLOW_ACC] += excess + tao_in
    I[:, :, SI.CUM_EXCESS_TAO] += excess
    I[:, :, SI.CUM_CHAIN_BOUGHT] += bought
    I[:, :, SI.CUM_TAO_IN] += tao_in
    I[:, :, SI.CUM_ALPHA_IN] += alpha_in
    I[:, :, SI.LAST_TAO_IN] = tao_in
    I[:, :, SI.LAST_ALPHA_IN] = alpha_in
    I[:, :, SI.LAST_EXCESS_TAO] = excess
    unspent = em - (excess + tao_in).sum(axis=1)
    if (unspent < 0).any():  # floors make it impossible: TAO from nowhere stops the run
        r = int(np.flatnonzero(unspent < 0)[0])
        raise InvariantViolation(
            "TAO injected and spent on subnets > the block's emission (over-spent)", block, r,
            -1, f"off by {-int(unspent[r])} RAO")
    G[:, GI.TOTAL_ISSUANCE] -= unspent
    G[:, GI.RECYCLED_TAO] += unspent
    # 5. alpha_out and its split
    a_out = np.where(elig, alpha_em, 0)
    I[:, :, SI.ALPHA_OUT] += a_out
    I[:, :, SI.ALPHA_MINTED] += alpha_in + a_out
    I[:, :, SI.CUM_ALPHA_OUT] += a_out
    issued_after = (I[:, :, SI.ALPHA_IN] + I[:, :, SI.ALPHA_OUT]).astype(np.float64)
    rho2 = np.where(tr + issued_after > 0,
                    tr / np.where(tr + issued_after > 0, tr + issued_after, 1.0), 0.0)
    cut = a_out * m.owner_cut
    cut_i = _floor_pos(cut)
    server = (a_out - cut) * 0.5
    rootf = rho2 * server
    server_i, val_i, root_i = _floor_pos(server), _floor_pos(server - rootf), _floor_pos(rootf)
    has = a_out > 0
    cut_i, server_i = np.where(has, cut_i, 0), np.where(has, server_i, 0)
    val_i, root_i = np.where(has, val_i, 0), np.where(has, root_i, 0)
    I[:, :, SI.PENDING_OWNER] += cut_i
    I[:, :, SI.PENDING_SERVER] += server_i
    I[:, :, SI.PENDING_VALIDATOR] += val_i
    I[:, :, SI.UNDISTRIBUTED_ALPHA] += a_out - cut_i - server_i - val_i - root_i
    recycle = (root_i > 0) & ~root_to_pending
    I[:, :, SI.ALPHA_OUT] -= np.where(recycle, root_i, 0)
    I[:, :, SI.ALPHA_RECYCLED] += np.where(recycle, root_i, 0)
    to_pending = np.where((root_i > 0) & root_to_pending, root_i, 0)
    if m.root_dividends == RootDividends.SOLD_EACH_BLOCK:
        sold, tao = _protocol_sell(m, I[:, :, SI.TAO_RESERVE], I[:, :, SI.ALPHA_IN],
                                   F[:, :, SF.QUOTE_WEIGHT], to_pending)
        I[:, :, SI.ALPHA_OUT] -= sold
        I[:, :, SI.ALPHA_IN] += sold
        I[:, :, SI.TAO_RESERVE] -= tao
        I[:, :, SI.PENDING_ROOT_TAO] += tao
        I[:, :, SI.PENDING_ROOT] += to_pending - sold
    else:
        I[:, :, SI.PENDING_ROOT] += to_pending
    # 6. epochs
    if m.epoch_schedule == EpochSchedule.LEGACY:
        tempo = I[:, :, SI.TEMPO]
        due = ex & (tempo > 0) & (((block + state.netuids[None, :] + 1)
                                   % np.where(tempo > 0, tempo + 1, 1)) == tempo)
    else:
        want = ex & (I[:, :, SI.TEMPO] > 0) & (
            block - I[:, :, SI.LAST_EPOCH_BLOCK] >= I[:, :, SI.TEMPO])
        due = want & (np.cumsum(want, axis=1) <= m.max_epochs_per_block)
    if due.any():
        _distribute_numpy(state, m, due)
        I[:, :, SI.LAST_EPOCH_BLOCK] = np.where(due, block, I[:, :, SI.LAST_EPOCH_BLOCK])
        I[:, :, SI.EPOCH_COUNT] += due
    # 7. moving prices
    spot = _price(I[:, :, SI.TAO_RESERVE], I[:, :, SI.ALPHA_IN], F[:, :, SF.QUOTE_WEIGHT])
    new_ema = ema_step_numpy(int(m.ema_rule), F[:, :, SF.PRICE_EMA], spot, block,
                             I[:, :, SI.REGISTERED_AT], fe, m.subnet_moving_alpha,
                             m.ema_price_halving_blocks)
    F[:, :, SF.PRICE_EMA] = np.where(elig, new_ema, F[:, :, SF.PRICE_EMA])
    state.block = block


def _distribute_numpy(state: ChainState, m: Mechanism, due: NDArray[np.bool_]) -> None:
    I, F, G = state.ints, state.floats, state.gints  # noqa: E741

    def take(f: SI) -> NDArray[np.int64]:
        v = np.where(due, I[:, :, f], 0)
        I[:, :, f] -= v
        return v

    s, v, rt, o = (take(SI.PENDING_SERVER), take(SI.PENDING_VALIDATOR), take(SI.PENDING_ROOT),
                   take(SI.PENDING_OWNER))
    I[:, :, SI.STAKE_OWNER] += o
    I[:, :, SI.CUM_OWNER_CUT] += o
    frac = np.clip(F[:, :, SF.MINER_BURN_FRACTION], 0.0, 1.0)
    withheld = _floor_pos(s * frac)
    paid = s - withheld
    I[:, :, SI.STAKE_MINERS] += paid
    I[:, :, SI.CUM_MINER_PAID] += paid
    I[:, :, SI.CUM_MINER_BURNED] += withheld
    if m.miner_burn_recycles:
        I[:, :, SI.ALPHA_OUT] -= withheld
        I[:, :, SI.ALPHA_RECYCLED] += withheld
    else:
        I[:, :, SI.BURNED_ALPHA] += withheld
    F[:, :, SF.MINER_BURNED] = np.where(s > 0, withheld / np.where(s > 0, s, 1),
                                        F[:, :, SF.MINER_BURNED])
    I[:, :, SI.STAKE_STAKERS] += v
    I[:, :, SI.CUM_STAKER_PAID] += v
    if m.root_dividends == RootDividends.SOLD_EACH_BLOCK:
        t = np.where(due, I[:, :, SI.PENDING_ROOT_TAO], 0)
        G[:, GI.ROOT_STAKE] += t.sum(axis=1)
        I[:, :, SI.CUM_ROOT_SOLD_TAO] += t
        I[:, :, SI.PENDING_ROOT_TAO] -= t
        I[:, :, SI.STAKE_ROOT_KEPT] += rt
        I[:, :, SI.CUM_ROOT_DIVS] += rt
        return
    tk = _floor_pos(rt * m.delegate_take)
    I[:, :, SI.STAKE_STAKERS] += tk
    I[:, :, SI.ROOT_CLAIMABLE] += rt - tk
    I[:, :, SI.CUM_ROOT_DIVS] += rt
    claim = np.where(due, I[:, :, SI.ROOT_CLAIMABLE], 0)
    swap_part = np.where(claim > 0, _floor_pos(claim * m.root_claim_swap_fraction), 0)
    keep = claim - swap_part
    I[:, :, SI.STAKE_ROOT_KEPT] += keep
    I[:, :, SI.ROOT_CLAIMABLE] -= keep
    sold, tao = _protocol_sell(m, I[:, :, SI.TAO_RESERVE], I[:, :, SI.ALPHA_IN],
                               F[:, :, SF.QUOTE_WEIGHT], swap_part)
    I[:, :, SI.ROOT_CLAIMABLE] -= sold
    I[:, :, SI.ALPHA_OUT] -= sold
    I[:, :, SI.ALPHA_IN] += sold
    I[:, :, SI.TAO_RESERVE] -= tao
    G[:, GI.ROOT_STAKE] += tao.sum(axis=1)
    I[:, :, SI.PROTOCOL_FLOW_ACC] -= tao
    I[:, :, SI.CUM_ROOT_SOLD_TAO] += tao
