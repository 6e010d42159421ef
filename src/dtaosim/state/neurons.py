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
:mod:`dtaosim.io.chain_reader`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.errors import DataError


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
        """Deep copy (arrays copied, ``meta`` shallow-copied but for its arrays, which are
        copied: per-run counters such as ``next_hotkey`` must not be shared)."""
        meta = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self.meta.items()}
        return NeuronState(self.ints.copy(), self.floats.copy(), self.permit.copy(),
                           self.weights.copy(), self.bonds.copy(), meta, self.hyper.copy())

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
    "store_epoch_outputs",
    "subnetwork_n",
    "uid_of_hotkey",
]
