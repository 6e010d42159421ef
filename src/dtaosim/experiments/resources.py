"""Will a run fit? Memory and disk estimates checked before the long work starts.

A run holds its chain state (``runs x subnet slots x fields``, a few hundred bytes per subnet)
and, with UIDs, its neurons: per run and subnet slot ``uids x uids`` weights and bonds (``uint16``
each, so ``4 uids**2`` bytes) plus ``~105`` bytes per UID of per-UID fields, and a Yuma scratch
per thread (``~13 uids**2`` bytes). :func:`run_memory_bytes` adds these to the interpreter and
the Parquet writer's buffers; :func:`check_memory` refuses a run whose estimate exceeds the
memory available (``MemAvailable`` of ``/proc/meminfo``, tightened by a cgroup limit when there
is one; ``os.sysconf`` elsewhere; no check when neither can be read).

:func:`output_bytes` estimates the run directory's size from the rows it will hold (compressed
Parquet: about 200 bytes per subnet row, 40 per UID row); :func:`check_disk` refuses a run whose
output does not fit on the target file system.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dtaosim.errors import ConfigError

__all__ = [
    "available_memory",
    "check_disk",
    "check_memory",
    "format_bytes",
    "free_disk",
    "output_bytes",
    "record_count",
    "run_memory_bytes",
]

# bytes per subnet slot of ChainState (47 int64 + 9 float64 fields) and per run (15 int64)
_CHAIN_SLOT = (47 + 9) * 8
_CHAIN_RUN = 15 * 8
# bytes per UID of NeuronState outside weights/bonds (10 int64 + 3 float64 + permit), and per
# slot (21 int64 hyperparameters)
_UID_FIELDS = 10 * 8 + 3 * 8 + 1
_SLOT_HYPER = 21 * 8
_SCRATCH_PER_UID2 = 14  # Yuma working matrices per thread (float64 + float32 + bool rows)
_BASE = 700 * 2**20  # interpreter, numba, pyarrow: ~0.3 GB warm, ~0.9 GB while compiling
_WRITER = 200 * 2**20  # Parquet buffers: up to 2 x 262,144 rows per file
# compressed Parquet bytes per row (measured on default runs, rounded up)
_TS_ROW = 200
_NET_ROW = 400
_UID_ROW = 40


def format_bytes(n: float) -> str:
    """``n`` bytes as ``"12.3 GB"`` (powers of 1024 with SI-style names)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB", "EB"):
        if abs(n) < 1024 or unit == "EB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def run_memory_bytes(runs: int, slots: int, uids: int, threads: int = 1) -> int:
    """Estimated peak memory (bytes) of a run: state, neurons, scratch, writer, interpreter.

    Parameters
    ----------
    runs, slots, uids
        Monte Carlo runs, subnet slots (``max(128, largest netuid)``) and UIDs per subnet
        (0: aggregate holders, no neurons).
    threads
        Kernel threads (each holds a Yuma scratch).
    """
    chain = runs * (slots * _CHAIN_SLOT + _CHAIN_RUN)
    neurons = runs * slots * (uids * uids * 4 + uids * _UID_FIELDS + _SLOT_HYPER) if uids else 0
    scratch = threads * _SCRATCH_PER_UID2 * uids * uids
    # the working state and the first state (summary) for the chain; neurons once (the run
    # advances them in place), plus a tenth for the temporaries of building and recording them
    return int(_BASE + _WRITER + 2 * chain + 1.1 * neurons + scratch)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """Room left under a cgroup v2 (or v1) memory limit, if the process has one."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit_text = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max":
            return None
        try:
            limit = int(limit_text)
        except ValueError:
            continue
        if limit >= 2**60:  # v1's "no limit"
            return None
        return max(limit - usage, 0)
    return None


def available_memory() -> int | None:
    """Memory available to a new allocation (bytes), or ``None`` if it cannot be told.

    ``MemAvailable`` from ``/proc/meminfo`` (Linux), else ``os.sysconf`` available pages; the
    smaller of that and the room under a cgroup memory limit.
    """
    avail = _meminfo_available()
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            avail = None
    room = _cgroup_available()
    if room is not None:
        avail = room if avail is None else min(avail, room)
    return avail


def check_memory(runs: int, slots: int, uids: int, threads: int = 1) -> None:
    """Refuse (one line) a run whose estimated memory exceeds what is available.

    Raises
    ------
    ConfigError
        Naming the estimate, its main term and the memory available.
    """
    need = run_memory_bytes(runs, slots, uids, threads)
    have = available_memory()
    if have is None or need <= have:
        return
    what = (f"{runs:,} run{'s' if runs != 1 else ''} x {slots:,} subnet slots"
            + (f" x {uids:,} UIDs, whose weights and bonds take 4 bytes x UIDs^2 per subnet"
               if uids else ""))
    hint = "use fewer --runs or --uids (0: aggregate holders)" if uids else "use fewer --runs"
    raise ConfigError(f"this run needs about {format_bytes(need)} of memory ({what}) but only "
                      f"{format_bytes(have)} is available; {hint}")


def record_count(blocks: int, record_every: int) -> int:
    """Records a run writes: the start, every ``record_every`` blocks and the end."""
    return 1 + blocks // record_every + (1 if blocks % record_every else 0)


def output_bytes(runs: int, slots: int, uids: int, blocks: int, record_every: int) -> int:
    """Estimated size (bytes) of a run directory's Parquet files."""
    records = record_count(blocks, record_every)
    per_record = runs * (slots * _TS_ROW + _NET_ROW + slots * uids * _UID_ROW)
    return records * per_record + 64 * 1024


def free_disk(path: Path) -> int | None:
    """Free bytes on the file system holding ``path`` (its nearest existing ancestor)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def check_disk(where: Path, runs: int, slots: int, uids: int, blocks: int,
               record_every: int) -> None:
    """Refuse (one line) a run whose output would not fit on the file system of ``where``.

    Raises
    ------
    ConfigError
        Naming the estimate, the free space and the directory.
    """
    need = output_bytes(runs, slots, uids, blocks, record_every)
    free = free_disk(where)
    if free is None or need <= free:
        return
    raise ConfigError(
        f"the run directory needs about {format_bytes(need)} but only {format_bytes(free)} is "
        f"free on {where}; record less often (--record-every), use fewer --runs or another --out"
    )
