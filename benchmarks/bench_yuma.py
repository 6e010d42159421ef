"""Speed of the Yuma epoch (``dtaosim.chain.yuma``), per subnet-epoch, single-threaded.

Realistic subnets: ``n`` UIDs, ``min(64, n)`` permitted validators whose weights cover every UID
(noisy but correlated scores, row max-upscaled to ``uint16`` like ``set_weights``), a heavy-tailed
stake distribution (validators hold most of it, a few miners hold none), a handful of recently
registered UIDs, and bonds warmed up over a few epochs. Each case runs a batch of distinct
subnets (``--subnets``, capped so that weights + bonds stay near 128 MiB) through

* the compiled batched path ``yuma_epoch`` (bonds updated in place, as the engine does);
* the per-subnet entry point ``yuma_subnet`` called from an ``@njit`` loop (when available);
* the NumPy reference ``yuma_epoch_numpy`` (at ``--numpy-n`` only, fewer subnets).

Cases: Yuma 3 with liquid alpha, Yuma 3 without, classic bonds. The last column projects one
simulated chain-year (128 subnets x 7,305 epochs at tempo 360 = 935,040 subnet-epochs). Usage::

    python benchmarks/bench_yuma.py [--n 64 128 256 512 1024] [--repeats 7] [--subnets 128]

Prints a Markdown table of medians (µs per subnet-epoch and subnet-epochs per second). Times are
this process's CPU time unless ``--wall`` (the kernels are single-threaded; on an idle machine both
agree, on a shared one CPU time is the stabler measure).

Side by side: ``--compare REV_OR_DIR ...`` runs this benchmark once per source tree, in turn, for
``--rounds`` rounds (each a fresh process; a git revision is exported with ``git archive`` into a
temporary directory, a directory must hold the ``dtaosim`` package, e.g. a checkout's ``src``),
and prints the median of the rounds' medians per case and path, with the ratio to the first
tree. For example, before and after a change on the same machine::

    python benchmarks/bench_yuma.py --n 256 --subnets 64 --repeats 5 --numpy-n 0 \
        --compare main HEAD --rounds 3
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np

from dtaosim.chain import yuma as Y

CASES: dict[str, dict[str, Any]] = {
    "yuma3+liquid": dict(yuma3=True, liquid_alpha=True, bonds_penalty=65535),
    "yuma3": dict(yuma3=True, liquid_alpha=False, bonds_penalty=65535),
    "classic": dict(yuma3=False, liquid_alpha=False, bonds_penalty=65535),
}
TEMPO = 360
YEAR_SUBNET_EPOCHS = 128 * 7305  # 128 subnets x ~7,305 epochs per year at tempo 360


def make_subnets(nb: int, n: int, k: int, seed: int) -> dict[str, Any]:
    """Keyword arguments of ``yuma_epoch`` for ``nb`` realistic subnets of ``n`` UIDs."""
    rng = np.random.default_rng(seed)
    block = 5_000_000
    # stake (RAO): k validators with lognormal stake, miners small (some none)
    alpha = rng.uniform(0, 1e9, (nb, n)) * (rng.random((nb, n)) < 0.7)
    for b in range(nb):
        vals = rng.choice(n, size=k, replace=False)
        alpha[b, vals] = rng.lognormal(np.log(2e13), 1.5, k)
    root = rng.lognormal(np.log(1e12), 2.0, (nb, n)) * (rng.random((nb, n)) < 0.1)
    # weights: a common score per UID, each validator's view with multiplicative noise;
    # every validator rates every UID, row max-upscaled to u16
    score = rng.lognormal(0.0, 1.0, (nb, 1, n))
    noisy = score * rng.lognormal(0.0, 0.3, (nb, n, n))
    w = np.floor(noisy / noisy.max(axis=2, keepdims=True) * 65535).astype(np.uint16)
    reg = rng.integers(0, block - 100_000, (nb, n))
    recent = rng.random((nb, n)) < 0.02  # registered within the last tempo
    reg[recent] = block - rng.integers(0, TEMPO, recent.sum())
    last_update = block - rng.integers(0, 2 * TEMPO, (nb, n))
    return dict(
        alpha_stake=alpha, root_stake=root, tao_weight=0.18, weights=w,
        bonds=np.zeros((nb, n, n), np.uint16), validator_permit=np.zeros((nb, n), bool),
        last_update=last_update, block_at_registration=reg, block=block,
        emission=rng.integers(10**11, 2 * 10**11, nb), activity_cutoff=5000,
        last_tempo=block - TEMPO + 1, kappa=32767, bonds_moving_average=900_000,
        alpha_low=45875, alpha_high=58982, alpha_sigmoid_steepness=1000,
        max_allowed_validators=k, stake_threshold=0, owner_uid=0)


def warm_up(kw: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Run a few epochs feeding permits and bonds back (slightly re-noised weights)."""
    kw = dict(kw)
    rng = np.random.default_rng(1)
    for _ in range(epochs):
        r = Y.yuma_epoch(**kw)
        w = kw["weights"].astype(np.float64) * rng.lognormal(0.0, 0.05, kw["weights"].shape)
        w = np.floor(w / w.max(axis=2, keepdims=True) * 65535).astype(np.uint16)
        kw.update(bonds=r.bonds, validator_permit=r.validator_permit, weights=w)
    return kw


