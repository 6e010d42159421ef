"""The study behind ``docs/scenarios.md`` and the baseline section of ``docs/validation.md``.

Runs, with ``dtaosim run`` (one run directory each, under ``--out``):

* every built-in scenario (``baseline``, ``cost-squeeze``, ``outside-option``, ``halving``),
  ``--runs`` Monte Carlo runs of ``--days`` days;
* the scenario-1 grid: the baseline with TAO/USD held at each of ``--tao-levels`` (scripted
  market, no drift or noise), ``--grid-runs`` runs each: the TAO/USD at which the H100-class
  top-decile teams' retention falls below one half;
* the scenario-2 grid: the baseline with the outside option's weight (the share of a team's
  outside salary that mining gives up, ``miners.outside_option_weight``) at each of
  ``--outside-weights`` (the baseline itself is the level 0.1): the level at which the
  strongest teams leave before the rest;

then prints every table of ``docs/scenarios.md`` and the validation table of the baseline as
markdown on stdout (progress on stderr). A run directory that already holds a finished run
(``manifest.json``) is reused unless ``--force``; ``--tables-only`` runs nothing. All runs
share ``--seed`` (common random numbers: every scenario and grid level sees the same TAO/USD
shocks and flow noise where its market allows). Usage::

    python scripts/scenario_study.py --out study > study/tables.md
    python scripts/scenario_study.py --out study --tables-only
    python scripts/scenario_study.py --out study --jobs 2      # two runs at a time

At the defaults (64 UIDs and 16 validators per subnet, 180 days, 16 runs per scenario, 4 per
grid level) the study is about 7 x a 16-run baseline: ~45 minutes on two free cores (a 16-run
180-day baseline took ~6.5 minutes), far longer when the cores are shared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenario_tables import tables

SCENARIOS = ("baseline", "cost-squeeze", "outside-option", "halving")


def _dtaosim() -> str:
    exe = Path(sys.executable).with_name("dtaosim")
    return str(exe) if exe.exists() else "dtaosim"


def _grid_files(out: Path, tao_levels: list[float], weights: list[float]
                ) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    d = out / "grid-scenarios"
    d.mkdir(parents=True, exist_ok=True)
    tao, outside = [], []
    for x in tao_levels:
        f = d / f"tao-{x:g}.toml"
        f.write_text(f'scenario = "tao-{x:g}"\n'
                     f'description = "Scenario 1 grid: TAO/USD held at {x:g} USD"\n'
                     f'[market]\nmodel = "scripted"\ntao_usd_start = {x!r}\n')
        tao.append((f"tao-{x:g}", f))
    for w in weights:
        f = d / f"outside-{w:g}.toml"
        f.write_text(f'scenario = "outside-{w:g}"\n'
                     f'description = "Scenario 2 grid: outside option weight {w:g}"\n'
                     f'[miners]\noutside_option_weight = {w!r}\n')
        outside.append((f"outside-{w:g}", f))
    return tao, outside


def _baseline_weight() -> float:
    from dtaosim.experiments.config import load_scenario

    return float(load_scenario("baseline").miners.outside_option_weight)


def _run(name: str, scenario: str, runs: int, a: argparse.Namespace) -> Path:
    d = a.out / name
    if (d / "manifest.json").exists() and not a.force:
        print(f"reuse {d}", file=sys.stderr)
        return d
    cmd = [_dtaosim(), "run", "--scenario", scenario, "--runs", str(runs), "--days",
           str(a.days), "--uids", str(a.uids), "--validators", str(a.validators), "--seed",
           str(a.seed), "--no-report", "--overwrite", "--out", str(d)]
    print("run: " + " ".join(cmd[1:]), file=sys.stderr)
    log = a.out / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode
    if rc != 0:
        raise SystemExit(f"error: {name} failed (exit {rc}); see {log}")
    return d


def _truncated(d: Path, days: float, dest: Path) -> Path:
    """A copy of run directory ``d`` cut at ``days`` (records up to that day), so that
    ``dtaosim validate`` compares its first ``days`` with the real windows of that length."""
    import duckdb

    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.toml", "manifest.json"):
        shutil.copyfile(d / name, dest / name)
    for name in ("network.parquet", "timeseries.parquet", "uids.parquet", "teams.parquet"):
        src = d / name
        if not src.exists():
            continue
        where = "" if name == "teams.parquet" else f" where day <= {days}"
        duckdb.sql(f"copy (select * from read_parquet('{src}'){where}) "
                   f"to '{dest / name}' (format parquet)")
    return dest


def _checks(d: Path) -> list[dict[str, object]]:
    res = subprocess.run([_dtaosim(), "validate", str(d), "--json"], capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"error: dtaosim validate {d} failed: {res.stderr.strip()}")
    return list(json.loads(res.stdout)["checks"])


HORIZON_METRICS = ("price_bleed_median", "price_bleed_p10", "price_bleed_p90",
                   "price_bleed_share_falling", "sum_price_log_change", "volatility_p25",
                   "volatility_median", "volatility_p75", "tao_usd_log_change")


def _horizons(d: Path, out: Path, horizons: list[float]) -> str:
    """The horizon-dependent checks of the baseline's first H days, for each H."""
    rows = ["| metric | horizon | simulated median [p10, p90] | real [band] | verdict |",
            "|---|---|---|---|---|"]
    for h in horizons:
        cut = _truncated(d, h, out / f"baseline-first-{h:g}d")
        for c in _checks(cut):
            if c["metric"] in HORIZON_METRICS:
                rows.append(f"| {c['metric']} | {h:g} d | {_num(c['sim_median'])} "
                            f"[{_num(c['sim_p10'])}, {_num(c['sim_p90'])}] | "
                            f"{_num(c['real_value'])} [{_num(c['real_low'])}, "
                            f"{_num(c['real_high'])}] | {c['verdict']} |")
    return "\n".join(rows)


