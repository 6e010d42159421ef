"""Snapshots: the network at block N, as a versioned JSON file.

A :class:`Snapshot` (``schema_version`` 1) holds the network totals and, per subnet, the pool
reserves, alpha outstanding and the parameters the simulator needs to continue from that block.
It is the starting point of every run: :func:`snapshot_to_state` turns it into a
:class:`~dtaosim.state.ChainState` with every run identical, :func:`state_to_snapshot` goes back.

Holders of alpha outstanding
----------------------------
The chain knows every (hotkey, coldkey) stake; a snapshot only knows totals. When a snapshot is
loaded, ``alpha_out_rao`` is split into the holders of :data:`dtaosim.state.ALPHA_OUT_PARTS` as
follows: the four pending buckets, ``protocol_alpha_rao``, ``owner_cut_alpha_rao`` (alpha staked to
the owner, ``SI.STAKE_OWNER``) and ``burned_alpha_rao`` are taken as given; **all the rest** goes to
``SI.STAKE_STAKERS``, the aggregate holder for validators and their nominators (miners' and root's
kept alpha included). :func:`state_to_snapshot` folds ``STAKE_MINERS``, ``STAKE_ROOT_KEPT``,
``ROOT_CLAIMABLE`` and ``UNDISTRIBUTED_ALPHA`` back into that remainder, and drops the cumulative
counters (``ALPHA_MINTED``, ``CUM_*`` ...): a snapshot is a starting point, not a run record.

Network TAO not in a pool, on root or pending (wallets, exchanges, the burn account) is
``total_issuance - pools - root stake - pending root TAO``; it becomes ``GI.FREE_TAO`` so that the
TAO identity of :mod:`dtaosim.state` holds from the first block.

File format
-----------
UTF-8 JSON; the top-level object has the network fields and a ``subnets`` list, one object per
subnet (any order; netuids unique, 1..65535). Amounts are integer RAO (fields ending in ``_rao``),
prices are TAO per alpha. Unknown fields are errors, so a typo cannot pass silently.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dtaosim.chain.presets import Mechanism
from dtaosim.errors import DataError
from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.units import BLOCK_SECONDS

__all__ = [
    "ANCHOR_BLOCK",
    "ANCHOR_TIME",
    "SCHEMA_VERSION",
    "Snapshot",
    "SubnetSnapshot",
    "block_to_timestamp",
    "default_snapshot",
    "load_snapshot",
    "parse_snapshot",
    "save_snapshot",
    "snapshot_json",
    "snapshot_to_state",
    "state_to_snapshot",
    "subnet_slots",
]

SCHEMA_VERSION: int = 1
"""Snapshot format version written by this module (the only one it reads)."""

ANCHOR_BLOCK: int = 4_964_237
"""Block at :data:`ANCHOR_TIME` (first sample of the real-world price data)."""
ANCHOR_TIME: datetime = datetime(2025, 2, 20, tzinfo=UTC)
"""2025-02-20 00:00 UTC."""

_I64_MAX = 2**63 - 1
Rao = Annotated[int, Field(ge=0, le=_I64_MAX)]
"""Non-negative RAO amount that fits ``int64``."""
Block = Annotated[int, Field(ge=0, le=_I64_MAX)]

_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _no_strings_for_numbers(cls: type[BaseModel], v: Any, info: ValidationInfo) -> Any:
    """Reject ``"123"`` for a number or ``"true"`` for a flag (pydantic's lax mode would
    convert them silently: a snapshot written by hand must say what it means)."""
    if isinstance(v, str) and info.field_name is not None:
        annotation = str(cls.model_fields[info.field_name].annotation)
        if "str" not in annotation:
            kind = "true or false" if "bool" in annotation else "a number"
            raise ValueError(f"must be {kind}, not the string {v!r}")
    return v


class SubnetSnapshot(BaseModel):
    """One subnet at the snapshot block.

    Every ``*_rao`` field is a non-negative integer amount in RAO (TAO or this subnet's alpha).
    ``alpha_out_rao`` must be at least the sum of its named parts (pending buckets, protocol,
    owner and burned alpha); the remainder is staked alpha held by validators and nominators.
    """

    model_config = _MODEL_CONFIG

    netuid: int = Field(ge=1, le=65_535, description="subnet id (root, 0, is not a subnet)")
    tao_reserve_rao: Rao = Field(description="SubnetTAO: pool TAO reserve")
    alpha_in_rao: Rao = Field(description="SubnetAlphaIn: pool alpha reserve")
    alpha_out_rao: Rao = Field(description="SubnetAlphaOut: alpha outside the pool")
    price_ema: float = Field(ge=0, description="SubnetMovingPrice (TAO/alpha)")
    quote_weight: float = Field(0.5, gt=0, lt=1, description="balancer TAO weight (0.5: x*y=k)")
    registered_at_block: Block = Field(description="NetworkRegisteredAt")
    first_emission_block: int = Field(
        ge=-1, le=_I64_MAX, description="FirstEmissionBlockNumber (-1: start_call not done)"
    )
    tempo: int = Field(ge=0, le=65_535, description="Tempo: blocks between epochs (>= 1)")
    last_epoch_block: Block = Field(description="LastEpochBlock (HEAD epoch schedule)")
    emission_enabled: bool = Field(description="SubnetEmissionEnabled")
    registration_allowed: bool = Field(description="NetworkRegistrationAllowed")
    miner_burn_fraction: float = Field(
        ge=0, le=1, description="share of miner incentive the owner burns (behaviour)"
    )
    miner_burned: float | None = Field(
        None, ge=0, le=1, description="MinerBurned at the last epoch (None: miner_burn_fraction)"
    )
    neuron_burn_rao: Rao = Field(description="Burn: UID registration price")
    owner_cut_alpha_rao: Rao = Field(0, description="alpha staked to the owner (STAKE_OWNER)")
    pending_server_rao: Rao = Field(0, description="PendingServerEmission")
    pending_validator_rao: Rao = Field(0, description="PendingValidatorEmission")
    pending_root_rao: Rao = Field(0, description="PendingRootAlphaDivs")
    pending_owner_rao: Rao = Field(0, description="PendingOwnerCut")
    pending_root_tao_rao: Rao = Field(0, description="launch era: root TAO paid at the epoch")
    protocol_alpha_rao: Rao = Field(0, description="SubnetProtocolAlpha")
    burned_alpha_rao: Rao = Field(0, description="alpha burned, still counted in alpha_out")
    locked_tao_rao: Rao = Field(description="SubnetLocked: TAO locked at registration")
    legacy: bool = Field(description="registered before NetworkRegistrationStartBlock")
    flow_ema: float = Field(0.0, description="SubnetEmaTaoFlow (RAO/block; flow share rules)")
    protocol_flow_ema: float = Field(0.0, description="protocol flow EMA (RAO/block)")
    owner_coldkey: str = Field(
        "", max_length=64, description="SubnetOwner: owner coldkey, SS58 ('' unknown)"
    )
    owner_hotkey: str = Field(
        "", max_length=64, description="SubnetOwnerHotkey: owner hotkey, SS58 ('' unknown)"
    )

    _check_types = field_validator("*", mode="before")(classmethod(_no_strings_for_numbers))

    def alpha_out_named_parts(self) -> int:
        """Sum of the named parts of ``alpha_out_rao`` (everything but the stakers' remainder)."""
        return (
            self.pending_server_rao
            + self.pending_validator_rao
            + self.pending_root_rao
            + self.pending_owner_rao
            + self.protocol_alpha_rao
            + self.owner_cut_alpha_rao
            + self.burned_alpha_rao
        )

    @model_validator(mode="after")
    def _check_parts(self) -> SubnetSnapshot:
        if self.tao_reserve_rao == 0 or self.alpha_in_rao == 0:
            name = "tao_reserve_rao" if self.tao_reserve_rao == 0 else "alpha_in_rao"
            raise ValueError(
                f"{name} is 0: a subnet's pool needs both TAO and alpha reserves (its price "
                "would be 0 or undefined, and it would still get emission)"
            )
        if self.tempo == 0:
            raise ValueError(
                "tempo is 0: the subnet would never run an epoch (its emission would pile up "
                "undistributed); give its tempo in blocks (the chain's default is 360)"
            )
        parts = self.alpha_out_named_parts()
        if self.alpha_out_rao < parts:
            raise ValueError(
                f"alpha_out_rao ({self.alpha_out_rao}) is smaller than the sum of its pending, "
                f"protocol, owner and burned parts ({parts})"
            )
        if self.alpha_in_rao + self.alpha_out_rao > _I64_MAX:
            raise ValueError("alpha_in_rao + alpha_out_rao does not fit int64")
        if 0 <= self.first_emission_block < self.registered_at_block:
            raise ValueError(
                f"first_emission_block ({self.first_emission_block}) is before "
                f"registered_at_block ({self.registered_at_block})"
            )
        return self


class Snapshot(BaseModel):
    """The network at one block (format ``schema_version`` 1).

    Network amounts are integer RAO; ``timestamp`` is ISO 8601 (UTC). ``source`` says where the
    figures come from and how they were derived; ``attribution`` carries the data licence notice.
    """

    model_config = _MODEL_CONFIG

    schema_version: Literal[1] = 1
    block: Block = Field(description="block the state is after")
    timestamp: str = Field(description="ISO 8601 time of the block, e.g. 2026-09-30T00:00:00Z")
    source: str = Field(description="provenance and modelling choices")
    attribution: str = Field("", description="licence / attribution of the data used")
    total_issuance_rao: Rao = Field(description="TotalIssuance")
    root_stake_rao: Rao = Field(description="SubnetTAO[root]: TAO staked on root")
    last_lock_cost_rao: Rao = Field(description="NetworkLastLockCost")
    last_lock_block: Block = Field(description="block of the last network registration (0: never)")
    block_emission_rao: Rao = Field(description="TAO block emission of the latest block")
    subnets: list[SubnetSnapshot] = Field(description="the added subnets (root excluded)")

    _check_types = field_validator("*", mode="before")(classmethod(_no_strings_for_numbers))

    @field_validator("timestamp")
    @classmethod
    def _check_timestamp(cls, v: str) -> str:
        try:
            datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {v!r}") from None
        return v

    @model_validator(mode="after")
    def _check_network(self) -> Snapshot:
        if not self.subnets:
            raise ValueError("subnets: the snapshot has no subnets (a run needs at least one)")
        seen: dict[int, int] = {}
        for k, s in enumerate(self.subnets):
            if s.netuid in seen:
                raise ValueError(
                    f"subnets[{k}].netuid: duplicate netuid {s.netuid} "
                    f"(also subnets[{seen[s.netuid]}])"
                )
            seen[s.netuid] = k
            if s.registered_at_block > self.block:
                raise ValueError(
                    f"subnets[{k}].registered_at_block ({s.registered_at_block}) is after the "
                    f"snapshot block ({self.block})"
                )
        held = (
            sum(s.tao_reserve_rao + s.pending_root_tao_rao for s in self.subnets)
            + self.root_stake_rao
        )
        if self.total_issuance_rao < held:
            raise ValueError(
                f"total_issuance_rao ({self.total_issuance_rao}) is smaller than pools + root "
                f"stake + pending root TAO ({held})"
            )
        return self

    @property
    def free_tao_rao(self) -> int:
        """TAO not in a pool, on root or pending: ``total - pools - root - pending root TAO``."""
        return (
            self.total_issuance_rao
            - self.root_stake_rao
            - sum(s.tao_reserve_rao + s.pending_root_tao_rao for s in self.subnets)
        )

    def subnet(self, netuid: int) -> SubnetSnapshot:
        """The entry of ``netuid``; raises ``KeyError`` if absent."""
        for s in self.subnets:
            if s.netuid == netuid:
                return s
        raise KeyError(netuid)


# ------------------------------------------------------------------------------- load / save
def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _netuid_of(data: Any, k: int) -> int | None:
    try:
        netuid = data["subnets"][k]["netuid"]
    except (TypeError, KeyError, IndexError):
        return None
    return netuid if type(netuid) is int else None


def _validation_message(err: ValidationError, data: Any = None) -> str:
    errors = err.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    where = _loc(loc)
    if len(loc) >= 2 and loc[0] == "subnets" and isinstance(loc[1], int) and loc[2:] != (
            "netuid",):
        netuid = _netuid_of(data, loc[1])
        if netuid is not None:  # name the subnet, not only its position in the list
            rest = loc[2:]
            tail = _loc(rest)
            if rest and not isinstance(rest[0], int):
                tail = "." + tail
            where = f"subnets[{loc[1]}] (netuid {netuid})" + tail
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "missing field"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    text = f"{where}: {msg}" if where else msg
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return text


def parse_snapshot(data: Any, origin: str = "snapshot") -> Snapshot:
    """Validate already-parsed JSON ``data`` as a :class:`Snapshot`.

    Parameters
    ----------
    data
        The decoded JSON document.
    origin
        Name used in error messages (usually the file path).

    Returns
    -------
    Snapshot

    Raises
    ------
    DataError
        If ``data`` is not a schema-1 snapshot; the message names ``origin`` and the field.
    """
    if not isinstance(data, dict):
        raise DataError(f"{origin}: a snapshot must be a JSON object, not {type(data).__name__}")
    if "schema_version" not in data:
        raise DataError(f"{origin}: schema_version: missing field")
    version = data["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        raise DataError(
            f"{origin}: schema_version: unknown schema_version {version!r} "
            f"(this dtaosim reads {SCHEMA_VERSION})"
        )
    try:
        return Snapshot.model_validate(data)
    except ValidationError as e:
        raise DataError(f"{origin}: {_validation_message(e, data)}") from None


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read and validate a snapshot JSON file.

    Parameters
    ----------
    path
        File to read (UTF-8 JSON, ``schema_version`` 1).

    Returns
    -------
    Snapshot

    Raises
    ------
    DataError
        One message naming the file and, where it applies, the field: unreadable file, invalid
        JSON, unknown ``schema_version``, missing or negative fields, duplicate or out-of-range
        netuids, ``alpha_out`` smaller than its named parts, total issuance smaller than pools +
        root stake.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"snapshot file not found: {p}") from None
    except IsADirectoryError:
        raise DataError(f"snapshot {p} is a directory, not a snapshot file (.json)") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise DataError(f"cannot read snapshot {p}: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{p}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    return parse_snapshot(data, str(p))


def default_snapshot() -> Snapshot:
    """The embedded default network (``dtaosim/data/default_network.json``).

    Built by ``scripts/build_default_network.py`` from public real-world data (see
    ``dtaosim/data/README.md`` for the modelling choices and the MIT attribution).

    Returns
    -------
    Snapshot
    """
    ref = resources.files("dtaosim").joinpath("data").joinpath("default_network.json")
    with resources.as_file(ref) as path:
        return load_snapshot(path)


def snapshot_json(snap: Snapshot) -> str:
    """Serialise ``snap`` as stable, diff-friendly JSON (one line per subnet, trailing newline).

    Parameters
    ----------
    snap
        The snapshot.

    Returns
    -------
    str
        The document; :func:`load_snapshot` reads it back to an equal :class:`Snapshot`.
    """
    doc = snap.model_dump(mode="json")
    subnets = doc.pop("subnets")
    lines = ["{"]
    for key, value in doc.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append('  "subnets": [')
    rows = [f"    {json.dumps(s, ensure_ascii=False)}" for s in subnets]
    if rows:
        lines.append(",\n".join(rows))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_snapshot(snap: Snapshot, path: str | os.PathLike[str]) -> None:
    """Write ``snap`` to ``path`` atomically.

    The JSON (:func:`snapshot_json`) goes to a temporary file in the same directory, which then
    replaces ``path`` (``os.replace``), so readers never see a half-written file.

    Parameters
    ----------
    snap
        The snapshot to write.
    path
        Destination file; its directory must exist.

    Raises
    ------
    DataError
        If the file cannot be written.
    """
    p = Path(path)
    text = snapshot_json(snap)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(p))  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, p)
        tmp = None
    except OSError as e:
        raise DataError(f"cannot write snapshot {p}: {e.strerror or e}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# ------------------------------------------------------------------------ snapshot <-> state
def _burn_factor_q32_local(half_life: int) -> int:
    """Largest Q32 factor ``f`` with ``f**half_life <= 1/2`` (floor multiplications, spec 9.1)."""
    one = 1 << 32
    half = one >> 1

    def power(f: int, n: int) -> int:
        result, base = one, f
        while n:
            if n & 1:
                result = (result * base) >> 32
            base = (base * base) >> 32
            n >>= 1
        return result

    lo, hi = 0, one - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if power(mid, half_life) <= half:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _burn_factor_q32(half_life: int) -> int:
    fn: Callable[[int], int] = _burn_factor_q32_local
    try:  # the registration module owns this rule when it exists
        from dtaosim.chain.registration import burn_factor_q32

        fn = burn_factor_q32
    except ImportError:
        pass
    return int(fn(int(half_life)))


def block_to_timestamp(block: int) -> str:
    """ISO 8601 UTC time of ``block`` on the 12-second grid anchored at :data:`ANCHOR_BLOCK`."""
    t = ANCHOR_TIME + timedelta(seconds=BLOCK_SECONDS * (block - ANCHOR_BLOCK))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _advance_timestamp(timestamp: str, blocks: int) -> str:
    t = datetime.fromisoformat(timestamp)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC) + timedelta(seconds=BLOCK_SECONDS * blocks)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


