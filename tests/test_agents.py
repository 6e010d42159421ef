"""Miner teams, market, selling, entry and exit (``dtaosim.agents``) on small networks.

Properties over random scenarios (hypothesis) and behaviours that could fail: conservation with
agents acting, USD books, alpha held vs earned, exit reasons, cost above payouts empties the
network, TAO/USD and retention, the outside option, selling and prices, same seed same result.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dtaosim import get_mechanism
from dtaosim.agents.economy import Economy, EconomyConfig
from dtaosim.agents.exogenous import ExogenousConfig
from dtaosim.agents.hardware import HardwareConfig, hardware_table
from dtaosim.agents.market import MarketConfig, MarketJump, MarketState
from dtaosim.agents.miners import MinersConfig, annuity
from dtaosim.agents.scoring import ScoringConfig
from dtaosim.agents.teams import ACTIVE, EXIT_REASONS, GONE, T_ENTRANT
from dtaosim.chain.metagraph import neurons_for_state
from dtaosim.errors import ConfigError
from dtaosim.experiments.simulation import simulate
from dtaosim.state.chain_state import SF, SI
from dtaosim.state.invariants import check_state
from dtaosim.state.neurons import NI
from tests.conftest import make_state

HEAD = get_mechanism("price-burn-2026-06")
DAY = 7200
QUIET = ExogenousConfig(new_subnets_per_day=0.0)  # no subnet churn: a fixed small network


def world(runs: int = 2, uids: int = 16, validators: int = 4, seed: int = 1):
    """Four subnets (prices 0.01-0.05 TAO, pools 3-12k TAO), every one full of UIDs."""
    price = np.array([0.02, 0.05, 0.01, 0.03])
    tao = np.array([5_000, 8_000, 3_000, 12_000]) * 10**9
    alpha = (tao / price).astype(np.int64)
    s = make_state(runs, [int(x) for x in tao], [int(x) for x in alpha],
                   alpha_out=[2 * 10**15] * 4, ema=list(price))
    s.ints[:, :, SI.NEURON_BURN] = 10**8  # 0.1 TAO
    s.neurons = neurons_for_state(s, uids, validators, seed=seed)
    return s


def config(**sections) -> EconomyConfig:  # type: ignore[no-untyped-def]
    """Issue 10's economy: miner teams, market, selling; the decisions of issue 11's actors
    (owners' burn/abandon/registration, stakers, outside demand) are off unless a test turns
    them on (tests/test_loop.py tests them), so these tests keep isolating the miners."""
    for name, off in (("owners", {"enabled": False}), ("stakers", {"enabled": False}),
                      ("usefulness", {"demand_enabled": False})):
        sections[name] = {**off, **sections.get(name, {})}
    return EconomyConfig.model_validate(sections)


def run(state, cfg: EconomyConfig, days: float, seed: int = 0, check: bool = True):  # type: ignore[no-untyped-def]
    eco = Economy.create(state, cfg, seed)
    out = simulate(state, HEAD, blocks=int(days * DAY), record_every=DAY, seed=seed,
                   exogenous=QUIET, economy=eco, check_invariants=check)
    return eco, out


# ------------------------------------------------------------------ properties
@settings(max_examples=6, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a run
          suppress_health_check=[HealthCheck.too_slow])
@given(tao_usd=st.floats(20, 2000), extra=st.floats(0, 1), vfrac=st.floats(0, 1),
       ofrac=st.floats(0, 1), price_mult=st.floats(0.1, 5), seed=st.integers(0, 2**16))
def test_conservation_books_and_reasons_hold_with_agents(tao_usd, extra, vfrac, ofrac,
                                                         price_mult, seed) -> None:
    """TAO and alpha are conserved every block and after every action (the run would raise),
    every team's USD books balance, nobody holds more alpha than it earned, every exit has a
    reason, and UID stakes never go negative."""
    cfg = config(market={"tao_usd_start": tao_usd},
                 miners={"sell_extra_fraction": extra, "min_days": 1, "review_per_day": 1.0,
                         "entry_pool_per_day": 320},
                 validators={"sell_fraction": vfrac}, owners={"sell_fraction": ofrac},
                 hardware={"price_multiplier": price_mult})
    eco, out = run(world(seed=seed % 7 + 1), cfg, days=3, seed=seed)
    check_state(out)
    ts = eco.miners.teams
    used = ts.entered_block >= 0
    np.testing.assert_allclose(ts.cash_usd[used], ts.income_usd[used] - ts.cost_usd[used],
                               rtol=1e-9, atol=1e-6)
    assert (ts.alpha_held[used] >= 0).all()
    assert (ts.alpha_held[used] <= ts.income_alpha[used] + 0.5).all()
    gone = ts.status == GONE
    assert (ts.exit_reason[gone] >= 0).all() and (ts.exit_reason[~gone] == -1).all()
    assert (ts.exited_block[gone] > 0).all()
    assert (out.neurons.ints[:, :, NI.ALPHA_STAKE, :] >= 0).all()
    # the aggregate miners' holder covers what the teams hold on each subnet
    held = np.zeros((out.runs, out.subnets))
    act = used & (ts.status == ACTIVE)
    np.add.at(held, (np.nonzero(act)[0], ts.slot[act]), ts.alpha_held[act])
    assert (held <= out.ints[:, :, SI.STAKE_MINERS]).all()


# ------------------------------------------------------------------ behaviours
def test_cost_above_every_payout_empties_the_network() -> None:
    """When every team's cost exceeds what any rank pays, the paid teams all leave (cost).

    At 0.01 USD/TAO a whole subnet's miner emission of this small world (~740 TAO a day) is
    worth ~7 USD a day, below one UID's cost, even for a team alone on the subnet."""
    cfg = config(market={"tao_usd_start": 0.01, "floor_usd": 0.01, "volatility_per_day": 0.0},
                 hardware={"price_multiplier": 10.0},
                 miners={"min_days": 1, "review_per_day": 1.0, "loyal_fraction": 0.0,
                         "logit_scale": 0.05, "entry_pool_per_day": 80})
    eco, out = run(world(), cfg, days=4)
    ts = eco.miners.teams
    assert (ts.status[ts.entered_block >= 0] != ACTIVE).all()
    reasons = ts.exit_reason[ts.status == GONE]
    assert (reasons == EXIT_REASONS.index("cost")).mean() > 0.95
    assert (ts.tier[ts.entered_block >= 0] != T_ENTRANT).all()  # nobody found it worth entering
    paid = out.neurons.ints[:, :, NI.EMISSION, :]
    assert paid[eco.miners.eligible(out)].sum() == 0


def _retention(tao_usd: float, runs: int = 3) -> float:
    cfg = config(market={"tao_usd_start": tao_usd, "volatility_per_day": 0.0},
                 miners={"min_days": 1, "review_per_day": 0.5, "entry_pool_per_day": 0})
    eco, _ = run(world(runs=runs), cfg, days=4, check=False)
    ts = eco.miners.teams
    start = (ts.entered_block >= 0) & (ts.tier != T_ENTRANT)
    return float((ts.status[start] == ACTIVE).mean())


def test_lower_tao_usd_lowers_retention() -> None:
    """Retention of the starting teams falls monotonically as TAO/USD falls (same seeds)."""
    kept = [_retention(x) for x in (2_000.0, 300.0, 50.0, 5.0)]
    assert kept == sorted(kept, reverse=True), kept
    assert kept[0] - kept[-1] > 0.2, kept


def test_a_team_with_a_very_high_outside_option_leaves_first() -> None:
    cfg = config(market={"volatility_per_day": 0.0, "tao_usd_start": 5_000.0},
                 hardware={"price_multiplier": 0.1},
                 miners={"min_days": 1, "review_per_day": 1.0, "loyal_fraction": 0.0,
                         "outside_option_weight": 0.0, "funding_offers_per_year": 0.0,
                         "entry_pool_per_day": 0})
    st_ = world(runs=1)
    eco = Economy.create(st_, cfg, 3)
    ts = eco.miners.teams
    ts.loyal[:] = False
    star = int(np.argmax(ts.skill[0, : eco.miners.n_teams[0]]))  # even the best team
    ts.outside_usd_day[0, star] = 1e9
    simulate(st_, HEAD, blocks=3 * DAY, record_every=DAY, seed=3, exogenous=QUIET, economy=eco)
    assert ts.status[0, star] == GONE
    assert EXIT_REASONS[ts.exit_reason[0, star]] == "outside_option"
    others = (ts.status[0] == GONE) & (np.arange(ts.capacity) != star)
    assert (ts.exited_block[0, others] >= ts.exited_block[0, star]).all()


def test_a_team_on_a_subnet_that_pays_nothing_switches_rather_than_quits() -> None:
    """Teams stranded on a subnet whose owner takes all the miner emission (they earn nothing)
    move to a paying subnet at their review instead of leaving the network on cost: one review
    weighs every option (before this, the cost exit came first and they all quit)."""
    cfg = config(market={"volatility_per_day": 0.0, "tao_usd_start": 5_000.0},
                 hardware={"price_multiplier": 0.1},
                 miners={"min_days": 1, "review_per_day": 1.0, "loyal_fraction": 0.0,
                         "outside_option_weight": 0.0, "funding_offers_per_year": 0.0,
                         "entry_pool_per_day": 0})
    st_ = world(runs=2)
    st_.floats[:, 0, SF.MINER_BURN_FRACTION] = 1.0  # subnet slot 0 pays its owner only
    eco = Economy.create(st_, cfg, 5)
    ts = eco.miners.teams
    stranded = (ts.slot == 0) & (ts.status == ACTIVE)
    assert stranded.sum() >= 4
    simulate(st_, HEAD, blocks=4 * DAY, record_every=DAY, seed=5, exogenous=QUIET, economy=eco)
    cost = EXIT_REASONS.index("cost")
    assert not ((ts.exit_reason == cost) & stranded).any()
    moved = stranded & (ts.switches > 0)
    assert moved.sum() >= 0.75 * stranded.sum(), (moved.sum(), stranded.sum())
    assert (ts.slot[moved & (ts.status == ACTIVE)] != 0).all()


def test_selling_lowers_the_price_of_the_pool_sold_into() -> None:
    st_ = world(runs=1)
    eco = Economy.create(st_, config(), 0)
    m = eco.miners
    ts = m.teams
    team = int(np.flatnonzero(ts.slot[0] == 1)[0])
    k = int(ts.slot[0, team])
    st_.ints[0, k, SI.STAKE_MINERS] += 10**13  # the team earned 10k alpha (booked on the pool)
    st_.ints[0, k, SI.STAKE_STAKERS] -= 10**13
    ts.alpha_held[0, team] = 10**13
    ts.income_alpha[0, team] = 1e13
    before = st_.spot_price()[0].copy()
    m._queue_sale(st_, np.array([0]), np.array([team]))  # e.g. leaving: sell everything
    m.liquidate(st_, HEAD, eco.market.tao_usd)
    after = st_.spot_price()[0]
    assert after[k] < before[k] * 0.999
    others = np.arange(st_.subnets) != k
    np.testing.assert_array_equal(after[others], before[others])
    assert ts.alpha_held[0, team] == 0 and ts.income_tao[0, team] > 0
    # ~10k alpha at ~0.05 TAO, less the slippage of the 8k-TAO pool
    assert 0.85 * 500 < ts.income_tao[0, team] < 500
    assert ts.income_usd[0, team] == pytest.approx(ts.income_tao[0, team] * 300.79)
    check_state(st_)


def test_validators_and_owners_sell_a_fraction_of_what_they_receive() -> None:
    base, _ = run(world(runs=1), config(validators={"sell_fraction": 0.0},
                                         owners={"sell_fraction": 0.0},
                                         miners={"sell_extra_fraction": 0.0}), days=1)
    _, hold = base, _
    _, sold = run(world(runs=1), config(validators={"sell_fraction": 1.0},
                                         owners={"sell_fraction": 1.0},
                                         miners={"sell_extra_fraction": 0.0}), days=1)
    assert (sold.spot_price() < hold.spot_price()).all()
    assert (sold.ints[:, :, SI.STAKE_OWNER] < hold.ints[:, :, SI.STAKE_OWNER]).all()


def test_rank_scoring_pays_few_ranks() -> None:
    """With a steep curve most miner UIDs earn nothing; the best teams earn the most."""
    cfg = config(scoring={"steepness_median": 1.0, "steepness_sigma": 0.0,
                          "sigma_common": 0.0, "sigma_validator": 0.0},
                 miners={"entry_pool_per_day": 0})
    eco, out = run(world(runs=1, uids=32, validators=8), cfg, days=1)
    inc = out.neurons.floats[0, :, 0, :]  # NF.INCENTIVE
    elig = eco.miners.eligible(out)[0]
    for k in range(out.subnets):
        x = np.sort(inc[k, elig[k]])[::-1]
        assert x[:3].sum() > 0.9 * x.sum()  # three ranks take > 90%
        assert (x > 0.01).sum() <= 5
        # Yuma passes the curve through: each rank earns 1/e of the one above
        assert x[1] / x[0] == pytest.approx(math.exp(-1), rel=0.05)
    skill = eco.miners.uid_log_skill(1.0)[0]
    for k in range(out.subnets):  # the best-paid UID belongs to the most skilled team there
        assert skill[k, np.argmax(np.where(elig[k], inc[k], -1))] == skill[k, elig[k]].max()


def test_top_k_curve_weights_exactly_k_miners() -> None:
    cfg = config(scoring={"curve": "top_k", "steepness_median": 3.0, "steepness_sigma": 0.0})
    st_ = world(runs=1, uids=32, validators=8)
    eco = Economy.create(st_, cfg, 0)
    eco._rescore(st_)
    w = st_.neurons.weights[0]
    elig = eco.miners.eligible(st_)[0]
    for k in range(st_.subnets):
        rows = np.flatnonzero(st_.neurons.permit[0, k])
        assert ((w[k][np.ix_(rows, np.flatnonzero(elig[k]))] > 0).sum(axis=1) == 3).all()


def test_entrants_register_through_the_chain_and_pay_the_burn() -> None:
    cfg = config(market={"tao_usd_start": 3_000.0},
                 miners={"entry_pool_per_day": 640, "min_days": 1, "review_per_day": 1.0})
    st_ = world(runs=1)
    free0 = int(st_.gints[0, 2])
    eco, out = run(st_, cfg, days=3)
    ts = eco.miners.teams
    new = (ts.tier == T_ENTRANT) & (ts.entered_block >= 0)
    assert new.sum() > 0
    # each entrant holds (or held) a UID whose hotkey the chain registered after the start
    act = new & (ts.status == ACTIVE)
    r, t = np.nonzero(act)
    for rr, tt in zip(r, t, strict=True):
        uids = np.flatnonzero(eco.miners.uid_team[rr, ts.slot[rr, tt]] == tt)
        assert uids.size == 1
        assert out.neurons.ints[rr, ts.slot[rr, tt], NI.REGISTERED_AT, uids[0]] > st_.block
    assert int(out.gints[0, 2]) != free0
    assert (ts.cost_usd[new] > 0).all()


def test_same_seed_same_result_and_runs_differ() -> None:
    cfg = config(miners={"entry_pool_per_day": 320, "min_days": 1, "review_per_day": 1.0})
    a, oa = run(world(), cfg, days=2, seed=5)
    b, ob = run(world(), cfg, days=2, seed=5)
    np.testing.assert_array_equal(oa.ints, ob.ints)
    np.testing.assert_array_equal(oa.neurons.weights, ob.neurons.weights)
    for name, arr in a.miners.teams.arrays().items():
        np.testing.assert_array_equal(arr, getattr(b.miners.teams, name), err_msg=name)
    assert not np.array_equal(oa.ints[0], oa.ints[1])


# ------------------------------------------------------------------ market, hardware, maths
def test_gbm_matches_the_configured_volatility_and_jumps_apply() -> None:
    cfg = MarketConfig(volatility_per_day=0.06, drift_per_year=0.0,
                       jumps=[MarketJump(day=5.0, change=-0.5)])
    rngs = [np.random.default_rng(i) for i in range(400)]
    m = MarketState.create(cfg, 400)
    daily = []
    prev = m.tao_usd.copy()
    for h in range(24 * 10):
        m.step(cfg, rngs, h / 24, (h + 1) / 24)
        if (h + 1) % 24 == 0:
            daily.append(np.log(m.tao_usd / prev))
            prev = m.tao_usd.copy()
    lr = np.array(daily)
    jump_day = lr[4]
    assert np.median(jump_day) == pytest.approx(math.log(0.5), abs=0.02)
    others = np.delete(lr, 4, axis=0)
    assert others.std() == pytest.approx(0.06, rel=0.05)


def test_scripted_and_replay_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = MarketState.create(MarketConfig(model="scripted", drift_per_year=-365 * 0.01), 2)
    for h in range(48):
        m.step(MarketConfig(model="scripted", drift_per_year=-365 * 0.01), [], h / 24,
               (h + 1) / 24)
    assert m.tao_usd == pytest.approx(300.79 * math.exp(-0.02))
    csv = tmp_path / "p.csv"
    csv.write_text("date,tao_usd\n2025-01-01,100\n2025-01-02,400\n2025-01-03,400\n")
    cfg = MarketConfig(model="replay", replay_csv=csv)
    m = MarketState.create(cfg, 1)
    assert m.tao_usd[0] == 100
    for h in range(12):
        m.step(cfg, [], h / 24, (h + 1) / 24)
    assert m.tao_usd[0] == pytest.approx(200.0)  # log-linear within a day
    csv.write_text("date,price\n2025-01-01,100\n")
    with pytest.raises(ConfigError, match=r"p\.csv.*replay_column 'tao_usd'"):
        MarketState.create(cfg, 1)
    csv.write_text("date,tao_usd\n2025-01-01,-3\n")
    with pytest.raises(ConfigError, match="row 2"):
        MarketState.create(cfg, 1)


def test_market_replay_of_the_2025q4_data(shared_data) -> None:  # type: ignore[no-untyped-def]
    cfg = MarketConfig(model="replay", replay_csv=shared_data / "tao_usd_daily_2025Q4.csv")
    m = MarketState.create(cfg, 1)
    assert m.tao_usd[0] == pytest.approx(310.7286)
    for d in range(91):  # 30 Sep + 91 days = 30 Dec
        m.step(cfg, [], d, d + 1)
    assert m.tao_usd[0] == pytest.approx(218.1830)
    m.step(cfg, [], 91, 92)  # the last row, 31 Dec
    assert m.tao_usd[0] == pytest.approx(221.1651)
    m.step(cfg, [], 92, 93)  # past the end the replay holds its last price
    assert m.tao_usd[0] == pytest.approx(221.1651)


def test_hardware_costs_follow_the_table() -> None:
    tab = hardware_table()
    i = tab.index("h100_spot")
    assert tab.usd_per_day[i] == pytest.approx(2.69 * 24 * 1.4)
    assert tab.sunk_fraction[tab.index("h100_owned")] > 0.5
    assert all(s for s in tab.source)
    hw = HardwareConfig(price_multiplier=2.0, price_drift_per_year=math.log(2))
    assert hw.price_index(365.0) == pytest.approx(4.0)
    assert hw.probabilities().sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown hardware profile 'tpu'"):
        HardwareConfig(mix={"tpu": 1.0})


def test_annuity() -> None:
    assert annuity(np.array([0.0]), 90)[0] == 90
    assert annuity(np.array([0.01]), 90)[0] == pytest.approx((1 - math.exp(-0.9)) / 0.01)
    assert annuity(np.array([-0.01]), 90)[0] == pytest.approx((math.exp(0.9) - 1) / 0.01)


def test_scoring_config_ranges() -> None:
    with pytest.raises(ValueError):
        ScoringConfig(steepness_median=0)
    with pytest.raises(ValueError):
        MinersConfig(sell_extra_fraction=1.5)
    assert SF.MINER_BURN_FRACTION >= 0  # the owner route exists
