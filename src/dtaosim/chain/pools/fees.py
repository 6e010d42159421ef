"""Swap fees of the fee-rate pools (V3, Balancer) in the chain's ``U64F64`` arithmetic: Python
ints for the scalar functions, a 32-bit-split ``uint64`` product for the batch ones."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from dtaosim.chain.pools.models import _TWO64
from dtaosim.chain.presets import Mechanism

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def _fee_bits(mech: Mechanism) -> tuple[int, int]:
    """``U64F64`` bits of ``r`` and of ``r/(1-r)`` for the fee rate (``r = FeeRate/65535``)."""
    rate = float(mech.fee_rate)
    if rate <= 0.0:
        return 0, 0
    n = round(rate * 65_535)
    if 0 < n < 65_535 and abs(n / 65_535 - rate) <= 1e-12:
        return (n << 64) // 65_535, (n << 64) // (65_535 - n)
    f = Fraction(rate)
    return math.floor(f * _TWO64), math.floor(f / (1 - f) * _TWO64)


def _mul_bits(amount: int, bits: int) -> int:
    """``floor(amount * bits / 2**64)``: a ``U64F64`` product floored to an integer."""
    return (int(amount) * bits) >> 64


def _mul_bits_arr(amount: NDArray[np.int64], bits: int) -> NDArray[np.int64]:
    """Vectorised :func:`_mul_bits` for ``0 <= amount < 2**63`` and ``bits < 2**64`` (exact)."""
    a = np.maximum(amount, 0).astype(np.uint64)
    b1 = np.uint64(bits >> 32)
    b0 = np.uint64(bits & 0xFFFFFFFF)
    a1 = a >> _S32
    a0 = a & _M32
    p11 = a1 * b1
    p10 = a1 * b0
    p01 = a0 * b1
    p00 = a0 * b0
    carry = ((p10 & _M32) + (p01 & _M32) + (p00 >> _S32)) >> _S32
    return (p11 + (p10 >> _S32) + (p01 >> _S32) + carry).astype(np.int64)


def swap_fee(mech: Mechanism, amount: int, *, at_limit: bool = False) -> int:
    """Swap fee of a fee-rate pool on ``amount`` (RAO), as the chain floors it.

    Parameters
    ----------
    mech
        Mechanism (uses ``fee_rate``).
    amount
        Input amount in RAO.
    at_limit
        ``True`` for the fee recomputed when a swap stops at its limit price
        (``amount * r / (1 - r)`` on the net amount).

    Returns
    -------
    int
        ``floor(amount * r)`` in the chain's ``U64F64`` arithmetic.
    """
    bits = _fee_bits(mech)[1 if at_limit else 0]
    return _mul_bits(amount, bits)
