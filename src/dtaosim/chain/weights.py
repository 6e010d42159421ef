"""Weight setting (spec 6.8): the chain's checks and storage format, and max-weight normalisation.

Three layers, each compiled (``@njit(cache=True)``, callable from other compiled code, no
allocation):

* **The validator's side** (the Bittensor SDK, ``bittensor/utils/weight_utils.py``):
  :func:`normalize_max_weight` turns a row of non-negative scores into proportions summing to 1
  with no entry above the subnet's ``MaxWeightsLimit``; :func:`quantize_u16` converts them to
  u16 the way ``convert_weights_and_uids_for_emit`` does (max-upscaled, rounded half to even);
  :func:`weights_row_u16` does both and guarantees that the chain accepts the result.
* **The chain's arithmetic** (``epoch/math.rs``), exact on integers:
  :func:`max_upscale_u16` (``vec_u16_max_upscale_to_u16``: how every accepted row is stored, its
  largest entry 65 535) and :func:`is_max_weight_limited` (``check_vec_max_limited``).
* **The extrinsic** (``subnets/weights.rs::internal_set_weights``): :func:`check_set_weights`
  returns the chain's error code (its checks in the chain's order), :func:`set_weights` checks
  and stores a sparse ``(uids, values)`` submission in a subnet's ``weights`` matrix,
  :func:`set_weights_dense` does the same for a dense row (zero = no entry).

Checks of ``set_weights`` in the chain's order (the first failing one is reported): equal lengths
(``WeightVecNotEqualSize``); at most ``SubnetworkN`` entries (``UidsLengthExceedUidsInSubNet``);
the setter holds a UID (``HotKeyNotRegisteredInSubNet``); its stake weight
``alpha + tao_weight x root`` is at least ``StakeThreshold`` unless it is the owner's UID
(``NotEnoughStakeToSetWeights``); ``version_key >= WeightsVersionKey`` unless that is 0
(``IncorrectWeightVersionKey``); unless commit-reveal applies, ``block - last_update >=
WeightsSetRateLimit`` or ``last_update == 0`` (``SettingWeightsTooFast``); a validator permit,
unless the submission is a single self-weight or the setter is the owner
(``NeuronNoValidatorPermit``); no duplicate UIDs (``DuplicateUids``); every target holds a UID
(``UidVecContainInvalidOne``); at least ``min(MinAllowedWeights, SubnetworkN)`` entries unless a
single self-weight (``WeightVecLengthIsLow``); after max-upscaling, the normalised largest entry
is at most ``MaxWeightsLimit / 65535`` unless a single self-weight or the limit is 65 535
(``MaxWeightExceeded``). The row is then stored max-upscaled (replacing the previous row) and
``last_update`` set to the block, except under commit-reveal.

Commit-reveal (on by default at HEAD): the ``set_weights`` extrinsic itself is refused
(``CommitRevealEnabled``); weights arrive by reveal, which runs these same checks without the
rate limit and without touching ``last_update`` (the commit set it, after its own rate-limit
check). Pass ``WeightRules.commit_reveal = True`` to apply a reveal. Not modelled: the root
network, sub-subnet mechanisms (one weights matrix per subnet) and the commit queue itself.

Storage: ``weights[i, j]`` (``uint16``) is validator ``i``'s stored weight on ``j``; a row is
max-upscaled (its largest entry 65 535) or all zero. The dense form cannot hold an explicit zero
entry (the chain stores them when submitted; they only matter for the Yuma 3 liquid-alpha
sparse quirk and for the length check).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.errors import DtaosimError
from dtaosim.state.neurons import N_ALPHA_STAKE, N_HOTKEY, N_LAST_UPDATE, N_ROOT_STAKE, NeuronState

U16_MAX = 65535

# Error codes of set_weights (0 = accepted); names are the chain's ``Error`` variants.
SET_WEIGHTS_OK = 0
WEIGHT_VEC_NOT_EQUAL_SIZE = 1
UIDS_LENGTH_EXCEED_UIDS_IN_SUBNET = 2
HOTKEY_NOT_REGISTERED_IN_SUBNET = 3
NOT_ENOUGH_STAKE_TO_SET_WEIGHTS = 4
INCORRECT_WEIGHT_VERSION_KEY = 5
SETTING_WEIGHTS_TOO_FAST = 6
NEURON_NO_VALIDATOR_PERMIT = 7
DUPLICATE_UIDS = 8
UID_VEC_CONTAIN_INVALID_ONE = 9
WEIGHT_VEC_LENGTH_IS_LOW = 10
MAX_WEIGHT_EXCEEDED = 11

ERROR_NAMES: tuple[str, ...] = (
    "Ok",
    "WeightVecNotEqualSize",
    "UidsLengthExceedUidsInSubNet",
    "HotKeyNotRegisteredInSubNet",
    "NotEnoughStakeToSetWeights",
    "IncorrectWeightVersionKey",
    "SettingWeightsTooFast",
    "NeuronNoValidatorPermit",
    "DuplicateUids",
    "UidVecContainInvalidOne",
    "WeightVecLengthIsLow",
    "MaxWeightExceeded",
)
"""Chain error name of each code (index = code)."""

_ONE_Q32 = 1 << 32
_HALF_Q32 = 1 << 31
_THRESHOLD = 32768  # vec_max_upscale_to_u16: above it, divide before multiplying (I32F32 range)
_FEASIBLE_RETRIES = 6


class WeightRules(NamedTuple):
    """A subnet's weight-setting hyperparameters (chain defaults; numba-friendly).

    Attributes
    ----------
    min_allowed_weights
        ``MinAllowedWeights`` (new subnets 1).
    max_weight_limit
        ``MaxWeightsLimit`` as u16 (65 535 = no limit, the default).
    weights_rate_limit
        ``WeightsSetRateLimit`` in blocks (default 100).
    commit_reveal
        Apply the submission as a commit-reveal reveal: no rate limit, ``last_update`` untouched.
    stake_threshold
        ``StakeThreshold`` (RAO of stake weight; code default 0).
    network_version_key
        ``WeightsVersionKey`` (0 = any version accepted).
    """

    min_allowed_weights: int = 1
    max_weight_limit: int = U16_MAX
    weights_rate_limit: int = 100
    commit_reveal: bool = False
    stake_threshold: float = 0.0
    network_version_key: int = 0


class WeightsRejected(DtaosimError):
    """The chain would reject a weight submission; ``reason`` is its error name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


