#!/usr/bin/env python3
"""Build ``src/dtaosim/data/real_world_targets.toml``: the figures ``dtaosim validate`` uses.

Usage::

    python scripts/build_real_world_targets.py [DATA_DIR] [--out FILE]

``DATA_DIR`` defaults to ``<repo>/../shared/data/real-world`` (MIT-licensed data; attribution in
``src/dtaosim/data/README.md``). Figures that can be computed from the data are computed here,
over rolling windows of the horizons in :data:`HORIZONS`, so that a 30-day simulation is compared
with what real 30-day windows did; the rest are the published figures of the project's
``real-world-targets.md``, copied with their source. Every entry says how it was derived and
where its band (``low`` .. ``high``) comes from. The output is deterministic (plain ``csv`` +
NumPy, floats rounded to 4 significant digits) and ``tests/test_validation.py`` checks that it
reproduces the shipped file when the data folder is present.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

REPO = Path(__file__).resolve().parents[1]

PRICES_CSV = "alpha_prices_daily_2025-02-20_2025-10-29.csv"
EMISSION_CSV = "subnet_tao_emission_daily_2025-09-14_2025-10-27.csv"
FIRST_SEEN_CSV = "subnet_first_seen_2025.csv"
TAO_USD_CSV = "tao_usd_daily_2025Q4.csv"
SRC_PRICES = f"{PRICES_CSV} (alexlange1/alphamind-transparency emissions_v2/, MIT)"
SRC_EMISSION = f"{EMISSION_CSV} (alexlange1/alphamind-transparency emissions/, MIT)"
SRC_FIRST_SEEN = f"{FIRST_SEEN_CSV} (derived from {PRICES_CSV}, MIT)"
SRC_TAO_USD = f"{TAO_USD_CSV} (kylewidmann/bittensor-emissions-tracker, MIT)"
SRC_SPEC = "real-world-targets.md (project spec; public sources)"

HORIZONS = (30, 60, 90, 180, 240)  # days; windows of the price file (244 days of data)
LAUNCH = date(2025, 2, 13)  # dTAO launch: subnets seen on the first day existed since then
ESTABLISHED_DAYS = 30  # a subnet is "established" this long after it left its start-up pool
MIN_RETURNS_FRACTION = 0.8  # of the window's days, for a subnet's daily-return s.d.


def sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def pct(x: Any, q: float) -> float:
    return float(np.percentile(np.asarray(x, dtype=np.float64), q))


def gini(x: Any) -> float:
    """Gini coefficient of a non-negative vector (0: equal, 1 - 1/n: one holds all)."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    n, tot = v.size, v.sum()
    if n == 0 or tot <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(2.0 * (i * v).sum() / (n * tot) - (n + 1) / n)


def top_share(x: Any, k: int) -> float:
    v = np.sort(np.asarray(x, dtype=np.float64))[::-1]
    return float(v[:k].sum() / v.sum())


# ------------------------------------------------------------------------------ data
class Prices:
    """The daily price file: ``last[d][netuid]``, ``mean[d][netuid]`` for non-start-up rows."""

    def __init__(self, path: Path) -> None:
        self.last: dict[date, dict[int, float]] = defaultdict(dict)
        self.first: dict[date, dict[int, float]] = defaultdict(dict)
        self.mean: dict[date, dict[int, float]] = defaultdict(dict)
        first_ok: dict[int, date] = {}
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if row["flag_price_gt_0_5"] != "0":
                    continue  # start-up pool of a new subnet
                d = date.fromisoformat(row["date"])
                k = int(row["netuid"])
                self.last[d][k] = float(row["price_last"])
                self.first[d][k] = float(row["price_first"])
                self.mean[d][k] = float(row["price_mean"])
                first_ok[k] = min(first_ok.get(k, d), d)
        self.dates = sorted(self.last)
        start = self.dates[0]
        # established since: leaving the start-up pool (launch for subnets there on day one)
        self.since = {k: (LAUNCH if d == start else d) for k, d in first_ok.items()}

    def windows(self, h: int) -> list[tuple[date, date]]:
        have = set(self.dates)
        return [(d, d + timedelta(days=h)) for d in self.dates if d + timedelta(days=h) in have]


