"""The reduced model on dtaosim's real engine: ``dtaosim.simulate`` with the compiled kernel.

Mechanism ``dtao-2025-02`` with ``owner_cut = 0``; state edits: root stake moved to free TAO,
tempo 0 (see :mod:`model`). Stake flows are dtaosim's own exogenous process
(``buy_batch``/``sell_batch`` every 300 blocks) drawing from the same seeded streams as the
peers' pre-drawn ``z``. Invariant checks on (dtaosim's default) unless ``checks=False``.
"""

from __future__ import annotations

import model as m


def prepare(network: str, runs: int, subnets: int = m.SUBNETS):
    """Initial state (not timed) and a warm-up that loads the compiled kernel from its cache."""
    from dtaosim.experiments.simulation import simulate

    mech = m.mechanism()
    warm = m.dtaosim_state(network, 1, subnets)
    simulate(warm, mech, blocks=m.FLOW_EVERY, record_every=m.FLOW_EVERY, seed=m.SEED,
             exogenous=m.exogenous())
    return m.dtaosim_state(network, runs, subnets)


def run(state, blocks: int, checks: bool = True):
    """Final ``(tao, alpha_in, alpha_out, ema)``, each ``(runs, subnets)``."""
    from dtaosim.experiments.simulation import simulate

    final = simulate(state, m.mechanism(), blocks=blocks, record_every=max(blocks, 1),
                     seed=m.SEED, exogenous=m.exogenous(), check_invariants=checks)
    return final.tao_reserve, final.alpha_in, final.alpha_out, final.price_ema
