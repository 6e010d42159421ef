"""Moving (EMA) price of each subnet (spec 3.2), updated after the block's emission.

Rules (:class:`dtaosim.chain.presets.EmaRule`):

* ``PLAIN`` (launch 2025-02-13): ``alpha = SubnetMovingAlpha``, uncapped spot price.
* ``RAMP_REGISTRATION`` (2025-03-19): ``alpha = alpha_base b / (b + h)``, ``b`` = blocks since
  registration, spot capped at 1.
* ``RAMP_START_CALL`` (2025-06-30, HEAD): as above with ``b = block - (FirstEmission - 1)``.

``EMA <- alpha min(p, 1) + (1 - alpha) EMA``.
Chain: ``staking/stake_utils.rs::update_moving_price``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.chain.presets import EmaRule

PLAIN = int(EmaRule.PLAIN)
RAMP_REGISTRATION = int(EmaRule.RAMP_REGISTRATION)
RAMP_START_CALL = int(EmaRule.RAMP_START_CALL)


@njit(cache=True, inline="always", error_model="numpy")
def ema_step(rule: int, ema: float, spot: float, block: int, registered_at: int,
             first_emission: int, alpha_base: float, halving_blocks: int) -> float:
    """One moving-price update; returns the new EMA."""
    if rule == PLAIN:
        a = alpha_base
        p = spot
    else:
        b = block - registered_at if rule == RAMP_REGISTRATION else block - (first_emission - 1)
        if b < 0:
            b = 0
        a = alpha_base * b / (b + halving_blocks) if b + halving_blocks > 0 else alpha_base
        p = min(spot, 1.0)
    return a * p + (1.0 - a) * ema


def ema_step_numpy(rule: int, ema: NDArray[np.float64], spot: NDArray[np.float64], block: int,
                   registered_at: NDArray[np.int64], first_emission: NDArray[np.int64],
                   alpha_base: float, halving_blocks: int) -> NDArray[np.float64]:
    """Vectorised :func:`ema_step` (same arguments as arrays)."""
    if rule == PLAIN:
        return alpha_base * spot + (1.0 - alpha_base) * ema
    start = registered_at if rule == RAMP_REGISTRATION else first_emission - 1
    b = np.maximum(block - start, 0).astype(np.float64)
    den = b + halving_blocks
    a = np.where(den > 0, alpha_base * b / np.where(den > 0, den, 1.0), alpha_base)
    return a * np.minimum(spot, 1.0) + (1.0 - a) * ema
