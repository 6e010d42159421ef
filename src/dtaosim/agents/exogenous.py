"""Exogenous processes: the scripted outside world of a scenario, acting through the chain.

At each action step (:func:`apply_exogenous`, called by the scenario driver
:func:`dtaosim.experiments.simulation.simulate`) the world outside the chain acts through the
same functions a user would call:

* **stake flows** - each subnet receives a random net TAO flow (a buy or a sell through
  :func:`dtaosim.chain.pools.buy_batch` / :func:`~dtaosim.chain.pools.sell_batch`), Gaussian
  with a standard deviation proportional to the pool's TAO reserve, calibrated so that alpha
  prices move with the daily log-return volatility seen on mainnet (real-world target R3, median
  6.7% a day; constant-product price ~ y**2, so the flow s.d. is half the price s.d.);
* **new subnets** - registrations arrive as a Poisson process (target: one every ~2.05 days)
  through :func:`dtaosim.chain.lifecycle.register_subnet`, which prunes at the subnet limit;
* **emission enabling** - at HEAD new subnets start with emission disabled until root enables
  them; we assume root does so after ``enable_emission_after_days``;
* with UIDs (``state.neurons``): **validators** keep their weights fresh (they re-submit them
  every action step, so they stay active for Yuma), **new hotkeys register** on each subnet as a
  Poisson process through :func:`dtaosim.chain.uid_registration.register_hotkey` (paying the
  burn, replacing the lowest-emission non-immune UID), and validators score a newcomer from a
  quality draw; a subnet's **stake flows** change its validators' stake pro rata; a **new
  subnet** starts with its owner's hotkey on UID 0.

Each process draws from its own generator per run (:class:`~dtaosim.agents.streams.RunStreams`,
``SeedSequence(seed, spawn_key=(run, process))``), so results do not depend on how runs are
batched, and two configurations with different rules see the same stake-flow shocks and
registration arrivals (common random numbers). Assumptions are listed in
``docs/assumptions.md``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from dtaosim.agents.stake import spread_over_validators
from dtaosim.agents.streams import Process, RunStreams, poisson_from_uniform
from dtaosim.chain.neuron_registration import UidRules
from dtaosim.chain.presets import Mechanism
from dtaosim.errors import RegistrationError
from dtaosim.state.chain_state import SF, SI, ChainState
from dtaosim.state.neurons import DEFAULT_TAKE, NH, NI, NeuronState, uid_of_hotkey
from dtaosim.units import BLOCKS_PER_DAY


class ExogenousConfig(BaseModel):
    """Exogenous scenario processes (all rates per day of 7,200 blocks)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    action_every_blocks: int = Field(
        300, ge=1, description="cadence of exogenous actions (300 blocks = 1 hour)")
    stake_flow_volatility: float = Field(
        0.0335, ge=0, le=1,
        description="daily s.d. of net stake flow as a fraction of pool TAO (R3: 6.7%/2); "
                    "agents off only (with agents: [noise])")
    stake_flow_drift: float = Field(
        0.0, ge=-1, le=1,
        description="daily mean net stake flow as a fraction of pool TAO; agents off only")
    new_subnets_per_day: float = Field(
        0.49, ge=0, le=100, description="Poisson rate of subnet registrations (1 per 2.05 d)")
    enable_emission_after_days: float = Field(
        7.0, ge=0, description="days after registration until root enables emission (assumed)")
    new_subnet_miner_burn_fraction: float = Field(
        0.0, ge=0, le=1, description="miner burn fraction of newly registered subnets")
    uid_registrations_per_day: float = Field(
        60.0, ge=0, le=1000,
        description="new hotkeys per day on a subnet whose burn is at its starting level; the "
                    "rate scales with starting burn / current burn (60/day balances the burn's "
                    "360-block half-life with its x1.26 bump); agents off only (with agents "
                    "miner teams register by their own decisions)")
    newcomer_quality_sigma: float = Field(
        1.0, ge=0, le=10,
        description="s.d. of the log quality validators see in a newly registered miner")