def read_emission(path: Path) -> dict[date, dict[int, float]]:
    out: dict[date, dict[int, float]] = defaultdict(dict)
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            k = int(row["netuid"])
            if k == 0:
                continue  # root
            out[date.fromisoformat(row["date"])][k] = float(row["tao_emission_per_block"])
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------ figures
def entry(metric: str, label: str, ref: str, unit: str, horizon: int | None, value: float | None,
          low: float | None, high: float | None, era: str, source: str, derivation: str,
          band: str, **extra: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"metric": metric, "label": label, "ref": ref, "unit": unit}
    e["horizon_days"] = horizon if horizon is not None else 0  # 0: a level, any horizon
    if value is not None:
        e["value"] = sig(value)
    if low is not None:
        e["low"] = sig(low)
    if high is not None:
        e["high"] = sig(high)
    e.update({"era": era, "source": source, "derivation": derivation, "band": band})
    e.update(extra)
    return e


def across_windows(values: list[float]) -> tuple[float, float, float]:
    """Median, p10 and p90 of a statistic over rolling windows."""
    return pct(values, 50), pct(values, 10), pct(values, 90)


def bleed_targets(p: Prices) -> list[dict[str, Any]]:
    out = []
    era = f"{p.dates[0]}..{p.dates[-1]}"
    for h in HORIZONS:
        stats: dict[str, list[float]] = defaultdict(list)
        for a, b in p.windows(h):
            common = sorted(set(p.last[a]) & set(p.last[b]))
            if len(common) < 10:
                continue
            lc = np.log([p.last[b][k] / p.last[a][k] for k in common])
            stats["median"].append(pct(lc, 50))
            stats["p10"].append(pct(lc, 10))
            stats["p90"].append(pct(lc, 90))
            stats["falling"].append(float((lc < 0).mean()))
            s = math.log(sum(p.last[b].values()) / sum(p.last[a].values()))
            stats["sum"].append(s)
        n = len(stats["median"])
        how = (f"for each of the {n} windows of {h} days in the price file: subnets outside their "
               "start-up pool on both days, x = log(price_last at the end / price_last at the "
               "start) (TAO per alpha); the statistic over subnets per window, then value = "
               "median over windows")
        band = "p10 .. p90 of the statistic over the rolling windows"
        for stat, label in (("median", "median"), ("p10", "p10"), ("p90", "p90")):
            v, lo, hi = across_windows(stats[stat])
            out.append(entry(f"price_bleed_{stat}",
                             f"alpha price change vs TAO, {label} over subnets of log(end/start)",
                             "R2", "log change", h, v, lo, hi, era, SRC_PRICES, how, band,
                             windows=n))
        v, lo, hi = across_windows(stats["falling"])
        out.append(entry("price_bleed_share_falling",
                         "share of subnets whose alpha price fell vs TAO", "R2", "fraction", h,
                         v, lo, hi, era, SRC_PRICES, how, band, windows=n))
        v, lo, hi = across_windows(stats["sum"])
        out.append(entry(
            "sum_price_log_change", "sum of alpha prices, log(end/start)", "", "log change", h, v,
            lo, hi, era, SRC_PRICES,
            f"for each of the {n} windows of {h} days: log(sum of price_last at the end / at "
            "the start), start-up pools excluded from each sum; value = median over windows",
            band, windows=n))
    return out


def launch_bleed(p: Prices) -> dict[str, Any]:
    a, b = p.dates[0], p.dates[-1]
    common = [k for k in range(1, 65) if k in p.first[a] and k in p.last[b]]
    lc = np.log([p.last[b][k] / p.first[a][k] for k in common])
    fell = int((lc < 0).sum())
    return entry(
        "price_bleed_median", "launch-era alpha prices vs TAO (R2 as published)", "R2",
        "log change", (b - a).days, pct(lc, 50), None, None, f"{a}..{b}", SRC_PRICES,
        f"netuids 1-64: log(price_last {b} / price_first {a}); {fell} of {len(common)} fell; "
        f"p10 {sig(pct(lc, 10))}, p90 {sig(pct(lc, 90))} (numpy linear percentiles; the spec "
        "quotes -2.21/-0.14)", "no band: one observation (reference only)", reference_only=True)


