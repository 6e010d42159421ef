"""A subnet's epoch paid to its UIDs: Yuma consensus, then the payouts (spec 5.6, 6).

When the state carries neurons (:class:`dtaosim.state.neurons.NeuronState`), the block kernel calls
:func:`distribute_epoch_uids` instead of the aggregate
:func:`dtaosim.chain.distribution.distribute_epoch` at each subnet's epoch. In the chain's
order (``run_coinbase.rs::drain_pending``, ``distribute_emission``):

1. drain the pending buckets ``S, V, Rt, O``;
2. run Yuma on the subnet (:func:`dtaosim.chain.yuma.yuma_subnet`) with ``E = S + V + Rt``,
   stake ``alpha + tao_weight x root`` per UID, the stored weights, bonds (updated in place) and
   permits; store incentive, dividends, emission and the new permits;
3. pay the UIDs (:func:`dtaosim.chain.uid_payout.pay_epoch`, :func:`~dtaosim.chain.uid_payout
   .credit_uids`): miners by Yuma's server emission, with the incentive of the owner's hotkeys
   withheld; validators' alpha and root dividends by Yuma's validator emission split by each
   hotkey's alpha and root stake, less and plus the delegate take; the owner cut to the owner's
   hotkey;
4. book the same amounts on the subnet's aggregate holders, so that the per-UID credits sum
   exactly to the subnet totals (``STAKE_MINERS``, ``STAKE_STAKERS``, ...), and floor dust and
   buckets without recipients stay minted as ``UNDISTRIBUTED_ALPHA``.

``MinerBurned`` is then the share of the miner incentive the owner's hotkeys received (validators
weighting the owner's UID), not the exogenous ``miner_burn_fraction``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from dtaosim.chain._fields import (
    I_CUM_OWNER_CUT,
    I_CUM_STAKER_PAID,
    I_STAKE_OWNER,
    I_STAKE_STAKERS,
    I_TEMPO,
)
from dtaosim.chain._fields import I_UNDISTRIBUTED_ALPHA as I_UNDISTRIBUTED
from dtaosim.chain.distribution import book_miners, book_root_dividends, drain_pending
from dtaosim.chain.uid_payout import (
    C_ROOT_TAKE,
    DUST_KEEP,
    N_CREDITS,
    PayoutParams,
    credit_uids,
    pay_epoch,
)
from dtaosim.chain.yuma import yuma_scratch, yuma_subnet
from dtaosim.state.neurons import (
    H_ACTIVITY_CUTOFF,
    H_ALPHA_HIGH,
    H_ALPHA_LOW,
    H_ALPHA_SIGMOID_STEEPNESS,
    H_BONDS_MOVING_AVERAGE,
    H_BONDS_PENALTY,
    H_KAPPA,
    H_LAST_STEP_BLOCK,
    H_LIQUID_ALPHA,
    H_MAX_ALLOWED_VALIDATORS,
    H_OWNER_COLDKEY,
    H_OWNER_HOTKEY,
    H_STAKE_THRESHOLD,
    H_YUMA3,
    N_ALPHA_STAKE,
    N_HOTKEY,
    N_LAST_UPDATE,
    N_REGISTERED_AT,
    N_ROOT_STAKE,
    store_epoch_outputs,
    uid_of_hotkey,
)

# rows of the per-run float work array ``yf`` (float64[N_YF, uids])
Y_INCENTIVE, Y_DIVIDENDS, Y_CONSENSUS, Y_TRUST, Y_STAKE, Y_ACTIVE, Y_ALPHA, Y_ROOT = range(8)
N_YF = 8
# rows of ``yi`` (int64[N_YI, uids]) and ``yb`` (bool[N_YB, uids])
Y_SERVER_EM, Y_VALIDATOR_EM, Y_EMISSION = range(3)
N_YI = 3
Y_PERMIT_NEW, Y_UID_MASK = range(2)
N_YB = 2


@njit(cache=True)
def epoch_work(uids: int) -> tuple:
    """Working memory of :func:`distribute_epoch_uids` for one thread (one run at a time).

    Returns ``(yuma_scratch, yf, yi, yb, credits, present, commit)``.
    """
    return (yuma_scratch(uids), np.zeros((N_YF, uids)), np.zeros((N_YI, uids), dtype=np.int64),
            np.zeros((N_YB, uids), dtype=np.bool_),
            np.zeros((N_CREDITS, uids), dtype=np.int64), np.zeros((0, 0), dtype=np.bool_),
            np.zeros(0, dtype=np.int64))


@njit(cache=True, error_model="numpy")
def distribute_epoch_uids(ir: NDArray[np.int64], fr: NDArray[np.float64], g: NDArray[np.int64],
                          n: int, block: int, p, ni: NDArray[np.int64], nf: NDArray[np.float64],
                          permit: NDArray[np.bool_], weights: NDArray[np.uint16],
                          bonds: NDArray[np.uint16], hyp: NDArray[np.int64],
                          work: tuple) -> None:
    """Run subnet slot ``n``'s epoch at ``block`` and pay its UIDs (see the module docstring).

    Parameters
    ----------
    ir, fr, g
        One run's field-major chain storage and network fields.
    n
        Subnet slot.
    block
        Current block.
    p
        :class:`dtaosim.chain.presets.KernelParams`.
    ni, nf, permit, weights, bonds
        The subnet's neuron views (:meth:`dtaosim.state.neurons.NeuronState.subnet`).
    hyp
        The subnet's hyperparameters (``NeuronState.hyper[run, slot]``, rows ``NH``).
    work
        From :func:`epoch_work`.
    """
    ys, yf, yi, yb, credits, present, commit = work
    s, v, rt, o = drain_pending(ir, n)
    hk = ni[N_HOTKEY]
    u = hk.shape[0]
    alpha = yf[Y_ALPHA]
    root = yf[Y_ROOT]
    mask = yb[Y_UID_MASK]
    for i in range(u):
        alpha[i] = float(ni[N_ALPHA_STAKE, i])
        root[i] = float(ni[N_ROOT_STAKE, i])
        mask[i] = hk[i] >= 0
    tempo = ir[I_TEMPO, n]
    last_step = hyp[H_LAST_STEP_BLOCK]
    last_tempo = last_step + 1 if last_step > 0 else max(block - tempo, 0)
    owner_hk = hyp[H_OWNER_HOTKEY]
    owner_ck = hyp[H_OWNER_COLDKEY]
    yuma_subnet(alpha, root, permit, weights, bonds, ni[N_LAST_UPDATE], ni[N_REGISTERED_AT],
                mask, uid_of_hotkey(ni, owner_hk), block, s + v + rt, p.tao_weight,
                hyp[H_ACTIVITY_CUTOFF], last_tempo, hyp[H_KAPPA], hyp[H_BONDS_PENALTY],
                hyp[H_BONDS_MOVING_AVERAGE], hyp[H_LIQUID_ALPHA] != 0, hyp[H_ALPHA_LOW],
                hyp[H_ALPHA_HIGH], hyp[H_ALPHA_SIGMOID_STEEPNESS], hyp[H_YUMA3] != 0,
                hyp[H_MAX_ALLOWED_VALIDATORS], float(hyp[H_STAKE_THRESHOLD]), present, commit,
                yf[Y_INCENTIVE], yf[Y_DIVIDENDS], yf[Y_CONSENSUS], yf[Y_TRUST], yf[Y_STAKE],
                yf[Y_ACTIVE], yb[Y_PERMIT_NEW], yi[Y_SERVER_EM], yi[Y_VALIDATOR_EM],
                yi[Y_EMISSION], ys)
    store_epoch_outputs(ni, nf, permit, yf[Y_INCENTIVE], yf[Y_DIVIDENDS], yi[Y_EMISSION],
                        yb[Y_PERMIT_NEW])
    hyp[H_LAST_STEP_BLOCK] = block
    (miners, withheld, alpha_div, root_div, owner_paid, owner_unassigned, undistributed,
     _total) = pay_epoch(ni, nf, yi[Y_SERVER_EM], yi[Y_VALIDATOR_EM], s, v, rt, o, owner_hk,
                         owner_ck, PayoutParams(p.tao_weight, True, DUST_KEEP), credits)
    credit_uids(ni, credits)
    root_take = 0  # the totals do not split root dividends into take and claimable part
    for i in range(u):
        root_take += credits[C_ROOT_TAKE, i]
    ir[I_STAKE_OWNER, n] += owner_paid + owner_unassigned
    ir[I_CUM_OWNER_CUT, n] += owner_paid + owner_unassigned
    book_miners(ir, fr, n, miners, withheld, p.miner_burn_recycles)
    ir[I_STAKE_STAKERS, n] += alpha_div
    ir[I_CUM_STAKER_PAID, n] += alpha_div
    book_root_dividends(ir, fr, g, n, root_take, root_div - root_take, p.root_dividends,
                        p.root_claim_swap_fraction, p.pool_model, p.min_price,
                        p.min_pool_liquidity, p.minimum_reserve, p.max_input_multiple)
    ir[I_UNDISTRIBUTED, n] += undistributed
