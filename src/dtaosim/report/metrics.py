"""Metrics of a run directory, per Monte Carlo run, for validation and the report.

Every function takes a :class:`~dtaosim.report.rundir.RunDir` (or a path) and returns a small
frozen dataclass of NumPy arrays with a leading *run* axis (``(runs,)`` for a figure of the
whole run, ``(runs, records)`` for a path over time), so that the caller can take the Monte
Carlo spread with :func:`spread`. ``NaN`` marks a value that is undefined for a run (no subnet
qualified, too few records). Definitions are in ``docs/validation.md``; in short:

* a *subnet* is a (netuid, ``registered_at``) pair: netuids are reused after a dissolution, so a
  netuid whose registration block changed is a different subnet;
* prices are alpha spot prices in TAO per alpha (``price``); shares are the chain's emission
  shares (``share``, summing to 1 over subnets);
* percentiles are NumPy's linear interpolation (DuckDB's ``quantile_cont``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtaosim.report.rundir import TEAMS_FILE, UIDS_FILE, RunDir
from dtaosim.units import BLOCKS_PER_DAY

__all__ = [
    "AGENT_COLUMNS",
    "EXIT_REASONS",
    "Agents",
    "Bleed",
    "Burns",
    "Churn",
    "Concentration",
    "Injection",
    "Payout",
    "Pools",
    "Ratio",
    "SumPrices",
    "TopSubnets",
    "Volatility",
    "agents",
    "churn",
    "concentration",
    "gini",
    "injection",
    "log_price_change",
    "neuron_burns",
    "open_run",
    "payout_shape",
    "pools",
    "price_bleed",
    "share_price_ratio",
    "spread",
    "sum_of_prices",
    "top_subnets",
    "volatility",
]

F = NDArray[np.float64]

EXIT_REASONS = ("cost", "outside_option", "deregistered", "subnet_dissolved", "switched",
                "abandoned")
AGENT_COLUMNS = ("tao_usd", "teams_active", "retained_top_decile", "retained_top_quartile",
                 "retained_rest", "entries", *(f"exits_{r}" for r in EXIT_REASONS),
                 "miner_profit_usd_p10", "miner_profit_usd_p50", "miner_profit_usd_p90",
                 # issue 11: stakers, owners, usefulness
                 "root_stake_tao", "subnet_stake_tao", "outside_tao", "subnets_no_paid_miner",
                 "emission_top10_share", "emission_gini", "usefulness_mean", "usefulness_p90",
                 "owner_burn_mean", "subnets_burn_zero", "subnets_burn_full",
                 "subnets_abandoned", "subnets_registered_by_owners")


def open_run(run: RunDir | str | Path) -> RunDir:
    """``run`` itself if already open, else :class:`RunDir` of the path."""
    return run if isinstance(run, RunDir) else RunDir(run)


def spread(values: Any, axis: int = 0) -> tuple[Any, Any, Any]:
    """Median, p10 and p90 over ``axis`` (the run axis), ignoring ``NaN``.

    Returns ``NaN`` where every value is ``NaN``.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return np.nan, np.nan, np.nan
    q = _nanpct(x, [50, 10, 90], axis=axis)
    return q[0], q[1], q[2]


class _quiet:
    """Silence NumPy's all-NaN-slice warnings (undefined values stay ``NaN``)."""

    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)


def _nanpct(x: Any, q: float | list[float], axis: int) -> Any:
    """``numpy.nanpercentile`` (linear method) along one axis, vectorised.

    NumPy's own version loops over slices in Python when there are NaNs; this sorts once
    (NaN last) and interpolates between the neighbours of ``(n - 1) q`` as NumPy does. Returns
    NaN where a slice has no value; a list ``q`` gives a leading axis of that length.
    """
    v = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    s = np.sort(v, axis=-1)
    n = np.sum(~np.isnan(v), axis=-1)
    out = []
    for qq in np.atleast_1d(np.asarray(q, dtype=np.float64)) / 100.0:
        pos = np.maximum(n - 1, 0) * qq
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        a = np.take_along_axis(s, lo[..., None], axis=-1)[..., 0] if s.shape[-1] else pos * np.nan
        b = np.take_along_axis(s, hi[..., None], axis=-1)[..., 0] if s.shape[-1] else pos * np.nan
        t = pos - lo
        with np.errstate(all="ignore"):
            d = b - a
            val = np.where(t >= 0.5, b - d * (1 - t), a + d * t)  # numpy's _lerp
        out.append(np.where(n > 0, val, np.nan))
    res = np.stack(out) if np.ndim(q) else out[0]
    return res if np.ndim(res) else float(res)


