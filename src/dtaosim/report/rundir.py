"""A run directory opened for reading: which files are there, the manifest, dense arrays.

The report layer reads run directories only (``io/results.py`` writes them); it never needs the
simulation's objects, so it works on any run directory, old or new, and says what is missing
from one whose run was interrupted instead of failing.

:class:`RunDir` finds and checks the files, parses ``manifest.json`` and ``config.toml`` and
hands out per-subnet columns of ``timeseries.parquet`` as dense ``(runs, records, netuids)``
arrays (``NaN`` where a subnet does not exist), per-run columns of ``network.parquet`` as
``(runs, records)`` arrays, and a DuckDB connection with the tables as views for the large
``uids.parquet``.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from dtaosim.errors import DataError
from dtaosim.io.rundir import (
    CONFIG_FILE,
    MANIFEST_FILE,
    NETWORK_FILE,
    PARQUET_FILES,
    SUBNETS_FILE,
    TEAMS_FILE,
    UIDS_FILE,
)
from dtaosim.units import BLOCKS_PER_DAY

__all__ = [
    "CONFIG_FILE",
    "MANIFEST_FILE",
    "NETWORK_FILE",
    "SUBNETS_FILE",
    "TEAMS_FILE",
    "UIDS_FILE",
    "RunDir",
]


# views in RunDir.sql(): table name -> file
VIEWS = {"subnets": SUBNETS_FILE, "network": NETWORK_FILE, "uids": UIDS_FILE, "teams": TEAMS_FILE}


@dataclass(frozen=True)
class FileState:
    """One file of a run directory: present and readable, or why not."""

    name: str
    path: Path
    ok: bool
    rows: int | None
    problem: str | None


def _check_parquet(path: Path) -> tuple[bool, int | None, str | None]:
    if not path.exists():
        return False, None, "missing"
    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowInvalid, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return False, None, f"unreadable (incomplete or not Parquet: {first})"
    return True, int(meta.num_rows), None


class RunDir:
    """A run directory opened for reading.

    Parameters
    ----------
    path
        The run directory (as written by ``dtaosim run``; an interrupted one is accepted).

    Raises
    ------
    DataError
        If ``path`` is not a directory, or neither ``timeseries.parquet`` nor
        ``network.parquet`` can be read (nothing to report on).

    Attributes
    ----------
    path : Path
    manifest : dict or None
        ``manifest.json`` (``None`` if missing or invalid: the run did not finish).
    config : dict or None
        ``config.toml`` as a dict (``None`` if missing or invalid).
    files : dict of str to FileState
        The Parquet files, present or not.
    problems : list of str
        What is missing or unreadable, in words (empty for a complete run directory).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"run directory not found: {self.path}")
        if not self.path.is_dir():
            raise DataError(f"not a run directory (not a folder): {self.path}")
        self.problems: list[str] = []
        self.memo: dict[Any, Any] = {}  # results of metrics computed on this directory
        self.manifest = self._read_manifest()
        self.config = self._read_config()
        self.files: dict[str, FileState] = {}
        for name in PARQUET_FILES:
            ok, rows, problem = _check_parquet(self.path / name)
            self.files[name] = FileState(name, self.path / name, ok, rows, problem)
        if not (self.has(SUBNETS_FILE) or self.has(NETWORK_FILE)):
            why = "; ".join(f"{n} {self.files[n].problem}" for n in (SUBNETS_FILE, NETWORK_FILE))
            raise DataError(f"no readable run data in {self.path} ({why})")
        for name in (SUBNETS_FILE, NETWORK_FILE):
            if not self.has(name):
                self.problems.append(f"{name} is {self.files[name].problem}")
        expects_uids = bool(self.manifest and self.manifest.get("uids")) or bool(
            self.manifest and UIDS_FILE in self.manifest.get("files", []))
        if not self.has(UIDS_FILE) and (expects_uids or self.files[UIDS_FILE].problem != "missing"):
            self.problems.append(f"{UIDS_FILE} is {self.files[UIDS_FILE].problem}")
        if self.manifest and self.manifest.get("files"):
            for name in self.manifest["files"]:
                if name.endswith(".parquet") and name in self.files and not self.has(name):
                    msg = f"{name} is {self.files[name].problem}"
                    if msg not in self.problems:
                        self.problems.append(msg)
        if self.has(SUBNETS_FILE) and self.files[SUBNETS_FILE].rows == 0:
            self.problems.append(f"{SUBNETS_FILE} has no rows (nothing was recorded)")

    # ------------------------------------------------------------------ metadata
    def _read_manifest(self) -> dict[str, Any] | None:
        p = self.path / MANIFEST_FILE
        if not p.is_file():
            self.problems.append(f"{MANIFEST_FILE} is missing (the run did not finish)")
            return None
        try:
            m = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            self.problems.append(f"{MANIFEST_FILE} is unreadable ({e})")
            return None
        if not isinstance(m, dict):
            self.problems.append(f"{MANIFEST_FILE} is not a JSON object")
            return None
        return m

    def _read_config(self) -> dict[str, Any] | None:
        p = self.path / CONFIG_FILE
        if not p.is_file():
            self.problems.append(f"{CONFIG_FILE} is missing")
            return None
        try:
            return tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            self.problems.append(f"{CONFIG_FILE} is unreadable ({e})")
            return None

    def has(self, name: str) -> bool:
        """Whether the Parquet file ``name`` is present and readable."""
        f = self.files.get(name)
        return bool(f and f.ok)

    def columns(self, name: str) -> list[str]:
        """Column names of a readable Parquet file (empty if it is not readable)."""
        if not self.has(name):
            return []
        return list(pq.read_schema(self.path / name).names)

    def read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Read (some columns of) a readable Parquet file."""
        if not self.has(name):
            raise DataError(f"{self.path / name} is {self.files[name].problem}")
        return pq.read_table(self.path / name, columns=columns)

    @property
    def mechanism(self) -> str:
        """Mechanism preset name (manifest, else config, else ``"unknown"``)."""
        if self.manifest and isinstance(self.manifest.get("mechanism"), dict):
            return str(self.manifest["mechanism"].get("name", "unknown"))
        if self.config and "mechanism" in self.config:
            return str(self.config["mechanism"])
        return "unknown"

    @property
    def share_rule(self) -> str | None:
        """The mechanism's share rule (``"price_ema"``, ...), from the manifest or config."""
        if self.manifest and isinstance(self.manifest.get("mechanism"), dict):
            rules = self.manifest["mechanism"].get("rules") or {}
            if "share_rule" in rules:
                return str(rules["share_rule"])
        if self.config:
            rule = (self.config.get("mechanism_overrides") or {}).get("share_rule")
            if rule is not None:
                return str(rule)
        return None

    def setting(self, key: str, default: Any = None) -> Any:
        """A run setting (``seed``, ``runs``, ``days``, ``uids`` ...): manifest, then config."""
        if self.manifest and key in self.manifest:
            return self.manifest[key]
        if self.config and key in self.config:
            return self.config[key]
        return default

    def mechanism_constant(self, key: str, default: Any = None) -> Any:
        """A constant of the mechanism as resolved in ``config.toml``."""
        if self.config:
            return (self.config.get("mechanism_overrides") or {}).get(key, default)
        return default

    # ------------------------------------------------------------------ records
    @cached_property
    def _network_index(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        src = NETWORK_FILE if self.has(NETWORK_FILE) else SUBNETS_FILE
        t = self.read(src, ["run", "block", "day"])
        run = np.asarray(t.column("run"), dtype=np.int64)
        block = np.asarray(t.column("block"), dtype=np.int64)
        day = np.asarray(t.column("day"), dtype=np.float64)
        runs = np.unique(run)
        blocks, first = np.unique(block, return_index=True)
        return runs, blocks, day[first]

    @property
    def runs(self) -> NDArray[np.int64]:
        """Run ids present (sorted)."""
        return self._network_index[0]

    @property
    def blocks(self) -> NDArray[np.int64]:
        """Record blocks present (sorted)."""
        return self._network_index[1]

    @property
    def days(self) -> NDArray[np.float64]:
        """Days since the start of each record (sorted)."""
        return self._network_index[2]

    @property
    def horizon_days(self) -> float:
        """Days between the first and the last record."""
        b = self.blocks
        return float(b[-1] - b[0]) / BLOCKS_PER_DAY if b.size else 0.0

    # ------------------------------------------------------------------ dense arrays
    @cached_property
    def _subnet_index(
        self,
    ) -> tuple[NDArray[np.bool_], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], int]:
        """Rows of ``timeseries.parquet`` that fall on a known (run, record), and their indices."""
        t = self.read(SUBNETS_FILE, ["run", "block", "netuid"])
        run = np.asarray(t.column("run"), dtype=np.int64)
        block = np.asarray(t.column("block"), dtype=np.int64)
        netuid = np.asarray(t.column("netuid"), dtype=np.int64)
        ok = np.isin(run, self.runs) & np.isin(block, self.blocks) & (netuid >= 1)
        ri = np.searchsorted(self.runs, run[ok])
        ti = np.searchsorted(self.blocks, block[ok])
        kmax = int(netuid[ok].max()) if ok.any() else 0
        return ok, ri, ti, netuid[ok] - 1, kmax

    @property
    def netuids(self) -> NDArray[np.int64]:
        """Netuid of each slot of the last axis of :meth:`subnet_array`."""
        if not self.has(SUBNETS_FILE):
            return np.zeros(0, dtype=np.int64)
        return np.arange(1, self._subnet_index[4] + 1, dtype=np.int64)

    def subnet_array(self, column: str) -> NDArray[np.float64]:
        """A ``timeseries.parquet`` column as a dense ``(runs, records, netuids)`` float array.

        ``NaN`` where the subnet did not exist at that record (or the run has no such record).
        Integer and boolean columns are converted to float.
        """
        cache = self.__dict__.setdefault("_subnet_cache", {})
        if column in cache:
            return cache[column]  # type: ignore[no-any-return]
        if not self.has(SUBNETS_FILE):
            raise DataError(f"{SUBNETS_FILE} is {self.files[SUBNETS_FILE].problem}")
        if column not in self.columns(SUBNETS_FILE):
            raise DataError(f"{SUBNETS_FILE} has no column {column!r}")
        ok, ri, ti, ki, kmax = self._subnet_index
        raw = self.read(SUBNETS_FILE, [column]).column(column)
        values = np.asarray(raw.to_numpy(zero_copy_only=False), dtype=np.float64)
        out = np.full((self.runs.size, self.blocks.size, kmax), np.nan)
        out[ri, ti, ki] = values[ok]
        cache[column] = out
        return out

    def network_array(self, column: str) -> NDArray[np.float64]:
        """A ``network.parquet`` column as a dense ``(runs, records)`` float array (NaN gaps)."""
        cache = self.__dict__.setdefault("_network_cache", {})
        if column in cache:
            return cache[column]  # type: ignore[no-any-return]
        if not self.has(NETWORK_FILE):
            raise DataError(f"{NETWORK_FILE} is {self.files[NETWORK_FILE].problem}")
        if column not in self.columns(NETWORK_FILE):
            raise DataError(f"{NETWORK_FILE} has no column {column!r}")
        t = self.read(NETWORK_FILE, ["run", "block", column])
        run = np.asarray(t.column("run"), dtype=np.int64)
        block = np.asarray(t.column("block"), dtype=np.int64)
        values = np.asarray(t.column(column).to_numpy(zero_copy_only=False), dtype=np.float64)
        out = np.full((self.runs.size, self.blocks.size), np.nan)
        out[np.searchsorted(self.runs, run), np.searchsorted(self.blocks, block)] = values
        cache[column] = out
        return out

    def has_network_column(self, column: str) -> bool:
        """Whether ``network.parquet`` is readable and has ``column``."""
        return column in self.columns(NETWORK_FILE)

    @cached_property
    def _uid_groups(self) -> tuple[pq.ParquetFile, NDArray[np.int64], NDArray[np.int64]]:
        """``uids.parquet`` opened once, with each row group's smallest and largest block."""
        f = pq.ParquetFile(self.path / UIDS_FILE)
        col = f.schema_arrow.get_field_index("block")
        lo, hi = [], []
        for i in range(f.metadata.num_row_groups):
            st = f.metadata.row_group(i).column(col).statistics
            ok = st is not None and st.has_min_max
            lo.append(int(st.min) if ok else np.iinfo(np.int64).min)
            hi.append(int(st.max) if ok else np.iinfo(np.int64).max)
        return f, np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)

    def uid_rows(self, block: int, columns: list[str]) -> pa.Table:
        """The ``uids.parquet`` rows of one record (only the row groups that can hold it)."""
        if not self.has(UIDS_FILE):
            raise DataError(f"{self.path / UIDS_FILE} is {self.files[UIDS_FILE].problem}")
        f, lo, hi = self._uid_groups
        groups = np.flatnonzero((lo <= block) & (hi >= block)).tolist()
        cols = list(dict.fromkeys([*columns, "block"]))
        if not groups:
            return f.schema_arrow.empty_table().select(columns)
        t = f.read_row_groups(groups, columns=cols)
        if int(lo[groups].min()) != block or int(hi[groups].max()) != block:
            mask = np.asarray(t.column("block"), dtype=np.int64) == block
            t = t.filter(pa.array(mask))
        return t.select(columns)

    # ------------------------------------------------------------------ SQL
    @cached_property
    def _con(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("set enable_progress_bar = false")
        for view, name in VIEWS.items():
            if self.has(name):
                path = str(self.files[name].path).replace("'", "''")
                con.execute(f"create view {view} as select * from read_parquet('{path}')")
        return con

    def sql(self, query: str, params: list[Any] | None = None) -> dict[str, NDArray[Any]]:
        """Run a DuckDB query over the views ``subnets``, ``network``, ``uids``, ``teams``.

        Returns
        -------
        dict of str to ndarray
            The result's columns.
        """
        return self._con.execute(query, params or []).fetchnumpy()  # type: ignore[no-any-return]
