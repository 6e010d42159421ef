"""Stakers, owners' decisions and the usefulness loop (issue 11) on small networks.

Behaviours that could fail: conservation with every actor acting, stakers move toward the
higher-yield subnet, a subnet whose miners all leave loses usefulness, outside demand and price,
an owner whose rule says burn does burn and its share falls under the price-burn rule, the
starting burn mix, registrations by expected value, the loop switched off removes the cascade,
same seed same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dtaosim.agents.economy import Economy, EconomyConfig
from dtaosim.agents.exogenous import ExogenousConfig
from dtaosim.agents.owners import nov2025_burns
from dtaosim.agents.scoring import ScoringConfig
from dtaosim.agents.stakers import StakersConfig, StakersState
from dtaosim.agents.teams import ACTIVE
from dtaosim.agents.validators import ValidatorsConfig, ValidatorsState
from dtaosim.chain.lifecycle import dissolve_subnet
from dtaosim.chain.pools import sell_batch
from dtaosim.experiments.simulation import simulate
from dtaosim.state.chain_state import GI, SF, SI
from dtaosim.state.invariants import check_state
from dtaosim.state.neurons import NH, NI
from tests.test_agents import DAY, HEAD, QUIET, world


def config(**sections) -> EconomyConfig:  # type: ignore[no-untyped-def]
    """Every actor at its defaults (all on) unless a section says otherwise."""
    return EconomyConfig.model_validate(sections)


def _run(cfg, days: float, seed: int = 0, state=None, hook=None, exo=QUIET):  # type: ignore[no-untyped-def]
    s = world(seed=3) if state is None else state
    eco = Economy.create(s, cfg, seed)
    out = s.copy()
    if hook is None:
        out = simulate(s, HEAD, blocks=int(days * DAY), record_every=DAY, seed=seed,
                       exogenous=exo, economy=eco)
        return eco, out
    first, rest = hook
    out = simulate(s, HEAD, blocks=int(first * DAY), record_every=DAY, seed=seed,
                   exogenous=exo, economy=eco)
    rest(eco, out)
    out = simulate(out, HEAD, blocks=int((days - first) * DAY), record_every=DAY, seed=seed + 1,
                   exogenous=exo, economy=eco, copy=False)
    return eco, out


def test_conservation_with_every_actor_acting() -> None:
    """Every actor on (stakers, owners burning, abandoning, registering, outside demand, a
    usefulness shock, a scripted exit, a TAO/USD jump with feedback): the chain's conservation
    checks pass after every block and action, and every actor did act."""
    cfg = config(market={"jumps": [{"day": 2, "change": -0.4}], "exit_feedback": True},
                 owners={"scripted_abandon": [{"day": 2, "subnets": 1}],
                         "prospects_per_day": 20.0, "start_burn": "nov2025"},
                 usefulness={"shocks": [{"day": 1, "subnets": 1, "multiplier": 4.0}]},
                 stakers={"adjust_per_day": 0.5, "temperature": 0.001})
    exo = ExogenousConfig(new_subnets_per_day=2.0)
    eco, out = _run(cfg, days=4, exo=exo)
    check_state(out)
    assert np.abs(eco.stakers.flow_day).sum() > 0
    assert np.abs(eco.usefulness.demand_day).sum() > 0
    assert eco.owners.abandoned.sum() >= out.runs  # the scripted exit, in every run
    assert (out.neurons.ints[:, :, NI.ALPHA_STAKE, :] >= 0).all()
    assert (out.gints[:, GI.FREE_TAO] >= 0).all() and (eco.stakers.outside_tao >= 0).all()


@settings(max_examples=4, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a run
          suppress_health_check=[HealthCheck.too_slow])
@given(adjust=st.floats(0.01, 1.0), temp=st.floats(0.0005, 0.05), chase=st.floats(0, 0.6),
       gain=st.floats(0, 3), hold=st.floats(0, 2), jump=st.floats(-0.9, 0.5),
       anchor=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_conservation_holds_for_any_actor_parameters(adjust, temp, chase, gain, hold, jump,
                                                     anchor, seed) -> None:
    """Random parameters of every new actor: conservation is checked after every block and
    action (the run would raise), stakes and free TAO stay non-negative."""
    cfg = config(market={"jumps": [{"day": 1, "change": jump}]},
                 owners={"burn_gain": gain, "burn_adjust_per_day": adjust,
                         "scripted_abandon": [{"day": 1.5, "subnets": 1,
                                               "first_rank": 1 + seed % 3}]},
                 stakers={"adjust_per_day": adjust, "temperature": temp,
                          "chaser_share": chase, "conservative_share": 0.3,
                          "anchor_per_day": anchor},
                 validators={"move_per_day": adjust, "move_temperature": temp / 5,
                             "move_anchor_per_day": 1 - anchor},
                 usefulness={"hold_share": hold, "adjust_per_day": adjust,
                             "shocks": [{"day": 1, "subnets": 2, "multiplier": 3.0}]})
    eco, out = _run(cfg, days=3, seed=seed, state=world(seed=seed % 5 + 1))
    check_state(out)
    assert (out.neurons.ints[:, :, NI.ALPHA_STAKE, :] >= 0).all()
    assert (out.gints[:, GI.FREE_TAO] >= 0).all() and (eco.usefulness.held >= -1).all()
    assert (eco.validators.tao >= 0).all() and np.isfinite(eco.validators.c_sub).all()


def test_stakers_move_toward_the_higher_yield_subnet() -> None:
    """Two identical subnets: when one starts paying its stakers more dividends, stakers buy
    into it and out of the other, through the pool (its price rises, SubnetTaoFlow records it)."""
    s = world(runs=1)
    for k in (2, 3):
        dissolve_subnet(s, HEAD, 0, k + 1)
    cfg = StakersConfig(adjust_per_day=0.2, outside_start_fraction=0.0)
    assert s.gints[0, GI.ROOT_STAKE] == 0  # the two subnets are the only choices
    st = StakersState.create(s, cfg)
    z = np.zeros((1, s.subnets))
    args = (z, z + 0.05, z, np.zeros(1), 0.06)
    st.daily(s, HEAD, cfg, *args)  # first day: the present allocation is the target
    assert np.abs(st.flow_day).sum() == 0
    p0 = s.spot_price()[0, :2].copy()
    flow0 = s.ints[0, :2, SI.FLOW_ACC].copy()
    staked = s.ints[0, 0, SI.STAKE_STAKERS]
    for _ in range(3):  # 0.5%/day more dividends on subnet 1
        s.ints[0, 0, SI.CUM_STAKER_PAID] += staked // 200
        st.daily(s, HEAD, cfg, *args)
    p1 = s.spot_price()[0, :2]
    assert p1[0] > p0[0] * 1.01 and p1[1] < p0[1] * 0.99
    assert s.ints[0, 0, SI.FLOW_ACC] > flow0[0] and s.ints[0, 1, SI.FLOW_ACC] < flow0[1]
    check_state(s)


@pytest.mark.parametrize("anchor", [0.0, 1.0])
def test_stakers_anchored_to_their_holdings_do_not_buy_a_price_fall(anchor: float) -> None:
    """Miners dump alpha on subnet 1 (its price falls, nobody's yield changes): stakers with
    fixed preferences (anchor 0) rebalance into it; stakers whose preferences follow their
    holdings (anchor 1) do not trade at all."""
    s = world(runs=1)
    half = s.ints[0, 0, SI.STAKE_STAKERS] // 2  # the miners hold half of subnet 1's alpha
    s.ints[0, 0, SI.STAKE_STAKERS] -= half
    s.ints[0, 0, SI.STAKE_MINERS] += half
    cfg = StakersConfig(adjust_per_day=0.2, anchor_per_day=anchor)
    st = StakersState.create(s, cfg)
    z = np.zeros((1, s.subnets))
    args = (z, z + 0.05, z, np.zeros(1), 0.06)
    st.daily(s, HEAD, cfg, *args)
    p0 = s.spot_price()[0, 0]
    dump = np.zeros((1, s.subnets), dtype=np.int64)
    dump[0, 0] = s.ints[0, 0, SI.STAKE_MINERS]
    sell_batch(s, HEAD, dump, SI.STAKE_MINERS)
    assert s.spot_price()[0, 0] < 0.9 * p0
    st.daily(s, HEAD, cfg, *args)
    if anchor == 0.0:
        assert st.flow_day[0, 0] > 0
    else:
        assert np.abs(st.flow_day).max() < 1e9  # under 1 TAO anywhere (rounding)


def test_validators_move_their_own_stake_toward_the_higher_yield_subnet() -> None:
    """Two identical subnets and root: when one subnet starts paying more dividends per alpha,
    validators sell their own alpha in the other and buy into it through the pools; they move
    no more than their own share, and nothing leaves the network."""
    s = world(runs=1, seed=5)
    for k in (2, 3):
        dissolve_subnet(s, HEAD, 0, k + 1)
    cfg = ValidatorsConfig(move_per_day=0.5, move_window_days=1.0)
    v = ValidatorsState.create(s, ScoringConfig(), [np.random.default_rng(0)])
    v.move(s, HEAD, cfg)  # first day: the present allocation is the target
    assert np.abs(v.flow_day).sum() == 0
    p0 = s.spot_price()[0, :2].copy()
    staked0 = s.ints[0, :2, SI.STAKE_STAKERS].copy()
    total0 = s.gints[0, GI.FREE_TAO] + s.ints[0, :, SI.TAO_RESERVE].sum() \
        + s.gints[0, GI.ROOT_STAKE]
    flow = np.zeros(2)
    for _ in range(3):  # 0.3%/day more dividends on subnet 1 (0 both before)
        s.ints[0, 0, SI.CUM_STAKER_PAID] += s.ints[0, 0, SI.STAKE_STAKERS] * 3 // 1000
        v.move(s, HEAD, cfg)
        flow += v.flow_day[0, :2]
    p1 = s.spot_price()[0, :2]
    assert flow[0] > 0 and flow[1] < 0
    assert p1[0] > p0[0] and p1[1] < p0[1]
    # the other subnet lost at most the validators' own share of its alpha
    assert s.ints[0, 1, SI.STAKE_STAKERS] >= np.floor((1 - cfg.own_share) * staked0[1])
    assert s.ints[0, 1, SI.STAKE_STAKERS] < staked0[1]
    total1 = s.gints[0, GI.FREE_TAO] + s.ints[0, :, SI.TAO_RESERVE].sum() \
        + s.gints[0, GI.ROOT_STAKE]
    assert total1 == total0
    assert 0 <= v.tao[0] < 1e9 * 1000  # proceeds reinvested, not hoarded
    check_state(s)
    # switched off, the economy never calls it: no validator flow in a run
    eco, _ = _run(config(validators={"move_enabled": False}), 2)
    assert not eco.validators.flow_day.any()


def test_validator_own_share_must_fit_with_the_stakers() -> None:
    with pytest.raises(ValueError, match="own_share"):
        config(stakers={"chaser_share": 0.5, "conservative_share": 0.45},
               validators={"own_share": 0.1})
    config(stakers={"chaser_share": 0.5, "conservative_share": 0.45},
           validators={"own_share": 0.1, "move_enabled": False})


def _leave_subnet0(eco, out) -> None:  # type: ignore[no-untyped-def]
    mask = np.zeros((out.runs, out.subnets), dtype=bool)
    mask[:, 0] = True
    eco.miners.abandon(out, mask)


def test_a_subnet_whose_miners_leave_loses_usefulness_demand_price_and_its_owner_burns() -> None:
    """All teams of subnet 1 leave on day 2 (and may not come back: no entrants); against the
    same seed without the exit, its usefulness, outside holders' alpha and price fall, its
    owner (whose rule says burn when too few good miners) burns, and under the price-burn rule
    its share of emission falls."""
    cfg = config(miners={"entry_pool_per_day": 0.0},
                 owners={"start_burn": "snapshot", "type_margin": 0.0, "good_miners_needed": 1.0,
                         "burn_adjust_per_day": 0.5, "register_subnets": False},
                 usefulness={"lag_days": 3.0, "adjust_per_day": 0.3})
    base, b = _run(cfg, days=12, hook=(2, lambda e, o: None))
    eco, out = _run(cfg, days=12, hook=(2, _leave_subnet0))
    ts = eco.miners.teams
    assert not ((ts.status == ACTIVE) & (ts.slot == 0)).any()
    assert (eco.usefulness.use[:, 0] < 0.5 * base.usefulness.use[:, 0]).all()
    value = eco.usefulness.held[:, 0] * out.spot_price()[:, 0]  # outside holders' TAO value
    assert (value < 0.8 * base.usefulness.held[:, 0] * b.spot_price()[:, 0]).all()
    assert (out.spot_price()[:, 0] < 0.95 * b.spot_price()[:, 0]).all()
    assert (out.floats[:, 0, SF.MINER_BURN_FRACTION] > 0.9).all()
    assert (b.floats[:, 0, SF.MINER_BURN_FRACTION] < 0.1).all()
    assert (out.floats[:, 0, SF.SHARE] < 0.5 * b.floats[:, 0, SF.SHARE]).all()


def test_owner_buybacks_buy_alpha_for_the_owner_through_the_pool() -> None:
    """With external revenue, owners buy their alpha every day: owner stake and price rise
    against the same seed without revenue, and the owner hotkey's UID holds the alpha."""
    rev = config(owners={"buyback_usd_per_day": 50_000.0, "sell_fraction": 0.0})
    none = config(owners={"sell_fraction": 0.0})
    _, sa = _run(rev, days=3)
    _, sb = _run(none, days=3)
    check_state(sa)
    ex = sa.ints[:, :, SI.EXISTS] != 0
    assert (sa.ints[:, :, SI.STAKE_OWNER][ex] > sb.ints[:, :, SI.STAKE_OWNER][ex]).all()
    assert (sa.spot_price()[ex] > sb.spot_price()[ex]).all()
    def owner_stake(st):  # type: ignore[no-untyped-def]
        n = st.neurons
        own = n.ints[:, :, NI.HOTKEY, :] == n.hyper[:, :, NH.OWNER_HOTKEY][:, :, None]
        return np.where(own, n.ints[:, :, NI.ALPHA_STAKE, :], 0).sum(axis=2)

    assert (owner_stake(sa)[ex] > owner_stake(sb)[ex]).all()


def test_staker_shares_must_fit() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at most 1"):
        StakersConfig(chaser_share=0.8, conservative_share=0.3)


def test_starting_burn_mix_is_the_nov_2025_count() -> None:
    """128 subnets: 42 at 0 %, 53 at 100 %, 33 in 10-99.99 %, in the snapshot's order."""
    g = np.random.default_rng(1)
    snap = np.r_[np.zeros(51), np.linspace(0.1, 0.9, 33), np.ones(44)]
    out = nov2025_burns(snap, np.ones(128, bool), 42 / 128, 53 / 128, g)
    assert (out == 0).sum() == 42 and (out == 1).sum() == 53
    mid = out[(out > 0) & (out < 1)]
    assert mid.size == 33 and mid.min() >= 0.1 and mid.max() <= 0.9999
    assert (out[snap == 1] == 1).all()  # a subnet burning everything still does


def test_owners_register_by_expected_value() -> None:
    """Registrations come from owners (scripted rate off); more prospects register more, and a
    lock cost far above any subnet's value stops them."""
    exo = ExogenousConfig(new_subnets_per_day=0.5)

    def roomy():  # type: ignore[no-untyped-def]
        s = world(seed=3)
        for r in range(s.runs):  # two free slots
            for n in (3, 4):
                dissolve_subnet(s, HEAD, r, n)
        s.gints[:, GI.SUBNETS_DISSOLVED] = 0
        return s

    counts = []
    for n in (0.0, 20.0):  # no prospects: none, though the scripted rate is 0.5/day
        eco, out = _run(config(owners={"prospects_per_day": n}), days=6, state=roomy(), exo=exo)
        counts.append(int(out.gints[:, GI.SUBNETS_REGISTERED].sum()))
        assert int(eco.owners.registered_count.sum()) == counts[-1]
    assert counts[0] == 0 and counts[1] >= 2
    s = roomy()
    eco = Economy.create(s, config(owners={"prospects_per_day": 20.0}), 0)
    out = simulate(s, HEAD, blocks=int(1.5 * DAY), record_every=DAY, seed=0, exogenous=exo,
                   economy=eco)
    eco.owners.value_scale[:] = 1e-9  # a subnet is worth far less than the lock now
    before = out.gints[:, GI.SUBNETS_REGISTERED].copy()
    out = simulate(out, HEAD, blocks=4 * DAY, record_every=DAY, seed=1, exogenous=exo,
                   economy=eco, copy=False)
    assert (out.gints[:, GI.SUBNETS_REGISTERED] == before).all()


def _collapse(loop: bool, seed: int = 0):  # type: ignore[no-untyped-def]
    cfg = config(market={"jumps": [{"day": 2, "change": -0.3}], "exit_feedback": True},
                 owners={"scripted_abandon": [{"day": 2, "subnets": 1}],
                         "register_subnets": False, "abandon_hazard_per_day": 0.0},
                 miners={"entry_pool_per_day": 0.0},
                 usefulness={"enabled": loop, "lag_days": 3.0, "adjust_per_day": 0.3})
    eco, out = _run(cfg, days=10, seed=seed)
    return eco, out


def test_switching_the_loop_off_removes_the_cascade() -> None:
    """Collapse on a small network: with the loop on, the abandoned subnet's usefulness and
    outside demand fall and its price falls further than with usefulness fixed."""
    on, s_on = _collapse(True)
    off, s_off = _collapse(False)
    hit = on.owners.abandoned
    assert hit.sum() == s_on.runs
    assert (on.usefulness.use[hit] < 0.5 * off.usefulness.use[hit]).all()
    assert np.allclose(off.usefulness.use, off.usefulness.use0)
    p_on = s_on.spot_price()[hit]
    p_off = s_off.spot_price()[hit]
    assert (p_on < 0.95 * p_off).all()


def test_same_seed_same_numbers() -> None:
    a, sa = _collapse(True, seed=5)
    b, sb = _collapse(True, seed=5)
    assert np.array_equal(sa.ints, sb.ints) and np.array_equal(sa.gints, sb.gints)
    assert np.array_equal(a.usefulness.use, b.usefulness.use)
    assert np.array_equal(a.stakers.outside_tao, b.stakers.outside_tao)


def test_outside_holders_of_an_alpha_quantity_do_not_buy_a_price_fall() -> None:
    """With ``demand_target = "value"`` outside holders buy alpha when its price falls at
    unchanged usefulness (they hold a TAO value); with ``"alpha"`` they hold their starting
    alpha and do not trade on the price alone."""
    from dtaosim.agents.usefulness import UsefulnessConfig, UsefulnessState
    from dtaosim.chain.pools import sell_batch

    bought = {}
    for target in ("value", "alpha"):
        s = world(runs=1)
        cfg = UsefulnessConfig(demand_target=target, adjust_per_day=0.5)
        skill = np.ones((1, s.subnets))
        u = UsefulnessState.create(s, cfg, skill)
        held0 = u.held.copy()
        # somebody else sells a tenth of subnet 0's staked alpha: its price falls
        dump = np.zeros((1, s.subnets), dtype=np.int64)
        dump[0, 0] = s.ints[0, 0, SI.STAKE_STAKERS] // 10
        sell_batch(s, HEAD, dump, SI.STAKE_STAKERS)
        u.daily(s, HEAD, cfg, skill, 1.0, 0.0)  # usefulness unchanged (same skill)
        bought[target] = float(u.held[0, 0] - held0[0, 0])
        check_state(s)
    assert bought["value"] > 0.0
    assert abs(bought["alpha"]) < 1.0
