"""Exogenous UID process helpers of ``dtaosim.agents.exogenous`` against plain NumPy references."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.agents.exogenous import _score_rows, median_u16


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 65535), min_size=1, max_size=300),
       st.sampled_from([1, 13, 256, 4096]))
def test_median_u16_is_numpys_median(values: list[int], spread: int) -> None:
    # few distinct values (ties across the radix bins) as well as many
    v = np.asarray(values, dtype=np.int64) // spread * spread
    hist = np.empty(256, np.int64)
    assert median_u16(v, v.size, hist) == np.median(v.astype(np.float64))


def _score_rows_reference(w, permit, rows, uid, owner, quality, noise, owner_share):
    """The documented rule, row by row in NumPy."""
    w = w.copy()
    for a, i in enumerate(rows):
        miners = (~permit) & (np.arange(w.shape[1]) != uid) & (w[i] > 0)
        if not miners.any() and owner_share >= 1.0:
            continue
        base = float(np.median(w[i, miners].astype(np.float64))) if miners.any() else 32767.0
        row = w[i].astype(np.float64)
        row[uid] = base * quality * noise[a]
        if owner >= 0 and owner_share < 1.0:
            row[owner] = 0.0
            row[owner] = owner_share / (1.0 - owner_share) * row.sum()
        top = row.max()
        w[i] = [math.floor(x * (65535.0 / top)) for x in row]
    return w


def test_score_rows_matches_the_numpy_reference() -> None:
    rng = np.random.default_rng(7)
    n = 256
    for owner_share, sparse in ((0.1, False), (0.0, True), (0.99, False)):
        permit = np.zeros(n, dtype=np.bool_)
        permit[rng.choice(n, 64, replace=False)] = True
        w = rng.integers(0, 65536, (n, n)).astype(np.uint16)
        if sparse:  # most miners unweighted
            w[rng.random((n, n)) < 0.9] = 0
        rows = np.flatnonzero(permit)
        noise = np.exp(0.3 * rng.standard_normal(rows.size))
        uid = int(np.flatnonzero(~permit)[5])
        want = _score_rows_reference(w, permit, rows, uid, 0, 1.3, noise, owner_share)
        got = w.copy()
        _score_rows(got, permit, rows, uid, 0, 1.3, noise, owner_share)
        np.testing.assert_array_equal(got, want)
        assert not np.array_equal(got[rows], w[rows])  # the rows were rescored


def _spread_reference(stake, permit, delta):  # type: ignore[no-untyped-def]
    """The documented rule, subnet by subnet in NumPy."""
    held = np.where(permit, stake, 0)
    tot = held.sum(axis=2)
    for r, k in zip(*np.nonzero((delta != 0) & (tot > 0)), strict=True):
        d, h, t = int(delta[r, k]), held[r, k], int(tot[r, k])
        d = max(d, -t)
        part = np.floor(h / t * d).astype(np.int64)
        part[int(np.argmax(h))] += d - int(part.sum())
        stake[r, k] += np.maximum(part, -stake[r, k])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(0, 14), st.integers(0, 15), st.integers(0, 2**32))
def test_spread_over_validators_is_the_numpy_rule(uids: int, mag: int, dmag: int,
                                                  seed: int) -> None:
    from dtaosim.agents.stake import _spread

    rng = np.random.default_rng(seed)
    stake = rng.integers(0, 10**mag + 1, (2, 5, uids)).astype(np.int64)
    stake[:, :, : uids // 2] = stake[:, :, :1]  # ties for the largest
    permit = rng.random((2, 5, uids)) < 0.5
    delta = rng.integers(-(10**dmag), 10**dmag + 1, (2, 5)).astype(np.int64)
    delta[rng.random((2, 5)) < 0.2] = 0
    want, got = stake.copy(), stake.copy()
    _spread_reference(want, permit, delta)
    _spread(got, permit, delta)
    np.testing.assert_array_equal(got, want)