def volatility_targets(p: Prices) -> list[dict[str, Any]]:
    out = []
    era = f"{p.dates[0]}..{p.dates[-1]}"
    for h in HORIZONS:
        stats: dict[str, list[float]] = defaultdict(list)
        for a, b in p.windows(h):
            est = [k for k, s in p.since.items() if (a - s).days >= ESTABLISHED_DAYS]
            sds = []
            for k in est:
                r = []
                d = a
                while d < b:
                    e = d + timedelta(days=1)
                    if k in p.last.get(d, {}) and k in p.last.get(e, {}):
                        r.append(math.log(p.last[e][k] / p.last[d][k]))
                    d = e
                if len(r) >= MIN_RETURNS_FRACTION * h:
                    sds.append(float(np.std(r, ddof=1)))
            if len(sds) < 10:
                continue
            for q, name in ((25, "p25"), (50, "median"), (75, "p75")):
                stats[name].append(pct(sds, q))
        n = len(stats["median"])
        if n == 0:  # no window this long starts after subnets became established
            continue
        how = (f"for each of the {n} windows of {h} days: subnets established (out of their "
               f"start-up pool at least {ESTABLISHED_DAYS} days before the window; those on the "
               "file's first day count from the 13 Feb 2025 launch) with daily log returns of "
               f"price_last on at least {int(MIN_RETURNS_FRACTION * 100)}% of the window's days; "
               "s.d. per subnet, the quartile over subnets per window, value = median over windows")
        for name in ("p25", "median", "p75"):
            v, lo, hi = across_windows(stats[name])
            out.append(entry(
                f"volatility_{name}", f"daily log-return s.d. of established subnets, {name}",
                "R3", "s.d. per day", h, v, lo, hi, era, SRC_PRICES, how,
                "p10 .. p90 over the rolling windows (the spec's whole-period figures: "
                "p25 5.1%, median 6.7%, p75 10%)", windows=n))
    return out


def ratio_target(p: Prices, em: dict[date, dict[int, float]]) -> list[dict[str, Any]]:
    pooled: list[float] = []
    daily: dict[str, list[float]] = defaultdict(list)
    counts = []
    for d, e in em.items():
        ks = [k for k in e if e[k] > 0 and k in p.mean.get(d, {})]
        if not ks:
            continue
        es = np.array([e[k] for k in ks])
        ps = np.array([p.mean[d][k] for k in ks])
        r = (es / es.sum()) / (ps / ps.sum())
        pooled.extend(r.tolist())
        counts.append(len(ks))
        for q, name in ((5, "p5"), (50, "median"), (95, "p95")):
            daily[name].append(pct(r, q))
    era = f"{min(em)}..{max(em)}"
    out = []
    for q, name in ((5, "p5"), (50, "median"), (95, "p95")):
        out.append(entry(
            f"share_price_ratio_{name}", f"emission share / price share, {name} over subnets",
            "R1", "ratio", None, pct(pooled, q), min(daily[name]), max(daily[name]), era,
            f"{SRC_EMISSION}; {SRC_PRICES}",
            f"{len(em)} daily snapshots, {min(counts)}-{max(counts)} subnets with TAO emission: "
            "ratio = (emission / sum of emission) / (price_mean / sum of price_mean), pooled over "
            "days; applies to the price-EMA share rule only",
            "min .. max of the daily statistic", applies_to_share_rule="price_ema"))
    return out


def concentration_targets(p: Prices, em: dict[date, dict[int, float]]) -> list[dict[str, Any]]:
    daily: dict[str, list[float]] = defaultdict(list)
    for e in em.values():
        v = np.array(list(e.values()))
        for k in (1, 5, 10):
            daily[f"top{k}"].append(top_share(v, k))
        daily["gini"].append(gini(v))

    def price_share(d: date) -> str:
        v = np.array(list(p.last[d].values()))
        return (f"{d}: top-1/5/10 {sig(top_share(v, 1), 2)}/{sig(top_share(v, 5), 2)}/"
                f"{sig(top_share(v, 10), 2)}, Gini {sig(gini(v), 2)}")

    note = (f"price shares for comparison, {price_share(p.dates[0])}; {price_share(p.dates[-1])}"
            "; published top-10 share 51.8% (mid 2025), ~56% (Mar 2026)")
    out = []
    era = f"{min(em)}..{max(em)}"
    for name, label in (("top1", "top-1"), ("top5", "top-5"), ("top10", "top-10"),
                        ("gini", "Gini of")):
        v = daily[name]
        out.append(entry(
            f"concentration_{name}", f"{label} emission share across subnets", "R4", "fraction",
            None, pct(v, 50), min(v), max(v), era, SRC_EMISSION,
            f"{len(v)} daily snapshots of each subnet's TAO emission (root excluded): shares = "
            f"emission / total; value = median over days. {note}",
            "min .. max over the days"))
    return out


