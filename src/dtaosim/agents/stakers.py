"""Stakers: holders of TAO on root, in subnet pools or outside, moving toward expected yield.

Three types share every holding in fixed proportions (rules C7-C10 of ``docs/assumptions.md``):

* **yield chasers** (``chaser_share`` of every holding) allocate over root, every subnet and
  the outside (TAO sold for USD) by a logit on expected risk-adjusted yield;
* **conservative root holders** (``conservative_share``) choose only between root and outside;
* **loyal holders** (the rest) never move: they keep their subnet's alpha whatever happens.

Holdings: root stake (``root_stake``), the alpha of validators and nominators in each subnet
(``STAKE_STAKERS``, valued at the spot price) and an outside bucket of TAO (``outside_tao``:
``outside_start_fraction`` of the free TAO at the start; TAO that stakers take out of the
network goes there and buys come out of it).

Expected yield per day (USD terms), each an EMA over ``window_days``: for a subnet, the alpha
dividends paid to its stakers over the last day per alpha staked, plus the drift of its USD alpha
price, less ``risk_aversion x sigma**2 / 2``, plus ``usefulness_weight`` x the day's change of
the log usefulness (:mod:`dtaosim.agents.usefulness`: stakers react to a team's exit or a
subnet's rise before the price does); for root, the root dividends (TAO value) per TAO on root
plus the TAO/USD drift, less the same risk term on TAO/USD; outside, ``outside_yield_per_year``.
Daily yields are clipped to +-``yield_cap_per_day`` before they enter the EMAs.
The logit's intercepts are solved on the first day so that the starting allocation *is* the
target (the calibrated network is an equilibrium of stakers' preferences): stakers then move in
response to *changes* of yield, not to its level differences across subnets, which the data do
not let us separate from unmodelled preferences. Each day, before the day's yields, the
preferences adopt ``anchor_per_day`` of the gap to the actual holdings (the intercepts move
toward the values that would make today's holdings the target): at 0 the stakers rebalance
toward fixed value weights and buy whatever fell in price; at 1 a price fall that leaves
yields unchanged makes nobody trade.

Each day each type closes ``adjust_per_day`` of the gap between its target and its holdings
(partial adjustment: inertia), capped per subnet at ``max_flow_per_day`` of the pool's TAO,
through the chain's own functions: :func:`~dtaosim.chain.pools.buy_batch` /
:func:`~dtaosim.chain.pools.sell_batch` on ``STAKE_STAKERS`` (fees and slippage included;
``SubnetTaoFlow`` records the net flow, so the TaoFlow and net-flow share rules respond), the
change spread over the permitted validators' UID stakes, and
:func:`~dtaosim.chain.pools.move_root_stake` for root (UIDs' root stakes scaled with it).

The zero-mean noise traders (:mod:`dtaosim.agents.noise`) are kept: they are the uninformed
day-to-day flow that gives alpha prices their calibrated volatility (R3), which a smooth daily
partial adjustment cannot produce; stakers add the systematic part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dtaosim.agents.stake import (
    anchor_preferences,
    dividend_yields,
    scale_root_stakes,
    spread_over_validators,
)
from dtaosim.chain.pools import buy_batch, move_root_stake, sell_batch
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import GI, SI, ChainState

__all__ = ["StakersConfig", "StakersState"]

_RAO = 1e9


class StakersConfig(BaseModel):
    """Stakers' allocation (section ``[stakers]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="stakers move stake toward expected yield")
    chaser_share: float = Field(
        0.3, ge=0, le=1, description="share of every holding held by yield chasers (fraction; "
                                     "assumed)")
    conservative_share: float = Field(
        0.3, ge=0, le=1, description="share held by conservative root holders (fraction; "
                                     "assumed); the rest is loyal")
    outside_start_fraction: float = Field(
        0.5, ge=0, le=1, description="share of the free TAO at the start that stakers hold "
                                     "outside, ready to stake (fraction; assumed)")
    adjust_per_day: float = Field(
        0.05, ge=0, le=1, description="share of the gap to the target closed per day (inertia)")
    temperature: float = Field(
        0.01, gt=0, le=1, description="logit temperature on expected yield (per day): a yield "
                                      "difference of this much changes a weight by e")
    risk_aversion: float = Field(
        1.0, ge=0, le=100, description="weight of the variance penalty sigma**2/2 (dimensionless)")
    usefulness_weight: float = Field(
        0.3, ge=0, le=100, description="weight of the daily change of log usefulness in a "
                                       "subnet's expected yield (dimensionless; fitted with "
                                       "anchor_per_day, docs/validation.md)")
    outside_yield_per_year: float = Field(
        0.04, ge=-1, le=1, description="yield of USD held outside (1/year)")
    window_days: float = Field(
        30.0, ge=1, le=365, description="EMA window of the yield estimates (days)")
    yield_cap_per_day: float = Field(
        0.01, gt=0, le=1, description="expected yields are clipped to +-this (per day): a "
                                      "subnet whose stake was nearly all sold shows an "
                                      "unbounded dividend yield that no staker believes")
    max_flow_per_day: float = Field(
        0.05, ge=0, le=1, description="cap of a day's net flow into or out of a subnet as a "
                                      "share of its pool TAO (fraction)")
    anchor_per_day: float = Field(
        0.1, ge=0, le=1,
        description="share of the gap between the stakers' preferred allocation and their "
                    "actual holdings that the preference closes per day, before the day's "
                    "yields are seen (fraction; fitted to the price bleed of Jun - Oct 2025, "
                    "docs/validation.md): 0 keeps the first day's preferences for ever "
                    "(stakers rebalance toward fixed value weights, buying what falls), 1 makes "
                    "them respond only to the day's change of expected yield")

    @model_validator(mode="after")
    def _shares_fit(self) -> StakersConfig:
        if self.chaser_share + self.conservative_share > 1.0:
            raise ValueError("chaser_share + conservative_share must be at most 1 (the rest "
                             "is loyal)")
        return self


