"""Paying a subnet's epoch to its UIDs (spec 5.6, 6.6): chain vectors and conservation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.chain.uid_payout import (
    C_ALPHA_NOMINATORS,
    C_ALPHA_TAKE,
    C_MINER,
    C_OWNER_CUT,
    C_ROOT_CLAIMABLE,
    C_ROOT_TAKE,
    C_WITHHELD,
    DUST_KEEP,
    DUST_TO_LARGEST,
    N_CREDITS,
    PayoutParams,
    PayoutTotals,
    credit_uids,
    pay_epoch,
    pay_subnet_epoch,
)
from dtaosim.state.neurons import DEFAULT_TAKE, NF, NI, NeuronState

TAKE = 11_796 / 65_535


def _subnet(n: int, *, alpha: list[int] | None = None, root: list[int] | None = None,
            take: float = TAKE, uids: int | None = None) -> NeuronState:
    s = NeuronState.empty(1, 1, uids or n)
    i = s.ints[0, 0]
    i[NI.HOTKEY, :n] = np.arange(n) + 100
    i[NI.COLDKEY, :n] = np.arange(n) + 200
    i[NI.REGISTERED_AT, :n] = 1
    i[NI.LAST_UPDATE, :n] = 1
    i[NI.ALPHA_STAKE, :n] = alpha if alpha is not None else [0] * n
    i[NI.ROOT_STAKE, :n] = root if root is not None else [0] * n
    s.floats[0, 0, NF.TAKE, :n] = take
    return s


def _conserved(t: PayoutTotals) -> None:
    assert (t.miners + t.withheld + t.alpha_dividends + t.root_dividends + t.owner_cut
            + t.owner_unassigned + t.undistributed) == t.total_in
    assert min(t) >= 0


def test_claim_root_with_drain_emissions_d1() -> None:
    # spec 12.7 D1 (tests/claim_root.rs): tao_weight 1; owner hotkey h (uid 0) with 10 000 000
    # alpha and 2 000 000 root stake; only pending root alpha 1 000 000. Yuma has no weights, so
    # validator_emission = A x E goes to h and incentive is 0.
    s = _subnet(1, alpha=[10_000_000], root=[2_000_000])
    pay = pay_subnet_epoch(s, 0, 0, server=0, validator=0, root=1_000_000,
                           incentive=np.array([0.0]), dividends=np.array([1_000_000.0]),
                           owner_hotkey=100, owner_coldkey=200,
                           params=PayoutParams(tao_weight=1.0))
    assert pay.credits[C_ROOT_TAKE, 0] == 179_995  # floor(0.179995 x 1e6)
    assert pay.credits[C_ROOT_CLAIMABLE, 0] == 820_004  # floor(1e6 - 179 995.42)
    assert pay.credits[C_ROOT_CLAIMABLE, 0] / 2_000_000 == pytest.approx(0.410002)
    assert pay.totals.root_dividends == 999_999 and pay.totals.undistributed == 1
    _conserved(pay.totals)
    # the take is staked as alpha on h; the claimable part is not h's alpha
    assert s.alpha_stake[0, 0, 0] == 10_000_000 + 179_995
    assert s.earned_root[0, 0, 0] == 999_999


def test_yuma_y2_emissions_as_weights() -> None:
    # spec 12.6 Y2 (tests/epoch.rs::test_bonds epoch 1): per-UID Yuma emissions for E = 1e9;
    # validators 0-3, servers 4-7. With S = V = E / 2 miners receive their server emission
    # (within the flooring of the pro-rata split) and validators split V by their emission.
    em = np.array([49_999_998, 99_999_999, 150_000_000, 200_000_001,
                   49_998_779, 100_000_610, 149_996_337, 200_004_272], dtype=np.int64)
    server = np.where(np.arange(8) >= 4, em, 0)
    validator = np.where(np.arange(8) < 4, em, 0)
    s = _subnet(8, alpha=[1, 2, 3, 4, 0, 0, 0, 0])
    pay = pay_subnet_epoch(s, 0, 0, server=500_000_000, validator=500_000_000, root=0,
                           incentive=server, dividends=validator,
                           params=PayoutParams(tao_weight=0.0))
    paid_miners = pay.credits[C_MINER]
    assert np.abs(paid_miners[4:] - em[4:]).max() <= 1
    alpha = pay.credits[C_ALPHA_TAKE] + pay.credits[C_ALPHA_NOMINATORS]
    assert np.abs(alpha[:4] - em[:4]).max() <= 1
    assert pay.credits[C_ALPHA_TAKE, 3] == int(TAKE * (500_000_000 * 200_000_001
                                                       / validator.sum()))
    assert pay.totals.undistributed <= 12
    _conserved(pay.totals)


def test_no_incentive_validators_get_server_bucket_too() -> None:
    # spec 5.6 step 2 / 6.6: no miner earned anything -> validators get V + S by A x E
    s = _subnet(3, alpha=[300, 100, 0])
    pay = pay_subnet_epoch(s, 0, 0, server=1_000, validator=1_000, root=0,
                           incentive=np.zeros(3), dividends=np.array([750.0, 250.0, 0.0]),
                           params=PayoutParams(tao_weight=0.0))
    alpha = pay.credits[C_ALPHA_TAKE] + pay.credits[C_ALPHA_NOMINATORS]
    assert alpha.tolist() == [1_499, 499, 0]  # floor(take) + floor(rest) per UID
    assert pay.totals.miners == 0 and pay.totals.undistributed == 2
    _conserved(pay.totals)


def test_no_dividends_miners_get_everything() -> None:
    # spec 5.6 edge case: incentives > 0 but dividends 0 -> miners receive S + V + Rt
    s = _subnet(2)
    pay = pay_subnet_epoch(s, 0, 0, server=600, validator=300, root=100,
                           incentive=np.array([1.0, 3.0]), dividends=np.zeros(2))
    assert pay.credits[C_MINER].tolist() == [250, 750]
    assert pay.totals.alpha_dividends == 0 and pay.totals.root_dividends == 0
    _conserved(pay.totals)


def test_nothing_to_pay_all_undistributed() -> None:
    s = _subnet(2)
    pay = pay_subnet_epoch(s, 0, 0, server=5, validator=6, root=7, owner_cut=8,
                           incentive=np.zeros(2), dividends=np.zeros(2))
    assert pay.totals.undistributed == 18 and pay.totals.owner_unassigned == 8
    _conserved(pay.totals)


def test_owner_hotkeys_incentive_withheld_and_owner_cut() -> None:
    s = _subnet(4)
    s.ints[0, 0, NI.COLDKEY, 2] = 200  # uid 2 belongs to the owner coldkey (uid 0's)
    inc = np.array([1.0, 1.0, 1.0, 1.0])
    pay = pay_subnet_epoch(s, 0, 0, server=4_000, validator=0, root=0, owner_cut=77,
                           incentive=inc, dividends=np.array([1.0, 0, 0, 0]),
                           owner_hotkey=100, owner_coldkey=200, apply=False)
    assert pay.credits[C_WITHHELD].tolist() == [1_000, 0, 1_000, 0]
    assert pay.credits[C_MINER].tolist() == [0, 1_000, 0, 1_000]
    assert pay.credits[C_OWNER_CUT].tolist() == [77, 0, 0, 0]
    assert pay.totals.withheld == 2_000 and pay.totals.owner_cut == 77
    # exogenous withholding instead: every incentive paid
    pay = pay_subnet_epoch(s, 0, 0, server=4_000, validator=0, root=0, incentive=inc,
                           dividends=np.array([1.0, 0, 0, 0]), owner_hotkey=100,
                           owner_coldkey=200,
                           params=PayoutParams(withhold_owner_incentive=False), apply=False)
    assert pay.credits[C_MINER].tolist() == [1_000] * 4


def test_root_split_uses_own_stakes_and_tao_weight() -> None:
    # d = [1, 2]; uid 0: a = 100, r = 0 -> all alpha; uid 1: a = 100, r = 1000, tau = 0.1 ->
    # root fraction 100 / 200 = 1/2 -> alpha parts [1, 1], root parts [0, 1]
    s = _subnet(2, alpha=[100, 100], root=[0, 1_000], take=0.0)
    pay = pay_subnet_epoch(s, 0, 0, server=0, validator=3_000, root=1_000,
                           incentive=np.array([0.0, 1.0]), dividends=np.array([1.0, 2.0]),
                           params=PayoutParams(tao_weight=0.1))
    assert pay.credits[C_ALPHA_NOMINATORS].tolist() == [1_500, 1_500]
    assert pay.credits[C_ROOT_CLAIMABLE].tolist() == [0, 1_000]
    _conserved(pay.totals)
    # tao weight 0: no root recipients, the root bucket stays undistributed
    pay = pay_subnet_epoch(s, 0, 0, server=0, validator=3_000, root=1_000,
                           incentive=np.array([0.0, 1.0]), dividends=np.array([1.0, 1.0]),
                           params=PayoutParams(tao_weight=0.0), apply=False)
    assert pay.totals.root_dividends == 0 and pay.totals.undistributed == 1_000


def test_dust_to_largest() -> None:
    s = _subnet(3, alpha=[1, 1, 1])
    pay = pay_subnet_epoch(s, 0, 0, server=10, validator=10, root=0,
                           incentive=np.array([1.0, 1.0, 1.0]),
                           dividends=np.array([1.0, 2.0, 1.0]),
                           params=PayoutParams(tao_weight=0.0, dust=DUST_TO_LARGEST),
                           apply=False)
    assert pay.credits[C_MINER].tolist() == [4, 3, 3]  # 3 each, dust 1 to the first largest
    assert pay.totals.undistributed == 0
    assert pay.totals.alpha_dividends == 10
    assert pay.credits[C_ALPHA_NOMINATORS, 1] > pay.credits[C_ALPHA_NOMINATORS, 0]


def test_credit_uids_updates_stake_and_earnings() -> None:
    s = _subnet(2, alpha=[10, 20])
    credits = np.zeros((N_CREDITS, 2), dtype=np.int64)
    credits[C_MINER] = [1, 0]
    credits[C_WITHHELD] = [100, 0]
    credits[C_ALPHA_TAKE] = [0, 2]
    credits[C_ALPHA_NOMINATORS] = [0, 3]
    credits[C_ROOT_TAKE] = [0, 4]
    credits[C_ROOT_CLAIMABLE] = [0, 5]
    credits[C_OWNER_CUT] = [6, 0]
    credit_uids(s.ints[0, 0], credits)
    assert s.alpha_stake[0, 0].tolist() == [10 + 1 + 6, 20 + 2 + 3 + 4]
    assert s.earned_miner[0, 0].tolist() == [1, 0]
    assert s.earned_validator[0, 0].tolist() == [0, 5]
    assert s.earned_root[0, 0].tolist() == [0, 9]


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 24),
    amounts=st.tuples(*(st.integers(0, 10**14) for _ in range(4))),
    tau=st.floats(0.0, 1.0),
    dust=st.sampled_from([DUST_KEEP, DUST_TO_LARGEST]),
    withhold=st.booleans(),
)
def test_payout_conserves_and_is_proportional(data: st.DataObject, n: int,
                                              amounts: tuple[int, int, int, int], tau: float,
                                              dust: int, withhold: bool) -> None:
    uids = n + data.draw(st.integers(0, 3))  # some empty slots
    weights = st.one_of(st.just(0.0), st.floats(1e-9, 1e12))
    inc = np.zeros(uids)
    div = np.zeros(uids)
    inc[:n] = data.draw(st.lists(weights, min_size=n, max_size=n))
    div[:n] = data.draw(st.lists(weights, min_size=n, max_size=n))
    inc[n:] = 5.0  # weights on empty slots are ignored
    alpha = data.draw(st.lists(st.integers(0, 10**16), min_size=n, max_size=n))
    root = data.draw(st.lists(st.integers(0, 10**16), min_size=n, max_size=n))
    take = data.draw(st.floats(0.0, 1.0))
    s = _subnet(n, alpha=alpha, root=root, take=take, uids=uids)
    owner = data.draw(st.integers(-1, n - 1))
    srv, val, rt, own = amounts
    credits = np.zeros((N_CREDITS, uids), dtype=np.int64)
    t = PayoutTotals(*pay_epoch(s.ints[0, 0], s.floats[0, 0], inc, div, srv, val, rt, own,
                                owner + 100 if owner >= 0 else -1, -1,
                                PayoutParams(tau, withhold, dust), credits))
    _conserved(t)
    assert (credits >= 0).all()
    assert (credits[:, n:] == 0).all()
    assert t.miners + t.withheld == credits[C_MINER].sum() + credits[C_WITHHELD].sum()
    si, sd = inc[:n].sum(), div[:n].sum()
    mb = srv if (si > 0 and sd > 0) else (srv + val + rt if si > 0 else 0)
    assert t.miners + t.withheld <= mb
    if mb > 0 and dust == DUST_KEEP:
        expected = mb * inc[:n] / si
        got = credits[C_MINER, :n] + credits[C_WITHHELD, :n]
        assert np.all(np.abs(got - expected) <= 1 + 1e-9 * expected)
    if dust == DUST_KEEP:
        assert t.undistributed <= srv + val + rt  # never more than the buckets
        if mb > 0:
            assert mb - (t.miners + t.withheld) <= n  # at most one unit of dust per UID
    elif si > 0 and sd > 0:
        assert t.miners + t.withheld == srv


def test_pay_epoch_rejects_negative_amounts() -> None:
    s = _subnet(1)
    credits = np.zeros((N_CREDITS, 1), dtype=np.int64)
    with pytest.raises(ValueError):
        pay_epoch(s.ints[0, 0], s.floats[0, 0], np.ones(1), np.ones(1), -1, 0, 0, 0, -1, -1,
                  PayoutParams(), credits)
    assert DEFAULT_TAKE == TAKE
