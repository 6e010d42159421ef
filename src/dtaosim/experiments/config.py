"""Run configuration: one TOML file (or CLI options) -> a validated :class:`RunConfig`.

A run configuration is a scenario (:class:`~dtaosim.experiments.scenario.Scenario`: every
actor's section, the exogenous processes, start-network adjustments) plus how long to simulate,
how many Monte Carlo runs, the seed, the mechanism preset (plus field overrides), the starting
snapshot, the recording cadence and the output directory::

    days = 30
    runs = 100
    seed = 7
    mechanism = "price-burn-2026-06"
    record_every_blocks = 7200

    [mechanism_overrides]
    tao_weight = 0.25

    [exogenous]
    # see dtaosim.agents.exogenous.ExogenousConfig

    [market]
    drift_per_year = -0.5
    # ... every section of dtaosim.experiments.scenario.Scenario

Relative paths (``snapshot``, ``out``) are taken relative to the working directory, as on the
command line. :func:`dump_config_toml` writes the *resolved* configuration, with every constant
of the mechanism in ``[mechanism_overrides]``, so that ``dtaosim run --config config.toml``
reproduces a run even if the preset changes later.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dtaosim.chain.presets import HEAD_PRESET, PRESETS, Mechanism
from dtaosim.errors import ConfigError
from dtaosim.experiments.scenario import Scenario, scenario_text
from dtaosim.units import BLOCKS_PER_DAY, days_to_blocks

__all__ = [
    "MAX_DAYS",
    "RunConfig",
    "apply_overrides",
    "dump_config_toml",
    "format_validation_error",
    "load_config",
    "load_scenario",
    "mechanism_to_toml_dict",
    "resolve_mechanism",
]


MAX_DAYS = 36_525.0
"""Longest run, in days: 100 years (26 million blocks; after ~25 halvings the block reward is a
few RAO, and the rules in force say nothing about such horizons). Keeps ``--days 1e300`` from
running until killed."""


class RunConfig(Scenario):
    """Everything that defines one simulation run (a batch of Monte Carlo runs).

    The scenario's fields (:class:`~dtaosim.experiments.scenario.Scenario`: ``agents``,
    ``market``, ``hardware``, ``miners``, ``scoring``, ``validators``, ``owners``, ``network``,
    ``exogenous``, ``scenario``, ``description``) plus:

    Parameters
    ----------
    days
        Simulated time in days (7,200 blocks per day); at least one block, at most
        :data:`MAX_DAYS` (100 years); finite.
    runs
        Number of independent Monte Carlo runs simulated together (1 .. 100,000).
    seed
        Seed of the experiment's ``numpy.random.SeedSequence``.
    mechanism
        Name of a preset in :data:`dtaosim.chain.presets.PRESETS`.
    mechanism_overrides
        ``Mechanism`` field -> value, applied on top of the preset (validated by building the
        mechanism; unknown fields are rejected).
    snapshot
        Snapshot file of the starting network; ``None`` uses the embedded default.
    record_every_blocks
        Recording cadence in blocks (7,200 = daily).
    check_invariants
        Check conservation of TAO and alpha while running.
    uids
        UIDs per subnet (``MaxAllowedUids``); every epoch then runs Yuma consensus and pays
        UIDs. 0 pays one aggregate miner and validator holder per subnet instead (faster).
    n_validators
        Validators per subnet in the synthetic metagraph (``MaxAllowedValidators``, 64). Before
        the ``[validators]`` actor section existed this field was called ``validators``; a
        number given as ``validators`` is still read as ``n_validators``.
    out
        Output (run) directory; ``None`` lets the CLI choose ``runs/<mechanism>-<timestamp>``.
        A run's own ``config.toml`` does not store it (:func:`dump_config_toml`), so that it
        can be run again as it is; a hand-written configuration may set it.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    days: float = Field(30.0, gt=0, le=MAX_DAYS, description="simulated days (7200 blocks per day)")
    runs: int = Field(1, ge=1, le=100_000, description="Monte Carlo runs")
    seed: int = Field(0, ge=0, description="experiment seed")
    mechanism: str = Field(HEAD_PRESET, description="mechanism preset name")
    mechanism_overrides: dict[str, Any] = Field(
        default_factory=dict, description="Mechanism field -> value on top of the preset"
    )
    snapshot: Path | None = Field(None, description="snapshot file (None: embedded default)")
    record_every_blocks: int = Field(BLOCKS_PER_DAY, ge=1, description="recording cadence")
    check_invariants: bool = Field(True, description="check conservation while running")
    uids: int = Field(256, ge=0, le=4096, description="UIDs per subnet (0: aggregate holders)")
    n_validators: int = Field(64, ge=1, le=4096, description="validators per subnet")
    out: Path | None = Field(None, description="output directory")

    @model_validator(mode="before")
    @classmethod
    def _legacy_validators_count(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("validators"), int) \
                and not isinstance(data.get("validators"), bool):
            data = dict(data)
            data.setdefault("n_validators", data.pop("validators"))
        return data

    @model_validator(mode="after")
    def _agents_need_uids(self) -> RunConfig:
        if self.agents.enabled and self.uids == 0:
            raise ValueError("uids: agents need UIDs (miner teams hold UIDs); give uids > 0 or "
                             "switch agents off (agents.enabled = false, --no-agents)")
        return self

    @field_validator("days")
    @classmethod
    def _at_least_one_block(cls, v: float) -> float:
        if days_to_blocks(v) < 1:
            raise ValueError(f"{v} days is less than one block (1 day = {BLOCKS_PER_DAY} blocks)")
        return v

    @field_validator("mechanism")
    @classmethod
    def _known_preset(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown mechanism {v!r}; choose one of: {', '.join(PRESETS)}")
        return v

    @field_validator("mechanism_overrides")
    @classmethod
    def _valid_overrides(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        unknown = sorted(set(v) - set(Mechanism.model_fields))
        if unknown:
            raise ValueError(
                "unknown mechanism field"
                + ("s " if len(unknown) > 1 else " ")
                + ", ".join(repr(u) for u in unknown)
            )
        base = info.data.get("mechanism")
        if base is None or base not in PRESETS:  # the preset error is reported on its own
            return v
        try:
            PRESETS[base].with_(**v)
        except ValidationError as e:
            raise ValueError(format_validation_error(e)) from None
        return v

    @field_validator("n_validators")
    @classmethod
    def _validators_fit(cls, v: int, info: ValidationInfo) -> int:
        uids = info.data.get("uids")
        if uids and v > uids:
            raise ValueError(f"{v} validators do not fit in {uids} UIDs")
        return v

    @property
    def blocks(self) -> int:
        """Number of blocks to simulate (``round(days * 7200)``)."""
        return days_to_blocks(self.days)


# ---------------------------------------------------------------------------------- errors
def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[:1].isupper() and not s[1:2].isupper() else s


def format_validation_error(error: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """Render a pydantic ``ValidationError`` as one line naming each offending field.

    Parameters
    ----------
    error
        The validation error.
    names
        Optional display names for top-level fields (e.g. ``{"days": "--days"}``).

    Returns
    -------
    str
        ``"<field>: <problem> (got <value>)"`` items joined by ``"; "``.
    """
    parts: list[str] = []
    for err in error.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        if loc and names and loc[0] in names:
            loc[0] = names[loc[0]]
        where = ".".join(loc)
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
            continue
        if err["type"] == "value_error":
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            msg = _lower_first(err["msg"])
            value = err.get("input")
            if not isinstance(value, dict | list):
                msg += f" (got {value!r})"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts).replace("\n", " ")


# ---------------------------------------------------------------------------------- loading
def load_config(path: str | Path) -> RunConfig:
    """Read a run configuration from a TOML file.

    Parameters
    ----------
    path
        TOML file.

    Returns
    -------
    RunConfig
        The validated configuration.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not valid TOML or holds an invalid or unknown field; the
        message names the file and the field.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config file ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: config file is not UTF-8 text") from None
    return _config_from_text(text, str(p))


def _config_from_text(text: str, where: str, defaults: dict[str, Any] | None = None
                      ) -> RunConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: invalid TOML: {e}") from None
    try:
        return RunConfig.model_validate({**(defaults or {}), **data})
    except ValidationError as e:
        raise ConfigError(f"{where}: {format_validation_error(e)}") from None


def load_scenario(name_or_path: str | Path) -> RunConfig:
    """The run configuration of a scenario: a built-in name (``dtaosim scenarios``) or a TOML
    file, over the defaults.

    A file without a ``scenario`` field is named after its stem.

    Raises
    ------
    ConfigError
        Unknown name and no such file, or an invalid or unknown field (the message names the
        scenario or file and the field).
    """
    text, where, name = scenario_text(name_or_path)
    return _config_from_text(text, where, {"scenario": name})


def apply_overrides(
    cfg: RunConfig, overrides: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> RunConfig:
    """Return ``cfg`` with some fields replaced, validated again.

    Parameters
    ----------
    cfg
        Base configuration (e.g. from :func:`load_config` or ``RunConfig()``).
    overrides
        Field -> new value; ``None`` values are ignored (option not given).
    names
        Display names of the fields for error messages (e.g. CLI option names).

    Raises
    ------
    ConfigError
        If an override is invalid; the message names the field (or its display name).
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return cfg
    data = {name: getattr(cfg, name) for name in RunConfig.model_fields}
    data.update(given)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, names)) from None