@dataclass
class StakersState:
    """Stakers' memory: yield EMAs and logit intercepts.

    Attributes
    ----------
    outside_tao : (runs,)
        TAO the stakers hold outside (RAO, float).
    y_sub, c_sub : (runs, subnets)
        Expected yield per day of each subnet and its logit intercept.
    y_root, y_out, c_root, c_out, c_root_cons : (runs,)
        Same for root and outside (``c_root_cons``: the conservative type's root intercept).
    paid_prev, root_prev : (runs, subnets)
        ``CUM_STAKER_PAID`` and ``CUM_ROOT_DIVS`` at the last daily step (RAO).
    reg_at : (runs, subnets)
        Registration block of the subnet the intercept belongs to.
    flow_day : (runs, subnets)
        TAO the stakers moved into (+) or out of (-) each subnet on the last day (RAO).
    """

    outside_tao: NDArray[np.float64]
    y_sub: NDArray[np.float64]
    c_sub: NDArray[np.float64]
    y_root: NDArray[np.float64]
    y_out: NDArray[np.float64]
    c_root: NDArray[np.float64]
    c_out: NDArray[np.float64]
    c_root_cons: NDArray[np.float64]
    paid_prev: NDArray[np.int64]
    root_prev: NDArray[np.int64]
    reg_at: NDArray[np.int64]
    flow_day: NDArray[np.float64]
    started: bool = False

    @classmethod
    def create(cls, state: ChainState, cfg: StakersConfig) -> StakersState:
        """Stakers of ``state``: their outside bucket; yields are estimated from the first day."""
        shape = (state.runs, state.subnets)
        z = np.zeros(state.runs)
        return cls(state.gints[:, GI.FREE_TAO] * cfg.outside_start_fraction,
                   np.zeros(shape), np.zeros(shape), z.copy(), z.copy(), z.copy(), z.copy(),
                   z.copy(), state.ints[:, :, SI.CUM_STAKER_PAID].copy(),
                   state.ints[:, :, SI.CUM_ROOT_DIVS].copy(),
                   state.ints[:, :, SI.REGISTERED_AT].copy(), np.zeros(shape))

    def _yields(self, state: ChainState, cfg: StakersConfig, mu: NDArray[np.float64],
                sigma: NDArray[np.float64], dlog_use: NDArray[np.float64],
                mu_tao: NDArray[np.float64], sigma_tao: float
                ) -> tuple[NDArray, NDArray, NDArray]:
        same = state.ints[:, :, SI.REGISTERED_AT] == self.reg_at
        div_y, root_y = dividend_yields(state, self.paid_prev, self.root_prev, same)
        y_sub = div_y + mu - 0.5 * cfg.risk_aversion * sigma**2 \
            + cfg.usefulness_weight * dlog_use
        y_root = root_y + mu_tao - 0.5 * cfg.risk_aversion * sigma_tao**2
        y_out = np.full(state.runs, cfg.outside_yield_per_year / 365.0)
        c = cfg.yield_cap_per_day
        return np.clip(y_sub, -c, c), np.clip(y_root, -c, c), y_out

    def daily(self, state: ChainState, mech: Mechanism, cfg: StakersConfig,
              mu: NDArray[np.float64], sigma: NDArray[np.float64],
              dlog_use: NDArray[np.float64], mu_tao: NDArray[np.float64],
              sigma_tao: float) -> None:
        """Update yield estimates and move stake toward the targets (module docstring)."""
        self.flow_day[:] = 0.0
        ints = state.ints
        exists = ints[:, :, SI.EXISTS] != 0
        reg = ints[:, :, SI.REGISTERED_AT]
        new = (reg != self.reg_at) & exists
        ys, yr, yo = self._yields(state, cfg, mu, sigma, dlog_use, mu_tao, sigma_tao)
        a = min(1.0, 2.0 / (cfg.window_days + 1.0))
        price = state.spot_price()
        h_sub = np.where(exists, ints[:, :, SI.STAKE_STAKERS] * price, 0.0)
        h_root = state.gints[:, GI.ROOT_STAKE].astype(np.float64)
        h_out = np.maximum(self.outside_tao, 0.0)
        t = cfg.temperature
        rho = cfg.anchor_per_day
        if self.started and rho > 0.0:  # preferences adopt part of the present holdings
            anchor_preferences(self.c_sub, h_sub, self.y_sub, t, rho)
            anchor_preferences(self.c_root, h_root, self.y_root, t, rho)
            anchor_preferences(self.c_out, h_out, self.y_out, t, rho)
            anchor_preferences(self.c_root_cons, h_root, self.y_root, t, rho)
        if not self.started:
            self.y_sub[:], self.y_root[:], self.y_out[:] = ys, yr, yo
        else:
            self.y_sub[:] = np.where(new, ys, self.y_sub + a * (ys - self.y_sub))
            self.y_root += a * (yr - self.y_root)
            self.y_out += a * (yo - self.y_out)
        if not self.started or new.any():
            # intercepts: the present allocation is the target
            logs = np.log(np.maximum(h_sub, 1.0))
            c_sub = logs - self.y_sub / t
            if not self.started:
                self.c_sub[:] = c_sub
                self.c_root[:] = np.log(np.maximum(h_root, 1.0)) - self.y_root / t
                self.c_out[:] = np.log(np.maximum(h_out, 1.0)) - self.y_out / t
                self.c_root_cons[:] = self.c_root
            else:
                self.c_sub[:] = np.where(new, c_sub, self.c_sub)
            self.reg_at[:] = reg
            self.started = True
        total = h_sub.sum(axis=1) + h_root + h_out
        # yield chasers: root, subnets, outside
        zs = np.where(exists, self.c_sub + self.y_sub / t, -np.inf)
        zr = self.c_root + self.y_root / t
        zo = self.c_out + self.y_out / t
        m = np.maximum(np.maximum(zs.max(axis=1), zr), zo)
        es, er, eo = np.exp(zs - m[:, None]), np.exp(zr - m), np.exp(zo - m)
        den = es.sum(axis=1) + er + eo
        w = cfg.chaser_share * total
        k = cfg.adjust_per_day
        f_sub = k * (w[:, None] * es / den[:, None] - cfg.chaser_share * h_sub)
        f_root = k * (w * er / den - cfg.chaser_share * h_root)
        # conservative: root vs outside only
        wc = cfg.conservative_share * (h_root + h_out)
        zr2 = self.c_root_cons + self.y_root / t
        pr = 1.0 / (1.0 + np.exp(np.clip(zo - zr2, -700, 700)))
        f_root += k * (wc * pr - cfg.conservative_share * h_root)
        # execute: subnets (capped), then root
        cap = cfg.max_flow_per_day * ints[:, :, SI.TAO_RESERVE]
        f_sub = np.where(exists, np.clip(f_sub, -cap, cap), 0.0)
        before = ints[:, :, SI.STAKE_STAKERS].copy()
        sells = np.where(price > 0, np.maximum(-f_sub, 0.0) / np.where(price > 0, price, 1.0),
                         0.0)
        alpha = np.minimum(np.floor(sells), before).astype(np.int64)
        got = sell_batch(state, mech, alpha, SI.STAKE_STAKERS) if alpha.any() \
            else np.zeros_like(alpha)
        self.outside_tao += got.sum(axis=1)
        buys = np.floor(np.maximum(f_sub, 0.0))
        want = buys.sum(axis=1)
        scale = np.where(want > self.outside_tao, np.maximum(self.outside_tao, 0.0)
                         / np.maximum(want, 1.0), 1.0)
        buys = np.floor(buys * scale[:, None]).astype(np.int64)
        free0 = state.gints[:, GI.FREE_TAO].copy()
        y0 = ints[:, :, SI.TAO_RESERVE].copy()
        if buys.any():
            buy_batch(state, mech, buys, SI.STAKE_STAKERS)
        spent = free0 - state.gints[:, GI.FREE_TAO]
        self.outside_tao -= spent
        # TAO that entered the pools (net of fees to the author) less TAO taken out
        self.flow_day[:] = (ints[:, :, SI.TAO_RESERVE] - y0) - got
        if state.neurons is not None:
            spread_over_validators(state.neurons, ints[:, :, SI.STAKE_STAKERS] - before)
        # root
        if not np.isfinite(f_root).all():
            f_root = np.nan_to_num(f_root)
        want_r = np.minimum(f_root, np.maximum(self.outside_tao, 0.0))
        root0 = state.gints[:, GI.ROOT_STAKE].copy()
        moved = move_root_stake(state, np.floor(want_r).astype(np.int64))
        self.outside_tao -= moved
        nrn = state.neurons
        if nrn is not None and moved.any():
            scale_root_stakes(nrn, root0, state.gints[:, GI.ROOT_STAKE])
