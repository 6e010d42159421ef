"""Validators (and their nominators): rank-based scoring of miners and selling of dividends.

Two acts, both through the chain's own functions:

* **scoring** (daily): every permit holder rewrites its weight row from the teams' skill by the
  subnet's scoring curve (:mod:`dtaosim.agents.scoring`); the subnet's curve steepness is drawn
  when the subnet appears in the run;
* **selling** (hourly): validators and their nominators sell ``sell_fraction`` of the alpha
  dividends paid to them since the last step through the pool
  (:func:`~dtaosim.agents.stake.sell_from_holder` on ``STAKE_STAKERS``), and the sale is taken
  from the permitted validators' UID stakes pro rata (:func:`~dtaosim.agents.stake
  .spread_over_validators`);
* **moving** (daily, rule C17 of ``docs/assumptions.md``): validators own ``own_share`` of the
  stakers' alpha in every subnet and of the root stake (the rest is their nominators'); they
  move that own stake toward the subnets (and root) where it earns the most *emission*: the
  dividends paid per alpha staked over the last day (TAO value per TAO held), an EMA over
  ``move_window_days``, clipped to +-``yield_cap_per_day``. Unlike the stakers
  (:mod:`~dtaosim.agents.stakers`) they ignore price drift and usefulness and never leave the
  network (no outside option): a validator's business is to validate where dividends are
  highest. Their take on nominators' dividends multiplies every subnet's yield alike, so it
  does not change where they move. The target allocation is a logit on yield /
  ``move_temperature`` whose intercepts are solved on the first day (and when a subnet
  appears) so that the starting allocation is the target, and then follow the actual holdings
  by ``move_anchor_per_day`` a day (as the stakers' ``anchor_per_day``); each day they close
  ``move_per_day`` of the gap, capped at ``max_flow_per_day`` of a subnet's pool TAO, selling
  alpha through :func:`~dtaosim.chain.pools.sell_batch` and buying through
  :func:`~dtaosim.chain.pools.buy_batch` with the proceeds (fees and slippage; ``SubnetTaoFlow``
  records it), root through :func:`~dtaosim.chain.pools.move_root_stake`. TAO between a sale
  and a purchase waits in ``tao`` (a claim on the free TAO).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.scoring import ScoringConfig, draw_steepness, score_run
from dtaosim.agents.stake import (
    anchor_preferences,
    dividend_yields,
    scale_root_stakes,
    sell_from_holder,
    spread_over_validators,
)
from dtaosim.chain.pools import buy_batch, move_root_stake, sell_batch
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.state.neurons import NH, NI

__all__ = ["ValidatorsConfig", "ValidatorsState"]


class ValidatorsConfig(BaseModel):
    """Validators' selling and moving (section ``[validators]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sell_fraction: float = Field(
        0.45, ge=0, le=1,
        description="share of the alpha dividends paid to validators and nominators that they "
                    "sell through the pool, hourly (dimensionless); fitted to the sum of "
                    "alpha prices' drift of Aug -> Sep 2026 (1.28 -> 1.19: -0.073 in 30 days)")
    move_enabled: bool = Field(
        True, description="validators move their own stake toward the subnets where it earns "
                          "the most emission (false: their stake moves only with the stakers' "
                          "flows)")
    own_share: float = Field(
        0.1, ge=0, le=1,
        description="share of the stakers' alpha in every subnet and of the root stake that "
                    "validators own themselves (fraction; the rest is delegated by nominators; "
                    "assumed); taken out of the stakers' loyal share")
    move_per_day: float = Field(
        0.1, ge=0, le=1, description="share of the gap to the target closed per day (inertia; "
                                     "assumed)")
    move_temperature: float = Field(
        0.002, gt=0, le=1,
        description="logit temperature on expected dividend yield (per day): a yield "
                    "difference of this much changes a weight by e (assumed)")
    move_anchor_per_day: float = Field(
        1.0, ge=0, le=1,
        description="share of the gap between the validators' preferred allocation and their "
                    "actual own stake that the preference closes per day (fraction; as "
                    "stakers.anchor_per_day; fitted with it, docs/validation.md): 0 keeps the "
                    "first day's preferences, 1 makes them respond only to the day's change of "
                    "expected yield")
    move_window_days: float = Field(
        7.0, ge=1, le=365, description="EMA window of the yield estimates (days; assumed)")
    yield_cap_per_day: float = Field(
        0.01, gt=0, le=1, description="dividend yields are clipped to +-this (per day): a "
                                      "subnet whose stake was nearly all sold shows an "
                                      "unbounded yield")
    max_flow_per_day: float = Field(
        0.05, ge=0, le=1, description="cap of a day's move into or out of a subnet as a share of "
                                      "its pool TAO (fraction)")


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
    mv_paid, mv_root, mv_reg : (runs, subnets)
        ``CUM_STAKER_PAID``, ``CUM_ROOT_DIVS`` and ``REGISTERED_AT`` at the last moving step.
    y_sub, c_sub : (runs, subnets)
        Expected dividend yield per day of each subnet and its logit intercept.
    y_root, c_root : (runs,)
        Same for root.
    tao : (runs,)
        TAO sold out of one subnet and not yet bought into another (RAO, float).
    flow_day : (runs, subnets)
        TAO the validators moved into (+) or out of (-) each subnet on the last day (RAO).
    """

    steepness: NDArray[np.float64]
    reg_at: NDArray[np.int64]
    paid_prev: NDArray[np.int64]
    mv_paid: NDArray[np.int64]
    mv_root: NDArray[np.int64]
    mv_reg: NDArray[np.int64]
    y_sub: NDArray[np.float64]
    c_sub: NDArray[np.float64]
    y_root: NDArray[np.float64]
    c_root: NDArray[np.float64]
    tao: NDArray[np.float64]
    flow_day: NDArray[np.float64]
    started: bool = False

    @classmethod
    def create(cls, state: ChainState, scoring: ScoringConfig,
               rngs: list[np.random.Generator]) -> ValidatorsState:
        """Draw every slot's curve steepness."""
        steep = np.stack([draw_steepness(scoring, g, state.subnets) for g in rngs])
        ints = state.ints
        shape = (state.runs, state.subnets)
        return cls(steep, ints[:, :, SI.REGISTERED_AT].copy(),
                   ints[:, :, SI.CUM_STAKER_PAID].copy(), ints[:, :, SI.CUM_STAKER_PAID].copy(),
                   ints[:, :, SI.CUM_ROOT_DIVS].copy(), ints[:, :, SI.REGISTERED_AT].copy(),
                   np.zeros(shape), np.zeros(shape), np.zeros(state.runs),
                   np.zeros(state.runs), np.zeros(state.runs), np.zeros(shape))

    def move(self, state: ChainState, mech: Mechanism, cfg: ValidatorsConfig) -> None:
        """Move the validators' own stake toward the highest dividend yield (module docstring)."""
        self.flow_day[:] = 0.0
        ints = state.ints
        exists = ints[:, :, SI.EXISTS] != 0
        reg = ints[:, :, SI.REGISTERED_AT]
        same = reg == self.mv_reg
        new = ~same & exists
        ys, yr = dividend_yields(state, self.mv_paid, self.mv_root, same)
        staked = ints[:, :, SI.STAKE_STAKERS].astype(np.float64)
        price = state.spot_price()
        root = state.gints[:, GI.ROOT_STAKE].astype(np.float64)
        c = cfg.yield_cap_per_day
        ys, yr = np.clip(ys, -c, c), np.clip(yr, -c, c)
        a = min(1.0, 2.0 / (cfg.move_window_days + 1.0))
        o = cfg.own_share
        h_sub = np.where(exists, o * staked * price, 0.0)
        h_root = o * root
        t = cfg.move_temperature
        rho = cfg.move_anchor_per_day
        if self.started and rho > 0.0:  # preferences adopt part of the present holdings
            anchor_preferences(self.c_sub, h_sub, self.y_sub, t, rho)
            anchor_preferences(self.c_root, h_root, self.y_root, t, rho)
        if not self.started:
            self.y_sub[:], self.y_root[:] = ys, yr
        else:
            self.y_sub[:] = np.where(new, ys, self.y_sub + a * (ys - self.y_sub))
            self.y_root += a * (yr - self.y_root)
        if not self.started or new.any():  # intercepts: the present allocation is the target
            c_sub = np.log(np.maximum(h_sub, 1.0)) - self.y_sub / t
            if not self.started:
                self.c_sub[:] = c_sub
                self.c_root[:] = np.log(np.maximum(h_root, 1.0)) - self.y_root / t
            else:
                self.c_sub[:] = np.where(new, c_sub, self.c_sub)
            self.started = True
        self.mv_reg[:] = reg
        total = h_sub.sum(axis=1) + h_root + np.maximum(self.tao, 0.0)
        zs = np.where(exists, self.c_sub + self.y_sub / t, -np.inf)
        zr = self.c_root + self.y_root / t
        m = np.maximum(zs.max(axis=1), zr)
        es, er = np.exp(zs - m[:, None]), np.exp(zr - m)
        den = es.sum(axis=1) + er
        k = cfg.move_per_day
        cap = cfg.max_flow_per_day * ints[:, :, SI.TAO_RESERVE]
        f_sub = np.where(exists, np.clip(k * (total[:, None] * es / den[:, None] - h_sub),
                                         -cap, cap), 0.0)
        f_root = k * (total * er / den - h_root)
        before = ints[:, :, SI.STAKE_STAKERS].copy()
        y0 = ints[:, :, SI.TAO_RESERVE].copy()
        # sell first (subnets, root), then buy with what the sales brought
        sells = np.where(price > 0, np.maximum(-f_sub, 0.0) / np.where(price > 0, price, 1.0),
                         0.0)
        alpha = np.minimum(np.floor(sells), np.floor(o * before)).astype(np.int64)
        got = sell_batch(state, mech, alpha, SI.STAKE_STAKERS) if alpha.any() \
            else np.zeros_like(alpha)
        self.tao += got.sum(axis=1)
        root0 = state.gints[:, GI.ROOT_STAKE].copy()
        off = np.floor(np.minimum(np.maximum(-f_root, 0.0), h_root)).astype(np.int64)
        self.tao -= move_root_stake(state, -off)  # moved is negative: TAO comes back
        buys = np.floor(np.maximum(f_sub, 0.0))
        want = buys.sum(axis=1) + np.maximum(f_root, 0.0)
        avail = np.maximum(self.tao, 0.0)
        scale = np.where(want > avail, avail / np.maximum(want, 1.0), 1.0)
        buys = np.floor(buys * scale[:, None]).astype(np.int64)
        if buys.any():
            free0 = state.gints[:, GI.FREE_TAO].copy()
            buy_batch(state, mech, buys, SI.STAKE_STAKERS)
            self.tao -= free0 - state.gints[:, GI.FREE_TAO]
        on = np.floor(np.minimum(np.maximum(f_root, 0.0) * scale,
                                 np.maximum(self.tao, 0.0))).astype(np.int64)
        self.tao -= move_root_stake(state, on)
        self.flow_day[:] = ints[:, :, SI.TAO_RESERVE] - y0  # net TAO into each pool
        nrn = state.neurons
        if nrn is not None:
            spread_over_validators(nrn, ints[:, :, SI.STAKE_STAKERS] - before)
            if (state.gints[:, GI.ROOT_STAKE] != root0).any():
                scale_root_stakes(nrn, root0, state.gints[:, GI.ROOT_STAKE])

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