_SUBNET_INT_FIELDS: tuple[tuple[str, SI], ...] = (
    ("tao_reserve_rao", SI.TAO_RESERVE),
    ("alpha_in_rao", SI.ALPHA_IN),
    ("alpha_out_rao", SI.ALPHA_OUT),
    ("pending_server_rao", SI.PENDING_SERVER),
    ("pending_validator_rao", SI.PENDING_VALIDATOR),
    ("pending_root_rao", SI.PENDING_ROOT),
    ("pending_owner_rao", SI.PENDING_OWNER),
    ("pending_root_tao_rao", SI.PENDING_ROOT_TAO),
    ("protocol_alpha_rao", SI.PROTOCOL_ALPHA),
    ("owner_cut_alpha_rao", SI.STAKE_OWNER),
    ("burned_alpha_rao", SI.BURNED_ALPHA),
    ("registered_at_block", SI.REGISTERED_AT),
    ("first_emission_block", SI.FIRST_EMISSION_BLOCK),
    ("tempo", SI.TEMPO),
    ("last_epoch_block", SI.LAST_EPOCH_BLOCK),
    ("emission_enabled", SI.EMISSION_ENABLED),
    ("registration_allowed", SI.REGISTRATION_ALLOWED),
    ("neuron_burn_rao", SI.NEURON_BURN),
    ("locked_tao_rao", SI.LOCKED_TAO),
    ("legacy", SI.LEGACY),
)
_SUBNET_FLOAT_FIELDS: tuple[tuple[str, SF], ...] = (
    ("price_ema", SF.PRICE_EMA),
    ("quote_weight", SF.QUOTE_WEIGHT),
    ("miner_burn_fraction", SF.MINER_BURN_FRACTION),
    ("flow_ema", SF.FLOW_EMA),
    ("protocol_flow_ema", SF.PROTOCOL_FLOW_EMA),
)
_BOOL_FIELDS = frozenset({"emission_enabled", "registration_allowed", "legacy"})


