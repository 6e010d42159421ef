"""Float sums over a run's subnets in one fixed order, shared by the kernel and the reference.

A plain running sum is a chain of dependent additions (one add latency per subnet); summing in
eight interleaved lanes lets the compiled kernel overlap them (and vectorise), while the order
stays fixed and machine-independent, so the NumPy reference (:func:`lane_sum_rows`) reproduces
it bit for bit. Lane ``k`` adds elements ``k, k + 8, k + 16, ...`` of the first ``8 * (n // 8)``
in sequence; the lanes are combined as ``((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))``
and the remaining ``n % 8`` elements are added in order.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

LANES = 8


@njit(cache=True, inline="always", error_model="numpy")
def lane_sum(a: NDArray[np.float64]) -> float:
    """Sum of a 1-D array in the fixed eight-lane order (see the module docstring)."""
    n = a.shape[0]
    m = n - n % LANES
    l0 = l1 = l2 = l3 = l4 = l5 = l6 = l7 = 0.0
    for i in range(0, m, LANES):
        l0 += a[i]
        l1 += a[i + 1]
        l2 += a[i + 2]
        l3 += a[i + 3]
        l4 += a[i + 4]
        l5 += a[i + 5]
        l6 += a[i + 6]
        l7 += a[i + 7]
    s = ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))
    for i in range(m, n):
        s += a[i]
    return s


def lane_sum_rows(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`lane_sum` of each row of a 2-D array, as a column ``(rows, 1)``."""
    a = np.asarray(a, dtype=np.float64)
    rows, n = a.shape
    m = n - n % LANES
    lanes = np.zeros((rows, LANES))
    if m:
        lanes = lanes + np.cumsum(a[:, :m].reshape(rows, m // LANES, LANES), axis=1)[:, -1, :]
    s = (((lanes[:, 0] + lanes[:, 1]) + (lanes[:, 2] + lanes[:, 3]))
         + ((lanes[:, 4] + lanes[:, 5]) + (lanes[:, 6] + lanes[:, 7])))
    for i in range(m, n):
        s = s + a[:, i]
    return s[:, None]
