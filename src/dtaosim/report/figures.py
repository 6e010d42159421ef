"""The report's charts: Plotly figures built from run-directory metrics.

Every chart has a title that says what it shows, axes with units and hover values. With several
Monte Carlo runs a path is a *fan*: the median over runs as a line and the p10-p90 band around
it; with one run, the line alone. Long series are thinned for display only (at most
:data:`MAX_POINTS` points per trace, always keeping the first and the last; the quantiles over
runs are taken on the full series first) and numbers are rounded to 5 significant digits, so a
365-day report stays small; the data files are never changed.

:func:`build_charts` returns every chart the run directory supports, or, for one it does not
(no ``uids.parquet``, no agent columns, an unreadable file), the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from dtaosim.errors import DataError
from dtaosim.report import metrics as m
from dtaosim.report.rundir import NETWORK_FILE, SUBNETS_FILE, UIDS_FILE, RunDir

__all__ = ["MAX_POINTS", "Chart", "build_charts"]

MAX_POINTS = 400
"""Most points per trace in the report (display only)."""

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f")
REST_COLOR = "#9a9a9a"
F = NDArray[np.float64]

_LAYOUT: dict[str, Any] = {
    "template": "none",
    "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12,
             "color": "#222"},
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "margin": {"l": 75, "r": 20, "t": 56, "b": 95},
    "height": 420,
    "hovermode": "x unified",
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "font": {"size": 11}},
    "title": {"x": 0.01, "xanchor": "left", "font": {"size": 15}},
}
_AXIS: dict[str, Any] = {"showgrid": True, "gridcolor": "#e6e6e6", "zeroline": False,
                         "linecolor": "#999", "showline": True, "ticks": "outside"}
DAY_AXIS = "day of the run (days since the start block)"


@dataclass(frozen=True)
class Chart:
    """One chart of the report.

    Attributes
    ----------
    key : str
        Stable id (HTML element id ``chart-<key>``, PNG file name).
    section : str
        Heading it belongs under.
    title : str
    figure : plotly.graph_objects.Figure or None
        ``None`` when the chart is not available for this run directory.
    missing : str or None
        Why not (when ``figure`` is ``None``).
    key_chart : bool
        Exported by ``--png``.
    """

    key: str
    section: str
    title: str
    figure: go.Figure | None
    missing: str | None = None
    key_chart: bool = False


# ------------------------------------------------------------------------------ helpers
def _thin(n: int, max_points: int = MAX_POINTS) -> NDArray[np.intp]:
    """Indices of at most ``max_points`` evenly spaced points, first and last included."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.intp))


def _r(x: Any, digits: int = 5) -> list[float | None]:
    """Values as a list rounded to ``digits`` significant digits (``None`` for NaN/inf)."""
    out: list[float | None] = []
    for v in np.asarray(x, dtype=np.float64).ravel():
        out.append(float(f"{v:.{digits}g}") if np.isfinite(v) else None)
    return out


def _quantiles(values: F) -> tuple[F, F, F]:
    """Median, p10, p90 over the run axis (axis 0)."""
    med, p10, p90 = m.spread(values, axis=0)
    return np.asarray(med), np.asarray(p10), np.asarray(p90)


def _rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _fan(fig: go.Figure, x: F, values: F, name: str, color: str, *, fmt: str = ".4g",
         unit: str = "", dash: str | None = None, secondary: bool = False,
         band_alpha: float = 0.18, width: float = 2.0) -> None:
    """Add a median line (and the p10-p90 band over runs when there are several)."""
    runs = values.shape[0]
    med, p10, p90 = _quantiles(values)
    idx = _thin(x.size)
    xs = _r(x[idx], 6)
    yaxis = "y2" if secondary else "y"
    mode = "lines+markers" if idx.size <= 40 else "lines"  # few records: show the points
    if runs > 1:
        fig.add_trace(go.Scatter(x=xs, y=_r(p90[idx]), mode="lines", line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup=name,
                                 yaxis=yaxis))
        fig.add_trace(go.Scatter(x=xs, y=_r(p10[idx]), mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor=_rgba(color, band_alpha),
                                 hoverinfo="skip", showlegend=False, legendgroup=name,
                                 yaxis=yaxis))
        custom = np.stack([_r(p10[idx]), _r(p90[idx])], axis=-1)
        hover = (f"{name}: %{{y:{fmt}}}{unit} (p10 %{{customdata[0]:{fmt}}}, "
                 f"p90 %{{customdata[1]:{fmt}}})<extra></extra>")
        fig.add_trace(go.Scatter(x=xs, y=_r(med[idx]), mode=mode, name=name,
                                 line={"color": color, "width": width, "dash": dash},
                                 marker={"size": 5}, customdata=custom.tolist(),
                                 hovertemplate=hover,
                                 legendgroup=name, yaxis=yaxis))
    else:
        fig.add_trace(go.Scatter(x=xs, y=_r(values[0, idx]), mode=mode, name=name,
                                 line={"color": color, "width": width, "dash": dash},
                                 marker={"size": 5},
                                 hovertemplate=f"{name}: %{{y:{fmt}}}{unit}<extra></extra>",
                                 legendgroup=name, yaxis=yaxis))


