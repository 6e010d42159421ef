"""Chain state as a structure of arrays with a leading run axis.

Every per-subnet quantity is a view of shape ``(runs, subnets)``; every network-wide quantity a
view of shape ``(runs,)``. Storage is packed so that a compiled kernel can take the whole state
as three arrays:

* ``ints``   ``int64[runs, subnets, len(SI)]``  balances in RAO and block numbers;
* ``floats`` ``float64[runs, subnets, len(SF)]`` prices, EMAs, weights, fractions;
* ``gints``  ``int64[runs, len(GI)]``            network totals in RAO and registration memory.

``ints`` and ``floats`` are views over *field-major* memory (``runs x fields x subnets``), so
one field of one run is contiguous across subnets, which the compiled block loop streams over;
:attr:`ChainState.ints_fm` / :attr:`ChainState.floats_fm` expose that memory. Any array given to
the constructor is brought to this layout.

The subnet axis is a slot axis: slot ``k`` holds netuid ``k + 1`` (root, netuid 0, is not a slot;
its stake is the network field ``root_stake``). A slot with ``exists == 0`` is free.

Units: all balances are RAO (``int64``; 1 TAO = 1 alpha = 10**9 RAO). Prices are TAO per alpha.

Accounting identities (checked by :func:`dtaosim.state.invariants.check_state` and, while
running, by the compiled kernel):

* TAO: ``total_issuance == sum(tao_reserve) + root_stake + free_tao + sum(pending_root_tao)``
  and ``total_issuance == issuance_start + minted_tao - recycled_tao``.
* alpha, per subnet: ``alpha_in + alpha_out == alpha_issuance_start + alpha_minted -
  alpha_recycled`` and ``alpha_out`` equals the sum of its holders (:data:`ALPHA_OUT_PARTS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from dtaosim.state.neurons import NeuronState


class SI(IntEnum):
    """Integer per-subnet fields (``int64``; RAO unless the name says blocks/flag/count)."""

    EXISTS = 0  # flag: slot holds an added subnet
    TAO_RESERVE = 1  # SubnetTAO: pool TAO reserve (y)
    ALPHA_IN = 2  # SubnetAlphaIn: pool alpha reserve (x)
    ALPHA_OUT = 3  # SubnetAlphaOut: alpha outside the pool (staked, pending, protocol, burned)
    PENDING_SERVER = 4  # PendingServerEmission (miners)
    PENDING_VALIDATOR = 5  # PendingValidatorEmission
    PENDING_ROOT = 6  # PendingRootAlphaDivs
    PENDING_OWNER = 7  # PendingOwnerCut
    PENDING_ROOT_TAO = 8  # launch era: TAO from root alpha sold each block, paid at the epoch
    STAKE_OWNER = 9  # alpha staked to the owner (owner cut)
    STAKE_MINERS = 10  # alpha staked to miners (aggregate holder until Yuma/UIDs)
    STAKE_STAKERS = 11  # alpha staked to validators and their nominators (aggregate)
    STAKE_ROOT_KEPT = 12  # root dividends kept as alpha (claim type Keep)
    ROOT_CLAIMABLE = 13  # root dividends not yet claimed (RootClaimable x root stake)
    PROTOCOL_ALPHA = 14  # SubnetProtocolAlpha: chain-bought alpha kept by the protocol
    BURNED_ALPHA = 15  # alpha burned (not recycled): still counted in AlphaOut
    UNDISTRIBUTED_ALPHA = 16  # floor dust and unpaid buckets that stay minted in AlphaOut
    TEMPO = 17  # blocks
    LAST_EPOCH_BLOCK = 18  # block of the last epoch slot (HEAD schedule)
    EPOCH_COUNT = 19  # epochs run since the simulation started
    REGISTERED_AT = 20  # block the subnet was registered
    FIRST_EMISSION_BLOCK = 21  # FirstEmissionBlockNumber (-1: start_call not yet done)
    EMISSION_ENABLED = 22  # flag: SubnetEmissionEnabled
    REGISTRATION_ALLOWED = 23  # flag: NetworkRegistrationAllowed
    LOCKED_TAO = 24  # SubnetLocked: TAO locked at registration
    NEURON_BURN = 25  # Burn: UID registration burn price (RAO)
    BURN_FACTOR_Q32 = 26  # per-block burn decay factor in Q32 (from BurnHalfLife)
    FLOW_ACC = 27  # SubnetTaoFlow: user TAO flow accumulated since the last EMA update
    PROTOCOL_FLOW_ACC = 28  # SubnetProtocolFlow accumulator
    ALPHA_ISSUANCE_START = 29  # AlphaIn + AlphaOut when the slot was (re)filled
    ALPHA_MINTED = 30  # cumulative alpha minted (alpha_in + alpha_out emission)
    ALPHA_RECYCLED = 31  # cumulative alpha recycled (removed from issuance)
    CUM_TAO_IN = 32  # cumulative TAO injected into the pool (tao_in)
    CUM_ALPHA_IN = 33  # cumulative alpha injected into the pool (alpha_in)
    CUM_ALPHA_OUT = 34  # cumulative alpha_out minted
    CUM_EXCESS_TAO = 35  # cumulative excess TAO used for chain buys
    CUM_CHAIN_BOUGHT = 36  # cumulative alpha bought by the chain
    CUM_ROOT_SOLD_TAO = 37  # cumulative TAO obtained by selling root alpha dividends
    CUM_MINER_BURNED = 38  # cumulative miner incentive withheld (burned or recycled)
    CUM_OWNER_CUT = 39  # cumulative owner cut paid
    CUM_MINER_PAID = 40  # cumulative miner incentive paid to miners
    CUM_STAKER_PAID = 41  # cumulative validator/staker alpha dividends paid
    CUM_ROOT_DIVS = 42  # cumulative root alpha dividends (take + claimable)
    LAST_TAO_IN = 43  # tao_in of the latest block (SubnetTaoInEmission)
    LAST_ALPHA_IN = 44  # alpha_in of the latest block (SubnetAlphaInEmission)
    LAST_EXCESS_TAO = 45  # excess TAO of the latest block (SubnetExcessTao)
    LEGACY = 46  # flag: registered before NetworkRegistrationStartBlock (owner refund)


class SF(IntEnum):
    """Float per-subnet fields (``float64``)."""

    QUOTE_WEIGHT = 0  # balancer TAO weight w2 (0.5 = constant product)
    PRICE_EMA = 1  # SubnetMovingPrice (TAO/alpha, capped at 1 by the chain's update)
    FLOW_EMA = 2  # SubnetEmaTaoFlow (RAO per block)
    PROTOCOL_FLOW_EMA = 3  # protocol flow EMA (RAO per block)
    MINER_BURN_FRACTION = 4  # owner behaviour: share of miner incentive routed to owner hotkeys
    MINER_BURNED = 5  # MinerBurned: fraction withheld at the last epoch
    TAO_EMISSION = 6  # E_i of the latest block (RAO, before flooring)
    SHARE = 7  # share of the block emission in the latest block
    CUM_TAO_EMISSION = 8  # cumulative E_i (RAO)


class GI(IntEnum):
    """Integer network-wide fields (``int64`` RAO or blocks)."""

    TOTAL_ISSUANCE = 0  # TotalIssuance
    ROOT_STAKE = 1  # SubnetTAO[root]: TAO staked on root
    FREE_TAO = 2  # every TAO not in a pool, on root or pending (wallets, authors, burn account)
    ISSUANCE_START = 3  # TotalIssuance at the start of the simulation
    MINTED_TAO = 4  # cumulative TAO minted by block emission
    RECYCLED_TAO = 5  # cumulative TAO recycled (reduces TotalIssuance)
    BURNED_TAO = 6  # cumulative TAO burned (sent to the burn account; stays in issuance)
    AUTHOR_FEES_TAO = 7  # cumulative swap fees paid to block authors
    LAST_LOCK_COST = 8  # NetworkLastLockCost
    LAST_LOCK_BLOCK = 9  # block of the last network registration (0: never)
    BLOCK_EMISSION = 10  # TAO block emission of the latest block
    SUBNETS_REGISTERED = 11  # count of registrations during the simulation
    SUBNETS_DISSOLVED = 12  # count of dissolutions during the simulation
    DISSOLUTION_PAID_TAO = 13  # cumulative TAO paid to stakers by dissolutions
    LOCKED_TAO_TOTAL = 14  # cumulative TAO paid as network lock cost


ALPHA_OUT_PARTS: tuple[SI, ...] = (
    SI.PENDING_SERVER,
    SI.PENDING_VALIDATOR,
    SI.PENDING_ROOT,
    SI.PENDING_OWNER,
    SI.STAKE_OWNER,
    SI.STAKE_MINERS,
    SI.STAKE_STAKERS,
    SI.STAKE_ROOT_KEPT,
    SI.ROOT_CLAIMABLE,
    SI.PROTOCOL_ALPHA,
    SI.BURNED_ALPHA,
    SI.UNDISTRIBUTED_ALPHA,
)
"""Holders whose sum is ``alpha_out`` for every subnet."""

STAKE_HOLDERS: tuple[SI, ...] = (
    SI.STAKE_OWNER,
    SI.STAKE_MINERS,
    SI.STAKE_STAKERS,
    SI.STAKE_ROOT_KEPT,
    SI.ROOT_CLAIMABLE,
)
"""Alpha holders paid pro rata when a subnet is dissolved."""


@dataclass
class ChainState:
    """The state of ``runs`` independent copies of the chain at one block.

    Parameters
    ----------
    block
        Current block number (shared by all runs; the state is *after* this block).
    ints, floats, gints
        Packed storage; see the module docstring. Use the named properties (``tao_reserve``,
        ``price_ema``, ``total_issuance`` ...) rather than indexing by hand.
    meta
        Free-form metadata (e.g. the start block of a simulation).
    neurons
        Optional per-UID state (:class:`dtaosim.state.neurons.NeuronState`) with the same runs and
        subnet slots; with it, epochs run Yuma consensus and pay UIDs.
    """

    block: int
    ints: NDArray[np.int64]
    floats: NDArray[np.float64]
    gints: NDArray[np.int64]
    meta: dict[str, object] = field(default_factory=dict)
    neurons: NeuronState | None = None

    def __post_init__(self) -> None:
        self.ints = _field_major(np.asarray(self.ints, dtype=np.int64))
        self.floats = _field_major(np.asarray(self.floats, dtype=np.float64))
        self.gints = np.ascontiguousarray(self.gints, dtype=np.int64)
        nrn = self.neurons
        if nrn is not None and (nrn.runs, nrn.subnets) != self.ints.shape[:2]:
            raise ValueError(f"neurons have (runs, subnets) = {(nrn.runs, nrn.subnets)}, the "
                             f"chain state {self.ints.shape[:2]}")

    @property
    def ints_fm(self) -> NDArray[np.int64]:
        """Field-major integer storage, ``(runs, len(SI), subnets)``, C-contiguous."""
        return self.ints.transpose(0, 2, 1)

    @property
    def floats_fm(self) -> NDArray[np.float64]:
        """Field-major float storage, ``(runs, len(SF), subnets)``, C-contiguous."""
        return self.floats.transpose(0, 2, 1)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, runs: int, subnets: int, block: int = 0) -> ChainState:
        """All-zero state with ``runs`` runs and ``subnets`` subnet slots."""
        if runs < 1 or subnets < 1:
            raise ValueError("runs and subnets must be >= 1")
        ints = np.zeros((runs, len(SI), subnets), dtype=np.int64).transpose(0, 2, 1)
        ints[:, :, SI.FIRST_EMISSION_BLOCK] = -1
        floats = np.zeros((runs, len(SF), subnets), dtype=np.float64).transpose(0, 2, 1)
        floats[:, :, SF.QUOTE_WEIGHT] = 0.5
        gints = np.zeros((runs, len(GI)), dtype=np.int64)
        return cls(block=block, ints=ints, floats=floats, gints=gints)

    def copy(self) -> ChainState:
        """Deep copy (arrays are copied; ``meta`` is shallow-copied)."""
        return ChainState(
            self.block,
            self.ints.copy(order="K"),  # re-aligned by __post_init__ if needed
            self.floats.copy(order="K"),
            self.gints.copy(),
            dict(self.meta),
            self.neurons.copy() if self.neurons is not None else None,
        )

    @property
    def runs(self) -> int:
        """Number of runs (leading axis)."""
        return int(self.ints.shape[0])

    @property
    def subnets(self) -> int:
        """Number of subnet slots."""
        return int(self.ints.shape[1])

    @property
    def netuids(self) -> NDArray[np.int64]:
        """Netuid of each slot (``1..subnets``)."""
        return np.arange(1, self.subnets + 1, dtype=np.int64)

    # ------------------------------------------------------------------ derived quantities
    @property
    def alpha_issuance(self) -> NDArray[np.int64]:
        """Alpha issuance per subnet, ``alpha_in + alpha_out`` (RAO), ``(runs, subnets)``."""
        return self.ints[:, :, SI.ALPHA_IN] + self.ints[:, :, SI.ALPHA_OUT]

    def spot_price(self) -> NDArray[np.float64]:
        """Spot price (TAO per alpha) per subnet: ``(w1/w2) * y / x``; 0 where x = 0."""
        y = self.ints[:, :, SI.TAO_RESERVE].astype(np.float64)
        x = self.ints[:, :, SI.ALPHA_IN].astype(np.float64)
        w2 = self.floats[:, :, SF.QUOTE_WEIGHT]
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(x > 0, ((1.0 - w2) * y) / (w2 * np.where(x > 0, x, 1.0)), 0.0)
        return p

    def si(self, f: SI) -> NDArray[np.int64]:
        """View of integer subnet field ``f``, shape ``(runs, subnets)``."""
        return self.ints[:, :, f]

    def sf(self, f: SF) -> NDArray[np.float64]:
        """View of float subnet field ``f``, shape ``(runs, subnets)``."""
        return self.floats[:, :, f]

    def g(self, f: GI) -> NDArray[np.int64]:
        """View of network field ``f``, shape ``(runs,)``."""
        return self.gints[:, f]


_ALIGN = 64  # bytes: one cache line, one 512-bit vector


def _aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> NDArray:
    """C-contiguous empty array whose data starts on a 64-byte boundary (NumPy only promises
    16 bytes; an unaligned row makes every 512-bit load of the kernel span two cache lines)."""
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dt.itemsize
    raw = np.empty(nbytes + _ALIGN, dtype=np.uint8)
    off = (-raw.ctypes.data) % _ALIGN
    return raw[off:off + nbytes].view(dt).reshape(shape)


def _field_major(a: NDArray) -> NDArray:
    """``a`` (runs, subnets, fields) as a view over C-contiguous, 64-byte aligned
    (runs, fields, subnets) memory."""
    t = a.transpose(0, 2, 1)
    if not t.flags.c_contiguous or t.ctypes.data % _ALIGN:
        out = _aligned_empty(t.shape, t.dtype)
        out[...] = t
        t = out
    return t.transpose(0, 2, 1)


def _si_prop(f: SI) -> property:
    return property(lambda self: self.ints[:, :, f], doc=f"``{f.name.lower()}`` (runs, subnets)")


def _sf_prop(f: SF) -> property:
    return property(lambda self: self.floats[:, :, f], doc=f"``{f.name.lower()}`` (runs, subnets)")


def _gi_prop(f: GI) -> property:
    return property(lambda self: self.gints[:, f], doc=f"``{f.name.lower()}`` (runs,)")


for _f in SI:
    setattr(ChainState, _f.name.lower(), _si_prop(_f))
for _f in SF:
    setattr(ChainState, _f.name.lower(), _sf_prop(_f))
for _f in GI:
    setattr(ChainState, _f.name.lower(), _gi_prop(_f))
del _f
