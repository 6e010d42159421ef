"""Sweeps: a base configuration, axes over any of its fields and a design -> points -> one
Parquet dataset (``docs/experiments.md``).

A sweep spec is TOML::

    name = "flow-volatility"
    design = "grid"            # grid | random | lhs | sobol
    runs = 16                  # Monte Carlo runs per point
    seed = 7
    seeds = "common"           # every point uses `seed` (common random numbers); "independent"

    [base]                     # a run configuration, as for `dtaosim run --config`
    days = 30
    uids = 0                   # (or: base = "base.toml", relative to the spec file)

    [output]                   # per table: "all" records, "ends" (first and last), "none"
    network = "all"
    subnets = "ends"
    uids = "none"

    [[axes]]
    path = "mechanism"
    values = ["taoflow-2025-11", "price-burn-2026-06"]

    [[axes]]
    path = "exogenous.stake_flow_volatility"
    low = 0.01
    high = 0.06
    num = 6                    # grid: points over [low, high]; log = true for a log scale

An axis ``path`` is a dotted path into the resolved run configuration (:class:`RunConfig`):
``days``, ``mechanism``, ``mechanism_overrides.tao_weight``, ``exogenous.new_subnets_per_day``
and every field the configuration model gains later (scenario and agent sections) - the paths
are checked against the pydantic model, not against a list. Each point's configuration is the
base with the axis values set, validated like a run configuration; a bad path or value is one
:class:`~dtaosim.errors.ConfigError` naming the spec file and the field.

Designs: ``grid`` (the Cartesian product of every axis's values), ``random`` (``samples``
points, uniform or log-uniform within ``[low, high]``, uniform over ``values``), ``lhs``
(Latin hypercube, SALib) and ``sobol`` (Saltelli's scheme, SALib: ``samples`` x (D + 2)
points, x (2D + 2) with ``second_order``), whose order :mod:`~dtaosim.experiments.sensitivity`
needs. Every design is a deterministic function of the spec and its ``seed``.

Seeds: with ``seeds = "common"`` (default) every point runs with the sweep's ``seed``, so run
``r`` of every point sees the same random numbers in every process (common random numbers:
smoother contours and sharper comparisons); ``"independent"`` gives point ``k`` its own seed
``SeedSequence(seed, spawn_key=(2**31 - 1, k))``. A ``seed`` axis sets it explicitly.

:func:`run_point` simulates one point into its partition (:mod:`dtaosim.io.sweep_store`);
:func:`run_sweep` runs the points a sweep directory still needs on a backend
(:mod:`~dtaosim.experiments.backends`).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
import shutil
import tempfile
import time
import tomllib
import traceback
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dtaosim.errors import ConfigError
from dtaosim.experiments.config import (
    RunConfig,
    dump_config_toml,
    format_validation_error,
    resolve_mechanism,
)
from dtaosim.io import sweep_store as store

__all__ = [
    "AxisSpec",
    "OutputSpec",
    "PointDone",
    "PointTask",
    "SweepPlan",
    "SweepSpec",
    "SweepSummary",
    "axis_kind",
    "load_plan",
    "plan_from_dir",
    "plan_from_spec",
    "run_point",
    "run_sweep",
]

Design = Literal["grid", "random", "lhs", "sobol"]
_DESIGN_KEY = 2**31 - 1  # spawn-key word of the design's and the points' seeds (not a run)


# ---------------------------------------------------------------------------------- spec
class AxisSpec(BaseModel):
    """One axis: a dotted configuration path and its values (``values``) or range
    (``low``/``high``, with ``num`` points on a grid, ``log`` for a log scale)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, description="dotted path into the run configuration")
    values: list[Any] | None = Field(None, min_length=1, description="the values (any type)")
    low: float | None = Field(None, description="lower bound of a numeric range")
    high: float | None = Field(None, description="upper bound of a numeric range")
    num: int | None = Field(None, ge=1, le=100_000, description="grid points over the range")
    log: bool = Field(False, description="sample the range on a log scale")
    integer: bool | None = Field(
        None, description="round to integers (default: from the field's type)")

    @model_validator(mode="after")
    def _values_or_range(self) -> AxisSpec:
        ranged = self.low is not None or self.high is not None
        if self.values is not None and ranged:
            raise ValueError("give either values or low/high, not both")
        if self.values is None and not ranged:
            raise ValueError("give values = [...] or low and high")
        if ranged:
            if self.low is None or self.high is None:
                raise ValueError("give both low and high")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
            if self.log and self.low <= 0:
                raise ValueError("a log range needs low > 0")
        elif self.num is not None:
            raise ValueError("num is for a low/high range")
        elif self.log:
            raise ValueError("log is for a low/high range")
        if self.values is not None:
            seen = [json.dumps(v, sort_keys=True, default=str) for v in self.values]
            if len(set(seen)) != len(seen):
                raise ValueError("values repeat")
        return self