def _stake_flows(state: ChainState, mech: Mechanism, ex: ExogenousConfig,
                 rngs: RunStreams, dt_days: float) -> None:
    if ex.stake_flow_volatility == 0.0 and ex.stake_flow_drift == 0.0:
        return
    stake_flows(state, mech, ex.stake_flow_volatility, ex.stake_flow_drift,
                rngs[Process.STAKE_FLOWS], dt_days)


def stake_flows(state: ChainState, mech: Mechanism, volatility: float | NDArray[np.float64],
                drift: float | NDArray[np.float64], rngs: list[np.random.Generator],
                dt_days: float) -> None:
    """Random net stake flows into every subnet, for ``dt_days`` days.

    Each subnet receives a net TAO flow ``y x (drift x dt + volatility x sqrt(dt) x z)``
    (``y`` its pool TAO, ``z`` standard normal from the run's generator): a buy through
    :func:`~dtaosim.chain.pools.buy_batch` or a sale (the TAO amount converted to alpha at the
    spot price) through :func:`~dtaosim.chain.pools.sell_batch`, by the validators and their
    nominators (``STAKE_STAKERS``); with UIDs the change is spread over the permitted
    validators' stakes.

    Parameters
    ----------
    volatility : float or ndarray of float64, (runs, subnets)
        Daily s.d. of the flow as a fraction of pool TAO (a scalar or one per subnet).
    drift : float or ndarray of float64, (runs, subnets)
        Daily mean of the flow as a fraction of pool TAO.
    """
    from dtaosim.chain.pools import buy_batch, sell_batch

    before = state.ints[:, :, SI.STAKE_STAKERS].copy()
    z = np.stack([g.standard_normal(state.subnets) for g in rngs])
    y = state.ints[:, :, SI.TAO_RESERVE].astype(np.float64)
    flow = y * (drift * dt_days + volatility * math.sqrt(dt_days) * z)
    flow = np.where(state.ints[:, :, SI.EXISTS] != 0, flow, 0.0)
    buys = np.floor(np.maximum(flow, 0.0)).astype(np.int64)
    if buys.any():
        buy_batch(state, mech, buys)
    # sells: the TAO amount to withdraw, converted to alpha at the spot price
    price = state.spot_price()
    tao_out = np.maximum(-flow, 0.0)
    alpha = np.floor(np.where(price > 0, tao_out / np.where(price > 0, price, 1.0), 0.0))
    alpha = np.minimum(alpha, state.ints[:, :, SI.STAKE_STAKERS]).astype(np.int64)
    if alpha.any():
        sell_batch(state, mech, alpha)
    if state.neurons is not None:
        spread_over_validators(state.neurons, state.ints[:, :, SI.STAKE_STAKERS] - before)


def _registrations(state: ChainState, mech: Mechanism, ex: ExogenousConfig,
                   rngs: RunStreams, dt_days: float) -> None:
    from dtaosim.chain.lifecycle import register_subnet

    if ex.new_subnets_per_day <= 0.0:
        return
    for r, g in enumerate(rngs[Process.SUBNET_REGISTRATIONS]):
        for _ in range(int(g.poisson(ex.new_subnets_per_day * dt_days))):
            try:
                res = register_subnet(state, mech, r, state.block)
            except RegistrationError:
                continue
            burn = ex.new_subnet_miner_burn_fraction
            state.floats[r, res.netuid - 1, SF.MINER_BURN_FRACTION] = burn
            if state.neurons is not None:
                owner_takes_uid0(state.neurons, r, res.netuid - 1, state.block)
                ref = state.neurons.meta.get("reference_burn")
                if ref is not None:  # UID demand is relative to the new subnet's own burn
                    ref[r, res.netuid - 1] = state.ints[r, res.netuid - 1, SI.NEURON_BURN]


