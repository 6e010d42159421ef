"""Weight setting (spec 6.8): chain vectors from ``epoch/math.rs`` tests, checks, normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.chain.weights import (
    DUPLICATE_UIDS,
    HOTKEY_NOT_REGISTERED_IN_SUBNET,
    INCORRECT_WEIGHT_VERSION_KEY,
    MAX_WEIGHT_EXCEEDED,
    NEURON_NO_VALIDATOR_PERMIT,
    NOT_ENOUGH_STAKE_TO_SET_WEIGHTS,
    SET_WEIGHTS_OK,
    SETTING_WEIGHTS_TOO_FAST,
    UID_VEC_CONTAIN_INVALID_ONE,
    UIDS_LENGTH_EXCEED_UIDS_IN_SUBNET,
    WEIGHT_VEC_LENGTH_IS_LOW,
    WEIGHT_VEC_NOT_EQUAL_SIZE,
    WeightRules,
    WeightsRejected,
    apply_weights,
    check_set_weights,
    error_name,
    is_max_weight_limited,
    max_upscale_u16,
    normalize_max_weight,
    quantize_u16,
    set_weights,
    set_weights_dense,
    weights_row_u16,
)
from dtaosim.state.neurons import NI, NeuronState

U16 = 65535


def _upscale(v: list[int]) -> list[int]:
    a = np.asarray(v, dtype=np.int64)
    out = np.zeros(a.size, dtype=np.int64)
    max_upscale_u16(a, out)
    return out.tolist()


def _limited(v: list[int], limit: int) -> bool:
    return bool(is_max_weight_limited(np.asarray(v, dtype=np.int64), limit))


# ------------------------------------------------------- chain vectors (epoch/math.rs tests)
def test_vec_u16_max_upscale_to_u16() -> None:
    # tests/math.rs::test_vec_u16_max_upscale_to_u16
    assert _upscale([]) == []
    assert _upscale([0]) == [0]
    assert _upscale([0, 0]) == [0, 0]
    assert _upscale([1]) == [65535]
    assert _upscale([0, 1]) == [0, 65535]
    assert _upscale([65534]) == [65535]
    assert _upscale([65535]) == [65535]
    assert _upscale([65535, 65535]) == [65535, 65535]
    assert _upscale([0, 1, 65534]) == [0, 1, 65535]
    assert _upscale([0, 1, 2, 3, 4, 65533, 65535]) == [0, 1, 2, 3, 4, 65533, 65535]


def test_vec_max_upscale_small_maximum_branch() -> None:
    # Maximum <= 32768 takes the multiply-first branch: round(e x 65535 / m). The chain's own
    # vector [0, .5, 1, 1.5, 2, 32768] -> [0, 1, 2, 3, 4, 65535] (tests/math.rs::
    # test_vec_max_upscale_to_u16) has fractional inputs; these are its integer analogues.
    assert _upscale([0, 1, 2, 3, 4, 32768]) == [0, 2, 4, 6, 8, 65535]
    assert _upscale([0, 1, 32768]) == [0, 2, 65535]
    assert _upscale([1, 3]) == [21845, 65535]
    assert _upscale([2, 3]) == [43690, 65535]


def test_check_vec_max_limited() -> None:
    # tests/math.rs::test_check_vec_max_limited
    assert _limited([], 0)
    assert _limited([], U16)
    assert _limited([U16], U16)
    assert not _limited([U16], U16 - 1)
    assert not _limited([U16], 0)
    assert _limited([0], U16)
    assert _limited([0, U16], U16)
    assert not _limited([0, U16, U16], U16 // 2)
    assert _limited([0, U16, U16], U16 // 2 + 1)
    assert not _limited([0, U16, U16, U16], U16 // 3 - 1)
    assert _limited([0, U16, U16, U16], U16 // 3)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, U16), min_size=1, max_size=40))
def test_max_upscale_matches_exact_fixed_point(values: list[int]) -> None:
    # Reference: the I32F32 steps of vec_max_upscale_to_u16 on Python integers.
    m = max(values)
    if m == 0:
        expected = [0] * len(values)
    elif m > 32768:
        r = (U16 << 64) // (m << 32)  # bits of 65535 / m
        expected = [min(U16, (((v << 32) * r >> 32) + (1 << 31)) >> 32) for v in values]
    else:
        expected = [min(U16, ((((v * U16) << 32) << 32) // (m << 32) + (1 << 31)) >> 32)
                    for v in values]
    got = _upscale(values)
    assert got == expected
    if m > 0:
        assert max(got) == U16
        assert _upscale(got) == got  # idempotent: stored rows stay as stored


# ------------------------------------------------------------------- normalize_max_weight
def _sdk_normalize_max_weight(x: np.ndarray, limit: float) -> np.ndarray:
    """Bittensor SDK ``weight_utils.normalize_max_weight`` (float64), for comparison."""
    eps = 1e-7
    weights = x.copy()
    values = np.sort(weights)
    if x.sum() == 0 or x.shape[0] * limit <= 1:
        return np.ones_like(x) / x.shape[0]
    estimation = values / values.sum()
    if estimation.max() <= limit:
        return weights / weights.sum()
    cumsum = np.cumsum(estimation, 0)
    estimation_sum = np.array([(len(values) - i - 1) * estimation[i]
                               for i in range(len(values))])
    n_values = (estimation / (estimation_sum + cumsum + eps) < limit).sum()
    cutoff_scale = (limit * cumsum[n_values - 1] - eps) / (1 - (limit * (len(estimation)
                                                                          - n_values)))
    cutoff = cutoff_scale * values.sum()
    weights[weights > cutoff] = cutoff
    return weights / weights.sum()


def _norm(x: np.ndarray, limit: float) -> tuple[np.ndarray, bool]:
    out = np.zeros_like(x)
    ok = normalize_max_weight(x, limit, out)
    return out, bool(ok)


def test_normalize_max_weight_example_caps_and_redistributes() -> None:
    x = np.array([10.0, 1.0, 1.0, 1.0, 1.0])
    y, ok = _norm(x, 0.4)
    assert ok
    # cap c with c = 0.4 (c + 4): c = 8/3; y = [c, 1, 1, 1, 1] / (c + 4) = [0.4, 0.15 x 4]
    np.testing.assert_allclose(y, [0.4, 0.15, 0.15, 0.15, 0.15], rtol=1e-12)
    y, ok = _norm(np.array([5.0, 4.0, 1.0]), 0.45)
    # only 5 capped: c = 0.45 (c + 5) -> c = 4.0909 > 4; y = [c, 4, 1] / (c + 5)
    np.testing.assert_allclose(y, [0.45, 0.44, 0.11], rtol=1e-12)
    y, ok = _norm(np.array([5.0, 4.5, 1.0]), 0.4)
    # 5 and 4.5 capped: c = 0.4 (2c + 1) -> c = 2; y = [2, 2, 1] / 5
    np.testing.assert_allclose(y, [0.4, 0.4, 0.2], rtol=1e-12)


def test_normalize_max_weight_no_limit_and_infeasible() -> None:
    x = np.array([3.0, 0.0, 1.0])
    y, ok = _norm(x, 1.0)
    assert ok
    np.testing.assert_allclose(y, [0.75, 0.0, 0.25])
    y, ok = _norm(x, 0.4)  # two positive entries cannot both be <= 0.4
    assert not ok
    np.testing.assert_allclose(y, [0.5, 0.0, 0.5])
    y, ok = _norm(x, 0.5)  # exactly attainable
    assert ok
    np.testing.assert_allclose(y, [0.5, 0.0, 0.5])


def test_normalize_max_weight_agrees_with_sdk() -> None:
    rng = np.random.default_rng(7)
    for limit in (0.01, 0.02, 0.05, 0.1, 0.3):
        for _ in range(20):
            x = rng.random(200) ** 3 + 1e-3
            y, ok = _norm(x, limit)
            assert ok
            np.testing.assert_allclose(y, _sdk_normalize_max_weight(x, limit), atol=2e-6)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e6)), min_size=1, max_size=60),
    st.floats(0.005, 1.0),
)
def test_normalize_max_weight_properties(values: list[float], limit: float) -> None:
    x = np.asarray(values)
    y, ok = _norm(x, limit)
    pos = x > 0
    k = int(pos.sum())
    assert (y[~pos] == 0).all()  # zeros stay zero
    if k == 0:
        assert (y == 0).all() and ok
        return
    assert y.sum() == pytest.approx(1.0, abs=1e-9)
    assert (y >= 0).all()
    if k * limit > 1.0:
        assert ok
        assert y.max() <= limit * (1 + 1e-9)
    else:
        np.testing.assert_allclose(y[pos], 1.0 / k)
    # order kept; ratios of uncapped entries kept
    order = np.argsort(x[pos], kind="stable")
    assert (np.diff(y[pos][order]) >= -1e-15).all()
    top = y.max()
    unc = pos & (y < top * (1 - 1e-9))
    if unc.sum() >= 2:
        i, j = np.flatnonzero(unc)[:2]
        assert y[i] / y[j] == pytest.approx(x[i] / x[j], rel=1e-9)


def test_quantize_u16_rounds_half_to_even_like_python() -> None:
    x = np.array([1.0, 0.5 / U16, 1.5 / U16, 2.5 / U16, 0.0, 0.25])
    out = np.zeros(x.size, dtype=np.int64)
    quantize_u16(x, out)
    expected = [round(v / x.max() * U16) for v in x]
    assert out.tolist() == expected
    assert out.tolist()[:4] == [65535, 0, 2, 2]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1e3)), min_size=2, max_size=256),
    st.integers(100, U16),
)
def test_weights_row_u16_is_accepted_by_the_chain(values: list[float], limit: int) -> None:
    x = np.asarray(values)
    out = np.zeros(x.size, dtype=np.uint16)
    scratch = np.zeros(x.size)
    code = weights_row_u16(x, limit, out, scratch)
    k = int((x > 0).sum())
    if k == 0:
        assert (out == 0).all() and code == SET_WEIGHTS_OK
        return
    assert out.max() == U16  # stored rows are max-upscaled
    assert (out[x == 0] == 0).all()
    if k * limit > U16 * 1.01:  # attainable with room for u16 rounding
        assert code == SET_WEIGHTS_OK
    if code == SET_WEIGHTS_OK:
        assert is_max_weight_limited(out, limit)
        up = out.astype(np.int64)
        max_upscale_u16(up, up)
        assert (up == out).all()
    else:
        assert code == MAX_WEIGHT_EXCEEDED


# ------------------------------------------------------------------------- extrinsic checks
def _subnet(n_filled: int = 5, uids: int = 8) -> NeuronState:
    s = NeuronState.empty(1, 1, uids)
    i = s.ints[0, 0]
    i[NI.HOTKEY, :n_filled] = np.arange(100, 100 + n_filled)
    i[NI.COLDKEY, :n_filled] = np.arange(200, 200 + n_filled)
    i[NI.ALPHA_STAKE, :n_filled] = 1_000
    i[NI.REGISTERED_AT, :n_filled] = 1
    i[NI.LAST_UPDATE, :n_filled] = 1
    s.permit[0, 0, 0] = True
    return s


def _check(s: NeuronState, uid: int, uids: list[int], values: list[int], *, block: int = 500,
           stake: float = 1e9, owner: int = -1, version: int = 0,
           rules: WeightRules | None = None) -> int:
    ni, _nf, permit, _w, _b = s.subnet(0, 0)
    return int(check_set_weights(ni, permit, uid, np.asarray(uids, np.int64),
                                 np.asarray(values, np.int64), block, stake, owner, version,
                                 rules or WeightRules()))


def test_set_weights_checks_in_chain_order() -> None:
    s = _subnet()
    assert _check(s, 0, [1, 2], [1, 2]) == SET_WEIGHTS_OK
    assert _check(s, 0, [1, 2], [1]) == WEIGHT_VEC_NOT_EQUAL_SIZE
    assert _check(s, 0, list(range(6)), [1] * 6) == UIDS_LENGTH_EXCEED_UIDS_IN_SUBNET
    assert _check(s, 6, [1], [1]) == HOTKEY_NOT_REGISTERED_IN_SUBNET
    r = WeightRules(stake_threshold=2_000.0)
    assert _check(s, 0, [1, 2], [1, 2], stake=1_000.0, rules=r) == NOT_ENOUGH_STAKE_TO_SET_WEIGHTS
    assert _check(s, 0, [1, 2], [1, 2], stake=1_000.0, owner=0, rules=r) == SET_WEIGHTS_OK
    r = WeightRules(network_version_key=5)
    assert _check(s, 0, [1, 2], [1, 2], version=4, rules=r) == INCORRECT_WEIGHT_VERSION_KEY
    assert _check(s, 0, [1, 2], [1, 2], version=5, rules=r) == SET_WEIGHTS_OK
    assert _check(s, 0, [1, 2], [1, 2], block=100) == SETTING_WEIGHTS_TOO_FAST  # 99 < 100
    assert _check(s, 0, [1, 2], [1, 2], block=101) == SET_WEIGHTS_OK
    assert _check(s, 0, [1, 2], [1, 2], block=50,
                  rules=WeightRules(commit_reveal=True)) == SET_WEIGHTS_OK  # reveal: no limit
    s.ints[0, 0, NI.LAST_UPDATE, 0] = 0  # never set: no rate limit
    assert _check(s, 0, [1, 2], [1, 2], block=3) == SET_WEIGHTS_OK
    assert _check(s, 1, [2, 3], [1, 1]) == NEURON_NO_VALIDATOR_PERMIT
    assert _check(s, 1, [1], [7]) == SET_WEIGHTS_OK  # single self-weight needs no permit
    assert _check(s, 1, [2, 3], [1, 1], owner=1) == SET_WEIGHTS_OK  # owner acts as validator
    assert _check(s, 0, [1, 1], [1, 2]) == DUPLICATE_UIDS
    assert _check(s, 0, [1, 6], [1, 2]) == UID_VEC_CONTAIN_INVALID_ONE
    r = WeightRules(min_allowed_weights=3)
    assert _check(s, 0, [1, 2], [1, 2], rules=r) == WEIGHT_VEC_LENGTH_IS_LOW
    assert _check(s, 0, [1, 2, 3], [1, 2, 3], rules=r) == SET_WEIGHTS_OK
    assert _check(s, 0, [0], [1], rules=r) == SET_WEIGHTS_OK  # self-weight exempt
    r = WeightRules(min_allowed_weights=64)  # min(MinAllowedWeights, SubnetworkN) = 5
    assert _check(s, 0, [0, 1, 2, 3, 4], [1] * 5, rules=r) == SET_WEIGHTS_OK


def test_max_weight_limit_checked_after_upscaling() -> None:
    s = _subnet()
    r = WeightRules(max_weight_limit=U16 // 2)  # 0.49999
    assert _check(s, 0, [1, 2], [5, 5], rules=r) == MAX_WEIGHT_EXCEEDED  # 0.5 each
    assert _check(s, 0, [1, 2, 3], [5, 5, 1], rules=r) == SET_WEIGHTS_OK
    r = WeightRules(max_weight_limit=U16 // 2 + 1)
    assert _check(s, 0, [1, 2], [5, 5], rules=r) == SET_WEIGHTS_OK
    # test_max_weight_limited_allow_self_weights_to_exceed_max_weight_limit
    assert _check(s, 1, [1], [0], rules=WeightRules(max_weight_limit=0)) == SET_WEIGHTS_OK


def test_set_weights_stores_max_upscaled_row_and_last_update() -> None:
    s = _subnet()
    ni, _nf, permit, w, _b = s.subnet(0, 0)
    w[0, :] = 9  # previous row replaced entirely
    code = set_weights(ni, permit, w, 0, np.array([3, 1]), np.array([1, 3]), 700, 1e9, -1, 0,
                       WeightRules())
    assert code == SET_WEIGHTS_OK
    assert w[0].tolist() == [0, 65535, 0, 21845, 0, 0, 0, 0]
    assert ni[NI.LAST_UPDATE, 0] == 700
    code = set_weights(ni, permit, w, 0, np.array([2]), np.array([1]), 750, 1e9, -1, 0,
                       WeightRules())
    assert code == SETTING_WEIGHTS_TOO_FAST
    assert w[0].tolist() == [0, 65535, 0, 21845, 0, 0, 0, 0]  # unchanged on failure
    code = set_weights(ni, permit, w, 0, np.array([2]), np.array([1]), 750, 1e9, -1, 0,
                       WeightRules(commit_reveal=True))
    assert code == SET_WEIGHTS_OK
    assert w[0, 2] == 65535 and ni[NI.LAST_UPDATE, 0] == 700  # reveal keeps last_update


def test_dense_and_sparse_submissions_agree() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        s1, s2 = _subnet(7, 8), _subnet(7, 8)
        row = np.zeros(8, dtype=np.int64)
        k = int(rng.integers(0, 8))
        idx = rng.choice(8, size=k, replace=False)
        row[idx] = rng.integers(1, U16 + 1, size=k)
        uid = int(rng.integers(0, 8))
        rules = WeightRules(min_allowed_weights=int(rng.integers(0, 4)),
                            max_weight_limit=int(rng.integers(20_000, U16 + 1)))
        a = s1.subnet(0, 0)
        b = s2.subnet(0, 0)
        nz = np.flatnonzero(row)
        c1 = set_weights(a.ints, a.permit, a.weights, uid, nz, row[nz], 900, 1e9, -1, 0, rules)
        c2 = set_weights_dense(b.ints, b.permit, b.weights, uid, row, 900, 1e9, -1, 0, rules)
        assert c1 == c2, (row, uid)
        assert (a.weights == b.weights).all() and (a.ints == b.ints).all()


def test_apply_weights_wrapper_raises_chain_error() -> None:
    s = _subnet()
    apply_weights(s, 0, 0, 0, [1, 2], [10, 20], block=500)
    assert s.weights[0, 0, 0, 2] == U16
    with pytest.raises(WeightsRejected, match="SettingWeightsTooFast") as e:
        apply_weights(s, 0, 0, 0, [1, 2], [10, 20], block=550)
    assert e.value.reason == "SettingWeightsTooFast"
    with pytest.raises(WeightsRejected, match="NotEnoughStakeToSetWeights"):
        apply_weights(s, 0, 0, 0, [1], [1], block=900, rules=WeightRules(stake_threshold=1e6))
    assert error_name(MAX_WEIGHT_EXCEEDED) == "MaxWeightExceeded"
