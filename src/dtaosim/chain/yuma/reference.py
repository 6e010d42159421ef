"""NumPy reference of the Yuma epoch, vectorised over the batch: float64, or exact ``I32F32``
fixed-point arithmetic at the chain's steps (see :mod:`dtaosim.chain.yuma`)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtaosim.chain.yuma.common import _MEDIAN_EPS, U16_MAX, YumaResult, _prepare

_ONE = 1 << 32  # 1.0 in I32F32 bits


class _Arith:
    """Float64 arithmetic, or exact ``I32F32`` arithmetic on Python-int bit patterns."""

    def __init__(self, fixed: bool) -> None:
        self.fx = fixed
        self.one: Any = _ONE if fixed else 1.0
        self.zero: Any = 0 if fixed else 0.0

    def mul(self, a: Any, b: Any) -> Any:
        return (a * b) >> 32 if self.fx else a * b

    def div(self, a: Any, b: Any) -> Any:
        """``a / b`` (``b`` non-zero); fixed: truncating ``(a << 32) / b``."""
        if not self.fx:
            return a / b
        q = (np.abs(a) << 32) // np.abs(b)
        neg = (np.asarray(a < 0) != np.asarray(b < 0))
        return np.where(neg, -q, q) if np.any(neg) else q

    def normalize(self, x: Any, axis: int) -> Any:
        """Divide by the sum along ``axis``; slices summing to zero are left unchanged."""
        s = np.sum(x, axis=axis, keepdims=True)
        return self.div(x, np.where(s == 0, self.one, s))

    def u16_prop(self, u: NDArray[np.int64]) -> Any:
        """``I32F32(u) / 65535``."""
        if self.fx:
            return _obj(u) * _ONE // U16_MAX
        return u.astype(np.float64) / U16_MAX

    def raw(self, x: NDArray[Any]) -> Any:
        """An integer-valued array taken as a number (``I32F32::from_num``)."""
        if self.fx:
            return _obj(x) << 32
        return x.astype(np.float64)

    def from_float(self, x: Any) -> Any:
        if not self.fx:
            return np.asarray(x, dtype=np.float64)
        a = np.asarray(x, dtype=np.float64)
        return _obj(np.rint(a * _ONE).astype(np.int64)).reshape(a.shape)

    def to_float(self, x: Any) -> NDArray[np.float64]:
        if not self.fx:
            return np.asarray(x, dtype=np.float64)
        return np.asarray(x, dtype=np.float64) / _ONE

    def floor_times(self, x: Any, e: NDArray[np.int64]) -> NDArray[np.int64]:
        """``floor(x * e)`` for ``e`` integer (the chain's I96F32 emission)."""
        if self.fx:
            return ((x * _obj(e)) >> 32).astype(np.int64)
        return np.floor(x * e.astype(np.float64)).astype(np.int64)

    def to_u16(self, x: Any) -> NDArray[np.uint16]:
        """``fixed_proportion_to_u16``: ``floor(x * 65535)`` saturated to ``[0, 65535]``."""
        if self.fx:
            v = (x * U16_MAX) >> 32
        else:
            v = np.floor(x * U16_MAX)
        return np.clip(np.asarray(v, dtype=np.float64), 0, U16_MAX).astype(np.uint16)


def _obj(a: ArrayLike) -> NDArray[np.object_]:
    arr = np.asarray(a)
    out = np.empty(arr.shape, dtype=object)
    out.ravel()[:] = [int(v) for v in arr.ravel()]
    return out


def _stake_bits(total: NDArray[np.float64], fixed: bool) -> Any:
    """Normalised stake: float, or ``I64F64`` normalisation floored to ``I32F32`` bits."""
    if not fixed:
        s = total.sum(axis=1, keepdims=True)
        return total / np.where(s == 0, 1.0, s)
    out = np.zeros(total.shape, dtype=object)
    for b in range(total.shape[0]):
        fr = [Fraction(float(v)) for v in total[b]]
        tot = sum(fr, Fraction(0))
        for i, v in enumerate(fr):
            out[b, i] = math.floor(v * _ONE / tot) if tot != 0 else math.floor(v * _ONE)
    return out


def _topk_nonzero(s: Any, valid: NDArray[np.bool_], k: NDArray[np.int64]) -> NDArray[np.bool_]:
    nb, n = valid.shape
    key = np.where(valid, s, -1)
    order = np.argsort(key, axis=1, kind="stable")
    rank = np.empty((nb, n), dtype=np.int64)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n), (nb, n)), axis=1)
    n_valid = valid.sum(axis=1)
    cut = (n - k)[:, None]
    keep = np.where((n_valid < k)[:, None], True, rank >= cut)
    return keep & valid & np.asarray(s != 0, dtype=np.bool_)


