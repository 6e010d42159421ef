"""Subnet owners: selling part of the owner cut.

Owners pay engineers and servers in USD: each hour they sell ``sell_fraction`` of the owner cut
paid to them since the last step through the pool (:func:`~dtaosim.agents.stake
.sell_from_holder` on ``STAKE_OWNER``), taken from the owner hotkey's UID stake. Owners who
burn miner emission keep doing so through their validators' weights (assumption A13). Issue 11
extends this actor (owners' costs, abandoning a subnet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.stake import sell_from_holder
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import SI, ChainState
from dtaosim.state.neurons import NH, NI

__all__ = ["OwnersConfig", "OwnersState"]


class OwnersConfig(BaseModel):
    """Owners' selling (section ``[owners]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sell_fraction: float = Field(
        0.7, ge=0, le=1,
        description="share of the owner cut that owners sell through the pool, hourly "
                    "(dimensionless; assumed: owners pay engineers and servers in USD)")


@dataclass
class OwnersState:
    """``CUM_OWNER_CUT`` at the last selling step, ``(runs, subnets)`` RAO."""

    cut_prev: NDArray[np.int64]

    @classmethod
    def create(cls, state: ChainState) -> OwnersState:
        """Start from the state's cumulative owner cut."""
        return cls(state.ints[:, :, SI.CUM_OWNER_CUT].copy())

    def sell(self, state: ChainState, mech: Mechanism, cfg: OwnersConfig) -> None:
        """Sell ``sell_fraction`` of the owner cut paid since the last call."""
        cut = state.ints[:, :, SI.CUM_OWNER_CUT]
        new = np.maximum(cut - self.cut_prev, 0)
        self.cut_prev[:] = cut
        if cfg.sell_fraction <= 0.0 or not new.any():
            return
        amount = np.floor(new * cfg.sell_fraction).astype(np.int64)
        sold, _ = sell_from_holder(state, mech, amount, SI.STAKE_OWNER)
        nrn = state.neurons
        if nrn is None or not sold.any():
            return
        owner_hk = nrn.hyper[:, :, NH.OWNER_HOTKEY]
        stake = nrn.ints[:, :, NI.ALPHA_STAKE, :]
        is_owner = (nrn.ints[:, :, NI.HOTKEY, :] == owner_hk[:, :, None]) \
            & (owner_hk[:, :, None] >= 0)
        debit = np.where(is_owner, np.minimum(stake, sold[:, :, None]), 0)
        stake -= debit
