"""The economy: every agent population of a run, stepped at its cadence.

:class:`Economy` holds the actors and what they share (the TAO/USD market, the subnets'
price statistics, random streams per run) and is what the scenario driver
(:func:`dtaosim.experiments.simulation.simulate`) calls at every action step::

    economy = Economy.create(state, cfg, seed)       # cfg: EconomyConfig (the scenario)
    ...
    economy.step(state, mech, dt_blocks)            # hourly; daily work when a day has passed

Cadences: the chain kernel runs every block; each action step (hourly) the market moves, noise
traders move stake in and out of the pools (zero mean), validators and owners sell part of what
they were paid, and miner teams book income and costs
and sell; once a day the subnets' statistics are updated, teams decide (exits, switches,
entries - registrations through the chain), owners set their burn, may abandon their subnet or
register new ones (:mod:`~dtaosim.agents.owners`), usefulness follows the talent each subnet
retains and outside holders trade on it (:mod:`~dtaosim.agents.usefulness`), stakers move
stake toward expected yield (:mod:`~dtaosim.agents.stakers`), leavers sell, and validators
rescore the miners. Each actor with decisions has an ``enabled`` switch (ablations).

Adding an actor (issue 11: stakers, owners' decisions, a demand loop) means: a config section
(a pydantic model with units, defaults and ranges) added to :class:`EconomyConfig`, a state
dataclass of arrays ``(runs, ...)``, its calls in :meth:`Economy.step` / :meth:`Economy._daily`
at its cadence, and its columns in :meth:`Economy.record`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dtaosim.agents.hardware import HardwareConfig, hardware_table
from dtaosim.agents.market import MarketConfig, MarketState
from dtaosim.agents.miners import MinersConfig, MinerTeams, SubnetView
from dtaosim.agents.noise import NoiseConfig, NoiseState
from dtaosim.agents.owners import OwnersConfig, OwnersState
from dtaosim.agents.scoring import ScoringConfig
from dtaosim.agents.stakers import StakersConfig, StakersState
from dtaosim.agents.streams import Process, RunStreams
from dtaosim.agents.teams import ACTIVE, EXIT_REASONS, TIER_NAMES
from dtaosim.agents.usefulness import UsefulnessConfig, UsefulnessState
from dtaosim.agents.validators import ValidatorsConfig, ValidatorsState
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import GI, SF, SI, STAKE_HOLDERS, ChainState
from dtaosim.units import BLOCKS_PER_DAY

__all__ = ["AgentsConfig", "Economy", "EconomyConfig"]


class AgentsConfig(BaseModel):
    """The behavioural layer as a whole (section ``[agents]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True, description="agents act (false: the chain with the scripted exogenous processes "
                          "only, assumption A15's registrations included)")