def _weighted_median_cols(ar: _Arith, a: Any, w: Any, kappa: Any) -> Any:
    """Column-wise stake-weighted median with majority ``kappa`` (``weighted_median_col_sparse``).

    ``a``: (B, n) active stake; ``w``: (B, n, n) normalised weights. Returns (B, n).
    """
    nb, n = a.shape
    act = np.asarray(a > 0, dtype=np.bool_)
    use = ar.normalize(np.where(act, a, ar.zero), axis=1)  # the chain renormalises
    vals = np.where(act[:, :, None], w, -1 if ar.fx else -1.0)
    order = np.argsort(vals, axis=1, kind="stable")[:, ::-1, :]  # descending values
    sv = np.take_along_axis(vals, order, axis=1)
    st = np.take_along_axis(np.broadcast_to(use[:, :, None], (nb, n, n)), order, axis=1)
    cs = np.cumsum(st, axis=1)
    kap = kappa[:, None, None]
    cond = np.asarray(cs >= kap, dtype=np.bool_) if ar.fx else cs >= kap - _MEDIAN_EPS
    count = act.sum(axis=1)[:, None]  # (B, 1)
    first = np.argmax(cond, axis=1)  # (B, n)
    kstar = np.where(cond.any(axis=1), first, np.maximum(count - 1, 0))
    kstar = np.minimum(kstar, np.maximum(count - 1, 0))
    med = np.take_along_axis(sv, kstar[:, None, :], axis=1)[:, 0, :]
    return np.where(count > 0, med, ar.zero)


def _liquid_alpha(ar: _Arith, wb: Any, bo: Any, c: Any, lo: Any, hi: Any,
                  steep: NDArray[np.int64]) -> Any:
    """Per-entry liquid alpha (``alpha_sigmoid``)."""
    zero, one = ar.zero, ar.one
    half = ar.one // 2 if ar.fx else 0.5
    cc = c[:, None, :]
    buy = np.minimum(np.maximum(wb - cc, zero), one)
    sell = np.minimum(np.maximum(bo - wb, zero), one)
    d = np.where(np.asarray(wb >= bo, dtype=np.bool_), buy, sell)
    if ar.fx:
        k = _obj(steep) << 32
        ks = ar.div(k, np.full(k.shape, -100 * _ONE, dtype=object))[:, None, None]
        arg = ar.mul(ks, d - half)
        argf = np.clip(ar.to_float(arg), -20.0, 20.0)
        e = ar.from_float(np.exp(argf))
        sig = ar.div(np.full(e.shape, _ONE, dtype=object), one + e)
    else:
        arg = np.clip(-(steep.astype(np.float64) / 100.0)[:, None, None] * (d - half), -20, 20)
        sig = 1.0 / (1.0 + np.exp(arg))
    lo3, hi3 = lo[:, None, None], hi[:, None, None]
    alpha = lo3 + ar.mul(sig, hi3 - lo3)
    return np.maximum(np.minimum(alpha, hi3), lo3)


