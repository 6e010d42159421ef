"""Block emission and halvings: spec 12.1 vectors E1-E6 and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtaosim.chain.emission import (
    TOTAL_SUPPLY_RAO,
    block_emission,
    emission_for_issuance,
    halving_thresholds,
    mint_tao,
)

THRESH = halving_thresholds()


@pytest.mark.parametrize(
    ("name", "issuance", "expected"),
    [
        ("E1_test_coinbase_alpha_issuance_with_cap_trigger", 0, 1_000_000_000),
        ("E2_just_below_first_halving", 10_499_999_999_999_999, 1_000_000_000),
        ("E3_first_halving", 10_500_000_000_000_000, 500_000_000),
        ("E4_second_halving", 15_750_000_000_000_000, 250_000_000),
        ("E5_third_halving", 18_375_000_000_000_000, 125_000_000),
        ("E6_test_coinbase_alpha_issuance_with_cap_trigger_and_block_emission",
         21_000_000_000_000_000, 0),
        ("E6_above_cap", 25_000_000_000_000_000, 0),
    ],
)
def test_block_emission_vectors(name: str, issuance: int, expected: int) -> None:
    assert block_emission(issuance) == expected, name
    assert emission_for_issuance(issuance, 10**9, TOTAL_SUPPLY_RAO, THRESH) == expected


def test_mint_is_capped_at_total_supply() -> None:
    assert mint_tao(TOTAL_SUPPLY_RAO - 5) == 0  # k is huge just below the cap: emission 0
    assert mint_tao(0) == 1_000_000_000


def test_thresholds_are_the_published_halving_points() -> None:
    assert list(THRESH[:4]) == [
        10_500_000_000_000_000, 15_750_000_000_000_000, 18_375_000_000_000_000,
        19_687_500_000_000_000,
    ]


@given(st.integers(0, TOTAL_SUPPLY_RAO + 10**12), st.integers(0, TOTAL_SUPPLY_RAO + 10**12))
def test_emission_monotone_non_increasing_in_issuance(a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    assert block_emission(hi) <= block_emission(lo)


@given(st.integers(1, 40), st.integers(-3, 3))
def test_compiled_equals_exact_near_every_threshold(k: int, d: int) -> None:
    issuance = int(THRESH[k - 1]) + d
    assert emission_for_issuance(issuance, 10**9, TOTAL_SUPPLY_RAO, THRESH) == block_emission(
        issuance
    )


def test_emission_halves_exactly_at_each_threshold() -> None:
    for k in range(1, 20):
        t = int(THRESH[k - 1])
        assert block_emission(t - 1) == 10**9 >> (k - 1)
        assert block_emission(t) == 10**9 >> k
    assert np.all(np.diff(THRESH[:30]) > 0)
    assert np.all(np.diff(THRESH) >= 0)