def _figure(title: str, x_title: str, y_title: str, runs: int, *, log_y: bool = False,
            y_format: str | None = None, hovermode: str = "x unified") -> go.Figure:
    spread = f" (median and p10-p90 over {runs} runs)" if runs > 1 else ""
    yaxis = {**_AXIS, "title": {"text": y_title}, "type": "log" if log_y else "linear"}
    if y_format:
        yaxis["tickformat"] = y_format
    layout = {**_LAYOUT, "title": {**_LAYOUT["title"], "text": title + spread},
              "hovermode": hovermode, "xaxis": {**_AXIS, "title": {"text": x_title}},
              "yaxis": yaxis}
    return go.Figure(layout=layout)


def _unavailable(key: str, section: str, title: str, why: str) -> Chart:
    return Chart(key, section, title, None, why)


# ------------------------------------------------------------------------------ charts
def _shares(rd: RunDir, top: m.TopSubnets) -> go.Figure:
    runs = rd.runs.size
    fig = _figure("Emission share of the top subnets and the rest", DAY_AXIS,
                  "share of the block's TAO emission", runs, y_format=".0%")
    for i, k in enumerate(top.netuids):
        _fan(fig, top.day, top.share[:, :, i], f"SN{k}", PALETTE[i % len(PALETTE)], fmt=".2%")
    _fan(fig, top.day, top.rest_share, "the rest", REST_COLOR, fmt=".2%", dash="dot")
    return fig


def _prices(rd: RunDir, top: m.TopSubnets) -> go.Figure:
    fig = _figure("Alpha price of the top subnets", DAY_AXIS, "alpha price (TAO per alpha, log)",
                  rd.runs.size, log_y=True)
    for i, k in enumerate(top.netuids):
        _fan(fig, top.day, top.price[:, :, i], f"SN{k}", PALETTE[i % len(PALETTE)],
             unit=" TAO")
    return fig


def _bleed(rd: RunDir) -> go.Figure:
    lc = m.log_price_change(rd, 0, -1)
    x = lc[np.isfinite(lc)]
    b = m.price_bleed(rd)
    runs = rd.runs.size
    pooled = f", pooled over {runs} runs" if runs > 1 else ""
    fig = _figure(f"Alpha price change vs TAO from day {b.start_day:g} to day {b.end_day:g}, "
                  f"per subnet{pooled}", "log(price at the end / price at the start)",
                  "subnets" + (" (all runs)" if runs > 1 else ""), 1, hovermode="closest")
    fig.add_trace(go.Histogram(x=_r(x), nbinsx=40, marker={"color": PALETTE[0]},
                               name="subnets",
                               hovertemplate="log change %{x}: %{y} subnets<extra></extra>"))
    med = float(np.median(x)) if x.size else np.nan
    if np.isfinite(med):
        fig.add_vline(x=med, line={"color": "#333", "dash": "dash"},
                      annotation_text=f"median {med:.3f} (x{np.exp(med):.2f})")
    return fig


def _pools(rd: RunDir) -> go.Figure:
    p = m.pools(rd)
    fig = _figure("TAO in all subnet pools", DAY_AXIS, "TAO", rd.runs.size)
    _fan(fig, p.day, p.total, "TAO in all pools", PALETTE[0], fmt=",.0f", unit=" TAO")
    return fig


def _pool_spread(rd: RunDir) -> go.Figure:
    p = m.pools(rd)
    fig = _figure("TAO in pool per subnet: p10, median, p90 and largest", DAY_AXIS,
                  "TAO per subnet pool (log)", rd.runs.size, log_y=True)
    for i, (name, v) in enumerate((("largest pool", p.max), ("p90 over subnets", p.p90),
                                   ("median over subnets", p.median),
                                   ("p10 over subnets", p.p10))):
        _fan(fig, p.day, v, name, PALETTE[i], fmt=",.0f", unit=" TAO")
    return fig


