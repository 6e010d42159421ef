"""dtaosim: a simulator of the Bittensor dynamic-TAO economy.

The public namespace is small and curated; everything else lives in the layer packages
(``state``, ``chain``, ``agents``, ``experiments``, ``io``, ``cli``; see ``ARCHITECTURE.md``).

>>> from dtaosim import get_mechanism, default_network, run_blocks
>>> mech = get_mechanism("price-burn-2026-06")
>>> state = default_network(runs=1, mech=mech)
>>> later = run_blocks(state, mech, 7_200)   # one day
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from dtaosim.chain.engine import run_blocks
from dtaosim.chain.presets import HEAD_PRESET, PRESETS, Mechanism, get_mechanism
from dtaosim.errors import (
    ConfigError,
    DataError,
    DtaosimError,
    InvariantViolation,
    RegistrationError,
    SwapError,
)
from dtaosim.experiments.config import RunConfig, load_config
from dtaosim.experiments.simulation import simulate
from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.state.neurons import NeuronState

try:
    __version__ = version("dtaosim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"


def default_network(runs: int = 1, mech: Mechanism | None = None) -> ChainState:
    """The embedded default network (128 subnets, real-data calibrated) as a state.

    Parameters
    ----------
    runs
        Monte Carlo runs (copies of the network on the leading axis).
    mech
        Mechanism whose rules shape the state (e.g. the pool model's quote weight).

    Returns
    -------
    ChainState
    """
    from dtaosim.io.snapshot import default_snapshot, snapshot_to_state

    return snapshot_to_state(default_snapshot(), runs, mech=mech)


__all__ = [
    "GI",
    "HEAD_PRESET",
    "PRESETS",
    "SF",
    "SI",
    "ChainState",
    "ConfigError",
    "DataError",
    "DtaosimError",
    "InvariantViolation",
    "Mechanism",
    "NeuronState",
    "RegistrationError",
    "RunConfig",
    "SwapError",
    "__version__",
    "default_network",
    "get_mechanism",
    "load_config",
    "run_blocks",
    "simulate",
]
