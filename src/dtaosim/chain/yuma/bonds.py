"""Compiled Yuma clipping and bonds: ranks and validator trust, the Yuma 3 bonds EMA with liquid
alpha and its dividends, the classic bonds EMA (column-max upscaled) with its dividends."""

from __future__ import annotations

import numpy as np
from numba import njit

from dtaosim.chain.summation import wide_dot, wide_sum
from dtaosim.chain.yuma.common import U16_MAX
from dtaosim.chain.yuma.intrinsics import _FASTMATH, _exp, _fma, _fmax, _fmin
from dtaosim.chain.yuma.scratch import (
    _F_C1,
    _F_C2,
    _F_C3,
    _F_CMF,
    _F_CS,
    _F_RANK,
    _F_STKS,
    _F_TMP,
    _F_VALS,
)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _clip_row(row, prow, cons, ai, beta, need_pk, scale, rank, clip
              ):  # pragma: no cover - compiled
    """Clip one validator's row: adds ``A_i min(W_ij, C_j)`` to ``rank``, turns ``row`` into the
    bonds weights ``W_b x scale`` (and the presence row, if tracked); returns the validator
    trust (the lane sum of the clipped row, left in ``clip``)."""
    n = cons.shape[0]
    if beta == 0.0:  # bonds use the unclipped weights
        for j in range(n):
            w = row[j]
            wc = _fmin(w, cons[j])
            clip[j] = wc
            rank[j] += ai * wc
            row[j] = w * scale
    elif beta == 1.0:  # bonds use the clipped weights
        if need_pk:  # col_clip_sparse drops entries clipped to a zero consensus
            for j in range(n):
                prow[j] = prow[j] and not (cons[j] <= 0.0 < row[j])
        for j in range(n):
            wc = _fmin(row[j], cons[j])
            clip[j] = wc
            rank[j] += ai * wc
            row[j] = wc * scale
    else:
        for j in range(n):
            w = row[j]
            wc = _fmin(w, cons[j])
            clip[j] = wc
            rank[j] += ai * wc
            row[j] = (w + beta * (wc - w)) * scale
        if need_pk:  # interpolate_sparse keeps the positive entries only
            for j in range(n):
                prow[j] = row[j] > 0.0
    return wide_sum(clip, n)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _liquid_ema(targ: float, u: float, wb: float, lo_a: float, dl: float, hi_a: float,
                ec: tuple[float, ...]) -> float:
    """Liquid-alpha bond EMA of one entry: ``u + alpha (wb - u)`` with ``alpha = lo + (hi - lo)
    sigma``, ``sigma = 1 / (1 + exp(targ))``; ``lo + (hi - lo) sigma >= lo`` exactly, so only
    ``hi`` can bind. A convex combination: the result is <= 65535 (up to rounding)."""
    al = _fmin(lo_a + dl / (1.0 + _exp(targ, ec)), hi_a)
    return _fma(al, wb - u, u)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _bonds_yuma3(wk, bonds, rows, m, pold, pnew, a, cons, beta, liquid, need_pk, pk, af, lo_a,
                 hi_a, ks, fv, kc, rank, vt_out):  # pragma: no cover - compiled
    """Clipping (ranks, validator trust) and Yuma 3 bonds (EMA, liquid alpha), row by row;
    bonds stored in place, the EMA left in ``wk`` for the dividends.

    Works in units of ``1/65535``: ``wk`` holds ``65535 W_b`` and the EMA is taken on the raw
    u16 bonds (``u``), so the stored value is ``floor(e)``. Liquid alpha per entry:
    ``d' = 65535 d``, sigmoid argument ``-ks (d - 1/2) = ks/2 - (ks/65535) d'``.
    """
    n = cons.shape[0]
    cs = fv[_F_CS]
    cmf = fv[_F_CMF]
    c1 = fv[_F_C1]
    targ = fv[_F_VALS]
    tu = fv[_F_STKS]
    clip = fv[_F_TMP]  # a row's clipped weights: their lane sum is the validator trust
    use_liquid = False
    if liquid:
        for j in range(n):
            if cons[j] != 0.0:
                use_liquid = True
                break
    ec = (kc[0], kc[1], kc[2], kc[3], kc[4], kc[5], kc[6], kc[7], kc[8], kc[9], kc[10],
          kc[11], kc[12])
    h = 0.5 * ks
    kk = ks * (1.0 / U16_MAX)  # a product: reassociation must not turn it into a division
    dl = hi_a - lo_a
    cf = 1.0 - af
    clamp = abs(h) > 20.0  # |argument| <= ks/2: the +-20 clamp only binds for steep sigmoids
    for j in range(n):
        cs[j] = cons[j] * U16_MAX
        c1[j] = 0.0
    b0 = beta == 0.0  # the chain's cases: unclipped, clipped, interpolated bonds weights
    b1 = beta == 1.0
    for r in range(m):
        i = rows[r]
        row = wk[r]
        brow = bonds[i]
        ai = a[i]
        vt = 0.0
        if need_pk:  # presence rows follow the clipping: clip first (row stays in L1)
            if pold[i]:
                vt = _clip_row(row, pk[r], cons, ai, beta, True, U16_MAX, rank, clip)
            fused = False
        else:  # clipping fused into the first loop (rows without P_old are zero: no-op)
            fused = True
        if use_liquid:  # two simpler loops (argument; sigmoid and EMA) beat one
            for j in range(n):
                w = row[j]
                wb = w
                if fused:
                    wc = _fmin(w, cons[j])
                    clip[j] = wc
                    rank[j] += ai * wc
                    wb = (wc if b1 else (w if b0 else w + beta * (wc - w))) * U16_MAX
                    row[j] = wb
                u = brow[j] * cmf[j]
                d = _fmax(wb - cs[j] if wb >= u else u - wb, 0.0)
                targ[j] = h - kk * d
                tu[j] = u
            if fused and pold[i]:
                vt = wide_sum(clip, n)
            if clamp:
                for j in range(n):
                    targ[j] = _fmin(_fmax(targ[j], -20.0), 20.0)
            # one loop per case (a test of need_pk inside kept the loop scalar)
            if need_pk:
                prow = pk[r]
                for j in range(n):
                    e = _liquid_ema(targ[j], tu[j], row[j], lo_a, dl, hi_a, ec)
                    e = e if prow[j] else 0.0
                    row[j] = e
                    c1[j] += e
            else:
                for j in range(n):
                    wb = row[j]
                    e = _liquid_ema(targ[j], tu[j], wb, lo_a, dl, hi_a, ec)
                    e = e if wb > 0.0 else 0.0
                    row[j] = e
                    c1[j] += e
        elif fused:  # one loop per case: a test of `fused` inside became masked rank stores
            for j in range(n):
                w = row[j]
                wc = _fmin(w, cons[j])
                clip[j] = wc
                rank[j] += ai * wc
                wb = (wc if b1 else (w if b0 else w + beta * (wc - w))) * U16_MAX
                e = _fmax(_fma(af, wb, cf * (brow[j] * cmf[j])), 0.0)
                row[j] = e
                c1[j] += e
            if pold[i]:
                vt = wide_sum(clip, n)
        else:
            for j in range(n):
                e = _fmax(_fma(af, row[j], cf * (brow[j] * cmf[j])), 0.0)
                row[j] = e
                c1[j] += e
        if pold[i]:
            vt_out[i] = vt
        if pnew[i]:  # floor(e) of e in [0, 65535 (1 + eps)]: truncation
            # (np.int64, not int(): int(), an @overload, was compiled as a call per entry)
            for j in range(n):
                brow[j] = np.int64(row[j])
        else:  # rows holding P_old only are cleared
            for j in range(n):
                brow[j] = 0


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _dividends_yuma3(wk, rows, m, a, inc, fv, div):  # pragma: no cover - compiled
    """Yuma 3 dividends (unnormalised): ``A_i sum_j B_ij I_j / sum_i B_ij``."""
    n = inc.shape[0]
    c1 = fv[_F_C1]
    for j in range(n):
        c1[j] = inc[j] / c1[j] if c1[j] > 0.0 else inc[j]
    for r in range(m):
        div[rows[r]] = wide_dot(wk[r], c1, n) * a[rows[r]]


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _clip_classic(wk, bonds, rows, m, pold, a, cons, beta, fv, rank, vt_out
                  ):  # pragma: no cover - compiled
    """Classic: clipping (ranks, validator trust), bonds delta ``W_b x A`` into ``wk``, and the
    column sums of the delta (``c2``) and of the masked old bonds (``c1``)."""
    n = cons.shape[0]
    c1 = fv[_F_C1]
    c2 = fv[_F_C2]
    cmf = fv[_F_CMF]
    clip = fv[_F_TMP]  # a row's clipped weights: their lane sum is the validator trust
    b0 = beta == 0.0  # the chain's cases: unclipped, clipped, interpolated bonds weights
    b1 = beta == 1.0
    for j in range(n):
        c1[j] = 0.0
        c2[j] = 0.0
    for r in range(m):  # one pass; rows without P_old are zero (and A = 0): no-ops there
        i = rows[r]
        row = wk[r]
        brow = bonds[i]
        ai = a[i]
        for j in range(n):
            w = row[j]
            wc = _fmin(w, cons[j])
            clip[j] = wc
            rank[j] += ai * wc
            x = (wc if b1 else (w if b0 else w + beta * (wc - w))) * ai
            row[j] = x
            c2[j] += x
            c1[j] += brow[j] * cmf[j]
        if pold[i]:
            vt_out[i] = wide_sum(clip, n)


