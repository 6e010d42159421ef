"""Compiled Yuma epoch (numba): :func:`yuma_subnet` (one subnet, callable from ``@njit`` code),
and :func:`yuma_epoch`, which runs it over a batch (see :mod:`dtaosim.chain.yuma`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from dtaosim.chain.summation import wide_sum
from dtaosim.chain.yuma.bonds import _bonds_classic, _bonds_yuma3, _clip_classic, _dividends_yuma3
from dtaosim.chain.yuma.common import _MEDIAN_EPS, U16_MAX, YumaResult, _prepare
from dtaosim.chain.yuma.consensus import _consensus
from dtaosim.chain.yuma.intrinsics import _FASTMATH, _prefetch
from dtaosim.chain.yuma.reference import yuma_epoch_numpy
from dtaosim.chain.yuma.scratch import (
    _F_BUFV,
    _F_CMF,
    _F_POS,
    _F_RANK,
    _F_TMP,
    _F_UA,
    _F_VMAX,
    _I_MROWS,
    _I_RECENT,
    _I_REGV,
    _I_ROWS,
    yuma_scratch,
)

_NEVER = np.iinfo(np.int64).max  # registration block of a padded uid: its weights are dropped
_PF_AHEAD = 8  # weights rows prefetched ahead of the weights pass


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _kth_largest(x: NDArray[np.float64], cnt: int, k: int, buf: NDArray[np.float64]) -> float:
    """The ``k``-th largest (1-based) of ``x[:cnt]``: quickselect with a mid pivot, counts and
    compaction written with selects (no data-dependent branches). Clobbers ``x`` and ``buf``."""
    src = x
    dst = buf
    while True:
        if cnt <= 1:
            return src[0]
        p = src[cnt // 2]
        g = 0
        e = 0
        for t in range(cnt):
            v = src[t]
            g += 1 if v > p else 0
            e += 1 if v == p else 0
        m = 0
        if k <= g:
            for t in range(cnt):
                v = src[t]
                dst[m] = v
                m += 1 if v > p else 0
        elif k <= g + e:
            return p
        else:
            k -= g + e
            for t in range(cnt):
                v = src[t]
                dst[m] = v
                m += 1 if v < p else 0
        cnt = m
        src, dst = dst, src


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _stake_permits(alpha, root, permit_old, uid_mask, last_update, own, block, tao_weight,
                   cutoff, max_validators, threshold, s, a, pold, pnew, tmp, buf
                   ):  # pragma: no cover - compiled
    """Stake ``S``, permits ``P_old``/``P_new`` and active stake ``A``; returns ``sum(A)``
    before normalisation."""
    n = alpha.shape[0]
    nv = 0
    for i in range(n):  # selects, not branches: the masks are data-dependent
        mk = uid_mask[i]
        v = alpha[i] + tao_weight * root[i]
        v = v if (mk & ((math.floor(v) >= threshold) | (i == own))) else 0.0
        s[i] = v
        nv += 1 if mk else 0
    tot = wide_sum(s, n)
    if tot > 0.0:
        for i in range(n):
            s[i] = s[i] / tot
    nnz = 0
    for i in range(n):
        mk = uid_mask[i]
        pold[i] = mk & (permit_old[i] | (i == own))
        pn = mk & (s[i] != 0.0)
        pnew[i] = pn
        nnz += 1 if pn else 0
    k = max_validators
    if nv >= k and nnz > k:
        if k <= 0:
            for i in range(n):
                pnew[i] = False
        else:
            c = np.int64(0)  # not a literal 0: numba would compile callees for both
            for i in range(n):
                tmp[c] = s[i]
                c += 1 if uid_mask[i] else 0
            kth = _kth_largest(tmp, c, k, buf)
            greater = 0
            for i in range(n):
                pn = uid_mask[i] & (s[i] > kth)
                pnew[i] = pn
                greater += 1 if pn else 0
            need = k - greater
            for i in range(n - 1, -1, -1):  # ties: the lower uid loses
                if need <= 0:
                    break
                if uid_mask[i] and s[i] == kth:
                    pnew[i] = True
                    need -= 1
    if 0 <= own < n and uid_mask[own]:
        pnew[own] = True
    for i in range(n):
        a[i] = s[i] if (pold[i] & (last_update[i] + cutoff >= block)) else 0.0
    asum = wide_sum(a, n)
    if asum > 0.0:
        for i in range(n):
            a[i] = a[i] / asum
    return asum


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _weights(weights, bonds, last_update, commit_block, present, need_pk, own, rows, m, mrows,
             q, pold, ua, regv, recent, nrec, wk, wf, pk, vmax, pos
             ):  # pragma: no cover - compiled
    """Masked, row-normalised weights into ``wk`` (rows of ``P_new``-only UIDs zero), the
    active rows also as float32 into ``wf`` (in active order); per column the largest active
    value (``vmax``) and the active stake of values positive as float32 (``pos``). Prefetches
    the rows' bonds."""
    n = weights.shape[1]
    has_commit = commit_block.shape[0] > 0
    for j in range(n):
        vmax[j] = 0.0
        pos[j] = 0.0
    t = 0
    for r in range(m):
        i = rows[r]
        row = wk[r]
        brow = bonds[i]  # needed after the consensus: fetch it now, spread over the rows
        for j in range(0, n, 32):
            _prefetch(brow, j)
        if r + _PF_AHEAD < m:
            wnext = weights[rows[r + _PF_AHEAD]]
            for j in range(0, n, 32):
                _prefetch(wnext, j)
        if not pold[i]:
            for j in range(n):
                row[j] = 0.0
            if need_pk:
                for j in range(n):
                    pk[r, j] = False
            continue
        thr = last_update[i]  # keep w_ij iff reg_j < last_update_i (and reg_j <= commit_i)
        if has_commit:
            cb = commit_block[i]
            if cb < thr - 1:
                thr = cb + 1
        wrow = weights[i]
        if nrec >= 0:  # few columns can be masked: convert, then clear those
            for j in range(n):
                row[j] = float(wrow[j])
            for x in range(nrec):
                j = recent[x]
                if regv[j] >= thr:
                    row[j] = 0.0
        else:
            for j in range(n):
                row[j] = float(wrow[j]) if regv[j] < thr else 0.0
        if i != own:  # self-weight, except the owner's
            row[i] = 0.0
        rs = wide_sum(row, n)  # (exact, whatever the order, for u16 weights)
        if need_pk:
            prow = present[i]
            for j in range(n):
                pk[r, j] = prow[j] and regv[j] < thr
            if i != own:
                pk[r, i] = False
        inv = 1.0 / rs if rs > 0.0 else 1.0
        if t < q and mrows[t] == r:
            u = ua[t]
            frow = wf[t]
            for j in range(n):
                w = row[j] * inv
                row[j] = w
                g = np.float32(w)
                frow[j] = g
                vmax[j] = np.maximum(vmax[j], w)  # (_fmax here became a masked store)
                # positive as float32 (the consensus' lower bracket end), exact but for
                # values below 1e-45 (then the consensus is 0 instead of such a value)
                pos[j] += u if g > 0.0 else 0.0
            t += 1
        else:
            for j in range(n):
                row[j] = row[j] * inv


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def yuma_subnet(
    alpha: NDArray[np.float64], root: NDArray[np.float64], permit_old: NDArray[np.bool_],
    weights: NDArray[Any], bonds: NDArray[np.uint16], last_update: NDArray[np.int64],
    reg_block: NDArray[np.int64], uid_mask: NDArray[np.bool_], owner_uid: int, block: int,
    emission: int, tao_weight: float, activity_cutoff: int, last_tempo: int, kappa: int,
    bonds_penalty: int, bonds_moving_average: int, liquid_alpha: bool, alpha_low: int,
    alpha_high: int, alpha_sigmoid_steepness: int, yuma3: bool, max_validators: int,
    stake_threshold: float, present: NDArray[np.bool_], commit_block: NDArray[np.int64],
    out_incentive: NDArray[np.float64], out_dividends: NDArray[np.float64],
    out_consensus: NDArray[np.float64], out_validator_trust: NDArray[np.float64],
    out_stake: NDArray[np.float64], out_active_stake: NDArray[np.float64],
    out_permit_new: NDArray[np.bool_], out_server_emission: NDArray[np.int64],
    out_validator_emission: NDArray[np.int64], out_emission: NDArray[np.int64],
    scratch: tuple[Any, ...],
) -> None:  # pragma: no cover - compiled
    """Yuma epoch of one subnet (compiled; callable from other ``@njit`` code).

    The single implementation behind :func:`yuma_epoch`; same semantics as one row of
    :func:`yuma_epoch_numpy` (see :mod:`dtaosim.chain.yuma`). Thread-safe as long as each concurrent
    call has its own ``scratch`` and output arrays (e.g. one scratch per run inside a
    ``prange``); allocates nothing. ``n`` below is ``len(alpha)``; every per-UID array must have
    length ``n`` (1-D; C-contiguous for speed), the matrices shape ``(n, n)`` with C-contiguous
    rows (views into larger arrays are fine). Outputs must not alias inputs or each other.
    Integer hyperparameters take any integer type, flags any boolean.

    Parameters
    ----------
    alpha : ndarray of float64, (n,)
        Alpha stake weight per UID, RAO as float64 (inherited stake, spec 6.1).
    root : ndarray of float64, (n,)
        Root (TAO) stake weight per UID, RAO as float64; combined as
        ``alpha + tao_weight x root``.
    permit_old : ndarray of bool, (n,)
        Stored validator permits (``P_old``).
    weights : ndarray of uint16 (or float64), (n, n)
        Stored weights, rows = validators (raw u16, row max-upscaled; only ratios matter).
    bonds : ndarray of uint16, (n, n)
        Stored bonds, **updated in place**: rows holding ``P_new`` get the new bonds, rows
        holding ``P_old`` only are cleared, other rows are not touched (and must be zero, the
        chain's invariant). Classic: column max-upscaled; Yuma 3: ``floor(b x 65535)``.
    last_update, reg_block : ndarray of int64, (n,)
        Block of each UID's last weight set, and its registration block.
    uid_mask : ndarray of bool, (n,)
        Which UIDs exist (padding is False).
    owner_uid : int
        UID of the subnet owner's hotkey, or -1.
    block : int
        Current block.
    emission : int
        ``E``, RAO to distribute.
    tao_weight : float
        Tao weight as a float.
    activity_cutoff : int
        Blocks; UIDs with ``last_update + activity_cutoff < block`` are inactive.
    last_tempo : int
        See :func:`last_tempo_block`; bonds to UIDs registered at or after it are dropped.
    kappa, bonds_penalty : int
        u16 hyperparameters (``x / 65535``).
    bonds_moving_average : int
        Parts per million; the EMA factor is ``1 - bma / 10**6``.
    liquid_alpha : bool
        ``LiquidAlphaOn`` (Yuma 3 only).
    alpha_low, alpha_high : int
        ``AlphaValues`` (u16).
    alpha_sigmoid_steepness : int
        ``AlphaSigmoidSteepness`` (i16).
    yuma3 : bool
        Yuma 3 bonds, else classic bonds.
    max_validators : int
        ``MaxAllowedValidators`` (``k`` of the top-k permits).
    stake_threshold : float
        Minimum stake weight (RAO) for a non-owner UID to count.
    present : ndarray of bool, (n, n) or (0, 0)
        Which weight entries are stored (liquid-alpha sparse quirk); shape ``(0, 0)``: taken
        as ``weights > 0``.
    commit_block : ndarray of int64, (n,) or (0,)
        Commit-reveal: block of each validator's oldest unexpired commit (``2**63 - 1`` for
        none); shape ``(0,)``: commit-reveal off.
    out_incentive, out_dividends, out_consensus, out_validator_trust : ndarray of float64, (n,)
        Written: ``I``, ``D``, ``C`` and validator trust (proportions).
    out_stake, out_active_stake : ndarray of float64, (n,)
        Written: normalised stake ``S`` and active stake ``A``.
    out_permit_new : ndarray of bool, (n,)
        Written: ``P_new``.
    out_server_emission, out_validator_emission, out_emission : ndarray of int64, (n,)
        Written: RAO to miners (incentive), to validators (dividends), and the combined
        ``Emission`` (floored).
    scratch : tuple
        From :func:`yuma_scratch` with at least ``n`` columns, and enough rows for the UIDs
        holding ``P_old`` or ``P_new`` (``yuma_scratch(n)`` always is); not shared with a
        concurrent call. Raises ``ValueError`` if too small.

    Returns
    -------
    None
        Results go to the ``out_*`` arrays and to ``bonds``.
    """
    fv, ff, wk, wf, iv, pold, pk, kc = scratch
    n = alpha.shape[0]
    if fv.shape[1] < n:
        raise ValueError("yuma_subnet: scratch is too small for n")
    cap = wk.shape[0]
    s = out_stake
    a = out_active_stake
    pnew = out_permit_new
    cons = out_consensus
    inc = out_incentive
    div = out_dividends
    ua = fv[_F_UA]
    cmf = fv[_F_CMF]
    rows = iv[_I_ROWS]
    mrows = iv[_I_MROWS]
    regv = iv[_I_REGV]
    recent = iv[_I_RECENT]
    own = owner_uid
    need_pk = present.shape[0] > 0 and yuma3 and liquid_alpha

    # --- stake, permits, active stake
    for i in range(0, n, 8):
        _prefetch(last_update, i)
        _prefetch(reg_block, i)
    asum = _stake_permits(alpha, root, permit_old, uid_mask, last_update, own, block,
                          tao_weight, activity_cutoff, max_validators, stake_threshold, s, a,
                          pold, pnew, fv[_F_TMP], fv[_F_BUFV])
    # --- rows that matter: P_old (weights, active stake) or P_new (bonds); active rows
    m = np.int64(0)  # typed int64 from the start: with a literal 0, numba compiles every
    q = np.int64(0)  # callee taking m or q twice (a Literal[int](0) and an int64 version)
    min_thr = _NEVER
    for i in range(n):  # branch-free compaction (rows are data-dependent)
        po = pold[i]
        rows[m] = i
        mrows[q] = m
        q += 1 if (po & (a[i] > 0.0)) else 0
        m += 1 if (po | pnew[i]) else 0
        min_thr = min(min_thr, last_update[i] if po else _NEVER)
    if m > cap:
        raise ValueError("yuma_subnet: scratch has too few rows (see yuma_scratch)")
    for r in range(min(m, _PF_AHEAD)):  # the first rows' weights, usually cold (the next
        wrow = weights[rows[r]]  # ones, and the bonds, during the weights pass)
        for j in range(0, n, 32):
            _prefetch(wrow, j)
    for t in range(q):
        ua[t] = a[rows[mrows[t]]]
    usum = wide_sum(ua, q)
    for t in range(q):
        ua[t] = ua[t] / usum
    has_commit = commit_block.shape[0] > 0
    if has_commit:
        min_thr = -1  # commit blocks lower the thresholds: mask every row
    nrec = 0
    for j in range(n):
        valid = uid_mask[j]
        cmf[j] = 1.0 if (valid and last_tempo > reg_block[j]) else 0.0
        rv = reg_block[j] if valid else _NEVER
        regv[j] = rv
        recent[nrec] = j
        nrec += 1 if rv >= min_thr else 0
    if has_commit or nrec * 8 > n:
        nrec = -1

    # --- weights, consensus, clipping, ranks, incentive
    _weights(weights, bonds, last_update, commit_block, present, need_pk, own, rows, m, mrows,
             q, pold, ua, regv, recent, nrec, wk, wf, pk, fv[_F_VMAX], fv[_F_POS])
    kap = kappa / U16_MAX - _MEDIAN_EPS
    if q == 0:
        for j in range(n):
            cons[j] = 0.0
    elif kap <= 0.0:
        vmax = fv[_F_VMAX]
        for j in range(n):
            cons[j] = vmax[j]
    else:
        _consensus(wk, wf, mrows, ua, q, n, kap, fv, ff, cons)
    rank = fv[_F_RANK]
    beta = bonds_penalty / U16_MAX
    af = 1.0 - bonds_moving_average / 1e6
    for j in range(n):
        rank[j] = 0.0
        out_validator_trust[j] = 0.0
        div[j] = 0.0
    if yuma3:
        _bonds_yuma3(wk, bonds, rows, m, pold, pnew, a, cons, beta, liquid_alpha, need_pk, pk,
                     af, alpha_low / U16_MAX, alpha_high / U16_MAX,
                     alpha_sigmoid_steepness / 100.0, fv, kc, rank, out_validator_trust)
    else:
        _clip_classic(wk, bonds, rows, m, pold, a, cons, beta, fv, rank, out_validator_trust)
    rsum = wide_sum(rank, n)
    for j in range(n):
        inc[j] = rank[j] / rsum if rsum > 0.0 else rank[j]
    # --- dividends (and classic bonds, which need the incentive)
    if yuma3:
        _dividends_yuma3(wk, rows, m, a, inc, fv, div)
    else:
        _bonds_classic(wk, bonds, rows, m, pnew, inc, af, fv, div)
    dsum = wide_sum(div, n)
    if dsum > 0.0:
        for i in range(n):
            div[i] = div[i] / dsum

    # --- emission
    tmp = fv[_F_TMP]
    for i in range(n):
        tmp[i] = inc[i] + div[i]
    esum = wide_sum(tmp, n)
    e_rao = float(emission)
    for i in range(n):
        if esum > 0.0:
            out_server_emission[i] = np.int64(math.floor(inc[i] / esum * e_rao))
            out_validator_emission[i] = np.int64(math.floor(div[i] / esum * e_rao))
            out_emission[i] = np.int64(math.floor((inc[i] + div[i]) / esum * e_rao))
        else:
            x = a[i] if asum > 0.0 else s[i]
            out_server_emission[i] = 0
            out_validator_emission[i] = np.int64(math.floor(x * e_rao))
            out_emission[i] = np.int64(math.floor(x * e_rao))


