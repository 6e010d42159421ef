"""Run outputs: tidy tables of the state and a streaming run-directory writer.

A run directory holds::

    config.toml          the resolved configuration (every mechanism constant)
    manifest.json        version, seed, mechanism, timings, files written
    timeseries.parquet   one row per (run, record, existing subnet)
    network.parquet      one row per (run, record); with agents, their columns
                         (:data:`AGENT_NETWORK_COLUMNS`) are appended
    uids.parquet         one row per (run, record, filled UID), when the state has neurons
    teams.parquet        one row per (run, miner team), with agents (:data:`TEAMS_SCHEMA`)

Amounts in the tables are TAO or alpha (``float64``; RAO / 10**9); ``day`` counts days since
the start block (``state.meta["start_block"]``, else block 0). Query them with DuckDB::

    duckdb -c "select day, median(price) from 'runs/x/timeseries.parquet' group by day"
"""

from __future__ import annotations

import errno
import json
import os
import platform
import shutil
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from dtaosim.errors import ConfigError, DataError
from dtaosim.io.parquet_stream import TableStream
from dtaosim.io.rundir import (
    MANIFEST_FILE,
    NETWORK_FILE,
    RUN_FORMAT,
    SUBNETS_FILE,
    TEAMS_FILE,
    UIDS_FILE,
    code_version,
    is_protected,
    make_dir,
    overwrite_refusal,
    reserve_dir,
    temp_dir,
)
from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.units import BLOCKS_PER_DAY, RAO_PER_TAO

__all__ = [
    "AGENT_NETWORK_COLUMNS",
    "NETWORK_FILE",
    "NETWORK_SCHEMA",
    "SUBNETS_FILE",
    "SUBNET_SCHEMA",
    "TEAMS_FILE",
    "TEAMS_SCHEMA",
    "UIDS_FILE",
    "UID_SCHEMA",
    "RunWriter",
    "dtaosim_version",
    "state_frames",
    "uid_frame",
]


_RAO = float(RAO_PER_TAO)

# Per-subnet RAO fields written in TAO/alpha units: column name -> field.
_SUBNET_AMOUNTS: tuple[tuple[str, SI], ...] = (
    ("tao_reserve", SI.TAO_RESERVE),
    ("alpha_in", SI.ALPHA_IN),
    ("alpha_out", SI.ALPHA_OUT),
    ("cum_tao_in", SI.CUM_TAO_IN),
    ("cum_alpha_in", SI.CUM_ALPHA_IN),
    ("cum_alpha_out", SI.CUM_ALPHA_OUT),
    ("cum_excess_tao", SI.CUM_EXCESS_TAO),
    ("cum_chain_bought", SI.CUM_CHAIN_BOUGHT),
    ("cum_root_sold_tao", SI.CUM_ROOT_SOLD_TAO),
    ("cum_miner_burned", SI.CUM_MINER_BURNED),
    ("cum_owner_cut", SI.CUM_OWNER_CUT),
    ("cum_miner_paid", SI.CUM_MINER_PAID),
    ("cum_staker_paid", SI.CUM_STAKER_PAID),
    ("cum_root_divs", SI.CUM_ROOT_DIVS),
    ("pending_server", SI.PENDING_SERVER),
    ("pending_validator", SI.PENDING_VALIDATOR),
    ("pending_root", SI.PENDING_ROOT),
    ("pending_owner", SI.PENDING_OWNER),
    ("pending_root_tao", SI.PENDING_ROOT_TAO),
    ("stake_owner", SI.STAKE_OWNER),
    ("stake_miners", SI.STAKE_MINERS),
    ("stake_stakers", SI.STAKE_STAKERS),
    ("stake_root_kept", SI.STAKE_ROOT_KEPT),
    ("root_claimable", SI.ROOT_CLAIMABLE),
    ("protocol_alpha", SI.PROTOCOL_ALPHA),
    ("burned_alpha", SI.BURNED_ALPHA),
    ("undistributed_alpha", SI.UNDISTRIBUTED_ALPHA),
    ("locked_tao", SI.LOCKED_TAO),
    ("neuron_burn", SI.NEURON_BURN),
)
# Per-subnet float fields: column name -> (field, scale); RAO-valued ones divided by 1e9.
_SUBNET_FLOATS: tuple[tuple[str, SF, float], ...] = (
    ("price_ema", SF.PRICE_EMA, 1.0),
    ("share", SF.SHARE, 1.0),
    ("tao_emission", SF.TAO_EMISSION, _RAO),  # TAO per block (latest block)
    ("cum_tao_emission", SF.CUM_TAO_EMISSION, _RAO),
    ("flow_ema", SF.FLOW_EMA, _RAO),  # TAO per block
    ("protocol_flow_ema", SF.PROTOCOL_FLOW_EMA, _RAO),  # TAO per block
    ("quote_weight", SF.QUOTE_WEIGHT, 1.0),
    ("miner_burn_fraction", SF.MINER_BURN_FRACTION, 1.0),
    ("miner_burned", SF.MINER_BURNED, 1.0),
)
_SUBNET_INTS: tuple[tuple[str, SI], ...] = (
    ("registered_at", SI.REGISTERED_AT),
    ("first_emission_block", SI.FIRST_EMISSION_BLOCK),
    ("epoch_count", SI.EPOCH_COUNT),
    ("tempo", SI.TEMPO),
)
_SUBNET_FLAGS: tuple[tuple[str, SI], ...] = (("emission_enabled", SI.EMISSION_ENABLED),)

