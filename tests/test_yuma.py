"""Yuma consensus epoch (spec 6): chain vectors Y1-Y8 and properties."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from dtaosim.chain.yuma import (
    YumaResult,
    last_tempo_block,
    yuma_epoch,
    yuma_epoch_numpy,
    yuma_scratch,
    yuma_subnet,
)
from dtaosim.chain.yuma.intrinsics import _EXP_CONSTS, _exp, _fma

IMPLS = [yuma_epoch_numpy, yuma_epoch]


def _run(impl: Any, **kw: Any) -> YumaResult:
    return impl(**kw)


# ------------------------------------------------------------------------------------------
# chain vectors (spec 12.6), mock constants (12.0): tempo 1, no owner uid, tao weight 0
# ------------------------------------------------------------------------------------------

def _test_bonds_epochs(impl: Any, fixed_point: bool) -> list[YumaResult]:
    """``tests/epoch.rs::test_bonds``: 4 validators (stake 1..4) weight 4 servers."""
    n = 8
    stakes = np.array([[1, 2, 3, 4, 0, 0, 0, 0]], dtype=float)
    w = np.zeros((1, n, n), dtype=np.uint16)
    w[0, :4, 4:] = [16383, 32767, 49149, 65535]  # u16::MAX/4, /2, (/4)*3, MAX
    bonds = np.zeros((1, n, n), dtype=np.uint16)
    permit = np.array([[1, 1, 1, 1, 0, 0, 0, 0]], dtype=bool)  # from the first (empty) epoch
    last_update = np.array([[2, 2, 2, 2, 0, 0, 0, 0]])
    out = []
    for epoch, blk in ((1, 2), (2, 3), (3, 4)):
        if epoch == 2:  # uid 0 switches to a self-weight only
            w[0, 0] = 0
            w[0, 0, 0] = 65535
        if epoch == 3:  # uid 1 too
            w[0, 1] = 0
            w[0, 1, 1] = 65535
        r = _run(impl, alpha_stake=stakes, weights=w, bonds=bonds, validator_permit=permit,
                 last_update=last_update, block_at_registration=np.zeros((1, n), dtype=int),
                 block=blk, emission=1_000_000_000, kappa=32767, bonds_penalty=65535,
                 bonds_moving_average=900_000, yuma3=False, max_allowed_validators=n,
                 last_tempo=last_tempo_block(0, blk, 1), fixed_point=fixed_point)
        bonds, permit = r.bonds, r.validator_permit
        out.append(r)
    return out


@pytest.mark.parametrize("fixed_point", [False, True])
@pytest.mark.parametrize("impl", IMPLS)
def test_bonds(impl: Any, fixed_point: bool) -> None:
    """Y1-Y4."""
    r1, r2, r3 = _test_bonds_epochs(impl, fixed_point)
    # Y1
    assert r1.bonds[0, :4, 4].tolist() == [16383, 32767, 49151, 65535]
    np.testing.assert_allclose(r1.dividends[0, :4], [0.1, 0.2, 0.3, 0.4], atol=1e-6)
    np.testing.assert_allclose(r1.incentive[0, 4:],
                               [0.09999756, 0.20000122, 0.29999268, 0.40000855], atol=1e-8)
    # Y2 (the chain's logged combined emission)
    y2 = [49_999_998, 99_999_999, 150_000_000, 200_000_001,
          49_998_779, 100_000_610, 149_996_337, 200_004_272]
    if fixed_point:
        assert r1.emission[0].tolist() == y2
        assert (r1.server_emission + r1.validator_emission)[0].tolist() == y2
    else:
        assert np.abs(r1.emission[0] - y2).max() <= 2
    # Y3
    assert r2.bonds[0, :4, 4].tolist() == [14582, 32767, 49151, 65535]
    np.testing.assert_allclose(r2.dividends[0, :4], [0.0900, 0.2022, 0.3033, 0.4044], atol=1e-4)
    # Y4
    assert r3.bonds[0, 0, 4] == 12603
    assert r3.bonds[0, 1, 4] == 28321


@pytest.mark.parametrize("impl", IMPLS)
def test_10_graph(impl: Any) -> None:
    """Y5: 10 UIDs, stake 1 each, self-weights only, no permits yet: stake-proportional
    emission, ``1/10`` in I32F32 floors to 99 999 999 RAO (float64 gives 10**8)."""
    n = 10
    w = np.zeros((1, n, n), dtype=np.uint16)
    w[0][np.arange(n), np.arange(n)] = 65535
    kw = dict(alpha_stake=np.ones((1, n)), weights=w, bonds=np.zeros((1, n, n), np.uint16),
              validator_permit=np.zeros((1, n), bool), last_update=np.ones((1, n), int),
              block_at_registration=np.zeros((1, n), int), block=1,
              emission=1_000_000_000, yuma3=False)
    fx = _run(impl, **kw, fixed_point=True)
    for r in (fx, _run(impl, **kw)):
        assert not r.incentive.any() and not r.dividends.any() and not r.consensus.any()
        assert not r.server_emission.any()
    assert fx.emission[0].tolist() == [99_999_999] * n
    assert fx.validator_emission[0].tolist() == [99_999_999] * n
    assert _run(impl, **kw).validator_emission[0].tolist() == [100_000_000] * n


Y3_TARGET_BONDS = [  # [bond to uid3, bond to uid4] per validator A, B, C
    [[0.1013, 0.0], [0.1013, 0.0], [0.1013, 0.0]],
    [[0.0908, 0.1013], [0.3697, 0.0], [0.3697, 0.0]],
    [[0.0815, 0.1924], [0.3170, 0.1013], [0.5580, 0.0]],
    [[0.0731, 0.2742], [0.2765, 0.1924], [0.4306, 0.1013]],
    [[0.0656, 0.3478], [0.2435, 0.2742], [0.3589, 0.1924]],
    [[0.0588, 0.4139], [0.2157, 0.3478], [0.3089, 0.2742]],
]
Y3_TARGET_DIVIDENDS = [
    [0.8000, 0.1000, 0.1000], [1.0000, 0.0000, 0.0000], [0.9382, 0.0618, 0.0000],
    [0.8819, 0.0773, 0.0407], [0.8564, 0.0844, 0.0592], [0.8418, 0.0884, 0.0697],
]


@pytest.mark.parametrize("fixed_point", [False, True])
@pytest.mark.parametrize("impl", IMPLS)
def test_yuma_3_kappa_moves_first(impl: Any, fixed_point: bool) -> None:
    """Y6-Y8 (and the chain test's later epochs): Yuma 3 with liquid alpha (0.1, 0.3)."""
    n = 5
    stakes = np.array([[8, 1, 1, 0, 0]], dtype=float)
    bonds = np.zeros((1, n, n), dtype=np.uint16)
    permit = np.array([[1, 1, 1, 0, 0]], dtype=bool)  # from the set-up epoch (top-3 stake)
    big = 65535
    plan = [[[big, 0]] * 3, [[0, big], [big, 0], [big, 0]], [[0, big], [0, big], [big, 0]],
            [[0, big]] * 3, None, None]
    w = np.zeros((1, n, n), dtype=np.uint16)
    present = np.zeros((1, n, n), dtype=bool)  # set_weights stores the explicit zeros
    for epoch, rows in enumerate(plan):
        blk = 3 + epoch
        if rows is not None:
            for v in range(3):
                w[0, v, 3:] = rows[v]
                present[0, v, 3:] = True
        r = _run(impl, alpha_stake=stakes, weights=w, bonds=bonds, validator_permit=permit,
                 last_update=np.array([[blk] * 3 + [0, 0]]),
                 block_at_registration=np.ones((1, n), dtype=int), block=blk,
                 emission=1_000_000_000, kappa=32767, bonds_penalty=0,
                 bonds_moving_average=975_000, liquid_alpha=True,
                 alpha_low=6553, alpha_high=19660,  # set_alpha_values_32(0.1, 0.3)
                 alpha_sigmoid_steepness=1000, yuma3=True, max_allowed_validators=3,
                 last_tempo=last_tempo_block(0, blk, 1), weights_present=present,
                 fixed_point=fixed_point)
        bonds, permit = r.bonds, r.validator_permit
        np.testing.assert_allclose(bonds[0, :3, 3:] / 65535, Y3_TARGET_BONDS[epoch], atol=1e-3)
        np.testing.assert_allclose(r.dividends[0, :3], Y3_TARGET_DIVIDENDS[epoch], atol=1e-3)


def test_sparse_quirk_drops_absent_bonds() -> None:
    """Liquid alpha: a bond whose weight entry is absent is dropped; an explicit zero decays."""
    n = 4
    w = np.zeros((1, n, n), dtype=np.uint16)
    w[0, 0, 2] = 65535  # validator 0 -> uid 2 only
    bonds = np.zeros((1, n, n), dtype=np.uint16)
    bonds[0, 0, 3] = 30000  # old bond to uid 3
    kw = dict(alpha_stake=np.array([[1.0, 0, 0, 0]]), weights=w, bonds=bonds,
              validator_permit=np.array([[1, 0, 0, 0]], bool), last_update=np.full((1, n), 10),
              block_at_registration=np.zeros((1, n), int), block=10, emission=10**9,
              liquid_alpha=True, yuma3=True, last_tempo=5)
    present = np.zeros((1, n, n), bool)
    present[0, 0, 2:] = True
    for impl in IMPLS:
        assert _run(impl, **kw).bonds[0, 0, 3] == 0
        assert 0 < _run(impl, **kw, weights_present=present).bonds[0, 0, 3] < 30000


# ------------------------------------------------------------------------------------------
# random subnets and properties
# ------------------------------------------------------------------------------------------

def _random_batch(seed: int, nb: int, n: int, k: int, yuma3: Any = None,
                  liquid: Any = None) -> dict[str, Any]:
    """Random subnets honouring the storage invariant (bond rows only for permit holders)."""
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0, 1e12, (nb, n)) * (rng.random((nb, n)) < 0.8)
    root = rng.uniform(0, 1e12, (nb, n)) * (rng.random((nb, n)) < 0.2)
    permit = rng.random((nb, n)) < min(1.0, k / n)
    w = (rng.integers(0, 65536, (nb, n, n)) * (rng.random((nb, n, n)) < 0.6)).astype(np.uint16)
    bonds = rng.integers(0, 65536, (nb, n, n)).astype(np.uint16) * permit[:, :, None]
    uid_mask = np.ones((nb, n), bool)
    for b in range(nb):
        uid_mask[b, rng.integers(max(1, n // 2), n + 1):] = False
    return dict(
        alpha_stake=alpha, root_stake=root, tao_weight=rng.uniform(0, 1, nb), weights=w,
        bonds=bonds.astype(np.uint16), validator_permit=permit,
        last_update=rng.integers(900, 1000, (nb, n)),
        block_at_registration=rng.integers(0, 1000, (nb, n)), block=1000 + rng.integers(0, 50),
        activity_cutoff=rng.integers(10, 200, nb), emission=rng.integers(0, 10**10, nb),
        last_tempo=rng.integers(800, 1000, nb), kappa=rng.integers(0, 65536, nb),
        bonds_penalty=rng.choice([0, 65535, 30000], nb),
        bonds_moving_average=rng.integers(0, 1_000_001, nb),
        liquid_alpha=rng.random(nb) < 0.5 if liquid is None else liquid,
        yuma3=rng.random(nb) < 0.5 if yuma3 is None else yuma3,
        max_allowed_validators=k, stake_threshold=rng.choice([0, 1e11], nb),
        owner_uid=rng.integers(-1, n, nb), uid_mask=uid_mask)


def _assert_same(r1: YumaResult, r2: YumaResult) -> None:
    for f in ("incentive", "dividends", "consensus", "validator_trust", "stake",
              "active_stake"):
        np.testing.assert_allclose(getattr(r1, f), getattr(r2, f), atol=1e-12, err_msg=f)
    np.testing.assert_array_equal(r1.validator_permit, r2.validator_permit)
    for f in ("bonds", "server_emission", "validator_emission", "emission"):
        d = np.abs(getattr(r1, f).astype(np.int64) - getattr(r2, f).astype(np.int64))
        assert d.max(initial=0) <= 1, f


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 24), k=st.integers(0, 12),
       explicit_zeros=st.booleans())
def test_compiled_matches_numpy(seed: int, n: int, k: int, explicit_zeros: bool) -> None:
    kw = _random_batch(seed, 4, n, k)
    if explicit_zeros:  # some stored zero weights (which keep their bonds under liquid alpha)
        rng = np.random.default_rng(seed)
        kw["weights_present"] = (kw["weights"] > 0) | (rng.random(kw["weights"].shape) < 0.3)
    _assert_same(yuma_epoch_numpy(**kw), yuma_epoch(**kw))


def test_batch_equals_each_subnet_alone() -> None:
    kw = _random_batch(7, 6, 16, 5)
    for impl in IMPLS:
        whole = impl(**kw)
        for b in range(6):
            one = {k: (v[b:b + 1] if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
                   for k, v in kw.items()}
            alone = impl(**one)
            for f in YumaResult._fields:
                np.testing.assert_array_equal(getattr(whole, f)[b:b + 1], getattr(alone, f),
                                              err_msg=f)


def test_fixed_point_close_to_float() -> None:
    kw = _random_batch(3, 3, 10, 4)
    rf, rx = yuma_epoch_numpy(**kw), yuma_epoch_numpy(**kw, fixed_point=True)
    for f in ("incentive", "dividends", "consensus", "stake"):
        np.testing.assert_allclose(getattr(rf, f), getattr(rx, f), atol=1e-6, err_msg=f)


def _masked_normalised_weights(kw: dict[str, Any], p_old: np.ndarray) -> np.ndarray:
    w = kw["weights"].astype(float)
    n = p_old.shape[1]
    valid = kw["uid_mask"]
    own = np.asarray(kw["owner_uid"])
    keep = valid[:, :, None] & valid[:, None, :] & p_old[:, :, None]
    eye = np.eye(n, dtype=bool)[None] & (np.arange(n)[None, :] != own[:, None])[:, :, None]
    keep &= ~eye
    keep &= ~(kw["last_update"][:, :, None] <= kw["block_at_registration"][:, None, :])
    w = np.where(keep, w, 0.0)
    s = w.sum(axis=2, keepdims=True)
    return w / np.where(s == 0, 1, s)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 20), k=st.integers(1, 10))
