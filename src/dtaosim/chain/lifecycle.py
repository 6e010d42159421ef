"""Subnets entering and leaving the network (spec 8): registration, pruning, dissolution.

These are per-run, event-level operations on a :class:`~dtaosim.state.ChainState` (plain Python,
not compiled); each keeps the accounting identities of :mod:`dtaosim.state` exact:

* :func:`register_subnet` — ``subnets/subnet.rs::do_register_network`` + ``init_new_network``:
  rate limit, subnet limit with pruning (:func:`subnet_to_prune`), lock cost
  (:func:`~dtaosim.chain.registration.network_lock_cost`), pool seeding (median price at HEAD,
  price one at launch) and the new slot's initial parameters;
* :func:`dissolve_subnet` — ``coinbase/root.rs::do_dissolve_network`` ->
  ``staking/remove_stake.rs::destroy_alpha_in_out_stakes``: the pool's TAO paid pro rata to alpha
  holders by the largest-remainder method (:func:`pro_rata_largest_remainder`), the protocol's
  share and any other TAO of the subnet recycled, the slot emptied.

Simplifications (see also ``docs/mechanics.md``):

* holders are the aggregate buckets of :data:`~dtaosim.state.STAKE_HOLDERS`, not individual
  (hotkey, coldkey) pairs, so the largest-remainder rounding is over at most six portions;
* the legacy owner refund (spec 8.5 step 5) is computed (:func:`legacy_owner_refund`, reported in
  :class:`DissolutionResult`) but not paid: on chain it is paid from the subnet account's balance
  beyond the pot and the protocol share (the account that received the original lock), which the
  state does not model separately from the pool reserve; paying it from ``free_tao`` would create
  TAO;
* ``NetworkRegistrationStartBlock`` is not modelled (registrations are always allowed);
* the owner calls ``start_call`` as soon as it is allowed, so emissions start at
  ``registered_at + start_call_delay + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from dtaosim.chain.presets import Mechanism, PoolSeeding
from dtaosim.chain.registration import burn_factor_q32, network_lock_cost
from dtaosim.errors import RegistrationError
from dtaosim.state.chain_state import GI, SF, SI, STAKE_HOLDERS, ChainState

# ------------------------------------------------------------------------------ pure helpers


def pro_rata_largest_remainder(pot: int, weights: Sequence[int]) -> list[int]:
    """Split ``pot`` integer units pro rata to ``weights`` by the largest-remainder method.

    Each portion first gets ``floor(pot x w_i / W)`` (``W = sum(weights)``); the units left by
    flooring go +1 each to the portions with the largest remainders ``pot x w_i mod W``, ties
    broken by position (stable sort, as the chain's ``sort_by``). With ``W = 0`` or ``pot <= 0``
    nothing is paid.

    Parameters
    ----------
    pot
        Units to split (RAO).
    weights
        Non-negative integer weights (alpha values).

    Returns
    -------
    list[int]
        One share per weight; they sum to ``pot`` whenever ``W > 0``.
    """
    w = [int(x) for x in weights]
    if any(x < 0 for x in w):
        raise ValueError("weights must be non-negative")
    total = sum(w)
    if pot <= 0 or total <= 0:
        return [0] * len(w)
    shares = [pot * x // total for x in w]
    rems = [pot * x % total for x in w]
    leftover = pot - sum(shares)
    order = sorted(range(len(w)), key=lambda i: -rems[i])
    for i in order[: min(leftover, len(w))]:
        shares[i] += 1
    return shares


def legacy_owner_refund(locked: int, alpha_issuance: int, owner_cut: float, price: float) -> int:
    """Lock refund owed to a legacy subnet's owner on dissolution (spec 8.5 step 5).

    ``max(0, locked - floor(floor(alpha_issuance x owner_cut) x price))``: the lock minus the TAO
    value, at the current price, of the alpha the owner cut would have produced over the whole
    issuance. Only subnets registered before ``NetworkRegistrationStartBlock`` get it.

    Parameters
    ----------
    locked
        ``SubnetLocked`` (RAO).
    alpha_issuance
        ``AlphaIn + AlphaOut`` (RAO).
    owner_cut
        Owner cut fraction (``SubnetOwnerCut / 65535``).
    price
        Current spot price (TAO per alpha).

    Returns
    -------
    int
        Refund in RAO (D3: lock 5 000, no issuance -> 5 000).
    """
    if locked <= 0:
        return 0
    owner_alpha = 0
    if alpha_issuance > 0:
        owner_alpha = int(Fraction(int(alpha_issuance)) * Fraction(float(owner_cut)))
    value = int(Fraction(owner_alpha) * Fraction(float(price))) if owner_alpha > 0 else 0
    return max(0, int(locked) - value)


# --------------------------------------------------------------------------------- queries


def _slot(netuid: int) -> int:
    return int(netuid) - 1


def _spot_prices(state: ChainState, run: int) -> np.ndarray:
    return state.spot_price()[run]  # the kernel's formula


def median_spot_price(state: ChainState, run: int) -> float:
    """Median spot price of the added non-root subnets with price > 0 (spec 8.1).

    ``get_median_subnet_alpha_price``: the middle value for an odd count, the mean of the two
    middle values for an even count, 1.0 if no subnet qualifies.

    Parameters
    ----------
    state
        Chain state.
    run
        Run index.

    Returns
    -------
    float
        Median price (TAO per alpha).
    """
    exists = state.ints[run, :, SI.EXISTS] != 0
    prices = _spot_prices(state, run)
    p = np.sort(prices[exists & (prices > 0)])
    n = p.size
    if n == 0:
        return 1.0
    if n % 2 == 1:
        return float(p[n // 2])
    return float((p[n // 2 - 1] + p[n // 2]) / 2.0)


def subnet_to_prune(state: ChainState, run: int, mech: Mechanism, now: int) -> int | None:
    """Netuid the chain would prune to make room at block ``now`` (spec 8.4).

    ``get_network_to_prune``: among existing subnets past their immunity
    (``now >= registered_at + network_immunity_period``) the lowest ``PRICE_EMA``; ties go to the
    earliest ``REGISTERED_AT``, then the lower netuid.

    Parameters
    ----------
    state
        Chain state.
    run
        Run index.
    mech
        Mechanism (``network_immunity_period``).
    now
        Current block.

    Returns
    -------
    int or None
        Netuid, or None when every subnet is immune (or none exists).
    """
    ints = state.ints[run]
    ema = state.floats[run, :, SF.PRICE_EMA]
    best: tuple[float, int, int] | None = None
    for k in range(state.subnets):
        if ints[k, SI.EXISTS] == 0:
            continue
        reg = int(ints[k, SI.REGISTERED_AT])
        if now < reg + mech.network_immunity_period:
            continue
        key = (float(ema[k]), reg, k + 1)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


# ------------------------------------------------------------------------------ dissolution


@dataclass(frozen=True)
class DissolutionResult:
    """What :func:`dissolve_subnet` did (all amounts RAO).

    Attributes
    ----------
    netuid
        The dissolved subnet.
    pot
        Its pool TAO reserve (``SubnetTAO``).
    paid
        TAO paid to each alpha holder (keys from :data:`~dtaosim.state.STAKE_HOLDERS`).
    paid_total
        Sum of ``paid`` (credited to ``free_tao``).
    protocol_alpha_weight
        Alpha counted for the protocol (protocol alpha, plus alpha_in for non-legacy subnets).
    protocol_share
        The protocol's pro-rata TAO share (not paid; recycled).
    recycled_tao
        TAO removed from issuance: unpaid pot plus pending root TAO.
    legacy_refund
        Owner refund the chain would pay a legacy subnet (computed, not paid; see module notes).
    """

    netuid: int
    pot: int
    paid: dict[SI, int] = field(default_factory=dict)
    paid_total: int = 0
    protocol_alpha_weight: int = 0
    protocol_share: int = 0
    recycled_tao: int = 0
    legacy_refund: int = 0


def reset_slot(state: ChainState, run: int, netuid: int) -> None:
    """Empty one slot exactly as :meth:`ChainState.empty` initialises it.

    Parameters
    ----------
    state
        Chain state (modified in place).
    run
        Run index.
    netuid
        Netuid of the slot.
    """
    k = _slot(netuid)
    state.ints[run, k, :] = 0
    state.ints[run, k, SI.FIRST_EMISSION_BLOCK] = -1
    state.floats[run, k, :] = 0.0
    state.floats[run, k, SF.QUOTE_WEIGHT] = 0.5


def dissolve_subnet(
    state: ChainState, mech: Mechanism, run: int, netuid: int
) -> DissolutionResult:
    """Dissolve subnet ``netuid`` in run ``run`` (spec 8.5).

    Pot = ``TAO_RESERVE``. Weights: every holder of :data:`~dtaosim.state.STAKE_HOLDERS` plus a
    protocol share ``PROTOCOL_ALPHA`` (+ ``ALPHA_IN`` unless the subnet is ``LEGACY``, i.e. was
    registered before the 2026-06-02 ``TaoInRefundDeploymentBlock``). The pot is split by
    :func:`pro_rata_largest_remainder` (the protocol portion last); holders' TAO goes to
    ``free_tao`` (and ``dissolution_paid_tao``); the protocol share, any unpaid pot (no weights)
    and ``PENDING_ROOT_TAO`` are recycled. The slot is then reset to empty and
    ``subnets_dissolved`` incremented. Unclaimed root dividends (``ROOT_CLAIMABLE``) are paid as
    one holder (simplification: the chain deletes the claim entries and pays the hotkeys' alpha
    value pro rata, which includes them).

    Parameters
    ----------
    state
        Chain state (modified in place).
    mech
        Mechanism (``owner_cut`` for the legacy refund figure).
    run
        Run index.
    netuid
        Subnet to dissolve (must exist).

    Returns
    -------
    DissolutionResult
        Who got what.
    """
    k = _slot(netuid)
    if not 0 <= k < state.subnets or state.ints[run, k, SI.EXISTS] == 0:
        raise RegistrationError("SubnetNotExists", f"netuid {netuid}")
    ints = state.ints[run, k]
    g = state.gints[run]

    pot = int(ints[SI.TAO_RESERVE])
    legacy = ints[SI.LEGACY] != 0
    protocol_w = int(ints[SI.PROTOCOL_ALPHA]) + (0 if legacy else int(ints[SI.ALPHA_IN]))
    holder_w = [int(ints[f]) for f in STAKE_HOLDERS]
    shares = pro_rata_largest_remainder(pot, [*holder_w, protocol_w])
    paid = {f: s for f, s in zip(STAKE_HOLDERS, shares[:-1], strict=True)}
    paid_total = sum(paid.values())
    protocol_share = shares[-1]

    refund = 0
    if legacy:
        alpha_issuance = int(ints[SI.ALPHA_IN]) + int(ints[SI.ALPHA_OUT])
        price = float(_spot_prices(state, run)[k])
        refund = legacy_owner_refund(int(ints[SI.LOCKED_TAO]), alpha_issuance, mech.owner_cut,
                                     price)

    recycled = (pot - paid_total) + int(ints[SI.PENDING_ROOT_TAO])
    g[GI.FREE_TAO] += paid_total
    g[GI.DISSOLUTION_PAID_TAO] += paid_total
    g[GI.TOTAL_ISSUANCE] -= recycled
    g[GI.RECYCLED_TAO] += recycled
    g[GI.SUBNETS_DISSOLVED] += 1
    reset_slot(state, run, netuid)
    return DissolutionResult(
        netuid=int(netuid),
        pot=pot,
        paid=paid,
        paid_total=paid_total,
        protocol_alpha_weight=protocol_w,
        protocol_share=protocol_share,
        recycled_tao=recycled,
        legacy_refund=refund,
    )


# ----------------------------------------------------------------------------- registration


class RegistrationResult(NamedTuple):
    """Outcome of :func:`register_subnet`.

    Attributes
    ----------
    netuid
        Netuid of the new subnet.
    lock_cost
        TAO locked (RAO).
    pruned_netuid
        Netuid dissolved to make room (the same as ``netuid``), or None.
    """

    netuid: int
    lock_cost: int
    pruned_netuid: int | None


def current_lock_cost(state: ChainState, mech: Mechanism, run: int, now: int) -> int:
    """Lock cost (RAO) for a registration in run ``run`` at block ``now``.

    Uses the run's network memory (``LAST_LOCK_COST``, ``LAST_LOCK_BLOCK``) and its latest TAO
    block emission (``BLOCK_EMISSION``, or ``mech.default_block_emission`` before the first block).

    Parameters
    ----------
    state
        Chain state.
    mech
        Mechanism (``network_min_lock``, ``network_lock_reduction_interval``).
    run
        Run index.
    now
        Current block.

    Returns
    -------
    int
        :func:`~dtaosim.chain.registration.network_lock_cost` for this run.
    """
    g = state.gints[run]
    emission = int(g[GI.BLOCK_EMISSION])
    if emission <= 0:
        emission = mech.default_block_emission
    return network_lock_cost(
        int(g[GI.LAST_LOCK_COST]),
        int(g[GI.LAST_LOCK_BLOCK]),
        int(now),
        min_lock=mech.network_min_lock,
        reduction_interval=mech.network_lock_reduction_interval,
        block_emission=emission,
    )


def register_subnet(
    state: ChainState,
    mech: Mechanism,
    run: int,
    now: int,
    *,
    lock_paid: int | None = None,
) -> RegistrationResult:
    """Register a new subnet in run ``run`` at block ``now`` (spec 8.1).

    Checks in the chain's order, before anything changes: rate limit
    (``NetworkTxRateLimitExceeded`` unless ``LAST_LOCK_BLOCK == 0`` or
    ``now - LAST_LOCK_BLOCK >= network_rate_limit``); at ``min(subnet_limit, slots)`` existing
    subnets a prunable one (``SubnetLimitReached`` if none); the lock paid from ``free_tao``
    (``CannotAffordLockCost``). Then the pruned subnet is dissolved and its netuid reused (else the
    lowest free slot is taken), the pool seeded and the slot initialised (see module docstring
    and ``mech.pool_seeding``):

    * ``LOCK_AT_MEDIAN_PRICE`` (HEAD): ``y0 = max(lock, min_lock)``, ``x0 = floor(y0 / median)``
      with the median (:func:`median_spot_price`) taken after any pruning, before the new subnet
      exists; the whole lock stays in the pool;
    * ``MIN_LOCK_AT_PRICE_ONE`` (launch): ``y0 = x0 = min_lock``; ``lock - y0`` is recycled.

    Parameters
    ----------
    state
        Chain state (modified in place).
    mech
        Mechanism.
    run
        Run index.
    now
        Current block.
    lock_paid
        Amount actually locked (RAO); defaults to the current lock cost
        (:func:`current_lock_cost`). Lets a scenario replay a recorded registration; it must be
        at least ``network_min_lock`` so the pool is never seeded with TAO that nobody paid.

    Returns
    -------
    RegistrationResult
        New netuid, the lock and the pruned netuid (or None).

    Raises
    ------
    RegistrationError
        ``NetworkTxRateLimitExceeded``, ``SubnetLimitReached`` or ``CannotAffordLockCost``.
    """
    g = state.gints[run]
    now = int(now)

    last_block = int(g[GI.LAST_LOCK_BLOCK])
    if last_block != 0 and max(0, now - last_block) < mech.network_rate_limit:
        raise RegistrationError(
            "NetworkTxRateLimitExceeded",
            f"last registration at block {last_block}, limit {mech.network_rate_limit} blocks",
        )

    exists = state.ints[run, :, SI.EXISTS] != 0
    count = int(exists.sum())
    limit = min(mech.subnet_limit, state.subnets)
    prune: int | None = None
    if count >= limit:
        prune = subnet_to_prune(state, run, mech, now)
        if prune is None:
            raise RegistrationError(
                "SubnetLimitReached", f"{count} subnets, all immune at block {now}"
            )

    lock = current_lock_cost(state, mech, run, now) if lock_paid is None else int(lock_paid)
    if lock < mech.network_min_lock:
        raise ValueError(f"lock_paid {lock} is below network_min_lock {mech.network_min_lock}")
    if int(g[GI.FREE_TAO]) < lock:
        raise RegistrationError(
            "CannotAffordLockCost", f"lock {lock} RAO, free TAO {int(g[GI.FREE_TAO])} RAO"
        )

    if prune is not None:
        dissolve_subnet(state, mech, run, prune)
        netuid = prune
    else:
        netuid = int(np.flatnonzero(~exists)[0]) + 1

    min_lock = int(mech.network_min_lock)
    recycled = 0
    if mech.pool_seeding == PoolSeeding.LOCK_AT_MEDIAN_PRICE:
        median = median_spot_price(state, run)
        y0 = max(lock, min_lock)
        x0 = int(Fraction(y0) / Fraction(median))
    else:
        y0 = x0 = min_lock
        recycled = lock - y0

    g[GI.FREE_TAO] -= lock
    g[GI.TOTAL_ISSUANCE] -= recycled
    g[GI.RECYCLED_TAO] += recycled
    g[GI.LAST_LOCK_COST] = lock
    g[GI.LAST_LOCK_BLOCK] = now
    g[GI.SUBNETS_REGISTERED] += 1
    g[GI.LOCKED_TAO_TOTAL] += lock

    reset_slot(state, run, netuid)
    ints = state.ints[run, _slot(netuid)]
    tempo = int(mech.default_tempo)
    ints[SI.EXISTS] = 1
    ints[SI.TAO_RESERVE] = y0
    ints[SI.ALPHA_IN] = x0
    ints[SI.ALPHA_OUT] = 0
    ints[SI.ALPHA_ISSUANCE_START] = x0
    ints[SI.LOCKED_TAO] = lock
    ints[SI.REGISTERED_AT] = now
    ints[SI.FIRST_EMISSION_BLOCK] = now + int(mech.start_call_delay) + 1
    ints[SI.EMISSION_ENABLED] = 1 if mech.new_subnets_emission_enabled else 0
    ints[SI.REGISTRATION_ALLOWED] = 1
    ints[SI.TEMPO] = tempo
    ints[SI.LAST_EPOCH_BLOCK] = max(0, now - (netuid % max(tempo, 1)))
    ints[SI.NEURON_BURN] = int(mech.default_neuron_burn)
    ints[SI.BURN_FACTOR_Q32] = burn_factor_q32(int(mech.burn_half_life))
    state.floats[run, _slot(netuid), SF.QUOTE_WEIGHT] = 0.5
    state.floats[run, _slot(netuid), SF.PRICE_EMA] = 0.0
    return RegistrationResult(netuid=netuid, lock_cost=lock, pruned_netuid=prune)


__all__ = [
    "DissolutionResult",
    "RegistrationResult",
    "current_lock_cost",
    "dissolve_subnet",
    "legacy_owner_refund",
    "median_spot_price",
    "pro_rata_largest_remainder",
    "register_subnet",
    "reset_slot",
    "subnet_to_prune",
]
