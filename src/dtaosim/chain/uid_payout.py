"""Paying one subnet's drained epoch emission to its UIDs (spec 5.6 steps 2-6, 6.6).

At a subnet's epoch the engine drains the pending buckets ``S`` (server/miners, after any
exogenous withheld part), ``V`` (validators), ``Rt`` (root alpha dividends) and ``O`` (owner
cut), runs Yuma, and hands the per-UID Yuma outputs to :func:`pay_epoch`, which computes every
UID's credit (compiled, no allocation, callable from the block kernel), then
:func:`credit_uids` adds them to the UIDs' stakes and cumulative earnings.

Rules (``run_coinbase.rs::distribute_emission`` and what it calls):

* **Weights.** Miners are paid pro rata to ``incentive_w`` and validators to ``dividend_w``;
  pass Yuma's floored ``server_emission`` and ``validator_emission`` (RAO) for the chain's exact
  weights (its incentives are the per-hotkey server emissions and its dividends the per-hotkey
  validator emissions), or the proportions ``incentive`` / ``dividends``. Note that when
  ``sum(I + D) = 0`` Yuma gives validators ``A x E`` through ``validator_emission`` while its
  ``dividends`` proportions are all zero: pass ``validator_emission`` to keep that case.
* **Budgets.** Normally miners share ``S``, validators ``V`` and root stakers ``Rt``. If no UID
  has incentive, validators also get the miners' bucket (``V + S``; spec 5.6 step 2, and 6.6:
  Yuma then gives validators ``A x E``). If UIDs have incentive but none has dividends, Yuma's
  server share is all of ``E`` and miners receive ``S + V + Rt`` (spec 5.6 edge case). If
  neither has weight, nothing is paid.
* **Miners.** ``floor(budget x w_i / sum w)``. With ``withhold_owner_incentive`` (the chain's
  rule) the incentive of the owner's hotkeys (the owner hotkey and every hotkey of the owner
  coldkey holding a UID) is withheld (returned; the caller burns or recycles it and records
  ``MinerBurned = withheld / (paid + withheld)``); turn it off when the engine already took an
  exogenous withheld fraction out of ``S``.
* **Validators** (``calculate_dividend_distribution``): each dividend ``d_i`` splits into a root
  part ``d_i x tau r_i / (a_i + tau r_i)`` and an alpha part (the rest), with ``a_i`` / ``r_i``
  the hotkey's own alpha stake on the subnet and root stake and ``tau`` the tao weight; the
  validator budget is shared pro rata to the alpha parts and ``Rt`` pro rata to the root parts.
  Parent/child (childkey) splitting is not modelled: every UID is its own parent.
* **Take** (``distribute_dividends_and_incentives``): of a UID's alpha dividend ``y``,
  ``floor(take x y)`` is staked to (hotkey, its owner) and ``floor(y - take x y)`` increases the
  hotkey's share pool (its nominators, owner included) - both raise the hotkey's alpha stake; of
  its root alpha dividend ``z``, ``floor(take x z)`` is staked as alpha to (hotkey, owner) and
  ``floor(z - take x z)`` becomes ``RootClaimable`` for the hotkey's root stakers (not the
  hotkey's alpha until claimed). Launch-era root dividends (TAO sold each block, paid as root
  stake) have the same shape: pass the TAO as ``root`` and read the root rows as TAO.
* **Owner cut** ``O`` is staked to the owner hotkey: credited to its UID, or returned as
  ``owner_unassigned`` if the owner hotkey holds no UID.
* **Floors.** Every credit is floored separately (U96F32 -> u64), as on chain, and the dust is
  not paid (it stays minted in AlphaOut): :data:`DUST_KEEP`, the chain's behaviour, returns it as
  ``undistributed``. :data:`DUST_TO_LARGEST` instead adds each bucket's dust to the recipient
  with the largest weight (lowest UID on ties; miners: its miner or withheld row; validators:
  the nominators' row; root: the claimable row). Float64 proportions can round a floor up;
  a deterministic trim (largest credit first) guarantees ``paid <= budget`` for any amount, and
  never acts for totals below about ``2**43`` RAO.

The returned totals satisfy exactly::

    miners + withheld + alpha_dividends + root_dividends + owner_cut + owner_unassigned
        + undistributed == S + V + Rt + O

Engine order at a subnet epoch: drain buckets -> Yuma (per-subnet, ``E = S + V + Rt``) ->
:func:`dtaosim.state.neurons.store_epoch_outputs` (incentive, dividends, emission, ``P_new``) ->
:func:`pay_epoch` -> :func:`credit_uids`; book ``withheld`` as burned/recycled alpha,
``root_dividends`` claimable part as root-claimable alpha, ``undistributed`` as undistributed
alpha, ``owner_unassigned`` to the owner holder.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.state.neurons import (
    N_ALPHA_STAKE,
    N_COLDKEY,
    N_EARNED_MINER,
    N_EARNED_ROOT,
    N_EARNED_VALIDATOR,
    N_HOTKEY,
    N_ROOT_STAKE,
    N_TAKE,
    NeuronState,
)

# Rows of the credits array (int64[N_CREDITS, uids], RAO)
C_MINER = 0  # incentive staked to the miner's hotkey
C_WITHHELD = 1  # incentive of owner hotkeys, withheld (burned or recycled by the caller)
C_ALPHA_TAKE = 2  # delegate take of alpha dividends, staked to (hotkey, owner)
C_ALPHA_NOMINATORS = 3  # rest of alpha dividends: the hotkey's share pool
C_ROOT_TAKE = 4  # delegate take of root alpha dividends, staked as alpha to (hotkey, owner)
C_ROOT_CLAIMABLE = 5  # rest of root alpha dividends: RootClaimable of the hotkey's root stakers
C_OWNER_CUT = 6  # owner cut staked to the owner hotkey
N_CREDITS = 7

CREDIT_NAMES: tuple[str, ...] = (
    "miner",
    "withheld",
    "alpha_take",
    "alpha_nominators",
    "root_take",
    "root_claimable",
    "owner_cut",
)
"""Name of each credits row (index = row)."""

DUST_KEEP = 0
"""Floor dust stays unpaid and is returned as ``undistributed`` (the chain)."""
DUST_TO_LARGEST = 1
"""Each bucket's floor dust goes to its largest-weight recipient."""


