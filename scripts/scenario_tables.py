"""The tables of ``docs/scenarios.md`` from run directories written with agents.

For each run directory (one scenario or one point of a grid), over its Monte Carlo runs:
talent retained by skill tier at the last record (median and p10-p90 over runs; also for the
H100-class teams of each tier, from ``teams.parquet``), exits by reason and entries (mean per
run over the whole horizon), teams active and TAO/USD at the end. With ``--grid FIELD`` the rows
are labelled by that dotted field of each directory's resolved ``config.toml`` (e.g.
``market.tao_usd_start``) and the level at which a retention crosses one half (or the top decile
falls below the rest) is interpolated. Usage::

    python scripts/scenario_tables.py runs/baseline runs/cost-squeeze
    python scripts/scenario_tables.py runs/tao-* --grid market.tao_usd_start
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import duckdb
import numpy as np

REASONS = ("cost", "outside_option", "deregistered", "subnet_dissolved", "switched")
TIERS = ("top_decile", "top_quartile", "rest")


def _q(x: np.ndarray) -> str:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    lo, med, hi = np.percentile(x, [10, 50, 90])
    return f"{med:.2f} [{lo:.2f}, {hi:.2f}]"


def summarise(d: Path) -> dict[str, object]:
    """Per-run figures of one run directory."""
    con = duckdb.connect()
    net, teams = f"'{d / 'network.parquet'}'", f"'{d / 'teams.parquet'}'"
    last = con.sql(f"select max(day) from {net}").fetchall()[0][0]
    end = con.sql(f"""select run, retained_top_decile, retained_top_quartile, retained_rest,
                             teams_active, tao_usd from {net} where day = {last} order by run"""
                  ).fetchnumpy()
    flows = con.sql(f"""select run, sum(entries) e, {', '.join(f'sum(exits_{r}) {r}'
                                                                 for r in REASONS)}
                        from {net} group by run order by run""").fetchnumpy()
    h100 = con.sql(f"""select run, skill_tier, avg((exit_reason is null)::int) kept
                       from {teams} where hardware like 'h100%' and skill_tier != 'entrant'
                       group by all order by all""").fetchnumpy()
    out: dict[str, object] = {"days": last, "runs": len(end["run"])}
    for t in TIERS:
        out[t] = end[f"retained_{t}"]
        sel = h100["skill_tier"] == t
        out[f"h100_{t}"] = h100["kept"][sel].astype(float)
    out["teams_active"] = end["teams_active"].astype(float)
    out["tao_usd"] = end["tao_usd"]
    out["entries"] = flows["e"].astype(float)
    for r in REASONS:
        out[r] = flows[r].astype(float)
    return out


def _field(d: Path, dotted: str) -> float:
    data = tomllib.loads((d / "config.toml").read_text())
    for part in dotted.split("."):
        data = data[part]
    return float(data)  # type: ignore[arg-type]


def _cross(levels: list[float], values: list[float], at: float) -> str:
    """Level where ``values`` (ordered by ``levels``) crosses ``at`` (linear interpolation)."""
    for (x0, y0), (x1, y1) in zip(zip(levels, values, strict=True),
                                  zip(levels[1:], values[1:], strict=True), strict=False):
        if (y0 - at) * (y1 - at) <= 0 and y0 != y1:
            return f"{x0 + (at - y0) * (x1 - x0) / (y1 - y0):.4g}"
    return "not crossed in the grid"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--grid", help="dotted config field that labels each directory")
    a = ap.parse_args()
    rows = [(d, summarise(d)) for d in a.dirs]
    if a.grid:
        rows.sort(key=lambda x: _field(x[0], a.grid))
    label = a.grid or "run directory"
    print(f"| {label} | days x runs | retained: top decile | top quartile | rest | "
          "H100-class top decile | H100-class rest | teams active | TAO/USD at end |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d, s in rows:
        name = f"{_field(d, a.grid):g}" if a.grid else d.name
        print(f"| {name} | {s['days']:g} x {s['runs']} | {_q(s['top_decile'])} | "
              f"{_q(s['top_quartile'])} | {_q(s['rest'])} | {_q(s['h100_top_decile'])} | "
              f"{_q(s['h100_rest'])} | {np.median(s['teams_active']):.0f} | "
              f"{_q(s['tao_usd'])} |")
    print()
    print(f"| {label} | entries | " + " | ".join(f"exits: {r}" for r in REASONS) + " |")
    print("|---|---|" + "---|" * len(REASONS))
    for d, s in rows:
        name = f"{_field(d, a.grid):g}" if a.grid else d.name
        print(f"| {name} | {np.mean(s['entries']):.0f} | "
              + " | ".join(f"{np.mean(s[r]):.0f}" for r in REASONS) + " |")
    if a.grid:
        levels = [_field(d, a.grid) for d, _ in rows]
        top = [float(np.nanmedian(s["h100_top_decile"])) for _, s in rows]
        gap = [float(np.nanmedian(s["top_decile"]) - np.nanmedian(s["rest"])) for _, s in rows]
        print()
        print(f"H100-class top-decile retention crosses 1/2 at {a.grid} = "
              f"{_cross(levels, top, 0.5)}; top decile minus rest crosses 0 at "
              f"{_cross(levels, gap, 0.0)} (medians over runs, linear interpolation)")


if __name__ == "__main__":
    main()
