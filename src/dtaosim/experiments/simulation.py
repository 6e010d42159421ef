"""Scenario driver: the chain kernel plus the processes of a scenario, block by block.

:func:`simulate` advances a state with the compiled kernel (:mod:`dtaosim.chain.engine`) and, at
the action cadence, lets the outside world act through the chain's own functions
(:func:`dtaosim.agents.exogenous.apply_exogenous`) and, when given an
:class:`~dtaosim.agents.economy.Economy`, lets the agents act after it (hourly, with their daily
decisions once a day). Every run has its own random stream per random process
(:class:`~dtaosim.agents.streams.RunStreams`, spawned from one ``numpy.random.SeedSequence``),
so results do not depend on how runs are batched, and configurations that differ only in their
rules share their random numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from dtaosim.agents.economy import Economy
from dtaosim.agents.exogenous import ExogenousConfig, apply_exogenous
from dtaosim.agents.streams import RunStreams
from dtaosim.chain.engine import Backend, advance_in_place
from dtaosim.chain.presets import Mechanism
from dtaosim.state.chain_state import GI, ChainState

__all__ = ["simulate"]


def simulate(
    state: ChainState,
    mech: Mechanism,
    *,
    blocks: int,
    record_every: int,
    seed: int,
    exogenous: ExogenousConfig | None = None,
    economy: Economy | None = None,
    check_invariants: bool = True,
    on_record: Callable[[ChainState], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    backend: Backend = "numba",
    copy: bool = True,
) -> ChainState:
    """Simulate ``blocks`` blocks from ``state`` and return the final state.

    Parameters
    ----------
    state
        Initial state (not modified unless ``copy=False``); every run starts from its own row.
    mech
        Mechanism version and constants.
    blocks
        Number of blocks to simulate.
    record_every
        ``on_record`` is called with the initial state, every ``record_every`` blocks and at
        the end.
    seed
        Experiment seed; process ``p`` of run ``r`` draws from
        ``SeedSequence(seed, spawn_key=(r, p))`` (:mod:`dtaosim.agents.streams`).
    exogenous
        Scenario processes (stake flows, registrations); defaults to :class:`ExogenousConfig`.
        With an ``economy`` its stake flows and scripted hotkey registrations (assumption A15)
        are off: the economy's noise traders and miner teams take their place.
    economy
        The agents (modified in place); None for the chain and the exogenous processes only.
    check_invariants
        Check conservation after every block (and after every exogenous action).
    on_record, on_progress
        Callbacks: a state to record, and the number of blocks done so far.
    backend
        Kernel backend, ``"numba"`` or ``"numpy"``.
    copy
        ``False``: advance ``state`` itself and return it (saves a copy of a large state; the
        caller gives ``state`` up).

    Raises
    ------
    InvariantViolation
        If a conservation check fails.
    """
    from dtaosim.state.invariants import check_state

    if blocks < 0 or record_every < 1:
        raise ValueError("blocks must be >= 0 and record_every >= 1")
    ex = exogenous if exogenous is not None else ExogenousConfig()
    if economy is not None:
        update = {"uid_registrations_per_day": 0.0, "stake_flow_volatility": 0.0,
                  "stake_flow_drift": 0.0}
        if economy.replaces_registrations:  # owners register by expected value (C6)
            economy.registration_rate = ex.new_subnets_per_day
            update["new_subnets_per_day"] = 0.0
        ex = ex.model_copy(update=update)
    rngs = RunStreams(seed, state.runs)
    if copy:
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
        advance_in_place(state, mech, nxt - done, check_invariants=check_invariants,
                         backend=backend)
        done = nxt
        if done % act == 0:
            apply_exogenous(state, mech, ex, rngs, act)
            if economy is not None:
                economy.step(state, mech, act)
            if check_invariants:
                check_state(state)
        if on_record and (done % record_every == 0 or done == blocks):
            on_record(state)
        if on_progress:
            on_progress(done)
    return state
