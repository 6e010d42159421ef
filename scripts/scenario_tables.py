"""The tables of ``docs/scenarios.md`` from run directories written with agents.

For each run directory (one scenario or one point of a grid), over its Monte Carlo runs:
talent retained by skill tier at the last record (median and p10-p90 over runs; also for the
H100-class teams of each tier, from ``teams.parquet``), exits by reason and entries (mean per
run over the whole horizon), teams active and TAO/USD at the end, and what became of each tier
of the starting teams (share kept or gone by each exit reason; a team that switched subnet and
is still active counts as kept). With ``--grid FIELD`` the rows are labelled by that dotted
field of each directory's resolved ``config.toml`` (e.g. ``market.tao_usd_start``) and the
levels at which (a) H100-class top-decile retention crosses one half, (b) top-decile retention
falls below the rest's, (c) the share of the top decile leaving for the outside option rises
above the rest's are interpolated. Usage::

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
FINAL = ("cost", "outside_option", "deregistered", "subnet_dissolved")  # a team's last exit
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
    fate = con.sql(f"""select skill_tier, coalesce(exit_reason, 'kept') fate, count(*) n
                       from {teams} where skill_tier != 'entrant' group by all""").fetchnumpy()
    per_run = con.sql(f"""select run, skill_tier,
                                 avg(coalesce(exit_reason = 'outside_option', false)::int) outside,
                                 avg(outside_option_usd_day) outside_usd
                          from {teams} where skill_tier != 'entrant'
                          group by all order by all""").fetchnumpy()
    out: dict[str, object] = {"days": last, "runs": len(end["run"])}
    for t in TIERS:
        out[t] = end[f"retained_{t}"]
        sel = h100["skill_tier"] == t
        out[f"h100_{t}"] = h100["kept"][sel].astype(float)
        sel = per_run["skill_tier"] == t
        out[f"outside_{t}"] = per_run["outside"][sel].astype(float)
        out[f"outside_usd_{t}"] = per_run["outside_usd"][sel].astype(float)
        sel = fate["skill_tier"] == t
        n = dict(zip(fate["fate"][sel], fate["n"][sel].astype(float), strict=True))
        total = sum(n.values())
        out[f"fate_{t}"] = {f: n.get(f, 0.0) / total if total else np.nan
                            for f in ("kept", *FINAL)}
        out[f"n_{t}"] = total / max(len(end["run"]), 1)
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


def tables(dirs: list[Path], grid: str | None = None) -> str:
    """The markdown tables of ``dirs`` (see the module docstring)."""
    rows = [(d, summarise(d)) for d in dirs]
    if grid:
        rows.sort(key=lambda x: _field(x[0], grid))
    label = grid or "run directory"

    def name(d: Path) -> str:
        return f"{_field(d, grid):g}" if grid else d.name

    out = [f"| {label} | days x runs | retained: top decile | top quartile | rest | "
           "H100-class top decile | H100-class rest | teams active | TAO/USD at end |",
           "|---|---|---|---|---|---|---|---|---|"]
    for d, s in rows:
        out.append(f"| {name(d)} | {s['days']:g} x {s['runs']} | {_q(s['top_decile'])} | "
                   f"{_q(s['top_quartile'])} | {_q(s['rest'])} | {_q(s['h100_top_decile'])} | "
                   f"{_q(s['h100_rest'])} | {np.median(s['teams_active']):.0f} | "
                   f"{_q(s['tao_usd'])} |")
    out += ["", f"| {label} | entries | " + " | ".join(f"exits: {r}" for r in REASONS) + " |",
            "|---|---|" + "---|" * len(REASONS)]
    for d, s in rows:
        out.append(f"| {name(d)} | {np.mean(s['entries']):.0f} | "
                   + " | ".join(f"{np.mean(s[r]):.0f}" for r in REASONS) + " |")
    out += ["", f"| {label} | tier | teams per run | kept | " + " | ".join(
        f"left: {r}" for r in FINAL) + " |", "|---|---|---|---|" + "---|" * len(FINAL)]
    for d, s in rows:
        for t in TIERS:
            f = s[f"fate_{t}"]
            out.append(f"| {name(d)} | {t.replace('_', ' ')} | "
                       f"{s[f'n_{t}']:.0f} | {f['kept']:.2f} | "
                       + " | ".join(f"{f[r]:.2f}" for r in FINAL) + " |")
    if grid:
        levels = [_field(d, grid) for d, _ in rows]
        top = [float(np.nanmedian(s["h100_top_decile"])) for _, s in rows]
        gap = [float(np.nanmedian(s["top_decile"]) - np.nanmedian(s["rest"])) for _, s in rows]
        out_gap = [float(np.nanmean(s["outside_top_decile"]) - np.nanmean(s["outside_rest"]))
                   for _, s in rows]
        out += ["", f"| {label} | outside option USD/day: top decile | rest | "
                "left for the outside option: top decile | rest |", "|---|---|---|---|---|"]
        for d, s in rows:
            out.append(f"| {name(d)} | {np.mean(s['outside_usd_top_decile']):.0f} | "
                       f"{np.mean(s['outside_usd_rest']):.0f} | "
                       f"{_q(s['outside_top_decile'])} | {_q(s['outside_rest'])} |")
        out += ["", f"H100-class top-decile retention crosses 1/2 at {grid} = "
                f"{_cross(levels, top, 0.5)}; top-decile retention falls to the rest's at "
                f"{_cross(levels, gap, 0.0)}; the share of the top decile leaving for the "
                f"outside option reaches the rest's at {_cross(levels, out_gap, 0.0)} "
                "(medians over runs for retention, means for shares; linear interpolation)"]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--grid", help="dotted config field that labels each directory")
    a = ap.parse_args()
    print(tables(a.dirs, a.grid))


if __name__ == "__main__":
    main()
