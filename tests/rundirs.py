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
