"""Tipping points: where a success criterion stops being met, over a sweep's axes.

A spec's ``[success]`` states the criterion as a threshold met in a share of runs, e.g. "at
least 80 % of the top-decile teams retained in at least 90 % of runs"::

    [success]
    metric = "retained_top_decile"   # a column of the `runs` view
    at_least = 0.8                   # a run succeeds if metric >= 0.8 (or: at_most = ...)
    share_of_runs = 0.9              # a point succeeds if >= 90 % of its runs do

:func:`success_by_point` gives each point's share of successful runs and its verdict;
:func:`contour` finds, on a grid, every pair of neighbouring points whose verdicts differ and
interpolates along that axis where the share crosses ``share_of_runs``: the failure contour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dtaosim.errors import ConfigError
from dtaosim.experiments.metrics import columns
from dtaosim.experiments.sweep import SuccessSpec, SweepPlan

__all__ = ["Crossing", "contour", "success_by_point"]


def success_by_point(con: Any, plan: SweepPlan, success: SuccessSpec) -> list[dict[str, Any]]:
    """One row per point: its design values, ``runs``, ``share`` (of runs meeting the
    threshold; None for a point with no runs) and ``success``.

    Raises
    ------
    ConfigError
        If the metric is not a column of ``runs``.
    """
    have = columns(con, "runs")
    if success.metric not in have:
        raise ConfigError(f"success.metric {success.metric!r} is not an outcome of this sweep; "
                          f"the runs view has: {', '.join(have)}")
    m = '"' + success.metric.replace('"', '""') + '"'
    cond = (f"{m} >= {success.at_least!r}" if success.at_least is not None
            else f"{m} <= {success.at_most!r}")
    rows = dict((int(k), (int(n), float(s)))
                for k, n, s in con.execute(
                    f"select point, count(*), avg(case when {cond} then 1.0 else 0.0 end) "
                    "from runs group by point").fetchall())
    out = []
    for p in plan.points:
        k = int(p["point"])
        n, share = rows.get(k, (0, math.nan))
        row = dict(p)
        row["runs"] = n
        row["share"] = share if n else None
        row["success"] = (share >= success.share_of_runs - 1e-12) if n else None
        out.append(row)
    return out


@dataclass(frozen=True)
class Crossing:
    """A point of the failure contour: along ``axis``, between ``low`` and ``high`` (with the
    other axes at ``at``), the verdict flips; ``estimate`` interpolates the share linearly to
    where it equals the required share."""

    axis: str
    at: dict[str, Any]
    low: Any
    high: Any
    estimate: float | None
    fails_above: bool


def contour(plan: SweepPlan, rows: list[dict[str, Any]], share_of_runs: float) -> list[Crossing]:
    """The failure contour of a grid sweep (empty for other designs or no flip)."""
    if plan.spec.design != "grid" or not plan.spec.axes:
        return []
    paths = [a.path for a in plan.spec.axes]
    key_of = {tuple(_key(r.get(p)) for p in paths): r for r in rows}
    values = {p: [] for p in paths}
    for r in rows:
        for p in paths:
            if r.get(p) not in values[p]:
                values[p].append(r.get(p))
    out: list[Crossing] = []
    for j, axis in enumerate(paths):
        vs = values[axis]
        for r in rows:
            i = vs.index(r.get(axis))
            if i + 1 >= len(vs):
                continue
            nxt_key = list(_key(r.get(p)) for p in paths)
            nxt_key[j] = _key(vs[i + 1])
            s = key_of.get(tuple(nxt_key))
            if s is None or r["success"] is None or s["success"] is None:
                continue
            if r["success"] == s["success"]:
                continue
            at = {p: r.get(p) for p in paths if p != axis}
            est = None
            a, b = r.get(axis), vs[i + 1]
            if isinstance(a, int | float) and isinstance(b, int | float) \
                    and not isinstance(a, bool) and r["share"] != s["share"]:
                t = (share_of_runs - r["share"]) / (s["share"] - r["share"])
                est = float(a) + min(max(t, 0.0), 1.0) * (float(b) - float(a))
            out.append(Crossing(axis=axis, at=at, low=a, high=b, estimate=est,
                                fails_above=bool(r["success"])))
    return out


def _key(v: Any) -> Any:
    return round(v, 12) if isinstance(v, float) else v
