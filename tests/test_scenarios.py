"""Scenarios: the pydantic model, built-in TOML files, ``dtaosim scenarios`` and
``dtaosim run --scenario`` / ``--no-agents`` (agents' outputs, errors naming file and field)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from dtaosim.cli.app import app
from dtaosim.errors import ConfigError
from dtaosim.experiments.config import RunConfig, load_config, load_scenario, resolve_mechanism
from dtaosim.experiments.run import initial_state
from dtaosim.experiments.scenario import builtin_scenarios
from dtaosim.io.results import AGENT_NETWORK_COLUMNS, TEAMS_SCHEMA
from dtaosim.state.chain_state import GI

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
SMALL = ["--days", "0.25", "--uids", "16", "--validators", "4", "--record-every", "900"]


def _one_error(result, *needles: str) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def test_builtin_scenarios_validate_and_differ_from_baseline() -> None:
    names = list(builtin_scenarios())
    assert names[0] == "baseline"
    assert {"baseline", "cost-squeeze", "outside-option", "halving"} <= set(names)
    base = load_scenario("baseline")
    assert base == RunConfig()  # the defaults are the baseline
    squeeze = load_scenario("cost-squeeze")
    assert squeeze.scenario == "cost-squeeze"
    assert squeeze.market.drift_per_year < 0 and squeeze.hardware.price_drift_per_year > 0
    assert load_scenario("outside-option").miners.funding_median_usd > \
        base.miners.funding_median_usd
    assert load_scenario("halving").network.days_to_next_halving is not None


def test_scenario_file_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[miners]\nsell_extra_fraction = 2.0\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: miners\.sell_extra_fraction: .*1"):
        load_scenario(bad)
    bad.write_text("[market]\nvolatility = 0.1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: unknown field 'market\.volatility'"):
        load_scenario(bad)
    bad.write_text("[hardware.mix]\nh100_spot = 1.0\ntpu = 2.0\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: hardware\.mix: unknown hardware profile"):
        load_scenario(bad)
    bad.write_text("[market\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        load_scenario(bad)
    with pytest.raises(ConfigError, match=r"unknown scenario 'nope'.*baseline"):
        load_scenario("nope")
    result = runner.invoke(app, ["run", "--scenario", str(bad), "--out", str(tmp_path / "o")])
    _one_error(result, "bad.toml", "invalid TOML")
    assert not (tmp_path / "o").exists()


def test_scenarios_command_lists_and_shows(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenarios"], env=WIDE)
    assert result.exit_code == 0, result.output
    for name in builtin_scenarios():
        assert name in result.stdout
    shown = runner.invoke(app, ["scenarios", "--show", "cost-squeeze"], env=WIDE)
    assert shown.exit_code == 0
    f = tmp_path / "c.toml"
    f.write_text(shown.stdout)
    assert load_config(f) == load_scenario("cost-squeeze").model_copy(
        update={"mechanism_overrides": load_config(f).mechanism_overrides})
    _one_error(runner.invoke(app, ["scenarios", "--show", "nope"]), "unknown scenario 'nope'")


def test_legacy_validators_count_is_read() -> None:
    cfg = RunConfig.model_validate({"validators": 8, "uids": 16})
    assert cfg.n_validators == 8 and cfg.validators.sell_fraction == 0.45


def test_agents_need_uids() -> None:
    with pytest.raises(ValueError, match="agents need UIDs"):
        RunConfig(uids=0)
    assert RunConfig(uids=0, agents={"enabled": False}).uids == 0


def test_halving_comes_when_the_scenario_says() -> None:
    cfg = RunConfig.model_validate({**load_scenario("halving").model_dump(), "runs": 1,
                                    "uids": 0, "agents": {"enabled": False}})
    mech = resolve_mechanism(cfg)
    st = initial_state(cfg, mech)
    issued = int(st.gints[0, GI.TOTAL_ISSUANCE])
    assert 15_750_000 * 10**9 - issued == 10 * 7200 * 500_000_000
    held = st.tao_reserve.sum() + st.gints[0, GI.ROOT_STAKE] + st.gints[0, GI.FREE_TAO]
    assert held == issued


def test_run_with_agents_writes_their_outputs_and_reproduces(tmp_path: Path,
                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "a"
    result = runner.invoke(app, ["run", "--scenario", "cost-squeeze", "--runs", "2", "--seed",
                                 "4", "--out", str(out), *SMALL], env=WIDE)
    assert result.exit_code == 0, result.output
    net = pq.read_table(out / "network.parquet")
    for name, typ in AGENT_NETWORK_COLUMNS:
        assert net.schema.field(name).type == typ, name
    assert net.num_rows == 2 * (1800 // 900 + 1)
    teams = pq.read_table(out / "teams.parquet")
    assert teams.schema.equals(TEAMS_SCHEMA)
    assert teams.num_rows > 0
    assert duckdb.sql(f"""select count(*) from '{out / "teams.parquet"}'
                         where abs(profit_usd - (income_usd - cost_usd)) > 1e-9""").fetchall() \
        == [(0,)]
    ta = duckdb.sql(f"select min(tao_usd), max(tao_usd) from '{out / 'network.parquet'}'"
                    ).fetchall()[0]
    assert 100 < ta[0] <= ta[1] < 1000
    cfg = load_config(out / "config.toml")
    assert cfg.scenario == "cost-squeeze" and cfg.market.drift_per_year == -0.7
    # the resolved config reproduces the run, byte for byte in its tables
    again = tmp_path / "b"
    result = runner.invoke(app, ["run", "--config", str(out / "config.toml"), "--out",
                                 str(again)], env=WIDE)
    assert result.exit_code == 0, result.output
    for name in ("network.parquet", "teams.parquet", "timeseries.parquet"):
        a, b = pq.read_table(out / name), pq.read_table(again / name)
        assert a.schema.equals(b.schema), name
        for col in a.schema.names:  # NaN (no active team yet) equals NaN
            x, y = a[col].to_numpy(zero_copy_only=False), b[col].to_numpy(zero_copy_only=False)
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (name, col)
    _one_error(runner.invoke(app, ["run", "--scenario", "baseline", "--config",
                                   str(out / "config.toml")]), "not both")


def test_no_agents_is_the_chain_only_run(tmp_path: Path) -> None:
    out = tmp_path / "c"
    result = runner.invoke(app, ["run", "--no-agents", "--out", str(out), *SMALL], env=WIDE)
    assert result.exit_code == 0, result.output
    names = pq.read_schema(out / "network.parquet").names
    assert not {n for n, _ in AGENT_NETWORK_COLUMNS} & set(names)
    assert not (out / "teams.parquet").exists()
    assert load_config(out / "config.toml").agents.enabled is False
