"""Per-subnet injection terms: tao_in, alpha_in and excess TAO (spec 4.1, 4.5).

Given the subnet's TAO emission ``E`` (RAO, unfloored), spot price ``p``, alpha emission
``alpha_em`` (RAO), live root proportion ``rho`` and the TAO block emission, each rule of
:class:`dtaosim.chain.presets.InjectionRule` returns ``(tao_in, alpha_in, excess)`` as floats; the
block kernel floors each to RAO separately, as the chain does.

* ``LAUNCH`` (2025-02-13): ``alpha_in = min(E/p, alpha_em)`` (``alpha_em`` if ``p = 0``),
  ``tao_in = E`` even when ``alpha_in`` is capped; no excess.
* ``SUBSIDY`` (2025-07-29): with ``r = E / block_emission``, if ``p < r``: ``tao_in = p x
  block_emission``, ``alpha_in = block_emission``, the rest buys alpha that is burned;
  else ``tao_in = E``, ``alpha_in = E/p``.
* ``CAP_ALPHA_EMISSION`` (2025-11-06), ``CAP_BLOCK_EMISSION`` (2025-12-12, cap
  ``min(alpha_em, block_emission)``), ``CAP_ROOT_PROP`` (2026-06-22, HEAD, cap
  ``rho x alpha_em``): ``alpha_in = E/p`` (0 if ``p = 0``); if above the cap, ``alpha_in = cap``,
  ``tao_in = cap x p`` and ``excess = E - tao_in`` is used for a fee-less chain buy.

Chain: ``coinbase/run_coinbase.rs::get_subnet_terms`` and its history.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.chain.presets import InjectionRule

LAUNCH = int(InjectionRule.LAUNCH)
SUBSIDY = int(InjectionRule.SUBSIDY)
CAP_ALPHA_EMISSION = int(InjectionRule.CAP_ALPHA_EMISSION)
CAP_BLOCK_EMISSION = int(InjectionRule.CAP_BLOCK_EMISSION)
CAP_ROOT_PROP = int(InjectionRule.CAP_ROOT_PROP)


@njit(cache=True, inline="always", error_model="numpy")
def root_proportion(root_stake: float, tao_weight: float, alpha_issuance: float) -> float:
    """``tau R / (tau R + A)`` (spec 4.2); 0 when both are zero."""
    tr = tao_weight * root_stake
    den = tr + alpha_issuance
    return tr / den if den > 0.0 else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def subnet_terms(rule: int, e: float, p: float, alpha_em: float, rho: float,
                 block_emission: float) -> tuple[float, float, float]:
    """``(tao_in, alpha_in, excess)`` for one subnet under ``rule`` (unfloored RAO)."""
    if rule == LAUNCH:
        if p > 0.0:
            return e, min(e / p, alpha_em), 0.0
        return e, alpha_em, 0.0
    if rule == SUBSIDY:
        r = e / block_emission if block_emission > 0.0 else 0.0
        if p < r:
            tao_in = p * block_emission
            return tao_in, block_emission, e - tao_in
        return e, (e / p if p > 0.0 else 0.0), 0.0
    if rule == CAP_ALPHA_EMISSION:
        cap = alpha_em
    elif rule == CAP_BLOCK_EMISSION:
        cap = min(alpha_em, block_emission)
    else:
        cap = rho * alpha_em
    alpha_in = e / p if p > 0.0 else 0.0
    if alpha_in > cap:
        tao_in = cap * p
        return tao_in, cap, e - tao_in
    return e, alpha_in, 0.0


def subnet_terms_numpy(rule: int, e: NDArray[np.float64], p: NDArray[np.float64],
                       alpha_em: NDArray[np.float64], rho: NDArray[np.float64],
                       block_emission: NDArray[np.float64]
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Vectorised :func:`subnet_terms`; ``block_emission`` broadcasts against the others."""
    safe_p = np.where(p > 0, p, 1.0)
    ratio = np.where(p > 0, e / safe_p, 0.0)
    zero = np.zeros_like(e)
    if rule == LAUNCH:
        return e.copy(), np.where(p > 0, np.minimum(ratio, alpha_em), alpha_em), zero
    if rule == SUBSIDY:
        be = np.broadcast_to(block_emission, e.shape)
        r = np.where(be > 0, e / np.where(be > 0, be, 1.0), 0.0)
        sub = p < r
        tao_in = np.where(sub, p * be, e)
        return tao_in, np.where(sub, be, ratio), np.where(sub, e - tao_in, 0.0)
    if rule == CAP_ALPHA_EMISSION:
        cap = alpha_em
    elif rule == CAP_BLOCK_EMISSION:
        cap = np.minimum(alpha_em, block_emission)
    else:
        cap = rho * alpha_em
    capped = ratio > cap
    tao_in = np.where(capped, cap * p, e)
    return tao_in, np.where(capped, cap, ratio), np.where(capped, e - tao_in, 0.0)
