"""Epochs paid to UIDs inside the block kernel (engine + Yuma + payouts + UID registration)."""

from __future__ import annotations

import numpy as np
import pytest

from dtaosim import default_network, get_mechanism, run_blocks
from dtaosim.agents.exogenous import ExogenousConfig
from dtaosim.chain.epoch_uids import distribute_epoch_uids, epoch_work
from dtaosim.chain.metagraph import neurons_for_state
from dtaosim.chain.presets import kernel_params
from dtaosim.chain.uid_payout import PayoutParams, pay_subnet_epoch
from dtaosim.chain.uid_registration import register_hotkey
from dtaosim.chain.yuma import yuma_epoch
from dtaosim.errors import RegistrationError
from dtaosim.experiments.simulation import simulate
from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.state.neurons import NH, NI, NeuronState

HEAD = get_mechanism("price-burn-2026-06")


def _state(runs: int = 1, uids: int = 32, validators: int = 8, seed: int = 5):
    st = default_network(runs=runs, mech=HEAD)
    st.neurons = neurons_for_state(st, uids, validators, seed=seed)
    return st


def test_kernel_epoch_is_yuma_then_payout() -> None:
    """One subnet's epoch through the kernel's function equals the public pieces composed."""
    st = _state()
    k, block = 3, st.block + 1
    nrn = st.neurons
    ir, fr, g = st.ints_fm[0].copy(), st.floats_fm[0].copy(), st.gints[0].copy()
    s, v, rt, o = (int(ir[f, k]) for f in (SI.PENDING_SERVER, SI.PENDING_VALIDATOR,
                                            SI.PENDING_ROOT, SI.PENDING_OWNER))
    assert min(s, v, rt, o) > 0
    ref = nrn.copy()
    view = ref.subnet(0, k)
    hyp = ref.hyper[0, k]
    y = yuma_epoch(alpha_stake=view.ints[NI.ALPHA_STAKE][None].astype(float),
                   root_stake=view.ints[NI.ROOT_STAKE][None].astype(float),
                   tao_weight=HEAD.tao_weight, weights=view.weights[None],
                   bonds=view.bonds[None].copy(), validator_permit=view.permit[None],
                   last_update=view.ints[NI.LAST_UPDATE][None],
                   block_at_registration=view.ints[NI.REGISTERED_AT][None], block=block,
                   emission=s + v + rt, last_tempo=block - int(ir[SI.TEMPO, k]),
                   owner_uid=0, uid_mask=view.ints[NI.HOTKEY][None] >= 0,
                   max_allowed_validators=int(hyp[NH.MAX_ALLOWED_VALIDATORS]))
    paid = pay_subnet_epoch(ref, 0, k, server=s, validator=v, root=rt, owner_cut=o,
                            incentive=y.server_emission[0], dividends=y.validator_emission[0],
                            owner_hotkey=int(hyp[NH.OWNER_HOTKEY]),
                            owner_coldkey=int(hyp[NH.OWNER_COLDKEY]),
                            params=PayoutParams(tao_weight=HEAD.tao_weight))

    got = nrn.copy()
    view2 = got.subnet(0, k)
    distribute_epoch_uids(ir, fr, g, k, block, kernel_params(HEAD), *view2, got.hyper[0, k],
                          epoch_work(got.uids))
    assert np.array_equal(got.bonds[0, k], y.bonds[0])
    assert np.array_equal(got.permit[0, k], y.validator_permit[0])
    for f in (NI.ALPHA_STAKE, NI.EARNED_MINER, NI.EARNED_VALIDATOR, NI.EARNED_ROOT):
        assert np.array_equal(got.ints[0, k, f], ref.ints[0, k, f]), f.name
    assert np.array_equal(got.ints[0, k, NI.EMISSION], y.emission[0])
    t = paid.totals
    assert ir[SI.CUM_MINER_PAID, k] - st.ints[0, k, SI.CUM_MINER_PAID] == t.miners
    assert ir[SI.CUM_STAKER_PAID, k] - st.ints[0, k, SI.CUM_STAKER_PAID] == t.alpha_dividends
    assert ir[SI.CUM_MINER_BURNED, k] - st.ints[0, k, SI.CUM_MINER_BURNED] == t.withheld
    assert got.hyper[0, k, NH.LAST_STEP_BLOCK] == block
    for f in (SI.PENDING_SERVER, SI.PENDING_VALIDATOR, SI.PENDING_ROOT, SI.PENDING_OWNER):
        assert ir[f, k] == 0


