"""Miner teams in USD: costs, selling, entry, exit and switching.

The population lives in :class:`~dtaosim.agents.teams.TeamState` arrays ``(runs, teams)``; the
UIDs they hold are mapped by ``uid_team`` ``(runs, subnets, uids)``. Every decision is one
vectorised pass over those arrays; only registrations (the day's entries and switches, tens a
day per run) go through :func:`dtaosim.chain.uid_registration.register_hotkey` one event at a
time.

**Hourly** (:meth:`MinerTeams.hourly`):

1. teams on a subnet that was dissolved leave (``subnet_dissolved``); their alpha is paid out at
   the subnet's last dissolution rate (pool TAO per staked alpha);
2. income: the alpha Yuma paid each team's UIDs since the last step (``earned_miner``);
3. costs accrue (USD, :mod:`~dtaosim.agents.hardware`) and each team sells, through the pool,
   the alpha that brings its USD cash back to zero plus ``sell_extra_fraction`` of the hour's
   income (:func:`~dtaosim.agents.stake.sell_from_holder` on ``STAKE_MINERS``; UID stakes
   debited). USD income = TAO received x TAO/USD of the hour.

**Daily** (:meth:`MinerTeams.daily`), in this order:

1. forecast inputs: each team's income of the day, marked at the day's alpha price in USD,
   enters an exponential moving average (``window_days``), once the team has spent
   ``ramp_days`` on its subnet (a newcomer is scored below its skill while it learns the task:
   :meth:`MinerTeams.uid_log_skill`);
2. the outside pool: candidates older than ``candidate_patience_days`` give up; new ones
   arrive (Poisson, ``entry_pool_per_day`` x UIDs per subnet / 256);
3. switching: teams that review today (``review_per_day``; one review weighs every option),
   judged for ``min_days`` on their subnet (after the ramp) and not loyal, compare staying with
   the best other subnet (as an entrant would) and move when it clears the entry rule (better
   than leaving) and beats staying by ``switch_hurdle`` (an exit ``switched`` of the old subnet
   and an entry of the new one); staying is valued both from the team's own recent income and
   as it would value its subnet as an entrant (same optimism, no entry costs), the better of
   the two, so optimism alone does not make the grass greener elsewhere;
4. exits of the reviewing, judged teams that do not switch (a team stranded on a subnet that
   pays it nothing moves rather than quits when another subnet clears the entry rule), drawn
   from a logit so exits are not synchronised (Dixit 1992; Kwon et al. 2019):

   * ``cost``: forecast margin ``m = (forecast income - avoidable cost) / cost`` below
     ``-exit_band``; leave with probability ``logistic((-exit_band - m) / logit_scale)``. The
     avoidable cost excludes the sunk share of owned or reserved hardware, so their band is
     wider;
   * ``outside_option``: the outside option (``outside_usd_day``, or a funding offer to launch
     an own network that arrived today) beats staying by ``outside_hurdle`` of its value,
     drawn from the same logit; only for teams that cover their avoidable costs (or got an
     offer) - a team losing money is the cost test's;
5. entry: every candidate values each subnet - the pay now at the rank its skill would take
   there (read at its optimism quantile), growing at the subnet's recent USD price drift read
   at the same quantile, discounted at its cost of capital over ``horizon_days``, less its costs
   - and picks the best by a logit choice; it registers when the value clears the registration
   burn plus set-up cost (hardware, and ``subnet_rnd_days`` of the team's time to build a miner
   for the task) by ``entry_hurdle``. The burn it accepts is passed to the chain as the
   registration's limit price, so a subnet whose burn jumped is refused, as on chain;
6. teams whose last UID the chain pruned leave (``deregistered``); leavers (and switchers)
   sell their alpha (``sell_on_exit``).

The forecast: income now ``I``, subnet USD-price drift ``mu`` and volatility ``sigma`` per day
(EMAs over ``forecast_window_days``), optimism quantile ``z``, cost of capital ``rho`` per day,
horizon ``H``: the present value of income is ``I x A(rho - g)`` with
``g = clip(mu + z sigma / sqrt(H), +-forecast_drift_cap)`` and ``A(x) = (1 - exp(-x H)) / x``
(an annuity with growth); costs ``c x A(rho)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.exogenous import next_hotkey
from dtaosim.agents.hardware import HardwareConfig, hardware_table
from dtaosim.agents.stake import sell_from_holder
from dtaosim.agents.teams import (
    ACTIVE,
    CANDIDATE,
    EXIT_REASONS,
    FREE,
    GONE,
    R_ABANDONED,
    R_COST,
    R_DEREGISTERED,
    R_DISSOLVED,
    R_OUTSIDE,
    R_SWITCHED,
    T_ENTRANT,
    T_REST,
    T_TOP_DECILE,
    T_TOP_QUARTILE,
    TeamState,
)
from dtaosim.chain.presets import Mechanism
from dtaosim.errors import RegistrationError
from dtaosim.state.chain_state import SI, STAKE_HOLDERS, ChainState
from dtaosim.state.neurons import NH, NI
from dtaosim.units import BLOCKS_PER_DAY, RAO_PER_TAO

__all__ = ["MinerTeams", "MinersConfig", "SubnetView", "annuity"]

_RAO = float(RAO_PER_TAO)


class MinersConfig(BaseModel):
    """Miner teams: population, selling and decisions (section ``[miners]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- population
    skill_sigma: float = Field(
        1.0, gt=0, le=5, description="log-s.d. of the lognormal skill draw (dimensionless)")
    team_size_mean: float = Field(
        2.0, ge=1, le=50, description="mean people per team: 1 + Poisson(mean - 1) (people)")
    capital_rate_min: float = Field(
        0.25, ge=0, le=5, description="lowest cost of capital (1/year; agentFIL: 25-50%)")
    capital_rate_max: float = Field(
        0.50, ge=0, le=5, description="highest cost of capital (1/year), uniform in between")
    optimism_mean: float = Field(
        0.6, gt=0, lt=1,
        description="mean forecast quantile (0.5 = unbiased; Beta draw; dimensionless)")
    optimism_concentration: float = Field(
        10.0, gt=0, le=1000, description="Beta concentration a + b of the optimism draw")
    self_assessment_sigma: float = Field(
        0.5, ge=0, le=5,
        description="s.d. of a team's view of its own log skill, read at its optimism "
                    "quantile when it guesses its rank (log-skill units)")
    loyal_fraction: float = Field(
        0.1, ge=0, le=1,
        description="share of teams that never leave on cost or outside option (Kwon et al. "
                    "2019: loyal vs fickle miners; share assumed)")
    outside_salary_usd_year: float = Field(
        206_000.0, ge=0, le=1e8,
        description="outside salary per person (USD/year; US ML engineer 2025: ~206k)")
    outside_skill_premium: float = Field(
        0.56, ge=0, le=10,
        description="salary premium of the most skilled (x skill percentile; AI skill premium "
                    "~56%)")
    outside_option_weight: float = Field(
        0.1, ge=0, le=1,
        description="share of the team's outside salary that mining gives up (part-time "
                    "teams; dimensionless; assumed)")
    funding_skill_quantile: float = Field(
        0.9, ge=0, le=1,
        description="teams above this skill percentile may be offered funding to launch "
                    "their own network (dimensionless)")
    funding_offers_per_year: float = Field(
        0.01, ge=0, le=365,
        description="offers per eligible team per year (1/year; assumed from ~2-4 Bittensor "
                    "teams a year raising to leave: Nous Research)")
    funding_median_usd: float = Field(
        10e6, ge=0, le=1e11,
        description="median value of an offer (USD; Nous $50M, Gensyn $43M, Prime Intellect "
                    "~$70M; decentralised-AI VC ~$0.4-0.65B/year)")
    funding_sigma: float = Field(
        1.0, ge=0, le=5, description="log-s.d. of the offer value (dimensionless)")
    funding_horizon_days: float = Field(
        1095.0, gt=0, le=36_500,
        description="days over which an offer's value is spread when compared with staying "
                    "(days)")
    subnet_rnd_days: float = Field(
        14.0, ge=0, le=3650,
        description="days of the team's own work (valued at the full outside salary) to build "
                    "a competitive miner for a new subnet's task: an opportunity cost of "
                    "entering or switching, weighed in the decision and not booked (days)")
    ramp_days: float = Field(
        14.0, ge=0, le=365,
        description="days a team needs on a new subnet before validators score its work at "
                    "its full skill (learning the task; days)")
    ramp_penalty: float = Field(
        0.7, ge=0, le=20,
        description="how far below its skill a newly arrived team scores, falling linearly "
                    "to 0 over ramp_days (log-skill units)")
    # --- selling
    sell_extra_fraction: float = Field(
        0.8, ge=0, le=1,
        description="share of each hour's alpha income sold on top of what covers the USD "
                    "costs (dimensionless; assumed: miners sell most of what they earn)")
    sell_on_exit: bool = Field(True, description="a leaving team sells all its alpha")
    # --- decisions
    window_days: float = Field(
        21.0, ge=1, le=365,
        description="window of the income moving average a team judges itself on (days; "
                    "BEHAVIOUR.md: 14-30)")
    forecast_window_days: float = Field(
        30.0, ge=1, le=365,
        description="window of the subnet price drift and volatility estimates (days)")
    forecast_drift_cap_per_year: float = Field(
        2.0, ge=0, le=100,
        description="cap on the absolute price growth a forecast extrapolates (1/year): a "
                    "few weeks' trend is not projected over the horizon unchecked")
    min_days: float = Field(
        7.0, ge=0, le=365, description="days on a subnet before a team considers leaving (days)")
    horizon_days: float = Field(
        90.0, ge=1, le=3650, description="planning horizon of every valuation (days)")
    review_per_day: float = Field(
        0.15, gt=0, le=1,
        description="probability that a team reviews staying on a given day (1/day)")
    exit_band: float = Field(
        0.1, ge=0, le=10,
        description="leave on cost when the forecast margin is below -band (fraction of "
                    "cost; hysteresis against entry_hurdle)")
    logit_scale: float = Field(
        0.1, gt=0, le=10,
        description="scale of the logit that draws exits and choices (fraction of cost)")
    entry_hurdle: float = Field(
        0.25, ge=0, le=10,
        description="entry needs a net present value above this share of the committed "
                    "costs (operating costs over the horizon + entry cost)")
    outside_hurdle: float = Field(
        0.2, ge=0, le=10,
        description="leave for the outside option when it beats staying by this share of its "
                    "value")
    switch_hurdle: float = Field(
        0.5, ge=0, le=10,
        description="switch subnet when the best other subnet beats staying by this share "
                    "of the committed costs")
    # --- the outside pool
    entry_pool_per_day: float = Field(
        30.0, ge=0, le=100_000,
        description="candidate teams joining the outside pool per day per run, for subnets of "
                    "256 UIDs; scaled by UIDs per subnet / 256 so that a smaller metagraph "
                    "sees the same entry pressure per UID (1/day; assumed)")
    candidate_patience_days: float = Field(
        14.0, gt=0, le=3650, description="days a candidate waits for a good subnet (days)")


def annuity(rate: NDArray[np.float64], horizon: float) -> NDArray[np.float64]:
    """Present value of 1 per day for ``horizon`` days at continuous ``rate`` per day.

    ``(1 - exp(-rate H)) / rate``, and ``H`` where ``rate`` is 0 (finite for negative rates).
    """
    x = np.asarray(rate, dtype=np.float64) * horizon
    small = np.abs(x) < 1e-9
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        a = -np.expm1(-x) / np.where(small, 1.0, rate)
    return np.where(small, horizon, a)


@dataclass
class SubnetView:
    """What every team can read about the subnets each day (arrays ``(runs, subnets)``).

    Attributes
    ----------
    exists
        Slot holds a subnet.
    usd_per_alpha
        Alpha spot price in USD.
    mu, sigma
        EMA drift and volatility of the daily log change of the USD alpha price (per day).
    pay_by_rank : ndarray of float64, (runs, subnets, uids)
        Alpha per day paid at each miner rank (best first), from the last epoch's incentives and
        the last day's miner payout.
    ranked_skill : ndarray of float64, (runs, subnets, uids)
        Log skills of the active teams' UIDs, ascending, padded with ``-1e6`` at the start.
    burn_tao
        Current registration burn (TAO).
    """

    exists: NDArray[np.bool_]
    usd_per_alpha: NDArray[np.float64]
    mu: NDArray[np.float64]
    sigma: NDArray[np.float64]
    pay_by_rank: NDArray[np.float64]
    ranked_skill: NDArray[np.float64]
    burn_tao: NDArray[np.float64]


_PAD = -1e6  # log skill of an empty rank
_OFFSET = 1e7  # separates subnets in the flattened rank search


def _logistic(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class MinerTeams:
    """The miner-team actor: population arrays, UID map and the hourly and daily steps."""

    def __init__(self, cfg: MinersConfig, hardware: HardwareConfig, teams: TeamState,
                 pool: TeamState, uid_team: NDArray[np.int32], uid_prev: NDArray[np.int64],
                 next_coldkey: NDArray[np.int64]) -> None:
        self.cfg = cfg
        self.hardware = hardware
        self.teams = teams
        self.pool = pool
        self.uid_team = uid_team
        self.uid_prev = uid_prev
        self.next_coldkey = next_coldkey
        self.n_teams = np.zeros(teams.runs, dtype=np.int64)  # slots used per run
        self.diss_rate = np.zeros(uid_team.shape[:2])  # TAO per staked alpha, last hour
        self.exits = np.zeros((teams.runs, len(EXIT_REASONS)), dtype=np.int64)
        self.entries = np.zeros(teams.runs, dtype=np.int64)
        self.leaving_share = np.zeros(teams.runs)  # miner income share of today's leavers
        self._pending: list[tuple[NDArray, ...]] = []  # (run, team, slot, alpha) to sell
        self.day = 0.0  # days since the start, as of the last step

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, state: ChainState, cfg: MinersConfig, hardware: HardwareConfig,
               rngs: list[np.random.Generator]) -> MinerTeams:
        """The starting teams: one per (subnet, coldkey) of the starting metagraph's miners.

        A miner UID is one without a validator permit and not the owner's hotkey; the
        coldkey's miner UIDs on a subnet form one team. Every team's profile is drawn as an
        entrant's (:meth:`_draw`); skill tiers are assigned within each run's starting teams.
        """
        nrn = state.neurons
        if nrn is None:
            raise ValueError("miner teams need a state with UIDs (state.neurons)")
        runs, subnets, uids = nrn.runs, nrn.subnets, nrn.uids
        hot = nrn.ints[:, :, NI.HOTKEY, :]
        cold = nrn.ints[:, :, NI.COLDKEY, :]
        owner = nrn.hyper[:, :, NH.OWNER_HOTKEY][:, :, None]
        exists = (state.ints[:, :, SI.EXISTS] != 0)[:, :, None]
        miner = (hot >= 0) & ~nrn.permit & (hot != owner) & exists
        uid_team = np.full((runs, subnets, uids), -1, dtype=np.int32)
        counts = np.zeros(runs, dtype=np.int64)
        keys_per_run = []
        for r in range(runs):  # per run: unique (slot, coldkey) pairs (no loop over UIDs)
            k, u = np.nonzero(miner[r])
            key = k.astype(np.int64) * (1 << 40) + cold[r, k, u]
            uniq, inv = np.unique(key, return_inverse=True)
            uid_team[r, k, u] = inv
            counts[r] = uniq.size
            keys_per_run.append(uniq)
        cap = max(64, int(counts.max()) * 2)
        teams = TeamState.empty(runs, cap)
        pool_cap = max(16, int(math.ceil(cfg.entry_pool_per_day * uids / 256.0
                                         * cfg.candidate_patience_days * 1.5)) + 16)
        pool = TeamState.empty(runs, pool_cap)
        next_ck = np.array([max(int(cold[r].max()), int(nrn.hotkey[r].max())) + 1
                            for r in range(runs)], dtype=np.int64) + (1 << 32)
        self = cls(cfg, hardware, teams, pool, uid_team,
                   nrn.ints[:, :, NI.EARNED_MINER, :].copy(), next_ck)
        block = int(state.block)
        for r, g in enumerate(rngs):
            n = int(counts[r])
            rows = np.arange(n)
            self._draw(teams, r, rows, g, day=0.0)
            uniq = keys_per_run[r]
            teams.coldkey[r, :n] = uniq & ((1 << 40) - 1)
            teams.slot[r, :n] = (uniq >> 40).astype(np.int32)
            teams.subnet_reg[r, :n] = state.ints[r, teams.slot[r, :n], SI.REGISTERED_AT]
            teams.n_uids[r, :n] = np.bincount(uid_team[r][uid_team[r] >= 0], minlength=n)
            teams.start_uids[r, :n] = teams.n_uids[r, :n]
            teams.status[r, :n] = ACTIVE
            teams.entered_block[r, :n] = block
            teams.joined_day[r, :n] = -cfg.ramp_days  # established on their subnets
            q = np.argsort(np.argsort(-teams.skill[r, :n], kind="stable"), kind="stable") / n
            teams.tier[r, :n] = np.where(q < 0.1, T_TOP_DECILE,
                                         np.where(q < 0.25, T_TOP_QUARTILE, T_REST))
        self.n_teams[:] = counts
        self._update_diss_rate(state)
        return self

    def _draw(self, ts: TeamState, r: int, rows: NDArray[np.int64], g: np.random.Generator,
              day: float) -> None:
        """Draw the profiles of rows ``rows`` of run ``r`` (skill, hardware, costs, ...)."""
        cfg = self.cfg
        n = rows.size
        if n == 0:
            return
        tab = hardware_table()
        z = g.standard_normal(n)
        ts.log_skill[r, rows] = cfg.skill_sigma * z
        ts.skill[r, rows] = np.exp(cfg.skill_sigma * z)
        ts.skill_pct[r, rows] = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
        hw = g.choice(len(tab.names), size=n, p=self.hardware.probabilities())
        ts.hardware[r, rows] = hw
        ts.cost_uid_day[r, rows] = tab.usd_per_day[hw]
        ts.sunk[r, rows] = tab.sunk_fraction[hw]
        ts.setup_usd[r, rows] = tab.setup_usd[hw]
        size = 1 + g.poisson(cfg.team_size_mean - 1.0, n)
        ts.team_size[r, rows] = size
        lo, hi = sorted((cfg.capital_rate_min, cfg.capital_rate_max))
        ts.capital_rate[r, rows] = g.uniform(lo, hi, n)
        a = cfg.optimism_mean * cfg.optimism_concentration
        b = (1.0 - cfg.optimism_mean) * cfg.optimism_concentration
        q = np.clip(g.beta(a, b, n), 1e-6, 1 - 1e-6)
        ts.optimism_z[r, rows] = _ndtri(q)
        ts.loyal[r, rows] = g.random(n) < cfg.loyal_fraction
        ts.outside_usd_day[r, rows] = (cfg.outside_salary_usd_year / 365.0 * size
                                       * (1.0 + cfg.outside_skill_premium
                                          * ts.skill_pct[r, rows])
                                       * cfg.outside_option_weight)
        ts.joined_day[r, rows] = day
        ts.tier[r, rows] = T_ENTRANT

    # ------------------------------------------------------------------ helpers
    def _update_diss_rate(self, state: ChainState) -> None:
        """Pool TAO per alpha a dissolution would pay holders (chain's pro-rata weights)."""
        i = state.ints
        w = sum(i[:, :, f] for f in STAKE_HOLDERS) + i[:, :, SI.PROTOCOL_ALPHA] \
            + np.where(i[:, :, SI.LEGACY] != 0, 0, i[:, :, SI.ALPHA_IN])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.diss_rate = np.where(w > 0, i[:, :, SI.TAO_RESERVE] / np.maximum(w, 1), 0.0)

    def usd_per_alpha_rao(self, state: ChainState, tao_usd: NDArray[np.float64]
                          ) -> NDArray[np.float64]:
        """USD per RAO of alpha on each team's subnet, ``(runs, teams)`` (0 without one)."""
        price = state.spot_price() * tao_usd[:, None] / _RAO
        slot = self.teams.slot
        return np.where(slot >= 0, np.take_along_axis(price, np.maximum(slot, 0), axis=1), 0.0)

    # ------------------------------------------------------------------ hourly
    def hourly(self, state: ChainState, mech: Mechanism, tao_usd: NDArray[np.float64],
               day: float, dt_days: float) -> None:
        """Dissolutions, income, costs and selling (module docstring)."""
        ts = self.teams
        self.day = day
        self._dissolved(state, tao_usd)
        earned = np.zeros((ts.runs, ts.capacity), dtype=np.int64)
        _collect_income(self.uid_team, state.neurons.ints[:, :, NI.EARNED_MINER, :],
                        self.uid_prev, earned)
        ts.alpha_held += earned
        inc = earned.astype(np.float64)
        ts.income_alpha += inc
        ts.day_alpha += inc
        active = ts.status == ACTIVE
        cost = np.where(active, ts.cost_uid_day * ts.n_uids, 0.0) \
            * self.hardware.price_index(day) * dt_days
        ts.cost_usd += cost
        ts.cash_usd -= cost
        upa = self.usd_per_alpha_rao(state, tao_usd)
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(upa > 0, np.maximum(-ts.cash_usd, 0.0) / upa, 0.0)
        want = np.floor(need + self.cfg.sell_extra_fraction * inc)
        sell = np.where(active & (upa > 0), np.minimum(want, ts.alpha_held), 0).astype(np.int64)
        r, t = np.nonzero(sell > 0)
        if r.size:
            sold = self._sell(state, mech, r, t, ts.slot[r, t], sell[r, t], tao_usd)
            ts.alpha_held[r, t] -= sold
            self._debit_uids(state, r, t, sold)
        self._update_diss_rate(state)

    def _sell(self, state: ChainState, mech: Mechanism, r: NDArray[np.int64],
              t: NDArray[np.int64], k: NDArray[np.int64], amt: NDArray[np.int64],
              tao_usd: NDArray[np.float64]) -> NDArray[np.int64]:
        """Sell ``amt`` RAO of alpha for team ``t`` of run ``r`` on subnet slot ``k`` (one
        entry each; a team may appear more than once) in one batch through the pools.

        Books the TAO and USD received; returns the alpha sold per entry (the caller takes it
        off the books). All entries on a subnet sell together, so they share the slippage.
        """
        ts = self.teams
        key = r * state.subnets + k
        size = state.runs * state.subnets
        req = np.bincount(key, weights=amt.astype(np.float64), minlength=size)
        req = req.astype(np.int64).reshape(state.runs, state.subnets)
        sold_k, tao_k = sell_from_holder(state, mech, req, SI.STAKE_MINERS)
        full = sold_k[r, k] == req[r, k]
        frac = np.where(req[r, k] > 0, sold_k[r, k] / np.maximum(req[r, k], 1), 0.0)
        sold = np.where(full, amt, np.floor(amt * frac).astype(np.int64))
        # a partial fill (price limit hit) leaves floor dust: give it to the largest seller
        part = np.flatnonzero(~full & (sold_k[r, k] > 0))
        if part.size:
            left = sold_k.ravel().copy()
            np.subtract.at(left, key, sold)
            for key_i in np.unique(key[part]):
                j = part[key[part] == key_i]
                jj = j[np.argmax(amt[j])]
                sold[jj] += left[key_i]
                left[key_i] = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            tao = np.where(sold_k[r, k] > 0, tao_k[r, k] * (sold / np.maximum(sold_k[r, k], 1)),
                           0.0) / _RAO
        usd = tao * tao_usd[r]
        np.add.at(ts.income_tao, (r, t), tao)
        np.add.at(ts.income_usd, (r, t), usd)
        np.add.at(ts.cash_usd, (r, t), usd)
        return sold

    def _debit_uids(self, state: ChainState, r: NDArray[np.int64], t: NDArray[np.int64],
                    sold: NDArray[np.int64]) -> None:
        """Take each team's sale from its UIDs' stakes, pro rata to them (never below 0)."""
        per_team = np.zeros((self.teams.runs, self.teams.capacity), dtype=np.int64)
        np.add.at(per_team, (r, t), sold)
        _debit(self.uid_team, state.neurons.ints[:, :, NI.ALPHA_STAKE, :], per_team)

    def _dissolved(self, state: ChainState, tao_usd: NDArray[np.float64]) -> None:
        """Teams whose subnet slot was dissolved (or re-registered) leave."""
        ts = self.teams
        active = ts.status == ACTIVE
        if not active.any():
            return
        k = np.maximum(ts.slot, 0)
        reg = np.take_along_axis(state.ints[:, :, SI.REGISTERED_AT], k, axis=1)
        ex = np.take_along_axis(state.ints[:, :, SI.EXISTS], k, axis=1)
        gone = active & ((reg != ts.subnet_reg) | (ex == 0))
        if not gone.any():
            return
        r, t = np.nonzero(gone)
        tao = ts.alpha_held[r, t] * self.diss_rate[r, k[r, t]] / _RAO
        ts.income_tao[r, t] += tao
        ts.income_usd[r, t] += tao * tao_usd[r]
        ts.cash_usd[r, t] += tao * tao_usd[r]
        ts.alpha_held[r, t] = 0
        slots = np.zeros(self.uid_team.shape[:2], dtype=bool)
        slots[r, k[r, t]] = True
        self.uid_team[slots] = -1
        self.uid_prev[slots] = 0
        self._leave(state, r, t, R_DISSOLVED)

    def _leave(self, state: ChainState, r: NDArray[np.int64], t: NDArray[np.int64],
               reason: int) -> None:
        """Mark teams as gone: reason, block, no UIDs (their UIDs stay until pruned)."""
        ts = self.teams
        ts.status[r, t] = GONE
        ts.exit_reason[r, t] = reason
        ts.exited_block[r, t] = state.block
        ts.n_uids[r, t] = 0
        np.add.at(self.exits[:, reason], r, 1)
        gone = np.zeros((ts.runs, ts.capacity), dtype=bool)
        gone[r, t] = True
        held = self.uid_team >= 0
        lost = held & np.take_along_axis(gone, np.maximum(self.uid_team, 0).reshape(ts.runs, -1),
                                         axis=1).reshape(self.uid_team.shape)
        self.uid_team[lost] = -1

    # ------------------------------------------------------------------ daily
    def subnet_view(self, state: ChainState, tao_usd: NDArray[np.float64],
                    mu: NDArray[np.float64], sigma: NDArray[np.float64],
                    miner_pay_day: NDArray[np.float64]) -> SubnetView:
        """The subnets as the teams see them today (:class:`SubnetView`)."""
        nrn = state.neurons
        exists = state.ints[:, :, SI.EXISTS] != 0
        upa = state.spot_price() * tao_usd[:, None]
        owner = nrn.hyper[:, :, NH.OWNER_HOTKEY][:, :, None]
        miner = (nrn.ints[:, :, NI.HOTKEY, :] >= 0) & ~nrn.permit \
            & (nrn.ints[:, :, NI.HOTKEY, :] != owner)
        inc = np.where(miner, nrn.floats[:, :, 0, :], 0.0)  # NF.INCENTIVE
        tot = inc.sum(axis=2, keepdims=True)
        share = np.where(tot > 0, inc / np.where(tot > 0, tot, 1.0), 0.0)
        pay = -np.sort(-share, axis=2) * miner_pay_day[:, :, None]
        active = self.eligible(state)
        ls = np.where(active, self.uid_log_skill(self.day), _PAD)
        ls.sort(axis=2)
        burn = state.ints[:, :, SI.NEURON_BURN] / _RAO
        return SubnetView(exists, upa, mu, sigma, pay, ls, burn)

    def good_per_subnet(self, quantile: float) -> NDArray[np.float64]:
        """Active teams per subnet slot whose skill percentile is at least ``quantile``,
        ``(runs, subnets)``."""
        ts = self.teams
        out = np.zeros(self.uid_team.shape[:2])
        r, t = np.nonzero((ts.status == ACTIVE) & (ts.slot >= 0) & (ts.skill_pct >= quantile))
        np.add.at(out, (r, ts.slot[r, t]), 1.0)
        return out

    def skill_per_subnet(self, top: int) -> NDArray[np.float64]:
        """Sum of the skills of the ``top`` most skilled active teams of each subnet slot,
        ``(runs, subnets)``."""
        ts = self.teams
        runs, subnets = self.uid_team.shape[:2]
        act = (ts.status == ACTIVE) & (ts.slot >= 0)
        out = np.zeros((runs, subnets))
        for r in range(runs):
            t = np.flatnonzero(act[r])
            if t.size == 0:
                continue
            k = ts.slot[r, t]
            order = np.lexsort((-ts.skill[r, t], k))
            ks, sk = k[order], ts.skill[r, t][order]
            first = np.searchsorted(ks, ks, side="left")
            keep = (np.arange(ks.size) - first) < top
            np.add.at(out[r], ks[keep], sk[keep])
        return out

    def abandon(self, state: ChainState, slots: NDArray[np.bool_]) -> None:
        """Teams on subnets whose owner abandoned them (``slots``, ``(runs, subnets)``) leave
        (reason ``abandoned``) and sell their alpha; their income share joins today's
        leavers' (TAO/USD feedback)."""
        ts = self.teams
        act = (ts.status == ACTIVE) & (ts.slot >= 0)
        hit = act & np.take_along_axis(slots, np.maximum(ts.slot, 0), axis=1)
        if not hit.any():
            return
        tot = np.where(act, ts.ema_income_usd, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.leaving_share += np.where(
                tot > 0, np.where(hit, ts.ema_income_usd, 0.0).sum(axis=1)
                / np.where(tot > 0, tot, 1.0), 0.0)
        r, t = np.nonzero(hit)
        if self.cfg.sell_on_exit:
            self._queue_sale(state, r, t)
        self._leave(state, r, t, R_ABANDONED)

    def eligible(self, state: ChainState) -> NDArray[np.bool_]:
        """Miner UIDs held by an active team (validators weight only these)."""
        held = self.uid_team >= 0
        st = np.take_along_axis(self.teams.status, np.maximum(self.uid_team, 0).reshape(
            self.teams.runs, -1), axis=1).reshape(self.uid_team.shape)
        return held & (st == ACTIVE) & ~state.neurons.permit

    def uid_log_skill(self, day: float) -> NDArray[np.float64]:
        """The skill validators see in each UID (0 where no team holds it): the holding team's
        log skill, less ``ramp_penalty`` x the share of ``ramp_days`` it has still to spend on
        the subnet to learn its task."""
        ts = self.teams
        cfg = self.cfg
        ramp = 0.0 if cfg.ramp_days <= 0 else cfg.ramp_penalty * np.clip(
            1.0 - (day - ts.joined_day) / cfg.ramp_days, 0.0, 1.0)
        eff = ts.log_skill - ramp
        ls = np.take_along_axis(eff, np.maximum(self.uid_team, 0).reshape(ts.runs, -1),
                                axis=1).reshape(self.uid_team.shape)
        return np.where(self.uid_team >= 0, ls, 0.0)

    def _value(self, view: SubnetView, r: int, log_skill: NDArray[np.float64],
               opt_z: NDArray[np.float64], cost_day: NDArray[np.float64],
               rho: NDArray[np.float64], entry_usd: NDArray[np.float64],
               tao_usd: float, ramp: bool = True, cols: NDArray[np.int64] | None = None
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Net present value of entering each subnet of run ``r`` for a set of teams.

        Returns ``(npv, committed)``, both ``(teams, subnets)`` in USD: ``npv`` = PV(pay at the
        perceived rank) - PV(cost) - set-up - burn; ``committed`` = PV(cost) + set-up + burn.
        With ``ramp`` the team knows it scores below its skill while it learns a new subnet's
        task: for the first ``ramp_days`` it is paid at the rank of its skill less half of
        ``ramp_penalty`` (the handicap's average over the ramp), and at its full skill after.
        ``cols`` (slots, increasing) restricts the columns to those subnets, with the same
        values as the full call's columns.
        """
        cfg = self.cfg
        k = np.arange(view.exists.shape[1]) if cols is None else np.asarray(cols)
        own = log_skill + opt_z * cfg.self_assessment_sigma
        usd = view.usd_per_alpha[r][None, k]
        pay_usd = self._pay_at(view, r, own, k) * usd
        h = cfg.horizon_days
        g = self._growth(view.mu[r][None, k], view.sigma[r][None, k], opt_z[:, None])
        grow = rho[:, None] - g
        pv_pay = pay_usd * annuity(grow, h)
        if ramp and cfg.ramp_days > 0 and cfg.ramp_penalty > 0:
            first = annuity(grow, min(cfg.ramp_days, h))
            learning = self._pay_at(view, r, own - 0.5 * cfg.ramp_penalty, k) * usd
            pv_pay = pv_pay - (pay_usd - learning) * first
        pv_cost = cost_day[:, None] * annuity(rho, h)[:, None]
        fixed = entry_usd[:, None] + view.burn_tao[r][None, k] * tao_usd
        npv = pv_pay - pv_cost - fixed
        npv = np.where(view.exists[r][None, k], npv, -np.inf)
        return npv, pv_cost + fixed

    @staticmethod
    def _pay_at(view: SubnetView, r: int, own: NDArray[np.float64],
                cols: NDArray[np.int64]) -> NDArray[np.float64]:
        """Alpha per day (in alpha, not RAO) that a UID scoring ``own`` would be paid on the
        subnets ``cols`` (increasing slots) of run ``r`` today, at the rank it would take there,
        ``(teams, len(cols))``."""
        n_uid = view.ranked_skill.shape[2]
        m = cols.size
        # each subnet's ranked skills shifted by its own offset, so one sorted array holds
        # them all (the same shifted values whichever columns are asked for)
        flat = (view.ranked_skill[r][cols] + _OFFSET * cols[:, None]).ravel()
        q = own[:, None] + _OFFSET * cols[None, :]
        pos = np.searchsorted(flat, q, side="right")
        rank = (np.arange(1, m + 1)[None, :] * n_uid) - pos  # UIDs scoring above
        pay_alpha = view.pay_by_rank[r][cols[None, :], np.minimum(rank, n_uid - 1)]
        return np.where(rank < n_uid, pay_alpha, 0.0) / _RAO

    def daily(self, state: ChainState, mech: Mechanism, tao_usd: NDArray[np.float64],
              day: float, view: SubnetView, rngs: list[np.random.Generator]) -> None:
        """Forecast inputs, pool, exits, switches, entries, deregistrations (module doc)."""
        cfg = self.cfg
        ts = self.teams
        self.leaving_share[:] = 0.0
        active = ts.status == ACTIVE
        upa = self.usd_per_alpha_rao(state, tao_usd)
        x = ts.day_alpha * upa
        a = min(1.0, 2.0 / (cfg.window_days + 1.0))
        # a team still learning its subnet's task (ramp) is not judged on those days
        judged = active & (day - ts.joined_day >= cfg.ramp_days)
        ts.ema_income_usd[:] = np.where(judged & (ts.ema_days == 0), x,
                                        np.where(judged, ts.ema_income_usd
                                                 + a * (x - ts.ema_income_usd),
                                                 ts.ema_income_usd))
        ts.ema_days += judged
        ts.day_alpha[:] = 0.0
        total_income = np.where(active, ts.ema_income_usd, 0.0).sum(axis=1)

        self._refill_pool(day, rngs)
        stay, cost = self._stay_per_day(view, day)
        # one review a day weighs every option together: a team that would rather move to
        # another subnet switches instead of leaving the network (a top team stranded on a
        # subnet that pays its miners nothing moves; it does not quit)
        review = self._uniform(rngs) < cfg.review_per_day
        movers, targets, limits, stays = self._switch_choices(tao_usd, view, rngs, stay, cost,
                                                              review)
        moving = np.zeros_like(review)
        for r, m in enumerate(movers):
            moving[r, m] = True
        leavers = self._exits(state, stay, cost, rngs, review & ~moving)
        # market feedback input: income share of today's voluntary leavers
        with np.errstate(divide="ignore", invalid="ignore"):
            self.leaving_share[:] = np.where(
                total_income > 0, np.where(leavers, ts.ema_income_usd, 0.0).sum(axis=1)
                / np.where(total_income > 0, total_income, 1.0), 0.0)
        self._enter(state, mech, tao_usd, day, view, rngs, movers, targets, limits, stays)

    def _refill_pool(self, day: float, rngs: list[np.random.Generator]) -> None:
        cfg = self.cfg
        pool = self.pool
        stale = (pool.status == CANDIDATE) & (day - pool.joined_day >= cfg.candidate_patience_days)
        pool.status[stale] = FREE
        rate = cfg.entry_pool_per_day * self.uid_team.shape[2] / 256.0
        for r, g in enumerate(rngs):
            n = int(g.poisson(rate))
            free = np.flatnonzero(pool.status[r] == FREE)[:n]
            self._draw(pool, r, free, g, day)
            pool.status[r, free] = CANDIDATE

    def _entry_usd(self, ts: TeamState, r: int, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        """What joining a new subnet costs a team besides the burn: the set-up of its hardware
        (booked) and the work of building a miner for the subnet's task (``subnet_rnd_days`` of
        the team's salary-valued time: weighed, not booked)."""
        rnd = (self.cfg.subnet_rnd_days * self.cfg.outside_salary_usd_year / 365.0
               * ts.team_size[r, rows])
        return ts.setup_usd[r, rows] + rnd

    def _growth(self, mu: NDArray[np.float64], sigma: NDArray[np.float64],
                opt_z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Price growth per day a team extrapolates: recent drift plus its optimism quantile of
        the horizon-average, capped at ``forecast_drift_cap_per_year``."""
        cap = self.cfg.forecast_drift_cap_per_year / 365.0
        g = mu + opt_z * sigma / math.sqrt(self.cfg.horizon_days)
        return np.clip(g, -cap, cap)

    def _stay_per_day(self, view: SubnetView, day: float) -> tuple[NDArray, NDArray]:
        """Forecast USD per day of staying (income read at the team's quantile, less the
        avoidable cost) and the full cost per day, ``(runs, teams)`` each."""
        cfg = self.cfg
        ts = self.teams
        k = np.maximum(ts.slot, 0)
        mu = np.take_along_axis(view.mu, k, axis=1)
        sig = np.take_along_axis(view.sigma, k, axis=1)
        rho = ts.capital_rate / 365.0
        h = cfg.horizon_days
        grow = annuity(rho - self._growth(mu, sig, ts.optimism_z), h) / annuity(rho, h)
        cost = ts.cost_uid_day * np.maximum(ts.n_uids, 1) * self.hardware.price_index(day)
        return ts.ema_income_usd * grow - cost * (1.0 - ts.sunk), cost

    def _exits(self, state: ChainState, stay: NDArray[np.float64], cost: NDArray[np.float64],
               rngs: list[np.random.Generator], review: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Cost and outside-option exits (logit, hysteresis, loyalty) of the teams reviewing
        today (``review``: those not switching); returns the leavers."""
        cfg = self.cfg
        ts = self.teams
        act = ts.status == ACTIVE
        able = act & review & ~ts.loyal & (ts.ema_days >= cfg.min_days)
        u1 = self._uniform(rngs)
        u2 = self._uniform(rngs)
        m = stay / np.maximum(cost, 1e-9)
        p_cost = _logistic((-cfg.exit_band - m) / cfg.logit_scale)
        by_cost = able & (u1 < p_cost) & (m < 0.0)
        # outside option: salary, or an offer to launch an own network (top skill only)
        offer = np.zeros_like(stay)
        elig = act & (ts.skill_pct >= cfg.funding_skill_quantile)
        if cfg.funding_offers_per_year > 0 and elig.any():
            for r, g in enumerate(rngs):
                hit = elig[r] & (self._uniform_run(r, g) < cfg.funding_offers_per_year / 365.0)
                if hit.any():
                    val = cfg.funding_median_usd * np.exp(cfg.funding_sigma
                                                          * g.standard_normal(int(hit.sum())))
                    offer[r, hit] = val / cfg.funding_horizon_days
            able_out = (able | (offer > 0)) & act & ~ts.loyal
        else:
            able_out = able
        outside = np.maximum(ts.outside_usd_day, offer)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.where(outside > 0, (outside - np.maximum(stay, 0.0)) / outside, -np.inf)
        p_out = _logistic((gap - cfg.outside_hurdle) / cfg.logit_scale)
        # a team losing money is governed by the cost test (and its band); the outside option
        # (or an offer) draws away teams that could stay
        by_out = able_out & ~by_cost & ((stay >= 0.0) | (offer > 0)) & (u2 < p_out) \
            & (gap > 0.0)
        for reason, mask in ((R_COST, by_cost), (R_OUTSIDE, by_out)):
            r, t = np.nonzero(mask)
            if r.size:
                if cfg.sell_on_exit:
                    self._queue_sale(state, r, t)
                self._leave(state, r, t, reason)
        return by_cost | by_out

    def _switch_choices(self, tao_usd: NDArray[np.float64], view: SubnetView,
                        rngs: list[np.random.Generator], stay: NDArray[np.float64],
                        cost: NDArray[np.float64], review: NDArray[np.bool_]
                        ) -> tuple[list[NDArray], list[NDArray], list[NDArray], list[NDArray]]:
        """Active teams reviewing today (``review``) that would rather be on another subnet,
        its slot, the burn they accept (RAO) and their value of staying (USD), per run."""
        cfg = self.cfg
        ts = self.teams
        movers, targets, limits, stays = [], [], [], []
        h = cfg.horizon_days
        for r, g in enumerate(rngs):
            t = np.flatnonzero((ts.status[r] == ACTIVE) & ~ts.loyal[r]
                               & (ts.ema_days[r] >= cfg.min_days) & review[r])
            if t.size == 0:
                movers.append(t)
                targets.append(t)
                limits.append(t)
                stays.append(t.astype(np.float64))
                continue
            rho = ts.capital_rate[r, t] / 365.0
            cday = cost[r, t] / np.maximum(ts.n_uids[r, t], 1)  # one UID on the new subnet
            npv, commit = self._value(view, r, ts.log_skill[r, t], ts.optimism_z[r, t], cday,
                                      rho, self._entry_usd(ts, r, t), float(tao_usd[r]))
            i, own = np.arange(t.size), ts.slot[r, t]
            # staying valued both ways, the better counts: from the team's own recent income,
            # and as an entrant would value its subnet (same optimism; no entry costs to pay,
            # and no ramp: it already knows the task)
            here, _ = self._value(view, r, ts.log_skill[r, t], ts.optimism_z[r, t], cday, rho,
                                  self._entry_usd(ts, r, t), float(tao_usd[r]), ramp=False)
            fixed_own = (self._entry_usd(ts, r, t) + view.burn_tao[r][own] * float(tao_usd[r]))
            stay_npv = np.maximum(stay[r, t] * annuity(rho, h), here[i, own] + fixed_own)
            npv[i, own] = -np.inf
            best, gain = self._choose(npv, commit, g)
            c = commit[i, np.maximum(best, 0)]
            # the move must clear the entry rule (better than leaving), beat staying, and beat
            # the outside option (a team that would rather leave is the exit tests')
            go = (best >= 0) & (gain > cfg.entry_hurdle * c) \
                & (gain - stay_npv > cfg.switch_hurdle * c) \
                & (gain > ts.outside_usd_day[r, t] * annuity(rho, h))
            movers.append(t[go])
            targets.append(best[go])
            limits.append(self._limit(npv, commit, best, float(tao_usd[r]), view, r)[go])
            stays.append(stay_npv[go])
        return movers, targets, limits, stays

    def _choose(self, npv: NDArray[np.float64], commit: NDArray[np.float64],
                g: np.random.Generator) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Logit choice among subnets: best of ``npv / commit + Gumbel x logit_scale``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            util = npv / np.maximum(commit, 1e-9) + self.cfg.logit_scale * g.gumbel(
                size=npv.shape)
        util = np.where(np.isfinite(npv), util, -np.inf)
        best = np.argmax(util, axis=1)
        ok = np.isfinite(util[np.arange(best.size), best])
        gain = np.where(ok, npv[np.arange(best.size), best], -np.inf)
        return np.where(ok, best, -1), gain

    def _limit(self, npv: NDArray[np.float64], commit: NDArray[np.float64],
               best: NDArray[np.int64], tao_usd: float, view: SubnetView,
               r: int, burn_cols: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
        """The most burn (RAO) a team accepts on its chosen subnet: the burn at which its
        NPV would fall to the entry hurdle. ``burn_cols``: the subnets of ``npv``'s columns
        when it holds only some (:meth:`_value` with ``cols``)."""
        i = np.arange(best.size)
        b = np.maximum(best, 0)
        slots = b if burn_cols is None else np.asarray(burn_cols)[b]
        burn_usd = view.burn_tao[r][slots] * tao_usd
        pv_cost_setup = commit[i, b] - burn_usd
        slack = npv[i, b] + burn_usd - self.cfg.entry_hurdle * (pv_cost_setup + burn_usd)
        with np.errstate(invalid="ignore"):
            lim = np.floor(np.clip(slack / (1.0 + self.cfg.entry_hurdle) / tao_usd, 0, 1e6)
                           * _RAO)
        return np.where(np.isfinite(lim), lim, 0).astype(np.int64)

    def _enter(self, state: ChainState, mech: Mechanism, tao_usd: NDArray[np.float64],
               day: float, view: SubnetView, rngs: list[np.random.Generator],
               movers: list[NDArray], targets: list[NDArray], limits: list[NDArray],
               stays: list[NDArray]) -> None:
        """Candidates choose and register; switchers register; the pruned leave.

        Registrations run one at a time in random order, and each team looks again at its
        chosen subnet just before it registers, as the metagraph stands then - with the teams
        that registered there earlier today, at their learning-ramp skill - and registers
        only if the subnet still clears its rule (entry; for a switcher also the switch
        hurdle), with the burn limit recomputed. Without this every team read the same
        morning view and whole herds moved into the best-paying subnet, replacing each other.
        """
        from dtaosim.chain.uid_registration import register_hotkey

        cfg = self.cfg
        ts, pool = self.teams, self.pool
        nrn = state.neurons
        for r, g in enumerate(rngs):
            c = np.flatnonzero(pool.status[r] == CANDIDATE)
            events: list[tuple[int, int, int, float]] = []  # (kind, row, slot, stay value)
            if c.size:
                rho = pool.capital_rate[r, c] / 365.0
                npv, commit = self._value(view, r, pool.log_skill[r, c], pool.optimism_z[r, c],
                                          pool.cost_uid_day[r, c]
                                          * self.hardware.price_index(day), rho,
                                          self._entry_usd(pool, r, c), float(tao_usd[r]))
                best, gain = self._choose(npv, commit, g)
                i = np.arange(c.size)
                ok = (best >= 0) & (gain > cfg.entry_hurdle
                                    * commit[i, np.maximum(best, 0)])
                # the burn each entrant accepts on the subnet as it was valued this morning
                first_lim = dict(zip(c[ok].tolist(),
                                     self._limit(npv[ok], commit[ok], best[ok],
                                                 float(tao_usd[r]), view, r).tolist(),
                                     strict=True))
                events += [(0, int(a), int(b), -math.inf)
                           for a, b in zip(c[ok], best[ok], strict=True)]
            events += [(1, int(a), int(b), float(v))
                       for a, b, v in zip(movers[r], targets[r], stays[r], strict=True)]
            touched: set[int] = set()  # subnets registered on earlier today (by anyone)
            for e in g.permutation(len(events)):
                kind, row, k, stay_value = events[e]
                if kind == 1 and ts.status[r, row] != ACTIVE:
                    continue  # pruned earlier today
                if kind == 0 and k not in touched:
                    # nobody registered on k since the morning's valuation: the re-check
                    # would repeat it exactly (same view, same burn), so take its result
                    lim = first_lim[row]
                else:
                    lim = self._still_worth(view, r, pool if kind == 0 else ts, row, k,
                                            stay_value, day, float(tao_usd[r]))
                if lim < 0:
                    continue
                hk = next_hotkey(nrn, r)
                if kind == 0:
                    team = self._new_team_slot(r)
                    ck = int(self.next_coldkey[r])
                else:
                    team = row
                    ck = int(ts.coldkey[r, row])
                try:
                    reg = register_hotkey(state, mech, r, k + 1, hk, ck, limit_price=lim)
                except RegistrationError:
                    continue
                touched.add(k)
                burn_usd = reg.burn_paid / _RAO * float(tao_usd[r])
                if reg.replaced_hotkey >= 0:
                    self._lose_uid(state, r, k, reg.uid)
                if kind == 0:
                    ts.copy_rows(np.array([r]), np.array([team]), pool, np.array([r]),
                                 np.array([row]))
                    pool.status[r, row] = FREE
                    self.next_coldkey[r] += 1
                    self.n_teams[r] = team + 1
                    ts.coldkey[r, team] = ck
                    ts.tier[r, team] = T_ENTRANT
                    ts.entered_block[r, team] = state.block
                    ts.status[r, team] = ACTIVE
                    ts.start_uids[r, team] = 1
                    setup = float(ts.setup_usd[r, team])
                else:  # switching: leave the old subnet (its alpha is sold below)
                    old = int(ts.slot[r, team])
                    self._queue_sale(state, np.array([r]), np.array([team]))
                    mine = self.uid_team[r, old] == team
                    self.uid_team[r, old][mine] = -1
                    ts.switches[r, team] += 1
                    self.exits[r, R_SWITCHED] += 1
                    setup = float(ts.setup_usd[r, team])
                ts.slot[r, team] = k
                ts.subnet_reg[r, team] = state.ints[r, k, SI.REGISTERED_AT]
                ts.n_uids[r, team] = 1
                ts.ema_days[r, team] = 0
                ts.joined_day[r, team] = day
                ts.cost_usd[r, team] += burn_usd + setup
                ts.cash_usd[r, team] -= burn_usd + setup
                self.uid_team[r, k, reg.uid] = team
                self.uid_prev[r, k, reg.uid] = 0
                self.entries[r] += 1
                # later registrants see this team (at its arrival skill) in place of the
                # lowest-ranked UID, which the chain prunes or which was empty
                ranked = view.ranked_skill[r, k]
                ranked[0] = ts.log_skill[r, team] - (cfg.ramp_penalty if cfg.ramp_days > 0
                                                     else 0.0)
                ranked.sort()

    def _still_worth(self, view: SubnetView, r: int, src: TeamState, row: int, k: int,
                     stay_value: float, day: float, tao_usd: float) -> int:
        """The burn (RAO) team ``row`` of ``src`` accepts on slot ``k`` as the subnet stands
        now, or -1 if joining no longer clears the entry rule (and, for a switcher with
        ``stay_value`` finite, the switch hurdle over staying)."""
        cfg = self.cfg
        i = np.array([row])
        kk = np.array([k])
        npv, commit = self._value(view, r, src.log_skill[r, i], src.optimism_z[r, i],
                                  src.cost_uid_day[r, i] * self.hardware.price_index(day),
                                  src.capital_rate[r, i] / 365.0, self._entry_usd(src, r, i),
                                  tao_usd, cols=kk)  # only subnet k's column
        v, c = float(npv[0, 0]), float(commit[0, 0])
        if not (v > cfg.entry_hurdle * c and v - stay_value > cfg.switch_hurdle * c):
            return -1
        return int(self._limit(npv, commit, np.array([0]), tao_usd, view, r, burn_cols=kk)[0])

    def _uniform_run(self, r: int, g: np.random.Generator) -> NDArray[np.float64]:
        """One uniform per team slot of run ``r``: drawn for the slots the run has used, 1.0
        (never below a probability) for the rest, so that how many values a run draws does not
        depend on the other runs of the batch (the capacity is shared)."""
        u = np.ones(self.teams.capacity)
        n = int(self.n_teams[r])
        u[:n] = g.random(n)
        return u

    def _uniform(self, rngs: list[np.random.Generator]) -> NDArray[np.float64]:
        """:meth:`_uniform_run` for every run, ``(runs, capacity)``."""
        return np.stack([self._uniform_run(r, g) for r, g in enumerate(rngs)])

    def _new_team_slot(self, r: int) -> int:
        t = int(self.n_teams[r])
        self.teams.ensure(t + 1)
        return t

    def _lose_uid(self, state: ChainState, r: int, k: int, uid: int) -> None:
        """The chain pruned ``uid``: its team loses it; a team left with none leaves."""
        old = int(self.uid_team[r, k, uid])
        self.uid_team[r, k, uid] = -1
        self.uid_prev[r, k, uid] = 0
        if old < 0:
            return
        ts = self.teams
        ts.n_uids[r, old] -= 1
        if ts.n_uids[r, old] <= 0 and ts.status[r, old] == ACTIVE:
            if self.cfg.sell_on_exit:
                self._queue_sale(state, np.array([r]), np.array([old]))
            self._leave(state, np.array([r]), np.array([old]), R_DEREGISTERED)

    def _queue_sale(self, state: ChainState, r: NDArray[np.int64],
                    t: NDArray[np.int64]) -> None:
        """Teams leaving their subnet: take all their alpha off the books (and their UIDs'
        stakes) to be sold there by :meth:`liquidate`."""
        ts = self.teams
        amt = ts.alpha_held[r, t].copy()
        self._debit_uids(state, r, t, amt)
        ts.alpha_held[r, t] = 0
        self._pending.append((r, t, ts.slot[r, t].astype(np.int64), amt))

    def liquidate(self, state: ChainState, mech: Mechanism,
                  tao_usd: NDArray[np.float64]) -> None:
        """Leavers and switchers sell their alpha on the subnet they left (one batch).

        What the chain refuses to sell (e.g. below the minimum stake) stays with a leaver, on
        the subnet it left; a switcher leaves it behind (off its books).
        """
        if not self._pending:
            return
        r, t, k, amt = (np.concatenate(x) for x in zip(*self._pending, strict=True))
        self._pending = []
        sold = self._sell(state, mech, r, t, k, amt, tao_usd)
        gone = self.teams.status[r, t] == GONE
        np.add.at(self.teams.alpha_held, (r[gone], t[gone]), (amt - sold)[gone])

    # ------------------------------------------------------------------ records
    def record(self, state: ChainState, day: float, last_day: float) -> dict[str, NDArray]:
        """Network columns since the last record (``CONTRACT.md``); resets the counters."""
        ts = self.teams
        active = ts.status == ACTIVE
        out: dict[str, NDArray] = {"teams_active": active.sum(axis=1).astype(np.int64)}
        for name, tier in (("retained_top_decile", T_TOP_DECILE),
                           ("retained_top_quartile", T_TOP_QUARTILE), ("retained_rest", T_REST)):
            start = (ts.tier == tier) & (ts.entered_block >= 0)
            n = start.sum(axis=1)
            out[name] = np.where(n > 0, (start & active).sum(axis=1) / np.maximum(n, 1), np.nan)
        out["entries"] = self.entries.copy()
        for i, reason in enumerate(EXIT_REASONS):
            out[f"exits_{reason}"] = self.exits[:, i].copy()
        span = day - last_day
        q = np.full((ts.runs, 3), np.nan)
        if span > 0:
            since = (state.block - ts.entered_block) / BLOCKS_PER_DAY
            days = np.clip(np.minimum(span, since), 1.0 / 24, None)
            prof = ((ts.income_usd - ts.rec_income_usd) - (ts.cost_usd - ts.rec_cost_usd)) / days
            for r in range(ts.runs):
                v = prof[r, active[r]]
                if v.size:
                    q[r] = np.percentile(v, [10, 50, 90])
        out["miner_profit_usd_p10"] = q[:, 0]
        out["miner_profit_usd_p50"] = q[:, 1]
        out["miner_profit_usd_p90"] = q[:, 2]
        ts.rec_income_usd[:] = ts.income_usd
        ts.rec_cost_usd[:] = ts.cost_usd
        self.entries[:] = 0
        self.exits[:] = 0
        return out


def _erf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _ndtri(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9)."""
    return np.vectorize(_ndtri_scalar, otypes=[np.float64])(p)


def _ndtri_scalar(p: float) -> float:
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)
    lo = 0.02425
    if p < lo:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - lo:
        return -_ndtri_scalar(1 - p)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


@njit(cache=True)
def _collect_income(uid_team: NDArray[np.int32], earned: NDArray[np.int64],
                    prev: NDArray[np.int64],
                    income: NDArray[np.int64]) -> None:  # pragma: no cover - compiled
    """Add each UID's new ``earned_miner`` (since ``prev``, which is updated) to its team."""
    runs, subnets, n = uid_team.shape
    for r in range(runs):
        for k in range(subnets):
            for u in range(n):
                e = earned[r, k, u]
                d = e - prev[r, k, u]
                prev[r, k, u] = e
                t = uid_team[r, k, u]
                if t >= 0 and d > 0:
                    income[r, t] += d


@njit(cache=True)
def _debit(uid_team: NDArray[np.int32], stake: NDArray[np.int64],
           sold: NDArray[np.int64]) -> None:  # pragma: no cover - compiled
    """Take ``sold[r, team]`` from the team's UIDs, pro rata to their stakes (floored, never
    below 0). One scan of the metagraph collects the sellers' UIDs; the second pass visits
    only those."""
    runs, subnets, n = uid_team.shape
    tot = np.zeros(sold.shape)
    hit = np.empty(runs * subnets * n, np.int64)
    m = 0
    for r in range(runs):
        for k in range(subnets):
            for u in range(n):
                t = uid_team[r, k, u]
                if t >= 0 and sold[r, t] > 0:
                    tot[r, t] += stake[r, k, u]
                    hit[m] = (r * subnets + k) * n + u
                    m += 1
    for i in range(m):
        j = hit[i]
        u = j % n
        k = (j // n) % subnets
        r = j // (n * subnets)
        t = uid_team[r, k, u]
        if tot[r, t] > 0:
            s = stake[r, k, u]
            dec = np.int64(np.floor(sold[r, t] * (s / tot[r, t])))
            stake[r, k, u] = s - min(s, dec)
