"""The study scripts' tables (``scripts/scenario_tables.py``) on small hand-made run directories."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_dir(tmp_path: Path) -> Path:
    net = {"run": [0, 0], "day": [0.0, 10.0], "retained_top_decile": [1.0, 0.5],
           "retained_top_quartile": [1.0, 0.5], "retained_rest": [1.0, 0.25],
           "teams_active": [8, 4], "tao_usd": [300.0, 250.0], "entries": [0, 2]}
    for r in ("cost", "outside_option", "deregistered", "subnet_dissolved", "switched"):
        net[f"exits_{r}"] = [0, 1]
    pq.write_table(pa.table(net), tmp_path / "network.parquet")
    # top decile: 4 starting teams, one left for the outside option, one on cost, two kept
    tiers = ["top_decile"] * 4 + ["rest"] * 4 + ["entrant"]
    reasons = ["outside_option", "cost", None, None, "outside_option", "outside_option",
               "cost", None, "outside_option"]
    teams = pa.table({"run": [0] * 9, "skill_tier": tiers, "exit_reason": reasons,
                      "hardware": ["h100_spot"] * 9,
                      "outside_option_usd_day": [100.0] * 9})
    pq.write_table(teams, tmp_path / "teams.parquet")
    return tmp_path


def test_share_leaving_for_the_outside_option_is_of_the_whole_tier(tmp_path: Path) -> None:
    """Kept teams count as not leaving: 1 of the top decile's 4 teams (0.25, not 1 of the 2
    leavers), 2 of the rest's 4; entrants are not a starting tier."""
    out = _load("scenario_tables").summarise(_run_dir(tmp_path))
    assert np.allclose(out["outside_top_decile"], [0.25])
    assert np.allclose(out["outside_rest"], [0.5])
    fate = out["fate_top_decile"]
    assert fate["kept"] == 0.5 and fate["outside_option"] == 0.25 and fate["cost"] == 0.25
    assert np.allclose(out["h100_top_decile"], [0.5])


def test_staker_fit_segment_compares_the_same_subnets_only() -> None:
    """Subnets re-registered in the segment, or registered less than 7 days before it, are left
    out; the statistics are over the rest (12 subnets, prices halved or doubled)."""
    seg = _load("staker_fit").segment
    n = 14
    p0 = np.ones(n)
    p1 = np.where(np.arange(n) < 9, 0.5, 2.0)  # 9 fall, 5 rise
    reg0 = np.zeros(n, dtype=int)
    reg1 = reg0.copy()
    reg1[0] = 100  # re-registered during the segment: left out
    reg0[1] = reg1[1] = 7200 * 20 - 100  # registered 6.99 days before day 20: left out
    arm = {"day": [20.0, 50.0], "block": [7200 * 20, 7200 * 50],
           "price": [[p0.tolist()], [p1.tolist()]],
           "registered_at": [[reg0.tolist()], [reg1.tolist()]]}
    st = seg(arm, 20, 50)
    assert st["falling"][0] == 7 / 12 and st["median"][3] == 1
    assert np.isclose(st["median"][0], np.median(np.log(p1[2:])))
    assert np.isclose(st["sum"][0], np.log(p1.sum() / p0.sum()))
