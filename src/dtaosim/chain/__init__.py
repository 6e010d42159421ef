"""The chain's protocol, one module per mechanism (see ``docs/mechanics.md``).

Compiled functions here are cached on disk by numba (``cache=True``). Numba invalidates a
cached function when *its own* source file changes, not when a function it calls from another
module changes; since the block kernel inlines functions from several modules, this package
drops its own numba cache files whenever any of its sources (subpackages such as ``yuma/`` and
``pools/`` included, and those of ``state/``) differs from the last import.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# Layers below ``chain/`` whose constants or compiled functions the kernel uses.
_SHARED_LAYERS = ("state",)


def _refresh_numba_cache() -> None:
    here = Path(__file__).resolve().parent
    package = here.parent
    sources = sorted(here.rglob("*.py"))
    for layer in _SHARED_LAYERS:
        sources += sorted((package / layer).rglob("*.py"))
    digest = hashlib.sha256()
    for src in sources:
        digest.update(str(src.relative_to(package)).encode())
        digest.update(src.read_bytes())
    cache = here / "__pycache__"
    stamp = cache / "dtaosim-sources.sha256"
    try:
        if stamp.is_file() and stamp.read_text() == digest.hexdigest():
            return
        for d in package.rglob("__pycache__"):
            for f in list(d.glob("*.nbi")) + list(d.glob("*.nbc")):
                f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:  # read-only install: numba then caches elsewhere or not at all
        pass


_refresh_numba_cache()
