"""Shared pieces of both Yuma implementations: the result type, the bonds' registration window,
argument checking and broadcasting (see :mod:`dtaosim.chain.yuma`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

U16_MAX = 65535
_MEDIAN_EPS = 1e-10  # float path: stake(W >= s) >= kappa - eps absorbs summation-order noise


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