_NETWORK_AMOUNTS: tuple[tuple[str, GI], ...] = (
    ("total_issuance", GI.TOTAL_ISSUANCE),
    ("root_stake", GI.ROOT_STAKE),
    ("free_tao", GI.FREE_TAO),
    ("minted_tao", GI.MINTED_TAO),
    ("recycled_tao", GI.RECYCLED_TAO),
    ("burned_tao", GI.BURNED_TAO),
    ("author_fees_tao", GI.AUTHOR_FEES_TAO),
    ("block_emission", GI.BLOCK_EMISSION),
    ("dissolution_paid_tao", GI.DISSOLUTION_PAID_TAO),
    ("locked_tao_total", GI.LOCKED_TAO_TOTAL),
    ("last_lock_cost", GI.LAST_LOCK_COST),
)
_NETWORK_COUNTS: tuple[tuple[str, GI], ...] = (
    ("subnets_registered", GI.SUBNETS_REGISTERED),
    ("subnets_dissolved", GI.SUBNETS_DISSOLVED),
)

SUBNET_SCHEMA: pa.Schema = pa.schema(
    [
        ("run", pa.int32()),
        ("block", pa.int64()),
        ("netuid", pa.int32()),
        ("day", pa.float64()),
        ("tao_reserve", pa.float64()),
        ("alpha_in", pa.float64()),
        ("alpha_out", pa.float64()),
        ("alpha_issuance", pa.float64()),
        ("price", pa.float64()),
        *[(n, pa.float64()) for n, _, _ in _SUBNET_FLOATS],
        *[(n, pa.float64()) for n, _ in _SUBNET_AMOUNTS[3:]],
        *[(n, pa.bool_()) for n, _ in _SUBNET_FLAGS],
        *[(n, pa.int64()) for n, _ in _SUBNET_INTS],
    ]
)
"""Columns of ``timeseries.parquet`` (amounts in TAO/alpha, prices in TAO per alpha)."""

NETWORK_SCHEMA: pa.Schema = pa.schema(
    [
        ("run", pa.int32()),
        ("block", pa.int64()),
        ("day", pa.float64()),
        *[(n, pa.float64()) for n, _ in _NETWORK_AMOUNTS],
        ("pools_tao", pa.float64()),
        ("pending_root_tao", pa.float64()),
        ("subnets", pa.int64()),
        *[(n, pa.int64()) for n, _ in _NETWORK_COUNTS],
        ("sum_price", pa.float64()),
        ("sum_price_ema", pa.float64()),
    ]
)
"""Columns of ``network.parquet``."""