def error_name(code: int) -> str:
    """Chain error name of a :func:`check_set_weights` code (``"Ok"`` for 0)."""
    return ERROR_NAMES[int(code)]


# ------------------------------------------------------------------------ chain arithmetic
@njit(cache=True)
def max_upscale_u16(values: NDArray, out: NDArray) -> None:
    """The chain's ``vec_u16_max_upscale_to_u16``, exactly (I32F32 arithmetic on integers).

    With ``m`` the largest value: all zero stays zero; if ``m > 32768`` each value becomes
    ``round(v x floor_q32(65535 / m))``, else ``round(floor_q32(v x 65535 / m))``, where
    ``floor_q32`` keeps 32 fractional bits and ``round`` is half away from zero (``fixed``'s
    ``round``); the results saturate at 65 535. The largest value always maps to 65 535.

    Parameters
    ----------
    values : ndarray of int, (n,)
        u16 values (``0 <= v <= 65535``).
    out : ndarray of int, (n,)
        Output (may be ``values`` itself).
    """
    n = values.shape[0]
    m = 0
    for i in range(n):
        v = np.int64(values[i])
        if v > m:
            m = v
    if m == 0:
        for i in range(n):
            out[i] = 0
        return
    if m > _THRESHOLD:
        r = (np.int64(U16_MAX) << 32) // m  # I32F32 bits of 65535 / m (floored)
        for i in range(n):
            x = (np.int64(values[i]) * r + _HALF_Q32) >> 32
            out[i] = U16_MAX if x > U16_MAX else x
    else:
        for i in range(n):
            p = np.int64(values[i]) * U16_MAX
            q = p // m
            frac = ((p - q * m) << 32) // m  # fractional bits of p / m
            x = q + (1 if frac >= _HALF_Q32 else 0)
            out[i] = U16_MAX if x > U16_MAX else x


