"""Batch stake operations: :func:`buy_batch` and :func:`sell_batch` swap every (run, subnet) at
once with the default limits, skipping what the chain would reject (see
:mod:`dtaosim.chain.pools`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtaosim.chain.pools.fees import _fee_bits, _mul_bits_arr
from dtaosim.chain.pools.limits import _limit_rao, _scaled_delta_arr
from dtaosim.chain.pools.models import PERQUINTILL, RAO, _alpha_out_arr, _model, _tao_out_arr
from dtaosim.chain.pools.stake import _check_holder, _min_add_amount
from dtaosim.chain.presets import Mechanism, PoolModel
from dtaosim.state.chain_state import GI, SF, SI, ChainState


def _batch_inputs(
    state: ChainState, mech: Mechanism, amounts: ArrayLike
) -> tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]
]:
    a = np.array(amounts, dtype=np.int64, copy=True)
    if a.shape != (state.runs, state.subnets):
        raise ValueError(f"amounts must have shape {(state.runs, state.subnets)}, got {a.shape}")
    y = np.ascontiguousarray(state.ints[:, :, SI.TAO_RESERVE])
    x = np.ascontiguousarray(state.ints[:, :, SI.ALPHA_IN])
    if _model(mech) == PoolModel.BALANCER:
        w = np.ascontiguousarray(state.floats[:, :, SF.QUOTE_WEIGHT], dtype=np.float64)
    else:
        w = np.full(a.shape, 0.5)
    valid = (a > 0) & (state.ints[:, :, SI.EXISTS] != 0)
    return a, y, x, w, valid


def _weights_q(w: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Perquintill-rounded weights as floats (matches :func:`_perquintill`)."""
    w2q = np.clip(np.round(w * PERQUINTILL), 1, PERQUINTILL - 1)
    return (PERQUINTILL - w2q) / PERQUINTILL, w2q / PERQUINTILL