AGENT_NETWORK_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("tao_usd", pa.float64()),
    ("teams_active", pa.int64()),
    ("retained_top_decile", pa.float64()),
    ("retained_top_quartile", pa.float64()),
    ("retained_rest", pa.float64()),
    ("entries", pa.int64()),
    ("exits_cost", pa.int64()),
    ("exits_outside_option", pa.int64()),
    ("exits_deregistered", pa.int64()),
    ("exits_subnet_dissolved", pa.int64()),
    ("exits_switched", pa.int64()),
    ("exits_abandoned", pa.int64()),
    ("miner_profit_usd_p10", pa.float64()),
    ("miner_profit_usd_p50", pa.float64()),
    ("miner_profit_usd_p90", pa.float64()),
    ("root_stake_tao", pa.float64()),
    ("subnet_stake_tao", pa.float64()),
    ("outside_tao", pa.float64()),
    ("subnets_no_paid_miner", pa.float64()),
    ("emission_top10_share", pa.float64()),
    ("emission_gini", pa.float64()),
    ("usefulness_mean", pa.float64()),
    ("usefulness_p90", pa.float64()),
    ("owner_burn_mean", pa.float64()),
    ("subnets_burn_zero", pa.int64()),
    ("subnets_burn_full", pa.int64()),
    ("subnets_abandoned", pa.int64()),
    ("subnets_registered_by_owners", pa.int64()),
)
"""Columns the agents add to ``network.parquet`` (units and meanings: ``docs/outputs.md``)."""

AGENT_SUBNET_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("usefulness", pa.float64()),
    ("outside_demand_tao", pa.float64()),
    ("staker_flow_tao", pa.float64()),
    ("validator_flow_tao", pa.float64()),
)
"""Columns the agents add to ``timeseries.parquet`` (``docs/outputs.md``)."""

TEAMS_SCHEMA: pa.Schema = pa.schema(
    [
        ("run", pa.int64()),
        ("team", pa.int64()),
        ("netuid", pa.int64()),
        ("subnet_registered_at", pa.int64()),
        ("skill", pa.float64()),
        ("skill_tier", pa.string()),
        ("hardware", pa.string()),
        ("cost_usd_day", pa.float64()),
        ("outside_option_usd_day", pa.float64()),
        ("entered_block", pa.int64()),
        ("exited_block", pa.int64()),
        ("exit_reason", pa.string()),
        ("income_alpha", pa.float64()),
        ("income_tao", pa.float64()),
        ("income_usd", pa.float64()),
        ("cost_usd", pa.float64()),
        ("profit_usd", pa.float64()),
        ("switches", pa.int64()),
        ("alpha_held", pa.float64()),
    ]
)
"""Columns of ``teams.parquet`` (one row per run and team that ever held a UID)."""

UID_SCHEMA: pa.Schema = pa.schema(
    [
        ("run", pa.int32()),
        ("block", pa.int64()),
        ("netuid", pa.int32()),
        ("day", pa.float64()),
        ("uid", pa.int32()),
        ("hotkey", pa.int64()),
        ("coldkey", pa.int64()),
        ("validator_permit", pa.bool_()),
        ("registered_at", pa.int64()),
        ("alpha_stake", pa.float64()),
        ("incentive", pa.float64()),
        ("dividends", pa.float64()),
        ("emission_rao", pa.int64()),
        ("earned_miner_rao", pa.int64()),
        ("earned_validator_rao", pa.int64()),
        ("earned_root_rao", pa.int64()),
        ("departed_miner_rao", pa.int64()),
        ("departed_validator_rao", pa.int64()),
        ("departed_root_rao", pa.int64()),
        ("cum_miner_paid_rao", pa.int64()),
        ("cum_staker_paid_rao", pa.int64()),
        ("cum_root_divs_rao", pa.int64()),
    ]
)
"""Columns of ``uids.parquet``. ``earned_*_rao`` are the UID's cumulative income (RAO) since it
was filled; the ``departed_*`` and ``cum_*`` columns repeat, on every row of a subnet, what
hotkeys that lost their UID had earned and what the subnet has paid in all, so that per record
and subnet ``sum(earned_miner_rao) + departed_miner_rao`` changes exactly as
``cum_miner_paid_rao`` does (validators: ``cum_staker_paid_rao``; root dividends:
``cum_root_divs_rao``)."""


