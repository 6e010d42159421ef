"""Peer benchmark driver (issue #4): dtaosim vs radCAD, cadCAD and a per-block NumPy loop.

Usage (from the repository root, main venv active; peers' venvs from ``setup_envs.sh``)::

    python benchmarks/peers/run.py                      # equiv, timing, limit: ~7.5 min
    python benchmarks/peers/run.py --stages equiv       # the equivalence check alone, ~2 min
    python benchmarks/peers/run.py --stages timing --repeats 3

Stages
------
``equiv``    every implementation once on both networks (1 day, 2 runs); final reserves and
             EMA compared with dtaosim's (bit-identical required; tolerance reported).
``timing``   1 and 30 days x 1 and 32 runs, implementations alternating within each repeat,
             one fresh process per measurement; median in-process simulation time, process wall
             time and peak RSS (the process's high-water mark plus its worker processes').
             Peers that would take minutes run at a reduced scale (blocks and/or runs) and their
             time is extrapolated linearly; every measured result, reduced or not, is checked
             against dtaosim at the same scale before it is used.
``limit``    the hot loop's work per subnet-block against one core's measured limit
             (``benchmarks/limit.py``, ~40 s).
``scaling``  (not in the default set) dtaosim's chain kernel against subnets, runs and days
             (``benchmarks/scaling.py``, ~3 min).

Results go to ``--out`` (JSON lines + ``summary.md``); the Markdown tables are also printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import model as m  # noqa: E402

DAY = m.BLOCKS_PER_DAY
PY_MAIN = sys.executable
PY_RADCAD = str(HERE / ".venv-radcad" / "bin" / "python")
PY_CADCAD = str(HERE / ".venv-cadcad" / "bin" / "python")

# (key, worker impl, variant, interpreter, label)
IMPLS = [
    ("dtaosim", "dtaosim", "default", PY_MAIN, "dtaosim (numba kernel + simulate, checks on)"),
    ("dtaosim_nochecks", "dtaosim", "nochecks", PY_MAIN, "dtaosim, invariant checks off"),
    ("numpy", "numpy", "default", PY_MAIN, "NumPy per-block loop (runs x subnets arrays)"),
    ("radcad", "radcad", "default", PY_RADCAD, "radCAD default (PATHOS 1 proc, deepcopy)"),
    ("radcad_nocopy", "radcad", "nocopy", PY_RADCAD,
     "radCAD fast (SINGLE_PROCESS, deepcopy=False)"),
    ("cadcad", "cadcad", "default", PY_CADCAD, "cadCAD default (local_mode)"),
    ("cadcad_nocopy", "cadcad", "nocopy", PY_CADCAD, "cadCAD fast (single_mode, deepcopy_off)"),
]
LABEL = {k: lab for k, *_, lab in IMPLS}

# Full configurations (days, runs) and, per implementation, the scale actually run
# (blocks, runs); None = full scale. Chosen so no single measurement takes much over ~10 s.
CONFIGS = [(1, 1), (1, 32), (30, 1), (30, 32)]
REDUCED = {
    "radcad": {(1, 32): (DAY // 4, 4), (30, 1): (DAY, 1), (30, 32): (DAY // 4, 4)},
    "cadcad": {(1, 32): (DAY // 2, 4), (30, 1): (DAY, 1), (30, 32): (DAY // 2, 4)},
    "cadcad_nocopy": {(1, 32): (DAY // 2, 4), (30, 1): (DAY, 1), (30, 32): (DAY // 2, 4)},
    "radcad_nocopy": {(1, 32): (DAY, 8), (30, 32): (DAY, 8)},
    "numpy": {(30, 32): (10 * DAY, 32)},
}
MEM_SLOPE_BLOCKS = DAY // 4  # extra small run of the history-keeping peers for RSS slope


# ------------------------------------------------------------------------ process running
def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants_hwm_mb(root: int) -> float:
    """Sum of VmHWM (peak RSS) over the live descendants of ``root`` (not ``root`` itself:
    between fork and exec it still carries the driver's image; its own peak comes from
    ``getrusage`` inside the worker)."""
    kids = _children_map()
    todo, total = list(kids.get(root, [])), 0
    while todo:
        p = todo.pop()
        total += _hwm_kb(p)
        todo.extend(kids.get(p, []))
    return total / 1024


def run_worker(py: str, args: list[str], timeout: float = 900) -> dict:
    """Run ``worker.py`` in a fresh process; add wall time and the sampled tree peak RSS."""
    cmd = [py, str(HERE / "worker.py"), *args]
    env = dict(os.environ, PYTHONHASHSEED="0")
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _descendants_hwm_mb(proc.pid))
        try:
            proc.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                raise
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res["wall_s"] = wall
    # 1-minute load average around the measurement (2 cores: > ~2.5 means other work ran)
    res["load1"] = round(max(load_before, os.getloadavg()[0]), 2)
    # worker's own peak + its children's: the larger of the sampled sum of their high-water
    # marks and getrusage(RUSAGE_CHILDREN) (the largest waited-for child)
    res["peak_rss_mb"] = round(res["maxrss_self_mb"] + max(peak, res["maxrss_children_mb"]), 1)
    return res


def worker_args(key: str, network: str, runs: int, blocks: int, inputs: Path,
                out: Path) -> tuple[str, list[str]]:
    _, impl, variant, py, _ = next(i for i in IMPLS if i[0] == key)
    if impl == "dtaosim":
        return py, [impl, variant, "--network", network, "--runs", str(runs), "--blocks",
                    str(blocks), "--out", str(out)]
    return py, [impl, variant, "--inputs", str(inputs), "--out", str(out)]


class Runner:
    """Measurements with input files and dtaosim references cached per (network, runs, blocks)."""

    def __init__(self, work: Path, log):
        self.work = work
        self.log = log
        self.refs: dict[tuple, dict] = {}

    def inputs(self, network: str, runs: int, blocks: int) -> Path:
        p = self.work / f"in_{network}_{runs}_{blocks}.npz"
        if not p.exists():
            m.make_inputs(str(p), network, runs, blocks)
        return p

    def reference(self, network: str, runs: int, blocks: int) -> dict:
        key = (network, runs, blocks)
        if key not in self.refs:
            out = self.work / f"ref_{network}_{runs}_{blocks}.npz"
            if not out.exists():
                py, args = worker_args("dtaosim_nochecks", network, runs, blocks, Path(), out)
                run_worker(py, args)
            with np.load(out) as f:
                self.refs[key] = {k: f[k] for k in f.files}
        return self.refs[key]

    def measure(self, key: str, network: str, runs: int, blocks: int, check: bool = True) -> dict:
        inp = self.inputs(network, runs, blocks) if not key.startswith("dtaosim") else Path()
        out = self.work / f"out_{key}.npz"
        py, args = worker_args(key, network, runs, blocks, inp, out)
        res = run_worker(py, args)
        res.update(key=key, network=network)
        if check:
            res.update(compare(out, self.reference(network, runs, blocks)))
        self.log(res)
        return res


def compare(out: Path, ref: dict) -> dict:
    """Max abs/rel differences of the final arrays against dtaosim's (ints exact as int64)."""
    with np.load(out) as f:
        got = {k: f[k] for k in f.files}
    res = {"identical": True}
    for k in ("tao", "alpha_in", "alpha_out", "ema"):
        a, b = got[k], ref[k]
        same = bool(np.array_equal(a, b))
        res["identical"] &= same
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            d = np.abs(a.astype(np.int64) - b.astype(np.int64)).astype(np.float64)
        else:
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        res[f"maxabs_{k}"] = float(d.max())
        res[f"maxrel_{k}"] = float((d / np.maximum(np.abs(b.astype(np.float64)), 1e-300)).max())
    return res