def subnet_slots(snap: Snapshot) -> int:
    """Subnet slots a state built from ``snap`` has by default: ``max(128, largest netuid)``."""
    return max(128, max((s.netuid for s in snap.subnets), default=0))


def snapshot_to_state(
    snap: Snapshot,
    runs: int,
    subnet_slots: int | None = None,
    mech: Mechanism | None = None,
) -> ChainState:
    """Build a :class:`ChainState` with ``runs`` identical copies of ``snap``.

    Parameters
    ----------
    snap
        The snapshot.
    runs
        Number of runs (leading axis), ``>= 1``.
    subnet_slots
        Number of subnet slots; default ``max(128, largest netuid)``. Slot ``k`` is netuid
        ``k + 1``; slots of netuids not in the snapshot are free (``EXISTS = 0``).
    mech
        Mechanism whose ``burn_half_life`` sets ``BURN_FACTOR_Q32``; default :class:`Mechanism`
        (HEAD defaults).

    Returns
    -------
    ChainState
        At ``snap.block``; ``FREE_TAO`` closes the TAO identity, ``ISSUANCE_START`` is the total
        issuance and ``ALPHA_ISSUANCE_START`` is ``alpha_in + alpha_out`` (cumulative counters 0),
        so the identities of :mod:`dtaosim.state` hold exactly. Alpha outstanding is split as
        described in the module docstring. ``MINER_BURNED`` is ``miner_burned`` or, if absent,
        ``miner_burn_fraction``. ``meta["snapshot"]`` keeps block, timestamp, source,
        attribution and the owner keys for :func:`state_to_snapshot`.

    Raises
    ------
    DataError
        If ``subnet_slots`` is smaller than the largest netuid.
    ValueError
        If ``runs < 1``.
    """
    if runs < 1:
        raise ValueError("runs must be >= 1")
    max_netuid = max((s.netuid for s in snap.subnets), default=0)
    slots = max(128, max_netuid) if subnet_slots is None else int(subnet_slots)  # subnet_slots()
    if slots < max(1, max_netuid):
        raise DataError(
            f"snapshot has netuid {max_netuid} but only {slots} subnet slots were requested"
        )
    mech = mech if mech is not None else Mechanism()
    state = ChainState.empty(runs, slots, block=snap.block)
    ints = np.zeros((len(SI),), dtype=np.int64)
    floats = np.zeros((len(SF),), dtype=np.float64)
    factor = _burn_factor_q32(mech.burn_half_life)
    for s in snap.subnets:
        ints[:] = 0
        floats[:] = 0.0
        for name, f in _SUBNET_INT_FIELDS:
            ints[f] = int(getattr(s, name))
        for name, ff in _SUBNET_FLOAT_FIELDS:
            floats[ff] = float(getattr(s, name))
        floats[SF.MINER_BURNED] = (
            s.miner_burn_fraction if s.miner_burned is None else s.miner_burned
        )
        ints[SI.EXISTS] = 1
        ints[SI.STAKE_STAKERS] = s.alpha_out_rao - s.alpha_out_named_parts()
        ints[SI.BURN_FACTOR_Q32] = factor
        ints[SI.ALPHA_ISSUANCE_START] = s.alpha_in_rao + s.alpha_out_rao
        state.ints[:, s.netuid - 1, :] = ints
        state.floats[:, s.netuid - 1, :] = floats
    g = state.gints
    g[:, GI.TOTAL_ISSUANCE] = snap.total_issuance_rao
    g[:, GI.ISSUANCE_START] = snap.total_issuance_rao
    g[:, GI.ROOT_STAKE] = snap.root_stake_rao
    g[:, GI.FREE_TAO] = snap.free_tao_rao
    g[:, GI.LAST_LOCK_COST] = snap.last_lock_cost_rao
    g[:, GI.LAST_LOCK_BLOCK] = snap.last_lock_block
    g[:, GI.BLOCK_EMISSION] = snap.block_emission_rao
    state.meta["snapshot"] = {
        "block": snap.block,
        "timestamp": snap.timestamp,
        "source": snap.source,
        "attribution": snap.attribution,
        # owner keys are not state: kept per (netuid, registration block) for the way back
        "owners": {
            s.netuid: (s.registered_at_block, s.owner_coldkey, s.owner_hotkey)
            for s in snap.subnets
            if s.owner_coldkey or s.owner_hotkey
        },
    }
    return state


