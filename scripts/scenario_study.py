"""The study behind ``docs/scenarios.md`` and the baseline section of ``docs/validation.md``.

Runs, with ``dtaosim run`` (one run directory each, under ``--out``):

* every built-in scenario (``baseline``, ``cost-squeeze``, ``outside-option``, ``halving``),
  ``--runs`` Monte Carlo runs of ``--days`` days;
* the scenario-1 grid: the baseline with TAO/USD held at each of ``--tao-levels`` (scripted
  market, no drift or noise), ``--grid-runs`` runs each: the TAO/USD at which the H100-class
  top-decile teams' retention falls below one half;
* the scenario-2 grid: the baseline with the outside option's weight (the share of a team's
  outside salary that mining gives up, ``miners.outside_option_weight``) at each of
  ``--outside-weights``: the level at which the strongest teams leave before the rest;

then prints every table of ``docs/scenarios.md`` and the validation table of the baseline as
markdown on stdout (progress on stderr). A run directory that already holds a finished run
(``manifest.json``) is reused unless ``--force``; ``--tables-only`` runs nothing. All runs
share ``--seed`` (common random numbers: every scenario and grid level sees the same TAO/USD
shocks and flow noise where its market allows). Usage::

    python scripts/scenario_study.py --out study > study/tables.md
    python scripts/scenario_study.py --out study --tables-only
    python scripts/scenario_study.py --out study --jobs 2      # two runs at a time

At the defaults (64 UIDs and 16 validators per subnet, 180 days, 16 runs per scenario and 8
per grid level) the study took ~55 minutes on two shared cores.
"""

from __future__ import annotations

import argparse
import json
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


def _validation(d: Path) -> str:
    res = subprocess.run([_dtaosim(), "validate", str(d), "--json"], capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        return f"(dtaosim validate failed: {res.stderr.strip()})"
    checks = json.loads(res.stdout)["checks"]

    def num(x: object) -> str:
        return "-" if x is None else f"{float(x):.3g}"  # type: ignore[arg-type]

    rows = ["| metric | ref | simulated median [p10, p90] | real [band] | verdict |",
            "|---|---|---|---|---|"]
    for c in checks:
        rows.append(f"| {c['metric']} | {c.get('ref') or ''} | {num(c['sim_median'])} "
                    f"[{num(c['sim_p10'])}, {num(c['sim_p90'])}] | {num(c['real_value'])} "
                    f"[{num(c['real_low'])}, {num(c['real_high'])}] | {c['verdict']} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="study directory")
    ap.add_argument("--runs", type=int, default=16, help="runs per built-in scenario")
    ap.add_argument("--grid-runs", type=int, default=8, help="runs per grid level")
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--uids", type=int, default=64)
    ap.add_argument("--validators", type=int, default=16)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--tao-levels", default="600,300,150,75",
                    help="scenario-1 grid: TAO/USD levels (comma-separated)")
    ap.add_argument("--outside-weights", default="0.1,0.3,0.6,1.0",
                    help="scenario-2 grid: miners.outside_option_weight levels")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time")
    ap.add_argument("--force", action="store_true", help="rerun finished run directories")
    ap.add_argument("--tables-only", action="store_true", help="run nothing; tables only")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    tao, outside = _grid_files(a.out, [float(x) for x in a.tao_levels.split(",")],
                               [float(x) for x in a.outside_weights.split(",")])
    jobs = [(s, s, a.runs) for s in SCENARIOS]
    jobs += [(n, str(f), a.grid_runs) for n, f in (*tao, *outside)]
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
    print(tables([dirs[n] for n, _ in outside], grid="miners.outside_option_weight"))
    print(f"\n## Validation of the baseline ({a.runs} runs; {how})\n")
    print(_validation(dirs["baseline"]))


if __name__ == "__main__":
    main()
