"""User-facing pool operations for every swap model the chain has run (spec 7, 10, 12.5).

Three models, selected by :attr:`Mechanism.pool_model <dtaosim.chain.presets.Mechanism.pool_model>`:

``CONSTANT_PRODUCT`` -- V2 launch pool, 2025-02-13 (spec 233, ``e2b8367b8``) to 2025-06-30.
    Follows ``pallets/subtensor/src/staking/stake_utils.rs`` (``sim_swap_tao_for_alpha``,
    ``sim_swap_alpha_for_tao``, ``stake_into_subnet``, ``unstake_from_subnet``,
    ``validate_add_stake``/``validate_remove_stake``) and ``get_max_amount_add`` /
    ``get_max_amount_remove`` in ``staking/add_stake.rs`` / ``remove_stake.rs`` at ``5073ade60``
    (2025-02-24). Price ``y/x``; a flat ``flat_stake_fee`` (50 000 RAO) on both directions, kept in
    the pool (``SubnetTAO += fee``); on buys the fee is taken from the TAO before the swap, on
    sells it is deducted from the TAO out. A swap that would leave the output-side reserve below
    ``min_pool_liquidity`` (10 000 000 RAO) is rejected (``InsufficientLiquidity``). Limit
    orders use average-price semantics: ``max_amount_add = floor(L*x/1e9) - y`` and
    ``max_amount_remove = floor(y*1e9/L) - x`` (``L`` in RAO per alpha; ``u64::MAX`` when
    ``L = 0`` on remove).

``UNISWAP_V3`` -- 2025-06-30 (spec 283, ``e9bbb6134``) to 2026-06-25; ``pallets/swap``
    (``impls.rs::do_swap``/``swap_inner``, ``swap_step.rs``) as of ``4c8cf2a9d`` (2026-01).
    Fee ``floor(amount * FeeRate/65535)`` taken from the input, limit = final spot price,
    truncation at the limit with the fee recomputed as ``delta * r/(65535-r)``.
    ``max_amount_add``/``max_amount_remove`` simulate a ``u64::MAX`` input (result
    ``delta_to_limit + fee``; ``ZeroMaxStakeAmount`` when 0). Fees go to the block author when
    ``mech.fees_to_author`` (2026-03-11, spec 385), else they stay in the pool.

``BALANCER`` -- weighted pool, 2026-06-25 (spec 423, ``06032d518``) to HEAD (``14bc6f9f9``);
    ``pallets/swap/src/pallet/{balancer.rs,swap_step.rs,impls.rs}`` and
    ``pallets/subtensor/src/staking/{add_stake.rs,remove_stake.rs,stake_utils.rs}``. Price
    ``(w1/w2) y/x``; guards in the chain's order: net input ``<= 1000 x`` input-side reserve
    (``SwapInputTooLarge``, 2026-06-26), output-side reserve ``>= minimum_reserve``
    (``ReservesTooLow``), limit strictly beyond the current price (``PriceLimitExceeded``),
    zero output for a non-zero input (``ReservesTooLow``), output above the reserve
    (``InsufficientLiquidity``). Add and remove also require the amount ``<= 1000 x`` the
    relevant reserve (``InsufficientLiquidity``). ``max_amount_add``/``max_amount_remove``
    simulate an input of ``max_input_multiple x reserve`` and return ``paid_in + fee``.
    The buy fee (TAO) goes to the block author; the sell fee (alpha) is swapped fee-less to TAO
    after the user's swap and that TAO goes to the author.

Default limits (no ``limit_price``): buys use ``mech.max_price`` (10**15 RAO), sells
``mech.min_price`` (1000 RAO), as the chain's ``add_stake``/``remove_stake`` do (V3, Balancer).

Staking rules (HEAD ``validate_add_stake``/``validate_remove_stake``): an add needs
``amount >= min_stake + fee(min_stake)`` (V2: ``min_stake + flat_stake_fee``), a simulated
``amount_paid_in >= min_stake`` and a non-zero alpha out; a remove that leaves stake in the
holder needs a simulated TAO out ``>= min_stake`` (V2, launch rule: simulated TAO out
``> min_stake`` on every remove).

Numerics and simplifications
----------------------------
* Fees emulate the chain's ``U64F64`` product exactly (``floor(amount * floor(r 2**64) /
  2**64)`` with ``r = FeeRate/65535`` or ``FeeRate/(65535-FeeRate)``), in Python ints for the
  scalar functions and a 32-bit-split ``uint64`` product for the batch ones.
* Curve outputs are computed in ``float64`` (constant product as ``x dy / (y + dy)``, weighted as
  ``-x expm1(-(w2/w1) log1p(dy/y))``, the formulas of :mod:`dtaosim.chain.curves`) and floored;
  the chain uses 10**18-scaled rationals, so outputs may differ from the chain by 1 RAO. Scalar
  and batch functions share one NumPy kernel, so they agree exactly.
* Limit amounts use the exact integer price ratio ``L x w2q / (1e9 y w1q)`` (Perquintill
  weights, parts per 10**18) and emulate ``calculate_quote_delta_in`` /
  ``calculate_base_delta_in``: the power is evaluated in 60-digit decimal arithmetic, scaled to
  10**18, floored and saturated at ``u64::MAX`` (so ``ratio**w <= 18.45``), turned into
  ``U64F64``, minus one, times the reserve, floored. This reproduces W10-W18 exactly, including
  W15 (49, where ``f64`` gives 50) and the chain's "empirical" rows (24, 250, 17 472, 9 013).
  "Target price within the limit" compares the post-swap price with the limit exactly (the chain
  compares ``U64F64`` prices). The batch functions, which only use the default limits, do these
  limit computations in ``float64``.
* The 1000x caps (``SwapInputTooLarge`` and the ``InsufficientLiquidity`` cap on the add/remove
  amount) exist from 2026-06-26 and are applied to ``BALANCER`` only. A V2 limit order that
  allows nothing raises ``ZeroMaxStakeAmount`` (the launch code silently did nothing), and a V2
  stake whose alpha out floors to 0 raises ``AmountTooLow`` (the launch code kept the TAO).
* V3 is modelled as its single full-range protocol position: price ``y/x`` (the chain's
  ``AlphaSqrtPrice**2`` may drift by rounding and fee reinvestment) and the state's
  ``QUOTE_WEIGHT`` is ignored (0.5); V3 fees "kept in the pool" (before 2026-03-11) approximate
  the collection and re-adding of the protocol position's fees as liquidity. V2 likewise ignores
  ``QUOTE_WEIGHT``.
* V2: only the flat unstake fee (the 2025-03-19 dynamic unstake fee
  ``max(50 000, 0.005% est, yield x est)`` is not modelled); the liquidity floor is checked on
  the floored post-swap reserve.
* The author-fee swap on sells (fees to author) is done on the post-swap reserves; its
  ``ReservesTooLow``/``PriceLimitExceeded`` guards reject the unstake as on the chain, but a
  truncation at ``min_price`` is not modelled (the whole fee is swapped).
* Holders are aggregate fields of :class:`~dtaosim.state.ChainState`; "stake remains" means the
  holder field stays positive. Unlike the chain's plain ``remove_stake`` (which caps the amount
  at the stake held) an over-sized remove is rejected (``NotEnoughStake``); balance and stake
  errors are named ``NotEnoughBalance``/``NotEnoughStake`` (chain:
  ``NotEnoughBalanceToStake``/``NotEnoughStakeToWithdraw``).
* Batch functions (:func:`buy_batch`, :func:`sell_batch`) take no limit price (default limits)
  and skip, rather than raise, every entry the chain would reject. A run whose requested TAO
  exceeds its ``free_tao`` has all its (valid) requests scaled down pro rata (floored; any
  rounding excess is taken off its largest request) before the min-stake checks are applied.

Accounting (keeps the identities of :mod:`dtaosim.state` exact): buys move TAO from
``free_tao`` to ``TAO_RESERVE`` (author fee back to ``free_tao`` and into ``AUTHOR_FEES_TAO``),
alpha from ``ALPHA_IN`` to ``ALPHA_OUT`` and the holder; ``FLOW_ACC += amount_paid_in``. Sells
do the reverse; ``FLOW_ACC -=`` the TAO that leaves the pool (paid out plus author fee).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtaosim.chain.curves import spot_price
from dtaosim.chain.presets import Mechanism, PoolModel
from dtaosim.errors import SwapError
from dtaosim.state.chain_state import ALPHA_OUT_PARTS, GI, SF, SI, ChainState

__all__ = [
    "U64_MAX",
    "BuyQuote",
    "SellQuote",
    "StakeResult",
    "UnstakeResult",
    "add_stake",
    "buy_batch",
    "current_price",
    "initial_quote_weight",
    "max_amount_add",
    "max_amount_remove",
    "quote_buy",
    "quote_sell",
    "remove_stake",
    "sell_batch",
    "swap_fee",
]

RAO: int = 1_000_000_000
PERQUINTILL: int = 10**18
U64_MAX: int = 2**64 - 1
_TWO64: int = 2**64
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


# ====================================================================================== results
@dataclass(frozen=True, slots=True)
class BuyQuote:
    """Outcome of a TAO -> alpha swap.

    Attributes
    ----------
    tao_in
        TAO taken from the buyer: ``tao_net + fee`` (V2: the executed amount, fee included).
    fee
        Fee in TAO (V2 flat fee; V3/Balancer rate fee).
    tao_net
        TAO that went through the curve (the chain's ``amount_paid_in``).
    alpha_out
        Alpha paid out (floored).
    refund
        Requested TAO not executed because the limit price was reached.
    price_before, price_after
        Spot price (TAO per alpha) before and after, with the fee accounted as the model does.
    """

    tao_in: int
    fee: int
    tao_net: int
    alpha_out: int
    refund: int
    price_before: float
    price_after: float


@dataclass(frozen=True, slots=True)
class SellQuote:
    """Outcome of an alpha -> TAO swap.

    Attributes
    ----------
    alpha_in
        Alpha taken from the seller: ``alpha_net + fee`` for fee-rate models (V2: all of it).
    fee
        Fee: alpha for V3/Balancer, TAO for V2 (flat fee deducted from the TAO out).
    alpha_net
        Alpha that went through the curve (the chain's ``amount_paid_in``).
    tao_out
        TAO paid to the seller.
    author_tao
        TAO paid to the block author (the alpha fee swapped fee-less), 0 unless
        ``mech.fees_to_author`` and a fee-rate model.
    refund
        Requested alpha not executed because the limit price was reached.
    price_before, price_after
        Spot price (TAO per alpha) before and after (after the author-fee swap).
    """

    alpha_in: int
    fee: int
    alpha_net: int
    tao_out: int
    author_tao: int
    refund: int
    price_before: float
    price_after: float


@dataclass(frozen=True, slots=True)
class StakeResult:
    """Result of :func:`add_stake` (amounts in RAO).

    ``tao_spent`` left ``free_tao`` (``tao_net + fee``); ``author_fee`` of it came back to
    ``free_tao`` as the block author's fee.
    """

    alpha_out: int
    tao_spent: int
    fee: int
    tao_net: int
    refund: int
    author_fee: int
    price_before: float
    price_after: float


@dataclass(frozen=True, slots=True)
class UnstakeResult:
    """Result of :func:`remove_stake` (amounts in RAO).

    ``alpha_spent`` left the holder; ``tao_out`` was paid to ``free_tao`` and ``author_fee``
    (TAO) to the block author (also ``free_tao``).
    """

    tao_out: int
    alpha_spent: int
    fee: int
    alpha_net: int
    refund: int
    author_fee: int
    price_before: float
    price_after: float


# ====================================================================================== helpers
def _model(mech: Mechanism) -> PoolModel:
    return PoolModel(mech.pool_model)


def _eff_w2(mech: Mechanism, w2: float) -> float:
    """TAO weight used by the model (V2 and V3 are constant product)."""
    return float(w2) if _model(mech) == PoolModel.BALANCER else 0.5


def _perquintill(w2: float) -> tuple[int, int]:
    """Perquintill parts ``(w1q, w2q)`` of the weights (``w2q = round(w2 1e18)``)."""
    w2q = round(float(w2) * PERQUINTILL)
    w2q = min(max(w2q, 1), PERQUINTILL - 1)
    return PERQUINTILL - w2q, w2q


def _limit_rao(price: float) -> int:
    return round(float(price) * RAO)


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


# -------------------------------------------------------------------------- float curve kernels
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


_POW_CAP: int = U64_MAX  # pow_ratio_scaled results saturate at u64::MAX (ratio**w <= 18.44)
_POW_CAP_F: float = U64_MAX / PERQUINTILL


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


# ---------------------------------------------------------------- exact limit-price helpers
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


# ====================================================================================== quotes
def _check_nonneg(*vals: int) -> None:
    for v in vals:
        if int(v) < 0:
            raise ValueError("reserves and amounts must be non-negative")


def quote_buy(
    mech: Mechanism,
    y: int,
    x: int,
    w2: float,
    tao_amount: int,
    limit_price: int | None = None,
) -> BuyQuote:
    """Quote a TAO -> alpha swap of ``tao_amount`` RAO against reserves ``(y, x)``.

    Parameters
    ----------
    mech
        Mechanism (pool model, fee, guards, default limits).
    y, x
        TAO reserve (``SubnetTAO``) and alpha reserve (``SubnetAlphaIn``), RAO.
    w2
        Balancer TAO weight (ignored by V2/V3).
    tao_amount
        TAO offered, fee included (RAO).
    limit_price
        Limit in RAO per 1 alpha. V3/Balancer: final spot price (the swap stops there);
        ``None`` uses ``mech.max_price``. V2: average-price limit (the amount is cut to
        :func:`max_amount_add`); ``None`` means no limit.

    Returns
    -------
    BuyQuote
        Amounts and prices; nothing is changed.

    Raises
    ------
    SwapError
        ``SwapInputTooLarge``, ``ReservesTooLow``, ``PriceLimitExceeded``,
        ``InsufficientLiquidity`` where the chain's swap would fail.
    """
    y, x, amount = int(y), int(x), int(tao_amount)
    _check_nonneg(y, x, amount)
    model = _model(mech)
    w = _eff_w2(mech, w2)
    p0 = _price(y, x, w)
    if model == PoolModel.CONSTANT_PRODUCT:
        refund = 0
        if limit_price is not None:
            cap = max_amount_add(mech, y, x, w2, limit_price)
            refund = max(amount - cap, 0)
            amount -= refund
        fee = min(int(mech.flat_stake_fee), amount)
        net = amount - fee
        out = _alpha_out(y, x, w, net)
        if net > 0 and x - out < int(mech.min_pool_liquidity):
            raise SwapError("InsufficientLiquidity", "alpha reserve would fall below the floor")
        return BuyQuote(amount, fee, net, out, refund, p0, _price(y + amount, x - out, w))

    limit = _limit_rao(mech.max_price) if limit_price is None else int(limit_price)
    fee_bits, fee_lim_bits = _fee_bits(mech)
    fee = _mul_bits(amount, fee_bits)
    net = amount - fee
    if model == PoolModel.BALANCER and net > mech.max_input_multiple * y:
        raise SwapError("SwapInputTooLarge", f"net input {net} > {mech.max_input_multiple} x {y}")
    if x < int(mech.minimum_reserve):
        raise SwapError("ReservesTooLow", f"alpha reserve {x} < {mech.minimum_reserve}")
    if not _buy_limit_ok(y, x, w, limit):
        raise SwapError("PriceLimitExceeded", f"price {p0:.9g} >= limit {limit / RAO:.9g}")
    out = _alpha_out(y, x, w, net)
    if not _buy_target_within(y, x, w, net, out, limit):
        lim_net = _tao_to_limit(y, x, w, limit)
        if lim_net < net:
            net = lim_net
            fee = _mul_bits(net, fee_lim_bits)
            out = _alpha_out(y, x, w, net)
    if net > 0 and out == 0:
        raise SwapError("ReservesTooLow", "zero alpha out")
    if out > x:
        raise SwapError("InsufficientLiquidity", "alpha out exceeds the reserve")
    kept = 0 if mech.fees_to_author else fee
    return BuyQuote(
        net + fee, fee, net, out, amount - net - fee, p0, _price(y + net + kept, x - out, w)
    )


def quote_sell(
    mech: Mechanism,
    y: int,
    x: int,
    w2: float,
    alpha_amount: int,
    limit_price: int | None = None,
) -> SellQuote:
    """Quote an alpha -> TAO swap of ``alpha_amount`` RAO against reserves ``(y, x)``.

    Parameters
    ----------
    mech
        Mechanism (pool model, fee, guards, default limits, ``fees_to_author``).
    y, x
        TAO reserve and alpha reserve, RAO.
    w2
        Balancer TAO weight (ignored by V2/V3).
    alpha_amount
        Alpha offered, fee included (RAO).
    limit_price
        Limit in RAO per 1 alpha. V3/Balancer: final spot price (``None``: ``mech.min_price``;
        ``0``: no limit). V2: average-price limit (amount cut to :func:`max_amount_remove`);
        ``None`` means no limit.

    Returns
    -------
    SellQuote
        Amounts and prices, including the author's TAO from the fee-less swap of the alpha fee
        when ``mech.fees_to_author``; nothing is changed.

    Raises
    ------
    SwapError
        ``SwapInputTooLarge``, ``ReservesTooLow``, ``PriceLimitExceeded``,
        ``InsufficientLiquidity`` where the chain's swap would fail.
    """
    y, x, amount = int(y), int(x), int(alpha_amount)
    _check_nonneg(y, x, amount)
    model = _model(mech)
    w = _eff_w2(mech, w2)
    p0 = _price(y, x, w)
    if model == PoolModel.CONSTANT_PRODUCT:
        refund = 0
        if limit_price is not None:
            cap = max_amount_remove(mech, y, x, w2, limit_price)
            refund = max(amount - cap, 0)
            amount -= refund
        tao = _tao_out(y, x, w, amount)
        if amount > 0 and y - tao < int(mech.min_pool_liquidity):
            raise SwapError("InsufficientLiquidity", "TAO reserve would fall below the floor")
        fee = min(int(mech.flat_stake_fee), tao)
        return SellQuote(
            amount, fee, amount, tao - fee, 0, refund, p0, _price(y - tao + fee, x + amount, w)
        )

    limit = _limit_rao(mech.min_price) if limit_price is None else int(limit_price)
    fee_bits, fee_lim_bits = _fee_bits(mech)
    fee = _mul_bits(amount, fee_bits)
    net = amount - fee
    if model == PoolModel.BALANCER and net > mech.max_input_multiple * x:
        raise SwapError("SwapInputTooLarge", f"net input {net} > {mech.max_input_multiple} x {x}")
    if y < int(mech.minimum_reserve):
        raise SwapError("ReservesTooLow", f"TAO reserve {y} < {mech.minimum_reserve}")
    if not _sell_limit_ok(y, x, w, limit):
        raise SwapError("PriceLimitExceeded", f"price {p0:.9g} <= limit {limit / RAO:.9g}")
    out = _tao_out(y, x, w, net)
    if not _sell_target_within(y, x, w, net, out, limit):
        lim_net = _alpha_to_limit(y, x, w, limit)
        if lim_net < net:
            net = lim_net
            fee = _mul_bits(net, fee_lim_bits)
            out = _tao_out(y, x, w, net)
    if net > 0 and out == 0:
        raise SwapError("ReservesTooLow", "zero TAO out")
    if out > y:
        raise SwapError("InsufficientLiquidity", "TAO out exceeds the reserve")
    y1, x1 = y - out, x + net
    author = 0
    if mech.fees_to_author and fee > 0:
        author = _tao_out(y1, x1, w, fee)
    return SellQuote(
        net + fee, fee, net, out, author, amount - net - fee, p0, _price(y1 - author, x1 + fee, w)
    )


def _author_fee_swap_error(
    mech: Mechanism, y: int, x: int, w: float, fee: int, t: int
) -> SwapError | None:
    """Why the chain's fee-less swap of the alpha fee (``unstake_from_subnet``) would fail.

    ``(y, x)`` are the reserves after the user's swap and ``t`` the TAO it pays. The chain
    propagates these errors, so the whole unstake is rejected.
    """
    if fee <= 0 or not mech.fees_to_author or _model(mech) == PoolModel.CONSTANT_PRODUCT:
        return None
    if y < int(mech.minimum_reserve):
        return SwapError("ReservesTooLow", f"TAO reserve {y} < {mech.minimum_reserve} (fee swap)")
    if not _sell_limit_ok(y, x, w, _limit_rao(mech.min_price)):
        return SwapError("PriceLimitExceeded", "price at the minimum (fee swap)")
    if t == 0:
        return SwapError("ReservesTooLow", "zero TAO out for the alpha fee (fee swap)")
    return None


# ============================================================================== limit amounts
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


# ============================================================================= state: scalar
def _slot(state: ChainState, run: int, netuid: int) -> int:
    k = int(netuid) - 1
    if not (0 <= k < state.subnets) or not (0 <= int(run) < state.runs):
        raise SwapError("SubnetNotExists", f"netuid {netuid} run {run}")
    if state.ints[run, k, SI.EXISTS] == 0:
        raise SwapError("SubnetNotExists", f"netuid {netuid}")
    return k


def _check_holder(holder: SI) -> SI:
    h = SI(holder)
    if h not in ALPHA_OUT_PARTS:
        raise ValueError(f"{h.name} is not an alpha holder")
    return h


def _min_add_amount(mech: Mechanism) -> int:
    if _model(mech) == PoolModel.CONSTANT_PRODUCT:
        return int(mech.min_stake) + int(mech.flat_stake_fee)
    return int(mech.min_stake) + swap_fee(mech, int(mech.min_stake))


def add_stake(
    state: ChainState,
    mech: Mechanism,
    run: int,
    netuid: int,
    tao_amount: int,
    *,
    limit_price: int | None = None,
    allow_partial: bool = False,
    holder: SI = SI.STAKE_STAKERS,
) -> StakeResult:
    """Stake ``tao_amount`` RAO of ``free_tao`` into subnet ``netuid`` of run ``run``.

    Validates as the chain's ``add_stake``/``add_stake_limit`` (min stake, balance, 1000x cap,
    limit), swaps and updates the state in place (see the module docstring for the accounting).

    Parameters
    ----------
    state
        Chain state, modified in place.
    mech
        Mechanism.
    run
        Run index.
    netuid
        Subnet (slot ``netuid - 1``).
    tao_amount
        TAO to stake, fee included (RAO).
    limit_price
        Limit in RAO per 1 alpha (``add_stake_limit``); ``None`` for a plain ``add_stake``.
    allow_partial
        With a limit: execute up to :func:`max_amount_add` instead of failing
        (``SlippageTooHigh``).
    holder
        Alpha holder field credited (one of :data:`~dtaosim.state.ALPHA_OUT_PARTS`).

    Returns
    -------
    StakeResult
        What was executed.

    Raises
    ------
    SwapError
        The chain's rejection (``SubnetNotExists``, ``AmountTooLow``, ``InsufficientLiquidity``,
        ``SlippageTooHigh``, ``NotEnoughBalance``, ``PriceLimitExceeded``, ``ReservesTooLow``,
        ``SwapInputTooLarge``, ``ZeroMaxStakeAmount``); the state is then unchanged.
    """
    h = _check_holder(holder)
    k = _slot(state, run, netuid)
    amount = int(tao_amount)
    row = state.ints[run, k]
    y, x = int(row[SI.TAO_RESERVE]), int(row[SI.ALPHA_IN])
    w2 = float(state.floats[run, k, SF.QUOTE_WEIGHT])
    model = _model(mech)
    if amount <= 0:
        raise SwapError("AmountTooLow", "zero stake")
    if model == PoolModel.BALANCER and amount > mech.max_input_multiple * y:
        raise SwapError("InsufficientLiquidity", "amount above the 1000x TAO reserve cap")
    max_amt = amount
    if limit_price is not None:
        max_amt = max_amount_add(mech, y, x, w2, int(limit_price))
    if amount < _min_add_amount(mech):
        raise SwapError("AmountTooLow", f"{amount} < {_min_add_amount(mech)}")
    if amount > max_amt and not allow_partial:
        raise SwapError("SlippageTooHigh", f"{amount} > max {max_amt} at the limit")
    exec_amt = min(amount, max_amt)
    if int(state.gints[run, GI.FREE_TAO]) < exec_amt:
        raise SwapError("NotEnoughBalance", f"free TAO {state.gints[run, GI.FREE_TAO]}")
    if exec_amt <= 0:
        raise SwapError("ZeroMaxStakeAmount", "limit allows no stake")
    if model == PoolModel.CONSTANT_PRODUCT:
        # validate: liquidity floor on the full amount, then stake net of the flat fee
        if x - _alpha_out(y, x, 0.5, exec_amt) < int(mech.min_pool_liquidity):
            raise SwapError("InsufficientLiquidity", "alpha reserve would fall below the floor")
        q = quote_buy(mech, y, x, w2, exec_amt)
        if q.alpha_out == 0:
            raise SwapError("AmountTooLow", "zero alpha out")
    else:
        try:
            sim = quote_buy(mech, y, x, w2, exec_amt)
        except SwapError as err:
            raise SwapError("InsufficientLiquidity", f"simulation: {err}") from err
        if sim.tao_net < int(mech.min_stake):
            raise SwapError("AmountTooLow", f"paid in {sim.tao_net} < {mech.min_stake}")
        if sim.alpha_out == 0:
            raise SwapError("InsufficientLiquidity", "zero alpha out")
        q = sim if limit_price is None else quote_buy(mech, y, x, w2, exec_amt, limit_price)
        if q.alpha_out == 0:
            raise SwapError("AmountTooLow", "zero alpha out")
    author = _apply_buy(state, mech, run, k, h, q.tao_in, q.fee, q.tao_net, q.alpha_out)
    return StakeResult(
        q.alpha_out,
        q.tao_in,
        q.fee,
        q.tao_net,
        amount - q.tao_in,
        author,
        q.price_before,
        q.price_after,
    )


def _apply_buy(
    state: ChainState,
    mech: Mechanism,
    run: int,
    k: int,
    h: SI,
    tao_in: int,
    fee: int,
    net: int,
    out: int,
) -> int:
    row = state.ints[run, k]
    author = 0
    state.gints[run, GI.FREE_TAO] -= tao_in
    if _model(mech) == PoolModel.CONSTANT_PRODUCT or not mech.fees_to_author:
        row[SI.TAO_RESERVE] += tao_in
    else:
        row[SI.TAO_RESERVE] += net
        author = fee
        state.gints[run, GI.FREE_TAO] += fee
        state.gints[run, GI.AUTHOR_FEES_TAO] += fee
    row[SI.ALPHA_IN] -= out
    row[SI.ALPHA_OUT] += out
    row[h] += out
    row[SI.FLOW_ACC] += net
    return author


def remove_stake(
    state: ChainState,
    mech: Mechanism,
    run: int,
    netuid: int,
    alpha_amount: int,
    *,
    limit_price: int | None = None,
    allow_partial: bool = False,
    holder: SI = SI.STAKE_STAKERS,
) -> UnstakeResult:
    """Unstake ``alpha_amount`` RAO of alpha from ``holder`` on subnet ``netuid`` of run ``run``.

    Validates as the chain's ``remove_stake``/``remove_stake_limit`` (stake held, 1000x cap,
    remaining-stake min-stake rule, limit), swaps and updates the state in place; TAO goes to
    ``free_tao``.

    Parameters
    ----------
    state
        Chain state, modified in place.
    mech
        Mechanism.
    run
        Run index.
    netuid
        Subnet (slot ``netuid - 1``).
    alpha_amount
        Alpha to unstake, fee included (RAO).
    limit_price
        Limit in RAO per 1 alpha (``remove_stake_limit``; 0: no limit); ``None`` for a plain
        ``remove_stake``.
    allow_partial
        With a limit: execute up to :func:`max_amount_remove` instead of failing.
    holder
        Alpha holder field debited (one of :data:`~dtaosim.state.ALPHA_OUT_PARTS`).

    Returns
    -------
    UnstakeResult
        What was executed (unexecuted alpha stays with the holder).

    Raises
    ------
    SwapError
        The chain's rejection (``SubnetNotExists``, ``AmountTooLow``, ``NotEnoughStake``,
        ``InsufficientLiquidity``, ``SlippageTooHigh``, ``PriceLimitExceeded``,
        ``ReservesTooLow``, ``SwapInputTooLarge``, ``ZeroMaxStakeAmount``); the state is then
        unchanged.
    """
    h = _check_holder(holder)
    k = _slot(state, run, netuid)
    amount = int(alpha_amount)
    row = state.ints[run, k]
    y, x = int(row[SI.TAO_RESERVE]), int(row[SI.ALPHA_IN])
    w2 = float(state.floats[run, k, SF.QUOTE_WEIGHT])
    model = _model(mech)
    if amount <= 0:
        raise SwapError("AmountTooLow", "zero unstake")
    held = int(row[h])
    if held < amount:
        raise SwapError("NotEnoughStake", f"{h.name.lower()} holds {held} < {amount}")
    if model == PoolModel.BALANCER and amount > mech.max_input_multiple * x:
        raise SwapError("InsufficientLiquidity", "amount above the 1000x alpha reserve cap")
    max_amt = amount
    if limit_price is not None:
        max_amt = max_amount_remove(mech, y, x, w2, int(limit_price))
    if model == PoolModel.CONSTANT_PRODUCT:
        tao_est = _tao_out(y, x, 0.5, amount)
        if y - tao_est < int(mech.min_pool_liquidity):
            raise SwapError("InsufficientLiquidity", "TAO reserve would fall below the floor")
        if tao_est <= int(mech.min_stake):
            raise SwapError("AmountTooLow", f"TAO out {tao_est} <= {mech.min_stake}")
    else:
        try:
            sim = quote_sell(mech, y, x, w2, amount)
        except SwapError as err:
            raise SwapError("InsufficientLiquidity", f"simulation: {err}") from err
        if held - amount > 0 and sim.tao_out < int(mech.min_stake):
            raise SwapError("AmountTooLow", f"TAO out {sim.tao_out} < {mech.min_stake}")
    if amount > max_amt and not allow_partial:
        raise SwapError("SlippageTooHigh", f"{amount} > max {max_amt} at the limit")
    exec_amt = min(amount, max_amt)
    if exec_amt <= 0:
        raise SwapError("ZeroMaxStakeAmount", "limit allows no unstake")
    q = quote_sell(mech, y, x, w2, exec_amt, limit_price)
    err = _author_fee_swap_error(
        mech, y - q.tao_out, x + q.alpha_net, _eff_w2(mech, w2), q.fee, q.author_tao
    )
    if err is not None:
        raise err
    _apply_sell(state, run, k, h, q.alpha_in, q.tao_out, q.author_tao)
    return UnstakeResult(
        q.tao_out,
        q.alpha_in,
        q.fee,
        q.alpha_net,
        amount - q.alpha_in,
        q.author_tao,
        q.price_before,
        q.price_after,
    )


def _apply_sell(
    state: ChainState, run: int, k: int, h: SI, alpha_in: int, tao_out: int, author: int
) -> None:
    row = state.ints[run, k]
    row[h] -= alpha_in
    row[SI.ALPHA_OUT] -= alpha_in
    row[SI.ALPHA_IN] += alpha_in
    leaving = tao_out + author
    row[SI.TAO_RESERVE] -= leaving
    state.gints[run, GI.FREE_TAO] += leaving
    if author:
        state.gints[run, GI.AUTHOR_FEES_TAO] += author
    row[SI.FLOW_ACC] -= leaving


# ============================================================================= state: batch
def _batch_inputs(
    state: ChainState, mech: Mechanism, amounts: ArrayLike
) -> tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]
]:
    a = np.array(amounts, dtype=np.int64, copy=True)
    if a.shape != (state.runs, state.subnets):
        raise ValueError(f"amounts must have shape {(state.runs, state.subnets)}, got {a.shape}")
    y = np.ascontiguousarray(state.ints[:, :, SI.TAO_RESERVE])
    x = np.ascontiguousarray(state.ints[:, :, SI.ALPHA_IN])
    if _model(mech) == PoolModel.BALANCER:
        w = np.ascontiguousarray(state.floats[:, :, SF.QUOTE_WEIGHT], dtype=np.float64)
    else:
        w = np.full(a.shape, 0.5)
    valid = (a > 0) & (state.ints[:, :, SI.EXISTS] != 0)
    return a, y, x, w, valid


def _weights_q(w: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Perquintill-rounded weights as floats (matches :func:`_perquintill`)."""
    w2q = np.clip(np.round(w * PERQUINTILL), 1, PERQUINTILL - 1)
    return (PERQUINTILL - w2q) / PERQUINTILL, w2q / PERQUINTILL


