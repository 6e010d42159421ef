#!/usr/bin/env python3
"""Build ``src/dtaosim/data/default_network.json``, the embedded default network.

Usage::

    python scripts/build_default_network.py [DATA_DIR] [--out FILE]

``DATA_DIR`` defaults to ``<repo>/../shared/data/real-world`` (MIT-licensed data; see
``src/dtaosim/data/README.md``). The output is deterministic: no randomness, integer Weyl
sequences where a per-subnet assumption needs variety, and every float rounded before use so
that the file does not depend on the platform's last-digit ``log``/``exp``.

Every modelling choice is a named constant below and is restated in the JSON ``source`` text and
in ``src/dtaosim/data/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import statistics
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from dtaosim.io.snapshot import (  # noqa: E402
    ANCHOR_BLOCK,
    Snapshot,
    SubnetSnapshot,
    block_to_timestamp,
    save_snapshot,
)

RAO = 10**9
DAY = 7_200
PRICES_CSV = "alpha_prices_daily_2025-02-20_2025-10-29.csv"
FIRST_SEEN_CSV = "subnet_first_seen_2025.csv"

# --- dates (block = ANCHOR_BLOCK + 7,200 x days since 2025-02-20)
ANCHOR_DATE = date(2025, 2, 20)
SNAPSHOT_DATE = date(2026, 9, 30)
LAUNCH_DATE = date(2025, 2, 13)  # dTAO launch: netuids 1-64 registered and emitting
HALVING_DATE = date(2025, 12, 15)  # TotalIssuance reached 10.5M TAO
HEAD_CAP_DATE = date(2026, 6, 22)  # injection cap = root_prop x alpha_emission, alpha kept
LATE_START_DATE = date(2025, 10, 30)  # start_call of a subnet never seen emitting in the data
LAUNCH_NETUIDS = 64

# --- network (assumed unless stated)
HALVING_ISSUANCE_TAO = 10_500_000
BLOCK_EMISSION_RAO = RAO // 2  # 0.5 TAO after the first halving
ROOT_STAKE_TAO = 6_000_000  # assumed: pools + root ~70% of issuance staked (see README)
TAO_WEIGHT = 0.18  # mainnet operational value
LAST_LOCK_COST_TAO = 1_500  # assumed
LAST_LOCK_AGE_BLOCKS = 28_800  # NetworkRateLimit: last registration 4 days ago
LOCKED_TAO = 1_000  # NetworkMinLockCost, assumed for every subnet
TEMPO = 360
OWNER_CUT = 11_796 / 65_535

# --- prices and pools
PRICE_SUM = 1.19  # sum of alpha prices, Sep 2026
POOL_TAO_QUANTILES = (  # (quantile, TAO), log-linear in between; Aug-Sep 2026 figures
    (0.00, 500.0),  # assumed floor (half a minimum lock)
    (0.10, 1_200.0),  # p10 ~830-1,560
    (0.50, 6_950.0),  # median ~6,850-7,040
    (0.90, 34_100.0),  # p90 ~33,700-34,500
    (0.95, 50_000.0),  # assumed shape of the tail: total ~2.0M TAO
    (0.99, 120_000.0),  # assumed
    (1.00, 210_000.0),  # max ~203k-216k
)

# --- owner behaviour (assumed, deterministic by netuid)
FULL_BURN_SHARE = 0.35  # owners burning all miner emission
PARTIAL_BURN_SHARE = 0.25  # owners burning part of it (10% .. 90%)
NEURON_BURN_QUANTILES = (  # (quantile, TAO): 25% at the 0.0005 floor, median 0.02, max ~1.7
    (0.25, 0.0005),
    (0.50, 0.02),
    (1.00, 1.7),
)


def block_at(d: date) -> int:
    """Block at 00:00 UTC of ``d`` on the 12-second grid."""
    return ANCHOR_BLOCK + DAY * (d - ANCHOR_DATE).days


def sig(x: float, digits: int = 12) -> float:
    """``x`` rounded to ``digits`` significant digits (platform-proof floats)."""
    return float(f"{x:.{digits}g}")


def loglinear(anchors: tuple[tuple[float, float], ...], q: float) -> float:
    """Piecewise log-linear interpolation of ``anchors`` at ``q``."""
    for (q0, v0), (q1, v1) in itertools.pairwise(anchors):
        if q <= q1:
            t = (q - q0) / (q1 - q0)
            return math.exp(math.log(v0) + t * (math.log(v1) - math.log(v0)))
    return anchors[-1][1]


def weyl(n: int, mult: int) -> float:
    """Deterministic, evenly spread number in [0, 1) for netuid ``n`` (integer Weyl sequence)."""
    return (n * mult % 65_536) / 65_536


def miner_burn_fraction(netuid: int) -> float:
    """Assumed owner behaviour: 35% burn everything, 25% burn 10-90%, 40% burn nothing."""
    v = weyl(netuid, 46_341)  # 65536 / sqrt(2)
    if v < FULL_BURN_SHARE:
        return 1.0
    if v < FULL_BURN_SHARE + PARTIAL_BURN_SHARE:
        return round(0.1 + 0.8 * (v - FULL_BURN_SHARE) / PARTIAL_BURN_SHARE, 2)
    return 0.0


def neuron_burn_rao(netuid: int) -> int:
    """Assumed UID burn: a quarter at the floor, log-linear up to ~1.7 TAO (median ~0.02)."""
    u = weyl(netuid, 40_503)  # 65536 / golden ratio
    tao = loglinear(NEURON_BURN_QUANTILES, max(u, NEURON_BURN_QUANTILES[0][0]))
    return int(sig(tao, 6) * RAO)


def alpha_emitted(alpha_in: int, blocks: int) -> int:
    """alpha_out minted in ``blocks`` blocks at 1 alpha/block, halving like TAO per subnet.

    The rate is ``2**-k`` alpha while issuance (alpha_in + alpha_out) is below
    ``21M x (1 - 2**-(k+1))``; alpha_in is held at its snapshot value.
    """
    out, k = 0, 0
    while blocks > 0 and k < 64:
        rate = RAO >> k
        room = 21_000_000 * RAO - (21_000_000 * RAO >> (k + 1)) - (alpha_in + out)
        if room > 0 and rate > 0:
            n = min(blocks, -(-room // rate))
            out += n * rate
            blocks -= n
        k += 1
    return out


def read_data(data_dir: Path) -> tuple[dict[int, int], dict[int, int], dict[int, float], str]:
    """Registration block, first emission block and last-day price per netuid, last date."""
    registered: dict[int, int] = {}
    with open(data_dir / FIRST_SEEN_CSV, newline="") as f:
        for row in csv.DictReader(f):
            registered[int(row["netuid"])] = int(row["first_block_sampled"])
    rows = []
    with open(data_dir / PRICES_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    last_date = max(r["date"] for r in rows)
    first_emission: dict[int, int] = {}
    price: dict[int, float] = {}
    for r in sorted(rows, key=lambda r: r["date"]):
        if r["flag_price_gt_0_5"].strip() != "0":  # start-up pool: emission not started yet
            continue
        n = int(r["netuid"])
        first_emission.setdefault(n, int(r["block_first"]))
        if r["date"] == last_date:
            price[n] = float(r["price_last"])
    return registered, first_emission, price, last_date


def build(data_dir: Path) -> Snapshot:
    """The default network snapshot from the real-world data in ``data_dir``."""
    registered, first_seen_emission, raw_price, last_date = read_data(data_dir)
    netuids = sorted(registered)
    block = block_at(SNAPSHOT_DATE)
    launch = block_at(LAUNCH_DATE)

    # relative prices of the last day; a subnet without one gets the median; scaled to PRICE_SUM
    median = statistics.median(raw_price.values())
    rel = {n: raw_price.get(n, median) for n in netuids}
    scale = PRICE_SUM / sum(rel.values())
    price = {n: sig(rel[n] * scale) for n in netuids}

    # pool depth by price rank: the k-th cheapest subnet gets quantile k/(N-1)
    by_price = sorted(netuids, key=lambda n: (price[n], n))
    pool = {
        n: round(loglinear(POOL_TAO_QUANTILES, k / (len(netuids) - 1)) * 1000) * (RAO // 1000)
        for k, n in enumerate(by_price)
    }
    alpha_in = {n: int(pool[n] / price[n]) for n in netuids}

    reg = {n: launch if n <= LAUNCH_NETUIDS else registered[n] for n in netuids}
    first = {
        n: launch if n <= LAUNCH_NETUIDS else first_seen_emission.get(n, block_at(LATE_START_DATE))
        for n in netuids
    }
    emitted = {n: alpha_emitted(alpha_in[n], block - first[n]) for n in netuids}
    root = ROOT_STAKE_TAO * RAO
    rho = {n: TAO_WEIGHT * root / (TAO_WEIGHT * root + alpha_in[n] + emitted[n]) for n in netuids}
    burn = {n: miner_burn_fraction(n) for n in netuids}

    # chain buys since the HEAD cap: (E_i - rho_i p_i) / p_i alpha a block, E_i by HEAD shares
    weight = {n: price[n] * (1.0 - burn[n]) for n in netuids}
    total_weight = sum(weight.values())
    protocol = {
        n: int(sig(max(0.0, 0.5 * weight[n] / total_weight / price[n] - rho[n]), 9) * RAO)
        * (block - max(first[n], block_at(HEAD_CAP_DATE)))
        for n in netuids
    }

    subnets = []
    owner_per_block = int(RAO * OWNER_CUT)
    rest = RAO - owner_per_block
    for n in netuids:
        last_epoch = block - (block + n + 1) % (TEMPO + 1)  # legacy phase, back-filled
        since = block - last_epoch
        root_pb = int(sig(rho[n], 9) * (rest // 2))
        subnets.append(
            SubnetSnapshot(
                netuid=n,
                tao_reserve_rao=pool[n],
                alpha_in_rao=alpha_in[n],
                alpha_out_rao=emitted[n] + protocol[n],
                price_ema=min(price[n], 1.0),
                registered_at_block=reg[n],
                first_emission_block=first[n],
                tempo=TEMPO,
                last_epoch_block=last_epoch,
                emission_enabled=True,
                registration_allowed=True,
                miner_burn_fraction=burn[n],
                neuron_burn_rao=neuron_burn_rao(n),
                pending_server_rao=since * (rest // 2),
                pending_validator_rao=since * (rest - rest // 2 - root_pb),
                pending_root_rao=since * root_pb,
                pending_owner_rao=since * owner_per_block,
                protocol_alpha_rao=protocol[n],
                locked_tao_rao=LOCKED_TAO * RAO,
                legacy=True,
            )
        )
    halving = block_at(HALVING_DATE)
    issuance = HALVING_ISSUANCE_TAO * RAO + BLOCK_EMISSION_RAO * (block - halving)
    source = (
        f"dtaosim default network at {SNAPSHOT_DATE} (block {block} = {ANCHOR_BLOCK} + 7,200 x "
        f"days since {ANCHOR_DATE}), built by scripts/build_default_network.py from the "
        f"real-world data (prices of {last_date}, first-seen dates); modelling choices in "
        "dtaosim/data/README.md. Issuance 10.5M TAO at the halving on "
        f"{HALVING_DATE}, then 0.5 TAO/block, nothing recycled. Relative prices: last-day closing "
        "prices excluding start-up rows (flag_price_gt_0_5), a subnet without one at the median, "
        f"scaled to sum {PRICE_SUM}. Pool TAO by price rank from a log-linear quantile curve "
        "(p10 1,200, median 6,950, p90 34,100, max 210,000 TAO); alpha_in = pool TAO / price; "
        "price EMA = min(price, 1). alpha_out = 1 alpha/block since first emission (per-subnet "
        "halving applied) + protocol alpha bought since "
        f"{HEAD_CAP_DATE} under the HEAD rule; pending buckets = accrual since the last epoch. "
        f"Assumed: root stake {ROOT_STAKE_TAO:,} TAO, tao_weight {TAO_WEIGHT}, owners burning "
        f"all/part/none of the miner emission {FULL_BURN_SHARE:.0%}/{PARTIAL_BURN_SHARE:.0%}/"
        f"{1 - FULL_BURN_SHARE - PARTIAL_BURN_SHARE:.0%}, UID burn median 0.02 TAO, lock "
        f"{LOCKED_TAO:,} TAO per subnet, last lock cost {LAST_LOCK_COST_TAO:,} TAO 4 days ago."
    )
    attribution = (
        "Derived from github.com/alexlange1/alphamind-transparency (emissions_v2/, commit "
        "af578eba), MIT License, Copyright (c) 2024 Alphamind."
    )
    return Snapshot(
        block=block,
        timestamp=block_to_timestamp(block),
        source=source,
        attribution=attribution,
        total_issuance_rao=issuance,
        root_stake_rao=root,
        last_lock_cost_rao=LAST_LOCK_COST_TAO * RAO,
        last_lock_block=block - LAST_LOCK_AGE_BLOCKS,
        block_emission_rao=BLOCK_EMISSION_RAO,
        subnets=subnets,
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", nargs="?", type=Path, default=REPO.parent / "shared" / "data" / "real-world"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "src" / "dtaosim" / "data" / "default_network.json"
    )
    args = parser.parse_args(argv)
    snap = build(args.data_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_snapshot(snap, args.out)
    print(f"wrote {args.out} ({len(snap.subnets)} subnets, block {snap.block})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