def churn_targets(first_seen: Path) -> list[dict[str, Any]]:
    days = []
    with first_seen.open(newline="") as f:
        for row in csv.DictReader(f):
            days.append(date.fromisoformat(row["first_date_in_price_data"]))
    start = min(days)
    new = sorted(d for d in days if d > start)
    span = (new[-1] - start).days
    rate = len(new) / span
    out = [entry(
        "registrations_per_day", "subnet registrations per day", "R5", "per day", None, rate,
        rate * 0.75, rate * 1.25, f"{start}..{new[-1]}", SRC_FIRST_SEEN,
        f"{len(new)} netuids first seen after {start}, the last on {new[-1]} ({span} days; the "
        "spec: one new subnet every ~2.05 days until the 128th netuid)",
        "assumed +-25%")]
    removed, since, until = 71, date(2025, 6, 25), date(2025, 12, 1)
    d_rate = removed / (until - since).days
    out.append(entry(
        "dissolutions_per_day", "subnet dissolutions per day", "R5", "per day", None, d_rate,
        d_rate * 2 / 3, d_rate * 4 / 3, f"{since}..{until}", SRC_SPEC,
        f"~{removed} of ~200 subnets created had been removed by Dec 2025; assumed to have been "
        f"removed between the 128th netuid ({since}) and {until}: {removed} / "
        f"{(until - since).days} days", "assumed +-33% (the count is approximate and the period "
        "inferred)"))
    return out


