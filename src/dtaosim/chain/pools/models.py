"""Maths shared by the three pool models: which model a mechanism runs, its TAO weight, the spot
price, a Balancer pool's initial weight and the floored curve outputs (one NumPy kernel for
the scalar and the batch functions); see :mod:`dtaosim.chain.pools`."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from dtaosim.chain.curves import spot_price
from dtaosim.chain.presets import Mechanism, PoolModel
from dtaosim.errors import SwapError

RAO: int = 1_000_000_000
PERQUINTILL: int = 10**18
U64_MAX: int = 2**64 - 1
_TWO64: int = 2**64


def _model(mech: Mechanism) -> PoolModel:
    return PoolModel(mech.pool_model)


def _eff_w2(mech: Mechanism, w2: float) -> float:
    """TAO weight used by the model (V2 and V3 are constant product)."""
    return float(w2) if _model(mech) == PoolModel.BALANCER else 0.5


def _check_nonneg(*vals: int) -> None:
    for v in vals:
        if int(v) < 0:
            raise ValueError("reserves and amounts must be non-negative")


def _price(y: float, x: float, w2: float) -> float:
    return float(spot_price(float(y), float(x), float(w2)))  # the kernel's formula


def current_price(mech: Mechanism, y: int, x: int, w2: float = 0.5) -> float:
    """Spot price (TAO per alpha) of the model: ``(w1/w2) y / x`` (V2/V3: ``y / x``).

    Parameters
    ----------
    mech
        Mechanism (selects the model).
    y, x
        TAO and alpha reserves (RAO).
    w2
        Balancer TAO weight (ignored by V2/V3).

    Returns
    -------
    float
        The price, 0 when ``x == 0``.
    """
    return _price(y, x, _eff_w2(mech, w2))


def initial_quote_weight(y: int, x: int, price: float | None = None) -> float:
    """TAO weight ``w2`` of a freshly initialised Balancer pool (``maybe_initialize_palswap``).

    Parameters
    ----------
    y, x
        TAO and alpha reserves (RAO).
    price
        Price (TAO per alpha) to preserve; ``None`` gives the default 0.5.

    Returns
    -------
    float
        ``w2 = y / (p x + y)`` as a Perquintill (rounded down), in ``[0.01, 0.99]``.

    Raises
    ------
    SwapError
        ``ReservesOutOfBalance`` if ``p x + y == 0`` or the weight is outside ``[0.01, 0.99]``.
    """
    if price is None:
        return 0.5
    px = math.floor(Fraction(float(price)) * int(x))
    den = px + int(y)
    if den <= 0:
        raise SwapError("ReservesOutOfBalance", "zero reserves")
    w2q = int(y) * PERQUINTILL // den
    if not PERQUINTILL // 100 <= w2q <= PERQUINTILL - PERQUINTILL // 100:
        raise SwapError("ReservesOutOfBalance", f"weight {w2q / PERQUINTILL} outside [0.01, 0.99]")
    return w2q / PERQUINTILL


def _alpha_out_arr(
    y: NDArray[np.int64], x: NDArray[np.int64], w2: NDArray[np.float64], dy: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Floored alpha out for ``dy`` TAO in (fee-less), elementwise; 0 where ``dy <= 0``."""
    yf = np.asarray(y, dtype=np.float64)
    xf = np.asarray(x, dtype=np.float64)
    df = np.asarray(dy, dtype=np.float64)
    w = np.asarray(w2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ysafe = np.where(yf > 0, yf, 1.0)
        cp = xf * df / (yf + df)
        gen = -xf * np.expm1(-(w / (1.0 - w)) * np.log1p(df / ysafe))
        out = np.where(w == 0.5, cp, gen)
        out = np.where(yf <= 0, xf, out)
        out = np.where((df <= 0) | (xf <= 0), 0.0, out)
        out = np.clip(np.nan_to_num(np.floor(out)), 0.0, xf)
    return out.astype(np.int64)


def _tao_out_arr(
    y: NDArray[np.int64], x: NDArray[np.int64], w2: NDArray[np.float64], dx: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Floored TAO out for ``dx`` alpha in (fee-less), elementwise; 0 where ``dx <= 0``."""
    yf = np.asarray(y, dtype=np.float64)
    xf = np.asarray(x, dtype=np.float64)
    df = np.asarray(dx, dtype=np.float64)
    w = np.asarray(w2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        xsafe = np.where(xf > 0, xf, 1.0)
        cp = yf * df / (xf + df)
        gen = -yf * np.expm1(-((1.0 - w) / w) * np.log1p(df / xsafe))
        out = np.where(w == 0.5, cp, gen)
        out = np.where(xf <= 0, yf, out)
        out = np.where((df <= 0) | (yf <= 0), 0.0, out)
        out = np.clip(np.nan_to_num(np.floor(out)), 0.0, yf)
    return out.astype(np.int64)


def _alpha_out(y: int, x: int, w2: float, dy: int) -> int:
    a = np.array
    return int(_alpha_out_arr(a([y]), a([x]), a([w2]), a([dy]))[0])


def _tao_out(y: int, x: int, w2: float, dx: int) -> int:
    a = np.array
    return int(_tao_out_arr(a([y]), a([x]), a([w2]), a([dx]))[0])
