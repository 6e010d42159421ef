"""One user's stake operation on the state: :func:`add_stake` and :func:`remove_stake` (plain and
limit orders), validated as the chain does and applied in place (see :mod:`dtaosim.chain.pools`
for the accounting)."""

from __future__ import annotations

from dataclasses import dataclass

from dtaosim.chain.pools.fees import swap_fee
from dtaosim.chain.pools.limits import max_amount_add, max_amount_remove
from dtaosim.chain.pools.models import _alpha_out, _eff_w2, _model, _tao_out
from dtaosim.chain.pools.quotes import _author_fee_swap_error, quote_buy, quote_sell
from dtaosim.chain.presets import Mechanism, PoolModel
from dtaosim.errors import SwapError
from dtaosim.state.chain_state import ALPHA_OUT_PARTS, GI, SF, SI, ChainState


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
    limit), swaps and updates the state in place (accounting: :mod:`dtaosim.chain.pools`).

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
