"""Chain snapshots through the bittensor SDK (``dtaosim.io.chain_reader``, ``dtaosim snapshot``).

No test reaches a chain: the subtensor object is a test double that answers from an in-memory
"chain" and returns the *installed* SDK's own data classes (``DynamicInfo``, ``MetagraphInfo``,
``Balance`` for bittensor 9-10; storage descriptors, ``Metagraph``, ``MetagraphNeuron``,
``Neuron`` for bittensor 11+), built with their constructors, so a field rename in the SDK
breaks these tests. With bittensor 11+ the SDK's own client also runs end to end against an
in-memory chain (its ``substrate=`` seam and SCALE codec; see the last section). Tests that need
the SDK skip when the ``chain`` extra is not installed.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from dtaosim.cli import snapshot as snapshot_cli
from dtaosim.cli.app import app
from dtaosim.errors import DataError
from dtaosim.io import chain_reader, metagraphs
from dtaosim.io.chain_reader import (
    INSTALL_HINT,
    ChainAccessError,
    connection,
    convert,
    read_chain,
    read_snapshot,
)
from dtaosim.io.snapshot import Snapshot, SubnetSnapshot, load_snapshot, snapshot_to_state
from dtaosim.state.chain_state import GI, SI
from dtaosim.state.invariants import check_state

snapshot_cli.register(app)
runner = CliRunner()

RAO = 10**9
HEAD = 6_000_000
TIME = datetime(2026, 10, 1, 12, 0, 0, tzinfo=UTC)
ROOT_STAKE = 6_000_000 * RAO + 7
NETWORK: dict[str | tuple[str, str], int] = {
    "TotalIssuance": 10_600_000 * RAO + 123,
    "NetworkLastLockCost": 1_234 * RAO + 5,
    ("LastRateLimitedBlock", "NetworkLastRegistered"): 5_990_000,
    "BlockEmission": 500_000_000,
    "NetworkRegistrationStartBlock": 5_500_000,
}
Q32 = 2**32
Q64 = 2**64
ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"  # well-known dev accounts (SS58 42)
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
CHARLIE = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"

# netuid -> storage item -> value as the SDK decodes it (ints in RAO, fixed point as bits)
SUBNETS: dict[int, dict[str, Any]] = {
    1: {
        "SubnetTAO": 20_000 * RAO + 11,
        "SubnetAlphaIn": 80_000 * RAO + 3,
        "SubnetAlphaOut": 3_000_000 * RAO + 9,
        "SubnetMovingPrice": {"bits": Q32 // 4},  # 0.25
        "NetworkRegisteredAt": 4_000_000,
        "FirstEmissionBlockNumber": 4_050_000,
        "Tempo": 360,
        "LastEpochBlock": 5_999_800,
        "BlocksSinceLastStep": 200,
        "SubnetEmissionEnabled": True,
        "NetworkRegistrationAllowed": True,
        "MinerBurned": {"bits": Q32 // 2},  # 0.5
        "Burn": 2_000_000,
        "PendingServerEmission": 100 * RAO,
        "PendingValidatorEmission": 90 * RAO,
        "PendingRootAlphaDivs": 10 * RAO,
        "PendingOwnerCut": 40 * RAO,
        "SubnetProtocolAlpha": 1_000 * RAO + 1,
        "SubnetLocked": 1_000 * RAO,
        "SubnetEmaTaoFlow": (HEAD - 1, {"bits": 3 * Q64 // 2}),  # 1.5 RAO/block
        "SubnetEmaProtocolFlow": (HEAD - 1, {"bits": -Q64}),  # -1 RAO/block
        "SwapBalancer": {"quote": 600_000_000_000_000_000},  # 0.6
        "SubnetOwner": ALICE,
        "SubnetOwnerHotkey": BOB,
    },
    7: {  # registered after NetworkRegistrationStartBlock, start_call not done
        "SubnetTAO": 1_500 * RAO,
        "SubnetAlphaIn": 3_000 * RAO,
        "SubnetAlphaOut": 0,
        "SubnetMovingPrice": {"bits": 0},
        "NetworkRegisteredAt": 5_995_000,
        "FirstEmissionBlockNumber": None,
        "Tempo": 360,
        "LastEpochBlock": 5_999_900,
        "BlocksSinceLastStep": 100,
        "SubnetEmissionEnabled": False,
        "NetworkRegistrationAllowed": True,
        "MinerBurned": {"bits": 0},
        "Burn": RAO,
        "PendingServerEmission": 0,
        "PendingValidatorEmission": 0,
        "PendingRootAlphaDivs": 0,
        "PendingOwnerCut": 0,
        "SubnetProtocolAlpha": 0,
        "SubnetLocked": 1_500 * RAO,
        "SubnetEmaTaoFlow": None,
        "SubnetEmaProtocolFlow": None,
        "SwapBalancer": {"quote": 500_000_000_000_000_000},
        "SubnetOwner": CHARLIE,
        "SubnetOwnerHotkey": CHARLIE,
    },
    12: {  # registration closed, all of the miner emission burned
        "SubnetTAO": 210_000 * RAO + 999,
        "SubnetAlphaIn": 150_000 * RAO,
        "SubnetAlphaOut": 4_500_000 * RAO,
        "SubnetMovingPrice": {"bits": Q32},  # 1.0
        "NetworkRegisteredAt": 4_964_000,
        "FirstEmissionBlockNumber": 4_964_001,
        "Tempo": 720,
        "LastEpochBlock": 5_999_500,
        "BlocksSinceLastStep": 500,
        "SubnetEmissionEnabled": True,
        "NetworkRegistrationAllowed": False,
        "MinerBurned": {"bits": Q32},
        "Burn": 500_000,
        "PendingServerEmission": 7,
        "PendingValidatorEmission": 5,
        "PendingRootAlphaDivs": 2,
        "PendingOwnerCut": 3,
        "SubnetProtocolAlpha": 0,
        "SubnetLocked": 1_000 * RAO,
        "SubnetEmaTaoFlow": (HEAD - 1, {"bits": 0}),
        "SubnetEmaProtocolFlow": (HEAD - 1, {"bits": 0}),
        "SwapBalancer": {"quote": 500_000_000_000_000_000},
        "SubnetOwner": BOB,
        "SubnetOwnerHotkey": ALICE,
    },
}

EXPECTED: dict[int, dict[str, Any]] = {
    1: {
        "tao_reserve_rao": 20_000 * RAO + 11,
        "alpha_in_rao": 80_000 * RAO + 3,
        "alpha_out_rao": 3_000_000 * RAO + 9,
        "price_ema": 0.25,
        "quote_weight": 0.6,
        "registered_at_block": 4_000_000,
        "first_emission_block": 4_050_000,
        "tempo": 360,
        "last_epoch_block": 5_999_800,
        "emission_enabled": True,
        "registration_allowed": True,
        "miner_burn_fraction": 0.5,
        "miner_burned": 0.5,
        "neuron_burn_rao": 2_000_000,
        "owner_cut_alpha_rao": 0,
        "pending_server_rao": 100 * RAO,
        "pending_validator_rao": 90 * RAO,
        "pending_root_rao": 10 * RAO,
        "pending_owner_rao": 40 * RAO,
        "pending_root_tao_rao": 0,
        "protocol_alpha_rao": 1_000 * RAO + 1,
        "burned_alpha_rao": 0,
        "locked_tao_rao": 1_000 * RAO,
        "legacy": True,
        "flow_ema": 1.5,
        "protocol_flow_ema": -1.0,
        "owner_coldkey": ALICE,
        "owner_hotkey": BOB,
    },
    7: {
        "tao_reserve_rao": 1_500 * RAO,
        "alpha_in_rao": 3_000 * RAO,
        "alpha_out_rao": 0,
        "price_ema": 0.0,
        "quote_weight": 0.5,
        "registered_at_block": 5_995_000,
        "first_emission_block": -1,
        "tempo": 360,
        "last_epoch_block": 5_999_900,
        "emission_enabled": False,
        "registration_allowed": True,
        "miner_burn_fraction": 0.0,
        "miner_burned": 0.0,
        "neuron_burn_rao": RAO,
        "pending_server_rao": 0,
        "protocol_alpha_rao": 0,
        "locked_tao_rao": 1_500 * RAO,
        "legacy": False,
        "flow_ema": 0.0,
        "protocol_flow_ema": 0.0,
        "owner_coldkey": CHARLIE,
        "owner_hotkey": CHARLIE,
    },
    12: {
        "tao_reserve_rao": 210_000 * RAO + 999,
        "alpha_in_rao": 150_000 * RAO,
        "alpha_out_rao": 4_500_000 * RAO,
        "price_ema": 1.0,
        "first_emission_block": 4_964_001,
        "tempo": 720,
        "last_epoch_block": 5_999_500,
        "registration_allowed": False,
        "miner_burn_fraction": 1.0,
        "neuron_burn_rao": 500_000,
        "pending_server_rao": 7,
        "pending_validator_rao": 5,
        "pending_root_rao": 2,
        "pending_owner_rao": 3,
        "legacy": True,
        "owner_coldkey": BOB,
        "owner_hotkey": ALICE,
    },
}

# metagraph of every subnet: (uid, hotkey, coldkey, alpha RAO, root RAO, incentive, dividends,
# validator_permit, block_at_registration, last_update) and weights (uid, target, u16)
NEURONS = [
    (0, "5Hot0", "5Cold0", 5_000 * RAO + 1, 0, 0.0, 1.0, True, 4_000_100, 5_999_990),
    (1, "5Hot1", "5Cold1", 17, 250 * RAO, 1.0, 0.0, False, 4_500_000, 5_999_000),
]
WEIGHTS = [(0, 1, 65_535), (0, 0, 12)]


class StorageFunctionNotFound(ValueError):
    """Stand-in with the SDKs' class name, used only if no installed SDK defines it."""


