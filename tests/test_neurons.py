"""NeuronState: layout, validation, synthetic metagraphs, metagraph tables, one full epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dtaosim.chain.metagraph import synthetic_neurons
from dtaosim.chain.uid_payout import N_CREDITS, PayoutParams, PayoutTotals, credit_uids, pay_epoch
from dtaosim.chain.weights import U16_MAX, is_max_weight_limited
from dtaosim.errors import DataError
from dtaosim.io.metagraphs import neurons_from_metagraphs
from dtaosim.state.neurons import (
    DEFAULT_TAKE,
    N_ALPHA_STAKE,
    N_COLDKEY,
    N_DIVIDENDS,
    N_EARNED_MINER,
    N_EARNED_ROOT,
    N_EARNED_VALIDATOR,
    N_EMISSION,
    N_HOTKEY,
    N_INCENTIVE,
    N_LAST_UPDATE,
    N_REGISTERED_AT,
    N_ROOT_STAKE,
    N_TAKE,
    NF,
    NI,
    NeuronState,
    store_epoch_outputs,
    subnetwork_n,
    uid_of_hotkey,
)

TAO = 10**9


def test_plain_int_constants_match_enums() -> None:
    ints = {N_HOTKEY: NI.HOTKEY, N_COLDKEY: NI.COLDKEY, N_ALPHA_STAKE: NI.ALPHA_STAKE,
            N_ROOT_STAKE: NI.ROOT_STAKE, N_REGISTERED_AT: NI.REGISTERED_AT,
            N_LAST_UPDATE: NI.LAST_UPDATE, N_EMISSION: NI.EMISSION,
            N_EARNED_MINER: NI.EARNED_MINER, N_EARNED_VALIDATOR: NI.EARNED_VALIDATOR,
            N_EARNED_ROOT: NI.EARNED_ROOT}
    assert all(k == int(v) for k, v in ints.items()) and len(ints) == len(NI)
    floats = {N_INCENTIVE: NF.INCENTIVE, N_DIVIDENDS: NF.DIVIDENDS, N_TAKE: NF.TAKE}
    assert all(k == int(v) for k, v in floats.items()) and len(floats) == len(NF)


def test_empty_layout_and_views() -> None:
    s = NeuronState.empty(2, 3, 5)
    assert (s.runs, s.subnets, s.uids) == (2, 3, 5)
    assert s.hotkey.shape == (2, 3, 5) and (s.hotkey == -1).all() and (s.coldkey == -1).all()
    assert s.weights.shape == (2, 3, 5, 5) and s.weights.dtype == np.uint16
    assert s.bonds.dtype == np.uint16 and s.permit.dtype == np.bool_
    s.validate()
    v = s.subnet(1, 2)
    v.ints[NI.ALPHA_STAKE, 0] = 7  # views write through
    assert s.alpha_stake[1, 2, 0] == 7
    assert s.subnetwork_n().tolist() == [[0, 0, 0], [0, 0, 0]]
    c = s.copy()
    c.alpha_stake[1, 2, 0] = 9
    assert s.alpha_stake[1, 2, 0] == 7
    with pytest.raises(DataError, match="weights must have shape"):
        NeuronState(s.ints, s.floats, s.permit, s.weights[:, :, :2], s.bonds)


def _filled(n: int = 3, uids: int = 4) -> NeuronState:
    s = NeuronState.empty(1, 2, uids)
    s.ints[0, 1, NI.HOTKEY, :n] = np.arange(n) + 10
    s.ints[0, 1, NI.COLDKEY, :n] = 1
    s.ints[0, 1, NI.REGISTERED_AT, :n] = 5
    s.ints[0, 1, NI.LAST_UPDATE, :n] = 5
    s.floats[0, 1, NF.TAKE, :n] = DEFAULT_TAKE
    return s


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.alpha_stake.__setitem__((0, 1, 2), -5),
         "alpha_stake is negative at run 0, subnet slot 1 \\(netuid 2\\), uid 2"),
        (lambda s: s.permit.__setitem__((0, 1, 3), True),
         "validator_permit is set on an empty slot at run 0, subnet slot 1 \\(netuid 2\\), "
         "uid 3"),
        (lambda s: s.hotkey.__setitem__((0, 1, 1), -1), "uid 1 is empty but uid 2 is filled"),
        (lambda s: s.hotkey.__setitem__((0, 1, 2), 10), "hotkey 10 holds two UIDs"),
        (lambda s: s.incentive.__setitem__((0, 1, 0), 1.5), "incentive is not a finite"),
        (lambda s: s.take.__setitem__((0, 1, 0), np.nan), "take is not a finite"),
        (lambda s: s.weights.__setitem__((0, 1, 0, 3), 1), "weights column is non-zero"),
        (lambda s: s.bonds.__setitem__((0, 1, 3, 0), 1), "bonds row is non-zero"),
        (lambda s: s.coldkey.__setitem__((0, 1, 0), -1), "coldkey is negative on a filled"),
        (lambda s: s.emission.__setitem__((0, 0, 0), 3), "emission must be 0 on an empty"),
    ],
)
def test_validate_names_the_bad_value(mutate: object, message: str) -> None:
    s = _filled()
    s.validate()
    mutate(s)  # type: ignore[operator]
    with pytest.raises(DataError, match=message):
        s.validate()


def test_compiled_helpers() -> None:
    s = _filled()
    ni, nf, permit, _w, _b = s.subnet(0, 1)
    assert subnetwork_n(ni) == 3
    assert uid_of_hotkey(ni, 11) == 1 and uid_of_hotkey(ni, 99) == -1
    assert uid_of_hotkey(ni, -1) == -1
    store_epoch_outputs(ni, nf, permit, np.array([0.5, 0.5, 0, 0.9]), np.array([0, 0, 1.0, 0.9]),
                        np.array([5, 6, 7, 8]), np.array([True, False, True, True]))
    assert s.incentive[0, 1].tolist() == [0.5, 0.5, 0.0, 0.0]  # empty uid 3 untouched
    assert s.emission[0, 1].tolist() == [5, 6, 7, 0]
    assert s.permit[0, 1].tolist() == [True, False, True, False]
    s.validate()


# --------------------------------------------------------------------------- synthetic
def _synth(**kw: object) -> NeuronState:
    base: dict[str, object] = dict(subnet_alpha_stake=[[1_000_000 * TAO, 50_000 * TAO]],
                                   block=3_000_000, seed=42, root_stake=[4_000_000 * TAO])
    base.update(kw)
    return synthetic_neurons(1, 2, 64, 16, **base)  # type: ignore[arg-type]


def test_synthetic_neurons_structure() -> None:
    s = _synth(max_weight_limit=2_000)
    s.validate()
    assert (s.hotkey >= 0).all() and s.subnetwork_n().tolist() == [[64, 64]]
    assert s.alpha_stake.sum(axis=2).tolist() == [[1_000_000 * TAO, 50_000 * TAO]]  # exact
    for k in range(2):
        permit = s.permit[0, k]
        assert permit.sum() == 16 and permit[0]  # owner UID 0 validates
        stake = s.alpha_stake[0, k]
        assert 0 < stake[~permit].sum() <= int(stake.sum() * 1e-3)  # miners hold <= 0.1 %
        assert stake[permit].min() > stake[~permit].max()  # top-k stake = permits
        w = s.weights[0, k]
        assert (w[~permit] == 0).all()  # miners set no weights
        assert (w[:, permit] == 0).all()  # validators weight miners only (not themselves)
        for i in np.flatnonzero(permit):
            assert w[i].max() == U16_MAX  # rows max-upscaled as stored
            assert is_max_weight_limited(w[i], 2_000)
        assert s.incentive[0, k].sum() == pytest.approx(1.0)
        assert s.dividends[0, k].sum() == pytest.approx(1.0)
        assert (s.take[0, k] == DEFAULT_TAKE).all()
        assert (s.last_update[0, k] >= s.registered_at[0, k]).all()
        assert (s.registered_at[0, k] <= 3_000_000).all()
        assert (s.bonds[0, k][~permit] == 0).all() and (s.bonds[0, k][permit].sum() > 0)
    # owner hotkeys differ per subnet; pool validators share ids and root stake across subnets
    assert s.hotkey[0, 0, 0] != s.hotkey[0, 1, 0]
    shared = np.intersect1d(s.hotkey[0, 0][s.permit[0, 0]], s.hotkey[0, 1][s.permit[0, 1]])
    for h in shared:
        r0 = s.root_stake[0, 0][s.hotkey[0, 0] == h]
        r1 = s.root_stake[0, 1][s.hotkey[0, 1] == h]
        assert r0.tolist() == r1.tolist()
    assert s.root_stake[0, :, 0].tolist() == [0, 0]  # owners hold no root stake
    assert (s.root_stake[0][~s.permit[0]] == 0).all()


def test_synthetic_neurons_reproducible_and_runs_differ() -> None:
    a = synthetic_neurons(2, 1, 32, 8, subnet_alpha_stake=1e15, seed=7)
    b = synthetic_neurons(2, 1, 32, 8, subnet_alpha_stake=1e15, seed=7)
    assert (a.ints == b.ints).all() and (a.weights == b.weights).all()
    assert not (a.weights[0] == a.weights[1]).all()
    c = synthetic_neurons(2, 1, 32, 8, subnet_alpha_stake=1e15,
                          seed=np.random.SeedSequence(7))
    assert (a.ints == c.ints).all()


def test_synthetic_neurons_netuids_leave_other_slots_empty() -> None:
    s = synthetic_neurons(1, [2, 4], 16, 4, subnet_alpha_stake=[[5 * TAO, 7 * TAO]], seed=1)
    assert s.subnets == 4
    assert s.subnetwork_n().tolist() == [[0, 16, 0, 16]]
    assert s.alpha_stake.sum(axis=2).tolist() == [[0, 5 * TAO, 0, 7 * TAO]]
    with pytest.raises(ValueError):
        synthetic_neurons(1, [0, 1], 16, 4, subnet_alpha_stake=1)
    with pytest.raises(ValueError):
        synthetic_neurons(1, 2, 16, 17, subnet_alpha_stake=1)


def test_synthetic_cold_bonds() -> None:
    s = synthetic_neurons(1, 1, 16, 4, subnet_alpha_stake=1e12, seed=3, warm_bonds=False)
    assert (s.bonds == 0).all()


# ------------------------------------------------------------------------- metagraphs
def _tables() -> tuple[pa.Table, pa.Table]:
    from dtaosim.io.chain_reader import NEURON_SCHEMA, WEIGHT_SCHEMA

    rows = [
        dict(netuid=1, uid=0, hotkey="5Hot0", coldkey="5ColdA", alpha_stake_rao=9 * TAO,
             root_stake_rao=3 * TAO, incentive=0.0, dividends=1.0, validator_permit=True,
             block_at_registration=10, last_update=990),
        dict(netuid=1, uid=1, hotkey="5Hot1", coldkey="5ColdB", alpha_stake_rao=1_000,
             root_stake_rao=0, incentive=1.0, dividends=0.0, validator_permit=False,
             block_at_registration=900, last_update=900),
        dict(netuid=3, uid=0, hotkey="5Hot0", coldkey="5ColdA", alpha_stake_rao=4 * TAO,
             root_stake_rao=3 * TAO, incentive=0.0, dividends=1.0, validator_permit=True,
             block_at_registration=20, last_update=980),
        dict(netuid=0, uid=0, hotkey="5Root", coldkey="5ColdR", alpha_stake_rao=1,
             root_stake_rao=1, incentive=0.0, dividends=0.0, validator_permit=True,
             block_at_registration=1, last_update=1),
    ]
    weights = pa.table(
        {"netuid": pa.array([1, 3], pa.uint16()), "uid": pa.array([0, 0], pa.uint16()),
         "target_uid": pa.array([1, 0], pa.uint16()),
         "weight": pa.array([65535, 65535], pa.uint16())},
        schema=WEIGHT_SCHEMA,
    )
    return pa.Table.from_pylist(rows, schema=NEURON_SCHEMA), weights


def test_neurons_from_metagraph_tables(tmp_path: Path) -> None:
    from dtaosim.io.metagraphs import write_metagraphs

    neurons, weights = _tables()
    out_neurons, _out_weights = write_metagraphs(neurons, weights, tmp_path / "net.json")
    s = neurons_from_metagraphs(out_neurons, n_uids=4, n_runs=2, epoch_emission=1_000)
    assert s.runs == 2 and s.subnets == 3 and s.uids == 4
    assert s.meta["hotkeys"] == ["5Hot0", "5Hot1"]  # root row skipped
    assert s.meta["coldkeys"] == ["5ColdA", "5ColdB"]
    assert s.subnetwork_n().tolist() == [[2, 0, 1]] * 2
    assert s.hotkey[0, 0, :2].tolist() == [0, 1] and s.hotkey[0, 2, 0] == 0  # same id
    assert s.alpha_stake[1, 0, :2].tolist() == [9 * TAO, 1_000]
    assert s.root_stake[0, 2, 0] == 3 * TAO
    assert s.registered_at[0, 0, :2].tolist() == [10, 900]
    assert s.last_update[0, 2, 0] == 980
    assert s.permit[0, 0, :2].tolist() == [True, False]
    assert s.weights[0, 0, 0, 1] == 65535 and s.weights[0, 2, 0, 0] == 65535
    assert s.emission[0, 0, :2].tolist() == [500, 500]
    assert (s.bonds == 0).all()
    warm = neurons_from_metagraphs(neurons, weights, n_uids=4, warm_bonds=True)
    assert warm.bonds[0, 0, 0, 1] == 65535 and warm.bonds[0, 0, 1].sum() == 0


def test_neurons_from_metagraphs_errors() -> None:
    neurons, weights = _tables()
    with pytest.raises(DataError, match="beyond capacity"):
        neurons_from_metagraphs(neurons, weights, n_uids=1)
    with pytest.raises(DataError, match="lacks columns"):
        neurons_from_metagraphs(neurons.drop_columns(["coldkey"]))
    with pytest.raises(DataError, match="beyond 2 slots"):
        neurons_from_metagraphs(neurons, subnets=2, n_uids=4)
    with pytest.raises(DataError, match="cannot read"):
        neurons_from_metagraphs("/nonexistent/x.metagraphs.parquet")


# ------------------------------------------------------------------- one epoch end to end
def test_synthetic_epoch_yuma_then_payout_conserves() -> None:
    """The engine's order at an epoch: Yuma -> store outputs -> pay -> credit."""
    from dtaosim.chain.yuma import yuma_epoch_numpy

    s = synthetic_neurons(1, 1, 64, 8, subnet_alpha_stake=1e15, seed=11, block=1_000_000,
                          root_stake=[2e15])
    ni, nf, permit, weights, bonds = s.subnet(0, 0)
    stake_before = int(ni[NI.ALPHA_STAKE].sum())
    srv, val, rt, own = 147_600_000_000, 120_000_000_000, 27_600_000_000, 64_800_000_000
    res = yuma_epoch_numpy(
        alpha_stake=ni[NI.ALPHA_STAKE][None].astype(np.float64),
        root_stake=ni[NI.ROOT_STAKE][None].astype(np.float64), tao_weight=0.18,
        weights=weights[None], bonds=bonds[None], validator_permit=permit[None],
        last_update=ni[NI.LAST_UPDATE][None], block_at_registration=ni[NI.REGISTERED_AT][None],
        block=[1_000_000], emission=[srv + val + rt], owner_uid=[0],
        uid_mask=(ni[NI.HOTKEY] >= 0)[None],
    )
    store_epoch_outputs(ni, nf, permit, res.incentive[0], res.dividends[0], res.emission[0],
                        res.validator_permit[0])
    bonds[:] = res.bonds[0]
    credits = np.zeros((N_CREDITS, s.uids), dtype=np.int64)
    t = PayoutTotals(*pay_epoch(ni, nf, res.server_emission[0], res.validator_emission[0],
                                srv, val, rt, own, int(ni[NI.HOTKEY, 0]),
                                int(ni[NI.COLDKEY, 0]), PayoutParams(tao_weight=0.18),
                                credits))
    assert (t.miners + t.withheld + t.alpha_dividends + t.root_dividends + t.owner_cut
            + t.owner_unassigned + t.undistributed) == srv + val + rt + own
    assert t.miners > 0.99 * srv and t.alpha_dividends > 0.99 * val
    assert t.root_dividends > 0.99 * rt and t.owner_cut == own
    assert t.undistributed < 200  # floor dust only
    credit_uids(ni, credits)
    added = int(ni[NI.ALPHA_STAKE].sum()) - stake_before
    claimable = int(credits[5].sum())
    assert added == t.miners + t.alpha_dividends + t.root_dividends - claimable + own
    s.validate()