class OutputSpec(BaseModel):
    """Which tables a point keeps, and which of their records (``docs/experiments.md``)."""

    model_config = ConfigDict(extra="forbid")

    network: store.Keep = Field("all", description="network.parquet: one row per run, record")
    subnets: store.Keep = Field(
        "ends", description="timeseries.parquet: one row per run, record, subnet")
    uids: store.Keep = Field("none", description="uids.parquet: one row per run, record, UID")
    teams: store.Keep = Field(
        "all", description="teams.parquet (runs with agents): one row per run and team, "
                            "written at the end (\"ends\" = \"all\")")


class SuccessSpec(BaseModel):
    """Tipping points: a run succeeds if ``metric`` is at least ``at_least`` (or at most
    ``at_most``); a point succeeds if at least ``share_of_runs`` of its runs do."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(min_length=1, description="a column of the `runs` view")
    at_least: float | None = None
    at_most: float | None = None
    share_of_runs: float = Field(0.9, gt=0, le=1)
    description: str = ""

    @model_validator(mode="after")
    def _one_bound(self) -> SuccessSpec:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self


class SensitivitySpec(BaseModel):
    """Sobol indices (``design = "sobol"``): of which per-run outputs (columns of ``runs``,
    averaged over a point's runs)."""

    model_config = ConfigDict(extra="forbid")

    outputs: list[str] = Field(
        default_factory=lambda: ["sum_price", "emission_hhi", "subnets_no_paid_miner"],
        min_length=1)


class CompareSpec(BaseModel):
    """Paired (common random numbers) differences along one axis against a baseline value."""

    model_config = ConfigDict(extra="forbid")

    axis: str = Field(min_length=1, description="the axis whose values are compared")
    baseline: Any = Field(description="its value the others are compared with")
    metrics: list[str] | None = Field(None, description="columns of `runs` (default: key set)")


class SweepSpec(BaseModel):
    """A sweep: base configuration, axes, design, runs per point, seeding and outputs."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""
    design: Design = "grid"
    samples: int | None = Field(
        None, ge=1, le=1_000_000,
        description="random/lhs: points; sobol: base samples N (a power of 2)")
    second_order: bool = Field(False, description="sobol: also second-order indices")
    runs: int | None = Field(None, ge=1, le=100_000, description="Monte Carlo runs per point")
    seed: int = Field(0, ge=0, lt=2**63, description="the sweep's seed")
    seeds: Literal["common", "independent"] = "common"
    scenario: str | None = Field(
        None, description="base scenario: a built-in name or a scenario file (relative to "
                          "the spec); [base] is applied over it")
    base: dict[str, Any] | str = Field(default_factory=dict)
    axes: list[AxisSpec] = Field(default_factory=list)
    output: OutputSpec = Field(default_factory=OutputSpec)
    success: SuccessSpec | None = None
    sensitivity: SensitivitySpec | None = None
    compare: CompareSpec | None = None

    @model_validator(mode="after")
    def _design_needs(self) -> SweepSpec:
        if self.design in ("random", "lhs", "sobol") and self.samples is None:
            raise ValueError(f"design {self.design!r} needs samples = N")
        if self.design == "grid" and self.samples is not None:
            raise ValueError("samples is for the random, lhs and sobol designs")
        if self.design in ("lhs", "sobol") and not self.axes:
            raise ValueError(f"design {self.design!r} needs at least one axis")
        paths = [a.path for a in self.axes]
        if len(set(paths)) != len(paths):
            raise ValueError("an axis path repeats")
        if self.design == "grid":
            for i, a in enumerate(self.axes):
                if a.values is None and a.num is None:
                    raise ValueError(f"axes.{i}: a grid axis with low/high needs num")
        elif any(a.num is not None for a in self.axes):
            raise ValueError("num is for the grid design")
        if self.sensitivity is not None and self.design != "sobol":
            raise ValueError("[sensitivity] needs design = \"sobol\"")
        if self.compare is not None and self.compare.axis not in paths:
            raise ValueError(f"compare.axis {self.compare.axis!r} is not an axis")
        return self


# ---------------------------------------------------------------------------------- paths
def _unwrap(ann: Any) -> list[Any]:
    """The alternatives of an annotation (``X | None`` -> [X])."""
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(ann) if a is not type(None)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(ann)[0])
    return [ann]


def _model_of(ann: Any) -> type[BaseModel] | None:
    for a in _unwrap(ann):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
    return None


def _is_mapping(ann: Any) -> bool:
    return any(typing.get_origin(a) in (dict, Mapping) or a is dict for a in _unwrap(ann))


def axis_kind(path: str) -> str:
    """What a configuration path holds: ``"int"``, ``"float"``, ``"bool"``, ``"path"`` (a
    file: relative values are taken from the working directory and stored absolute), ``"key"``
    (a key of a free-form table such as ``mechanism_overrides``: its values are checked by
    validating the configuration) or ``"other"`` (strings, names).

    Raises
    ------
    ConfigError
        If the path names no field of :class:`RunConfig` (with the nearest names), or a table.
    """
    parts = path.split(".")
    model: type[BaseModel] | None = RunConfig
    ann: Any = None
    for i, part in enumerate(parts):
        where = ".".join(parts[:i])
        if model is None:
            if ann is not None and _is_mapping(ann) and i == len(parts) - 1:
                return "key"  # a key of a free-form table: checked by validating values
            raise ConfigError(f"{path!r}: {where!r} holds a value, not a table")
        fields = model.model_fields
        if part not in fields:
            near = difflib.get_close_matches(part, list(fields), n=3)
            hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else (
                f"; fields{' of ' + repr(where) if where else ''}: {', '.join(fields)}")
            raise ConfigError(f"{path!r}: unknown field {part!r}" + hint)
        ann = fields[part].annotation
        model = _model_of(ann)
    if model is not None:
        raise ConfigError(f"{path!r} is a table, not a value; sweep one of its fields: "
                          + ", ".join(f"{path}.{n}" for n in model.model_fields))
    alts = _unwrap(ann)
    if any(a is bool for a in alts):
        return "bool"
    if any(isinstance(a, type) and issubclass(a, Path) for a in alts):
        return "path"
    if any(a is int for a in alts):
        return "int"
    if any(a is float for a in alts):
        return "float"
    if _is_mapping(ann):
        raise ConfigError(f"{path!r} is a table, not a value; sweep one of its keys "
                          f"({path}.NAME)")
    return "other"


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


# ---------------------------------------------------------------------------------- designs
def _to_value(axis: AxisSpec, kind: str, x: float) -> Any:
    if axis.integer or (axis.integer is None and kind == "int"):
        return int(round(x))
    return float(x)


def _grid_values(axis: AxisSpec, kind: str) -> list[Any]:
    if axis.values is not None:
        return list(axis.values)
    assert axis.low is not None and axis.high is not None and axis.num is not None
    if axis.num == 1:
        xs = np.array([axis.low])
    elif axis.log:
        xs = np.geomspace(axis.low, axis.high, axis.num)
    else:
        xs = np.linspace(axis.low, axis.high, axis.num)
    out: list[Any] = []
    for x in xs:
        v = _to_value(axis, kind, float(f"{float(x):.12g}"))  # 0.1, not 0.09999999999999998
        if v not in out:
            out.append(v)
    return out


def _from_unit(axis: AxisSpec, kind: str, u: float) -> Any:
    """Map ``u`` in [0, 1] onto the axis (categories: equal slices)."""
    if axis.values is not None:
        k = len(axis.values)
        return axis.values[min(int(math.floor(u * k)), k - 1)]
    assert axis.low is not None and axis.high is not None
    if axis.log:
        x = math.exp(math.log(axis.low) + u * (math.log(axis.high) - math.log(axis.low)))
    else:
        x = axis.low + u * (axis.high - axis.low)
    return _to_value(axis, kind, min(max(x, axis.low), axis.high))


def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    """The SALib problem of a spec: one variable per axis on the unit interval (ranges and
    categories are mapped from it, so indices are about the axes as sampled)."""
    return {"num_vars": len(spec.axes), "names": [a.path for a in spec.axes],
            "bounds": [[0.0, 1.0]] * len(spec.axes)}


def _design_seed(seed: int) -> int:
    ss = np.random.SeedSequence(seed, spawn_key=(_DESIGN_KEY,))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def design_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """Axis path -> value for every point, in point order."""
    kinds = [axis_kind(a.path) for a in spec.axes]
    if not spec.axes:
        return [{}]
    if spec.design == "grid":
        grids = [_grid_values(a, k) for a, k in zip(spec.axes, kinds, strict=True)]
        return [dict(zip([a.path for a in spec.axes], combo, strict=True))
                for combo in itertools.product(*grids)]
    assert spec.samples is not None
    if spec.design == "random":
        rng = np.random.default_rng(_design_seed(spec.seed))
        unit = rng.random((spec.samples, len(spec.axes)))
    elif spec.design == "lhs":
        from SALib.sample import latin

        unit = latin.sample(salib_problem(spec), spec.samples, seed=_design_seed(spec.seed))
    else:
        from SALib.sample import sobol

        unit = sobol.sample(salib_problem(spec), spec.samples,
                            calc_second_order=spec.second_order, scramble=True,
                            seed=_design_seed(spec.seed))
    return [{a.path: _from_unit(a, k, float(u[j]))
             for j, (a, k) in enumerate(zip(spec.axes, kinds, strict=True))}
            for u in np.asarray(unit)]


# ---------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: the spec, the base configuration and one row per point.

    Attributes
    ----------
    spec
        The validated spec (``base`` is the base configuration as a table).
    base
        The base run configuration (JSON-ready, as given: not every constant).
    points
        Design rows: ``point``, ``seed`` and the axis values (or an ``arm`` label).
    configs
        Per point, the configuration fields that differ from ``base`` (path -> value).
    source
        Where the spec came from (for error messages).
    labels
        ``{"arm": [names]}`` for a plan of whole configurations (:func:`plan_from_arms`).
    metrics
        Outcomes to compare (not part of the plan's identity: a resume may change them).
    """

    spec: SweepSpec
    base: dict[str, Any]
    points: list[dict[str, Any]]
    configs: list[dict[str, Any]]
    source: str = "sweep spec"
    labels: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] | None = None

    def config(self, point: int) -> dict[str, Any]:
        """The full configuration of ``point`` (JSON-ready dict)."""
        data = copy.deepcopy(self.base)
        for path, value in self.configs[point].items():
            _set_path(data, path, value)
        return data

    def run_config(self, point: int) -> RunConfig:
        """The validated :class:`RunConfig` of ``point``."""
        return RunConfig.model_validate(self.config(point))

    def description(self) -> dict[str, Any]:
        """The JSON document stored as ``sweep.json`` (resume checks it matches)."""
        doc = {
            "format": 1,
            "spec": self.spec.model_dump(mode="json", exclude={"base"}),
            "base": self.base,
            "points": len(self.points),
            "labels": self.labels,
            "configs": self.configs if self.labels else None,
        }
        text = json.dumps(doc, sort_keys=True, default=str)
        doc["fingerprint"] = hashlib.sha256(text.encode()).hexdigest()
        return doc

    def design_table(self) -> pa.Table:
        """``design.parquet``: point, seed and one column per axis (typed)."""
        cols: dict[str, list[Any]] = {}
        for row in self.points:
            for k in row:
                cols.setdefault(k, [])
        for row in self.points:
            for k in cols:
                cols[k].append(row.get(k))
        arrays = {}
        for k, vs in cols.items():
            arrays[k] = _column(vs)
        return pa.table(arrays)


