"""The two SDK back ends behind one interface, storage access pinned to one block:
:class:`_LeanBackend` (``bittensor`` 11+, ``subtensor.at(block)``) and :class:`_ClassicBackend`
(``bittensor`` 9.x / 10.x, ``all_subnets`` plus ``query_subtensor``); :func:`_backend` picks one
by duck typing."""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dtaosim.io.chain_reader.connection import ChainAccessError, _Caller, _MissingItem, _reason
from dtaosim.io.chain_reader.convert import _netuid_key, _plain, _rao


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
