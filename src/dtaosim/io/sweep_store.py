"""The sweep store: one Parquet dataset partitioned by point, written atomically per point.

A sweep directory holds::

    sweep.json                 the normalised spec, base configuration and fingerprint
    spec.toml                  the spec as given (for people)
    design.parquet             one row per point: point, seed, the axis values
    points/point=00012/        one partition per finished point (hive-style name)
        point.parquet          one row: status (ok | failed), seed, wall time, error, traceback
        config.toml            the point's resolved run configuration (every constant)
        manifest.json          the run's manifest (ok points)
        network.parquet        one row per run and record (ok points, unless not kept)
        timeseries.parquet     one row per run, record and subnet (ok points, as kept)
        uids.parquet           one row per run, record and UID (only if kept and the run has UIDs)
        teams.parquet          one row per run and miner team (runs with agents, unless not kept)

A worker writes a point into ``points/.tmp-point=00012-<random>/`` and renames it to
``points/point=00012`` when it is complete: a point's partition is either absent or whole, so a
sweep killed at any moment (SIGKILL included) leaves no half-written partition, and a point
renamed twice (a retried task) is kept once. Temporary directories start with a dot, so globs
such as ``points/point=*/network.parquet`` never see them; :func:`clean_temporaries` removes
what a killed sweep left.

:func:`connect` opens the dataset in DuckDB with views ``design``, ``status``, ``points``
(design and status), ``network``, ``subnets``, ``uids`` and any other table the partitions
hold (e.g. ``teams``), each with a ``point`` column from the partition name.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dtaosim.errors import ConfigError, DataError
from dtaosim.io.parquet_stream import TableStream
from dtaosim.io.results import (
    NETWORK_SCHEMA,
    SUBNET_SCHEMA,
    UID_SCHEMA,
    dtaosim_version,
    state_frames,
    uid_frame,
)
from dtaosim.io.rundir import (
    CONFIG_FILE,
    MANIFEST_FILE,
    NETWORK_FILE,
    RUN_FORMAT,
    SUBNETS_FILE,
    TEAMS_FILE,
    UIDS_FILE,
    code_version,
    is_protected,
)
from dtaosim.state.chain_state import ChainState

__all__ = [
    "DESIGN_FILE",
    "POINTS_DIR",
    "POINT_FILE",
    "SPEC_FILE",
    "STATUS_SCHEMA",
    "TABLE_FILES",
    "Keep",
    "PointWriter",
    "clean_temporaries",
    "connect",
    "done_points",
    "overwrite_refusal",
    "partition_name",
    "read_spec",
    "write_design",
    "write_new_sweep_dir",
    "write_result_csv",
]

POINTS_DIR = "points"
DESIGN_FILE = "design.parquet"
SPEC_FILE = "sweep.json"
SPEC_COPY = "spec.toml"
POINT_FILE = "point.parquet"

Keep = Literal["all", "ends", "none"]
"""Which records of a table a point keeps: every record, the first and the last, or none."""

TABLE_FILES: dict[str, str] = {"network": NETWORK_FILE, "subnets": SUBNETS_FILE,
                               "uids": UIDS_FILE, "teams": TEAMS_FILE}
"""Table name in a sweep -> file name in a point's partition (as in a run directory)."""

STATUS_SCHEMA: pa.Schema = pa.schema([
    ("point", pa.int64()),
    ("status", pa.string()),
    ("seed", pa.int64()),
    ("wall_s", pa.float64()),
    ("error", pa.string()),
    ("traceback", pa.string()),
    ("worker", pa.string()),
    ("dtaosim_version", pa.string()),
])
"""Columns of a partition's ``point.parquet`` (one row)."""

_SCHEMAS = {"network": NETWORK_SCHEMA, "subnets": SUBNET_SCHEMA, "uids": UID_SCHEMA}


@functools.cache
def _version() -> str:
    return dtaosim_version()


