"""Speed of the chain-economy block loop (issue: engine speed targets).

Measures, side by side in one process, subnet-blocks per second of

* the compiled kernel (numba), one run on one core (numba threads = 1), checks off and on;
* the compiled kernel on a batch of runs (every core via prange);
* the plain NumPy per-block loop (``backend="numpy"``), one run;

on the embedded default network (128 subnets) under the HEAD mechanism, and extrapolates to
one simulated year (2,629,800 blocks). Usage::

    python benchmarks/bench_engine.py [--blocks 216000] [--repeats 3] [--batch 32]

Prints a Markdown table of medians; copy it into docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numba
import numpy as np

from dtaosim.chain.engine import run_blocks
from dtaosim.chain.presets import get_mechanism
from dtaosim.io.snapshot import default_snapshot, snapshot_to_state

YEAR = 2_629_800


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=216_000)
    ap.add_argument("--numpy-blocks", type=int, default=7_200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mechanism", default="price-burn-2026-06")
    a = ap.parse_args()
    mech = get_mechanism(a.mechanism)
    snap = default_snapshot()
    one = snapshot_to_state(snap, 1, mech=mech)
    batch = snapshot_to_state(snap, a.batch, mech=mech)
    n_sub = int((one.exists != 0).sum())
    run_blocks(one, mech, 10)  # compile
    run_blocks(batch, mech, 10)
    rows = []
    cases = [
        ("numba, 1 run, checks off", one, a.blocks, dict(check_invariants=False)),
        ("numba, 1 run, checks on", one, a.blocks, dict(check_invariants=True)),
        (f"numba, {a.batch} runs, checks off", batch, a.blocks // 16,
         dict(check_invariants=False)),
        ("numpy per-block loop, 1 run, checks off", one, a.numpy_blocks,
         dict(check_invariants=False, backend="numpy")),
    ]
    cores = numba.config.NUMBA_NUM_THREADS
    for name, st, blocks, kw in cases:
        # one run on one core (issue 2's target); a batch on every core
        numba.set_num_threads(min(st.runs, cores))
        ts = timed(lambda st=st, blocks=blocks, kw=kw: run_blocks(st, mech, blocks, **kw),
                   a.repeats)
        med = statistics.median(ts)
        sbps = st.runs * n_sub * blocks / med
        rows.append((name, st.runs, blocks, med, sbps, YEAR * n_sub * st.runs / sbps))
    base = rows[0][4]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}, numpy {np.__version__}, numba "
          f"{numba.__version__}, mechanism {mech.name}, {n_sub} subnets, "
          f"numba threads min(runs, {cores}), repeats {a.repeats}")
    print()
    print("| case | runs | blocks | median s | subnet-blocks/s | x numba 1 run "
          "| one year, all runs (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, runs, blocks, med, sbps, year in rows:
        print(f"| {name} | {runs} | {blocks} | {med:.3f} | {sbps / 1e6:.2f} M | "
              f"{sbps / base:.3f} | {year:.1f} |")


if __name__ == "__main__":
    main()
