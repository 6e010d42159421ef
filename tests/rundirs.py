"""Synthetic run directories: Parquet tables written by hand, in the real files' schemas.

Columns a test does not give get neutral values (0, registered at block 1, emitting), so each
test states only the numbers its assertions depend on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dtaosim.io.results import NETWORK_SCHEMA, SUBNET_SCHEMA, UID_SCHEMA

BLOCK0 = 9_190_637
DAY = 7_200

_SUBNET_DEFAULTS: dict[str, Any] = {
    "registered_at": 1, "first_emission_block": 1, "emission_enabled": True, "tempo": 360,
    "price": 1.0, "neuron_burn": 0.0005,
}


def block_of(day: float) -> int:
    return BLOCK0 + round(day * DAY)


def _table(rows: list[dict[str, Any]], schema: pa.Schema, defaults: Mapping[str, Any],
           extra: Mapping[str, pa.DataType] | None = None) -> pa.Table:
    fields = list(schema)
    for name, typ in (extra or {}).items():
        if name not in schema.names:
            fields.append(pa.field(name, typ))
    cols: dict[str, list[Any]] = {}
    for f in fields:
        default = defaults.get(f.name, False if pa.types.is_boolean(f.type) else 0)
        cols[f.name] = [r.get(f.name, default) for r in rows]
    return pa.Table.from_pydict(cols, schema=pa.schema(fields))


def subnet_row(run: int, day: float, netuid: int, **cols: Any) -> dict[str, Any]:
    """One ``timeseries.parquet`` row."""
    return {"run": run, "block": block_of(day), "day": day, "netuid": netuid, **cols}


def network_row(run: int, day: float, **cols: Any) -> dict[str, Any]:
    """One ``network.parquet`` row."""
    return {"run": run, "block": block_of(day), "day": day, **cols}


def uid_row(run: int, day: float, netuid: int, uid: int, incentive: float,
            permit: bool = False) -> dict[str, Any]:
    """One ``uids.parquet`` row."""
    return {"run": run, "block": block_of(day), "day": day, "netuid": netuid, "uid": uid,
            "hotkey": uid, "coldkey": uid, "incentive": incentive, "validator_permit": permit}


def write_run_dir(path: Path, subnets: Iterable[dict[str, Any]],
                  network: Iterable[dict[str, Any]] | None = None,
                  uids: Iterable[dict[str, Any]] | None = None,
                  *, manifest: dict[str, Any] | None = None,
                  config: str | None = 'mechanism = "price-burn-2026-06"\n',
                  network_extra: Mapping[str, pa.DataType] | None = None,
                  teams: pa.Table | None = None) -> Path:
    """Write a run directory with the given rows (network rows default to one per record)."""
    path.mkdir(parents=True, exist_ok=True)
    sub = list(subnets)
    pq.write_table(_table(sub, SUBNET_SCHEMA, _SUBNET_DEFAULTS), path / "timeseries.parquet")
    if network is None:
        keys = sorted({(r["run"], r["day"]) for r in sub})
        network = [network_row(r, d) for r, d in keys]
    pq.write_table(_table(list(network), NETWORK_SCHEMA, {}, network_extra),
                   path / "network.parquet")
    if uids is not None:
        pq.write_table(_table(list(uids), UID_SCHEMA, {}), path / "uids.parquet")
    if teams is not None:
        pq.write_table(teams, path / "teams.parquet")
    if manifest is not None:
        (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    if config is not None:
        (path / "config.toml").write_text(config, encoding="utf-8")
    return path


def rich_run_dir(path: Path, *, runs: int = 3, days: int = 20, subnets: int = 12,
                 miners: int = 6, validators: int = 2, agents: bool = True,
                 every: float = 1.0, seed: int = 1, manifest: bool = True) -> Path:
    """A run directory with every file and column the report can draw, random but plausible.

    Shares follow prices, pools grow, one netuid is dissolved and re-registered half-way,
    miners' incentives are skewed, and (``agents``) the CONTRACT.md columns and
    ``teams.parquet`` are there.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_rec = int(round(days / every)) + 1
    day = np.arange(n_rec) * every
    sub, net, uids = [], [], []
    for r in range(runs):
        base = np.sort(rng.lognormal(-4.0, 1.0, subnets))[::-1]
        walk = np.exp(np.cumsum(rng.normal(-0.005, 0.05, (n_rec, subnets)), axis=0))
        price = base * walk
        minted = 0.0
        reg_counter = diss_counter = 0
        cum_in = np.zeros(subnets)
        fx = 300.0 * np.exp(np.cumsum(rng.normal(0, 0.04, n_rec)))
        for t, d in enumerate(day):
            shares = price[t] / price[t].sum() if t else np.zeros(subnets)
            reborn = d >= days / 2  # the last netuid is dissolved and re-registered
            if t:
                cum_in += shares * 0.2 * 7_200 * every
                minted += 0.5 * 7_200 * every
            if reborn and day[t - 1] < days / 2:
                reg_counter += 1
                diss_counter += 1
                cum_in[-1] = 0.0
            for k in range(subnets):
                reg = block_of(days / 2) if (reborn and k == subnets - 1) else 1
                sub.append(subnet_row(
                    r, float(d), k + 1, price=float(price[t, k]), share=float(shares[k]),
                    tao_reserve=float(1e6 * price[t, k] * (1 + 0.01 * t)),
                    cum_tao_in=float(cum_in[k]), neuron_burn=float(0.0005 * 2 ** (k % 8)),
                    registered_at=reg, first_emission_block=block_of(-60)))
            row = network_row(r, float(d), minted_tao=minted, sum_price=float(price[t].sum()),
                              subnets_registered=reg_counter, subnets_dissolved=diss_counter,
                              subnets=subnets, pools_tao=0.0)
            if agents:
                row.update(tao_usd=float(fx[t]), teams_active=100 - t,
                           retained_top_decile=1 - 0.005 * t, retained_top_quartile=1 - 0.01 * t,
                           retained_rest=1 - 0.02 * t, entries=int(t % 3 == 0) * (t > 0),
                           exits_cost=int(t > 0), exits_outside_option=int(t % 4 == 1),
                           exits_deregistered=int(t % 5 == 2), exits_subnet_dissolved=0,
                           exits_switched=int(t % 7 == 3), exits_abandoned=0,
                           miner_profit_usd_p10=-50.0 + t, miner_profit_usd_p50=10.0 + t,
                           miner_profit_usd_p90=200.0 + t)
            net.append(row)
            for k in range(subnets):
                x = rng.pareto(1.2, miners) * (rng.random(miners) < 0.4)
                x = x / x.sum() if x.sum() > 0 else x
                for u in range(miners):
                    uids.append(uid_row(r, float(d), k + 1, u, float(x[u])))
                for v in range(validators):
                    uids.append(uid_row(r, float(d), k + 1, miners + v, 0.0, permit=True))
    extra: dict[str, pa.DataType] = {}
    teams = None
    if agents:
        extra = {"tao_usd": pa.float64(), "teams_active": pa.int64(),
                 "retained_top_decile": pa.float64(), "retained_top_quartile": pa.float64(),
                 "retained_rest": pa.float64(), "entries": pa.int64(),
                 **{f"exits_{x}": pa.int64() for x in ("cost", "outside_option", "deregistered",
                                                        "subnet_dissolved", "switched",
                                                        "abandoned")},
                 "miner_profit_usd_p10": pa.float64(), "miner_profit_usd_p50": pa.float64(),
                 "miner_profit_usd_p90": pa.float64()}
        n = 60 * runs
        teams = pa.table({
            "run": np.repeat(np.arange(runs), 60), "team": np.tile(np.arange(60), runs),
            "netuid": rng.integers(1, subnets + 1, n), "subnet_registered_at": np.ones(n, int),
            "skill": rng.pareto(2.0, n), "skill_tier": rng.choice(["top_decile", "rest"], n),
            "hardware": rng.choice(["h100_spot", "a100", "rtx4090"], n),
            "cost_usd_day": rng.uniform(10, 80, n), "outside_option_usd_day": np.full(n, 300.0),
            "entered_block": np.full(n, block_of(0)),
            "exited_block": np.where(rng.random(n) < 0.3, block_of(days / 2), -1),
            "exit_reason": [None] * n, "income_alpha": rng.uniform(0, 100, n),
            "income_tao": rng.uniform(0, 5, n), "income_usd": rng.uniform(0, 1500, n),
            "cost_usd": rng.uniform(100, 900, n)})
        teams = teams.append_column("profit_usd", pa.array(
            np.asarray(teams["income_usd"]) - np.asarray(teams["cost_usd"])))
    man = None
    if manifest:
        man = {"dtaosim_version": "0.1.0", "seed": seed, "runs": runs, "days": days,
               "uids": miners + validators, "wall_time_s": 12.5,
               "created_utc": "2026-12-01T00:00:00Z",
               "mechanism": {"name": "price-burn-2026-06", "date": "2026-06-30",
                             "rules": {"share_rule": "price_burn"}},
               "files": ["config.toml", "manifest.json", "network.parquet",
                         "timeseries.parquet", "uids.parquet"]}
    return write_run_dir(path, sub, net, uids, manifest=man, network_extra=extra, teams=teams)