def test_properties(seed: int, n: int, k: int) -> None:
    kw = _random_batch(seed, 3, n, k)
    r = yuma_epoch(**kw)
    nb = 3
    valid = kw["uid_mask"]
    own = np.asarray(kw["owner_uid"])
    is_owner = (np.arange(n)[None, :] == own[:, None]) & valid
    # permits: top-k of the stake among non-zero entries, lower uid loses ties, owner forced
    for b in range(nb):
        s = r.stake[b]
        idx = [i for i in range(n) if valid[b, i]]
        if len(idx) < k:
            expect = {i for i in idx if s[i] != 0}
        else:
            order = sorted(idx, key=lambda i: (s[i], i))
            expect = {i for i in order[len(idx) - k:] if s[i] != 0}
        expect |= {i for i in range(n) if is_owner[b, i]}
        assert set(np.flatnonzero(r.validator_permit[b])) == expect
    # incentive is a distribution (or all zero)
    tot = r.incentive.sum(axis=1)
    assert np.all(np.isclose(tot, 1.0) | (tot == 0.0))
    # clipping: trust = sum_j min(W_ij, C_j) <= sum_j W_ij
    p_old = (kw["validator_permit"] & valid) | is_owner
    w = _masked_normalised_weights(kw, p_old)
    wc = np.minimum(w, r.consensus[:, None, :])
    assert np.all(wc <= w)
    np.testing.assert_allclose(r.validator_trust, wc.sum(axis=2), atol=1e-12)
    assert np.all(r.validator_trust <= w.sum(axis=2) + 1e-12)
    # emissions: each floor (server and validator part of every uid) loses less than one RAO
    e = np.asarray(kw["emission"])
    paid = (r.server_emission + r.validator_emission).sum(axis=1)
    nothing = r.stake.sum(axis=1) == 0  # no stake at all: S x E pays nothing
    assert np.all(paid <= e) and np.all((paid > e - 2 * n) | nothing)
    # dividends follow bonds x incentive (x active stake for Yuma 3): in a second epoch with
    # stable permits (P_old = P_new) every bond row that paid is stored
    r = yuma_epoch(**{**kw, "validator_permit": r.validator_permit, "bonds": r.bonds})
    bonds = r.bonds.astype(float)
    for b in range(nb):
        if r.incentive[b].sum() == 0 or r.dividends[b].sum() == 0:
            continue
        rows = r.validator_permit[b]
        bb = np.where(rows[:, None], bonds[b], 0.0)
        cs = bb.sum(axis=0)
        d = (bb / np.where(cs == 0, 1, cs)) @ r.incentive[b]
        if kw["yuma3"][b]:
            d = d * r.active_stake[b]
        if d.sum() > 0:
            np.testing.assert_allclose(r.dividends[b], d / d.sum(), atol=2e-3)


