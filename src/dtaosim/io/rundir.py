"""Run directories on disk: what counts as one, names that never collide, the code that wrote it.

A *run directory* is what ``dtaosim run`` writes (:class:`~dtaosim.io.results.RunWriter`): a
``manifest.json`` whose ``format`` is :data:`RUN_FORMAT` (runs written before the marker existed
are recognised by their ``dtaosim_version`` field) and nothing but the files that manifest lists.
``--overwrite`` replaces only such a directory (:func:`overwrite_refusal`), never the working
directory or one of its parents, never a directory holding anything else.

Names are reserved atomically (:func:`reserve_dir`: ``mkdir`` fails if the name exists), so two
runs started at the same second get different directories; directories are created with the
mode the umask gives (not ``0700``, as :func:`tempfile.mkdtemp` would).

:func:`code_version` says exactly which code ran: the release, ``git describe --dirty`` when the
package is imported from a git checkout, and a SHA-256 of the package's own files (always), so a
manifest pins the code even when it was edited without a commit.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = [
    "CONFIG_FILE",
    "MANIFEST_FILE",
    "NETWORK_FILE",
    "PARQUET_FILES",
    "REPORT_FILE",
    "RUN_FORMAT",
    "SUBNETS_FILE",
    "TEAMS_FILE",
    "UIDS_FILE",
    "add_to_manifest",
    "code_version",
    "is_protected",
    "make_dir",
    "overwrite_refusal",
    "reserve_dir",
    "run_directory_files",
    "source_sha256",
    "temp_dir",
    "version_line",
]

MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.toml"
SUBNETS_FILE = "timeseries.parquet"
NETWORK_FILE = "network.parquet"
UIDS_FILE = "uids.parquet"
TEAMS_FILE = "teams.parquet"
REPORT_FILE = "report.html"
PARQUET_FILES = (SUBNETS_FILE, NETWORK_FILE, UIDS_FILE, TEAMS_FILE)
"""The tables a run directory may hold (``uids`` with UIDs, ``teams`` with agents)."""
RUN_FORMAT = "dtaosim-run"
"""Value of ``manifest.json``'s ``format`` field: marks a directory as a dtaosim run."""

_PACKAGE = Path(__file__).resolve().parents[1]  # src/dtaosim
_SOURCE_SUFFIXES = (".py", ".json", ".csv", ".md", ".toml")


# ---------------------------------------------------------------------------------- version
def _release() -> str:
    try:
        return metadata.version("dtaosim")
    except metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


def _git_describe(package: Path) -> str | None:
    """``git describe --always --dirty`` of the checkout ``package`` lives in, else ``None``."""
    root = package.parent.parent  # <checkout>/src/dtaosim
    if not (root / ".git").exists():
        return None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # a read-only look: take no lock
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=10, env=env, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def source_sha256(package: Path = _PACKAGE) -> str:
    """SHA-256 over the package's source and data files (relative path and bytes of each)."""
    digest = hashlib.sha256()
    files = sorted(p for p in package.rglob("*")
                   if p.is_file() and p.suffix in _SOURCE_SUFFIXES and "__pycache__" not in p.parts)
    for p in files:
        digest.update(p.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(p.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> dict[str, str | None]:
    """Which code is running.

    Returns
    -------
    dict
        ``release`` (the installed distribution's version), ``git`` (``git describe --always
        --dirty`` of the checkout the package is imported from, ``None`` for an installed
        copy) and ``source_sha256`` (hash of the package's ``.py`` and data files, always).
    """
    return {"release": _release(), "git": _git_describe(_PACKAGE),
            "source_sha256": source_sha256()}


def version_line() -> str:
    """One line for ``dtaosim --version``: release, git describe or the source hash."""
    v = code_version()
    where = f"git {v['git']}" if v["git"] else f"source sha256 {str(v['source_sha256'])[:12]}"
    return f"dtaosim {v['release']} ({where})"


# ---------------------------------------------------------------------------------- what is a run
def run_directory_files(path: Path) -> list[str] | None:
    """The files of run directory ``path`` per its manifest, or ``None`` if ``path`` is not
    recognisably a dtaosim run (no readable manifest with the dtaosim marker)."""
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    marked = manifest.get("format") == RUN_FORMAT or "dtaosim_version" in manifest
    files = manifest.get("files")
    if not marked or not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return [*files, MANIFEST_FILE] if MANIFEST_FILE not in files else list(files)


def add_to_manifest(path: Path, name: str) -> bool:
    """List file ``name`` among the files of run directory ``path`` (written later, e.g. the
    report), so that ``--overwrite`` still recognises the directory as all dtaosim's.

    The manifest is rewritten atomically; a directory that is not a dtaosim run directory (no
    marked manifest) is left alone.

    Returns
    -------
    bool
        Whether the manifest now lists ``name``.
    """
    target = path / MANIFEST_FILE
    try:
        manifest = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if run_directory_files(path) is None or not isinstance(manifest, dict):
        return False
    files = manifest["files"]
    if name in files:
        return True
    manifest["files"] = sorted([*files, name])
    tmp = path / f".{MANIFEST_FILE}.tmp-{os.getpid()}"
    try:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def is_protected(path: Path) -> bool:
    """True for the working directory, its parents, the home directory and the root."""
    try:
        target = path.resolve()
        cwd = Path.cwd().resolve()
    except OSError:
        return True
    if target == cwd or target in cwd.parents:
        return True
    home = Path.home().resolve() if "HOME" in os.environ else None
    return target == home or target == Path(target.anchor)


def overwrite_refusal(path: Path) -> str | None:
    """Why ``--overwrite`` may not replace the existing directory ``path`` (``None``: it may).

    Only a recognisable dtaosim run directory holding nothing but the files its manifest lists
    may be replaced; never the working directory or one of its parents.
    """
    if is_protected(path):
        return (f"refusing to overwrite {path}: it is the working directory, one of its "
                "parents or the home directory; choose another --out")
    files = run_directory_files(path)
    if files is None:
        return (f"refusing to overwrite {path}: it is not a dtaosim run directory (no dtaosim "
                "manifest.json); choose another --out or remove it yourself")
    try:
        foreign = sorted(p.name for p in path.iterdir()
                         if p.name not in files or not p.is_file() or p.is_symlink())
    except OSError as e:
        return f"refusing to overwrite {path}: cannot list it ({e.strerror or e})"
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        return (f"refusing to overwrite {path}: it holds {foreign[0]!r}{more}, which dtaosim "
                "did not write; choose another --out or remove it yourself")
    return None


# ---------------------------------------------------------------------------------- names
def make_dir(path: Path) -> None:
    """``mkdir`` with the umask's mode; raises ``FileExistsError`` if ``path`` exists."""
    os.mkdir(path, 0o777)


def reserve_dir(base: Path, *, limit: int = 10_000) -> Path:
    """Create and return the first free directory of ``base``, ``base-2``, ``base-3`` ...

    ``mkdir`` is atomic, so concurrent callers never get the same directory.
    """
    for k in range(1, limit + 1):
        candidate = base if k == 1 else base.with_name(f"{base.name}-{k}")
        try:
            make_dir(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(errno.EEXIST, f"no free name after {limit} tries", str(base))


def temp_dir(parent: Path, prefix: str) -> Path:
    """A new directory ``parent/<prefix><random>`` (mode from the umask)."""
    for _ in range(100):
        candidate = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            make_dir(candidate)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        return candidate
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(parent))  # pragma: no cover