def _column(values: list[Any]) -> pa.Array:
    if all(isinstance(v, bool) for v in values):
        return pa.array(values, pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.array(values, pa.int64())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.array([float(v) for v in values], pa.float64())
    return pa.array([v if isinstance(v, str) else json.dumps(v, default=str) for v in values],
                    pa.string())


def _load_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: {what} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None


def _merge(under: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` applied over ``under``: tables merge key by key, other values replace."""
    out = copy.deepcopy(under)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def scenario_config(name: str) -> RunConfig:
    """The run configuration of a scenario: a built-in name or a scenario file.

    Raises
    ------
    ConfigError
        If there is no such scenario (or this version has no scenarios).
    """
    from dtaosim.experiments import config as config_module

    load = getattr(config_module, "load_scenario", None)
    if load is None:
        raise ConfigError("scenario: this version of dtaosim has no scenarios")
    return cast(RunConfig, load(name))


def _scenario_dict(name: str, spec_dir: Path, source: str) -> dict[str, Any]:
    """The run configuration of a scenario (built-in name or file) as a table."""
    p = Path(name)
    if not p.is_absolute() and (spec_dir / p).is_file():
        name = str(spec_dir / p)
    try:
        cfg = scenario_config(name)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    return cast(dict[str, Any], json.loads(cfg.model_dump_json(exclude={"out"})))


def _base_dict(spec: SweepSpec, spec_dir: Path, source: str) -> dict[str, Any]:
    """The base configuration as a validated, JSON-ready table (paths made absolute)."""
    if isinstance(spec.base, str):
        p = Path(spec.base)
        p = p if p.is_absolute() else spec_dir / p
        data = _load_toml(p, "base configuration")
        where = str(p)
    else:
        data = copy.deepcopy(spec.base)
        where = f"{source}: base"
    if spec.scenario is not None:
        data = _merge(_scenario_dict(spec.scenario, spec_dir, source), data)
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{where}: {format_validation_error(e)}") from None
    if cfg.snapshot is not None and not cfg.snapshot.is_absolute():
        data["snapshot"] = str(cfg.snapshot.resolve())
    data.pop("out", None)
    return cast(dict[str, Any], json.loads(json.dumps(data, default=str)))


def _point_seed(spec: SweepSpec, point: int) -> int:
    if spec.seeds == "common":
        return spec.seed
    ss = np.random.SeedSequence(spec.seed, spawn_key=(_DESIGN_KEY, point))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def plan_from_spec(spec: SweepSpec, *, source: str = "sweep spec",
                   spec_dir: Path | None = None,
                   base: dict[str, Any] | None = None) -> SweepPlan:
    """Expand a spec into its points and check every point's configuration.

    Parameters
    ----------
    spec
        The spec.
    source
        Where it came from (for error messages).
    spec_dir
        Folder relative paths in the spec (``base``, ``scenario``) are taken from.
    base
        The resolved base configuration, if already known (a stored sweep): the spec's
        ``scenario`` and ``base`` are then not read again.

    Raises
    ------
    ConfigError
        Naming ``source`` and the axis (path) or point whose value is invalid.
    """
    if base is None:
        base = _base_dict(spec, spec_dir or Path.cwd(), source)
    for i, a in enumerate(spec.axes):
        try:
            kind = axis_kind(a.path)
        except ConfigError as e:
            raise ConfigError(f"{source}: axes[{i}].path: {e}") from None
        if a.values is None and kind not in ("int", "float", "key"):
            raise ConfigError(f"{source}: axes[{i}] ({a.path}): a {kind} field takes "
                              "values = [...], not low/high")
        probe = list(a.values) if a.values is not None else [
            _to_value(a, kind, a.low or 0.0), _to_value(a, kind, a.high or 0.0)]
        for v in probe:
            data = copy.deepcopy(base)
            _set_path(data, a.path, v)
            try:
                RunConfig.model_validate(data)
            except ValidationError as e:
                raise ConfigError(f"{source}: axes[{i}] ({a.path}) value {v!r}: "
                                  f"{format_validation_error(e)}") from None
    values = design_values(spec)
    files = [a.path for a in spec.axes if axis_kind(a.path) == "path"]
    for vals in values:  # workers may run elsewhere: files by absolute path
        for p in files:
            if isinstance(vals.get(p), str):
                vals[p] = str(Path(vals[p]).resolve())
    points: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    paths = [a.path for a in spec.axes]
    for k, vals in enumerate(values):
        seed = _point_seed(spec, k)
        conf: dict[str, Any] = {"seed": seed}
        if spec.runs is not None:
            conf["runs"] = spec.runs
        conf.update(vals)
        row = {"point": k, "seed": int(conf["seed"])}
        row.update({p: vals[p] for p in paths if p != "seed"})
        points.append(row)
        configs.append(conf)
    plan = SweepPlan(spec=spec, base=base, points=points, configs=configs, source=source)
    _check_points(plan)
    return plan


def _check_points(plan: SweepPlan) -> None:
    for k in range(len(plan.points)):
        try:
            plan.run_config(k)
        except ValidationError as e:
            vals = ", ".join(f"{p}={v!r}" for p, v in plan.configs[k].items())
            raise ConfigError(f"{plan.source}: point {k} ({vals}): "
                              f"{format_validation_error(e)}") from None


def load_plan(path: str | Path) -> SweepPlan:
    """Read a sweep spec (TOML) and expand it (:func:`plan_from_spec`).

    Raises
    ------
    ConfigError
        If the file is unreadable or any field, axis or point is invalid (naming the file and
        the field).
    """
    p = Path(path)
    data = _load_toml(p, "sweep spec")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{p}: {format_validation_error(e)}") from None
    return plan_from_spec(spec, source=str(p), spec_dir=p.resolve().parent)


def plan_from_arms(arms: Sequence[tuple[str, RunConfig]], *, runs: int | None = None,
                   seed: int = 0, output: OutputSpec | None = None, name: str = "compare",
                   metrics: list[str] | None = None) -> SweepPlan:
    """A plan whose points are whole configurations (``arm`` labels), all with one seed:
    the A/B of ``dtaosim compare`` (common random numbers)."""
    if len(arms) < 2:
        raise ConfigError("a comparison needs at least two configurations")
    labels = [a for a, _ in arms]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"the compared configurations need distinct names: {labels}")
    spec = SweepSpec(name=name, runs=runs, seed=seed, output=output or OutputSpec(),
                     compare=None)
    base: dict[str, Any] = {}
    points, configs = [], []
    for k, (label, cfg) in enumerate(arms):
        data = cast(dict[str, Any], json.loads(cfg.model_dump_json(exclude={"out"})))
        data["seed"] = seed
        if runs is not None:
            data["runs"] = runs
        configs.append(data)
        points.append({"point": k, "seed": seed, "arm": label})
    plan = SweepPlan(spec=spec, base=base, points=points, configs=configs,
                     source="compare", labels={"arm": labels}, metrics=metrics)
    _check_points(plan)
    return plan


def plan_from_dir(sweep_dir: str | Path) -> SweepPlan:
    """The plan stored in a sweep directory (``sweep.json``), to resume without the spec."""
    doc = store.read_spec(sweep_dir)
    try:
        spec = SweepSpec.model_validate(doc["spec"])
    except (KeyError, ValidationError) as e:
        raise ConfigError(f"{sweep_dir}/{store.SPEC_FILE}: invalid sweep description "
                          f"({e})") from None
    if doc.get("labels"):
        configs = doc.get("configs") or []
        labels = doc["labels"]
        points = [{"point": k, "seed": int(c.get("seed", spec.seed)), "arm": a}
                  for k, (a, c) in enumerate(zip(labels["arm"], configs, strict=True))]
        return SweepPlan(spec=spec, base=doc.get("base", {}), points=points, configs=configs,
                         source=str(sweep_dir), labels=labels)
    return plan_from_spec(spec, source=str(Path(sweep_dir) / store.SPEC_FILE),
                          base=doc.get("base", {}))  # resolved: scenario merged, paths absolute


# ---------------------------------------------------------------------------------- one point
@dataclass(frozen=True)
class PointTask:
    """One point to simulate (small and picklable: what a worker receives)."""

    sweep_dir: str
    point: int
    seed: int
    config: dict[str, Any]
    keep: dict[str, str]
    threads: int | None = None


@dataclass(frozen=True)
class PointDone:
    """What a worker returns for a point (the client keeps only this)."""

    point: int
    status: str
    runs: int
    wall_s: float
    error: str | None = None
    committed: bool = True
    days: float = 0.0


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    import numba

    numba.set_num_threads(max(1, min(int(threads), int(numba.config.NUMBA_NUM_THREADS))))


def run_point(task: PointTask, on_progress: Callable[[float], None] | None = None) -> PointDone:
    """Simulate one point and commit its partition (ok, or failed with the traceback).

    A failing point (any exception: a bad snapshot, an invariant violation, a bug) is
    recorded as ``failed`` with its seed, error and traceback; only a ``KeyboardInterrupt``
    or a kill leaves no partition.

    Parameters
    ----------
    task
        The point.
    on_progress
        Called with the fraction of the point's blocks done.
    """
    _set_threads(task.threads)
    from dtaosim.experiments.run import execute_run, initial_state

    t0 = time.perf_counter()
    cfg = RunConfig.model_validate(task.config)
    keep = cast(Mapping[str, store.Keep], task.keep)
    with store.PointWriter(task.sweep_dir, task.point, keep, blocks=cfg.blocks) as writer:
        error: str | None = None
        tb: str | None = None
        try:
            mech = resolve_mechanism(cfg)
            writer.write_text(store.CONFIG_FILE, dump_config_toml(cfg, mech))
            state = initial_state(cfg, mech)
            blocks = max(cfg.blocks, 1)
            progress = (None if on_progress is None
                        else (lambda done: on_progress(done / blocks)))
            execute_run(cfg, mech, cast(Any, writer), state=state, on_progress=progress)
        except Exception as e:  # recorded in the dataset; the sweep goes on
            error = " ".join(f"{type(e).__name__}: {e}".split())
            tb = traceback.format_exc()
            writer.fail()
        wall = time.perf_counter() - t0
        committed = writer.commit({"status": "ok" if error is None else "failed",
                                   "seed": task.seed, "wall_s": wall, "error": error,
                                   "traceback": tb})
    return PointDone(point=task.point, status="ok" if error is None else "failed",
                     runs=cfg.runs, wall_s=wall, error=error, committed=committed,
                     days=cfg.days)


# ---------------------------------------------------------------------------------- sweep
class Backend(Protocol):
    """Runs point tasks somewhere and reports each as it finishes
    (:mod:`dtaosim.experiments.backends`)."""

    name: str

    def session(self) -> AbstractContextManager[Any]:
        """Start the workers (a cluster connection) for the sweep's duration."""
        ...

    def run(self, tasks: Iterator[PointTask], on_done: Callable[[PointDone], None],
            on_progress: Callable[[int, float], None] | None = None) -> None: ...

    def threads_per_task(self) -> int | None: ...


class Reporter(Protocol):
    """Progress callbacks of :func:`run_sweep` (the CLI draws a bar)."""

    def start(self, points: int, runs: int, done_points: int, done_runs: int) -> None: ...

    def point(self, done: PointDone) -> None: ...

    def partial(self, point: int, runs: int, fraction: float) -> None: ...


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did."""

    directory: Path
    points: int
    ran: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    wall_s: float = 0.0
    run_days: float = 0.0
    failures: list[PointDone] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every point of the sweep has a partition."""
        return self.ok + self.failed == self.points


def _check_same_plan(plan: SweepPlan, out: Path) -> None:
    stored = store.read_spec(out)
    mine = plan.description()
    if stored.get("fingerprint") == mine["fingerprint"]:
        return
    diffs = _first_difference(stored, mine)
    raise ConfigError(f"{plan.source} does not describe the sweep in {out} ({diffs}); "
                      "resume it with the same spec, or without one: "
                      f"dtaosim sweep {out} --resume")


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k == "fingerprint":
                continue
            if k not in a or k not in b:
                return f"{(where + '.' + k).lstrip('.')} differs"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{where}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return f"{where.lstrip('.') or 'the description'} differs"


def prepare_dir(plan: SweepPlan, out: str | Path, *, resume: bool = False,
                overwrite: bool = False, spec_text: str | None = None) -> Path:
    """Create the sweep directory (design, description) or check it matches for a resume."""
    out = Path(out)
    if resume:  # what a sweep killed while creating its directory left beside it
        for stale in out.parent.glob(f".{out.name}.tmp-*") if out.parent.is_dir() else ():
            shutil.rmtree(stale, ignore_errors=True)
    if resume and (out / store.SPEC_FILE).is_file():
        _check_same_plan(plan, out)
        store.clean_temporaries(out)
        return out
    if resume and out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not a sweep directory (no {store.SPEC_FILE}); "
                          "nothing to resume")

    def files(tmp: Path) -> None:
        (tmp / store.SPEC_FILE).write_text(
            json.dumps(plan.description(), indent=1, sort_keys=True, default=str) + "\n",
            encoding="utf-8")
        if spec_text is not None:
            (tmp / store.SPEC_COPY).write_text(spec_text, encoding="utf-8")
        store.write_design(tmp, plan.design_table())

    return store.write_new_sweep_dir(out, files, overwrite=overwrite)


def run_sweep(plan: SweepPlan, out: str | Path, backend: Backend, *, resume: bool = False,
              retry_failed: bool = False, overwrite: bool = False,
              reporter: Reporter | None = None, spec_text: str | None = None) -> SweepSummary:
    """Run every point of ``plan`` that ``out`` does not hold yet.

    Parameters
    ----------
    plan
        The points.
    out
        The sweep directory; created (atomically) unless resuming.
    backend
        Where the points run (in-process, local processes, Dask).
    resume
        Continue the sweep in ``out`` (it must hold the same plan): finished points are
        skipped, unfinished ones redone.
    retry_failed
        With ``resume``, also redo the points recorded as failed.
    overwrite
        Replace a non-empty ``out`` that is not resumed.
    reporter
        Progress callbacks.
    spec_text
        The spec's text, kept as ``spec.toml``.

    Returns
    -------
    SweepSummary
    """
    t0 = time.perf_counter()
    _check_target(plan, Path(out), resume=resume, overwrite=overwrite)  # before any worker
    with backend.session():  # workers (a cluster) up before the directory is made
        return _run(plan, out, backend, t0, resume=resume, retry_failed=retry_failed,
                    overwrite=overwrite, reporter=reporter, spec_text=spec_text)


def _check_target(plan: SweepPlan, out: Path, *, resume: bool, overwrite: bool) -> None:
    if resume and (out / store.SPEC_FILE).is_file():
        _check_same_plan(plan, out)
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        if resume:
            raise ConfigError(f"{out} is not a sweep directory (no {store.SPEC_FILE}); "
                              "nothing to resume")
        if not overwrite:
            raise ConfigError(f"sweep directory {out} already exists and is not empty "
                              "(use --resume to continue it, --overwrite to replace it, "
                              "or another --out)")
        refusal = store.overwrite_refusal(out) if out.is_dir() else (
            f"refusing to overwrite {out}: it is not a directory")
        if refusal is not None:
            raise ConfigError(refusal)


def _run(plan: SweepPlan, out: str | Path, backend: Backend, t0: float, *, resume: bool,
         retry_failed: bool, overwrite: bool, reporter: Reporter | None,
         spec_text: str | None) -> SweepSummary:
    directory = prepare_dir(plan, out, resume=resume, overwrite=overwrite, spec_text=spec_text)
    done = store.done_points(directory) if resume else {}
    if retry_failed:
        for k, status in list(done.items()):
            if status == "failed":
                path = directory / store.POINTS_DIR / store.partition_name(k)
                _remove_partition(path)
                del done[k]
    summary = SweepSummary(directory=directory, points=len(plan.points), skipped=len(done))
    summary.ok = sum(1 for s in done.values() if s == "ok")
    summary.failed = len(done) - summary.ok
    default_runs = RunConfig.model_fields["runs"].default
    runs_of = [int(plan.configs[k].get("runs", plan.base.get("runs", default_runs)))
               for k in range(len(plan.points))]
    if reporter is not None:
        reporter.start(len(plan.points), sum(runs_of), len(done),
                       sum(runs_of[k] for k in done))
    threads = backend.threads_per_task()
    keep = plan.spec.output.model_dump()

    def tasks() -> Iterator[PointTask]:
        for k in range(len(plan.points)):
            if k not in done:
                yield PointTask(sweep_dir=str(directory.resolve()), point=k,
                                seed=int(plan.points[k]["seed"]), config=plan.config(k),
                                keep=keep, threads=threads)

    def on_done(d: PointDone) -> None:
        summary.ran += 1
        summary.run_days += d.runs * d.days
        if d.status == "ok":
            summary.ok += 1
        else:
            summary.failed += 1
            summary.failures.append(d)
        if reporter is not None:
            reporter.point(d)

    def on_progress(point: int, fraction: float) -> None:
        if reporter is not None:
            reporter.partial(point, runs_of[point], fraction)

    backend.run(tasks(), on_done, on_progress)
    summary.wall_s = time.perf_counter() - t0
    return summary


def _remove_partition(path: Path) -> None:
    """Move a partition out of the dataset first (one rename), then delete it."""
    if not path.is_dir():
        return
    trash = Path(tempfile.mkdtemp(prefix=".tmp-retry-", dir=path.parent))
    path.rename(trash / path.name)
    shutil.rmtree(trash, ignore_errors=True)