@pytest.mark.parametrize("impl", IMPLS)
def test_incentive_sums_to_one_with_a_majority_validator(impl: Any) -> None:
    n = 6
    w = np.zeros((1, n, n), np.uint16)
    w[0, 0, 3:] = [100, 200, 300]
    w[0, 1, 1] = 65535  # a self-weight only: masked
    r = impl(alpha_stake=np.array([[6.0, 4.0, 0, 0, 0, 0]]), weights=w,
             bonds=np.zeros((1, n, n), np.uint16), validator_permit=np.array([[1, 1, 0, 0, 0, 0]],
                                                                             bool),
             last_update=np.full((1, n), 10), block_at_registration=np.zeros((1, n), int),
             block=10, emission=10**9)
    assert r.incentive.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(r.incentive[0, 3:], [1 / 6, 2 / 6, 3 / 6])
    assert r.dividends[0, 0] == pytest.approx(1.0)


def test_no_weights_pays_active_stake() -> None:
    """Sum I + D = 0: validators get A x E (S x E when nobody is active and permitted)."""
    n = 4
    kw = dict(alpha_stake=np.array([[1.0, 3.0, 0, 0]]), weights=np.zeros((1, n, n), np.uint16),
              bonds=np.zeros((1, n, n), np.uint16), last_update=np.full((1, n), 10),
              block_at_registration=np.zeros((1, n), int), block=10, emission=1000)
    for impl in IMPLS:
        r = impl(**kw, validator_permit=np.array([[0, 1, 0, 0]], bool))
        assert r.validator_emission[0].tolist() == [0, 1000, 0, 0]
        r = impl(**kw, validator_permit=np.zeros((1, n), bool))
        assert r.validator_emission[0].tolist() == [250, 750, 0, 0]


