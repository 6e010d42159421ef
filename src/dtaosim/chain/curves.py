"""Swap-curve arithmetic shared by every pool model (spec 7), as compiled scalar functions.

All three pool models the chain has run are one curve family on the reserves
``y`` (TAO) and ``x`` (alpha) with TAO weight ``w2`` and alpha weight ``w1 = 1 - w2``::

    price  p = (w1 / w2) * y / x,         invariant  x**w1 * y**w2 = const.

With ``w2 = 0.5`` this is exactly constant product (the V2 pool and the V3 pool with its single
full-range protocol position). Functions here are fee-less and unfloored; fees, floors, limits and
the chain's error cases live in :mod:`dtaosim.chain.pools`. Amounts are RAO as floats.

The formulas are written with ``log1p``/``expm1`` so that small trades keep full relative
precision (the chain computes them in 10**18-scaled rationals).
"""

from __future__ import annotations

import math

from numba import njit

SMALL = 1.0 / 1024.0
"""Below this relative trade size the power is evaluated by series (exact to double rounding)."""


@njit(cache=True, inline="always", error_model="numpy")
def log1p_small(u: float) -> float:
    """``log1p(u)`` for ``|u| < SMALL`` by its Taylor series (truncation < 1e-21 relative)."""
    return u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * (0.2 - u * (1.0 / 6.0))))))


@njit(cache=True, inline="always", error_model="numpy")
def expm1_small(t: float) -> float:
    """``expm1(t)`` for ``|t| < 2 SMALL`` by its Taylor series (truncation < 1e-20 relative)."""
    return t * (1.0 + t * (0.5 + t * (1.0 / 6.0 + t * (1.0 / 24.0 + t * (1.0 / 120.0
                                                                      + t * (1.0 / 720.0))))))


@njit(cache=True, inline="always", error_model="numpy")
def one_minus_ratio_pow(u: float, e: float) -> float:
    """``1 - (1 + u)**(-e)`` for ``u >= 0``: the fraction of a reserve paid out by a swap."""
    if u < SMALL and e < 2.0:
        return -expm1_small(-e * log1p_small(u))
    return -math.expm1(-e * math.log1p(u))


@njit(cache=True, inline="always", error_model="numpy")
def spot_price(y: float, x: float, w2: float) -> float:
    """Spot price ``(w1/w2) * y / x`` in TAO per alpha; 0 when ``x <= 0``.

    Evaluated as ``(w1 y) / (w2 x)``: one division, and exactly ``y / x`` when ``w2 = 0.5``.
    """
    if x <= 0.0:
        return 0.0
    return ((1.0 - w2) * y) / (w2 * x)


@njit(cache=True, inline="always", error_model="numpy")
def alpha_out_for_tao_in(y: float, x: float, w2: float, dy: float) -> float:
    """Alpha paid out for ``dy`` TAO in (net of fee): ``x * (1 - (y/(y+dy))**(w2/w1))``."""
    if dy <= 0.0 or x <= 0.0:
        return 0.0
    if y <= 0.0:
        return x
    e = w2 / (1.0 - w2)
    if e == 1.0:
        return x * dy / (y + dy)
    return x * one_minus_ratio_pow(dy / y, e)


@njit(cache=True, inline="always", error_model="numpy")
def tao_out_for_alpha_in(y: float, x: float, w2: float, dx: float) -> float:
    """TAO paid out for ``dx`` alpha in (net of fee): ``y * (1 - (x/(x+dx))**(w1/w2))``."""
    if dx <= 0.0 or y <= 0.0:
        return 0.0
    if x <= 0.0:
        return y
    e = (1.0 - w2) / w2
    if e == 1.0:
        return y * dx / (x + dx)
    return y * one_minus_ratio_pow(dx / x, e)


@njit(cache=True, inline="always", error_model="numpy")
def tao_in_to_reach_price(y: float, x: float, w2: float, target: float) -> float:
    """TAO input that moves the price up to ``target``: ``y * ((p'/p)**w1 - 1)`` (0 if p' <= p)."""
    p = spot_price(y, x, w2)
    if p <= 0.0 or target <= p:
        return 0.0
    return y * math.expm1((1.0 - w2) * math.log(target / p))


@njit(cache=True, inline="always", error_model="numpy")
def alpha_in_to_reach_price(y: float, x: float, w2: float, target: float) -> float:
    """Alpha input that moves the price down to ``target``: ``x * ((p/p')**w2 - 1)``.

    Returns ``inf`` for ``target <= 0`` (no limit) and 0 when the price is already at or below
    ``target``.
    """
    p = spot_price(y, x, w2)
    if target <= 0.0:
        return math.inf
    if p <= target:
        return 0.0
    return x * math.expm1(w2 * math.log(p / target))


@njit(cache=True, inline="always", error_model="numpy")
def quote_weight_after_injection(y: float, x: float, w2: float, dy: float, dx: float) -> float:
    """TAO weight after the protocol adds ``(dy, dx)`` keeping the price unchanged (spec 7.3).

    ``w2' = w2 x (y+dy) / (w1 y (x+dx) + w2 x (y+dy))``; with ``dy/dx = y/x`` it is ``w2``.
    """
    num = w2 * x * (y + dy)
    den = (1.0 - w2) * y * (x + dx) + num
    if den <= 0.0:
        return w2
    return num / den