def tao_usd_targets(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            rows.append((date.fromisoformat(row["date"]), float(row["tao_usd"])))
    rows.sort()
    px = dict(rows)
    one = timedelta(days=1)
    r = [math.log(px[d + one] / px[d]) for d, _ in rows if d + one in px]
    h = 30
    sds, lcs = [], []
    for d, _ in rows:
        e = d + timedelta(days=h)
        if e not in px:
            continue
        w = [math.log(px[x + timedelta(days=1)] / px[x])
             for x in (d + timedelta(days=i) for i in range(h)) if x + timedelta(days=1) in px]
        sds.append(float(np.std(w, ddof=1)))
        lcs.append(math.log(px[e] / px[d]))
    era = f"{rows[0][0]}..{rows[-1][0]}"
    return [
        entry("tao_usd_volatility", "TAO/USD daily log-return s.d.", "", "s.d. per day", None,
              float(np.std(r, ddof=1)), pct(sds, 10), pct(sds, 90), era, SRC_TAO_USD,
              f"{len(r)} daily log returns of the quarter; band from the {len(sds)} windows of "
              f"{h} days", "p10 .. p90 of the s.d. over 30-day windows"),
        entry("tao_usd_log_change", "TAO/USD log(end/start)", "", "log change", h,
              pct(lcs, 50), pct(lcs, 10), pct(lcs, 90), era, SRC_TAO_USD,
              f"{len(lcs)} windows of {h} days: log(TAO/USD at the end / at the start); value = "
              "median over windows (2025 range $214-498; 30 Sep 2026 $300.79)",
              "p10 .. p90 over the windows"),
    ]


def spec_targets() -> list[dict[str, Any]]:
    """Published figures of real-world-targets.md that the data files do not contain."""
    era = "Aug-Sep 2026"
    pools = "TAO in pool per subnet, Aug-Sep 2026 (spec 'Pools')"
    lvl = "level at the end of the run (the default network starts calibrated to it)"
    return [
        entry("pool_tao_p10", "TAO in pool per subnet, p10", "", "TAO", None, 1_195, 830, 1_560,
              era, SRC_SPEC, pools, "stated range ~830-1,560", compare_at=lvl),
        entry("pool_tao_median", "TAO in pool per subnet, median", "", "TAO", None, 6_945, 6_850,
              7_040, era, SRC_SPEC, pools, "stated range ~6,850-7,040", compare_at=lvl),
        entry("pool_tao_p90", "TAO in pool per subnet, p90", "", "TAO", None, 34_100, 33_700,
              34_500, era, SRC_SPEC, pools, "stated range ~33,700-34,500", compare_at=lvl),
        entry("pool_tao_max", "TAO in pool per subnet, max", "", "TAO", None, 209_500, 203_000,
              216_000, era, SRC_SPEC, pools, "stated range ~203k-216k", compare_at=lvl),
        entry("pool_tao_total", "TAO in all pools", "", "TAO", None, 2_000_000, 1_900_000,
              2_100_000, era, SRC_SPEC, "all pools ~2.0M TAO (spec 'Pools')", "assumed +-5%",
              compare_at=lvl),
        entry("tao_in_per_block", "TAO injected into pools per block (tao_in)", "", "TAO/block",
              None, 0.16, 0.12, 0.20, era, SRC_SPEC,
              "~0.16 TAO/block of the 0.5 TAO block reward goes into pools as tao_in",
              "assumed +-25%"),
        entry("subnets_receiving_tao", "subnets receiving TAO (tao_in > 0)", "", "count", None,
              84, 77, 91, era, SRC_SPEC, "77-91 subnets receive TAO (Aug-Sep 2026)",
              "stated range"),
        entry("neuron_burn_median", "UID registration burn, median over subnets", "", "TAO",
              None, 0.02, 0.01, 0.04, "Sep 2026", SRC_SPEC,
              "median ~0.02 TAO; many subnets at the 0.0005 TAO floor", "assumed factor 2",
              compare_at=lvl),
        entry("neuron_burn_max", "UID registration burn, max over subnets", "", "TAO", None, 1.7,
              0.85, 3.4, "Sep 2026", SRC_SPEC, "max ~1.7 TAO", "assumed factor 2",
              compare_at=lvl),
        entry("miner_zero_incentive_share",
              "share of a subnet's miner UIDs with zero incentive (median over subnets)", "",
              "fraction", None, None, 0.5, 1.0, "2025-2026", SRC_SPEC,
              "'most miner UIDs in a subnet earn nothing at a given moment' (qualitative)",
              "more than half (qualitative statement)", compare_at="at the last record"),
        entry("sum_price_log_change", "sum of alpha prices, Aug -> Sep 2026 (reference)", "",
              "log change", 30, math.log(1.19 / 1.28), None, None, era, SRC_SPEC,
              "1.28 (Aug 2026) -> 1.19 (Sep 2026)", "no band: one observation (reference only)",
              reference_only=True),
    ]


def build(data_dir: Path) -> dict[str, Any]:
    """All targets as a TOML-ready dict."""
    p = Prices(data_dir / PRICES_CSV)
    em = read_emission(data_dir / EMISSION_CSV)
    targets = [
        *bleed_targets(p), launch_bleed(p), *volatility_targets(p), *ratio_target(p, em),
        *concentration_targets(p, em), *churn_targets(data_dir / FIRST_SEEN_CSV),
        *tao_usd_targets(data_dir / TAO_USD_CSV), *spec_targets(),
    ]
    return {
        "about": {
            "what": "Real-world figures dtaosim validate compares simulations with.",
            "generated_by": "scripts/build_real_world_targets.py (do not edit by hand)",
            "horizon_days": "0 = a level that applies at any horizon; otherwise the length of "
                            "the real windows, compared with the simulation of nearest length",
            "band": "low .. high: the real spread (rolling windows, days, stated range) or an "
                    "assumed tolerance, as each entry's `band` says",
            "attribution": "derived from MIT-licensed data: alexlange1/alphamind-transparency "
                           "(Copyright (c) 2024 Alphamind) and kylewidmann/"
                           "bittensor-emissions-tracker; see src/dtaosim/data/README.md",
        },
        "target": targets,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", nargs="?", type=Path, default=REPO.parent / "shared" / "data" / "real-world"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "src" / "dtaosim" / "data" / "real_world_targets.toml"
    )
    args = parser.parse_args(argv)
    if not (args.data_dir / PRICES_CSV).is_file():
        print(f"error: {args.data_dir / PRICES_CSV} not found", file=sys.stderr)
        return 2
    doc = build(args.data_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(tomli_w.dumps(doc).encode("utf-8"))
    print(f"wrote {args.out} ({len(doc['target'])} targets)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