def test_bonds_inplace() -> None:
    kw = _random_batch(11, 3, 12, 4)
    ref = yuma_epoch(**kw)
    bonds = kw["bonds"].copy()
    r = yuma_epoch(**{**kw, "bonds": bonds}, bonds_inplace=True)
    assert r.bonds is bonds
    np.testing.assert_array_equal(bonds, ref.bonds)


# ------------------------------------------------------------------------------------------
# per-subnet compiled entry point (for the engine's block kernel)
# ------------------------------------------------------------------------------------------

@njit  # no cache: numba does not invalidate it when chain/yuma/ changes
def _subnets_via_entry_point(alpha, root, tao_weight, permit, weights, bonds, last_update, reg,
                             block, cutoff, last_tempo, kappa, penalty, bma, liquid, alpha_low,
                             alpha_high, steepness, yuma3, max_validators, threshold, owner,
                             emission, uid_mask, present, commit_block, outs, scratch):
    """What the engine does: one ``yuma_subnet`` call per subnet from compiled code."""
    inc, div, cons, vt, stake, active, pnew, server, validator, emis = outs
    no_present = np.zeros((0, 0), dtype=np.bool_)
    no_commit = np.zeros(0, dtype=np.int64)
    for b in range(alpha.shape[0]):
        pres = present[b] if present.shape[0] > 0 else no_present
        cb = commit_block[b] if commit_block.shape[0] > 0 else no_commit
        yuma_subnet(alpha[b], root[b], permit[b], weights[b], bonds[b], last_update[b], reg[b],
                    uid_mask[b], owner[b], block[b], emission[b], tao_weight[b], cutoff[b],
                    last_tempo[b], kappa[b], penalty[b], bma[b], liquid[b], alpha_low[b],
                    alpha_high[b], steepness[b], yuma3[b], max_validators[b], threshold[b],
                    pres, cb, inc[b], div[b], cons[b], vt[b], stake[b], active[b], pnew[b],
                    server[b], validator[b], emis[b], scratch)


