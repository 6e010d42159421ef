"""Per-UID state of every subnet (spec 6, 9): who holds each UID, its stake, weights and bonds.

:class:`NeuronState` is the UID-level companion of :class:`~dtaosim.state.ChainState`: the same
leading axes ``(runs, subnets)`` (subnet axis = slot axis, slot ``k`` holds netuid ``k + 1``),
then a UID axis of fixed capacity ``uids`` (``MaxAllowedUids``, 256 on mainnet). Storage is
packed for compiled code, like ``ChainState``:

* ``ints``    ``int64[runs, subnets, len(NI), uids]``  identities, RAO amounts and blocks;
* ``floats``  ``float64[runs, subnets, len(NF), uids]`` proportions;
* ``permit``  ``bool[runs, subnets, uids]``            ``ValidatorPermit``;
* ``weights`` ``uint16[runs, subnets, uids, uids]``    stored weights, row = setter UID
  (each row max-upscaled: largest entry 65 535, or all zero; :mod:`dtaosim.chain.weights`);
* ``bonds``   ``uint16[runs, subnets, uids, uids]``    stored bonds, row = validator UID
  (the subnet's Yuma storage convention, see :mod:`dtaosim.chain.yuma`).

For one run and subnet, ``NeuronState.subnet(run, k)`` returns the five views
(``ints[run, k]`` is ``(len(NI), uids)``, one contiguous row per field) that every compiled
per-subnet function of :mod:`dtaosim.chain.weights`, :mod:`dtaosim.chain.neuron_registration`
and :mod:`dtaosim.chain.uid_payout` takes; field rows are addressed with the plain-int
constants ``N_*`` (``N_HOTKEY`` ...), which numba treats as compile-time constants.

Fields and units (per UID):

=====================  ===========  =========================================================
field                  unit         meaning
=====================  ===========  =========================================================
``hotkey``             id           hotkey identity (``-1`` = empty slot); ``Keys``
``coldkey``            id           owner coldkey identity of the hotkey (``Owner``)
``alpha_stake``        RAO alpha    total alpha staked on the hotkey in this subnet
                                    (``TotalHotkeyAlpha``, nominators included)
``root_stake``         RAO TAO      the hotkey's stake on root (same on every subnet)
``registered_at``      block        ``BlockAtRegistration``
``last_update``        block        ``LastUpdate`` (last weight set; set at registration)
``emission``           RAO alpha    ``Emission`` of the last epoch (``(I + D)``-share of ``E``);
                                    the pruning key
``earned_miner``       RAO alpha    cumulative incentive paid to the UID (since it was filled)
``earned_validator``   RAO alpha    cumulative alpha dividends (take + nominators' part)
``earned_root``        RAO alpha    cumulative root alpha dividends (take + root stakers' part)
``incentive``          proportion   ``Incentive`` of the last epoch (sums to 1 over UIDs)
``dividends``          proportion   ``Dividends`` of the last epoch (sums to 1 over UIDs)
``take``               fraction     delegate take (``Delegates / 65535``; default 0.179995)
``validator_permit``   bool         permit stored at the last epoch (``P_new``)
=====================  ===========  =========================================================

UIDs fill from 0 without gaps (the chain appends at ``SubnetworkN`` and only ever replaces
afterwards), so ``SubnetworkN`` is the number of filled slots. An empty slot has every field at
its default (``hotkey = coldkey = -1``, zeros, no permit, zero weight and bond rows/columns).

Constructors: :meth:`NeuronState.empty`, :func:`synthetic_neurons` (a plausible metagraph from a
few parameters) and :func:`neurons_from_metagraphs` (the Parquet tables written by
:mod:`dtaosim.chain_reader`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .errors import DataError


class NI(IntEnum):
    """Integer per-UID fields (``int64``; ids, RAO or blocks)."""

    HOTKEY = 0
    COLDKEY = 1
    ALPHA_STAKE = 2
    ROOT_STAKE = 3
    REGISTERED_AT = 4
    LAST_UPDATE = 5
    EMISSION = 6
    EARNED_MINER = 7
    EARNED_VALIDATOR = 8
    EARNED_ROOT = 9


class NF(IntEnum):
    """Float per-UID fields (``float64``)."""

    INCENTIVE = 0
    DIVIDENDS = 1
    TAKE = 2


# Plain ints for compiled code (numba folds module-level ints into the machine code).
N_HOTKEY = 0
N_COLDKEY = 1
N_ALPHA_STAKE = 2
N_ROOT_STAKE = 3
N_REGISTERED_AT = 4
N_LAST_UPDATE = 5
N_EMISSION = 6
N_EARNED_MINER = 7
N_EARNED_VALIDATOR = 8
N_EARNED_ROOT = 9
N_INCENTIVE = 0
N_DIVIDENDS = 1
N_TAKE = 2
H_OWNER_HOTKEY = 0
H_OWNER_COLDKEY = 1
H_YUMA3 = 2
H_LIQUID_ALPHA = 3
H_KAPPA = 4
H_BONDS_MOVING_AVERAGE = 5
H_BONDS_PENALTY = 6
H_ALPHA_LOW = 7
H_ALPHA_HIGH = 8
H_ALPHA_SIGMOID_STEEPNESS = 9
H_MAX_ALLOWED_VALIDATORS = 10
H_ACTIVITY_CUTOFF = 11
H_STAKE_THRESHOLD = 12
H_IMMUNITY_PERIOD = 13
H_MIN_NON_IMMUNE_UIDS = 14
H_IMMUNE_OWNER_UIDS_LIMIT = 15
H_MAX_ALLOWED_UIDS = 16
H_LAST_STEP_BLOCK = 17
H_DEPARTED_MINER = 18
H_DEPARTED_VALIDATOR = 19
H_DEPARTED_ROOT = 20

DEFAULT_TAKE: float = 11_796 / 65_535


class NH(IntEnum):
    """Per-subnet UID and Yuma hyperparameters (``int64``; chain storage units)."""

    OWNER_HOTKEY = 0  # SubnetOwnerHotkey id (-1: none)
    OWNER_COLDKEY = 1  # SubnetOwner id (-1: none)
    YUMA3 = 2  # Yuma3On (flag): Yuma 3 bonds, else classic bonds
    LIQUID_ALPHA = 3  # LiquidAlphaOn (flag)
    KAPPA = 4  # Kappa (u16)
    BONDS_MOVING_AVERAGE = 5  # BondsMovingAverage (parts per million)
    BONDS_PENALTY = 6  # BondsPenalty (u16)
    ALPHA_LOW = 7  # AlphaValues low (u16)
    ALPHA_HIGH = 8  # AlphaValues high (u16)
    ALPHA_SIGMOID_STEEPNESS = 9  # AlphaSigmoidSteepness
    MAX_ALLOWED_VALIDATORS = 10  # MaxAllowedValidators (top-k permits)
    ACTIVITY_CUTOFF = 11  # blocks (HEAD: floor(ActivityCutoffFactorMilli x tempo / 1000))
    STAKE_THRESHOLD = 12  # StakeThreshold (RAO of stake weight)
    IMMUNITY_PERIOD = 13  # ImmunityPeriod (blocks)
    MIN_NON_IMMUNE_UIDS = 14  # MinNonImmuneUids
    IMMUNE_OWNER_UIDS_LIMIT = 15  # ImmuneOwnerUidsLimit
    MAX_ALLOWED_UIDS = 16  # MaxAllowedUids
    LAST_STEP_BLOCK = 17  # LastMechansimStepBlock (0: never stepped)
    DEPARTED_MINER = 18  # earned_miner of hotkeys that lost their UID (RAO, cumulative)
    DEPARTED_VALIDATOR = 19  # earned_validator of hotkeys that lost their UID
    DEPARTED_ROOT = 20  # earned_root of hotkeys that lost their UID


HYPER_DEFAULTS: dict[NH, int] = {
    NH.OWNER_HOTKEY: -1,
    NH.OWNER_COLDKEY: -1,
    NH.YUMA3: 1,  # init_new_network turns it on (spec 9, 6.5)
    NH.LIQUID_ALPHA: 0,
    NH.KAPPA: 32_767,
    NH.BONDS_MOVING_AVERAGE: 900_000,
    NH.BONDS_PENALTY: 65_535,
    NH.ALPHA_LOW: 45_875,
    NH.ALPHA_HIGH: 58_982,
    NH.ALPHA_SIGMOID_STEEPNESS: 1_000,
    NH.MAX_ALLOWED_VALIDATORS: 64,
    NH.ACTIVITY_CUTOFF: 5_000,  # 13 889 x 360 / 1000 at tempo 360
    NH.STAKE_THRESHOLD: 0,
    NH.IMMUNITY_PERIOD: 5_000,
    NH.MIN_NON_IMMUNE_UIDS: 10,
    NH.IMMUNE_OWNER_UIDS_LIMIT: 1,
    NH.MAX_ALLOWED_UIDS: 256,
    NH.LAST_STEP_BLOCK: 0,
    NH.DEPARTED_MINER: 0,
    NH.DEPARTED_VALIDATOR: 0,
    NH.DEPARTED_ROOT: 0,
}
"""A new subnet's values at HEAD (spec 6, 8.1 ``init_new_network``, 9); code defaults.