class PayoutParams(NamedTuple):
    """Switches of :func:`pay_epoch` (numba-friendly).

    Attributes
    ----------
    tao_weight
        ``TaoWeight`` as a fraction (root stake counts ``tao_weight x root``).
    withhold_owner_incentive
        Withhold the incentive of the owner's hotkeys (the chain's rule).
    dust
        :data:`DUST_KEEP` (chain) or :data:`DUST_TO_LARGEST`.
    """

    tao_weight: float = 0.18
    withhold_owner_incentive: bool = True
    dust: int = DUST_KEEP


class PayoutTotals(NamedTuple):
    """What one :func:`pay_epoch` call paid (RAO); fields sum to ``total_in`` exactly.

    Attributes
    ----------
    miners, withheld, alpha_dividends, root_dividends, owner_cut
        Sums of the credit rows (``alpha_dividends`` = take + nominators; ``root_dividends`` =
        take + claimable).
    owner_unassigned
        Owner cut whose owner hotkey holds no UID (the caller pays it to the owner).
    undistributed
        Floor dust and buckets without recipients (stays minted).
    total_in
        ``S + V + Rt + O``.
    """

    miners: int
    withheld: int
    alpha_dividends: int
    root_dividends: int
    owner_cut: int
    owner_unassigned: int
    undistributed: int
    total_in: int


