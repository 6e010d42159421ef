"""Subnet owners: selling the owner cut, the miner-burn decision, abandoning and registering.

Four acts (rules C1-C6 of ``docs/assumptions.md``), all through the chain's own functions:

* **selling** (hourly): owners pay engineers and servers in USD; each hour they sell
  ``sell_fraction`` of the owner cut paid to them since the last step through the pool
  (:func:`~dtaosim.agents.stake.sell_from_holder` on ``STAKE_OWNER``), taken from the owner
  hotkey's UID stake;
* **miner burn** (daily): the share of miner incentive an owner routes to its own UID (its
  validators' weights, assumption A13). The target is
  ``clip(theta_k + burn_gain x shortfall_k - burn_era_penalty x P, 0, 1)``: ``shortfall`` is
  ``1 - good/good_miners_needed`` (clipped to 0-1), ``good`` the active teams on the subnet whose
  skill percentile is at least ``good_skill_quantile`` (burn when too few good miners: paying
  weak or copying miners is waste); ``P`` is 1 under a share rule that penalises burning
  (``price_burn``, ``price_rootprop_burn``: a burning subnet's emission share, and with it the
  owner's own cut, falls) and 0 otherwise. The owner's type ``theta_k`` is solved at the start so
  that the rule reproduces the starting burn exactly, with a random margin (``type_margin``)
  beyond the 0 %/100 % bounds for owners at a bound; the starting burn itself is the Nov 2025
  mix (``start_burn = "nov2025"``: 42 of 128 subnets burn 0 %, 53 burn 100 %, the rest spread
  over 10-99.99 %), assigned in the order of the snapshot's burns. Owners move
  ``burn_adjust_per_day`` of the way to their target each day;
* **abandoning** (daily): an owner whose subnet's USD alpha price has fallen by more than
  ``abandon_price_fall`` below its moving average (``abandon_window_days``) while it has fewer
  good miners than it needs abandons it with probability ``abandon_hazard_per_day``: it burns
  100 % from then on, sells ``abandon_sell_fraction`` of its stake, and the teams on the subnet
  leave (exit reason ``abandoned``) - a discrete event that moves TAO/USD by
  ``exp(-abandon_tao_usd_per_share x s)``, ``s`` the emission share of the subnets abandoned
  that day (and through ``market.exit_feedback``, when that is on, by the teams' income share);
* **buybacks** (daily, off by default): ``buyback_usd_per_day x`` usefulness of external
  revenue buys the subnet's alpha for its owner (:func:`~dtaosim.chain.pools.buy_batch` on
  ``STAKE_OWNER``);
* **registering** (daily, ``register_subnets``): would-be owners arrive as a Poisson process
  (``prospects_per_day``); each values a new subnet at the median owner cut a paying subnet
  earned over the last day (TAO) x ``horizon_days`` x a lognormal idea quality
  (``value_sigma``) and registers (:func:`dtaosim.chain.lifecycle.register_subnet`, which prunes
  at the limit and charges the lock) when that value beats the current lock cost. The scale of
  the value is solved per run at the start so that the rate of registrations then equals the
  scripted one it replaces (``exogenous.new_subnets_per_day``, 1 per 2.05 days): afterwards it
  follows owner income and the lock cost. New subnets start at 0 % burn (A8).

``enabled = false`` keeps only the selling (and the snapshot's burns, fixed), as in issue 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.stake import sell_from_holder
from dtaosim.chain.pools import buy_batch
from dtaosim.chain.presets import Mechanism, ShareRule
from dtaosim.errors import RegistrationError
from dtaosim.state.chain_state import SF, SI, ChainState
from dtaosim.state.neurons import NH, NI

__all__ = ["OwnersConfig", "OwnersState", "ScriptedAbandon", "nov2025_burns"]


class ScriptedAbandon(BaseModel):
    """A dated exit of the owners (and teams) of the ``subnets`` highest-emission subnets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: float = Field(..., ge=0, le=100_000, description="day of the exit (days from start)")
    subnets: int = Field(..., ge=1, le=4096,
                         description="how many subnets, by emission share")
    first_rank: int = Field(1, ge=1, le=4096,
                            description="emission-share rank of the first of them (1: the "
                                        "highest)")


