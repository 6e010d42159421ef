"""A hotkey registering on a subnet by burning TAO (``burned_register``, spec 9.1, 9.2).

:func:`register_hotkey` is what a user (or a simulated miner) calls: it checks the chain's
conditions, pays the current ``Burn`` - the TAO goes into the subnet's pool through a swap
**with** fee and the alpha bought is destroyed (removed from AlphaOut) - gives the hotkey a UID
(appending while there is room, otherwise replacing the lowest-emission non-immune UID), and
bumps the burn price (x ``BurnIncreaseMult`` under the HEAD rule). Either everything happens or,
on an error, nothing does.

The burn is paid from the run's ``free_tao`` (the registrant's balance). The swap counts as a
user TAO inflow of the subnet (``FLOW_ACC``), as on chain. A replaced hotkey keeps its stake on
the subnet (it stays with the aggregate holders); it only loses its UID.
"""

from __future__ import annotations

from dtaosim.chain.neuron_registration import NeuronRegistration, UidRules, register_neuron
from dtaosim.chain.pools.quotes import quote_buy
from dtaosim.chain.pools.stake import _apply_buy
from dtaosim.chain.presets import Mechanism
from dtaosim.errors import RegistrationError, SwapError
from dtaosim.state.chain_state import GI, SF, SI, ChainState
from dtaosim.state.neurons import DEFAULT_TAKE, NH, NI

__all__ = ["register_hotkey", "uid_rules"]


def uid_rules(state: ChainState, run: int, slot: int) -> UidRules:
    """The :class:`UidRules` of one subnet from its neuron hyperparameters."""
    nrn = state.neurons
    if nrn is None:
        raise ValueError("the state has no neurons")
    h = nrn.hyper[run, slot]
    return UidRules(max_allowed_uids=min(int(h[NH.MAX_ALLOWED_UIDS]), nrn.uids),
                    immunity_period=int(h[NH.IMMUNITY_PERIOD]),
                    min_non_immune_uids=int(h[NH.MIN_NON_IMMUNE_UIDS]),
                    immune_owner_uids_limit=int(h[NH.IMMUNE_OWNER_UIDS_LIMIT]))


def register_hotkey(
    state: ChainState,
    mech: Mechanism,
    run: int,
    netuid: int,
    hotkey: int,
    coldkey: int,
    *,
    limit_price: int | None = None,
    take: float = DEFAULT_TAKE,
) -> NeuronRegistration:
    """Register ``hotkey`` (owned by ``coldkey``) on subnet ``netuid`` of run ``run``.

    Parameters
    ----------
    state
        Chain state with neurons, modified in place.
    mech
        Mechanism (pool model, fees, burn rule constants).
    run
        Run index.
    netuid
        Subnet.
    hotkey, coldkey
        Identity ids (``>= 0``).
    limit_price
        ``register_limit``: the most RAO the caller will burn; None for ``burned_register``.
    take
        The hotkey's delegate take.

    Returns
    -------
    NeuronRegistration
        The UID taken, what it replaced, the burn paid and the new burn.

    Raises
    ------
    RegistrationError
        The chain's rejection (``SubnetNotExists``, ``SubNetRegistrationDisabled``,
        ``HotKeyAlreadyRegisteredInSubNet``, ``NotEnoughBalanceToStake``,
        ``NoNeuronIdAvailable``, ``RegistrationPriceLimitExceeded``, or the swap's error);
        the state is then unchanged.
    """
    nrn = state.neurons
    if nrn is None:
        raise ValueError("register_hotkey needs a state with neurons (state.neurons)")
    k = int(netuid) - 1
    if not (0 <= run < state.runs and 0 <= k < state.subnets) or state.ints[run, k, SI.EXISTS] == 0:
        raise RegistrationError("SubnetNotExists", f"netuid {netuid} in run {run}")
    row = state.ints[run, k]
    burn = int(row[SI.NEURON_BURN])
    hyp = nrn.hyper[run, k]
    common = dict(block=int(state.block), burn=burn, burn_increase_mult=mech.burn_increase_mult,
                  min_burn=mech.min_burn, max_burn=mech.max_burn,
                  owner_hotkey=int(hyp[NH.OWNER_HOTKEY]), owner_coldkey=int(hyp[NH.OWNER_COLDKEY]),
                  rules=uid_rules(state, run, k), take=take,
                  registration_allowed=bool(row[SI.REGISTRATION_ALLOWED]),
                  balance=int(state.gints[run, GI.FREE_TAO]), limit_price=limit_price)
    q = None
    if burn > 0:  # quote first: a rejected swap leaves everything unchanged
        try:
            q = quote_buy(mech, int(row[SI.TAO_RESERVE]), int(row[SI.ALPHA_IN]),
                          float(state.floats[run, k, SF.QUOTE_WEIGHT]), burn)
        except SwapError as err:
            raise RegistrationError(err.reason, f"burn swap on netuid {netuid}: {err}") from err
    earned = nrn.ints[run, k, NI.EARNED_MINER:NI.EARNED_ROOT + 1].copy()
    reg = register_neuron(nrn, run, k, int(hotkey), int(coldkey), **common)  # raises unchanged
    if reg.replaced:  # the departing hotkey's earnings stay in the subnet's books
        hyp[NH.DEPARTED_MINER:NH.DEPARTED_ROOT + 1] += earned[:, reg.uid]
    if q is not None:
        _apply_buy(state, mech, run, k, SI.STAKE_STAKERS, q.tao_in, q.fee, q.tao_net,
                   q.alpha_out)
        row[SI.STAKE_STAKERS] -= q.alpha_out  # the alpha bought is destroyed
        row[SI.ALPHA_OUT] -= q.alpha_out
        row[SI.ALPHA_RECYCLED] += q.alpha_out
    row[SI.NEURON_BURN] = reg.new_burn
    return reg
