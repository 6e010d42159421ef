"""Speed of the whole chain with UIDs and Yuma (issue: neurons and Yuma, speed target).

One run of the embedded default network (128 subnets) with 256 UIDs and 64 validators per
subnet (synthetic metagraph, Yuma 3 bonds, tempo 360), stepped by the compiled kernel for
``--days`` simulated days, side by side with the same blocks without UIDs (aggregate holders).
Validators re-submit their weights every ``--refresh`` blocks (between kernel calls), as in
``simulate``, so they stay active. Prints a Markdown table of medians; the share of time in the
epochs (Yuma and payouts) is the difference between the two. Usage::

    python benchmarks/bench_uids.py [--days 365] [--repeats 3] [--liquid-alpha]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numba
import numpy as np

from dtaosim import default_network, get_mechanism
from dtaosim.chain.engine import advance_in_place
from dtaosim.chain.metagraph import neurons_for_state
from dtaosim.state.chain_state import SI
from dtaosim.state.neurons import NH, NI
from dtaosim.units import BLOCKS_PER_DAY

YEAR_DAYS = 365.25


def run(state, mech, blocks: int, refresh: int) -> float:
    st = state.copy()
    t0 = time.perf_counter()
    done = 0
    while done < blocks:
        step = min(refresh, blocks - done)
        advance_in_place(st, mech, step, check_invariants=False)
        done += step
        if st.neurons is not None:  # validators keep their weights fresh
            np.copyto(st.neurons.ints[:, :, NI.LAST_UPDATE, :], st.block,
                      where=st.neurons.permit)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=YEAR_DAYS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--uids", type=int, default=256)
    ap.add_argument("--validators", type=int, default=64)
    ap.add_argument("--refresh", type=int, default=3600)
    ap.add_argument("--liquid-alpha", action="store_true")
    a = ap.parse_args()
    numba.set_num_threads(1)  # one run on one core
    mech = get_mechanism("price-burn-2026-06")
    base = default_network(runs=1, mech=mech)
    with_uids = base.copy()
    with_uids.neurons = neurons_for_state(base, a.uids, a.validators, seed=0)
    if a.liquid_alpha:
        with_uids.neurons.hyper[:, :, NH.LIQUID_ALPHA] = 1
    blocks = round(a.days * BLOCKS_PER_DAY)
    for st in (base, with_uids):  # compile, and count the epochs of the measured span
        run(st, mech, 400, a.refresh)
    probe = with_uids.copy()
    advance_in_place(probe, mech, min(blocks, 36_000), check_invariants=False)
    counted = probe.ints[:, :, SI.EPOCH_COUNT] - with_uids.ints[:, :, SI.EPOCH_COUNT]
    epochs_per_block = float(counted.sum()) / min(blocks, 36_000)
    t_chain, t_uids = [], []
    for _ in range(a.repeats):  # alternate, so drifts of the machine hit both alike
        t_chain.append(run(base, mech, blocks, a.refresh))
        t_uids.append(run(with_uids, mech, blocks, a.refresh))
    mc, mu = statistics.median(t_chain), statistics.median(t_uids)
    epochs = epochs_per_block * blocks
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba {numba.__version__}, 1 thread; {a.days:g} days = {blocks:,} blocks; "
          f"{a.uids} UIDs, {a.validators} validators, liquid alpha "
          f"{'on' if a.liquid_alpha else 'off'}")
    print()
    print("| case | median s | runs (s) | extrapolated to one year (s) |")
    print("|---|---|---|---|")
    scale = YEAR_DAYS / a.days
    for name, ts, m in (("chain only (aggregate holders)", t_chain, mc),
                        (f"chain + Yuma, {a.uids} UIDs", t_uids, mu)):
        print(f"| {name} | {m:.2f} | {', '.join(f'{t:.2f}' for t in ts)} | {m * scale:.1f} |")
    print()
    per_epoch = (mu - mc) / epochs * 1e6
    print(f"subnet-epochs: {epochs:,.0f} ({epochs / mu:,.0f} per second of the whole run); "
          f"epochs (Yuma + payouts) take {(mu - mc) / mu:.0%} of the time, "
          f"{per_epoch:.1f} us per subnet-epoch")


if __name__ == "__main__":
    main()
