"""Splitting the block's TAO among subnets (spec 3.1, 3.3-3.5).

Four rules the chain has run, selectable by :class:`dtaosim.chain.presets.ShareRule`:

* ``PRICE_EMA`` (launch, 2025-02-13): ``s_i = EMA_i / sum EMA`` over eligible subnets.
* ``TAO_FLOW`` (2025-11-04): shares from the EMA of users' net TAO flow, with a lower limit
  ``L = max(cutoff, min(min_i flow_i, 0))``, ``z_i = max(flow_i - L, 0)`` and power
  normalisation ``z_i**p / sum z**p`` (all zero -> no subnet gets TAO; the block is recycled).
* ``NET_FLOW`` (2026-05-27): as TAO_FLOW on ``net_i = U_i - norm P_i`` (``P_i > 0``) or
  ``U_i - P_i`` (``P_i <= 0``), ``norm = min(1, sum U+ / sum P+)``.
* ``PRICE_ROOTPROP_BURN`` (2026-06-22) and ``PRICE_BURN`` (HEAD, 2026-06-30): price shares
  weighted by ``root_prop_i (1 - min(miner_burned_i, 1))`` resp. ``(1 - min(miner_burned_i, 1))``
  and renormalised (falling back to the price shares if every weight is zero).

Then, when the ``SubnetEmissionEnabled`` flag is in force and some eligible subnet is disabled,
the shares of enabled subnets are renormalised to sum to 1 and disabled subnets get 0.

:func:`compute_shares` is the compiled version for one run (used by the block kernel);
:func:`shares_numpy` the vectorised reference over ``(runs, subnets)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.chain.presets import ShareRule
from dtaosim.chain.summation import lane_sum, lane_sum_rows

PRICE_EMA = int(ShareRule.PRICE_EMA)
TAO_FLOW = int(ShareRule.TAO_FLOW)
NET_FLOW = int(ShareRule.NET_FLOW)
PRICE_ROOTPROP_BURN = int(ShareRule.PRICE_ROOTPROP_BURN)
PRICE_BURN = int(ShareRule.PRICE_BURN)


@njit(cache=True, error_model="numpy")
def pow_normalize(z: NDArray[np.float64], mask: NDArray[np.bool_], p: float,
                  out: NDArray[np.float64]) -> None:
    """``out_i = z_i**p / sum z**p`` over ``mask`` after rescaling so ``max z = 1``.

    Chain: ``subnet_emissions.rs::inplace_pow_normalize``. All-zero input gives all zeros.
    """
    n = z.shape[0]
    zmax = 0.0
    for i in range(n):
        if mask[i] and z[i] > zmax:
            zmax = z[i]
    total = 0.0
    for i in range(n):
        out[i] = 0.0
        if mask[i] and z[i] > 0.0 and zmax > 0.0:
            v = z[i] / zmax
            out[i] = v if p == 1.0 else v**p
            total += out[i]
    if total > 0.0:
        for i in range(n):
            out[i] /= total


@njit(cache=True, error_model="numpy")
def flow_shares(net: NDArray[np.float64], mask: NDArray[np.bool_], cutoff: float, p: float,
                out: NDArray[np.float64]) -> None:
    """Flow-rule shares from net flows (spec 3.4): lower limit, clip at 0, power normalise."""
    n = net.shape[0]
    lowest = 0.0
    for i in range(n):
        if mask[i] and net[i] < lowest:
            lowest = net[i]
    limit = max(cutoff, lowest)
    z = np.empty(n)
    for i in range(n):
        z[i] = max(net[i] - limit, 0.0) if mask[i] else 0.0
    pow_normalize(z, mask, p, out)


@njit(cache=True, error_model="numpy")
def compute_shares(
    rule: int,
    eligible: NDArray[np.bool_],
    enabled: NDArray[np.bool_],
    use_enabled_flag: bool,
    ema: NDArray[np.float64],
    miner_burned: NDArray[np.float64],
    root_prop: NDArray[np.float64],
    user_flow_ema: NDArray[np.float64],
    protocol_flow_ema: NDArray[np.float64],
    cutoff: float,
    exponent: float,
    out: NDArray[np.float64],
) -> None:
    """Shares of the block emission for one run's subnets, written to ``out`` (sums to 1 or 0).

    Parameters
    ----------
    rule
        A :class:`~dtaosim.chain.presets.ShareRule` value.
    eligible, enabled
        Eligibility (spec 3.1) and the ``SubnetEmissionEnabled`` flag per subnet.
    use_enabled_flag
        Whether the flag's renormalisation is in force (2026-05-27 onward).
    ema, miner_burned, root_prop
        Price EMA, ``MinerBurned`` and live root proportion per subnet.
    user_flow_ema, protocol_flow_ema
        Flow EMAs (RAO per block) for the flow rules.
    cutoff, exponent
        ``TaoFlowCutoff`` and ``FlowNormExponent``.
    out
        Output buffer, one entry per subnet.
    """
    n = ema.shape[0]
    if rule == TAO_FLOW or rule == NET_FLOW:
        net = np.empty(n)
        if rule == NET_FLOW:
            pos_u = 0.0
            pos_p = 0.0
            for i in range(n):
                if eligible[i]:
                    pos_u += max(user_flow_ema[i], 0.0)
                    pos_p += max(protocol_flow_ema[i], 0.0)
            norm = min(1.0, pos_u / pos_p) if pos_p > 0.0 else 0.0
            for i in range(n):
                pf = protocol_flow_ema[i]
                net[i] = user_flow_ema[i] - (norm * pf if pf > 0.0 else pf)
        else:
            for i in range(n):
                net[i] = user_flow_ema[i]
        flow_shares(net, eligible, cutoff, exponent, out)
    else:
        for i in range(n):
            out[i] = ema[i] if eligible[i] else 0.0
        total = lane_sum(out)
        if total > 0.0:
            for i in range(n):
                out[i] /= total
        if rule == PRICE_BURN or rule == PRICE_ROOTPROP_BURN:
            for i in range(n):  # out becomes the weighted shares w
                f = 1.0 - min(miner_burned[i], 1.0)
                if rule == PRICE_ROOTPROP_BURN:
                    f *= root_prop[i]
                out[i] = out[i] * f
            wsum = lane_sum(out)
            if wsum > 0.0:
                for i in range(n):
                    out[i] /= wsum
            else:  # every weight is zero: fall back to the price shares
                for i in range(n):
                    out[i] = ema[i] if eligible[i] else 0.0
                    if total > 0.0:
                        out[i] /= total
    if use_enabled_flag:
        any_disabled = False
        for i in range(n):
            any_disabled = any_disabled | (eligible[i] & (not enabled[i]))
        if any_disabled:
            kept = np.empty(n)
            for i in range(n):
                kept[i] = out[i] if eligible[i] and enabled[i] else 0.0
            en_sum = lane_sum(kept)
            for i in range(n):
                out[i] = kept[i] / en_sum if en_sum > 0.0 else 0.0


def _rowsum(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum along subnets in netuid order, as the compiled loop does (not pairwise)."""
    return np.cumsum(a, axis=1)[:, -1:]


