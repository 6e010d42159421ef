"""The reduced model as a plain per-block NumPy loop (runs x subnets vectorised).

What a NumPy user writes: the state as ``(runs, subnets)`` arrays, one Python iteration per
block calling :func:`model.block_step`, and the stake flows every ``FLOW_EVERY`` blocks. Keeps
only the current state (no history).
"""

from __future__ import annotations

import model as m
import numpy as np


def run(inp: dict):
    """Final ``(tao, alpha_in, alpha_out, ema)``, each ``(runs, subnets)``."""
    c, thr, z = inp["consts"], inp["thresholds"], inp["z"]
    runs, blocks = inp["runs"], inp["blocks"]

    def rep(a):
        return np.repeat(np.asarray(a)[None, :], runs, axis=0)

    tao, ain, aout, stake, ema = (rep(inp[k]) for k in m.FIELDS)
    issuance = np.full(runs, inp["issuance"], dtype=np.int64)
    free = np.full(runs, inp["free_tao"], dtype=np.int64)
    for t in range(1, blocks + 1):
        tao, ain, aout, ema, issuance = m.block_step(tao, ain, aout, ema, issuance, c, thr)
        if t % m.FLOW_EVERY == 0:
            tao, ain, aout, stake, free = m.flow_step(tao, ain, aout, stake, free,
                                                      z[:, t // m.FLOW_EVERY - 1], c)
    return tao, ain, aout, ema