@njit(cache=True, error_model="numpy")
def _yuma_kernel(alpha, root, tao_weight, permit, weights, bonds, last_update, reg, block,
                 cutoff, last_tempo, kappa_u16, penalty_u16, bma, liquid, alpha_low, alpha_high,
                 steepness, yuma3, max_validators, threshold, owner, emission, uid_mask,
                 present, commit_block, o_inc, o_div, o_cons, o_vt, o_stake, o_active,
                 o_permit, o_server, o_validator, o_emission):  # pragma: no cover - compiled
    """Batched epoch: :func:`yuma_subnet` on each of the ``B`` subnets (bonds in place)."""
    nb, n = alpha.shape
    scratch = yuma_scratch(n)
    no_present = np.zeros((0, 0), dtype=np.bool_)
    no_commit = np.zeros(0, dtype=np.int64)
    for b in range(nb):
        pres = present[b] if present.shape[0] > 0 else no_present
        cb = commit_block[b] if commit_block.shape[0] > 0 else no_commit
        yuma_subnet(alpha[b], root[b], permit[b], weights[b], bonds[b], last_update[b], reg[b],
                    uid_mask[b], owner[b], block[b], emission[b], tao_weight[b], cutoff[b],
                    last_tempo[b], kappa_u16[b], penalty_u16[b], bma[b], liquid[b],
                    alpha_low[b], alpha_high[b], steepness[b], yuma3[b], max_validators[b],
                    threshold[b], pres, cb, o_inc[b], o_div[b], o_cons[b], o_vt[b], o_stake[b],
                    o_active[b], o_permit[b], o_server[b], o_validator[b], o_emission[b],
                    scratch)