@njit(cache=True)
def _trim(credits: NDArray[np.int64], r1: int, r2: int, excess: int) -> None:
    """Remove ``excess`` RAO from rows ``r1``/``r2``, largest entries first (lowest UID, row
    ``r2`` before ``r1`` on ties)."""
    n = credits.shape[1]
    while excess > 0:
        bv = 0
        br = -1
        bi = -1
        for rr in (r2, r1):
            for i in range(n):
                if credits[rr, i] > bv:
                    bv = credits[rr, i]
                    br = rr
                    bi = i
        if br < 0:
            return
        d = min(bv, excess)
        credits[br, bi] -= d
        excess -= d


@njit(cache=True, inline="always")
def _weight(w: float) -> float:
    return w if (w > 0.0 and np.isfinite(w)) else 0.0


@njit(cache=True, inline="always")
def _is_owner_key(hk: NDArray[np.int64], ck: NDArray[np.int64], i: int, owner_hotkey: int,
                  owner_coldkey: int) -> bool:
    """Hotkey ``i`` is the owner hotkey or belongs to the owner coldkey."""
    return (owner_hotkey >= 0 and hk[i] == owner_hotkey) or (
        owner_coldkey >= 0 and ck[i] == owner_coldkey)


@njit(cache=True)
def _root_fraction(a: float, r: float, tao_weight: float) -> float:
    root_alpha = r * tao_weight
    total = a + root_alpha
    if total > 0.0:
        return root_alpha / total
    return 0.0


