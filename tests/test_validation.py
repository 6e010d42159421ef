"""Real-world targets, ``validate`` and ``dtaosim validate`` (synthetic and one real run)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from dtaosim.cli.app import app
from dtaosim.report import metrics as m
from dtaosim.report.rundir import RunDir
from dtaosim.report.validation import VALIDATED_METRICS, Target, load_targets, validate

from .rundirs import subnet_row, uid_row, write_run_dir

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build_real_world_targets.py"
TARGETS = REPO / "src" / "dtaosim" / "data" / "real_world_targets.toml"
DATA_DIR = Path(os.environ.get("DTAOSIM_SHARED_DATA", REPO.parent / "shared" / "data" /
                               "real-world"))
runner = CliRunner()
WIDE = {"COLUMNS": "250"}


# ------------------------------------------------------------------------------ the targets file
def test_targets_file_has_sources_bands_and_horizons() -> None:
    targets = load_targets()
    assert len(targets) >= 40
    for t in targets:
        assert t.source and t.derivation and t.band and t.era, t.metric
        if not t.reference_only:
            assert t.low is not None and t.high is not None and t.low <= t.high, t.metric
            assert t.value is None or t.low <= t.value <= t.high, t.metric
    bleed = sorted(t.horizon_days for t in targets
                   if t.metric == "price_bleed_median" and not t.reference_only)
    assert bleed == [30, 60, 90, 180, 240]
    assert {t.metric for t in targets} >= set(VALIDATED_METRICS)


def test_targets_reproduce_the_published_figures() -> None:
    """The computed extracts agree with the spec's own figures (same data, same method)."""
    by = {(t.metric, t.horizon_days, t.reference_only): t for t in load_targets()}
    launch = by[("price_bleed_median", 251, True)]
    assert launch.value == pytest.approx(-1.27, abs=0.005)  # R2: median log change -1.27
    assert "59 of 64 fell" in launch.derivation
    vol = by[("volatility_median", 180, False)]
    assert vol.value == pytest.approx(0.067, abs=0.001)  # R3: median 6.7%
    ratio = by[("share_price_ratio_median", 0, False)]
    assert ratio.value == pytest.approx(1.00, abs=0.005)  # R1: median 1.00
    assert by[("share_price_ratio_p5", 0, False)].value == pytest.approx(0.97, abs=0.011)
    assert by[("share_price_ratio_p95", 0, False)].value == pytest.approx(1.02, abs=0.011)
    assert by[("registrations_per_day", 0, False)].value == pytest.approx(1 / 2.05, rel=0.01)