@functools.cache
def _versions() -> dict[str, str]:
    import platform
    import sys
    from importlib import metadata

    def of(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            return "unknown"

    return {"dtaosim": _version(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": of("numba"), "pyarrow": pa.__version__,
            "platform": f"{sys.platform}-{platform.machine()}"}


SWEEP_ENTRIES = frozenset({SPEC_FILE, SPEC_COPY, DESIGN_FILE, POINTS_DIR, "sensitivity.csv",
                           "sensitivity_second_order.csv", "tipping.csv", "contour.csv",
                           "compare.csv"})
"""What a sweep directory may hold (anything else: it is not only a sweep)."""


def overwrite_refusal(path: Path) -> str | None:
    """Why ``--overwrite`` may not replace the existing directory ``path`` (``None``: it may):
    only a sweep directory holding nothing but a sweep's files, never the working directory,
    one of its parents or the home directory."""
    if is_protected(path):
        return (f"refusing to overwrite {path}: it is the working directory, one of its "
                "parents or the home directory; choose another --out")
    if not (path / SPEC_FILE).is_file():
        return (f"refusing to overwrite {path}: it is not a dtaosim sweep directory (no "
                f"{SPEC_FILE}); choose another --out or remove it yourself")
    other = sorted(p.name for p in path.iterdir() if p.name not in SWEEP_ENTRIES)
    if other:
        return (f"refusing to overwrite {path}: it holds files that are not the sweep's "
                f"({', '.join(other[:5])}); choose another --out or remove them yourself")
    return None


def partition_name(point: int) -> str:
    """Directory name of a point's partition (``point=00012``)."""
    return f"point={int(point):05d}"


def _point_of(name: str) -> int | None:
    if not name.startswith("point="):
        return None
    try:
        return int(name[6:])
    except ValueError:
        return None


# ---------------------------------------------------------------------------------- writer
def _fsync_tree(root: Path) -> None:
    for p in root.iterdir():
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class PointWriter:
    """Write one point's partition: records streamed to Parquet, committed by a rename.

    It offers the two methods :func:`dtaosim.experiments.run.execute_run` calls on a run
    writer (``record`` and ``write_manifest``), keeping only the tables and records that
    ``keep`` asks for; :meth:`commit` writes ``point.parquet`` and renames the partition into
    place; :meth:`fail` drops the tables and records a failure instead. Leaving the ``with``
    block without :meth:`commit` (an exception, a kill) leaves no partition.

    Parameters
    ----------
    sweep_dir
        The sweep directory (its ``points/`` folder must exist).
    point
        Point number.
    keep
        Table name (``network``, ``subnets``, ``uids``) -> :data:`Keep`; missing tables are
        kept ``"all"`` (``uids`` only when the state has UIDs).
    blocks
        Blocks the run simulates (to know its last record for ``"ends"``).
    rows_per_group
        Rows buffered before a Parquet row group is written.
    """

    def __init__(self, sweep_dir: str | Path, point: int, keep: Mapping[str, Keep], *,
                 blocks: int, rows_per_group: int = 262_144) -> None:
        self.sweep_dir = Path(sweep_dir)
        self.point = int(point)
        self.keep = {name: keep.get(name, "all") for name in TABLE_FILES}
        self.blocks = int(blocks)
        self.rows_per_group = rows_per_group
        self.final = self.sweep_dir / POINTS_DIR / partition_name(point)
        self.tmp: Path | None = None
        self.records = 0
        self._start_block: int | None = None
        self._streams: dict[str, TableStream] = {}
        self._manifest: dict[str, Any] | None = None

    def __enter__(self) -> PointWriter:
        parent = self.sweep_dir / POINTS_DIR
        if not parent.is_dir():
            raise DataError(f"{self.sweep_dir} is not a sweep directory (no {POINTS_DIR}/)")
        self.tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{partition_name(self.point)}-",
                                         dir=parent))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.tmp is not None and self.tmp != self.final:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _dir(self) -> Path:
        if self.tmp is None or self.tmp == self.final:
            raise RuntimeError("PointWriter is not open")
        return self.tmp

    def _stream(self, name: str, schema: pa.Schema | None = None) -> TableStream:
        s = self._streams.get(name)
        if s is None:
            s = TableStream(self._dir() / TABLE_FILES[name], schema or _SCHEMAS[name],
                        self.rows_per_group)
            self._streams[name] = s
        return s

    def _wanted(self, name: str, first: bool, last: bool) -> bool:
        mode = self.keep[name]
        return mode == "all" or (mode == "ends" and (first or last))

    # ------------------------------------------------------------------ what execute_run calls
    def record(self, state: ChainState,
               network_extra: Mapping[str, Any] | None = None) -> None:
        """Append one recorded state to the kept tables (``on_record`` of ``simulate``).

        ``network_extra``: more ``network`` columns, one value per run (the agents'
        ``tao_usd``, ``retained_top_decile``, ...), given on every record of a run or on none.
        """
        self._dir()
        first = self._start_block is None
        if first:
            self._start_block = int(state.block)
        assert self._start_block is not None
        last = int(state.block) - self._start_block >= self.blocks
        want_sub = self._wanted("subnets", first, last)
        want_net = self._wanted("network", first, last)
        if want_sub or want_net:
            chunk = max(1, self.rows_per_group // max(state.subnets, 1))
            for start in range(0, state.runs, chunk):
                subnets, network = state_frames(state, slice(start, min(start + chunk,
                                                                        state.runs)))
                if want_sub:
                    self._stream("subnets").write(subnets)
                if want_net:
                    sl = slice(start, min(start + chunk, state.runs))
                    for name, values in (network_extra or {}).items():
                        arr = pa.array(np.asarray(values)[sl])
                        network = network.append_column(pa.field(name, arr.type), arr)
                    self._stream("network", network.schema).write(network)
        if state.neurons is not None and self._wanted("uids", first, last):
            per_run = state.subnets * state.neurons.uids
            chunk = max(1, self.rows_per_group // max(per_run, 1))
            for start in range(0, state.runs, chunk):
                self._stream("uids").write(
                    uid_frame(state, slice(start, min(start + chunk, state.runs))))
        self.records += 1

    def write_teams(self, columns: Mapping[str, Any]) -> Path | None:
        """Write ``teams.parquet`` (one row per run and team, at the end of the run) unless
        ``keep["teams"]`` is ``"none"``."""
        if self.keep["teams"] == "none":
            return None
        p = self._dir() / TEAMS_FILE
        pq.write_table(pa.table({k: (v if isinstance(v, list) else np.asarray(v))
                                 for k, v in columns.items()}), p, compression="zstd")
        return p

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file (e.g. ``config.toml``) into the partition."""
        p = self._dir() / name
        p.write_text(text, encoding="utf-8")
        return p

    def write_manifest(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Close the tables and write ``manifest.json`` (``fields`` plus rows and files)."""
        d = self._dir()
        for s in self._streams.values():
            s.close()
        code = code_version()
        manifest: dict[str, Any] = {"format": RUN_FORMAT, "format_version": 1,
                                    "dtaosim_version": code["release"],
                                    "code_version": dict(code), "sweep_point": self.point,
                                    **fields}
        manifest["records"] = self.records
        manifest["rows"] = {s.path.name: s.rows for s in self._streams.values()}
        manifest["versions"] = _versions()
        manifest["files"] = sorted({p.name for p in d.iterdir() if p.is_file()}
                                   | {MANIFEST_FILE})
        (d / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str) + "\n",
                                       encoding="utf-8")
        self._manifest = manifest
        return manifest

    # ------------------------------------------------------------------ outcome
    def fail(self) -> None:
        """Drop every table and the manifest written so far (the point failed)."""
        d = self._dir()
        for s in self._streams.values():
            try:
                s.close()
            except Exception:  # pragma: no cover - the file is removed anyway
                pass
        self._streams = {}
        for p in d.iterdir():
            if p.name != CONFIG_FILE:
                p.unlink()

    def commit(self, status: Mapping[str, Any]) -> bool:
        """Write ``point.parquet`` and rename the partition into place.

        Parameters
        ----------
        status
            ``status`` (``"ok"`` or ``"failed"``), ``seed``, ``wall_s``, ``error``,
            ``traceback`` (the others are filled in).

        Returns
        -------
        bool
            False if the point's partition already existed (another worker finished it
            first); this one is then dropped.
        """
        d = self._dir()
        for s in self._streams.values():
            s.close()
        row = {
            "point": self.point,
            "status": str(status.get("status", "ok")),
            "seed": int(status.get("seed", 0)),
            "wall_s": float(status.get("wall_s", 0.0)),
            "error": status.get("error"),
            "traceback": status.get("traceback"),
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "dtaosim_version": _version(),
        }
        pq.write_table(pa.Table.from_pylist([row], schema=STATUS_SCHEMA), d / POINT_FILE)
        _fsync_tree(d)
        try:
            os.rename(d, self.final)
        except OSError:
            if self.final.is_dir():  # done by someone else: keep theirs
                shutil.rmtree(d, ignore_errors=True)
                self.tmp = None
                return False
            raise
        self.tmp = self.final
        _fsync_dir(self.final.parent)
        return True


# ---------------------------------------------------------------------------------- directory
def write_new_sweep_dir(out: str | Path, files: Callable[[Path], None], *,
                        overwrite: bool = False) -> Path:
    """Create a sweep directory atomically: ``files(tmp)`` fills a temporary sibling (its
    ``points/`` folder already made), which is then renamed to ``out``.

    Raises
    ------
    ConfigError
        If ``out`` exists and is not empty (unless ``overwrite``), or cannot be written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"sweep directory {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"sweep directory {out} already exists and is not empty "
                              "(use --resume to continue it, --overwrite to replace it, "
                              "or another --out)")
        refusal = overwrite_refusal(out)
        if refusal is not None:
            raise ConfigError(refusal)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as e:
        raise ConfigError(f"cannot write to {out.parent}: {e.strerror or e}") from None
    try:
        (tmp / POINTS_DIR).mkdir()
        files(tmp)
        _fsync_tree(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(out.parent)
    return out


def write_design(directory: Path, design: pa.Table) -> None:
    """Write ``design.parquet`` (one row per point) into a (new) sweep directory."""
    pq.write_table(design, directory / DESIGN_FILE)


def read_spec(sweep_dir: str | Path) -> dict[str, Any]:
    """The ``sweep.json`` of a sweep directory.

    Raises
    ------
    DataError
        If the directory is not a sweep directory.
    """
    p = Path(sweep_dir) / SPEC_FILE
    try:
        return dict(json.loads(p.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DataError(f"{sweep_dir} is not a sweep directory (no {SPEC_FILE})") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{p}: unreadable sweep description ({e})") from None


def clean_temporaries(sweep_dir: str | Path) -> int:
    """Remove the temporary partitions a killed sweep left; returns how many."""
    points = Path(sweep_dir) / POINTS_DIR
    n = 0
    if points.is_dir():
        for p in points.iterdir():
            if p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
                n += 1
    return n


def done_points(sweep_dir: str | Path) -> dict[int, str]:
    """Point -> status (``"ok"`` / ``"failed"``) of every committed partition."""
    points = Path(sweep_dir) / POINTS_DIR
    out: dict[int, str] = {}
    if not points.is_dir():
        return out
    for entry in os.scandir(points):
        k = _point_of(entry.name)
        if k is None or not entry.is_dir():
            continue
        status = pq.read_table(Path(entry.path) / POINT_FILE, columns=["status"])
        out[k] = str(status.column("status")[0].as_py())
    return out


# ---------------------------------------------------------------------------------- DuckDB
def _tables_present(points: Path) -> dict[str, str]:
    """View name -> file name of every Parquet table found in some partition."""
    found: dict[str, str] = {}
    names = {v: k for k, v in TABLE_FILES.items()}
    for entry in os.scandir(points):
        if _point_of(entry.name) is None:
            continue
        for f in os.scandir(entry.path):
            if f.name.endswith(".parquet") and f.name != POINT_FILE:
                view = names.get(f.name, f.name[: -len(".parquet")])
                found.setdefault(view, f.name)
    return found


def _sql_str(s: str | Path) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def connect(sweep_dir: str | Path, extra_views: Iterable[tuple[str, str]] = ()) -> Any:
    """A DuckDB connection (in memory) with views over a sweep directory.

    Views: ``design`` (one row per point: point, seed, axis values), ``status`` (one row per
    finished point), ``points`` (design left-joined with status; ``status`` is ``pending``
    for unfinished points), and one view per table found in the partitions (``network``,
    ``subnets``, ``uids``, agent tables), each with the partition's ``point``.

    Parameters
    ----------
    sweep_dir
        The sweep directory.
    extra_views
        ``(name, SQL)`` pairs created after these, in order.

    Raises
    ------
    DataError
        If the directory is not a sweep directory.
    """
    import duckdb

    root = Path(sweep_dir)
    design = root / DESIGN_FILE
    points = root / POINTS_DIR
    if not design.is_file() or not points.is_dir():
        raise DataError(f"{root} is not a sweep directory (no {DESIGN_FILE} or {POINTS_DIR}/)")
    con = duckdb.connect()
    con.execute(f"create view design as select * from read_parquet({_sql_str(design)})")
    has_status = any(_point_of(e.name) is not None for e in os.scandir(points))
    if has_status:
        glob = points / "point=*" / POINT_FILE
        con.execute(f"create view status as select * from read_parquet({_sql_str(glob)})")
    else:
        cols = ", ".join(f"cast(null as {_duck_type(f.type)}) as \"{f.name}\""
                         for f in STATUS_SCHEMA)
        con.execute(f"create view status as select {cols} where false")
    con.execute(
        "create view points as select d.*, coalesce(s.status, 'pending') as status, "
        "s.wall_s, s.error, s.traceback, s.worker "
        "from design d left join status s on s.point = d.point order by d.point")
    for view, fname in sorted(_tables_present(points).items()):
        glob = points / "point=*" / fname
        con.execute(
            f"create view \"{view}\" as select * from read_parquet({_sql_str(glob)}, "
            "hive_partitioning = true, hive_types = {'point': BIGINT}, union_by_name = true)")
    for name, sql in extra_views:
        con.execute(f"create view \"{name}\" as {sql}")
    return con


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE"
    return "VARCHAR"


def views(con: Any) -> list[str]:
    """Names of the views of a connection made by :func:`connect`."""
    rows = con.execute("select view_name from duckdb_views() where not internal "
                       "order by view_name").fetchall()
    return [str(r[0]) for r in rows]


def write_result_csv(sweep_dir: str | Path, name: str, rows: list[dict[str, Any]]) -> Path:
    """Write an analysis table (``sensitivity.csv``, ``tipping.csv`` ...) into the sweep
    directory, atomically (write, then rename). Values that are not numbers, strings or
    booleans are written as JSON."""
    import pyarrow.csv as pcsv

    target = Path(sweep_dir) / name
    cols: dict[str, list[Any]] = {}
    for r in rows:
        for k in r:
            cols.setdefault(k, [])
    for r in rows:
        for k in cols:
            v = r.get(k)
            if v is not None and not isinstance(v, bool | int | float | str):
                v = json.dumps(v, default=str, sort_keys=True)
            cols[k].append(v)
    table = pa.table({k: pa.array(v) for k, v in cols.items()}) if cols else pa.table({})
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=target.parent)
    os.close(fd)
    try:
        pcsv.write_csv(table, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
