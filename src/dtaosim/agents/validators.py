"""Validators (and their nominators): rank-based scoring of miners and selling of dividends.

Two acts, both through the chain's own functions:

* **scoring** (daily): every permit holder rewrites its weight row from the teams' skill by the
  subnet's scoring curve (:mod:`dtaosim.agents.scoring`); the subnet's curve steepness is drawn
  when the subnet appears in the run;
* **selling** (hourly): validators and their nominators sell ``sell_fraction`` of the alpha
  dividends paid to them since the last step through the pool
  (:func:`~dtaosim.agents.stake.sell_from_holder` on ``STAKE_STAKERS``), and the sale is taken
  from the permitted validators' UID stakes pro rata (:func:`~dtaosim.agents.stake
  .spread_over_validators`).

Issue 11 extends this actor (stakers choosing subnets, validators' own costs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.scoring import ScoringConfig, draw_steepness, score_run
from dtaosim.agents.stake import sell_from_holder, spread_over_validators
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import SF, SI, ChainState
from dtaosim.state.neurons import NH, NI

__all__ = ["ValidatorsConfig", "ValidatorsState"]


class ValidatorsConfig(BaseModel):
    """Validators' selling (section ``[validators]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sell_fraction: float = Field(
        0.45, ge=0, le=1,
        description="share of the alpha dividends paid to validators and nominators that they "
                    "sell through the pool, hourly (dimensionless); fitted to the sum of "
                    "alpha prices' drift of Aug -> Sep 2026 (1.28 -> 1.19: -0.073 in 30 days)")


@dataclass
class ValidatorsState:
    """Per-subnet memory of the validators' actor (arrays ``(runs, subnets)``).

    Attributes
    ----------
    steepness
        Scoring-curve scale of each subnet slot (ranks).
    reg_at
        Registration block of the subnet the steepness was drawn for.
    paid_prev
        ``CUM_STAKER_PAID`` at the last selling step (RAO).
    """

    steepness: NDArray[np.float64]
    reg_at: NDArray[np.int64]
    paid_prev: NDArray[np.int64]

    @classmethod
    def create(cls, state: ChainState, scoring: ScoringConfig,
               rngs: list[np.random.Generator]) -> ValidatorsState:
        """Draw every slot's curve steepness."""
        steep = np.stack([draw_steepness(scoring, g, state.subnets) for g in rngs])
        return cls(steep, state.ints[:, :, SI.REGISTERED_AT].copy(),
                   state.ints[:, :, SI.CUM_STAKER_PAID].copy())

    def sell(self, state: ChainState, mech: Mechanism, cfg: ValidatorsConfig) -> None:
        """Sell ``sell_fraction`` of the dividends paid since the last call."""
        paid = state.ints[:, :, SI.CUM_STAKER_PAID]
        new = np.maximum(paid - self.paid_prev, 0)
        self.paid_prev[:] = paid
        if cfg.sell_fraction <= 0.0 or not new.any():
            return
        amount = np.floor(new * cfg.sell_fraction).astype(np.int64)
        sold, _ = sell_from_holder(state, mech, amount, SI.STAKE_STAKERS)
        if state.neurons is not None and sold.any():
            spread_over_validators(state.neurons, -sold)

    def rescore(self, state: ChainState, scoring: ScoringConfig,
                rngs: list[np.random.Generator], eligible: NDArray[np.bool_],
                log_skill: NDArray[np.float64]) -> None:
        """Every validator rewrites its weights (module docstring).

        Parameters
        ----------
        eligible : ndarray of bool, (runs, subnets, uids)
            Miner UIDs held by an active team.
        log_skill : ndarray of float64, (runs, subnets, uids)
            Their team's log skill.
        """
        nrn = state.neurons
        assert nrn is not None
        reg = state.ints[:, :, SI.REGISTERED_AT]
        new = reg != self.reg_at
        if new.any():  # a new subnet in the slot: its own curve
            for r in np.flatnonzero(new.any(axis=1)):
                fresh = draw_steepness(scoring, rngs[r], state.subnets)
                self.steepness[r] = np.where(new[r], fresh, self.steepness[r])
            self.reg_at[:] = reg
        exists = state.ints[:, :, SI.EXISTS] != 0
        owner_hk = nrn.hyper[:, :, NH.OWNER_HOTKEY]
        hot = nrn.ints[:, :, NI.HOTKEY, :]
        is_owner = (hot == owner_hk[:, :, None]) & (owner_hk[:, :, None] >= 0)
        owner_uid = np.where(is_owner.any(axis=2), is_owner.argmax(axis=2), -1).astype(np.int64)
        share = state.floats[:, :, SF.MINER_BURN_FRACTION]
        top_k = scoring.curve == "top_k"
        for r, g in enumerate(rngs):
            score_run(nrn.weights[r], nrn.permit[r], eligible[r], log_skill[r], owner_uid[r],
                      share[r], self.steepness[r], top_k, exists[r], scoring.sigma_common,
                      scoring.sigma_validator, int(g.integers(2**62)))
