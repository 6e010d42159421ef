"""Block emission with issuance-based halvings (spec section 2).

The chain computes ``q = I / (2 x 10.5e15)`` in I96F32 (32 fractional bits, floored),
``k = floor(log2(1 / (1 - q)))`` and pays ``floor(1e9 / 2**k)`` RAO per block, 0 once
``I >= 21e15``. Because ``floor(I * 2**32 / S) >= 2**32 - 2**(32-k)`` holds exactly when
``I >= S * (1 - 2**-k)``, ``k`` is the number of thresholds ``T_k = ceil(S (1 - 2**-k))`` that the
issuance has reached; this module precomputes them as exact integers. The same function gives
each subnet's alpha emission from its alpha issuance (every subnet token has its own 21M cap and
halvings). ``mint_tao`` additionally caps the TAO mint at ``S - I``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

TOTAL_SUPPLY_RAO: int = 21_000_000_000_000_000
DEFAULT_BLOCK_EMISSION_RAO: int = 1_000_000_000
MAX_HALVINGS: int = 63


def halving_thresholds(total_supply: int = TOTAL_SUPPLY_RAO) -> NDArray[np.int64]:
    """Issuance thresholds ``T_k = ceil(S (1 - 2**-k))`` for ``k = 1..63`` (exact integers)."""
    out = []
    for k in range(1, MAX_HALVINGS + 1):
        num = total_supply * (2**k - 1)
        out.append(-((-num) // 2**k))  # ceil division
    return np.asarray(out, dtype=np.int64)


def halvings(issuance: int, total_supply: int = TOTAL_SUPPLY_RAO) -> int:
    """Number of halvings ``k`` in force at ``issuance`` RAO (exact; chain's I96F32 rule)."""
    if issuance >= total_supply:
        return MAX_HALVINGS
    q_fixed = (issuance << 32) // total_supply  # I96F32 floor
    d = (1 << 32) - q_fixed
    return 32 - (d - 1).bit_length()


def block_emission(
    issuance: int,
    base: int = DEFAULT_BLOCK_EMISSION_RAO,
    total_supply: int = TOTAL_SUPPLY_RAO,
) -> int:
    """Emission in RAO for one block at ``issuance`` (TAO or a subnet's alpha), exact.

    Parameters
    ----------
    issuance
        Total issuance in RAO (``TotalIssuance`` for TAO, ``AlphaIn + AlphaOut`` for alpha).
    base
        ``DefaultBlockEmission`` (1e9 RAO).
    total_supply
        ``TotalSupply`` (21e15 RAO).

    Returns
    -------
    int
        ``floor(base / 2**k)``, or 0 at or above ``total_supply``.

    Examples
    --------
    >>> block_emission(10_500_000_000_000_000)
    500000000
    """
    if issuance >= total_supply:
        return 0
    return base >> halvings(issuance, total_supply) if base >= 0 else 0


def mint_tao(issuance: int, base: int = DEFAULT_BLOCK_EMISSION_RAO,
             total_supply: int = TOTAL_SUPPLY_RAO) -> int:
    """TAO actually minted for one block: ``min(block_emission, total_supply - issuance)``."""
    return max(0, min(block_emission(issuance, base, total_supply), total_supply - issuance))


@njit(cache=True, inline="always", error_model="numpy")
def emission_for_issuance(issuance: int, base: int, total_supply: int,
                          thresholds: NDArray[np.int64]) -> int:
    """Compiled :func:`block_emission` using precomputed ``thresholds`` (exact)."""
    if issuance >= total_supply:
        return 0
    k = 0
    n = thresholds.shape[0]
    while k < n and issuance >= thresholds[k]:
        k += 1
    if k >= 62:
        return 0
    return base >> k