def next_hotkey(nrn: NeuronState, run: int) -> int:
    """A new hotkey id for ``run``: one counter per run, so that a run's hotkeys do not depend
    on how many runs share the batch (hotkeys are unique within a run, not across runs)."""
    nxt = nrn.meta.get("next_hotkey")
    if not isinstance(nxt, np.ndarray) or nxt.shape != (nrn.runs,):
        # first use: past every hotkey already in the run's metagraph (and a shared start)
        start = nrn.hotkey.reshape(nrn.runs, -1).max(axis=1).astype(np.int64) + 1
        if nxt is not None:
            start = np.maximum(start, np.asarray(nxt, dtype=np.int64))
        nxt = np.ascontiguousarray(np.broadcast_to(start, (nrn.runs,)), dtype=np.int64)
        nrn.meta["next_hotkey"] = nxt
    hk = int(nxt[run])
    nxt[run] = hk + 1
    return hk


def owner_takes_uid0(nrn: NeuronState, run: int, slot: int, block: int) -> None:
    """A new subnet: its UIDs are cleared and the owner's new hotkey gets UID 0 (spec 8.1)."""
    from dtaosim.chain.neuron_registration import register_uid

    nrn.reset_subnet(run, slot)
    owner = next_hotkey(nrn, run)
    nrn.hyper[run, slot, NH.OWNER_HOTKEY] = owner
    nrn.hyper[run, slot, NH.OWNER_COLDKEY] = owner
    view = nrn.subnet(run, slot)
    rules = UidRules(max_allowed_uids=min(int(nrn.hyper[run, slot, NH.MAX_ALLOWED_UIDS]),
                                          nrn.uids))
    register_uid(*view, owner, owner, 0, 0, DEFAULT_TAKE, int(block), owner, owner, rules, False)


def _uid_processes(state: ChainState, mech: Mechanism, ex: ExogenousConfig,
                   rngs: RunStreams, dt_days: float) -> None:
    """Validators refresh their weights; new hotkeys register and are scored by validators."""
    from dtaosim.chain.uid_registration import register_hotkey

    nrn = state.neurons
    if nrn is None:
        return
    np.copyto(nrn.ints[:, :, NI.LAST_UPDATE, :], state.block, where=nrn.permit)
    rate = ex.uid_registrations_per_day * dt_days
    if rate <= 0.0:
        return
    exists = state.ints[:, :, SI.EXISTS] != 0
    burn = state.ints[:, :, SI.NEURON_BURN].astype(np.float64)
    ref = nrn.meta.setdefault("reference_burn", burn.copy())
    demand = rate * np.clip(ref / np.maximum(burn, 1.0), 0.0, 10.0)
    arrivals = rngs[Process.UID_REGISTRATIONS]
    scores = rngs[Process.NEWCOMER_SCORES]
    for r in range(state.runs):
        # one uniform per subnet and step, whatever the rate: common random numbers
        u = arrivals[r].random(state.subnets)
        counts = np.where(exists[r], poisson_from_uniform(u, demand[r]), 0)
        g = scores[r]
        for k in np.flatnonzero(counts):
            for _ in range(int(counts[k])):
                hk = next_hotkey(nrn, r)
                try:
                    reg = register_hotkey(state, mech, r, int(k) + 1, hk, hk)
                except RegistrationError:
                    continue
                _score_newcomer(nrn, r, int(k), reg.uid, g, ex.newcomer_quality_sigma,
                                float(state.floats[r, k, SF.MINER_BURN_FRACTION]))


def _score_newcomer(nrn: NeuronState, run: int, slot: int, uid: int, g: np.random.Generator,
                    sigma: float, owner_share: float) -> None:
    """Each validator weights a new miner at its row's median miner weight (half the u16 range
    for the first miner) times the miner's quality ``exp(sigma z)`` (shared) and its own noise
    ``exp(0.3 z_i)``, and puts
    ``owner_share`` of its row on the owner's UID (the subnet's burn policy); rows are stored
    max-upscaled to u16 as the chain does."""
    w = nrn.weights[run, slot]
    rows = np.flatnonzero(nrn.permit[run, slot])
    if rows.size == 0:
        return
    quality = math.exp(sigma * g.standard_normal())
    noise = np.exp(0.3 * g.standard_normal(rows.size))
    owner = int(uid_of_hotkey(nrn.ints[run, slot], int(nrn.hyper[run, slot, NH.OWNER_HOTKEY])))
    _score_rows(w, nrn.permit[run, slot], rows, uid, owner, quality, noise, owner_share)


