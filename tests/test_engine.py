"""The block loop: compiled kernel == NumPy reference, conservation, halvings, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dtaosim.chain.engine import run_blocks
from dtaosim.chain.presets import PRESETS, get_mechanism
from dtaosim.errors import InvariantViolation
from dtaosim.state.chain_state import GI, SF, SI, ChainState

from .conftest import make_state

HEAD = get_mechanism("price-burn-2026-06")


def random_network(runs: int = 2, n: int = 24, seed: int = 0) -> ChainState:
    rng = np.random.default_rng(seed)
    tao = (rng.lognormal(np.log(7000), 1.2, n) * 1e9).astype(np.int64)
    price = rng.lognormal(np.log(0.01), 1.0, n)
    alpha = (tao / price).astype(np.int64)
    out = (rng.uniform(0.5, 3.0, n) * 1e15).astype(np.int64)
    s = make_state(runs, list(tao), list(alpha), block=9_000_000, ema=list(np.minimum(price, 1)),
                   root_stake=4_000_000 * 10**9, issuance=11_500_000 * 10**9,
                   alpha_out=list(out))
    s.floats[:, :, SF.MINER_BURN_FRACTION] = rng.uniform(0, 1, n) * (rng.uniform(0, 1, n) < 0.4)
    s.ints[:, :, SI.FIRST_EMISSION_BLOCK] = 5_000_000
    s.ints[:, :, SI.FLOW_ACC] = (rng.normal(0, 1e10, n)).astype(np.int64)
    s.ints[:, 3, SI.EMISSION_ENABLED] = 0
    s.ints[:, 5, SI.FIRST_EMISSION_BLOCK] = 9_000_500  # starts during the run
    s.ints[:, :, SI.BURN_FACTOR_Q32] = 4_286_697_830
    s.ints[:, :, SI.NEURON_BURN] = 20_000_000
    # the second run differs so that a mix-up between runs would show
    if runs > 1:
        s.ints[1, :, SI.TAO_RESERVE] += 10**12
        s.gints[1, GI.FREE_TAO] -= n * 10**12
    return s


@pytest.mark.parametrize("name", list(PRESETS))
def test_kernel_equals_numpy_reference(name: str) -> None:
    s = random_network()
    a = run_blocks(s, PRESETS[name], 1500, backend="numba")
    b = run_blocks(s, PRESETS[name], 1500, backend="numpy")
    assert a.block == b.block == s.block + 1500
    np.testing.assert_array_equal(a.ints, b.ints)
    np.testing.assert_array_equal(a.gints, b.gints)
    np.testing.assert_allclose(a.floats, b.floats, rtol=1e-12, atol=1e-12)
    assert (a.epoch_count > 0).all()
    assert not np.array_equal(a.ints[0], a.ints[1])


def test_run_blocks_is_pure_and_chunking_does_not_matter() -> None:
    s = random_network()
    before = s.ints.copy()
    whole = run_blocks(s, HEAD, 1000)
    np.testing.assert_array_equal(s.ints, before)
    parts = run_blocks(run_blocks(run_blocks(s, HEAD, 1), HEAD, 499), HEAD, 500)
    np.testing.assert_array_equal(whole.ints, parts.ints)
    np.testing.assert_array_equal(whole.floats, parts.floats)


def test_head_emission_split_matches_the_published_shape() -> None:
    s = random_network(runs=1)
    out = run_blocks(s, HEAD, 7200)
    alpha_out = out.cum_alpha_out.sum()

    def total(f: SI) -> int:
        return int(out.ints[:, :, f].sum())

    owner = total(SI.CUM_OWNER_CUT) + total(SI.PENDING_OWNER)
    miners = total(SI.CUM_MINER_PAID) + total(SI.CUM_MINER_BURNED) + total(SI.PENDING_SERVER)
    validators = total(SI.CUM_STAKER_PAID) + total(SI.PENDING_VALIDATOR)
    # the root proportion of the validators' half: here the sum of EMA prices is <= 1, so the
    # root-sell flag is off and root's alpha is recycled (none pending, none paid)
    root = total(SI.ALPHA_RECYCLED) + total(SI.PENDING_ROOT) + total(SI.CUM_ROOT_DIVS)
    assert total(SI.PENDING_ROOT) == total(SI.CUM_ROOT_DIVS) == 0
    assert owner / alpha_out == pytest.approx(0.18, abs=0.001)  # owner 18%
    assert miners / alpha_out == pytest.approx(0.41, abs=0.001)  # miners 41%
    assert (validators + root) / alpha_out == pytest.approx(0.41, abs=0.001)  # validators 41%
    assert 0.25 < validators / alpha_out < 0.35  # of which root took its proportion
    # every RAO of alpha_out is in exactly one part (floor dust stays undistributed)
    assert owner + miners + validators + root + total(SI.UNDISTRIBUTED_ALPHA) == alpha_out
    # TAO: every emitted RAO is injected, used for chain buys or recycled
    minted = out.gints[0, GI.MINTED_TAO]
    assert minted == 7200 * 500_000_000  # issuance above 10.5M: 0.5 TAO per block
    used = out.cum_tao_in.sum() + out.cum_excess_tao.sum()
    assert used + out.gints[0, GI.RECYCLED_TAO] == minted
    assert out.emission_enabled[0, 3] == 0 and out.cum_tao_in[0, 3] == 0
    assert out.cum_alpha_out[0, 3] == 7200 * 10**9  # disabled subnets still mint alpha_out


def test_halving_happens_during_a_run() -> None:
    s = make_state(issuance=10_500_000_000_000_000 - 10**9, tempo=0)
    out = run_blocks(s, HEAD, 3)
    assert out.gints[0, GI.MINTED_TAO] == 10**9 + 5 * 10**8 + 5 * 10**8
    # recycled TAO delays the halving: one RAO short of the threshold still pays 1 TAO
    s = make_state(issuance=10_500_000_000_000_000 - 10**9 - 1, tempo=0)
    out = run_blocks(s, HEAD, 3)
    assert out.gints[0, GI.MINTED_TAO] == 10**9 + 10**9 + 5 * 10**8


def test_invariant_violation_names_block_run_subnet_and_quantity() -> None:
    s = random_network()
    s.ints[1, 6, SI.STAKE_MINERS] += 7  # alpha appears from nowhere in run 1, subnet 7
    with pytest.raises(InvariantViolation) as e:
        run_blocks(s, HEAD, 10)
    assert (e.value.block, e.value.run, e.value.netuid) == (s.block + 1, 1, 7)
    assert "alpha_out" in str(e.value) and "block 9000001" in str(e.value)
    with pytest.raises(InvariantViolation) as e:
        run_blocks(s, HEAD, 10, backend="numpy")
    assert (e.value.run, e.value.netuid) == (1, 7)


def test_tao_leak_is_detected() -> None:
    s = random_network()
    s.gints[0, GI.FREE_TAO] += 1
    with pytest.raises(InvariantViolation, match="total_issuance"):
        run_blocks(s, HEAD, 1)
    run_blocks(s, HEAD, 5, check_invariants=False)  # can be switched off


def test_batch_of_runs_equals_runs_alone() -> None:
    s = random_network(runs=2)
    both = run_blocks(s, HEAD, 800)
    for r in range(2):
        one = ChainState(s.block, s.ints[r:r + 1].copy(), s.floats[r:r + 1].copy(),
                         s.gints[r:r + 1].copy())
        alone = run_blocks(one, HEAD, 800)
        np.testing.assert_array_equal(alone.ints[0], both.ints[r])


def test_root_alpha_is_recycled_when_sum_of_prices_is_at_most_one() -> None:
    s = random_network(runs=1)
    s.floats[:, :, SF.PRICE_EMA] = 0.01  # sum 0.24 <= 1
    out = run_blocks(s, HEAD, 1000)
    assert out.cum_root_divs.sum() == 0 and out.pending_root.sum() == 0
    assert (out.alpha_recycled.sum()) > 0


def test_launch_era_sells_root_alpha_every_block() -> None:
    s = random_network(runs=1)
    m = get_mechanism("dtao-2025-02")
    out = run_blocks(s, m, 2000)
    assert out.cum_root_sold_tao.sum() > 0
    assert out.root_stake[0] > s.root_stake[0]
    assert out.root_claimable.sum() == 0 and out.protocol_alpha.sum() == 0


def test_head_root_dividends_are_claimed_and_sold() -> None:
    s = random_network(runs=1)
    s.floats[:, :, SF.PRICE_EMA] = 0.1  # sum of EMA prices > 1: the root-sell flag is on
    out = run_blocks(s, HEAD.with_(root_claim_swap_fraction=0.25), 2000)
    assert out.root_stake[0] > s.root_stake[0]
    assert out.stake_root_kept.sum() > 0
    sold = out.cum_root_sold_tao.sum()
    assert sold == out.root_stake[0] - s.root_stake[0]


# ---------------------------------------------------------------------------------- over-spending
def test_overspent_emission_stops_the_numpy_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken injection that pays a subnet 2.5x the block reward is a violation, even with the
    checks off (it used to be taken out of free TAO, and the run went on)."""
    from dtaosim.chain import step_numpy

    s = random_network(runs=2)
    normal = run_blocks(s, HEAD, 1, backend="numpy", check_invariants=False)
    em = int(normal.gints[1, GI.MINTED_TAO] - s.gints[1, GI.MINTED_TAO])
    unspent = int(normal.gints[1, GI.RECYCLED_TAO] - s.gints[1, GI.RECYCLED_TAO])
    terms = step_numpy.subnet_terms_numpy

    def inflated(*args: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ti, ai, ex = terms(*args)
        ti = ti.copy()
        ti[1, 0] += 2.5 * em  # run 1, netuid 1
        return ti, ai, ex

    monkeypatch.setattr(step_numpy, "subnet_terms_numpy", inflated)
    for check in (True, False):
        with pytest.raises(InvariantViolation) as e:
            run_blocks(s, HEAD, 5, backend="numpy", check_invariants=check)
        assert (e.value.block, e.value.run) == (s.block + 1, 1)
        assert "over-spent" in str(e.value)
        assert f"off by {int(2.5 * em) - unspent} RAO" in str(e.value)


def test_overspent_emission_stops_the_kernel() -> None:
    """The same fault injected into the kernel's code (run as Python: NUMBA_DISABLE_JIT)."""
    code = """
import json
from dtaosim import default_network, get_mechanism
from dtaosim.chain import kernel
from dtaosim.chain.engine import run_blocks
from dtaosim.errors import InvariantViolation
from dtaosim.state.chain_state import GI
mech = get_mechanism("price-burn-2026-06")
s = default_network(runs=1, mech=mech)
normal = run_blocks(s, mech, 1, check_invariants=False)
em = int(normal.gints[0, GI.MINTED_TAO] - s.gints[0, GI.MINTED_TAO])
unspent = int(normal.gints[0, GI.RECYCLED_TAO] - s.gints[0, GI.RECYCLED_TAO])
floors, calls = kernel._floors, []
def inflated(ti, ai, ex):  # the first subnet's TAO injection gets 2.5x the block reward more
    a, b, c = floors(ti, ai, ex)
    calls.append(1)
    return (a + int(2.5 * em) if len(calls) == 1 else a), b, c
kernel._floors = inflated
try:
    run_blocks(s, mech, 3, check_invariants=False)
    print(json.dumps({"raised": False}))
except InvariantViolation as e:
    print(json.dumps({"raised": True, "block": e.block - s.block, "run": e.run,
                      "message": str(e), "expected": int(2.5 * em) - unspent}))
"""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["raised"], got
    assert (got["block"], got["run"]) == (1, 0)
    assert "over-spent" in got["message"]
    assert f"off by {got['expected']} RAO" in got["message"]