CLOCK = time.process_time


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median time of ``fn`` over ``repeats`` calls (after one untimed call)."""
    fn()
    ts = []
    for _ in range(repeats):
        t = CLOCK()
        fn()
        ts.append(CLOCK() - t)
    return statistics.median(ts)


@numba.njit  # no cache: numba does not invalidate it when chain/yuma/ changes
def _subnet_loop(alpha, root, permit, weights, bonds, last_update, reg, mask, emission, owner,
                 block, tao_weight, cutoff, last_tempo, kappa, penalty, bma, liquid, lo, hi,
                 steep, yuma3, k, threshold, outs, scratch):  # pragma: no cover - compiled
    """The engine's use: ``yuma_subnet`` per subnet from compiled code, scratch reused."""
    inc, div, cons, vt, stake, active, pnew, server, validator, emis = outs
    no_present = np.zeros((0, 0), dtype=np.bool_)
    no_commit = np.zeros(0, dtype=np.int64)
    for b in range(alpha.shape[0]):
        Y.yuma_subnet(alpha[b], root[b], permit[b], weights[b], bonds[b], last_update[b],
                      reg[b], mask[b], owner, block, emission[b], tao_weight, cutoff,
                      last_tempo, kappa, penalty, bma, liquid, lo, hi, steep, yuma3, k,
                      threshold, no_present, no_commit, inc[b], div[b], cons[b], vt[b],
                      stake[b], active[b], pnew[b], server[b], validator[b], emis[b], scratch)


def subnet_loop_timer(kw: dict[str, Any]) -> Callable[[], Any] | None:
    """A closure timing ``yuma_subnet`` over the batch from an ``@njit`` loop, if available."""
    if not hasattr(Y, "yuma_subnet"):
        return None
    nb, n = kw["alpha_stake"].shape
    outs = tuple(np.zeros((nb, n), dtype=dt) for dt in
                 (np.float64,) * 6 + (np.bool_,) + (np.int64,) * 3)

    def c(x: Any, dt: Any) -> Any:
        return np.ascontiguousarray(x, dtype=dt)

    args = (c(kw["alpha_stake"], np.float64), c(kw["root_stake"], np.float64),
            c(kw["validator_permit"], np.bool_), kw["weights"], kw["bonds"].copy(),
            c(kw["last_update"], np.int64), c(kw["block_at_registration"], np.int64),
            np.ones((nb, n), dtype=np.bool_), c(kw["emission"], np.int64),
            int(kw["owner_uid"]), int(kw["block"]), float(kw["tao_weight"]),
            int(kw["activity_cutoff"]), int(kw["last_tempo"]), int(kw["kappa"]),
            int(kw["bonds_penalty"]), int(kw["bonds_moving_average"]),
            bool(kw["liquid_alpha"]), int(kw["alpha_low"]), int(kw["alpha_high"]),
            int(kw["alpha_sigmoid_steepness"]), bool(kw["yuma3"]),
            int(kw["max_allowed_validators"]), float(kw["stake_threshold"]), outs,
            Y.yuma_scratch(n))
    return lambda: _subnet_loop(*args)