@njit(cache=True, error_model="numpy")
def _classic_ema(x: float, u: float, p: float, q: float) -> float:
    """Normalised classic EMA entry ``p x + q u`` in strict IEEE arithmetic (no contraction), so
    that every pass computes the same value (the column max must reproduce exactly)."""
    return p * x + q * u


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _bonds_classic(wk, bonds, rows, m, pnew, inc, af, fv, div):  # pragma: no cover - compiled
    """Classic bonds and dividends from :func:`_clip_classic`'s delta and column sums.

    The EMA ``af x / c2 + (1 - af) u / c1`` (``x`` the delta, ``u`` the masked old bonds; both
    terms column-normalised and non-negative) has column sums ``af + (1 - af)`` (a term drops
    where its column sum is zero), so its normalisation is folded into the two per-column
    factors and nothing is stored: one pass for the dividends and the column maxima, one to
    store the column-max-upscaled bonds.
    """
    n = inc.shape[0]
    c1 = fv[_F_C1]
    c2 = fv[_F_C2]
    pp = fv[_F_C3]
    qq = fv[_F_CS]
    cmf = fv[_F_CMF]
    cmax = fv[_F_RANK]  # the ranks are no longer needed
    ema = fv[_F_TMP]  # a row's normalised EMA (the dividends are its dot product with I)
    for j in range(n):
        sx = af if c2[j] > 0.0 else 0.0
        su = 1.0 - af if c1[j] > 0.0 else 0.0
        tot = sx + su
        rt = 1.0 / tot if tot > 0.0 else 1.0
        pp[j] = af / c2[j] * rt if c2[j] > 0.0 else 0.0
        qq[j] = (1.0 - af) * cmf[j] / c1[j] * rt if c1[j] > 0.0 else 0.0
        cmax[j] = 0.0
    for r in range(m):
        row = wk[r]
        brow = bonds[rows[r]]
        for j in range(n):
            e = _classic_ema(row[j], float(brow[j]), pp[j], qq[j])
            ema[j] = e
            cmax[j] = _fmax(cmax[j], e)
        div[rows[r]] = wide_dot(inc, ema, n)
    for j in range(n):
        cmax[j] = cmax[j] if cmax[j] > 0.0 else 1.0
    for r in range(m):
        i = rows[r]
        row = wk[r]
        brow = bonds[i]
        if pnew[i]:
            _store_upscaled(brow, row, pp, qq, cmax)
        else:
            for j in range(n):
                brow[j] = 0


@njit(cache=True, error_model="numpy")
def _store_upscaled(brow, row, pp, qq, cmax):  # pragma: no cover - compiled
    """``brow = floor(e / max x 65535)`` (strict IEEE: the column's largest entry must give
    exactly 65535); ``e / max`` is in ``[0, 1]``, so the floor is a truncation."""
    for j in range(brow.shape[0]):
        e = _classic_ema(row[j], float(brow[j]), pp[j], qq[j])
        brow[j] = np.int64(_fmin(e / cmax[j], 1.0) * U16_MAX)