@njit(cache=True)
def is_max_weight_limited(values: NDArray, max_limit: int) -> bool:
    """The chain's ``check_vec_max_limited``: normalised largest entry ``<= max_limit / 65535``.

    Both sides in I32F32 with floor: ``floor(2**32 x max(v) / sum(v)) <=
    floor(2**32 x max_limit / 65535)``. Empty or all-zero rows pass.

    Parameters
    ----------
    values : ndarray of int, (n,)
        u16 values.
    max_limit
        ``MaxWeightsLimit`` (u16).

    Returns
    -------
    bool
    """
    total = np.int64(0)
    m = np.int64(0)
    for i in range(values.shape[0]):
        v = np.int64(values[i])
        total += v
        if v > m:
            m = v
    if total == 0:
        return True
    limit_bits = (np.int64(max_limit) << 32) // U16_MAX
    return ((m << 32) // total) <= limit_bits


# --------------------------------------------------------------------- validator's side
@njit(cache=True)
def normalize_max_weight(x: NDArray[np.float64], limit: float, out: NDArray[np.float64]) -> bool:
    """Normalise ``x`` to sum 1 with no entry above ``limit`` (capped water-filling).

    The SDK's ``normalize_max_weight`` without its ``1e-7`` epsilon: entries are capped at the
    unique level ``c`` with ``c = limit x sum(min(x, c))`` and the result is
    ``min(x, c) / sum(min(x, c))``, so capped entries equal ``limit`` exactly (up to rounding)
    and the order of entries is kept. ``c`` is found by iterating the capped set, which only
    grows (at most ``n`` passes; no sort, no allocation). Non-positive and non-finite entries
    count as 0 and stay 0; an all-zero row stays all zero (the SDK would return a uniform row;
    a validator sets nothing instead). When the limit cannot be met (``k x limit < 1`` for the
    ``k`` positive entries) the positive entries are made equal (``1 / k`` each, the smallest
    possible maximum on that support) and False is returned.

    Parameters
    ----------
    x : ndarray of float64, (n,)
        Scores (any scale).
    limit : float
        Largest allowed proportion (``MaxWeightsLimit / 65535``); ``>= 1`` means no limit.
    out : ndarray of float64, (n,)
        Output proportions (may be ``x`` itself).

    Returns
    -------
    bool
        False when the limit could not be met (see above), else True.
    """
    n = x.shape[0]
    total = 0.0
    k = 0
    for i in range(n):
        v = x[i]
        if v > 0.0 and np.isfinite(v):
            total += v
            k += 1
    if k == 0:
        for i in range(n):
            out[i] = 0.0
        return True
    if k * limit <= 1.0:
        for i in range(n):
            v = x[i]
            out[i] = 1.0 / k if (v > 0.0 and np.isfinite(v)) else 0.0
        return k * limit == 1.0 or limit >= 1.0
    cap = np.inf
    if limit < 1.0:
        c = limit * total
        for _ in range(n + 1):
            s_unc = 0.0
            n_cap = 0
            for i in range(n):
                v = x[i]
                if v > 0.0 and np.isfinite(v):
                    if v > c:
                        n_cap += 1
                    else:
                        s_unc += v
            if n_cap == 0:
                break  # nothing above the level (first pass only): the limit does not bind
            c_new = limit * s_unc / (1.0 - limit * n_cap)
            cap = c_new
            if c_new >= c:  # the capped set no longer grows: c is the level
                cap = c
                break
            c = c_new
    s = 0.0
    for i in range(n):
        v = x[i]
        if v > 0.0 and np.isfinite(v):
            s += v if v < cap else cap
    for i in range(n):
        v = x[i]
        if v > 0.0 and np.isfinite(v):
            out[i] = (v if v < cap else cap) / s
        else:
            out[i] = 0.0
    return True


@njit(cache=True)
def quantize_u16(x: NDArray[np.float64], out: NDArray) -> None:
    """Float weights to u16 as the SDK's ``convert_weights_and_uids_for_emit`` does.

    ``round(x / max(x) x 65535)`` with Python's rounding (half to even); an all-zero row (or
    one with no positive entry) stays zero. Negative entries count as 0.

    Parameters
    ----------
    x : ndarray of float64, (n,)
        Non-negative weights (any scale).
    out : ndarray of int, (n,)
        Output u16 values.
    """
    n = x.shape[0]
    m = 0.0
    for i in range(n):
        if x[i] > m:
            m = x[i]
    if not m > 0.0 or not np.isfinite(m):
        for i in range(n):
            out[i] = 0
        return
    for i in range(n):
        v = x[i]
        if not v > 0.0:
            out[i] = 0
            continue
        y = v / m * U16_MAX
        f = np.floor(y)
        d = y - f
        q = np.int64(f)
        if d > 0.5 or (d == 0.5 and q % 2 == 1):
            q += 1
        out[i] = U16_MAX if q > U16_MAX else q


@njit(cache=True)
def weights_row_u16(x: NDArray[np.float64], max_weight_limit: int, out: NDArray,
                    scratch: NDArray[np.float64]) -> int:
    """Scores to the u16 row a validator submits and the chain stores (max-upscaled).

    :func:`normalize_max_weight` with ``limit = max_weight_limit / 65535``, then
    :func:`quantize_u16` and :func:`max_upscale_u16`. Rounding to u16 can push the normalised
    largest entry a hair above the limit, which the chain would reject; the limit is then
    lowered by the worst-case rounding error (half a unit per entry) and the row recomputed,
    a few times at most, so the returned row passes :func:`is_max_weight_limited` whenever the
    limit is attainable.

    Parameters
    ----------
    x : ndarray of float64, (n,)
        Scores (non-positive = no weight).
    max_weight_limit
        ``MaxWeightsLimit`` (u16; 65 535 = no limit).
    out : ndarray of int, (n,)
        The u16 row.
    scratch : ndarray of float64, (n,)
        Work space (overwritten).

    Returns
    -------
    int
        ``SET_WEIGHTS_OK``, or ``MAX_WEIGHT_EXCEEDED`` if the limit cannot be met (the row
        written is then the most even one on the same support).
    """
    n = x.shape[0]
    limit = max_weight_limit / U16_MAX
    if max_weight_limit >= U16_MAX:
        quantize_u16(x, out)
        max_upscale_u16(out, out)
        return SET_WEIGHTS_OK
    target = limit
    for _ in range(_FEASIBLE_RETRIES):
        feasible = normalize_max_weight(x, target, scratch)
        quantize_u16(scratch, out)
        max_upscale_u16(out, out)
        if is_max_weight_limited(out, max_weight_limit):
            return SET_WEIGHTS_OK
        if not feasible:
            return MAX_WEIGHT_EXCEEDED
        total = 0
        k = 0
        for i in range(n):
            total += np.int64(out[i])
            if out[i] > 0:
                k += 1
        if total == 0:
            return MAX_WEIGHT_EXCEEDED
        target = target * (1.0 - (0.5 * k + 2.0) / total)
    return MAX_WEIGHT_EXCEEDED


# ---------------------------------------------------------------------------- extrinsic
@njit(cache=True)
def _subnetwork_n(hotkey: NDArray[np.int64]) -> int:
    n = 0
    for i in range(hotkey.shape[0]):
        if hotkey[i] >= 0:
            n += 1
    return n


@njit(cache=True)
def _common_checks(ni: NDArray[np.int64], permit: NDArray[np.bool_], uid: int, count: int,
                   self_weight: bool, block: int, stake_weight: float, owner_uid: int,
                   version_key: int, rules: WeightRules) -> int:
    hotkey = ni[N_HOTKEY]
    n_uids = hotkey.shape[0]
    n = _subnetwork_n(hotkey)
    if count > n:
        return UIDS_LENGTH_EXCEED_UIDS_IN_SUBNET
    if uid < 0 or uid >= n_uids or hotkey[uid] < 0:
        return HOTKEY_NOT_REGISTERED_IN_SUBNET
    is_owner = owner_uid >= 0 and uid == owner_uid
    if not is_owner and stake_weight < rules.stake_threshold:
        return NOT_ENOUGH_STAKE_TO_SET_WEIGHTS
    if rules.network_version_key != 0 and version_key < rules.network_version_key:
        return INCORRECT_WEIGHT_VERSION_KEY
    if not rules.commit_reveal:
        last = ni[N_LAST_UPDATE, uid]
        if last != 0 and max(block - last, 0) < rules.weights_rate_limit:
            return SETTING_WEIGHTS_TOO_FAST
    if not (self_weight or is_owner or permit[uid]):
        return NEURON_NO_VALIDATOR_PERMIT
    return SET_WEIGHTS_OK


@njit(cache=True)
def check_set_weights(ni: NDArray[np.int64], permit: NDArray[np.bool_], uid: int,
                      uids: NDArray, values: NDArray, block: int, stake_weight: float,
                      owner_uid: int, version_key: int, rules: WeightRules) -> int:
    """Error code of ``set_weights(uids, values)`` by UID ``uid`` (0 = accepted; module notes).

    Parameters
    ----------
    ni : ndarray of int64, (len(NI), n_uids)
        The subnet's integer neuron fields (``NeuronState.ints[run, subnet]``).
    permit : ndarray of bool, (n_uids,)
        Stored validator permits.
    uid
        The setter's UID.
    uids, values : ndarray of int, (k,)
        Targets and u16 values as submitted (any scale; the chain max-upscales them).
    block
        Current block.
    stake_weight
        The setter's stake weight (``alpha + tao_weight x root``, RAO).
    owner_uid
        UID of the subnet owner hotkey (-1 if none).
    version_key
        Version key of the submission.
    rules
        The subnet's :class:`WeightRules`.

    Returns
    -------
    int
        A code of :data:`ERROR_NAMES`.
    """
    k = uids.shape[0]
    if k != values.shape[0]:
        return WEIGHT_VEC_NOT_EQUAL_SIZE
    self_weight = k == 1 and uids[0] == uid
    code = _common_checks(ni, permit, uid, k, self_weight, block, stake_weight, owner_uid,
                          version_key, rules)
    if code != SET_WEIGHTS_OK:
        return code
    for a in range(k):
        for b in range(a):
            if uids[a] == uids[b]:
                return DUPLICATE_UIDS
    hotkey = ni[N_HOTKEY]
    for a in range(k):
        t = uids[a]
        if t < 0 or t >= hotkey.shape[0] or hotkey[t] < 0:
            return UID_VEC_CONTAIN_INVALID_ONE
    n = _subnetwork_n(hotkey)
    if not self_weight and k < min(rules.min_allowed_weights, n):
        return WEIGHT_VEC_LENGTH_IS_LOW
    if self_weight or rules.max_weight_limit >= U16_MAX:
        return SET_WEIGHTS_OK
    # check_vec_max_limited on the max-upscaled values, without allocating
    m = 0
    for a in range(k):
        m = max(m, np.int64(values[a]))
    if m == 0:
        return SET_WEIGHTS_OK
    total = np.int64(0)
    for a in range(k):
        total += _upscaled(np.int64(values[a]), m)
    limit_bits = (np.int64(rules.max_weight_limit) << 32) // U16_MAX
    if ((np.int64(U16_MAX) << 32) // total) > limit_bits:
        return MAX_WEIGHT_EXCEEDED
    return SET_WEIGHTS_OK


@njit(cache=True, inline="always")
def _upscaled(v: int, m: int) -> int:
    """One entry of :func:`max_upscale_u16` given the row maximum ``m > 0``."""
    if m > _THRESHOLD:
        x = (v * ((np.int64(U16_MAX) << 32) // m) + _HALF_Q32) >> 32
    else:
        p = v * U16_MAX
        q = p // m
        x = q + (1 if (((p - q * m) << 32) // m) >= _HALF_Q32 else 0)
    return U16_MAX if x > U16_MAX else x


@njit(cache=True)
def set_weights(ni: NDArray[np.int64], permit: NDArray[np.bool_], weights: NDArray[np.uint16],
                uid: int, uids: NDArray, values: NDArray, block: int, stake_weight: float,
                owner_uid: int, version_key: int, rules: WeightRules) -> int:
    """Check and store a sparse submission (``do_set_weights``); arguments as
    :func:`check_set_weights` plus the subnet's ``weights`` matrix ``(n_uids, n_uids)``.

    On success row ``uid`` of ``weights`` is replaced by the max-upscaled values (other entries
    zero) and ``last_update[uid] = block`` unless ``rules.commit_reveal``. On failure nothing
    changes.

    Returns
    -------
    int
        The error code (0 = stored).
    """
    code = check_set_weights(ni, permit, uid, uids, values, block, stake_weight, owner_uid,
                             version_key, rules)
    if code != SET_WEIGHTS_OK:
        return code
    k = uids.shape[0]
    m = 0
    for a in range(k):
        m = max(m, np.int64(values[a]))
    row = weights[uid]
    row[:] = 0
    if m > 0:
        for a in range(k):
            row[uids[a]] = _upscaled(np.int64(values[a]), m)
    if not rules.commit_reveal:
        ni[N_LAST_UPDATE, uid] = block
    return SET_WEIGHTS_OK


@njit(cache=True)
def set_weights_dense(ni: NDArray[np.int64], permit: NDArray[np.bool_],
                      weights: NDArray[np.uint16], uid: int, row: NDArray, block: int,
                      stake_weight: float, owner_uid: int, version_key: int,
                      rules: WeightRules) -> int:
    """:func:`set_weights` for a dense row: the submission is the non-zero entries of ``row``.

    ``row`` (``(n_uids,)``, u16 values) lists the targets in UID order; zeros are not
    submitted. The checks and the storage are those of :func:`set_weights` (duplicates cannot
    occur).

    Returns
    -------
    int
        The error code (0 = stored).
    """
    hotkey = ni[N_HOTKEY]
    n_uids = hotkey.shape[0]
    k = 0
    m = 0
    last = -1
    for j in range(row.shape[0]):
        v = np.int64(row[j])
        if v > 0:
            k += 1
            last = j
            if v > m:
                m = v
    self_weight = k == 1 and last == uid
    code = _common_checks(ni, permit, uid, k, self_weight, block, stake_weight, owner_uid,
                          version_key, rules)
    if code != SET_WEIGHTS_OK:
        return code
    for j in range(row.shape[0]):
        if row[j] > 0 and (j >= n_uids or hotkey[j] < 0):
            return UID_VEC_CONTAIN_INVALID_ONE
    n = _subnetwork_n(hotkey)
    if not self_weight and k < min(rules.min_allowed_weights, n):
        return WEIGHT_VEC_LENGTH_IS_LOW
    if not self_weight and rules.max_weight_limit < U16_MAX and m > 0:
        total = np.int64(0)
        for j in range(row.shape[0]):
            if row[j] > 0:
                total += _upscaled(np.int64(row[j]), m)
        limit_bits = (np.int64(rules.max_weight_limit) << 32) // U16_MAX
        if ((np.int64(U16_MAX) << 32) // total) > limit_bits:
            return MAX_WEIGHT_EXCEEDED
    out = weights[uid]
    for j in range(n_uids):
        v = np.int64(row[j]) if j < row.shape[0] else 0
        out[j] = _upscaled(v, m) if (v > 0 and m > 0) else 0
    if not rules.commit_reveal:
        ni[N_LAST_UPDATE, uid] = block
    return SET_WEIGHTS_OK


# ----------------------------------------------------------------------- Python wrappers
def apply_weights(
    neurons: NeuronState,
    run: int,
    subnet: int,
    uid: int,
    uids: NDArray | list[int],
    values: NDArray | list[int],
    *,
    block: int,
    tao_weight: float = 0.0,
    owner_uid: int = -1,
    version_key: int = 0,
    rules: WeightRules | None = None,
) -> None:
    """Submit weights for ``uid`` on one subnet of a :class:`~dtaosim.state.neurons.NeuronState`.

    Parameters
    ----------
    neurons
        The neuron state (modified in place on success).
    run, subnet
        Run index and subnet slot (netuid - 1).
    uid
        Setter UID.
    uids, values
        Targets and u16 values.
    block
        Current block.
    tao_weight
        Tao weight for the setter's stake weight ``alpha + tao_weight x root``.
    owner_uid
        UID of the subnet owner's hotkey (-1 if none).
    version_key
        Version key of the submission.
    rules
        Subnet hyperparameters (defaults: :class:`WeightRules`).

    Raises
    ------
    WeightsRejected
        With the chain's error name when the submission is refused.
    """
    if not isinstance(neurons, NeuronState):
        raise TypeError("neurons must be a NeuronState")
    r = rules if rules is not None else WeightRules()
    ni, _nf, permit, weights, _bonds = neurons.subnet(run, subnet)
    u = np.asarray(uids, dtype=np.int64)
    v = np.asarray(values, dtype=np.int64)
    if v.size and (v.min() < 0 or v.max() > U16_MAX):
        raise WeightsRejected("InvalidValue", "weight values must be u16 (0..65535)")
    stake = 0.0
    if 0 <= uid < ni.shape[1]:
        stake = float(ni[N_ALPHA_STAKE, uid]) + tao_weight * float(ni[N_ROOT_STAKE, uid])
    code = set_weights(ni, permit, weights, int(uid), u, v, int(block), stake, int(owner_uid),
                       int(version_key), r)
    if code != SET_WEIGHTS_OK:
        raise WeightsRejected(
            error_name(code), f"uid {uid} on run {run}, subnet slot {subnet} at block {block}"
        )


__all__ = [
    "DUPLICATE_UIDS",
    "ERROR_NAMES",
    "HOTKEY_NOT_REGISTERED_IN_SUBNET",
    "INCORRECT_WEIGHT_VERSION_KEY",
    "MAX_WEIGHT_EXCEEDED",
    "NEURON_NO_VALIDATOR_PERMIT",
    "NOT_ENOUGH_STAKE_TO_SET_WEIGHTS",
    "SETTING_WEIGHTS_TOO_FAST",
    "SET_WEIGHTS_OK",
    "UIDS_LENGTH_EXCEED_UIDS_IN_SUBNET",
    "UID_VEC_CONTAIN_INVALID_ONE",
    "WEIGHT_VEC_LENGTH_IS_LOW",
    "WEIGHT_VEC_NOT_EQUAL_SIZE",
    "WeightRules",
    "WeightsRejected",
    "apply_weights",
    "check_set_weights",
    "error_name",
    "is_max_weight_limited",
    "max_upscale_u16",
    "normalize_max_weight",
    "quantize_u16",
    "set_weights",
    "set_weights_dense",
    "weights_row_u16",
]
