"""Synthetic metagraphs: a plausible population of UIDs for every subnet of a chain state.

For studies without chain data: :func:`synthetic_neurons` builds a full
:class:`~dtaosim.state.neurons.NeuronState` from a few parameters (validator stake sizes, miner
quality, registration ages, warm bonds), and :func:`neurons_for_state` does so consistently with
a :class:`~dtaosim.state.ChainState` (each subnet's staked alpha, the network's root
stake, the owners' miner burn). Validators' rows are normalised and quantised with the chain's own
weight functions (:mod:`dtaosim.chain.weights`). Every modelling choice is numbered in the
docstring of :func:`synthetic_neurons` (``docs/assumptions.md`` A12).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtaosim.state.neurons import DEFAULT_TAKE, NF, NH, NI, U16_MAX, NeuronState

__all__ = ["neurons_for_state", "synthetic_neurons"]


def _split_exact(total: int, weights: NDArray[np.float64]) -> NDArray[np.int64]:
    """Split ``total`` RAO pro rata to ``weights`` so that the parts sum to ``total`` exactly.

    Floors first, then +1 to the largest remainders (ties to the lower index).
    """
    n = weights.size
    out = np.zeros(n, dtype=np.int64)
    total = int(total)
    if n == 0 or total <= 0:
        return out
    w = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
    s = float(w.sum())
    if s <= 0.0:
        w = np.ones(n)
        s = float(n)
    x = w / s * float(total)
    out = np.floor(x).astype(np.int64)
    rem = x - out
    left = total - int(out.sum())
    if left > 0:
        out += left // n
        left -= (left // n) * n
        order = np.argsort(-rem, kind="stable")
        out[order[:left]] += 1
    elif left < 0:
        order = np.argsort(-out, kind="stable")
        i = 0
        while left < 0:
            j = order[i % n]
            d = min(int(out[j]), -left)
            out[j] -= d
            left += d
            i += 1
    return out


def _seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(seed)


def _slots(subnets: int | Sequence[int]) -> tuple[int, list[int]]:
    """Slot count and the slots to fill from ``subnets`` (a count, or netuids)."""
    if isinstance(subnets, (int, np.integer)):
        n = int(subnets)
        if n < 1:
            raise ValueError("the number of subnets must be >= 1")
        return n, list(range(n))
    netuids = [int(x) for x in subnets]
    if not netuids or min(netuids) < 1 or len(set(netuids)) != len(netuids):
        raise ValueError("netuids must be distinct and >= 1 (root, netuid 0, has no UIDs)")
    return max(netuids), sorted(x - 1 for x in netuids)


def _per_slot(value: ArrayLike, name: str, n_runs: int, n_slots: int, fill: list[int]
              ) -> NDArray[np.float64]:
    """``value`` as ``(runs, slots)``: given per slot, or per filled netuid (then scattered)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == len(fill) and len(fill) != n_slots:
        full = np.zeros((arr.shape[0], n_slots))
        full[:, fill] = arr
        arr = full
    try:
        return np.broadcast_to(arr, (n_runs, n_slots))
    except ValueError:
        raise ValueError(f"{name} of shape {arr.shape} does not broadcast to "
                         f"(runs, subnets) = {(n_runs, n_slots)}") from None


