"""Share rules: spec 12.4 vectors S1, S7-S9 and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dtaosim.chain.shares import (
    NET_FLOW,
    PRICE_BURN,
    PRICE_EMA,
    PRICE_ROOTPROP_BURN,
    TAO_FLOW,
    compute_shares,
    pow_normalize,
    shares_numpy,
)


def shares(rule: int, ema=None, burned=None, rho=None, uflow=None, pflow=None,
           eligible=None, enabled=None, flag=False, cutoff=0.0, p=1.0):
    n = len(next(a for a in (ema, uflow) if a is not None))
    z = np.zeros(n)

    def arr(a, fill):
        return np.asarray(a, dtype=float) if a is not None else np.full(n, fill)

    el = np.asarray(eligible, bool) if eligible is not None else np.ones(n, bool)
    en = np.asarray(enabled, bool) if enabled is not None else np.ones(n, bool)
    out = np.empty(n)
    compute_shares(rule, el, en, flag, arr(ema, 0), arr(burned, 0), arr(rho, 1), arr(uflow, 0),
                   arr(pflow, 0), cutoff, p, out)
    twin = shares_numpy(rule, el[None], en[None], flag, arr(ema, 0)[None], arr(burned, 0)[None],
                        arr(rho, 1)[None], arr(uflow, 0)[None], arr(pflow, 0)[None], cutoff, p)[0]
    np.testing.assert_allclose(out, twin, rtol=1e-15, atol=1e-300)
    del z
    return out


def test_get_shares_ignores_root_prop_storage_when_prices_and_burns_match_s1() -> None:
    out = shares(PRICE_BURN, ema=[1.0, 1.0], burned=[0, 0], rho=[1.0, 0.1])
    np.testing.assert_allclose(out, [0.5, 0.5])


def test_inplace_pow_normalize_regular_case_s7() -> None:
    out = np.empty(3)
    pow_normalize(np.array([2.0, 3.0, 5.0]), np.ones(3, bool), 1.0, out)
    np.testing.assert_allclose(out, [0.2, 0.3, 0.5], rtol=1e-12)


def test_inplace_pow_normalize_fractional_exponent_s8() -> None:
    out = np.empty(3)
    pow_normalize(np.array([2.0, 3.0, 5.0]), np.ones(3, bool), 2.0, out)
    np.testing.assert_allclose(out, [4 / 38, 9 / 38, 25 / 38], rtol=0.01)
    np.testing.assert_allclose(out, [0.10526, 0.23684, 0.65789], atol=1e-5)


def test_get_shares_both_negative_above_cutoff_s9() -> None:
    out = shares(TAO_FLOW, uflow=[-100.0, -300.0, -400.0], cutoff=-1000.0)
    np.testing.assert_allclose(out, [0.75, 0.25, 0.0])


def test_flow_all_zero_gives_no_shares() -> None:
    out = shares(TAO_FLOW, uflow=[0.0, 0.0, 0.0])
    assert out.sum() == 0.0


def test_single_negative_flow_subnet_gets_nothing() -> None:
    out = shares(TAO_FLOW, uflow=[-5.0])
    assert out[0] == 0.0


def test_net_flow_deducts_normalised_protocol_flow() -> None:
    # U = (10, 10), P = (40, 0): norm = min(1, 20/40) = 0.5 -> net = (-10, 10); L = -10
    out = shares(NET_FLOW, uflow=[10.0, 10.0], pflow=[40.0, 0.0])
    np.testing.assert_allclose(out, [0.0, 1.0])
    # negative protocol flow is a benefit kept as is: net = U - P
    out = shares(NET_FLOW, uflow=[10.0, 10.0], pflow=[-10.0, 0.0])
    np.testing.assert_allclose(out, [2 / 3, 1 / 3])


def test_price_burn_weighting_and_fallback() -> None:
    out = shares(PRICE_BURN, ema=[0.2, 0.2, 0.6], burned=[1.0, 0.5, 0.0])
    np.testing.assert_allclose(out, [0.0, 0.1 / 0.7, 0.6 / 0.7])
    out = shares(PRICE_BURN, ema=[0.5, 0.5], burned=[1.0, 1.0])  # all burned: price shares
    np.testing.assert_allclose(out, [0.5, 0.5])
    out = shares(PRICE_ROOTPROP_BURN, ema=[0.5, 0.5], burned=[0, 0], rho=[0.3, 0.1])
    np.testing.assert_allclose(out, [0.75, 0.25])


def test_emission_enabled_renormalisation() -> None:
    out = shares(PRICE_EMA, ema=[0.2, 0.3, 0.5], enabled=[True, False, True], flag=True)
    np.testing.assert_allclose(out, [0.2 / 0.7, 0.0, 0.5 / 0.7])
    out = shares(PRICE_EMA, ema=[0.2, 0.3, 0.5], enabled=[True, False, True], flag=False)
    np.testing.assert_allclose(out, [0.2, 0.3, 0.5])


def test_ineligible_subnets_get_nothing() -> None:
    out = shares(PRICE_EMA, ema=[0.2, 0.3, 0.5], eligible=[True, True, False])
    np.testing.assert_allclose(out, [0.4, 0.6, 0.0])


def _paid(rule, ema, burned, rho, uflow, pflow, eligible, enabled, flag) -> np.ndarray:
    """Which subnets get a positive share, from the rules' definitions (not the code)."""
    if rule in (TAO_FLOW, NET_FLOW):
        net = uflow.copy()
        if rule == NET_FLOW:
            pos_p = np.maximum(pflow[eligible], 0).sum()
            norm = min(1.0, np.maximum(uflow[eligible], 0).sum() / pos_p) if pos_p > 0 else 0.0
            net = uflow - np.where(pflow > 0, norm * pflow, pflow)
        limit = max(0.0, min(net[eligible].min(initial=0.0), 0.0))  # cutoff 0
        paid = eligible & (net - limit > 0)
    else:
        paid = eligible & (ema > 0)
        if rule in (PRICE_BURN, PRICE_ROOTPROP_BURN):
            weighted = paid & (burned < 1) & ((rho > 0) if rule == PRICE_ROOTPROP_BURN else True)
            paid = weighted if weighted.any() else paid  # all weights 0: the price shares
    if flag and (eligible & ~enabled).any():
        paid = paid & enabled
    return paid


