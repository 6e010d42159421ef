"""Quotes of one swap, TAO -> alpha (:func:`quote_buy`) and alpha -> TAO (:func:`quote_sell`),
for every pool model, with the chain's guards; nothing is changed (see
:mod:`dtaosim.chain.pools`)."""

from __future__ import annotations

from dataclasses import dataclass

from dtaosim.chain.pools.fees import _fee_bits, _mul_bits
from dtaosim.chain.pools.limits import (
    _alpha_to_limit,
    _buy_limit_ok,
    _buy_target_within,
    _limit_rao,
    _sell_limit_ok,
    _sell_target_within,
    _tao_to_limit,
    max_amount_add,
    max_amount_remove,
)
from dtaosim.chain.pools.models import (
    RAO,
    _alpha_out,
    _check_nonneg,
    _eff_w2,
    _model,
    _price,
    _tao_out,
)
from dtaosim.chain.presets import Mechanism, PoolModel
from dtaosim.errors import SwapError


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
