"""Yuma consensus epoch, batched over many subnet-epochs (spec 6, 5.6, 9.3).

One call runs the epoch of ``B`` subnet-epochs at once (``B`` = runs x due subnets, flattened),
each with up to ``n`` UIDs (padding allowed with ``uid_mask``). Chain:
``epoch/run_epoch.rs::epoch_mechanism`` and ``epoch/math.rs`` (sparse path, the one
``epoch()`` runs). Per subnet, in the chain's order:

1. stake ``s_i = alpha_i + tao_weight x root_i``; stakes whose floor is below the stake threshold
   are zeroed (owner exempt); normalised to ``S``;
2. permits: ``P_old`` (stored, owner forced on) masks this epoch; ``P_new`` = top-k of ``S``
   among non-zero entries (stable ascending sort: the lower UID loses a tie; all non-zero when
   fewer than k UIDs exist), owner forced on;
3. active stake ``A`` = ``S`` of UIDs that are active (``last_update + cutoff >= block``) and hold
   ``P_old``, renormalised;
4. weights: rows without ``P_old`` dropped, diagonal dropped except the owner's, ``w_ij`` dropped
   when ``last_update_i <= block_at_registration_j`` (and, with commit-reveal, when the
   validator's oldest live commit predates ``j``'s registration); row-normalised;
5. consensus ``C_j`` = largest ``s`` among the column's values such that the active stake of
   validators with ``W_ij >= s`` is ``>= kappa`` (validators without an entry count as 0; the
   chain finds it with a mid-pivot partition search, which returns exactly this value);
6. clipped ``Wc = min(W, C)``; validator trust = row sums of ``Wc``; ranks ``R = A . Wc``;
   incentive ``I = R / sum(R)``;
7. bonds weights ``Wb = W + beta (Wc - W)``; classic bonds (EMA of column-normalised
   ``Wb x A`` with stored column-max-upscaled u16 bonds) or Yuma 3 bonds (EMA of ``Wb`` with the
   stored ``u16 / 65535`` bonds, liquid alpha per entry); dividends from the bonds;
8. emission: ``server = I / sum(I + D) x E``, ``validator = D / sum(I + D) x E`` floored to RAO; if
   ``sum(I + D) = 0`` validators get ``A x E`` (``S x E`` when ``A`` is all zero).

Number formats. The chain computes in ``I32F32`` (32 fractional bits; stake normalisation in
``I64F64``, emission in ``I96F32``) and floors on every multiplication, division and conversion.
The default path is float64, which differs from the chain by a few units of ``2**-32`` in the
proportions and therefore by at most a few RAO per UID in the emissions, except where a value
lands exactly on an integer: the textbook case is ``test_10_graph`` (vector Y5), where ``1/10`` in
``I32F32`` is ``429 496 729 / 2**32`` and each UID receives ``99 999 999`` RAO, not ``10**8``.
``fixed_point=True`` (NumPy reference only) runs the epoch in exact integer arithmetic on
``I32F32`` bit patterns at the chain's steps (Python integers; slow, for conformance checks).
The only inexact step there is the liquid-alpha sigmoid, whose ``exp`` is taken in float64 and
rounded to 32 fractional bits (the chain uses ``substrate_fixed``'s own series).

Bonds storage convention (both in and out, ``uint16``): classic Yuma stores column-max-upscaled
values (each column divided by its max, then ``floor(x x 65535)``); Yuma 3 stores
``floor(x x 65535)`` of the absolute bond. New bonds are written for rows holding ``P_new``;
rows holding ``P_old`` but not ``P_new`` are cleared; other rows are returned unchanged.

Sparse-path quirk (Yuma 3 with liquid alpha only, chain ``mat_ema_alpha_sparse``): a bond whose
entry is absent from the validator's bonds-weight row is dropped rather than decayed. Presence is
``weights_present`` when given, else ``weights > 0`` (the Bittensor SDK never submits zero
weights; the chain stores explicit zeros when sent, and those keep decaying).

Two implementations give the same results: :func:`yuma_epoch_numpy` (vectorised NumPy over the
whole batch, the reference; also the fixed-point path) and :func:`yuma_epoch` (numba, the fast
path). The compiled path assumes the chain's storage invariant that bond rows of UIDs holding
neither ``P_old`` nor ``P_new`` are zero (rows are cleared when a permit is lost and when a UID
is replaced).

Compiled path. :func:`yuma_subnet` runs one subnet's epoch and is callable from other ``@njit``
code (the engine's block kernel); :func:`yuma_epoch` loops it over the batch, so there is one
implementation. It allocates nothing: working memory comes from :func:`yuma_scratch` (one per
thread). It works on the ``m`` rows of UIDs holding ``P_old`` or ``P_new`` only (``O(m n)`` per
subnet), in a few contiguous, vectorised passes:

* weights: masked u16 rows converted and row-normalised (float64), the active rows also kept as
  float32 keys; the rows' bonds are prefetched meanwhile (they are read after the consensus);
* consensus: per column the bracket ``[lo, hi)`` of the answer is bisected 12 times on the
  float32 keys, all columns at once (16 rows per sweep; float32 stake sums, a decision within
  ``1e-5`` of ``kappa`` marks the column for the exact path), then one float64 sweep checks that
  the bracket holds a single distinct value, which is then exactly the chain's median; the few
  other columns are resolved exactly from their candidates (or by a weighted quickselect);
* clipping, ranks and the bonds EMA fused row by row; liquid alpha's sigmoid uses an inlined,
  vectorisable ``exp`` (Cody-Waite reduction, degree-11 polynomial, within 2 ulp of libm);
* dividends, emission.

Floating point: float64 throughout, strict IEEE (no fast-math: a fast-math function's result
depended on which of its compiled copies numba's JIT linker bound, i.e. on the state of the
on-disk cache, so the same seed gave different bytes; issue 12). The vectorisation fast-math
allowed is written out instead, so that every copy computes the same bits: sums and dot products
over a row (validator trust, weight row sums, stake sums, dividends) go through
:func:`~dtaosim.chain.summation.wide_sum` and :func:`~dtaosim.chain.summation.wide_dot` (32
lanes in a fixed order, spelled as vector code; the loops that carried such a sum store its
terms instead and vectorise elementwise), and the multiply-adds of ``exp``, the Yuma 3 bonds
EMAs and the dot products are explicit fused multiply-adds (``llvm.fma``: one rounding, the
same operation in every copy). Those orders differ from a running sum, so results differ from
earlier (sequential, unfused) versions in the last bits, by design and always the same way.
Results equal the NumPy reference to ``1e-12`` in the proportions and to one unit in the floored
RAO and u16 values; ``tests/test_yuma.py::test_compiled_copies_agree_bit_for_bit`` checks
that separately compiled copies (batched, an ``@njit`` loop, strided arrays) give equal bytes.

Numba caching caveat: a caller compiled with ``cache=True`` in another module embeds the code of
:func:`yuma_subnet`, and numba's cache does not notice when a file of this package changes;
``dtaosim.chain`` drops its own cache when any of its sources changes, other callers must clear
theirs (or not cache) after changes here.

Files: :mod:`~dtaosim.chain.yuma.common` (result type, argument handling),
:mod:`~dtaosim.chain.yuma.reference` (NumPy and fixed point), and the compiled path:
:mod:`~dtaosim.chain.yuma.compiled` (stake, permits, weights, :func:`yuma_subnet`,
:func:`yuma_epoch`), :mod:`~dtaosim.chain.yuma.consensus`, :mod:`~dtaosim.chain.yuma.bonds`
(clipping, bonds EMAs, liquid alpha, dividends), :mod:`~dtaosim.chain.yuma.scratch` (working
memory) and :mod:`~dtaosim.chain.yuma.intrinsics` (floating-point flags, LLVM intrinsics, ``exp``).
"""

from __future__ import annotations

from dtaosim.chain.yuma.common import U16_MAX, YumaResult, last_tempo_block
from dtaosim.chain.yuma.compiled import yuma_epoch, yuma_subnet
from dtaosim.chain.yuma.reference import yuma_epoch_numpy
from dtaosim.chain.yuma.scratch import yuma_scratch

__all__ = [
    "U16_MAX",
    "YumaResult",
    "last_tempo_block",
    "yuma_epoch",
    "yuma_epoch_numpy",
    "yuma_scratch",
    "yuma_subnet",
]