def gini(x: Any, axis: int = -1) -> Any:
    """Gini coefficient of non-negative values along ``axis``, ``NaN`` entries left out.

    ``0`` when all are equal, ``1 - 1/n`` when one of ``n`` holds everything; ``NaN`` when the
    total is 0 or nothing is left.

    Examples
    --------
    >>> float(gini([0.0, 0.0, 0.0, 1.0]))
    0.75
    """
    v = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    n = np.sum(~np.isnan(v), axis=-1)
    s = -np.sort(-np.nan_to_num(v, nan=0.0), axis=-1)  # descending; absent = 0 at the end
    j = np.arange(1, s.shape[-1] + 1, dtype=np.float64)
    tot = s.sum(axis=-1)
    with np.errstate(all="ignore"):
        g = (n + 1) / n - 2.0 * (s * j).sum(axis=-1) / (n * tot)
    return np.where((n > 0) & (tot > 0), g, np.nan)


def _top_share(x: F, k: int) -> F:
    """Share of the total held by the ``k`` largest values along the last axis (NaN = absent)."""
    s = -np.sort(-np.nan_to_num(x, nan=0.0), axis=-1)
    tot = s.sum(axis=-1)
    with np.errstate(all="ignore"):
        return np.where(tot > 0, s[..., :k].sum(axis=-1) / tot, np.nan)  # type: ignore[no-any-return]


def _record_index(rd: RunDir, day: float | None, default: int) -> int:
    if day is None:
        return default % max(rd.blocks.size, 1)
    return int(np.argmin(np.abs(rd.days - day)))


# ------------------------------------------------------------------------------ R2 bleed
@dataclass(frozen=True)
class Bleed:
    """Alpha price change of the subnets present at both ends (R2), per run.

    Attributes
    ----------
    median, p10, p90 : ndarray (runs,)
        Over subnets, of ``log(price_end / price_start)`` (TAO per alpha: the change vs TAO).
    share_falling : ndarray (runs,)
        Share of those subnets whose price fell.
    subnets : ndarray (runs,)
        How many subnets qualified.
    median_usd : ndarray (runs,) or None
        Median change of the price in USD (``price x tao_usd``), when the run has TAO/USD.
    start_day, end_day : float
    """

    median: F
    p10: F
    p90: F
    share_falling: F
    subnets: F
    median_usd: F | None
    start_day: float
    end_day: float


def log_price_change(run: RunDir | str | Path, t0: int, t1: int) -> F:
    """``log(price[t1] / price[t0])`` per (run, netuid) between records ``t0`` and ``t1``.

    NaN unless the same subnet (netuid and registration), emitting at ``t0``, is there at both.
    """
    rd = open_run(run)
    price = rd.subnet_array("price")
    reg = rd.subnet_array("registered_at")
    enabled = rd.subnet_array("emission_enabled")
    same = (reg[:, t0] == reg[:, t1]) & (enabled[:, t0] == 1)
    same &= (price[:, t0] > 0) & (price[:, t1] > 0)
    with np.errstate(all="ignore"):
        return np.where(same, np.log(price[:, t1] / price[:, t0]), np.nan)  # type: ignore[no-any-return]


