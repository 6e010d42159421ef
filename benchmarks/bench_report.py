"""Report generation time and file size (issue 14): 30-day and 365-day runs with 16 runs.

Three kinds of run directory, each reported with ``write_report`` timed in this process
(median of ``--repeats``; Plotly and the data are warm after the first), the file size, the
size without the embedded Plotly library and the number of charts:

* ``sim``: real ``dtaosim run --runs 16 --uids 0 --no-report`` for 30 and 365 days (aggregate
  holders: a year of 16 runs with 256 UIDs takes hours on a 2-core machine and writes ~190M
  UID rows);
* ``synthetic``: the same Parquet schemas written directly with realistic sizes - 128 subnets,
  daily records, 16 runs, and for 30 days also ``uids.parquet`` with 256 UIDs (64 validators)
  per subnet (16M rows), so the payout charts are timed at full size.

Usage::

    python benchmarks/bench_report.py [--cases sim30,sim365,syn30,syn365] [--repeats 3]
                                      [--keep DIR]

With ``--keep DIR`` the run directories stay in ``DIR`` and a later call reuses them (only the
report is timed again).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import plotly
import plotly.offline
import pyarrow as pa
import pyarrow.parquet as pq

from dtaosim.io.results import NETWORK_SCHEMA, SUBNET_SCHEMA, UID_SCHEMA
from dtaosim.report.page import write_report
from dtaosim.units import BLOCKS_PER_DAY

START = 9_190_637


def synthetic_run(path: Path, days: int, runs: int, subnets: int = 128, uids: int = 0,
                  validators: int = 64, seed: int = 0) -> Path:
    """A run directory in the real files' schemas, with daily records and random walks."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    t = days + 1
    r, d, k = np.meshgrid(np.arange(runs), np.arange(t), np.arange(subnets), indexing="ij")
    r, d, k = r.ravel(), d.ravel(), k.ravel()
    n = r.size
    base = np.exp(rng.normal(-5.0, 1.2, (runs, 1, subnets)))
    walk = np.exp(np.cumsum(rng.normal(-0.003, 0.05, (runs, t, subnets)), axis=1))
    price = (base * walk).ravel()
    share = (base * walk / (base * walk).sum(axis=2, keepdims=True)).ravel()
    share[d == 0] = 0.0
    cols: dict[str, object] = {}
    for f in SUBNET_SCHEMA:
        if pa.types.is_floating(f.type):
            cols[f.name] = np.zeros(n)
        elif pa.types.is_boolean(f.type):
            cols[f.name] = np.ones(n, dtype=bool)
        else:
            cols[f.name] = np.zeros(n, dtype=np.int64)
    cols.update(run=r.astype(np.int32), block=START + d * BLOCKS_PER_DAY, netuid=(k + 1).astype(
        np.int32), day=d.astype(np.float64), price=price, share=share,
        tao_reserve=price * 2e6, cum_tao_in=d * share * 720.0 + 1.0,
        neuron_burn=0.0005 * 2.0 ** (k % 12), registered_at=np.ones(n, dtype=np.int64),
        first_emission_block=np.ones(n, dtype=np.int64), tempo=np.full(n, 360))
    pq.write_table(pa.Table.from_pydict(cols, schema=SUBNET_SCHEMA), path / "timeseries.parquet",
                   compression="zstd", row_group_size=262_144)
    rn, dn = np.meshgrid(np.arange(runs), np.arange(t), indexing="ij")
    rn, dn = rn.ravel(), dn.ravel()
    net: dict[str, object] = {f.name: np.zeros(rn.size, dtype=np.int64 if pa.types.is_integer(
        f.type) else np.float64) for f in NETWORK_SCHEMA}
    reg = np.cumsum(rng.random((runs, t)) < 0.45, axis=1).ravel()
    net.update(run=rn.astype(np.int32), block=START + dn * BLOCKS_PER_DAY, day=dn.astype(float),
               minted_tao=dn * 3600.0, subnets_registered=reg, subnets_dissolved=reg,
               subnets=np.full(rn.size, subnets), sum_price=np.zeros(rn.size))
    pq.write_table(pa.Table.from_pydict(net, schema=NETWORK_SCHEMA), path / "network.parquet",
                   compression="zstd")
    if uids:
        writer = pq.ParquetWriter(path / "uids.parquet", UID_SCHEMA, compression="zstd")
        u = np.arange(uids)
        for run in range(runs):
            for day in range(t):
                rows = subnets * uids
                kk = np.repeat(np.arange(subnets), uids)
                uu = np.tile(u, subnets)
                permit = uu < validators
                x = rng.pareto(1.0, rows) * (rng.random(rows) < 0.3) * ~permit
                cols_u: dict[str, object] = {f.name: np.zeros(rows, dtype=np.int64) for f in
                                             UID_SCHEMA}
                cols_u.update(run=np.full(rows, run, dtype=np.int32),
                              block=np.full(rows, START + day * BLOCKS_PER_DAY),
                              netuid=(kk + 1).astype(np.int32), day=np.full(rows, float(day)),
                              uid=uu.astype(np.int32), hotkey=uu, coldkey=uu,
                              validator_permit=permit, alpha_stake=np.zeros(rows),
                              incentive=x, dividends=np.zeros(rows))
                writer.write_table(pa.Table.from_pydict(cols_u, schema=UID_SCHEMA))
        writer.close()
    (path / "config.toml").write_text(f'days = {days}\nruns = {runs}\nseed = 0\n'
                                      'mechanism = "price-burn-2026-06"\n', encoding="utf-8")
    return path


def simulated_run(path: Path, days: int, runs: int) -> tuple[Path, float]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dtaosim.cli.app", "run", "--days", str(days),
                    "--runs", str(runs), "--uids", "0", "--no-report", "--out", str(path),
                    "--overwrite"], check=True, capture_output=True)
    return path, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="sim30,sim365,syn30,syn365")
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep the run directories here")
    a = ap.parse_args()
    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    root.mkdir(parents=True, exist_ok=True)
    js = len(plotly.offline.get_plotlyjs().encode())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, plotly {plotly.__version__} "
          f"(embedded JS {js / 1e6:.2f} MB)")
    print("\n| case | run directory | data files (MB) | report (s, median) | report size (MB) | "
          "without Plotly JS (kB) | charts |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for case in a.cases.split(","):
        kind, days = case[:3], int(case[3:])
        d = root / case
        if kind == "sim":
            if (d / "manifest.json").is_file():  # kept from an earlier call (--keep)
                what = f"simulated, {a.runs} runs, --uids 0 (reused)"
            else:
                d, sim_s = simulated_run(d, days, a.runs)
                what = f"simulated, {a.runs} runs, --uids 0 ({sim_s:.0f} s to simulate)"
        else:
            uids = 256 if days <= 31 else 0
            if not (d / "timeseries.parquet").exists():
                synthetic_run(d, days, a.runs, uids=uids)
            what = (f"synthetic, {a.runs} runs, 128 subnets"
                    + (f", {uids} UIDs" if uids else ", no UIDs"))
        data_mb = sum(p.stat().st_size for p in d.iterdir() if p.suffix == ".parquet") / 1e6
        times, res = [], None
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            res = write_report(d)
            times.append(time.perf_counter() - t0)
        assert res is not None
        print(f"| {days} days | {what} | {data_mb:,.1f} | {statistics.median(times):.2f} | "
              f"{res.bytes / 1e6:.2f} | {(res.bytes - js) / 1e3:,.0f} | {res.charts} |",
              flush=True)
    if a.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