def _not_found(pallet: str, name: str) -> Exception:
    """What the installed SDK raises for a storage item the runtime's metadata lacks."""
    for module in (
        "bittensor._transport.errors",  # bittensor 11+
        "async_substrate_interface.errors",  # bittensor 9-10
        "substrateinterface.exceptions",
    ):
        try:
            cls = importlib.import_module(module).StorageFunctionNotFound
        except (ImportError, AttributeError):
            continue
        return cls(f'Storage function "{pallet}.{name}" not found')
    return StorageFunctionNotFound(f'Storage function "{pallet}.{name}" not found')


@dataclasses.dataclass
class _Slow:
    """A storage value the double answers only after ``seconds``."""

    seconds: float
    value: Any


def _answer(value: Any) -> Any:
    """A double's answer: raise an exception value, wait for a :class:`_Slow` one."""
    if isinstance(value, BaseException):
        raise value
    if isinstance(value, _Slow):
        time.sleep(value.seconds)
        return value.value
    return value


def _chain(**drop: Any) -> dict[str, Any]:
    """The in-memory chain, with storage items in ``drop`` removed (``drop={"Tempo": ...}``)."""
    subnets = {n: {k: v for k, v in d.items() if k not in drop} for n, d in SUBNETS.items()}
    network = {
        k: v for k, v in NETWORK.items() if (k[0] if isinstance(k, tuple) else k) not in drop
    }
    return {"network": network, "subnets": subnets}


# ------------------------------------------------------------------------------------ doubles
def _bittensor() -> Any:
    return pytest.importorskip("bittensor")


def _classic_sdk() -> bool:
    try:
        import bittensor.core.chain_data  # noqa: F401
    except ImportError:
        return False
    return True


def _fill(cls: type, **given: Any) -> Any:
    """Build dataclass ``cls`` with its constructor; fields not in ``given`` are ``None``.

    Every name in ``given`` must be a field (a renamed field raises ``TypeError``).
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(given) - names
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    return cls(**{name: given.get(name) for name in names})


class _Scale:
    """Stand-in for the substrate interface's ``ScaleObj`` (a decoded ``.value``)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class ClassicSubtensor:
    """Test double of ``bittensor.core.subtensor.Subtensor`` (bittensor 9.x / 10.x)."""

    network = "finney"

    def __init__(self, chain: dict[str, Any], *, delay: float = 0.0) -> None:
        import bittensor.core.chain_data as cd
        from bittensor.utils.balance import Balance

        self.cd, self.Balance = cd, Balance
        self.chain = chain
        self.delay = delay
        self.calls: list[tuple[str, int | None]] = []

    def _wait(self) -> None:
        if self.delay:
            time.sleep(self.delay)

    def get_current_block(self) -> int:
        self._wait()
        return HEAD

    def get_timestamp(self, block: int | None = None) -> datetime:
        return TIME

    def all_subnets(self, block: int | None = None) -> list[Any]:
        self._wait()
        self.calls.append(("all_subnets", block))
        B = self.Balance
        root = self._dynamic(0, tao=ROOT_STAKE, alpha_in=0, alpha_out=0, price=1.0, reg=0, tempo=0)
        infos = [root]
        for n, d in self.chain["subnets"].items():
            infos.append(
                self._dynamic(
                    n,
                    tao=d["SubnetTAO"],
                    alpha_in=d["SubnetAlphaIn"],
                    alpha_out=d["SubnetAlphaOut"],
                    price=d["SubnetMovingPrice"]["bits"] / Q32,
                    reg=d["NetworkRegisteredAt"],
                    tempo=d["Tempo"],
                    since=d["BlocksSinceLastStep"],
                    owner=(d["SubnetOwner"], d["SubnetOwnerHotkey"]),
                )
            )
        assert all(isinstance(i.tao_in, B) for i in infos)
        return infos

    def _dynamic(
        self,
        n: int,
        *,
        tao: int,
        alpha_in: int,
        alpha_out: int,
        price: float,
        reg: int,
        tempo: int,
        since: int = 0,
        owner: tuple[str, str] = (ALICE, ALICE),
    ) -> Any:
        B = self.Balance
        return self.cd.DynamicInfo(
            netuid=n,
            owner_hotkey=owner[1],
            owner_coldkey=owner[0],
            subnet_name=f"sn{n}",
            symbol="a",
            tempo=tempo,
            last_step=HEAD - since,
            blocks_since_last_step=since,
            emission=B.from_rao(0),
            alpha_in=B.from_rao(alpha_in).set_unit(n),
            alpha_out=B.from_rao(alpha_out).set_unit(n),
            tao_in=B.from_rao(tao),
            price=B.from_tao(price),
            k=float(tao) * float(alpha_in),
            is_dynamic=n > 0,
            alpha_out_emission=B.from_rao(0).set_unit(n),
            alpha_in_emission=B.from_rao(0).set_unit(n),
            tao_in_emission=B.from_rao(0),
            pending_alpha_emission=B.from_rao(0).set_unit(n),
            pending_root_emission=B.from_rao(0),
            network_registered_at=reg,
            subnet_volume=B.from_rao(0),
            subnet_identity=None,
            moving_price=price,
        )

    def _lookup(self, name: str, params: list[Any] | None, pallet: str = "SubtensorModule") -> Any:
        self._wait()
        if not params:
            if name not in self.chain["network"]:
                raise _not_found(pallet, name)
            return self.chain["network"][name]
        (n,) = params
        if isinstance(n, str):
            if (name, n) not in self.chain["network"]:
                raise _not_found(pallet, name)
            return self.chain["network"][(name, n)]
        if n == 0 and name == "SubnetTAO":
            return ROOT_STAKE
        sub = self.chain["subnets"][n]
        if name not in sub:
            raise _not_found(pallet, name)
        return _answer(sub[name])

    def query_subtensor(
        self, name: str, params: list[Any] | None = None, block: int | None = None
    ) -> Any:
        self.calls.append((name, block))
        return _Scale(self._lookup(name, params))

    def query_module(
        self, module: str, name: str, params: list[Any] | None = None, block: int | None = None
    ) -> Any:
        self.calls.append((f"{module}.{name}", block))
        return _Scale(self._lookup(name, params, module))

    def get_metagraph_info(self, netuid: int, block: int | None = None) -> Any:
        _answer(self.chain.get("metagraph_error"))
        B = self.Balance
        cols = list(zip(*NEURONS, strict=True))
        return _fill(
            self.cd.MetagraphInfo,
            netuid=netuid,
            hotkeys=list(cols[1]),
            coldkeys=list(cols[2]),
            alpha_stake=[B.from_rao(v).set_unit(netuid) for v in cols[3]],
            tao_stake=[B.from_rao(v) for v in cols[4]],
            incentives=list(cols[5]),
            dividends=list(cols[6]),
            validator_permit=list(cols[7]),
            block_at_registration=list(cols[8]),
            last_update=list(cols[9]),
        )

    def weights(self, netuid: int, block: int | None = None) -> list[Any]:
        rows: dict[int, list[tuple[int, int]]] = {}
        for uid, target, w in WEIGHTS:
            rows.setdefault(uid, []).append((target, w))
        return list(rows.items())


