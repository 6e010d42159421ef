"""Wide-lane sums and dot products (``chain/summation.py``): a fixed order, written as vector
code, so that every compiled copy gives the same bits (Yuma's row sums; issue 12)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from dtaosim.chain.summation import WIDE, wide_dot, wide_lanes_reference, wide_sum


@njit
def _sum(a, n):  # pragma: no cover - compiled
    return wide_sum(a, n)


@njit
def _dot(a, b, n):  # pragma: no cover - compiled
    return wide_dot(a, b, n)


def _exact_dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(a, b, strict=True)),
                     Fraction(0)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3 * WIDE + 9), seed=st.integers(0, 2**32 - 1))
def test_wide_lanes_equal_their_definition_bit_for_bit(n: int, seed: int) -> None:
    """Compiled vector code (contiguous and strided arrays, a prefix of a longer row) equals the
    plain-Python definition of the order exactly, and is accurate."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n + 5) * 10.0 ** rng.integers(-6, 7, n + 5)
    b = rng.standard_normal(n + 5)
    s, d = wide_lanes_reference(a[:n]), wide_lanes_reference(a[:n], b[:n])
    assert _sum(a, n) == s
    assert _dot(a, b, n) == d
    sa = np.repeat(a, 3)[::3]  # the same values, strided (layout 'A')
    sb = np.repeat(b, 2)[::2]
    assert not sa.flags.c_contiguous
    assert _sum(sa, n) == s
    assert _dot(sa, sb, n) == d
    assert s == pytest.approx(math.fsum(a[:n]), rel=1e-12, abs=1e-12 * np.abs(a[:n]).sum())
    assert d == pytest.approx(_exact_dot(a[:n], b[:n]), rel=1e-12,
                              abs=1e-12 * np.abs(a[:n] * b[:n]).sum())


def test_wide_order_is_not_the_sequential_one() -> None:
    """The order is the documented one (lanes, then the tail), not a running sum: values chosen
    so that the two round differently."""
    a = np.zeros(40)
    a[0], a[32], a[1] = 1e16, 1.0, -1e16  # lane 0 holds 1e16 + 1 = 1e16; lane 1 -1e16
    a[33] = 1.0
    assert wide_lanes_reference(a) == _sum(a, 40) == 0.0
    assert math.fsum(a) == 2.0
    seq = 0.0
    for x in a:
        seq += x
    assert seq == 2.0
