"""How far the chain-only hot loop is from one core's limit (issue #4).

The work of one subnet-block of ``dtaosim.chain.kernel._block`` is counted from the source
(common path: eligible and enabled subnet, small chain buy, no epoch due) for the full HEAD
mechanism ``price-burn-2026-06`` and for the peer benchmark's reduced model (``dtao-2025-02``
without owner cut, root stake or epochs). ``PHASES`` below lists, per loop of ``_block``, the
8-byte loads and stores *as the kernel is written* (each phase is its own loop over contiguous
per-subnet rows, so scratch rows are stored by one loop and loaded again by the next), the
float operations (add, sub, mul, min/max, compare, select), the float divisions, the integer
operations (add, sub, logic, compare, select, shift, mul) and the int <-> float conversions.
``MINIMAL`` is the traffic if every state field were touched once per block (a fully fused
kernel). Counts are by hand and good to about 15%.

The machine's throughput for each kind of operation is *measured* on this core with simple
vectorised numba loops over L1-resident rows (the same compiler, flags and vector width as the
kernel; best of 128- and 1024-long rows), and the clock from a 4-cycle dependency chain
(``imul`` 3 cycles + ``xor`` 1 cycle). The limit of a subnet-block is then

* vector ALU time: float ops + integer ops + conversions, each at its measured rate (they share
  the four vector pipes, so they add up; conversions at the better of the compiler's rate and
  that of an exact bit-trick sequence, ``_i2f_bits`` / ``_f2i_bits``); divider time: divisions
  at the measured rate (the
  divider runs alongside the other pipes: 16 float ops + 1 division per element cost as much as
  the 16 float ops alone); memory: loads and stores at their measured rates (separate units);
* **strict limit** = max(vector ALU, divider, fused memory traffic): every unit busy at once;
* per-loop bound = the sum over the kernel's loops of each loop's slowest unit (the kernel as
  structured, every loop perfect);
* additive bound = max(vector ALU + divider, memory as written): the previous report's
  estimate, which added division time to the other pipes';
* no-overlap bound = vector ALU + divider + loads + stores.

The kernel itself is timed on the default network (128 subnets, 1 run, numba threads = 1).

Usage::

    python benchmarks/limit.py          # ~40 s; prints Markdown tables
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

from dtaosim.chain.yuma.intrinsics import _bits_from_f64, _f64_from_bits  # bitcast intrinsics

# (phase, loads, stores, float ops, divisions, integer ops, conversions) per subnet-block
PHASES: dict[str, list[tuple[str, int, int, int, int, int, int]]] = {
    "head": [
        ("UID burn decay (every slot)", 2, 1, 0, 0, 9, 0),
        ("eligibility + sum of EMAs", 6, 3, 2, 0, 8, 0),
        ("alpha emission (halving test)", 2, 1, 0, 0, 5, 0),
        ("root proportion", 2, 1, 3, 1, 1, 1),
        ("shares: EMA x (1 - burn), two normalisations, enabled flag", 10, 4, 6, 2, 3, 0),
        ("E_i, share and emission records", 5, 4, 3, 0, 0, 0),
        ("injection terms: cap rho x alpha_em, E/p, floors (E = 0 if not eligible)", 4, 4, 11, 1,
         3, 4),
        ("balancer weight", 5, 3, 13, 1, 6, 4),
        ("chain buy: small-trade series", 4, 1, 38, 3, 0, 3),
        ("chain buy: large-trade test", 3, 0, 5, 0, 6, 2),
        ("chain buy: guards (Balancer loop)", 4, 2, 1, 0, 12, 1),
        ("apply: reserves, protocol alpha, counters, last_*", 22, 12, 0, 0, 13, 0),
        ("mint alpha_out", 6, 4, 0, 0, 5, 0),
        ("split into owner/server/validator/root", 7, 5, 8, 1, 15, 6),
        ("root alpha to pending", 2, 2, 0, 0, 1, 0),
        ("epoch due test", 3, 0, 0, 0, 7, 0),
        ("price EMA (ramped, capped at 1) and next start price", 6, 2, 15, 2, 3, 3),
    ],
    "reduced": [
        ("UID burn decay (every slot)", 2, 1, 0, 0, 9, 0),
        ("eligibility + sum of EMAs", 6, 3, 2, 0, 8, 0),
        ("alpha emission (halving test)", 2, 1, 0, 0, 5, 0),
        ("root proportion (no root stake: 0, no division)", 0, 1, 0, 0, 0, 0),
        ("shares: EMA / sum", 4, 2, 2, 1, 0, 0),
        ("E_i, share and emission records", 5, 4, 3, 0, 0, 0),
        ("injection terms: launch, min(E/p, alpha_em), eligibility, floors", 4, 3, 9, 1, 0, 4),
        ("chain buy: small-trade series (excess is 0, still computed)", 4, 1, 38, 3, 0, 3),
        ("chain buy: large-trade test", 3, 0, 5, 0, 6, 2),
        ("chain buy: guards (constant-product loop)", 3, 2, 1, 0, 13, 1),
        ("apply: reserves, recycled alpha, counters, last_*", 21, 11, 0, 0, 12, 0),
        ("mint alpha_out", 6, 4, 0, 0, 5, 0),
        ("split into owner/server/validator/root (root proportion 0)", 6, 5, 5, 0, 15, 5),
        ("root alpha sold each block (scalar test, none)", 1, 0, 0, 0, 1, 0),
        ("legacy epoch test (scalar, tempo 0)", 2, 0, 0, 0, 4, 0),
        ("price EMA (plain) and next start price", 5, 2, 9, 1, 0, 2),
    ],
}
# every state field touched once per block (+ the carried start price): (loads, stores)
MINIMAL = {"head": (29, 26), "reduced": (26, 24)}
LABEL = {"head": "HEAD `price-burn-2026-06`",
         "reduced": "reduced model (`dtao-2025-02`, peers)"}


# ---------------------------------------------------------------------------- primitives
@njit(cache=True)
def _xmul_chain(x, k, n):
    for _ in range(n):
        x = (x * k) ^ (x >> 7)  # imul (3 cycles) || shr, then xor (1 cycle): 4 cycles
    return x


@njit(cache=True, error_model="numpy")
def _fp(a, b, c, reps):
    """16 float ops per element: two independent chains of 8 mul and 8 add."""
    for _ in range(reps):
        for i in range(a.shape[0]):
            x = a[i]
            y = b[i]
            t1 = x * y
            t2 = x + y
            for _k in range(7):
                t1 = t1 * y
                t2 = t2 + y
            c[i] = t1 + t2
        a[0] = c[1] * 1e-300 + 1.0


@njit(cache=True, error_model="numpy")
def _int(a, b, c, reps):
    """16 integer ops per element (add, xor)."""
    for _ in range(reps):
        for i in range(a.shape[0]):
            x = a[i]
            y = b[i]
            t = x
            for _k in range(8):
                t = (t + y) ^ x
            c[i] = t
        a[0] = c[1] & 1


@njit(cache=True, error_model="numpy")
def _div(a, b, c, reps):
    for _ in range(reps):
        for i in range(a.shape[0]):
            c[i] = a[i] / b[i]
        a[0] = c[1]


@njit(cache=True, error_model="numpy")
def _cvt(ia, ib, reps):
    """Two conversions per element: int64 -> float64 -> int64."""
    for _ in range(reps):
        for i in range(ia.shape[0]):
            ib[i] = int(float(ia[i]) * 0.5)
        ia[0] = ib[1]


# exact full-range int64 <-> float64 without a conversion instruction (32-bit halves and
# magic constants; bitcasts vectorise): the alternative to the compiler's conversion where the
# vector unit has no packed one (AVX2). x = xh 2**32 + xl; 3 2**83 has an ulp of 2**32.
_M_HI = 0x4538000000000000  # bits of 3 * 2**83
_C_HI = 3.0 * 2.0**83 + 2.0**52
_B52 = 0x4330000000000000  # bits of 2**52


@njit(cache=True, inline="always", error_model="numpy")
def _i2f_bits(x):
    """float64(x) for any int64, one rounding (as the conversion instruction)."""
    dh = _f64_from_bits((x >> 32) + _M_HI)  # 3 2**83 + xh 2**32, exact
    dl = _f64_from_bits((x & 0xFFFFFFFF) | _B52)  # 2**52 + xl, exact
    return (dh - _C_HI) + dl


@njit(cache=True, inline="always", error_model="numpy")
def _f2i_bits(d):
    """int64(d) (truncation) for 0 <= d < 2**63."""
    t = np.trunc(d)
    hi = np.trunc(t * 2.0**-32)
    lo = t - hi * 4294967296.0  # exact, in [0, 2**32)
    return ((_bits_from_f64(hi + 2.0**52) - _B52) << 32) + (_bits_from_f64(lo + 2.0**52) - _B52)


@njit(cache=True, error_model="numpy")
def _cvt_bits(ia, ib, reps):
    """As :func:`_cvt` with the bit-trick conversions."""
    for _ in range(reps):
        for i in range(ia.shape[0]):
            ib[i] = _f2i_bits(_i2f_bits(ia[i]) * 0.5)
        ia[0] = ib[1]


@njit(cache=True, error_model="numpy")
def _load8(m, d, reps):
    """Eight loads and one store per element."""
    n = m.shape[1]
    a, b, c, e, f, g, h, k = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    for _ in range(reps):
        for i in range(n):
            d[i] = a[i] + b[i] + c[i] + e[i] + f[i] + g[i] + h[i] + k[i]
        a[0] = d[1] & 1


@njit(cache=True, error_model="numpy")
def _store4(m, reps):
    """Four stores per element."""
    n = m.shape[1]
    a, b, c, e = m[0], m[1], m[2], m[3]
    for r in range(reps):
        for i in range(n):
            a[i] = r
            b[i] = r + 1
            c[i] = r + 2
            e[i] = r + 3


@njit(cache=True, error_model="numpy")
def _copy_rows(src, dst, reps):
    rows, n = src.shape
    for _ in range(reps):
        for r in range(rows):
            s = src[r]
            d = dst[r]
            for i in range(n):
                d[i] = s[i] + 1
        src[0, 0] = dst[rows - 1, 0]


def _median_time(fn, repeats: int = 7) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def aligned(shape, dtype, offset: int = 0) -> np.ndarray:
    """Zeroed array whose data starts ``offset`` bytes past a 64-byte (cache-line) boundary.

    NumPy only guarantees 16-byte alignment; a 512-bit load from a misaligned row spans two
    cache lines, so the primitives below use aligned rows (the machine's capability).
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.zeros(nbytes + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    return raw[start:start + nbytes].view(dtype).reshape(shape)


@njit(cache=True, error_model="numpy")
def _bits_roundtrip(x, d, xf, di):
    for i in range(x.shape[0]):
        xf[i] = _i2f_bits(x[i])
    for i in range(d.shape[0]):
        di[i] = _f2i_bits(d[i])


def _check_bit_trick() -> None:
    """The bit-trick conversions equal NumPy's on edge and random values (or this stops)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([np.array([0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**32, 2**32 - 1],
                                 dtype=np.int64), rng.integers(-(2**63), 2**63 - 1, 4096)])
    d = np.concatenate([np.array([0.0, 0.999, 2.0**52 + 1.0, 2.0**63 - 1024.0]),
                        np.abs(rng.standard_normal(4096)) * 10.0 ** rng.integers(0, 18, 4096)])
    xf = np.empty(x.shape[0])
    di = np.empty(d.shape[0], np.int64)
    _bits_roundtrip(x, d, xf, di)
    assert np.array_equal(xf, x.astype(np.float64)) and np.array_equal(di, d.astype(np.int64))


def machine() -> dict:
    """Clock (GHz) and measured operations per cycle on this core."""
    _check_bit_trick()
    n_chain = 100_000_000
    ghz = 4 / (_median_time(lambda: _xmul_chain(3, 0x9E3779B97F4A7C15, n_chain)) / n_chain
               * 1e9)
    rng = np.random.default_rng(0)
    per_cycle: dict[str, float] = {}

    def best(key: str, fn, ops: int) -> None:
        t = _median_time(fn) / ops
        per_cycle[key] = max(per_cycle.get(key, 0.0), 1.0 / (t * 1e9 * ghz))

    for n in (128, 1024):
        reps = 1_000_000 * 128 // n
        a = aligned(n, np.float64)
        a[:] = rng.uniform(1.0, 1.0000001, n)
        b = aligned(n, np.float64)
        b[:] = a
        c = aligned(n, np.float64)
        ia = aligned(n, np.int64)
        ia[:] = rng.integers(0, 10**15, n)
        ia2 = aligned(n, np.int64)
        ia2[:] = ia
        ib = aligned(n, np.int64)
        r4 = reps // 4
        best("float op", lambda a=a, b=b, c=c, r=r4: _fp(a, b, c, r), r4 * n * 16)
        best("integer op", lambda a=ia, b=ia2, c=ib, r=r4: _int(a, b, c, r), r4 * n * 16)
        best("division", lambda a=a, b=b, c=c, r=reps: _div(a, b, c, r), reps * n)
        best("conversion", lambda a=ia, b=ib, r=reps: _cvt(a, b, r), reps * n * 2)
        best("conversion, bit trick", lambda a=ia, b=ib, r=reps: _cvt_bits(a, b, r),
             reps * n * 2)
        if 9 * n * 8 <= 40 * 1024:  # keep the rows in L1
            m8 = aligned((8, n), np.int64)
            d = aligned(n, np.int64)
            best("load", lambda m=m8, d=d, r=reps: _load8(m, d, r), reps * n * 8)
            m4 = aligned((4, n), np.int64)
            best("store", lambda m=m4, r=reps: _store4(m, r), reps * n * 4)
    src = aligned((4, 8192), np.int64)  # 256 KiB + 256 KiB: L2
    dst = aligned((4, 8192), np.int64)
    t_l2 = _median_time(lambda: _copy_rows(src, dst, 1000)) / (1000 * 4 * 8192)
    return {"ghz": ghz, "per_cycle": per_cycle, "l2_copy_bytes_per_cycle": 16 / (t_l2 * 1e9 * ghz)}


def estimate(key: str, mach: dict) -> dict:
    """Cycles per subnet-block under three overlap models (see the module docstring)."""
    pc = mach["per_cycle"]

    def units(loads, stores, fp, div, iop, cvt):
        # conversions at the better of the compiler's and the exact bit-trick sequence's rate
        cv = max(pc["conversion"], pc["conversion, bit trick"])
        return {"alu": fp / pc["float op"] + iop / pc["integer op"] + cvt / cv,
                "div": div / pc["division"], "load": loads / pc["load"],
                "store": stores / pc["store"]}

    tot = np.sum([row[1:] for row in PHASES[key]], axis=0)
    loads, stores, fp, div, iop, cvt = (int(v) for v in tot)
    u = units(loads, stores, fp, div, iop, cvt)
    ml, ms = MINIMAL[key]
    mem_min = max(ml / pc["load"], ms / pc["store"])
    return {"loads": loads, "stores": stores, "fp": fp, "div": div, "int": iop, "cvt": cvt,
            "alu": u["alu"], "div_t": u["div"], "mem_written": max(u["load"], u["store"]),
            "mem_min": mem_min,
            # every unit busy at once, fused traffic: the machine's limit for this work
            "strict": max(u["alu"], u["div"], mem_min),
            # the kernel's loops one after another, each at its slowest unit
            "per_loop": sum(max(units(*row[1:]).values()) for row in PHASES[key]),
            # the previous report's estimate: divisions added to the other pipes' time
            "additive": max(u["alu"] + u["div"], max(u["load"], u["store"])),
            "no_overlap": u["alu"] + u["div"] + u["load"] + u["store"],
            "float_only": max(fp / pc["float op"], u["div"])}


def engine(blocks: int = 144_000, repeats: int = 7) -> dict:
    """ns per subnet-block of the compiled kernel, 1 run of 128 subnets, one thread."""
    import numba

    from dtaosim.chain.engine import run_blocks
    from dtaosim.chain.presets import get_mechanism
    from dtaosim.io.snapshot import default_snapshot, snapshot_to_state

    sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
    import model as peer_model

    numba.set_num_threads(1)
    head = get_mechanism("price-burn-2026-06")
    cases = {"head": (snapshot_to_state(default_snapshot(), 1, mech=head), head),
             "reduced": (peer_model.dtaosim_state("default", 1), peer_model.mechanism())}
    out = {}
    for key, (st, mech) in cases.items():
        for checks in (False, True):
            t = _median_time(lambda st=st, mech=mech, checks=checks: run_blocks(
                st, mech, blocks, check_invariants=checks), repeats)
            out[(key, checks)] = t / (blocks * st.subnets) * 1e9
        # ChainState storage is 64-byte aligned itself (since f6014f9): same figure
        out[(key, "aligned")] = out[(key, False)]
    return out


def _median_dict(ds: list[dict]) -> dict:
    return {k: statistics.median(d[k] for d in ds) for k in ds[0]}


def main(emit=print, rounds: int = 3) -> dict:
    """``rounds`` alternations of (machine, kernel); medians, and the ratio of each round.

    The core's boost clock drifts with the host's load (4.2-4.5 GHz seen), so the primitives
    and the kernel are measured close together, several times, and ratios taken per round.
    """
    machs, engs, ratios = [], [], []
    for _ in range(rounds):
        m = machine()
        e = engine()
        machs.append(m)
        engs.append(e)
        ratios.append({k: e[(k, False)] / (estimate(k, m)["strict"] / m["ghz"]) for k in PHASES})
    ghz = statistics.median(m["ghz"] for m in machs)
    pc = _median_dict([m["per_cycle"] for m in machs])
    mach = {"ghz": ghz, "per_cycle": pc, "l2_copy_bytes_per_cycle": statistics.median(
        m["l2_copy_bytes_per_cycle"] for m in machs)}
    eng = _median_dict(engs)
    est = {k: estimate(k, mach) for k in PHASES}
    emit(f"\n### Measured machine (one core; clock {ghz:.2f} GHz, median of {rounds} rounds, "
         f"from a 4-cycle dependency chain; seen {min(m['ghz'] for m in machs):.2f}-"
         f"{max(m['ghz'] for m in machs):.2f})\n")
    emit("| operation (vectorised numba loop, 64-byte aligned L1-resident rows) | per cycle "
         "| ns each |")
    emit("|---|---:|---:|")
    for k in ("load", "store", "float op", "integer op", "conversion", "conversion, bit trick",
              "division"):
        emit(f"| {k} (8-byte lanes) | {pc[k]:.1f} | {1 / (pc[k] * ghz):.4f} |")
    emit(f"| L2 row copy (512 KiB), bytes moved | {mach['l2_copy_bytes_per_cycle']:.0f} B | - |")
    emit("\n### Work per subnet-block (counted from `chain/kernel.py`, common path)\n")
    emit("| mechanism | loads (as written / minimal) | stores (as written / minimal) "
         "| bytes (as written / minimal) | float ops | of which divisions | integer ops "
         "| conversions |")
    emit("|---|---:|---:|---:|---:|---:|---:|---:|")
    for k, e in est.items():
        ml, ms = MINIMAL[k]
        emit(f"| {LABEL[k]} | {e['loads']} / {ml} | {e['stores']} / {ms} | "
             f"{8 * (e['loads'] + e['stores'])} / {8 * (ml + ms)} | {e['fp'] + e['div']} | "
             f"{e['div']} | {e['int']} | {e['cvt']} |")
    emit(f"\n### Limit and the kernel (ns per subnet-block at 128 subnets, 1 run, one core; "
         f"medians of {rounds} rounds)\n")
    emit("| mechanism | vector ALU | divider | memory as written / fused | **limit (strict)** "
         "| per-loop bound | additive bound | no-overlap | kernel, checks off "
         "| **x strict** (per round) | x per-loop | x additive | kernel, checks on "
         "| kernel, aligned storage |")
    emit("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    res = {"machine": mach, "estimate": est, "engine_ns": {f"{k}_{c}": v for (k, c), v in
                                                           eng.items()},
           "ratios": ratios}
    for k, e in est.items():
        ns = {x: e[x] / ghz for x in ("alu", "div_t", "mem_written", "mem_min", "strict",
                                      "per_loop", "additive", "no_overlap")}
        kern = eng[(k, False)]
        per_round = ", ".join(f"{r[k]:.2f}" for r in ratios)
        emit(f"| {LABEL[k]} | {ns['alu']:.2f} | {ns['div_t']:.2f} | {ns['mem_written']:.2f} / "
             f"{ns['mem_min']:.2f} | **{ns['strict']:.2f}** | {ns['per_loop']:.2f} | "
             f"{ns['additive']:.2f} | {ns['no_overlap']:.2f} | {kern:.2f} | "
             f"**{kern / ns['strict']:.2f}** ({per_round}) | {kern / ns['per_loop']:.2f} | "
             f"{kern / ns['additive']:.2f} | {eng[(k, True)]:.2f} | "
             f"{eng[(k, 'aligned')]:.2f} |")
        res[f"ratio_{k}"] = {"strict": kern / ns["strict"], "per_loop": kern / ns["per_loop"],
                             "additive": kern / ns["additive"]}
    emit(f"\n(cycles = ns x {ghz:.2f}. Vector ALU = float ops + integer ops + conversions, "
         "which share the vector pipes; the divider works alongside them. The kernel's time "
         "includes its per-block fixed costs, which the per-subnet bounds do not. `aligned "
         "storage`: `ChainState` allocates its storage 64-byte aligned itself, so this column "
         "repeats the kernel's time. Conversions are counted at the better of two measured "
         "rates: the compiler's (without AVX-512 there is no packed int64 <-> float64 "
         "instruction and LLVM converts lane by lane) and an exact vectorised bit-trick "
         "sequence's.)")
    return res


if __name__ == "__main__":
    main()