def _num(x: object) -> str:
    return "-" if x is None else f"{float(x):.3g}"  # type: ignore[arg-type]


def _validation(d: Path) -> str:
    checks = _checks(d)

    rows = ["| metric | ref | simulated median [p10, p90] | real [band] | verdict |",
            "|---|---|---|---|---|"]
    for c in checks:
        rows.append(f"| {c['metric']} | {c.get('ref') or ''} | {_num(c['sim_median'])} "
                    f"[{_num(c['sim_p10'])}, {_num(c['sim_p90'])}] | {_num(c['real_value'])} "
                    f"[{_num(c['real_low'])}, {_num(c['real_high'])}] | {c['verdict']} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="study directory")
    ap.add_argument("--runs", type=int, default=16, help="runs per built-in scenario")
    ap.add_argument("--grid-runs", type=int, default=4, help="runs per grid level")
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--uids", type=int, default=64)
    ap.add_argument("--validators", type=int, default=16)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--tao-levels", default="600,300,150,75,35,15",
                    help="scenario-1 grid: TAO/USD levels (comma-separated)")
    ap.add_argument("--outside-weights", default="0.3,1.0",
                    help="scenario-2 grid: miners.outside_option_weight levels (the baseline "
                         "run directory is added as its own level, 0.1)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time")
    ap.add_argument("--force", action="store_true", help="rerun finished run directories")
    ap.add_argument("--tables-only", action="store_true", help="run nothing; tables only")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    tao, outside = _grid_files(a.out, [float(x) for x in a.tao_levels.split(",")],
                               [float(x) for x in a.outside_weights.split(",")])
    # the seed question's answers first, the halving last
    jobs = [(s, s, a.runs) for s in SCENARIOS if s != "halving"]
    jobs += [(n, str(f), a.grid_runs) for n, f in (*tao, *outside)]
    jobs += [("halving", "halving", a.runs)]
    if a.tables_only:
        dirs = {n: a.out / n for n, _, _ in jobs}
    else:
        with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            done = pool.map(lambda j: _run(j[0], j[1], j[2], a), jobs)
            dirs = dict(zip([j[0] for j in jobs], done, strict=True))
    how = (f"{a.days:g} days, {a.uids} UIDs and {a.validators} validators per subnet, "
           f"seed {a.seed}")
    print(f"## Built-in scenarios ({a.runs} runs each; {how})\n")
    print(tables([dirs[s] for s in SCENARIOS]))
    print(f"\n## Scenario 1 grid: TAO/USD held constant ({a.grid_runs} runs per level; {how})\n")
    print(tables([dirs[n] for n, _ in tao], grid="market.tao_usd_start"))
    print(f"\n## Scenario 2 grid: outside option weight ({a.grid_runs} runs per level; {how})\n")
    base_w = f"{_baseline_weight():g}"
    extra = [] if any(n == f"outside-{base_w}" for n, _ in outside) else [dirs["baseline"]]
    print(tables([dirs[n] for n, _ in outside] + extra, grid="miners.outside_option_weight"))
    if extra:
        print(f"\n(the level {base_w} is the baseline scenario itself, {a.runs} runs)")
    print(f"\n## Validation of the baseline ({a.runs} runs; {how})\n")
    print(_validation(dirs["baseline"]))
    print(f"\n## Baseline at shorter horizons (its first 30, 60, 90 days; {a.runs} runs)\n")
    print(_horizons(dirs["baseline"], a.out, [30.0, 60.0, 90.0]))


if __name__ == "__main__":
    main()