def shares_numpy(
    rule: int,
    eligible: NDArray[np.bool_],
    enabled: NDArray[np.bool_],
    use_enabled_flag: bool,
    ema: NDArray[np.float64],
    miner_burned: NDArray[np.float64],
    root_prop: NDArray[np.float64],
    user_flow_ema: NDArray[np.float64],
    protocol_flow_ema: NDArray[np.float64],
    cutoff: float,
    exponent: float,
) -> NDArray[np.float64]:
    """Vectorised :func:`compute_shares` over arrays of shape ``(runs, subnets)``."""
    elig = eligible.astype(bool)
    if rule in (TAO_FLOW, NET_FLOW):
        u = user_flow_ema
        if rule == NET_FLOW:
            pos_u = _rowsum(np.where(elig, np.maximum(u, 0.0), 0.0))
            pos_p = _rowsum(np.where(elig, np.maximum(protocol_flow_ema, 0.0), 0.0))
            with np.errstate(over="ignore"):
                norm = np.where(pos_p > 0,
                                np.minimum(1.0, pos_u / np.where(pos_p > 0, pos_p, 1)), 0)
            pf = protocol_flow_ema
            net = u - np.where(pf > 0, norm * pf, pf)
        else:
            net = u
        lowest = np.minimum(np.where(elig, net, 0.0).min(axis=1, keepdims=True), 0.0)
        limit = np.maximum(cutoff, lowest)
        z = np.where(elig, np.maximum(net - limit, 0.0), 0.0)
        zmax = z.max(axis=1, keepdims=True)
        v = np.where(zmax > 0, z / np.where(zmax > 0, zmax, 1.0), 0.0)
        v = v if exponent == 1.0 else v**exponent
        tot = _rowsum(v)
        out = np.where(tot > 0, v / np.where(tot > 0, tot, 1.0), 0.0)
    else:
        s = np.where(elig, ema, 0.0)
        tot = lane_sum_rows(s)
        out = np.where(tot > 0, s / np.where(tot > 0, tot, 1.0), s)
        if rule in (PRICE_BURN, PRICE_ROOTPROP_BURN):
            f = 1.0 - np.minimum(miner_burned, 1.0)
            if rule == PRICE_ROOTPROP_BURN:
                f = f * root_prop
            w = out * f
            wsum = lane_sum_rows(w)
            out = np.where(wsum > 0, w / np.where(wsum > 0, wsum, 1.0), out)
    if use_enabled_flag:
        en = elig & enabled.astype(bool)
        any_disabled = (elig & ~enabled.astype(bool)).any(axis=1, keepdims=True)
        en_sum = lane_sum_rows(np.where(en, out, 0.0))
        with np.errstate(over="ignore"):  # only lanes that np.where discards can overflow
            renorm = np.where(en & (en_sum > 0), out / np.where(en_sum > 0, en_sum, 1.0), 0.0)
        out = np.where(any_disabled, renorm, out)
    return out
