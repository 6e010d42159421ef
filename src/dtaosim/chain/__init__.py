"""The chain's protocol, one module per mechanism (see ``docs/mechanics.md``).

Compiled functions here are cached on disk by numba (``cache=True``). Numba invalidates a
cached function when *its own* source file changes, not when a function it calls from another
module changes; since the block kernel embeds functions from several modules (and ``agents/``
embeds chain functions), this package drops the package's numba cache files whenever any source
of ``chain/`` (subpackages such as ``yuma/`` and ``pools/`` included) or ``state/`` differs from
the last import. It does so wherever numba keeps them: ``NUMBA_CACHE_DIR`` when set, else the
source folders' ``__pycache__``, else numba's user-wide cache directory (a read-only install),
with one stamp per cache directory.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# Layers below ``chain/`` whose constants or compiled functions the kernel uses.
_SHARED_LAYERS = ("state",)
_STAMP = "dtaosim-sources.sha256"


def _sources_digest(package: Path) -> str:
    here = package / "chain"
    sources = sorted(here.rglob("*.py"))
    for layer in _SHARED_LAYERS:
        sources += sorted((package / layer).rglob("*.py"))
    digest = hashlib.sha256()
    for src in sources:
        digest.update(str(src.relative_to(package)).encode())
        digest.update(src.read_bytes())
    return digest.hexdigest()


def _locator_probe() -> None:  # pragma: no cover - never called: gives numba a function
    """A function whose code object lets numba's cache locators be asked for a folder."""


def numba_cache_dirs(package: Path) -> list[Path]:
    """The directory numba caches each source folder of ``package`` in, chosen as numba
    chooses it (``NUMBA_CACHE_DIR``, the in-tree ``__pycache__``, the user-wide cache)."""
    folders = sorted({p.parent for p in package.rglob("*.py") if "__pycache__" not in p.parts})
    try:
        from numba.core import caching

        impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # name before 0.61
        classes = list(impl._locator_classes)
    except Exception:  # numba internals differ: fall back to the in-tree caches
        return [f / "__pycache__" for f in folders]
    dirs: list[Path] = []
    for folder in folders:
        py_file = str(next(folder.glob("*.py")))
        for cls in classes:
            try:
                locator = cls.from_function(_locator_probe, py_file)
            except Exception:
                locator = None
            if locator is not None:
                dirs.append(Path(locator.get_cache_path()))
                break
    return dirs


def refresh_numba_cache(package: Path | None = None) -> list[Path]:
    """Drop ``package``'s numba cache files in every cache directory whose stamp is not the
    current sources' digest; returns the directories refreshed."""
    package = package if package is not None else Path(__file__).resolve().parent.parent
    digest = _sources_digest(package)
    refreshed = []
    for cache in numba_cache_dirs(package):
        stamp = cache / _STAMP
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
                f.unlink(missing_ok=True)
            cache.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest)
            refreshed.append(cache)
        except OSError:  # read-only location: numba then caches elsewhere or not at all
            pass
    return refreshed


refresh_numba_cache()
