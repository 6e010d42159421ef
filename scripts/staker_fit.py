"""Fit the stakers on one period of the real alpha prices and check them on another (issue 11).

The real price file (20 Feb - 29 Oct 2025) is cut at its middle day (25 Jun 2025) into period A
(launch era) and period B (the later, mature half, nearest the default network's state). For
each period and window length H the script computes, as ``scripts/build_real_world_targets.py``
does for the whole file, over every window of H days lying inside the period: the median over
subnets of log(price end / price start), the share of subnets falling and the log change of
the sum of prices; median and p10-p90 over windows.

Simulated runs come from ``scripts/loop_study.py`` (its JSON holds per-subnet prices and
registration blocks at every record). For a segment [a, b] of simulated days the same three
statistics are computed per run over subnets present at both ends with the same registration
that were registered at least 7 days before a; median and p10-p90 over runs.

Usage::

    python scripts/staker_fit.py --prices ../shared/data/real-world/alpha_prices_daily_*.csv \\
        --study fit.json [--study more.json] --segments 0-90,90-180,0-180
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from build_real_world_targets import Prices

BLOCKS_PER_DAY = 7200
SETTLED_DAYS = 7


def real_periods(path: Path, hs: list[int]) -> dict[str, dict[int, dict[str, tuple]]]:
    """Per period (A, B) and window length: (median, p10, p90) over windows of each statistic."""
    p = Prices(path)
    d0, d1 = p.dates[0], p.dates[-1]
    mid = d0 + (d1 - d0) / 2
    out: dict[str, dict[int, dict[str, tuple]]] = {}
    for name, lo, hi in (("A", d0, mid), ("B", mid, d1)):
        out[name] = {}
        for h in hs:
            st: dict[str, list[float]] = {"median": [], "falling": [], "sum": []}
            for a, b in p.windows(h):
                if a < lo or b > hi:
                    continue
                common = sorted(set(p.last[a]) & set(p.last[b]))
                if len(common) < 10:
                    continue
                lc = np.log([p.last[b][k] / p.last[a][k] for k in common])
                st["median"].append(float(np.median(lc)))
                st["falling"].append(float((lc < 0).mean()))
                st["sum"].append(math.log(sum(p.last[b].values()) / sum(p.last[a].values())))
            out[name][h] = {k: (float(np.median(v)), float(np.percentile(v, 10)),
                                float(np.percentile(v, 90)), len(v)) if v else None
                            for k, v in st.items()}
        out[name]["span"] = (str(lo), str(hi))
    return out


def segment(arm: dict, a: float, b: float) -> dict[str, tuple]:
    """Statistics of simulated days [a, b] per run; (median, p10, p90) over runs."""
    day = np.array(arm["day"])
    i, j = int(np.argmin(np.abs(day - a))), int(np.argmin(np.abs(day - b)))
    pa, pb = np.array(arm["price"][i]), np.array(arm["price"][j])
    ra, rb = np.array(arm["registered_at"][i]), np.array(arm["registered_at"][j])
    settled = ra <= arm["block"][i] - SETTLED_DAYS * BLOCKS_PER_DAY
    keep = (ra == rb) & (ra >= 0) & (pa > 0) & (pb > 0) & settled
    st: dict[str, list[float]] = {"median": [], "falling": [], "sum": []}
    for r in range(pa.shape[0]):
        k = keep[r]
        if k.sum() < 10:
            continue
        lc = np.log(pb[r, k] / pa[r, k])
        st["median"].append(float(np.median(lc)))
        st["falling"].append(float((lc < 0).mean()))
        st["sum"].append(math.log(pb[r].sum() / pa[r].sum()))
    return {k: (float(np.median(v)), float(np.percentile(v, 10)), float(np.percentile(v, 90)),
                len(v)) for k, v in st.items()}


def _cell(t: tuple | None) -> str:
    return "-" if t is None else f"{t[0]:+.2f} [{t[1]:+.2f}, {t[2]:+.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prices", type=Path, required=True)
    ap.add_argument("--study", type=Path, action="append", default=[])
    ap.add_argument("--segments", default="0-90,90-180,0-180")
    ap.add_argument("--arms", default=None, help="comma list (default: every arm)")
    ap.add_argument("--fit", default="0-90:B",
                    help="SEGMENT:PERIOD the arms are ranked on: distance of the simulated "
                         "medians from the real period's windows of the segment's length, each "
                         "statistic divided by half the real p10-p90 band")
    a = ap.parse_args()
    segs = [tuple(float(x) for x in s.split("-")) for s in a.segments.split(",")]
    fseg, fper = a.fit.split(":")
    fs, fb = (float(x) for x in fseg.split("-"))
    hs = sorted({int(round(b - s)) for s, b in segs} | {int(round(fb - fs))})
    real = real_periods(a.prices, hs)
    print("| real period | window | windows | median subnet log change | share falling | "
          "sum of prices log change |")
    print("|---|---|---|---|---|---|")
    for name in ("A", "B"):
        lo, hi = real[name]["span"]
        for h in hs:
            r = real[name][h]
            n = r["median"][3] if r["median"] else 0
            print(f"| {name} ({lo} - {hi}) | {h} d | {n} | {_cell(r['median'])} | "
                  f"{_cell(r['falling'])} | {_cell(r['sum'])} |")
    res: dict = {}
    for f in a.study:
        res.update(json.loads(f.read_text()))
    arms = a.arms.split(",") if a.arms else list(res)
    print("\n| arm | days | runs | median subnet log change | share falling | "
          "sum of prices log change |")
    print("|---|---|---|---|---|---|")
    for name in arms:
        for s, b in segs:
            st = segment(res[name], s, b)
            print(f"| {name} | {s:g}-{b:g} | {st['median'][3]} | {_cell(st['median'])} | "
                  f"{_cell(st['falling'])} | {_cell(st['sum'])} |")
    target = real[fper][int(round(fb - fs))]
    print(f"\nFit: days {fseg} against period {fper} (distance: sqrt of the sum over the three "
          "statistics of ((sim median - real median) / (half the real p10-p90 band))^2)\n")
    print("| arm | distance |")
    print("|---|---|")
    dist = {}
    for name in arms:
        st = segment(res[name], fs, fb)
        dist[name] = math.sqrt(sum(((st[k][0] - target[k][0]) / ((target[k][2] - target[k][1]) / 2))
                                   ** 2 for k in ("median", "falling", "sum")))
    for name in sorted(dist, key=dist.get):
        print(f"| {name} | {dist[name]:.2f} |")


if __name__ == "__main__":
    main()
