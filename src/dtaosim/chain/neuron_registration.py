"""Neuron (UID) registration: burn price rules, immunity, pruning and slot replacement (spec 9).

Compiled per-subnet functions (``@njit(cache=True)``, callable from other compiled code, no
allocation), on the views of :meth:`dtaosim.state.neurons.NeuronState.subnet`:

* :func:`neuron_to_prune` — ``subnets/registration.rs::get_neuron_to_prune`` (spec 9.2): skip
  the owner's immortal UIDs; among the others the lowest ``Emission``, ties to the earlier
  registration, then the lower UID; a non-immune candidate is taken only if more than
  ``MinNonImmuneUids`` UIDs are non-immune, otherwise an immune one (and none, -1, if there is
  no immune candidate even though non-immune UIDs exist: the chain's ``best_immune.map``);
* :func:`register_uid` — ``register_neuron``: append at ``SubnetworkN`` while the subnet is not
  full, else replace :func:`neuron_to_prune`'s UID (``replace_neuron`` + ``clear_neuron``);
* :func:`bump_burn_exact` — ``bump_registration_price_after_registration`` (HEAD: burn x
  ``BurnIncreaseMult`` in U64F64, floored and clamped), exact in integers;
* :func:`legacy_upgraded_burn` / :func:`legacy_adjust_burn` — the launch-era burn adjustment of
  ``adjust_registration_terms_for_networks`` / ``upgraded_burn`` (U110F18), exact in integers.

The per-block HEAD decay is :func:`dtaosim.chain.registration.decay_burn` (already applied by the
block kernel); :class:`BurnRule` names the two rules.

Immunity: UID ``i`` is immune iff ``now - registered_at_i < ImmunityPeriod`` (saturating
subtraction). Immortal (never pruned): the owner hotkey and other hotkeys of the owner coldkey
holding a UID, oldest registration first, ``ImmuneOwnerUidsLimit`` in all (default 1: only the
owner hotkey); ``get_immune_owner_tuples`` takes the first ``limit`` owner-coldkey UIDs by
``(registered_at, uid)`` and, if the owner hotkey is not among them, puts it first and truncates.

Replacement (``replace_neuron`` + ``clear_neuron``): the new hotkey takes the UID with
``registered_at = last_update = now``, emission, incentive, dividends and permit cleared, its
bonds row and its weights row removed and every weight *to* it set to 0. The chain does not clear
the bonds *column* (bonds held by validators on the UID): Yuma drops a column whose UID registered
at or after the epoch window start, which covers every replacement except one made in the same
block right after the subnet's epoch. ``clear_bond_column=True`` clears it anyway. The old
hotkey's stake stays with the old hotkey off the subnet; the new hotkey brings its own stake (for
a new miner usually 0). If the UID chosen is the owner hotkey (only possible with
``ImmuneOwnerUidsLimit = 0``) the chain skips the replacement but the registration still
succeeds; :func:`register_uid` does the same (returns the UID, changes nothing).

Python wrapper: :func:`register_neuron` checks a registration the way ``do_register`` does and
raises :class:`~dtaosim.errors.RegistrationError`; :func:`prune_uid` wraps
:func:`neuron_to_prune`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.errors import RegistrationError
from dtaosim.state.neurons import (
    N_ALPHA_STAKE,
    N_COLDKEY,
    N_DIVIDENDS,
    N_EARNED_MINER,
    N_EARNED_ROOT,
    N_EARNED_VALIDATOR,
    N_EMISSION,
    N_HOTKEY,
    N_INCENTIVE,
    N_LAST_UPDATE,
    N_REGISTERED_AT,
    N_ROOT_STAKE,
    N_TAKE,
    NeuronState,
)

_U64_MAX = (1 << 64) - 1
_I64_MAX = (1 << 63) - 1
_FRAC18 = 18
_MASK18 = (1 << 18) - 1

# register_uid results below 0 (chain error names in REGISTRATION_ERRORS)
REG_NO_NEURON_ID_AVAILABLE = -1
REG_HOTKEY_ALREADY_REGISTERED = -2

REGISTRATION_ERRORS: dict[int, str] = {
    REG_NO_NEURON_ID_AVAILABLE: "NoNeuronIdAvailable",
    REG_HOTKEY_ALREADY_REGISTERED: "HotKeyAlreadyRegisteredInSubNet",
}
"""Chain error name of each negative :func:`register_uid` result."""


class BurnRule(IntEnum):
    """How the UID registration burn moves (spec 9.1)."""

    ADJUSTMENT_INTERVAL = 0  # launch -> 2026-04-22: every AdjustmentInterval, by registrations
    HALF_LIFE = 1  # 2026-04-22 (HEAD): per-block exponential decay + x BurnIncreaseMult


class UidRules(NamedTuple):
    """A subnet's UID hyperparameters (numba-friendly; defaults of a new subnet at HEAD).

    Attributes
    ----------
    max_allowed_uids
        ``MaxAllowedUids`` (256); capped at the state's UID capacity.
    immunity_period
        ``ImmunityPeriod`` in blocks (new subnets 5 000; runtime default 4 096; mock 2).
    min_non_immune_uids
        ``MinNonImmuneUids`` (10).
    immune_owner_uids_limit
        ``ImmuneOwnerUidsLimit`` (1; max 10).
    """

    max_allowed_uids: int = 256
    immunity_period: int = 5000
    min_non_immune_uids: int = 10
    immune_owner_uids_limit: int = 1


# --------------------------------------------------------------------------- pruning
@njit(cache=True, inline="always")
def _key_less(e1: int, b1: int, u1: int, e2: int, b2: int, u2: int) -> bool:
    if e1 != e2:
        return e1 < e2
    if b1 != b2:
        return b1 < b2
    return u1 < u2


@njit(cache=True)
def _owner_cutoffs(ni: NDArray[np.int64], owner_coldkey: int, limit: int
                   ) -> tuple[int, int, int, int, int]:
    """``(reg, uid)`` keys of the ``limit - 1``-th and ``limit``-th owner-coldkey UIDs.

    Returns ``(count, b_lm1, u_lm1, b_l, u_l)``: how many such keys were found (at most
    ``limit``) and the largest key among the first ``limit - 1`` and among the first ``limit``
    (fewer if fewer exist; ``-1`` when none). Repeated minimum selection: ``O(limit x n)``,
    no allocation.
    """
    hk = ni[N_HOTKEY]
    ck = ni[N_COLDKEY]
    reg = ni[N_REGISTERED_AT]
    n = hk.shape[0]
    pb = -1
    pu = -1
    count = 0
    b_lm1 = -1
    u_lm1 = -1
    for step in range(limit):
        bb = -1
        bu = -1
        for i in range(n):
            if hk[i] < 0 or ck[i] != owner_coldkey:
                continue
            b = reg[i]
            if pu >= 0 and not (b > pb or (b == pb and i > pu)):
                continue  # already taken
            if bu < 0 or b < bb or (b == bb and i < bu):
                bb = b
                bu = i
        if bu < 0:
            break
        count += 1
        if step <= limit - 2:
            b_lm1 = bb
            u_lm1 = bu
        pb = bb
        pu = bu
    return count, b_lm1, u_lm1, pb, pu


@njit(cache=True)
def _is_immortal(ni: NDArray[np.int64], i: int, owner_uid: int, owner_coldkey: int, limit: int,
                 count: int, b_lm1: int, u_lm1: int, b_l: int, u_l: int) -> bool:
    if limit <= 0:
        return False
    reg = ni[N_REGISTERED_AT]
    owner_in_first = False
    if owner_uid >= 0 and ni[N_COLDKEY, owner_uid] == owner_coldkey and count > 0:
        ob = reg[owner_uid]
        owner_in_first = ob < b_l or (ob == b_l and owner_uid <= u_l)
    if owner_uid >= 0 and not owner_in_first:
        # owner hotkey put first, then the first limit - 1 owner-coldkey UIDs
        if i == owner_uid:
            return True
        if limit < 2 or ni[N_COLDKEY, i] != owner_coldkey:
            return False
        b = reg[i]
        return b < b_lm1 or (b == b_lm1 and i <= u_lm1)
    if ni[N_COLDKEY, i] != owner_coldkey or count == 0:
        return False
    b = reg[i]
    return b < b_l or (b == b_l and i <= u_l)


@njit(cache=True)
def neuron_to_prune(ni: NDArray[np.int64], block: int, owner_hotkey: int, owner_coldkey: int,
                    rules: UidRules) -> int:
    """UID the chain replaces at the next registration of a full subnet, or -1 (spec 9.2).

    Parameters
    ----------
    ni : ndarray of int64, (len(NI), uids)
        The subnet's integer fields (hotkey, coldkey, registered_at, emission are read).
    block
        Current block.
    owner_hotkey, owner_coldkey
        ``SubnetOwnerHotkey`` and ``SubnetOwner`` ids (-1 if none).
    rules
        :class:`UidRules`.

    Returns
    -------
    int
        The UID, or -1 when there is no candidate (see the module notes).
    """
    hk = ni[N_HOTKEY]
    reg = ni[N_REGISTERED_AT]
    em = ni[N_EMISSION]
    n = hk.shape[0]
    limit = rules.immune_owner_uids_limit
    owner_uid = -1
    if owner_hotkey >= 0:
        for i in range(n):
            if hk[i] == owner_hotkey:
                owner_uid = i
                break
    count, b_lm1, u_lm1, b_l, u_l = _owner_cutoffs(ni, owner_coldkey, limit)
    free = 0
    ne = 0
    nb = 0
    nu = -1
    ie = 0
    ib = 0
    iu = -1
    for i in range(n):
        if hk[i] < 0:
            continue
        if _is_immortal(ni, i, owner_uid, owner_coldkey, limit, count, b_lm1, u_lm1, b_l, u_l):
            continue
        immune = max(block - reg[i], 0) < rules.immunity_period
        if immune:
            if iu < 0 or _key_less(em[i], reg[i], i, ie, ib, iu):
                ie = em[i]
                ib = reg[i]
                iu = i
        else:
            free += 1
            if nu < 0 or _key_less(em[i], reg[i], i, ne, nb, nu):
                ne = em[i]
                nb = reg[i]
                nu = i
    if free > rules.min_non_immune_uids and nu >= 0:
        return nu
    return iu


@njit(cache=True)
def is_immune(ni: NDArray[np.int64], uid: int, block: int, immunity_period: int) -> bool:
    """``get_neuron_is_immune``: ``block - registered_at < immunity_period`` (saturating)."""
    return max(block - ni[N_REGISTERED_AT, uid], 0) < immunity_period


# ---------------------------------------------------------------------- registration
@njit(cache=True)
def clear_uid(ni: NDArray[np.int64], nf: NDArray[np.float64], permit: NDArray[np.bool_],
              weights: NDArray[np.uint16], bonds: NDArray[np.uint16], uid: int,
              clear_bond_column: bool) -> None:
    """``clear_neuron``: zero a UID's epoch outputs, permit, bonds row, weights row and the
    weights set on it by others (and its bonds column if asked)."""
    ni[N_EMISSION, uid] = 0
    nf[N_INCENTIVE, uid] = 0.0
    nf[N_DIVIDENDS, uid] = 0.0
    permit[uid] = False
    n = weights.shape[0]
    for j in range(n):
        weights[uid, j] = 0
        weights[j, uid] = 0
        bonds[uid, j] = 0
    if clear_bond_column:
        for j in range(n):
            bonds[j, uid] = 0


@njit(cache=True)
def register_uid(ni: NDArray[np.int64], nf: NDArray[np.float64], permit: NDArray[np.bool_],
                 weights: NDArray[np.uint16], bonds: NDArray[np.uint16], hotkey: int,
                 coldkey: int, alpha_stake: int, root_stake: int, take: float, block: int,
                 owner_hotkey: int, owner_coldkey: int, rules: UidRules,
                 clear_bond_column: bool) -> int:
    """Give ``hotkey`` a UID on one subnet (``register_neuron``); the burn is the caller's.

    Parameters
    ----------
    ni, nf, permit, weights, bonds
        The subnet's views (:meth:`~dtaosim.state.neurons.NeuronState.subnet`), modified in place.
    hotkey, coldkey
        Identity of the new hotkey and its owner coldkey (``hotkey >= 0``).
    alpha_stake, root_stake
        The new hotkey's existing stake on this subnet and on root (RAO; usually 0).
    take
        Its delegate take.
    block
        Current block (``registered_at`` and ``last_update``).
    owner_hotkey, owner_coldkey
        Subnet owner ids (for the immortal set).
    rules
        :class:`UidRules`.
    clear_bond_column
        Also clear bonds held on the UID (see the module notes; the chain does not).

    Returns
    -------
    int
        The UID (``>= 0``), or :data:`REG_HOTKEY_ALREADY_REGISTERED`, or
        :data:`REG_NO_NEURON_ID_AVAILABLE` (``max_allowed_uids = 0`` or no prunable UID).
    """
    hk = ni[N_HOTKEY]
    cap = hk.shape[0]
    n = 0
    for i in range(cap):
        if hk[i] == hotkey:
            return REG_HOTKEY_ALREADY_REGISTERED
        if hk[i] >= 0:
            n += 1
    max_n = min(rules.max_allowed_uids, cap)
    if max_n <= 0:
        return REG_NO_NEURON_ID_AVAILABLE
    if n < max_n:
        uid = n  # append_neuron: UIDs fill from 0 without gaps
    else:
        uid = neuron_to_prune(ni, block, owner_hotkey, owner_coldkey, rules)
        if uid < 0:
            return REG_NO_NEURON_ID_AVAILABLE
        if owner_hotkey >= 0 and hk[uid] == owner_hotkey:
            return uid  # replace_neuron refuses to replace the owner hotkey; Ok all the same
    clear_uid(ni, nf, permit, weights, bonds, uid, clear_bond_column)
    ni[N_HOTKEY, uid] = hotkey
    ni[N_COLDKEY, uid] = coldkey
    ni[N_ALPHA_STAKE, uid] = alpha_stake
    ni[N_ROOT_STAKE, uid] = root_stake
    ni[N_REGISTERED_AT, uid] = block
    ni[N_LAST_UPDATE, uid] = block
    ni[N_EARNED_MINER, uid] = 0
    ni[N_EARNED_VALIDATOR, uid] = 0
    ni[N_EARNED_ROOT, uid] = 0
    nf[N_TAKE, uid] = take
    return uid


# ------------------------------------------------------------------------ burn price
def burn_mult_q(mult: float) -> tuple[int, int]:
    """``BurnIncreaseMult`` as an exact dyadic ``(num, shift)``: ``max(mult, 1) = num / 2**shift``.

    The chain stores ``U64F64::from_num(mult)``, which holds a float >= 1 exactly (at most 52
    fractional bits). Multipliers up to 1024 are accepted.

    Parameters
    ----------
    mult
        ``BurnIncreaseMult`` (e.g. 1.26).

    Returns
    -------
    tuple[int, int]
        ``(num, shift)`` for :func:`bump_burn_exact`.
    """
    m = max(float(mult), 1.0)
    if not np.isfinite(m) or m > 1024.0:
        raise ValueError(f"BurnIncreaseMult {mult} out of range [1, 1024]")
    num, den = m.as_integer_ratio()
    shift = den.bit_length() - 1
    return int(num), int(shift)


@njit(cache=True, inline="always")
def _mul_u64(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """Full 128-bit product ``a x b`` as ``(hi, lo)`` (unsigned 64-bit limbs)."""
    m32 = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    al = a & m32
    ah = a >> s32
    bl = b & m32
    bh = b >> s32
    p0 = al * bl
    p1 = al * bh
    p2 = ah * bl
    p3 = ah * bh
    mid = (p0 >> s32) + (p1 & m32) + (p2 & m32)
    lo = (p0 & m32) | ((mid & m32) << s32)
    hi = p3 + (p1 >> s32) + (p2 >> s32) + (mid >> s32)
    return hi, lo


@njit(cache=True)
def bump_burn_exact(burn: int, mult_num: int, mult_shift: int, min_burn: int,
                    max_burn: int) -> int:
    """Burn after a registration: ``floor(burn x num / 2**shift)`` saturated to u64, then
    clamped to ``[min_burn, max_burn]`` (lower bound first, as the chain; spec 9.1).

    Exact for ``0 <= burn < 2**63``, ``num < 2**63``, ``shift <= 64`` (see :func:`burn_mult_q`);
    equals :func:`dtaosim.chain.registration.bump_burn`.

    Returns
    -------
    int
        New ``Burn`` (RAO), at most ``2**63 - 1``.
    """
    hi, lo = _mul_u64(np.uint64(burn), np.uint64(mult_num))
    s = np.uint64(mult_shift)
    if mult_shift == 0:
        sat = hi != np.uint64(0)
        val = lo
    elif mult_shift < 64:
        sat = (hi >> s) != np.uint64(0)
        val = (lo >> s) | (hi << (np.uint64(64) - s))
    else:
        sat = False
        val = hi >> (s - np.uint64(64))
    if sat or val > np.uint64(_I64_MAX):
        new = np.int64(_I64_MAX)
    else:
        new = np.int64(val)
    if new < min_burn:
        new = np.int64(min_burn)
    if new > max_burn:
        new = np.int64(max_burn)
    return new


def legacy_alpha_bits(adjustment_alpha: int) -> int:
    """``AdjustmentAlpha / u64::MAX`` in U110F18 bits: ``floor(alpha x 2**18 / (2**64 - 1))``.

    Parameters
    ----------
    adjustment_alpha
        ``AdjustmentAlpha`` (u64; default 0; mainnet subnets often ~0.97 x u64::MAX).

    Returns
    -------
    int
        Value in ``[0, 2**18]`` for :func:`legacy_upgraded_burn`.
    """
    a = int(adjustment_alpha)
    if not 0 <= a <= _U64_MAX:
        raise ValueError("AdjustmentAlpha must be a u64")
    return (a << _FRAC18) // _U64_MAX


@njit(cache=True)
def legacy_upgraded_burn(burn: int, registrations: int, target: int, alpha_bits: int,
                         min_burn: int, max_burn: int) -> int:
    """Launch-era ``upgraded_burn`` (U110F18), exactly.

    ``u = burn x (reg + target) / (2 target)`` (18 fractional bits, floored; 0 if
    ``target = 0``), ``next = alpha x burn + (1 - alpha) x u`` (each product floored to 18
    bits); ``max_burn`` if ``next >= max_burn``, ``min_burn`` if ``next <= min_burn``, else
    ``floor(next)``. ``reg + target`` and ``2 target`` saturate at 65 535 (u16).

    Exact for ``burn x (reg + target) < 2**63`` (``burn`` below about 140 000 TAO).

    Parameters
    ----------
    burn
        Current ``Burn`` (RAO).
    registrations
        ``RegistrationsThisInterval``.
    target
        ``TargetRegistrationsPerInterval``.
    alpha_bits
        From :func:`legacy_alpha_bits`.
    min_burn, max_burn
        ``MinBurn``, ``MaxBurn``.

    Returns
    -------
    int
        New ``Burn`` (RAO).
    """
    num = min(registrations + target, 65535)
    den = min(2 * target, 65535)
    mask = np.int64(_MASK18)
    if den == 0:
        u_int = np.int64(0)
        u_frac = np.int64(0)
    else:
        q = np.int64(burn) * num
        u_int = q // den
        u_frac = ((q - u_int * den) << _FRAC18) // den
    a = np.int64(alpha_bits)
    m = np.int64(1 << _FRAC18) - a
    if m < 0:
        m = np.int64(0)
    # term1 = a x burn (bits) -> value (int1, frac1)
    bh = np.int64(burn) >> _FRAC18
    bl = np.int64(burn) & mask
    t1 = a * bl
    int1 = a * bh + (t1 >> _FRAC18)
    frac1 = t1 & mask
    # term2 = floor(m x u_bits / 2**18) (bits) -> value (int2, frac2)
    f = (m * u_frac) >> _FRAC18
    uh = u_int >> _FRAC18
    ul = u_int & mask
    t2 = m * ul + f
    int2 = m * uh + (t2 >> _FRAC18)
    frac2 = t2 & mask
    fr = frac1 + frac2
    nxt = int1 + int2 + (fr >> _FRAC18)
    if nxt >= max_burn:
        return np.int64(max_burn)
    if nxt <= min_burn:
        return np.int64(min_burn)
    return nxt


@njit(cache=True)
def legacy_adjust_burn(burn: int, registrations: int, pow_registrations: int,
                       burn_registrations: int, target: int, alpha_bits: int, min_burn: int,
                       max_burn: int) -> int:
    """Burn side of the launch-era ``adjust_registration_terms_for_networks`` (spec 9.1).

    Run once per ``AdjustmentInterval`` (default 100 blocks) with the interval's counters. Of
    the chain's six cases the burn moves (:func:`legacy_upgraded_burn`) when registrations
    exceed the target and burn registrations are at least PoW ones (B, F), or when they do not
    exceed it and PoW registrations are at least burn ones (C, E: includes an interval with no
    registration, which halves the burn when ``alpha = 0``); otherwise (A, D) it stays.

    Returns
    -------
    int
        New ``Burn`` (RAO).
    """
    if registrations > target:
        moves = burn_registrations >= pow_registrations
    else:
        moves = pow_registrations >= burn_registrations
    if not moves:
        return np.int64(burn)
    return legacy_upgraded_burn(burn, registrations, target, alpha_bits, min_burn, max_burn)


# ------------------------------------------------------------------- Python wrappers
class NeuronRegistration(NamedTuple):
    """Outcome of :func:`register_neuron`.

    Attributes
    ----------
    uid
        The UID the hotkey now holds.
    replaced_hotkey
        Hotkey that held the UID before (-1 if the UID was appended).
    displaced_alpha_stake, displaced_root_stake
        Stake of the replaced hotkey (RAO); it stays with that hotkey, off this subnet's
        metagraph (the caller decides where the simulator books it).
    burn_paid
        ``Burn`` charged (RAO TAO; the caller swaps it for alpha and destroys the alpha).
    new_burn
        ``Burn`` after the post-registration bump.
    replaced
        False only in the chain's owner-hotkey edge case (module notes): the UID is unchanged.
    """

    uid: int
    replaced_hotkey: int
    displaced_alpha_stake: int
    displaced_root_stake: int
    burn_paid: int
    new_burn: int
    replaced: bool


def prune_uid(neurons: NeuronState, run: int, subnet: int, *, block: int,
              owner_hotkey: int = -1, owner_coldkey: int = -1,
              rules: UidRules | None = None) -> int | None:
    """UID that a registration would replace on one subnet (spec 9.2), or None.

    Parameters
    ----------
    neurons
        Neuron state.
    run, subnet
        Run index and subnet slot.
    block
        Current block.
    owner_hotkey, owner_coldkey
        Subnet owner ids (-1 if none).
    rules
        :class:`UidRules` (defaults of a new subnet).

    Returns
    -------
    int or None
    """
    r = rules if rules is not None else UidRules()
    uid = int(neuron_to_prune(neurons.ints[run, subnet], int(block), int(owner_hotkey),
                              int(owner_coldkey), r))
    return None if uid < 0 else uid


def register_neuron(
    neurons: NeuronState,
    run: int,
    subnet: int,
    hotkey: int,
    coldkey: int,
    *,
    block: int,
    burn: int,
    burn_rule: BurnRule = BurnRule.HALF_LIFE,
    burn_increase_mult: float = 1.26,
    min_burn: int = 500_000,
    max_burn: int = 100_000_000_000,
    owner_hotkey: int = -1,
    owner_coldkey: int = -1,
    rules: UidRules | None = None,
    alpha_stake: int = 0,
    root_stake: int = 0,
    take: float = 11_796 / 65_535,
    registration_allowed: bool = True,
    balance: int | None = None,
    limit_price: int | None = None,
    clear_bond_column: bool = False,
) -> NeuronRegistration:
    """Register ``hotkey`` on one subnet as ``do_register`` / ``do_register_limit`` do.

    Checks in the chain's order: ``limit_price`` (``RegistrationPriceLimitExceeded``), registration
    allowed (``SubNetRegistrationDisabled``), hotkey not yet registered
    (``HotKeyAlreadyRegisteredInSubNet``), ``balance >= burn`` (``NotEnoughBalanceToStake``), a
    free or prunable UID (``NoNeuronIdAvailable``). Then the UID is taken (:func:`register_uid`)
    and, under the HEAD rule, the burn bumped (:func:`bump_burn_exact`). Paying the burn (TAO
    into the pool, alpha bought and destroyed) is the caller's. Under
    ``BurnRule.ADJUSTMENT_INTERVAL`` the burn is not bumped (it moves at interval ends through
    :func:`legacy_adjust_burn`); the per-block and per-interval registration limits of that era
    are the caller's.

    Parameters
    ----------
    neurons
        Neuron state (modified in place).
    run, subnet
        Run index and subnet slot.
    hotkey, coldkey
        The new hotkey id (``>= 0``) and its owner coldkey id.
    block
        Current block.
    burn
        Current ``Burn`` (already decayed for this block), RAO.
    burn_rule, burn_increase_mult, min_burn, max_burn
        Burn rule and ``BurnIncreaseMult``, ``MinBurn``, ``MaxBurn``.
    owner_hotkey, owner_coldkey
        Subnet owner ids (-1 if none).
    rules
        :class:`UidRules` (default: a new subnet's, with ``max_allowed_uids`` = the state's
        UID capacity).
    alpha_stake, root_stake, take
        The new hotkey's stake on this subnet and on root (RAO) and its delegate take.
    registration_allowed
        ``NetworkRegistrationAllowed``.
    balance
        The coldkey's free TAO (RAO); None skips the check.
    limit_price
        ``register_limit``'s price limit (RAO); None for plain ``register``.
    clear_bond_column
        See the module notes.

    Returns
    -------
    NeuronRegistration

    Raises
    ------
    RegistrationError
        With the chain's error name.
    """
    r = rules if rules is not None else UidRules(max_allowed_uids=neurons.uids)
    where = f"run {run}, subnet slot {subnet} (netuid {subnet + 1}) at block {block}"
    if not 0 <= run < neurons.runs or not 0 <= subnet < neurons.subnets:
        raise RegistrationError("SubnetNotExists", f"run {run}, subnet slot {subnet}")
    if hotkey < 0:
        raise ValueError("hotkey ids are >= 0 (-1 marks an empty slot)")
    if r.max_allowed_uids > neurons.uids:
        raise ValueError(f"max_allowed_uids {r.max_allowed_uids} exceeds the state's UID "
                         f"capacity {neurons.uids}")
    if limit_price is not None and burn > limit_price:
        raise RegistrationError("RegistrationPriceLimitExceeded",
                                f"burn {burn} RAO above limit {limit_price} RAO ({where})")
    if not registration_allowed:
        raise RegistrationError("SubNetRegistrationDisabled", where)
    view = neurons.subnet(run, subnet)
    hk = view.ints[N_HOTKEY]
    if (hk == hotkey).any():
        raise RegistrationError("HotKeyAlreadyRegisteredInSubNet",
                                f"hotkey {hotkey} holds uid {int(np.flatnonzero(hk == hotkey)[0])}"
                                f" ({where})")
    if balance is not None and balance < burn:
        raise RegistrationError("NotEnoughBalanceToStake",
                                f"burn {burn} RAO, balance {balance} RAO ({where})")
    n = int((hk >= 0).sum())
    target = n if n < r.max_allowed_uids else prune_uid(
        neurons, run, subnet, block=block, owner_hotkey=owner_hotkey,
        owner_coldkey=owner_coldkey, rules=r)
    if r.max_allowed_uids <= 0 or target is None:
        raise RegistrationError(
            "NoNeuronIdAvailable",
            f"{n} UIDs of {r.max_allowed_uids} filled and none prunable ({where})")
    old_hotkey = int(hk[target]) if n >= r.max_allowed_uids else -1
    old_alpha = int(view.ints[N_ALPHA_STAKE, target]) if old_hotkey >= 0 else 0
    old_root = int(view.ints[N_ROOT_STAKE, target]) if old_hotkey >= 0 else 0
    uid = int(register_uid(*view, int(hotkey), int(coldkey), int(alpha_stake), int(root_stake),
                           float(take), int(block), int(owner_hotkey), int(owner_coldkey), r,
                           bool(clear_bond_column)))
    if uid < 0:  # pragma: no cover - the checks above mirror register_uid
        raise RegistrationError(REGISTRATION_ERRORS[uid], where)
    replaced = int(hk[uid]) == hotkey
    new_burn = int(burn)
    if burn_rule == BurnRule.HALF_LIFE:
        num, shift = burn_mult_q(burn_increase_mult)
        new_burn = int(bump_burn_exact(int(burn), num, shift, int(min_burn), int(max_burn)))
    return NeuronRegistration(
        uid=uid,
        replaced_hotkey=old_hotkey if replaced else -1,
        displaced_alpha_stake=old_alpha if replaced else 0,
        displaced_root_stake=old_root if replaced else 0,
        burn_paid=int(burn),
        new_burn=new_burn,
        replaced=replaced,
    )


__all__ = [
    "REGISTRATION_ERRORS",
    "REG_HOTKEY_ALREADY_REGISTERED",
    "REG_NO_NEURON_ID_AVAILABLE",
    "BurnRule",
    "NeuronRegistration",
    "UidRules",
    "bump_burn_exact",
    "burn_mult_q",
    "clear_uid",
    "is_immune",
    "legacy_adjust_burn",
    "legacy_alpha_bits",
    "legacy_upgraded_burn",
    "neuron_to_prune",
    "prune_uid",
    "register_neuron",
    "register_uid",
]