def test_uid_income_sums_to_subnet_totals_with_registrations_and_flows() -> None:
    """Two runs, two days: stake flows, new hotkeys replacing UIDs, invariants checked every
    block; what UIDs (and departed hotkeys) earned equals what each subnet paid, to the RAO."""
    st = _state(runs=2)
    ex = ExogenousConfig(new_subnets_per_day=0.0, uid_registrations_per_day=30.0)
    out = simulate(st, HEAD, blocks=2 * 7200, record_every=7200, seed=11, exogenous=ex)
    nrn = out.neurons
    # many joined, in each run (one hotkey counter per run)
    assert (nrn.meta["next_hotkey"] > st.neurons.meta["next_hotkey"] + 1000).all()
    assert (nrn.hyper[:, :, NH.DEPARTED_MINER] > 0).any()  # and some earners were replaced
    for f, d, cum in ((NI.EARNED_MINER, NH.DEPARTED_MINER, SI.CUM_MINER_PAID),
                      (NI.EARNED_VALIDATOR, NH.DEPARTED_VALIDATOR, SI.CUM_STAKER_PAID),
                      (NI.EARNED_ROOT, NH.DEPARTED_ROOT, SI.CUM_ROOT_DIVS)):
        earned = nrn.ints[:, :, f, :].sum(axis=2) + nrn.hyper[:, :, d]
        assert np.array_equal(earned, out.ints[:, :, cum] - st.ints[:, :, cum]), f.name
    nrn.validate()
    # the runs differ (own random streams) but each is a valid network
    assert not np.array_equal(nrn.hotkey[0], nrn.hotkey[1])


def test_miner_burn_emerges_from_the_owner_uid() -> None:
    """Validators weighting the owner's UID make the chain withhold that incentive: a subnet
    whose validators put everything on UID 0 burns all, one with no owner weight burns none."""
    st = default_network(runs=1, mech=HEAD)
    burn = st.floats[:, :, SF.MINER_BURN_FRACTION]
    full, none = int(np.flatnonzero(burn[0] == 1.0)[0]), int(np.flatnonzero(burn[0] == 0.0)[0])
    st.neurons = neurons_for_state(st, 32, 8, seed=1)
    out = run_blocks(st, HEAD, 400)
    assert out.floats[0, full, SF.MINER_BURNED] == 1.0
    assert out.floats[0, none, SF.MINER_BURNED] == 0.0
    gained = out.ints[0, :, SI.CUM_MINER_BURNED] - st.ints[0, :, SI.CUM_MINER_BURNED]
    assert gained[full] > 0 and gained[none] == 0


def test_batched_runs_equal_single_runs() -> None:
    """A run's result does not depend on the batch it is simulated in."""
    st = _state(runs=2)
    both = run_blocks(st, HEAD, 800)
    n = st.neurons
    one = ChainState(st.block, st.ints[1:2], st.floats[1:2], st.gints[1:2], dict(st.meta),
                     NeuronState(n.ints[1:2], n.floats[1:2], n.permit[1:2], n.weights[1:2],
                                 n.bonds[1:2], dict(n.meta), n.hyper[1:2]))
    alone = run_blocks(one, HEAD, 800)
    assert np.array_equal(alone.ints, both.ints[1:2])
    assert np.array_equal(alone.neurons.ints, both.neurons.ints[1:2])
    assert np.array_equal(alone.neurons.bonds, both.neurons.bonds[1:2])


def test_numpy_backend_refuses_uids() -> None:
    with pytest.raises(ValueError, match="numpy backend has no UIDs"):
        run_blocks(_state(), HEAD, 1, backend="numpy")


