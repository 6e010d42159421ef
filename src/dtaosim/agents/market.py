"""TAO/USD: the outside market every team converts its alpha income into.

One price per Monte Carlo run, stepped at the action cadence (hourly). Three models
(:class:`MarketConfig` ``model``):

``gbm``
    Geometric Brownian motion of ``log(TAO/USD)``: drift ``drift_per_year / 365`` and s.d.
    ``volatility_per_day`` per day (``sqrt(dt)`` scaling). Defaults from
    ``tao_usd_daily_2025Q4.csv`` (92 daily log-returns, 30 Sep - 31 Dec 2025: s.d. 6.08%/day);
    the quarter's own drift (-0.37%/day, a bear quarter) is *not* the default drift, which is 0
    (assumed; scenarios set their own).
``replay``
    A historical path from a CSV file (``replay_csv``; one row per day from day 0, the price in
    column ``replay_column``), interpolated log-linearly within a day and held after its last
    row; every run sees the same path.
``scripted``
    A deterministic path: ``tao_usd_start x exp(drift x t)``.

In every model, ``jumps`` (dated fractional changes, e.g. ``{day = 10, change = -0.16}``) are
applied when the run crosses their day. Optional feedback (off by default, ``exit_feedback``):
when teams leave, TAO/USD drops by ``exp(-exit_feedback_per_share x s)`` with ``s`` the share of
the network's miner income (last day, USD) those teams earned - Covenant AI's exit (9-10 Apr
2026, ~37k TAO sold) was followed by a ~16% fall in 24 h.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.errors import ConfigError

__all__ = ["MarketConfig", "MarketJump", "MarketState", "load_replay"]


class MarketJump(BaseModel):
    """A dated jump of TAO/USD."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: float = Field(..., ge=0, le=100_000, description="day of the jump (days from start)")
    change: float = Field(..., gt=-1, le=100,
                          description="fractional change of TAO/USD (-0.16 = a 16% fall)")


class MarketConfig(BaseModel):
    """The TAO/USD process (section ``[market]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["gbm", "replay", "scripted"] = Field(
        "gbm", description="gbm (random), replay (a CSV path) or scripted (deterministic)")
    tao_usd_start: float = Field(
        300.79, gt=0, le=1e6,
        description="TAO/USD at the start (USD per TAO; 300.79 on 30 Sep 2026, the default "
                    "network's date)")
    drift_per_year: float = Field(
        0.0, ge=-20, le=20, description="mean change of log(TAO/USD) per year (1/year)")
    volatility_per_day: float = Field(
        0.0608, ge=0, le=1,
        description="s.d. of daily log-returns (1/sqrt(day); 2025Q4 data: 0.0608)")
    replay_csv: Path | None = Field(
        None, description="replay: CSV file with one row per day (path)")
    replay_column: str = Field("tao_usd", description="replay: column holding USD per TAO")
    jumps: list[MarketJump] = Field(
        default_factory=list, description="dated fractional jumps (day, change)")
    floor_usd: float = Field(1.0, gt=0, le=1e6, description="lowest TAO/USD (USD per TAO)")
    exit_feedback: bool = Field(
        False, description="teams leaving move TAO/USD down (Covenant AI, Apr 2026)")
    exit_feedback_per_share: float = Field(
        4.0, ge=0, le=100,
        description="log fall of TAO/USD per unit share of the network's daily miner income "
                    "earned by the teams that left (dimensionless; assumed from Covenant: "
                    "~16% for a few % of emission)")


def load_replay(path: Path, column: str) -> NDArray[np.float64]:
    """Daily TAO/USD from a CSV file (one row per day).

    Raises
    ------
    ConfigError
        If the file cannot be read, lacks ``column`` or holds a non-positive or non-numeric
        price; the message names the file (and row).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read market.replay_csv ({e.strerror or e})") from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or column not in rows[0]:
        raise ConfigError(f"{path}: market.replay_column {column!r} is not a column of the file")
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        try:
            out[i] = float(r[column])
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: row {i + 2}: {column} is not a number") from None
        if not (math.isfinite(out[i]) and out[i] > 0):
            raise ConfigError(f"{path}: row {i + 2}: {column} must be a positive number")
    return out


@dataclass
class MarketState:
    """TAO/USD per run.

    Attributes
    ----------
    tao_usd : ndarray of float64, (runs,)
        USD per TAO now.
    path : ndarray of float64 or None
        Replay path (USD per TAO per day), if ``model == "replay"``.
    """

    tao_usd: NDArray[np.float64]
    path: NDArray[np.float64] | None = None

    @classmethod
    def create(cls, cfg: MarketConfig, runs: int) -> MarketState:
        """The market at day 0."""
        path = None
        start = cfg.tao_usd_start
        if cfg.model == "replay":
            if cfg.replay_csv is None:
                raise ConfigError("market.replay_csv: a CSV file is needed when model = 'replay'")
            path = load_replay(cfg.replay_csv, cfg.replay_column)
            start = float(path[0])
        return cls(np.full(runs, max(start, cfg.floor_usd)), path)

    def step(self, cfg: MarketConfig, rngs: list[np.random.Generator], t0: float,
             t1: float) -> None:
        """Advance from day ``t0`` to day ``t1`` (draws one normal per run for ``gbm``)."""
        dt = t1 - t0
        if cfg.model == "replay":  # jumps and shocks already applied persist as a factor
            self.tao_usd *= self._replay_at(t1) / self._replay_at(t0)
        else:
            lr = np.full(self.tao_usd.shape, cfg.drift_per_year / 365.0 * dt)
            if cfg.model == "gbm" and cfg.volatility_per_day > 0.0:
                z = np.array([g.standard_normal() for g in rngs])
                lr += cfg.volatility_per_day * math.sqrt(dt) * z
            self.tao_usd *= np.exp(lr)
        for jump in cfg.jumps:
            if t0 < jump.day <= t1:
                self.tao_usd *= 1.0 + jump.change
        np.maximum(self.tao_usd, cfg.floor_usd, out=self.tao_usd)

    def _replay_at(self, t: float) -> float:
        assert self.path is not None
        x = min(t, self.path.size - 1.0)
        i = min(int(x), self.path.size - 1)
        j = min(i + 1, self.path.size - 1)
        f = x - i
        return math.exp((1.0 - f) * math.log(self.path[i]) + f * math.log(self.path[j]))

    def shock(self, cfg: MarketConfig, leaving_share: NDArray[np.float64]) -> None:
        """Exit feedback: TAO/USD falls by ``exp(-k x share)`` per run (if enabled)."""
        if cfg.exit_feedback and cfg.exit_feedback_per_share > 0.0:
            self.tao_usd *= np.exp(-cfg.exit_feedback_per_share * leaving_share)
            np.maximum(self.tao_usd, cfg.floor_usd, out=self.tao_usd)
