"""Epoch schedule: when a subnet's pending emission is drained and distributed (spec 5.5).

* Legacy (launch -> 2026-06-25): ``blocks_until_next_epoch = tempo - ((block + netuid + 1) mod
  (tempo + 1))``; the epoch fires when it is 0, i.e. when ``(block + netuid + 1) mod (tempo + 1)
  == tempo`` (the spec's prose says ``== 0``; its own vectors T1-T9 and the formula say ``tempo``),
  so the period is ``tempo + 1`` blocks, phase-shifted by netuid. Tempo 0 never fires.
* HEAD (2026-06-25, "dynamic tempo"): fires when ``block - LastEpochBlock >= tempo``, at most
  ``MaxEpochsPerBlock`` (2) per block in netuid order; later due subnets wait for the next block.

Chain: ``coinbase/run_coinbase.rs::blocks_until_next_epoch``, ``should_run_epoch``.
"""

from __future__ import annotations

from numba import njit

U64 = 2**64


def blocks_until_next_epoch_legacy(netuid: int, tempo: int, block: int) -> int:
    """Legacy formula with the chain's ``u64`` wrapping add (vectors T1-T9).

    Returns ``2**64 - 1`` for tempo 0 (never).
    """
    if tempo == 0:
        return U64 - 1
    return tempo - ((block + netuid + 1) % U64) % (tempo + 1)


def blocks_until_next_epoch_head(last_epoch_block: int, tempo: int, block: int) -> int:
    """HEAD formula ``max(0, LastEpochBlock + tempo - block)``."""
    return max(0, last_epoch_block + tempo - block)


@njit(cache=True, inline="always", error_model="numpy")
def legacy_due(netuid: int, tempo: int, block: int) -> bool:
    """True when the legacy schedule fires at ``block``."""
    if tempo <= 0:
        return False
    return (block + netuid + 1) % (tempo + 1) == tempo


@njit(cache=True, inline="always", error_model="numpy")
def head_due(last_epoch_block: int, tempo: int, block: int) -> bool:
    """True when the HEAD schedule wants an epoch at ``block`` (before the per-block cap)."""
    if tempo <= 0:
        return False
    return block - last_epoch_block >= tempo
