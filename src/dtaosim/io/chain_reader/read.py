"""Reading the network at one block into a schema-1 snapshot: :func:`read_snapshot`,
:func:`read_chain` (with the metagraphs), and :data:`FIELD_SOURCES`, where each field comes from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import pyarrow as pa

from dtaosim.errors import DataError
from dtaosim.io.chain_reader.backends import _Backend, _backend
from dtaosim.io.chain_reader.connection import (
    ChainAccessError,
    _Caller,
    _MissingItem,
    _reason,
    _sdk_version,
)
from dtaosim.io.chain_reader.convert import (
    _I96F32_ONE,
    _account,
    _ema_pair,
    _fixed,
    _int,
    _quote_weight,
    _rao,
)
from dtaosim.io.chain_reader.metagraph_tables import _read_metagraphs
from dtaosim.io.snapshot import Snapshot, parse_snapshot

_ROOT = 0

FIELD_SOURCES: dict[str, str] = {
    # network
    "block": "the block read (--block, default the chain head: get_current_block() / view.block)",
    "timestamp": "Timestamp.Now at that block (get_timestamp(block) / view.timestamp())",
    "total_issuance_rao": "SubtensorModule.TotalIssuance",
    "root_stake_rao": "SubtensorModule.SubnetTAO[0] (classic: all_subnets()[root].tao_in)",
    "last_lock_cost_rao": "SubtensorModule.NetworkLastLockCost",
    "last_lock_block": "SubtensorModule.LastRateLimitedBlock[NetworkLastRegistered] "
    "(older runtimes: NetworkLastRegistered)",
    "block_emission_rao": "SubtensorModule.BlockEmission",
    # subnets
    "netuid": "SubtensorModule.NetworksAdded (classic: all_subnets()), root excluded",
    "tao_reserve_rao": "SubtensorModule.SubnetTAO (classic: DynamicInfo.tao_in.rao)",
    "alpha_in_rao": "SubtensorModule.SubnetAlphaIn (classic: DynamicInfo.alpha_in.rao)",
    "alpha_out_rao": "SubtensorModule.SubnetAlphaOut (classic: DynamicInfo.alpha_out.rao)",
    "price_ema": "SubtensorModule.SubnetMovingPrice, I96F32 (classic: DynamicInfo.moving_price)",
    "quote_weight": "Swap.SwapBalancer quote weight (Perquintill); 0.5 if absent",
    "registered_at_block": "SubtensorModule.NetworkRegisteredAt "
    "(classic: DynamicInfo.network_registered_at)",
    "first_emission_block": "SubtensorModule.FirstEmissionBlockNumber (-1 if unset)",
    "tempo": "SubtensorModule.Tempo (classic: DynamicInfo.tempo)",
    "last_epoch_block": "SubtensorModule.LastEpochBlock; runtimes without it: "
    "block - BlocksSinceLastStep",
    "emission_enabled": "SubtensorModule.SubnetEmissionEnabled (true if the runtime lacks it)",
    "registration_allowed": "SubtensorModule.NetworkRegistrationAllowed",
    "miner_burn_fraction": "not on chain (owner behaviour): MinerBurned of the last epoch",
    "miner_burned": "SubtensorModule.MinerBurned, U96F32 (0 if the runtime lacks it)",
    "neuron_burn_rao": "SubtensorModule.Burn",
    "owner_cut_alpha_rao": "not separable on chain: 0 (the owner's alpha counts with stakers)",
    "pending_server_rao": "SubtensorModule.PendingServerEmission",
    "pending_validator_rao": "SubtensorModule.PendingValidatorEmission",
    "pending_root_rao": "SubtensorModule.PendingRootAlphaDivs",
    "pending_owner_rao": "SubtensorModule.PendingOwnerCut",
    "pending_root_tao_rao": "launch-era bucket, none at HEAD: 0",
    "protocol_alpha_rao": "SubtensorModule.SubnetProtocolAlpha (0 if the runtime lacks it)",
    "burned_alpha_rao": "not recorded on chain (burned alpha stays in SubnetAlphaOut): 0",
    "locked_tao_rao": "SubtensorModule.SubnetLocked",
    "legacy": "NetworkRegisteredAt < SubtensorModule.NetworkRegistrationStartBlock "
    "(true if the runtime lacks it)",
    "flow_ema": "SubtensorModule.SubnetEmaTaoFlow, (block, I64F64) (0 if absent)",
    "protocol_flow_ema": "SubtensorModule.SubnetEmaProtocolFlow, (block, I64F64) (0 if absent)",
    "owner_coldkey": "SubtensorModule.SubnetOwner, SS58 (classic: DynamicInfo.owner_coldkey)",
    "owner_hotkey": "SubtensorModule.SubnetOwnerHotkey, SS58 (classic: DynamicInfo.owner_hotkey)",
}
"""Where each snapshot field comes from (chain storage item / SDK field, or the default)."""


@dataclass(frozen=True)
class ChainRead:
    """What :func:`read_chain` read: the snapshot and, if asked for, the metagraph tables."""

    snapshot: Snapshot
    neurons: pa.Table | None = None
    weights: pa.Table | None = None


_REQUIRED_SUBNET_ITEMS: tuple[str, ...] = (
    "SubnetTAO",
    "SubnetAlphaIn",
    "SubnetAlphaOut",
    "SubnetMovingPrice",
    "NetworkRegisteredAt",
    "Tempo",
    "NetworkRegistrationAllowed",
    "Burn",
    "SubnetLocked",
)
_OPTIONAL_SUBNET_ITEMS: tuple[str, ...] = (
    "FirstEmissionBlockNumber",
    "LastEpochBlock",
    "BlocksSinceLastStep",
    "SubnetEmissionEnabled",
    "MinerBurned",
    "PendingServerEmission",
    "PendingValidatorEmission",
    "PendingRootAlphaDivs",
    "PendingOwnerCut",
    "SubnetProtocolAlpha",
    "SubnetEmaTaoFlow",
    "SubnetEmaProtocolFlow",
    "SubnetOwner",
    "SubnetOwnerHotkey",
)
_POOL_ITEMS = frozenset(
    {
        "SubnetTAO",
        "SubnetAlphaIn",
        "SubnetAlphaOut",
        "SubnetMovingPrice",
        "Tempo",
        "NetworkRegisteredAt",
        "BlocksSinceLastStep",
        "SubnetOwner",
        "SubnetOwnerHotkey",
    }
)


def _missing_field(network: str, e: _MissingItem) -> ChainAccessError:
    return ChainAccessError(
        f"{network}: the runtime or the installed bittensor SDK does not provide {e.item} "
        f"({_reason(e.cause)})"
    )


def read_snapshot(
    subtensor: Any, *, block: int | None = None, timeout: float | None = None
) -> Snapshot:
    """Read the network at ``block`` as a schema-1 :class:`~dtaosim.io.snapshot.Snapshot`.

    Parameters
    ----------
    subtensor
        The SDK's subtensor object (:func:`connect`), or any object with the same methods:
        ``all_subnets`` / ``query_subtensor`` / ``query_module`` / ``get_current_block`` /
        ``get_timestamp`` (bittensor 9-10) or ``at`` returning a view with ``block`` /
        ``query`` / ``query_batch`` / ``query_map`` / ``timestamp`` (bittensor 11+).
    block
        Block to read; default the chain head. Older blocks need an archive node.
    timeout
        Seconds allowed for each request to the chain; ``None``: no limit.

    Returns
    -------
    Snapshot
        Every amount exact in RAO (SDK ``Balance`` objects are converted with ``.rao``); see
        :data:`FIELD_SOURCES` for the storage item behind each field and the defaults used.

    Raises
    ------
    ChainAccessError
        The chain is unreachable or slow, or the runtime lacks a required storage item.
    DataError
        The chain values do not form a valid snapshot (message names the field).
    """
    return read_chain(subtensor, block=block, timeout=timeout).snapshot


def read_chain(
    subtensor: Any,
    *,
    block: int | None = None,
    metagraphs: bool = False,
    timeout: float | None = None,
) -> ChainRead:
    """Read the snapshot and, with ``metagraphs=True``, every subnet's metagraph.

    Parameters
    ----------
    subtensor, block, timeout
        As for :func:`read_snapshot`.
    metagraphs
        Also read the per-subnet metagraphs (one or two requests per subnet).

    Returns
    -------
    ChainRead
        ``snapshot``; ``neurons`` and ``weights`` tables (:func:`read_metagraphs`) or ``None``.

    Raises
    ------
    ChainAccessError, DataError
        As for :func:`read_snapshot`.
    """
    network = str(getattr(subtensor, "network", None) or "the chain")
    call = _Caller(network, timeout)
    if block is not None and block < 0:
        raise ChainAccessError(f"block must be >= 0, not {block}")
    be = _backend(subtensor, call, block)
    try:
        snap = _read(be, network)
    except _MissingItem as e:
        raise _missing_field(network, e) from None
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as e:
        raise ChainAccessError(
            f"{network}: unexpected data from the bittensor SDK {_sdk_version()} ({_reason(e)})"
        ) from None
    if not metagraphs:
        return ChainRead(snap)
    neurons, weights = _read_metagraphs(be, [s.netuid for s in snap.subnets], network)
    return ChainRead(snap, neurons, weights)


_LAST_LOCK_BLOCK_ITEMS: tuple[tuple[str, list[Any] | None], ...] = (
    ("LastRateLimitedBlock", ["NetworkLastRegistered"]),  # runtimes with RateLimitKey
    ("NetworkLastRegistered", None),  # older runtimes
    ("NetworkLastLockBlock", None),
)


def _last_lock_block(be: _Backend) -> int:
    """Block of the last network registration, from whichever item this runtime has."""
    first: _MissingItem | None = None
    for name, params in _LAST_LOCK_BLOCK_ITEMS:
        try:
            return _int(be.value("SubtensorModule", name, params), name)
        except _MissingItem as e:
            first = first or e
    assert first is not None
    raise _MissingItem(
        "SubtensorModule.LastRateLimitedBlock[NetworkLastRegistered] "
        "(or NetworkLastRegistered / NetworkLastLockBlock)",
        first.cause,
    )


def _read(be: _Backend, network: str) -> Snapshot:
    absent: list[str] = []

    def optional(pallet: str, name: str, netuids: Sequence[int]) -> dict[int, Any] | None:
        try:
            return be.per_netuid(pallet, name, netuids)
        except _MissingItem:
            absent.append(name)
            return None

    def optional_value(pallet: str, name: str) -> Any:
        try:
            return be.value(pallet, name)
        except _MissingItem:
            absent.append(name)
            return None

    ts = be.timestamp()
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    all_netuids = be.netuids()
    netuids = [n for n in all_netuids if n != _ROOT]

    sm = "SubtensorModule"
    total_issuance = _rao(be.value(sm, "TotalIssuance"), "TotalIssuance")
    last_lock_cost = _rao(be.value(sm, "NetworkLastLockCost"), "NetworkLastLockCost")
    last_lock_block = _last_lock_block(be)
    block_emission = _rao(be.value(sm, "BlockEmission"), "BlockEmission")
    start_block_raw = optional_value(sm, "NetworkRegistrationStartBlock")

    pools = be.pools([_ROOT, *netuids] if _ROOT in all_netuids else netuids)
    items: dict[str, dict[int, Any] | None] = {}
    for name in _REQUIRED_SUBNET_ITEMS:
        if pools is not None and name in _POOL_ITEMS:
            items[name] = {n: pools[n][name] for n in netuids}
        else:
            items[name] = be.per_netuid(sm, name, netuids)
    for name in _OPTIONAL_SUBNET_ITEMS:
        if pools is not None and name in _POOL_ITEMS:
            items[name] = {n: pools[n][name] for n in netuids}
        else:
            items[name] = optional(sm, name, netuids)
    balancer = optional("Swap", "SwapBalancer", netuids)
    if pools is not None and _ROOT in pools:
        root_stake = int(pools[_ROOT]["SubnetTAO"])
    else:
        root_stake = _rao(be.per_netuid(sm, "SubnetTAO", [_ROOT])[_ROOT], "SubnetTAO[0]")

    def get(name: str, n: int) -> Any:
        m = items[name]
        return None if m is None else m.get(n)

    start_block = _int(start_block_raw, "NetworkRegistrationStartBlock")
    clamped: list[int] = []
    undecoded_weights = 0
    subnets: list[dict[str, Any]] = []
    for n in netuids:
        registered = _int(get("NetworkRegisteredAt", n), f"NetworkRegisteredAt[{n}]")
        first_raw = get("FirstEmissionBlockNumber", n)
        if items["FirstEmissionBlockNumber"] is None:
            first = registered  # runtimes before start_call: emitting since registration
        elif first_raw is None:
            first = -1
        else:
            first = _int(first_raw, f"FirstEmissionBlockNumber[{n}]")
            if first < registered:  # start_call before a later re-registration of the netuid
                clamped.append(n)
                first = registered
        tempo = _int(get("Tempo", n), f"Tempo[{n}]")
        if items["LastEpochBlock"] is not None:
            last_epoch = _int(get("LastEpochBlock", n), f"LastEpochBlock[{n}]")
        else:
            since = _int(get("BlocksSinceLastStep", n), f"BlocksSinceLastStep[{n}]")
            last_epoch = max(0, be.block - since)
        enabled_raw = get("SubnetEmissionEnabled", n)
        burned_raw = get("MinerBurned", n)
        miner_burned = min(1.0, max(0.0, _fixed(burned_raw, _I96F32_ONE, f"MinerBurned[{n}]")))
        quote = None if balancer is None else _quote_weight(balancer.get(n))
        if balancer is not None and quote is None and balancer.get(n) is not None:
            undecoded_weights += 1
        price = get("SubnetMovingPrice", n)
        price_ema = (
            float(price)
            if isinstance(price, float)
            else _fixed(price, _I96F32_ONE, f"SubnetMovingPrice[{n}]")
        )
        subnets.append(
            {
                "netuid": n,
                "tao_reserve_rao": _rao(get("SubnetTAO", n), f"SubnetTAO[{n}]"),
                "alpha_in_rao": _rao(get("SubnetAlphaIn", n), f"SubnetAlphaIn[{n}]"),
                "alpha_out_rao": _rao(get("SubnetAlphaOut", n), f"SubnetAlphaOut[{n}]"),
                "price_ema": price_ema,
                "quote_weight": 0.5 if quote is None else quote,
                "registered_at_block": registered,
                "first_emission_block": first,
                "tempo": tempo,
                "last_epoch_block": last_epoch,
                "emission_enabled": True if enabled_raw is None else bool(enabled_raw),
                "registration_allowed": bool(get("NetworkRegistrationAllowed", n)),
                "miner_burn_fraction": miner_burned,
                "miner_burned": miner_burned,
                "neuron_burn_rao": _rao(get("Burn", n), f"Burn[{n}]"),
                "owner_cut_alpha_rao": 0,
                "pending_server_rao": _rao(get("PendingServerEmission", n), "PendingServer"),
                "pending_validator_rao": _rao(
                    get("PendingValidatorEmission", n), "PendingValidatorEmission"
                ),
                "pending_root_rao": _rao(get("PendingRootAlphaDivs", n), "PendingRootAlphaDivs"),
                "pending_owner_rao": _rao(get("PendingOwnerCut", n), "PendingOwnerCut"),
                "pending_root_tao_rao": 0,
                "protocol_alpha_rao": _rao(get("SubnetProtocolAlpha", n), "SubnetProtocolAlpha"),
                "burned_alpha_rao": 0,
                "locked_tao_rao": _rao(get("SubnetLocked", n), f"SubnetLocked[{n}]"),
                "legacy": True if start_block_raw is None else registered < start_block,
                "flow_ema": _ema_pair(get("SubnetEmaTaoFlow", n), f"SubnetEmaTaoFlow[{n}]"),
                "protocol_flow_ema": _ema_pair(
                    get("SubnetEmaProtocolFlow", n), f"SubnetEmaProtocolFlow[{n}]"
                ),
                "owner_coldkey": _account(get("SubnetOwner", n)),
                "owner_hotkey": _account(get("SubnetOwnerHotkey", n)),
            }
        )

    notes = [
        f"bittensor network {network} at block {be.block}, read by dtaosim.io.chain_reader "
        f"with the bittensor SDK {_sdk_version()} ({be.flavour} API)",
        "not on chain, defaults: owner_cut_alpha_rao 0 (the owner's alpha counts with the "
        "stakers), burned_alpha_rao 0, pending_root_tao_rao 0, miner_burn_fraction = MinerBurned",
    ]
    if absent:
        notes.append("absent from this runtime, defaults used: " + ", ".join(sorted(set(absent))))
    if undecoded_weights:
        notes.append(
            f"SwapBalancer not decodable for {undecoded_weights} subnets: quote weight 0.5"
        )
    if clamped:
        notes.append(
            "FirstEmissionBlockNumber before NetworkRegisteredAt, set to the registration block "
            "for netuids " + ", ".join(str(n) for n in clamped)
        )
    doc = {
        "schema_version": 1,
        "block": be.block,
        "timestamp": ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": "; ".join(notes) + ".",
        "attribution": "",
        "total_issuance_rao": total_issuance,
        "root_stake_rao": root_stake,
        "last_lock_cost_rao": last_lock_cost,
        "last_lock_block": last_lock_block,
        "block_emission_rao": block_emission,
        "subnets": subnets,
    }
    try:
        return parse_snapshot(doc, f"chain {network} at block {be.block}")
    except DataError as e:
        raise DataError(f"{e} (values read from the chain)") from None