def source_tree(spec: str, tmp: Path) -> Path:
    """A directory holding the ``dtaosim`` package: ``spec`` itself, or git revision ``spec``
    exported into ``tmp``."""
    d = Path(spec)
    if (d / "dtaosim").is_dir():
        return d.resolve()
    if (d / "src" / "dtaosim").is_dir():
        return (d / "src").resolve()
    root = Path(__file__).resolve().parents[1]
    out = tmp / spec.replace("/", "_")
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(root), "archive", spec, "src"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def compare(a: argparse.Namespace, argv: list[str]) -> None:
    """Run this benchmark per source tree in alternation (see the module docstring)."""
    child = [x for x in argv if x not in a.compare]
    k = child.index("--compare")
    child = child[:k] + child[k + 1:]
    if "--rounds" in child:
        k = child.index("--rounds")
        child = child[:k] + child[k + 2:]
    results: dict[str, list[list[Any]]] = {spec: [] for spec in a.compare}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {spec: source_tree(spec, Path(tmp)) for spec in a.compare}
        for r in range(a.rounds):
            for spec, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": str(tree)}
                out = subprocess.run([sys.executable, __file__, *child, "--json"], env=env,
                                     capture_output=True, text=True, check=True).stdout
                results[spec].append(json.loads(out.splitlines()[-1]))
                print(f"  round {r + 1}: {spec} done", flush=True)
    keys = [tuple(row[:3]) for row in results[a.compare[0]][0]]
    med = {spec: {key: statistics.median(
        [row[4] for rnd in results[spec] for row in rnd if tuple(row[:3]) == key])
        for key in keys} for spec in a.compare}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"{a.rounds} rounds alternating, each the median of {a.repeats} repeats; "
          f"clock {'wall' if a.wall else 'process CPU'}; µs per subnet-epoch")
    print()
    print("| case | n | path | " + " | ".join(a.compare)
          + " | " + " | ".join(f"{s} / {a.compare[0]}" for s in a.compare[1:]) + " |")
    print("|---|---:|---|" + "---:|" * (2 * len(a.compare) - 1))
    for key in keys:
        base = med[a.compare[0]][key]
        print(f"| {key[0]} | {key[1]} | {key[2]} | "
              + " | ".join(f"{med[s][key] * 1e6:,.1f}" for s in a.compare) + " | "
              + " | ".join(f"{med[s][key] / base:.2f}" for s in a.compare[1:]) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--subnets", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup-epochs", type=int, default=4)
    ap.add_argument("--numpy-n", type=int, default=256, help="n for the NumPy reference (0: skip)")
    ap.add_argument("--numpy-subnets", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wall", action="store_true",
                    help="time wall-clock (default: this process's CPU time, which ignores "
                         "time the process spends descheduled on a busy machine)")
    ap.add_argument("--compare", nargs="+", metavar="REV_OR_DIR",
                    help="source trees (git revisions or directories) to run side by side")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --compare")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.compare:
        compare(a, sys.argv[1:])
        return
    global CLOCK
    CLOCK = time.perf_counter if a.wall else time.process_time
    numba.set_num_threads(1)

    rows: list[tuple[str, int, str, int, float]] = []
    for n in a.n:
        k = min(64, n)
        nb = max(2, min(a.subnets, (64 << 20) // (2 * n * n)))
        base = make_subnets(nb, n, k, a.seed + n)
        for case in a.cases:
            kw = warm_up({**base, **CASES[case]}, a.warmup_epochs)
            bonds = kw["bonds"].copy()
            run_kw = {**kw, "bonds": bonds}
            t = timed(lambda run_kw=run_kw: Y.yuma_epoch(**run_kw, bonds_inplace=True),
                      a.repeats)
            rows.append((case, n, "yuma_epoch (batched)", nb, t / nb))
            loop = subnet_loop_timer({**kw, "bonds": kw["bonds"].copy()})
            if loop is not None:
                rows.append((case, n, "yuma_subnet (njit loop)", nb, timed(loop, a.repeats) / nb))
            if n == a.numpy_n:
                nbn = min(nb, a.numpy_subnets)
                sub = {key: (v[:nbn] if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
                       for key, v in kw.items()}
                t = timed(lambda sub=sub: Y.yuma_epoch_numpy(**sub), max(1, a.repeats // 2))
                rows.append((case, n, "yuma_epoch_numpy", nbn, t / nbn))
            if not a.json:
                print(f"  done {case} n={n}", flush=True)

    if a.json:
        print(json.dumps(rows))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}, numpy {np.__version__}, numba "
          f"{numba.__version__}, numba threads {numba.get_num_threads()}, "
          f"repeats {a.repeats}, validators min(64, n), "
          f"clock {'wall' if a.wall else 'process CPU'}")
    print()
    print("| case | n | path | subnets | µs / subnet-epoch | subnet-epochs / s "
          "| s per chain-year |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for case, n, path, nb, t in rows:
        print(f"| {case} | {n} | {path} | {nb} | {t * 1e6:,.1f} | {1 / t:,.0f} "
              f"| {t * YEAR_SUBNET_EPOCHS:,.1f} |")


if __name__ == "__main__":
    main()