@njit(cache=True)
def _kth_u16(vals: NDArray[np.int64], cnt: int, k: int,
             hist: NDArray[np.int64]) -> int:  # pragma: no cover - compiled
    """``k``-th smallest (0-based) of ``vals[:cnt]``, all in ``[0, 65535]``: a radix select on
    the high byte, then the low byte (two counting passes, no sort)."""
    hist[:] = 0
    for t in range(cnt):
        hist[vals[t] >> 8] += 1
    acc = 0
    hb = 0
    while acc + hist[hb] <= k:
        acc += hist[hb]
        hb += 1
    hist[:] = 0
    for t in range(cnt):
        v = vals[t]
        hist[v & 255] += 1 if (v >> 8) == hb else 0
    k -= acc
    acc = 0
    lb = 0
    while acc + hist[lb] <= k:
        acc += hist[lb]
        lb += 1
    return hb * 256 + lb


@njit(cache=True)
def median_u16(vals: NDArray[np.int64], cnt: int,
               hist: NDArray[np.int64]) -> float:  # pragma: no cover - compiled
    """``np.median(vals[:cnt])`` (``cnt >= 1``) of u16 values, exactly; ``hist`` is 256 scratch
    integers."""
    hi = _kth_u16(vals, cnt, cnt // 2, hist)
    if cnt % 2 == 1:
        return float(hi)
    return (float(_kth_u16(vals, cnt, cnt // 2 - 1, hist)) + float(hi)) / 2.0


@njit(cache=True)
def _score_rows(w: NDArray[np.uint16], permit: NDArray[np.bool_], rows: NDArray[np.int64],
                uid: int, owner: int, quality: float, noise: NDArray[np.float64],
                owner_share: float) -> None:  # pragma: no cover - compiled
    n = w.shape[1]
    vals = np.empty(n, np.int64)
    hist = np.empty(256, np.int64)
    row = np.empty(n)
    for a in range(rows.shape[0]):
        wi = w[rows[a]]
        cnt = 0
        for j in range(n):  # the row's miner weights (branch-free compaction)
            vals[cnt] = wi[j]
            cnt += 1 if (not permit[j]) & (j != uid) & (wi[j] > 0) else 0
        if cnt == 0 and owner_share >= 1.0:  # the subnet burns all: miners get no weight
            continue
        base = median_u16(vals, cnt, hist) if cnt > 0 else 32767.0  # first miner of a subnet
        for j in range(n):
            row[j] = float(wi[j])
        row[uid] = base * quality * noise[a]
        if owner >= 0 and owner_share < 1.0:  # keep the owner's share of the row
            row[owner] = 0.0
            row[owner] = owner_share / (1.0 - owner_share) * row.sum()
        scale = 65535.0 / row.max()
        for j in range(n):  # floor of a value in [0, 65535]: an int32 truncation vectorises
            wi[j] = np.int32(np.floor(row[j] * scale))


def _enable_emission(state: ChainState, ex: ExogenousConfig) -> None:
    age = state.block - state.ints[:, :, SI.REGISTERED_AT]
    due = ((state.ints[:, :, SI.EXISTS] != 0) & (state.ints[:, :, SI.EMISSION_ENABLED] == 0)
           & (age >= ex.enable_emission_after_days * BLOCKS_PER_DAY))
    state.ints[:, :, SI.EMISSION_ENABLED] |= due


def apply_exogenous(state: ChainState, mech: Mechanism, ex: ExogenousConfig,
                    rngs: RunStreams, dt_blocks: int) -> None:
    """Apply one action step of the exogenous processes to ``state`` in place."""
    dt_days = dt_blocks / BLOCKS_PER_DAY
    _stake_flows(state, mech, ex, rngs, dt_days)
    _registrations(state, mech, ex, rngs, dt_days)
    _enable_emission(state, ex)
    _uid_processes(state, mech, ex, rngs, dt_days)