def price_bleed(run: RunDir | str | Path, start_day: float | None = None,
                end_day: float | None = None) -> Bleed:
    """Alpha price change vs TAO over the horizon (R2), per run.

    Parameters
    ----------
    run
        The run directory.
    start_day, end_day
        Records nearest to these days (default: the first and the last record).

    Notes
    -----
    A subnet qualifies when the same registration (netuid and ``registered_at``) exists at
    both records and its emission was enabled at the start (no start-up pool).
    """
    rd = open_run(run)
    t0, t1 = _record_index(rd, start_day, 0), _record_index(rd, end_day, -1)
    lc = log_price_change(rd, t0, t1)
    n = np.sum(~np.isnan(lc), axis=1).astype(np.float64)
    q = _nanpct(lc, [50, 10, 90], axis=1)
    with np.errstate(all="ignore"):
        falling = np.where(n > 0, np.sum(lc < 0, axis=1) / n, np.nan)
    usd = None
    if rd.has_network_column("tao_usd"):
        fx = rd.network_array("tao_usd")
        with np.errstate(all="ignore"):
            usd = _nanpct(lc + np.log(fx[:, t1] / fx[:, t0])[:, None], 50, axis=1)
    return Bleed(q[0], q[1], q[2], falling, n, usd, float(rd.days[t0]), float(rd.days[t1]))


# ------------------------------------------------------------------------------ R3 volatility
@dataclass(frozen=True)
class Volatility:
    """Daily log-return s.d. per established subnet (R3), quartiles over subnets, per run.

    Attributes
    ----------
    p25, median, p75 : ndarray (runs,)
    subnets : ndarray (runs,)
        Subnets that qualified.
    per_subnet : ndarray (runs, netuids)
        The s.d. of each subnet (NaN if it did not qualify).
    """

    p25: F
    median: F
    p75: F
    subnets: F
    per_subnet: F


def _daily_records(rd: RunDir) -> NDArray[np.intp]:
    """Records at whole days (all records if the cadence does not hit whole days)."""
    d = rd.days
    whole = np.flatnonzero(np.abs(d - np.round(d)) < 1e-9)
    return whole if whole.size >= 2 else np.arange(d.size)


def volatility(run: RunDir | str | Path, min_age_days: float = 30.0,
               min_coverage: float = 0.8) -> Volatility:
    """Daily log-return s.d. of established subnets (R3), per run.

    Parameters
    ----------
    run
        The run directory.
    min_age_days
        A subnet is *established* if its first emission block is at least this many days
        before the first record.
    min_coverage
        A subnet needs returns over at least this share of the records' intervals.

    Notes
    -----
    Returns are taken between consecutive records at whole days; a return over ``g`` days is
    divided by ``sqrt(g)``. A return counts only if the same registration is at both ends.
    """
    rd = open_run(run)
    idx = _daily_records(rd)
    price = rd.subnet_array("price")[:, idx]
    reg = rd.subnet_array("registered_at")[:, idx]
    first = rd.subnet_array("first_emission_block")[:, idx[0]]
    start_block = rd.blocks[idx[0]]
    age = (start_block - first) / BLOCKS_PER_DAY
    established = (first >= 0) & (age >= min_age_days)
    gap = np.diff(rd.days[idx])
    with np.errstate(all="ignore"):
        r = np.log(price[:, 1:] / price[:, :-1]) / np.sqrt(gap)[None, :, None]
    ok = (reg[:, 1:] == reg[:, :-1]) & np.isfinite(r) & established[:, None, :]
    r = np.where(ok, r, np.nan)
    count = ok.sum(axis=1)
    need = max(2, int(np.ceil(min_coverage * gap.size)))
    with np.errstate(all="ignore"), _quiet():
        sd = np.nanstd(r, axis=1, ddof=1)
    sd = np.where(count >= need, sd, np.nan)
    q = _nanpct(sd, [25, 50, 75], axis=1)
    return Volatility(q[0], q[1], q[2], np.sum(~np.isnan(sd), axis=1).astype(np.float64), sd)


# ------------------------------------------------------------------------------ R4 concentration
@dataclass(frozen=True)
class Concentration:
    """Emission share concentration across subnets (R4), per run and record.

    Attributes
    ----------
    day : ndarray (records,)
    top1, top5, top10, gini : ndarray (runs, records)
        Share of the block's TAO emission going to the 1/5/10 largest subnets; Gini of the
        shares over existing subnets (zero shares included).
    """

    day: F
    top1: F
    top5: F
    top10: F
    gini: F


