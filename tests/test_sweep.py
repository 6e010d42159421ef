"""Sweeps: spec and axis paths, designs, the partitioned store, resume, backends, views,
comparisons with common random numbers, sensitivity and tipping points (issue 15)."""

from __future__ import annotations

import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from dtaosim.agents.streams import Process, RunStreams, poisson_from_uniform, stream_seed
from dtaosim.cli.app import app
from dtaosim.errors import ConfigError
from dtaosim.experiments.backends import DaskBackend, InProcess, LocalProcesses, make_backend
from dtaosim.experiments.compare import paired_differences
from dtaosim.experiments.config import RunConfig, resolve_mechanism
from dtaosim.experiments.metrics import open_sweep
from dtaosim.experiments.run import execute_run, initial_state
from dtaosim.experiments.sensitivity import sobol_indices
from dtaosim.experiments.sweep import (
    SweepSpec,
    axis_kind,
    load_plan,
    plan_from_dir,
    plan_from_spec,
    run_sweep,
)
from dtaosim.experiments.tipping import contour, success_by_point
from dtaosim.io import sweep_store as store
from dtaosim.io.results import RunWriter

runner = CliRunner()
WIDE = {"COLUMNS": "250"}

# The miner-team agents (issue 10) need UIDs: these tests of the sweep machinery run the chain
# alone and switch the agents off where the configuration has them, so that they hold before
# and after the agents land; the validators count is `n_validators` once `[validators]` is an
# actor's section.
AGENTS = "agents" in RunConfig.model_fields
CHAIN_ONLY: dict[str, Any] = {"agents": {"enabled": False}} if AGENTS else {}
CHAIN_ONLY_TOML = "agents = { enabled = false }\n" if AGENTS else ""
NV = "n_validators" if "n_validators" in RunConfig.model_fields else "validators"
TABLES = ("network.parquet", "timeseries.parquet")

SPEC = """\
name = "t"
runs = 2
seed = 5
[base]
days = 0.05
uids = 0
record_every_blocks = 120
[output]
network = "all"
subnets = "all"
[[axes]]
path = "mechanism"
values = ["taoflow-2025-11", "price-burn-2026-06"]
[[axes]]
path = "exogenous.stake_flow_volatility"
low = 0.01
high = 0.05
num = 3
"""


def _chain_only(text: str) -> str:
    """A spec's or configuration's text with the agents off after its ``uids = N`` line."""
    return re.sub(r"^(uids = \d+\n)", lambda m: m.group(1) + CHAIN_ONLY_TOML, text,
                  flags=re.M)