TOL_REL = 1e-9  # accepted if not bit-identical; never needed so far (all identical)


def ok(res: dict) -> bool:
    return res["identical"] or max(res[f"maxrel_{k}"] for k in
                                   ("tao", "alpha_in", "alpha_out", "ema")) <= TOL_REL


# ----------------------------------------------------------------------------------- stages
def stage_equiv(r: Runner, emit) -> list[dict]:
    rows = []
    for network in m.NETWORKS:
        for key, *_ in IMPLS:
            if key == "dtaosim_nochecks":
                continue  # the reference itself
            blocks = DAY
            res = r.measure(key, network, 2, blocks)
            rows.append(res)
    emit("\n## Equivalence check (1 day = 7,200 blocks, 2 runs, final state of every run)\n")
    emit("Reference: dtaosim with invariant checks off. Integers (RAO) compared exactly, EMA "
         f"as float64; accepted if bit-identical, else if max relative difference <= {TOL_REL:g}."
         "\n")
    emit("| network | implementation | identical | max abs diff tao / alpha_in / alpha_out "
         "(RAO) | max rel diff EMA | pass |")
    emit("|---|---|:---:|---:|---:|:---:|")
    for x in rows:
        emit(f"| {x['network']} | {x['key']} | {'yes' if x['identical'] else 'no'} | "
             f"{x['maxabs_tao']:.0f} / {x['maxabs_alpha_in']:.0f} / {x['maxabs_alpha_out']:.0f} | "
             f"{x['maxrel_ema']:.1e} | {'yes' if ok(x) else 'NO'} |")
    return rows


