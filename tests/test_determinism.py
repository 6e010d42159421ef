"""Same seed, same bytes: whatever numba's cache holds, however runs are batched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dtaosim.chain import numba_cache_dirs, refresh_numba_cache
from dtaosim.chain.presets import get_mechanism
from dtaosim.experiments.config import RunConfig
from dtaosim.experiments.run import initial_state, make_economy
from dtaosim.experiments.simulation import simulate

MAIN = "import sys; from dtaosim.cli.app import main; sys.argv[0] = 'dtaosim'; main()"
OUTPUTS = ("timeseries.parquet", "network.parquet", "uids.parquet", "teams.parquet")


@pytest.mark.slow
def test_same_bytes_from_a_cold_and_a_warm_numba_cache(tmp_path: Path) -> None:
    """One tiny run compiled from scratch in a fresh NUMBA_CACHE_DIR, then the same run loading
    everything from that cache: identical Parquet bytes. Before strict IEEE in Yuma, the warm
    run called numba's copies of the Yuma functions embedded in the kernel while the cold one
    called the separately compiled ones, which fast-math had made round differently (issue 12:
    incentive and dividends differed from the first epoch). ~100-150 s: compiles the kernel."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    args = ["run", "--days", "0.05", "--uids", "64", "--validators", "16", "--seed", "3",
            "--record-every", "120"]
    errs = []
    for name in ("cold", "warm"):
        proc = subprocess.run([sys.executable, "-c", MAIN, *args, "--out", str(tmp_path / name)],
                              env=env, capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, proc.stderr
        errs.append(proc.stderr)
    # the first run said it was compiling, the second did not need to; the compile time is
    # in the manifest and out of the speed
    assert "compiling the simulation kernel (first run only" in errs[0]
    assert "compiling" not in errs[1]
    cold_m, warm_m = (json.loads((tmp_path / n / "manifest.json").read_text())
                      for n in ("cold", "warm"))
    assert cold_m["compile_s"] > 10 and warm_m["compile_s"] < 5
    for m in (cold_m, warm_m):
        assert m["blocks_per_second"] == pytest.approx(360 / m["simulate_s"], rel=0.02)
    for f in OUTPUTS:
        cold = (tmp_path / "cold" / f).read_bytes()
        warm = (tmp_path / "warm" / f).read_bytes()
        assert cold == warm, f


def test_run_zero_does_not_depend_on_the_batch() -> None:
    """Run 0 of a batch of 3 is run 0 alone, hotkey numbers included (one hotkey counter per
    run: a shared counter numbered run 0's newcomers after the other runs' ones)."""
    mech = get_mechanism("price-burn-2026-06")
    finals = []
    for runs in (1, 3):
        cfg = RunConfig(days=0.25, runs=runs, seed=11, uids=16, validators=4,
                        exogenous={"uid_registrations_per_day": 200.0})
        state = initial_state(cfg, mech)
        finals.append(simulate(state, mech, blocks=cfg.blocks, record_every=cfg.blocks,
                               seed=cfg.seed, exogenous=cfg.exogenous))
    one, batch = finals
    start = initial_state(RunConfig(runs=1, seed=11, uids=16, validators=4), mech)
    new_keys = np.setdiff1d(one.neurons.hotkey[0], start.neurons.hotkey[0])
    assert new_keys.size > 20  # newcomers did register (and got new hotkey numbers)
    np.testing.assert_array_equal(one.neurons.hotkey[0], batch.neurons.hotkey[0])
    np.testing.assert_array_equal(one.neurons.ints[0], batch.neurons.ints[0])
    np.testing.assert_array_equal(one.ints[0], batch.ints[0])
    assert not np.array_equal(batch.neurons.hotkey[0], batch.neurons.hotkey[1])


def test_cache_refresh_covers_numba_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    """With NUMBA_CACHE_DIR set, stale kernel caches there are dropped too (the kernel embeds
    other modules' code, which numba's per-file stamps do not see)."""
    from numba.core import config

    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))
    package = Path(__file__).resolve().parents[1] / "src" / "dtaosim"
    dirs = numba_cache_dirs(package)
    assert dirs and all(tmp_path in d.parents for d in dirs)
    chain = next(d for d in dirs if d.name.startswith("chain_"))
    stale = chain / "kernel.advance-1.py311.nbi"
    stale.write_text("from an older kernel.py")
    (chain / "dtaosim-sources.sha256").write_text("an older digest")
    refreshed = refresh_numba_cache(package)
    assert chain in refreshed and not stale.exists()
    kept = chain / "kernel.advance-1.py311.nbc"
    kept.write_text("compiled from the current sources")
    assert refresh_numba_cache(package) == [] and kept.exists()


def test_run_zero_with_agents_does_not_depend_on_the_batch() -> None:
    """With the agents acting (teams entering, leaving, selling; TAO/USD; noise traders), run 0
    of a batch of 3 is still run 0 alone: every population draws from its own stream per run
    and no decision reads another run's state."""
    mech = get_mechanism("price-burn-2026-06")
    finals, economies = [], []
    for runs in (1, 3):
        cfg = RunConfig(days=3, runs=runs, seed=5, uids=16, validators=4,
                        miners={"entry_pool_per_day": 2000.0, "min_days": 1.0})
        state = initial_state(cfg, mech)
        eco = make_economy(cfg, state)
        assert eco is not None
        finals.append(simulate(state, mech, blocks=cfg.blocks, record_every=7200,
                               seed=cfg.seed, exogenous=cfg.exogenous, economy=eco))
        economies.append(eco)
    (one, batch), (e1, e3) = finals, economies
    t1, t3 = e1.teams_table(one), e3.teams_table(batch)
    r1 = np.asarray(t1["run"]) == 0
    r3 = np.asarray(t3["run"]) == 0
    assert r1.sum() > 0 and (np.asarray(t1["entered_block"])[r1] > one.meta["start_block"]).any()
    for col in ("team", "netuid", "skill", "entered_block", "exited_block", "income_usd"):
        np.testing.assert_array_equal(np.asarray(t1[col])[r1], np.asarray(t3[col])[r3], col)
    np.testing.assert_array_equal(e1.market.tao_usd[0], e3.market.tao_usd[0])
    np.testing.assert_array_equal(one.neurons.ints[0], batch.neurons.ints[0])
    np.testing.assert_array_equal(one.ints[0], batch.ints[0])