def test_build_script_reproduces_the_shipped_targets(tmp_path: Path) -> None:
    if not (DATA_DIR / "alpha_prices_daily_2025-02-20_2025-10-29.csv").is_file():
        pytest.skip(f"real-world data folder {DATA_DIR} is absent")
    out = tmp_path / "targets.toml"
    subprocess.run([sys.executable, str(SCRIPT), str(DATA_DIR), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == TARGETS.read_bytes()


# ------------------------------------------------------------------------------ verdicts
def _target(metric: str, value: float | None, low: float, high: float, horizon: int = 0,
            **kw: object) -> Target:
    return Target(metric=metric, label=metric, ref="", unit="", horizon_days=horizon,
                  value=value, low=low, high=high, era="test", source="hand",
                  derivation="hand", band="hand", **kw)  # type: ignore[arg-type]


def _two_run_dir(tmp_path: Path) -> Path:
    rows = []
    for r, end in ((0, 0.5), (1, 0.25)):
        for k in (1, 2):
            rows += [subnet_row(r, 0, k, price=1.0, tao_reserve=1000.0 * k),
                     subnet_row(r, 10, k, price=end, tao_reserve=1000.0 * k * (r + 1))]
    manifest = {"mechanism": {"name": "dtao-2025-02", "rules": {"share_rule": "price_ema"}},
                "runs": 2, "seed": 3}
    return write_run_dir(tmp_path / "r", rows, manifest=manifest)


def test_verdicts_overlap_of_simulated_and_real_bands(tmp_path: Path) -> None:
    d = _two_run_dir(tmp_path)
    # per run: bleed median log(0.5), log(0.25); pool medians 1500, 3000
    targets = [
        _target("price_bleed_median", -1.0, -1.2, -0.9),
        _target("pool_tao_median", 5000.0, 4000.0, 6000.0),
        _target("pool_tao_max", 100.0, 50.0, 150.0),
        _target("miner_zero_incentive_share", None, 0.5, 1.0),
        _target("share_price_ratio_median", 1.0, 0.99, 1.01,
                applies_to_share_rule="price_burn"),
    ]
    v = validate(d, targets)
    by = {c.metric: c for c in v.checks}
    c = by["price_bleed_median"]
    assert c.runs == 2
    assert c.sim_median == pytest.approx(math.log(0.5 * 0.25) / 2)
    assert c.sim_p10 == pytest.approx(math.log(0.25) + 0.1 * math.log(2))
    assert c.sim_p90 == pytest.approx(math.log(0.5) - 0.1 * math.log(2))
    assert c.verdict == "within"  # [-1.317, -0.762] overlaps [-1.2, -0.9]
    assert by["pool_tao_median"].verdict == "outside"
    assert "below the real band" in by["pool_tao_median"].note
    assert by["pool_tao_max"].verdict == "outside"
    assert "above the real band" in by["pool_tao_max"].note
    assert by["miner_zero_incentive_share"].verdict == "n/a"
    assert "uids.parquet absent" in by["miner_zero_incentive_share"].note
    ratio = by["share_price_ratio_median"]
    assert ratio.verdict == "n/a" and "this run uses price_ema" in ratio.note
    assert v.counts == {"within": 1, "outside": 2, "n/a": 2}
    assert v.mechanism == "dtao-2025-02" and v.runs == 2 and v.horizon_days == 10


def test_validate_takes_the_nearest_real_horizon(tmp_path: Path) -> None:
    d = _two_run_dir(tmp_path)  # 10 days
    targets = [_target("price_bleed_median", -5.0, -6.0, -4.0, horizon=30),
               _target("price_bleed_median", -1.0, -1.2, -0.9, horizon=8),
               _target("price_bleed_median", -9.0, -9.5, -8.5, horizon=180),
               _target("price_bleed_median", -1.27, None, None, horizon=251,  # type: ignore[arg-type]
                       reference_only=True)]
    (c,) = validate(d, targets).checks
    assert c.real_horizon_days == 8 and c.verdict == "within"
    assert "nearest real horizon" not in c.note  # 8 vs 10 days is close enough
    assert "reference test (251 d): -1.27" in c.note


def test_validate_the_packaged_targets_on_a_synthetic_run(tmp_path: Path) -> None:
    d = _two_run_dir(tmp_path)
    v = validate(d)
    by = {c.metric: c for c in v.checks}
    assert by["price_bleed_median"].real_horizon_days == 30
    assert "nearest real horizon 30 d vs 10 d simulated" in by["price_bleed_median"].note
    assert by["tao_usd_volatility"].verdict == "n/a"
    assert len({c.metric for c in v.checks}) == len(v.checks)


# ------------------------------------------------------------------------------ CLI
def test_cli_validate_table_and_json(tmp_path: Path) -> None:
    d = _two_run_dir(tmp_path)
    result = runner.invoke(app, ["validate", str(d)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "dtaosim validate: dtao-2025-02, 10 days, 2 runs" in result.stdout
    assert "R2 alpha price change vs TAO" in result.stdout
    result = runner.invoke(app, ["validate", str(d), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["runs"] == 2 and doc["horizon_days"] == 10
    row = next(c for c in doc["checks"] if c["metric"] == "price_bleed_median")
    assert row["sim_median"] == pytest.approx(math.log(0.125) / 2)
    assert row["verdict"] in ("within", "outside")


def test_cli_validate_narrow_console_moves_notes_below_the_table(tmp_path: Path) -> None:
    """At 80 columns no cell is wrapped to one word a line: the unit, horizon and note of each
    numbered metric are printed below the table, one line each."""
    d = _two_run_dir(tmp_path)
    result = runner.invoke(app, ["validate", str(d)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = [ln for ln in lines if ln.startswith(("│", "┃"))]
    assert table and max(len(ln) for ln in table) <= 80
    assert "note" not in lines[3]  # the header has no note column
    notes = [ln for ln in lines if ln.startswith("[")]
    assert notes[0].startswith("[1] log change; real horizon ")
    assert len(notes) == len(json.loads(runner.invoke(
        app, ["validate", str(d), "--json"]).stdout)["checks"])


@pytest.mark.parametrize(("make", "needle"), [
    (lambda p: p / "missing", "run directory not found"),
    (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "not a folder"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no readable run data"),
])
def test_cli_validate_bad_dir_is_one_error_line(tmp_path: Path, make: object,
                                                needle: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in result.output


def test_cli_validate_an_interrupted_run_warns_and_works(tmp_path: Path) -> None:
    d = write_run_dir(tmp_path / "r", [subnet_row(0, 0, 1), subnet_row(0, 1, 1)],
                      uids=[uid_row(0, 0, 1, 0, 1.0)], config=None)
    (d / "uids.parquet").write_bytes(b"PAR1\x00\x00")  # no footer: the run was cut off
    result = runner.invoke(app, ["validate", str(d)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "warning: manifest.json is missing" in result.stdout
    assert "warning: uids.parquet is unreadable" in result.stdout


# ------------------------------------------------------------------------------ one real run
@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real") / "run"
    result = runner.invoke(app, ["run", "--days", "2", "--runs", "2", "--uids", "16",
                                 "--validators", "4", "--record-every", "3600",
                                 "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_metrics_of_a_real_run_agree_with_its_tables(real_run: Path) -> None:
    rd = RunDir(real_run)
    assert rd.problems == []
    assert rd.days.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    last = int(rd.blocks[-1])
    ts = str(real_run / "timeseries.parquet")
    net = str(real_run / "network.parquet")
    q = duckdb.sql(f"select run, sum(tao_reserve), median(tao_reserve), max(neuron_burn) "
                   f"from '{ts}' where block = {last} group by run order by run").fetchall()
    p = m.pools(rd)
    assert p.total[:, -1] == pytest.approx([r[1] for r in q], rel=1e-12)
    assert p.median[:, -1] == pytest.approx([r[2] for r in q], rel=1e-12)
    assert m.neuron_burns(rd).max[:, -1] == pytest.approx([r[3] for r in q])
    pools_tao = duckdb.sql(f"select pools_tao from '{net}' where block = {last} "
                           "order by run").fetchall()
    assert p.total[:, -1] == pytest.approx([r[0] for r in pools_tao], rel=1e-9)
    c = m.concentration(rd)
    assert np.all(c.top1[:, 1:] <= c.top5[:, 1:]) and np.all(c.top5[:, 1:] <= c.top10[:, 1:])
    assert np.all((c.gini[:, 1:] > 0) & (c.gini[:, 1:] < 1))
    i = m.injection(rd)
    assert np.all(i.tao_in_per_block > 0)
    assert np.all(i.tao_in_per_block + i.chain_buy_per_block
                  <= i.emission_per_block * (1 + 1e-9))
    pay = m.payout_shape(rd)
    assert pay is not None and pay.day.tolist() == rd.days.tolist()
    assert np.all((pay.zero_share >= 0) & (pay.zero_share <= 1))
    ch = m.churn(rd)
    reg = duckdb.sql(f"select max(subnets_registered) - min(subnets_registered) from '{net}' "
                     "group by run order by run").fetchall()
    assert ch.registered[:, -1].tolist() == [r[0] for r in reg]


def test_validate_a_real_run(real_run: Path) -> None:
    result = runner.invoke(app, ["validate", str(real_run), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    by = {c["metric"]: c for c in doc["checks"]}
    assert doc["runs"] == 2 and doc["horizon_days"] == 2.0
    assert doc["mechanism"] == "price-burn-2026-06"
    for name in ("pool_tao_median", "pool_tao_total", "neuron_burn_median",
                 "subnets_receiving_tao", "concentration_top10", "price_bleed_median"):
        assert by[name]["verdict"] in ("within", "outside"), (name, by[name])
        assert by[name]["runs"] == 2
    # the default network starts calibrated to the Aug-Sep 2026 pools; two days move it little
    assert by["pool_tao_median"]["sim_median"] == pytest.approx(6945, rel=0.05)
    assert by["share_price_ratio_median"]["verdict"] == "n/a"  # HEAD is not the price-EMA rule
    assert by["miner_zero_incentive_share"]["runs"] == 2