@njit(cache=True)
def pay_epoch(ni: NDArray[np.int64], nf: NDArray[np.float64], incentive_w: NDArray,
              dividend_w: NDArray, server: int, validator: int, root: int, owner_cut: int,
              owner_hotkey: int, owner_coldkey: int, params: PayoutParams,
              credits: NDArray[np.int64]) -> tuple[int, int, int, int, int, int, int, int]:
    """Credits of every UID of one subnet for one epoch (see the module docstring).

    Parameters
    ----------
    ni, nf : ndarray
        The subnet's neuron views (hotkey, coldkey, alpha_stake, root_stake, take are read).
    incentive_w, dividend_w : ndarray of int or float, (uids,)
        Miner and validator weights (Yuma's ``server_emission`` / ``validator_emission``, or
        ``incentive`` / ``dividends``); empty slots and non-positive entries count as 0.
    server, validator, root, owner_cut : int
        Drained ``S`` (after any exogenous withheld part), ``V``, ``Rt`` and ``O`` (RAO, >= 0).
    owner_hotkey, owner_coldkey : int
        Subnet owner ids (-1 if none).
    params : PayoutParams
        Tao weight and switches.
    credits : ndarray of int64, (N_CREDITS, uids)
        Output, overwritten (rows ``C_*``).

    Returns
    -------
    tuple of int
        :class:`PayoutTotals` fields in order.
    """
    if server < 0 or validator < 0 or root < 0 or owner_cut < 0:
        raise ValueError("pay_epoch: drained amounts must be >= 0")
    hk = ni[N_HOTKEY]
    ck = ni[N_COLDKEY]
    n = hk.shape[0]
    credits[:, :] = 0
    tau = params.tao_weight
    sum_i = 0.0
    sum_d = 0.0
    sum_a = 0.0
    sum_r = 0.0
    for i in range(n):
        if hk[i] < 0:
            continue
        sum_i += _weight(float(incentive_w[i]))
        d = _weight(float(dividend_w[i]))
        sum_d += d
        rf = _root_fraction(float(ni[N_ALPHA_STAKE, i]), float(ni[N_ROOT_STAKE, i]), tau)
        rd = d * rf
        sum_r += rd
        sum_a += d - rd
    if sum_i > 0.0 and sum_d > 0.0:
        mb = server
        vb = validator
        rb = root
    elif sum_i > 0.0:
        mb = server + validator + root
        vb = 0
        rb = 0
    else:
        mb = 0
        vb = server + validator
        rb = root

    # miners
    if mb > 0:
        best = -1
        bw = 0.0
        paid = 0
        for i in range(n):
            if hk[i] < 0:
                continue
            w = _weight(float(incentive_w[i]))
            if w <= 0.0:
                continue
            if w > bw:
                bw = w
                best = i
            c = np.int64(np.floor(mb * (w / sum_i)))
            owner = params.withhold_owner_incentive and _is_owner_key(
                hk, ck, i, owner_hotkey, owner_coldkey)
            credits[C_WITHHELD if owner else C_MINER, i] = c
            paid += c
        if paid > mb:
            _trim(credits, C_MINER, C_WITHHELD, paid - mb)
            paid = mb
        if params.dust == DUST_TO_LARGEST and best >= 0 and paid < mb:
            owner = params.withhold_owner_incentive and _is_owner_key(
                hk, ck, best, owner_hotkey, owner_coldkey)
            credits[C_WITHHELD if owner else C_MINER, best] += mb - paid

    # validators (alpha part) and root stakers (root part)
    for part in range(2):
        budget = vb if part == 0 else rb
        total = sum_a if part == 0 else sum_r
        if budget <= 0 or not total > 0.0:
            continue
        r_take = C_ALPHA_TAKE if part == 0 else C_ROOT_TAKE
        r_rest = C_ALPHA_NOMINATORS if part == 0 else C_ROOT_CLAIMABLE
        best = -1
        bw = 0.0
        paid = 0
        for i in range(n):
            if hk[i] < 0:
                continue
            d = _weight(float(dividend_w[i]))
            if d <= 0.0:
                continue
            rd = d * _root_fraction(float(ni[N_ALPHA_STAKE, i]), float(ni[N_ROOT_STAKE, i]), tau)
            w = d - rd if part == 0 else rd
            if not w > 0.0:
                continue
            if w > bw:
                bw = w
                best = i
            y = budget * (w / total)
            t = nf[N_TAKE, i] * y
            ct = np.int64(np.floor(t))
            cr = np.int64(np.floor(y - t))
            if cr < 0:
                cr = np.int64(0)
            credits[r_take, i] = ct
            credits[r_rest, i] = cr
            paid += ct + cr
        if paid > budget:
            _trim(credits, r_take, r_rest, paid - budget)
            paid = budget
        if params.dust == DUST_TO_LARGEST and best >= 0 and paid < budget:
            credits[r_rest, best] += budget - paid

    owner_uid = -1
    if owner_hotkey >= 0:
        for i in range(n):
            if hk[i] == owner_hotkey:
                owner_uid = i
                break
    unassigned = 0
    if owner_uid >= 0:
        credits[C_OWNER_CUT, owner_uid] = owner_cut
    else:
        unassigned = owner_cut

    miners = 0
    withheld = 0
    alpha = 0
    rootp = 0
    for i in range(n):
        miners += credits[C_MINER, i]
        withheld += credits[C_WITHHELD, i]
        alpha += credits[C_ALPHA_TAKE, i] + credits[C_ALPHA_NOMINATORS, i]
        rootp += credits[C_ROOT_TAKE, i] + credits[C_ROOT_CLAIMABLE, i]
    owner_paid = owner_cut - unassigned
    total_in = server + validator + root + owner_cut
    undistributed = total_in - miners - withheld - alpha - rootp - owner_paid - unassigned
    return miners, withheld, alpha, rootp, owner_paid, unassigned, undistributed, total_in


