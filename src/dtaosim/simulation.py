"""Scenario driver: the chain kernel plus the exogenous processes of a scenario.

:func:`simulate` advances a state block by block with the compiled kernel and, at the action
cadence, lets the world outside the chain act through the same functions a user would call:

* **stake flows** - each subnet receives a random net TAO flow (a buy or a sell through
  :func:`dtaosim.chain.pools.buy_batch` / :func:`~dtaosim.chain.pools.sell_batch`), Gaussian
  with a standard deviation proportional to the pool's TAO reserve, calibrated so that alpha
  prices move with the daily log-return volatility seen on mainnet (real-world target R3, median
  6.7% a day; constant-product price ~ y**2, so the flow s.d. is half the price s.d.);
* **new subnets** - registrations arrive as a Poisson process (target: one every ~2.05 days)
  through :func:`dtaosim.chain.lifecycle.register_subnet`, which prunes at the subnet limit;
* **emission enabling** - at HEAD new subnets start with emission disabled until root enables
  them; we assume root does so after ``enable_emission_after_days``.

Every run has its own random stream spawned from one ``numpy.random.SeedSequence``, so results
do not depend on how runs are batched. Assumptions are listed in ``docs/assumptions.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .engine import Backend, run_blocks
from .errors import RegistrationError
from .mechanisms import Mechanism
from .state import GI, SF, SI, ChainState
from .units import BLOCKS_PER_DAY


class ExogenousConfig(BaseModel):
    """Exogenous scenario processes (all rates per day of 7,200 blocks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_every_blocks: int = Field(
        300, ge=1, description="cadence of exogenous actions (300 blocks = 1 hour)")
    stake_flow_volatility: float = Field(
        0.0335, ge=0, le=1,
        description="daily s.d. of net stake flow as a fraction of pool TAO (R3: 6.7%/2)")
    stake_flow_drift: float = Field(
        0.0, ge=-1, le=1, description="daily mean net stake flow as a fraction of pool TAO")
    new_subnets_per_day: float = Field(
        0.49, ge=0, le=100, description="Poisson rate of subnet registrations (1 per 2.05 d)")
    enable_emission_after_days: float = Field(
        7.0, ge=0, description="days after registration until root enables emission (assumed)")
    new_subnet_miner_burn_fraction: float = Field(
        0.0, ge=0, le=1, description="miner burn fraction of newly registered subnets")


def _stake_flows(state: ChainState, mech: Mechanism, ex: ExogenousConfig,
                 rngs: list[np.random.Generator], dt_days: float) -> None:
    from .chain.pools import buy_batch, sell_batch

    if ex.stake_flow_volatility == 0.0 and ex.stake_flow_drift == 0.0:
        return
    z = np.stack([g.standard_normal(state.subnets) for g in rngs])
    y = state.ints[:, :, SI.TAO_RESERVE].astype(np.float64)
    flow = y * (ex.stake_flow_drift * dt_days + ex.stake_flow_volatility * math.sqrt(dt_days) * z)
    flow = np.where(state.ints[:, :, SI.EXISTS] != 0, flow, 0.0)
    buys = np.floor(np.maximum(flow, 0.0)).astype(np.int64)
    if buys.any():
        buy_batch(state, mech, buys)
    # sells: the TAO amount to withdraw, converted to alpha at the spot price
    price = state.spot_price()
    tao_out = np.maximum(-flow, 0.0)
    alpha = np.floor(np.where(price > 0, tao_out / np.where(price > 0, price, 1.0), 0.0))
    alpha = np.minimum(alpha, state.ints[:, :, SI.STAKE_STAKERS]).astype(np.int64)
    if alpha.any():
        sell_batch(state, mech, alpha)


def _registrations(state: ChainState, mech: Mechanism, ex: ExogenousConfig,
                   rngs: list[np.random.Generator], dt_days: float) -> None:
    from .chain.lifecycle import register_subnet

    if ex.new_subnets_per_day <= 0.0:
        return
    for r, g in enumerate(rngs):
        for _ in range(int(g.poisson(ex.new_subnets_per_day * dt_days))):
            try:
                res = register_subnet(state, mech, r, state.block)
            except RegistrationError:
                continue
            burn = ex.new_subnet_miner_burn_fraction
            state.floats[r, res.netuid - 1, SF.MINER_BURN_FRACTION] = burn


def _enable_emission(state: ChainState, ex: ExogenousConfig) -> None:
    age = state.block - state.ints[:, :, SI.REGISTERED_AT]
    due = ((state.ints[:, :, SI.EXISTS] != 0) & (state.ints[:, :, SI.EMISSION_ENABLED] == 0)
           & (age >= ex.enable_emission_after_days * BLOCKS_PER_DAY))
    state.ints[:, :, SI.EMISSION_ENABLED] |= due


def apply_exogenous(state: ChainState, mech: Mechanism, ex: ExogenousConfig,
                    rngs: list[np.random.Generator], dt_blocks: int) -> None:
    """Apply one action step of the exogenous processes to ``state`` in place."""
    dt_days = dt_blocks / BLOCKS_PER_DAY
    _stake_flows(state, mech, ex, rngs, dt_days)
    _registrations(state, mech, ex, rngs, dt_days)
    _enable_emission(state, ex)


def simulate(
    state: ChainState,
    mech: Mechanism,
    *,
    blocks: int,
    record_every: int,
    seed: int,
    exogenous: ExogenousConfig | None = None,
    check_invariants: bool = True,
    on_record: Callable[[ChainState], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    backend: Backend = "numba",
) -> ChainState:
    """Simulate ``blocks`` blocks from ``state`` and return the final state.

    Parameters
    ----------
    state
        Initial state (not modified); every run starts from its own row.
    mech
        Mechanism version and constants.
    blocks
        Number of blocks to simulate.
    record_every
        ``on_record`` is called with the initial state, every ``record_every`` blocks and at
        the end.
    seed
        Experiment seed; run ``r`` uses child ``r`` of ``SeedSequence(seed)``.
    exogenous
        Scenario processes (stake flows, registrations); defaults to :class:`ExogenousConfig`.
    check_invariants
        Check conservation after every block (and after every exogenous action).
    on_record, on_progress
        Callbacks: a state to record, and the number of blocks done so far.
    backend
        Kernel backend, ``"numba"`` or ``"numpy"``.

    Raises
    ------
    InvariantViolation
        If a conservation check fails.
    """
    from .chain.invariants import check_state

    if blocks < 0 or record_every < 1:
        raise ValueError("blocks must be >= 0 and record_every >= 1")
    ex = exogenous if exogenous is not None else ExogenousConfig()
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(state.runs)]
    state = state.copy()
    state.meta.setdefault("start_block", state.block)
    if state.gints[:, GI.BLOCK_EMISSION].max() == 0:
        state.gints[:, GI.BLOCK_EMISSION] = mech.default_block_emission
    if on_record:
        on_record(state)
    act = ex.action_every_blocks
    done = 0
    while done < blocks:
        nxt = min(blocks, (done // act + 1) * act, (done // record_every + 1) * record_every)
        state = run_blocks(state, mech, nxt - done, check_invariants=check_invariants,
                           backend=backend)
        done = nxt
        if done % act == 0:
            apply_exogenous(state, mech, ex, rngs, act)
            if check_invariants:
                check_state(state)
        if on_record and (done % record_every == 0 or done == blocks):
            on_record(state)
        if on_progress:
            on_progress(done)
    return state