The ``DEPARTED_*`` fields are not chain values: they keep the earnings of hotkeys that were
replaced, so that ``earned_* summed over UIDs + DEPARTED_*`` equals what the subnet paid its
UIDs since the neurons were created."""
"""Default delegate take (``DefaultDelegateTake`` 11 796 / 65 535 = 0.179995)."""

U16_MAX = 65535

assert all(globals()[f"H_{f.name}"] == f for f in NH)  # the compiled constants match NH

_NON_NEGATIVE_INTS: tuple[NI, ...] = (
    NI.ALPHA_STAKE,
    NI.ROOT_STAKE,
    NI.EMISSION,
    NI.EARNED_MINER,
    NI.EARNED_VALIDATOR,
    NI.EARNED_ROOT,
)


class SubnetNeurons(NamedTuple):
    """Views of one run and one subnet, in the argument order of the compiled functions.

    Attributes
    ----------
    ints : ndarray of int64, (len(NI), uids)
    floats : ndarray of float64, (len(NF), uids)
    permit : ndarray of bool, (uids,)
    weights : ndarray of uint16, (uids, uids)
    bonds : ndarray of uint16, (uids, uids)
    """

    ints: NDArray[np.int64]
    floats: NDArray[np.float64]
    permit: NDArray[np.bool_]
    weights: NDArray[np.uint16]
    bonds: NDArray[np.uint16]


@dataclass(frozen=True)
class NeuronState:
    """Per-UID state of ``runs`` copies of ``subnets`` subnet slots (see the module docstring).

    Parameters
    ----------
    ints : ndarray of int64, (runs, subnets, len(NI), uids)
    floats : ndarray of float64, (runs, subnets, len(NF), uids)
    permit : ndarray of bool, (runs, subnets, uids)
    weights, bonds : ndarray of uint16, (runs, subnets, uids, uids)
    meta : dict
        Free-form metadata (e.g. the hotkey/coldkey names behind the ids).

    The arrays are made C-contiguous with the right dtypes; they are mutable in place (the
    dataclass is frozen only against re-binding its attributes).
    """

    ints: NDArray[np.int64]
    floats: NDArray[np.float64]
    permit: NDArray[np.bool_]
    weights: NDArray[np.uint16]
    bonds: NDArray[np.uint16]
    meta: dict[str, Any] = field(default_factory=dict)
    hyper: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        ints = np.ascontiguousarray(self.ints, dtype=np.int64)
        floats = np.ascontiguousarray(self.floats, dtype=np.float64)
        permit = np.ascontiguousarray(self.permit, dtype=np.bool_)
        weights = np.ascontiguousarray(self.weights, dtype=np.uint16)
        bonds = np.ascontiguousarray(self.bonds, dtype=np.uint16)
        if ints.ndim != 4 or ints.shape[2] != len(NI):
            raise DataError(f"neuron ints must be (runs, subnets, {len(NI)}, uids), "
                            f"got {ints.shape}")
        r, s, _, u = ints.shape
        if r < 1 or s < 1 or u < 1:
            raise DataError("neuron state needs at least one run, subnet and uid")
        expected = {
            "floats": (floats.shape, (r, s, len(NF), u)),
            "permit": (permit.shape, (r, s, u)),
            "weights": (weights.shape, (r, s, u, u)),
            "bonds": (bonds.shape, (r, s, u, u)),
        }
        for name, (got, want) in expected.items():
            if got != want:
                raise DataError(f"neuron {name} must have shape {want}, got {got}")
        object.__setattr__(self, "ints", ints)
        object.__setattr__(self, "floats", floats)
        object.__setattr__(self, "permit", permit)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "bonds", bonds)
        if self.hyper is None:
            hyper = np.empty((r, s, len(NH)), dtype=np.int64)
            hyper[:, :] = [HYPER_DEFAULTS[f] for f in NH]
        else:
            hyper = np.ascontiguousarray(self.hyper, dtype=np.int64)
            if hyper.shape != (r, s, len(NH)):
                raise DataError(f"neuron hyper must have shape {(r, s, len(NH))}, "
                                f"got {hyper.shape}")
        object.__setattr__(self, "hyper", hyper)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, runs: int, subnets: int, uids: int = 256) -> NeuronState:
        """All slots empty (``hotkey = coldkey = -1``, everything else zero)."""
        if runs < 1 or subnets < 1 or uids < 1:
            raise ValueError("runs, subnets and uids must be >= 1")
        ints = np.zeros((runs, subnets, len(NI), uids), dtype=np.int64)
        ints[:, :, NI.HOTKEY, :] = -1
        ints[:, :, NI.COLDKEY, :] = -1
        return cls(
            ints=ints,
            floats=np.zeros((runs, subnets, len(NF), uids), dtype=np.float64),
            permit=np.zeros((runs, subnets, uids), dtype=np.bool_),
            weights=np.zeros((runs, subnets, uids, uids), dtype=np.uint16),
            bonds=np.zeros((runs, subnets, uids, uids), dtype=np.uint16),
        )

    def copy(self) -> NeuronState:
        """Deep copy (arrays copied, ``meta`` shallow-copied)."""
        return NeuronState(self.ints.copy(), self.floats.copy(), self.permit.copy(),
                           self.weights.copy(), self.bonds.copy(), dict(self.meta),
                           self.hyper.copy())

    # ------------------------------------------------------------------------ shape
    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.ints.shape[0])

    @property
    def subnets(self) -> int:
        """Number of subnet slots."""
        return int(self.ints.shape[1])

    @property
    def uids(self) -> int:
        """UID capacity per subnet."""
        return int(self.ints.shape[3])

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (the two ``uids x uids`` matrices dominate)."""
        return int(sum(a.nbytes for a in (self.ints, self.floats, self.permit, self.weights,
                                          self.bonds, self.hyper)))

    def subnet(self, run: int, subnet: int) -> SubnetNeurons:
        """Views of one run and subnet slot for the compiled per-subnet functions."""
        return SubnetNeurons(self.ints[run, subnet], self.floats[run, subnet],
                             self.permit[run, subnet], self.weights[run, subnet],
                             self.bonds[run, subnet])

    def reset_subnet(self, run: int, subnet: int) -> None:
        """Empty one subnet slot of one run (a subnet dissolved or newly registered)."""
        self.ints[run, subnet] = 0
        self.ints[run, subnet, NI.HOTKEY] = -1
        self.ints[run, subnet, NI.COLDKEY] = -1
        self.floats[run, subnet] = 0.0
        self.permit[run, subnet] = False
        self.weights[run, subnet] = 0
        self.bonds[run, subnet] = 0
        self.hyper[run, subnet] = [HYPER_DEFAULTS[f] for f in NH]

    def subnetwork_n(self) -> NDArray[np.int64]:
        """``SubnetworkN``: filled UIDs per ``(run, subnet)``."""
        return (self.hotkey >= 0).sum(axis=2).astype(np.int64)

    # ------------------------------------------------------------------ named views
    @property
    def hotkey(self) -> NDArray[np.int64]:
        """Hotkey id per UID, ``(runs, subnets, uids)``; -1 = empty."""
        return self.ints[:, :, NI.HOTKEY, :]

    @property
    def coldkey(self) -> NDArray[np.int64]:
        """Owner coldkey id per UID."""
        return self.ints[:, :, NI.COLDKEY, :]

    @property
    def alpha_stake(self) -> NDArray[np.int64]:
        """Alpha staked on the hotkey in this subnet (RAO)."""
        return self.ints[:, :, NI.ALPHA_STAKE, :]

    @property
    def root_stake(self) -> NDArray[np.int64]:
        """The hotkey's root stake (RAO TAO)."""
        return self.ints[:, :, NI.ROOT_STAKE, :]

    @property
    def registered_at(self) -> NDArray[np.int64]:
        """Block at registration."""
        return self.ints[:, :, NI.REGISTERED_AT, :]

    @property
    def last_update(self) -> NDArray[np.int64]:
        """Block of the last weight set (or of registration)."""
        return self.ints[:, :, NI.LAST_UPDATE, :]

    @property
    def emission(self) -> NDArray[np.int64]:
        """Last epoch's combined emission (RAO); the pruning key."""
        return self.ints[:, :, NI.EMISSION, :]

    @property
    def earned_miner(self) -> NDArray[np.int64]:
        """Cumulative incentive paid (RAO)."""
        return self.ints[:, :, NI.EARNED_MINER, :]

    @property
    def earned_validator(self) -> NDArray[np.int64]:
        """Cumulative alpha dividends paid (RAO)."""
        return self.ints[:, :, NI.EARNED_VALIDATOR, :]

    @property
    def earned_root(self) -> NDArray[np.int64]:
        """Cumulative root alpha dividends (RAO)."""
        return self.ints[:, :, NI.EARNED_ROOT, :]

    @property
    def incentive(self) -> NDArray[np.float64]:
        """Last epoch's incentive proportion."""
        return self.floats[:, :, NF.INCENTIVE, :]

    @property
    def dividends(self) -> NDArray[np.float64]:
        """Last epoch's dividend proportion."""
        return self.floats[:, :, NF.DIVIDENDS, :]

    @property
    def take(self) -> NDArray[np.float64]:
        """Delegate take fraction."""
        return self.floats[:, :, NF.TAKE, :]

    @property
    def validator_permit(self) -> NDArray[np.bool_]:
        """Stored validator permits."""
        return self.permit

    # ------------------------------------------------------------------- validation
    def validate(self) -> None:
        """Check the state is consistent; raise :class:`DataError` naming the first bad value.

        Checks: hotkey ids ``>= -1``; filled UIDs contiguous from 0; no hotkey twice in one
        subnet; filled UIDs have a coldkey ``>= 0`` and blocks ``>= 0``; stakes, emission and
        earnings ``>= 0``; incentive and dividends finite in ``[0, 1]``; take finite in
        ``[0, 1]``; empty slots entirely at their defaults (no permit, stake, earnings or
        proportions, zero weight and bond rows and columns).

        Raises
        ------
        DataError
            Naming the field, run, subnet slot (and netuid) and UID.
        """
        hk = self.hotkey
        filled = hk >= 0
        empty = ~filled

        def fail(name: str, mask: NDArray[np.bool_], what: str, values: NDArray | None = None
                 ) -> None:
            r, k, u = (int(x) for x in np.argwhere(mask)[0])
            shown = f" (value {values[r, k, u]!r})" if values is not None else ""
            raise DataError(f"neurons: {name} {what} at run {r}, subnet slot {k} "
                            f"(netuid {k + 1}), uid {u}{shown}")

        bad = hk < -1
        if bad.any():
            fail("hotkey", bad, "is below -1", hk)
        gap = empty[:, :, :-1] & filled[:, :, 1:]
        if gap.any():
            r, k, u = (int(x) for x in np.argwhere(gap)[0])
            raise DataError(f"neurons: hotkey: uid {u} is empty but uid {u + 1} is filled at "
                            f"run {r}, subnet slot {k} (netuid {k + 1}); UIDs fill from 0")
        srt = np.sort(np.where(filled, hk, -1 - np.arange(self.uids)), axis=2)
        dup = (srt[:, :, 1:] == srt[:, :, :-1]) & (srt[:, :, 1:] >= 0)
        if dup.any():
            r, k, u = (int(x) for x in np.argwhere(dup)[0])
            key = int(srt[r, k, u])
            where = int(np.flatnonzero(hk[r, k] == key)[1])
            raise DataError(f"neurons: hotkey {key} holds two UIDs at run {r}, subnet slot "
                            f"{k} (netuid {k + 1}), second at uid {where}")
        for name, arr in (("coldkey", self.coldkey), ("registered_at", self.registered_at),
                          ("last_update", self.last_update)):
            bad = filled & (arr < 0)
            if bad.any():
                fail(name, bad, "is negative on a filled UID", arr)
        for f in _NON_NEGATIVE_INTS:
            arr = self.ints[:, :, f, :]
            bad = arr < 0
            if bad.any():
                fail(f.name.lower(), bad, "is negative", arr)
        for f in (NF.INCENTIVE, NF.DIVIDENDS, NF.TAKE):
            arr = self.floats[:, :, f, :]
            bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
            if bad.any():
                fail(f.name.lower(), bad, "is not a finite proportion in [0, 1]", arr)
        bad = empty & self.permit
        if bad.any():
            fail("validator_permit", bad, "is set on an empty slot")
        for name, arr in (("coldkey", self.coldkey),):
            bad = empty & (arr != -1)
            if bad.any():
                fail(name, bad, "must be -1 on an empty slot", arr)
        for f in (*_NON_NEGATIVE_INTS, NI.REGISTERED_AT, NI.LAST_UPDATE):
            arr = self.ints[:, :, f, :]
            bad = empty & (arr != 0)
            if bad.any():
                fail(f.name.lower(), bad, "must be 0 on an empty slot", arr)
        for f in NF:
            arr = self.floats[:, :, f, :]
            bad = empty & (arr != 0.0)
            if bad.any():
                fail(f.name.lower(), bad, "must be 0 on an empty slot", arr)
        for name, mat in (("weights", self.weights), ("bonds", self.bonds)):
            rows = empty & mat.any(axis=3)
            if rows.any():
                fail(name, rows, "row is non-zero on an empty slot")
            cols = empty & mat.any(axis=2)
            if cols.any():
                fail(name, cols, "column is non-zero on an empty slot")