def _run_entry_point(kw: dict[str, Any], scratch: Any = None, strided: bool = False
                     ) -> YumaResult:
    """``yuma_subnet`` over the batch from :func:`_subnets_via_entry_point`; ``strided``: every
    per-UID array and matrix passed as a non-contiguous view (another specialisation)."""
    nb, n = np.shape(kw["alpha_stake"])
    lay = _strided if strided else np.ascontiguousarray

    def vec(key: str, dtype: Any, default: Any = None) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(kw.get(key, default), dtype),
                                                    (nb,)))

    def uid(key: str, dtype: Any, default: Any = None) -> np.ndarray:
        return lay(np.broadcast_to(np.asarray(kw.get(key, default), dtype), (nb, n)))

    bonds = lay(np.array(kw["bonds"], dtype=np.uint16))  # updated in place
    outs = tuple(lay(np.zeros((nb, n), dtype=dt)) for dt in (np.float64,) * 6 + (np.bool_,)
                 + (np.int64,) * 3)
    present = kw.get("weights_present")
    present = (np.zeros((0, 0, 0), bool) if present is None
               else lay(np.broadcast_to(present, (nb, n, n))))
    commit = (np.zeros((0, 0), np.int64) if kw.get("commit_block") is None
              else uid("commit_block", np.int64))
    _subnets_via_entry_point(
        uid("alpha_stake", np.float64), uid("root_stake", np.float64, 0.0),
        vec("tao_weight", np.float64, 0.0), uid("validator_permit", np.bool_),
        lay(np.asarray(kw["weights"])), bonds, uid("last_update", np.int64),
        uid("block_at_registration", np.int64), vec("block", np.int64),
        vec("activity_cutoff", np.int64, 5000), vec("last_tempo", np.int64, 0),
        vec("kappa", np.int64, 32767), vec("bonds_penalty", np.int64, 65535),
        vec("bonds_moving_average", np.int64, 900_000), vec("liquid_alpha", np.bool_, False),
        vec("alpha_low", np.int64, 45875), vec("alpha_high", np.int64, 58982),
        vec("alpha_sigmoid_steepness", np.int64, 1000), vec("yuma3", np.bool_, True),
        vec("max_allowed_validators", np.int64, 64), vec("stake_threshold", np.float64, 0.0),
        vec("owner_uid", np.int64, -1), vec("emission", np.int64),
        uid("uid_mask", np.bool_, True), present, commit, outs,
        yuma_scratch(n) if scratch is None else scratch)
    inc, div, cons, vt, stake, active, pnew, server, validator, emis = (
        np.ascontiguousarray(o) for o in outs)
    return YumaResult(inc, div, cons, vt, stake, active, pnew, np.ascontiguousarray(bonds),
                      server, validator, emis)


