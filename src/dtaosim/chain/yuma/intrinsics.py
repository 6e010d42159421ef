"""Numba building blocks of the compiled Yuma path: the floating-point flags (strict IEEE), LLVM
intrinsics (bitcasts, prefetch, fused multiply-add), branch-free ``min``/``max`` and an
inlinable, vectorisable ``exp``."""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# No fast-math (strict IEEE): with reassociation or contraction the result of a function
# depends on where LLVM inlines and vectorises it, and numba keeps several compiled copies of
# one function (its own, and one inside every caller's object code) that the JIT linker binds
# by load order, which differs between a cold and a warm cache: the same seed gave different
# bytes (issue 12). Strict IEEE makes every copy compute the same bits (docs/performance.md);
# the vectorisation it forbids is written out: chain/summation.py's wide lanes for sums, _fma.
_FASTMATH = False
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm split of ln 2: k * _LN2_HI is exact for |k| < 2**11
_LN2_LO = 1.90821492927058770002e-10


@intrinsic
def _f64_from_bits(typingctx: Any, x: Any) -> Any:  # pragma: no cover - compile time
    """Reinterpret an int64 bit pattern as a float64 (an LLVM bitcast, vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return sig, codegen


@intrinsic
def _bits_from_f64(typingctx: Any, x: Any) -> Any:  # pragma: no cover - compile time
    """Reinterpret a float64 as its int64 bit pattern (an LLVM bitcast, vectorisable)."""
    sig = types.int64(types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], llvm_ir.IntType(64))

    return sig, codegen


# 1.5 x 2**52: adding it to an integer-valued float k (|k| < 2**51) leaves k in the low
# mantissa bits, i.e. bits(k + _SHIFTER) - _SHIFTER_BITS == int(k) with no conversion
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = 0x4338000000000000


@intrinsic
def _prefetch(typingctx: Any, arr: Any, idx: Any) -> Any:  # pragma: no cover - compile time
    """Hint the cache to fetch ``arr[idx]`` (``llvm.prefetch``, read, into L2 and closer)."""
    sig = types.void(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i32 = llvm_ir.IntType(32)
        if getattr(ptr.type, "is_opaque", False):
            name = "llvm.prefetch.p0"
        else:
            ptr = builder.bitcast(ptr, llvm_ir.IntType(8).as_pointer())
            name = "llvm.prefetch.p0i8"
        fnty = llvm_ir.FunctionType(llvm_ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        builder.call(fn, [ptr, i32(0), i32(2), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:  # pragma: no cover - compile time
    """``a * b + c`` rounded once (``llvm.fma.f64``): one exact operation, so every compiled copy
    gives the same bits (unlike a contraction that fast-math may or may not form); vectorises
    (``vfmadd..pd``). Needs FMA hardware (x86 since Haswell / Zen), else it is a libm call."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        f64 = llvm_ir.DoubleType()
        fn = cgutils.get_or_insert_function(
            builder.module, llvm_ir.FunctionType(f64, [f64, f64, f64]), "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen


@njit(cache=True, inline="always")
def _fmin(a: float, b: float) -> float:
    return a if a < b else b


@njit(cache=True, inline="always")
def _fmax(a: float, b: float) -> float:
    return a if a > b else b


# constants of _exp: log2(e), the ln 2 split, and the coefficients of x**2 .. x**11 of the
# degree-11 polynomial interpolating exp at the Chebyshev nodes of [-ln2/2, ln2/2] (computed in
# exact rational arithmetic; relative error 1.7e-17 before float rounding)
_EXP_CONSTS = (_LOG2E, _LN2_HI, _LN2_LO, 0.5000000000000019, 0.1666666666666668,
               0.04166666666648809, 0.008333333333319601, 0.0013888888952314812,
               0.00019841269890047143, 2.480148548228773e-05, 2.7557240918547625e-06,
               2.763263965412376e-07, 2.511003761756205e-08)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _exp(x: float, c: tuple[float, ...]) -> float:
    """``exp(x)`` for ``|x| <= 700`` without a libm call, so that loops using it vectorise.

    Cody-Waite reduction ``x = k ln 2 + r`` (``|r| <= ln 2 / 2``), degree-11 near-minimax
    polynomial in Estrin's form (short dependency chains) with explicit fused multiply-adds
    (:func:`_fma`: the same bits in every compiled copy), scaling by ``2**k`` through the
    exponent bits; within 2 ulp of ``math.exp``. ``c`` holds ``_EXP_CONSTS`` as run-time values
    (loaded from the scratch before a loop, so that the loop keeps them in registers rather
    than reloading each from the constant pool).
    """
    k = np.floor(_fma(x, c[0], 0.5))  # a float: no int64 <-> float64 round trip
    r = _fma(-k, c[2], _fma(-k, c[1], x))
    r2 = r * r
    r4 = r2 * r2
    b0 = _fma(r2, _fma(r, c[4], c[3]), 1.0 + r)
    b1 = _fma(r2, _fma(r, c[8], c[7]), _fma(r, c[6], c[5]))
    b2 = _fma(r2, _fma(r, c[12], c[11]), _fma(r, c[10], c[9]))
    p = _fma(r4, _fma(r4, b2, b1), b0)
    return p * _f64_from_bits((_bits_from_f64(k + _SHIFTER) - _SHIFTER_BITS + 1023) << 52)
