"""A run you can trust (issue 12): output that is never clobbered or lost, interrupted runs that
clean up, runaway input refused with one line, the exact code version in the manifest."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from dtaosim.cli.app import app
from dtaosim.errors import ConfigError, DataError
from dtaosim.experiments import resources
from dtaosim.experiments.config import RunConfig
from dtaosim.io import snapshot as snapshots
from dtaosim.io.results import RunWriter
from dtaosim.io.rundir import RUN_FORMAT, code_version, overwrite_refusal, source_sha256

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
# 72 blocks, aggregate holders, the chain only: a second or two
QUICK = ["--days", "0.01", "--uids", "0", "--no-agents"]
MAIN = "import sys; from dtaosim.cli.app import main; sys.argv[0] = 'dtaosim'; main()"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _one_error(result: Any, *needles: str, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error")]
    assert len(lines) == 1, result.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert "Traceback" not in result.output
    return lines[0]


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def _cli(*args: str, cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", MAIN, *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


# ---------------------------------------------------------------------------------- --overwrite
def test_overwrite_replaces_an_earlier_run_directory(sim: Path) -> None:
    out = sim / "out"
    assert runner.invoke(app, ["run", *QUICK, "--seed", "1", "--out", str(out)]).exit_code == 0
    first = json.loads((out / "manifest.json").read_text())
    assert first["format"] == RUN_FORMAT and overwrite_refusal(out) is None
    result = runner.invoke(app, ["run", *QUICK, "--seed", "2", "--out", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert sorted(p.name for p in sim.iterdir()) == ["out"]


def test_overwrite_refuses_a_directory_with_foreign_files(sim: Path) -> None:
    out = sim / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    result = runner.invoke(app, ["run", *QUICK, "--out", str(out), "--overwrite"])
    _one_error(result, "refusing to overwrite", "not a dtaosim run directory")
    assert (out / "notes.txt").read_text() == "precious"
    # an earlier run plus a file of the user's: refused too, naming the file
    run = sim / "run"
    assert runner.invoke(app, ["run", *QUICK, "--out", str(run)]).exit_code == 0
    (run / "analysis.ipynb").write_text("{}")
    result = runner.invoke(app, ["run", *QUICK, "--out", str(run), "--overwrite"])
    _one_error(result, "'analysis.ipynb'", "did not write")
    assert (run / "analysis.ipynb").is_file() and (run / "manifest.json").is_file()
    assert _leftovers(sim) == []


@pytest.mark.parametrize("which", [".", "cwd", "parent"])
def test_overwrite_refuses_the_working_directory_and_its_parents(sim: Path, which: str) -> None:
    work = sim / "work"
    work.mkdir()
    (work / "data.csv").write_text("1,2\n")
    os.chdir(work)
    target = {".": ".", "cwd": str(work), "parent": str(sim)}[which]
    result = runner.invoke(app, ["run", *QUICK, "--out", target, "--overwrite"])
    _one_error(result, "working directory")
    assert (work / "data.csv").read_text() == "1,2\n"
    assert _leftovers(work) == [] and _leftovers(sim) == []


# ---------------------------------------------------------------------------------- names
def test_run_directory_mode_follows_the_umask(sim: Path) -> None:
    old = os.umask(0o022)
    try:
        assert runner.invoke(app, ["run", *QUICK, "--out", "out"]).exit_code == 0
    finally:
        os.umask(old)
    assert (sim / "out").stat().st_mode & 0o777 == 0o755


def test_parallel_runs_with_default_names_all_keep_their_results(tmp_path: Path) -> None:
    procs = [_cli("run", *QUICK, "--seed", str(k), cwd=tmp_path) for k in range(3)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    dirs = sorted((tmp_path / "runs").iterdir())
    assert len(dirs) == 3, dirs
    seeds = sorted(json.loads((d / "manifest.json").read_text())["seed"] for d in dirs)
    assert seeds == [0, 1, 2]


def test_a_target_taken_while_running_gets_the_results_elsewhere(tmp_path: Path) -> None:
    from dtaosim.state.chain_state import ChainState

    out = tmp_path / "out"
    state = ChainState.empty(1, 2, block=10)
    with RunWriter(out) as w:
        w.record(state)
        w.write_manifest({"seed": 0})
        (out / "someone-elses.txt").write_text("x")  # e.g. another process wrote there
    assert w.moved_from == out and w.out == tmp_path / "out-2"
    assert (tmp_path / "out-2" / "manifest.json").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["someone-elses.txt"]
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------- signals
def _start_and_signal(tmp_path: Path, sig: int) -> tuple[int, str]:
    out = tmp_path / "out"
    proc = _cli("run", "--days", "3650", "--uids", "0", "--no-agents", "--out", str(out),
                cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob("out.tmp-*")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    assert not out.exists() and _leftovers(tmp_path) == [], list(tmp_path.iterdir())
    assert "Traceback" not in err
    return proc.returncode, err


def test_sigterm_cleans_up_and_says_so(tmp_path: Path) -> None:
    code, err = _start_and_signal(tmp_path, signal.SIGTERM)
    assert code == 143, err
    assert err.strip().splitlines()[-1] == "error: interrupted (SIGTERM)"


def test_ctrl_c_cleans_up_and_says_aborted(tmp_path: Path) -> None:
    code, err = _start_and_signal(tmp_path, signal.SIGINT)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "error: aborted"


def test_a_full_disk_is_one_line_and_leaves_nothing(sim: Path, monkeypatch: pytest.MonkeyPatch,
                                                    ) -> None:
    def full(self: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("dtaosim.io.parquet_stream.TableStream.flush", full)
    result = runner.invoke(app, ["run", *QUICK, "--out", "out"])
    _one_error(result, "cannot write the run directory out", "No space left on device")
    assert sorted(p.name for p in sim.iterdir()) == []


def test_too_little_disk_is_refused_before_the_simulation(sim: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "free_disk", lambda path: 10_000)
    monkeypatch.setattr("dtaosim.experiments.run.simulate",
                        lambda *a, **k: pytest.fail("simulated despite the full disk"))
    result = runner.invoke(app, ["run", "--days", "30", "--out", "out"])
    _one_error(result, "the run directory needs about", "9.8 kB is free", "--record-every")
    assert list(sim.iterdir()) == []


def test_output_estimate_is_close_to_what_a_run_writes(sim: Path) -> None:
    result = runner.invoke(app, ["run", "--days", "0.05", "--record-every", "120",
                                 "--uids", "16", "--validators", "4", "--out", "out"])
    assert result.exit_code == 0, result.output
    written = sum(f.stat().st_size for f in (sim / "out").glob("*.parquet"))
    estimate = resources.output_bytes(1, 128, 16, 360, 120)
    assert written <= estimate <= 8 * written, (written, estimate)


# ---------------------------------------------------------------------------------- runaway input
@pytest.mark.parametrize(("value", "needle"), [("inf", "finite"), ("nan", "finite"),
                                               ("1e308", "less than or equal to 36525"),
                                               ("36526", "36525")])
def test_days_must_be_finite_and_bounded(sim: Path, value: str, needle: str) -> None:
    result = runner.invoke(app, ["run", "--days", value, "--out", "out"])
    _one_error(result, "--days", needle)
    toml = sim / "c.toml"
    toml.write_text(f"days = {value}\n")
    result = runner.invoke(app, ["run", "--config", str(toml), "--out", "out"])
    _one_error(result, "c.toml", "days", needle)
    assert sorted(p.name for p in sim.iterdir()) == ["c.toml"]


def test_exogenous_rates_must_be_finite(sim: Path) -> None:
    toml = sim / "c.toml"
    toml.write_text("[exogenous]\nstake_flow_volatility = inf\n")
    result = runner.invoke(app, ["run", "--config", str(toml), "--out", "out"])
    _one_error(result, "exogenous.stake_flow_volatility", "finite")


def test_a_run_too_big_for_memory_is_refused_before_allocating(sim: Path) -> None:
    # 100,000 runs x 4,096 UIDs: weights and bonds alone are ~860 TB, more than any machine
    result = runner.invoke(app, ["run", "--runs", "100000", "--uids", "4096", "--out", "out"])
    line = _one_error(result, "this run needs about", "of memory", "is available",
                      "--runs or --uids")
    assert "about 864.9 TB of memory" in line
    assert list(sim.iterdir()) == []


def test_memory_estimate_names_uids_and_snapshot_slots(sim: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "available_memory", lambda: 8 * 2**30)
    result = runner.invoke(app, ["run", "--uids", "4096", "--out", "out"])  # 8.6 GB of weights
    _one_error(result, "1 run x 128 subnet slots x 4,096 UIDs", "8.0 GB is available")
    # a snapshot with netuid 65535 has 65,535 subnet slots: 17 GB with 256 UIDs
    doc = json.loads(snapshots.snapshot_json(snapshots.default_snapshot()))
    doc["subnets"][-1]["netuid"] = 65_535
    (sim / "wide.json").write_text(json.dumps(doc))
    result = runner.invoke(app, ["run", "--snapshot", "wide.json", "--out", "out"])
    _one_error(result, "65,535 subnet slots", "--uids")
    assert sorted(p.name for p in sim.iterdir()) == ["wide.json"]


def test_memory_estimate_covers_measured_runs() -> None:
    """The estimate bounds a real run's peak memory (peak RSS measured with /usr/bin/time on
    Linux x86-64, numba 0.68): 4 runs x 256 UIDs 0.45 GB (warm cache); 1 run x 1,024 UIDs
    0.81 GB warm, 1.40 GB while compiling the kernel; 200 runs without UIDs 0.27 GB."""
    gb = 2**30
    assert 0.45 * gb < resources.run_memory_bytes(4, 128, 256, threads=2) < 1.2 * gb
    assert 1.40 * gb < resources.run_memory_bytes(1, 128, 1024) < 1.6 * gb
    assert 0.27 * gb < resources.run_memory_bytes(200, 128, 0, threads=2) < 1.0 * gb
    assert resources.run_memory_bytes(1, 65_535, 256) > 17 * 10**9
    # aggregate holders: the chain state twice (start and working copy), 57 kB a run each
    assert 11 * 10**9 < resources.run_memory_bytes(100_000, 128, 0) < 13 * 10**9


def test_available_memory_reads_the_system() -> None:
    avail = resources.available_memory()
    assert avail is None or 0 < avail < 2**50


# ---------------------------------------------------------------------------------- snapshots
def _snapshot_with(tmp: Path, k: int, **fields: Any) -> Path:
    doc = json.loads(snapshots.snapshot_json(snapshots.default_snapshot()))
    doc["subnets"][k].update(fields)
    p = tmp / "snap.json"
    p.write_text(json.dumps(doc))
    return p


@pytest.mark.parametrize(
    ("fields", "needles"),
    [
        ({"tao_reserve_rao": 0}, ["(netuid 4)", "tao_reserve_rao is 0", "TAO and alpha"]),
        ({"alpha_in_rao": 0}, ["(netuid 4)", "alpha_in_rao is 0"]),
        ({"tempo": 0}, ["(netuid 4)", "tempo is 0", "never run an epoch"]),
        ({"tao_reserve_rao": "1000000000000"},
         ["(netuid 4).tao_reserve_rao", "must be a number, not the string"]),
        ({"price_ema": "0.1"}, ["(netuid 4).price_ema", "not the string '0.1'"]),
        ({"emission_enabled": "true"}, ["(netuid 4).emission_enabled", "true or false"]),
    ],
)
def test_degenerate_snapshot_subnets_are_rejected(sim: Path, fields: dict[str, Any],
                                                  needles: list[str]) -> None:
    p = _snapshot_with(sim, 3, **fields)
    result = runner.invoke(app, ["run", "--snapshot", str(p), *QUICK, "--out", "out"])
    _one_error(result, str(p), "subnets[3]", *needles)
    assert not (sim / "out").exists()


def test_snapshot_without_subnets_or_with_string_totals(sim: Path) -> None:
    doc = json.loads(snapshots.snapshot_json(snapshots.default_snapshot()))
    with pytest.raises(DataError, match="the snapshot has no subnets"):
        snapshots.parse_snapshot({**doc, "subnets": []}, "x.json")
    with pytest.raises(DataError, match=r"total_issuance_rao: must be a number, not the strin"):
        snapshots.parse_snapshot({**doc, "total_issuance_rao": "1"}, "x.json")


def test_snapshot_directory_is_named_a_directory(sim: Path) -> None:
    (sim / "snaps").mkdir()
    result = runner.invoke(app, ["run", "--snapshot", "snaps", *QUICK, "--out", "out"])
    _one_error(result, "snapshot snaps is a directory")
    with pytest.raises(DataError, match="is a directory"):
        snapshots.load_snapshot(sim / "snaps")


# ---------------------------------------------------------------------------------- version
def test_manifest_pins_the_code(sim: Path) -> None:
    assert runner.invoke(app, ["run", *QUICK, "--out", "out"]).exit_code == 0
    manifest = json.loads((sim / "out" / "manifest.json").read_text())
    code = manifest["code_version"]
    assert code == code_version()
    assert code["source_sha256"] == source_sha256() and len(code["source_sha256"]) == 64
    if (REPO / ".git").exists():  # a checkout: git describe, with -dirty when edited
        assert code["git"]
    for lib in ("python", "numpy", "numba", "pyarrow"):
        assert manifest["versions"][lib]


def test_source_hash_changes_with_any_source(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.json").write_text("{}")
    before = source_sha256(pkg)
    (pkg / "sub" / "b.json").write_text("{ }")
    assert source_sha256(pkg) != before


def test_version_option() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    v = code_version()
    assert result.stdout.startswith(f"dtaosim {v['release']} (")
    assert (str(v["git"]) if v["git"] else str(v["source_sha256"])[:12]) in result.stdout


def test_config_rejects_inf_in_python_too() -> None:
    with pytest.raises(ValueError, match="finite"):
        RunConfig(days=float("inf"))


def test_resources_format_bytes() -> None:
    assert resources.format_bytes(512) == "512 bytes"
    assert resources.format_bytes(3 * 2**30) == "3.0 GB"
    assert resources.record_count(360, 120) == 4 and resources.record_count(361, 120) == 5


def test_check_memory_passes_when_it_cannot_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "available_memory", lambda: None)
    resources.check_memory(10**5, 65_535, 4096)  # no way to know: no refusal
    monkeypatch.setattr(resources, "available_memory", lambda: 10**9)
    with pytest.raises(ConfigError, match="fewer --runs"):
        resources.check_memory(10**5, 128, 0)
    assert np.isclose(resources.run_memory_bytes(1, 128, 256) / 2**20, 939.8, atol=0.1)


# ---------------------------------------------------------------------------------- conventions
def test_json_summary_is_machine_readable(sim: Path) -> None:
    result = runner.invoke(app, ["run", *QUICK, "--runs", "3", "--seed", "4", "--out", "out",
                                 "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert doc["run_directory"] == "out" and Path(doc["manifest"]).is_file()
    assert (doc["seed"], doc["runs"], doc["blocks"], doc["mechanism"]) == (
        4, 3, 72, RunConfig().mechanism)
    assert doc["code_version"] == code_version() and doc["moved_from"] is None
    emitted = doc["metrics"]["tao_emitted"]["change"]
    assert emitted["p10"] <= emitted["median"] <= emitted["p90"]
    assert emitted["median"] == pytest.approx(72 * 0.5)  # 0.5 TAO a block at this issuance
    issuance = doc["metrics"]["tao_issuance"]
    assert set(issuance) == {"label", "unit", "start", "end"} and issuance["unit"] == "TAO"
    assert doc["compile_s"] >= 0 and doc["blocks_per_second"] > 0
    assert len(doc["top_subnets_by_share"]) == 5


def test_help_shows_the_defaults() -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    text = result.stdout
    for default in ("[default: (30.0)]", "[default: (1)]", "[default: (256)]",
                    "[default: (7200)]", f"[default: ({RunConfig().mechanism})]",
                    "[default: (the embedded default network)]", "runs/<mechanism>-<UTC time>"):
        assert default in text, default


def test_a_runs_config_toml_runs_again_as_it_is(sim: Path) -> None:
    assert runner.invoke(app, ["run", *QUICK, "--seed", "9", "--out", "first"]).exit_code == 0
    text = (sim / "first" / "config.toml").read_text()
    assert "\nout =" not in text and "--out DIR" not in text
    result = runner.invoke(app, ["run", "--config", "first/config.toml"])
    assert result.exit_code == 0, result.output
    (again,) = (sim / "runs").iterdir()
    for f in ("timeseries.parquet", "network.parquet"):
        assert (again / f).read_bytes() == (sim / "first" / f).read_bytes()


def test_first_run_says_it_is_compiling_and_non_terminals_get_progress_lines(
        sim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dtaosim.experiments.run.kernel_cached", lambda: False)
    result = runner.invoke(app, ["run", "--days", "0.5", "--uids", "0", "--no-agents",
                                 "--out", "out"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == ("compiling the simulation kernel (first run only, about 1-2 minutes) "
                        "...")
    progress = [ln for ln in lines if ln.startswith("progress: ")]
    assert [p.split()[1] for p in progress] == [f"{k}%" for k in range(10, 101, 10)]
    assert progress[-1].startswith("progress: 100% (3,600 of 3,600 blocks")
    manifest = json.loads((sim / "out" / "manifest.json").read_text())
    assert manifest["compile_s"] >= 0 and manifest["simulate_s"] > 0
    assert manifest["wall_time_s"] == pytest.approx(manifest["compile_s"]
                                                    + manifest["simulate_s"], abs=0.002)
    # simulate_s is rounded to 1 ms, which is a few per cent of a run this short
    rounding = 0.0005 / manifest["simulate_s"]
    assert manifest["blocks_per_second"] == pytest.approx(3600 / manifest["simulate_s"],
                                                          rel=0.01 + 1.1 * rounding)


def test_kernel_cache_state_and_compile_timer() -> None:
    from dtaosim import default_network, get_mechanism
    from dtaosim.chain.engine import compile_timer, kernel_cached, run_blocks

    mech = get_mechanism(RunConfig().mechanism)
    run_blocks(default_network(runs=1, mech=mech), mech, 1)
    assert kernel_cached() is True  # compiled (or loaded) in this process
    with compile_timer() as t:
        run_blocks(default_network(runs=1, mech=mech), mech, 1)
    assert t.seconds == 0.0  # nothing left to compile
