"""The loop: each subnet's usefulness, and the outside demand for its alpha that follows it.

Rules C11-C14 of ``docs/assumptions.md``:

* **usefulness** (daily) ``U_k = q_k x (S_k + eps) / m``: ``S_k`` is an exponential moving
  average (time constant ``lag_days``) of the summed skill of the ``top_teams`` most skilled
  active teams on the subnet (what the subnet can deliver follows the talent it retains, with
  a lag); ``m`` is the network median of the positive ``S_k`` at the start and ``eps`` =
  ``floor_share x m`` (a subnet without teams keeps a little usefulness: its code and data);
  ``q_k`` is a persistent quality multiplier, 1 at the start, multiplied by the scenario's
  ``shocks`` (the ``flywheel`` scenario's positive shock). With ``enabled = false`` ``U`` stays
  at its starting value (the loop off: talent no longer drives demand);
* **outside demand** (daily): buyers who are not stakers chasing emission (users paying for the
  subnet's service, investors, revenue buybacks) hold alpha whose TAO value targets
  ``V0_k x (U_k / U0_k) ** elasticity``, with ``V0_k = hold_share x`` the pool's TAO at the
  start (for a subnet registered during the run, when it appears) - or, with
  ``demand_target = "alpha"``, hold the alpha quantity ``A0_k x (U_k / U0_k) ** elasticity``
  (their starting alpha), so that a falling price alone does not make them buy; each day they
  close ``adjust_per_day`` of the gap (capped at ``max_flow_per_day`` of the pool's TAO) through
  :func:`~dtaosim.chain.pools.buy_batch` / :func:`~dtaosim.chain.pools.sell_batch` (holder
  ``STAKE_STAKERS``; the change is spread over the validators' UID stakes, as a nominator's);
* optional (off by default, ``tao_usd_elasticity = 0``): TAO/USD moves by
  ``elasticity x`` the day's change of the log of the network's total usefulness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.stake import spread_over_validators
from dtaosim.chain.pools import buy_batch, sell_batch
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import SF, SI, ChainState

__all__ = ["UsefulnessConfig", "UsefulnessShock", "UsefulnessState"]


class UsefulnessShock(BaseModel):
    """A dated change of the quality of the ``subnets`` highest-emission subnets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: float = Field(..., ge=0, le=100_000, description="day of the shock (days from start)")
    subnets: int = Field(..., ge=1, le=4096,
                         description="how many subnets, the highest emission shares first")
    multiplier: float = Field(..., gt=0, le=1000,
                              description="factor on their quality (2 = usefulness doubles)")