# -------------------------------------------------------------------- compiled helpers
@njit(cache=True)
def subnetwork_n(ni: NDArray[np.int64]) -> int:
    """``SubnetworkN`` of one subnet (filled UIDs), from its ``ints`` view."""
    n = 0
    hk = ni[N_HOTKEY]
    for i in range(hk.shape[0]):
        if hk[i] >= 0:
            n += 1
    return n


@njit(cache=True)
def uid_of_hotkey(ni: NDArray[np.int64], hotkey: int) -> int:
    """UID held by ``hotkey`` in one subnet, or -1 (``Uids``)."""
    if hotkey < 0:
        return -1
    hk = ni[N_HOTKEY]
    for i in range(hk.shape[0]):
        if hk[i] == hotkey:
            return i
    return -1


@njit(cache=True)
def store_epoch_outputs(ni: NDArray[np.int64], nf: NDArray[np.float64],
                        permit: NDArray[np.bool_], incentive: NDArray[np.float64],
                        dividends: NDArray[np.float64], emission: NDArray[np.int64],
                        new_permit: NDArray[np.bool_]) -> None:
    """Record a Yuma epoch's per-UID outputs (``Incentive``, ``Dividends``, ``Emission``,
    ``ValidatorPermit = P_new``) for one subnet; empty slots are left at their defaults.

    Parameters
    ----------
    ni, nf, permit
        The subnet's views (:meth:`NeuronState.subnet`).
    incentive, dividends : ndarray of float64, (uids,)
        Yuma's ``I`` and ``D``.
    emission : ndarray of int64, (uids,)
        Yuma's combined emission (RAO).
    new_permit : ndarray of bool, (uids,)
        ``P_new``.
    """
    hk = ni[N_HOTKEY]
    for i in range(hk.shape[0]):
        if hk[i] < 0:
            continue
        nf[N_INCENTIVE, i] = incentive[i]
        nf[N_DIVIDENDS, i] = dividends[i]
        ni[N_EMISSION, i] = emission[i]
        permit[i] = new_permit[i]


