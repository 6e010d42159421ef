"""Validation: a run directory's metrics against what the real network did.

The real figures live in ``dtaosim/data/real_world_targets.toml`` (built by
``scripts/build_real_world_targets.py`` from the MIT data in ``../shared/data/real-world`` and
the project's ``real-world-targets.md``): each has a value, a band (the real spread over rolling
windows or days, a stated range, or an assumed tolerance, as the entry says), the horizon it
applies to and how it was derived.

:func:`validate` computes each metric per Monte Carlo run (:mod:`dtaosim.report.metrics`),
takes the median and p10-p90 over runs and compares: **within** when the simulated p10-p90
overlaps the real band, **outside** otherwise, **n/a** when the metric cannot be computed for
this run (no UIDs, no agents, too few records) or the real figure is for another share rule.
Horizon-dependent figures are taken at the real horizon nearest the simulated one.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtaosim.errors import DataError
from dtaosim.report import metrics as m
from dtaosim.report.rundir import RunDir

__all__ = [
    "VALIDATED_METRICS",
    "Check",
    "Target",
    "Validation",
    "load_targets",
    "simulated_metrics",
    "validate",
]

TARGETS_RESOURCE = "real_world_targets.toml"
F = NDArray[np.float64]


@dataclass(frozen=True)
class Target:
    """One real-world figure (a ``[[target]]`` of ``real_world_targets.toml``)."""

    metric: str
    label: str
    ref: str
    unit: str
    horizon_days: int
    value: float | None
    low: float | None
    high: float | None
    era: str
    source: str
    derivation: str
    band: str
    reference_only: bool = False
    applies_to_share_rule: str | None = None
    compare_at: str | None = None
    windows: int | None = None


@dataclass(frozen=True)
class Check:
    """One row of the validation table.

    ``sim_*`` are the median and p10/p90 over Monte Carlo runs of the per-run metric;
    ``real_*`` the real figure and its band; ``verdict`` is ``within``, ``outside`` or ``n/a``.
    """

    metric: str
    label: str
    ref: str
    unit: str
    sim_median: float | None
    sim_p10: float | None
    sim_p90: float | None
    runs: int
    real_value: float | None
    real_low: float | None
    real_high: float | None
    real_horizon_days: int
    sim_horizon_days: float
    verdict: str
    note: str


@dataclass(frozen=True)
class Validation:
    """The validation of one run directory."""

    run_dir: str
    horizon_days: float
    runs: int
    mechanism: str
    checks: list[Check]
    problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``NaN`` as ``None``)."""
        d = asdict(self)
        for c in d["checks"]:
            for k, v in c.items():
                if isinstance(v, float) and not math.isfinite(v):
                    c[k] = None
        return d

    @property
    def counts(self) -> dict[str, int]:
        """How many checks have each verdict."""
        out = {"within": 0, "outside": 0, "n/a": 0}
        for c in self.checks:
            out[c.verdict] = out.get(c.verdict, 0) + 1
        return out


def load_targets(path: str | Path | None = None) -> list[Target]:
    """The real-world targets (the packaged file unless ``path`` is given).

    Raises
    ------
    DataError
        If the file is missing or malformed.
    """
    try:
        if path is None:
            ref = resources.files("dtaosim").joinpath("data").joinpath(TARGETS_RESOURCE)
            text = ref.read_text("utf-8")
            where = f"dtaosim/data/{TARGETS_RESOURCE}"
        else:
            text = Path(path).read_text(encoding="utf-8")
            where = str(path)
        doc = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise DataError(f"cannot read the real-world targets: {e}") from None
    names = set(Target.__dataclass_fields__)
    out = []
    for i, t in enumerate(doc.get("target", [])):
        try:
            kw: dict[str, Any] = {"value": None, "low": None, "high": None}
            kw.update({k: v for k, v in t.items() if k in names})
            out.append(Target(**kw))
        except TypeError as e:
            raise DataError(f"{where}: target {i + 1} is malformed ({e})") from None
    return out


# ------------------------------------------------------------------------------ simulated side
def _last(x: F) -> F:
    """The last record of a (runs, records) array."""
    return x[:, -1] if x.ndim == 2 and x.shape[1] else np.full(x.shape[0], np.nan)


def _daily_log_sd(day: F, x: F) -> F:
    whole = np.abs(day - np.round(day)) < 1e-9
    idx = np.flatnonzero(whole) if whole.sum() >= 3 else np.arange(day.size)
    if idx.size < 3:
        return np.full(x.shape[0], np.nan)
    gap = np.diff(day[idx])
    with np.errstate(all="ignore"):
        r = np.log(x[:, idx[1:]] / x[:, idx[:-1]]) / np.sqrt(gap)
        return np.nanstd(r, axis=1, ddof=1)  # type: ignore[no-any-return]


