"""Limit prices: exact price comparisons, the input that moves the price to a limit
(``calculate_{quote,base}_delta_in``) and the limit orders' :func:`max_amount_add` /
:func:`max_amount_remove`; see :mod:`dtaosim.chain.pools`."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
from numpy.typing import NDArray

from dtaosim.chain.pools.fees import _fee_bits, _mul_bits
from dtaosim.chain.pools.models import (
    _TWO64,
    PERQUINTILL,
    RAO,
    U64_MAX,
    _check_nonneg,
    _eff_w2,
    _model,
)
from dtaosim.chain.presets import Mechanism, PoolModel
from dtaosim.errors import SwapError

_POW_CAP: int = U64_MAX  # pow_ratio_scaled results saturate at u64::MAX (ratio**w <= 18.44)
_POW_CAP_F: float = U64_MAX / PERQUINTILL


def _perquintill(w2: float) -> tuple[int, int]:
    """Perquintill parts ``(w1q, w2q)`` of the weights (``w2q = round(w2 1e18)``)."""
    w2q = round(float(w2) * PERQUINTILL)
    w2q = min(max(w2q, 1), PERQUINTILL - 1)
    return PERQUINTILL - w2q, w2q


def _limit_rao(price: float) -> int:
    return round(float(price) * RAO)


def _scaled_delta_arr(
    reserve: NDArray[np.float64], w: NDArray[np.float64], ratio: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Float version of :func:`_delta_to_limit` for the batch functions.

    ``floor(reserve * (min(ratio**w, u64::MAX/1e18) - 1))`` with ``ratio**w - 1`` evaluated as
    ``expm1(w log(ratio))``; 0 where ``ratio <= 1``.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        em1 = np.expm1(w * np.log(np.where(ratio > 0, ratio, 1.0)))
        em1 = np.minimum(np.nan_to_num(em1, nan=0.0, posinf=np.inf), _POW_CAP_F - 1.0)
        d = np.floor(reserve * np.maximum(em1, 0.0))
    return np.where(ratio > 1.0, d, 0.0)


def _pow_ratio_scaled(num: int, den: int, wq: int) -> int:
    """``floor(1e18 (num/den)**(wq/1e18))`` saturated at ``u64::MAX`` (chain ``SafeInt``).

    Evaluated in 60-digit decimal arithmetic; a result within 1e-30 below an integer is taken
    as that integer (exact powers such as ``4**0.5``).
    """
    with localcontext() as ctx:
        ctx.prec = 60
        v = ((Decimal(num) / Decimal(den)).ln() * wq / PERQUINTILL).exp() * PERQUINTILL
        n = int(v)
        if v - n > 1 - Decimal("1e-30"):
            n += 1
    return min(n, _POW_CAP)


def _delta_to_limit(reserve: int, num: int, den: int, wq: int) -> int:
    """Input that moves the price to the limit, as ``calculate_{quote,base}_delta_in`` does.

    ``reserve * ((num/den)**w - 1)`` with the power scaled to 10**18 and floored, converted to
    ``U64F64`` (``E / 1e18``, truncated), minus one, times the reserve, floored. ``num/den`` is
    the exact price ratio (limit over current price for buys, current over limit for sells).
    """
    if num <= den or den <= 0 or reserve <= 0:
        return 0
    e = _pow_ratio_scaled(num, den, wq)
    q = (e << 64) // PERQUINTILL
    return max(reserve * (q - _TWO64) >> 64, 0)


def _buy_limit_ok(y: int, x: int, w2: float, limit: int) -> bool:
    """Current price strictly below ``limit`` (RAO per alpha), exactly (price 0 if ``x = 0``)."""
    if x <= 0:
        return limit > 0
    w1q, w2q = _perquintill(w2)
    return RAO * y * w1q < limit * x * w2q


def _sell_limit_ok(y: int, x: int, w2: float, limit: int) -> bool:
    """Current price strictly above ``limit`` (RAO per alpha), exactly (price 0 if ``x = 0``)."""
    if x <= 0:
        return False
    w1q, w2q = _perquintill(w2)
    return RAO * y * w1q > limit * x * w2q


def _tao_to_limit(y: int, x: int, w2: float, limit: int) -> int:
    """Net TAO moving the price up to ``limit``: ``y ((L/p)**w1 - 1)`` (exact price ratio)."""
    w1q, w2q = _perquintill(w2)
    return _delta_to_limit(y, limit * x * w2q, RAO * y * w1q, w1q)


def _alpha_to_limit(y: int, x: int, w2: float, limit: int) -> int:
    """Net alpha moving the price down to ``limit``: ``x ((p/L)**w2 - 1)`` (exact price ratio)."""
    w1q, w2q = _perquintill(w2)
    return _delta_to_limit(x, RAO * y * w1q, limit * x * w2q, w2q)


def _buy_target_within(y: int, x: int, w2: float, net: int, out: int, limit: int) -> bool:
    """Price after buying ``out`` alpha for ``net`` TAO is at or below ``limit`` (exact)."""
    if x - out <= 0:
        return True  # the chain's price of an empty alpha reserve is 0
    w1q, w2q = _perquintill(w2)
    return RAO * w1q * (y + net) <= limit * w2q * (x - out)


def _sell_target_within(y: int, x: int, w2: float, net: int, out: int, limit: int) -> bool:
    """Price after selling ``net`` alpha for ``out`` TAO is at or above ``limit`` (exact)."""
    if x + net <= 0:
        return limit <= 0
    w1q, w2q = _perquintill(w2)
    return RAO * w1q * (y - out) >= limit * w2q * (x + net)


def max_amount_add(mech: Mechanism, y: int, x: int, w2: float, limit_price_rao: int) -> int:
    """Largest TAO amount (fee included) that ``add_stake_limit`` executes at ``limit_price_rao``.

    Parameters
    ----------
    mech
        Mechanism (pool model).
    y, x
        TAO and alpha reserves (RAO).
    w2
        Balancer TAO weight (ignored by V2/V3).
    limit_price_rao
        Limit price in RAO per 1 alpha.

    Returns
    -------
    int
        V2: ``max(floor(L x / 1e9) - y, 0)`` (0 when ``L = 0`` or a reserve is 0).
        V3/Balancer: ``delta_to_limit + fee(delta_to_limit)``, or the simulated input
        (``max_input_multiple x y``; V3: ``u64::MAX``) when the limit is not reached.

    Raises
    ------
    SwapError
        ``PriceLimitExceeded`` if the price is not below the limit, ``ReservesTooLow``
        (V3/Balancer guards), ``ZeroMaxStakeAmount`` (V3, result 0).
    """
    y, x, limit = int(y), int(x), int(limit_price_rao)
    _check_nonneg(y, x, limit)
    model = _model(mech)
    if model == PoolModel.CONSTANT_PRODUCT:
        if x == 0 or y == 0 or limit == 0:
            return 0
        return min(max(limit * x // RAO - y, 0), U64_MAX)
    w = _eff_w2(mech, w2)
    probe = int(mech.max_input_multiple * y) if model == PoolModel.BALANCER else U64_MAX
    fee_bits, fee_lim_bits = _fee_bits(mech)
    net = probe - _mul_bits(probe, fee_bits)
    if x < int(mech.minimum_reserve):
        raise SwapError("ReservesTooLow", f"alpha reserve {x} < {mech.minimum_reserve}")
    if not _buy_limit_ok(y, x, w, limit):
        raise SwapError("PriceLimitExceeded", "price is not below the limit")
    out = math.floor(_float_alpha_out(y, x, w, net))
    if _buy_target_within(y, x, w, net, out, limit):
        result = probe
    else:
        net = _tao_to_limit(y, x, w, limit)
        out = math.floor(_float_alpha_out(y, x, w, net))
        result = net + _mul_bits(net, fee_lim_bits)
    if net > 0 and out <= 0:
        raise SwapError("ReservesTooLow", "zero alpha out")
    if model == PoolModel.UNISWAP_V3 and result == 0:
        raise SwapError("ZeroMaxStakeAmount", "limit allows no stake")
    return min(result, U64_MAX)


def max_amount_remove(mech: Mechanism, y: int, x: int, w2: float, limit_price_rao: int) -> int:
    """Largest alpha amount (fee included) that ``remove_stake_limit`` executes at the limit.

    Parameters
    ----------
    mech
        Mechanism (pool model).
    y, x
        TAO and alpha reserves (RAO).
    w2
        Balancer TAO weight (ignored by V2/V3).
    limit_price_rao
        Limit price in RAO per 1 alpha; 0 means no limit.

    Returns
    -------
    int
        V2: ``floor(y 1e9 / L) - x`` (0 if ``L >= y 1e9 / x`` or a reserve is 0; ``u64::MAX`` if
        ``L = 0``). V3/Balancer: ``delta_to_limit + fee``, or the simulated input
        (``max_input_multiple x x``; V3: ``u64::MAX``) when the limit is not reached (always
        for ``L = 0``, W18).

    Raises
    ------
    SwapError
        ``PriceLimitExceeded`` if the price is not above the limit, ``ReservesTooLow``
        (V3/Balancer guards), ``ZeroMaxStakeAmount`` (V3, result 0).
    """
    y, x, limit = int(y), int(x), int(limit_price_rao)
    _check_nonneg(y, x, limit)
    model = _model(mech)
    if model == PoolModel.CONSTANT_PRODUCT:
        if x == 0 or y == 0:
            return 0
        if limit == 0:
            return U64_MAX
        if limit >= y * RAO // x:
            return 0
        return min(y * RAO // limit - x, U64_MAX)
    w = _eff_w2(mech, w2)
    probe = int(mech.max_input_multiple * x) if model == PoolModel.BALANCER else U64_MAX
    fee_bits, fee_lim_bits = _fee_bits(mech)
    net = probe - _mul_bits(probe, fee_bits)
    if y < int(mech.minimum_reserve):
        raise SwapError("ReservesTooLow", f"TAO reserve {y} < {mech.minimum_reserve}")
    if not _sell_limit_ok(y, x, w, limit):
        raise SwapError("PriceLimitExceeded", "price is not above the limit")
    out = math.floor(_float_tao_out(y, x, w, net))
    if _sell_target_within(y, x, w, net, out, limit):
        result = probe
    else:
        net = _alpha_to_limit(y, x, w, limit)
        out = math.floor(_float_tao_out(y, x, w, net))
        result = net + _mul_bits(net, fee_lim_bits)
    if net > 0 and out <= 0:
        raise SwapError("ReservesTooLow", "zero TAO out")
    if model == PoolModel.UNISWAP_V3 and result == 0:
        raise SwapError("ZeroMaxStakeAmount", "limit allows no unstake")
    return min(result, U64_MAX)


def _float_alpha_out(y: int, x: int, w: float, dy: int) -> float:
    """Unfloored alpha out in Python floats (for probes beyond ``int64``)."""
    if dy <= 0 or x <= 0:
        return 0.0
    if y <= 0:
        return float(x)
    return min(-x * math.expm1(-(w / (1.0 - w)) * math.log1p(dy / y)), float(x))


def _float_tao_out(y: int, x: int, w: float, dx: int) -> float:
    """Unfloored TAO out in Python floats (for probes beyond ``int64``)."""
    if dx <= 0 or y <= 0:
        return 0.0
    if x <= 0:
        return float(y)
    return min(-y * math.expm1(-((1.0 - w) / w) * math.log1p(dx / x)), float(y))