class UsefulnessConfig(BaseModel):
    """Usefulness and outside demand (section ``[usefulness]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True, description="usefulness follows the talent a subnet retains (false: fixed)")
    top_teams: int = Field(5, ge=1, le=4096,
                           description="teams whose skill makes a subnet useful (count)")
    lag_days: float = Field(30.0, gt=0, le=3650,
                            description="time constant of usefulness following talent (days)")
    floor_share: float = Field(
        0.1, ge=0, le=10, description="usefulness of a subnet without teams, as a share of "
                                      "the starting median (dimensionless; assumed)")
    shocks: list[UsefulnessShock] = Field(
        default_factory=list, description="dated quality shocks (day, subnets, multiplier)")
    demand_enabled: bool = Field(
        True, description="outside demand for alpha follows usefulness")
    hold_share: float = Field(
        0.2, ge=0, le=10, description="outside holders' alpha at the start, valued in TAO, as a "
                                      "share of the pool's TAO (dimensionless; assumed)")
    elasticity: float = Field(
        1.0, ge=0, le=10, description="elasticity of outside holdings to usefulness")
    demand_target: Literal["value", "alpha"] = Field(
        "value", description="what outside holders hold steady at a given usefulness: a TAO "
                             "value ('value': they buy when the price falls) or an alpha "
                             "quantity ('alpha': price moves alone do not make them trade)")
    adjust_per_day: float = Field(
        0.05, ge=0, le=1, description="share of the gap closed per day by outside holders")
    max_flow_per_day: float = Field(
        0.05, ge=0, le=1, description="cap of a day's outside flow as a share of pool TAO")
    tao_usd_elasticity: float = Field(
        0.0, ge=0, le=10, description="TAO/USD log change per log change of the network's "
                                      "total usefulness (0: off)")


@dataclass
class UsefulnessState:
    """Usefulness and outside holders, arrays ``(runs, subnets)``.

    Attributes
    ----------
    skill_ema
        ``S_k``: moving average of the top teams' summed skill.
    quality
        ``q_k``: quality multiplier.
    use, use0
        Usefulness now and at the subnet's start (for the demand target).
    dlog
        Change of log usefulness over the last day.
    held
        Outside holders' alpha (RAO, float).
    v0
        Their target TAO value at the subnet's start usefulness.
    reg_at
        Registration block of the subnet the memory belongs to.
    demand_day
        TAO they moved in (+) or out (-) on the last day (RAO).
    """

    skill_ema: NDArray[np.float64]
    quality: NDArray[np.float64]
    use: NDArray[np.float64]
    use0: NDArray[np.float64]
    dlog: NDArray[np.float64]
    held: NDArray[np.float64]
    v0: NDArray[np.float64]
    reg_at: NDArray[np.int64]
    demand_day: NDArray[np.float64]
    scale: NDArray[np.float64]
    total_prev: NDArray[np.float64]
    a0: NDArray[np.float64]
    """Their alpha at the subnet's start (the target of ``demand_target = "alpha"``)."""

    @classmethod
    def create(cls, state: ChainState, cfg: UsefulnessConfig,
               skill: NDArray[np.float64]) -> UsefulnessState:
        """Start from the teams' skill per subnet ``skill`` ``(runs, subnets)``."""
        exists = state.ints[:, :, SI.EXISTS] != 0
        pos = np.where(exists & (skill > 0), skill, np.nan)
        with np.errstate(all="ignore"):
            med = np.nanmedian(pos, axis=1)
        med = np.where(np.isfinite(med) & (med > 0), med, 1.0)
        ema = skill.copy()
        q = np.ones_like(skill)
        use = np.where(exists, q * (ema + cfg.floor_share * med[:, None]) / med[:, None], 0.0)
        price = state.spot_price()
        y = state.ints[:, :, SI.TAO_RESERVE].astype(np.float64)
        v0 = np.where(exists, cfg.hold_share * y, 0.0)
        held = np.where(exists & (price > 0), v0 / np.where(price > 0, price, 1.0), 0.0)
        held = np.minimum(held, state.ints[:, :, SI.STAKE_STAKERS])
        return cls(ema, q, use, use.copy(), np.zeros_like(use), held, v0,
                   state.ints[:, :, SI.REGISTERED_AT].copy(), np.zeros_like(use), med,
                   use.sum(axis=1), held.copy())

    def daily(self, state: ChainState, mech: Mechanism, cfg: UsefulnessConfig,
              skill: NDArray[np.float64], day: float, prev_day: float) -> NDArray[np.float64]:
        """Update usefulness, then the outside holders trade; returns the TAO/USD log change
        (0 unless ``tao_usd_elasticity``)."""
        exists = state.ints[:, :, SI.EXISTS] != 0
        reg = state.ints[:, :, SI.REGISTERED_AT]
        new = (reg != self.reg_at) & exists
        gone = ~exists
        med = self.scale[:, None]
        eps = cfg.floor_share * med
        if new.any() or gone.any():
            fresh = new | gone
            self.skill_ema[fresh] = 0.0
            self.quality[fresh] = 1.0
            u_new = np.where(exists, (0.0 + eps) / med, 0.0)
            self.use[fresh] = u_new[fresh]
            self.use0[fresh] = u_new[fresh]
            y = state.ints[:, :, SI.TAO_RESERVE].astype(np.float64)
            self.v0[fresh] = np.where(exists, cfg.hold_share * y, 0.0)[fresh]
            self.held[fresh] = 0.0
            p0 = state.spot_price()
            self.a0[fresh] = np.where(exists & (p0 > 0), self.v0 / np.where(p0 > 0, p0, 1.0),
                                      0.0)[fresh]
            self.reg_at[:] = reg
        for s in cfg.shocks:
            if prev_day < s.day <= day:
                share = np.where(exists, state.floats[:, :, SF.SHARE], -1.0)
                top = np.argsort(-share, axis=1, kind="stable")[:, :s.subnets]
                np.put_along_axis(self.quality, top,
                                  np.take_along_axis(self.quality, top, axis=1) * s.multiplier,
                                  axis=1)
        old = self.use.copy()
        if cfg.enabled:
            a = 1.0 - np.exp(-1.0 / cfg.lag_days)
            self.skill_ema += a * (np.where(exists, skill, 0.0) - self.skill_ema)
            self.use[:] = np.where(exists, self.quality * (self.skill_ema + eps) / med, 0.0)
        else:
            self.use[:] = np.where(exists, self.quality * self.use0, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.dlog[:] = np.where(exists & (old > 0) & (self.use > 0),
                                    np.log(self.use / np.where(old > 0, old, 1.0)), 0.0)
        self.demand_day[:] = 0.0
        if cfg.demand_enabled:
            self._trade(state, mech, cfg, exists)
        total = self.use.sum(axis=1)
        dl = np.where((self.total_prev > 0) & (total > 0),
                      np.log(np.maximum(total, 1e-300) / np.maximum(self.total_prev, 1e-300)),
                      0.0)
        self.total_prev[:] = total
        return cfg.tao_usd_elasticity * dl

    def _trade(self, state: ChainState, mech: Mechanism, cfg: UsefulnessConfig,
               exists: NDArray[np.bool_]) -> None:
        price = state.spot_price()
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(self.use0 > 0, self.use / np.where(self.use0 > 0, self.use0, 1.0), 1.0)
        if cfg.demand_target == "alpha":
            # hold an alpha quantity: the gap in alpha, valued at today's price
            f = cfg.adjust_per_day * (self.a0 * rel**cfg.elasticity - self.held) * price
        else:
            target = self.v0 * rel**cfg.elasticity
            value = self.held * price
            f = cfg.adjust_per_day * (target - value)
        cap = cfg.max_flow_per_day * state.ints[:, :, SI.TAO_RESERVE]
        f = np.where(exists, np.clip(f, -cap, cap), 0.0)
        before = state.ints[:, :, SI.STAKE_STAKERS].copy()
        sell = np.where(price > 0, np.maximum(-f, 0.0) / np.where(price > 0, price, 1.0), 0.0)
        alpha = np.minimum(np.floor(np.minimum(sell, self.held)), before).astype(np.int64)
        got = sell_batch(state, mech, alpha, SI.STAKE_STAKERS) if alpha.any() \
            else np.zeros_like(alpha)
        sold = before - state.ints[:, :, SI.STAKE_STAKERS]
        self.held -= sold
        buys = np.floor(np.maximum(f, 0.0)).astype(np.int64)
        mid = state.ints[:, :, SI.STAKE_STAKERS].copy()
        y0 = state.ints[:, :, SI.TAO_RESERVE].copy()
        if buys.any():
            buy_batch(state, mech, buys, SI.STAKE_STAKERS)
        self.held += state.ints[:, :, SI.STAKE_STAKERS] - mid
        # TAO that entered the pools (net of fees to the author) less TAO taken out
        self.demand_day[:] = (state.ints[:, :, SI.TAO_RESERVE] - y0) - got
        if state.neurons is not None:
            spread_over_validators(state.neurons, state.ints[:, :, SI.STAKE_STAKERS] - before)
