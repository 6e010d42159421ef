"""Run-directory metrics (``dtaosim.report.metrics``) on hand-made run directories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dtaosim.errors import DataError
from dtaosim.report import metrics as m
from dtaosim.report.rundir import RunDir

from .rundirs import block_of, network_row, subnet_row, uid_row, write_run_dir


# ------------------------------------------------------------------------------ gini, spread
@pytest.mark.parametrize(("x", "g"), [
    ([0.0, 0.0, 0.0, 1.0], 0.75),
    ([1.0, 1.0, 1.0, 1.0], 0.0),
    ([1.0, 2.0, 3.0, 4.0], 0.25),
    ([4.0, np.nan, 1.0, 3.0, 2.0], 0.25),  # NaN = absent, left out
    ([0.6, 0.3, 0.1, 0.0, 0.0, 0.0], 2 / 3),
])
def test_gini_of_known_vectors(x: list[float], g: float) -> None:
    assert float(m.gini(x)) == pytest.approx(g, abs=1e-12)


def test_gini_along_an_axis_and_of_nothing() -> None:
    x = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    got = m.gini(x, axis=1)
    assert got[0] == pytest.approx(2 / 3) and got[1] == pytest.approx(0.0)
    assert np.isnan(got[2])  # total 0: undefined


def test_spread_is_median_p10_p90_over_runs_ignoring_nan() -> None:
    med, p10, p90 = m.spread([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    assert (med, p10, p90) == pytest.approx((3.0, 1.4, 4.6))
    assert all(np.isnan(v) for v in m.spread([np.nan, np.nan]))


# ------------------------------------------------------------------------------ R2 bleed
def _bleed_dir(tmp_path: Path) -> Path:
    rows = []
    end = {1: math.exp(-1), 2: math.exp(-2), 3: math.exp(0.5), 4: 1.0}
    for k in (1, 2, 3, 4):
        rows += [subnet_row(0, 0, k, price=1.0), subnet_row(0, 1, k, price=0.9),
                 subnet_row(0, 2, k, price=end[k])]
    # netuid 5 is dissolved and its netuid re-registered: another subnet, left out
    rows += [subnet_row(0, 0, 5, price=1.0, registered_at=1),
             subnet_row(0, 2, 5, price=0.01, registered_at=block_of(1.5))]
    # netuid 6 appears during the run; netuid 7 is a start-up pool at the start
    rows += [subnet_row(0, 2, 6, price=0.2, registered_at=block_of(1))]
    rows += [subnet_row(0, 0, 7, price=1.0, emission_enabled=False),
             subnet_row(0, 2, 7, price=0.1)]
    return write_run_dir(tmp_path / "run", rows)


def test_price_bleed_of_known_prices(tmp_path: Path) -> None:
    b = m.price_bleed(_bleed_dir(tmp_path))
    # log changes -1, -2, 0.5, 0 (netuids 1-4 only)
    assert b.subnets[0] == 4
    assert b.median[0] == pytest.approx(-0.5)
    assert b.p10[0] == pytest.approx(-1.7)  # linear: -2 + 0.3 x 1
    assert b.p90[0] == pytest.approx(0.35)  # 0 + 0.7 x 0.5
    assert b.share_falling[0] == pytest.approx(0.5)
    assert b.median_usd is None
    assert (b.start_day, b.end_day) == (0.0, 2.0)


def test_price_bleed_between_chosen_days(tmp_path: Path) -> None:
    b = m.price_bleed(_bleed_dir(tmp_path), start_day=0, end_day=1)
    assert b.subnets[0] == 4  # netuids 5 and 7 are absent at day 1
    assert b.median[0] == pytest.approx(math.log(0.9))
    assert b.share_falling[0] == 1.0


def test_price_bleed_in_usd_when_the_run_has_tao_usd(tmp_path: Path) -> None:
    rows = [subnet_row(0, d, 1, price=p) for d, p in ((0, 1.0), (1, 0.5))]
    net = [network_row(0, 0, tao_usd=300.0), network_row(0, 1, tao_usd=600.0)]
    rd = write_run_dir(tmp_path / "r", rows, net, network_extra={"tao_usd": pa.float64()})
    b = m.price_bleed(rd)
    assert b.median[0] == pytest.approx(math.log(0.5))
    assert b.median_usd is not None and b.median_usd[0] == pytest.approx(0.0)  # halved x doubled


# ------------------------------------------------------------------------------ R3 volatility
def test_volatility_of_known_returns(tmp_path: Path) -> None:
    old = block_of(0) - 40 * 7_200  # emitting for 40 days at the start
    young = block_of(0) - 10 * 7_200
    rows = []
    for d in range(5):
        up = d % 2 == 1
        rows.append(subnet_row(0, d, 1, price=math.exp(0.1 if up else 0.0),
                               first_emission_block=old))
        rows.append(subnet_row(0, d, 2, price=math.exp(0.2 if up else 0.0),
                               first_emission_block=old))
        rows.append(subnet_row(0, d, 3, price=math.exp(0.5 if up else 0.0),
                               first_emission_block=young))  # not established
    v = m.volatility(write_run_dir(tmp_path / "r", rows))
    sd1 = math.sqrt(4 * 0.01 / 3)  # returns +-0.1, mean 0, ddof 1
    assert v.subnets[0] == 2
    assert v.per_subnet[0, 0] == pytest.approx(sd1)
    assert v.per_subnet[0, 1] == pytest.approx(2 * sd1)
    assert np.isnan(v.per_subnet[0, 2])
    assert v.median[0] == pytest.approx(1.5 * sd1)
    assert v.p25[0] == pytest.approx(1.25 * sd1) and v.p75[0] == pytest.approx(1.75 * sd1)


def test_volatility_scales_multi_day_returns(tmp_path: Path) -> None:
    rows = [subnet_row(0, d, 1, price=math.exp(0.2 * (d // 4 % 2)),
                       first_emission_block=block_of(0) - 60 * 7_200) for d in (0, 4, 8, 12)]
    v = m.volatility(write_run_dir(tmp_path / "r", rows))
    # returns over 4 days: +0.2, -0.2, +0.2, divided by sqrt(4)
    r = np.array([0.1, -0.1, 0.1])
    assert v.median[0] == pytest.approx(float(np.std(r, ddof=1)))


# ------------------------------------------------------------------------------ R4, prices, churn
def test_concentration_of_known_shares(tmp_path: Path) -> None:
    shares = [0.5, 0.2, 0.1, 0.1, 0.05, 0.05, 0.0]
    rows = [subnet_row(r, d, k + 1, share=s * (1 if d else 0))
            for r in (0, 1) for d in (0, 1) for k, s in enumerate(shares)]
    c = m.concentration(write_run_dir(tmp_path / "r", rows))
    assert c.top1.shape == (2, 2)
    assert np.isnan(c.top1[0, 0])  # no share at the first record (before any block)
    assert c.top1[1, 1] == pytest.approx(0.5)
    assert c.top5[0, 1] == pytest.approx(0.95)
    assert c.top10[0, 1] == pytest.approx(1.0)
    assert c.gini[0, 1] == pytest.approx(float(m.gini(shares)))
    assert c.gini[0, 1] == pytest.approx(3.7 / 7)  # sum i x_(i) = 5.85 ascending


def test_sum_of_prices_and_churn_from_network(tmp_path: Path) -> None:
    rows = [subnet_row(0, d, 1) for d in (0, 1, 2)]
    net = [network_row(0, 0, sum_price=2.0, subnets_registered=5, subnets_dissolved=4,
                       subnets=128),
           network_row(0, 1, sum_price=1.5, subnets_registered=6, subnets_dissolved=5,
                       subnets=128),
           network_row(0, 2, sum_price=1.0, subnets_registered=8, subnets_dissolved=6,
                       subnets=128)]
    rd = write_run_dir(tmp_path / "r", rows, net)
    s = m.sum_of_prices(rd)
    assert s.value[0].tolist() == [2.0, 1.5, 1.0]
    assert s.log_change[0] == pytest.approx(math.log(0.5))
    c = m.churn(rd)
    assert c.registered[0].tolist() == [0, 1, 3] and c.dissolved[0].tolist() == [0, 1, 2]
    assert c.registrations_per_day[0] == pytest.approx(1.5)
    assert c.dissolutions_per_day[0] == pytest.approx(1.0)
    assert c.dissolutions_per_year[0] == pytest.approx(365.0)


# ------------------------------------------------------------------------------ pools, injection
def test_pools_of_known_reserves(tmp_path: Path) -> None:
    tao = [100.0, 200.0, 300.0, 400.0, 1000.0]
    rows = [subnet_row(0, 0, k + 1, tao_reserve=t) for k, t in enumerate(tao)]
    p = m.pools(write_run_dir(tmp_path / "r", rows))
    assert p.median[0, 0] == pytest.approx(300.0)
    assert p.p10[0, 0] == pytest.approx(140.0)
    assert p.p90[0, 0] == pytest.approx(760.0)
    assert p.max[0, 0] == 1000.0 and p.total[0, 0] == 2000.0


def test_injection_per_block_and_subnets_receiving(tmp_path: Path) -> None:
    rows = [
        subnet_row(0, 0, 1, cum_tao_in=10.0, cum_excess_tao=0.0),
        subnet_row(0, 1, 1, cum_tao_in=10.0 + 720.0, cum_excess_tao=1440.0),
        subnet_row(0, 0, 2, cum_tao_in=5.0),
        subnet_row(0, 1, 2, cum_tao_in=5.0),  # receives nothing
        # netuid 3 re-registered inside the interval: its counter restarted, not counted
        subnet_row(0, 0, 3, cum_tao_in=900.0, registered_at=1),
        subnet_row(0, 1, 3, cum_tao_in=1.0, registered_at=block_of(0.5)),
    ]
    net = [network_row(0, 0, minted_tao=0.0), network_row(0, 1, minted_tao=3600.0)]
    i = m.injection(write_run_dir(tmp_path / "r", rows, net))
    assert i.tao_in_per_block[0, 0] == pytest.approx(0.1)
    assert i.chain_buy_per_block[0, 0] == pytest.approx(0.2)
    assert i.emission_per_block[0, 0] == pytest.approx(0.5)
    assert i.subnets_receiving[0, 0] == 1
    assert i.fraction[0] == pytest.approx(0.2)


def test_neuron_burns_and_floor(tmp_path: Path) -> None:
    burns = [0.0005, 0.0005, 0.02, 1.0]
    rows = [subnet_row(0, 0, k + 1, neuron_burn=b) for k, b in enumerate(burns)]
    config = 'mechanism = "price-burn-2026-06"\n[mechanism_overrides]\nmin_burn = 500000\n'
    b = m.neuron_burns(write_run_dir(tmp_path / "r", rows, config=config))
    assert b.floor == pytest.approx(0.0005)
    assert b.median[0, 0] == pytest.approx(0.01025)
    assert b.max[0, 0] == 1.0
    assert b.at_floor[0, 0] == pytest.approx(0.5)


# ------------------------------------------------------------------------------ payout shape
def test_payout_shape_of_known_incentives(tmp_path: Path) -> None:
    rows = [subnet_row(0, d, 1) for d in (0, 1)] + [subnet_row(0, d, 2) for d in (0, 1)]
    uids = []
    for d in (0, 1):
        miners = [0.6, 0.3, 0.1, 0.0, 0.0, 0.0] if d == 1 else [0.25] * 4 + [0.0] * 2
        uids += [uid_row(0, d, 1, u, x) for u, x in enumerate(miners)]
        uids += [uid_row(0, d, 1, 6 + v, 1.0, permit=True) for v in range(2)]  # validators
        # netuid 2 burns everything: its miners earn nothing
        uids += [uid_row(0, d, 2, u, 0.0) for u in range(4)]
        uids += [uid_row(0, d, 2, 4, 1.0, permit=True)]
    p = m.payout_shape(write_run_dir(tmp_path / "r", rows, uids=uids))
    assert p is not None
    assert p.day.tolist() == [0.0, 1.0]
    # zero share: netuid 1 3/6, netuid 2 4/4 -> median 0.75
    assert p.zero_share[0, 1] == pytest.approx(0.75)
    # concentration over paying subnets only (netuid 1)
    assert p.top1[0, 1] == pytest.approx(0.6)
    assert p.top5[0, 1] == pytest.approx(1.0)
    assert p.gini[0, 1] == pytest.approx(2 / 3)
    assert p.n50[0, 1] == 1 and p.n90[0, 1] == 2
    assert p.top1[0, 0] == pytest.approx(0.25) and p.n50[0, 0] == 2 and p.n90[0, 0] == 4
    assert p.gini[0, 0] == pytest.approx(float(m.gini([0.25] * 4 + [0, 0])))
    assert p.paid[0, 1] == pytest.approx(1.5)  # median of 3 and 0
    # cumulative share by rank at the last record
    assert p.rank_share[:, 0] == pytest.approx([0.6, 0.9, 1.0, 1.0, 1.0, 1.0])


def test_payout_shape_without_uids_is_none(tmp_path: Path) -> None:
    assert m.payout_shape(write_run_dir(tmp_path / "r", [subnet_row(0, 0, 1)])) is None


# ------------------------------------------------------------------------------ R1, top, agents
def test_share_price_ratio(tmp_path: Path) -> None:
    rows = [subnet_row(0, 1, 1, share=0.5, price=1.0), subnet_row(0, 1, 2, share=0.5, price=3.0),
            subnet_row(0, 1, 3, share=0.0, price=9.0)]  # no emission: left out
    r = m.share_price_ratio(write_run_dir(tmp_path / "r", rows))
    # price shares among emitting subnets 0.25 / 0.75 -> ratios 2 and 2/3
    assert r.median[0] == pytest.approx((2 + 2 / 3) / 2)
    assert r.p5[0] == pytest.approx(2 / 3 + 0.05 * (2 - 2 / 3))
    assert r.share_rule is None  # no manifest, and the config names no rule


def test_top_subnets_and_the_rest(tmp_path: Path) -> None:
    rows = []
    for d in (0, 1):
        for k, s in enumerate([0.1, 0.4, 0.3, 0.2]):
            reg = block_of(0.5) if (k == 0 and d == 1) else 1
            rows.append(subnet_row(0, d, k + 1, share=s, price=s, registered_at=reg))
    t = m.top_subnets(write_run_dir(tmp_path / "r", rows), n=2)
    assert t.netuids == [2, 3]
    assert t.share[0, 1].tolist() == [0.4, 0.3]
    assert t.rest_share[0].tolist() == pytest.approx([0.3, 0.3])


def test_agents_columns_when_present(tmp_path: Path) -> None:
    rows = [subnet_row(0, d, 1) for d in (0, 1, 2)]
    net = [network_row(0, d, tao_usd=300.0 + d, teams_active=10 - d, exits_cost=d)
           for d in (0, 1, 2)]
    extra = {"tao_usd": pa.float64(), "teams_active": pa.int64(), "exits_cost": pa.int64()}
    teams = pa.table({"run": [0, 0], "team": [1, 2], "hardware": ["h100_spot", "a100"],
                      "entered_block": [block_of(0), block_of(1)],
                      "exited_block": [-1, block_of(2)], "profit_usd": [200.0, -10.0]})
    a = m.agents(write_run_dir(tmp_path / "r", rows, net, network_extra=extra, teams=teams))
    assert a is not None
    assert set(a.series) == {"tao_usd", "teams_active", "exits_cost"}
    assert a.total("exits_cost")[0] == 3
    assert a.teams is not None and list(a.teams["hardware"]) == ["h100_spot", "a100"]
    per_day = a.profit_per_day(block_of(2))
    assert per_day is not None and per_day.tolist() == pytest.approx([100.0, -10.0])
    assert m.agents(write_run_dir(tmp_path / "chain_only", rows)) is None


# ------------------------------------------------------------------------------ run directories
def test_run_dir_reports_what_is_missing(tmp_path: Path) -> None:
    d = write_run_dir(tmp_path / "r", [subnet_row(0, 0, 1), subnet_row(0, 1, 1)], config=None)
    (d / "network.parquet").write_bytes(b"PAR1 truncated")  # an interrupted stream
    rd = RunDir(d)
    text = " | ".join(rd.problems)
    assert "manifest.json is missing" in text
    assert "config.toml is missing" in text
    assert "network.parquet is unreadable" in text
    assert rd.blocks.tolist() == [block_of(0), block_of(1)]  # records from timeseries
    assert m.sum_of_prices(rd).value[0].tolist() == [1.0, 1.0]  # from the subnet prices
    assert m.churn(rd).registered[0].tolist() == [0, 0]


def test_run_dir_refuses_what_is_no_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        RunDir(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        RunDir(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no readable run data"):
        RunDir(tmp_path / "empty")


def test_netuid_reuse_is_a_new_subnet_in_churn_without_counters(tmp_path: Path) -> None:
    rows = [subnet_row(0, 0, 1, registered_at=1), subnet_row(0, 1, 1, registered_at=500),
            subnet_row(0, 0, 2), subnet_row(0, 1, 2)]
    d = write_run_dir(tmp_path / "r", rows)
    (d / "network.parquet").unlink()
    c = m.churn(RunDir(d))
    assert c.registered[0].tolist() == [0, 1] and c.dissolved[0].tolist() == [0, 1]
