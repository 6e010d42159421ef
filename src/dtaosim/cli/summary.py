"""The terminal summary of a run (Rich table)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.table import Table

from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.units import BLOCKS_PER_DAY, RAO_PER_TAO

__all__ = ["summary_table"]

_RAO = float(RAO_PER_TAO)


def _fmt_amount(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.3f}"


def _median(x: NDArray[Any]) -> float:
    return float(np.median(np.asarray(x, dtype=np.float64)))


def summary_table(first_state: ChainState, last_state: ChainState) -> Table:
    """Short terminal summary of a run (per-run medians when there are several runs).

    Parameters
    ----------
    first_state, last_state
        The states at the start and at the end of the run.

    Returns
    -------
    rich.table.Table
        Rows: days simulated, TAO issuance, TAO emitted and recycled, TAO in pools, sum of
        prices, top-5 subnets by emission share at the end, subnets registered/dissolved.
    """
    runs = last_state.runs
    title = "dtaosim run summary" + (f" (median of {runs} runs)" if runs > 1 else "")
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")

    def g(state: ChainState, f: GI) -> NDArray[np.float64]:
        return state.g(f).astype(np.float64) / _RAO

    def pools(state: ChainState) -> NDArray[np.float64]:
        ex = state.si(SI.EXISTS) != 0
        return (state.si(SI.TAO_RESERVE) * ex).sum(axis=1).astype(np.float64) / _RAO

    def sum_price(state: ChainState) -> NDArray[np.float64]:
        ex = state.si(SI.EXISTS) != 0
        return (state.spot_price() * ex).sum(axis=1)

    def subnets(state: ChainState) -> NDArray[np.float64]:
        return (state.si(SI.EXISTS) != 0).sum(axis=1).astype(np.float64)

    days = (last_state.block - first_state.block) / BLOCKS_PER_DAY
    blocks = last_state.block - first_state.block
    table.add_row("days simulated", "", f"{days:,.2f} ({blocks:,} blocks)")
    table.add_row(
        "TAO issuance",
        _fmt_amount(_median(g(first_state, GI.TOTAL_ISSUANCE))),
        _fmt_amount(_median(g(last_state, GI.TOTAL_ISSUANCE))),
    )
    for label, f in (("TAO emitted", GI.MINTED_TAO), ("TAO recycled", GI.RECYCLED_TAO)):
        diff = g(last_state, f) - g(first_state, f)
        table.add_row(label, "", _fmt_amount(_median(diff)))
    table.add_row(
        "TAO in pools",
        _fmt_amount(_median(pools(first_state))),
        _fmt_amount(_median(pools(last_state))),
    )
    table.add_row(
        "sum of prices (TAO/alpha)",
        f"{_median(sum_price(first_state)):.4f}",
        f"{_median(sum_price(last_state)):.4f}",
    )
    table.add_row(
        "subnets",
        f"{_median(subnets(first_state)):g}",
        f"{_median(subnets(last_state)):g}",
    )
    for label, f in (
        ("subnets registered", GI.SUBNETS_REGISTERED),
        ("subnets dissolved", GI.SUBNETS_DISSOLVED),
    ):
        diff = last_state.g(f).astype(np.float64) - first_state.g(f).astype(np.float64)
        table.add_row(label, "", f"{_median(diff):g}")

    share = np.where(last_state.si(SI.EXISTS) != 0, last_state.sf(SF.SHARE), 0.0)
    med_share = np.median(share, axis=0)
    order = np.argsort(-med_share, kind="stable")[:5]
    top = [f"{int(k) + 1}: {med_share[k]:.1%}" for k in order if med_share[k] > 0]
    table.add_row("top-5 by share (netuid: %)", "", ", ".join(top) or "-")
    return table
