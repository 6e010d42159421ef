"""One measurement in a fresh process: ``python worker.py IMPL VARIANT ...``; prints one JSON line.

IMPL is ``dtaosim`` (main venv), ``numpy`` (any venv), ``radcad`` (.venv-radcad) or ``cadcad``
(.venv-cadcad). The timed region is the simulation call only: input loading, state building and
(dtaosim) the warm-up that loads the compiled kernel from numba's cache are outside it; the
driver also records the whole process's wall time. The final arrays are written to ``--out``
(``.npz``) for the equivalence check.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import model as m


def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=["dtaosim", "numpy", "radcad", "cadcad"])
    ap.add_argument("variant", nargs="?", default="default")
    ap.add_argument("--inputs", help="peers: .npz from model.make_inputs")
    ap.add_argument("--network", default="default")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--blocks", type=int, default=m.BLOCKS_PER_DAY)
    ap.add_argument("--subnets", type=int, default=m.SUBNETS)
    ap.add_argument("--out", help="write the final arrays here (.npz)")
    a = ap.parse_args()

    versions = {"python": platform.python_version()}
    if a.impl == "dtaosim":
        import impl_dtaosim
        import numba
        import numpy

        # One thread per run at most: with fewer runs than threads the idle OpenMP thread
        # still has to join every parallel region (one per 300-block action step), and when
        # another process holds the other core that join waits for the scheduler (10-20x
        # slower for one run on this shared 2-core machine). NUMBA_NUM_THREADS=1 does the same.
        numba.set_num_threads(min(a.runs, numba.config.NUMBA_NUM_THREADS))
        versions.update(numpy=numpy.__version__, numba=numba.__version__,
                        threads=numba.get_num_threads())
        state = impl_dtaosim.prepare(a.network, a.runs, a.subnets)
        t0 = time.perf_counter()
        res = impl_dtaosim.run(state, a.blocks, checks=(a.variant != "nochecks"))
        sim_s = time.perf_counter() - t0
        runs, blocks = a.runs, a.blocks
    else:
        import numpy

        inp = m.load_inputs(a.inputs)
        runs, blocks = inp["runs"], inp["blocks"]
        versions["numpy"] = numpy.__version__
        if a.impl == "numpy":
            import impl_numpy

            fn = impl_numpy.run
        elif a.impl == "radcad":
            import impl_radcad
            import radcad

            versions["radcad"] = getattr(radcad, "__version__", "?")
            fn = lambda d: impl_radcad.run(d, a.variant)  # noqa: E731
        else:
            import importlib.metadata as md

            import impl_cadcad

            versions["cadCAD"] = md.version("cadCAD")
            fn = lambda d: impl_cadcad.run(d, a.variant)  # noqa: E731
        t0 = time.perf_counter()
        res = fn(inp)
        sim_s = time.perf_counter() - t0
    if a.out:
        m.save_outputs(a.out, *res)
    # VmHWM, not getrusage(RUSAGE_SELF): ru_maxrss survives execve, so a worker forked from
    # the driver would report the driver's peak
    ru_self = _vm_hwm_mb()
    ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"impl": a.impl, "variant": a.variant, "runs": runs, "blocks": blocks,
                      "sim_s": sim_s, "maxrss_self_mb": round(ru_self, 1),
                      "maxrss_children_mb": round(ru_kids, 1), **versions}))


if __name__ == "__main__":
    main()