def uid_frame(state: ChainState, run_slice: slice | None = None) -> pa.Table:
    """One row per filled UID of each existing subnet, columns :data:`UID_SCHEMA`.

    Parameters
    ----------
    state
        A state with neurons (``state.neurons``).
    run_slice
        Only these runs; all by default.
    """
    from dtaosim.state.neurons import NF, NH, NI

    nrn = state.neurons
    if nrn is None:
        raise ValueError("the state has no neurons")
    sl = run_slice if run_slice is not None else slice(None)
    first_run = sl.indices(state.runs)[0]
    ni = nrn.ints[sl]
    nf = nrn.floats[sl]
    hyp = nrn.hyper[sl]
    ints = state.ints[sl]
    filled = (ni[:, :, NI.HOTKEY, :] >= 0) & (ints[:, :, SI.EXISTS] != 0)[:, :, None]
    r, k, u = np.nonzero(filled)
    day = (state.block - _start_block(state)) / BLOCKS_PER_DAY

    def col(f: NI) -> NDArray[np.int64]:
        return ni[r, k, f, u]

    cols: dict[str, Any] = {
        "run": (r + first_run).astype(np.int32),
        "block": np.full(r.size, state.block, dtype=np.int64),
        "netuid": (k + 1).astype(np.int32),
        "day": np.full(r.size, day),
        "uid": u.astype(np.int32),
        "hotkey": col(NI.HOTKEY),
        "coldkey": col(NI.COLDKEY),
        "validator_permit": nrn.permit[sl][r, k, u],
        "registered_at": col(NI.REGISTERED_AT),
        "alpha_stake": col(NI.ALPHA_STAKE) / _RAO,
        "incentive": nf[r, k, NF.INCENTIVE, u],
        "dividends": nf[r, k, NF.DIVIDENDS, u],
        "emission_rao": col(NI.EMISSION),
        "earned_miner_rao": col(NI.EARNED_MINER),
        "earned_validator_rao": col(NI.EARNED_VALIDATOR),
        "earned_root_rao": col(NI.EARNED_ROOT),
        "departed_miner_rao": hyp[r, k, NH.DEPARTED_MINER],
        "departed_validator_rao": hyp[r, k, NH.DEPARTED_VALIDATOR],
        "departed_root_rao": hyp[r, k, NH.DEPARTED_ROOT],
        "cum_miner_paid_rao": ints[r, k, SI.CUM_MINER_PAID],
        "cum_staker_paid_rao": ints[r, k, SI.CUM_STAKER_PAID],
        "cum_root_divs_rao": ints[r, k, SI.CUM_ROOT_DIVS],
    }
    return pa.Table.from_pydict(cols, schema=UID_SCHEMA)


def _start_block(state: ChainState) -> int:
    start = state.meta.get("start_block")
    return int(start) if isinstance(start, int | np.integer) else 0


