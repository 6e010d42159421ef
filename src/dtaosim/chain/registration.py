"""Network lock cost and neuron (UID) registration burn price (spec 8.1 and 9.1).

Exact integer emulations of the chain's arithmetic:

* :func:`network_lock_cost` — ``coinbase/root.rs::get_network_lock_cost`` with the halving-scaled
  reduction interval of ``get_lock_reduction_interval`` (I64F64, floored);
* :func:`burn_factor_q32` — ``utils/misc.rs::decay_factor_q32``: the largest Q32 factor ``f``
  with ``pow_q32(f, H) <= 1/2``, found by the chain's binary search over ``[0, 2**32)`` with
  floor multiplications (``mul_by_q32``) in exponentiation by squaring;
* :func:`decay_burn` — one block of ``update_registration_prices_for_networks`` (compiled; the
  engine's block loop calls it once per subnet per block for blocks > 1);
* :func:`bump_burn` — ``bump_registration_price_after_registration`` (U64F64 multiply, floor).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

Q32_ONE: int = 1 << 32
"""1.0 in Q32."""

_U64_MAX: int = (1 << 64) - 1
_I64_MAX: int = (1 << 63) - 1
_RAO_PER_TAO: int = 1_000_000_000


def effective_lock_reduction_interval(reduction_interval: int, block_emission: int) -> int:
    """Lock-cost reduction interval scaled by the TAO halvings (``get_lock_reduction_interval``).

    The chain computes ``interval x (block_emission / 1e9)`` in I64F64 and floors it, so the
    interval halves with every TAO halving.

    Parameters
    ----------
    reduction_interval
        ``NetworkLockReductionInterval`` in blocks.
    block_emission
        Current TAO block emission in RAO.

    Returns
    -------
    int
        ``floor(interval x floor(block_emission x 2**64 / 1e9) / 2**64)`` (blocks, >= 0).
    """
    if reduction_interval <= 0 or block_emission <= 0:
        return 0
    halving_fixed = (block_emission << 64) // _RAO_PER_TAO  # I64F64 division, floored
    return (reduction_interval * halving_fixed) >> 64


def network_lock_cost(
    last_lock: int,
    last_lock_block: int,
    now: int,
    *,
    min_lock: int,
    reduction_interval: int,
    block_emission: int,
) -> int:
    """TAO (RAO) locked to register a subnet at block ``now`` (spec 8.1).

    ``cost = max(min_lock, m x L - floor(L / I_eff) x max(0, now - b))`` with ``m = 2`` if the
    last registration block ``b > 0`` else 1 and ``I_eff`` the halving-scaled interval
    (:func:`effective_lock_reduction_interval`); the subtraction saturates at 0 and a zero
    ``I_eff`` means no decrement (the chain's ``safe_div``).

    Parameters
    ----------
    last_lock
        ``NetworkLastLockCost`` ``L`` (RAO).
    last_lock_block
        Block of the last network registration ``b`` (0: never).
    now
        Current block.
    min_lock
        ``NetworkMinLockCost`` (RAO).
    reduction_interval
        ``NetworkLockReductionInterval`` (blocks, before halving scaling).
    block_emission
        Current TAO block emission (RAO); ``1e9`` before the first halving.

    Returns
    -------
    int
        Lock cost in RAO.
    """
    mult = 2 if last_lock_block > 0 else 1
    interval = effective_lock_reduction_interval(reduction_interval, block_emission)
    per_block = last_lock // interval if interval > 0 else 0
    elapsed = max(0, now - last_lock_block)
    cost = max(0, mult * last_lock - per_block * elapsed)
    return max(int(min_lock), int(cost))


# ------------------------------------------------------------------------- neuron burn price
def _mul_by_q32(value: int, factor_q32: int) -> int:
    """``floor(value x factor / 2**32)`` saturated to u64 (``mul_by_q32``)."""
    return min((value * factor_q32) >> 32, _U64_MAX)


def pow_q32(base_q32: int, exp: int) -> int:
    """``base**exp`` in Q32 by squaring with floor multiplications (``pow_q32``).

    Parameters
    ----------
    base_q32
        Base in Q32 (``1 << 32`` is 1.0).
    exp
        Non-negative exponent.

    Returns
    -------
    int
        The chain's Q32 result (each multiplication floored, saturated to u64).
    """
    result = Q32_ONE
    factor = base_q32
    power = int(exp)
    while power > 0:
        if power & 1:
            result = _mul_by_q32(result, factor)
        power >>= 1
        if power > 0:
            factor = _mul_by_q32(factor, factor)
    return result


@lru_cache(maxsize=256)
def burn_factor_q32(half_life: int) -> int:
    """Per-block burn decay factor in Q32 for ``BurnHalfLife = half_life`` (spec 9.1).

    The largest ``f`` in ``[0, 2**32)`` with ``pow_q32(f, H) <= 2**31`` found by the chain's
    binary search; ``H = 0`` gives ``2**32`` (no decay).

    Parameters
    ----------
    half_life
        Half-life in blocks.

    Returns
    -------
    int
        Factor in Q32 (R1: ``H = 2`` -> 3 037 000 500; R2: ``H = 1000`` -> 4 291 991 283).
    """
    if half_life <= 0:
        return Q32_ONE
    half = 1 << 31
    lo, hi = 0, Q32_ONE
    while lo + 1 < hi:
        mid = lo + ((hi - lo) >> 1)
        if pow_q32(mid, half_life) > half:
            hi = mid
        else:
            lo = mid
    return lo


@njit(cache=True, inline="always", error_model="numpy")
def decay_burn(burn: int, factor_q32: int, min_burn: int, max_burn: int) -> int:
    """One block of burn decay: ``floor(burn x f / 2**32)`` clamped to ``[min_burn, max_burn]``.

    Exact for ``0 <= burn < 2**63`` and ``0 <= f <= 2**32``: the product is formed from the high
    and low 32-bit halves of ``burn`` in ``uint64`` (``hi x f + floor(lo x f / 2**32)``), so it
    never overflows. The chain applies it for every block > 1 (spec 1 step 1); the caller decides
    that. The upper clamp is applied last (as the chain does when ``min_burn > max_burn``).

    Parameters
    ----------
    burn
        Current ``Burn`` (RAO).
    factor_q32
        Decay factor from :func:`burn_factor_q32`.
    min_burn, max_burn
        ``MinBurn`` and ``MaxBurn`` (RAO).

    Returns
    -------
    int
        The new burn price (RAO).
    """
    b = np.uint64(burn)
    f = np.uint64(factor_q32)
    mask = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    hi = b >> shift
    lo = b & mask
    new = hi * f + ((lo * f) >> shift)
    out = np.int64(new)
    if out < min_burn:
        out = np.int64(min_burn)
    if out > max_burn:
        out = np.int64(max_burn)
    return out


def bump_burn(burn: int, mult: float, min_burn: int, max_burn: int) -> int:
    """Burn after a successful registration: ``floor(burn x mult)`` clamped (spec 9.1).

    The chain multiplies in U64F64; ``mult`` (a float such as 1.26, stored by the chain as
    ``U64F64::from_num(1.26)``, i.e. the exact binary value of the float) is used exactly via its
    integer ratio, so the result is the chain's. ``mult < 1`` is treated as 1.

    Parameters
    ----------
    burn
        Current ``Burn`` (RAO).
    mult
        ``BurnIncreaseMult``.
    min_burn, max_burn
        ``MinBurn`` and ``MaxBurn`` (RAO).

    Returns
    -------
    int
        The new burn price (RAO).
    """
    num, den = max(float(mult), 1.0).as_integer_ratio()
    new = min((int(burn) * num) // den, _U64_MAX)
    new = max(new, int(min_burn))
    new = min(new, int(max_burn))
    return min(new, _I64_MAX)


__all__ = [
    "Q32_ONE",
    "bump_burn",
    "burn_factor_q32",
    "decay_burn",
    "effective_lock_reduction_interval",
    "network_lock_cost",
    "pow_q32",
]