class _Namespace:
    def __init__(self, **fns: Any) -> None:
        self.__dict__.update(fns)


class LeanView:
    """Test double of ``bittensor`` 11's block-pinned ``SyncSnapshot``."""

    def __init__(self, owner: LeanSubtensor, block: int) -> None:
        self.owner = owner
        self.block = block
        self.subnets = _Namespace(metagraph=self._metagraph)
        self.neurons = _Namespace(all=self._neurons)

    def _key(self, item: Any) -> tuple[str, str]:
        storage = self.owner.bt.storage
        if not isinstance(item, storage.Item):  # a plain tuple only for items the SDK lacks
            pallet, name = item
            assert getattr(getattr(storage, pallet), name, None) is None, item
        return item[0], item[1]

    def _lookup(self, item: Any, params: list[Any] | None) -> Any:
        self.owner.wait()
        pallet, name = self._key(item)
        self.owner.calls.append((f"{pallet}.{name}", self.block))
        chain = self.owner.chain
        if not params:
            if name not in chain["network"]:
                raise _not_found(pallet, name)
            return chain["network"][name]
        (n,) = params
        if isinstance(n, str):
            if (name, n) not in chain["network"]:
                raise _not_found(pallet, name)
            return chain["network"][(name, n)]
        if n == 0 and name == "SubnetTAO":
            return ROOT_STAKE
        if name not in chain["subnets"][n]:
            raise _not_found(pallet, name)
        return _answer(chain["subnets"][n][name])

    def timestamp(self) -> datetime:
        return TIME

    def query(self, item: Any, params: list[Any] | None = None) -> Any:
        return self._lookup(item, params)

    def query_batch(self, item: Any, param_sets: list[list[Any]]) -> list[Any]:
        return [self._lookup(item, p) for p in param_sets]

    def query_map(self, item: Any, params: list[Any] | None = None) -> list[tuple[Any, Any]]:
        self.owner.wait()
        _, name = self._key(item)
        assert name == "NetworksAdded", name
        return [(0, True), (99, False)] + [(n, True) for n in self.owner.chain["subnets"]]

    def _metagraph(self, netuid: int, block: int | None = None, *, commitments: bool = True) -> Any:
        _answer(self.owner.chain.get("metagraph_error"))
        bt = self.owner.bt
        neurons = [
            bt.MetagraphNeuron(
                uid=uid,
                hotkey=hk,
                coldkey=ck,
                active=True,
                validator_permit=vp,
                last_update=lu,
                block_at_registration=reg,
                rank=0.0,
                trust=0.0,
                consensus=0.0,
                incentive=inc,
                dividends=div,
                pruning_score=0.0,
                emission=bt.Balance.from_rao(0, netuid),
                alpha_stake=bt.Balance.from_rao(alpha, netuid),
                tao_stake=bt.Balance.from_rao(root),
                total_stake=bt.Balance.from_rao(alpha, netuid),
                axon=None,
                identity=None,
                commitment=None,
            )
            for uid, hk, ck, alpha, root, inc, div, vp, reg, lu in NEURONS
        ]
        return bt.Metagraph(
            netuid=netuid,
            mechid=0,
            name=f"sn{netuid}",
            symbol="a",
            block=self.block,
            tempo=360,
            last_step=0,
            blocks_since_last_step=0,
            owner_hotkey="5Owner",
            owner_coldkey="5OwnerCold",
            network_registered_at=0,
            num_uids=len(neurons),
            max_uids=256,
            price=None,
            moving_price=None,
            identity=None,
            neurons=neurons,
            commitments={},
            unregistered_commitments={},
            raw={},
        )

    def _neurons(self, netuid: int, block: int | None = None, *, lite: bool = True) -> list[Any]:
        assert lite is False
        bt = self.owner.bt
        out = []
        for uid, hk, ck, alpha, _root, _i, _d, vp, _r, lu in NEURONS:
            weights = [[t, w] for u, t, w in WEIGHTS if u == uid]
            out.append(
                bt.Neuron(
                    uid=uid,
                    hotkey=hk,
                    coldkey=ck,
                    active=True,
                    validator_permit=vp,
                    last_update=lu,
                    total_stake=bt.Balance.from_rao(alpha, netuid),
                    raw={"weights": weights},
                )
            )
        return out


class LeanSubtensor:
    """Test double of ``bittensor.Subtensor`` (bittensor 11+, blocking mode)."""

    network = "finney"

    def __init__(self, chain: dict[str, Any], *, delay: float = 0.0) -> None:
        self.bt = _bittensor()
        self.chain = chain
        self.delay = delay
        self.calls: list[tuple[str, int | None]] = []

    def wait(self) -> None:
        if self.delay:
            time.sleep(self.delay)

    def at(self, block: int | None = None) -> LeanView:
        self.wait()
        return LeanView(self, HEAD if block is None else block)

    def query(self, item: Any, params: list[Any] | None = None, *, block: int | None = None) -> Any:
        return self.at(block).query(item, params)


def make_double(chain: dict[str, Any] | None = None, *, delay: float = 0.0) -> Any:
    """A double of the installed SDK's subtensor class (skips without the SDK)."""
    _bittensor()
    chain = chain if chain is not None else _chain()
    if _classic_sdk():
        return ClassicSubtensor(chain, delay=delay)
    return LeanSubtensor(chain, delay=delay)


def _failing(exc: BaseException) -> Any:
    class Failing:
        network = "ws://127.0.0.1:9944"

        def at(self, block: int | None = None) -> Any:
            raise exc

        def query(self, *a: Any, **k: Any) -> Any:
            raise exc

    return Failing()


