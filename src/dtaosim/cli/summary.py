"""The summary of a run: key quantities per run, their median and spread across runs.

:func:`run_metrics` computes them (one value per run, then median, 10th and 90th percentile);
:func:`summary_table` renders them for the terminal (Rich) and :func:`summary_dict` for
``dtaosim run --json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.table import Table

from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.units import BLOCKS_PER_DAY, RAO_PER_TAO

__all__ = ["run_metrics", "spread", "summary_dict", "summary_table"]

_RAO = float(RAO_PER_TAO)


def spread(x: NDArray[Any]) -> dict[str, float]:
    """Median, 10th and 90th percentile (linear interpolation) of per-run values."""
    p10, med, p90 = np.percentile(np.asarray(x, dtype=np.float64), [10, 50, 90])
    return {"median": float(med), "p10": float(p10), "p90": float(p90)}


def _g(state: ChainState, f: GI) -> NDArray[np.float64]:
    return state.g(f).astype(np.float64) / _RAO


def _pools(state: ChainState) -> NDArray[np.float64]:
    ex = state.si(SI.EXISTS) != 0
    return (state.si(SI.TAO_RESERVE) * ex).sum(axis=1).astype(np.float64) / _RAO


def _sum_price(state: ChainState) -> NDArray[np.float64]:
    ex = state.si(SI.EXISTS) != 0
    return (state.spot_price() * ex).sum(axis=1)


def _subnets(state: ChainState) -> NDArray[np.float64]:
    return (state.si(SI.EXISTS) != 0).sum(axis=1).astype(np.float64)


# name -> (label, unit, level (start and end) or change over the run, per-run function)
_LEVELS = (
    ("tao_issuance", "TAO issuance", "TAO", lambda s: _g(s, GI.TOTAL_ISSUANCE)),
    ("tao_in_pools", "TAO in pools", "TAO", _pools),
    ("sum_of_prices", "sum of prices", "TAO/alpha", _sum_price),
    ("subnets", "subnets", "count", _subnets),
)
_CHANGES = (
    ("tao_emitted", "TAO emitted", "TAO", lambda s: _g(s, GI.MINTED_TAO)),
    ("tao_recycled", "TAO recycled", "TAO", lambda s: _g(s, GI.RECYCLED_TAO)),
    ("subnets_registered", "subnets registered", "count",
     lambda s: s.g(GI.SUBNETS_REGISTERED).astype(np.float64)),
    ("subnets_dissolved", "subnets dissolved", "count",
     lambda s: s.g(GI.SUBNETS_DISSOLVED).astype(np.float64)),
)


def run_metrics(first_state: ChainState, last_state: ChainState) -> dict[str, Any]:
    """Key quantities of a run, per run, summarised across runs.

    Parameters
    ----------
    first_state, last_state
        The states at the start and at the end of the run.

    Returns
    -------
    dict
        ``days``, ``blocks``, ``runs``; ``metrics``: name -> ``{"label", "unit", "start",
        "end"}`` for levels (TAO issuance, TAO in pools, sum of prices, subnets) and
        ``{"label", "unit", "change"}`` for what happened during the run (TAO emitted and
        recycled, subnets registered and dissolved), each a :func:`spread` (median, p10, p90
        across runs); ``top_subnets_by_share``: the five netuids with the largest median
        emission share at the end, with the spread of their share.
    """
    metrics: dict[str, dict[str, Any]] = {}
    for name, label, unit, fn in _LEVELS:
        metrics[name] = {"label": label, "unit": unit, "start": spread(fn(first_state)),
                         "end": spread(fn(last_state))}
    for name, label, unit, fn in _CHANGES:
        metrics[name] = {"label": label, "unit": unit,
                         "change": spread(fn(last_state) - fn(first_state))}
    share = np.where(last_state.si(SI.EXISTS) != 0, last_state.sf(SF.SHARE), 0.0)
    med_share = np.median(share, axis=0)
    order = np.argsort(-med_share, kind="stable")[:5]
    top = [{"netuid": int(k) + 1, **spread(share[:, k])} for k in order if med_share[k] > 0]
    blocks = int(last_state.block - first_state.block)
    return {"runs": last_state.runs, "blocks": blocks, "days": blocks / BLOCKS_PER_DAY,
            "metrics": metrics, "top_subnets_by_share": top}


def _fmt(x: float, unit: str) -> str:
    if unit == "count":
        return f"{x:g}"
    if unit == "TAO/alpha":
        return f"{x:.4f}"
    if x == 0:
        return "0"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.3f}"


def summary_table(first_state: ChainState, last_state: ChainState) -> Table:
    """Short terminal summary of a run; with several runs, the median and the spread.

    Parameters
    ----------
    first_state, last_state
        The states at the start and at the end of the run.

    Returns
    -------
    rich.table.Table
        Rows: days simulated, TAO issuance, TAO emitted and recycled, TAO in pools, sum of
        prices, subnets, subnets registered/dissolved, top-5 subnets by emission share at the
        end. With more than one run: medians across runs, and the 10th-90th percentile range
        of the end (or change) in a last column.
    """
    m = run_metrics(first_state, last_state)
    runs = m["runs"]
    many = runs > 1
    title = "dtaosim run summary" + (f" (median of {runs} runs; p10-p90 across runs)"
                                     if many else "")
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")
    if many:
        table.add_column("end p10-p90", justify="right")

    def rng(s: dict[str, float], unit: str) -> list[str]:
        return [f"{_fmt(s['p10'], unit)} - {_fmt(s['p90'], unit)}"] if many else []

    table.add_row("days simulated", "", f"{m['days']:,.2f} ({m['blocks']:,} blocks)",
                  *([""] if many else []))
    order = ("tao_issuance", "tao_emitted", "tao_recycled", "tao_in_pools", "sum_of_prices",
             "subnets", "subnets_registered", "subnets_dissolved")
    for name in order:
        q = m["metrics"][name]
        unit = q["unit"]
        label = q["label"] + (" (TAO/alpha)" if unit == "TAO/alpha" else "")
        if "change" in q:
            table.add_row(label, "", _fmt(q["change"]["median"], unit), *rng(q["change"], unit))
        else:
            table.add_row(label, _fmt(q["start"]["median"], unit),
                          _fmt(q["end"]["median"], unit), *rng(q["end"], unit))
    top = m["top_subnets_by_share"]
    table.add_row("top-5 by share (netuid: %)", "",
                  ", ".join(f"{t['netuid']}: {t['median']:.1%}" for t in top) or "-",
                  *([", ".join(f"{t['p10']:.1%}-{t['p90']:.1%}" for t in top) or "-"]
                    if many else []))
    return table


def summary_dict(first_state: ChainState, last_state: ChainState,
                 manifest: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable summary ``dtaosim run --json`` prints.

    Parameters
    ----------
    first_state, last_state
        The states at the start and at the end of the run.
    manifest
        The run's manifest (seed, mechanism, timings, code version).

    Returns
    -------
    dict
        ``seed``, ``runs``, ``days``, ``blocks``, ``mechanism`` (preset name),
        ``wall_time_s``, ``compile_s``, ``blocks_per_second``, ``code_version``, then
        :func:`run_metrics`' ``metrics`` and ``top_subnets_by_share``. The caller adds the
        paths.
    """
    m = run_metrics(first_state, last_state)
    mech = manifest.get("mechanism", {})
    keys = ("seed", "runs", "days", "blocks", "uids", "wall_time_s", "compile_s",
            "simulate_s", "blocks_per_second", "code_version")
    out: dict[str, Any] = {k: manifest.get(k) for k in keys}
    out["mechanism"] = mech.get("preset") if isinstance(mech, dict) else mech
    out["metrics"] = m["metrics"]
    out["top_subnets_by_share"] = m["top_subnets_by_share"]
    return out