def concentration(run: RunDir | str | Path) -> Concentration:
    """Emission share concentration (top-1/5/10 share, Gini) over time, per run."""
    rd = open_run(run)
    share = rd.subnet_array("share")
    return Concentration(rd.days, _top_share(share, 1), _top_share(share, 5),
                         _top_share(share, 10), gini(share, axis=-1))


# ------------------------------------------------------------------------------ sum of prices
@dataclass(frozen=True)
class SumPrices:
    """Sum of alpha spot prices over existing subnets (TAO per alpha), per run and record.

    Attributes
    ----------
    day : ndarray (records,)
    value : ndarray (runs, records)
    start, end : ndarray (runs,)
    log_change : ndarray (runs,)
        ``log(end / start)``.
    """

    day: F
    value: F
    start: F
    end: F
    log_change: F


def sum_of_prices(run: RunDir | str | Path) -> SumPrices:
    """Sum of alpha prices over time and start -> end, per run."""
    rd = open_run(run)
    if rd.has_network_column("sum_price"):
        v = rd.network_array("sum_price")
    else:
        v = np.nansum(rd.subnet_array("price"), axis=2)
    with np.errstate(all="ignore"):
        lc = np.log(v[:, -1] / v[:, 0])
    return SumPrices(rd.days, v, v[:, 0].copy(), v[:, -1].copy(), lc)


# ------------------------------------------------------------------------------ R5 churn
@dataclass(frozen=True)
class Churn:
    """Subnet registrations and dissolutions (R5).

    Attributes
    ----------
    day : ndarray (records,)
    registered, dissolved : ndarray (runs, records)
        Since the first record (cumulative).
    registrations_per_day, dissolutions_per_day : ndarray (runs,)
        Over the whole horizon.
    subnets : ndarray (runs, records)
        Existing subnets.
    """

    day: F
    registered: F
    dissolved: F
    registrations_per_day: F
    dissolutions_per_day: F
    subnets: F

    @property
    def registrations_per_year(self) -> F:
        """Registrations per 365 days."""
        return self.registrations_per_day * 365.0

    @property
    def dissolutions_per_year(self) -> F:
        """Dissolutions per 365 days."""
        return self.dissolutions_per_day * 365.0


def churn(run: RunDir | str | Path) -> Churn:
    """Subnet registrations and dissolutions per day over the run, per run."""
    rd = open_run(run)
    if rd.has_network_column("subnets_registered"):
        reg = rd.network_array("subnets_registered")
        dis = rd.network_array("subnets_dissolved")
        reg, dis = reg - reg[:, :1], dis - dis[:, :1]
        n = rd.network_array("subnets")
    else:  # derive from the subnet keys (a new key = a registration; a lost one = dissolved)
        key = rd.subnet_array("registered_at")
        new = (~np.isnan(key[:, 1:])) & (key[:, 1:] != key[:, :-1])
        gone = (~np.isnan(key[:, :-1])) & (key[:, 1:] != key[:, :-1])
        zeros = np.zeros((key.shape[0], 1))
        reg = np.concatenate([zeros, np.cumsum(new.sum(axis=2), axis=1)], axis=1)
        dis = np.concatenate([zeros, np.cumsum(gone.sum(axis=2), axis=1)], axis=1)
        n = np.sum(~np.isnan(key), axis=2).astype(np.float64)
    h = rd.horizon_days
    with np.errstate(all="ignore"):
        per_reg = reg[:, -1] / h if h > 0 else np.full(reg.shape[0], np.nan)
        per_dis = dis[:, -1] / h if h > 0 else np.full(reg.shape[0], np.nan)
    return Churn(rd.days, reg, dis, per_reg, per_dis, n)


# ------------------------------------------------------------------------------ pools
@dataclass(frozen=True)
class Pools:
    """TAO in each subnet's pool, per run and record.

    Attributes
    ----------
    day : ndarray (records,)
    p10, median, p90, max, total : ndarray (runs, records)
        Over existing subnets, in TAO.
    """

    day: F
    p10: F
    median: F
    p90: F
    max: F
    total: F