class EconomyConfig(BaseModel):
    """Every actor's configuration section (the behavioural part of a scenario)."""

    model_config = ConfigDict(extra="forbid")

    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    market: MarketConfig = Field(default_factory=MarketConfig)
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
    miners: MinersConfig = Field(default_factory=MinersConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    validators: ValidatorsConfig = Field(default_factory=ValidatorsConfig)
    owners: OwnersConfig = Field(default_factory=OwnersConfig)
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    stakers: StakersConfig = Field(default_factory=StakersConfig)
    usefulness: UsefulnessConfig = Field(default_factory=UsefulnessConfig)

    @model_validator(mode="after")
    def _holdings_fit(self) -> EconomyConfig:
        own = self.validators.own_share if self.validators.move_enabled else 0.0
        if self.stakers.chaser_share + self.stakers.conservative_share + own > 1.0:
            raise ValueError("stakers.chaser_share + stakers.conservative_share + "
                             "validators.own_share must be at most 1 (the rest of every "
                             "holding is the loyal stakers')")
        return self


_SIGMA0 = 0.067  # starting volatility estimate per day (R3 median)


class Economy:
    """The actors of one batch of runs and what they share (module docstring)."""

    def __init__(self, cfg: EconomyConfig, market: MarketState, miners: MinerTeams,
                 validators: ValidatorsState, owners: OwnersState, noise: NoiseState,
                 rngs: dict[str, list[np.random.Generator]], state: ChainState,
                 stakers: StakersState, usefulness: UsefulnessState) -> None:
        self.cfg = cfg
        self.stakers = stakers
        self.usefulness = usefulness
        self.mu_tao = np.zeros(state.runs)  # EMA of the daily log change of TAO/USD
        self.tao_usd_prev = market.tao_usd.copy()
        self.last_daily_day = 0.0
        # the scripted registration rate owners' decisions replace (set by the driver)
        self.registration_rate = 0.49
        self.market = market
        self.noise = noise
        self.miners = miners
        self.validators = validators
        self.owners = owners
        self.rngs = rngs
        self.start_block = int(state.block)
        self.next_daily = self.start_block + BLOCKS_PER_DAY
        self.last_record_day = 0.0
        shape = (state.runs, state.subnets)
        self.p_usd = state.spot_price() * market.tao_usd[:, None]
        self.mu = np.zeros(shape)
        self.sigma = np.full(shape, _SIGMA0)
        self.reg_at = state.ints[:, :, SI.REGISTERED_AT].copy()
        self.paid_prev = state.ints[:, :, SI.CUM_MINER_PAID].copy()
        self.pay_day = np.zeros(shape)
        self.scored = False  # validators score the teams at the first step

    @classmethod
    def create(cls, state: ChainState, cfg: EconomyConfig, seed: int) -> Economy:
        """Draw every population for ``state`` (which needs UIDs). With ``owners.enabled``
        the owners set their starting burns in ``state`` (``owners.start_burn``); nothing else
        of it is modified.

        Random streams: each population draws from its own stream per run
        (:class:`~dtaosim.agents.streams.RunStreams`: ``Process.TEAMS``, ``SCORING``,
        ``MARKET``, ``NOISE``), so a run's agents do not depend on how runs are batched, the
        exogenous streams are untouched, and two scenarios with the same seed see the same
        TAO/USD shocks and flow noise (common random numbers) whatever the teams do.
        """
        if state.neurons is None:
            raise ValueError("agents need UIDs (uids > 0): miner teams hold UIDs")
        streams = RunStreams(seed, state.runs)
        rngs = {name: streams[key] for name, key in (
            ("teams", Process.TEAMS), ("scoring", Process.SCORING),
            ("market", Process.MARKET), ("noise", Process.NOISE), ("owners", Process.OWNERS),
            ("owner_reg", Process.OWNER_REGISTRATIONS))}
        market = MarketState.create(cfg.market, state.runs)
        miners = MinerTeams.create(state, cfg.miners, cfg.hardware, rngs["teams"])
        validators = ValidatorsState.create(state, cfg.scoring, rngs["scoring"])
        owners = OwnersState.create(state, cfg.owners, rngs["owners"],
                                    miners.good_per_subnet(cfg.owners.good_skill_quantile))
        noise = NoiseState.create(state, cfg.noise, rngs["noise"])
        stakers = StakersState.create(state, cfg.stakers)
        usefulness = UsefulnessState.create(state, cfg.usefulness,
                                            miners.skill_per_subnet(cfg.usefulness.top_teams))
        return cls(cfg, market, miners, validators, owners, noise, rngs, state, stakers,
                   usefulness)

    @property
    def replaces_registrations(self) -> bool:
        """Owners register subnets by their own decisions (the scripted Poisson rate is off)."""
        return self.cfg.owners.enabled and self.cfg.owners.register_subnets

    def day(self, state: ChainState) -> float:
        """Days since the economy started."""
        return (state.block - self.start_block) / BLOCKS_PER_DAY

    # ------------------------------------------------------------------ stepping
    def step(self, state: ChainState, mech: Mechanism, dt_blocks: int) -> None:
        """One action step: hourly acts, then the daily ones when a day has passed."""
        cfg = self.cfg
        t1 = self.day(state)
        dt = dt_blocks / BLOCKS_PER_DAY
        if not self.scored:
            self._rescore(state)
            self.scored = True
        self.market.step(cfg.market, self.rngs["market"], t1 - dt, t1)
        self.noise.step(state, mech, cfg.noise, self.rngs["noise"], dt)
        self.validators.sell(state, mech, cfg.validators)
        self.owners.sell(state, mech, cfg.owners)
        self.miners.hourly(state, mech, self.market.tao_usd, t1, dt)
        while state.block >= self.next_daily:
            self.next_daily += BLOCKS_PER_DAY
            self._daily(state, mech, t1)

    def _daily(self, state: ChainState, mech: Mechanism, day: float) -> None:
        cfg = self.cfg
        view = self._subnet_view(state)
        self.miners.daily(state, mech, self.market.tao_usd, day, view, self.rngs["teams"])
        if cfg.owners.enabled or cfg.owners.scripted_abandon:
            good = self.miners.good_per_subnet(cfg.owners.good_skill_quantile)
            quit_ = self.owners.daily(state, mech, cfg.owners, good, self.p_usd,
                                      self.rngs["owners"], day, self.last_daily_day,
                                      decide=cfg.owners.enabled)
            self.miners.abandon(state, quit_)
            k = cfg.owners.abandon_tao_usd_per_share
            if k > 0.0 and quit_.any():  # an owner's exit is news for TAO/USD
                self.market.tao_usd *= np.exp(-k * self.owners.abandoned_share)
                np.maximum(self.market.tao_usd, cfg.market.floor_usd, out=self.market.tao_usd)
            if cfg.owners.enabled and cfg.owners.register_subnets:
                self.owners.register(state, mech, cfg.owners, self.rngs["owner_reg"],
                                     self.registration_rate)
        dl = self.usefulness.daily(state, mech, cfg.usefulness,
                                   self.miners.skill_per_subnet(cfg.usefulness.top_teams),
                                   day, self.last_daily_day)
        self.last_daily_day = day
        if cfg.owners.enabled:
            self.owners.buyback(state, mech, cfg.owners, self.usefulness.use,
                                self.market.tao_usd)
        if cfg.usefulness.tao_usd_elasticity > 0.0:
            self.market.tao_usd *= np.exp(dl)
            np.maximum(self.market.tao_usd, cfg.market.floor_usd, out=self.market.tao_usd)
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = np.log(self.market.tao_usd / self.tao_usd_prev)
        a = min(1.0, 2.0 / (cfg.stakers.window_days + 1.0))
        self.mu_tao += a * (np.nan_to_num(lr) - self.mu_tao)
        self.tao_usd_prev = self.market.tao_usd.copy()
        if cfg.stakers.enabled:
            self.stakers.daily(state, mech, cfg.stakers, self.mu, self.sigma,
                               self.usefulness.dlog, self.mu_tao,
                               cfg.market.volatility_per_day)
        if cfg.validators.move_enabled:
            self.validators.move(state, mech, cfg.validators)
        self.miners.liquidate(state, mech, self.market.tao_usd)
        self._rescore(state)
        self.market.shock(self.cfg.market, self.miners.leaving_share)

    def _subnet_view(self, state: ChainState) -> SubnetView:
        """Update the subnets' daily statistics and return the teams' view of them."""
        mcfg = self.cfg.miners
        p = state.spot_price() * self.market.tao_usd[:, None]
        reg = state.ints[:, :, SI.REGISTERED_AT]
        same = (reg == self.reg_at) & (p > 0) & (self.p_usd > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = np.where(same, np.log(np.where(same, p / np.where(same, self.p_usd, 1.0), 1.0)),
                          0.0)
        a = min(1.0, 2.0 / (mcfg.forecast_window_days + 1.0))
        var = np.where(same, self.sigma**2 + a * ((lr - self.mu) ** 2 - self.sigma**2),
                       _SIGMA0**2)
        self.mu = np.where(same, self.mu + a * (lr - self.mu), 0.0)
        self.sigma = np.sqrt(var)
        paid = state.ints[:, :, SI.CUM_MINER_PAID]
        self.pay_day = np.where(reg == self.reg_at, np.maximum(paid - self.paid_prev, 0), 0)
        self.paid_prev = paid.copy()
        self.reg_at = reg.copy()
        self.p_usd = p
        return self.miners.subnet_view(state, self.market.tao_usd, self.mu, self.sigma,
                                       self.pay_day.astype(np.float64))

    def _rescore(self, state: ChainState) -> None:
        self.validators.rescore(state, self.cfg.scoring, self.rngs["scoring"],
                                self.miners.eligible(state),
                                self.miners.uid_log_skill(self.day(state)))

    # ------------------------------------------------------------------ outputs
    def record(self, state: ChainState) -> dict[str, NDArray]:
        """The agents' ``network.parquet`` columns at this record (``CONTRACT.md``)."""
        day = self.day(state)
        out = {"tao_usd": self.market.tao_usd.copy()}
        out.update(self.miners.record(state, day, self.last_record_day))
        self.last_record_day = day
        ints = state.ints
        exists = ints[:, :, SI.EXISTS] != 0
        price = state.spot_price()
        out["root_stake_tao"] = state.gints[:, GI.ROOT_STAKE] / 1e9
        staked = sum(ints[:, :, h] for h in STAKE_HOLDERS)
        out["subnet_stake_tao"] = np.where(exists, staked * price, 0.0).sum(axis=1) / 1e9
        out["outside_tao"] = self.stakers.outside_tao / 1e9
        nopay = exists & (self.pay_day <= 0) & (ints[:, :, SI.REGISTERED_AT] == self.reg_at)
        # miner pay is known after the first day
        out["subnets_no_paid_miner"] = np.where(self.next_daily > self.start_block
                                                + BLOCKS_PER_DAY, nopay.sum(axis=1), np.nan)
        share = np.where(exists, state.floats[:, :, SF.SHARE], 0.0)
        srt = -np.sort(-share, axis=1)
        out["emission_top10_share"] = srt[:, :10].sum(axis=1)
        out["emission_gini"] = np.array([_gini(share[r, exists[r]]) for r in range(state.runs)])
        use = self.usefulness.use
        out["usefulness_mean"] = np.array([use[r, exists[r]].mean() if exists[r].any()
                                           else np.nan for r in range(state.runs)])
        out["usefulness_p90"] = np.array([np.percentile(use[r, exists[r]], 90)
                                          if exists[r].any() else np.nan
                                          for r in range(state.runs)])
        burn = state.floats[:, :, SF.MINER_BURN_FRACTION]
        n = np.maximum(exists.sum(axis=1), 1)
        out["owner_burn_mean"] = np.where(exists, burn, 0.0).sum(axis=1) / n
        out["subnets_burn_zero"] = (exists & (burn <= 0.0)).sum(axis=1).astype(np.int64)
        out["subnets_burn_full"] = (exists & (burn >= 1.0)).sum(axis=1).astype(np.int64)
        out["subnets_abandoned"] = self.owners.abandoned_count.copy()
        out["subnets_registered_by_owners"] = self.owners.registered_count.copy()
        self.owners.abandoned_count[:] = 0
        self.owners.registered_count[:] = 0
        return out

    def subnet_record(self, state: ChainState) -> dict[str, NDArray]:
        """The agents' per-subnet ``timeseries.parquet`` columns, arrays ``(runs, subnets)``."""
        return {"usefulness": self.usefulness.use.copy(),
                "outside_demand_tao": self.usefulness.demand_day / 1e9,
                "staker_flow_tao": self.stakers.flow_day / 1e9,
                "validator_flow_tao": self.validators.flow_day / 1e9}

    def teams_table(self, state: ChainState) -> dict[str, NDArray | list]:
        """One row per run and team that ever held a UID (``teams.parquet`` columns)."""
        ts = self.miners.teams
        r, t = np.nonzero(ts.entered_block >= 0)
        slot = ts.slot[r, t]
        reason = ts.exit_reason[r, t]
        tab = hardware_table()
        return {
            "run": r.astype(np.int64),
            "team": t.astype(np.int64),
            "netuid": np.where(slot >= 0, slot + 1, -1).astype(np.int64),
            "subnet_registered_at": ts.subnet_reg[r, t].astype(np.int64),
            "skill": ts.skill[r, t],
            "skill_tier": [TIER_NAMES[i] for i in ts.tier[r, t]],
            "hardware": [tab.names[i] for i in ts.hardware[r, t]],
            "cost_usd_day": (ts.cost_uid_day[r, t] * ts.start_uids[r, t]
                             * self.cfg.hardware.price_multiplier),
            "outside_option_usd_day": ts.outside_usd_day[r, t],
            "entered_block": ts.entered_block[r, t].astype(np.int64),
            "exited_block": np.where(ts.status[r, t] == ACTIVE, -1,
                                     ts.exited_block[r, t]).astype(np.int64),
            "exit_reason": [EXIT_REASONS[i] if i >= 0 else None for i in reason],
            "income_alpha": ts.income_alpha[r, t] / 1e9,
            "income_tao": ts.income_tao[r, t],
            "income_usd": ts.income_usd[r, t],
            "cost_usd": ts.cost_usd[r, t],
            "profit_usd": ts.income_usd[r, t] - ts.cost_usd[r, t],
            "switches": ts.switches[r, t].astype(np.int64),
            "alpha_held": ts.alpha_held[r, t] / 1e9,
        }


def _gini(x: NDArray[np.float64]) -> float:
    """Gini coefficient of non-negative values (nan for none or a zero sum)."""
    if x.size == 0 or x.sum() <= 0:
        return float("nan")
    v = np.sort(x)
    n = v.size
    return float((2.0 * np.arange(1, n + 1) - n - 1).dot(v) / (n * v.sum()))
