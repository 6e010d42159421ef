"""The reduced model as cadCAD-style partial state update blocks (used by radCAD and cadCAD).

Both frameworks take the same model definition: a dict of state variables, and a list of
partial state update blocks, each with policies ``p(params, substep, state_history, state)``
returning signals and state-update functions ``s(params, substep, state_history, state,
signals)`` returning ``(name, new_value)``. One timestep is one block:

1. ``block``: emission, injection and the price EMA (policy :func:`p_block`);
2. ``stake flows``: every ``FLOW_EVERY`` blocks, the pre-drawn flows (policy :func:`p_flows`).

State per run: the per-subnet arrays ``tao``, ``alpha_in``, ``alpha_out``, ``stake``, ``ema``
(NumPy, 128 entries) and the scalars ``issuance``, ``free_tao``, ``block``. The arithmetic is
:mod:`model`'s, so results are comparable entry by entry with the other implementations. The
pre-drawn normals are a module global (``Z``, set by :func:`setup`), as in the peer-toy bench;
forked worker processes inherit it.
"""

from __future__ import annotations

import model as m
import numpy as np

INP: dict = {}


def setup(inp: dict) -> dict:
    """Store the inputs for the policies; return the initial state."""
    INP.clear()
    INP.update(inp)
    return {
        "tao": inp["tao"].copy(),
        "alpha_in": inp["alpha_in"].copy(),
        "alpha_out": inp["alpha_out"].copy(),
        "stake": inp["stake"].copy(),
        "ema": inp["ema"].copy(),
        "issuance": int(inp["issuance"]),
        "free_tao": int(inp["free_tao"]),
        "block": 0,
    }


# --------------------------------------------------------------------------------- policies
def p_block(params, substep, state_history, state):
    tao, ain, aout, ema, iss = m.block_step(
        state["tao"], state["alpha_in"], state["alpha_out"], state["ema"],
        np.int64(state["issuance"]), INP["consts"], INP["thresholds"])
    return {"tao": tao, "alpha_in": ain, "alpha_out": aout, "ema": ema, "issuance": int(iss)}


def p_flows(params, substep, state_history, state):
    b = state["block"]
    if b % m.FLOW_EVERY != 0:
        return {}
    z = INP["z"][state["run"] - 1, b // m.FLOW_EVERY - 1]
    tao, ain, aout, stake, free = m.flow_step(
        state["tao"], state["alpha_in"], state["alpha_out"], state["stake"],
        np.int64(state["free_tao"]), z, INP["consts"])
    return {"tao": tao, "alpha_in": ain, "alpha_out": aout, "stake": stake,
            "free_tao": int(free)}


# ------------------------------------------------------------------- state-update functions
def _update(name):
    def suf(params, substep, state_history, state, signals):
        return name, signals.get(name, state[name])

    suf.__name__ = f"s_{name}"
    return suf


s_tao, s_alpha_in, s_alpha_out, s_stake, s_ema, s_issuance, s_free_tao = (
    _update(n) for n in ("tao", "alpha_in", "alpha_out", "stake", "ema", "issuance", "free_tao"))


def s_block(params, substep, state_history, state, signals):
    return "block", state["block"] + 1


BLOCKS = [
    {
        "label": "block",
        "policies": {"block": p_block},
        "variables": {"tao": s_tao, "alpha_in": s_alpha_in, "alpha_out": s_alpha_out,
                      "ema": s_ema, "issuance": s_issuance, "block": s_block},
    },
    {
        "label": "stake flows",
        "policies": {"flows": p_flows},
        "variables": {"tao": s_tao, "alpha_in": s_alpha_in, "alpha_out": s_alpha_out,
                      "stake": s_stake, "free_tao": s_free_tao},
    },
]


def finals(records, runs: int, blocks: int):
    """Each run's last record (timestep ``blocks``, last substep) as ``(runs, subnets)`` arrays."""
    n = len(INP["tao"])
    out = {k: np.zeros((runs, n), dtype=np.int64) for k in ("tao", "alpha_in", "alpha_out")}
    out["ema"] = np.full((runs, n), np.nan)
    last_sub = len(BLOCKS)
    seen = set()
    for rec in records:
        if rec["timestep"] == blocks and rec["substep"] == last_sub:
            r = rec["run"] - 1
            seen.add(r)
            for k in out:
                out[k][r] = rec[k]
    if len(seen) != runs:
        raise RuntimeError(f"found final records for {len(seen)} of {runs} runs")
    return out["tao"], out["alpha_in"], out["alpha_out"], out["ema"]
