"""Scenarios: the economy a run simulates, as one validated model and built-in TOML files.

A :class:`Scenario` is every actor's configuration section (:class:`~dtaosim.agents.economy
.EconomyConfig`: ``[agents]``, ``[market]``, ``[hardware]``, ``[miners]``, ``[scoring]``,
``[validators]``, ``[owners]``, ``[noise]``), the scripted outside world (``[exogenous]``) and
adjustments of the starting network (``[network]``), plus a name and a description. Every
field has a unit in its description, a default and a range; unknown fields are errors. A run
configuration (:class:`~dtaosim.experiments.config.RunConfig`) *is* a scenario plus the run's
own fields (days, runs, seed, mechanism, ...), so every field of a scenario has a dotted path
(``market.drift_per_year``, ``miners.entry_pool_per_day``) in a run's resolved ``config.toml``.

Built-in scenarios are TOML files shipped in ``dtaosim/data/scenarios/`` (listed by
``dtaosim scenarios``, run by ``dtaosim run --scenario NAME``); a scenario file is a partial run
configuration over the defaults, which *are* the calibrated ``baseline``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.economy import EconomyConfig
from dtaosim.agents.exogenous import ExogenousConfig
from dtaosim.chain.emission import block_emission, halving_thresholds
from dtaosim.chain.presets import Mechanism
from dtaosim.errors import ConfigError
from dtaosim.state.chain_state import GI, ChainState
from dtaosim.units import BLOCKS_PER_DAY

__all__ = ["NetworkConfig", "Scenario", "adjust_network", "builtin_scenarios", "scenario_text"]


class NetworkConfig(BaseModel):
    """Adjustments of the starting network (section ``[network]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days_to_next_halving: float | None = Field(
        None, ge=0, le=36_500,
        description="move the TAO issuance so the next halving comes after this many days at "
                    "the current block emission (days; the difference is added to free TAO); "
                    "unset: the snapshot's issuance")


class Scenario(EconomyConfig):
    """A scenario: its name and description, every actor's section, the outside world."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field("baseline", description="scenario name (for listings and manifests)")
    description: str = Field(
        "The calibrated economy: miner teams in USD, rank-based pay, selling, entry and exit.",
        description="one line on what the scenario is")
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    exogenous: ExogenousConfig = Field(default_factory=ExogenousConfig)


def _scenario_dir():  # type: ignore[no-untyped-def]
    return resources.files("dtaosim") / "data" / "scenarios"


def builtin_scenarios() -> dict[str, str]:
    """Built-in scenario name -> its TOML text (sorted by name, ``baseline`` first)."""
    files = {p.name[: -len(".toml")]: p.read_text(encoding="utf-8")
             for p in _scenario_dir().iterdir() if p.name.endswith(".toml")}
    order = sorted(files, key=lambda n: (n != "baseline", n))
    return {n: files[n] for n in order}


def scenario_text(name_or_path: str | Path) -> tuple[str, str, str]:
    """The TOML text of a built-in scenario name or a scenario file.

    Returns
    -------
    (text, where, name)
        ``where`` names the source for error messages (``scenario 'x' (built in)`` or the
        path); ``name`` is the built-in name or the file's stem.

    Raises
    ------
    ConfigError
        Neither a built-in name nor a readable UTF-8 file.
    """
    s = str(name_or_path)
    builtin = builtin_scenarios()
    if s in builtin:
        return builtin[s], f"scenario {s!r} (built in)", s
    p = Path(s)
    if p.is_file():
        try:
            return p.read_text(encoding="utf-8"), str(p), p.stem
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: cannot read scenario file ({e})") from None
    raise ConfigError(f"unknown scenario {s!r}: not a built-in scenario "
                      f"({', '.join(builtin)}) nor a file")


def adjust_network(state: ChainState, cfg: NetworkConfig, mech: Mechanism) -> None:
    """Apply ``[network]`` to a starting state in place.

    ``days_to_next_halving``: every run's TAO issuance is moved to ``T - days x 7200 x E`` with
    ``T`` the next halving threshold and ``E`` the block emission at the current issuance; the
    difference goes to (or comes from) free TAO, so the accounting identities still hold
    (``total_issuance`` and ``issuance_start`` move together).

    Raises
    ------
    ConfigError
        If the move would take free TAO below zero.
    """
    if cfg.days_to_next_halving is None:
        return
    g = state.gints
    thresholds = halving_thresholds(mech.total_supply)
    for r in range(state.runs):
        issued = int(g[r, GI.TOTAL_ISSUANCE])
        nxt = thresholds[thresholds > issued]
        if nxt.size == 0:
            continue
        rate = block_emission(issued, mech.default_block_emission, mech.total_supply)
        target = int(nxt[0]) - int(round(cfg.days_to_next_halving * BLOCKS_PER_DAY)) * rate
        d = target - issued
        if g[r, GI.FREE_TAO] + d < 0:
            raise ConfigError(f"network.days_to_next_halving: {cfg.days_to_next_halving} days "
                              "would need more TAO than is free")
        g[r, GI.TOTAL_ISSUANCE] += d
        g[r, GI.ISSUANCE_START] += d
        g[r, GI.FREE_TAO] += d
