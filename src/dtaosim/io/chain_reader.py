"""Read a snapshot of the live network through the bittensor SDK.

:func:`connect` opens a subtensor client (the ``bittensor`` package is imported lazily: it is
the optional ``chain`` extra), :func:`read_snapshot` turns the chain state at one block into a
schema-1 :class:`~dtaosim.io.snapshot.Snapshot`, and :func:`read_chain` additionally reads the
per-subnet metagraphs, which :func:`write_metagraphs` stores as Parquet next to the snapshot.

Two generations of the SDK are supported, recognised by duck typing:

* **classic** (``bittensor`` 9.x and 10.x, ``bittensor.core.subtensor.Subtensor``): pool
  reserves, moving price, tempo and registration block come from ``all_subnets(block=)``
  (``DynamicInfo``, amounts as ``Balance`` converted with ``.rao``); every other field is read
  with ``query_subtensor(name, params, block=)`` / ``query_module("Swap", ...)``; block and time
  from ``get_current_block()`` / ``get_timestamp(block)``; metagraphs from
  ``get_metagraph_info(netuid, block=)`` (``MetagraphInfo``) and ``weights(netuid, block=)``.
* **lean** (``bittensor`` 11+, ``bittensor.Subtensor`` = ``SyncClient``): everything is read
  from chain storage on a view pinned to one block, ``subtensor.at(block)``, with
  ``query`` / ``query_batch`` / ``query_map`` and the SDK's generated storage descriptors
  (``bittensor.storage.SubtensorModule.<Name>``); time from ``view.timestamp()``; metagraphs from
  ``view.subnets.metagraph(netuid)`` (``Metagraph`` / ``MetagraphNeuron``) and
  ``view.neurons.all(netuid, lite=False)`` for the weights.

Field mapping (chain storage item → snapshot field) is listed in :data:`FIELD_SOURCES` and in
``docs/snapshot.md``. Fields the chain does not record are set to a documented default and the
snapshot's ``source`` text says which; storage items that an older runtime lacks are optional
where a default is meaningful (listed in the ``source`` text too) and an error otherwise.

Every failure is a :class:`ChainAccessError` (a :class:`~dtaosim.errors.DtaosimError`) with one
message naming the network and, where it applies, the storage item: SDK not installed, no answer
within the timeout, connection refused, a runtime without a required storage item.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pyarrow as pa

from dtaosim.errors import DataError, DtaosimError
from dtaosim.io.metagraphs import metagraph_path, metagraph_paths, write_metagraphs
from dtaosim.io.snapshot import Snapshot, parse_snapshot

__all__ = [
    "FIELD_SOURCES",
    "INSTALL_HINT",
    "ChainAccessError",
    "ChainRead",
    "connect",
    "metagraph_path",
    "metagraph_paths",
    "read_chain",
    "read_metagraphs",
    "read_snapshot",
    "write_metagraphs",
]

INSTALL_HINT = 'install the chain extra: pip install "dtaosim[chain]"'
"""Message of the error raised when the ``bittensor`` package is missing."""

NETWORKS = ("finney", "test", "local")
"""Named networks accepted by :func:`connect` (besides ``ws://`` / ``wss://`` URLs)."""

_T = TypeVar("_T")
_ROOT = 0
_U64F64_ONE = 2**64
_I96F32_ONE = 2**32
_PERQUINTILL = 10**18


class ChainAccessError(DtaosimError):
    """The chain could not be read: SDK missing, network unreachable, timeout, missing field."""


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


# ----------------------------------------------------------------------------- errors
_MISSING_ITEM_CLASS = "StorageFunctionNotFound"
"""Exception class every SDK generation raises for a storage item the runtime's metadata lacks
(``bittensor._transport.errors``, ``async_substrate_interface.errors``,
``substrateinterface.exceptions``)."""
_MISSING_ITEM_TEXT = re.compile(r"(storage function|pallet)\b.*\bnot found", re.IGNORECASE)


def _is_missing_item(exc: BaseException) -> bool:
    """Whether ``exc`` says that a storage item (or its pallet) is not in the runtime."""
    if any(cls.__name__ == _MISSING_ITEM_CLASS for cls in type(exc).__mro__):
        return True
    return bool(_MISSING_ITEM_TEXT.search(str(exc)))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _MissingItem(Exception):
    """A storage item the runtime (or the SDK) does not have."""

    def __init__(self, item: str, cause: BaseException) -> None:
        super().__init__(item)
        self.item = item
        self.cause = cause


@dataclass
class _Caller:
    """Runs SDK calls with a time limit and turns their failures into one clear error."""

    network: str
    timeout: float | None

    def __call__(self, what: str, fn: Callable[[], _T]) -> _T:
        try:
            if self.timeout is None:
                return fn()
            return _run_with_timeout(fn, self.timeout)
        except DtaosimError:
            raise
        except TimeoutError as e:
            if isinstance(e, _Timeout):
                raise ChainAccessError(
                    f"{self.network}: no answer within {self.timeout:g} s while reading {what}"
                ) from None
            raise ChainAccessError(
                f"{self.network}: timed out while reading {what} ({_reason(e)})"
            ) from None
        except Exception as e:
            if _is_missing_item(e):  # the caller decides: default value or error naming it
                raise _MissingItem(what, e) from None
            raise ChainAccessError(
                f"cannot read {what} from {self.network}: {_reason(e)}"
            ) from None


class _Timeout(TimeoutError):
    pass


def _run_with_timeout(fn: Callable[[], _T], timeout: float) -> _T:
    """Run ``fn`` in a daemon thread; raise :class:`_Timeout` if it takes longer than ``timeout``.

    A daemon thread (not a thread pool, whose workers are joined at interpreter exit) so that a
    request the SDK never answers cannot keep the process alive after the error is reported.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:
            box["error"] = e

    thread = threading.Thread(target=target, name="dtaosim-chain", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _Timeout()
    if "error" in box:
        raise box["error"]
    return box["value"]


# ----------------------------------------------------------------------------- connect
def _import_bittensor() -> Any:
    try:
        return importlib.import_module("bittensor")
    except ImportError:
        raise ChainAccessError(INSTALL_HINT) from None


def _check_network(network: str) -> str:
    net = network.strip()
    if net in NETWORKS or net.startswith(("ws://", "wss://")):
        return net
    raise ChainAccessError(
        f"unknown network {network!r}: use finney, test, local or a ws://HOST:PORT URL"
    )


def connect(network: str, timeout: float) -> Any:
    """Open a subtensor client on ``network`` and check that it answers.

    Parameters
    ----------
    network
        ``finney`` (main network), ``test``, ``local`` or a ``ws://HOST:PORT`` /
        ``wss://HOST:PORT`` endpoint.
    timeout
        Seconds to wait for the connection and the first answer (the current block).

    Returns
    -------
    Any
        The SDK's subtensor object (``bittensor.Subtensor``), ready for :func:`read_snapshot`.

    Raises
    ------
    ChainAccessError
        ``bittensor`` is not installed (message :data:`INSTALL_HINT`), the network name is
        unknown, or the endpoint cannot be reached / does not answer within ``timeout``.
    """
    if not timeout > 0:
        raise ChainAccessError(f"timeout must be > 0 seconds, not {timeout:g}")
    net = _check_network(network)
    bt = _import_bittensor()
    call = _Caller(net, timeout)

    def open_client() -> Any:
        sub = bt.Subtensor(network=net)
        _current_block(sub)  # first round trip: fails fast on a dead endpoint
        return sub

    try:
        return call("the current block", open_client)
    except _MissingItem as e:  # the first query named an item this runtime lacks
        raise ChainAccessError(f"cannot connect to {net}: {_reason(e.cause)}") from None


def _current_block(sub: Any) -> int:
    if hasattr(sub, "get_current_block"):  # bittensor 9-10
        return int(sub.get_current_block())
    block = sub.block  # bittensor 11.1+: a property; 11.0: a method
    return int(block() if callable(block) else block)


# ----------------------------------------------------------------------------- values
def _plain(value: Any) -> Any:
    """Unwrap SCALE objects (``.value``) to plain Python values."""
    seen = 0
    while (
        hasattr(value, "value")
        and not hasattr(value, "rao")
        and not isinstance(value, int | float | str | bytes)
        and seen < 4
    ):
        value = value.value
        seen += 1
    return value


def _rao(value: Any, what: str) -> int:
    """Exact RAO amount of an SDK ``Balance`` (``.rao``) or a plain integer."""
    value = _plain(value)
    if value is None:
        return 0
    if hasattr(value, "rao"):
        return int(value.rao)
    if isinstance(value, bool):
        raise ChainAccessError(f"{what}: expected an amount in RAO, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, dict) and len(value) == 1:  # newtype wrappers, {"TaoBalance": n}
        return _rao(next(iter(value.values())), what)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ChainAccessError(f"{what}: expected an amount in RAO, got {value!r}") from None


def _int(value: Any, what: str) -> int:
    value = _plain(value)
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ChainAccessError(f"{what}: expected an integer, got {value!r}") from None


def _fixed(value: Any, one: int, what: str) -> float:
    """Decode a fixed-point value given as ``{"bits": n}``, an int of bits, or a float."""
    value = _plain(value)
    if value is None:
        return 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        value = value.get("bits", 0)
    try:
        return int(value) / one
    except (TypeError, ValueError):
        raise ChainAccessError(f"{what}: expected a fixed-point number, got {value!r}") from None


def _ema_pair(value: Any, what: str) -> float:
    """``(last_update_block, I64F64)`` flow EMA → RAO per block."""
    value = _plain(value)
    if isinstance(value, list | tuple) and len(value) == 2:
        return _fixed(value[1], _U64F64_ONE, what)
    if value is None:
        return 0.0
    return _fixed(value, _U64F64_ONE, what)


def _quote_weight(value: Any) -> float | None:
    """Quote weight of a ``Balancer`` value (Perquintill parts), ``None`` if not decodable."""
    value = _plain(value)
    raw: Any = None
    if isinstance(value, dict):
        for key, v in value.items():
            if "quote" in str(key).lower():
                raw = _plain(v)
                break
    elif isinstance(value, int) and not isinstance(value, bool):
        raw = value
    if isinstance(raw, dict) and len(raw) == 1:
        raw = next(iter(raw.values()))
    if not isinstance(raw, int | float) or isinstance(raw, bool):
        return None
    w = float(raw) / _PERQUINTILL if isinstance(raw, int) and raw > 1 else float(raw)
    return w if 0.0 < w < 1.0 else None


def _account(value: Any) -> str:
    """SS58 address of an ``AccountId32`` value (the SDKs decode it to a string); '' if unset."""
    value = _plain(value)
    return "" if value is None else str(value)


def _netuid_key(key: Any) -> int:
    key = _plain(key)
    if isinstance(key, list | tuple):
        key = _plain(key[0])
    return int(key)


# ----------------------------------------------------------------------------- backends
class _Backend:
    """Storage access pinned to one block (common interface of both SDK generations)."""

    flavour = ""
    block: int

    def __init__(self, sub: Any, call: _Caller) -> None:
        self.sub = sub
        self.call = call

    def timestamp(self) -> datetime:  # pragma: no cover - overridden
        raise NotImplementedError

    def value(
        self, pallet: str, name: str, params: list[Any] | None = None
    ) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def per_netuid(self, pallet: str, name: str, netuids: Sequence[int]) -> dict[int, Any]:
        raise NotImplementedError  # pragma: no cover - overridden

    def netuids(self) -> list[int]:  # pragma: no cover - overridden
        raise NotImplementedError

    def pools(self, netuids: Sequence[int]) -> dict[int, dict[str, Any]] | None:
        """Pool fields from an SDK data class, or ``None`` to read them from storage."""
        return None

    def metagraph(self, netuid: int) -> tuple[list[dict[str, Any]], list[tuple[int, int, int]]]:
        raise NotImplementedError  # pragma: no cover - overridden


def _item_name(pallet: str, name: str) -> str:
    return f"{pallet}.{name}"


class _LeanBackend(_Backend):
    """``bittensor`` 11+: storage reads on ``subtensor.at(block)``."""

    flavour = "lean"

    def __init__(self, sub: Any, call: _Caller, block: int | None) -> None:
        super().__init__(sub, call)
        what = f"block {block}" if block is not None else "the chain head"
        try:
            self.view = call(what, lambda: sub.at(block))
        except _MissingItem as e:
            raise ChainAccessError(f"{call.network}: cannot read {what}: {_reason(e.cause)}") from e
        self.block = int(self.view.block)

    def _item(self, pallet: str, name: str) -> Any:
        try:
            storage = importlib.import_module("bittensor").storage
            item = getattr(getattr(storage, pallet), name, None)
        except (ImportError, AttributeError):
            item = None
        return item if item is not None else (pallet, name)

    def timestamp(self) -> datetime:
        return self.call("Timestamp.Now", self.view.timestamp)

    def value(self, pallet: str, name: str, params: list[Any] | None = None) -> Any:
        item = self._item(pallet, name)
        return _plain(self.call(_item_name(pallet, name), lambda: self.view.query(item, params)))

    def per_netuid(self, pallet: str, name: str, netuids: Sequence[int]) -> dict[int, Any]:
        item = self._item(pallet, name)
        keys = [[n] for n in netuids]
        if hasattr(self.view, "query_batch"):
            values = self.call(_item_name(pallet, name), lambda: self.view.query_batch(item, keys))
        else:
            values = [
                self.call(_item_name(pallet, name), lambda k=k: self.view.query(item, k))
                for k in keys
            ]
        return {n: _plain(v) for n, v in zip(netuids, values, strict=True)}

    def netuids(self) -> list[int]:
        item = self._item("SubtensorModule", "NetworksAdded")
        rows = self.call("SubtensorModule.NetworksAdded", lambda: self.view.query_map(item))
        return sorted(_netuid_key(k) for k, added in rows if _plain(added))

    def metagraph(self, netuid: int) -> tuple[list[dict[str, Any]], list[tuple[int, int, int]]]:
        what = f"the metagraph of subnet {netuid}"
        graph = self.call(what, lambda: self.view.subnets.metagraph(netuid, commitments=False))
        rows: list[dict[str, Any]] = []
        for n in graph.neurons if graph is not None else []:
            rows.append(
                {
                    "uid": int(n.uid),
                    "hotkey": str(n.hotkey),
                    "coldkey": str(n.coldkey),
                    "alpha_stake_rao": _rao(n.alpha_stake, f"{what}: alpha_stake"),
                    "root_stake_rao": _rao(n.tao_stake, f"{what}: tao_stake"),
                    "incentive": float(n.incentive),
                    "dividends": float(n.dividends),
                    "validator_permit": bool(n.validator_permit),
                    "block_at_registration": int(n.block_at_registration),
                    "last_update": int(n.last_update),
                }
            )
        neurons = self.call(
            f"the weights of subnet {netuid}", lambda: self.view.neurons.all(netuid, lite=False)
        )
        weights: list[tuple[int, int, int]] = []
        for neuron in neurons or []:
            raw = getattr(neuron, "raw", None) or {}
            for target, w in raw.get("weights") or []:
                weights.append((int(neuron.uid), int(_plain(target)), int(_plain(w))))
        return rows, weights


class _ClassicBackend(_Backend):
    """``bittensor`` 9.x / 10.x: ``all_subnets`` plus ``query_subtensor`` at one block."""

    flavour = "classic"

    def __init__(self, sub: Any, call: _Caller, block: int | None) -> None:
        super().__init__(sub, call)
        if block is None:
            try:
                block = int(call("the current block", sub.get_current_block))
            except _MissingItem as e:
                raise ChainAccessError(
                    f"{call.network}: cannot read the current block: {_reason(e.cause)}"
                ) from e
        self.block = int(block)
        self._dynamic: dict[int, Any] | None = None

    def timestamp(self) -> datetime:
        return self.call("Timestamp.Now", lambda: self.sub.get_timestamp(block=self.block))

    def _query(self, pallet: str, name: str, params: list[Any] | None) -> Any:
        if pallet == "SubtensorModule":
            return self.sub.query_subtensor(name, params=params, block=self.block)
        return self.sub.query_module(pallet, name, params=params, block=self.block)

    def value(self, pallet: str, name: str, params: list[Any] | None = None) -> Any:
        what = _item_name(pallet, name)
        return _plain(self.call(what, lambda: self._query(pallet, name, params)))

    def per_netuid(self, pallet: str, name: str, netuids: Sequence[int]) -> dict[int, Any]:
        what = _item_name(pallet, name)
        return {
            n: _plain(self.call(what, lambda n=n: self._query(pallet, name, [n]))) for n in netuids
        }

    def _all(self) -> dict[int, Any]:
        if self._dynamic is None:
            infos = self.call("all_subnets()", lambda: self.sub.all_subnets(block=self.block))
            if infos is None:
                raise ChainAccessError(
                    f"{self.call.network}: all_subnets() returned nothing at block {self.block}"
                )
            self._dynamic = {int(d.netuid): d for d in infos}
        return self._dynamic

    def netuids(self) -> list[int]:
        return sorted(self._all())

    def pools(self, netuids: Sequence[int]) -> dict[int, dict[str, Any]] | None:
        infos = self._all()
        out: dict[int, dict[str, Any]] = {}
        for n in netuids:
            d = infos[n]
            what = f"all_subnets()[{n}]"
            out[n] = {
                "SubnetTAO": _rao(d.tao_in, f"{what}.tao_in"),
                "SubnetAlphaIn": _rao(d.alpha_in, f"{what}.alpha_in"),
                "SubnetAlphaOut": _rao(d.alpha_out, f"{what}.alpha_out"),
                "SubnetMovingPrice": float(d.moving_price),
                "Tempo": int(d.tempo),
                "NetworkRegisteredAt": int(d.network_registered_at),
                "BlocksSinceLastStep": int(d.blocks_since_last_step),
                "SubnetOwner": d.owner_coldkey,
                "SubnetOwnerHotkey": d.owner_hotkey,
            }
        return out

    def metagraph(self, netuid: int) -> tuple[list[dict[str, Any]], list[tuple[int, int, int]]]:
        what = f"the metagraph of subnet {netuid}"
        info = self.call(what, lambda: self.sub.get_metagraph_info(netuid, block=self.block))
        rows: list[dict[str, Any]] = []
        if info is not None:
            for uid, hotkey in enumerate(info.hotkeys):
                rows.append(
                    {
                        "uid": uid,
                        "hotkey": str(hotkey),
                        "coldkey": str(info.coldkeys[uid]),
                        "alpha_stake_rao": _rao(info.alpha_stake[uid], f"{what}: alpha_stake"),
                        "root_stake_rao": _rao(info.tao_stake[uid], f"{what}: tao_stake"),
                        "incentive": float(info.incentives[uid]),
                        "dividends": float(info.dividends[uid]),
                        "validator_permit": bool(info.validator_permit[uid]),
                        "block_at_registration": int(info.block_at_registration[uid]),
                        "last_update": int(info.last_update[uid]),
                    }
                )
        pairs = self.call(
            f"the weights of subnet {netuid}", lambda: self.sub.weights(netuid, block=self.block)
        )
        weights = [(int(uid), int(target), int(w)) for uid, row in pairs or [] for target, w in row]
        return rows, weights


def _backend(subtensor: Any, call: _Caller, block: int | None) -> _Backend:
    if hasattr(subtensor, "all_subnets") and hasattr(subtensor, "query_subtensor"):
        return _ClassicBackend(subtensor, call, block)
    if hasattr(subtensor, "at") and hasattr(subtensor, "query"):
        return _LeanBackend(subtensor, call, block)
    raise ChainAccessError(
        f"{type(subtensor).__name__} is not a bittensor subtensor client "
        "(needs all_subnets/query_subtensor or at/query)"
    )


# ----------------------------------------------------------------------------- reading
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


def _sdk_version() -> str:
    try:
        return importlib.metadata.version("bittensor")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


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


# ----------------------------------------------------------------------------- metagraphs
NEURON_SCHEMA = pa.schema(
    [
        ("netuid", pa.uint16()),
        ("uid", pa.uint16()),
        ("hotkey", pa.string()),
        ("coldkey", pa.string()),
        ("alpha_stake_rao", pa.int64()),
        ("root_stake_rao", pa.int64()),
        ("incentive", pa.float64()),
        ("dividends", pa.float64()),
        ("validator_permit", pa.bool_()),
        ("block_at_registration", pa.int64()),
        ("last_update", pa.int64()),
    ]
)
"""Columns of the neurons table (one row per subnet and UID)."""

WEIGHT_SCHEMA = pa.schema(
    [
        ("netuid", pa.uint16()),
        ("uid", pa.uint16()),
        ("target_uid", pa.uint16()),
        ("weight", pa.uint16()),
    ]
)
"""Columns of the weights long table (one row per non-zero weight; ``weight`` is the u16)."""


def _read_metagraphs(
    be: _Backend, netuids: Iterable[int], network: str
) -> tuple[pa.Table, pa.Table]:
    rows: list[dict[str, Any]] = []
    wrows: list[tuple[int, int, int, int]] = []
    for n in netuids:
        try:
            neurons, weights = be.metagraph(n)
        except _MissingItem as e:
            raise ChainAccessError(f"{network}: cannot read {e.item}: {_reason(e.cause)}") from None
        except (AttributeError, TypeError, IndexError, KeyError) as e:
            raise ChainAccessError(
                f"{network}: unexpected metagraph of subnet {n} from the SDK ({_reason(e)})"
            ) from None
        rows.extend({"netuid": n, **r} for r in neurons)
        wrows.extend((n, u, t, w) for u, t, w in weights)
    neuron_table = pa.Table.from_pylist(rows, schema=NEURON_SCHEMA)
    weight_table = pa.table(
        {
            "netuid": pa.array([r[0] for r in wrows], pa.uint16()),
            "uid": pa.array([r[1] for r in wrows], pa.uint16()),
            "target_uid": pa.array([r[2] for r in wrows], pa.uint16()),
            "weight": pa.array([r[3] for r in wrows], pa.uint16()),
        },
        schema=WEIGHT_SCHEMA,
    )
    return neuron_table, weight_table


def read_metagraphs(
    subtensor: Any,
    netuids: Iterable[int],
    *,
    block: int | None = None,
    timeout: float | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Read the metagraphs of ``netuids`` at ``block``.

    Parameters
    ----------
    subtensor
        The SDK's subtensor object (see :func:`read_snapshot`).
    netuids
        Subnets to read.
    block
        Block to read; default the chain head.
    timeout
        Seconds allowed for each request; ``None``: no limit.

    Returns
    -------
    tuple[pyarrow.Table, pyarrow.Table]
        ``neurons`` (:data:`NEURON_SCHEMA`: stakes exact in RAO, ``root_stake_rao`` is the
        hotkey's stake on root, incentive and dividends normalised to 0..1) and ``weights``
        (:data:`WEIGHT_SCHEMA`, long format, the chain's u16 weights).

    Raises
    ------
    ChainAccessError
        The chain is unreachable or the SDK cannot read a metagraph.
    """
    network = str(getattr(subtensor, "network", None) or "the chain")
    call = _Caller(network, timeout)
    be = _backend(subtensor, call, block)
    return _read_metagraphs(be, netuids, network)