def _one_error_line(result: Any) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# ------------------------------------------------------------------------------- read_snapshot
def test_read_snapshot_numbers() -> None:
    sub = make_double()
    snap = read_snapshot(sub)
    assert snap.schema_version == 1
    assert snap.block == HEAD
    assert snap.timestamp == "2026-10-01T12:00:00Z"
    assert snap.total_issuance_rao == NETWORK["TotalIssuance"]
    assert snap.root_stake_rao == ROOT_STAKE
    assert snap.last_lock_cost_rao == NETWORK["NetworkLastLockCost"]
    assert snap.last_lock_block == 5_990_000
    assert snap.block_emission_rao == NETWORK["BlockEmission"]
    assert [s.netuid for s in snap.subnets] == [1, 7, 12]
    for netuid, fields in EXPECTED.items():
        s = snap.subnet(netuid)
        got = {k: getattr(s, k) for k in fields}
        assert got == fields, netuid
    assert "finney" in snap.source and f"block {HEAD}" in snap.source
    assert "owner_cut_alpha_rao 0" in snap.source
    assert "absent from this runtime" not in snap.source
    # every request was pinned to the head block
    assert {b for _, b in sub.calls} == {HEAD}


def test_read_snapshot_at_block_pins_every_request() -> None:
    sub = make_double()
    snap = read_snapshot(sub, block=5_999_999)
    assert snap.block == 5_999_999
    assert {b for _, b in sub.calls} == {5_999_999}


def test_snapshot_to_state_keeps_the_identities() -> None:
    snap = read_snapshot(make_double())
    state = snapshot_to_state(snap, runs=3)
    check_state(state)  # TAO identity, alpha_out == sum of holders, alpha issuance
    g = state.gints[0]
    pools = sum(s.tao_reserve_rao for s in snap.subnets)
    assert int(g[GI.FREE_TAO]) == NETWORK["TotalIssuance"] - ROOT_STAKE - pools
    assert int(g[GI.TOTAL_ISSUANCE]) == (
        int(g[GI.ROOT_STAKE]) + int(g[GI.FREE_TAO]) + int(state.ints[0, :, SI.TAO_RESERVE].sum())
    )
    s1 = state.ints[0, 0]
    named = 100 * RAO + 90 * RAO + 10 * RAO + 40 * RAO + 1_000 * RAO + 1
    assert int(s1[SI.STAKE_STAKERS]) == 3_000_000 * RAO + 9 - named
    assert int(state.ints[0, 6, SI.FIRST_EMISSION_BLOCK]) == -1


def test_runtime_without_optional_items_uses_defaults() -> None:
    chain = _chain(
        LastEpochBlock=1,
        SubnetEmissionEnabled=1,
        MinerBurned=1,
        SubnetEmaTaoFlow=1,
        SubnetEmaProtocolFlow=1,
        SwapBalancer=1,
        NetworkRegistrationStartBlock=1,
        LastRateLimitedBlock=1,
    )
    chain["network"]["NetworkLastRegistered"] = 5_980_000  # runtimes before RateLimitKey
    snap = read_snapshot(make_double(chain))
    assert snap.last_lock_block == 5_980_000
    s1, s7 = snap.subnet(1), snap.subnet(7)
    assert s1.last_epoch_block == HEAD - 200  # block - BlocksSinceLastStep
    assert s7.emission_enabled is True
    assert s1.miner_burned == 0.0 and s1.quote_weight == 0.5 and s1.flow_ema == 0.0
    assert s7.legacy is True
    assert "absent from this runtime, defaults used:" in snap.source
    assert "LastEpochBlock" in snap.source and "SwapBalancer" in snap.source


def test_missing_required_field_names_it() -> None:
    with pytest.raises(ChainAccessError, match=r"SubtensorModule\.SubnetLocked"):
        read_snapshot(make_double(_chain(SubnetLocked=1)))
    with pytest.raises(ChainAccessError, match=r"SubtensorModule\.TotalIssuance"):
        read_snapshot(make_double(_chain(TotalIssuance=1)))


def test_inconsistent_chain_values_are_a_data_error() -> None:
    chain = _chain()
    chain["subnets"][12]["SubnetAlphaOut"] = 1  # smaller than its pending parts
    with pytest.raises(Exception,
                       match=r"subnets\[2\] \(netuid 12\): alpha_out_rao \(1\) is smaller") as e:
        read_snapshot(make_double(chain))
    assert "values read from the chain" in str(e.value)


def test_timeout_is_one_clear_error() -> None:
    sub = make_double(delay=0.5)
    t0 = time.perf_counter()
    with pytest.raises(ChainAccessError, match=r"finney: no answer within 0\.1 s"):
        read_snapshot(sub, timeout=0.1)
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize(
    "exc", [ConnectionRefusedError(111, "Connection refused"), TimeoutError("timed out")]
)
def test_connection_errors_are_chain_access_errors(exc: BaseException) -> None:
    with pytest.raises(ChainAccessError, match=r"ws://127\.0\.0\.1:9944"):
        read_snapshot(_failing(exc))


def test_not_a_subtensor() -> None:
    with pytest.raises(ChainAccessError, match="not a bittensor subtensor client"):
        read_snapshot(object())


def test_metagraphs_tables() -> None:
    result = read_chain(make_double(), metagraphs=True)
    assert result.neurons is not None and result.weights is not None
    neurons = result.neurons.to_pylist()
    assert len(neurons) == 3 * len(NEURONS)
    first = neurons[0]
    assert first == {
        "netuid": 1,
        "uid": 0,
        "hotkey": "5Hot0",
        "coldkey": "5Cold0",
        "alpha_stake_rao": 5_000 * RAO + 1,
        "root_stake_rao": 0,
        "incentive": 0.0,
        "dividends": 1.0,
        "validator_permit": True,
        "block_at_registration": 4_000_100,
        "last_update": 5_999_990,
    }
    assert neurons[1]["root_stake_rao"] == 250 * RAO and neurons[1]["alpha_stake_rao"] == 17
    weights = result.weights.to_pylist()
    assert {(w["netuid"], w["uid"], w["target_uid"], w["weight"]) for w in weights} == {
        (n, u, t, w) for n in (1, 7, 12) for u, t, w in WEIGHTS
    }


# ----------------------------------------------------------------------------------- connect
def test_connect_without_sdk_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bittensor", None)  # makes `import bittensor` fail
    with pytest.raises(ChainAccessError) as e:
        chain_reader.connect("finney", 5)
    assert str(e.value) == INSTALL_HINT


def test_connect_rejects_unknown_network() -> None:
    with pytest.raises(ChainAccessError, match="unknown network 'mainnet'"):
        chain_reader.connect("mainnet", 5)


# --------------------------------------------------------------------------------------- CLI
def test_register_is_idempotent() -> None:
    before = len(app.registered_commands)
    snapshot_cli.register(app)
    snapshot_cli.register(app)
    assert len(app.registered_commands) == before
    names = [c.name for c in app.registered_commands]
    assert names.count("snapshot") == 1


