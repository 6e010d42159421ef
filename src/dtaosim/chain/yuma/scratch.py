"""Working memory of the compiled Yuma epoch: the scratch layout (named rows of its vector
blocks) and :func:`yuma_scratch`, which allocates it once per thread."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from dtaosim.chain.yuma.intrinsics import _EXP_CONSTS

_PAD = 8  # scratch row padding (elements): keeps rows of the working matrices off one cache set
# scratch layout: rows of the float64 vector block (fv), the float32 block (ff), int64 (iv)
_F_TMP, _F_UA, _F_VMIN, _F_VMAX, _F_POS, _F_C1, _F_C2, _F_C3, _F_RANK = range(9)
_F_CS, _F_CMF, _F_VALS, _F_STKS, _F_BUFV, _F_BUFS = range(9, 15)
_N_FV = 15
_G_LO, _G_HI, _G_LO2, _G_HI2, _G_MID, _G_FM, _G_UF, _G_UNSURE = range(8)
_N_FF = 8
_I_ROWS, _I_MROWS, _I_REGV, _I_RECENT = range(4)
_N_IV = 4


@njit(cache=True)
def yuma_scratch(n: int, max_rows: int = -1) -> tuple[Any, ...]:
    """Working memory of :func:`yuma_subnet` for subnets of up to ``n`` UIDs.

    Allocate once per thread (e.g. once per run inside a ``prange``) and reuse it for every
    call; a scratch must not be shared by concurrent calls. Callable from ``@njit`` code.

    Parameters
    ----------
    n : int
        Largest number of UIDs (the length of the per-UID arrays) it will serve.
    max_rows : int, optional
        Largest number of UIDs holding ``P_old`` or ``P_new`` in one call (the rows the epoch
        works on). Default (-1): ``n``, always enough. With ``k = MaxAllowedValidators``,
        ``2 k + 2`` is enough when the stored permits come from earlier epochs (``P_old``: at
        most ``k`` plus the owner; ``P_new``: the same); :func:`yuma_subnet` raises
        ``ValueError`` if a call needs more.

    Returns
    -------
    tuple
        ``(fv, ff, wk, wf, iv, pold, pk, kc)``: float64 ``(15, n)`` and float32 ``(8, n)``
        vectors; float64 and float32 ``(max_rows, n + 8)`` working matrices; int64
        ``(4, n)`` vectors; bool ``(n,)``; bool ``(max_rows, n)`` presence matrix; float64
        constants (read only). About
        ``13 x max_rows x n + 180 x n`` bytes (``n = 256``, ``max_rows = 256``: 0.9 MB;
        ``max_rows = 130``: 0.5 MB).
    """
    rows = n if max_rows < 0 else min(max_rows, n)
    return (np.zeros((_N_FV, n)), np.zeros((_N_FF, n), dtype=np.float32),
            np.zeros((rows, n + _PAD)), np.zeros((rows, n + _PAD), dtype=np.float32),
            np.zeros((_N_IV, n), dtype=np.int64), np.zeros(n, dtype=np.bool_),
            np.zeros((rows, n), dtype=np.bool_), np.array(_EXP_CONSTS))
