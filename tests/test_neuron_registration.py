"""UID registration, pruning and burn price (spec 9, 12.8 R rows).

Chain tests replayed (``pallets/subtensor/src/tests``): ``registration.rs``
(``test_burn_decay`` R2, ``test_burn_min_and_max_clamps...`` R3, the
``get_uid_to_prune`` tests, ``test_registration_pruning``, the bump test), ``uids.rs`` (replace
and prune tests) and, for the launch-era rule, ``registration.rs::test_burn_adjustment`` at the
commit before 2026-04-22. R1 (pure decay) is covered by ``tests/test_lifecycle.py``; the lock-cost
L rows too. Mock constants (spec 12.0): ImmunityPeriod 2, MinBurn 500 000, MaxBurn 1 TAO.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.chain.neuron_registration import (
    REG_HOTKEY_ALREADY_REGISTERED,
    REG_NO_NEURON_ID_AVAILABLE,
    BurnRule,
    UidRules,
    bump_burn_exact,
    burn_mult_q,
    is_immune,
    legacy_adjust_burn,
    legacy_alpha_bits,
    legacy_upgraded_burn,
    neuron_to_prune,
    prune_uid,
    register_neuron,
    register_uid,
)
from dtaosim.chain.registration import bump_burn, burn_factor_q32, decay_burn
from dtaosim.errors import RegistrationError
from dtaosim.state.neurons import NF, NI, NeuronState

I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
MOCK_IMMUNITY = 2


def _subnet(hotkeys: list[int], coldkeys: list[int], regs: list[int],
            emissions: list[int] | None = None, uids: int = 8) -> NeuronState:
    s = NeuronState.empty(1, 1, uids)
    n = len(hotkeys)
    i = s.ints[0, 0]
    i[NI.HOTKEY, :n] = hotkeys
    i[NI.COLDKEY, :n] = coldkeys
    i[NI.REGISTERED_AT, :n] = regs
    i[NI.LAST_UPDATE, :n] = regs
    i[NI.EMISSION, :n] = emissions if emissions is not None else [0] * n
    s.floats[0, 0, NF.TAKE, :n] = 0.18
    return s


def _prune(s: NeuronState, block: int, *, owner_hk: int = -1, owner_ck: int = -1,
           immunity: int = MOCK_IMMUNITY, min_free: int = 0, limit: int = 1) -> int | None:
    rules = UidRules(max_allowed_uids=s.uids, immunity_period=immunity,
                     min_non_immune_uids=min_free, immune_owner_uids_limit=limit)
    return prune_uid(s, 0, 0, block=block, owner_hotkey=owner_hk, owner_coldkey=owner_ck,
                     rules=rules)


# ----------------------------------------------------------- R rows through register_neuron
def test_burn_decay_r2() -> None:
    # registration.rs::test_burn_decay: half-life 1 000, mult 2, burn 1 000, register.
    s = _subnet([10], [20], [1])
    reg = register_neuron(s, 0, 0, 11, 21, block=1, burn=1_000, burn_increase_mult=2.0,
                          min_burn=0, max_burn=I64_MAX)
    assert reg.burn_paid == 1_000
    assert reg.new_burn == 2_000  # immediately
    assert int(decay_burn(reg.new_burn, burn_factor_q32(1_000), 0, I64_MAX)) == 1_998  # next
    assert reg.uid == 1 and reg.replaced_hotkey == -1


def test_burn_min_and_max_clamps_prevent_zero_stuck_and_cap_bump_r3() -> None:
    # registration.rs::test_burn_min_and_max_clamps_prevent_zero_stuck_and_cap_bump
    f = burn_factor_q32(1)
    lo, hi = 100_000, 150_000
    burn = int(decay_burn(1, f, lo, hi))
    assert burn == 100_000  # one block: 1 -> 0, clamped up
    s = _subnet([10], [20], [1])
    reg = register_neuron(s, 0, 0, 11, 21, block=2, burn=burn, burn_increase_mult=2.0,
                          min_burn=lo, max_burn=hi)
    assert reg.new_burn == 150_000  # 200 000 capped
    assert int(decay_burn(reg.new_burn, f, lo, hi)) == 100_000  # next block


def test_bump_registration_price_after_registration_applies_multiplier_immediately() -> None:
    # registration.rs: BurnIncreaseMult 3, burn 1 000 -> 3 000
    num, shift = burn_mult_q(3.0)
    assert int(bump_burn_exact(1_000, num, shift, 0, I64_MAX)) == 3_000


def test_burned_register_bumps_many_multipliers_reference() -> None:
    # registration.rs::test_burned_register_immediately_bumps_price_many_multipliers...:
    # ref_bump = clamp(floor(prev x max(mult, 1)), min, max), repeated per registration.
    cases = [(0, 0, 100_000, U64_MAX, 7), (5, 0, 1, U64_MAX, 7), (7, 1, 1, U64_MAX, 7),
             (2, 2, 1, 400, 8), (3, 3, 1, U64_MAX, 6), (7, 10, 1, 500_000, 5),
             (1, 100, 1, 5_000_000_000, 5), (1, 1_000, 1, 50_000_000_000, 4)]
    for burn, mult, lo, hi, regs in cases:
        hi = min(hi, I64_MAX)
        num, shift = burn_mult_q(float(mult))
        b = burn
        expected = burn
        for _ in range(regs):
            b = int(bump_burn_exact(b, num, shift, lo, hi))
            expected = min(max(expected * max(mult, 1), lo), hi)
            assert b == expected


@settings(max_examples=400, deadline=None)
@given(burn=st.integers(0, I64_MAX),
       mult=st.floats(1.0, 1024.0, allow_nan=False, allow_infinity=False),
       lo=st.integers(0, 10**12), span=st.integers(0, I64_MAX))
def test_bump_burn_exact_equals_python_reference(burn: int, mult: float, lo: int,
                                                 span: int) -> None:
    hi = min(lo + span, I64_MAX)
    num, shift = burn_mult_q(mult)
    assert Fraction(num, 2**shift) == Fraction(mult)
    got = int(bump_burn_exact(burn, num, shift, lo, hi))
    assert got == bump_burn(burn, mult, lo, hi)


def test_burn_mult_below_one_counts_as_one() -> None:
    assert burn_mult_q(0.5) == (1, 0)
    with pytest.raises(ValueError):
        burn_mult_q(1e6)


# --------------------------------------------------------------------- legacy burn rule
def _legacy_reference(burn: int, reg: int, target: int, alpha: int, lo: int, hi: int) -> int:
    """U110F18 steps of upgraded_burn on Python integers."""
    num = min(reg + target, 65535)
    den = min(2 * target, 65535)
    u_bits = 0 if den == 0 else (burn * num << 18) // den
    a_bits = (alpha << 18) // U64_MAX
    nxt = a_bits * burn + (((1 << 18) - a_bits) * u_bits >> 18)
    if nxt >= hi << 18:
        return hi
    if nxt <= lo << 18:
        return lo
    return nxt >> 18


def test_burn_adjustment_legacy() -> None:
    # registration.rs::test_burn_adjustment (commit e7f05a051^): burn MinBurn + 10 000 =
    # 510 000, interval 1, target 1, AdjustmentAlpha 58 000, two burned registrations ->
    # 1.5 x (765 000).
    a = legacy_alpha_bits(58_000)
    assert a == 0
    new = legacy_adjust_burn(510_000, 2, 0, 2, 1, a, 500_000, 10**9)
    assert new == 765_000


def test_legacy_cases_and_halving_without_registrations() -> None:
    a = 0
    # E: no registration at all -> burn x target / (2 target) = half
    assert legacy_adjust_burn(1_000_000, 0, 0, 0, 2, a, 0, 10**12) == 500_000
    # D: 1 burned registration <= target 2 -> unchanged
    assert legacy_adjust_burn(1_000_000, 1, 0, 1, 2, a, 0, 10**12) == 1_000_000
    # C: registrations <= target, mostly PoW -> moves (1 + 2) / 4
    assert legacy_adjust_burn(1_000_000, 1, 1, 0, 2, a, 0, 10**12) == 750_000
    # A: over target, mostly PoW -> burn unchanged
    assert legacy_adjust_burn(1_000_000, 5, 4, 1, 2, a, 0, 10**12) == 1_000_000
    # B/F: over target, burn >= PoW -> x (5 + 2) / 4
    assert legacy_adjust_burn(1_000_000, 5, 0, 5, 2, a, 0, 10**12) == 1_750_000
    # clamps
    assert legacy_adjust_burn(1_000_000, 0, 0, 0, 2, a, 600_000, 10**12) == 600_000
    assert legacy_adjust_burn(1_000_000, 9, 0, 9, 2, a, 0, 2_000_000) == 2_000_000
    # alpha = u64::MAX keeps the burn
    assert legacy_upgraded_burn(1_000_000, 9, 2, legacy_alpha_bits(U64_MAX), 0,
                                10**12) == 1_000_000


@settings(max_examples=400, deadline=None)
@given(burn=st.integers(0, 2**46), reg=st.integers(0, 65535), target=st.integers(0, 65535),
       alpha=st.integers(0, U64_MAX), lo=st.integers(0, 10**9), span=st.integers(0, 2**50))
def test_legacy_upgraded_burn_is_exact(burn: int, reg: int, target: int, alpha: int, lo: int,
                                       span: int) -> None:
    hi = lo + span
    a = legacy_alpha_bits(alpha)
    assert int(legacy_upgraded_burn(burn, reg, target, a, lo, hi)) == _legacy_reference(
        burn, reg, target, alpha, lo, hi)


# --------------------------------------------------------------------------- pruning
def test_registration_get_uid_to_prune_all_in_immunity_period() -> None:
    # registration.rs: limit 0, floor 0, uid0 @0, uid1 @1, immunity 2, block 1
    s = _subnet([0, 1], [0, 1], [0, 1], [100, 110])
    assert _prune(s, 1, owner_ck=999_999, limit=0) == 0


def test_registration_get_uid_to_prune_none_in_immunity_period() -> None:
    s = _subnet([0, 1], [0, 1], [0, 1], [100, 110])
    assert _prune(s, 4, owner_ck=999_999, limit=0) == 0


@pytest.mark.parametrize(("limit", "expected"), [(1, 1), (2, 2)])
def test_registration_get_uid_to_prune_owner_immortality(limit: int, expected: int) -> None:
    # owner hk 1 (uid 0), other owner hk 2 (uid 1, reg 1), non-owner hk 3 (uid 2, reg 2);
    # immunity 1, block 11, emissions [0, 0, 1].
    s = _subnet([1, 2, 3], [0, 0, 33], [1, 1, 2], [0, 0, 1])
    assert _prune(s, 11, owner_hk=1, owner_ck=0, immunity=1, limit=limit) == expected


def test_registration_get_uid_to_prune_owner_immortality_all_immune() -> None:
    s = _subnet([1, 2, 3], [0, 0, 33], [12, 11, 10], [0, 0, 1])
    assert _prune(s, 21, owner_hk=1, owner_ck=0, immunity=100, limit=2) == 2


def test_registration_pruning() -> None:
    # registration.rs::test_registration_pruning (and _1): now 1 000, immunity 100, regs
    # now-150 / now-200 / now-10, emissions 10 / 10 / 1 -> uid1; the new hotkey takes uid 1.
    now = 1_000
    s = _subnet([30_001, 30_002, 30_003], [20_001, 20_002, 20_003],
                [now - 150, now - 200, now - 10], [10, 10, 1], uids=3)
    assert not is_immune(s.ints[0, 0], 0, now, 100)
    assert not is_immune(s.ints[0, 0], 1, now, 100)
    assert is_immune(s.ints[0, 0], 2, now, 100)
    assert _prune(s, now, immunity=100, limit=0) == 1
    rules = UidRules(max_allowed_uids=3, immunity_period=100, min_non_immune_uids=0,
                     immune_owner_uids_limit=0)
    reg = register_neuron(s, 0, 0, 40_000, 50_000, block=now, burn=1_000, rules=rules)
    assert reg.uid == 1 and reg.replaced_hotkey == 30_002 and reg.replaced
    assert s.hotkey[0, 0].tolist() == [30_001, 40_000, 30_003]
    assert int(s.subnetwork_n()[0, 0]) == 3


def test_prune_respects_min_non_immune_floor_prefers_immune() -> None:
    # uids.rs: 3 non-immune + 1 immune, floor 3 -> prune the immune uid 3
    s = _subnet([10_000, 10_001, 10_002, 99_999], [20_000, 20_001, 20_002, 88_888],
                [1, 2, 3, 1_009])
    assert _prune(s, 1_009, immunity=1_000, min_free=3, limit=0) == 3
    assert _prune(s, 1_009, immunity=1_000, min_free=2, limit=0) == 0


def test_prune_tie_breakers_non_immune_emission_block_uid() -> None:
    s = _subnet([30_000, 30_001, 30_002], [40_000, 40_001, 40_002], [1, 2, 3], [10, 10, 10])
    assert _prune(s, 4, immunity=0, limit=0) == 0
    s.ints[0, 0, NI.REGISTERED_AT, :3] = 5  # same block too: lower uid
    s.ints[0, 0, NI.EMISSION, 0] = 11
    assert _prune(s, 6, immunity=0, limit=0) == 1


def test_prune_all_owner_immortal_returns_none() -> None:
    s = _subnet([9001, 9002, 9003], [7777, 7777, 7777], [1, 1, 1])
    assert _prune(s, 1, owner_ck=7777, limit=10) is None


def test_get_neuron_to_prune_owner_not_pruned() -> None:
    # owner uid 0 (emission 0) immortal -> uid 1 (emission 1)
    s = _subnet([123, 1000, 1001], [999, 2000, 2001], [1, 1, 1], [0, 1, 2])
    assert _prune(s, 1, owner_hk=123, owner_ck=999, limit=1) == 1


def test_get_neuron_to_prune_owner_pruned_if_not_in_sn_owner_hotkey_map() -> None:
    # owner hk 123 (uid 0, reg 0), other owner hk 456 (uid 1, reg 1), two others.
    s = _subnet([123, 456, 1000, 1001], [999, 999, 2000, 2001], [0, 1, 1, 1], [0, 1, 2, 3])
    assert _prune(s, 1, owner_hk=123, owner_ck=999, limit=1) == 1  # case 1
    assert _prune(s, 1, owner_hk=456, owner_ck=999, limit=1) == 0  # case 2


def test_no_candidate_when_only_non_immune_exist_below_floor() -> None:
    # The chain falls back to an immune candidate; if there is none it returns None even
    # though non-immune UIDs exist.
    s = _subnet([1, 2, 3], [1, 2, 3], [0, 0, 0], [5, 6, 7])
    assert _prune(s, 100, immunity=10, min_free=10, limit=0) is None
    assert _prune(s, 100, immunity=10, min_free=2, limit=0) == 0


# ------------------------------------------------------------------------ replacement
def _full_subnet() -> NeuronState:
    s = _subnet([100, 101, 102, 103], [200, 201, 202, 203], [1, 1, 1, 1], [5, 1, 7, 9], uids=4)
    i = s.ints[0, 0]
    i[NI.ALPHA_STAKE] = [10, 20, 30, 40]
    i[NI.ROOT_STAKE] = [0, 7, 0, 0]
    i[NI.EARNED_MINER] = [1, 2, 3, 4]
    s.floats[0, 0, NF.INCENTIVE] = [0.1, 0.2, 0.3, 0.4]
    s.floats[0, 0, NF.DIVIDENDS] = [0.5, 0.5, 0.0, 0.0]
    s.permit[0, 0, :2] = True
    s.weights[0, 0] = 65535
    s.bonds[0, 0] = 1000
    return s


def test_replace_clears_neuron_like_chain() -> None:
    s = _full_subnet()
    rules = UidRules(max_allowed_uids=4, immunity_period=2, min_non_immune_uids=0,
                     immune_owner_uids_limit=1)
    reg = register_neuron(s, 0, 0, 555, 666, block=50, burn=10, owner_hotkey=100,
                          owner_coldkey=200, rules=rules, alpha_stake=3, take=0.09)
    assert reg.uid == 1  # lowest emission, owner (uid 0) immortal
    assert reg.replaced_hotkey == 101
    assert (reg.displaced_alpha_stake, reg.displaced_root_stake) == (20, 7)
    i = s.ints[0, 0]
    assert i[NI.HOTKEY, 1] == 555 and i[NI.COLDKEY, 1] == 666
    assert i[NI.REGISTERED_AT, 1] == 50 and i[NI.LAST_UPDATE, 1] == 50
    assert i[NI.ALPHA_STAKE, 1] == 3 and i[NI.ROOT_STAKE, 1] == 0
    assert i[NI.EMISSION, 1] == 0 and i[NI.EARNED_MINER, 1] == 0
    assert s.floats[0, 0, NF.INCENTIVE, 1] == 0 and s.floats[0, 0, NF.DIVIDENDS, 1] == 0
    assert s.floats[0, 0, NF.TAKE, 1] == 0.09
    assert not s.permit[0, 0, 1] and s.permit[0, 0, 0]
    w, b = s.weights[0, 0], s.bonds[0, 0]
    assert (w[1] == 0).all() and (w[:, 1] == 0).all()  # its row and the weights set on it
    assert (w[0, [0, 2, 3]] == 65535).all()
    assert (b[1] == 0).all()  # bonds row removed
    assert (b[[0, 2, 3], 1] == 1000).all()  # column kept (the chain's clear_neuron)
    s.validate()


def test_replace_can_clear_bond_column() -> None:
    s = _full_subnet()
    rules = UidRules(max_allowed_uids=4, immunity_period=2, min_non_immune_uids=0)
    register_neuron(s, 0, 0, 555, 666, block=50, burn=10, owner_hotkey=100,
                    owner_coldkey=200, rules=rules, clear_bond_column=True)
    assert (s.bonds[0, 0][:, 1] == 0).all()


def test_append_fills_next_uid_and_compiled_codes() -> None:
    s = _subnet([1, 2], [1, 2], [0, 0], uids=4)
    v = s.subnet(0, 0)
    rules = UidRules(max_allowed_uids=4)
    assert register_uid(*v, 3, 3, 0, 0, 0.18, 9, -1, -1, rules, False) == 2
    assert register_uid(*v, 3, 3, 0, 0, 0.18, 9, -1, -1, rules, False) == (
        REG_HOTKEY_ALREADY_REGISTERED)
    assert register_uid(*v, 4, 4, 0, 0, 0.18, 9, -1, -1,
                        UidRules(max_allowed_uids=0), False) == REG_NO_NEURON_ID_AVAILABLE
    assert register_uid(*v, 4, 4, 0, 0, 0.18, 9, -1, -1, rules, False) == 3
    # full, everyone immune and owner-immortal only via limit 10 on one coldkey
    s2 = _subnet([1, 2], [7, 7], [0, 0], uids=2)
    assert register_uid(*s2.subnet(0, 0), 5, 5, 0, 0, 0.18, 1, -1, 7,
                        UidRules(max_allowed_uids=2, immune_owner_uids_limit=10),
                        False) == REG_NO_NEURON_ID_AVAILABLE
    assert int(neuron_to_prune(s2.ints[0, 0], 1, -1, 7,
                               UidRules(immune_owner_uids_limit=1))) == 1


def test_register_neuron_errors() -> None:
    s = _subnet([1, 2], [1, 2], [0, 0], uids=2)
    rules = UidRules(max_allowed_uids=2, immunity_period=100, min_non_immune_uids=10)
    with pytest.raises(RegistrationError, match="RegistrationPriceLimitExceeded"):
        register_neuron(s, 0, 0, 9, 9, block=5, burn=100, limit_price=99, rules=rules)
    with pytest.raises(RegistrationError, match="SubNetRegistrationDisabled"):
        register_neuron(s, 0, 0, 9, 9, block=5, burn=100, registration_allowed=False,
                        rules=rules)
    with pytest.raises(RegistrationError, match="HotKeyAlreadyRegisteredInSubNet"):
        register_neuron(s, 0, 0, 2, 9, block=5, burn=100, rules=rules)
    with pytest.raises(RegistrationError, match="NotEnoughBalanceToStake"):
        register_neuron(s, 0, 0, 9, 9, block=5, burn=100, balance=99, rules=rules)
    # both UIDs owned by the owner coldkey and immortal (limit 2): no UID available
    full = _subnet([1, 2], [1, 1], [0, 0], uids=2)
    before = full.ints.copy()
    with pytest.raises(RegistrationError, match="NoNeuronIdAvailable") as e:
        register_neuron(full, 0, 0, 9, 9, block=5, burn=100, owner_hotkey=1, owner_coldkey=1,
                        rules=rules._replace(immune_owner_uids_limit=2))
    assert e.value.reason == "NoNeuronIdAvailable"
    assert (full.ints == before).all()  # nothing changes on failure
    # immune fallback: both immune, floor not met -> the immune, non-immortal uid 1
    reg = register_neuron(s, 0, 0, 9, 9, block=5, burn=100, rules=rules, owner_hotkey=1,
                          owner_coldkey=1, burn_rule=BurnRule.ADJUSTMENT_INTERVAL)
    assert reg.uid == 1 and reg.new_burn == 100  # legacy rule: no per-registration bump


def test_owner_hotkey_chosen_only_without_immortality_is_not_replaced() -> None:
    # ImmuneOwnerUidsLimit 0: the owner's UID can be chosen; replace_neuron then refuses
    s = _subnet([1, 2], [1, 2], [0, 0], [0, 5], uids=2)
    rules = UidRules(max_allowed_uids=2, immunity_period=0, min_non_immune_uids=0,
                     immune_owner_uids_limit=0)
    reg = register_neuron(s, 0, 0, 9, 9, block=5, burn=100, rules=rules, owner_hotkey=1,
                          owner_coldkey=1)
    assert reg.uid == 0 and not reg.replaced
    assert s.hotkey[0, 0].tolist() == [1, 2]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_prune_matches_brute_force(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 12))
    hk = list(range(100, 100 + n))
    ck = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    regs = data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    em = data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    block = data.draw(st.integers(0, 40))
    immunity = data.draw(st.integers(0, 20))
    min_free = data.draw(st.integers(0, 4))
    limit = data.draw(st.integers(0, 4))
    owner_hk = data.draw(st.sampled_from([-1, *hk]))
    owner_ck = data.draw(st.integers(-1, 3))
    s = _subnet(hk, ck, regs, em, uids=12)
    got = _prune(s, block, owner_hk=owner_hk, owner_ck=owner_ck, immunity=immunity,
                 min_free=min_free, limit=limit)
    # brute force of get_immune_owner_tuples + get_neuron_to_prune
    triples = sorted((regs[u], u) for u in range(n) if ck[u] == owner_ck)[:limit]
    immortal = [u for _, u in triples]
    if owner_hk >= 0:
        ou = hk.index(owner_hk)
        if ou not in immortal:
            immortal = [ou, *immortal][:limit]
    cands = [u for u in range(n) if u not in immortal]
    immune = [u for u in cands if max(block - regs[u], 0) < immunity]
    free = [u for u in cands if u not in immune]
    key = lambda u: (em[u], regs[u], u)  # noqa: E731
    if len(free) > min_free and free:
        expected = min(free, key=key)
    else:
        expected = min(immune, key=key) if immune else None
    assert got == expected


def test_register_neuron_keeps_state_valid_over_many_registrations() -> None:
    rng = np.random.default_rng(5)
    s = NeuronState.empty(1, 1, 16)
    rules = UidRules(max_allowed_uids=16, immunity_period=20, min_non_immune_uids=3)
    burn = 1_000_000_000
    for t in range(200):
        s.ints[0, 0, NI.EMISSION] = np.where(s.hotkey[0, 0] >= 0,
                                             rng.integers(0, 100, 16), 0)
        reg = register_neuron(s, 0, 0, 1_000 + t, t % 7, block=10 * t, burn=burn,
                              rules=rules, owner_hotkey=1_000, owner_coldkey=0)
        burn = reg.new_burn
        assert reg.uid != 0 or t == 0  # the owner's UID 0 is never replaced
    s.validate()
    assert burn == 100_000_000_000  # bumped x 1.26 each time, capped at MaxBurn