def _budget(
    a: NDArray[np.int64], valid: NDArray[np.bool_], free: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Scale each run's valid requests down pro rata to its ``free_tao``."""
    a = np.where(valid, a, 0)
    total = a.sum(axis=1)
    free = np.maximum(free, 0)
    over = total > free
    if not over.any():
        return a
    ratio = np.where(over, free / np.where(total > 0, total, 1), 1.0)
    scaled = np.floor(a * ratio[:, None]).astype(np.int64)
    scaled = np.where(over[:, None], np.minimum(scaled, a), a)
    excess = np.maximum(scaled.sum(axis=1) - free, 0)
    if excess.any():
        rows = np.arange(a.shape[0])
        j = np.argmax(scaled, axis=1)
        scaled[rows, j] -= excess
    return scaled


def buy_batch(
    state: ChainState,
    mech: Mechanism,
    tao_amounts: ArrayLike,
    holder: SI = SI.STAKE_STAKERS,
) -> NDArray[np.int64]:
    """Stake TAO into every (run, subnet) at once (plain ``add_stake``, default limit).

    Parameters
    ----------
    state
        Chain state, modified in place.
    mech
        Mechanism.
    tao_amounts
        ``int64[runs, subnets]`` TAO to stake per entry (RAO, fee included); entries ``<= 0``
        and free slots are ignored.
    holder
        Alpha holder field credited.

    Returns
    -------
    numpy.ndarray
        ``int64[runs, subnets]`` alpha bought; 0 where the entry was skipped. Entries the chain
        would reject are skipped; a run asking for more than its ``free_tao`` is scaled down
        pro rata first (module docstring). The result equals :func:`add_stake` called entry by
        entry with the (scaled) amounts.
    """
    h = _check_holder(holder)
    model = _model(mech)
    a, y, x, w, valid = _batch_inputs(state, mech, tao_amounts)
    if model == PoolModel.BALANCER:
        valid &= a <= mech.max_input_multiple * y
    valid &= a >= _min_add_amount(mech)
    a = _budget(a, valid, state.gints[:, GI.FREE_TAO])
    valid &= a >= _min_add_amount(mech)
    a = np.where(valid, a, 0)

    if model == PoolModel.CONSTANT_PRODUCT:
        fee = np.minimum(np.int64(mech.flat_stake_fee), a)
        net = a - fee
        out = _alpha_out_arr(y, x, w, net)
        floor_ok = x - _alpha_out_arr(y, x, w, a) >= int(mech.min_pool_liquidity)
        valid &= floor_ok & (out > 0)
        tao_in = a
    else:
        fee_bits, fee_lim_bits = _fee_bits(mech)
        fee = _mul_bits_arr(a, fee_bits)
        net = a - fee
        w1f, w2f = _weights_q(w)
        yf, xf = y.astype(np.float64), x.astype(np.float64)
        lim = float(_limit_rao(mech.max_price))
        if model == PoolModel.BALANCER:
            valid &= net <= mech.max_input_multiple * y
        valid &= x >= int(mech.minimum_reserve)
        valid &= (x <= 0) | (RAO * yf * w1f < lim * xf * w2f)
        out = _alpha_out_arr(y, x, w, net)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xo = (x - out).astype(np.float64)
            within = (xo <= 0) | (RAO * w1f * (yf + net) <= lim * w2f * xo)
            ratio = (lim * xf * w2f) / (RAO * yf * w1f)
        lim_net = _scaled_delta_arr(yf, w1f, np.where(valid & ~within, ratio, 1.0))
        hit = valid & ~within & (lim_net < net)
        lim_net_i = np.where(hit, lim_net, 0.0).astype(np.int64)
        net = np.where(hit, lim_net_i, net)
        fee = np.where(hit, _mul_bits_arr(lim_net_i, fee_lim_bits), fee)
        out = np.where(hit, _alpha_out_arr(y, x, w, lim_net_i), out)
        valid &= ~((net > 0) & (out == 0)) & (out <= x)
        valid &= (net >= int(mech.min_stake)) & (out > 0)
        tao_in = net + fee
    out = np.where(valid, out, 0)
    tao_in = np.where(valid, tao_in, 0)
    net = np.where(valid, net, 0)
    fee = np.where(valid, fee, 0)

    ints = state.ints
    ints[:, :, SI.ALPHA_IN] -= out
    ints[:, :, SI.ALPHA_OUT] += out
    ints[:, :, h] += out
    ints[:, :, SI.FLOW_ACC] += net
    state.gints[:, GI.FREE_TAO] -= tao_in.sum(axis=1)
    if model == PoolModel.CONSTANT_PRODUCT or not mech.fees_to_author:
        ints[:, :, SI.TAO_RESERVE] += tao_in
    else:
        ints[:, :, SI.TAO_RESERVE] += net
        fees = fee.sum(axis=1)
        state.gints[:, GI.FREE_TAO] += fees
        state.gints[:, GI.AUTHOR_FEES_TAO] += fees
    return out


def sell_batch(
    state: ChainState,
    mech: Mechanism,
    alpha_amounts: ArrayLike,
    holder: SI = SI.STAKE_STAKERS,
) -> NDArray[np.int64]:
    """Unstake alpha from every (run, subnet) at once (plain ``remove_stake``, default limit).

    Parameters
    ----------
    state
        Chain state, modified in place.
    mech
        Mechanism.
    alpha_amounts
        ``int64[runs, subnets]`` alpha to unstake per entry (RAO, fee included); entries
        ``<= 0`` and free slots are ignored.
    holder
        Alpha holder field debited.

    Returns
    -------
    numpy.ndarray
        ``int64[runs, subnets]`` TAO received (excluding the author's fee); 0 where skipped
        (more than the holder has, 1000x cap, remaining-stake min-stake rule, guards).
        Equals :func:`remove_stake` called entry by entry.
    """
    h = _check_holder(holder)
    model = _model(mech)
    a, y, x, w, valid = _batch_inputs(state, mech, alpha_amounts)
    held = state.ints[:, :, h]
    valid &= a <= held
    if model == PoolModel.BALANCER:
        valid &= a <= mech.max_input_multiple * x
    a = np.where(valid, a, 0)
    author = np.zeros_like(a)

    if model == PoolModel.CONSTANT_PRODUCT:
        tao = _tao_out_arr(y, x, w, a)
        valid &= (y - tao >= int(mech.min_pool_liquidity)) & (tao > int(mech.min_stake))
        fee = np.minimum(np.int64(mech.flat_stake_fee), tao)
        tao_out = tao - fee
        alpha_in = a
    else:
        fee_bits, fee_lim_bits = _fee_bits(mech)
        fee = _mul_bits_arr(a, fee_bits)
        net = a - fee
        w1f, w2f = _weights_q(w)
        yf, xf = y.astype(np.float64), x.astype(np.float64)
        lim = float(_limit_rao(mech.min_price))
        if model == PoolModel.BALANCER:
            valid &= net <= mech.max_input_multiple * x
        valid &= y >= int(mech.minimum_reserve)
        valid &= (x > 0) & (RAO * yf * w1f > lim * xf * w2f)
        tao_out = _tao_out_arr(y, x, w, net)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xn = (x + net).astype(np.float64)
            within = RAO * w1f * (yf - tao_out) >= lim * w2f * xn
            ratio = (RAO * yf * w1f) / (lim * xf * w2f)
        lim_net = _scaled_delta_arr(xf, w2f, np.where(valid & ~within, ratio, 1.0))
        hit = valid & ~within & (lim_net < net)
        lim_net_i = np.where(hit, lim_net, 0.0).astype(np.int64)
        net = np.where(hit, lim_net_i, net)
        fee = np.where(hit, _mul_bits_arr(lim_net_i, fee_lim_bits), fee)
        tao_out = np.where(hit, _tao_out_arr(y, x, w, lim_net_i), tao_out)
        valid &= ~((net > 0) & (tao_out == 0)) & (tao_out <= y)
        valid &= ~((held - a > 0) & (tao_out < int(mech.min_stake)))
        alpha_in = net + fee
        if mech.fees_to_author:
            y1 = y - tao_out
            x1 = x + net
            t = _tao_out_arr(y1, x1, w, fee)
            ok = (
                (y1 >= int(mech.minimum_reserve))
                & (x1 > 0)
                & (RAO * y1.astype(np.float64) * w1f > lim * x1.astype(np.float64) * w2f)
            )
            valid &= ~((fee > 0) & (~ok | (t == 0)))
            author = np.where(fee > 0, t, 0)
    tao_out = np.where(valid, tao_out, 0)
    alpha_in = np.where(valid, alpha_in, 0)
    author = np.where(valid, author, 0)

    ints = state.ints
    leaving = tao_out + author
    ints[:, :, h] -= alpha_in
    ints[:, :, SI.ALPHA_OUT] -= alpha_in
    ints[:, :, SI.ALPHA_IN] += alpha_in
    ints[:, :, SI.TAO_RESERVE] -= leaving
    ints[:, :, SI.FLOW_ACC] -= leaving
    state.gints[:, GI.FREE_TAO] += leaving.sum(axis=1)
    state.gints[:, GI.AUTHOR_FEES_TAO] += author.sum(axis=1)
    return tao_out