@njit(cache=True)
def credit_uids(ni: NDArray[np.int64], credits: NDArray[np.int64]) -> None:
    """Add one :func:`pay_epoch` result to the UIDs' stakes and cumulative earnings.

    ``alpha_stake += miner + alpha_take + alpha_nominators + root_take + owner_cut`` (all are
    stake on the hotkey in this subnet; withheld and root-claimable credits are not);
    ``earned_miner += miner``; ``earned_validator += alpha_take + alpha_nominators``;
    ``earned_root += root_take + root_claimable``.
    """
    n = ni.shape[1]
    for i in range(n):
        ni[N_ALPHA_STAKE, i] += (credits[C_MINER, i] + credits[C_ALPHA_TAKE, i]
                                 + credits[C_ALPHA_NOMINATORS, i] + credits[C_ROOT_TAKE, i]
                                 + credits[C_OWNER_CUT, i])
        ni[N_EARNED_MINER, i] += credits[C_MINER, i]
        ni[N_EARNED_VALIDATOR, i] += credits[C_ALPHA_TAKE, i] + credits[C_ALPHA_NOMINATORS, i]
        ni[N_EARNED_ROOT, i] += credits[C_ROOT_TAKE, i] + credits[C_ROOT_CLAIMABLE, i]


class UidPayout(NamedTuple):
    """Result of :func:`pay_subnet_epoch`.

    Attributes
    ----------
    credits : ndarray of int64, (N_CREDITS, uids)
        Per-UID credits (rows ``C_*``, names :data:`CREDIT_NAMES`).
    totals : PayoutTotals
    """

    credits: NDArray[np.int64]
    totals: PayoutTotals


def pay_subnet_epoch(
    neurons: NeuronState,
    run: int,
    subnet: int,
    *,
    server: int,
    validator: int,
    root: int,
    incentive: NDArray,
    dividends: NDArray,
    owner_cut: int = 0,
    owner_hotkey: int = -1,
    owner_coldkey: int = -1,
    params: PayoutParams | None = None,
    apply: bool = True,
) -> UidPayout:
    """Pay one subnet's epoch to its UIDs (:func:`pay_epoch`, then :func:`credit_uids`).

    Parameters
    ----------
    neurons
        Neuron state (modified in place when ``apply``).
    run, subnet
        Run index and subnet slot.
    server, validator, root, owner_cut
        Drained ``S``, ``V``, ``Rt``, ``O`` (RAO).
    incentive, dividends : array_like, (uids,)
        Miner and validator weights (see :func:`pay_epoch`).
    owner_hotkey, owner_coldkey
        Subnet owner ids (-1 if none).
    params
        :class:`PayoutParams`.
    apply
        Add the credits to the state.

    Returns
    -------
    UidPayout
    """
    p = params if params is not None else PayoutParams()
    ni, nf, _permit, _w, _b = neurons.subnet(run, subnet)
    inc = np.ascontiguousarray(incentive, dtype=np.float64)
    div = np.ascontiguousarray(dividends, dtype=np.float64)
    if inc.shape != (neurons.uids,) or div.shape != (neurons.uids,):
        raise ValueError(f"incentive and dividends must have shape ({neurons.uids},)")
    if min(server, validator, root, owner_cut) < 0:
        raise ValueError("drained amounts must be >= 0")
    credits = np.zeros((N_CREDITS, neurons.uids), dtype=np.int64)
    totals = PayoutTotals(*(int(x) for x in pay_epoch(
        ni, nf, inc, div, int(server), int(validator), int(root), int(owner_cut),
        int(owner_hotkey), int(owner_coldkey), p, credits)))
    if apply:
        credit_uids(ni, credits)
    return UidPayout(credits=credits, totals=totals)


__all__ = [
    "CREDIT_NAMES",
    "C_ALPHA_NOMINATORS",
    "C_ALPHA_TAKE",
    "C_MINER",
    "C_OWNER_CUT",
    "C_ROOT_CLAIMABLE",
    "C_ROOT_TAKE",
    "C_WITHHELD",
    "DUST_KEEP",
    "DUST_TO_LARGEST",
    "N_CREDITS",
    "PayoutParams",
    "PayoutTotals",
    "UidPayout",
    "credit_uids",
    "pay_epoch",
    "pay_subnet_epoch",
]