def resolve_mechanism(cfg: RunConfig) -> Mechanism:
    """The :class:`Mechanism` a configuration asks for: its preset plus overrides.

    Raises
    ------
    ConfigError
        If the preset is unknown or an override is invalid.
    """
    try:
        base = PRESETS[cfg.mechanism]
    except KeyError:
        raise ConfigError(
            f"unknown mechanism {cfg.mechanism!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
    if not cfg.mechanism_overrides:
        return base
    try:
        return base.with_(**cfg.mechanism_overrides)
    except ValidationError as e:
        raise ConfigError(f"mechanism_overrides: {format_validation_error(e)}") from None


# ---------------------------------------------------------------------------------- writing
def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(v) for v in value if v is not None]
    return value


def mechanism_to_toml_dict(mech: Mechanism) -> dict[str, Any]:
    """Every field of ``mech`` as TOML-ready values (rule enums as lower-case names)."""
    out: dict[str, Any] = {}
    for name in Mechanism.model_fields:
        v = getattr(mech, name)
        if isinstance(v, IntEnum):
            out[name] = v.name.lower()
        elif isinstance(v, bool | int | float | str):
            out[name] = v
        else:  # pragma: no cover - every Mechanism field is a scalar today
            out[name] = str(v)
    return out


def dump_config_toml(cfg: RunConfig, mech: Mechanism) -> str:
    """The resolved configuration as TOML text, with every constant of ``mech``.

    ``[mechanism_overrides]`` lists every field of ``mech``, so loading the text back with
    :func:`load_config` gives the same mechanism whatever the preset says later. ``None``
    values are left out (TOML has no null), and so is ``out``: a run's configuration describes
    the simulation, not where it was written, so it can be run again without ``--out``.

    Parameters
    ----------
    cfg
        The run configuration.
    mech
        The mechanism resolved from it (:func:`resolve_mechanism`).

    Returns
    -------
    str
        TOML document.
    """
    data = cfg.model_dump(mode="json", exclude_none=True, exclude={"out"})
    data["mechanism_overrides"] = mechanism_to_toml_dict(mech)
    data = _drop_none(data)
    header = (
        "# dtaosim resolved run configuration; mechanism_overrides holds every constant of\n"
        "# the mechanism used. Reproduce with: dtaosim run --config config.toml\n"
        "# (the output directory is not part of it: give --out or get a new runs/ name)\n\n"
    )
    return header + tomli_w.dumps(data)
