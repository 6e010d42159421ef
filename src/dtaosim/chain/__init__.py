"""The chain's protocol, one module per mechanism (see ``docs/mechanics.md``).

Compiled functions here are cached on disk by numba (``cache=True``). Numba invalidates a
cached function when *its own* source file changes, not when a function it calls from another
module changes; since the block kernel inlines functions from several modules, this package
drops its own numba cache files whenever any of its sources differs from the last import.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# Package modules outside ``chain/`` whose constants or compiled functions the kernel uses.
_SHARED_SOURCES = ("neurons.py", "mechanisms.py", "state.py")


def _refresh_numba_cache() -> None:
    here = Path(__file__).resolve().parent
    sources = sorted(here.glob("*.py")) + [here.parent / name for name in _SHARED_SOURCES]
    digest = hashlib.sha256()
    for src in sources:
        digest.update(src.name.encode())
        digest.update(src.read_bytes())
    cache = here / "__pycache__"
    stamp = cache / "dtaosim-sources.sha256"
    try:
        if stamp.is_file() and stamp.read_text() == digest.hexdigest():
            return
        for d in (cache, here.parent / "__pycache__"):
            for f in list(d.glob("*.nbi")) + list(d.glob("*.nbc")):
                f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:  # read-only install: numba then caches elsewhere or not at all
        pass


_refresh_numba_cache()