def stage_timing(r: Runner, repeats: int, emit, keys: list[str]) -> list[dict]:
    """All configs; within each repeat the implementations alternate."""
    meas: dict[tuple, list[dict]] = {}
    plan = []
    for days, runs in CONFIGS:
        for key in keys:
            blocks_m, runs_m = REDUCED.get(key, {}).get((days, runs), (days * DAY, runs))
            plan.append(((days, runs), key, blocks_m, runs_m))
    for rep in range(repeats):
        done: set = set()
        for _cfg, key, blocks_m, runs_m in plan:
            mk = (key, blocks_m, runs_m)
            if mk in done:  # the same reduced scale serves several configs
                continue
            done.add(mk)
            res = r.measure(key, "default", runs_m, blocks_m)
            res["repeat"] = rep
            meas.setdefault(mk, []).append(res)
    # memory slope of the history-keeping peers: one extra small run each
    slope = {}
    for key in ("radcad", "radcad_nocopy", "cadcad", "cadcad_nocopy"):
        if key not in keys:
            continue
        small = r.measure(key, "default", 1, MEM_SLOPE_BLOCKS)
        big = statistics.median(x["peak_rss_mb"] for x in meas[(key, DAY, 1)])
        slope[key] = (big - small["peak_rss_mb"]) / (DAY - MEM_SLOPE_BLOCKS)  # MB per block-run

    rows = []
    for cfg, key, blocks_m, runs_m in plan:
        days, runs = cfg
        ms = meas[(key, blocks_m, runs_m)]
        scale = (days * DAY * runs) / (blocks_m * runs_m)
        sim = statistics.median(x["sim_s"] for x in ms) * scale
        wall = statistics.median(x["wall_s"] for x in ms)
        rss = statistics.median(x["peak_rss_mb"] for x in ms)
        est_rss = rss + slope[key] * (days * DAY * runs - blocks_m * runs_m) if (
            key in slope and scale > 1) else None
        rows.append({
            "days": days, "runs": runs, "key": key, "blocks_m": blocks_m, "runs_m": runs_m,
            "scale": scale, "sim_s": sim, "sim_times_s": [x["sim_s"] for x in ms],
            "wall_s": wall, "peak_rss_mb": rss, "est_rss_mb": est_rss,
            "checked": all(ok(x) for x in ms), "identical": all(x["identical"] for x in ms),
            "n": len(ms)})
    emit("\n## Timing (default network, 128 subnets; median of "
         f"{repeats} repeats, one process per measurement)\n")
    emit("`sim s`: in-process simulation time (extrapolated linearly where `measured at` is "
         "smaller than the configuration). `x dtaosim`: ratio to dtaosim (checks on) in sim "
         "time. `process s`: wall time of the measured process including interpreter start, "
         "imports, input loading and (dtaosim) the kernel's cache load. `peak RSS`: at the "
         "measured scale; `est. RSS`: extrapolated to the configuration from the history's "
         "growth per block-run.\n")
    for days, runs in CONFIGS:
        sel = [x for x in rows if (x["days"], x["runs"]) == (days, runs)]
        base = next(x for x in sel if x["key"] == "dtaosim")["sim_s"]
        emit(f"\n### {days} day{'s' if days > 1 else ''} ({days * DAY:,} blocks), "
             f"{runs} run{'s' if runs > 1 else ''}\n")
        emit("| implementation | measured at (blocks x runs) | sim s | x dtaosim | process s "
             "| peak RSS MB | est. RSS at full scale MB | checked |")
        emit("|---|---:|---:|---:|---:|---:|---:|:---:|")
        for x in sel:
            meas_at = (f"{x['blocks_m']:,} x {x['runs_m']}" + (" (extrap.)" if x["scale"] > 1
                                                                 else ""))
            est = f"{x['est_rss_mb']:,.0f}" if x["est_rss_mb"] is not None else "-"
            chk = "identical" if x["identical"] else ("within tol" if x["checked"] else "FAIL")
            emit(f"| {LABEL[x['key']]} | {meas_at} | {x['sim_s']:,.3f} | "
                 f"{x['sim_s'] / base:,.1f} | {x['wall_s']:,.2f} | {x['peak_rss_mb']:,.0f} | "
                 f"{est} | {chk} |")
    loads = [x["load1"] for ms in meas.values() for x in ms if "load1" in x]
    if loads:
        emit(f"\n1-minute load average around the {len(loads)} timed measurements: median "
             f"{statistics.median(loads):.2f}, max {max(loads):.2f} (2 cores; each measurement "
             "runs one process, the peers' pools up to 2).")
    if slope:
        emit("\nHistory growth used for `est. RSS` (MB per 1,000 block-runs, from 1 run at "
             f"{MEM_SLOPE_BLOCKS:,} and {DAY:,} blocks): "
             + ", ".join(f"{k} {v * 1000:.2f}" for k, v in slope.items()))
    return rows