class OwnersConfig(BaseModel):
    """Owners' selling and decisions (section ``[owners]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sell_fraction: float = Field(
        0.7, ge=0, le=1,
        description="share of the owner cut that owners sell through the pool, hourly "
                    "(dimensionless; assumed: owners pay engineers and servers in USD)")
    enabled: bool = Field(
        True, description="owners decide their burn, abandon and register subnets (false: "
                          "the snapshot's burns stay fixed and subnets register at the "
                          "scripted exogenous rate; selling stays)")
    start_burn: Literal["nov2025", "snapshot"] = Field(
        "nov2025", description="starting burn mix: the Nov 2025 count (42/128 at 0 %, 53/128 "
                               "at 100 %) assigned in the snapshot's order, or the snapshot's")
    burn_zero_share: float = Field(
        42 / 128, ge=0, le=1, description="nov2025: share of subnets burning 0 % (fraction)")
    burn_full_share: float = Field(
        53 / 128, ge=0, le=1, description="nov2025: share of subnets burning 100 % (fraction)")
    good_skill_quantile: float = Field(
        0.5, ge=0, le=1,
        description="skill percentile from which a miner team counts as good (fraction)")
    good_miners_needed: float = Field(
        1.0, gt=0, le=1000, description="good teams an owner wants before paying miners (count; "
                                        "assumed)")
    burn_gain: float = Field(
        1.0, ge=0, le=10, description="rise of the burn target per unit shortfall of good "
                                      "miners (dimensionless; assumed)")
    burn_era_penalty: float = Field(
        0.3, ge=0, le=2, description="fall of the burn target under a share rule that "
                                     "penalises burning (dimensionless; assumed)")
    type_margin: float = Field(
        0.5, ge=0, le=5, description="largest margin of an owner at 0 %/100 % beyond its bound "
                                     "(uniform 0..margin; dimensionless; assumed)")
    burn_adjust_per_day: float = Field(
        0.2, ge=0, le=1, description="share of the gap to the burn target closed per day")
    abandon_price_fall: float = Field(
        0.5, ge=0, le=1, description="fall of the USD alpha price below its moving average "
                                     "that makes an owner consider abandoning (fraction)")
    abandon_window_days: float = Field(
        30.0, gt=0, le=3650, description="window of that moving average (days)")
    abandon_hazard_per_day: float = Field(
        0.1, ge=0, le=1, description="daily probability of abandoning once both conditions hold")
    abandon_tao_usd_per_share: float = Field(
        3.5, ge=0, le=100,
        description="log fall of TAO/USD per unit emission share of the subnets abandoned "
                    "that day (dimensionless; assumed from Covenant AI, Apr 2026: ~16% for "
                    "three subnets with an assumed ~5% of emission)")
    abandon_sell_fraction: float = Field(
        1.0, ge=0, le=1, description="share of its stake an abandoning owner sells (fraction)")
    register_subnets: bool = Field(
        True, description="new subnets come from owners' expected-value decisions (replaces "
                          "exogenous.new_subnets_per_day when owners are enabled)")
    prospects_per_day: float = Field(
        2.0, ge=0, le=100, description="would-be owners weighing a registration per day")
    horizon_days: float = Field(
        365.0, gt=0, le=3650, description="horizon over which a prospect values a subnet (days)")
    value_sigma: float = Field(
        1.0, ge=0, le=5, description="log-s.d. of a prospect's idea quality (dimensionless)")
    buyback_usd_per_day: float = Field(
        0.0, ge=0, le=1e9,
        description="external revenue an owner spends on buying back its subnet's alpha, per "
                    "day per unit usefulness (USD/day; 0: off, as the baseline - outside demand "
                    "already stands for users and buybacks, C12)")
    scripted_abandon: list[ScriptedAbandon] = Field(
        default_factory=list,
        description="dated exits of big owners with their teams (day, subnets): Covenant AI "
                    "left subnets 3, 39 and 81 on 9-10 Apr 2026")


def nov2025_burns(snapshot_burn: NDArray[np.float64], exists: NDArray[np.bool_],
                  zero_share: float, full_share: float, g: np.random.Generator
                  ) -> NDArray[np.float64]:
    """One run's starting burns: the Nov 2025 mix assigned in the order of the snapshot's burns
    (ties in random order): the lowest ``zero_share`` burn 0, the highest ``full_share`` burn
    1, the rest evenly over 0.10-0.9999 in order."""
    out = snapshot_burn.copy()
    idx = np.flatnonzero(exists)
    n = idx.size
    if n == 0:
        return out
    order = idx[np.lexsort((g.random(n), snapshot_burn[idx]))]
    n0 = int(round(zero_share * n))
    n1 = min(n - n0, int(round(full_share * n)))
    nm = n - n0 - n1
    out[order[:n0]] = 0.0
    out[order[n - n1:]] = 1.0
    if nm:
        out[order[n0:n0 + nm]] = np.round(np.linspace(0.10, 0.9999, nm), 4)
    return out


def _penalised(mech: Mechanism) -> float:
    return 1.0 if int(mech.share_rule) in (int(ShareRule.PRICE_BURN),
                                           int(ShareRule.PRICE_ROOTPROP_BURN)) else 0.0


@dataclass
class OwnersState:
    """Owners' memory, arrays ``(runs, subnets)``.

    Attributes
    ----------
    cut_prev
        ``CUM_OWNER_CUT`` at the last selling step (RAO).
    theta
        Owner type: the burn target's intercept.
    reg_at
        Registration block of the subnet the type belongs to.
    abandoned
        The owner abandoned the subnet.
    lp_ema
        Moving average of the log USD alpha price (``nan`` until the first day).
    cut_day_prev, cut_day
        ``CUM_OWNER_CUT`` at the last daily step, and the owner cut of the last day (RAO).
    value_scale : ndarray, (runs,)
        Registration value scale (solved at the first daily step).
    abandoned_today : ndarray of int64, (runs,)
        Abandonments since the last record.
    """

    cut_prev: NDArray[np.int64]
    theta: NDArray[np.float64]
    reg_at: NDArray[np.int64]
    abandoned: NDArray[np.bool_]
    lp_ema: NDArray[np.float64]
    cut_day_prev: NDArray[np.int64]
    cut_day: NDArray[np.float64]
    value_scale: NDArray[np.float64]
    abandoned_count: NDArray[np.int64]
    registered_count: NDArray[np.int64]
    abandoned_share: NDArray[np.float64] | None = None

    @classmethod
    def create(cls, state: ChainState, cfg: OwnersConfig | None = None,
               rngs: list[np.random.Generator] | None = None,
               good: NDArray[np.float64] | None = None,
               mech: Mechanism | None = None) -> OwnersState:
        """Start from the state's cumulative owner cut; with ``cfg.enabled`` set the starting
        burn mix in ``state`` (``start_burn``) and solve each owner's type (``good``: good
        teams per subnet at the start)."""
        shape = (state.runs, state.subnets)
        theta = np.zeros(shape)
        if cfg is not None and cfg.enabled and rngs is not None and good is not None:
            exists = state.ints[:, :, SI.EXISTS] != 0
            burn = state.floats[:, :, SF.MINER_BURN_FRACTION]
            pen = _penalised(mech) if mech is not None else 1.0
            for r, g in enumerate(rngs):
                if cfg.start_burn == "nov2025":
                    burn[r] = nov2025_burns(burn[r], exists[r], cfg.burn_zero_share,
                                            cfg.burn_full_share, g)
                margin = cfg.type_margin * g.random(state.subnets)
                short = _shortfall(good[r], cfg)
                b = np.clip(burn[r], 0.0, 1.0)
                edge = np.where(b <= 0.0, -margin, np.where(b >= 1.0, margin, 0.0))
                theta[r] = b + edge - cfg.burn_gain * short + cfg.burn_era_penalty * pen
        cut = state.ints[:, :, SI.CUM_OWNER_CUT]
        return cls(cut.copy(), theta, state.ints[:, :, SI.REGISTERED_AT].copy(),
                   np.zeros(shape, dtype=bool), np.full(shape, np.nan), cut.copy(),
                   np.zeros(shape), np.full(state.runs, np.nan),
                   np.zeros(state.runs, dtype=np.int64), np.zeros(state.runs, dtype=np.int64))

    # ------------------------------------------------------------------ hourly
    def sell(self, state: ChainState, mech: Mechanism, cfg: OwnersConfig) -> None:
        """Sell ``sell_fraction`` of the owner cut paid since the last call."""
        cut = state.ints[:, :, SI.CUM_OWNER_CUT]
        new = np.maximum(cut - self.cut_prev, 0)
        self.cut_prev[:] = cut
        if cfg.sell_fraction <= 0.0 or not new.any():
            return
        amount = np.floor(new * cfg.sell_fraction).astype(np.int64)
        self._sell_owner_alpha(state, mech, amount)

    def _sell_owner_alpha(self, state: ChainState, mech: Mechanism,
                          amount: NDArray[np.int64]) -> None:
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

    # ------------------------------------------------------------------ daily
    def _new_slots(self, state: ChainState, cfg: OwnersConfig, mech: Mechanism,
                   good: NDArray[np.float64], rngs: list[np.random.Generator]) -> None:
        reg = state.ints[:, :, SI.REGISTERED_AT]
        new = reg != self.reg_at
        if not new.any():
            return
        pen = _penalised(mech)
        for r in np.flatnonzero(new.any(axis=1)):
            margin = cfg.type_margin * rngs[r].random(state.subnets)
            # a new owner starts at 0 % burn (A8) with a margin below it
            th = -margin - cfg.burn_gain * _shortfall(good[r], cfg) + cfg.burn_era_penalty * pen
            self.theta[r] = np.where(new[r], th, self.theta[r])
        self.abandoned[new] = False
        self.lp_ema[new] = np.nan
        self.cut_day_prev[new] = state.ints[:, :, SI.CUM_OWNER_CUT][new]
        self.reg_at[:] = reg

    def daily(self, state: ChainState, mech: Mechanism, cfg: OwnersConfig,
              good: NDArray[np.float64], usd_price: NDArray[np.float64],
              rngs: list[np.random.Generator], day: float = 0.0,
              prev_day: float = 0.0, decide: bool = True) -> NDArray[np.bool_]:
        """Burn decision and abandonment (and the scenario's scripted exits between
        ``prev_day`` and ``day``); returns the subnets abandoned today ``(runs, subnets)``
        (their teams are to leave). ``decide = False`` (owners' rules off): only the scripted
        exits happen."""
        self._new_slots(state, cfg, mech, good, rngs)
        exists = state.ints[:, :, SI.EXISTS] != 0
        cut = state.ints[:, :, SI.CUM_OWNER_CUT]
        self.cut_day[:] = np.where(exists, np.maximum(cut - self.cut_day_prev, 0), 0)
        self.cut_day_prev[:] = cut
        short = _shortfall(good, cfg)
        target = np.clip(self.theta + cfg.burn_gain * short
                         - cfg.burn_era_penalty * _penalised(mech), 0.0, 1.0)
        target = np.where(self.abandoned, 1.0, target)
        b = state.floats[:, :, SF.MINER_BURN_FRACTION]
        nb = b + cfg.burn_adjust_per_day * (target - b)
        nb = np.where(np.abs(target - nb) < 0.005, target, nb)
        if decide:
            b[:] = np.where(exists, nb, b)
        # abandonment: price fall below its moving average and too few good miners
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = np.where(usd_price > 0, np.log(np.where(usd_price > 0, usd_price, 1.0)), np.nan)
        a = min(1.0, 1.0 / cfg.abandon_window_days)
        fresh = np.isnan(self.lp_ema)
        fall = np.where(fresh, 0.0, 1.0 - np.exp(np.where(fresh, 0.0, lp - self.lp_ema)))
        self.lp_ema[:] = np.where(fresh, lp, self.lp_ema + a * (lp - self.lp_ema))
        u = np.stack([g.random(state.subnets) for g in rngs])
        quit_ = exists & ~self.abandoned & (fall > cfg.abandon_price_fall) \
            & (good < cfg.good_miners_needed) & (u < cfg.abandon_hazard_per_day) & decide
        for ev in cfg.scripted_abandon:
            if prev_day < ev.day <= day:
                share = np.where(exists & ~self.abandoned, state.floats[:, :, SF.SHARE], -1.0)
                top = np.argsort(-share, axis=1, kind="stable")[
                    :, ev.first_rank - 1:ev.first_rank - 1 + ev.subnets]
                pick = np.zeros_like(quit_)
                np.put_along_axis(pick, top, True, axis=1)
                quit_ |= pick & exists & ~self.abandoned
        self.abandoned_share = np.where(quit_, state.floats[:, :, SF.SHARE], 0.0).sum(axis=1)
        if quit_.any():
            self.abandoned |= quit_
            b[quit_] = 1.0
            self.abandoned_count += quit_.sum(axis=1)
            held = state.ints[:, :, SI.STAKE_OWNER]
            amt = np.where(quit_, np.floor(held * cfg.abandon_sell_fraction), 0).astype(np.int64)
            self._sell_owner_alpha(state, mech, amt)
        return quit_

    def buyback(self, state: ChainState, mech: Mechanism, cfg: OwnersConfig,
                usefulness: NDArray[np.float64], tao_usd: NDArray[np.float64]) -> None:
        """Owners of subnets not abandoned spend ``buyback_usd_per_day x usefulness`` of
        external revenue on their alpha (TAO from outside, through the pool); the alpha is
        staked to the owner's hotkey."""
        if cfg.buyback_usd_per_day <= 0.0:
            return
        exists = (state.ints[:, :, SI.EXISTS] != 0) & ~self.abandoned
        tao = np.where(exists, cfg.buyback_usd_per_day * usefulness / tao_usd[:, None], 0.0)
        amount = np.floor(tao * 1e9).astype(np.int64)
        if not amount.any():
            return
        got = buy_batch(state, mech, amount, SI.STAKE_OWNER)
        nrn = state.neurons
        if nrn is None or not got.any():
            return
        owner_hk = nrn.hyper[:, :, NH.OWNER_HOTKEY]
        is_owner = (nrn.ints[:, :, NI.HOTKEY, :] == owner_hk[:, :, None]) \
            & (owner_hk[:, :, None] >= 0)
        first = is_owner & (np.cumsum(is_owner, axis=2) == 1)
        nrn.ints[:, :, NI.ALPHA_STAKE, :] += np.where(first, got[:, :, None], 0)

    def register(self, state: ChainState, mech: Mechanism, cfg: OwnersConfig,
                 rngs: list[np.random.Generator], target_rate: float) -> None:
        """Would-be owners register subnets when their value beats the lock cost (module
        docstring); the value scale is solved at the first call for ``target_rate`` per day."""
        from dtaosim.agents.exogenous import owner_takes_uid0
        from dtaosim.chain.lifecycle import current_lock_cost, register_subnet

        if cfg.prospects_per_day <= 0.0:
            return
        exists = state.ints[:, :, SI.EXISTS] != 0
        for r, g in enumerate(rngs):
            paying = exists[r] & (self.cut_day[r] > 0)
            if not paying.any():
                continue
            ev = float(np.median(self.cut_day[r, paying])) * cfg.horizon_days
            lock = float(current_lock_cost(state, mech, r, state.block))
            if np.isnan(self.value_scale[r]):
                p = min(max(target_rate / cfg.prospects_per_day, 1e-6), 1.0 - 1e-6)
                z = float(_ndtri(1.0 - p))  # quality quantile a registering prospect exceeds
                self.value_scale[r] = lock / (ev * float(np.exp(cfg.value_sigma * z)))
            n = int(g.poisson(cfg.prospects_per_day))
            q = np.exp(cfg.value_sigma * g.standard_normal(n))
            for quality in q:
                lock = float(current_lock_cost(state, mech, r, state.block))
                if ev * self.value_scale[r] * quality <= lock:
                    continue
                try:
                    res = register_subnet(state, mech, r, state.block)
                except RegistrationError:
                    continue
                state.floats[r, res.netuid - 1, SF.MINER_BURN_FRACTION] = 0.0
                if state.neurons is not None:
                    owner_takes_uid0(state.neurons, r, res.netuid - 1, state.block)
                self.registered_count[r] += 1


def _shortfall(good: NDArray[np.float64], cfg: OwnersConfig) -> NDArray[np.float64]:
    return np.clip(1.0 - good / cfg.good_miners_needed, 0.0, 1.0)


def _ndtri(p: float) -> float:
    """Standard normal quantile (bisection on ``erf``; enough for a calibration constant)."""
    import math

    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
