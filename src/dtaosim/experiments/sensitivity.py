"""Variance-based sensitivity: first-order and total Sobol indices (SALib) of a sweep's
outcomes for its axes.

A ``design = "sobol"`` sweep samples its axes with Saltelli's scheme
(:func:`dtaosim.experiments.sweep.design_values`); each point's output is the mean over its
runs of a per-run outcome (a column of the ``runs`` view). ``S1`` is the share of the output's
variance explained by one axis alone, ``ST`` the share it takes part in (with interactions);
``*_conf`` are SALib's bootstrap half-widths (95 %). With ``seeds = "common"`` every point
sees the same random numbers, so the indices are about the axes, not the Monte Carlo noise;
with few runs per point, noise still inflates ``ST``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dtaosim.errors import ConfigError
from dtaosim.experiments.metrics import columns
from dtaosim.experiments.sweep import SweepPlan, salib_problem

__all__ = ["SobolIndex", "sobol_indices"]


@dataclass(frozen=True)
class SobolIndex:
    """The Sobol indices of one output for one axis."""

    output: str
    axis: str
    S1: float
    S1_conf: float
    ST: float
    ST_conf: float

    def row(self) -> dict[str, Any]:
        """As a dict (a table row)."""
        return asdict(self)


def point_means(con: Any, output: str, points: int) -> np.ndarray:
    """Per point, the mean of ``output`` over its runs (NaN where a point has none)."""
    rows = con.execute(f'select point, avg("{output}") from runs group by point').fetchall()
    y = np.full(points, np.nan)
    for k, v in rows:
        if v is not None:
            y[int(k)] = float(v)
    return y


def sobol_indices(con: Any, plan: SweepPlan, outputs: list[str],
                  seed: int = 0) -> tuple[list[SobolIndex], list[dict[str, Any]]]:
    """First-order and total Sobol indices of ``outputs`` for the plan's axes.

    Parameters
    ----------
    con
        A connection from :func:`~dtaosim.experiments.metrics.open_sweep`.
    plan
        The sweep's plan (``design = "sobol"``).
    outputs
        Columns of the ``runs`` view.
    seed
        Seed of SALib's bootstrap (confidence intervals).

    Returns
    -------
    indices, second_order
        One :class:`SobolIndex` per output and axis; the second-order indices
        (``output, axis_i, axis_j, S2, S2_conf``) when the design has them.

    Raises
    ------
    ConfigError
        If the design is not Sobol, an output is unknown, or a point has no value (a failed
        point: redo it with ``--resume --retry-failed``).
    """
    from SALib.analyze import sobol

    spec = plan.spec
    if spec.design != "sobol":
        raise ConfigError("Sobol indices need a design = \"sobol\" sweep")
    have = columns(con, "runs")
    bad = [o for o in outputs if o not in have]
    if bad:
        raise ConfigError(f"sensitivity: unknown output {', '.join(map(repr, bad))}; "
                          f"the runs view has: {', '.join(have)}")
    problem = salib_problem(spec)
    names = problem["names"]
    first: list[SobolIndex] = []
    second: list[dict[str, Any]] = []
    for out in outputs:
        y = point_means(con, out, len(plan.points))
        missing = np.flatnonzero(~np.isfinite(y))
        if missing.size:
            raise ConfigError(f"sensitivity of {out!r}: {missing.size} points have no value "
                              f"(e.g. point {int(missing[0])}); finish or redo them first")
        res = sobol.analyze(problem, y, calc_second_order=spec.second_order,
                            print_to_console=False, seed=seed)
        for j, name in enumerate(names):
            first.append(SobolIndex(out, name, _f(res["S1"][j]), _f(res["S1_conf"][j]),
                                    _f(res["ST"][j]), _f(res["ST_conf"][j])))
        if spec.second_order:
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    second.append({"output": out, "axis_i": names[i], "axis_j": names[j],
                                   "S2": _f(res["S2"][i][j]),
                                   "S2_conf": _f(res["S2_conf"][i][j])})
    return first, second


def _f(x: Any) -> float:
    v = float(x)
    return v if math.isfinite(v) else float("nan")
