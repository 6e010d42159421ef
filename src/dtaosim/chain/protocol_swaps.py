"""Fee-less swaps the protocol makes inside a block (spec 7.4).

Chain buys with excess emission (4.3) and root-dividend sells (launch-era per-block sells, 5.7
claims) trade against the pool without a fee. These compiled helpers return the amounts that
would trade, or 0 where the chain would reject the swap (reserve guards), and never mutate state;
the caller moves the balances. Amounts are RAO.
"""

from __future__ import annotations

import math

from numba import njit

from dtaosim.chain.curves import (
    alpha_in_to_reach_price,
    alpha_out_for_tao_in,
    spot_price,
    tao_out_for_alpha_in,
)
from dtaosim.chain.presets import PoolModel

CONSTANT_PRODUCT = int(PoolModel.CONSTANT_PRODUCT)
BALANCER = int(PoolModel.BALANCER)


@njit(cache=True, error_model="numpy")
def protocol_buy(pool_model: int, y: int, x: int, w2: float, tao: int, min_liquidity: int,
                 minimum_reserve: int, max_input_multiple: float) -> int:
    """Alpha bought for ``tao`` RAO fee-less at the maximum price limit (0 if rejected)."""
    if tao <= 0 or x <= 0:
        return 0
    if pool_model == BALANCER:
        if x < minimum_reserve or (y > 0 and tao > max_input_multiple * y):
            return 0
    out = alpha_out_for_tao_in(float(y), float(x), w2, float(tao))
    out_i = math.floor(out) if out > 0.0 else 0
    if out_i <= 0 or out_i > x:
        return 0
    if pool_model == CONSTANT_PRODUCT and x - out_i < min_liquidity:
        return 0
    return out_i


@njit(cache=True, error_model="numpy")
def protocol_sell(pool_model: int, y: int, x: int, w2: float, alpha: int, min_price: float,
                  min_liquidity: int, minimum_reserve: int,
                  max_input_multiple: float) -> tuple[int, int]:
    """Sell up to ``alpha`` RAO fee-less down to ``min_price``; returns ``(alpha_sold, tao_out)``.

    Selling stops at the price limit (the unsold part is the caller's to keep) and is rejected
    (``(0, 0)``) where the chain's reserve guards would fail.
    """
    if alpha <= 0 or y <= 0:
        return 0, 0
    dx = float(alpha)
    out = tao_out_for_alpha_in(float(y), float(x), w2, dx)
    if spot_price(y - out, x + dx, w2) < min_price:  # the limit binds: sell only up to it
        dx = math.floor(alpha_in_to_reach_price(float(y), float(x), w2, min_price))
        if dx <= 0.0:
            return 0, 0
        out = tao_out_for_alpha_in(float(y), float(x), w2, dx)
    if pool_model == BALANCER:
        if y < minimum_reserve or (x > 0 and dx > max_input_multiple * x):
            return 0, 0
    out_i = math.floor(out) if out > 0.0 else 0
    if out_i <= 0 or out_i > y:
        return 0, 0
    if pool_model == CONSTANT_PRODUCT and y - out_i < min_liquidity:
        return 0, 0
    return int(dx), out_i