# ------------------------------------------------------- callable from the compiled engine
def test_per_subnet_functions_compose_inside_njit() -> None:
    """The engine calls these from its own compiled loop on views of (run, subnet)."""
    from numba import njit, prange

    from dtaosim.chain.neuron_registration import UidRules, bump_burn_exact, register_uid
    from dtaosim.chain.uid_payout import PayoutParams, credit_uids, pay_epoch
    from dtaosim.chain.weights import WeightRules, set_weights_dense, weights_row_u16

    @njit(parallel=True)
    def engine_like(ints, floats, permit, weights, bonds, credits, scores,  # type: ignore
                    out_row, scratch):
        runs, subnets = ints.shape[0], ints.shape[1]
        paid = np.zeros(runs, dtype=np.int64)
        for r in prange(runs):
            for k in range(subnets):
                ni, nf = ints[r, k], floats[r, k]
                p, w, b = permit[r, k], weights[r, k], bonds[r, k]
                wrules = WeightRules(1, 65535, 100, False, 0.0, 0)
                weights_row_u16(scores[r], 65535, out_row[r], scratch[r])
                set_weights_dense(ni, p, w, 0, out_row[r], 10_000, 1e18, 0, 0, wrules)
                uid = register_uid(ni, nf, p, w, b, 10_000 + k, 77, 0, 0, 0.18, 10_000, -1,
                                   -1, UidRules(ni.shape[1], 5000, 10, 1), False)
                if uid >= 0:
                    paid[r] += bump_burn_exact(1_000, 2, 0, 0, 10**12) - 2_000
                t = pay_epoch(ni, nf, nf[0], nf[1], 1_000, 1_000, 0, 10, ni[0, 0], -1,
                              PayoutParams(0.18, True, 0), credits[r])
                credit_uids(ni, credits[r])
                paid[r] += t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] - t[7]
        return paid

    s = synthetic_neurons(2, 2, 32, 4, subnet_alpha_stake=1e13, seed=5, block=9_000)
    credits = np.zeros((2, N_CREDITS, 32), dtype=np.int64)
    scores = np.random.default_rng(0).random((2, 32))
    paid = engine_like(s.ints, s.floats, s.permit, s.weights, s.bonds, credits, scores,
                       np.zeros((2, 32), dtype=np.uint16), np.zeros((2, 32)))
    assert paid.tolist() == [0, 0]  # bump exact, payouts conserved
    assert (s.last_update[:, :, 0] == 10_000).all()  # weights stored by UID 0 (the owner)
    s.validate()
