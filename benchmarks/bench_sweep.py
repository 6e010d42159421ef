"""Sweeps at scale (issue 15): throughput per backend, overhead per point, memory.

Cases, each in a fresh process (so peak memory is the case's own, and numba loads the
kernel from its on-disk cache as a real sweep does):

* ``throughput``: the same sweep (``--points`` points x ``--runs`` runs x ``--days`` days,
  ``uids = 0``, network kept ``all``, subnets ``ends``) in-process, on 2 local processes and on
  a Dask LocalCluster of 2 worker processes (loopback); wall time including the workers'
  start-up, and simulated run-days per second;
* ``overhead``: one-block points in-process: wall time per point of everything but the
  simulation (configuration, starting state, writer, commit with fsync, bookkeeping);
* ``memory``: a 1,000-run sweep (``--mem-points`` x ``--mem-runs``), in-process and on 2
  local processes: peak RSS of the client and of the workers, and the client's RSS sampled
  as points finish (flat = bounded memory).

Usage::

    python benchmarks/bench_sweep.py [--points 16 --runs 8 --days 2] [--repeats 3]

Prints Markdown tables (medians) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPEC = """\
name = "bench"
runs = {runs}
seed = 1
[base]
days = {days}
uids = 0
record_every_blocks = {record}
[output]
network = "all"
subnets = "ends"
[[axes]]
path = "exogenous.stake_flow_volatility"
low = 0.01
high = 0.06
num = {points}
"""


def _worker(args: argparse.Namespace) -> None:
    """One case in this (fresh) process; prints a JSON line."""
    import resource

    import psutil

    from dtaosim.experiments.backends import make_backend
    from dtaosim.experiments.sweep import load_plan, run_sweep

    # warm: load the kernel from numba's cache in this process (as a sweep's first point does)
    warm = Path(args.dir) / "warm.toml"
    warm.write_text("runs = 1\n[base]\ndays = 0.001\nuids = 0\n")  # one point, no axes
    run_sweep(load_plan(warm), Path(args.dir) / "warm", make_backend())
    spec = Path(args.dir) / "spec.toml"
    spec.write_text(SPEC.format(runs=args.runs, days=args.days, record=args.record,
                                points=args.points))
    plan = load_plan(spec)
    backend = make_backend(processes=args.processes, workers=args.workers)
    proc = psutil.Process()
    samples: list[tuple[int, float]] = []
    rss0 = proc.memory_info().rss

    class Rep:
        n = 0

        def start(self, *a: Any) -> None:
            pass

        def point(self, done: Any) -> None:
            self.n += 1
            if self.n % max(1, args.points // 20) == 0 or self.n == args.points:
                samples.append((self.n, proc.memory_info().rss / 2**20))

        def partial(self, *a: Any) -> None:
            pass

    t0 = time.perf_counter()
    summary = run_sweep(plan, Path(args.dir) / "sweep", backend, reporter=Rep())
    wall = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({
        "wall_s": wall, "ok": summary.ok, "failed": summary.failed,
        "run_days": summary.run_days, "rss_start_mb": rss0 / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_rss_mb": children, "samples": samples,
        "sim_s": sum(float(x) for x in _walls(Path(args.dir) / "sweep")),
    }))


def _walls(sweep: Path) -> list[float]:
    import pyarrow.parquet as pq

    return [pq.read_table(p / "point.parquet").column("wall_s")[0].as_py()
            for p in (sweep / "points").iterdir() if p.name.startswith("point=")]


def _case(points: int, runs: int, days: float, record: int, *, processes: int | None = None,
          workers: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as d:
        cmd = [sys.executable, __file__, "--worker", "--dir", d, "--points", str(points),
               "--runs", str(runs), "--days", str(days), "--record", str(record)]
        if processes:
            cmd += ["--processes", str(processes)]
        if workers:
            cmd += ["--workers", str(workers)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dir")
    ap.add_argument("--points", type=int, default=16)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--record", type=int, default=7200)
    ap.add_argument("--processes", type=int)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--overhead-points", type=int, default=50)
    ap.add_argument("--mem-points", type=int, default=250)
    ap.add_argument("--mem-runs", type=int, default=4)
    ap.add_argument("--mem-days", type=float, default=0.1)
    ap.add_argument("--big", action="store_true",
                    help="also 1,000 points x 16 runs in-process (memory over time)")
    ap.add_argument("--stages", default="throughput,overhead,memory")
    a = ap.parse_args()
    if a.worker:
        _worker(a)
        return
    stages = set(a.stages.split(","))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    if "throughput" in stages:
        print(f"\n### Throughput: {a.points} points x {a.runs} runs x {a.days:g} days "
              f"(uids 0), median of {a.repeats}\n")
        print("| backend | wall s | run-days/s | x in-process | simulation s (sum) |")
        print("|---|---:|---:|---:|---:|")
        base = None
        for label, kw in (("in-process", {}), ("2 local processes", {"processes": 2}),
                          ("Dask LocalCluster, 2 workers", {"workers": 2})):
            res = [_case(a.points, a.runs, a.days, a.record, **kw) for _ in range(a.repeats)]
            wall = statistics.median(r["wall_s"] for r in res)
            rate = res[0]["run_days"] / wall
            base = base or rate
            sim = statistics.median(r["sim_s"] for r in res)
            print(f"| {label} | {wall:.2f} | {rate:.2f} | {rate / base:.2f} | {sim:.2f} |",
                  flush=True)
    if "overhead" in stages:
        res = [_case(a.overhead_points, 1, 1 / 7200, 1) for _ in range(a.repeats)]
        wall = statistics.median(r["wall_s"] for r in res)
        sim = statistics.median(r["sim_s"] for r in res)
        print(f"\n### Overhead per point ({a.overhead_points} one-block points, 1 run, "
              f"in-process, median of {a.repeats})\n")
        print(f"client wall per point: {1000 * wall / a.overhead_points:.1f} ms; "
              f"inside run_point: {1000 * sim / a.overhead_points:.1f} ms", flush=True)
    if "memory" in stages:
        n_runs = a.mem_points * a.mem_runs
        print(f"\n### Memory: {a.mem_points} points x {a.mem_runs} runs = {n_runs} runs x "
              f"{a.mem_days:g} days (uids 0)\n")
        print("| backend | wall s | client RSS at start MB | client peak MB | "
              "worker peak MB | client RSS after 5% / 50% / 100% of points MB |")
        print("|---|---:|---:|---:|---:|---|")
        for label, kw in (("in-process", {}), ("2 local processes", {"processes": 2})):
            r = _case(a.mem_points, a.mem_runs, a.mem_days, 7200, **kw)
            s = r["samples"]
            picks = [s[0][1], s[len(s) // 2][1], s[-1][1]] if s else []
            print(f"| {label} | {r['wall_s']:.1f} | {r['rss_start_mb']:.0f} | "
                  f"{r['peak_rss_mb']:.0f} | {r['children_peak_rss_mb']:.0f} | "
                  + " / ".join(f"{x:.0f}" for x in picks) + " |", flush=True)
        if a.big:
            r = _case(1000, 16, 0.01, 7200)
            s = r["samples"]
            print(f"\n1,000 points x 16 runs x 0.01 days in-process: {r['wall_s']:.0f} s, "
                  f"client peak RSS {r['peak_rss_mb']:.0f} MB; RSS after "
                  + ", ".join(f"{n} points {m:.0f} MB" for n, m in s[:: max(1, len(s) // 5)])
                  + f", {s[-1][0]} points {s[-1][1]:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
