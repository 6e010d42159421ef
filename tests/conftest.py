"""Shared fixtures: small chain states built by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dtaosim.state.chain_state import GI, SF, SI, ChainState

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-world"


def make_state(
    runs: int = 1,
    tao: list[int] | None = None,
    alpha: list[int] | None = None,
    *,
    block: int = 1_000_000,
    ema: list[float] | None = None,
    root_stake: int = 0,
    issuance: int = 5_000_000_000_000_000,
    tempo: int = 360,
    alpha_out: list[int] | None = None,
) -> ChainState:
    """A consistent state: subnets with the given pools, all started, enabled and eligible."""
    tao = tao if tao is not None else [1_000_000_000_000, 2_000_000_000_000]
    alpha = alpha if alpha is not None else [1_000_000_000_000] * len(tao)
    n = len(tao)
    s = ChainState.empty(runs, n, block=block)
    i, f, g = s.ints, s.floats, s.gints
    i[:, :, SI.EXISTS] = 1
    i[:, :, SI.TAO_RESERVE] = tao
    i[:, :, SI.ALPHA_IN] = alpha
    out = alpha_out if alpha_out is not None else [0] * n
    i[:, :, SI.ALPHA_OUT] = out
    i[:, :, SI.STAKE_STAKERS] = out
    i[:, :, SI.ALPHA_ISSUANCE_START] = np.asarray(alpha) + np.asarray(out)
    i[:, :, SI.TEMPO] = tempo
    i[:, :, SI.LAST_EPOCH_BLOCK] = block - np.arange(1, n + 1) % max(tempo, 1)
    i[:, :, SI.REGISTERED_AT] = 1
    i[:, :, SI.FIRST_EMISSION_BLOCK] = 2
    i[:, :, SI.EMISSION_ENABLED] = 1
    i[:, :, SI.REGISTRATION_ALLOWED] = 1
    i[:, :, SI.NEURON_BURN] = 1_000_000_000
    i[:, :, SI.BURN_FACTOR_Q32] = 2**32 - 1
    f[:, :, SF.PRICE_EMA] = ema if ema is not None else [1.0] * n
    g[:, GI.TOTAL_ISSUANCE] = issuance
    g[:, GI.ISSUANCE_START] = issuance
    g[:, GI.ROOT_STAKE] = root_stake
    g[:, GI.FREE_TAO] = issuance - sum(tao) - root_stake
    return s


@pytest.fixture
def shared_data() -> Path:
    """The real-world data folder beside the repository (skip when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-world data folder {SHARED_DATA} is absent")
    return SHARED_DATA
