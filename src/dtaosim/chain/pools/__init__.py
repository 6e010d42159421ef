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

Files: :mod:`~dtaosim.chain.pools.models` (model, prices, curve outputs),
:mod:`~dtaosim.chain.pools.fees`, :mod:`~dtaosim.chain.pools.limits` (limit prices,
:func:`max_amount_add`, :func:`max_amount_remove`), :mod:`~dtaosim.chain.pools.quotes`
(:func:`quote_buy`, :func:`quote_sell`), :mod:`~dtaosim.chain.pools.stake` (:func:`add_stake`,
:func:`remove_stake`) and :mod:`~dtaosim.chain.pools.batch` (:func:`buy_batch`,
:func:`sell_batch`).
"""

from __future__ import annotations

from dtaosim.chain.pools.batch import buy_batch, move_root_stake, sell_batch
from dtaosim.chain.pools.fees import _fee_bits as _fee_bits
from dtaosim.chain.pools.fees import _mul_bits_arr as _mul_bits_arr
from dtaosim.chain.pools.fees import swap_fee
from dtaosim.chain.pools.limits import _pow_ratio_scaled as _pow_ratio_scaled
from dtaosim.chain.pools.limits import max_amount_add, max_amount_remove
from dtaosim.chain.pools.models import (
    U64_MAX,
    current_price,
    initial_quote_weight,
)
from dtaosim.chain.pools.quotes import BuyQuote, SellQuote, quote_buy, quote_sell
from dtaosim.chain.pools.stake import (
    StakeResult,
    UnstakeResult,
    add_stake,
    remove_stake,
)
from dtaosim.chain.pools.stake import _apply_buy as _apply_buy

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
    "move_root_stake",
    "quote_buy",
    "quote_sell",
    "remove_stake",
    "sell_batch",
    "swap_fee",
]
