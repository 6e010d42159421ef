"""The reduced dTAO model shared by the four implementations of the peer benchmark (issue #4).

Model (one block, every subnet eligible, no root stake, no owner cut, no epochs)
--------------------------------------------------------------------------------
State per run: per subnet the pool's TAO reserve ``tao`` and alpha reserve ``alpha_in`` (RAO,
int64), the alpha outside the pool ``alpha_out`` (RAO), the stakers' alpha ``stake`` (RAO) and
the price EMA ``ema`` (float64); per run the TAO ``issuance`` and the users' ``free_tao`` (RAO).

Each block (chain order of ``dtaosim.chain.kernel._block`` under preset ``dtao-2025-02``):

1. TAO block emission with halvings: ``em = 1e9 >> k(issuance)`` where ``k`` counts the
   halving thresholds ``T_k = ceil(21e15 (1 - 2**-k))`` reached, capped at ``21e15 - issuance``;
   each subnet's alpha emission ``alpha_em = 1e9 >> k(alpha_in + alpha_out)`` likewise.
2. Price-EMA shares ``s_i = ema_i / sum(ema)``; ``E_i = em * s_i``. The float sum is taken in
   dtaosim's fixed eight-lane order (:func:`lane_sum`, a NumPy copy of
   ``dtaosim.chain.summation.lane_sum_rows``), so the shares are bit-identical to the engine's.
3. Launch injection: ``tao_in = floor(E_i)``, ``alpha_in = floor(min(E_i / p_i, alpha_em_i))``
   with ``p_i = tao_i / alpha_in_i`` at the block's start; ``alpha_out += alpha_em``. Issuance
   grows by the TAO injected (the flooring dust is recycled).
4. Price EMA after emission: ``ema = a * (tao / alpha_in) + (1 - a) * ema`` (``a = 3e-6``).

Every ``FLOW_EVERY`` (300) blocks, after the block, a random net stake flow hits each subnet:
``flow = tao * (drift * dt + vol * sqrt(dt) * z)`` with ``dt = 300/7200`` days, ``vol = 0.0335``
per sqrt(day) (dtaosim's default, calibrated to mainnet alpha-price volatility), ``z`` standard
normal. Positive flows buy alpha on the V2 constant-product pool (flat 50 000 RAO fee kept in the
pool, ``alpha = floor(x net / (y + net))``, rejected below ``min_stake + fee`` or if the pool
would fall under 0.01 TAO of alpha), negative flows sell ``floor(-flow / p)`` alpha (capped at
the stakers' alpha; ``tao = floor(y a / (x + a))``, rejected unless ``tao > min_stake`` and the
pool keeps 0.01 TAO, then the flat fee is deducted).

The ``z`` are pre-drawn: run ``r`` uses ``numpy.random.SeedSequence(SEED, spawn_key=(r, 1))``
(its stake-flow stream) and draws ``(n_actions, subnets)`` standard normals, exactly the stream
``dtaosim.simulate`` draws,
so the dtaosim implementation is the real ``simulate`` and every peer reads the same ``z``.

dtaosim expresses this model with its real engine: preset ``dtao-2025-02`` with
``owner_cut = 0``, root stake moved to free TAO (so the root proportion is 0 and no root
dividends are sold), tempo 0 (no epochs; they would not move the pools anyway), registrations
off. Parts of the engine that still run but do not change the reserves or the EMA (UID burn
decay, pending-bucket accounting, invariant checks, cumulative counters) are work the peers
skip.

This module has two halves: the NumPy arithmetic (:func:`block_step`, :func:`flow_step`) that
the peers call, importable with NumPy only (radCAD pins NumPy 1.26 in its own venv); and the
dtaosim side (:func:`dtaosim_state`, :func:`make_inputs`), which imports dtaosim lazily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BLOCKS_PER_DAY = 7_200
FLOW_EVERY = 300  # blocks between stake-flow actions (1 hour)
SUBNETS = 128
SEED = 20250213
FLOW_VOL = 0.0335  # daily s.d. of the net flow as a fraction of the pool's TAO
FLOW_DRIFT = 0.0
PRESET = "dtao-2025-02"
NETWORKS = ("default", "synthetic")


@dataclass(frozen=True)
class Consts:
    """Chain constants the reduced model uses (values of preset ``dtao-2025-02``)."""

    default_block_emission: int = 1_000_000_000
    total_supply: int = 21_000_000_000_000_000
    ema_alpha: float = 0.000003  # SubnetMovingAlpha
    flat_fee: int = 50_000  # V2 DefaultStakingFee
    min_stake: int = 500_000
    min_pool_liquidity: int = 10_000_000


def halving_thresholds(total_supply: int) -> np.ndarray:
    """``T_k = ceil(S (1 - 2**-k))``, ``k = 1..63`` (same integers as dtaosim's)."""
    return np.asarray([-((-(total_supply * (2**k - 1))) // 2**k) for k in range(1, 64)],
                      dtype=np.int64)


# ------------------------------------------------------------------------- NumPy arithmetic
LANES = 8


def lane_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis in dtaosim's fixed eight-lane order, keeping the axis.

    Same order as ``dtaosim.chain.summation.lane_sum`` (the kernel's) and ``lane_sum_rows``:
    lane ``k`` adds elements ``k, k + 8, ...`` of the first ``8 * (n // 8)`` in sequence
    (``np.cumsum`` is sequential), lanes combine as ``((l0 + l1) + (l2 + l3)) + ((l4 + l5) +
    (l6 + l7))``, then the ``n % 8`` remaining elements are added in order. Copied rather than
    imported because the radCAD venv has no dtaosim (and an older NumPy).
    """
    a = np.asarray(a, dtype=np.float64)
    lead, n = a.shape[:-1], a.shape[-1]
    m = n - n % LANES
    lanes = np.zeros((*lead, LANES))
    if m:
        blocks = a[..., :m].reshape((*lead, m // LANES, LANES))
        lanes = lanes + np.cumsum(blocks, axis=-2)[..., -1, :]
    s = (((lanes[..., 0] + lanes[..., 1]) + (lanes[..., 2] + lanes[..., 3]))
         + ((lanes[..., 4] + lanes[..., 5]) + (lanes[..., 6] + lanes[..., 7])))
    for i in range(m, n):
        s = s + a[..., i]
    return s[..., None]


def emission(issuance: np.ndarray, c: Consts, thresholds: np.ndarray) -> np.ndarray:
    """``base >> k`` with ``k`` = thresholds reached; 0 at the supply or after 62 halvings."""
    issuance = np.asarray(issuance, dtype=np.int64)
    k = np.searchsorted(thresholds, issuance, side="right")
    em = np.right_shift(np.int64(c.default_block_emission), np.minimum(k, 62).astype(np.int64))
    return np.where((issuance >= c.total_supply) | (k >= 62), 0, em).astype(np.int64)


def block_step(tao, alpha_in, alpha_out, ema, issuance, c: Consts, thresholds):
    """One block for arrays of shape ``(..., subnets)`` (``issuance`` of shape ``(...)``).

    Returns new ``(tao, alpha_in, alpha_out, ema, issuance)``; inputs are not modified.
    """
    em = emission(issuance, c, thresholds)
    room = c.total_supply - issuance
    em = np.minimum(em, np.maximum(room, 0))
    alpha_em = emission(alpha_in + alpha_out, c, thresholds)
    share = ema / lane_sum(ema)
    e = em[..., None].astype(np.float64) * share
    price = tao / alpha_in  # start-of-block spot price (TAO per alpha)
    tao_in = np.floor(np.maximum(e, 0.0)).astype(np.int64)
    ratio = np.where(price > 0, e / np.where(price > 0, price, 1.0), alpha_em)
    ai = np.minimum(ratio, alpha_em.astype(np.float64))
    alpha_inj = np.floor(np.maximum(ai, 0.0)).astype(np.int64)
    tao = tao + tao_in
    alpha_in = alpha_in + alpha_inj
    alpha_out = alpha_out + alpha_em
    issuance = issuance + tao_in.sum(axis=-1)
    spot = tao / alpha_in
    ema = c.ema_alpha * spot + (1.0 - c.ema_alpha) * ema
    return tao, alpha_in, alpha_out, ema, issuance


def flow_step(tao, alpha_in, alpha_out, stake, free_tao, z, c: Consts):
    """One stake-flow action (buys, then sells) for arrays of shape ``(..., subnets)``.

    Returns new ``(tao, alpha_in, alpha_out, stake, free_tao)``. Buys are assumed to fit in the
    run's free TAO (true by orders of magnitude here; dtaosim would scale them down otherwise).
    """
    dt = FLOW_EVERY / BLOCKS_PER_DAY
    flow = tao.astype(np.float64) * (FLOW_DRIFT * dt + FLOW_VOL * math.sqrt(dt) * z)
    # buys: flat fee first, then the constant-product swap; the liquidity floor uses the gross
    a = np.floor(np.maximum(flow, 0.0)).astype(np.int64)
    a = np.where(a >= c.min_stake + c.flat_fee, a, 0)
    y = tao.astype(np.float64)
    x = alpha_in.astype(np.float64)
    net = a - np.minimum(np.int64(c.flat_fee), a)
    out = np.floor(x * net / (y + net)).astype(np.int64)
    out_gross = np.floor(x * a / (y + a)).astype(np.int64)
    ok = (a > 0) & (alpha_in - out_gross >= c.min_pool_liquidity) & (out > 0)
    out = np.where(ok, out, 0)
    a = np.where(ok, a, 0)
    tao = tao + a
    alpha_in = alpha_in - out
    alpha_out = alpha_out + out
    stake = stake + out
    free_tao = free_tao - a.sum(axis=-1)
    # sells: the TAO wanted converted to alpha at the (post-buy) spot price
    price = tao / alpha_in
    want = np.maximum(-flow, 0.0)
    s = np.floor(np.where(price > 0, want / np.where(price > 0, price, 1.0), 0.0))
    s = np.minimum(s, stake).astype(np.int64)
    y = tao.astype(np.float64)
    x = alpha_in.astype(np.float64)
    t = np.floor(y * s / (x + s)).astype(np.int64)
    ok = (s > 0) & (tao - t >= c.min_pool_liquidity) & (t > c.min_stake)
    s = np.where(ok, s, 0)
    t_out = np.where(ok, t - np.minimum(np.int64(c.flat_fee), t), 0)
    stake = stake - s
    alpha_out = alpha_out - s
    alpha_in = alpha_in + s
    tao = tao - t_out
    free_tao = free_tao + t_out.sum(axis=-1)
    return tao, alpha_in, alpha_out, stake, free_tao


# ------------------------------------------------------------------------------ inputs file
FIELDS = ("tao", "alpha_in", "alpha_out", "stake", "ema")


def load_inputs(path: str) -> dict:
    """Inputs written by :func:`make_inputs` (``.npz``): initial state, ``z``, constants."""
    with np.load(path) as f:
        d = {k: f[k] for k in f.files}
    d["blocks"] = int(d["blocks"])
    d["runs"] = int(d["runs"])
    d["issuance"] = int(d["issuance"])
    d["free_tao"] = int(d["free_tao"])
    d["consts"] = Consts(**{k: (type(getattr(Consts, k)))(d.pop("c_" + k)) for k in
                            Consts.__dataclass_fields__})
    return d


def save_outputs(path: str, tao, alpha_in, alpha_out, ema) -> None:
    np.savez(path, tao=np.asarray(tao), alpha_in=np.asarray(alpha_in),
             alpha_out=np.asarray(alpha_out), ema=np.asarray(ema))


# ---------------------------------------------------------------------------- dtaosim side
def mechanism():
    """``dtao-2025-02`` with the owner cut switched off (the reduced model has none)."""
    from dtaosim.chain.presets import get_mechanism

    return get_mechanism(PRESET).with_(owner_cut=0.0)


def exogenous():
    """dtaosim's stake-flow process at the model's cadence and volatility; no registrations."""
    from dtaosim.agents.exogenous import ExogenousConfig

    return ExogenousConfig(action_every_blocks=FLOW_EVERY, stake_flow_volatility=FLOW_VOL,
                           stake_flow_drift=FLOW_DRIFT, new_subnets_per_day=0.0)


def _reduce(state):
    """State edits that switch off what the reduced model lacks (root stake, epochs)."""
    from dtaosim.state.chain_state import GI, SI

    g = state.gints
    g[:, GI.FREE_TAO] += g[:, GI.ROOT_STAKE]
    g[:, GI.ROOT_STAKE] = 0
    state.ints[:, :, SI.TEMPO] = 0
    return state


def synthetic_state(runs: int, subnets: int = SUBNETS, seed: int = SEED):
    """A seeded synthetic network of ``subnets`` subnets that exercises both halvings.

    Pools of 0.2M-4M alpha at prices 0.002-0.1 TAO/alpha, EMA within ~20% of the price, alpha
    outstanding 0.5-2x the pool's alpha (some subnets already past their first halving; pools
    scaled by 128/subnets above 128 subnets so that they fit in the TAO issuance); every 8th
    subnet starts 0.1-1 day of emission below its first alpha halving, and TAO issuance starts
    0.25 day below the second TAO halving.
    """
    from dtaosim.state.chain_state import GI, SF, SI, ChainState

    rng = np.random.default_rng(seed)
    scale = min(1.0, SUBNETS / subnets)  # more subnets share the same TAO (free TAO >= 0)
    ain_f = np.floor(np.exp(rng.uniform(np.log(2e5), np.log(4e6), subnets)) * 1e9 * scale)
    price = np.exp(rng.uniform(np.log(0.002), np.log(0.1), subnets))
    tao = np.floor(ain_f * price).astype(np.int64)
    ain = ain_f.astype(np.int64)
    aout = np.floor(ain_f * rng.uniform(0.5, 2.0, subnets)).astype(np.int64)
    thr = halving_thresholds(Consts.total_supply)
    near = np.arange(subnets) % 8 == 3
    target = thr[0] - np.floor(rng.uniform(0.1, 1.0, subnets) * 1.44e13).astype(np.int64)
    aout = np.where(near, target - ain, aout)  # exact int64 arithmetic (values > 2**53)
    ema = price * np.exp(rng.normal(0.0, 0.2, subnets))
    st = ChainState.empty(runs, subnets, block=9_000_000)
    i = st.ints
    i[:, :, SI.EXISTS] = 1
    i[:, :, SI.TAO_RESERVE] = tao
    i[:, :, SI.ALPHA_IN] = ain
    i[:, :, SI.ALPHA_OUT] = aout
    i[:, :, SI.STAKE_STAKERS] = aout
    i[:, :, SI.ALPHA_ISSUANCE_START] = ain + aout
    i[:, :, SI.FIRST_EMISSION_BLOCK] = 1
    i[:, :, SI.EMISSION_ENABLED] = 1
    i[:, :, SI.REGISTRATION_ALLOWED] = 1
    i[:, :, SI.TEMPO] = 0
    i[:, :, SI.NEURON_BURN] = 1_000_000_000
    i[:, :, SI.BURN_FACTOR_Q32] = 4_286_705_684
    st.floats[:, :, SF.PRICE_EMA] = ema
    issuance = int(thr[1]) - 1_800_000_000_000  # 0.25 day of 0.5 TAO blocks before T_2
    g = st.gints
    g[:, GI.TOTAL_ISSUANCE] = issuance
    g[:, GI.ISSUANCE_START] = issuance
    g[:, GI.FREE_TAO] = issuance - int(tao.sum())
    g[:, GI.BLOCK_EMISSION] = 500_000_000
    return st


def dtaosim_state(network: str, runs: int, subnets: int = SUBNETS):
    """Initial :class:`dtaosim.state.ChainState` of the reduced model (``runs`` copies)."""
    if network == "default":
        from dtaosim.io.snapshot import default_snapshot, snapshot_to_state

        if subnets != SUBNETS:
            raise ValueError("the default network has 128 subnets; use 'synthetic'")
        return _reduce(snapshot_to_state(default_snapshot(), runs, mech=mechanism()))
    if network == "synthetic":
        return _reduce(synthetic_state(runs, subnets))
    raise ValueError(f"unknown network {network!r}")


def draw_z(runs: int, n_actions: int, subnets: int, seed: int = SEED) -> np.ndarray:
    """``z[r]`` = the ``(n_actions, subnets)`` normals ``dtaosim.simulate`` draws for run ``r``."""
    # dtaosim.agents.streams: SeedSequence(seed, spawn_key=(run, Process.STAKE_FLOWS = 1))
    return np.stack([np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(r, 1)))
                     .standard_normal((n_actions, subnets)) for r in range(runs)])


def make_inputs(path: str, network: str, runs: int, blocks: int,
                subnets: int = SUBNETS) -> None:
    """Write the peers' inputs: run 0's initial state (all runs start equal), ``z``, constants."""
    from dtaosim.state.chain_state import GI, SF, SI

    st = dtaosim_state(network, 1, subnets)
    c = Consts()
    m = mechanism()
    assert (m.default_block_emission, m.total_supply, m.subnet_moving_alpha, m.flat_stake_fee,
            m.min_stake, m.min_pool_liquidity) == (
        c.default_block_emission, c.total_supply, c.ema_alpha, c.flat_fee, c.min_stake,
        c.min_pool_liquidity), "Consts out of sync with the preset"
    assert (st.ints[0, :, SI.EXISTS] != 0).all()
    np.savez(
        path,
        tao=st.ints[0, :, SI.TAO_RESERVE].copy(),
        alpha_in=st.ints[0, :, SI.ALPHA_IN].copy(),
        alpha_out=st.ints[0, :, SI.ALPHA_OUT].copy(),
        stake=st.ints[0, :, SI.STAKE_STAKERS].copy(),
        ema=st.floats[0, :, SF.PRICE_EMA].copy(),
        issuance=np.int64(st.gints[0, GI.TOTAL_ISSUANCE]),
        free_tao=np.int64(st.gints[0, GI.FREE_TAO]),
        thresholds=halving_thresholds(c.total_supply),
        z=draw_z(runs, blocks // FLOW_EVERY, subnets),
        blocks=np.int64(blocks),
        runs=np.int64(runs),
        **{"c_" + k: getattr(c, k) for k in Consts.__dataclass_fields__},
    )