# ------------------------------------------------------------------------ synthetic
def _split_exact(total: int, weights: NDArray[np.float64]) -> NDArray[np.int64]:
    """Split ``total`` RAO pro rata to ``weights`` so that the parts sum to ``total`` exactly.

    Floors first, then +1 to the largest remainders (ties to the lower index).
    """
    n = weights.size
    out = np.zeros(n, dtype=np.int64)
    total = int(total)
    if n == 0 or total <= 0:
        return out
    w = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
    s = float(w.sum())
    if s <= 0.0:
        w = np.ones(n)
        s = float(n)
    x = w / s * float(total)
    out = np.floor(x).astype(np.int64)
    rem = x - out
    left = total - int(out.sum())
    if left > 0:
        out += left // n
        left -= (left // n) * n
        order = np.argsort(-rem, kind="stable")
        out[order[:left]] += 1
    elif left < 0:
        order = np.argsort(-out, kind="stable")
        i = 0
        while left < 0:
            j = order[i % n]
            d = min(int(out[j]), -left)
            out[j] -= d
            left += d
            i += 1
    return out


def _seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(seed)


def _slots(subnets: int | Sequence[int]) -> tuple[int, list[int]]:
    """Slot count and the slots to fill from ``subnets`` (a count, or netuids)."""
    if isinstance(subnets, (int, np.integer)):
        n = int(subnets)
        if n < 1:
            raise ValueError("the number of subnets must be >= 1")
        return n, list(range(n))
    netuids = [int(x) for x in subnets]
    if not netuids or min(netuids) < 1 or len(set(netuids)) != len(netuids):
        raise ValueError("netuids must be distinct and >= 1 (root, netuid 0, has no UIDs)")
    return max(netuids), sorted(x - 1 for x in netuids)


def _per_slot(value: ArrayLike, name: str, n_runs: int, n_slots: int, fill: list[int]
              ) -> NDArray[np.float64]:
    """``value`` as ``(runs, slots)``: given per slot, or per filled netuid (then scattered)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == len(fill) and len(fill) != n_slots:
        full = np.zeros((arr.shape[0], n_slots))
        full[:, fill] = arr
        arr = full
    try:
        return np.broadcast_to(arr, (n_runs, n_slots))
    except ValueError:
        raise ValueError(f"{name} of shape {arr.shape} does not broadcast to "
                         f"(runs, subnets) = {(n_runs, n_slots)}") from None


def synthetic_neurons(
    n_runs: int,
    subnets: int | Sequence[int],
    n_uids: int = 256,
    n_validators: int = 64,
    *,
    subnet_alpha_stake: ArrayLike,
    block: int = 0,
    seed: int | np.random.SeedSequence | None = None,
    root_stake: ArrayLike | None = None,
    max_weight_limit: int = U16_MAX,
    miner_stake_fraction: float = 1e-3,
    stake_sigma: float = 2.0,
    quality_sigma: float = 1.0,
    noise_sigma: float = 0.3,
    validator_age_blocks: float = 1_296_000.0,
    miner_age_blocks: float = 216_000.0,
    weights_age_blocks: int = 360,
    epoch_emission: int = 295_200_000_000,
    take: float = DEFAULT_TAKE,
    warm_bonds: bool = True,
    owner_weight: ArrayLike | None = None,
) -> NeuronState:
    """A plausible full metagraph for every subnet slot (for studies without chain data).

    Assumptions (each is a modelling choice, not chain data):

    1. Every listed subnet is full: ``n_uids`` UIDs filled (mainnet subnets mostly are).
    2. UID 0 is the subnet owner's hotkey (the chain gives the owner hotkey UID 0 at creation)
       and is one of the validators; its coldkey is the subnet owner's.
    3. ``n_validators`` UIDs (UID 0 and ``n_validators - 1`` others at random positions) are
       validators and hold validator permits; the rest are miners. ``n_validators`` should not
       exceed ``MaxAllowedValidators`` (64 for new subnets).
    4. Validators come from one pool of ``2 x n_validators`` identities per run shared by all
       subnets (the same large validators sit on most subnets; a hotkey's root stake is the same
       everywhere, as on chain). Pool identity sizes are lognormal(0, ``stake_sigma``) (heavy
       tailed: with 2.0 and 64 validators the largest typically holds about a fifth of the
       subnet's stake and the top five over half); a subnet picks its validators from the pool
       with probability proportional to the square root of size, and each validator's stake
       there is its size times a lognormal(0, 0.5) subnet factor.
       The owner's size is an independent lognormal(0, ``stake_sigma``) draw.
    5. ``subnet_alpha_stake[r, k]`` RAO is the subnet's total hotkey alpha stake: validators
       share ``1 - miner_stake_fraction`` of it pro rata to their stake factors, miners share
       the rest pro rata to lognormal(0, 1) factors (miners hold tiny stake), each miner capped
       at half the smallest validator's stake (the excess goes to the largest validator) so
       that the top-``n_validators`` stakes, which Yuma gives the permits, are the
       validators'; the split is exact (parts sum to the total).
    6. ``root_stake[r]`` RAO (optional) is split over the validator pool pro rata to identity
       size; owners' and miners' hotkeys have no root stake.
    7. Every validator weights every miner: a latent miner quality ``q_j`` ~
       lognormal(0, ``quality_sigma``) shared by the subnet's validators, times the validator's
       own noise ``exp(noise_sigma x N(0, 1))``; no weight on validators (or on itself). Each
       row is normalised with the max-weight limit (:func:`~dtaosim.chain.weights
       .normalize_max_weight`), quantised to u16 and max-upscaled as the chain stores it
       (:func:`~dtaosim.chain.weights.weights_row_u16`).
    8. Registration ages are exponential: mean ``validator_age_blocks`` (180 days) for
       validators and the owner, ``miner_age_blocks`` (30 days) for miners, truncated at block
       0 (with the default 5 000-block immunity, about 2% of miners are immune).
    9. Validators set weights within the last ``weights_age_blocks`` blocks (uniform) and never
       before their registration; miners never set weights (``last_update`` = registration).
    10. Delegate take is ``take`` (chain default 0.179995) for every hotkey.
    11. Last epoch's outputs are approximated without clipping: incentive = stake-weighted mean
        of the validators' normalised rows; dividends = validators' stake shares;
        ``emission = floor(epoch_emission x (incentive + dividends) / 2)`` with
        ``epoch_emission`` = 295.2 alpha by default (360 blocks x 1 alpha x (1 - owner cut)).
        They only order the first pruning; the first Yuma epoch overwrites them.
    12. ``warm_bonds``: validator bond rows start at the Yuma 3 fixed point without clipping,
        ``floor(row-normalised weights x 65535)``; otherwise zero (cold start). For classic Yuma
        use cold bonds.
    13. Cumulative earnings start at 0.
    14. ``owner_weight[r, k]`` (default 0): the fraction of every validator's weight put on
        UID 0, the owner's hotkey. The chain withholds (burns) the incentive of the owner's
        hotkeys, so this is how a subnet's miner burn arises (``MinerBurned``, spec 5.6);
        pass the snapshot's ``miner_burn_fraction`` to reproduce it.
    15. The subnet hyperparameters (``hyper``) are a new subnet's at HEAD
        (:data:`HYPER_DEFAULTS`), with the owner hotkey and coldkey those of UID 0.

    Parameters
    ----------
    n_runs
        Runs (leading axis). Run ``r`` is drawn from child ``r`` of the seed sequence, so runs
        differ; pass ``n_runs=1`` and broadcast if identical starts are wanted.
    subnets
        Number of subnet slots (all filled), or the netuids to fill (slots ``netuid - 1``; the
        axis has ``max(netuids)`` slots, the others empty).
    n_uids
        UIDs per subnet (capacity and fill).
    n_validators
        Validators per subnet (at most ``n_uids``).
    subnet_alpha_stake : array_like of int, (runs, subnets) or broadcastable
        Total alpha stake per subnet (RAO); indexed by slot, or by the order of ``subnets``
        when netuids are given.
    block
        Current block (registration and weight blocks are drawn before it).
    seed
        Seed or ``SeedSequence``.
    root_stake : array_like of int, (runs,), optional
        Total root stake of the validator pool per run (RAO).
    max_weight_limit
        ``MaxWeightsLimit`` (u16) applied to the validators' rows.
    miner_stake_fraction, stake_sigma, quality_sigma, noise_sigma, validator_age_blocks,
    miner_age_blocks, weights_age_blocks, epoch_emission, take, warm_bonds
        See the assumptions above.

    Returns
    -------
    NeuronState
        Validated; ``meta`` records the generator and its parameters.
    """
    from .chain.weights import weights_row_u16

    if n_runs < 1 or n_uids < 1 or not 1 <= n_validators <= n_uids:
        raise ValueError("need n_runs >= 1, n_uids >= 1 and 1 <= n_validators <= n_uids")
    if not 0.0 <= miner_stake_fraction <= 1.0 or not 0.0 <= take <= 1.0:
        raise ValueError("miner_stake_fraction and take must be in [0, 1]")
    n_slots, fill = _slots(subnets)
    stake_tot = _per_slot(subnet_alpha_stake, 'subnet_alpha_stake', n_runs, n_slots, fill)
    if (stake_tot < 0).any() or not np.isfinite(stake_tot).all():
        raise ValueError("subnet_alpha_stake must be finite and >= 0")
    root_tot = (np.zeros(n_runs) if root_stake is None
                else np.broadcast_to(np.asarray(root_stake, dtype=np.float64), (n_runs,)))
    ow = _per_slot(0.0 if owner_weight is None else owner_weight, 'owner_weight', n_runs,
                   n_slots, fill)
    if not ((ow >= 0.0) & (ow <= 1.0)).all():
        raise ValueError("owner_weight must be in [0, 1]")

    state = NeuronState.empty(n_runs, n_slots, n_uids)
    pool = 2 * n_validators
    nv = n_validators
    nm = n_uids - nv
    row = np.zeros(n_uids)
    scratch = np.zeros(n_uids)
    qrow = np.zeros(n_uids, dtype=np.uint16)
    children = _seed_sequence(seed).spawn(n_runs)
    for r in range(n_runs):
        rng = np.random.default_rng(children[r])
        size = rng.lognormal(0.0, stake_sigma, pool)
        pool_root = _split_exact(int(root_tot[r]), size)
        pick_p = np.sqrt(size) / np.sqrt(size).sum()
        for k in fill:
            ni, nf, permit, weights, bonds = state.subnet(r, k)
            others = rng.choice(np.arange(1, n_uids), size=nv - 1, replace=False)
            vuids = np.concatenate(([0], others)).astype(np.int64)
            is_val = np.zeros(n_uids, dtype=np.bool_)
            is_val[vuids] = True
            muids = np.flatnonzero(~is_val)
            picks = rng.choice(pool, size=nv - 1, replace=False, p=pick_p)
            vsize = np.concatenate(([rng.lognormal(0.0, stake_sigma)],
                                    size[picks] * rng.lognormal(0.0, 0.5, nv - 1)))
            total = int(stake_tot[r, k])
            vstake = _split_exact(total - int(total * miner_stake_fraction) if nm else total,
                                  vsize)
            mstake = _split_exact(total - int(vstake.sum()), rng.lognormal(0.0, 1.0, nm))
            if nm and nv:  # permits must follow stake: every miner below every validator
                cap = int(vstake.min()) // 2
                excess = int(np.maximum(mstake - cap, 0).sum())
                if excess:
                    mstake = np.minimum(mstake, cap)
                    vstake[int(np.argmax(vstake))] += excess

            hot = ni[NI.HOTKEY]
            cold = ni[NI.COLDKEY]
            hot[0] = cold[0] = pool + k
            state.hyper[r, k, NH.OWNER_HOTKEY] = pool + k
            state.hyper[r, k, NH.OWNER_COLDKEY] = pool + k
            hot[others] = picks
            cold[others] = picks
            base = pool + n_slots + k * n_uids
            hot[muids] = base + muids
            n_clusters = max(1, nm // 4)
            cold[muids] = base + np.floor(n_clusters * rng.random(nm) ** 2).astype(np.int64)
            ni[NI.ALPHA_STAKE, vuids] = vstake
            ni[NI.ALPHA_STAKE, muids] = mstake
            ni[NI.ROOT_STAKE, others] = pool_root[picks]

            age_v = np.floor(rng.exponential(validator_age_blocks, nv)).astype(np.int64)
            age_m = np.floor(rng.exponential(miner_age_blocks, nm)).astype(np.int64)
            reg = ni[NI.REGISTERED_AT]
            reg[vuids] = np.maximum(0, block - age_v)
            reg[muids] = np.maximum(0, block - age_m)
            lu = ni[NI.LAST_UPDATE]
            lu[vuids] = np.maximum(reg[vuids],
                                   block - rng.integers(0, max(1, weights_age_blocks), nv))
            lu[muids] = reg[muids]
            permit[vuids] = True
            nf[NF.TAKE, :] = take

            quality = rng.lognormal(0.0, quality_sigma, nm)
            wnorm = np.zeros((nv, n_uids))
            f_own = float(ow[r, k])
            for a, i in enumerate(vuids):
                row[:] = 0.0
                row[muids] = quality * np.exp(noise_sigma * rng.standard_normal(nm))
                if f_own > 0.0:
                    tot = row.sum()
                    row[muids] *= (1.0 - f_own) / tot if tot > 0 else 0.0
                    row[0] = f_own
                weights_row_u16(row, max_weight_limit, qrow, scratch)
                weights[i] = qrow
                s = float(qrow.sum())
                if s > 0:
                    wnorm[a] = qrow / s
            share = vstake / max(1, int(vstake.sum()))
            inc = share @ wnorm
            if inc.sum() > 0:
                inc = inc / inc.sum()
            div = np.zeros(n_uids)
            div[vuids] = share
            nf[NF.INCENTIVE] = inc
            nf[NF.DIVIDENDS] = div
            ni[NI.EMISSION] = np.floor(epoch_emission * (inc + div) / 2.0).astype(np.int64)
            if warm_bonds:
                bonds[vuids] = np.floor(wnorm * U16_MAX).astype(np.uint16)
    state.meta.update(
        generator="synthetic_neurons",
        block=int(block),
        n_validators=int(n_validators),
        max_weight_limit=int(max_weight_limit),
        miner_stake_fraction=float(miner_stake_fraction),
        stake_sigma=float(stake_sigma),
        quality_sigma=float(quality_sigma),
        noise_sigma=float(noise_sigma),
        warm_bonds=bool(warm_bonds),
    )
    state.validate()
    return state


# ---------------------------------------------------------------------- metagraphs
def _table(obj: Any, what: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(obj, pa.Table):
        return obj
    try:
        return pq.read_table(Path(obj))
    except (OSError, pa.ArrowException) as e:
        raise DataError(f"cannot read the {what} table {obj}: {e}") from None


def _weights_path_for(neurons_path: Path) -> Path | None:
    name = neurons_path.name
    if name.endswith(".metagraphs.parquet"):
        return neurons_path.with_name(name[: -len(".metagraphs.parquet")] + ".weights.parquet")
    return None


_NEURON_COLUMNS = ("netuid", "uid", "hotkey", "coldkey", "alpha_stake_rao", "root_stake_rao",
                   "incentive", "dividends", "validator_permit", "block_at_registration",
                   "last_update")
_WEIGHT_COLUMNS = ("netuid", "uid", "target_uid", "weight")


def neurons_from_metagraphs(
    neurons: Any,
    weights: Any = None,
    *,
    subnets: int | None = None,
    n_uids: int = 256,
    n_runs: int = 1,
    take: float = DEFAULT_TAKE,
    epoch_emission: ArrayLike = 295_200_000_000,
    warm_bonds: bool = False,
) -> NeuronState:
    """Build a :class:`NeuronState` from the metagraph tables of :mod:`dtaosim.chain_reader`.

    Column mapping (``NEURON_SCHEMA`` / ``WEIGHT_SCHEMA`` of the reader): ``netuid`` -> slot
    ``netuid - 1`` (root rows, netuid 0, are skipped); ``uid``; ``hotkey``/``coldkey`` (SS58
    strings) -> integer ids in sorted order, the names kept in ``meta["hotkeys"]`` and
    ``meta["coldkeys"]`` (a hotkey has the same id on every subnet); ``alpha_stake_rao`` ->
    ``alpha_stake``; ``root_stake_rao`` -> ``root_stake``; ``incentive``, ``dividends``;
    ``validator_permit``; ``block_at_registration`` -> ``registered_at``; ``last_update``;
    weights ``(netuid, uid, target_uid, weight)`` -> ``weights`` (the u16 as stored).

    Not in the tables, so assumed: delegate ``take`` (default 0.179995 for every hotkey); the
    last epoch's ``emission`` (pruning key) = ``floor(epoch_emission x (incentive +
    dividends) / 2)``; bonds zero, or with ``warm_bonds`` the Yuma 3 fixed point of the weights
    (see :func:`synthetic_neurons`); cumulative earnings 0.

    Parameters
    ----------
    neurons
        ``pyarrow.Table`` or path of ``NAME.metagraphs.parquet``.
    weights
        ``pyarrow.Table`` or path of ``NAME.weights.parquet``; default: the file beside
        ``neurons`` when that is a path (no weights if it is absent).
    subnets
        Number of subnet slots; default the largest netuid (match the snapshot's
        ``ChainState``).
    n_uids
        UID capacity.
    n_runs
        Runs (the metagraph is copied into each).
    take, epoch_emission, warm_bonds
        See above; ``epoch_emission`` may be per slot, shape ``(subnets,)``.

    Returns
    -------
    NeuronState
        Validated.

    Raises
    ------
    DataError
        Missing columns, UIDs beyond ``n_uids``, netuids beyond ``subnets``, or an inconsistent
        metagraph (see :meth:`NeuronState.validate`).
    """
    tab = _table(neurons, "neurons")
    missing = [c for c in _NEURON_COLUMNS if c not in tab.column_names]
    if missing:
        raise DataError(f"neurons table lacks columns {missing}")
    if weights is None and isinstance(neurons, (str, os.PathLike)):
        wp = _weights_path_for(Path(neurons))
        weights = wp if wp is not None and wp.is_file() else None
    wtab = _table(weights, "weights") if weights is not None else None
    if wtab is not None:
        missing = [c for c in _WEIGHT_COLUMNS if c not in wtab.column_names]
        if missing:
            raise DataError(f"weights table lacks columns {missing}")

    col = {c: tab.column(c).to_numpy(zero_copy_only=False) for c in _NEURON_COLUMNS}
    keep = col["netuid"].astype(np.int64) > 0
    col = {c: v[keep] for c, v in col.items()}
    netuid = col["netuid"].astype(np.int64)
    uid = col["uid"].astype(np.int64)
    n_slots = int(subnets) if subnets is not None else int(netuid.max(initial=1))
    if netuid.size and netuid.max() > n_slots:
        raise DataError(f"neurons table has netuid {int(netuid.max())} beyond {n_slots} slots")
    if uid.size and (uid.max() >= n_uids):
        raise DataError(f"neurons table has uid {int(uid.max())} beyond capacity {n_uids}")
    hot_names = sorted({str(x) for x in col["hotkey"]})
    cold_names = sorted({str(x) for x in col["coldkey"]})
    hot_id = {h: i for i, h in enumerate(hot_names)}
    cold_id = {c: i for i, c in enumerate(cold_names)}

    st = NeuronState.empty(1, n_slots, n_uids)
    k = netuid - 1
    i0 = st.ints[0]
    i0[k, NI.HOTKEY, uid] = [hot_id[str(x)] for x in col["hotkey"]]
    i0[k, NI.COLDKEY, uid] = [cold_id[str(x)] for x in col["coldkey"]]
    i0[k, NI.ALPHA_STAKE, uid] = col["alpha_stake_rao"].astype(np.int64)
    i0[k, NI.ROOT_STAKE, uid] = col["root_stake_rao"].astype(np.int64)
    i0[k, NI.REGISTERED_AT, uid] = col["block_at_registration"].astype(np.int64)
    i0[k, NI.LAST_UPDATE, uid] = col["last_update"].astype(np.int64)
    inc = col["incentive"].astype(np.float64)
    div = col["dividends"].astype(np.float64)
    f0 = st.floats[0]
    f0[k, NF.INCENTIVE, uid] = inc
    f0[k, NF.DIVIDENDS, uid] = div
    f0[k, NF.TAKE, uid] = take
    st.permit[0, k, uid] = col["validator_permit"].astype(np.bool_)
    e_slot = np.broadcast_to(np.asarray(epoch_emission, dtype=np.float64), (n_slots,))
    i0[k, NI.EMISSION, uid] = np.floor(e_slot[k] * (inc + div) / 2.0).astype(np.int64)
    if wtab is not None:
        wc = {c: wtab.column(c).to_numpy(zero_copy_only=False).astype(np.int64)
              for c in _WEIGHT_COLUMNS}
        ok = wc["netuid"] > 0
        wn, wu, wt, wv = (wc[c][ok] for c in _WEIGHT_COLUMNS)
        if wn.size and (wn.max() > n_slots or max(wu.max(), wt.max()) >= n_uids):
            raise DataError("weights table refers to a netuid or uid beyond the state's shape")
        if wv.size and (wv.min() < 0 or wv.max() > U16_MAX):
            raise DataError("weights table has values outside u16")
        st.weights[0, wn - 1, wu, wt] = wv.astype(np.uint16)
    if warm_bonds:
        w = st.weights[0].astype(np.float64)
        s = w.sum(axis=2, keepdims=True)
        norm = np.divide(w, s, out=np.zeros_like(w), where=s > 0)
        st.bonds[0] = np.floor(norm * U16_MAX).astype(np.uint16) * st.permit[0][:, :, None]
    if n_runs > 1:
        st = NeuronState(
            np.repeat(st.ints, n_runs, axis=0), np.repeat(st.floats, n_runs, axis=0),
            np.repeat(st.permit, n_runs, axis=0), np.repeat(st.weights, n_runs, axis=0),
            np.repeat(st.bonds, n_runs, axis=0),
        )
    st.meta.update(generator="neurons_from_metagraphs", hotkeys=hot_names,
                   coldkeys=cold_names)
    st.validate()
    return st


__all__ = [
    "DEFAULT_TAKE",
    "HYPER_DEFAULTS",
    "NF",
    "NH",
    "NI",
    "N_ALPHA_STAKE",
    "N_COLDKEY",
    "N_DIVIDENDS",
    "N_EARNED_MINER",
    "N_EARNED_ROOT",
    "N_EARNED_VALIDATOR",
    "N_EMISSION",
    "N_HOTKEY",
    "N_INCENTIVE",
    "N_LAST_UPDATE",
    "N_REGISTERED_AT",
    "N_ROOT_STAKE",
    "N_TAKE",
    "NeuronState",
    "SubnetNeurons",
    "neurons_for_state",
    "neurons_from_metagraphs",
    "starting_neurons",
    "store_epoch_outputs",
    "subnetwork_n",
    "synthetic_neurons",
    "uid_of_hotkey",
]


def neurons_for_state(state: Any, n_uids: int = 256, n_validators: int = 64, *,
                      seed: int | np.random.SeedSequence | None = None) -> NeuronState:
    """Synthetic neurons (:func:`synthetic_neurons`) consistent with a chain state.

    Each existing subnet is filled with ``n_uids`` UIDs: the subnet's staked alpha (validators,
    nominators, miners and owner: ``STAKE_STAKERS + STAKE_MINERS + STAKE_OWNER``) is spread over
    its hotkeys, the network's root stake over the validator pool, and every validator puts the
    subnet's ``miner_burn_fraction`` of its weight on the owner's UID 0, so the miner burn the
    chain records comes out of Yuma as on chain. Free slots stay empty.

    Parameters
    ----------
    state : ChainState
        The chain state (its runs, subnet slots and block).
    n_uids, n_validators
        UIDs and validators per subnet.
    seed
        Seed or ``SeedSequence`` (run ``r`` uses child ``r``).

    Returns
    -------
    NeuronState
    """
    from .state import GI, SF, SI

    exists = state.ints[:, :, SI.EXISTS] != 0
    stake = (state.ints[:, :, SI.STAKE_STAKERS] + state.ints[:, :, SI.STAKE_MINERS]
             + state.ints[:, :, SI.STAKE_OWNER])
    nrn = synthetic_neurons(state.runs, state.subnets, n_uids, n_validators,
                            subnet_alpha_stake=np.where(exists, stake, 0), block=state.block,
                            seed=seed, root_stake=state.gints[:, GI.ROOT_STAKE],
                            owner_weight=state.floats[:, :, SF.MINER_BURN_FRACTION])
    for r, k in zip(*np.nonzero(~exists), strict=True):
        nrn.reset_subnet(int(r), int(k))
    nrn.meta["next_hotkey"] = int(nrn.hotkey.max()) + 1
    return nrn


def starting_neurons(state: Any, snapshot: Any = None,
                     snapshot_path: str | os.PathLike | None = None, n_uids: int = 256,
                     n_validators: int = 64, *,
                     seed: int | np.random.SeedSequence | None = None) -> NeuronState:
    """The UIDs a run starts with: the snapshot's metagraphs if they were saved beside it
    (``dtaosim snapshot --metagraphs``: ``NAME.metagraphs.parquet``), else synthetic ones
    (:func:`neurons_for_state`).

    Parameters
    ----------
    state : ChainState
        The chain state built from the snapshot.
    snapshot : Snapshot, optional
        Its snapshot, for the owners' hotkeys and coldkeys.
    snapshot_path : path, optional
        Where the snapshot was read from (the metagraph files are looked for beside it).
    n_uids, n_validators
        UIDs and validators per subnet (capacity; synthetic metagraphs are full).
    seed
        Seed for the synthetic metagraph.

    Returns
    -------
    NeuronState
    """
    mpath = None
    if snapshot_path is not None:
        from .chain_reader import metagraph_path

        candidate = metagraph_path(snapshot_path)
        mpath = candidate if candidate.is_file() else None
    if mpath is None:
        return neurons_for_state(state, n_uids, n_validators, seed=seed)
    nrn = neurons_from_metagraphs(mpath, subnets=state.subnets, n_uids=n_uids,
                                  n_runs=state.runs, warm_bonds=True)
    hot = {name: i for i, name in enumerate(nrn.meta.get("hotkeys", []))}
    cold = {name: i for i, name in enumerate(nrn.meta.get("coldkeys", []))}
    for sub in getattr(snapshot, "subnets", []):
        k = int(sub.netuid) - 1
        if 0 <= k < state.subnets:
            nrn.hyper[:, k, NH.OWNER_HOTKEY] = hot.get(sub.owner_hotkey, -1)
            nrn.hyper[:, k, NH.OWNER_COLDKEY] = cold.get(sub.owner_coldkey, -1)
    nrn.meta["next_hotkey"] = max(int(nrn.hotkey.max()), len(hot)) + 1
    nrn.meta["source"] = str(mpath)
    return nrn
