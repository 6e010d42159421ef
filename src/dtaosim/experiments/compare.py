"""A/B of rules with common random numbers: paired differences per run, with confidence
intervals across runs.

Two configurations run with the same seed draw the same random numbers in every process of
every run (:mod:`dtaosim.agents.streams`): the same stake-flow shocks, registration arrivals
and, with agents, market paths and agent draws - even where the chain states diverge. Run
``r`` of B minus run ``r`` of A then measures the rule's effect on that very economy; the
spread of these differences across runs gives a Student-t confidence interval of the mean
effect, usually far narrower than comparing two independent samples (``crn_gain`` is the
ratio of the unpaired to the paired variance of the mean difference).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from dtaosim.errors import ConfigError
from dtaosim.experiments.metrics import KEY_METRICS, columns

__all__ = ["Difference", "default_metrics", "paired_differences"]


@dataclass(frozen=True)
class Difference:
    """Mean paired difference of one outcome between an arm and the baseline.

    Attributes
    ----------
    metric
        The outcome (a column of the ``runs`` view).
    arm, baseline
        The compared values of the axis (e.g. mechanism names).
    stratum
        The other axes' values (empty for a plain A/B).
    runs
        Number of paired runs.
    baseline_mean, arm_mean
        Means over the runs.
    difference
        Mean of ``arm - baseline`` over paired runs.
    ci_low, ci_high
        Confidence interval of ``difference`` (Student t, ``runs - 1`` degrees of freedom).
    sd_difference
        Standard deviation of the per-run differences.
    crn_gain
        Unpaired variance of the mean difference / paired variance (> 1: common random numbers
        sharpened the comparison); None when the paired variance is 0.
    """

    metric: str
    arm: str
    baseline: str
    stratum: str
    runs: int
    baseline_mean: float
    arm_mean: float
    difference: float
    ci_low: float
    ci_high: float
    sd_difference: float
    crn_gain: float | None

    def row(self) -> dict[str, Any]:
        """As a dict (a table row)."""
        return asdict(self)


def default_metrics(con: Any) -> list[str]:
    """The key outcomes (:data:`~dtaosim.experiments.metrics.KEY_METRICS`) the ``runs`` view
    has."""
    have = set(columns(con, "runs"))
    return [m for m in KEY_METRICS if m in have]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def paired_differences(con: Any, axis: str, baseline: Any, metrics: list[str] | None = None,
                       confidence: float = 0.95) -> list[Difference]:
    """Paired differences of ``metrics`` between each value of ``axis`` and ``baseline``.

    Runs are paired on the run number and every other axis of the design (strata).

    Parameters
    ----------
    con
        A connection from :func:`~dtaosim.experiments.metrics.open_sweep`.
    axis
        The compared design column (an axis path, or ``arm``).
    baseline
        The value of ``axis`` the others are compared with.
    metrics
        Columns of ``runs`` (default: :func:`default_metrics`).
    confidence
        Level of the intervals.

    Raises
    ------
    ConfigError
        If a metric or the axis is unknown, or the baseline has no runs.
    """
    from scipy import stats

    if "runs" not in _views(con):
        raise ConfigError("the sweep has no `network` table, so no per-run outcomes")
    have = columns(con, "runs")
    design = columns(con, "design")
    if axis not in design:
        raise ConfigError(f"compare: {axis!r} is not an axis of the sweep ({', '.join(design)})")
    metrics = metrics or default_metrics(con)
    bad = [m for m in metrics if m not in have]
    if bad:
        raise ConfigError(f"unknown outcome {', '.join(map(repr, bad))}; the runs view has: "
                          + ", ".join(c for c in have if c not in design))
    others = [c for c in design if c not in ("point", "seed", axis)]
    n_base = con.execute(f"select count(*) from runs where {_q(axis)} = {_lit(baseline)}"
                         ).fetchone()[0]
    if not n_base:
        raise ConfigError(f"compare: no finished run has {axis} = {baseline!r}")
    on = " and ".join(["a.run = b.run"] + [f"a.{_q(c)} is not distinct from b.{_q(c)}"
                                              for c in others])
    stratum = (" || ', ' || ".join(f"'{c}=' || cast(a.{_q(c)} as varchar)" for c in others)
               if others else "''")
    out: list[Difference] = []
    for m in metrics:
        rows = con.execute(
            f"select cast(b.{_q(axis)} as varchar), {stratum}, count(*), "
            f"avg(a.{_q(m)}), avg(b.{_q(m)}), avg(b.{_q(m)} - a.{_q(m)}), "
            f"stddev_samp(b.{_q(m)} - a.{_q(m)}), var_samp(a.{_q(m)}), var_samp(b.{_q(m)}) "
            f"from runs a join runs b on {on} "
            f"where a.{_q(axis)} = {_lit(baseline)} and b.{_q(axis)} <> {_lit(baseline)} "
            f"group by all order by min(b.point)").fetchall()
        for arm, strat, n, ma, mb, md, sd, va, vb in rows:
            n = int(n)
            sd = float(sd) if sd is not None else float("nan")
            if n >= 2 and math.isfinite(sd):
                half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
            else:
                half = float("nan")
            paired_var = sd * sd / n if n and math.isfinite(sd) else float("nan")
            unpaired = ((float(va or 0.0) + float(vb or 0.0)) / n) if n else float("nan")
            gain = unpaired / paired_var if paired_var and paired_var > 0 else None
            md = float(md) if md is not None else float("nan")
            out.append(Difference(
                metric=m, arm=str(arm), baseline=str(baseline), stratum=str(strat), runs=n,
                baseline_mean=float(ma) if ma is not None else float("nan"),
                arm_mean=float(mb) if mb is not None else float("nan"),
                difference=md, ci_low=md - half, ci_high=md + half,
                sd_difference=sd, crn_gain=gain))
    return out


def _views(con: Any) -> set[str]:
    from dtaosim.io.sweep_store import views

    return set(views(con))