def pools(run: RunDir | str | Path) -> Pools:
    """TAO in pool per subnet (p10, median, p90, max) and in all pools, over time."""
    rd = open_run(run)
    tao = rd.subnet_array("tao_reserve")
    q = _nanpct(tao, [10, 50, 90], axis=2)
    with _quiet():
        mx = np.nanmax(tao, axis=2)
    total = np.nansum(tao, axis=2)
    total = np.where(np.all(np.isnan(tao), axis=2), np.nan, total)
    return Pools(rd.days, q[0], q[1], q[2], mx, total)


# ------------------------------------------------------------------------------ injection
@dataclass(frozen=True)
class Injection:
    """TAO injected into pools vs the block emission, per run and record interval.

    Attributes
    ----------
    day : ndarray (records - 1,)
        End day of each interval.
    tao_in_per_block : ndarray (runs, records - 1)
        TAO injected into pools (``tao_in``) per block over the interval.
    chain_buy_per_block : ndarray (runs, records - 1)
        Excess TAO used for chain buys per block (the part of a subnet's emission over the
        injection cap).
    emission_per_block : ndarray (runs, records - 1)
        TAO minted by block emission per block.
    subnets_receiving : ndarray (runs, records - 1)
        Subnets whose ``tao_in`` grew over the interval.
    tao_in_per_block_run, emission_per_block_run : ndarray (runs,)
        Over the whole horizon.
    """

    day: F
    tao_in_per_block: F
    chain_buy_per_block: F
    emission_per_block: F
    subnets_receiving: F
    tao_in_per_block_run: F
    emission_per_block_run: F

    @property
    def fraction(self) -> F:
        """``tao_in`` as a share of the block emission over the whole horizon, per run."""
        with np.errstate(all="ignore"):
            return self.tao_in_per_block_run / self.emission_per_block_run  # type: ignore[no-any-return]


def injection(run: RunDir | str | Path) -> Injection:
    """TAO injected per block vs block emission over time.

    Increments of ``cum_tao_in`` (and ``cum_excess_tao``) are summed over subnets present with
    the same registration at both ends of an interval; a subnet dissolved inside an interval
    is missed for that interval.
    """
    rd = open_run(run)
    reg = rd.subnet_array("registered_at")
    same = reg[:, 1:] == reg[:, :-1]
    blocks = np.diff(rd.blocks).astype(np.float64)

    def inc(col: str) -> F:
        c = rd.subnet_array(col)
        return np.where(same, c[:, 1:] - c[:, :-1], 0.0)  # type: ignore[no-any-return]

    d_in = inc("cum_tao_in")
    d_buy = inc("cum_excess_tao")
    if rd.has_network_column("minted_tao"):
        minted = np.diff(rd.network_array("minted_tao"), axis=1)
    else:
        minted = np.full(d_in.shape[:2], np.nan)
    with np.errstate(all="ignore"):
        tin = d_in.sum(axis=2) / blocks
        buy = d_buy.sum(axis=2) / blocks
        em = minted / blocks
        total_blocks = blocks.sum()
        tin_run = d_in.sum(axis=(1, 2)) / total_blocks if total_blocks else np.nan * tin[:, 0]
        em_run = np.nansum(minted, axis=1) / total_blocks if total_blocks else np.nan * tin[:, 0]
    receiving = (d_in > 0).sum(axis=2).astype(np.float64)
    return Injection(rd.days[1:], tin, buy, em, receiving, np.asarray(tin_run),
                     np.asarray(em_run))


# ------------------------------------------------------------------------------ burns
@dataclass(frozen=True)
class Burns:
    """UID registration burn (``neuron_burn``, TAO) across subnets, per run and record.

    Attributes
    ----------
    day : ndarray (records,)
    p10, median, p90, max : ndarray (runs, records)
    at_floor : ndarray (runs, records)
        Share of subnets at the minimum burn (``min_burn``).
    floor : float
        The minimum burn in TAO.
    """

    day: F
    p10: F
    median: F
    p90: F
    max: F
    at_floor: F
    floor: float


