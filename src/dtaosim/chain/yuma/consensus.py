"""Compiled Yuma consensus: the stake-weighted median of every weights column (float32 bracket
bisection over all columns at once, exact resolution of the rest by weighted selection)."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.chain.yuma.intrinsics import _FASTMATH, _fmax, _fmin
from dtaosim.chain.yuma.scratch import (
    _F_BUFS,
    _F_BUFV,
    _F_POS,
    _F_STKS,
    _F_VALS,
    _F_VMAX,
    _F_VMIN,
    _G_FM,
    _G_HI,
    _G_HI2,
    _G_LO,
    _G_LO2,
    _G_MID,
    _G_UF,
    _G_UNSURE,
)

_BISECT = 12  # float32 bisection passes of the consensus before resolving each column (fewer
# leave more columns to the scalar path, more cost a sweep each: 12 is the measured optimum)
_MARGIN32 = 1e-5  # float32 stake sums closer than this (+ 1e-8 per active row) to kappa leave
# the column to the exact path (their rounding error is below (q / 16 + 8) x 6e-8)


@njit(cache=True, error_model="numpy")
def _weighted_select(vals: NDArray[np.float64], stks: NDArray[np.float64], cnt: int,
                     kappa: float, buf_v: NDArray[np.float64], buf_s: NDArray[np.float64]
                     ) -> float:
    """Largest value ``s`` of ``vals[:cnt]`` with ``sum(stks[vals >= s]) >= kappa``.

    Weighted quickselect with a mid pivot (the chain's deterministic choice), written without
    data-dependent branches in the inner loops (stake sums and the compaction of the kept side
    use selects). Expected ``O(cnt)``; the caller guarantees that the total stake reaches
    ``kappa``. Clobbers all four arrays.
    """
    above = 0.0
    sv = vals
    ss = stks
    dv = buf_v
    ds = buf_s
    while True:
        if cnt <= 1:
            return sv[0]
        p = sv[cnt // 2]
        sg = 0.0
        se = 0.0
        for t in range(cnt):
            v = sv[t]
            s = ss[t]
            sg += s if v > p else 0.0
            se += s if v == p else 0.0
        k = 0
        if above + sg >= kappa:  # the answer is above the pivot
            for t in range(cnt):
                v = sv[t]
                dv[k] = v
                ds[k] = ss[t]
                k += 1 if v > p else 0
        elif above + sg + se >= kappa:
            return p
        else:  # below the pivot
            above += sg + se
            for t in range(cnt):
                v = sv[t]
                dv[k] = v
                ds[k] = ss[t]
                k += 1 if v < p else 0
        if k == 0:
            return p
        cnt = k
        sv, dv = dv, sv
        ss, ds = ds, ss



@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _column_consensus(wk: NDArray[np.float64], mrows: NDArray[np.int64],
                      ua: NDArray[np.float64], q: int, j: int, kap: float,
                      fv: NDArray[np.float64]) -> float:
    """Exact consensus of column ``j`` (scalar weighted select over its ``q`` active values)."""
    vals = fv[_F_VALS]
    stks = fv[_F_STKS]
    tot = 0.0
    for t in range(q):
        vals[t] = wk[mrows[t], j]
        stks[t] = ua[t]
        tot += ua[t]
    if tot < kap:
        return 0.0
    return _weighted_select(vals, stks, q, kap, fv[_F_BUFV], fv[_F_BUFS])


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _bracket_consensus(wk: NDArray[np.float64], mrows: NDArray[np.int64],
                       ua: NDArray[np.float64], q: int, j: int, kap: float, lo: np.float32,
                       hi: np.float32, fv: NDArray[np.float64]) -> float:
    """Consensus of column ``j`` given a certain bracket: ``C`` is among the values ``v`` with
    ``lo <= float32(v) < hi``, the values above ``hi`` hold less than ``kap``. Takes the
    candidates from the largest down."""
    vals = fv[_F_VALS]
    stks = fv[_F_STKS]
    base = 0.0
    cnt = 0
    for t in range(q):  # selects, not branches (the comparisons are unpredictable)
        v = wk[mrows[t], j]
        g = np.float32(v)
        u = ua[t]
        base += u if g >= hi else 0.0
        vals[cnt] = v
        stks[cnt] = u
        cnt += 1 if (g >= lo) & (g < hi) else 0
    while cnt > 0:
        top = vals[0]
        for x in range(1, cnt):
            top = max(top, vals[x])
        k = 0
        for x in range(cnt):  # take the stake at the top value, keep the rest
            v = vals[x]
            if v == top:
                base += stks[x]
            else:
                vals[k] = v
                stks[k] = stks[x]
                k += 1
        if base >= kap:
            return top
        cnt = k
    return _column_consensus(wk, mrows, ua, q, j, kap, fv)  # not reached for a sound bracket

@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _bisect_rows16(wf, uf, t, mid, fm, n):  # pragma: no cover - compiled
    """``fm[j] += sum of uf[s] over rows s = t .. t+15 with wf[s, j] >= mid[j]``."""
    z = np.float32(0.0)
    w0, w1, w2, w3 = wf[t], wf[t + 1], wf[t + 2], wf[t + 3]
    w4, w5, w6, w7 = wf[t + 4], wf[t + 5], wf[t + 6], wf[t + 7]
    w8, w9, wa, wb = wf[t + 8], wf[t + 9], wf[t + 10], wf[t + 11]
    wc, wd, we, wg = wf[t + 12], wf[t + 13], wf[t + 14], wf[t + 15]
    u0, u1, u2, u3 = uf[t], uf[t + 1], uf[t + 2], uf[t + 3]
    u4, u5, u6, u7 = uf[t + 4], uf[t + 5], uf[t + 6], uf[t + 7]
    u8, u9, ua, ub = uf[t + 8], uf[t + 9], uf[t + 10], uf[t + 11]
    uc, ud, ue, ug = uf[t + 12], uf[t + 13], uf[t + 14], uf[t + 15]
    for j in range(n):
        m = mid[j]
        fm[j] += (((((u0 if w0[j] >= m else z) + (u1 if w1[j] >= m else z))
                    + ((u2 if w2[j] >= m else z) + (u3 if w3[j] >= m else z)))
                   + (((u4 if w4[j] >= m else z) + (u5 if w5[j] >= m else z))
                      + ((u6 if w6[j] >= m else z) + (u7 if w7[j] >= m else z))))
                  + ((((u8 if w8[j] >= m else z) + (u9 if w9[j] >= m else z))
                      + ((ua if wa[j] >= m else z) + (ub if wb[j] >= m else z)))
                     + (((uc if wc[j] >= m else z) + (ud if wd[j] >= m else z))
                        + ((ue if we[j] >= m else z) + (ug if wg[j] >= m else z)))))


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _consensus(wk, wf, mrows, ua, q, n, kap, fv, ff, cons):  # pragma: no cover - compiled
    """Consensus of every column (``kap > 0``, ``q > 0`` active rows).

    ``C_j`` is the largest column value ``s`` with ``f_j(s) >= kap``, ``f_j(s)`` the stake of
    the active rows with ``W_ij >= s``. Vectorised over columns: a bracket ``[lo, hi)`` on the
    float32-rounded values with ``f(lo) >= kap > f(hi)`` is bisected a fixed number of times
    (each pass one contiguous float32 sweep over the active rows; stake sums in float32, a
    decision within ``_MARGIN32`` of ``kap`` marks the column unsure). A float64 sweep then
    finds, per column, the smallest value in the bracket's upper set and the largest below
    ``hi``: if they are equal the bracket holds one distinct value, which is the answer (exact:
    ``C`` always lies in the bracket). Brackets with several distinct values are resolved
    from their few candidates, unsure columns by an exact weighted select over the column.
    Expects ``fv[_F_VMAX]`` = column max and ``fv[_F_POS]`` = stake of the entries positive as
    float32.
    """
    vmin = fv[_F_VMIN]
    vmax = fv[_F_VMAX]
    pos = fv[_F_POS]
    lo = ff[_G_LO]
    hi = ff[_G_HI]
    lo2 = ff[_G_LO2]  # the bracket is double-buffered so that its update is a plain select
    hi2 = ff[_G_HI2]
    mid = ff[_G_MID]
    fm = ff[_G_FM]
    uf = ff[_G_UF]
    uns = ff[_G_UNSURE]
    z = np.float32(0.0)
    one = np.float32(1.0)
    half = np.float32(0.5)
    kapf = np.float32(kap)
    # float32 sums: ~6e-8 relative per addition, ``q / 16 + 8`` additions deep per column
    marg = np.float32(_MARGIN32 + q * 1e-8)
    tiny = np.float32(1e-45)
    grow = np.float32(1.0 + 2.0 ** -20)
    for t in range(q):
        uf[t] = np.float32(ua[t])
    for j in range(n):
        # the answer is positive iff the positive entries hold kappa; hi above every value
        lo[j] = tiny
        hi[j] = np.float32(vmax[j]) * grow + tiny
        uns[j] = z
    for _ in range(_BISECT):
        for j in range(n):
            mid[j] = half * (lo[j] + hi[j])
            fm[j] = z
        t = 0
        while t + 16 <= q:  # 16 rows per sweep: fewer loads and stores of fm
            _bisect_rows16(wf, uf, t, mid, fm, n)
            t += 16
        while t + 8 <= q:
            w0 = wf[t]
            w1 = wf[t + 1]
            w2 = wf[t + 2]
            w3 = wf[t + 3]
            w4 = wf[t + 4]
            w5 = wf[t + 5]
            w6 = wf[t + 6]
            w7 = wf[t + 7]
            u0 = uf[t]
            u1 = uf[t + 1]
            u2 = uf[t + 2]
            u3 = uf[t + 3]
            u4 = uf[t + 4]
            u5 = uf[t + 5]
            u6 = uf[t + 6]
            u7 = uf[t + 7]
            for j in range(n):
                mj = mid[j]
                fm[j] += ((((u0 if w0[j] >= mj else z) + (u1 if w1[j] >= mj else z))
                           + ((u2 if w2[j] >= mj else z) + (u3 if w3[j] >= mj else z)))
                          + (((u4 if w4[j] >= mj else z) + (u5 if w5[j] >= mj else z))
                             + ((u6 if w6[j] >= mj else z) + (u7 if w7[j] >= mj else z))))
            t += 8
        while t < q:
            w0 = wf[t]
            u0 = uf[t]
            for j in range(n):
                fm[j] += u0 if w0[j] >= mid[j] else z
            t += 1
        for j in range(n):  # min/max forms (lo <= mid <= hi) keep this loop branch-free
            f = fm[j]
            mj = mid[j]
            up = f >= kapf
            lo2[j] = _fmax(lo[j], mj if up else z)
            hi2[j] = _fmin(hi[j], hi[j] if up else mj)
            uns[j] = _fmax(uns[j], one if abs(f - kapf) <= marg else z)
        lo, lo2 = lo2, lo
        hi, hi2 = hi2, hi
    for j in range(n):
        vmin[j] = np.inf
        vmax[j] = -1.0
    t = 0
    while t < q:  # four rows per sweep (fewer loads and stores of vmin, vmax)
        r0 = wk[mrows[t]]
        r1 = wk[mrows[min(t + 1, q - 1)]]  # repeats of the last row change nothing
        r2 = wk[mrows[min(t + 2, q - 1)]]
        r3 = wk[mrows[min(t + 3, q - 1)]]
        for j in range(n):
            hj = hi[j]
            lj = lo[j]
            v0 = r0[j]
            v1 = r1[j]
            v2 = r2[j]
            v3 = r3[j]
            g0 = np.float32(v0)
            g1 = np.float32(v1)
            g2 = np.float32(v2)
            g3 = np.float32(v3)
            vmax[j] = _fmax(_fmax(vmax[j], _fmax(v0 if g0 < hj else -1.0, v1 if g1 < hj else -1.0)),
                            _fmax(v2 if g2 < hj else -1.0, v3 if g3 < hj else -1.0))
            vmin[j] = _fmin(_fmin(vmin[j], _fmin(v0 if g0 >= lj else np.inf,
                                                 v1 if g1 >= lj else np.inf)),
                            _fmin(v2 if g2 >= lj else np.inf, v3 if g3 >= lj else np.inf))
        t += 4
    for j in range(n):
        if pos[j] < kap:
            cons[j] = 0.0
        elif uns[j] != z:
            cons[j] = _column_consensus(wk, mrows, ua, q, j, kap, fv)
        elif vmin[j] == vmax[j]:
            cons[j] = vmax[j]
        else:  # a sound bracket with a few distinct values
            cons[j] = _bracket_consensus(wk, mrows, ua, q, j, kap, lo[j], hi[j], fv)
