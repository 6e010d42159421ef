"""Yuma consensus epoch, batched over many subnet-epochs (spec 6, 5.6, 9.3).

One call runs the epoch of ``B`` subnet-epochs at once (``B`` = runs x due subnets, flattened),
each with up to ``n`` UIDs (padding allowed with ``uid_mask``). Chain:
``epoch/run_epoch.rs::epoch_mechanism`` and ``epoch/math.rs`` (sparse path, the one
``epoch()`` runs). Per subnet, in the chain's order:

1. stake ``s_i = alpha_i + tao_weight x root_i``; stakes whose floor is below the stake threshold
   are zeroed (owner exempt); normalised to ``S``;
2. permits: ``P_old`` (stored, owner forced on) masks this epoch; ``P_new`` = top-k of ``S``
   among non-zero entries (stable ascending sort: the lower UID loses a tie; all non-zero when
   fewer than k UIDs exist), owner forced on;
3. active stake ``A`` = ``S`` of UIDs that are active (``last_update + cutoff >= block``) and hold
   ``P_old``, renormalised;
4. weights: rows without ``P_old`` dropped, diagonal dropped except the owner's, ``w_ij`` dropped
   when ``last_update_i <= block_at_registration_j`` (and, with commit-reveal, when the
   validator's oldest live commit predates ``j``'s registration); row-normalised;
5. consensus ``C_j`` = largest ``s`` among the column's values such that the active stake of
   validators with ``W_ij >= s`` is ``>= kappa`` (validators without an entry count as 0; the
   chain finds it with a mid-pivot partition search, which returns exactly this value);
6. clipped ``Wc = min(W, C)``; validator trust = row sums of ``Wc``; ranks ``R = A . Wc``;
   incentive ``I = R / sum(R)``;
7. bonds weights ``Wb = W + beta (Wc - W)``; classic bonds (EMA of column-normalised
   ``Wb x A`` with stored column-max-upscaled u16 bonds) or Yuma 3 bonds (EMA of ``Wb`` with the
   stored ``u16 / 65535`` bonds, liquid alpha per entry); dividends from the bonds;
8. emission: ``server = I / sum(I + D) x E``, ``validator = D / sum(I + D) x E`` floored to RAO; if
   ``sum(I + D) = 0`` validators get ``A x E`` (``S x E`` when ``A`` is all zero).

Number formats. The chain computes in ``I32F32`` (32 fractional bits; stake normalisation in
``I64F64``, emission in ``I96F32``) and floors on every multiplication, division and conversion.
The default path is float64, which differs from the chain by a few units of ``2**-32`` in the
proportions and therefore by at most a few RAO per UID in the emissions, except where a value
lands exactly on an integer: the textbook case is ``test_10_graph`` (vector Y5), where ``1/10`` in
``I32F32`` is ``429 496 729 / 2**32`` and each UID receives ``99 999 999`` RAO, not ``10**8``.
``fixed_point=True`` (NumPy reference only) runs the epoch in exact integer arithmetic on
``I32F32`` bit patterns at the chain's steps (Python integers; slow, for conformance checks).
The only inexact step there is the liquid-alpha sigmoid, whose ``exp`` is taken in float64 and
rounded to 32 fractional bits (the chain uses ``substrate_fixed``'s own series).

Bonds storage convention (both in and out, ``uint16``): classic Yuma stores column-max-upscaled
values (each column divided by its max, then ``floor(x x 65535)``); Yuma 3 stores
``floor(x x 65535)`` of the absolute bond. New bonds are written for rows holding ``P_new``;
rows holding ``P_old`` but not ``P_new`` are cleared; other rows are returned unchanged.

Sparse-path quirk (Yuma 3 with liquid alpha only, chain ``mat_ema_alpha_sparse``): a bond whose
entry is absent from the validator's bonds-weight row is dropped rather than decayed. Presence is
``weights_present`` when given, else ``weights > 0`` (the Bittensor SDK never submits zero
weights; the chain stores explicit zeros when sent, and those keep decaying).

Two implementations give the same results: :func:`yuma_epoch_numpy` (vectorised NumPy over the
whole batch, the reference; also the fixed-point path) and :func:`yuma_epoch` (numba, the fast
path). The compiled path assumes the chain's storage invariant that bond rows of UIDs holding
neither ``P_old`` nor ``P_new`` are zero (rows are cleared when a permit is lost and when a UID
is replaced).

Compiled path. :func:`yuma_subnet` runs one subnet's epoch and is callable from other ``@njit``
code (the engine's block kernel); :func:`yuma_epoch` loops it over the batch, so there is one
implementation. It allocates nothing: working memory comes from :func:`yuma_scratch` (one per
thread). It works on the ``m`` rows of UIDs holding ``P_old`` or ``P_new`` only (``O(m n)`` per
subnet), in a few contiguous, vectorised passes:

* weights: masked u16 rows converted and row-normalised (float64), the active rows also kept as
  float32 keys; the rows' bonds are prefetched meanwhile (they are read after the consensus);
* consensus: per column the bracket ``[lo, hi)`` of the answer is bisected 12 times on the
  float32 keys, all columns at once (16 rows per sweep; float32 stake sums, a decision within
  ``1e-5`` of ``kappa`` marks the column for the exact path), then one float64 sweep checks that
  the bracket holds a single distinct value, which is then exactly the chain's median; the few
  other columns are resolved exactly from their candidates (or by a weighted quickselect);
* clipping, ranks and the bonds EMA fused row by row; liquid alpha's sigmoid uses an inlined,
  vectorisable ``exp`` (Cody-Waite reduction, degree-11 polynomial, within 2 ulp of libm);
* dividends, emission.

Floating point: float64 throughout with fast-math limited to reassociation, contraction and
signed zeros (results differ from strict evaluation by a few ulps; comparisons and divisions keep
IEEE semantics). Results equal the NumPy reference to ``1e-12`` in the proportions and to one
unit in the floored RAO and u16 values.

Numba caching caveat: a caller compiled with ``cache=True`` in another module embeds the code of
:func:`yuma_subnet`, and numba's cache does not notice when this file changes; such callers must
clear their cache (or not cache) after changes here.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "U16_MAX",
    "YumaResult",
    "last_tempo_block",
    "yuma_epoch",
    "yuma_epoch_numpy",
    "yuma_scratch",
    "yuma_subnet",
]

U16_MAX = 65535
_ONE = 1 << 32  # 1.0 in I32F32 bits
_MEDIAN_EPS = 1e-10  # float path: stake(W >= s) >= kappa - eps absorbs summation-order noise
_NEVER = np.iinfo(np.int64).max  # registration block of a padded uid: its weights are dropped


class YumaResult(NamedTuple):
    """Outputs of a batch of Yuma epochs; every array has leading dimension ``B``.

    Attributes
    ----------
    incentive, dividends, consensus, validator_trust : ndarray, float64, (B, n)
        ``I``, ``D``, ``C`` and validator trust as proportions (the chain stores
        ``floor(x x 65535)``).
    stake, active_stake : ndarray, float64, (B, n)
        Normalised stake weight ``S`` and active stake ``A``.
    validator_permit : ndarray, bool, (B, n)
        ``P_new``, to be stored as next epoch's ``P_old``.
    bonds : ndarray, uint16, (B, n, n)
        New stored bonds (storage convention of each subnet's Yuma version).
    server_emission, validator_emission : ndarray, int64, (B, n)
        Per-UID RAO (floored): miners' incentive and validators' dividends.
    emission : ndarray, int64, (B, n)
        Combined ``(I + D)`` normalised times ``E`` (the chain's ``Emission``, used for pruning).
    """

    incentive: NDArray[np.float64]
    dividends: NDArray[np.float64]
    consensus: NDArray[np.float64]
    validator_trust: NDArray[np.float64]
    stake: NDArray[np.float64]
    active_stake: NDArray[np.float64]
    validator_permit: NDArray[np.bool_]
    bonds: NDArray[np.uint16]
    server_emission: NDArray[np.int64]
    validator_emission: NDArray[np.int64]
    emission: NDArray[np.int64]


def last_tempo_block(last_step_block: ArrayLike, block: ArrayLike, tempo: ArrayLike
                     ) -> NDArray[np.int64]:
    """First block of the current epoch window, for the bonds' registration mask.

    Parameters
    ----------
    last_step_block : array_like of int
        ``LastMechansimStepBlock`` (0 if the subnet never stepped).
    block : array_like of int
        Current block.
    tempo : array_like of int
        Subnet tempo.

    Returns
    -------
    ndarray of int64
        ``last_step_block + 1``, or ``max(block - tempo, 0)`` if never stepped. Bonds to UIDs
        registered at or after this block are dropped.
    """
    lsb = np.asarray(last_step_block, dtype=np.int64)
    b = np.asarray(block, dtype=np.int64)
    t = np.asarray(tempo, dtype=np.int64)
    return np.where(lsb == 0, np.maximum(b - t, 0), lsb + 1)


# ------------------------------------------------------------------------------------------
# argument handling
# ------------------------------------------------------------------------------------------

class _Args(NamedTuple):
    alpha: NDArray[np.float64]
    root: NDArray[np.float64]
    tao_weight: NDArray[np.float64]
    permit: NDArray[np.bool_]
    weights: NDArray[Any]
    bonds: NDArray[np.uint16]
    last_update: NDArray[np.int64]
    reg: NDArray[np.int64]
    block: NDArray[np.int64]
    cutoff: NDArray[np.int64]
    last_tempo: NDArray[np.int64]
    kappa: NDArray[np.int64]
    bonds_penalty: NDArray[np.int64]
    bma: NDArray[np.int64]
    liquid: NDArray[np.bool_]
    alpha_low: NDArray[np.int64]
    alpha_high: NDArray[np.int64]
    steepness: NDArray[np.int64]
    yuma3: NDArray[np.bool_]
    max_validators: NDArray[np.int64]
    threshold: NDArray[np.float64]
    owner: NDArray[np.int64]
    emission: NDArray[np.int64]
    uid_mask: NDArray[np.bool_]
    present: NDArray[np.bool_] | None
    commit_block: NDArray[np.int64] | None


def _prepare(alpha_stake: ArrayLike, root_stake: ArrayLike | None, tao_weight: ArrayLike,
             validator_permit: ArrayLike, weights: ArrayLike, bonds: ArrayLike,
             last_update: ArrayLike, block_at_registration: ArrayLike, block: ArrayLike,
             activity_cutoff: ArrayLike, last_tempo: ArrayLike, kappa: ArrayLike,
             bonds_penalty: ArrayLike, bonds_moving_average: ArrayLike, liquid_alpha: ArrayLike,
             alpha_low: ArrayLike, alpha_high: ArrayLike, alpha_sigmoid_steepness: ArrayLike,
             yuma3: ArrayLike, max_allowed_validators: ArrayLike, stake_threshold: ArrayLike,
             owner_uid: ArrayLike, emission: ArrayLike, uid_mask: ArrayLike | None,
             weights_present: ArrayLike | None, commit_block: ArrayLike | None) -> _Args:
    alpha = np.asarray(alpha_stake, dtype=np.float64)
    if alpha.ndim != 2:
        raise ValueError("alpha_stake must have shape (B, n)")
    nb, n = alpha.shape
    root = (np.zeros_like(alpha) if root_stake is None
            else np.broadcast_to(np.asarray(root_stake, dtype=np.float64), (nb, n)))
    w = np.asarray(weights)
    if w.shape != (nb, n, n):
        raise ValueError(f"weights must have shape {(nb, n, n)}, got {w.shape}")
    if w.dtype not in (np.uint16, np.float64):
        w = w.astype(np.float64)
    bo = np.asarray(bonds)
    if bo.shape != (nb, n, n):
        raise ValueError(f"bonds must have shape {(nb, n, n)}, got {bo.shape}")

    def vec(x: ArrayLike, dtype: Any) -> NDArray[Any]:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=dtype), (nb,)))

    def uid(x: ArrayLike, dtype: Any) -> NDArray[Any]:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=dtype), (nb, n)))

    mask = np.ones((nb, n), dtype=np.bool_) if uid_mask is None else uid(uid_mask, np.bool_)
    pres = None if weights_present is None else np.ascontiguousarray(
        np.broadcast_to(np.asarray(weights_present, dtype=np.bool_), (nb, n, n)))
    cb = None if commit_block is None else uid(commit_block, np.int64)
    return _Args(
        np.ascontiguousarray(alpha), np.ascontiguousarray(root), vec(tao_weight, np.float64),
        uid(validator_permit, np.bool_), np.ascontiguousarray(w),
        np.ascontiguousarray(bo.astype(np.uint16, copy=False)), uid(last_update, np.int64),
        uid(block_at_registration, np.int64), vec(block, np.int64),
        vec(activity_cutoff, np.int64), vec(last_tempo, np.int64), vec(kappa, np.int64),
        vec(bonds_penalty, np.int64), vec(bonds_moving_average, np.int64),
        vec(liquid_alpha, np.bool_), vec(alpha_low, np.int64), vec(alpha_high, np.int64),
        vec(alpha_sigmoid_steepness, np.int64), vec(yuma3, np.bool_),
        vec(max_allowed_validators, np.int64), vec(stake_threshold, np.float64),
        vec(owner_uid, np.int64), vec(emission, np.int64), mask, pres, cb)


# ------------------------------------------------------------------------------------------
# NumPy reference (float64 or exact I32F32)
# ------------------------------------------------------------------------------------------

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
        Which weight entries are stored (see the module notes); default ``weights > 0``.
    commit_block : array_like of int, (B, n), optional
        Commit-reveal: block of each validator's oldest unexpired commit (``2**63 - 1`` for
        none); weights to UIDs registered after it are dropped.
    fixed_point : bool
        Exact ``I32F32`` emulation (slow; see the module notes).

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


# ------------------------------------------------------------------------------------------
# compiled path (float64)
# ------------------------------------------------------------------------------------------

# No fast-math (strict IEEE): with reassociation or contraction the result of a function
# depends on where LLVM inlines and vectorises it, and numba keeps several compiled copies of
# one function (its own, and one inside every caller's object code) that the JIT linker binds
# by load order, which differs between a cold and a warm cache: the same seed gave different
# bytes (issue 12). Strict IEEE makes every copy compute the same bits (docs/performance.md).
_FASTMATH = False
_BISECT = 12  # float32 bisection passes of the consensus before resolving each column (fewer
# leave more columns to the scalar path, more cost a sweep each: 12 is the measured optimum)
_MARGIN32 = 1e-5  # float32 stake sums closer than this (+ 1e-8 per active row) to kappa leave
# the column to the exact path (their rounding error is below (q / 16 + 8) x 6e-8)
_PF_AHEAD = 8  # weights rows prefetched ahead of the weights pass
_PAD = 8  # scratch row padding (elements): keeps rows of the working matrices off one cache set
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm split of ln 2: k * _LN2_HI is exact for |k| < 2**11
_LN2_LO = 1.90821492927058770002e-10
# scratch layout: rows of the float64 vector block (fv), the float32 block (ff), int64 (iv)
_F_TMP, _F_UA, _F_VMIN, _F_VMAX, _F_POS, _F_C1, _F_C2, _F_C3, _F_RANK = range(9)
_F_CS, _F_CMF, _F_VALS, _F_STKS, _F_BUFV, _F_BUFS = range(9, 15)
_N_FV = 15
_G_LO, _G_HI, _G_LO2, _G_HI2, _G_MID, _G_FM, _G_UF, _G_UNSURE = range(8)
_N_FF = 8
_I_ROWS, _I_MROWS, _I_REGV, _I_RECENT = range(4)
_N_IV = 4


@intrinsic
def _f64_from_bits(typingctx: Any, x: Any) -> Any:  # pragma: no cover - compile time
    """Reinterpret an int64 bit pattern as a float64 (an LLVM bitcast, vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return sig, codegen


@intrinsic
def _bits_from_f64(typingctx: Any, x: Any) -> Any:  # pragma: no cover - compile time
    """Reinterpret a float64 as its int64 bit pattern (an LLVM bitcast, vectorisable)."""
    sig = types.int64(types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], llvm_ir.IntType(64))

    return sig, codegen


# 1.5 x 2**52: adding it to an integer-valued float k (|k| < 2**51) leaves k in the low
# mantissa bits, i.e. bits(k + _SHIFTER) - _SHIFTER_BITS == int(k) with no conversion
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = 0x4338000000000000


@intrinsic
def _prefetch(typingctx: Any, arr: Any, idx: Any) -> Any:  # pragma: no cover - compile time
    """Hint the cache to fetch ``arr[idx]`` (``llvm.prefetch``, read, into L2 and closer)."""
    sig = types.void(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i32 = llvm_ir.IntType(32)
        if getattr(ptr.type, "is_opaque", False):
            name = "llvm.prefetch.p0"
        else:
            ptr = builder.bitcast(ptr, llvm_ir.IntType(8).as_pointer())
            name = "llvm.prefetch.p0i8"
        fnty = llvm_ir.FunctionType(llvm_ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        builder.call(fn, [ptr, i32(0), i32(2), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, inline="always")
def _fmin(a: float, b: float) -> float:
    return a if a < b else b


@njit(cache=True, inline="always")
def _fmax(a: float, b: float) -> float:
    return a if a > b else b


# constants of _exp: log2(e), the ln 2 split, and the coefficients of x**2 .. x**11 of the
# degree-11 polynomial interpolating exp at the Chebyshev nodes of [-ln2/2, ln2/2] (computed in
# exact rational arithmetic; relative error 1.7e-17 before float rounding)
_EXP_CONSTS = (_LOG2E, _LN2_HI, _LN2_LO, 0.5000000000000019, 0.1666666666666668,
               0.04166666666648809, 0.008333333333319601, 0.0013888888952314812,
               0.00019841269890047143, 2.480148548228773e-05, 2.7557240918547625e-06,
               2.763263965412376e-07, 2.511003761756205e-08)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _exp(x: float, c: tuple[float, ...]) -> float:
    """``exp(x)`` for ``|x| <= 700`` without a libm call, so that loops using it vectorise.

    Cody-Waite reduction ``x = k ln 2 + r`` (``|r| <= ln 2 / 2``), degree-11 near-minimax
    polynomial in Estrin's form (short dependency chains), scaling by ``2**k`` through the
    exponent bits; within 2 ulp of ``math.exp``. ``c`` holds ``_EXP_CONSTS`` as run-time values
    (loaded from the scratch before a loop, so that the loop keeps them in registers rather
    than reloading each from the constant pool).
    """
    k = np.floor(x * c[0] + 0.5)  # a float: no int64 <-> float64 round trip (scalar on AVX2)
    r = (x - k * c[1]) - k * c[2]
    r2 = r * r
    r4 = r2 * r2
    b0 = (1.0 + r) + r2 * (c[3] + r * c[4])
    b1 = (c[5] + r * c[6]) + r2 * (c[7] + r * c[8])
    b2 = (c[9] + r * c[10]) + r2 * (c[11] + r * c[12])
    p = b0 + r4 * (b1 + r4 * b2)
    return p * _f64_from_bits((_bits_from_f64(k + _SHIFTER) - _SHIFTER_BITS + 1023) << 52)


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


@njit(cache=True)
def yuma_scratch(n: int, max_rows: int = -1) -> tuple[Any, ...]:
    """Working memory of :func:`yuma_subnet` for subnets of up to ``n`` UIDs.

    Allocate once per thread (e.g. once per run inside a ``prange``) and reuse it for every
    call; a scratch must not be shared by concurrent calls. Callable from ``@njit`` code.

    Parameters
    ----------
    n : int
        Largest number of UIDs (the length of the per-UID arrays) it will serve.
    max_rows : int, optional
        Largest number of UIDs holding ``P_old`` or ``P_new`` in one call (the rows the epoch
        works on). Default (-1): ``n``, always enough. With ``k = MaxAllowedValidators``,
        ``2 k + 2`` is enough when the stored permits come from earlier epochs (``P_old``: at
        most ``k`` plus the owner; ``P_new``: the same); :func:`yuma_subnet` raises
        ``ValueError`` if a call needs more.

    Returns
    -------
    tuple
        ``(fv, ff, wk, wf, iv, pold, pk, kc)``: float64 ``(15, n)`` and float32 ``(8, n)``
        vectors; float64 and float32 ``(max_rows, n + 8)`` working matrices; int64
        ``(4, n)`` vectors; bool ``(n,)``; bool ``(max_rows, n)`` presence matrix; float64
        constants (read only). About
        ``13 x max_rows x n + 180 x n`` bytes (``n = 256``, ``max_rows = 256``: 0.9 MB;
        ``max_rows = 130``: 0.5 MB).
    """
    rows = n if max_rows < 0 else min(max_rows, n)
    return (np.zeros((_N_FV, n)), np.zeros((_N_FF, n), dtype=np.float32),
            np.zeros((rows, n + _PAD)), np.zeros((rows, n + _PAD), dtype=np.float32),
            np.zeros((_N_IV, n), dtype=np.int64), np.zeros(n, dtype=np.bool_),
            np.zeros((rows, n), dtype=np.bool_), np.array(_EXP_CONSTS))


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _stake_permits(alpha, root, permit_old, uid_mask, last_update, own, block, tao_weight,
                   cutoff, max_validators, threshold, s, a, pold, pnew, tmp, buf
                   ):  # pragma: no cover - compiled
    """Stake ``S``, permits ``P_old``/``P_new`` and active stake ``A``; returns ``sum(A)``
    before normalisation."""
    n = alpha.shape[0]
    tot = 0.0
    nv = 0
    for i in range(n):  # selects, not branches: the masks are data-dependent
        mk = uid_mask[i]
        v = alpha[i] + tao_weight * root[i]
        v = v if (mk & ((math.floor(v) >= threshold) | (i == own))) else 0.0
        s[i] = v
        tot += v
        nv += 1 if mk else 0
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
    asum = 0.0
    for i in range(n):
        v = s[i] if (pold[i] & (last_update[i] + cutoff >= block)) else 0.0
        a[i] = v
        asum += v
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
        rs = 0.0
        if nrec >= 0:  # few columns can be masked: convert, then clear those
            for j in range(n):
                w = float(wrow[j])
                row[j] = w
                rs += w
            for x in range(nrec):
                j = recent[x]
                if regv[j] >= thr:
                    rs -= row[j]
                    row[j] = 0.0
        else:
            for j in range(n):
                w = float(wrow[j]) if regv[j] < thr else 0.0
                row[j] = w
                rs += w
        if i != own:  # self-weight, except the owner's
            rs -= row[i]
            row[i] = 0.0
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


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _clip_row(row, prow, cons, ai, beta, need_pk, scale, rank):  # pragma: no cover - compiled
    """Clip one validator's row: adds ``A_i min(W_ij, C_j)`` to ``rank``, turns ``row`` into the
    bonds weights ``W_b x scale`` (and the presence row, if tracked); returns the validator
    trust."""
    n = cons.shape[0]
    vt = 0.0
    if beta == 0.0:  # bonds use the unclipped weights
        for j in range(n):
            w = row[j]
            wc = _fmin(w, cons[j])
            vt += wc
            rank[j] += ai * wc
            row[j] = w * scale
    elif beta == 1.0:  # bonds use the clipped weights
        if need_pk:  # col_clip_sparse drops entries clipped to a zero consensus
            for j in range(n):
                prow[j] = prow[j] and not (cons[j] <= 0.0 < row[j])
        for j in range(n):
            wc = _fmin(row[j], cons[j])
            vt += wc
            rank[j] += ai * wc
            row[j] = wc * scale
    else:
        for j in range(n):
            w = row[j]
            wc = _fmin(w, cons[j])
            vt += wc
            rank[j] += ai * wc
            row[j] = (w + beta * (wc - w)) * scale
        if need_pk:  # interpolate_sparse keeps the positive entries only
            for j in range(n):
                prow[j] = row[j] > 0.0
    return vt


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH, inline="always")
def _liquid_ema(targ: float, u: float, wb: float, lo_a: float, dl: float, hi_a: float,
                ec: tuple[float, ...]) -> float:
    """Liquid-alpha bond EMA of one entry: ``u + alpha (wb - u)`` with ``alpha = lo + (hi - lo)
    sigma``, ``sigma = 1 / (1 + exp(targ))``; ``lo + (hi - lo) sigma >= lo`` exactly, so only
    ``hi`` can bind. A convex combination: the result is <= 65535 (up to rounding)."""
    al = _fmin(lo_a + dl / (1.0 + _exp(targ, ec)), hi_a)
    return u + al * (wb - u)


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
                vt = _clip_row(row, pk[r], cons, ai, beta, True, U16_MAX, rank)
            fused = False
        else:  # clipping fused into the first loop (rows without P_old are zero: no-op)
            fused = True
        if use_liquid:  # two simpler loops (argument; sigmoid and EMA) beat one
            for j in range(n):
                w = row[j]
                wb = w
                if fused:
                    wc = _fmin(w, cons[j])
                    vt += wc
                    rank[j] += ai * wc
                    wb = (wc if b1 else (w if b0 else w + beta * (wc - w))) * U16_MAX
                    row[j] = wb
                u = brow[j] * cmf[j]
                d = _fmax(wb - cs[j] if wb >= u else u - wb, 0.0)
                targ[j] = h - kk * d
                tu[j] = u
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
                vt += wc
                rank[j] += ai * wc
                wb = (wc if b1 else (w if b0 else w + beta * (wc - w))) * U16_MAX
                e = _fmax(af * wb + cf * (brow[j] * cmf[j]), 0.0)
                row[j] = e
                c1[j] += e
        else:
            for j in range(n):
                e = _fmax(af * row[j] + cf * (brow[j] * cmf[j]), 0.0)
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
        row = wk[r]
        bval = 0.0
        for j in range(n):
            bval += row[j] * c1[j]
        div[rows[r]] = bval * a[rows[r]]


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _clip_classic(wk, bonds, rows, m, pold, a, cons, beta, fv, rank, vt_out
                  ):  # pragma: no cover - compiled
    """Classic: clipping (ranks, validator trust), bonds delta ``W_b x A`` into ``wk``, and the
    column sums of the delta (``c2``) and of the masked old bonds (``c1``)."""
    n = cons.shape[0]
    c1 = fv[_F_C1]
    c2 = fv[_F_C2]
    cmf = fv[_F_CMF]
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
        vt = 0.0
        for j in range(n):
            w = row[j]
            wc = _fmin(w, cons[j])
            vt += wc
            rank[j] += ai * wc
            x = (wc if b1 else (w if b0 else w + beta * (wc - w))) * ai
            row[j] = x
            c2[j] += x
            c1[j] += brow[j] * cmf[j]
        if pold[i]:
            vt_out[i] = vt


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
        dsum = 0.0
        for j in range(n):
            e = _classic_ema(row[j], float(brow[j]), pp[j], qq[j])
            dsum += inc[j] * e
            cmax[j] = _fmax(cmax[j], e)
        div[rows[r]] = dsum
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
    :func:`yuma_epoch_numpy` (see the module notes). Thread-safe as long as each concurrent
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
    usum = 0.0
    for t in range(q):
        usum += a[rows[mrows[t]]]
    for t in range(q):
        ua[t] = a[rows[mrows[t]]] / usum
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
    rsum = 0.0
    for j in range(n):
        rsum += rank[j]
    for j in range(n):
        inc[j] = rank[j] / rsum if rsum > 0.0 else rank[j]
    # --- dividends (and classic bonds, which need the incentive)
    if yuma3:
        _dividends_yuma3(wk, rows, m, a, inc, fv, div)
    else:
        _bonds_classic(wk, bonds, rows, m, pnew, inc, af, fv, div)
    dsum = 0.0
    for i in range(n):
        dsum += div[i]
    if dsum > 0.0:
        for i in range(n):
            div[i] = div[i] / dsum

    # --- emission
    esum = 0.0
    for i in range(n):
        esum += inc[i] + div[i]
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

    Runs :func:`yuma_subnet` on each subnet (see the module notes): a few passes over the rows
    of UIDs holding ``P_old`` or ``P_new`` only, so the cost is ``O(k x n)`` per subnet, not
    ``O(n**2)``. ``weights`` and ``bonds`` are best passed as ``uint16`` (the chain's storage)
    to keep memory traffic low.

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