def state_frames(state: ChainState, run_slice: slice | None = None) -> tuple[pa.Table, pa.Table]:
    """Tidy tables of one recorded state.

    Parameters
    ----------
    state
        The state after ``state.block``.
    run_slice
        Only these runs (to bound memory for very many runs); all runs by default.

    Returns
    -------
    subnets : pyarrow.Table
        One row per (run, netuid) for existing subnets, columns :data:`SUBNET_SCHEMA`.
    network : pyarrow.Table
        One row per run, columns :data:`NETWORK_SCHEMA`.
    """
    sl = run_slice if run_slice is not None else slice(None)
    ints = state.ints[sl]
    floats = state.floats[sl]
    gints = state.gints[sl]
    first_run = sl.indices(state.runs)[0]
    nruns = ints.shape[0]
    day = (state.block - _start_block(state)) / BLOCKS_PER_DAY

    exists = ints[:, :, SI.EXISTS] != 0
    r_idx, s_idx = np.nonzero(exists)  # run-major order
    n = r_idx.size

    def amount(f: SI) -> NDArray[np.float64]:
        return ints[r_idx, s_idx, f].astype(np.float64) / _RAO

    price_all = _spot_price(ints, floats)
    cols: dict[str, Any] = {
        "run": (r_idx + first_run).astype(np.int32),
        "block": np.full(n, state.block, dtype=np.int64),
        "netuid": (s_idx + 1).astype(np.int32),
        "day": np.full(n, day, dtype=np.float64),
        "tao_reserve": amount(SI.TAO_RESERVE),
        "alpha_in": amount(SI.ALPHA_IN),
        "alpha_out": amount(SI.ALPHA_OUT),
        "alpha_issuance": (
            ints[r_idx, s_idx, SI.ALPHA_IN] + ints[r_idx, s_idx, SI.ALPHA_OUT]
        ).astype(np.float64)
        / _RAO,
        "price": price_all[r_idx, s_idx],
    }
    for name, ff, scale in _SUBNET_FLOATS:
        v = floats[r_idx, s_idx, ff]
        cols[name] = v / scale if scale != 1.0 else v.copy()
    for name, fi in _SUBNET_AMOUNTS[3:]:
        cols[name] = amount(fi)
    for name, fi in _SUBNET_FLAGS:
        cols[name] = ints[r_idx, s_idx, fi] != 0
    for name, fi in _SUBNET_INTS:
        cols[name] = ints[r_idx, s_idx, fi].copy()
    subnets = pa.Table.from_pydict(cols, schema=SUBNET_SCHEMA)

    ex = exists.astype(np.float64)
    net: dict[str, Any] = {
        "run": np.arange(first_run, first_run + nruns, dtype=np.int32),
        "block": np.full(nruns, state.block, dtype=np.int64),
        "day": np.full(nruns, day, dtype=np.float64),
    }
    for name, fg in _NETWORK_AMOUNTS:
        net[name] = gints[:, fg].astype(np.float64) / _RAO
    net["pools_tao"] = (ints[:, :, SI.TAO_RESERVE] * exists).sum(axis=1).astype(np.float64) / _RAO
    net["pending_root_tao"] = (ints[:, :, SI.PENDING_ROOT_TAO] * exists).sum(axis=1).astype(
        np.float64
    ) / _RAO
    net["subnets"] = exists.sum(axis=1).astype(np.int64)
    for name, fg in _NETWORK_COUNTS:
        net[name] = gints[:, fg].astype(np.int64)
    net["sum_price"] = (price_all * ex).sum(axis=1)
    net["sum_price_ema"] = (floats[:, :, SF.PRICE_EMA] * ex).sum(axis=1)
    network = pa.Table.from_pydict(net, schema=NETWORK_SCHEMA)
    return subnets, network


def _with_agent_columns(schema: pa.Schema) -> pa.Schema:
    for name, typ in AGENT_NETWORK_COLUMNS:
        schema = schema.append(pa.field(name, typ))
    return schema


def _append_subnet_columns(table: pa.Table, state: ChainState, extra: Mapping[str, NDArray],
                           sl: slice) -> pa.Table:
    """``table`` (rows of the existing subnets of runs ``sl``, run-major) with the agents'
    per-subnet columns (arrays ``(runs, subnets)``)."""
    exists = state.ints[sl][:, :, SI.EXISTS] != 0
    for name, typ in AGENT_SUBNET_COLUMNS:
        v = np.asarray(extra[name])[sl][exists]
        table = table.append_column(pa.field(name, typ), pa.array(v, type=typ))
    return table


def _append_columns(table: pa.Table, extra: Mapping[str, NDArray], sl: slice) -> pa.Table:
    """``table`` with the agents' columns (values per run, sliced to ``sl``)."""
    for name, typ in AGENT_NETWORK_COLUMNS:
        table = table.append_column(pa.field(name, typ), pa.array(np.asarray(extra[name])[sl],
                                                                  type=typ))
    return table


def _spot_price(ints: NDArray[np.int64], floats: NDArray[np.float64]) -> NDArray[np.float64]:
    """:meth:`ChainState.spot_price` on a slice of the packed arrays."""
    view = ChainState(0, ints, floats, np.zeros((ints.shape[0], len(GI)), dtype=np.int64))
    return view.spot_price()


