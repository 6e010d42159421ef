"""dtaosim: a simulator of the Bittensor dynamic-TAO economy.

The public namespace is small; the mechanisms live in :mod:`dtaosim.chain`.

>>> from dtaosim import get_mechanism, default_network, run_blocks
>>> mech = get_mechanism("price-burn-2026-06")
>>> state = default_network(runs=1, mech=mech)
>>> later = run_blocks(state, mech, 7_200)   # one day
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .engine import run_blocks
from .errors import (
    ConfigError,
    DataError,
    DtaosimError,
    InvariantViolation,
    RegistrationError,
    SwapError,
)
from .mechanisms import HEAD_PRESET, PRESETS, Mechanism, get_mechanism
from .state import GI, SF, SI, ChainState

try:
    __version__ = version("dtaosim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"


def default_network(runs: int = 1, mech: Mechanism | None = None) -> ChainState:
    """The embedded default network (128 subnets, real-data calibrated) as a state."""
    from .snapshot import default_snapshot, snapshot_to_state

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
    "RegistrationError",
    "SwapError",
    "__version__",
    "default_network",
    "get_mechanism",
    "run_blocks",
]