def yuma_epoch(
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
    bonds_inplace: bool = False,
) -> YumaResult:
    """Yuma epoch of ``B`` subnet-epochs, compiled (same arguments and results as
    :func:`yuma_epoch_numpy`).

    Runs :func:`yuma_subnet` on each subnet (see :mod:`dtaosim.chain.yuma`): a few passes over
    the rows of UIDs holding ``P_old`` or ``P_new`` only, so the cost is ``O(k x n)`` per
    subnet, not ``O(n**2)``. ``weights`` and ``bonds`` are best passed as ``uint16`` (the
    chain's storage) to keep memory traffic low.

    Parameters
    ----------
    fixed_point : bool
        Exact ``I32F32`` arithmetic: delegates to :func:`yuma_epoch_numpy`.
    bonds_inplace : bool
        Write the new bonds into ``bonds`` (which must then be a C-contiguous ``uint16``
        array) instead of a copy; the returned ``bonds`` is that array.
    **kwargs
        As :func:`yuma_epoch_numpy`.

    Returns
    -------
    YumaResult
    """
    kw: dict[str, Any] = dict(
        alpha_stake=alpha_stake, weights=weights, bonds=bonds, validator_permit=validator_permit,
        last_update=last_update, block_at_registration=block_at_registration, block=block,
        emission=emission, root_stake=root_stake, tao_weight=tao_weight,
        activity_cutoff=activity_cutoff, last_tempo=last_tempo, kappa=kappa,
        bonds_penalty=bonds_penalty, bonds_moving_average=bonds_moving_average,
        liquid_alpha=liquid_alpha, alpha_low=alpha_low, alpha_high=alpha_high,
        alpha_sigmoid_steepness=alpha_sigmoid_steepness, yuma3=yuma3,
        max_allowed_validators=max_allowed_validators, stake_threshold=stake_threshold,
        owner_uid=owner_uid, uid_mask=uid_mask, weights_present=weights_present,
        commit_block=commit_block)
    if fixed_point:
        return yuma_epoch_numpy(**kw, fixed_point=True)
    g = _prepare(alpha_stake, root_stake, tao_weight, validator_permit, weights, bonds,
                 last_update, block_at_registration, block, activity_cutoff, last_tempo, kappa,
                 bonds_penalty, bonds_moving_average, liquid_alpha, alpha_low, alpha_high,
                 alpha_sigmoid_steepness, yuma3, max_allowed_validators, stake_threshold,
                 owner_uid, emission, uid_mask, weights_present, commit_block)
    nb, n = g.alpha.shape
    if bonds_inplace:
        if not (isinstance(bonds, np.ndarray) and bonds.dtype == np.uint16
                and bonds.flags.c_contiguous):
            raise ValueError("bonds_inplace needs a C-contiguous uint16 bonds array")
        out_bonds = bonds
    else:
        out_bonds = g.bonds.copy()
    f = lambda: np.zeros((nb, n))  # noqa: E731
    i64 = lambda: np.zeros((nb, n), dtype=np.int64)  # noqa: E731
    res = YumaResult(f(), f(), f(), f(), f(), f(), np.zeros((nb, n), dtype=np.bool_),
                     out_bonds, i64(), i64(), i64())
    present = g.present if g.present is not None else np.zeros((0, 0, 0), dtype=np.bool_)
    commit = g.commit_block if g.commit_block is not None else np.zeros((0, 0), dtype=np.int64)
    _yuma_kernel(g.alpha, g.root, g.tao_weight, g.permit, g.weights, out_bonds, g.last_update,
                 g.reg, g.block, g.cutoff, g.last_tempo, g.kappa, g.bonds_penalty, g.bma,
                 g.liquid, g.alpha_low, g.alpha_high, g.steepness, g.yuma3, g.max_validators,
                 g.threshold, g.owner, g.emission, g.uid_mask, present, commit, res.incentive,
                 res.dividends, res.consensus, res.validator_trust, res.stake, res.active_stake,
                 res.validator_permit, res.server_emission, res.validator_emission,
                 res.emission)
    return res