def neuron_burns(run: RunDir | str | Path) -> Burns:
    """Registration (UID) burn levels over time."""
    rd = open_run(run)
    b = rd.subnet_array("neuron_burn")
    floor = float(rd.mechanism_constant("min_burn", 500_000)) / 1e9
    q = _nanpct(b, [10, 50, 90], axis=2)
    with _quiet():
        mx = np.nanmax(b, axis=2)
    n = np.sum(~np.isnan(b), axis=2)
    with np.errstate(all="ignore"):
        at_floor = np.where(n > 0, np.sum(b <= floor * (1 + 1e-9), axis=2) / n, np.nan)
    return Burns(rd.days, q[0], q[1], q[2], mx, at_floor, floor)


# ------------------------------------------------------------------------------ payout shape
@dataclass(frozen=True)
class Payout:
    """How miner pay is spread over a subnet's miner UIDs (``uids.parquet``).

    Per record and subnet, over the UIDs without a validator permit ("miner UIDs") and their
    ``incentive`` (the chain's share of the subnet's miner emission at the last epoch); each
    figure is the median over subnets.

    Attributes
    ----------
    day : ndarray (records,)
        The records used (at most ``max_records``, always the last).
    zero_share : ndarray (runs, records)
        Share of miner UIDs with zero incentive.
    top1, top5, top10 : ndarray (runs, records)
        Share of miner pay to the 1/5/10 best-paid UIDs (subnets paying miners anything).
    gini : ndarray (runs, records)
    n50, n90 : ndarray (runs, records)
        Fewest UIDs that receive 50% / 90% of miner pay.
    paid : ndarray (runs, records)
        Miner UIDs with positive incentive.
    miners : ndarray (runs, records)
        Miner UIDs per subnet.
    rank_share : ndarray (ranks, 3)
        At the last record, over all runs and paying subnets: median, p10 and p90 of the
        cumulative share of miner pay to the ``k`` best-paid UIDs, ``k = 1 .. ranks``.
    """

    day: F
    zero_share: F
    top1: F
    top5: F
    top10: F
    gini: F
    n50: F
    n90: F
    paid: F
    miners: F
    rank_share: F


_PAYOUT_COLUMNS = ["run", "netuid", "uid", "validator_permit", "incentive"]


def _payout_record(rd: RunDir, block: int, kmax: int) -> dict[str, F]:
    """Per (run, netuid) payout figures at one record, and the sorted cumulative shares."""
    import pyarrow.compute as pc

    tab = rd.uid_rows(block, _PAYOUT_COLUMNS)
    nr = rd.runs.size
    if tab.num_rows == 0:
        return {}
    run = np.asarray(tab.column("run"), dtype=np.int64)
    k = np.asarray(tab.column("netuid"), dtype=np.int64) - 1
    u = np.asarray(tab.column("uid"), dtype=np.int64)
    permit = np.asarray(pc.fill_null(tab.column("validator_permit"), False), dtype=bool)
    x = np.asarray(tab.column("incentive"), dtype=np.float64)
    kmax = kmax or (int(k.max()) + 1 if k.size else 0)
    keep = ~permit & (k >= 0) & (k < kmax) & np.isin(run, rd.runs)
    nu = int(u.max()) + 1 if u.size else 0
    v = np.full((nr, kmax, max(nu, 1)), -1.0)  # -1: not a miner UID (sorts last)
    v[np.searchsorted(rd.runs, run[keep]), k[keep], u[keep]] = np.maximum(x[keep], 0.0)
    miners = (v >= 0).sum(axis=-1).astype(np.float64)
    paid = (v > 0).sum(axis=-1).astype(np.float64)
    s = np.maximum(-np.sort(-v, axis=-1), 0.0)  # descending, absent = 0 at the end
    tot = s.sum(axis=-1)
    cum = np.cumsum(s, axis=-1)
    j = np.arange(1, s.shape[-1] + 1, dtype=np.float64)
    pays = tot > 0
    with np.errstate(all="ignore"):
        share = cum / tot[..., None]

        def first(level: float) -> F:
            hit = share >= level * (1 - 1e-12)
            return np.where(pays, np.argmax(hit, axis=-1) + 1.0, np.nan)  # type: ignore[no-any-return]

        out = {
            "miners": np.where(miners > 0, miners, np.nan),
            "zero": np.where(miners > 0, 1.0 - paid / miners, np.nan),
            "paid": np.where(miners > 0, paid, np.nan),
            "top1": np.where(pays, share[..., 0], np.nan),
            "top5": np.where(pays, share[..., min(4, s.shape[-1] - 1)], np.nan),
            "top10": np.where(pays, share[..., min(9, s.shape[-1] - 1)], np.nan),
            "gini": np.where(pays, (miners + 1) / miners
                             - 2.0 * (s * j).sum(axis=-1) / (miners * tot), np.nan),
            "n50": first(0.5),
            "n90": first(0.9),
        }
    # cumulative share by rank, for subnets paying miners; ranks beyond a subnet's miners: NaN
    ranks = np.where(pays[..., None] & (j <= miners[..., None]), share, np.nan)
    out["rank_share"] = ranks.reshape(-1, ranks.shape[-1])
    return out