def test_cli_writes_a_valid_snapshot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sub = make_double()
    seen: dict[str, Any] = {}

    def fake_connect(network: str, timeout: float) -> Any:
        seen.update(network=network, timeout=timeout)
        return sub

    monkeypatch.setattr(chain_reader, "connect", fake_connect)
    out = tmp_path / "net.json"
    result = runner.invoke(
        app, ["snapshot", "--network", "test", "--timeout", "7", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert seen == {"network": "test", "timeout": 7.0}
    snap = load_snapshot(out)
    assert snap == read_snapshot(make_double())
    assert not (tmp_path / "net.metagraphs.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


def test_cli_metagraphs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(chain_reader, "connect", lambda network, timeout: make_double())
    out = tmp_path / "net.json"
    result = runner.invoke(
        app, ["snapshot", "--metagraphs", "--block", "5999000", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert load_snapshot(out).block == 5_999_000
    neurons = pq.read_table(tmp_path / "net.metagraphs.parquet")
    weights = pq.read_table(tmp_path / "net.weights.parquet")
    assert neurons.num_rows == 3 * len(NEURONS) and weights.num_rows == 3 * len(WEIGHTS)
    assert neurons.schema.field("alpha_stake_rao").type == "int64"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "net.json",
        "net.metagraphs.parquet",
        "net.weights.parquet",
    ]


def test_cli_without_sdk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "bittensor", None)
    out = tmp_path / "net.json"
    result = runner.invoke(app, ["snapshot", "--out", str(out)])
    assert result.exit_code == 2
    assert _one_error_line(result) == f"error: {INSTALL_HINT}"
    assert list(tmp_path.iterdir()) == []


def _chain_with(netuid: int, item: str, value: Any) -> dict[str, Any]:
    chain = _chain()
    chain["subnets"][netuid][item] = value
    return chain


@pytest.mark.parametrize(
    ("double", "message"),
    [
        ("slow", "no answer within 0.2 s"),
        ("slow mid-read", "finney: no answer within 0.2 s while reading SubtensorModule.Burn"),
        ("refused", "cannot read the chain head from ws://127.0.0.1:9944"),
        (
            "dropped mid-read",
            "cannot read SubtensorModule.Burn from finney: ConnectionResetError: "
            "[Errno 104] Connection reset by peer",
        ),
        (
            "dropped in the metagraphs",
            "cannot read the metagraph of subnet 1 from finney: ConnectionError: gone",
        ),
        ("missing", "does not provide SubtensorModule.SubnetLocked"),
        ("invalid values", "subnets[2] (netuid 12): alpha_out_rao (1) is smaller"),
    ],
)
def test_cli_errors_leave_no_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, double: str, message: str
) -> None:
    """Every failure, also half-way through the reads: one error line, exit 2, no file."""
    if double == "slow":
        sub = make_double(delay=1.0)
    elif double == "slow mid-read":
        sub = make_double(_chain_with(12, "Burn", _Slow(1.0, 500_000)))
    elif double == "refused":
        sub = _failing(ConnectionRefusedError(111, "Connection refused"))
    elif double == "dropped mid-read":
        reset = ConnectionResetError(104, "Connection reset by peer")
        sub = make_double(_chain_with(12, "Burn", reset))
    elif double == "dropped in the metagraphs":
        chain = _chain()
        chain["metagraph_error"] = ConnectionError("gone")
        sub = make_double(chain)
    elif double == "invalid values":
        sub = make_double(_chain_with(12, "SubnetAlphaOut", 1))
    else:
        sub = make_double(_chain(SubnetLocked=1))
    monkeypatch.setattr(chain_reader, "connect", lambda network, timeout: sub)
    out = tmp_path / "net.json"
    args = ["snapshot", "--metagraphs", "--timeout", "0.2", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert message in line, line
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_refused_endpoint_real_sdk(tmp_path: Path) -> None:
    """The real SDK against a closed local port: one error line, no file (no chain reached)."""
    _bittensor()
    out = tmp_path / "net.json"
    args = ["snapshot", "--network", "ws://127.0.0.1:9", "--timeout", "5", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert "ws://127.0.0.1:9" in line, line
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_network_and_out(tmp_path: Path) -> None:
    result = runner.invoke(app, ["snapshot", "--network", "mainnet", "--out", str(tmp_path / "a")])
    assert result.exit_code == 2
    assert "unknown network 'mainnet'" in _one_error_line(result)
    result = runner.invoke(app, ["snapshot", "--out", str(tmp_path / "nodir" / "a.json")])
    assert result.exit_code == 2
    assert "does not exist" in _one_error_line(result)


def test_cli_help_names_the_extra() -> None:
    result = runner.invoke(app, ["snapshot", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert 'pip install "dtaosim[chain]"' in result.stdout
    for option in ("--network", "--block", "--metagraphs", "--timeout", "--out"):
        assert option in result.stdout


# --------------------------------------------------------------------- errors are not defaults
def test_a_failing_optional_item_is_an_error_not_a_default() -> None:
    """Only "storage item not in the runtime" falls back to a default; any other failure of an
    optional item (a decoding error, a chain error) is an error naming the item."""
    chain = _chain_with(7, "MinerBurned", RuntimeError("cannot decode FixedU128"))
    with pytest.raises(
        ChainAccessError,
        match=r"cannot read SubtensorModule\.MinerBurned from finney: RuntimeError: cannot decode",
    ):
        read_snapshot(make_double(chain))


def test_missing_item_detection() -> None:
    missing = connection._is_missing_item
    assert missing(_not_found("Swap", "SwapBalancer"))
    assert missing(ValueError('Pallet "Swap" not found'))
    assert not missing(KeyError("SwapBalancer"))
    assert not missing(RuntimeError("Block not found"))
    assert not missing(ConnectionError("connection closed"))


# ------------------------------------------------------------------- metagraph files, atomicity
NEURON_COLUMNS = {
    "netuid": "uint16",
    "uid": "uint16",
    "hotkey": "string",
    "coldkey": "string",
    "alpha_stake_rao": "int64",
    "root_stake_rao": "int64",
    "incentive": "double",
    "dividends": "double",
    "validator_permit": "bool",
    "block_at_registration": "int64",
    "last_update": "int64",
}
WEIGHT_COLUMNS = {"netuid": "uint16", "uid": "uint16", "target_uid": "uint16", "weight": "uint16"}


def test_metagraph_parquet_columns(tmp_path: Path) -> None:
    """The files hold exactly the columns docs/snapshot.md documents, with their types."""
    result = read_chain(make_double(), metagraphs=True)
    assert result.neurons is not None and result.weights is not None
    paths = metagraphs.write_metagraphs(result.neurons, result.weights, tmp_path / "n.json")
    assert [p.name for p in paths] == ["n.metagraphs.parquet", "n.weights.parquet"]
    for path, columns in zip(paths, (NEURON_COLUMNS, WEIGHT_COLUMNS), strict=True):
        schema = pq.read_schema(path)
        assert {f.name: str(f.type) for f in schema} == columns
        assert schema.names == list(columns)
    assert metagraphs.metagraph_path("a/live") == Path("a/live.metagraphs.parquet")


def test_write_metagraphs_is_all_or_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = read_chain(make_double(), metagraphs=True)
    real_write = pq.write_table
    calls: list[str] = []

    def flaky(table: Any, where: Any, **kw: Any) -> None:
        calls.append(str(where))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write(table, where, **kw)

    monkeypatch.setattr(metagraphs.pq, "write_table", flaky)
    with pytest.raises(DataError, match=r"cannot write metagraphs .*No space left"):
        metagraphs.write_metagraphs(result.neurons, result.weights, tmp_path / "n.json")
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("existing", [False, True])
def test_cli_snapshot_write_failure_leaves_files_as_they_were(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, existing: bool
) -> None:
    """The snapshot cannot be written after the metagraphs were: no new file, and the files
    of an earlier snapshot at the same --out are untouched."""
    monkeypatch.setattr(chain_reader, "connect", lambda network, timeout: make_double())
    old = {"net.json": "old", "net.metagraphs.parquet": "old", "net.weights.parquet": "old"}
    if existing:
        for name, text in old.items():
            (tmp_path / name).write_text(text)

    def full_disk(snap: Any, path: Any) -> None:
        raise DataError(f"cannot write snapshot {path}: No space left on device")

    monkeypatch.setattr(snapshot_cli, "save_snapshot", full_disk)
    out = tmp_path / "net.json"
    result = runner.invoke(app, ["snapshot", "--metagraphs", "--out", str(out)])
    assert result.exit_code == 2
    assert "No space left on device" in _one_error_line(result)
    left = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert left == (old if existing else {})


def test_field_sources_cover_every_field() -> None:
    fields = set(Snapshot.model_fields) | set(SubnetSnapshot.model_fields)
    fields -= {"schema_version", "source", "attribution", "subnets"}
    assert set(chain_reader.FIELD_SOURCES) == fields


# ---------------------------------------------------- the real bittensor 11 client, in memory
# The tests above use test doubles of the SDK's subtensor object. These run the installed SDK's
# own client (``bittensor.Subtensor``, its block-pinned view and its SCALE codec, the Rust
# ``bittensor_core``) against an in-memory chain: the SDK's documented ``substrate=`` seam takes
# a fake of its ``Substrate`` read contract that keeps raw SCALE bytes under the real storage
# keys and decodes them with the SDK's codec, exactly as the RPC transport does
# (``bittensor._transport.storage.decode_storage_value``). The runtime metadata is a minimal
# V14 document with the storage items dtaosim reads, their types mirroring subtensor's
# declarations (``Balancer { quote: Perquintill }``, ``I96F32``/``U96F32``/``I64F64`` as
# ``{bits}`` composites, ``NetUid``/``TaoBalance``/``AlphaBalance`` newtypes, the
# ``RateLimitKey`` enum, Identity / Twox64Concat hashers, Option vs Value queries).


def _lean_sdk() -> Any:
    bt = _bittensor()
    try:
        codec = importlib.import_module("bittensor._transport.codec")
        storage = importlib.import_module("bittensor._transport.storage")
    except ImportError:
        pytest.skip("needs the bittensor 11+ client (substrate= seam, SCALE codec)")
    return bt, codec, storage


def _compact(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raw = n.to_bytes((n.bit_length() + 7) // 8, "little")
    return bytes([((len(raw) - 4) << 2) | 3]) + raw


def _text(s: str) -> bytes:
    b = s.encode()
    return _compact(len(b)) + b


def _vec(items: list[bytes]) -> bytes:
    return _compact(len(items)) + b"".join(items)


def _option(x: bytes | None) -> bytes:
    return b"\x00" if x is None else b"\x01" + x


def _fields(fields: list[tuple[str | None, int, str]]) -> bytes:
    return _vec(
        [
            _option(None if n is None else _text(n)) + _compact(ty) + _option(_text(tn)) + _vec([])
            for n, ty, tn in fields
        ]
    )


class _Registry:
    """scale-info portable registry (V14), built type by type."""

    PRIMITIVES: ClassVar[dict[str, int]] = {
        "bool": 0,
        "u8": 3,
        "u16": 4,
        "u64": 6,
        "u128": 7,
        "i128": 13,
    }

    def __init__(self) -> None:
        self.types: list[bytes] = []

    def _add(self, path: list[str], typedef: bytes) -> int:
        self.types.append(_vec([_text(p) for p in path]) + _vec([]) + typedef + _vec([]))
        return len(self.types) - 1

    def primitive(self, name: str) -> int:
        return self._add([], b"\x05" + bytes([self.PRIMITIVES[name]]))

    def composite(self, path: list[str], fields: list[tuple[str | None, int, str]]) -> int:
        return self._add(path, b"\x00" + _fields(fields))

    def variant(self, path: list[str], variants: list[tuple[str, list[Any], int]]) -> int:
        body = _vec([_text(n) + _fields(fs) + bytes([i]) + _vec([]) for n, fs, i in variants])
        return self._add(path, b"\x01" + body)

    def tuple(self, ids: list[int]) -> int:
        return self._add([], b"\x04" + _vec([_compact(i) for i in ids]))

    def sequence(self, ty: int) -> int:
        return self._add([], b"\x02" + _compact(ty))

    def array(self, length: int, ty: int) -> int:
        return self._add([], b"\x03" + length.to_bytes(4, "little") + _compact(ty))

    def encode(self) -> bytes:
        return _vec([_compact(i) + t for i, t in enumerate(self.types)])


_IDENTITY, _TWOX64_CONCAT = 6, 5  # StorageHasher variant indices


def _metadata(drop: frozenset[str] = frozenset()) -> bytes:
    """Runtime metadata V14 (``meta`` + 14 + body) without the storage items in ``drop``."""
    r = _Registry()
    u8, u16, u64, u128, i128, boolean = (
        r.primitive(n) for n in ("u8", "u16", "u64", "u128", "i128", "bool")
    )
    netuid = r.composite(["subtensor_runtime_common", "NetUid"], [(None, u16, "u16")])
    tao = r.composite(["subtensor_runtime_common", "TaoBalance"], [(None, u64, "u64")])
    alpha = r.composite(["subtensor_runtime_common", "AlphaBalance"], [(None, u64, "u64")])
    fixed_i = r.composite(["substrate_fixed", "FixedI128"], [("bits", i128, "i128")])
    fixed_u = r.composite(["substrate_fixed", "FixedU128"], [("bits", u128, "u128")])
    perquintill = r.composite(["sp_arithmetic", "per_things", "Perquintill"], [(None, u64, "u64")])
    balancer = r.composite(
        ["pallet_subtensor_swap", "pallet", "balancer", "Balancer"],
        [("quote", perquintill, "Perquintill")],
    )
    flow = r.tuple([u64, fixed_i])  # (last update block, I64F64)
    account = r.composite(
        ["sp_core", "crypto", "AccountId32"], [(None, r.array(32, u8), "[u8; 32]")]
    )
    rate_limit_key = r.variant(
        ["pallet_subtensor", "utils", "rate_limiting", "RateLimitKey"],
        [("SetSNOwnerHotkey", [(None, netuid, "NetUid")], 0), ("NetworkLastRegistered", [], 2)],
    )
    call = r.variant(["Call"], [])
    extrinsic = r.sequence(u8)

    def default(value: bytes | None) -> tuple[bytes, bytes]:  # (modifier, default bytes)
        return (b"\x00", b"\x00") if value is None else (b"\x01", value)

    def plain(name: str, ty: int, dflt: bytes) -> tuple[str, bytes]:
        mod, d = default(dflt)
        entry = _text(name) + mod + b"\x00" + _compact(ty) + _vec([bytes([b]) for b in d])
        return name, entry + _vec([])  # no docs

    def smap(
        name: str, key: int, ty: int, dflt: bytes | None, hasher: int = _IDENTITY
    ) -> tuple[str, bytes]:
        mod, d = default(dflt)
        body = b"\x01" + _vec([bytes([hasher])]) + _compact(key) + _compact(ty)
        return name, _text(name) + mod + body + _vec([bytes([b]) for b in d]) + _vec([])

    z8, z16 = bytes(8), bytes(16)
    subtensor = [
        plain("TotalIssuance", tao, z8),
        plain("NetworkLastLockCost", tao, z8),
        plain("BlockEmission", u64, z8),
        plain("NetworkRegistrationStartBlock", u64, z8),
        smap("LastRateLimitedBlock", rate_limit_key, u64, z8),
        smap("NetworksAdded", netuid, boolean, b"\x00"),
        smap("SubnetTAO", netuid, tao, z8),
        smap("SubnetAlphaIn", netuid, alpha, z8),
        smap("SubnetAlphaOut", netuid, alpha, z8),
        smap("SubnetMovingPrice", netuid, fixed_i, z16),  # I96F32
        smap("NetworkRegisteredAt", netuid, u64, z8),
        smap("Tempo", netuid, u16, (360).to_bytes(2, "little")),
        smap("NetworkRegistrationAllowed", netuid, boolean, b"\x00"),
        smap("Burn", netuid, tao, z8),
        smap("SubnetLocked", netuid, tao, z8),
        smap("FirstEmissionBlockNumber", netuid, u64, None),  # OptionQuery
        smap("LastEpochBlock", netuid, u64, z8),
        smap("BlocksSinceLastStep", netuid, u64, z8),
        smap("SubnetEmissionEnabled", netuid, boolean, b"\x01"),
        smap("MinerBurned", netuid, fixed_u, z16),  # U96F32
        smap("PendingServerEmission", netuid, alpha, z8),
        smap("PendingValidatorEmission", netuid, alpha, z8),
        smap("PendingRootAlphaDivs", netuid, alpha, z8),
        smap("PendingOwnerCut", netuid, alpha, z8),
        smap("SubnetProtocolAlpha", netuid, alpha, z8),
        smap("SubnetEmaTaoFlow", netuid, flow, None),
        smap("SubnetEmaProtocolFlow", netuid, flow, None),
        smap("SubnetOwner", netuid, account, bytes(32)),
        smap("SubnetOwnerHotkey", netuid, account, bytes(32)),
    ]
    half = (5 * 10**17).to_bytes(8, "little")  # Balancer::default(): quote 0.5
    swap = [smap("SwapBalancer", netuid, balancer, half, _TWOX64_CONCAT)]
    timestamp = [plain("Now", u64, z8)]

    def pallet(name: str, entries: list[tuple[str, bytes]], index: int) -> bytes:
        kept = [e for n, e in entries if n not in drop]
        storage = _option(_text(name) + _vec(kept))
        return _text(name) + storage + _option(None) * 2 + _vec([]) + _option(None) + bytes([index])

    pallets = _vec(
        [
            pallet("Timestamp", timestamp, 2),
            pallet("SubtensorModule", subtensor, 7),
            pallet("Swap", swap, 28),
        ]
    )
    ext = _compact(extrinsic) + bytes([4]) + _vec([])
    return b"meta" + bytes([14]) + r.encode() + pallets + ext + _compact(call)


def _le(n: int, size: int, signed: bool = False) -> bytes:
    return int(n).to_bytes(size, "little", signed=signed)


_ENCODERS: dict[str, Any] = {  # SCALE encoding of the test values, by hand
    "Tempo": lambda v: _le(v, 2),
    "NetworksAdded": lambda v: bytes([bool(v)]),
    "NetworkRegistrationAllowed": lambda v: bytes([bool(v)]),
    "SubnetEmissionEnabled": lambda v: bytes([bool(v)]),
    "SubnetMovingPrice": lambda v: _le(v["bits"], 16, True),
    "MinerBurned": lambda v: _le(v["bits"], 16),
    "SubnetEmaTaoFlow": lambda v: _le(v[0], 8) + _le(v[1]["bits"], 16, True),
    "SubnetEmaProtocolFlow": lambda v: _le(v[0], 8) + _le(v[1]["bits"], 16, True),
    "SwapBalancer": lambda v: _le(v["quote"], 8),
    "SubnetOwner": lambda v: bytes(importlib.import_module("bittensor_core").ss58_decode(v)),
    "SubnetOwnerHotkey": lambda v: bytes(importlib.import_module("bittensor_core").ss58_decode(v)),
}


class FakeSubstrate:
    """In-memory implementation of the read half of the SDK's ``Substrate`` contract."""

    def __init__(
        self,
        chain: dict[str, Any],
        *,
        drop: frozenset[str] = frozenset(),
        fail: dict[str, BaseException] | None = None,
    ) -> None:
        _, codec_module, storage_module = _lean_sdk()
        self._decode = storage_module.decode_storage_value
        self.codec = codec_module.RuntimeCodec(
            _metadata(drop), spec_version=1, transaction_version=1
        )
        self.fail = fail or {}
        self.token_symbols: dict[int, str] = {}
        self.raw: dict[bytes, bytes] = {}
        self.block_hashes: set[str | None] = set()
        self.runtime_calls: list[tuple[str, str, list[Any]]] = []
        put = self._put
        put("Timestamp", "Now", [], int(TIME.timestamp() * 1000))
        for key, value in chain["network"].items():
            name, params = (key[0], [key[1]]) if isinstance(key, tuple) else (key, [])
            put("SubtensorModule", name, params, value)
        put("SubtensorModule", "SubnetTAO", [0], ROOT_STAKE)
        put("SubtensorModule", "NetworksAdded", [0], True)
        put("SubtensorModule", "NetworksAdded", [99], False)  # dissolved: listed, not added
        for n, items in chain["subnets"].items():
            put("SubtensorModule", "NetworksAdded", [n], True)
            for name, value in items.items():
                put("Swap" if name == "SwapBalancer" else "SubtensorModule", name, [n], value)

    def _put(self, pallet: str, name: str, params: list[Any], value: Any) -> None:
        if value is None:
            return  # absent from storage
        try:
            entry = self.codec.storage_entry(pallet, name)
        except ValueError:  # dropped from this runtime's metadata
            return
        encode = _ENCODERS.get(name, lambda v: _le(v, 8))
        self.raw[self.codec.storage_key(entry, params)] = encode(value)

    def _entry(self, module: str, name: str, block_hash: str | None) -> Any:
        self.block_hashes.add(block_hash)
        if f"{module}.{name}" in self.fail:
            raise self.fail[f"{module}.{name}"]
        return self.codec.storage_entry(module, name)  # StorageFunctionNotFound if dropped

    def balance(self, rao: int, netuid: int = 0) -> Any:
        return _bittensor().Balance(int(rao), netuid, None)

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def block_number(self) -> int:
        return HEAD

    async def block_hash(self, block: int | None = None) -> str:
        return f"0x{HEAD if block is None else block:064x}"

    async def query(
        self, module: str, name: str, params: list[Any] | None = None, block_hash: str | None = None
    ) -> Any:
        entry = self._entry(module, name, block_hash)
        raw = self.raw.get(self.codec.storage_key(entry, params or []))
        return self._decode(self.codec, entry, raw)

    async def query_batch(
        self, module: str, name: str, param_sets: list[list[Any]], block_hash: str | None = None
    ) -> list[Any]:
        return [await self.query(module, name, p, block_hash) for p in param_sets]

    async def query_map(
        self, module: str, name: str, params: list[Any] | None = None, block_hash: str | None = None
    ) -> list[tuple[Any, Any]]:
        if (module, name) == ("SubtensorModule", "TokenSymbol"):  # display-only, read at connect
            raise importlib.import_module("bittensor.result").ChainError("no token symbols here")
        entry = self._entry(module, name, block_hash)
        prefix = self.codec.storage_key(entry, params or [])
        changes = [
            ("0x" + k.hex(), "0x" + v.hex())
            for k, v in sorted(self.raw.items())
            if k.startswith(prefix)
        ]
        pairs = self.codec.decode_map_changes(entry, changes, fixed=len(params or []))
        return [(k[0] if isinstance(k, tuple | list) and len(k) == 1 else k, v) for k, v in pairs]

    async def runtime_call(
        self, api: str, method: str, params: list[Any], block_hash: str | None = None
    ) -> Any:
        """The two runtime APIs of the metagraph reads, answered in their decoded shape."""
        self.block_hashes.add(block_hash)
        self.runtime_calls.append((api, method, params))
        if "metagraph" in self.fail:
            raise self.fail["metagraph"]
        (netuid,) = params
        cols = list(zip(*NEURONS, strict=True))
        if (api, method) == ("SubnetInfoRuntimeApi", "get_metagraph"):
            return {
                "netuid": netuid,
                "block": HEAD,
                "tempo": 360,
                "last_step": HEAD - 10,
                "blocks_since_last_step": 10,
                "owner_hotkey": "5Owner",
                "owner_coldkey": "5OwnerCold",
                "network_registered_at": 0,
                "hotkeys": list(cols[1]),
                "coldkeys": list(cols[2]),
                "alpha_stake": list(cols[3]),
                "tao_stake": list(cols[4]),
                "total_stake": list(cols[3]),
                "incentives": [round(v * 65_535) for v in cols[5]],  # PerU16
                "dividends": [round(v * 65_535) for v in cols[6]],
                "validator_permit": list(cols[7]),
                "block_at_registration": list(cols[8]),
                "last_update": list(cols[9]),
                "active": [True] * len(NEURONS),
            }
        if (api, method) == ("NeuronInfoRuntimeApi", "get_neurons"):
            return [
                {
                    "uid": uid,
                    "hotkey": hk,
                    "coldkey": ck,
                    "active": True,
                    "validator_permit": vp,
                    "last_update": lu,
                    "stake": [(ck, alpha)],
                    "weights": [(t, w) for u, t, w in WEIGHTS if u == uid],
                }
                for uid, hk, ck, alpha, _root, _i, _d, vp, _r, lu in NEURONS
            ]
        raise AssertionError(f"unexpected runtime call {api}.{method}")


def _real_client(fake: FakeSubstrate) -> Any:
    bt, _, _ = _lean_sdk()
    return bt.Subtensor("finney", substrate=fake)


def test_real_client_decodes_the_chain_types() -> None:
    """The SDK's codec gives the shapes chain_reader decodes (the quote weight above all)."""
    fake = FakeSubstrate(_chain())
    codec = fake.codec

    def value(pallet: str, name: str, params: list[Any]) -> Any:
        entry = codec.storage_entry(pallet, name)
        return fake._decode(codec, entry, fake.raw.get(codec.storage_key(entry, params)))

    balancer = value("Swap", "SwapBalancer", [1])
    assert balancer == {"quote": 600_000_000_000_000_000}  # Balancer { quote: Perquintill }
    assert convert._quote_weight(balancer) == 0.6
    assert value("Swap", "SwapBalancer", [99]) == {"quote": 5 * 10**17}  # ValueQuery default
    assert convert._quote_weight(value("Swap", "SwapBalancer", [99])) == 0.5
    price = value("SubtensorModule", "SubnetMovingPrice", [1])
    assert price == {"bits": Q32 // 4}
    assert convert._fixed(price, Q32, "p") == 0.25
    flow = value("SubtensorModule", "SubnetEmaTaoFlow", [1])
    assert flow == (HEAD - 1, {"bits": 3 * Q64 // 2})
    assert convert._ema_pair(flow, "f") == 1.5
    assert value("SubtensorModule", "SubnetEmaTaoFlow", [7]) is None  # OptionQuery, absent
    assert value("SubtensorModule", "FirstEmissionBlockNumber", [7]) is None
    assert value("SubtensorModule", "SubnetTAO", [1]) == 20_000 * RAO + 11  # TaoBalance newtype
    assert value("SubtensorModule", "MinerBurned", [1]) == {"bits": Q32 // 2}
    assert value("SubtensorModule", "SubnetOwner", [1]) == ALICE  # AccountId32 -> SS58
    assert value("SubtensorModule", "SubnetOwnerHotkey", [12]) == ALICE
    key = codec.storage_key(
        codec.storage_entry("SubtensorModule", "LastRateLimitedBlock"), ["NetworkLastRegistered"]
    )
    assert key[-1] == 2  # RateLimitKey::NetworkLastRegistered, Identity-hashed


def test_real_client_reads_the_snapshot() -> None:
    fake = FakeSubstrate(_chain())
    sub = _real_client(fake)
    try:
        snap = read_snapshot(sub, timeout=20)
        assert snap == read_snapshot(make_double())  # same as through the test double
        for netuid, fields in EXPECTED.items():
            s = snap.subnet(netuid)
            assert {k: getattr(s, k) for k in fields} == fields, netuid
        assert "bittensor SDK" in snap.source and "(lean API)" in snap.source
        assert fake.block_hashes == {f"0x{HEAD:064x}"}  # every read pinned to one block
        fake.block_hashes.clear()
        assert read_snapshot(sub, block=5_999_999, timeout=20).block == 5_999_999
        assert fake.block_hashes == {f"0x{5_999_999:064x}"}
    finally:
        sub.close()


def test_real_client_older_runtime() -> None:
    optional = frozenset(
        {
            "LastEpochBlock",
            "SubnetEmissionEnabled",
            "MinerBurned",
            "SubnetEmaTaoFlow",
            "SubnetEmaProtocolFlow",
            "SwapBalancer",
            "NetworkRegistrationStartBlock",
            "LastRateLimitedBlock",
        }
    )
    chain = _chain()
    chain["network"]["NetworkLastRegistered"] = 5_980_000  # not in this metadata either
    sub = _real_client(FakeSubstrate(chain, drop=optional))
    try:
        with pytest.raises(ChainAccessError, match=r"does not provide SubtensorModule\.LastRate"):
            read_snapshot(sub, timeout=20)
    finally:
        sub.close()
    sub = _real_client(FakeSubstrate(_chain(), drop=optional - {"LastRateLimitedBlock"}))
    try:
        snap = read_snapshot(sub, timeout=20)
    finally:
        sub.close()
    s1, s7 = snap.subnet(1), snap.subnet(7)
    assert s1.last_epoch_block == HEAD - 200 and s7.emission_enabled is True
    assert s1.quote_weight == 0.5 and s1.miner_burned == 0.0 and s1.flow_ema == 0.0
    assert s7.legacy is True
    for name in optional - {"LastRateLimitedBlock"}:
        assert name in snap.source, name
    sub = _real_client(FakeSubstrate(_chain(), drop=frozenset({"SubnetLocked"})))
    try:
        with pytest.raises(
            ChainAccessError, match=r"does not provide SubtensorModule\.SubnetLocked"
        ):
            read_snapshot(sub, timeout=20)
    finally:
        sub.close()


def test_real_client_metagraphs() -> None:
    fake = FakeSubstrate(_chain())
    sub = _real_client(fake)
    try:
        result = read_chain(sub, metagraphs=True, timeout=20)
    finally:
        sub.close()
    double = read_chain(make_double(), metagraphs=True)
    assert result.neurons is not None and double.neurons is not None
    assert result.neurons.to_pylist() == double.neurons.to_pylist()
    assert result.weights is not None and double.weights is not None
    assert sorted(map(tuple, (r.values() for r in result.weights.to_pylist()))) == sorted(
        map(tuple, (r.values() for r in double.weights.to_pylist()))
    )
    assert {(a, m) for a, m, _ in fake.runtime_calls} == {
        ("SubnetInfoRuntimeApi", "get_metagraph"),
        ("NeuronInfoRuntimeApi", "get_neurons"),
    }


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        (None, None),
        ("SubtensorModule.Burn", "cannot read SubtensorModule.Burn from finney: "),
        ("metagraph", "cannot read the metagraph of subnet 1 from finney: "),
    ],
)
def test_cli_with_the_real_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fail: str | None, message: str | None
) -> None:
    """``dtaosim snapshot`` end to end through ``connect()`` and the SDK's own client."""
    bt, _, _ = _lean_sdk()
    # the SDK's own error for a lost connection (bittensor 11.1+), else what the socket raises
    lost = getattr(importlib.import_module("bittensor.result"), "RpcConnectionError", None)
    error = (lost or ConnectionResetError)("connection lost")
    fake = FakeSubstrate(_chain(), fail={fail: error} if fail else None)
    real = bt.Subtensor
    monkeypatch.setattr(bt, "Subtensor", lambda network: real(network, substrate=fake))
    out = tmp_path / "live.json"
    result = runner.invoke(app, ["snapshot", "--metagraphs", "--out", str(out)])
    if message is None:
        assert result.exit_code == 0, result.output
        assert load_snapshot(out) == read_snapshot(make_double())
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "live.json",
            "live.metagraphs.parquet",
            "live.weights.parquet",
        ]
    else:
        assert result.exit_code == 2, result.output
        line = _one_error_line(result)
        assert message in line and "connection lost" in line, line
        assert list(tmp_path.iterdir()) == []