def _strided(x: Any) -> np.ndarray:
    """``x`` as a non-contiguous view (every other element of a wider array along axis 1)."""
    x = np.asarray(x)
    wide = np.zeros((x.shape[0], 2 * x.shape[1], *x.shape[2:]), dtype=x.dtype)
    wide[:, ::2] = x
    return wide[:, ::2]


@pytest.mark.parametrize("mode", ["yuma3-liquid", "yuma3", "classic"])
@pytest.mark.parametrize("seed", range(6))
def test_entry_point_matches_numpy(mode: str, seed: int) -> None:
    """``yuma_subnet`` called from an ``@njit`` loop equals the NumPy reference."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    kw = _random_batch(100 + seed, 4, n, int(rng.integers(1, n + 1)), yuma3=mode != "classic",
                       liquid=mode == "yuma3-liquid")
    if seed % 2:  # stored explicit zeros and commit-reveal on some subnets
        kw["weights_present"] = (kw["weights"] > 0) | (rng.random(kw["weights"].shape) < 0.3)
        kw["commit_block"] = np.where(rng.random((4, n)) < 0.5, np.iinfo(np.int64).max,
                                      rng.integers(900, 1000, (4, n)))
    _assert_same(yuma_epoch_numpy(**kw), _run_entry_point(kw))


def test_entry_point_dense_realistic() -> None:
    """A dense 256-UID subnet (64 validators weighting every UID), a few epochs chained."""
    rng = np.random.default_rng(5)
    nb, n, k = 2, 256, 64
    alpha = rng.uniform(0, 1e9, (nb, n))
    for b in range(nb):
        alpha[b, rng.choice(n, k, replace=False)] = rng.lognormal(np.log(2e13), 1.5, k)
    score = rng.lognormal(0, 1, (nb, 1, n)) * rng.lognormal(0, 0.3, (nb, n, n))
    w = np.floor(score / score.max(axis=2, keepdims=True) * 65535).astype(np.uint16)
    for liquid, yuma3 in ((True, True), (False, True), (False, False)):
        kw: dict[str, Any] = dict(
            alpha_stake=alpha, weights=w, bonds=np.zeros((nb, n, n), np.uint16),
            validator_permit=np.zeros((nb, n), bool), last_update=np.full((nb, n), 990),
            block_at_registration=rng.integers(0, 1000, (nb, n)), block=1000,
            emission=10**11, last_tempo=700, liquid_alpha=liquid, yuma3=yuma3,
            max_allowed_validators=k, owner_uid=3)
        for _ in range(3):
            ref = yuma_epoch_numpy(**kw)
            _assert_same(ref, _run_entry_point(kw))
            kw.update(bonds=ref.bonds, validator_permit=ref.validator_permit)


def test_entry_point_scratch() -> None:
    """One scratch serves smaller subnets; too few rows raise."""
    kw = _random_batch(3, 3, 12, 5)
    big = yuma_scratch(20)
    _assert_same(yuma_epoch_numpy(**kw), _run_entry_point(kw, big))
    with pytest.raises(ValueError, match="too few rows"):
        _run_entry_point({**kw, "validator_permit": np.ones((3, 12), bool)},
                         yuma_scratch(12, max_rows=2))



@pytest.mark.parametrize("mode", ["yuma3-liquid", "yuma3", "classic"])
def test_compiled_copies_agree_bit_for_bit(mode: str) -> None:
    """Same inputs, the same bytes from three separately compiled copies of ``yuma_subnet``: the
    batched ``yuma_epoch`` (its own copy, cached), a loop compiled here (``@njit`` without
    cache) and that loop specialised for strided arrays (other vectorisation, scalar
    remainders). Fast-math made such copies round differently, which is how a warm and a cold
    numba cache gave different bytes (issue 12; ``test_determinism.py`` compares those runs);
    strict IEEE with explicit lanes and fused multiply-adds gives every copy the same bits.
    Sizes with tails (not multiples of 8 or 32) and dense rows, so that the vector paths run."""
    rng = np.random.default_rng(42)
    nb, n, k = 3, 77, 40
    kw = _random_batch(9, nb, n, k, yuma3=mode != "classic", liquid=mode == "yuma3-liquid")
    score = rng.lognormal(0, 1, (nb, 1, n)) * rng.lognormal(0, 0.3, (nb, n, n))
    kw["weights"] = np.floor(score / score.max(axis=2, keepdims=True) * 65535).astype(np.uint16)
    kw["last_update"] = np.full((nb, n), 995)
    kw["kappa"] = 32767
    batched = yuma_epoch(**kw)
    looped = _run_entry_point(kw)
    strided = _run_entry_point(kw, strided=True)
    assert batched.incentive.any() and batched.dividends.any()
    for f in YumaResult._fields:
        b = np.ascontiguousarray(getattr(batched, f))
        assert b.tobytes() == np.ascontiguousarray(getattr(looped, f)).tobytes(), f
        assert b.tobytes() == np.ascontiguousarray(getattr(strided, f)).tobytes(), f


@njit
def _fma_exp(a, b, c, x, kc, out_fma, out_exp):  # pragma: no cover - compiled
    ec = (kc[0], kc[1], kc[2], kc[3], kc[4], kc[5], kc[6], kc[7], kc[8], kc[9], kc[10],
          kc[11], kc[12])
    for i in range(a.shape[0]):
        out_fma[i] = _fma(a[i], b[i], c[i])
    for i in range(x.shape[0]):
        out_exp[i] = _exp(x[i], ec)


def test_fma_rounds_once_and_exp_is_within_two_ulp() -> None:
    """``_fma`` is the exactly rounded ``a b + c`` (a vectorised loop of it too), and the
    inlined ``exp`` of liquid alpha (explicit fused multiply-adds) is within 2 ulp of libm."""
    from fractions import Fraction

    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal(203) * 10.0 ** rng.integers(-5, 6, 203) for _ in range(3))
    a[:3], b[:3], c[:3] = 1.0 + 2.0**-30, 1.0 - 2.0**-30, -1.0  # a b + c = -2**-60 exactly
    x = np.concatenate([rng.uniform(-20, 20, 5000), rng.uniform(-700, 700, 2000),
                        [0.0, -20.0, 20.0, 1e-300, -1e-300]])
    fma, ex = np.empty_like(a), np.empty_like(x)
    _fma_exp(a, b, c, x, np.array(_EXP_CONSTS), fma, ex)
    exact = [float(Fraction(p) * Fraction(q) + Fraction(r))
             for p, q, r in zip(a, b, c, strict=True)]
    assert fma.tolist() == exact
    assert fma[0] == -(2.0**-60) and (a[0] * b[0] + c[0]) == 0.0  # unfused rounds it away
    ref = np.array([math.exp(v) for v in x])
    assert np.max(np.abs(ex - ref) / np.spacing(ref)) <= 2.0
