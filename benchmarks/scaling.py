"""Cost of the compiled chain kernel against subnets, runs and simulated days (issue #4).

Chain only (``dtaosim.chain.engine.run_blocks``, invariant checks off unless ``--checks``), two
mechanisms:

* ``head``: the full HEAD mechanism ``price-burn-2026-06`` (price x burn shares, root-proportion
  cap, Balancer weights, chain buys, HEAD epochs every 360 blocks, ramped EMA);
* ``reduced``: the peer benchmark's reduced model (``dtao-2025-02`` without owner cut, root stake
  moved to free TAO, no epochs; ``benchmarks/peers/model.py``).

Networks of any size are synthesised from the embedded default network's 128 subnets: fewer
subnets are an even resample of them; more are copies of them with each copy's pool reserves
(TAO and alpha, so the price is kept) scaled by ``128 / subnets``, so the total TAO in pools, the
emission per pool and the relative size of chain buys stay those of the real network. The books
are re-balanced (free TAO, alpha issuance at start), so the invariants hold.

Axes (median of ``--repeats`` timed calls after a warm-up call, one process):

* ``subnets``: 1 run, numba threads = 1 (one core);
* ``runs``: 128 subnets, numba threads = ``min(runs, cores)`` (runs are spread over cores by
  ``prange``; with fewer runs than threads the idle thread still has to join every parallel
  region, which costs a scheduler wait when another process holds that core); reported also
  per core;
* ``days``: 128 subnets, 1 run, one call per horizon (is the cost per block flat?).

Usage::

    python benchmarks/scaling.py                       # everything, ~90 s on 2 cores
    python benchmarks/scaling.py --axes subnets --subnets 250 256 500 512 1000 1024

Prints Markdown tables (ns per subnet-block, M subnet-blocks/s).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

from dtaosim.chain.engine import run_blocks
from dtaosim.chain.presets import get_mechanism
from dtaosim.io.snapshot import default_snapshot, snapshot_to_state
from dtaosim.state.chain_state import GI, SI, ChainState

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
import model as peer_model

DAY = 7_200
BASE = 128


def network(mech_key: str, runs: int, subnets: int) -> tuple[ChainState, object]:
    """``(state, mechanism)``: the default network resampled/tiled to ``subnets`` subnets."""
    mech = get_mechanism("price-burn-2026-06") if mech_key == "head" else peer_model.mechanism()
    st = snapshot_to_state(default_snapshot(), runs, mech=mech)
    if st.subnets != BASE or not (st.exists != 0).all():
        raise RuntimeError("expected 128 occupied slots in the default network")
    if subnets <= BASE:
        idx = (np.arange(subnets) * BASE) // subnets
    else:
        idx = np.arange(subnets) % BASE
    ints = st.ints[:, idx, :].copy()
    floats = st.floats[:, idx, :].copy()
    gints = st.gints.copy()
    if subnets > BASE:
        scale = BASE / subnets
        for f in (SI.TAO_RESERVE, SI.ALPHA_IN):
            ints[:, :, f] = np.floor(ints[:, :, f] * scale).astype(np.int64)
    # books: alpha issued at start, free TAO closes the TAO identity
    ints[:, :, SI.ALPHA_ISSUANCE_START] = (ints[:, :, SI.ALPHA_IN] + ints[:, :, SI.ALPHA_OUT]
                                           + ints[:, :, SI.ALPHA_RECYCLED]
                                           - ints[:, :, SI.ALPHA_MINTED])
    held = (ints[:, :, SI.TAO_RESERVE].sum(axis=1) + ints[:, :, SI.PENDING_ROOT_TAO].sum(axis=1)
            + gints[:, GI.ROOT_STAKE])
    gints[:, GI.FREE_TAO] = gints[:, GI.TOTAL_ISSUANCE] - held
    if (gints[:, GI.FREE_TAO] < 0).any():
        raise RuntimeError("synthesised network holds more TAO than is issued")
    st = ChainState(st.block, ints, floats, gints, dict(st.meta))
    if mech_key == "reduced":
        st = peer_model._reduce(st)
    return st, mech


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up (compilation or cache load, page faults)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def measure(mech_key: str, runs: int, subnets: int, blocks: int, repeats: int,
            checks: bool) -> dict:
    st, mech = network(mech_key, runs, subnets)
    t = _median_time(lambda: run_blocks(st, mech, blocks, check_invariants=checks), repeats)
    sb = runs * subnets * blocks
    return {"mech": mech_key, "runs": runs, "subnets": subnets, "blocks": blocks, "s": t,
            "ns_sb": t / sb * 1e9, "msbps": sb / t / 1e6}


def _blocks_for(budget: float, runs: int, subnets: int) -> int:
    """Blocks for about ``budget`` subnet-blocks, a multiple of 360 (whole HEAD epochs)."""
    return max(360, int(budget / (runs * subnets)) // 360 * 360)


def main(argv: list[str] | None = None, emit=print) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--axes", nargs="+", default=["subnets", "runs", "days"],
                    choices=["subnets", "runs", "days"])
    ap.add_argument("--mechs", nargs="+", default=["head", "reduced"],
                    choices=["head", "reduced"])
    ap.add_argument("--subnets", type=int, nargs="+", default=[32, 64, 128, 256, 512])
    ap.add_argument("--runs", type=int, nargs="+", default=[1, 2, 4, 16, 64, 256])
    ap.add_argument("--days", type=int, nargs="+", default=[1, 7, 30, 365])
    ap.add_argument("--budget", type=float, default=3e7,
                    help="subnet-blocks per timed call (subnets and runs axes)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--checks", action="store_true", help="invariant checks on")
    a = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    emit(f"machine: {platform.processor() or platform.machine()}, {cores} cpus, python "
         f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}; "
         f"chain kernel only (run_blocks), invariant checks {'on' if a.checks else 'off'}, "
         f"median of {a.repeats}")
    out: dict = {}
    if "subnets" in a.axes:
        numba.set_num_threads(1)
        rows = []
        for s in a.subnets:
            for mk in a.mechs:
                rows.append(measure(mk, 1, s, _blocks_for(a.budget, 1, s), a.repeats, a.checks))
        out["subnets"] = rows
        _table(emit, "Subnets (1 run, one core)", rows, "subnets", a.mechs)
    if "runs" in a.axes:
        rows = []
        for r in a.runs:
            numba.set_num_threads(min(r, cores))  # see below: an idle thread still joins
            for mk in a.mechs:
                row = measure(mk, r, BASE, _blocks_for(a.budget * max(1, min(r, 8)) / 2, r, BASE),
                              a.repeats, a.checks)
                row["per_core_msbps"] = row["msbps"] / min(r, cores)
                rows.append(row)
        out["runs"] = rows
        _table(emit, f"Runs (128 subnets, numba threads = min(runs, {cores}))", rows, "runs",
               a.mechs, per_core=True)
    if "days" in a.axes:
        numba.set_num_threads(1)
        rows = []
        for d in a.days:
            for mk in a.mechs:
                rows.append(measure(mk, 1, BASE, d * DAY, a.repeats if d < 365 else 3,
                                    a.checks))
                rows[-1]["days"] = d
        out["days"] = rows
        _table(emit, "Simulated days (128 subnets, 1 run, one core)", rows, "days", a.mechs)
    return out


def _table(emit, title: str, rows: list[dict], axis: str, mechs: list[str],
           per_core: bool = False) -> None:
    emit(f"\n### {title}\n")
    head = f"| {axis} | blocks per call |"
    rule = "|---:|---:|"
    for mk in mechs:
        head += f" {mk}: s | {mk}: ns / subnet-block | {mk}: M subnet-blocks/s |"
        rule += "---:|---:|---:|"
        if per_core:
            head += f" {mk}: M / s per core |"
            rule += "---:|"
    emit(head)
    emit(rule)
    keys = sorted({r[axis] for r in rows})
    for k in keys:
        sel = {r["mech"]: r for r in rows if r[axis] == k}
        first = sel[mechs[0]]
        line = f"| {k:,} | {first['blocks']:,} |"
        for mk in mechs:
            r = sel[mk]
            line += f" {r['s']:.3f} | {r['ns_sb']:.2f} | {r['msbps']:.1f} |"
            if per_core:
                line += f" {r['per_core_msbps']:.1f} |"
        emit(line)


if __name__ == "__main__":
    main()