def synthetic_neurons(
    n_runs: int,
    subnets: int | Sequence[int],
    n_uids: int = 256,
    n_validators: int = 64,
    *,
    subnet_alpha_stake: ArrayLike,
    block: int = 0,
    seed: int | np.random.SeedSequence | None = None,
    root_stake: ArrayLike | None = None,
    max_weight_limit: int = U16_MAX,
    miner_stake_fraction: float = 1e-3,
    stake_sigma: float = 2.0,
    quality_sigma: float = 1.0,
    noise_sigma: float = 0.3,
    validator_age_blocks: float = 1_296_000.0,
    miner_age_blocks: float = 216_000.0,
    weights_age_blocks: int = 360,
    epoch_emission: int = 295_200_000_000,
    take: float = DEFAULT_TAKE,
    warm_bonds: bool = True,
    owner_weight: ArrayLike | None = None,
) -> NeuronState:
    """A plausible full metagraph for every subnet slot (for studies without chain data).

    Assumptions (each is a modelling choice, not chain data):

    1. Every listed subnet is full: ``n_uids`` UIDs filled (mainnet subnets mostly are).
    2. UID 0 is the subnet owner's hotkey (the chain gives the owner hotkey UID 0 at creation)
       and is one of the validators; its coldkey is the subnet owner's.
    3. ``n_validators`` UIDs (UID 0 and ``n_validators - 1`` others at random positions) are
       validators and hold validator permits; the rest are miners. ``n_validators`` should not
       exceed ``MaxAllowedValidators`` (64 for new subnets).
    4. Validators come from one pool of ``2 x n_validators`` identities per run shared by all
       subnets (the same large validators sit on most subnets; a hotkey's root stake is the same
       everywhere, as on chain). Pool identity sizes are lognormal(0, ``stake_sigma``) (heavy
       tailed: with 2.0 and 64 validators the largest typically holds about a fifth of the
       subnet's stake and the top five over half); a subnet picks its validators from the pool
       with probability proportional to the square root of size, and each validator's stake
       there is its size times a lognormal(0, 0.5) subnet factor.
       The owner's size is an independent lognormal(0, ``stake_sigma``) draw.
    5. ``subnet_alpha_stake[r, k]`` RAO is the subnet's total hotkey alpha stake: validators
       share ``1 - miner_stake_fraction`` of it pro rata to their stake factors, miners share
       the rest pro rata to lognormal(0, 1) factors (miners hold tiny stake), each miner capped
       at half the smallest validator's stake (the excess goes to the largest validator) so
       that the top-``n_validators`` stakes, which Yuma gives the permits, are the
       validators'; the split is exact (parts sum to the total).
    6. ``root_stake[r]`` RAO (optional) is split over the validator pool pro rata to identity
       size; owners' and miners' hotkeys have no root stake.
    7. Every validator weights every miner: a latent miner quality ``q_j`` ~
       lognormal(0, ``quality_sigma``) shared by the subnet's validators, times the validator's
       own noise ``exp(noise_sigma x N(0, 1))``; no weight on validators (or on itself). Each
       row is normalised with the max-weight limit (:func:`~dtaosim.chain.weights
       .normalize_max_weight`), quantised to u16 and max-upscaled as the chain stores it
       (:func:`~dtaosim.chain.weights.weights_row_u16`).
    8. Registration ages are exponential: mean ``validator_age_blocks`` (180 days) for
       validators and the owner, ``miner_age_blocks`` (30 days) for miners, truncated at block
       0 (with the default 5 000-block immunity, about 2% of miners are immune).
    9. Validators set weights within the last ``weights_age_blocks`` blocks (uniform) and never
       before their registration; miners never set weights (``last_update`` = registration).
    10. Delegate take is ``take`` (chain default 0.179995) for every hotkey.
    11. Last epoch's outputs are approximated without clipping: incentive = stake-weighted mean
        of the validators' normalised rows; dividends = validators' stake shares;
        ``emission = floor(epoch_emission x (incentive + dividends) / 2)`` with
        ``epoch_emission`` = 295.2 alpha by default (360 blocks x 1 alpha x (1 - owner cut)).
        They only order the first pruning; the first Yuma epoch overwrites them.
    12. ``warm_bonds``: validator bond rows start at the Yuma 3 fixed point without clipping,
        ``floor(row-normalised weights x 65535)``; otherwise zero (cold start). For classic Yuma
        use cold bonds.
    13. Cumulative earnings start at 0.
    14. ``owner_weight[r, k]`` (default 0): the fraction of every validator's weight put on
        UID 0, the owner's hotkey. The chain withholds (burns) the incentive of the owner's
        hotkeys, so this is how a subnet's miner burn arises (``MinerBurned``, spec 5.6);
        pass the snapshot's ``miner_burn_fraction`` to reproduce it.
    15. The subnet hyperparameters (``hyper``) are a new subnet's at HEAD
        (:data:`HYPER_DEFAULTS`), with the owner hotkey and coldkey those of UID 0 and
        ``MaxAllowedValidators = n_validators`` (so Yuma's permits stay with the validators
        when ``n_validators`` differs from the chain default 64, e.g. in small metagraphs).

    Parameters
    ----------
    n_runs
        Runs (leading axis). Run ``r`` is drawn from child ``r`` of the seed sequence, so runs
        differ; pass ``n_runs=1`` and broadcast if identical starts are wanted.
    subnets
        Number of subnet slots (all filled), or the netuids to fill (slots ``netuid - 1``; the
        axis has ``max(netuids)`` slots, the others empty).
    n_uids
        UIDs per subnet (capacity and fill).
    n_validators
        Validators per subnet (at most ``n_uids``).
    subnet_alpha_stake : array_like of int, (runs, subnets) or broadcastable
        Total alpha stake per subnet (RAO); indexed by slot, or by the order of ``subnets``
        when netuids are given.
    block
        Current block (registration and weight blocks are drawn before it).
    seed
        Seed or ``SeedSequence``.
    root_stake : array_like of int, (runs,), optional
        Total root stake of the validator pool per run (RAO).
    max_weight_limit
        ``MaxWeightsLimit`` (u16) applied to the validators' rows.
    miner_stake_fraction, stake_sigma, quality_sigma, noise_sigma, validator_age_blocks,
    miner_age_blocks, weights_age_blocks, epoch_emission, take, warm_bonds
        See the assumptions above.

    Returns
    -------
    NeuronState
        Validated; ``meta`` records the generator and its parameters.
    """
    from dtaosim.chain.weights import weights_row_u16

    if n_runs < 1 or n_uids < 1 or not 1 <= n_validators <= n_uids:
        raise ValueError("need n_runs >= 1, n_uids >= 1 and 1 <= n_validators <= n_uids")
    if not 0.0 <= miner_stake_fraction <= 1.0 or not 0.0 <= take <= 1.0:
        raise ValueError("miner_stake_fraction and take must be in [0, 1]")
    n_slots, fill = _slots(subnets)
    stake_tot = _per_slot(subnet_alpha_stake, 'subnet_alpha_stake', n_runs, n_slots, fill)
    if (stake_tot < 0).any() or not np.isfinite(stake_tot).all():
        raise ValueError("subnet_alpha_stake must be finite and >= 0")
    root_tot = (np.zeros(n_runs) if root_stake is None
                else np.broadcast_to(np.asarray(root_stake, dtype=np.float64), (n_runs,)))
    ow = _per_slot(0.0 if owner_weight is None else owner_weight, 'owner_weight', n_runs,
                   n_slots, fill)
    if not ((ow >= 0.0) & (ow <= 1.0)).all():
        raise ValueError("owner_weight must be in [0, 1]")

    state = NeuronState.empty(n_runs, n_slots, n_uids)
    pool = 2 * n_validators
    nv = n_validators
    nm = n_uids - nv
    row = np.zeros(n_uids)
    scratch = np.zeros(n_uids)
    qrow = np.zeros(n_uids, dtype=np.uint16)
    children = _seed_sequence(seed).spawn(n_runs)
    for r in range(n_runs):
        rng = np.random.default_rng(children[r])
        size = rng.lognormal(0.0, stake_sigma, pool)
        pool_root = _split_exact(int(root_tot[r]), size)
        pick_p = np.sqrt(size) / np.sqrt(size).sum()
        for k in fill:
            ni, nf, permit, weights, bonds = state.subnet(r, k)
            others = rng.choice(np.arange(1, n_uids), size=nv - 1, replace=False)
            vuids = np.concatenate(([0], others)).astype(np.int64)
            is_val = np.zeros(n_uids, dtype=np.bool_)
            is_val[vuids] = True
            muids = np.flatnonzero(~is_val)
            picks = rng.choice(pool, size=nv - 1, replace=False, p=pick_p)
            vsize = np.concatenate(([rng.lognormal(0.0, stake_sigma)],
                                    size[picks] * rng.lognormal(0.0, 0.5, nv - 1)))
            total = int(stake_tot[r, k])
            vstake = _split_exact(total - int(total * miner_stake_fraction) if nm else total,
                                  vsize)
            mstake = _split_exact(total - int(vstake.sum()), rng.lognormal(0.0, 1.0, nm))
            if nm and nv:  # permits must follow stake: every miner below every validator
                cap = int(vstake.min()) // 2
                excess = int(np.maximum(mstake - cap, 0).sum())
                if excess:
                    mstake = np.minimum(mstake, cap)
                    vstake[int(np.argmax(vstake))] += excess

            hot = ni[NI.HOTKEY]
            cold = ni[NI.COLDKEY]
            hot[0] = cold[0] = pool + k
            state.hyper[r, k, NH.OWNER_HOTKEY] = pool + k
            state.hyper[r, k, NH.OWNER_COLDKEY] = pool + k
            hot[others] = picks
            cold[others] = picks
            base = pool + n_slots + k * n_uids
            hot[muids] = base + muids
            n_clusters = max(1, nm // 4)
            cold[muids] = base + np.floor(n_clusters * rng.random(nm) ** 2).astype(np.int64)
            ni[NI.ALPHA_STAKE, vuids] = vstake
            ni[NI.ALPHA_STAKE, muids] = mstake
            ni[NI.ROOT_STAKE, others] = pool_root[picks]

            age_v = np.floor(rng.exponential(validator_age_blocks, nv)).astype(np.int64)
            age_m = np.floor(rng.exponential(miner_age_blocks, nm)).astype(np.int64)
            reg = ni[NI.REGISTERED_AT]
            reg[vuids] = np.maximum(0, block - age_v)
            reg[muids] = np.maximum(0, block - age_m)
            lu = ni[NI.LAST_UPDATE]
            lu[vuids] = np.maximum(reg[vuids],
                                   block - rng.integers(0, max(1, weights_age_blocks), nv))
            lu[muids] = reg[muids]
            permit[vuids] = True
            nf[NF.TAKE, :] = take

            quality = rng.lognormal(0.0, quality_sigma, nm)
            wnorm = np.zeros((nv, n_uids))
            f_own = float(ow[r, k])
            for a, i in enumerate(vuids):
                row[:] = 0.0
                row[muids] = quality * np.exp(noise_sigma * rng.standard_normal(nm))
                if f_own > 0.0:
                    tot = row.sum()
                    row[muids] *= (1.0 - f_own) / tot if tot > 0 else 0.0
                    row[0] = f_own
                weights_row_u16(row, max_weight_limit, qrow, scratch)
                weights[i] = qrow
                s = float(qrow.sum())
                if s > 0:
                    wnorm[a] = qrow / s
            share = vstake / max(1, int(vstake.sum()))
            inc = share @ wnorm
            if inc.sum() > 0:
                inc = inc / inc.sum()
            div = np.zeros(n_uids)
            div[vuids] = share
            nf[NF.INCENTIVE] = inc
            nf[NF.DIVIDENDS] = div
            ni[NI.EMISSION] = np.floor(epoch_emission * (inc + div) / 2.0).astype(np.int64)
            if warm_bonds:
                bonds[vuids] = np.floor(wnorm * U16_MAX).astype(np.uint16)
    state.hyper[:, :, NH.MAX_ALLOWED_VALIDATORS] = n_validators
    state.meta.update(
        generator="synthetic_neurons",
        block=int(block),
        n_validators=int(n_validators),
        max_weight_limit=int(max_weight_limit),
        miner_stake_fraction=float(miner_stake_fraction),
        stake_sigma=float(stake_sigma),
        quality_sigma=float(quality_sigma),
        noise_sigma=float(noise_sigma),
        warm_bonds=bool(warm_bonds),
    )
    state.validate()
    return state


def neurons_for_state(state: Any, n_uids: int = 256, n_validators: int = 64, *,
                      seed: int | np.random.SeedSequence | None = None) -> NeuronState:
    """Synthetic neurons (:func:`synthetic_neurons`) consistent with a chain state.

    Each existing subnet is filled with ``n_uids`` UIDs: the subnet's staked alpha (validators,
    nominators, miners and owner: ``STAKE_STAKERS + STAKE_MINERS + STAKE_OWNER``) is spread over
    its hotkeys, the network's root stake over the validator pool, and every validator puts the
    subnet's ``miner_burn_fraction`` of its weight on the owner's UID 0, so the miner burn the
    chain records comes out of Yuma as on chain. Free slots stay empty.

    Parameters
    ----------
    state : ChainState
        The chain state (its runs, subnet slots and block).
    n_uids, n_validators
        UIDs and validators per subnet.
    seed
        Seed or ``SeedSequence`` (run ``r`` uses child ``r``).

    Returns
    -------
    NeuronState
    """
    from dtaosim.state.chain_state import GI, SF, SI

    exists = state.ints[:, :, SI.EXISTS] != 0
    stake = (state.ints[:, :, SI.STAKE_STAKERS] + state.ints[:, :, SI.STAKE_MINERS]
             + state.ints[:, :, SI.STAKE_OWNER])
    nrn = synthetic_neurons(state.runs, state.subnets, n_uids, n_validators,
                            subnet_alpha_stake=np.where(exists, stake, 0), block=state.block,
                            seed=seed, root_stake=state.gints[:, GI.ROOT_STAKE],
                            owner_weight=state.floats[:, :, SF.MINER_BURN_FRACTION])
    for r, k in zip(*np.nonzero(~exists), strict=True):
        nrn.reset_subnet(int(r), int(k))
    nrn.meta["next_hotkey"] = nrn.hotkey.reshape(nrn.runs, -1).max(axis=1) + 1  # per run
    return nrn