def _budget(
    a: NDArray[np.int64], valid: NDArray[np.bool_], free: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Scale each run's valid requests down pro rata to its ``free_tao``."""
    a = np.where(valid, a, 0)
    total = a.sum(axis=1)
    free = np.maximum(free, 0)
    over = total > free
    if not over.any():
        return a
    ratio = np.where(over, free / np.where(total > 0, total, 1), 1.0)
    scaled = np.floor(a * ratio[:, None]).astype(np.int64)
    scaled = np.where(over[:, None], np.minimum(scaled, a), a)
    excess = np.maximum(scaled.sum(axis=1) - free, 0)
    if excess.any():
        rows = np.arange(a.shape[0])
        j = np.argmax(scaled, axis=1)
        scaled[rows, j] -= excess
    return scaled


def buy_batch(
    state: ChainState,
    mech: Mechanism,
    tao_amounts: ArrayLike,
    holder: SI = SI.STAKE_STAKERS,
) -> NDArray[np.int64]:
    """Stake TAO into every (run, subnet) at once (plain ``add_stake``, default limit).

    Parameters
    ----------
    state
        Chain state, modified in place.
    mech
        Mechanism.
    tao_amounts
        ``int64[runs, subnets]`` TAO to stake per entry (RAO, fee included); entries ``<= 0``
        and free slots are ignored.
    holder
        Alpha holder field credited.

    Returns
    -------
    numpy.ndarray
        ``int64[runs, subnets]`` alpha bought; 0 where the entry was skipped. Entries the chain
        would reject are skipped; a run asking for more than its ``free_tao`` is scaled down
        pro rata first (:mod:`dtaosim.chain.pools`). The result equals :func:`add_stake` called
        entry by entry with the (scaled) amounts.
    """
    h = _check_holder(holder)
    model = _model(mech)
    a, y, x, w, valid = _batch_inputs(state, mech, tao_amounts)
    if model == PoolModel.BALANCER:
        valid &= a <= mech.max_input_multiple * y
    valid &= a >= _min_add_amount(mech)
    a = _budget(a, valid, state.gints[:, GI.FREE_TAO])
    valid &= a >= _min_add_amount(mech)
    a = np.where(valid, a, 0)

    if model == PoolModel.CONSTANT_PRODUCT:
        fee = np.minimum(np.int64(mech.flat_stake_fee), a)
        net = a - fee
        out = _alpha_out_arr(y, x, w, net)
        floor_ok = x - _alpha_out_arr(y, x, w, a) >= int(mech.min_pool_liquidity)
        valid &= floor_ok & (out > 0)
        tao_in = a
    else:
        fee_bits, fee_lim_bits = _fee_bits(mech)
        fee = _mul_bits_arr(a, fee_bits)
        net = a - fee
        w1f, w2f = _weights_q(w)
        yf, xf = y.astype(np.float64), x.astype(np.float64)
        lim = float(_limit_rao(mech.max_price))
        if model == PoolModel.BALANCER:
            valid &= net <= mech.max_input_multiple * y
        valid &= x >= int(mech.minimum_reserve)
        valid &= (x <= 0) | (RAO * yf * w1f < lim * xf * w2f)
        out = _alpha_out_arr(y, x, w, net)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xo = (x - out).astype(np.float64)
            within = (xo <= 0) | (RAO * w1f * (yf + net) <= lim * w2f * xo)
            ratio = (lim * xf * w2f) / (RAO * yf * w1f)
        lim_net = _scaled_delta_arr(yf, w1f, np.where(valid & ~within, ratio, 1.0))
        hit = valid & ~within & (lim_net < net)
        lim_net_i = np.where(hit, lim_net, 0.0).astype(np.int64)
        net = np.where(hit, lim_net_i, net)
        fee = np.where(hit, _mul_bits_arr(lim_net_i, fee_lim_bits), fee)
        out = np.where(hit, _alpha_out_arr(y, x, w, lim_net_i), out)
        valid &= ~((net > 0) & (out == 0)) & (out <= x)
        valid &= (net >= int(mech.min_stake)) & (out > 0)
        tao_in = net + fee
    out = np.where(valid, out, 0)
    tao_in = np.where(valid, tao_in, 0)
    net = np.where(valid, net, 0)
    fee = np.where(valid, fee, 0)

    ints = state.ints
    ints[:, :, SI.ALPHA_IN] -= out
    ints[:, :, SI.ALPHA_OUT] += out
    ints[:, :, h] += out
    ints[:, :, SI.FLOW_ACC] += net
    state.gints[:, GI.FREE_TAO] -= tao_in.sum(axis=1)
    if model == PoolModel.CONSTANT_PRODUCT or not mech.fees_to_author:
        ints[:, :, SI.TAO_RESERVE] += tao_in
    else:
        ints[:, :, SI.TAO_RESERVE] += net
        fees = fee.sum(axis=1)
        state.gints[:, GI.FREE_TAO] += fees
        state.gints[:, GI.AUTHOR_FEES_TAO] += fees
    return out


def sell_batch(
    state: ChainState,
    mech: Mechanism,
    alpha_amounts: ArrayLike,
    holder: SI = SI.STAKE_STAKERS,
) -> NDArray[np.int64]:
    """Unstake alpha from every (run, subnet) at once (plain ``remove_stake``, default limit).

    Parameters
    ----------
    state
        Chain state, modified in place.
    mech
        Mechanism.
    alpha_amounts
        ``int64[runs, subnets]`` alpha to unstake per entry (RAO, fee included); entries
        ``<= 0`` and free slots are ignored.
    holder
        Alpha holder field debited.

    Returns
    -------
    numpy.ndarray
        ``int64[runs, subnets]`` TAO received (excluding the author's fee); 0 where skipped
        (more than the holder has, 1000x cap, remaining-stake min-stake rule, guards).
        Equals :func:`remove_stake` called entry by entry.
    """
    h = _check_holder(holder)
    model = _model(mech)
    a, y, x, w, valid = _batch_inputs(state, mech, alpha_amounts)
    held = state.ints[:, :, h]
    valid &= a <= held
    if model == PoolModel.BALANCER:
        valid &= a <= mech.max_input_multiple * x
    a = np.where(valid, a, 0)
    author = np.zeros_like(a)

    if model == PoolModel.CONSTANT_PRODUCT:
        tao = _tao_out_arr(y, x, w, a)
        valid &= (y - tao >= int(mech.min_pool_liquidity)) & (tao > int(mech.min_stake))
        fee = np.minimum(np.int64(mech.flat_stake_fee), tao)
        tao_out = tao - fee
        alpha_in = a
    else:
        fee_bits, fee_lim_bits = _fee_bits(mech)
        fee = _mul_bits_arr(a, fee_bits)
        net = a - fee
        w1f, w2f = _weights_q(w)
        yf, xf = y.astype(np.float64), x.astype(np.float64)
        lim = float(_limit_rao(mech.min_price))
        if model == PoolModel.BALANCER:
            valid &= net <= mech.max_input_multiple * x
        valid &= y >= int(mech.minimum_reserve)
        valid &= (x > 0) & (RAO * yf * w1f > lim * xf * w2f)
        tao_out = _tao_out_arr(y, x, w, net)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xn = (x + net).astype(np.float64)
            within = RAO * w1f * (yf - tao_out) >= lim * w2f * xn
            ratio = (RAO * yf * w1f) / (lim * xf * w2f)
        lim_net = _scaled_delta_arr(xf, w2f, np.where(valid & ~within, ratio, 1.0))
        hit = valid & ~within & (lim_net < net)
        lim_net_i = np.where(hit, lim_net, 0.0).astype(np.int64)
        net = np.where(hit, lim_net_i, net)
        fee = np.where(hit, _mul_bits_arr(lim_net_i, fee_lim_bits), fee)
        tao_out = np.where(hit, _tao_out_arr(y, x, w, lim_net_i), tao_out)
        valid &= ~((net > 0) & (tao_out == 0)) & (tao_out <= y)
        valid &= ~((held - a > 0) & (tao_out < int(mech.min_stake)))
        alpha_in = net + fee
        if mech.fees_to_author:
            y1 = y - tao_out
            x1 = x + net
            t = _tao_out_arr(y1, x1, w, fee)
            ok = (
                (y1 >= int(mech.minimum_reserve))
                & (x1 > 0)
                & (RAO * y1.astype(np.float64) * w1f > lim * x1.astype(np.float64) * w2f)
            )
            valid &= ~((fee > 0) & (~ok | (t == 0)))
            author = np.where(fee > 0, t, 0)
    tao_out = np.where(valid, tao_out, 0)
    alpha_in = np.where(valid, alpha_in, 0)
    author = np.where(valid, author, 0)

    ints = state.ints
    leaving = tao_out + author
    ints[:, :, h] -= alpha_in
    ints[:, :, SI.ALPHA_OUT] -= alpha_in
    ints[:, :, SI.ALPHA_IN] += alpha_in
    ints[:, :, SI.TAO_RESERVE] -= leaving
    ints[:, :, SI.FLOW_ACC] -= leaving
    state.gints[:, GI.FREE_TAO] += leaving.sum(axis=1)
    state.gints[:, GI.AUTHOR_FEES_TAO] += author.sum(axis=1)
    return tao_out


def move_root_stake(state: ChainState, tao: ArrayLike) -> NDArray[np.int64]:
    """Stake (``tao > 0``) or unstake (``tao < 0``) TAO on root (netuid 0) for every run.

    Root has no pool: TAO moves one to one between ``free_tao`` and ``root_stake`` (the chain's
    ``add_stake``/``remove_stake`` on netuid 0, no swap; the stake fee is negligible and
    ignored). Stakes are limited by ``free_tao`` and unstakes by ``root_stake``.

    Parameters
    ----------
    tao
        ``int64[runs]`` TAO to move onto root (RAO; negative: off root).

    Returns
    -------
    numpy.ndarray
        ``int64[runs]`` TAO moved (positive onto root).
    """
    g = state.gints
    t = np.asarray(tao, dtype=np.int64)
    moved = np.clip(t, -g[:, GI.ROOT_STAKE], g[:, GI.FREE_TAO])
    g[:, GI.ROOT_STAKE] += moved
    g[:, GI.FREE_TAO] -= moved
    return moved