# ---------------------------------------------------------------------------------- writer
def dtaosim_version() -> str:
    """Installed release of dtaosim (``"unknown"`` when not installed); see
    :func:`dtaosim.io.rundir.code_version` for the exact code."""
    return str(code_version()["release"])


def _version_of(module: str) -> str:
    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _is_nonempty_dir(p: Path) -> bool:
    return p.is_dir() and any(p.iterdir())


def _write_error(where: Path, e: OSError) -> DataError:
    reason = e.strerror or str(e) or type(e).__name__
    return DataError(f"cannot write the run directory {where}: {reason}")


class RunWriter:
    """Write a run directory atomically, streaming records to Parquet.

    On entering, the target name is reserved (an empty directory made with ``mkdir``, atomic:
    with ``unique`` the first free of ``out``, ``out-2``, ...) and everything is written into a
    temporary sibling ``<out>.tmp-<random>``, renamed onto ``<out>`` when the ``with`` block ends
    without an exception. On any exception (including ``KeyboardInterrupt`` and
    :class:`~dtaosim.errors.Interrupted`) the temporary directory, the reserved name and parent
    directories this writer created are removed, so no half-written output remains.

    A finished run is never thrown away: if something else took the target meanwhile (another
    run, the user), the results go to the first free ``out-N`` instead and :attr:`moved_from`
    says so. Directories get the umask's mode. Failed writes (a full disk) raise one-line
    :class:`~dtaosim.errors.DataError`.

    Parameters
    ----------
    out
        Target run directory.
    overwrite
        Replace ``out`` if it exists and is not empty: only when it is recognisably a dtaosim
        run directory (:func:`dtaosim.io.rundir.overwrite_refusal`).
    unique
        ``out`` is only a suggestion (a default name): take the first free ``out``, ``out-2``
        ... rather than refusing an existing one.
    rows_per_group
        Rows buffered before a Parquet row group is written.

    Attributes
    ----------
    out : Path
        The run directory (final once the ``with`` block has ended).
    moved_from : Path or None
        The target asked for, when the results had to go elsewhere (it appeared meanwhile).

    Raises
    ------
    ConfigError
        At construction, if ``out`` is not a directory, or exists and is non-empty (without
        ``overwrite``), or may not be overwritten.

    Examples
    --------
    >>> with RunWriter(Path("runs/x")) as w:          # doctest: +SKIP
    ...     w.write_text("config.toml", text)
    ...     final = simulate(state, mech, ..., on_record=w.record)
    ...     w.write_manifest({"seed": 0})
    """

    def __init__(self, out: str | Path, *, overwrite: bool = False, unique: bool = False,
                 rows_per_group: int = 262_144):
        self.out = Path(out)
        self.overwrite = overwrite
        self.unique = unique
        self.rows_per_group = rows_per_group
        self.moved_from: Path | None = None
        self._check_target()
        self.tmp: Path | None = None
        self.records = 0
        self._created_parents: list[Path] = []
        self._reserved: Path | None = None
        self._subnets: TableStream | None = None
        self._network: TableStream | None = None
        self._uids: TableStream | None = None
        self._teams_rows: int | None = None
        self._manifest_written = False

    # ------------------------------------------------------------------ context
    def _check_target(self) -> None:
        out = self.out
        if self.unique:
            return
        if out.exists() and is_protected(out):
            raise ConfigError(f"output directory {out} is the working directory, one of its "
                              "parents or the home directory; choose another --out")
        if out.exists() and not out.is_dir():
            raise ConfigError(f"output path {out} exists and is not a directory")
        if _is_nonempty_dir(out):
            if not self.overwrite:
                raise ConfigError(
                    f"output directory {out} already exists and is not empty "
                    "(use --overwrite or another --out)"
                )
            refusal = overwrite_refusal(out)
            if refusal is not None:
                raise ConfigError(refusal)

    def __enter__(self) -> RunWriter:
        parent = self.out.parent
        missing: list[Path] = []
        p = parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        try:
            for d in reversed(missing):  # shallowest first, each with the umask's mode
                try:
                    make_dir(d)
                except FileExistsError:
                    pass
        except OSError as e:
            self._created_parents = [d for d in missing if d.exists()]
            self._remove_created_parents()
            raise ConfigError(f"cannot create {parent}: {e.strerror or e}") from None
        self._created_parents = missing  # deepest first
        try:
            if self.unique:
                self.out = reserve_dir(self.out)
                self._reserved = self.out
            elif not self.out.exists():
                try:
                    make_dir(self.out)
                    self._reserved = self.out
                except FileExistsError:  # appeared just now: checked again at the end
                    pass
            self.tmp = temp_dir(parent, f"{self.out.name}.tmp-")
        except OSError as e:
            self._discard()
            raise ConfigError(f"cannot write to {parent}: {e.strerror or e}") from None
        self._subnets = TableStream(self.tmp / SUBNETS_FILE, SUBNET_SCHEMA, self.rows_per_group)
        self._network = TableStream(self.tmp / NETWORK_FILE, NETWORK_SCHEMA, self.rows_per_group)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self._close_streams()
                self._commit()
            except BaseException:
                self._discard()
                raise
        else:
            self._discard()

    # ------------------------------------------------------------------ writing
    def _require_open(self) -> Path:
        if self.tmp is None:
            raise RuntimeError("RunWriter is not open (use it as a context manager)")
        return self.tmp

    def path(self, name: str) -> Path:
        """Path of ``name`` inside the (temporary) run directory."""
        return self._require_open() / name

    def record(self, state: ChainState,
               network_extra: Mapping[str, NDArray] | None = None,
               subnet_extra: Mapping[str, NDArray] | None = None) -> None:
        """Append one recorded state to ``timeseries.parquet`` and ``network.parquet``.

        Suitable as ``simulate(..., on_record=writer.record)``. Large batches are converted in
        chunks of runs so memory stays bounded.

        Parameters
        ----------
        state
            The state to record.
        network_extra
            The agents' network columns (:data:`AGENT_NETWORK_COLUMNS`, one value per run),
            appended to ``network.parquet``; give them on every record of a run or on none.
        subnet_extra
            The agents' per-subnet columns (:data:`AGENT_SUBNET_COLUMNS`, arrays ``(runs,
            subnets)``), appended to ``timeseries.parquet``; on every record or on none.

        Raises
        ------
        DataError
            If the files cannot be written (e.g. the disk is full).
        """
        self._require_open()
        assert self._subnets is not None and self._network is not None
        if self._manifest_written:
            raise RuntimeError("record() after write_manifest()")
        if network_extra is not None and self.records == 0:
            self._network.schema = _with_agent_columns(self._network.schema)
        if subnet_extra is not None and self.records == 0:
            schema = self._subnets.schema
            for name, typ in AGENT_SUBNET_COLUMNS:
                schema = schema.append(pa.field(name, typ))
            self._subnets.schema = schema
        try:
            chunk = max(1, self.rows_per_group // max(state.subnets, 1))
            for start in range(0, state.runs, chunk):
                sl = slice(start, min(start + chunk, state.runs))
                subnets, network = state_frames(state, sl)
                if network_extra is not None:
                    network = _append_columns(network, network_extra, sl)
                if subnet_extra is not None:
                    subnets = _append_subnet_columns(subnets, state, subnet_extra, sl)
                self._subnets.write(subnets)
                self._network.write(network)
            if state.neurons is not None:
                if self._uids is None:
                    self._uids = TableStream(self._require_open() / UIDS_FILE, UID_SCHEMA,
                                              self.rows_per_group)
                per_run = state.subnets * state.neurons.uids
                chunk = max(1, self.rows_per_group // max(per_run, 1))
                for start in range(0, state.runs, chunk):
                    self._uids.write(uid_frame(state,
                                               slice(start, min(start + chunk, state.runs))))
        except OSError as e:
            raise _write_error(self.out, e) from None
        self.records += 1

    def write_teams(self, columns: Mapping[str, Any]) -> Path:
        """Write ``teams.parquet`` (columns of :data:`TEAMS_SCHEMA`, one row per team)."""
        p = self.path(TEAMS_FILE)
        table = pa.Table.from_pydict({n: columns[n] for n in TEAMS_SCHEMA.names},
                                     schema=TEAMS_SCHEMA)
        try:
            pq.write_table(table, p, compression="zstd")
        except OSError as e:
            raise _write_error(self.out, e) from None
        self._teams_rows = table.num_rows
        return p

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file (e.g. ``config.toml``) into the run directory."""
        p = self.path(name)
        try:
            p.write_text(text, encoding="utf-8")
        except OSError as e:
            raise _write_error(self.out, e) from None
        return p

    def write_manifest(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Finish the record streams and write ``manifest.json``.

        ``fields`` (seed, runs, mechanism, timings ...) are completed with the run-directory
        marker (``format``), the code version (release, git describe, source hash), the Python,
        NumPy, Numba and PyArrow versions, the UTC creation time, the number of records, the
        row counts and the list of files written. No record may follow.

        Returns
        -------
        dict
            The manifest as written.
        """
        tmp = self._require_open()
        self._close_streams()
        assert self._subnets is not None and self._network is not None
        code = code_version()
        manifest: dict[str, Any] = {
            "format": RUN_FORMAT,
            "format_version": 1,
            "dtaosim_version": code["release"],
            "code_version": dict(code),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        manifest.update(fields)
        manifest["records"] = self.records
        manifest["rows"] = {SUBNETS_FILE: self._subnets.rows, NETWORK_FILE: self._network.rows}
        if self._uids is not None:
            manifest["rows"][UIDS_FILE] = self._uids.rows
        if self._teams_rows is not None:
            manifest["rows"][TEAMS_FILE] = self._teams_rows
        manifest["versions"] = {
            "dtaosim": code["release"],
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": _version_of("numba"),
            "pyarrow": pa.__version__,
            "platform": f"{sys.platform}-{platform.machine()}",
        }
        files = sorted({p.name for p in tmp.iterdir() if p.is_file()} | {MANIFEST_FILE})
        manifest["files"] = files
        try:
            (tmp / MANIFEST_FILE).write_text(
                json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n",
                encoding="utf-8",
            )
        except OSError as e:
            raise _write_error(self.out, e) from None
        self._manifest_written = True
        return manifest

    # ------------------------------------------------------------------ internals
    def _close_streams(self) -> None:
        try:
            for stream in (self._subnets, self._network, self._uids):
                if stream is not None:
                    stream.close()
        except OSError as e:
            raise _write_error(self.out, e) from None

    def _commit(self) -> None:
        tmp = self._require_open()
        out = self.out
        try:
            os.rename(tmp, out)  # atomic; replaces a missing name or an empty directory
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise _write_error(out, e) from None
        else:
            self._reserved = None
            self.tmp = out
            return
        if self.overwrite and out.is_dir() and overwrite_refusal(out) is None:
            old = temp_dir(out.parent, f".{out.name}.old-")
            os.rename(out, old / out.name)
            try:
                os.rename(tmp, out)
            except BaseException:
                os.rename(old / out.name, out)  # put the previous run back
                shutil.rmtree(old, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
            self.tmp = out
            return
        # something else took the name while we ran: keep the results under a fresh name
        fresh = reserve_dir(out)
        os.rename(tmp, fresh)
        self.moved_from = out
        self.out = fresh
        self.tmp = fresh
        self._reserved = None

    def _discard(self) -> None:
        for stream in (self._subnets, self._network, self._uids):
            if stream is not None:
                stream.abort()
        if self.tmp is not None and self.tmp != self.out:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None
        if self._reserved is not None:
            try:
                self._reserved.rmdir()  # only while still empty
            except OSError:
                pass
            self._reserved = None
        self._remove_created_parents()

    def _remove_created_parents(self) -> None:
        for p in self._created_parents:  # deepest first
            try:
                p.rmdir()
            except OSError:
                break
        self._created_parents = []
