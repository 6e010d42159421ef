"""Conservation checks on a whole state (NumPy), the same identities the kernel checks.

* TAO: ``total_issuance == sum(tao_reserve) + root_stake + free_tao + sum(pending_root_tao)``
  and ``total_issuance == issuance_start + minted - recycled``;
* alpha per subnet: ``alpha_out == sum(ALPHA_OUT_PARTS)`` and ``alpha_in + alpha_out ==
  alpha_issuance_start + alpha_minted - alpha_recycled``;
* no reserve, bucket or holder is negative.
"""

from __future__ import annotations

import numpy as np

from dtaosim.errors import InvariantViolation
from dtaosim.state.chain_state import ALPHA_OUT_PARTS, GI, SI, ChainState

_NON_NEGATIVE = (SI.TAO_RESERVE, SI.ALPHA_IN, SI.ALPHA_OUT, SI.PENDING_ROOT_TAO, *ALPHA_OUT_PARTS)


def check_state(state: ChainState) -> None:
    """Raise :class:`InvariantViolation` naming block, run, subnet and quantity if broken."""
    i, g = state.ints, state.gints
    ex = i[:, :, SI.EXISTS] != 0
    for f in _NON_NEGATIVE:
        bad = ex & (i[:, :, f] < 0)
        if bad.any():
            r, n = np.argwhere(bad)[0]
            raise InvariantViolation(f"{f.name.lower()} negative", state.block, int(r),
                                     int(n) + 1, f"value {int(i[r, n, f])} RAO")
    for f in (GI.ROOT_STAKE, GI.FREE_TAO):
        if (g[:, f] < 0).any():
            r = int(np.flatnonzero(g[:, f] < 0)[0])
            raise InvariantViolation(f"{f.name.lower()} negative", state.block, r, -1,
                                     f"value {int(g[r, f])} RAO")
    parts = sum(i[:, :, f] for f in ALPHA_OUT_PARTS)
    bad = ex & (parts != i[:, :, SI.ALPHA_OUT])
    if bad.any():
        r, n = np.argwhere(bad)[0]
        raise InvariantViolation("alpha_out != sum of its holders", state.block, int(r),
                                 int(n) + 1, f"off by {int(i[r, n, SI.ALPHA_OUT] - parts[r, n])}")
    issued = (i[:, :, SI.ALPHA_ISSUANCE_START] + i[:, :, SI.ALPHA_MINTED]
              - i[:, :, SI.ALPHA_RECYCLED])
    have = i[:, :, SI.ALPHA_IN] + i[:, :, SI.ALPHA_OUT]
    bad = ex & (issued != have)
    if bad.any():
        r, n = np.argwhere(bad)[0]
        raise InvariantViolation("alpha_in + alpha_out != start + minted - recycled",
                                 state.block, int(r), int(n) + 1,
                                 f"off by {int(have[r, n] - issued[r, n])} RAO")
    held = (np.where(ex, i[:, :, SI.TAO_RESERVE] + i[:, :, SI.PENDING_ROOT_TAO], 0).sum(axis=1)
            + g[:, GI.ROOT_STAKE] + g[:, GI.FREE_TAO])
    bad = held != g[:, GI.TOTAL_ISSUANCE]
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InvariantViolation("total_issuance != pools + root + free + pending root TAO",
                                 state.block, r, -1,
                                 f"off by {int(g[r, GI.TOTAL_ISSUANCE] - held[r])} RAO")
    exp = g[:, GI.ISSUANCE_START] + g[:, GI.MINTED_TAO] - g[:, GI.RECYCLED_TAO]
    bad = exp != g[:, GI.TOTAL_ISSUANCE]
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InvariantViolation("total_issuance != start + minted - recycled", state.block, r,
                                 -1, f"off by {int(g[r, GI.TOTAL_ISSUANCE] - exp[r])} RAO")