amount = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))  # no subnormal weights
flow = st.integers(-10**9, 10**9).map(float)  # RAO per block


@settings(max_examples=300, deadline=None)
@given(
    rule=st.sampled_from([PRICE_EMA, PRICE_BURN, PRICE_ROOTPROP_BURN, TAO_FLOW, NET_FLOW]),
    ema=arrays(float, 8, elements=amount),
    burned=arrays(float, 8, elements=st.one_of(st.just(1.0), amount)),
    rho=arrays(float, 8, elements=amount),
    uflow=arrays(float, 8, elements=flow),
    pflow=arrays(float, 8, elements=flow),
    eligible=arrays(bool, 8),
    enabled=arrays(bool, 8),
    flag=st.booleans(),
)
def test_shares_sum_to_one_over_the_paid_subnets_or_to_zero(rule, ema, burned, rho, uflow,
                                                           pflow, eligible, enabled,
                                                           flag) -> None:
    out = shares(rule, ema=ema, burned=burned, rho=rho, uflow=uflow, pflow=pflow,
                 eligible=eligible, enabled=enabled, flag=flag)
    paid = _paid(rule, ema, burned, rho, uflow, pflow, eligible, enabled, flag)
    assert np.all(out[paid] > 0) and np.all(out[~paid] == 0)
    if paid.any():
        assert out.sum() == pytest.approx(1.0, abs=1e-12)
    else:  # nobody to pay: the block's TAO is recycled, not shared
        assert out.sum() == 0.0


@given(st.integers(min_value=0, max_value=140), st.integers(min_value=0, max_value=2**32 - 1))
def test_lane_sum_compiled_equals_reference_bit_for_bit(n: int, seed: int) -> None:
    """The kernel's and the NumPy reference's subnet sums agree exactly, and are accurate."""
    from dtaosim.chain.summation import lane_sum, lane_sum_rows

    a = np.random.default_rng(seed).lognormal(-3.0, 2.0, size=n)
    got = lane_sum(a)
    assert got == lane_sum_rows(a[None, :])[0, 0]
    assert got == pytest.approx(math.fsum(a), rel=1e-14, abs=0.0)