def state_to_snapshot(
    state: ChainState,
    run: int = 0,
    *,
    timestamp: str | None = None,
    source: str | None = None,
    attribution: str | None = None,
) -> Snapshot:
    """Snapshot of run ``run`` of ``state`` (the inverse of :func:`snapshot_to_state`).

    Parameters
    ----------
    state
        The state; only run ``run`` is read.
    run
        Index on the run axis.
    timestamp, source, attribution
        Override the provenance fields. By default they come from ``state.meta["snapshot"]``
        (set by :func:`snapshot_to_state`): the timestamp is advanced 12 s per block since the
        snapshot block and, if the state has moved on, ``source`` says so. Without that meta the
        timestamp follows the block anchor (:func:`block_to_timestamp`).

    Returns
    -------
    Snapshot
        Subnets in netuid order. Alpha holders other than the pending buckets, protocol, owner
        and burned alpha are folded into the stakers' remainder; cumulative counters are
        dropped. ``miner_burned`` is ``None`` when it equals ``miner_burn_fraction``. Owner keys
        come from ``state.meta["snapshot"]["owners"]`` for subnets still registered at the same
        block (a netuid registered again during the run has an unknown owner, ``""``).
        ``state_to_snapshot(snapshot_to_state(s)) == s`` for a snapshot ``s`` whose subnets are
        listed in netuid order.
    """
    if not 0 <= run < state.runs:
        raise ValueError(f"run {run} out of range (state has {state.runs} runs)")
    meta = state.meta.get("snapshot")
    meta = meta if isinstance(meta, dict) else {}
    moved = int(state.block) - int(meta.get("block", state.block))
    if timestamp is None:
        if "timestamp" in meta:
            ts = str(meta["timestamp"])
            timestamp = ts if moved == 0 else _advance_timestamp(ts, moved)
        else:
            timestamp = block_to_timestamp(int(state.block))
    if source is None:
        base = str(meta.get("source", ""))
        if moved == 0 and base:
            source = base
        else:
            source = f"dtaosim state at block {int(state.block)} (run {run})"
            if base:
                source += f", simulated from: {base}"
    if attribution is None:
        attribution = str(meta.get("attribution", ""))
    ri, rf, rg = state.ints[run], state.floats[run], state.gints[run]
    owners = meta.get("owners")
    owners = owners if isinstance(owners, dict) else {}
    subnets: list[SubnetSnapshot] = []
    for k in np.flatnonzero(ri[:, SI.EXISTS] != 0):
        d: dict[str, Any] = {"netuid": int(k) + 1}
        registered, coldkey, hotkey = owners.get(int(k) + 1, (None, "", ""))
        if registered == int(ri[k, SI.REGISTERED_AT]):  # not a later registration of the netuid
            d["owner_coldkey"], d["owner_hotkey"] = coldkey, hotkey
        for name, f in _SUBNET_INT_FIELDS:
            v = int(ri[k, f])
            d[name] = bool(v) if name in _BOOL_FIELDS else v
        for name, ff in _SUBNET_FLOAT_FIELDS:
            d[name] = float(rf[k, ff])
        burned = float(rf[k, SF.MINER_BURNED])
        d["miner_burned"] = None if burned == d["miner_burn_fraction"] else burned
        subnets.append(SubnetSnapshot(**d))
    return Snapshot(
        block=int(state.block),
        timestamp=timestamp,
        source=source,
        attribution=attribution,
        total_issuance_rao=int(rg[GI.TOTAL_ISSUANCE]),
        root_stake_rao=int(rg[GI.ROOT_STAKE]),
        last_lock_cost_rao=int(rg[GI.LAST_LOCK_COST]),
        last_lock_block=int(rg[GI.LAST_LOCK_BLOCK]),
        block_emission_rao=int(rg[GI.BLOCK_EMISSION]),
        subnets=subnets,
    )