def _sum_prices(rd: RunDir) -> go.Figure:
    s = m.sum_of_prices(rd)
    fig = _figure("Sum of alpha prices over all subnets", DAY_AXIS, "sum of prices (TAO per alpha)",
                  rd.runs.size)
    _fan(fig, s.day, s.value, "sum of alpha prices", PALETTE[1], fmt=".4f")
    return fig


def _injection(rd: RunDir) -> go.Figure:
    i = m.injection(rd)
    fig = _figure("TAO injected into pools vs the block reward", DAY_AXIS,
                  "TAO per block (interval mean)", rd.runs.size)
    _fan(fig, i.day, i.emission_per_block, "block reward (TAO minted)", "#444444", fmt=".4f",
         dash="dot")
    _fan(fig, i.day, i.tao_in_per_block, "injected into pools (tao_in)", PALETTE[0], fmt=".4f")
    _fan(fig, i.day, i.chain_buy_per_block, "excess TAO used for chain buys", PALETTE[1],
         fmt=".4f")
    return fig


def _concentration(rd: RunDir) -> go.Figure:
    c = m.concentration(rd)
    fig = _figure("Emission concentration across subnets: top-10 share and Gini", DAY_AXIS,
                  "fraction (0-1)", rd.runs.size)
    _fan(fig, c.day, c.top10, "top-10 share", PALETTE[0], fmt=".1%")
    _fan(fig, c.day, c.top1, "top-1 share", PALETTE[2], fmt=".1%")
    _fan(fig, c.day, c.gini, "Gini of the shares", PALETTE[3], fmt=".3f", dash="dash")
    return fig


def _pay_rank(rd: RunDir, pay: m.Payout) -> go.Figure:
    q = pay.rank_share
    ranks = np.arange(1, q.shape[0] + 1, dtype=np.float64)
    fig = _figure(f"Cumulative share of a subnet's miner pay to its best-paid UIDs, day "
                  f"{pay.day[-1]:g} (median and p10-p90 over subnets paying miners)",
                  "miner UIDs, best paid first (count, log)",
                  "cumulative share of the subnet's miner pay", 1, y_format=".0%")
    fan = q.T[[0, 1, 2]]  # rows: median, p10, p90 as if runs
    fig.add_trace(go.Scatter(x=_r(ranks), y=_r(fan[2]), mode="lines", line={"width": 0},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=_r(ranks), y=_r(fan[1]), mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor=_rgba(PALETTE[4], 0.2),
                             hoverinfo="skip", showlegend=False))
    custom = np.stack([_r(fan[1]), _r(fan[2])], axis=-1).tolist()
    fig.add_trace(go.Scatter(
        x=_r(ranks), y=_r(fan[0]), mode="lines+markers" if ranks.size <= 40 else "lines",
        name="median over subnets",
        line={"color": PALETTE[4], "width": 2}, marker={"size": 4}, customdata=custom,
        hovertemplate="top %{x} UIDs: %{y:.1%} of miner pay (p10 %{customdata[0]:.1%}, "
                      "p90 %{customdata[1]:.1%})<extra></extra>"))
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= max(ranks.size, 1)]
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[str(t) for t in ticks])
    return fig


def _pay_time(rd: RunDir, pay: m.Payout) -> go.Figure:
    fig = _figure("Who gets paid among a subnet's miner UIDs, median over subnets", DAY_AXIS,
                  "fraction (0-1)", rd.runs.size, y_format=".0%")
    _fan(fig, pay.day, pay.zero_share, "miner UIDs with zero incentive", PALETTE[3], fmt=".1%")
    _fan(fig, pay.day, pay.top1, "pay to the best-paid UID", PALETTE[4], fmt=".1%")
    _fan(fig, pay.day, pay.top10, "pay to the 10 best-paid UIDs", PALETTE[0], fmt=".1%")
    _fan(fig, pay.day, pay.gini, "Gini of miner pay", "#444444", fmt=".3f", dash="dash")
    return fig


