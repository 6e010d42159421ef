"""A Parquet file written in few, large row groups with bounded memory.

Shared by the run writer (:mod:`dtaosim.io.results`) and the sweep store
(:mod:`dtaosim.io.sweep_store`).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["TableStream"]


class TableStream:
    """Buffered ``ParquetWriter``: tables are collected until ``rows_per_group`` rows, then
    written as one zstd row group.

    Parameters
    ----------
    path
        The file (created at the first flush, or empty at :meth:`close`).
    schema
        Its Arrow schema; may be replaced before the first flush (e.g. to add columns).
    rows_per_group
        Rows buffered before a row group is written.
    """

    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int) -> None:
        self.path = path
        self.schema = schema
        self.rows_per_group = rows_per_group
        self.rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._buffered += table.num_rows
        self.rows += table.num_rows
        if self._buffered >= self.rows_per_group:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self._writer.write_table(
            pa.concat_tables(self._buffer), row_group_size=max(self._buffered, 1)
        )
        self._buffer = []
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        if self._writer is None:  # nothing recorded: still leave a valid, empty file
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self._writer.close()

    def abort(self) -> None:
        self._buffer = []
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # pragma: no cover - the file is removed anyway
                pass