def _calculators(rd: RunDir) -> dict[str, Callable[[], dict[str, F]]]:
    """Groups of simulated metrics, each computed on demand: group -> {metric: per-run}."""

    def bleed() -> dict[str, F]:
        b = m.price_bleed(rd)
        return {"price_bleed_median": b.median, "price_bleed_p10": b.p10,
                "price_bleed_p90": b.p90, "price_bleed_share_falling": b.share_falling}

    def sum_prices() -> dict[str, F]:
        return {"sum_price_log_change": m.sum_of_prices(rd).log_change}

    def vol() -> dict[str, F]:
        v = m.volatility(rd)
        return {"volatility_p25": v.p25, "volatility_median": v.median, "volatility_p75": v.p75}

    def ratio() -> dict[str, F]:
        r = m.share_price_ratio(rd)
        return {"share_price_ratio_p5": r.p5, "share_price_ratio_median": r.median,
                "share_price_ratio_p95": r.p95}

    def conc() -> dict[str, F]:
        c = m.concentration(rd)
        return {"concentration_top1": _last(c.top1), "concentration_top5": _last(c.top5),
                "concentration_top10": _last(c.top10), "concentration_gini": _last(c.gini)}

    def churn() -> dict[str, F]:
        c = m.churn(rd)
        return {"registrations_per_day": c.registrations_per_day,
                "dissolutions_per_day": c.dissolutions_per_day}

    def pools() -> dict[str, F]:
        p = m.pools(rd)
        return {"pool_tao_p10": _last(p.p10), "pool_tao_median": _last(p.median),
                "pool_tao_p90": _last(p.p90), "pool_tao_max": _last(p.max),
                "pool_tao_total": _last(p.total)}

    def inj() -> dict[str, F]:
        i = m.injection(rd)
        return {"tao_in_per_block": i.tao_in_per_block_run,
                "subnets_receiving_tao": _last(i.subnets_receiving)}

    def burns() -> dict[str, F]:
        b = m.neuron_burns(rd)
        return {"neuron_burn_median": _last(b.median), "neuron_burn_max": _last(b.max)}

    def payout() -> dict[str, F]:
        p = m.payout_shape(rd)  # shared with the report (computed once per directory)
        if p is None:
            raise DataError("no UIDs in this run (uids.parquet absent: --uids 0?)")
        return {"miner_zero_incentive_share": _last(p.zero_share)}

    def usd() -> dict[str, F]:
        if not rd.has_network_column("tao_usd"):
            raise DataError("no TAO/USD in this run (network.parquet has no tao_usd column)")
        fx = rd.network_array("tao_usd")
        with np.errstate(all="ignore"):
            lc = np.log(fx[:, -1] / fx[:, 0])
        return {"tao_usd_volatility": _daily_log_sd(rd.days, fx), "tao_usd_log_change": lc}

    return {"bleed": bleed, "sum_prices": sum_prices, "vol": vol, "ratio": ratio,
            "conc": conc, "churn": churn, "pools": pools, "inj": inj, "burns": burns,
            "payout": payout, "usd": usd}


_GROUP_OF = {
    **dict.fromkeys(("price_bleed_median", "price_bleed_p10", "price_bleed_p90",
                     "price_bleed_share_falling"), "bleed"),
    "sum_price_log_change": "sum_prices",
    **dict.fromkeys(("volatility_p25", "volatility_median", "volatility_p75"), "vol"),
    **dict.fromkeys(("share_price_ratio_p5", "share_price_ratio_median",
                     "share_price_ratio_p95"), "ratio"),
    **dict.fromkeys(("concentration_top1", "concentration_top5", "concentration_top10",
                     "concentration_gini"), "conc"),
    **dict.fromkeys(("registrations_per_day", "dissolutions_per_day"), "churn"),
    **dict.fromkeys(("pool_tao_p10", "pool_tao_median", "pool_tao_p90", "pool_tao_max",
                     "pool_tao_total"), "pools"),
    **dict.fromkeys(("tao_in_per_block", "subnets_receiving_tao"), "inj"),
    **dict.fromkeys(("neuron_burn_median", "neuron_burn_max"), "burns"),
    "miner_zero_incentive_share": "payout",
    **dict.fromkeys(("tao_usd_volatility", "tao_usd_log_change"), "usd"),
}


VALIDATED_METRICS: tuple[str, ...] = tuple(_GROUP_OF)
"""Names of the metrics :func:`validate` can compute (the ``metric`` of a target)."""