def _burns(rd: RunDir) -> go.Figure:
    b = m.neuron_burns(rd)
    fig = _figure("UID registration burn across subnets", DAY_AXIS, "burn to register a UID "
                  "(TAO, log)", rd.runs.size, log_y=True)
    for i, (name, v) in enumerate((("largest", b.max), ("p90 over subnets", b.p90),
                                   ("median over subnets", b.median),
                                   ("p10 over subnets", b.p10))):
        _fan(fig, b.day, v, name, PALETTE[i], fmt=".4g", unit=" TAO")
    fig.add_trace(go.Scatter(x=_r(b.day[[0, -1]], 6), y=[b.floor, b.floor], mode="lines",
                             name=f"floor ({b.floor:g} TAO)", hoverinfo="skip",
                             line={"color": "#999", "dash": "dot", "width": 1}))
    return fig


def _churn(rd: RunDir) -> go.Figure:
    c = m.churn(rd)
    runs = rd.runs.size
    reg = np.diff(c.registered, axis=1)
    dis = np.diff(c.dissolved, axis=1)
    x = c.day[1:]
    idx = _thin(x.size)
    per = " per record interval" + (f", mean over {runs} runs" if runs > 1 else "")
    fig = _figure("Subnet registrations (up) and dissolutions (down)" + per, DAY_AXIS,
                  "subnets", 1, hovermode="x unified")
    # thinning bars would drop events: sum them into the displayed bins instead
    bins = np.searchsorted(idx, np.arange(x.size), side="left")
    bins = np.minimum(bins, idx.size - 1)
    reg_b = np.zeros((reg.shape[0], idx.size))
    dis_b = np.zeros_like(reg_b)
    np.add.at(reg_b, (slice(None), bins), np.nan_to_num(reg))
    np.add.at(dis_b, (slice(None), bins), np.nan_to_num(dis))
    fig.add_trace(go.Bar(x=_r(x[idx], 6), y=_r(reg_b.mean(axis=0)), name="registered",
                         marker={"color": PALETTE[2]},
                         hovertemplate="registered: %{y:.3g}<extra></extra>"))
    fig.add_trace(go.Bar(x=_r(x[idx], 6), y=_r(-dis_b.mean(axis=0)), name="dissolved",
                         marker={"color": PALETTE[3]},
                         hovertemplate="dissolved: %{y:.3g}<extra></extra>"))
    fig.update_layout(barmode="relative", bargap=0.1)
    return fig