def test_register_hotkey_pays_the_burn_and_replaces_the_weakest() -> None:
    st = _state()
    k = 0
    row = st.ints[0, k]
    burn, free = int(row[SI.NEURON_BURN]), int(st.gints[0, GI.FREE_TAO])
    recycled, pool = int(row[SI.ALPHA_RECYCLED]), int(row[SI.TAO_RESERVE])
    nrn = st.neurons
    em = nrn.ints[0, k, NI.EMISSION].copy()
    reg_at = nrn.ints[0, k, NI.REGISTERED_AT]
    immune = st.block - reg_at < nrn.hyper[0, k, NH.IMMUNITY_PERIOD]
    em[immune | (np.arange(em.size) == 0)] = np.iinfo(np.int64).max  # the owner: immortal
    weakest = int(np.argmin(em))
    reg = register_hotkey(st, HEAD, 0, k + 1, 10**9, 10**9)
    assert reg.replaced and reg.uid == weakest
    assert nrn.ints[0, k, NI.HOTKEY, weakest] == 10**9
    assert reg.burn_paid == burn and row[SI.NEURON_BURN] == reg.new_burn
    assert reg.new_burn == pytest.approx(burn * 1.26, rel=1e-6)
    # paid from free TAO; the swap fee goes to the block author, also free TAO
    assert st.gints[0, GI.FREE_TAO] <= free - burn + burn // 100
    assert row[SI.TAO_RESERVE] > pool  # the burn went into the pool...
    assert row[SI.ALPHA_RECYCLED] > recycled  # ...and the alpha bought was destroyed
    from dtaosim.state.invariants import check_state

    check_state(st)
    before = (st.ints.copy(), st.gints.copy(), nrn.ints.copy(), nrn.weights.copy())
    with pytest.raises(RegistrationError, match="HotKeyAlreadyRegisteredInSubNet"):
        register_hotkey(st, HEAD, 0, k + 1, 10**9, 10**9)
    with pytest.raises(RegistrationError, match="SubnetNotExists"):
        register_hotkey(st, HEAD, 0, 999, 10**9 + 1, 1)
    after = (st.ints, st.gints, nrn.ints, nrn.weights)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_run_starts_from_saved_metagraphs(tmp_path) -> None:
    """`dtaosim run --snapshot net.json` uses net.metagraphs.parquet when it is there: the
    UIDs, hotkeys, stakes and weights of the saved metagraph, the owners from the snapshot."""
    import json
    import shutil
    from pathlib import Path

    import duckdb
    import pyarrow as pa
    from typer.testing import CliRunner

    from dtaosim.cli.app import app
    from dtaosim.io.chain_reader import NEURON_SCHEMA, WEIGHT_SCHEMA
    from dtaosim.io.metagraphs import write_metagraphs

    src = Path(__file__).parent / "fixtures" / "small_network.json"
    snap = tmp_path / "net.json"
    shutil.copy(src, snap)
    doc = json.loads(snap.read_text())
    block = doc["block"]
    rows, wrows = [], []
    for sub in doc["subnets"]:
        n = sub["netuid"]
        sub["owner_hotkey"], sub["owner_coldkey"] = f"hk-{n}-0", f"ck-{n}"
        for uid in range(6):  # uid 0 (owner) and 1 validate, 2-5 mine
            rows.append(dict(netuid=n, uid=uid, hotkey=f"hk-{n}-{uid}",
                             coldkey=f"ck-{n}" if uid == 0 else f"ck-{n}-{uid}",
                             alpha_stake_rao=10**13 if uid < 2 else 10**9, root_stake_rao=0,
                             incentive=0.0, dividends=0.0, validator_permit=uid < 2,
                             block_at_registration=block - 100_000, last_update=block - 10))
            if uid < 2:
                wrows += [(n, uid, t, 65535 if t == 2 else 30000) for t in range(2, 6)]
    snap.write_text(json.dumps(doc))
    neurons = pa.Table.from_pylist(rows, schema=NEURON_SCHEMA)
    weights = pa.Table.from_pylist(
        [dict(netuid=a, uid=b, target_uid=c, weight=d) for a, b, c, d in wrows],
        schema=WEIGHT_SCHEMA)
    write_metagraphs(neurons, weights, snap)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--snapshot", str(snap), "--days", "0.1",
                                      "--uids", "8", "--validators", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    uids = str(out / "uids.parquet")
    first = duckdb.sql(f"select count(*), count(distinct netuid) from '{uids}' "
                       f"where block = {block}").fetchall()
    assert first == [(6 * 4, 4)]  # the saved metagraph, not a synthetic full one
    best = duckdb.sql(f"""select netuid, arg_max(uid, earned_miner_rao) from '{uids}'
                          where block = (select max(block) from '{uids}') and uid >= 2
                          group by netuid""").fetchall()
    assert best and all(uid == 2 for _, uid in best)  # the miner both validators rate highest


def test_new_subnet_starts_with_its_owner_and_attracts_paid_miners() -> None:
    st = _state(seed=2)
    ex = ExogenousConfig(new_subnets_per_day=2.0, enable_emission_after_days=0.5)
    out = simulate(st, HEAD, blocks=4 * 7200, record_every=7200, seed=3, exogenous=ex)
    new = np.flatnonzero(out.ints[0, :, SI.REGISTERED_AT] > st.block)
    assert new.size >= 1
    for k in new:
        nrn = out.neurons
        owner = nrn.hyper[0, k, NH.OWNER_HOTKEY]
        assert nrn.hotkey[0, k, 0] == owner  # the owner's hotkey holds UID 0
        assert (nrn.hotkey[0, k] >= 0).sum() > 1  # miners registered
    assert max(int(out.ints[0, k, SI.CUM_MINER_PAID]) for k in new) > 0