def payout_shape(run: RunDir | str | Path, max_records: int = 60) -> Payout | None:
    """Payout shape across miner UIDs over time (``None`` without ``uids.parquet``).

    Parameters
    ----------
    run
        The run directory.
    max_records
        Use at most this many records, evenly spaced, always including the last.

    Notes
    -----
    ``uids.parquet`` is read one record at a time (row groups are skipped by their block
    statistics), so memory stays at one record of UIDs.
    """
    rd = open_run(run)
    if not rd.has(UIDS_FILE) or rd.files[UIDS_FILE].rows == 0:
        return None
    key = ("payout_shape", max_records)
    if key in rd.memo:
        return rd.memo[key]  # type: ignore[no-any-return]
    nb = rd.blocks.size
    take = max(1, min(max_records, nb))
    pick = np.unique(np.round(np.linspace(nb - 1, 0, take)).astype(np.intp))  # last included
    kmax = int(rd.netuids[-1]) if rd.netuids.size else 0
    names = ("zero", "top1", "top5", "top10", "gini", "n50", "n90", "paid", "miners")
    series = {n: np.full((rd.runs.size, pick.size), np.nan) for n in names}
    rank = np.zeros((0, 3))
    for i, t in enumerate(pick):
        rec = _payout_record(rd, int(rd.blocks[t]), kmax)
        if not rec:
            continue
        for n in names:
            series[n][:, i] = _nanpct(rec[n], 50, axis=1)
        if i == pick.size - 1:
            rs = rec["rank_share"]
            cols = np.flatnonzero(np.any(~np.isnan(rs), axis=0))
            if cols.size:
                rs = rs[:, : cols[-1] + 1]
                rank = np.asarray(_nanpct(rs, [50, 10, 90], axis=0)).T
    if all(np.all(np.isnan(v)) for v in series.values()):
        rd.memo[key] = None
        return None
    out = Payout(rd.days[pick], series["zero"], series["top1"], series["top5"], series["top10"],
                 series["gini"], series["n50"], series["n90"], series["paid"],
                 series["miners"], rank)
    rd.memo[key] = out
    return out


# ------------------------------------------------------------------------------ R1 ratio
@dataclass(frozen=True)
class Ratio:
    """Emission share / price share over subnets receiving emission (R1), per run.

    Attributes
    ----------
    p5, median, p95 : ndarray (runs,)
        Pooled over records and subnets with a positive share; the price share is the price
        over the sum of prices of those same subnets.
    share_rule : str or None
        The run's share rule (the real figure applies to ``price_ema``).
    """

    p5: F
    median: F
    p95: F
    share_rule: str | None


def share_price_ratio(run: RunDir | str | Path) -> Ratio:
    """Emission share / price share (R1), pooled over records, per run."""
    rd = open_run(run)
    share = rd.subnet_array("share")
    price = rd.subnet_array("price")
    pos = share > 0
    s = np.where(pos, share, 0.0)
    p = np.where(pos, price, 0.0)
    with np.errstate(all="ignore"):
        ratio = (s / s.sum(axis=2, keepdims=True)) / (p / p.sum(axis=2, keepdims=True))
    ratio = np.where(pos, ratio, np.nan).reshape(share.shape[0], -1)
    q = _nanpct(ratio, [5, 50, 95], axis=1)
    return Ratio(q[0], q[1], q[2], rd.share_rule)