# ------------------------------------------------------------------------------ agents
def _tao_usd(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("TAO/USD", DAY_AXIS, "USD per TAO", rd.runs.size)
    _fan(fig, a.day, a.series["tao_usd"], "TAO/USD", PALETTE[0], fmt=",.2f", unit=" USD")
    return fig


def _retention(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("Talent retained: share of the starting teams still active, by skill tier",
                  DAY_AXIS, "share of the tier's starting teams", rd.runs.size, y_format=".0%")
    for i, (col, name) in enumerate((("retained_top_decile", "top decile"),
                                     ("retained_top_quartile", "top quartile"),
                                     ("retained_rest", "the rest"))):
        if col in a.series:
            _fan(fig, a.day, a.series[col], name, PALETTE[i], fmt=".1%")
    return fig


def _stake(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("Stake on root vs in subnets (alpha valued in TAO) vs held outside",
                  DAY_AXIS, "TAO", rd.runs.size)
    for i, (col, name) in enumerate((("root_stake_tao", "on root"),
                                     ("subnet_stake_tao", "in subnets"),
                                     ("outside_tao", "stakers' TAO outside"))):
        if col in a.series:
            _fan(fig, a.day, a.series[col], name, PALETTE[i], fmt=",.0f", unit=" TAO")
    return fig


def _usefulness(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("Subnet usefulness (1 = the starting median subnet's talent)", DAY_AXIS,
                  "usefulness", rd.runs.size)
    for i, (col, name) in enumerate((("usefulness_mean", "mean"), ("usefulness_p90", "p90"))):
        if col in a.series:
            _fan(fig, a.day, a.series[col], name, PALETTE[i], fmt=".3f")
    return fig


def _paid_miners(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("Subnets paying no miner, and owners' burn (0 % / 100 %)", DAY_AXIS,
                  "subnets", rd.runs.size)
    for i, (col, name) in enumerate((("subnets_no_paid_miner", "no paid miner"),
                                     ("subnets_burn_full", "owner burns 100 %"),
                                     ("subnets_burn_zero", "owner burns 0 %"))):
        if col in a.series:
            _fan(fig, a.day, a.series[col], name, PALETTE[i], fmt=",.0f")
    return fig


def _emission_conc(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("Emission concentration", DAY_AXIS, "share / Gini", rd.runs.size,
                  y_format=".0%")
    for i, (col, name) in enumerate((("emission_top10_share", "top-10 subnets' share"),
                                     ("emission_gini", "Gini over subnets"))):
        if col in a.series:
            _fan(fig, a.day, a.series[col], name, PALETTE[i], fmt=".1%")
    return fig


def _entries_exits(rd: RunDir, a: m.Agents) -> go.Figure:
    runs = rd.runs.size
    per = " per record interval" + (f", mean over {runs} runs" if runs > 1 else "")
    fig = _figure("Miner teams entering (up) and leaving (down) by reason" + per, DAY_AXIS,
                  "teams", 1)
    x = a.day[1:]
    idx = _thin(x.size)
    bins = np.minimum(np.searchsorted(idx, np.arange(x.size), side="left"), idx.size - 1)

    def binned(col: str) -> list[float | None]:
        v = np.nan_to_num(a.series[col][:, 1:])
        out = np.zeros((v.shape[0], idx.size))
        np.add.at(out, (slice(None), bins), v)
        return _r(out.mean(axis=0))

    if "entries" in a.series:
        fig.add_trace(go.Bar(x=_r(x[idx], 6), y=binned("entries"), name="entries",
                             marker={"color": PALETTE[2]},
                             hovertemplate="entries: %{y:.3g}<extra></extra>"))
    for i, reason in enumerate(m.EXIT_REASONS):
        col = f"exits_{reason}"
        if col in a.series:
            y = [None if v is None else -v for v in binned(col)]
            fig.add_trace(go.Bar(x=_r(x[idx], 6), y=y, name=f"exit: {reason.replace('_', ' ')}",
                                 marker={"color": PALETTE[(i + 3) % len(PALETTE)]},
                                 hovertemplate=f"exit ({reason}): %{{y:.3g}}<extra></extra>"))
    fig.update_layout(barmode="relative", bargap=0.1)
    return fig


def _teams_active(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("Miner teams active", DAY_AXIS, "teams holding a UID", rd.runs.size)
    _fan(fig, a.day, a.series["teams_active"], "teams active", PALETTE[0], fmt=",.0f")
    return fig


def _profit_time(rd: RunDir, a: m.Agents) -> go.Figure:
    fig = _figure("Miner profit per team-day over active teams (p10, median, p90)", DAY_AXIS,
                  "USD per team-day", rd.runs.size)
    for i, col in enumerate(("miner_profit_usd_p90", "miner_profit_usd_p50",
                             "miner_profit_usd_p10")):
        if col in a.series:
            _fan(fig, a.day, a.series[col], col.rsplit("_", 1)[-1] + " over teams", PALETTE[i],
                 fmt=",.0f", unit=" USD")
    fig.add_hline(y=0, line={"color": "#999", "dash": "dot"})
    return fig


def _profit_hardware(rd: RunDir, a: m.Agents) -> go.Figure:
    assert a.teams is not None
    per_day = a.profit_per_day(int(rd.blocks[-1]))
    if per_day is None or "hardware" not in a.teams:
        raise DataError("teams.parquet lacks hardware, profit_usd or entered_block")
    hw = np.asarray(a.teams["hardware"]).astype(str)
    fig = _figure("Miner profit by hardware profile (per team, whole run; all runs)",
                  "hardware profile", "profit in USD per day active", 1, hovermode="closest")
    for i, name in enumerate(sorted(set(hw.tolist()))):
        v = per_day[(hw == name) & np.isfinite(per_day)]
        fig.add_trace(go.Box(y=_r(v, 4), name=name, marker={"color": PALETTE[i % 10]},
                             boxpoints="outliers"))
    fig.add_hline(y=0, line={"color": "#999", "dash": "dot"})
    fig.update_layout(showlegend=False)
    return fig


# ------------------------------------------------------------------------------ all charts
Builder = Callable[[], go.Figure]


def build_charts(rd: RunDir, top_n: int = 8) -> list[Chart]:
    """Every chart of the report for ``rd`` (or why it is not available)."""
    charts: list[Chart] = []

    def add(key: str, section: str, title: str, build: Builder, key_chart: bool = False,
            needs: Sequence[str] = (SUBNETS_FILE,)) -> None:
        for name in needs:
            if not rd.has(name):
                charts.append(_unavailable(key, section, title,
                                           f"{name} is {rd.files[name].problem}"))
                return
        try:
            fig = build()
        except DataError as e:
            charts.append(_unavailable(key, section, title, str(e)))
            return
        charts.append(Chart(key, section, title, fig, None, key_chart))

    top: m.TopSubnets | None = None

    def get_top() -> m.TopSubnets:
        nonlocal top
        if top is None:
            top = m.top_subnets(rd, top_n)
        return top

    s1 = "Subnets: who gains emission share"
    add("shares", s1, "Emission share of the top subnets and the rest",
        lambda: _shares(rd, get_top()), True)
    add("prices", s1, "Alpha price of the top subnets", lambda: _prices(rd, get_top()), True)
    add("bleed", s1, "Alpha price change vs TAO per subnet", lambda: _bleed(rd))
    add("concentration", s1, "Emission concentration (top-10 share, Gini)",
        lambda: _concentration(rd), True)
    s2 = "Pools, prices and injection"
    add("pools", s2, "TAO in all pools", lambda: _pools(rd), True)
    add("pool_spread", s2, "TAO in pool per subnet", lambda: _pool_spread(rd))
    add("sum_prices", s2, "Sum of alpha prices", lambda: _sum_prices(rd), True, needs=())
    add("injection", s2, "TAO injected vs block reward", lambda: _injection(rd), True)
    s3 = "Miners: who gets paid"
    pay: m.Payout | None = None
    if rd.has(UIDS_FILE):
        try:
            pay = m.payout_shape(rd)
        except DataError:
            pay = None
    if pay is None:
        why = (f"{UIDS_FILE} is {rd.files[UIDS_FILE].problem}" if not rd.has(UIDS_FILE)
               else f"{UIDS_FILE} has no UID rows")
        if rd.files[UIDS_FILE].problem == "missing":
            why += " (aggregate holders: --uids 0)"
        charts.append(_unavailable("pay_rank", s3, "Miner pay by UID rank", why))
        charts.append(_unavailable("pay_time", s3, "Who gets paid among miner UIDs", why))
    else:
        p = pay
        add("pay_rank", s3, "Miner pay by UID rank", lambda: _pay_rank(rd, p), True)
        add("pay_time", s3, "Who gets paid among miner UIDs", lambda: _pay_time(rd, p))
    add("burns", s3, "UID registration burn", lambda: _burns(rd), True)
    s4 = "Subnet lifecycle"
    add("churn", s4, "Subnet registrations and dissolutions", lambda: _churn(rd), True,
        needs=())

    a = m.agents(rd)
    if a is not None:
        s5 = "Miner teams (agents)"
        net = (NETWORK_FILE,)
        if "tao_usd" in a.series:
            add("tao_usd", s5, "TAO/USD", lambda: _tao_usd(rd, a), True, needs=net)
        if "teams_active" in a.series:
            add("teams_active", s5, "Miner teams active", lambda: _teams_active(rd, a), needs=net)
        if any(c.startswith("retained_") for c in a.series):
            add("retention", s5, "Talent retained by tier", lambda: _retention(rd, a), True,
                needs=net)
        if "entries" in a.series or any(c.startswith("exits_") for c in a.series):
            add("entries_exits", s5, "Entries and exits by reason",
                lambda: _entries_exits(rd, a), True, needs=net)
        if any(c.startswith("miner_profit_usd") for c in a.series):
            add("profit_time", s5, "Miner profit in USD", lambda: _profit_time(rd, a), needs=net)
        if a.teams is not None:
            add("profit_hardware", s5, "Miner profit by hardware profile",
                lambda: _profit_hardware(rd, a), True, needs=())
        s6 = "Stakers, owners and usefulness (agents)"
        if any(c in a.series for c in ("root_stake_tao", "subnet_stake_tao")):
            add("stake", s6, "Stake on root vs subnets", lambda: _stake(rd, a), True, needs=net)
        if "usefulness_mean" in a.series:
            add("usefulness", s6, "Usefulness", lambda: _usefulness(rd, a), True, needs=net)
        if "subnets_no_paid_miner" in a.series:
            add("paid_miners", s6, "Subnets with no paid miner", lambda: _paid_miners(rd, a),
                True, needs=net)
        if "emission_top10_share" in a.series:
            add("emission_concentration", s6, "Emission concentration",
                lambda: _emission_conc(rd, a), needs=net)
    return charts

