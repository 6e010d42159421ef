"""CLI, run configuration and run-directory tests (``dtaosim run`` / ``dtaosim mechanisms``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from dtaosim.chain.presets import HEAD_PRESET, PRESETS, Mechanism
from dtaosim.cli.app import app
from dtaosim.cli.summary import summary_table
from dtaosim.errors import ConfigError, InvariantViolation
from dtaosim.experiments.config import (
    RunConfig,
    dump_config_toml,
    load_config,
    resolve_mechanism,
)
from dtaosim.io import snapshot as snapshots
from dtaosim.io.results import RunWriter, state_frames
from dtaosim.state.chain_state import GI, SF, SI, ChainState

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run in ``tmp_path`` (so the default ``runs/`` directory lands there), real simulator."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _subnets_at_start(runs: int = 1) -> int:
    state = snapshots.snapshot_to_state(
        snapshots.default_snapshot(), runs, mech=PRESETS[HEAD_PRESET]
    )
    return int((state.ints[0, :, SI.EXISTS] != 0).sum())


NOTES = ("progress: ", "compiling the simulation kernel")  # stderr lines that are no error


def _one_error(result: Any, *needles: str, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines()
             if ln.strip() and not ln.startswith(NOTES)]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for n in needles:
        assert n in line, (n, line)
    assert "Traceback" not in result.output
    return line


def _no_output(parent: Path, name: str) -> None:
    assert not (parent / name).exists()
    assert not list(parent.glob(f"{name}.tmp-*")), list(parent.iterdir())


# ---------------------------------------------------------------------------------- mechanisms
def test_mechanisms_lists_all_presets() -> None:
    result = runner.invoke(app, ["mechanisms"], env=WIDE)
    assert result.exit_code == 0, result.output
    for name in PRESETS:
        assert name in result.stdout
    assert "fee_rate=0" in result.stdout  # a constant differing from HEAD (launch: no fee)


def test_mechanisms_show_prints_every_field() -> None:
    result = runner.invoke(app, ["mechanisms", "--show", "dtao-2025-02"], env=WIDE)
    assert result.exit_code == 0, result.output
    for field in Mechanism.model_fields:
        if field not in ("name", "date", "description"):
            assert field in result.stdout, field
    assert "constant_product" in result.stdout


def test_mechanisms_show_unknown() -> None:
    result = runner.invoke(app, ["mechanisms", "--show", "nope"])
    _one_error(result, "unknown mechanism 'nope'")


# ---------------------------------------------------------------------------------- run
def test_run_writes_run_directory(sim: Path) -> None:
    out = sim / "out"
    args = [
        "run",
        "--days",
        "0.05",
        "--record-every",
        "120",
        "--runs",
        "2",
        "--seed",
        "7",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    assert "summary" in result.stdout
    for name in ("config.toml", "manifest.json", "timeseries.parquet", "network.parquet"):
        assert (out / name).is_file(), name
    assert not list(sim.glob("out.tmp-*"))

    records = 360 // 120 + 1  # initial state + every 120 blocks
    subnets = _subnets_at_start()
    ts = str(out / "timeseries.parquet")
    assert duckdb.sql(f"select count(*) from '{ts}'").fetchall() == [(2 * records * subnets,)]
    days = duckdb.sql(f"select distinct day from '{ts}' order by day").fetchall()
    assert [d[0] for d in days] == pytest.approx([0.0, 120 / 7200, 240 / 7200, 360 / 7200])
    net = duckdb.sql(
        f"select run, count(*) from '{out / 'network.parquet'}' group by run order by run"
    ).fetchall()
    assert net == [(0, records), (1, records)]
    cols = set(pq.read_schema(ts).names)
    assert {
        "run",
        "block",
        "netuid",
        "day",
        "price",
        "tao_reserve",
        "share",
        "emission_enabled",
        "epoch_count",
    } <= cols

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["runs"] == 2
    assert manifest["blocks"] == 360
    assert manifest["mechanism"]["name"] == HEAD_PRESET
    assert manifest["mechanism"]["rules"] == PRESETS[HEAD_PRESET].rules()
    assert manifest["records"] == records
    assert set(manifest["files"]) == {
        "config.toml",
        "manifest.json",
        "timeseries.parquet",
        "network.parquet",
        "uids.parquet",
        "teams.parquet",
        "report.html",
    }
    for key in ("wall_time_s", "blocks_per_second", "start_block", "created_utc", "versions"):
        assert key in manifest
    assert manifest["uids"] == 256

    # per-UID income sums back exactly to what each subnet paid since the start
    uids = str(out / "uids.parquet")
    per_sub = duckdb.sql(
        f"""select run, netuid, block, count(*) n,
                   sum(earned_miner_rao) + max(departed_miner_rao) - max(cum_miner_paid_rao) m,
                   sum(earned_validator_rao) + max(departed_validator_rao)
                     - max(cum_staker_paid_rao) v,
                   sum(earned_root_rao) + max(departed_root_rao) - max(cum_root_divs_rao) r,
                   max(cum_miner_paid_rao) paid
            from '{uids}' group by all"""
    ).fetchnumpy()
    assert len(per_sub["n"]) == 2 * records * subnets
    assert (per_sub["n"] == 256).all()
    for col in ("m", "v", "r"):  # the default network starts with zero cumulative payouts
        assert (per_sub[col] == 0).all(), col
    assert per_sub["paid"].max() > 0  # epochs did pay UIDs during the 360 blocks

    # the written config reproduces the run's configuration and mechanism
    cfg = load_config(out / "config.toml")
    assert (cfg.seed, cfg.runs, cfg.days, cfg.record_every_blocks) == (7, 2, 0.05, 120)
    assert resolve_mechanism(cfg) == PRESETS[HEAD_PRESET]


def test_run_default_out_and_config_file(sim: Path) -> None:
    cfg = sim / "c.toml"
    cfg.write_text(
        'days = 0.02\nruns = 3\nseed = 1\nmechanism = "dtao-2025-02"\n'
        "record_every_blocks = 72\n[mechanism_overrides]\ntao_weight = 0.3\n"
    )
    result = runner.invoke(app, ["run", "--config", str(cfg), "--seed", "5"], env=WIDE)
    assert result.exit_code == 0, result.output
    (out,) = (sim / "runs").iterdir()
    assert out.name.startswith("dtao-2025-02-")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5  # the CLI option overrides the file
    assert manifest["runs"] == 3
    assert manifest["mechanism"]["overrides"] == {"tao_weight": 0.3}
    assert load_config(out / "config.toml").mechanism_overrides["tao_weight"] == 0.3


def test_run_overwrite(sim: Path) -> None:
    out = sim / "out"
    args = ["run", "--days", "0.01", "--uids", "0", "--no-agents", "--out", str(out)]
    assert runner.invoke(app, [*args, "--seed", "1"]).exit_code == 0
    # the report, written after the manifest, is listed in it: the directory stays all dtaosim's
    assert "report.html" in json.loads((out / "manifest.json").read_text())["files"]
    result = runner.invoke(app, [*args, "--seed", "2", "--overwrite"])  # an earlier run: replaced
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert sorted(p.name for p in sim.iterdir()) == ["out"]
    (out / "old.txt").write_text("x")  # a file dtaosim did not write: never deleted
    _one_error(runner.invoke(app, [*args, "--overwrite"]), "refusing to overwrite", "'old.txt'")
    assert (out / "old.txt").is_file()


BAD_TOML = {
    "unknown_key": ("days = 1\nbogus = 3\n", "'bogus'"),
    "bad_syntax": ("days = = 1\n", "invalid TOML"),
    "bad_value": ("runs = 0\n", "runs"),
    "unknown_override": ("[mechanism_overrides]\nnot_a_field = 1\n", "not_a_field"),
    "bad_override": ("[mechanism_overrides]\ntao_weight = 2.0\n", "tao_weight"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOML))
def test_run_bad_config_file(sim: Path, case: str) -> None:
    text, needle = BAD_TOML[case]
    cfg = sim / "bad.toml"
    cfg.write_text(text)
    result = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(sim / "out")])
    _one_error(result, "bad.toml", needle)
    _no_output(sim, "out")
    assert not (sim / "runs").exists()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--mechanism", "nope"], ["--mechanism", "'nope'"]),
        (["--days", "-1"], ["--days", "greater than 0"]),
        (["--runs", "0"], ["--runs"]),
        (["--runs", "100001"], ["--runs"]),
        (["--seed", "-3"], ["--seed"]),
        (["--record-every", "0"], ["--record-every"]),
        (["--uids", "-1"], ["--uids"]),
        (["--uids", "4", "--validators", "8"], ["--validators", "do not fit in 4 UIDs"]),
        (["--days", "abc"], ["--days"]),
        (["--config", "missing.toml"], ["missing.toml", "not found"]),
        (["--snapshot", "missing.json"], ["missing.json"]),
        (["--bogus-option"], ["--bogus-option"]),
    ],
)
def test_run_bad_options(sim: Path, args: list[str], needles: list[str]) -> None:
    result = runner.invoke(app, ["run", "--days", "0.01", *args, "--out", str(sim / "out")])
    _one_error(result, *needles)
    _no_output(sim, "out")
    assert not (sim / "runs").exists()


def test_run_refuses_nonempty_out(sim: Path) -> None:
    out = sim / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = runner.invoke(app, ["run", "--days", "0.01", "--out", str(out)])
    _one_error(result, str(out), "--overwrite")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in sim.iterdir()) == ["out"]


def test_run_invariant_violation_leaves_nothing(sim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(state: ChainState, mech: Mechanism, **kw: Any) -> ChainState:
        kw["on_record"](state)
        kw["on_progress"](120)
        kw["on_record"](state)
        raise InvariantViolation("total_issuance", 120, 0, 3, "off by 1 RAO")

    monkeypatch.setattr("dtaosim.experiments.run.simulate", failing)
    out = sim / "nested" / "out"
    result = runner.invoke(app, ["run", "--days", "0.05", "--out", str(out)])
    _one_error(result, "invariant violated", "total_issuance", code=1)
    assert not (sim / "nested").exists()  # parents created for the run are removed too


def test_run_unexpected_error_leaves_nothing(sim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(state: ChainState, mech: Mechanism, **kw: Any) -> ChainState:
        kw["on_record"](state)
        raise RuntimeError("bug")

    monkeypatch.setattr("dtaosim.experiments.run.simulate", broken)
    result = runner.invoke(app, ["run", "--days", "0.05", "--out", str(sim / "out")])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)
    _no_output(sim, "out")


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_run_from_snapshot_fixture(sim: Path) -> None:
    """``dtaosim run --snapshot FILE`` starts from the file: its subnets, pools and block."""
    fixture = FIXTURES / "small_network.json"
    snap = snapshots.load_snapshot(fixture)
    out = sim / "out"
    args = ["run", "--snapshot", str(fixture), "--days", "0.02", "--record-every", "72"]
    result = runner.invoke(app, [*args, "--runs", "2", "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["snapshot"] == str(fixture)
    assert manifest["start_block"] == snap.block
    assert manifest["end_block"] == snap.block + 144
    ts = str(out / "timeseries.parquet")
    first = duckdb.sql(
        f"select netuid, tao_reserve from '{ts}' where run = 0 and day = 0 order by netuid"
    ).fetchall()
    assert first == [(s.netuid, s.tao_reserve_rao / 1e9) for s in snap.subnets]
    assert load_config(out / "config.toml").snapshot == fixture


BAD_SNAPSHOTS = {
    "bad_negative_reserve.json": "subnets[1] (netuid 2).tao_reserve_rao: Input should be greater",
    "bad_schema_version.json": "schema_version: unknown schema_version 2 (this dtaosim reads 1)",
    "bad_total_issuance.json": "total_issuance_rao (6000000000000000) is smaller than pools + root",
    "bad_alpha_out_parts.json": "subnets[2] (netuid 3): alpha_out_rao (100000000000) is smaller",
}


@pytest.mark.parametrize("name", sorted(BAD_SNAPSHOTS))
def test_run_rejects_bad_snapshot_fixture(sim: Path, name: str) -> None:
    """A snapshot that fails validation: exit 2, one line naming file and field, no output."""
    fixture = FIXTURES / name
    result = runner.invoke(
        app, ["run", "--snapshot", str(fixture), "--days", "0.01", "--out", str(sim / "out")]
    )
    _one_error(result, str(fixture), BAD_SNAPSHOTS[name])
    _no_output(sim, "out")
    assert list(sim.iterdir()) == []


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"], env=WIDE)
    assert result.exit_code == 0
    for command in ("run", "mechanisms", "snapshot"):
        assert command in result.stdout
    result = runner.invoke(app, ["snapshot", "--help"], env=WIDE)
    assert result.exit_code == 0
    assert 'pip install "dtaosim[chain]"' in result.stdout


def test_snapshot_without_the_sdk_console_script(tmp_path: Path) -> None:
    """The installed entry point with ``bittensor`` unimportable: exactly one line telling what
    to install, exit code 2, no traceback, no file."""
    code = (
        "import sys; sys.modules['bittensor'] = None\n"  # `import bittensor` raises ImportError
        "from dtaosim.cli.app import main\n"
        "sys.argv = ['dtaosim', 'snapshot', '--out', sys.argv[1]]\n"
        "main()\n"
    )
    out = tmp_path / "live.json"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == 'error: install the chain extra: pip install "dtaosim[chain]"\n'
    assert list(tmp_path.iterdir()) == []


def test_no_command_shows_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "run" in result.output and "mechanisms" in result.output


def test_main_is_the_console_entry_point() -> None:
    """``pyproject.toml``'s script is ``dtaosim.cli:main``, and that runs the app."""
    import tomllib

    scripts = tomllib.loads(Path(REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"dtaosim": "dtaosim.cli:main"}
    proc = subprocess.run([sys.executable, "-c", "from dtaosim.cli import main; main()",
                           "mechanisms"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr
    assert HEAD_PRESET in proc.stdout


# ---------------------------------------------------------------------------------- config
def test_config_defaults_and_dump_roundtrip(tmp_path: Path) -> None:
    cfg = RunConfig()
    assert (cfg.days, cfg.runs, cfg.seed, cfg.mechanism) == (30.0, 1, 0, HEAD_PRESET)
    assert cfg.record_every_blocks == 7200 and cfg.check_invariants and cfg.snapshot is None
    mech = PRESETS["taoflow-2025-11"].with_(owner_cut=0.2)
    cfg = RunConfig(mechanism="taoflow-2025-11", mechanism_overrides={"owner_cut": 0.2})
    text = dump_config_toml(cfg, mech)
    for field in Mechanism.model_fields:
        assert f"{field} =" in text, field
    p = tmp_path / "c.toml"
    p.write_text(text)
    back = load_config(p)
    assert resolve_mechanism(back) == mech
    assert back.exogenous == cfg.exogenous


def test_config_rejects_unknown_override_by_name() -> None:
    with pytest.raises(ValueError, match="nope"):
        RunConfig(mechanism_overrides={"nope": 1})


def test_load_config_errors_name_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "x.toml"
    p.write_text("[exogenous]\nnew_subnets_per_day = -1\n")
    with pytest.raises(ConfigError, match=r"x\.toml.*exogenous\.new_subnets_per_day"):
        load_config(p)


# ---------------------------------------------------------------------------------- results
def _state() -> ChainState:
    s = ChainState.empty(2, 3, block=1000)
    s.meta["start_block"] = 280
    s.ints[:, 0, SI.EXISTS] = 1
    s.ints[1, 2, SI.EXISTS] = 1
    s.ints[:, :, SI.TAO_RESERVE] = 2 * 10**9
    s.ints[:, :, SI.ALPHA_IN] = 4 * 10**9
    s.floats[:, :, SF.TAO_EMISSION] = 5e8
    s.ints[:, :, SI.EMISSION_ENABLED] = 1
    s.gints[:, GI.TOTAL_ISSUANCE] = 7 * 10**9
    return s


def test_state_frames_units_and_rows() -> None:
    subnets, network = state_frames(_state())
    assert subnets.num_rows == 3
    assert subnets.column("run").to_pylist() == [0, 1, 1]
    assert subnets.column("netuid").to_pylist() == [1, 1, 3]
    assert subnets.column("day").to_pylist() == [0.1] * 3
    assert subnets.column("tao_reserve").to_pylist() == [2.0] * 3
    assert subnets.column("price").to_pylist() == [0.5] * 3
    assert subnets.column("tao_emission").to_pylist() == [0.5] * 3
    assert subnets.column("emission_enabled").to_pylist() == [True] * 3
    assert network.column("subnets").to_pylist() == [1, 2]
    assert network.column("sum_price").to_pylist() == [0.5, 1.0]
    assert network.column("total_issuance").to_pylist() == [7.0, 7.0]
    sub1, net1 = state_frames(_state(), slice(1, 2))
    assert sub1.column("run").to_pylist() == [1, 1]
    assert net1.column("run").to_pylist() == [1]


def test_run_writer_streams_in_row_groups(tmp_path: Path) -> None:
    s = _state()
    with RunWriter(tmp_path / "w", rows_per_group=4) as w:
        for _ in range(5):
            w.record(s)
            s.block += 10
        manifest = w.write_manifest({"seed": 1})
    assert manifest["rows"] == {"timeseries.parquet": 15, "network.parquet": 10}
    meta = pq.ParquetFile(tmp_path / "w" / "timeseries.parquet").metadata
    assert meta.num_rows == 15 and meta.num_row_groups > 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_summary_table_shows_medians_and_spread() -> None:
    from rich.console import Console

    from dtaosim.cli.summary import run_metrics

    first = ChainState.empty(5, 3, block=1000)
    first.ints[:, :, SI.EXISTS] = 1
    first.ints[:, :, SI.TAO_RESERVE] = 10**12
    first.ints[:, :, SI.ALPHA_IN] = 2 * 10**12
    last = first.copy()
    last.block += 7200
    last.ints[:, 0, SI.TAO_RESERVE] = np.array([1, 2, 3, 4, 5]) * 10**12  # differs by run
    last.gints[:, GI.MINTED_TAO] = np.array([10, 20, 30, 40, 50]) * 10**9
    last.floats[:, :, SF.SHARE] = [0.5, 0.3, 0.2]
    m = run_metrics(first, last)
    assert m["metrics"]["tao_in_pools"]["start"] == {"median": 3000.0, "p10": 3000.0,
                                                      "p90": 3000.0}
    assert m["metrics"]["tao_in_pools"]["end"] == {"median": 5000.0, "p10": 3400.0,
                                                    "p90": 6600.0}
    assert m["metrics"]["tao_emitted"]["change"] == {"median": 30.0, "p10": 14.0, "p90": 46.0}
    assert m["metrics"]["sum_of_prices"]["start"]["median"] == pytest.approx(1.5)
    assert [t["netuid"] for t in m["top_subnets_by_share"]] == [1, 2, 3]
    console = Console(width=200, record=True)
    console.print(summary_table(first, last))
    text = console.export_text()
    assert "median of 5 runs" in text and "p10-p90" in text
    assert "3,400 - 6,600" in text and "14.000 - 46.000" in text  # the spread is shown
    assert "1: 50.0%" in text
    one = ChainState(first.block, first.ints[:1], first.floats[:1], first.gints[:1])
    console = Console(width=200, record=True)
    console.print(summary_table(one, one))
    assert "p10" not in console.export_text()  # one run: no spread column
