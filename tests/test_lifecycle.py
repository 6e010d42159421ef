"""Subnet lifecycle and registration prices: chain vectors (spec 12.7 D3-D5, 12.8 L/R) and rules."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.chain.lifecycle import (
    dissolve_subnet,
    legacy_owner_refund,
    median_spot_price,
    pro_rata_largest_remainder,
    register_subnet,
    subnet_to_prune,
)
from dtaosim.chain.presets import Mechanism, PoolSeeding, get_mechanism
from dtaosim.chain.registration import (
    Q32_ONE,
    bump_burn,
    burn_factor_q32,
    decay_burn,
    network_lock_cost,
)
from dtaosim.errors import RegistrationError
from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.state.invariants import check_state

TAO = 1_000_000_000
U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1

# Mock constants (spec 12.0): min lock 100 TAO, lock reduction interval 2 blocks.
MOCK_MIN_LOCK = 100 * TAO


# ------------------------------------------------------------------------------- helpers
def _state(subnets: int = 4, free: int = 1_000_000 * TAO) -> ChainState:
    s = ChainState.empty(1, subnets, block=1)
    s.gints[0, GI.FREE_TAO] = free
    s.gints[0, GI.TOTAL_ISSUANCE] = free
    s.gints[0, GI.ISSUANCE_START] = free
    return s


def _mech(**kw: object) -> Mechanism:
    base = dict(
        subnet_limit=3,
        network_min_lock=MOCK_MIN_LOCK,
        network_lock_reduction_interval=100,
        network_immunity_period=1_000,
        network_rate_limit=10,
        start_call_delay=0,
    )
    base.update(kw)
    return get_mechanism("price-burn-2026-06").with_(**base)


def _give_alpha(s: ChainState, netuid: int, holder: SI, amount: int) -> None:
    """Mint ``amount`` alpha to ``holder`` keeping the alpha identities."""
    k = netuid - 1
    s.ints[0, k, holder] += amount
    s.ints[0, k, SI.ALPHA_OUT] += amount
    s.ints[0, k, SI.ALPHA_MINTED] += amount


# ------------------------------------------------------------------------- L: lock cost
def test_migrate_network_lock_reduction_interval_and_decay_l1() -> None:
    # b_last = now + 50 400 (in the future): multiplier 2, decrement saturates to 0.
    now = 1
    cost = network_lock_cost(
        1_000 * TAO, now + 50_400, now,
        min_lock=MOCK_MIN_LOCK, reduction_interval=57_600, block_emission=TAO,
    )
    assert cost == 2_000_000_000_000


def test_migrate_network_lock_cost_2500_sets_price_and_decay_l2_l3() -> None:
    now = 1
    kw = dict(min_lock=MOCK_MIN_LOCK, reduction_interval=2, block_emission=TAO)
    assert network_lock_cost(1_250 * TAO, now, now, **kw) == 2_500_000_000_000
    assert network_lock_cost(1_250 * TAO, now, now + 1, **kw) == 1_875_000_000_000
    # ... and it never goes below the min lock
    assert network_lock_cost(1_250 * TAO, now, now + 10, **kw) == MOCK_MIN_LOCK


def test_lock_cost_first_registration_multiplier_one_and_halved_interval() -> None:
    assert network_lock_cost(
        500 * TAO, 0, 10, min_lock=0, reduction_interval=100, block_emission=TAO
    ) == 500 * TAO - (500 * TAO // 100) * 10
    # After a TAO halving the interval is halved, so the decrement per block doubles.
    full = network_lock_cost(1_000 * TAO, 5, 15, min_lock=0, reduction_interval=100,
                             block_emission=TAO)
    half = network_lock_cost(1_000 * TAO, 5, 15, min_lock=0, reduction_interval=100,
                             block_emission=TAO // 2)
    assert 2_000 * TAO - full == 10 * (1_000 * TAO // 100)
    assert 2_000 * TAO - half == 10 * (1_000 * TAO // 50)


# ---------------------------------------------------------------- R: neuron burn price
def _run_blocks(burn: int, f: int, n: int, lo: int = 0, hi: int = I64_MAX) -> list[int]:
    out = []
    for _ in range(n):
        burn = int(decay_burn(burn, f, lo, hi))
        out.append(burn)
    return out


def test_burn_halves_every_half_life_r1() -> None:
    f = burn_factor_q32(2)
    assert f == 3_037_000_500
    # new_test_ext(1): each step_block runs block >= 2, so the decay applies every step.
    assert _run_blocks(1_024, f, 4) == [724, 511, 361, 255]


def test_burn_decay_r2() -> None:
    f = burn_factor_q32(1_000)
    assert f == 4_291_991_283
    burn = bump_burn(1_000, 2.0, 0, I64_MAX)  # registration: x2 immediately
    assert burn == 2_000
    assert int(decay_burn(burn, f, 0, I64_MAX)) == 1_998  # next block


def test_burn_min_and_max_clamps_prevent_zero_stuck_and_cap_bump_r3() -> None:
    f = burn_factor_q32(1)
    lo, hi = 100_000, 150_000
    burn = int(decay_burn(1, f, lo, hi))  # step_block(1): 1 -> 0, clamped up
    assert burn == 100_000
    burn = bump_burn(burn, 2.0, lo, hi)  # register: 200 000 capped
    assert burn == 150_000
    burn = int(decay_burn(burn, f, lo, hi))  # 75 000 clamped up
    assert burn == 100_000
    assert int(decay_burn(burn, f, lo, hi)) == 100_000


def test_burn_factor_is_largest_with_half_or_less() -> None:
    from dtaosim.chain.registration import pow_q32

    for h in (1, 2, 3, 7, 360, 1_000, 36_100):
        f = burn_factor_q32(h)
        assert pow_q32(f, h) <= 2**31 < pow_q32(f + 1, h)
    assert burn_factor_q32(0) == Q32_ONE


@settings(max_examples=300, deadline=None)
@given(burn=st.integers(0, I64_MAX), f=st.integers(0, Q32_ONE))
def test_decay_burn_is_exact_without_overflow(burn: int, f: int) -> None:
    assert int(decay_burn(burn, f, 0, I64_MAX)) == (burn * f) >> 32


def test_bump_burn_uses_exact_float_ratio_and_min_mult_one() -> None:
    burn = 123_456_789_012
    assert bump_burn(burn, 1.26, 0, I64_MAX) == int(burn * Fraction(1.26))
    assert bump_burn(burn, 0.5, 0, I64_MAX) == burn


# -------------------------------------------------------------- D: dissolution and median
def test_dissolve_two_stakers_pro_rata_distribution_d3() -> None:
    assert pro_rata_largest_remainder(10_000, [300, 700]) == [3_000, 7_000]
    assert legacy_owner_refund(5_000, 0, 0.0, 1.0) == 5_000

    mech = _mech()
    s = _state()
    net = register_subnet(s, mech, 0, 1).netuid
    k = net - 1
    # Test setup: alpha_in and protocol alpha zeroed, pot 10 000 RAO, lock 5 000, legacy subnet.
    s.gints[0, GI.FREE_TAO] += int(s.ints[0, k, SI.TAO_RESERVE]) - 10_000
    s.ints[0, k, SI.TAO_RESERVE] = 10_000
    s.ints[0, k, SI.ALPHA_ISSUANCE_START] -= int(s.ints[0, k, SI.ALPHA_IN])
    s.ints[0, k, SI.ALPHA_IN] = 0
    s.ints[0, k, SI.LOCKED_TAO] = 5_000
    s.ints[0, k, SI.LEGACY] = 1
    _give_alpha(s, net, SI.STAKE_MINERS, 300)
    _give_alpha(s, net, SI.STAKE_STAKERS, 700)
    check_state(s)
    free_before = int(s.gints[0, GI.FREE_TAO])

    res = dissolve_subnet(s, mech, 0, net)
    assert res.pot == 10_000
    assert res.paid[SI.STAKE_MINERS] == 3_000
    assert res.paid[SI.STAKE_STAKERS] == 7_000
    assert res.paid_total == 10_000 and res.recycled_tao == 0
    assert res.legacy_refund == 5_000  # computed, not paid
    assert int(s.gints[0, GI.FREE_TAO]) == free_before + 10_000
    check_state(s)


def test_dissolve_rounding_remainder_distribution_d4() -> None:
    assert pro_rata_largest_remainder(1, [3, 2]) == [1, 0]
    assert pro_rata_largest_remainder(1, [2, 3]) == [0, 1]


def _set_price(s: ChainState, netuid: int, tao: int, alpha: int, exists: bool = True) -> None:
    k = netuid - 1
    s.ints[0, k, SI.EXISTS] = int(exists)
    s.ints[0, k, SI.TAO_RESERVE] = tao
    s.ints[0, k, SI.ALPHA_IN] = alpha


def test_median_subnet_alpha_price_odd_unsorted_d5() -> None:
    s = ChainState.empty(1, 4)
    assert median_spot_price(s, 0) == 1.0  # no subnet: 1.0
    _set_price(s, 1, 700, 100)
    _set_price(s, 2, 200, 100)
    _set_price(s, 3, 500, 100)
    assert median_spot_price(s, 0) == 5.0


def test_median_subnet_alpha_price_averages_even_ignores_zero_and_unadded_d5() -> None:
    s = ChainState.empty(1, 4)
    _set_price(s, 1, 200, 100)  # 2
    _set_price(s, 2, 400, 100, exists=False)  # not added
    _set_price(s, 3, 800, 100)  # 8
    _set_price(s, 4, 0, 100)  # price 0
    assert median_spot_price(s, 0) == 5.0
    s2 = ChainState.empty(1, 2)
    _set_price(s2, 1, 0, 100)
    assert median_spot_price(s2, 0) == 1.0


# ------------------------------------------------------------------------ registration
def test_register_seeds_pool_at_median_and_initialises_slot() -> None:
    mech = _mech(subnet_limit=8, default_tempo=360, start_call_delay=7)
    s = _state(subnets=8)
    s.block = 1_000
    r1 = register_subnet(s, mech, 0, 1_000)
    assert r1 == (1, MOCK_MIN_LOCK, None)
    k = 0
    # No subnet before: median 1.0, y0 = x0 = lock.
    assert s.ints[0, k, SI.TAO_RESERVE] == MOCK_MIN_LOCK == s.ints[0, k, SI.ALPHA_IN]
    assert s.ints[0, k, SI.LOCKED_TAO] == MOCK_MIN_LOCK
    assert s.ints[0, k, SI.ALPHA_ISSUANCE_START] == MOCK_MIN_LOCK
    assert s.ints[0, k, SI.FIRST_EMISSION_BLOCK] == 1_000 + 7 + 1
    assert s.ints[0, k, SI.EMISSION_ENABLED] == 0
    assert s.ints[0, k, SI.LAST_EPOCH_BLOCK] == 1_000 - 1
    assert s.ints[0, k, SI.NEURON_BURN] == mech.default_neuron_burn
    assert s.ints[0, k, SI.BURN_FACTOR_Q32] == burn_factor_q32(mech.burn_half_life)
    assert s.floats[0, k, SF.QUOTE_WEIGHT] == 0.5
    assert s.gints[0, GI.LAST_LOCK_BLOCK] == 1_000
    assert s.gints[0, GI.SUBNETS_REGISTERED] == 1
    check_state(s)

    # Two subnets at prices 5 and 2 -> median 3.5 for the next one.
    _set_price(s, 1, 500 * TAO, 100 * TAO)
    _set_price(s, 2, 200 * TAO, 100 * TAO)
    for n in (1, 2):
        s.ints[0, n - 1, SI.ALPHA_ISSUANCE_START] = 100 * TAO
        s.ints[0, n - 1, SI.REGISTERED_AT] = 1_000
    s.gints[0, GI.FREE_TAO] = s.gints[0, GI.TOTAL_ISSUANCE] - 700 * TAO
    s.gints[0, GI.ISSUANCE_START] = s.gints[0, GI.TOTAL_ISSUANCE]
    check_state(s)
    now = 1_000 + mech.network_rate_limit
    lock = network_lock_cost(MOCK_MIN_LOCK, 1_000, now, min_lock=MOCK_MIN_LOCK,
                             reduction_interval=100, block_emission=TAO)
    r = register_subnet(s, mech, 0, now)
    assert r.netuid == 3 and r.lock_cost == lock
    assert s.ints[0, 2, SI.TAO_RESERVE] == lock
    assert s.ints[0, 2, SI.ALPHA_IN] == int(Fraction(lock) / Fraction(3.5))
    assert s.ints[0, 2, SI.LAST_EPOCH_BLOCK] == now - 3
    check_state(s)


def test_launch_seeding_price_one_recycles_excess_lock() -> None:
    mech = _mech(pool_seeding=PoolSeeding.MIN_LOCK_AT_PRICE_ONE)
    s = _state()
    issuance = int(s.gints[0, GI.TOTAL_ISSUANCE])
    r = register_subnet(s, mech, 0, 5, lock_paid=300 * TAO)
    assert r.lock_cost == 300 * TAO
    assert s.ints[0, 0, SI.TAO_RESERVE] == MOCK_MIN_LOCK == s.ints[0, 0, SI.ALPHA_IN]
    assert s.gints[0, GI.RECYCLED_TAO] == 200 * TAO
    assert s.gints[0, GI.TOTAL_ISSUANCE] == issuance - 200 * TAO
    assert s.gints[0, GI.LAST_LOCK_COST] == 300 * TAO
    check_state(s)


def test_lock_cost_doubles_after_registration_and_decays_linearly() -> None:
    mech = _mech(subnet_limit=4, network_rate_limit=0)
    s = _state()
    r1 = register_subnet(s, mech, 0, 10)
    assert r1.lock_cost == MOCK_MIN_LOCK
    r2 = register_subnet(s, mech, 0, 10)  # same block: doubled
    assert r2.lock_cost == 2 * MOCK_MIN_LOCK
    per_block = 2 * MOCK_MIN_LOCK // 100
    r3 = register_subnet(s, mech, 0, 30)  # 20 blocks later: 2 x 2L - 20 x floor(2L / 100)
    assert r3.lock_cost == 4 * MOCK_MIN_LOCK - 20 * per_block
    assert s.gints[0, GI.LOCKED_TAO_TOTAL] == r1.lock_cost + r2.lock_cost + r3.lock_cost
    check_state(s)


def test_rate_limit() -> None:
    mech = _mech(network_rate_limit=10)
    s = _state()
    register_subnet(s, mech, 0, 100)
    with pytest.raises(RegistrationError) as e:
        register_subnet(s, mech, 0, 109)
    assert e.value.reason == "NetworkTxRateLimitExceeded"
    assert register_subnet(s, mech, 0, 110).netuid == 2


def test_not_enough_free_tao() -> None:
    mech = _mech()
    s = _state(free=MOCK_MIN_LOCK - 1)
    before = s.copy()
    with pytest.raises(RegistrationError) as e:
        register_subnet(s, mech, 0, 1)
    assert e.value.reason == "CannotAffordLockCost"
    assert (s.ints == before.ints).all() and (s.gints == before.gints).all()


def _fill(mech: Mechanism, s: ChainState, blocks: list[int]) -> None:
    for b in blocks:
        register_subnet(s, mech, 0, b)


def test_register_at_cap_prunes_lowest_ema_non_immune_and_reuses_netuid() -> None:
    mech = _mech(subnet_limit=3, network_immunity_period=1_000, network_rate_limit=0)
    s = _state(subnets=4)  # more slots than the limit: the limit binds
    _fill(mech, s, [0, 100, 200])
    s.floats[0, :, SF.PRICE_EMA] = [0.3, 0.1, 0.2, 0.0]
    _give_alpha(s, 2, SI.STAKE_STAKERS, 50 * TAO)
    # At block 1 150 only subnets 1 and 2 are past immunity; 2 has the lowest EMA.
    assert subnet_to_prune(s, 0, mech, 1_150) == 2
    dissolved0 = int(s.gints[0, GI.SUBNETS_DISSOLVED])
    r = register_subnet(s, mech, 0, 1_150)
    assert r.netuid == 2 and r.pruned_netuid == 2
    assert s.ints[0, 1, SI.REGISTERED_AT] == 1_150
    assert s.ints[0, 1, SI.STAKE_STAKERS] == 0
    assert s.floats[0, 1, SF.PRICE_EMA] == 0.0
    assert s.ints[0, 3, SI.EXISTS] == 0  # free slot 4 not used: at the limit we prune
    assert s.gints[0, GI.SUBNETS_DISSOLVED] == dissolved0 + 1
    check_state(s)


def test_prune_tie_goes_to_earliest_registration_then_lower_netuid() -> None:
    mech = _mech(subnet_limit=3, network_immunity_period=0, network_rate_limit=0)
    s = _state(subnets=3)
    _fill(mech, s, [5, 3, 3])
    s.floats[0, :, SF.PRICE_EMA] = 0.5
    assert subnet_to_prune(s, 0, mech, 10) == 2
    s.ints[0, 1, SI.REGISTERED_AT] = 7
    assert subnet_to_prune(s, 0, mech, 10) == 3


def test_immune_subnets_are_never_pruned_subnet_limit_reached() -> None:
    mech = _mech(subnet_limit=2, network_immunity_period=1_000, network_rate_limit=0)
    s = _state(subnets=2)
    _fill(mech, s, [0, 500])
    s.floats[0, :, SF.PRICE_EMA] = [0.9, 0.0]  # subnet 2 lowest but immune until 1 500
    assert subnet_to_prune(s, 0, mech, 999) is None
    with pytest.raises(RegistrationError) as e:
        register_subnet(s, mech, 0, 999)
    assert e.value.reason == "SubnetLimitReached"
    assert subnet_to_prune(s, 0, mech, 1_000) == 1
    assert register_subnet(s, mech, 0, 1_000).pruned_netuid == 1


def test_dissolution_pays_pot_minus_protocol_share_and_conserves_tao() -> None:
    mech = _mech()
    s = _state()
    net = register_subnet(s, mech, 0, 1).netuid  # pool 100 TAO / 100 alpha, non-legacy
    k = net - 1
    _give_alpha(s, net, SI.STAKE_OWNER, 7 * TAO)
    _give_alpha(s, net, SI.STAKE_STAKERS, 13 * TAO + 1)
    _give_alpha(s, net, SI.ROOT_CLAIMABLE, 3)
    _give_alpha(s, net, SI.PROTOCOL_ALPHA, 5 * TAO)
    _give_alpha(s, net, SI.BURNED_ALPHA, 2 * TAO)  # not a holder: not paid
    # Launch-era pending root TAO held for the subnet (taken from free TAO to keep the identity).
    s.ints[0, k, SI.PENDING_ROOT_TAO] = 11
    s.gints[0, GI.FREE_TAO] -= 11
    check_state(s)
    issuance = int(s.gints[0, GI.TOTAL_ISSUANCE])
    free = int(s.gints[0, GI.FREE_TAO])
    pot = int(s.ints[0, k, SI.TAO_RESERVE])
    alpha_in = int(s.ints[0, k, SI.ALPHA_IN])

    res = dissolve_subnet(s, mech, 0, net)
    weights = [7 * TAO, 0, 13 * TAO + 1, 0, 3, 5 * TAO + alpha_in]
    expect = pro_rata_largest_remainder(pot, weights)
    assert res.protocol_alpha_weight == 5 * TAO + alpha_in
    assert res.protocol_share == expect[-1]
    assert res.paid_total == pot - res.protocol_share == sum(expect[:-1])
    assert res.recycled_tao == res.protocol_share + 11
    assert int(s.gints[0, GI.FREE_TAO]) == free + res.paid_total
    assert int(s.gints[0, GI.TOTAL_ISSUANCE]) == issuance - res.recycled_tao
    assert int(s.gints[0, GI.DISSOLUTION_PAID_TAO]) == res.paid_total
    assert res.legacy_refund == 0
    # The slot is empty exactly like ChainState.empty.
    empty = ChainState.empty(1, s.subnets)
    assert (s.ints[0, k] == empty.ints[0, k]).all()
    assert (s.floats[0, k] == empty.floats[0, k]).all()
    check_state(s)


def test_legacy_dissolution_ignores_alpha_in_for_protocol_weight() -> None:
    mech = _mech()
    s = _state()
    net = register_subnet(s, mech, 0, 1).netuid
    s.ints[0, net - 1, SI.LEGACY] = 1
    _give_alpha(s, net, SI.STAKE_STAKERS, 10)
    res = dissolve_subnet(s, mech, 0, net)
    assert res.protocol_alpha_weight == 0
    assert res.paid_total == res.pot and res.recycled_tao == 0
    check_state(s)


def test_legacy_owner_refund_formula() -> None:
    # owner alpha = floor(1 000 x 0.25) = 250, value = floor(250 x 2.0) = 500
    assert legacy_owner_refund(5_000, 1_000, 0.25, 2.0) == 4_500
    assert legacy_owner_refund(100, 1_000, 0.25, 2.0) == 0
    assert legacy_owner_refund(0, 1_000, 0.25, 2.0) == 0


# -------------------------------------------------------------------- property tests
@settings(max_examples=300, deadline=None)
@given(
    pot=st.integers(0, 10**15),
    weights=st.lists(st.integers(0, 10**15), min_size=1, max_size=8),
)
def test_pro_rata_largest_remainder_properties(pot: int, weights: list[int]) -> None:
    shares = pro_rata_largest_remainder(pot, weights)
    total = sum(weights)
    assert len(shares) == len(weights)
    if total == 0:
        assert shares == [0] * len(weights)
        return
    assert sum(shares) == pot
    for w, sh in zip(weights, shares, strict=True):
        exact = Fraction(pot * w, total)
        assert abs(sh - exact) < 1
        assert sh >= 0
    for i, wi in enumerate(weights):
        for j, wj in enumerate(weights):
            if wi > wj:
                assert shares[i] >= shares[j]
