"""The state layer (bottom): the economy as arrays with a leading run axis, and its invariants.

* :mod:`~dtaosim.state.chain_state` - :class:`ChainState`, per-subnet and network fields in RAO;
* :mod:`~dtaosim.state.neurons` - :class:`NeuronState`, per-UID fields, weights and bonds;
* :mod:`~dtaosim.state.invariants` - conservation of TAO and alpha, non-negative balances.

Nothing here does I/O or imports a layer above.
"""

from __future__ import annotations

from dtaosim.state.chain_state import ALPHA_OUT_PARTS, GI, SF, SI, ChainState
from dtaosim.state.invariants import check_state
from dtaosim.state.neurons import NF, NH, NI, NeuronState

__all__ = [
    "ALPHA_OUT_PARTS",
    "GI",
    "NF",
    "NH",
    "NI",
    "SF",
    "SI",
    "ChainState",
    "NeuronState",
    "check_state",
]
