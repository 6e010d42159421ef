"""Units used throughout dtaosim.

Balances (TAO and every subnet's alpha) are stored as ``int64`` counts of RAO, exactly as the
chain stores ``u64`` RAO: 1 TAO = 1 alpha-unit = 10**9 RAO. Prices are dimensionless floats
(TAO per alpha). Proportions stored by the chain as ``u16`` are ``x / 65535``; those stored as
``u64`` are ``x / (2**64 - 1)``.

Type aliases below document intent in signatures; they are not enforced at run time.
"""

from __future__ import annotations

from typing import TypeAlias

RAO_PER_TAO: int = 1_000_000_000
BLOCKS_PER_DAY: int = 7_200
BLOCK_SECONDS: int = 12
U16_MAX: int = 65_535
U64_MAX: int = 2**64 - 1

Rao: TypeAlias = int
"""An integer amount in RAO (10**-9 TAO or 10**-9 alpha)."""
Tao: TypeAlias = float
"""An amount in TAO (float, for display and configuration)."""
Blocks: TypeAlias = int
"""A number of 12-second blocks."""


def tao_to_rao(tao: float) -> int:
    """Convert TAO (or alpha) to RAO, flooring as the chain does."""
    return int(tao * RAO_PER_TAO) if tao >= 0 else -int(-tao * RAO_PER_TAO)


def rao_to_tao(rao: float) -> float:
    """Convert RAO to TAO (or alpha) as a float."""
    return rao / RAO_PER_TAO


def u16_proportion(x: int) -> float:
    """Real value of a chain ``u16`` proportion (``x / 65535``)."""
    return x / U16_MAX


def u64_proportion(x: int) -> float:
    """Real value of a chain ``u64`` proportion (``x / (2**64 - 1)``)."""
    return x / U64_MAX


def days_to_blocks(days: float) -> int:
    """Number of 12-second blocks in ``days`` days (7,200 per day)."""
    return round(days * BLOCKS_PER_DAY)