def yuma_epoch_numpy(
    *,
    alpha_stake: ArrayLike,
    weights: ArrayLike,
    bonds: ArrayLike,
    validator_permit: ArrayLike,
    last_update: ArrayLike,
    block_at_registration: ArrayLike,
    block: ArrayLike,
    emission: ArrayLike,
    root_stake: ArrayLike | None = None,
    tao_weight: ArrayLike = 0.0,
    activity_cutoff: ArrayLike = 5000,
    last_tempo: ArrayLike = 0,
    kappa: ArrayLike = 32767,
    bonds_penalty: ArrayLike = 65535,
    bonds_moving_average: ArrayLike = 900_000,
    liquid_alpha: ArrayLike = False,
    alpha_low: ArrayLike = 45875,
    alpha_high: ArrayLike = 58982,
    alpha_sigmoid_steepness: ArrayLike = 1000,
    yuma3: ArrayLike = True,
    max_allowed_validators: ArrayLike = 64,
    stake_threshold: ArrayLike = 0,
    owner_uid: ArrayLike = -1,
    uid_mask: ArrayLike | None = None,
    weights_present: ArrayLike | None = None,
    commit_block: ArrayLike | None = None,
    fixed_point: bool = False,
) -> YumaResult:
    """Yuma epoch of ``B`` subnet-epochs in vectorised NumPy (the reference implementation).

    Parameters
    ----------
    alpha_stake : array_like, (B, n)
        Alpha stake weight per UID (RAO; inherited stake, spec 6.1).
    weights : array_like, (B, n, n)
        Stored weights, rows = validators, columns = targets: raw u16 values (row
        max-upscaled) or any non-negative floats (only ratios within a row matter).
    bonds : array_like of uint16, (B, n, n)
        Stored bonds in the subnet's convention (classic: column max-upscaled; Yuma 3:
        ``floor(b x 65535)``).
    validator_permit : array_like of bool, (B, n)
        Stored permits from the previous epoch (``P_old``).
    last_update, block_at_registration : array_like of int, (B, n)
        Block of each UID's last weight set, and of its registration.
    block : array_like of int, (B,)
        Current block.
    emission : array_like of int, (B,)
        ``E``, RAO to distribute (pending server + validator + root, spec 5.6).
    root_stake : array_like, (B, n), optional
        Root (TAO) stake weight per UID; combined as ``alpha + tao_weight x root``.
    tao_weight : array_like, (B,)
        Tao weight as a float (``TaoWeight / (2**64 - 1)``).
    activity_cutoff : array_like of int, (B,)
        UIDs with ``last_update + activity_cutoff < block`` are inactive.
    last_tempo : array_like of int, (B,)
        See :func:`last_tempo_block`; bonds to UIDs registered at or after it are dropped.
    kappa, bonds_penalty : array_like of int, (B,)
        u16 hyperparameters (``x / 65535``).
    bonds_moving_average : array_like of int, (B,)
        Parts per million; the EMA factor is ``1 - bma / 10**6``.
    liquid_alpha : array_like of bool, (B,)
        ``LiquidAlphaOn`` (Yuma 3 only).
    alpha_low, alpha_high : array_like of int, (B,)
        ``AlphaValues`` (u16).
    alpha_sigmoid_steepness : array_like of int, (B,)
        ``AlphaSigmoidSteepness`` (i16).
    yuma3 : array_like of bool, (B,)
        ``Yuma3On``: Yuma 3 bonds, else classic bonds.
    max_allowed_validators : array_like of int, (B,)
        ``k`` of the top-k permits.
    stake_threshold : array_like, (B,)
        Minimum stake weight (RAO) for a non-owner UID to count.
    owner_uid : array_like of int, (B,)
        UID of the subnet owner hotkey, or -1.
    uid_mask : array_like of bool, (B, n), optional
        Which UIDs exist (padding is False).
    weights_present : array_like of bool, (B, n, n), optional
        Which weight entries are stored (see :mod:`dtaosim.chain.yuma`); default ``weights > 0``.
    commit_block : array_like of int, (B, n), optional
        Commit-reveal: block of each validator's oldest unexpired commit (``2**63 - 1`` for
        none); weights to UIDs registered after it are dropped.
    fixed_point : bool
        Exact ``I32F32`` emulation (slow; see :mod:`dtaosim.chain.yuma`).

    Returns
    -------
    YumaResult
    """
    g = _prepare(alpha_stake, root_stake, tao_weight, validator_permit, weights, bonds,
                 last_update, block_at_registration, block, activity_cutoff, last_tempo, kappa,
                 bonds_penalty, bonds_moving_average, liquid_alpha, alpha_low, alpha_high,
                 alpha_sigmoid_steepness, yuma3, max_allowed_validators, stake_threshold,
                 owner_uid, emission, uid_mask, weights_present, commit_block)
    ar = _Arith(fixed_point)
    zero, one = ar.zero, ar.one
    nb, n = g.alpha.shape
    valid = g.uid_mask
    idx = np.arange(n)
    is_owner = (idx[None, :] == g.owner[:, None]) & valid

    # stake, threshold, normalisation
    total = np.where(valid, g.alpha + g.tao_weight[:, None] * g.root, 0.0)
    total = np.where((np.floor(total) < g.threshold[:, None]) & ~is_owner, 0.0, total)
    s = _stake_bits(total, fixed_point)

    # permits
    p_old = (g.permit & valid) | is_owner
    p_new = _topk_nonzero(s, valid, g.max_validators) | is_owner

    # active stake
    active = valid & ~(g.last_update + g.cutoff[:, None] < g.block[:, None])
    a = ar.normalize(np.where(active & p_old, s, zero), axis=1)

    # weights and their masks
    keep = valid[:, :, None] & valid[:, None, :] & p_old[:, :, None]
    diag = np.eye(n, dtype=np.bool_)[None] & ~is_owner[:, :, None]
    keep &= ~diag
    keep &= ~(g.last_update[:, :, None] <= g.reg[:, None, :])
    if g.commit_block is not None:
        keep &= ~(g.commit_block[:, :, None] < g.reg[:, None, :])
    present = (g.weights > 0) if g.present is None else g.present
    present = present & keep
    w = np.where(keep, ar.raw(g.weights) if g.weights.dtype == np.uint16
                 else ar.from_float(g.weights), zero)
    w = ar.normalize(w, axis=2)

    # consensus, clipping, trust, incentive
    kap = ar.u16_prop(g.kappa)
    c = _weighted_median_cols(ar, a, w, kap)
    wc = np.minimum(w, c[:, None, :])
    vtrust = np.sum(wc, axis=2)
    ranks = np.sum(ar.mul(a[:, :, None], wc), axis=1)
    inc = ar.normalize(ranks, axis=1)

    # weights for bonds (interpolate_sparse; presence follows the chain's sparse rows)
    beta = ar.u16_prop(g.bonds_penalty)[:, None, None]
    interp = w + ar.mul(beta, wc - w)
    wb = np.where(beta == 0, w, np.where(beta == one, wc, interp))
    clip_drop = np.asarray((c[:, None, :] < w) & (c[:, None, :] <= 0), dtype=np.bool_)
    wb_present = np.where(beta == 0, present,
                          np.where(beta == one, present & ~clip_drop,
                                   np.asarray(interp > 0, dtype=np.bool_)))

    # bonds
    col_reg_mask = (g.last_tempo[:, None] <= g.reg)[:, None, :] | ~valid[:, None, :] \
        | ~valid[:, :, None]
    bma = _bma_prop(ar, g.bma)  # (B,)
    alpha_fix = one - bma
    y3 = g.yuma3
    new_bonds = g.bonds.copy()
    div = np.zeros((nb, n), dtype=object if fixed_point else np.float64)
    if np.any(~y3):
        cl = ~y3
        bo = np.where(col_reg_mask, zero, ar.raw(g.bonds.astype(np.int64)))
        bo = ar.normalize(bo, axis=1)
        delta = ar.normalize(ar.mul(wb, a[:, :, None]), axis=1)
        af = alpha_fix[:, None, None]
        ema = ar.mul(af, delta) + ar.mul(one - af, bo)
        ema = np.where(ema > 0, ema, zero)
        ema = ar.normalize(ema, axis=1)
        d_cl = ar.normalize(np.sum(ar.mul(inc[:, None, :], ema), axis=2), axis=1)
        cmax = np.max(ema, axis=1, keepdims=True)
        up = ar.div(ema, np.where(cmax == 0, one, cmax))
        stored = ar.to_u16(up)
        div = np.where(cl[:, None], d_cl, div)
        new_bonds = np.where(cl[:, None, None], stored, new_bonds)
    if np.any(y3):
        bo = np.where(col_reg_mask, zero, ar.u16_prop(g.bonds.astype(np.int64)))
        lo = ar.u16_prop(g.alpha_low)
        hi = ar.u16_prop(g.alpha_high)
        use_liquid = g.liquid & np.any(c != 0, axis=1)
        alpha_liq = _liquid_alpha(ar, wb, bo, c, lo, hi, g.steepness)
        ema_liq = np.minimum(ar.mul(one - alpha_liq, bo) + np.maximum(ar.mul(alpha_liq, wb), zero),
                             one)
        ema_liq = np.where(wb_present & (ema_liq > 0), ema_liq, zero)
        af = alpha_fix[:, None, None]
        ema_fix = ar.mul(af, wb) + ar.mul(one - af, bo)
        ema_fix = np.where(ema_fix > 0, ema_fix, zero)
        ema = np.where(use_liquid[:, None, None], ema_liq, ema_fix)
        bnorm = ar.normalize(ema, axis=1)
        bval = np.sum(ar.mul(bnorm, inc[:, None, :]), axis=2)
        d_y3 = ar.normalize(ar.mul(bval, a), axis=1)
        stored = ar.to_u16(ema)
        div = np.where(y3[:, None], d_y3, div)
        new_bonds = np.where(y3[:, None, None], stored, new_bonds)
    # rows: P_new -> new bonds; P_old only -> cleared; otherwise unchanged
    new_bonds = np.where(p_new[:, :, None], new_bonds,
                         np.where(p_old[:, :, None], 0, g.bonds)).astype(np.uint16)

    # emission
    combined = inc + div
    esum = np.sum(combined, axis=1, keepdims=True)
    safe = np.where(esum == 0, one, esum)
    server = np.where(esum == 0, zero, ar.div(inc, safe))
    validator = ar.div(div, safe)
    comb = ar.normalize(combined, axis=1)
    a_zero = np.asarray(np.sum(a, axis=1, keepdims=True) == 0, dtype=np.bool_)
    fallback = np.where(a_zero, s, a)
    validator = np.where(esum == 0, fallback, validator)
    comb = np.where(esum == 0, fallback, comb)
    e = g.emission[:, None]
    return YumaResult(
        incentive=ar.to_float(inc), dividends=ar.to_float(div), consensus=ar.to_float(c),
        validator_trust=ar.to_float(vtrust), stake=ar.to_float(s),
        active_stake=ar.to_float(a), validator_permit=p_new, bonds=new_bonds,
        server_emission=ar.floor_times(server, e), validator_emission=ar.floor_times(validator, e),
        emission=ar.floor_times(comb, e))


def _bma_prop(ar: _Arith, bma: NDArray[np.int64]) -> Any:
    """``I32F32(I64F64(bma) / 10**6)``."""
    if ar.fx:
        return (_obj(bma) << 64) // 1_000_000 >> 32
    return bma.astype(np.float64) / 1e6
