"""Hardware profiles of miner teams: what a team pays, in USD, to run one UID.

The profiles are a shipped table, ``src/dtaosim/data/hardware_profiles.csv`` (one row per
profile: GPU, GPU count, pricing (spot, on-demand, reserved, owned, API), USD per GPU-hour, a
fixed USD per day, the hidden-cost uplift (storage, egress, operations, idle time: 30-50% in
``design/BEHAVIOUR.md``), the sunk share of the cost (owned or committed hardware: the part a
team cannot save by leaving), the one-off set-up cost of a new entrant, and a source for every
price). A team's operating cost per UID and day is::

    (gpus x usd_per_gpu_hour x 24 + usd_per_day_fixed) x (1 + hidden_cost_uplift)
        x price_multiplier x exp(price_drift_per_year x t / 365)

:class:`HardwareConfig` chooses the mix of profiles new teams draw from and moves every price
with a multiplier and a drift (scenario 1 raises GPU prices). Assumptions: ``docs/assumptions.md``
(B-rows).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dtaosim.errors import DataError

__all__ = [
    "DEFAULT_MIX",
    "HardwareConfig",
    "HardwareTable",
    "hardware_table",
]

_COLUMNS = ("name", "gpu", "gpus", "pricing", "usd_per_gpu_hour", "usd_per_day_fixed",
            "hidden_cost_uplift", "sunk_fraction", "setup_usd", "source")


@dataclass(frozen=True)
class HardwareTable:
    """The hardware profiles as arrays (index = profile id).

    Attributes
    ----------
    names, gpu, pricing, source : tuple of str
        Profile name, GPU model, pricing kind and the source of the price.
    gpus : ndarray of int64
        GPUs per UID.
    usd_per_day : ndarray of float64
        Operating cost per UID and day including the hidden-cost uplift, at price level 1.
    sunk_fraction : ndarray of float64
        Share of the cost that is sunk (not saved by leaving).
    setup_usd : ndarray of float64
        One-off set-up cost of a new entrant (USD).
    """

    names: tuple[str, ...]
    gpu: tuple[str, ...]
    pricing: tuple[str, ...]
    source: tuple[str, ...]
    gpus: NDArray[np.int64]
    usd_per_day: NDArray[np.float64]
    sunk_fraction: NDArray[np.float64]
    setup_usd: NDArray[np.float64]

    def index(self, name: str) -> int:
        """Profile id of ``name``."""
        return self.names.index(name)

    def is_gpu_class(self, gpu: str) -> NDArray[np.bool_]:
        """Profiles whose GPU model is ``gpu`` (e.g. ``"H100"``)."""
        return np.array([g == gpu for g in self.gpu])


def _parse_table(text: str, where: str) -> HardwareTable:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or tuple(rows[0].keys()) != _COLUMNS:
        raise DataError(f"{where}: expected columns {', '.join(_COLUMNS)}")
    try:
        gpus = np.array([int(r["gpus"]) for r in rows], dtype=np.int64)
        rate = np.array([float(r["usd_per_gpu_hour"]) for r in rows])
        fixed = np.array([float(r["usd_per_day_fixed"]) for r in rows])
        uplift = np.array([float(r["hidden_cost_uplift"]) for r in rows])
        sunk = np.array([float(r["sunk_fraction"]) for r in rows])
        setup = np.array([float(r["setup_usd"]) for r in rows])
    except ValueError as e:
        raise DataError(f"{where}: {e}") from None
    if (gpus < 0).any() or (rate < 0).any() or (fixed < 0).any() or (uplift < 0).any() \
            or ((sunk < 0) | (sunk > 1)).any() or (setup < 0).any():
        raise DataError(f"{where}: negative cost or sunk_fraction outside [0, 1]")
    names = tuple(r["name"] for r in rows)
    if len(set(names)) != len(names):
        raise DataError(f"{where}: duplicate profile names")
    return HardwareTable(
        names=names, gpu=tuple(r["gpu"] for r in rows), pricing=tuple(r["pricing"] for r in rows),
        source=tuple(r["source"] for r in rows), gpus=gpus,
        usd_per_day=(gpus * rate * 24.0 + fixed) * (1.0 + uplift), sunk_fraction=sunk,
        setup_usd=setup)


@lru_cache(maxsize=1)
def hardware_table() -> HardwareTable:
    """The shipped hardware profiles (``dtaosim/data/hardware_profiles.csv``)."""
    res = resources.files("dtaosim") / "data" / "hardware_profiles.csv"
    return _parse_table(res.read_text(encoding="utf-8"), "hardware_profiles.csv")


DEFAULT_MIX: dict[str, float] = {
    "h100_spot": 0.12,
    "h100_on_demand": 0.06,
    "h100_reserved": 0.10,
    "h100_owned": 0.07,
    "h100x8_reserved": 0.03,
    "h200_spot": 0.02,
    "a100_spot": 0.07,
    "a100_on_demand": 0.03,
    "a100_reserved": 0.04,
    "rtx4090_spot": 0.06,
    "rtx4090_on_demand": 0.03,
    "rtx4090_reserved": 0.04,
    "b200_spot": 0.02,
    "b200_on_demand": 0.01,
    "b200_reserved": 0.02,
    "cpu_api": 0.28,
}
"""Default share of each profile among teams (assumed; B-rows of ``docs/assumptions.md``):
H100-class rented or owned for ~40% of teams, older or consumer GPUs ~27%, B200/H200 ~7%, and
~28% who need no GPU (API-backed or CPU work, copiers)."""


class HardwareConfig(BaseModel):
    """Hardware costs of miner teams (section ``[hardware]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mix: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_MIX),
        description="profile name -> relative weight (>= 0) among new teams (dimensionless); "
                    "names from hardware_profiles.csv")
    price_multiplier: float = Field(
        1.0, gt=0, le=10, description="multiplier on every profile's USD cost (dimensionless)")
    price_drift_per_year: float = Field(
        0.0, ge=-5, le=5,
        description="log drift of every USD cost per year (1/year; 0.3 = +35%/year)")

    @field_validator("mix")
    @classmethod
    def _known_profiles(cls, v: dict[str, float]) -> dict[str, float]:
        names = hardware_table().names
        unknown = sorted(set(v) - set(names))
        if unknown:
            raise ValueError(f"unknown hardware profile {', '.join(map(repr, unknown))} "
                             f"(one of: {', '.join(names)})")
        if any(not math.isfinite(w) or w < 0 for w in v.values()):
            raise ValueError("profile weights must be finite and >= 0")
        if sum(v.values()) <= 0:
            raise ValueError("at least one profile weight must be > 0")
        return v

    def probabilities(self) -> NDArray[np.float64]:
        """Draw probability of each profile of :func:`hardware_table` (sums to 1)."""
        tab = hardware_table()
        w = np.array([self.mix.get(n, 0.0) for n in tab.names])
        return w / w.sum()

    def price_index(self, t_days: float) -> float:
        """Multiplier on every cost at ``t_days`` days into the run."""
        return self.price_multiplier * math.exp(self.price_drift_per_year * t_days / 365.0)
