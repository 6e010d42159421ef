"""Speed of the default run with agents, side by side with the same run without them.

Three configurations of the default 30-day run (embedded default network, 256 UIDs, 64
validators, one Monte Carlo run, conservation checks on, no output written), each in this
process and alternated over ``--repeats`` so that drifts of a shared machine hit all alike:

* ``chain``: the chain kernel plus Yuma, with validators keeping their weights fresh and the
  exogenous stake flows and subnet registrations of the baseline, but no hotkey registrations
  (the bare chain the agents act on);
* ``no-agents``: ``dtaosim run --no-agents`` (the same, plus assumption A15's 60 scripted
  hotkey registrations a day on every subnet, each through ``register_hotkey``);
* ``agents-10``: issue 10's agents only (miner teams, market, selling, entry, exit,
  validators' rank scoring; issue 11's owners' decisions, stakers and outside demand off);
* ``agents``: ``dtaosim run`` (baseline scenario: every actor, issue 11's owners, stakers and
  usefulness loop included; A15 off).

Prints a Markdown table of medians, the ratios, and how the agents' time splits between their
hourly and daily steps. Usage::

    python benchmarks/bench_agents.py [--days 30] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numba

from dtaosim.experiments.config import RunConfig, resolve_mechanism
from dtaosim.experiments.run import initial_state, make_economy
from dtaosim.experiments.simulation import simulate

ISSUE10 = {"owners": {"enabled": False}, "stakers": {"enabled": False},
           "usefulness": {"demand_enabled": False}}


def run(cfg: RunConfig, state, mech, *, agents: bool, a15: bool) -> tuple[float, float, float]:
    """Wall time of one simulation, and of the economy's hourly and daily work within it."""
    ex = cfg.exogenous if a15 else cfg.exogenous.model_copy(
        update={"uid_registrations_per_day": 0.0})
    eco = make_economy(cfg, state) if agents else None
    spent = {"hourly": 0.0, "daily": 0.0}
    if eco is not None:
        step, daily = eco.step, eco._daily

        def timed_daily(*a, **k):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            daily(*a, **k)
            spent["daily"] += time.perf_counter() - t

        def timed_step(*a, **k):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            step(*a, **k)
            spent["hourly"] += time.perf_counter() - t

        eco._daily = timed_daily  # type: ignore[method-assign]
        eco.step = timed_step  # type: ignore[method-assign]
    t0 = time.perf_counter()
    simulate(state, mech, blocks=cfg.blocks, record_every=cfg.blocks, seed=cfg.seed,
             exogenous=ex, economy=eco, check_invariants=True)
    wall = time.perf_counter() - t0
    return wall, spent["hourly"] - spent["daily"], spent["daily"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    numba.set_num_threads(a.threads)
    cfg = RunConfig(days=a.days)
    cfg10 = RunConfig(days=a.days, **ISSUE10)
    mech = resolve_mechanism(cfg)
    state = initial_state(cfg, mech)
    warm = RunConfig(days=1.1)  # compile everything outside the timed region
    for agents, a15 in ((False, False), (False, True), (True, False)):
        run(warm, initial_state(warm, mech), mech, agents=agents, a15=a15)
    times: dict[str, list[float]] = {"chain": [], "no-agents": [], "agents-10": [],
                                     "agents": []}
    hourly, daily = [], []
    for _ in range(a.repeats):
        times["chain"].append(run(cfg, state, mech, agents=False, a15=False)[0])
        times["no-agents"].append(run(cfg, state, mech, agents=False, a15=True)[0])
        times["agents-10"].append(run(cfg10, state, mech, agents=True, a15=False)[0])
        w, h, d = run(cfg, state, mech, agents=True, a15=False)
        times["agents"].append(w)
        hourly.append(h)
        daily.append(d)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba {numba.__version__}, {a.threads} thread(s); {a.days:g} days, 256 UIDs, "
          f"{a.repeats} repeats (median)")
    print()
    print("| configuration | wall s (median) | all repeats |")
    print("|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {med[k]:.1f} | {', '.join(f'{x:.1f}' for x in v)} |")
    print()
    print(f"agents / chain = {med['agents'] / med['chain']:.2f}x; "
          f"agents / no-agents = {med['agents'] / med['no-agents']:.2f}x; "
          f"agents / agents-10 = {med['agents'] / med['agents-10']:.2f}x")
    print(f"agents' own time: hourly steps {statistics.median(hourly):.1f} s, daily steps "
          f"{statistics.median(daily):.1f} s (median per run)")


if __name__ == "__main__":
    main()
