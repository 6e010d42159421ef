"""Noise traders: the zero-mean stake flows that give alpha prices their day-to-day volatility.

With agents acting, the systematic selling comes from the people who are paid (miners,
validators, owners); what is left of the exogenous stake flow (:func:`dtaosim.agents.exogenous
.stake_flows`) is a zero-mean noise, calibrated to the alpha volatility seen on mainnet (target
R3). Each subnet has its own scale: the daily s.d. of its net flow is ``volatility x m_k`` of its
pool TAO, with ``m_k`` lognormal(0, ``volatility_sigma``) drawn when the subnet appears in the run
(real volatility differs across subnets: quartiles 2.4% / 4.5% / 7.4% a day over 30-day windows).

Zero mean in *value*: a flow of s.d. ``v`` (fraction of pool TAO per day) moves the log price by
twice the log of the pool's TAO, so a driftless flow would make every price level rise on
average (``E[dp/p] = v**2`` a day: +7% a month at the chain-only path's 3.35%, far more for the
most volatile subnets) and the sum of prices climb from noise alone. The flow therefore has the
drift ``-v**2 / 2`` per day that makes each price a martingale (``E[dp/p] = 0``): noise traders
neither add nor take value on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.exogenous import stake_flows
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import SI, ChainState

__all__ = ["NoiseConfig", "NoiseState"]


class NoiseConfig(BaseModel):
    """Zero-mean stake flows (section ``[noise]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    volatility: float = Field(
        0.0225, ge=0, le=1,
        description="median over subnets of the daily s.d. of the net stake flow, as a "
                    "fraction of pool TAO (1/sqrt(day)); fitted to the R3 median (4.5%/day "
                    "over 30-day windows; constant-product price ~ y**2: half of it)")
    volatility_sigma: float = Field(
        0.8, ge=0, le=5,
        description="log-s.d. across subnets of the flow scale (dimensionless); fitted to R3's "
                    "interquartile ratio (7.4% / 2.4% ~ 3 = exp(2 x 0.674 x 0.83))")


@dataclass
class NoiseState:
    """Per-subnet flow scale ``(runs, subnets)`` and the registration it was drawn for."""

    scale: NDArray[np.float64]
    reg_at: NDArray[np.int64]

    @classmethod
    def create(cls, state: ChainState, cfg: NoiseConfig,
               rngs: list[np.random.Generator]) -> NoiseState:
        """Draw every slot's scale."""
        scale = np.stack([np.exp(cfg.volatility_sigma * g.standard_normal(state.subnets))
                          for g in rngs])
        return cls(scale, state.ints[:, :, SI.REGISTERED_AT].copy())

    def step(self, state: ChainState, mech: Mechanism, cfg: NoiseConfig,
             rngs: list[np.random.Generator], dt_days: float) -> None:
        """One step of the flows (new subnets get a fresh scale first)."""
        reg = state.ints[:, :, SI.REGISTERED_AT]
        new = reg != self.reg_at
        if new.any():
            for r in np.flatnonzero(new.any(axis=1)):
                fresh = np.exp(cfg.volatility_sigma * rngs[r].standard_normal(state.subnets))
                self.scale[r] = np.where(new[r], fresh, self.scale[r])
            self.reg_at[:] = reg
        if cfg.volatility > 0.0:
            v = cfg.volatility * self.scale
            stake_flows(state, mech, v, -0.5 * v**2, rngs, dt_days)
