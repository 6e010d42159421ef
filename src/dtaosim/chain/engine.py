"""Advancing the chain state by blocks: the compiled kernel or the NumPy reference.

:func:`run_blocks` is the pure step of the architecture: it takes a state and returns a new
state ``n_blocks`` later, leaving its input untouched. All runs advance together; with the
``numba`` backend they are spread over the machine's cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numba
import numpy as np
from numpy.typing import NDArray

from dtaosim.chain.emission import halving_thresholds
from dtaosim.chain.presets import Mechanism, kernel_params
from dtaosim.errors import InvariantViolation
from dtaosim.state.chain_state import ChainState
from dtaosim.state.neurons import NeuronState

__all__ = ["Backend", "advance_in_place", "compile_timer", "kernel_cached", "run_blocks",
           "warm_up"]

Backend = Literal["numba", "numpy"]


@lru_cache(maxsize=8)
def _thresholds(total_supply: int) -> NDArray[np.int64]:
    return halving_thresholds(total_supply)


@lru_cache(maxsize=1)
def _no_neurons() -> NeuronState:
    return NeuronState.empty(1, 1, 1)  # placeholder arrays for a state without UIDs


def run_blocks(
    state: ChainState,
    mech: Mechanism,
    n_blocks: int,
    *,
    check_invariants: bool = True,
    backend: Backend = "numba",
) -> ChainState:
    """Return the state ``n_blocks`` blocks after ``state`` under mechanism ``mech``.

    Parameters
    ----------
    state
        Start state (not modified). If it carries neurons (``state.neurons``), every epoch runs
        Yuma consensus and pays the UIDs; otherwise the aggregate holders are paid.
    mech
        Mechanism version and constants.
    n_blocks
        Number of blocks to run (>= 0).
    check_invariants
        Check TAO and alpha conservation and non-negativity after every block.
    backend
        ``"numba"`` (compiled block loop, parallel over runs) or ``"numpy"`` (reference, without
        UIDs).

    Returns
    -------
    ChainState
        The new state; ``state.block`` advanced by ``n_blocks``.

    Raises
    ------
    InvariantViolation
        If a conservation check fails; names the block, run, subnet and quantity.
    """
    new = state.copy()
    advance_in_place(new, mech, n_blocks, check_invariants=check_invariants, backend=backend)
    return new


def _call_kernel(state: ChainState, mech: Mechanism, n_blocks: int,
                 check_invariants: bool) -> NDArray[np.int64]:
    """Run the compiled kernel on ``state``'s arrays; returns its error array."""
    from dtaosim.chain.kernel import advance

    err = np.zeros((state.runs, 4), dtype=np.int64)
    nrn = state.neurons if state.neurons is not None else _no_neurons()
    # no more threads than runs: an idle thread still joins every call, which stalls a
    # single run whenever another process holds the other core
    threads = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, state.runs)))
    try:
        advance(state.ints_fm, state.floats_fm, state.gints, state.block, n_blocks,
                kernel_params(mech, check_invariants), _thresholds(mech.total_supply), err,
                state.neurons is not None, nrn.ints, nrn.floats, nrn.permit, nrn.weights,
                nrn.bonds, nrn.hyper)
    finally:
        numba.set_num_threads(threads)
    return err


def advance_in_place(
    state: ChainState,
    mech: Mechanism,
    n_blocks: int,
    *,
    check_invariants: bool = True,
    backend: Backend = "numba",
) -> None:
    """:func:`run_blocks` on ``state`` itself (no copy; for drivers that own their state).

    On an :class:`InvariantViolation` the state is left at the failing block and must not be
    used further.
    """
    if n_blocks < 0:
        raise ValueError("n_blocks must be >= 0")
    if n_blocks == 0:
        return
    if backend == "numba":
        from dtaosim.chain.kernel import ERROR_NAMES

        err = _call_kernel(state, mech, n_blocks, check_invariants)
        bad = np.flatnonzero(err[:, 0])
        if bad.size:
            r = int(bad[0])
            code, block, netuid, value = (int(v) for v in err[r])
            raise InvariantViolation(ERROR_NAMES[code], block, r, netuid if netuid > 0 else -1,
                                     f"off by {value} RAO")
        state.block += n_blocks
        return
    if backend == "numpy":
        from dtaosim.chain.step_numpy import step_numpy
        from dtaosim.state.invariants import check_state

        if state.neurons is not None:
            raise ValueError("the numpy backend has no UIDs: use backend='numba' for a state "
                             "with neurons")
        for _ in range(n_blocks):
            step_numpy(state, mech)
            if check_invariants:
                check_state(state)
        return
    raise ValueError(f"unknown backend {backend!r}")


# ---------------------------------------------------------------------------------- compilation
def kernel_cached() -> bool | None:
    """Whether the block kernel is ready without compiling: ``True`` when it is compiled in
    this process or numba's on-disk cache holds it for the current sources, ``False`` when it
    must be compiled (a first run, ~1-2 minutes), ``None`` when this cannot be told."""
    from dtaosim.chain.kernel import advance

    try:
        if advance.signatures:
            return True
        cache = getattr(advance, "_cache", None)
        cache_file = getattr(cache, "_cache_file", None)
        if cache_file is None:
            return None
        return bool(cache_file._load_index())  # {} when missing or stale (sources changed)
    except Exception:  # numba internals differ: cannot tell
        return None


def warm_up(state: ChainState, mech: Mechanism, *, check_invariants: bool = True) -> None:
    """Load (or compile) the kernel for ``state``'s array types, running it for 0 blocks.

    Lets a driver keep compilation out of its timings; ``state`` is not changed (and not
    copied: a large state costs nothing more).
    """
    _call_kernel(state, mech, 0, check_invariants)


@dataclass
class CompileTime:
    """Seconds spent compiling numba functions inside a :func:`compile_timer` block."""

    seconds: float = 0.0


@contextmanager
def compile_timer() -> Iterator[CompileTime]:
    """Measure the time numba spends compiling (not loading from its cache) in a block::

        with compile_timer() as t:
            run_blocks(state, mech, 7200)
        t.seconds
    """
    from numba.core import event

    timing = CompileTime()
    listener = event.TimingListener()
    with event.install_listener("numba:compile", listener):
        try:
            yield timing
        finally:
            timing.seconds = listener.duration if listener.done else 0.0