def stage_scaling(emit) -> dict:
    """dtaosim alone, chain kernel: subnets, runs, days (``benchmarks/scaling.py``)."""
    sys.path.insert(0, str(HERE.parent))
    import scaling

    return scaling.main([], emit=emit)


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(x.split(":", 1)[1].strip() for x in f if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import numba

    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"numba {numba.__version__} ({numba.get_num_threads()} threads)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stages", default="equiv,timing,limit",
                    help="any of equiv,timing,scaling,limit")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--impls", default=",".join(k for k, *_ in IMPLS))
    ap.add_argument("--out", default=str(HERE / "results"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    for py in (PY_RADCAD, PY_CADCAD):
        if not Path(py).exists():
            sys.exit(f"missing {py}: run benchmarks/peers/setup_envs.sh first")
    log_f = open(out / "measurements.jsonl", "a")
    md: list[str] = []

    def log(res):
        log_f.write(json.dumps(res) + "\n")
        log_f.flush()
        print(json.dumps({k: res[k] for k in ("key", "network", "runs", "blocks", "sim_s",
                                              "wall_s", "peak_rss_mb", "identical", "load1")
                          if k in res}), flush=True)

    def emit(s: str):
        md.append(s)

    t0 = time.perf_counter()
    emit(f"Machine: {machine()}\n")
    stages = a.stages.split(",")
    r = Runner(work, log)
    summary: dict = {}
    if "equiv" in stages:
        summary["equiv"] = stage_equiv(r, emit)
    if "timing" in stages:
        summary["timing"] = stage_timing(r, a.repeats, emit, a.impls.split(","))
    if "scaling" in stages:
        summary["scaling"] = stage_scaling(emit)
    if "limit" in stages:
        sys.path.insert(0, str(HERE.parent))
        import limit

        summary["limit"] = limit.main(emit)
    emit(f"\nDriver wall time: {time.perf_counter() - t0:.0f} s")
    (out / "summary.md").write_text("\n".join(md) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print("\n".join(md))


if __name__ == "__main__":
    main()
