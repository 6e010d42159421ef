"""Injection terms and coinbase: spec 12.4 vectors S2-S6 through the block kernel."""

from __future__ import annotations

import pytest

from dtaosim.chain.engine import run_blocks
from dtaosim.chain.injection import (
    CAP_ALPHA_EMISSION,
    CAP_BLOCK_EMISSION,
    CAP_ROOT_PROP,
    LAUNCH,
    SUBSIDY,
    root_proportion,
    subnet_terms,
)
from dtaosim.chain.presets import get_mechanism
from dtaosim.state.chain_state import GI

from .conftest import make_state

HEAD = get_mechanism("price-burn-2026-06")
BIG_ROOT = 10**15  # root proportion ~ 1 against ~1e6 RAO of alpha


def head_with_emission(e: int):
    return HEAD.with_(default_block_emission=e, tao_weight=1.0)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_coinbase_alpha_issuance_base_s2(backend: str) -> None:
    s = make_state(tao=[10**6, 10**6], alpha=[10**6, 10**6], root_stake=BIG_ROOT,
                   tempo=0)
    out = run_blocks(s, head_with_emission(10**6), 1, backend=backend)
    assert list(out.alpha_in[0]) == [1_500_000, 1_500_000]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_coinbase_alpha_issuance_different_s3(backend: str) -> None:
    s = make_state(tao=[10**6, 2 * 10**6], alpha=[10**6, 10**6], ema=[1.0, 2.0],
                   root_stake=BIG_ROOT, tempo=0)
    out = run_blocks(s, head_with_emission(10**6), 1, backend=backend)
    assert list(out.alpha_in[0]) == [1_333_333, 1_333_333]
    assert list(out.last_tao_in[0]) == [333_333, 666_666]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_coinbase_tao_issuance_base_s4(backend: str) -> None:
    # price 2 keeps E/p below the root-proportion cap (the chain test injects E directly)
    s = make_state(tao=[2 * 10**12], alpha=[10**12], root_stake=BIG_ROOT,
                   tempo=0)
    out = run_blocks(s, head_with_emission(1_234_567), 1, backend=backend)
    assert out.tao_reserve[0, 0] - s.tao_reserve[0, 0] == 1_234_567
    assert out.total_issuance[0] - s.total_issuance[0] == 1_234_567
    assert out.gints[0, GI.RECYCLED_TAO] == 0


def test_coinbase_subnet_terms_with_alpha_in_lte_alpha_emission_s5() -> None:
    rho = root_proportion(1e15, 1.0, 2e15)
    tao_in, alpha_in, excess = subnet_terms(CAP_ROOT_PROP, 34_566_756.0, 1.0, 1e9, rho, 1e9)
    assert (tao_in, alpha_in, excess) == (34_566_756.0, 34_566_756.0, 0.0)


def test_get_subnet_terms_alpha_emissions_cap_s6() -> None:
    rho = root_proportion(1e18, 1.0, 2e15)
    assert rho == pytest.approx(1.0, abs=0.01)
    tao_in, alpha_in, excess = subnet_terms(CAP_ROOT_PROP, 1e8, 1.0, 1e9, rho, 1e9)
    assert alpha_in == 1e8 and excess == 0.0
    tao_in, alpha_in, excess = subnet_terms(CAP_ROOT_PROP, 1e10, 1.0, 1e9, rho, 1e9)
    assert alpha_in == pytest.approx(rho * 1e9)
    assert tao_in == pytest.approx(rho * 1e9)
    assert excess == pytest.approx(1e10 - rho * 1e9)


def test_historical_injection_rules() -> None:
    # launch: tao_in is the full E even when alpha_in is capped; no excess
    assert subnet_terms(LAUNCH, 1e9, 0.01, 1e9, 0.5, 1e9) == (1e9, 1e9, 0.0)
    assert subnet_terms(LAUNCH, 1e9, 0.0, 1e9, 0.5, 1e9) == (1e9, 1e9, 0.0)
    # subsidy: price below the emission share -> tao_in = p x block emission, rest buys alpha
    tao_in, alpha_in, excess = subnet_terms(SUBSIDY, 0.1e9, 0.05, 1e9, 0.5, 1e9)
    assert (tao_in, alpha_in) == (pytest.approx(0.05e9), 1e9)
    assert excess == pytest.approx(0.05e9)
    assert subnet_terms(SUBSIDY, 0.01e9, 0.05, 1e9, 0.5, 1e9)[2] == 0.0
    # caps
    assert subnet_terms(CAP_ALPHA_EMISSION, 1e9, 0.5, 1e9, 0.5, 1e9)[1] == 1e9
    assert subnet_terms(CAP_BLOCK_EMISSION, 1e9, 0.5, 2e9, 0.5, 0.5e9)[1] == 0.5e9


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_capped_subnet_chain_buys_and_keeps_protocol_alpha(backend: str) -> None:
    # price 0.001 TAO/alpha, root proportion ~0 -> alpha_in capped at ~0, excess buys alpha
    s = make_state(tao=[10**12], alpha=[10**15], root_stake=0, tempo=0)
    out = run_blocks(s, HEAD, 10, backend=backend)
    assert out.cum_tao_in[0, 0] == 0
    assert out.cum_excess_tao[0, 0] == 10 * 10**9  # the whole 1 TAO/block buys alpha
    assert out.protocol_alpha[0, 0] == out.cum_chain_bought[0, 0] > 0
