"""Float sums over a run's subnets in one fixed order, shared by the kernel and the reference.

A plain running sum is a chain of dependent additions (one add latency per subnet); summing in
eight interleaved lanes lets the compiled kernel overlap them (and vectorise), while the order
stays fixed and machine-independent, so the NumPy reference (:func:`lane_sum_rows`) reproduces
it bit for bit. Lane ``k`` adds elements ``k, k + 8, k + 16, ...`` of the first ``8 * (n // 8)``
in sequence; the lanes are combined as ``((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))``
and the remaining ``n % 8`` elements are added in order.

:func:`wide_sum` and :func:`wide_dot` (Yuma's row sums and dot products, compiled code only) sum
a prefix of a row in a wider fixed order, 32 lanes, written as explicit vector code (see the
comment above them); :func:`wide_lanes_reference` is their plain-Python definition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
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


# --- wide lanes over a prefix of a row, as explicit vector code ---------------------------------
#
# LLVM vectorises a float sum only when allowed to reassociate it, and then the result depends on
# how each compiled copy of a caller was optimised (issue 12). These reductions spell the vector
# code out instead, in a fixed order of their own: 32 lanes in eight ``<4 x double>`` accumulators
# (enough independent additions to hide their latency; elementwise IEEE operations), so every
# compiled copy on every machine gives the same bits. The order, for ``x[:n]`` (``x = a``, or
# ``x = a * b`` fused into each lane's accumulation as ``lane = fma(a_i, b_i, lane)``):
#
# 1. lane ``k < 32`` accumulates elements ``k, k + 32, k + 64, ...`` of the first ``32 (n // 32)``
#    elements, in order;
# 2. the four groups of eight are combined lane by lane, ``(g0 + g1) + (g2 + g3)``, giving eight
#    lanes, to which the remaining whole blocks of eight are accumulated in order (lane
#    ``k`` takes elements ``32 (n // 32) + 8 b + k``);
# 3. the eight lanes are summed as in :func:`lane_sum`, ``((l0 + l1) + (l2 + l3)) + ((l4 + l5) +
#    (l6 + l7))``, and the last ``n % 8`` elements are accumulated in order.
#
# :func:`wide_lanes_reference` computes the same in Python (exact fused multiply-adds).

WIDE = 4 * LANES


def _f64_vector(a: Any) -> bool:
    return isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.float64


def _wide_reduce(context: Any, builder: Any, arrays: list[tuple[Any, Any]], n: Any,
                 fused: bool) -> Any:
    """IR of the wide-lane reduction of ``x[:n]`` (see above); ``arrays`` holds the numba type
    and value of ``a`` (and ``b``). The 32 lanes live in eight ``<4 x double>`` values (AVX2's
    width; LLVM would put wider vectors in AVX-512 registers where it has them, so the same
    code runs on both kinds of machine). Contiguous arrays are read with vector loads, others
    element by element."""
    f64 = llvm_ir.DoubleType()
    vw = 4
    v4 = llvm_ir.VectorType(f64, vw)
    i32 = llvm_ir.IntType(32)
    intp = n.type
    mod = builder.module
    fma_v = cgutils.get_or_insert_function(
        mod, llvm_ir.FunctionType(v4, [v4, v4, v4]), "llvm.fma.v4f64")
    fma_s = cgutils.get_or_insert_function(
        mod, llvm_ir.FunctionType(f64, [f64, f64, f64]), "llvm.fma.f64")
    arys = [(ty, context.make_array(ty)(context, builder, val)) for ty, val in arrays]

    def at(k: int, i: Any) -> Any:  # pointer to element i of array k
        ty, ary = arys[k]
        if ty.layout == "C":
            return builder.gep(ary.data, [i])
        return cgutils.get_item_pointer(context, builder, ty, ary, [i], wraparound=False)

    def load4(k: int, i: Any) -> Any:
        if arys[k][0].layout == "C":
            return builder.load(builder.bitcast(at(k, i), v4.as_pointer()), align=8)
        v = llvm_ir.Constant(v4, llvm_ir.Undefined)
        for e in range(vw):
            v = builder.insert_element(v, builder.load(at(k, builder.add(i, intp(e)))), i32(e))
        return v

    def acc4(lanes: Any, i: Any) -> Any:  # lanes + x[i : i + 4]
        xs = [load4(k, i) for k in range(len(arys))]
        return builder.call(fma_v, [xs[0], xs[1], lanes]) if fused else builder.fadd(lanes, xs[0])

    zero = llvm_ir.Constant(v4, [0.0] * vw)
    m32 = builder.and_(n, intp(-WIDE))  # n - n % 32 for n >= 0
    m8 = builder.and_(n, intp(-LANES))
    r = [cgutils.alloca_once_value(builder, zero) for _ in range(WIDE // vw)]  # lanes 4k..4k+3
    with cgutils.for_range_slice(builder, intp(0), m32, intp(WIDE)) as (i, _):
        for k, rk in enumerate(r):
            builder.store(acc4(builder.load(rk), builder.add(i, intp(k * vw))), rk)
    rv = [builder.load(rk) for rk in r]
    half = [cgutils.alloca_once_value(builder, builder.fadd(  # eight lanes: (g0 + g1) + (g2 + g3)
        builder.fadd(rv[h], rv[h + 2]), builder.fadd(rv[h + 4], rv[h + 6]))) for h in (0, 1)]
    with cgutils.for_range_slice(builder, m32, m8, intp(LANES)) as (i, _):
        for h in (0, 1):
            builder.store(acc4(builder.load(half[h]), builder.add(i, intp(h * vw))), half[h])
    ln = [builder.extract_element(builder.load(half[k // vw]), i32(k % vw))
          for k in range(LANES)]
    s = builder.fadd(builder.fadd(builder.fadd(ln[0], ln[1]), builder.fadd(ln[2], ln[3])),
                     builder.fadd(builder.fadd(ln[4], ln[5]), builder.fadd(ln[6], ln[7])))
    tot = cgutils.alloca_once_value(builder, s)
    with cgutils.for_range_slice(builder, m8, n, intp(1)) as (i, _):
        xs = [builder.load(at(k, i)) for k in range(len(arys))]
        if fused:
            builder.store(builder.call(fma_s, [xs[0], xs[1], builder.load(tot)]), tot)
        else:
            builder.store(builder.fadd(builder.load(tot), xs[0]), tot)
    return builder.load(tot)


@intrinsic
def wide_sum(typingctx: Any, a: Any, n: Any) -> Any:  # pragma: no cover - compile time
    """Sum of ``a[:n]`` in the wide-lane order (see above): ``a`` a 1-D float64 array,
    ``0 <= n <= len(a)`` (not checked). Vector code, fastest on a contiguous ``a``; compiled
    code only."""
    if not (_f64_vector(a) and isinstance(n, types.Integer)):
        return None
    sig = types.float64(a, types.intp)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return _wide_reduce(context, builder, [(signature.args[0], args[0])], args[1],
                            fused=False)

    return sig, codegen


@intrinsic
def wide_dot(typingctx: Any, a: Any, b: Any, n: Any) -> Any:  # pragma: no cover - compile time
    """``sum(a[:n] * b[:n])`` in the wide-lane order with fused multiply-adds (see above):
    ``a``, ``b`` 1-D float64 arrays of length ``>= n`` (not checked). Vector code, fastest on
    contiguous arrays; compiled code only."""
    if not (_f64_vector(a) and _f64_vector(b) and isinstance(n, types.Integer)):
        return None
    sig = types.float64(a, b, types.intp)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return _wide_reduce(context, builder, [(signature.args[0], args[0]),
                                               (signature.args[1], args[1])], args[2],
                            fused=True)

    return sig, codegen


def wide_lanes_reference(a: NDArray[np.float64], b: NDArray[np.float64] | None = None) -> float:
    """:func:`wide_sum` of ``a`` (or :func:`wide_dot` of ``a`` and ``b``) in plain Python, for
    tests: the same order, fused multiply-adds rounded exactly (via fractions)."""
    from fractions import Fraction

    def acc(lane: float, i: int) -> float:
        if b is None:
            return lane + float(a[i])
        return float(Fraction(float(a[i])) * Fraction(float(b[i])) + Fraction(lane))

    n = len(a)
    m32 = n - n % WIDE
    m8 = n - n % LANES
    w = [0.0] * WIDE
    for i in range(m32):
        w[i % WIDE] = acc(w[i % WIDE], i)
    ln = [(w[k] + w[k + 8]) + (w[k + 16] + w[k + 24]) for k in range(LANES)]
    for i in range(m32, m8):
        ln[i % LANES] = acc(ln[i % LANES], i)
    s = ((ln[0] + ln[1]) + (ln[2] + ln[3])) + ((ln[4] + ln[5]) + (ln[6] + ln[7]))
    for i in range(m8, n):
        s = acc(s, i)
    return s