# ------------------------------------------------------------------------------ top subnets
@dataclass(frozen=True)
class TopSubnets:
    """The largest subnets by emission share at the last record, plus "the rest".

    Attributes
    ----------
    day : ndarray (records,)
    netuids : list of int
        The top netuids by median (over runs) share at the last record.
    share, price : ndarray (runs, records, len(netuids))
        Their emission share and alpha price (NaN while the netuid holds another subnet than
        at the last record).
    rest_share : ndarray (runs, records)
        Share of all other subnets. Shares are NaN at records where no subnet has a share
        (the first record, before any block).
    """

    day: F
    netuids: list[int]
    share: F
    price: F
    rest_share: F


def top_subnets(run: RunDir | str | Path, n: int = 8) -> TopSubnets:
    """Emission share and price over time of the ``n`` largest subnets, and the rest."""
    rd = open_run(run)
    share = rd.subnet_array("share")
    price = rd.subnet_array("price")
    reg = rd.subnet_array("registered_at")
    last = _nanpct(share[:, -1, :], 50, axis=0)
    last = np.nan_to_num(last, nan=-1.0)
    order = [int(k) for k in np.argsort(-last, kind="stable")[:n] if last[k] > 0]
    same = reg[:, :, order] == reg[:, -1:, order]
    total = np.nansum(share, axis=2)
    emitting = (total > 0)[:, :, None]  # no shares before the first block: undefined
    s = np.where(same & emitting, share[:, :, order], np.nan)
    p = np.where(same, price[:, :, order], np.nan)
    rest = np.where(total > 0, np.clip(total - np.nansum(s, axis=2), 0.0, None), np.nan)
    return TopSubnets(rd.days, [k + 1 for k in order], s, p, rest)


# ------------------------------------------------------------------------------ agents
@dataclass(frozen=True)
class Agents:
    """Miner-team outputs (``CONTRACT.md``), when the run has them.

    Attributes
    ----------
    day : ndarray (records,)
    series : dict of str to ndarray (runs, records)
        Every contract column of ``network.parquet`` that is present.
    teams : dict of str to ndarray or None
        Columns of ``teams.parquet`` (one entry per run and team), if present.
    """

    day: F
    series: dict[str, F]
    teams: dict[str, NDArray[Any]] | None

    def total(self, column: str) -> F:
        """Per-run sum over records of a per-interval count (``entries``, ``exits_*``)."""
        return np.nansum(self.series[column][:, 1:], axis=1)  # type: ignore[no-any-return]

    def profit_per_day(self, end_block: int) -> F | None:
        """Per team: ``profit_usd`` per day active (``None`` without ``teams.parquet``)."""
        t = self.teams
        if t is None or "profit_usd" not in t or "entered_block" not in t:
            return None
        exited = np.asarray(t.get("exited_block", np.full(len(t["profit_usd"]), -1)),
                            dtype=np.float64)
        stop = np.where(exited >= 0, exited, end_block)
        days = (stop - np.asarray(t["entered_block"], dtype=np.float64)) / BLOCKS_PER_DAY
        with np.errstate(all="ignore"):
            return np.where(days > 0, np.asarray(t["profit_usd"], dtype=np.float64) / days,
                            np.nan)


def agents(run: RunDir | str | Path) -> Agents | None:
    """The miner-team columns and ``teams.parquet`` (``None`` for a chain-only run)."""
    rd = open_run(run)
    series = {c: rd.network_array(c) for c in AGENT_COLUMNS if rd.has_network_column(c)}
    teams = None
    if rd.has(TEAMS_FILE):
        tab = rd.read(TEAMS_FILE)
        teams = {name: tab.column(name).to_numpy(zero_copy_only=False)
                 for name in tab.column_names}
    if not series and teams is None:
        return None
    return Agents(rd.days, series, teams)


def as_dict(obj: Any) -> dict[str, Any]:
    """A metrics dataclass as a dict of its fields (for JSON output)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}
