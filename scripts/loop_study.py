"""Flywheel and collapse study (issue 11): scenarios, ablations and the tipping threshold.

Every arm runs with the same seed, so each random process draws the same numbers in every arm
(common random numbers, as ``dtaosim compare`` does); the differences between arms are paired
per run. Reduced sizes (stated in ``docs/scenarios.md``): UIDs per subnet and validators below
the default, few runs.

Usage::

    python scripts/loop_study.py ARM [ARM ...] --days 90 --runs 8 --uids 32 --validators 8 \\
        --out study.json

An ARM is ``NAME=SCENARIO[;dotted.path=value...]`` (values in JSON), e.g.
``collapse-noloop=collapse;usefulness.enabled=false``. The output JSON holds, per arm, the
network columns of every record (one list per column, runs x records).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dtaosim.agents.economy import Economy
from dtaosim.experiments.config import RunConfig, load_scenario, resolve_mechanism
from dtaosim.experiments.run import initial_state
from dtaosim.experiments.simulation import simulate
from dtaosim.state.chain_state import SI
from dtaosim.units import BLOCKS_PER_DAY

COLUMNS = ("tao_usd", "teams_active", "retained_top_decile", "retained_top_quartile",
           "retained_rest", "root_stake_tao", "subnet_stake_tao", "outside_tao",
           "subnets_no_paid_miner", "emission_top10_share", "emission_gini", "usefulness_mean",
           "usefulness_p90", "owner_burn_mean", "subnets_burn_zero", "subnets_burn_full",
           "subnets_abandoned", "exits_abandoned", "sum_price")


def _value(text: str):  # type: ignore[no-untyped-def]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_arm(spec: str, days: float, runs: int, uids: int, validators: int, seed: int,
            record_days: float) -> dict:
    name, _, rest = spec.partition("=")
    scenario, *pairs = rest.split(";")
    data = load_scenario(scenario).model_dump()
    data.update({"days": days, "runs": runs, "uids": uids, "n_validators": validators,
                 "seed": seed})
    for p in pairs:
        k, _, v = p.partition("=")
        *head, last = k.split(".")
        d = data
        for h in head:
            d = d[h]
        d[last] = _value(v)
    cfg = RunConfig.model_validate(data)
    mech = resolve_mechanism(cfg)
    state = initial_state(cfg, mech)
    eco = Economy.create(state, cfg, cfg.seed)
    rows: dict[str, list] = {c: [] for c in COLUMNS}
    rows["day"] = []
    rows["price"] = []  # records x runs x subnets (TAO per alpha; 0 where no subnet)
    rows["registered_at"] = []  # records x runs x subnets (block)
    rows["block"] = []

    def record(s) -> None:  # type: ignore[no-untyped-def]
        out = eco.record(s)
        out["sum_price"] = np.where(s.ints[:, :, 0] != 0, s.spot_price(), 0.0).sum(axis=1)
        for c in COLUMNS:
            rows[c].append(np.asarray(out[c], dtype=float).tolist())
        rows["day"].append(float(eco.day(s)))
        exists = s.ints[:, :, 0] != 0
        rows["price"].append(np.where(exists, s.spot_price(), 0.0).round(10).tolist())
        rows["registered_at"].append(np.where(exists, s.ints[:, :, SI.REGISTERED_AT], -1).tolist())
        rows["block"].append(int(s.block))

    t0 = time.perf_counter()
    simulate(state, mech, blocks=int(days * BLOCKS_PER_DAY),
             record_every=int(record_days * BLOCKS_PER_DAY), seed=cfg.seed,
             exogenous=cfg.exogenous, economy=eco, on_record=record, copy=False,
             check_invariants=False)
    rows["wall_s"] = time.perf_counter() - t0
    rows["name"] = name
    rows["spec"] = spec
    return rows


SUMMARY = (("retained_top_decile", "top-decile teams retained", "{:.2f}"),
           ("teams_active", "teams active", "{:.0f}"),
           ("root_stake_tao", "root stake (M TAO)", "M"),
           ("subnet_stake_tao", "subnet stake (M TAO)", "M"),
           ("outside_tao", "stakers' TAO outside (M)", "M"),
           ("emission_top10_share", "top-10 emission share", "{:.2f}"),
           ("emission_gini", "emission Gini", "{:.2f}"),
           ("subnets_no_paid_miner", "subnets with no paid miner", "{:.0f}"),
           ("subnets_burn_zero", "subnets burning 0 %", "{:.0f}"),
           ("subnets_burn_full", "subnets burning 100 %", "{:.0f}"),
           ("usefulness_mean", "usefulness (mean)", "{:.2f}"),
           ("tao_usd", "TAO/USD", "{:.0f}"),
           ("sum_price", "sum of prices", "{:.2f}"))


def _fmt(v: float, f: str) -> str:
    return f"{v / 1e6:.2f}" if f == "M" else f.format(v)


def summarize(res: dict, arms: list[str], days: list[float]) -> str:
    """Markdown: per arm and day, median [p10-p90] over runs of the summary columns."""
    out = []
    for col, label, f in SUMMARY:
        out.append(f"\n**{label}** (median [p10-p90] over runs)\n")
        out.append("| arm | " + " | ".join(f"day {d:g}" for d in days) + " |")
        out.append("|---|" + "---|" * len(days))
        for a in arms:
            r = res[a]
            x = np.array(r[col], dtype=float)  # records x runs
            dd = np.array(r["day"])
            cells = []
            for d in days:
                i = int(np.argmin(np.abs(dd - d)))
                v = x[i]
                if col.startswith("subnets_abandoned"):
                    v = x[: i + 1].sum(axis=0)
                q = np.nanpercentile(v, [50, 10, 90])
                cells.append(f"{_fmt(q[0], f)} [{_fmt(q[1], f)}-{_fmt(q[2], f)}]")
            out.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _at(res: dict, arm: str, col: str, day: float) -> np.ndarray:
    """Per-run values of ``col`` at the record nearest ``day`` (``subnets_abandoned``, a count
    per record interval, summed up to it)."""
    d = np.array(res[arm]["day"])
    x = np.array(res[arm][col], dtype=float)
    i = int(np.argmin(np.abs(d - day)))
    return x[: i + 1].sum(axis=0) if col == "subnets_abandoned" else x[i]


def paired(res: dict, ref: str, arms: list[str], day: float) -> str:
    """Markdown: per-run paired differences (arm - ref) at ``day``: mean and 90% interval of
    the mean (t, runs - 1 d.o.f. approximated by 1.9 x s.e.)."""
    out = [f"| arm - {ref} (day {day:g}) | " + " | ".join(lbl for _, lbl, _ in SUMMARY) + " |",
           "|---|" + "---|" * len(SUMMARY)]
    for a in arms:
        cells = []
        for col, _, f in SUMMARY:
            d = _at(res, a, col, day) - _at(res, ref, col, day)
            m = float(np.nanmean(d))
            se = float(np.nanstd(d, ddof=1) / np.sqrt(max(np.isfinite(d).sum(), 1))) \
                if d.size > 1 else 0.0
            cells.append(f"{_fmt(m, f)} +- {_fmt(1.9 * se, f)}")
        out.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def ratios(res: dict, ref: str, arms: list[str], day: float) -> str:
    """Markdown: per arm, the top decile retained at ``day`` and the per-run ratios arm / ref
    (common random numbers: run i of every arm saw the same draws) of the top decile retained,
    teams active and TAO/USD (median [p10-p90] over runs), subnets abandoned by ``day``."""
    def at(a: str, col: str) -> np.ndarray:
        return _at(res, a, col, day)

    def q(v: np.ndarray, f: str = "{:.2f}") -> str:
        m, lo, hi = np.nanpercentile(v, [50, 10, 90])
        return f"{f.format(m)} [{f.format(lo)}-{f.format(hi)}]"

    out = [f"| arm | top-decile retained, day {day:g} | / {ref} | teams active / {ref} | "
           f"TAO/USD / {ref} | subnets abandoned by day {day:g} |", "|---|---|---|---|---|---|"]
    for a in arms:
        with np.errstate(divide="ignore", invalid="ignore"):
            cells = [q(at(a, "retained_top_decile")),
                     q(at(a, "retained_top_decile") / at(ref, "retained_top_decile")),
                     q(at(a, "teams_active") / at(ref, "teams_active")),
                     q(at(a, "tao_usd") / at(ref, "tao_usd"), "{:.3f}"),
                     q(at(a, "subnets_abandoned"), "{:.0f}")]
        out.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("arms", nargs="+")
    ap.add_argument("--days", type=float, default=90)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--uids", type=int, default=32)
    ap.add_argument("--validators", type=int, default=8)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--record-days", type=float, default=5)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--summarize", type=str, default=None,
                    help="print tables for these days (comma list) of the ARMS (names) in --out")
    ap.add_argument("--paired", type=str, default=None,
                    help="REF,DAY: print paired differences of the ARMS against arm REF")
    ap.add_argument("--ratio", type=str, default=None,
                    help="REF,DAY: print per-run ratios of the ARMS to arm REF (threshold table)")
    a = ap.parse_args()
    res = json.loads(a.out.read_text()) if a.out.exists() else {}
    if a.ratio:
        ref, day = a.ratio.split(",")
        print(ratios(res, ref, a.arms, float(day)))
        return
    if a.summarize or a.paired:
        if a.summarize:
            print(summarize(res, a.arms, [float(x) for x in a.summarize.split(",")]))
        if a.paired:
            ref, day = a.paired.split(",")
            print(paired(res, ref, a.arms, float(day)))
        return
    for spec in a.arms:
        name = spec.partition("=")[0]
        if name in res:
            continue
        res[name] = run_arm(spec, a.days, a.runs, a.uids, a.validators, a.seed, a.record_days)
        a.out.write_text(json.dumps(res))
        print(f"{name}: {res[name]['wall_s']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