def _spec(tmp_path: Path, text: str = SPEC, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(_chain_only(text))
    return p


def _one_error(result: Any, *needles: str, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert "Traceback" not in result.output
    return lines[0]


def _tables(sweep: Path) -> dict[tuple[int, str], Any]:
    out = {}
    for part in sorted((sweep / store.POINTS_DIR).iterdir()):
        k = int(part.name.split("=")[1])
        for f in TABLES:
            if (part / f).is_file():
                out[(k, f)] = pq.read_table(part / f)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small sweep SPEC, uninterrupted, in-process (also warms numba's on-disk cache for
    the subprocess tests)."""
    d = tmp_path_factory.mktemp("ref")
    plan = load_plan(_spec(d))
    summary = run_sweep(plan, d / "sweep", InProcess())
    assert summary.ok == 6 and summary.failed == 0
    return d / "sweep"


# ---------------------------------------------------------------------------------- streams
def test_streams_are_per_run_and_per_process() -> None:
    a = RunStreams(7, runs=3)
    b = RunStreams(7, runs=3)
    for g in b[Process.UID_REGISTRATIONS]:  # another process draws a lot in b only
        g.random(1000)
    za = [g.standard_normal(4) for g in a[Process.STAKE_FLOWS]]
    zb = [g.standard_normal(4) for g in b[Process.STAKE_FLOWS]]
    np.testing.assert_array_equal(za, zb)
    assert not np.array_equal(za[0], za[1])  # runs differ
    # run r of a batch of 3 is run r of a batch of 1 run: batching does not matter
    one = np.random.default_rng(stream_seed(7, 2, Process.STAKE_FLOWS)).standard_normal(4)
    np.testing.assert_array_equal(one, za[2])
    other = [g.standard_normal(4) for g in RunStreams(7, 3)[Process.SUBNET_REGISTRATIONS]]
    assert not np.array_equal(other[0], za[0])


def test_poisson_from_uniform_is_poisson_and_monotone() -> None:
    u = np.random.default_rng(0).random(200_000)
    for lam in (0.0, 0.3, 2.5, 30.0):
        k = poisson_from_uniform(u, np.full(u.size, lam))
        assert abs(k.mean() - lam) < 0.02 + 0.01 * lam
        assert abs(k.var() - lam) < 0.03 + 0.03 * lam
    lo = poisson_from_uniform(u[:1000], np.full(1000, 2.0))
    hi = poisson_from_uniform(u[:1000], np.full(1000, 2.5))
    assert (hi >= lo).all() and (hi > lo).any()


def test_rules_ab_share_the_random_numbers() -> None:
    """Common random numbers: two rule sets on the same seed see the same registrations."""
    out = {}
    for mech_name in ("taoflow-2025-11", "price-burn-2026-06"):
        cfg = RunConfig(days=0.5, runs=4, seed=3, uids=0, mechanism=mech_name, **CHAIN_ONLY,
                        exogenous={"new_subnets_per_day": 6.0})
        mech = resolve_mechanism(cfg)
        from dtaosim.experiments.simulation import simulate
        from dtaosim.state.chain_state import GI

        final = simulate(initial_state(cfg, mech), mech, blocks=cfg.blocks,
                         record_every=cfg.blocks, seed=cfg.seed, exogenous=cfg.exogenous)
        out[mech_name] = final.gints[:, GI.SUBNETS_REGISTERED].copy()
    a, b = out.values()
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) > 1  # arrivals vary across runs, not across rules


# ---------------------------------------------------------------------------------- paths
def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, f in model.model_fields.items():
        alts = (typing.get_args(f.annotation) if typing.get_origin(f.annotation)
                in (typing.Union, types.UnionType) else (f.annotation,))
        sub = [a for a in alts if isinstance(a, type) and issubclass(a, BaseModel)]
        if sub:
            out += _leaf_paths(sub[0], f"{prefix}{name}.")
        elif typing.get_origin(f.annotation) is dict:
            out.append(f"{prefix}{name}.anything")
        else:
            out.append(prefix + name)
    return out


def test_every_configuration_field_is_an_axis() -> None:
    """Paths come from the pydantic model, not a list: every leaf (and every field the model
    gains) is sweepable."""
    paths = _leaf_paths(RunConfig)
    assert "exogenous.stake_flow_volatility" in paths and len(paths) > 15
    kinds = {p: axis_kind(p) for p in paths}
    assert kinds["days"] == "float" and kinds["uids"] == "int"
    assert kinds["check_invariants"] == "bool" and kinds["mechanism"] == "other"
    assert kinds["mechanism_overrides.anything"] == "key"


@pytest.mark.parametrize(("path", "needle"), [
    ("exogenous.stake_flow_volatilty", "did you mean 'stake_flow_volatility'"),
    ("dayz", "unknown field 'dayz'"),
    ("exogenous", "is a table, not a value"),
    ("days.x", "holds a value, not a table"),
    ("mechanism_overrides", "is a table"),
])
def test_bad_axis_paths(path: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        axis_kind(path)


@pytest.mark.parametrize(("axis", "needles"), [
    ('path = "exogenous.stake_flow_volatilty"\nvalues = [0.1]',
     ["axes[0].path", "did you mean 'stake_flow_volatility'"]),
    ('path = "exogenous.stake_flow_volatility"\nvalues = [0.1, 2.0]',
     ["axes[0] (exogenous.stake_flow_volatility) value 2.0",
      "exogenous.stake_flow_volatility", "less than or equal to 1"]),
    ('path = "mechanism"\nvalues = ["nope"]', ["axes[0] (mechanism)", "unknown mechanism"]),
    ('path = "mechanism_overrides.no_such"\nvalues = [1]', ["unknown mechanism field"]),
    ('path = "mechanism"\nlow = 1\nhigh = 2\nnum = 2', ["takes values = [...]"]),
    ('path = "days"\nlow = 2\nhigh = 1\nnum = 2', ["low (2.0) must be below high (1.0)"]),
    ('path = "days"\nlow = 1\nhigh = 2', ["needs num"]),
    ('path = "days"\nvalues = [1]\nspeed = 3', ["unknown field 'axes.0.speed'"]),
])
def test_bad_spec_is_one_error_naming_file_and_field(tmp_path: Path, axis: str,
                                                     needles: list[str]) -> None:
    p = _spec(tmp_path, f'[base]\nuids = 0\n[[axes]]\n{axis}\n')
    result = runner.invoke(app, ["sweep", str(p), "--out", str(tmp_path / "o")], env=WIDE)
    _one_error(result, str(p), *needles)
    assert not (tmp_path / "o").exists()


def test_dry_run_prints_the_design_and_runs_nothing(tmp_path: Path) -> None:
    r = runner.invoke(app, ["sweep", str(_spec(tmp_path)), "--out", str(tmp_path / "o"),
                            "--dry-run"], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "6 points (grid design)" in r.stdout and "price-burn-2026-06" in r.stdout
    assert "12 runs, 0.6 simulated run-days" in r.stdout
    assert not (tmp_path / "o").exists()


def test_cross_field_point_error_names_the_point(tmp_path: Path) -> None:
    p = _spec(tmp_path, f'[base]\nuids = 16\n{NV} = 4\n[[axes]]\npath = "uids"\n'
                        f'values = [8, 16]\n[[axes]]\npath = "{NV}"\nvalues = [4, 9]\n')
    with pytest.raises(ConfigError, match=rf"spec.toml: point 1 \(seed=0, uids=8, {NV}=9\)"
                                          rf": {NV}: 9 validators do not fit in 8 UIDs"):
        load_plan(p)


def test_base_file_and_bad_base(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(_chain_only("days = 0.5\nuids = 0\n"))
    plan = load_plan(_spec(tmp_path, 'base = "base.toml"\n[[axes]]\npath = "runs"\n'
                                     'values = [1, 2]\n'))
    assert plan.run_config(1).days == 0.5 and plan.run_config(1).runs == 2
    (tmp_path / "bad.toml").write_text("days = -1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: days: .*greater than 0"):
        load_plan(_spec(tmp_path, 'base = "bad.toml"\n'))


# ---------------------------------------------------------------------------------- designs
def _plan(**kw: Any) -> Any:
    data = {"base": {"uids": 0, "days": 0.01, **CHAIN_ONLY}, **kw}
    return plan_from_spec(SweepSpec.model_validate(data))


def test_grid_is_the_product_in_axis_order() -> None:
    plan = _plan(axes=[{"path": "mechanism", "values": ["taoflow-2025-11", "cap-2025-12"]},
                       {"path": "exogenous.stake_flow_drift", "low": -0.3, "high": 0.3,
                        "num": 4},
                       {"path": "uids", "low": 0, "high": 1, "num": 3}])
    # uids rounds to integers and repeats are dropped: 0, 0 (0.5 rounds to even), 1
    assert len(plan.points) == 2 * 4 * 2
    assert plan.points[1] == {"point": 1, "seed": 0, "mechanism": "taoflow-2025-11",
                              "exogenous.stake_flow_drift": -0.3, "uids": 1}
    assert plan.points[2]["exogenous.stake_flow_drift"] == -0.1  # rounded, not -0.0999...
    assert plan.run_config(2).exogenous.stake_flow_drift == -0.1
    t = plan.design_table()
    assert t.column_names == ["point", "seed", "mechanism", "exogenous.stake_flow_drift",
                              "uids"]
    assert str(t.schema.field("uids").type) == "int64"


def test_random_and_lhs_designs_are_seeded_and_in_range() -> None:
    axes = [{"path": "exogenous.stake_flow_volatility", "low": 0.001, "high": 0.1,
             "log": True},
            {"path": "mechanism", "values": ["taoflow-2025-11", "cap-2025-12"]}]
    a = _plan(design="random", samples=50, seed=3, axes=axes)
    b = _plan(design="random", samples=50, seed=3, axes=axes)
    c = _plan(design="random", samples=50, seed=4, axes=axes)
    va = [p["exogenous.stake_flow_volatility"] for p in a.points]
    assert va == [p["exogenous.stake_flow_volatility"] for p in b.points]
    assert va != [p["exogenous.stake_flow_volatility"] for p in c.points]
    assert min(va) >= 0.001 and max(va) <= 0.1
    assert sum(v < 0.01 for v in va) > 10  # log-uniform: half the mass below the mid decade
    assert {p["mechanism"] for p in a.points} == {"taoflow-2025-11", "cap-2025-12"}
    lhs = _plan(design="lhs", samples=10, seed=1,
                axes=[{"path": "days", "low": 1.0, "high": 2.0}])
    days = sorted(p["days"] for p in lhs.points)
    assert [int((d - 1) * 10) for d in days] == list(range(10))  # one sample per stratum


def test_sobol_design_size_and_seeds() -> None:
    axes = [{"path": "exogenous.stake_flow_drift", "low": -0.1, "high": 0.1},
            {"path": "days", "low": 0.01, "high": 0.02}]
    plan = _plan(design="sobol", samples=8, axes=axes, seeds="independent", seed=9)
    assert len(plan.points) == 8 * (2 + 2)
    seeds = [p["seed"] for p in plan.points]
    assert len(set(seeds)) == len(seeds)
    again = _plan(design="sobol", samples=8, axes=axes, seeds="independent", seed=9)
    assert seeds == [p["seed"] for p in again.points]
    assert len(_plan(design="sobol", samples=8, axes=axes, second_order=True).points) == 48
    common = _plan(design="sobol", samples=8, axes=axes, seed=9)
    assert {p["seed"] for p in common.points} == {9}


@pytest.mark.parametrize(("spec", "needle"), [
    ({"design": "lhs"}, "needs samples"),
    ({"design": "grid", "samples": 3}, "samples is for"),
    ({"design": "sobol", "samples": 4}, "needs at least one axis"),
    ({"sensitivity": {}}, "needs design"),
    ({"axes": [{"path": "days", "values": [1]}, {"path": "days", "values": [2]}]}, "repeats"),
])
def test_spec_level_errors(spec: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        SweepSpec.model_validate(spec)


# ---------------------------------------------------------------------------------- store
def test_sweep_point_equals_a_plain_run(reference: Path, tmp_path: Path) -> None:
    """A point's tables are those of `dtaosim run` with its configuration."""
    plan = plan_from_dir(reference)
    cfg = plan.run_config(4)
    mech = resolve_mechanism(cfg)
    with RunWriter(tmp_path / "run") as w:
        execute_run(cfg, mech, w, state=initial_state(cfg, mech))
    part = reference / "points" / "point=00004"
    for f in TABLES:
        assert pq.read_table(part / f).equals(pq.read_table(tmp_path / "run" / f))
    status = pq.read_table(part / "point.parquet").to_pylist()[0]
    assert status["status"] == "ok" and status["seed"] == 5 and status["error"] is None
    assert "mechanism_overrides" in (part / "config.toml").read_text()
    assert json.loads((part / "manifest.json").read_text())["seed"] == 5


def test_views_runs_and_points(reference: Path) -> None:
    con = open_sweep(reference)
    assert con.execute("select count(*), count(distinct point) from status").fetchone() == (6, 6)
    assert con.execute("select count(*) from runs").fetchone()[0] == 12
    # runs = network at the last record, with the design beside it
    row = con.execute('select "exogenous.stake_flow_volatility", mechanism, day, sum_price '
                      "from runs where point = 4 and run = 1").fetchone()
    net = pq.read_table(reference / "points/point=00004/network.parquet").to_pylist()
    last = [r for r in net if r["run"] == 1][-1]
    assert row == (0.03, "price-burn-2026-06", last["day"], last["sum_price"])
    hhi, top, nopaid = con.execute("select emission_hhi, emission_top10_share, "
                                   "subnets_no_paid_miner from runs where point = 0 and run = 0"
                                   ).fetchone()
    assert 1 / 128 < hhi < 1 and 10 / 128 < top < 1 and 0 <= nopaid <= 128
    assert con.execute("select count(distinct block) from subnets").fetchone()[0] == 4


def test_query_cli(reference: Path) -> None:
    r = runner.invoke(app, ["query", str(reference)], env=WIDE)
    assert r.exit_code == 0, r.output
    for v in ("design", "points", "runs", "network", "subnets", "status"):
        assert v in r.stdout
    r = runner.invoke(app, ["query", str(reference), "select point, mechanism from points "
                            "order by point", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[:2] == ["point,mechanism", "0,taoflow-2025-11"]
    r = runner.invoke(app, ["query", str(reference), 'select count(*) as n from runs where '
                            '"exogenous.stake_flow_volatility" > 0.02', "--format", "json"])
    assert json.loads(r.stdout) == {"n": 8}
    _one_error(runner.invoke(app, ["query", str(reference), "select nope from runs"]),
               "query:", "nope")
    _one_error(runner.invoke(app, ["query", str(reference.parent)]), "not a sweep directory")


def test_output_selection(tmp_path: Path) -> None:
    spec = SPEC.replace('network = "all"\nsubnets = "all"', 'network = "ends"\nsubnets = "none"')
    plan = load_plan(_spec(tmp_path, spec))
    run_sweep(plan, tmp_path / "s", InProcess())
    part = tmp_path / "s" / "points" / "point=00000"
    assert not (part / "timeseries.parquet").exists() and not (part / "uids.parquet").exists()
    days = sorted(set(pq.read_table(part / "network.parquet").column("day").to_pylist()))
    assert days == [0.0, 0.05]
    con = open_sweep(tmp_path / "s")
    assert "subnets" not in [r[0] for r in con.execute("show tables").fetchall()]
    assert con.execute("select count(*) from runs").fetchone()[0] == 12


def test_uids_table_only_when_asked(tmp_path: Path) -> None:
    text = (f'runs = 1\n[base]\ndays = 0.01\nuids = 8\n{NV} = 2\n[output]\nuids = "ends"\n'
            '[[axes]]\npath = "seed"\nvalues = [1]\n')
    run_sweep(load_plan(_spec(tmp_path, text)), tmp_path / "s", InProcess())
    t = pq.read_table(tmp_path / "s" / "points" / "point=00000" / "uids.parquet")
    assert len(set(t.column("block").to_pylist())) == 2 and t.num_rows > 0
    run_sweep(load_plan(_spec(tmp_path, text.replace('uids = "ends"', ""))), tmp_path / "d",
              InProcess())
    assert not (tmp_path / "d" / "points" / "point=00000" / "uids.parquet").exists()


def test_point_writer_is_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "points").mkdir()
    with pytest.raises(RuntimeError), store.PointWriter(tmp_path, 3, {}, blocks=1) as w:
        w.write_text("config.toml", "x")
        raise RuntimeError("killed")
    assert list((tmp_path / "points").iterdir()) == []
    with store.PointWriter(tmp_path, 3, {}, blocks=1) as w:
        assert w.commit({"status": "ok", "seed": 1})
    with store.PointWriter(tmp_path, 3, {}, blocks=1) as w:  # a retried task: kept once
        w.write_text("config.toml", "second")
        assert not w.commit({"status": "ok", "seed": 1})
    assert [p.name for p in (tmp_path / "points").iterdir()] == ["point=00003"]
    assert not (tmp_path / "points" / "point=00003" / "config.toml").exists()


# ---------------------------------------------------------------------------------- failures
def test_failed_point_is_recorded_and_the_rest_go_on(tmp_path: Path) -> None:
    good = Path(__file__).resolve().parent / "fixtures" / "small_network.json"
    text = ('runs = 1\nseed = 4\n[base]\ndays = 0.01\nuids = 0\n[[axes]]\npath = "snapshot"\n'
            f'values = ["{tmp_path / "missing.json"}", "{tmp_path / "bad.json"}", "{good}"]\n'
            '[[axes]]\npath = "exogenous.stake_flow_drift"\nvalues = [0.0, 0.01]\n')
    (tmp_path / "bad.json").write_text("{not json")
    p = _spec(tmp_path, text)
    r = runner.invoke(app, ["sweep", str(p), "--out", str(tmp_path / "s")], env=WIDE)
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("error: 4 of 6 points failed (e.g. point 0: DataError: "
                                "snapshot file not found")
    assert "--resume --retry-failed" in lines[-1]
    assert any(ln.startswith("point 2 failed: DataError:") and "invalid JSON" in ln
               for ln in lines)
    assert "Traceback" not in r.output
    con = open_sweep(tmp_path / "s")
    rows = con.execute("select point, status, seed, error, traceback from points "
                       "order by point").fetchall()
    assert [x[1] for x in rows] == ["failed"] * 4 + ["ok"] * 2 and {x[2] for x in rows} == {4}
    assert "snapshot file not found" in rows[0][3] and "Traceback" in rows[0][4]
    assert con.execute("select count(*) from runs").fetchone()[0] == 2


def test_a_failing_point_does_not_stop_the_others(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import dtaosim.experiments.run as run_mod

    real = run_mod.execute_run

    def flaky(cfg: RunConfig, *a: Any, **k: Any) -> Any:
        if cfg.exogenous.stake_flow_volatility == 0.03:
            raise FloatingPointError("boom")
        return real(cfg, *a, **k)

    monkeypatch.setattr(run_mod, "execute_run", flaky)
    plan = load_plan(_spec(tmp_path))
    s = run_sweep(plan, tmp_path / "s", InProcess())
    assert (s.ok, s.failed) == (4, 2) and sorted(f.point for f in s.failures) == [1, 4]
    monkeypatch.setattr(run_mod, "execute_run", real)
    s = run_sweep(plan, tmp_path / "s", InProcess(), resume=True)
    assert (s.ran, s.failed) == (0, 2)  # failed points are done unless retried
    s = run_sweep(plan, tmp_path / "s", InProcess(), resume=True, retry_failed=True)
    assert (s.ran, s.ok, s.failed) == (2, 6, 0)


# ---------------------------------------------------------------------------------- resume
def test_resume_redoes_unfinished_points_only(reference: Path, tmp_path: Path) -> None:
    plan = plan_from_dir(reference)
    out = tmp_path / "s"
    import shutil

    shutil.copytree(reference, out)
    shutil.rmtree(out / "points" / "point=00002")
    (out / "points" / ".tmp-point=00005-abc").mkdir()  # what a kill leaves
    shutil.rmtree(out / "points" / "point=00005")
    r = runner.invoke(app, ["sweep", str(out), "--resume"], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "resuming: 4 of 6 points already done" in r.output
    assert "2 run now, 4 done before" in r.stdout
    assert not list((out / "points").glob(".tmp-*"))
    ref, got = _tables(reference), _tables(out)
    assert ref.keys() == got.keys() and all(ref[k].equals(got[k]) for k in ref)
    assert plan.description() == plan_from_dir(out).description()


def test_resume_needs_the_same_spec(reference: Path, tmp_path: Path) -> None:
    other = _spec(tmp_path, SPEC.replace("runs = 2", "runs = 3"))
    r = runner.invoke(app, ["sweep", str(other), "--out", str(reference), "--resume"],
                      env=WIDE)
    _one_error(r, "does not describe the sweep", "spec.runs differs")
    r = runner.invoke(app, ["sweep", str(other), "--out", str(reference)], env=WIDE)
    _one_error(r, "already exists and is not empty", "--resume")
    _one_error(runner.invoke(app, ["sweep", str(reference)]), "add --resume")
    _one_error(runner.invoke(app, ["sweep", str(other), "--retry-failed"]),
               "--retry-failed needs --resume")


KILL_SPEC = SPEC.replace("days = 0.05", "days = 0.15").replace("num = 3", "num = 5")


def _partitions(out: Path) -> list[str]:
    points = out / "points"
    return sorted(p.name for p in points.iterdir()) if points.is_dir() else []


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(tmp_path: Path) -> None:
    """Kill `dtaosim sweep --resume` (SIGKILL) at random moments - while it starts, and while
    it simulates or writes points - and resume until done: every point exactly once, numbers
    identical to the uninterrupted sweep, no temporary partition left."""
    spec = _spec(tmp_path, KILL_SPEC)
    ref = tmp_path / "ref"
    assert run_sweep(load_plan(spec), ref, InProcess()).ok == 10  # also warms numba's cache
    out = tmp_path / "killed"
    cmd = [sys.executable, "-c", "from dtaosim.cli import main; main()", "sweep", str(spec),
           "--out", str(out), "--resume"]
    rng = random.Random(15)
    seen: list[int] = []
    for attempt in range(4):
        before = len([n for n in _partitions(out) if n.startswith("point=")])
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt == 0:
            time.sleep(rng.uniform(0.0, 1.0))  # during start-up
        else:  # once it has written a point of its own: a random moment within the next ones
            deadline = time.monotonic() + 60
            while (proc.poll() is None and time.monotonic() < deadline and len(
                    [n for n in _partitions(out) if n.startswith("point=")]) <= before):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        names = [n for n in _partitions(out) if n.startswith("point=")]
        assert len(names) == len(set(names))
        seen.append(len(names))
    assert any(0 < n < 10 for n in seen), seen  # killed mid-sweep at least once
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _partitions(out) == [store.partition_name(k) for k in range(10)]  # no .tmp-*
    a, b = _tables(ref), _tables(out)
    assert a.keys() == b.keys() and len(a) == 20 and all(a[k].equals(b[k]) for k in a)
    con = open_sweep(out)
    assert con.execute("select count(*), count(distinct point) from status").fetchone() == (10,
                                                                                           10)
    assert con.execute("select count(*) from runs").fetchone()[0] == 20


# ---------------------------------------------------------------------------------- backends
def test_make_backend_options() -> None:
    assert isinstance(make_backend(), InProcess)
    assert isinstance(make_backend(processes=2), LocalProcesses)
    assert isinstance(make_backend(workers=2), DaskBackend)
    with pytest.raises(ConfigError, match="choose one of --processes, --workers"):
        make_backend(processes=2, workers=2)
    with pytest.raises(ConfigError, match="at least 1"):
        make_backend(workers=0)


def test_unreachable_scheduler_is_one_error_and_no_directory(tmp_path: Path) -> None:
    plan = load_plan(_spec(tmp_path))
    with pytest.raises(ConfigError, match=r"--scheduler tcp://127.0.0.1:9: cannot connect"):
        run_sweep(plan, tmp_path / "s", DaskBackend(scheduler="tcp://127.0.0.1:9",
                                                   connect_timeout_s=0.5))
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_backends_give_identical_numbers(reference: Path, tmp_path: Path, backend: str) -> None:
    """2 local processes and a Dask LocalCluster of 2 worker processes (loopback) write the
    same numbers as the in-process sweep; workers write their own partitions."""
    plan = plan_from_dir(reference)
    be = LocalProcesses(2) if backend == "processes" else DaskBackend(workers=2)
    s = run_sweep(plan, tmp_path / "s", be)
    assert (s.ok, s.failed) == (6, 0)
    ref, got = _tables(reference), _tables(tmp_path / "s")
    assert ref.keys() == got.keys() and all(ref[k].equals(got[k]) for k in ref)
    workers = open_sweep(tmp_path / "s").execute("select distinct worker from status"
                                                 ).fetchall()
    assert f":{os.getpid()}" not in " ".join(w[0] for w in workers)


# ---------------------------------------------------------------------------------- analyses
def test_compare_cli_paired_differences(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    r = runner.invoke(app, ["compare", "--mechanism", "taoflow-2025-11", "--mechanism",
                            "price-burn-2026-06", "--days", "0.1", "--runs", "4", "--uids",
                            "0", "--no-agents", "--seed", "2", "--out", str(out)], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "paired differences" in r.stdout and "pools_tao" in r.stdout
    con = open_sweep(out)
    by_hand = con.execute(
        "select b.pools_tao - a.pools_tao from runs a join runs b on a.run = b.run "
        "where a.arm = 'taoflow-2025-11' and b.arm = 'price-burn-2026-06' order by a.run"
    ).fetchall()
    d = np.array([x[0] for x in by_hand])
    (diff,) = [x for x in paired_differences(con, "arm", "taoflow-2025-11", ["pools_tao"])]
    assert diff.runs == 4 and diff.difference == pytest.approx(d.mean())
    half = 3.182446305284263 * d.std(ddof=1) / 2  # t(0.975, 3) s / sqrt(4)
    assert diff.ci_low == pytest.approx(d.mean() - half)
    assert diff.crn_gain is not None and diff.crn_gain > 10  # same flows in A and B
    rows = (out / "compare.csv").read_text().splitlines()
    assert rows[0].startswith('"metric","arm","baseline"') and len(rows) > 3
    _one_error(runner.invoke(app, ["compare", "--mechanism", "taoflow-2025-11"]),
               "at least two")


def test_compare_axis_of_a_sweep_spec(reference: Path) -> None:
    con = open_sweep(reference)
    diffs = paired_differences(con, "mechanism", "taoflow-2025-11", ["sum_price"])
    assert len(diffs) == 3 and {d.stratum for d in diffs} == {
        f"exogenous.stake_flow_volatility={v}" for v in (0.01, 0.03, 0.05)}
    with pytest.raises(ConfigError, match="unknown outcome 'nope'"):
        paired_differences(con, "mechanism", "taoflow-2025-11", ["nope"])


def test_sobol_indices_find_the_axis_that_matters(tmp_path: Path) -> None:
    text = ('design = "sobol"\nsamples = 8\nruns = 1\n[base]\ndays = 0.05\nuids = 0\n'
            'record_every_blocks = 360\n[base.exogenous]\nnew_subnets_per_day = 0.0\n'
            '[output]\nsubnets = "none"\n'
            '[[axes]]\npath = "exogenous.stake_flow_drift"\nlow = -0.2\nhigh = 0.2\n'
            '[[axes]]\npath = "exogenous.new_subnet_miner_burn_fraction"\nlow = 0\nhigh = 1\n'
            '[sensitivity]\noutputs = ["pools_tao"]\n')
    p = _spec(tmp_path, text)
    r = runner.invoke(app, ["sweep", str(p), "--out", str(tmp_path / "s")], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "Sobol indices" in r.stdout
    plan = load_plan(p)
    first, _ = sobol_indices(open_sweep(tmp_path / "s"), plan, ["pools_tao"])
    drift, burn = first
    assert drift.axis == "exogenous.stake_flow_drift" and drift.ST > 0.9
    assert burn.S1 == 0.0 and burn.ST == 0.0  # no new subnet: the burn of new ones is inert
    csv = (tmp_path / "s" / "sensitivity.csv").read_text()
    assert "exogenous.stake_flow_drift" in csv and '"S1"' in csv


def test_tipping_points_and_contour(tmp_path: Path) -> None:
    text = ('runs = 3\n[base]\ndays = 0.05\nuids = 0\n[base.exogenous]\n'
            'new_subnets_per_day = 0.0\n[output]\nsubnets = "none"\n'
            '[[axes]]\npath = "exogenous.stake_flow_drift"\nvalues = [-0.3, -0.1, 0.1, 0.3]\n'
            '[[axes]]\npath = "exogenous.stake_flow_volatility"\nvalues = [0.0, 0.05]\n'
            '[success]\nmetric = "pools_tao"\nat_least = 2036900\nshare_of_runs = 0.6\n')
    p = _spec(tmp_path, text)
    r = runner.invoke(app, ["sweep", str(p), "--out", str(tmp_path / "s")], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "failure contour" in r.stdout and "fails below" in r.stdout
    plan = load_plan(p)
    rows = success_by_point(open_sweep(tmp_path / "s"), plan, plan.spec.success)
    verdict = {(x["exogenous.stake_flow_drift"], x["exogenous.stake_flow_volatility"]):
               x["success"] for x in rows}
    assert verdict[(-0.3, 0.0)] is False and verdict[(0.3, 0.0)] is True
    crossings = contour(plan, rows, 0.6)
    assert crossings and all(c.axis == "exogenous.stake_flow_drift" for c in crossings)
    for c in crossings:
        assert c.low < c.high and c.estimate is not None and c.low <= c.estimate <= c.high
    assert (tmp_path / "s" / "tipping.csv").is_file()
    assert (tmp_path / "s" / "contour.csv").is_file()


def test_contour_interpolates_the_share() -> None:
    plan = _plan(axes=[{"path": "days", "values": [1.0, 2.0, 3.0]}])
    rows = [{"point": 0, "days": 1.0, "share": 1.0, "success": True},
            {"point": 1, "days": 2.0, "share": 0.8, "success": True},
            {"point": 2, "days": 3.0, "share": 0.4, "success": False}]
    (c,) = contour(plan, rows, 0.6)
    assert (c.low, c.high, c.fails_above) == (2.0, 3.0, True)
    assert c.estimate == pytest.approx(2.5)
    assert math.isclose(c.estimate, 2.5)


def test_shipped_ab_example_parses() -> None:
    plan = load_plan(Path(__file__).resolve().parents[1] / "examples" / "eras-ab.toml")
    assert [p["mechanism"] for p in plan.points] == [
        "v3-2025-07", "taoflow-2025-11", "netflow-2026-05", "price-burn-2026-06"]
    assert {p["seed"] for p in plan.points} == {2026}  # common random numbers
    assert plan.spec.compare is not None and plan.spec.compare.baseline == "v3-2025-07"
    assert plan.run_config(0).runs == 16 and plan.run_config(0).uids == 0


def test_agent_outputs_are_picked_up_when_present(tmp_path: Path) -> None:
    """The agents' network columns (CONTRACT.md) reach `runs`, and teams.parquet becomes the
    `teams` view, with no list of them in the sweep code."""
    import pyarrow as pa

    cfg = RunConfig(days=1, runs=2, uids=0, **CHAIN_ONLY)
    mech = resolve_mechanism(cfg)
    state = initial_state(cfg, mech)

    def files(d: Path) -> None:
        store.write_design(d, pa.table({"point": [0], "seed": [0]}))

    out = store.write_new_sweep_dir(tmp_path / "s", files)
    with store.PointWriter(out, 0, {"subnets": "none"}, blocks=7200) as w:
        w.record(state, {"retained_top_decile": np.array([1.0, 1.0]),
                         "teams_active": np.array([40, 41])})
        state.block += 7200
        w.record(state, {"retained_top_decile": np.array([0.85, 0.6]),
                         "teams_active": np.array([35, 30])})
        w.write_teams({"run": np.array([0, 1]), "team": np.array([7, 7]),
                       "exit_reason": [None, "cost"]})
        w.write_manifest({"seed": 0})
        assert w.commit({"status": "ok", "seed": 0})
    con = open_sweep(out)
    assert con.execute("select run, retained_top_decile, teams_active from runs order by run"
                       ).fetchall() == [(0, 0.85, 35), (1, 0.6, 30)]
    assert con.execute("select point, run, exit_reason from teams order by run").fetchall() == [
        (0, 0, None), (0, 1, "cost")]


def test_overwrite_replaces_only_a_sweep_directory(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(tmp_path, SPEC.replace("num = 3", "num = 1"))
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    r = runner.invoke(app, ["sweep", str(spec), "--out", str(other), "--overwrite"], env=WIDE)
    _one_error(r, "refusing to overwrite", "not a dtaosim sweep directory")
    assert (other / "keep.txt").read_text() == "mine"
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["sweep", str(spec), "--out", ".", "--overwrite"], env=WIDE)
    _one_error(r, "refusing to overwrite", "working directory")
    out = tmp_path / "s"
    assert runner.invoke(app, ["sweep", str(spec), "--out", str(out)]).exit_code == 0
    first = (out / "design.parquet").stat().st_mtime_ns
    r = runner.invoke(app, ["sweep", str(spec), "--out", str(out), "--overwrite"], env=WIDE)
    assert r.exit_code == 0, r.output
    assert (out / "design.parquet").stat().st_mtime_ns != first
    manifest = json.loads((out / "points" / "point=00000" / "manifest.json").read_text())
    assert manifest["format"] == "dtaosim-run" and manifest["sweep_point"] == 0
    assert manifest["code_version"]["source_sha256"]