def simulated_metrics(run: RunDir | str | Path,
                      names: list[str] | None = None) -> dict[str, F | str]:
    """Per-run values of the validated metrics.

    Returns
    -------
    dict
        Metric name -> per-run array, or -> a string saying why it cannot be computed.
    """
    rd = m.open_run(run)
    calc = _calculators(rd)
    wanted = names if names is not None else list(_GROUP_OF)
    done: dict[str, dict[str, F] | str] = {}
    out: dict[str, F | str] = {}
    for name in wanted:
        group = _GROUP_OF.get(name)
        if group is None:
            out[name] = f"no simulated counterpart for {name!r}"
            continue
        if group not in done:
            try:
                done[group] = calc[group]()
            except DataError as e:
                done[group] = str(e)
        res = done[group]
        out[name] = res if isinstance(res, str) else res[name]
    return out


# ------------------------------------------------------------------------------ comparison
def _pick(targets: list[Target], horizon: float) -> tuple[list[Target], list[Target]]:
    """The compared targets (nearest real horizon per metric) and the reference-only ones."""
    compared: dict[str, Target] = {}
    refs = [t for t in targets if t.reference_only]
    for t in targets:
        if t.reference_only:
            continue
        cur = compared.get(t.metric)
        if cur is None or _hdist(t.horizon_days, horizon) < _hdist(cur.horizon_days, horizon):
            compared[t.metric] = t
    return list(compared.values()), refs


def _hdist(h: int, sim: float) -> float:
    if h <= 0:
        return 0.0
    return abs(math.log(h / max(sim, 1e-3)))


def _f(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def validate(run: RunDir | str | Path, targets: list[Target] | None = None) -> Validation:
    """Compare a run directory with the real-world targets.

    Parameters
    ----------
    run
        The run directory (or an open :class:`RunDir`).
    targets
        The targets (default: the packaged ``real_world_targets.toml``).

    Returns
    -------
    Validation
        One :class:`Check` per metric, in the order of the targets file.

    Raises
    ------
    DataError
        If ``run`` is not a readable run directory.
    """
    rd = m.open_run(run)
    targets = load_targets() if targets is None else targets
    horizon = rd.horizon_days
    compared, refs = _pick(targets, horizon)
    sims = simulated_metrics(rd, [t.metric for t in compared])
    checks = []
    for t in compared:
        notes: list[str] = []
        sim = sims[t.metric]
        med = p10 = p90 = None
        runs = 0
        if isinstance(sim, str):
            verdict = "n/a"
            notes.append(sim)
        else:
            runs = int(np.sum(np.isfinite(sim)))
            q = m.spread(sim)
            med, p10, p90 = _f(q[0]), _f(q[1]), _f(q[2])
            verdict = _verdict(t, p10, p90)
            if runs == 0:
                notes.append("undefined for every run (too few records or no qualifying "
                             "subnet)")
        if t.applies_to_share_rule and rd.share_rule and rd.share_rule != t.applies_to_share_rule:
            verdict = "n/a"
            notes.append(f"the real figure is for the {t.applies_to_share_rule} share rule; this "
                         f"run uses {rd.share_rule}")
        if verdict == "outside" and med is not None:
            lo, hi = _band(t)
            if lo is not None and p90 is not None and p90 < lo:
                notes.append("below the real band")
            elif hi is not None and p10 is not None and p10 > hi:
                notes.append("above the real band")
        if t.horizon_days > 0 and _hdist(t.horizon_days, horizon) > math.log(1.25):
            notes.append(f"nearest real horizon {t.horizon_days} d vs {horizon:.4g} d simulated")
        if t.compare_at:
            notes.append(t.compare_at)
        notes.append(f"real: {t.era}, {t.band}")
        for r in refs:
            if r.metric == t.metric:
                notes.append(f"reference {r.era} ({r.horizon_days} d): {_fmt(r.value)}")
        checks.append(Check(
            metric=t.metric, label=t.label, ref=t.ref, unit=t.unit, sim_median=med,
            sim_p10=p10, sim_p90=p90, runs=runs, real_value=t.value, real_low=t.low,
            real_high=t.high, real_horizon_days=t.horizon_days, sim_horizon_days=horizon,
            verdict=verdict, note="; ".join(notes)))
    return Validation(str(rd.path), horizon, int(rd.runs.size), rd.mechanism, checks,
                      list(rd.problems))


def _band(t: Target) -> tuple[float | None, float | None]:
    lo = t.low if t.low is not None else t.value
    hi = t.high if t.high is not None else t.value
    return lo, hi


def _verdict(t: Target, p10: float | None, p90: float | None) -> str:
    lo, hi = _band(t)
    if p10 is None or p90 is None or (lo is None and hi is None):
        return "n/a"
    if lo is not None and p90 < lo:
        return "outside"
    if hi is not None and p10 > hi:
        return "outside"
    return "within"
