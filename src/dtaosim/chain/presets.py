"""Mechanism versions: which rule and which constants the chain had in force at a date.

A :class:`Mechanism` names the share rule, pool model, injection rule, epoch schedule, EMA rule,
root-dividend handling and every constant they use, each with the chain's default. Presets pin
them to the subtensor ``main`` history (``../shared/spec/chain-mechanics.md`` section 11); mainnet
values that governance set (``tao_weight`` 0.18 and the like) are in the presets with their
source in ``docs/mechanics.md``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dtaosim.errors import ConfigError


class ShareRule(IntEnum):
    """How the block's TAO is split among subnets (spec 3.3-3.5)."""

    PRICE_EMA = 0  # launch: EMA_i / sum EMA
    TAO_FLOW = 1  # 2025-11-04: gross user TAO-flow EMA, cutoff, power normalisation
    NET_FLOW = 2  # 2026-05-27: user flow minus normalised protocol flow
    PRICE_ROOTPROP_BURN = 3  # 2026-06-22: EMA x root_prop x (1 - miner_burned)
    PRICE_BURN = 4  # 2026-06-30 (HEAD): EMA x (1 - miner_burned)


class PoolModel(IntEnum):
    """Swap curve and fee model (spec 7)."""

    CONSTANT_PRODUCT = 0  # V2, flat 50 000 RAO fee kept in the pool
    UNISWAP_V3 = 1  # full-range protocol position = constant product, fee rate 33/65535
    BALANCER = 2  # weighted pool, fee rate 33/65535 to the block author


class InjectionRule(IntEnum):
    """tao_in / alpha_in / excess rule (spec 4.1, 4.5)."""

    LAUNCH = 0  # alpha_in = min(E/p, alpha_emission), tao_in = E, no excess
    SUBSIDY = 1  # 2025-07-29: p < share -> tao_in = p x block_emission, buy-and-burn excess
    CAP_ALPHA_EMISSION = 2  # 2025-11-06: cap alpha_in at alpha_emission, excess chain-buys
    CAP_BLOCK_EMISSION = 3  # 2025-12-12: cap = min(alpha_emission, TAO block emission)
    CAP_ROOT_PROP = 4  # 2026-06-22 (HEAD): cap = root_proportion x alpha_emission


class BoughtAlpha(IntEnum):
    """What happens to alpha the chain buys with excess TAO."""

    RECYCLE = 0  # AlphaOut -= bought (2025-07 .. 2026-06-01)
    PROTOCOL = 1  # kept as SubnetProtocolAlpha (2026-06-01 ..)


class EpochSchedule(IntEnum):
    """When a subnet's epoch fires (spec 5.5)."""

    LEGACY = 0  # (block + netuid + 1) % (tempo + 1) == 0
    HEAD = 1  # block - LastEpochBlock >= tempo, at most MaxEpochsPerBlock per block


class EmaRule(IntEnum):
    """Moving-price update (spec 3.2)."""

    PLAIN = 0  # launch: alpha = SubnetMovingAlpha, uncapped spot price
    RAMP_REGISTRATION = 1  # 2025-03-19: warm-up from registration, price capped at 1
    RAMP_START_CALL = 2  # 2025-06-30: warm-up from start_call (FirstEmissionBlockNumber)


class RootDividends(IntEnum):
    """How root stakers receive their share of validator alpha (spec 5.7)."""

    SOLD_EACH_BLOCK = 0  # launch: root alpha sold to TAO every block, paid at the epoch
    CLAIMABLE = 1  # 2025-11-04: kept as claimable alpha; sold (Swap) or kept on claim


class PoolSeeding(IntEnum):
    """How a new subnet's pool is seeded (spec 8.1)."""

    MIN_LOCK_AT_PRICE_ONE = 0  # launch: y0 = x0 = NetworkMinLockCost, excess lock recycled
    LOCK_AT_MEDIAN_PRICE = 1  # 2026-04: y0 = lock, x0 = y0 / median spot price


def _enum_validator(enum: type[IntEnum]):  # type: ignore[no-untyped-def]
    def parse(v: Any) -> IntEnum:
        if isinstance(v, enum):
            return v
        if isinstance(v, str):
            try:
                return enum[v.upper().replace("-", "_")]
            except KeyError:
                names = ", ".join(m.name.lower() for m in enum)
                raise ValueError(f"unknown {enum.__name__} {v!r} (one of: {names})") from None
        return enum(v)

    return parse


class Mechanism(BaseModel):
    """Every rule choice and constant of the chain economy, with the chain's defaults.

    Amounts are RAO (``int``); proportions are real numbers already divided by their chain
    denominators (``owner_cut = 11796/65535``). Field docs give the chain's storage names.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False,
                              allow_inf_nan=False)

    name: str = "custom"
    date: str = ""
    description: str = ""

    share_rule: ShareRule = ShareRule.PRICE_BURN
    pool_model: PoolModel = PoolModel.BALANCER
    injection_rule: InjectionRule = InjectionRule.CAP_ROOT_PROP
    bought_alpha: BoughtAlpha = BoughtAlpha.PROTOCOL
    epoch_schedule: EpochSchedule = EpochSchedule.HEAD
    ema_rule: EmaRule = EmaRule.RAMP_START_CALL
    root_dividends: RootDividends = RootDividends.CLAIMABLE
    pool_seeding: PoolSeeding = PoolSeeding.LOCK_AT_MEDIAN_PRICE
    root_sell_flag: bool = Field(True, description="recycle root alpha when sum of EMA <= 1")
    emission_enabled_flag: bool = Field(True, description="SubnetEmissionEnabled renormalisation")
    new_subnets_emission_enabled: bool = Field(False, description="HEAD: new subnets start off")

    # --- emission (spec 2)
    default_block_emission: int = Field(1_000_000_000, gt=0, description="DefaultBlockEmission")
    total_supply: int = Field(21_000_000_000_000_000, gt=0, description="TotalSupply (RAO)")

    # --- shares and EMAs (spec 3)
    subnet_moving_alpha: float = Field(0.000003, ge=0, le=1, description="SubnetMovingAlpha")
    ema_price_halving_blocks: int = Field(201_600, ge=0, description="EMAPriceHalvingBlocks")
    flow_ema_smoothing: float = Field(
        29_597_889_189_277 / (2**63 - 1), ge=0, le=1, description="FlowEmaSmoothingFactor/i64::MAX"
    )
    tao_flow_cutoff: float = Field(0.0, description="TaoFlowCutoff (RAO per block)")
    flow_norm_exponent: float = Field(1.0, gt=0, description="FlowNormExponent")

    # --- injection and split (spec 4, 5)
    tao_weight: float = Field(0.18, ge=0, le=1, description="TaoWeight (mainnet 0.18)")
    owner_cut: float = Field(11_796 / 65_535, ge=0, le=1, description="SubnetOwnerCut")
    delegate_take: float = Field(11_796 / 65_535, ge=0, le=1, description="Delegates default")
    miner_burn_recycles: bool = Field(False, description="RecycleOrBurn: False = Burn")
    root_claim_swap_fraction: float = Field(
        1.0, ge=0, le=1, description="share of root dividends claimed as Swap (rest Keep)"
    )

    # --- epochs (spec 5.5)
    default_tempo: int = Field(360, ge=0, description="Tempo default")
    max_epochs_per_block: int = Field(2, ge=1, description="MaxEpochsPerBlock (HEAD)")

    # --- pools (spec 7)
    fee_rate: float = Field(33 / 65_535, ge=0, lt=1, description="FeeRate/65535")
    flat_stake_fee: int = Field(50_000, ge=0, description="DefaultStakingFee (V2)")
    fees_to_author: bool = Field(True, description="fees paid to the block author (2026-03-11)")
    min_stake: int = Field(2_000_000, ge=0, description="DefaultMinStake")
    min_pool_liquidity: int = Field(10_000_000, ge=0, description="V2 DefaultMinimumPoolLiquidity")
    minimum_reserve: int = Field(1_000_000, ge=0, description="Balancer MinimumReserve")
    max_input_multiple: float = Field(1000.0, gt=0, description="swap input <= k x reserve")
    min_quote_weight: float = Field(0.01, gt=0, lt=0.5)
    max_quote_weight: float = Field(0.99, gt=0.5, lt=1)
    max_price: float = Field(1e6, gt=0, description="default buy limit (TAO/alpha)")
    min_price: float = Field(1e-6, ge=0, description="default sell limit (TAO/alpha)")

    # --- subnet lifecycle (spec 8)
    subnet_limit: int = Field(128, ge=1, description="SubnetLimit")
    network_min_lock: int = Field(1_000_000_000_000, ge=0, description="NetworkMinLockCost")
    network_lock_reduction_interval: int = Field(
        57_600, ge=1, description="NetworkLockReductionInterval (mainnet 2025-09-24 migration)"
    )
    network_immunity_period: int = Field(1_296_000, ge=0, description="NetworkImmunityPeriod")
    network_rate_limit: int = Field(28_800, ge=0, description="NetworkRateLimit")
    start_call_delay: int = Field(0, ge=0, description="StartCallDelay")

    # --- neuron registration burn (spec 9.1)
    burn_half_life: int = Field(360, ge=1, description="BurnHalfLife")
    burn_increase_mult: float = Field(1.26, ge=1, description="BurnIncreaseMult")
    min_burn: int = Field(500_000, ge=0, description="MinBurn")
    max_burn: int = Field(100_000_000_000, ge=0, description="MaxBurn")
    default_neuron_burn: int = Field(1_000_000_000, ge=0, description="DefaultNeuronBurnCost")

    _parse_share = field_validator("share_rule", mode="before")(_enum_validator(ShareRule))
    _parse_pool = field_validator("pool_model", mode="before")(_enum_validator(PoolModel))
    _parse_inj = field_validator("injection_rule", mode="before")(_enum_validator(InjectionRule))
    _parse_bought = field_validator("bought_alpha", mode="before")(_enum_validator(BoughtAlpha))
    _parse_epoch = field_validator("epoch_schedule", mode="before")(
        _enum_validator(EpochSchedule)
    )
    _parse_ema = field_validator("ema_rule", mode="before")(_enum_validator(EmaRule))
    _parse_root = field_validator("root_dividends", mode="before")(_enum_validator(RootDividends))
    _parse_seed = field_validator("pool_seeding", mode="before")(_enum_validator(PoolSeeding))

    def with_(self, **changes: Any) -> Mechanism:
        """Copy with some fields changed (validated)."""
        data = self.model_dump()
        data.update(changes)
        return Mechanism.model_validate(data)

    def rules(self) -> dict[str, str]:
        """The rule choices as readable names (for listings and manifests)."""
        return {
            "share_rule": self.share_rule.name.lower(),
            "pool_model": self.pool_model.name.lower(),
            "injection_rule": self.injection_rule.name.lower(),
            "bought_alpha": self.bought_alpha.name.lower(),
            "epoch_schedule": self.epoch_schedule.name.lower(),
            "ema_rule": self.ema_rule.name.lower(),
            "root_dividends": self.root_dividends.name.lower(),
            "pool_seeding": self.pool_seeding.name.lower(),
        }


class KernelParams(NamedTuple):
    """Flat, numba-friendly view of a :class:`Mechanism` (plus run switches)."""

    share_rule: int
    pool_model: int
    injection_rule: int
    bought_alpha: int
    epoch_schedule: int
    ema_rule: int
    root_dividends: int
    root_sell_flag: bool
    emission_enabled_flag: bool
    default_block_emission: int
    total_supply: int
    subnet_moving_alpha: float
    ema_price_halving_blocks: int
    flow_ema_smoothing: float
    tao_flow_cutoff: float
    flow_norm_exponent: float
    tao_weight: float
    owner_cut: float
    delegate_take: float
    miner_burn_recycles: bool
    root_claim_swap_fraction: float
    max_epochs_per_block: int
    fee_rate: float
    flat_stake_fee: int
    fees_to_author: bool
    min_pool_liquidity: int
    minimum_reserve: int
    max_input_multiple: float
    min_quote_weight: float
    max_quote_weight: float
    max_price: float
    min_price: float
    min_burn: int
    max_burn: int
    check_invariants: bool


def kernel_params(m: Mechanism, check_invariants: bool = True) -> KernelParams:
    """Flatten ``m`` into :class:`KernelParams` for the compiled block loop."""
    values = {name: getattr(m, name) for name in KernelParams._fields if name != "check_invariants"}
    hints = get_type_hints(KernelParams)
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, IntEnum):
            out[k] = int(v)
        elif isinstance(v, bool):
            out[k] = bool(v)
        elif hints[k] is int:
            out[k] = int(v)
        else:
            out[k] = float(v)
    return KernelParams(**out, check_invariants=bool(check_invariants))


# ---------------------------------------------------------------------------------- presets
_LAUNCH = dict(
    share_rule=ShareRule.PRICE_EMA,
    pool_model=PoolModel.CONSTANT_PRODUCT,
    injection_rule=InjectionRule.LAUNCH,
    bought_alpha=BoughtAlpha.RECYCLE,
    epoch_schedule=EpochSchedule.LEGACY,
    ema_rule=EmaRule.PLAIN,
    root_dividends=RootDividends.SOLD_EACH_BLOCK,
    pool_seeding=PoolSeeding.MIN_LOCK_AT_PRICE_ONE,
    root_sell_flag=False,
    emission_enabled_flag=False,
    new_subnets_emission_enabled=True,
    fee_rate=0.0,
    fees_to_author=False,
    min_stake=500_000,
    subnet_limit=64,
    network_immunity_period=7 * 7_200,
    network_lock_reduction_interval=14 * 7_200,
    network_rate_limit=7_200,
    start_call_delay=0,
)

PRESETS: dict[str, Mechanism] = {
    "dtao-2025-02": Mechanism(
        name="dtao-2025-02",
        date="2025-02-13",
        description="dTAO launch (spec 233): price-EMA shares, V2 constant product with flat "
        "50 000 RAO fee, alpha_in = min(E/p, alpha_emission), root alpha sold each block, "
        "legacy tempo+1 epochs, plain uncapped EMA.",
        **_LAUNCH,
    ),
    "v3-2025-07": Mechanism(
        name="v3-2025-07",
        date="2025-07-29",
        description="Uniswap-V3 swap (2025-06-30, spec 283) with the 'subsidy' injection "
        "(2025-07-29, spec 298): price-EMA shares with warm-up from start_call and cap 1, fee "
        "33/65535 kept by the protocol position, buy-and-burn of subsidised excess.",
        **{
            **_LAUNCH,
            "pool_model": PoolModel.UNISWAP_V3,
            "injection_rule": InjectionRule.SUBSIDY,
            "ema_rule": EmaRule.RAMP_START_CALL,
            "fee_rate": 33 / 65_535,
            "min_stake": 2_000_000,
            "subnet_limit": 128,
            "start_call_delay": 7 * 7_200,
        },
    ),
    "taoflow-2025-11": Mechanism(
        name="taoflow-2025-11",
        date="2025-11-10",
        description="TaoFlow shares (2025-11-04, spec 334-345): gross user-flow EMA, cutoff, "
        "power normalisation; root dividends claimable; excess TAO chain-buys with alpha "
        "recycled; root-sell flag; V3 pool; network immunity 180 d and pruning at 128.",
        **{
            **_LAUNCH,
            "share_rule": ShareRule.TAO_FLOW,
            "pool_model": PoolModel.UNISWAP_V3,
            "injection_rule": InjectionRule.CAP_ALPHA_EMISSION,
            "ema_rule": EmaRule.RAMP_START_CALL,
            "root_dividends": RootDividends.CLAIMABLE,
            "root_sell_flag": True,
            "fee_rate": 33 / 65_535,
            "min_stake": 2_000_000,
            "subnet_limit": 128,
            "network_immunity_period": 1_296_000,
            "network_lock_reduction_interval": 57_600,
            "network_rate_limit": 28_800,
            "start_call_delay": 7 * 7_200,
        },
    ),
    "cap-2025-12": Mechanism(
        name="cap-2025-12",
        date="2025-12-12",
        description="TaoFlow with the injection cap min(alpha_emission, TAO block emission) "
        "(spec 362).",
        **{
            **_LAUNCH,
            "share_rule": ShareRule.TAO_FLOW,
            "pool_model": PoolModel.UNISWAP_V3,
            "injection_rule": InjectionRule.CAP_BLOCK_EMISSION,
            "ema_rule": EmaRule.RAMP_START_CALL,
            "root_dividends": RootDividends.CLAIMABLE,
            "root_sell_flag": True,
            "fee_rate": 33 / 65_535,
            "min_stake": 2_000_000,
            "subnet_limit": 128,
            "network_immunity_period": 1_296_000,
            "network_lock_reduction_interval": 57_600,
            "network_rate_limit": 28_800,
            "start_call_delay": 7 * 7_200,
        },
    ),
    "netflow-2026-05": Mechanism(
        name="netflow-2026-05",
        date="2026-05-27",
        description="Net TAO flow shares (spec 411): user flow minus normalised protocol flow; "
        "SubnetEmissionEnabled flag; V3 pool with fees to the block author (2026-03-11); new "
        "pools seeded at the median price (2026-04-22); chain-bought alpha recycled.",
        **{
            **_LAUNCH,
            "share_rule": ShareRule.NET_FLOW,
            "pool_model": PoolModel.UNISWAP_V3,
            "injection_rule": InjectionRule.CAP_BLOCK_EMISSION,
            "ema_rule": EmaRule.RAMP_START_CALL,
            "root_dividends": RootDividends.CLAIMABLE,
            "pool_seeding": PoolSeeding.LOCK_AT_MEDIAN_PRICE,
            "root_sell_flag": True,
            "emission_enabled_flag": True,
            "fee_rate": 33 / 65_535,
            "fees_to_author": True,
            "min_stake": 2_000_000,
            "subnet_limit": 128,
            "network_immunity_period": 1_296_000,
            "network_lock_reduction_interval": 57_600,
            "network_rate_limit": 28_800,
            "start_call_delay": 0,
        },
    ),
    "price-burn-2026-06": Mechanism(
        name="price-burn-2026-06",
        date="2026-06-30",
        description="HEAD (spec 425, commit 14bc6f9f): shares = price EMA x (1 - miner burned); "
        "injection cap = root proportion x alpha emission, chain-bought alpha kept as protocol "
        "alpha; Balancer pool, fee 33/65535 to the block author; HEAD epoch schedule "
        "(period = tempo, <= 2 epochs per block); new subnets start with emission disabled.",
    ),
}

HEAD_PRESET = "price-burn-2026-06"


def get_mechanism(name: str) -> Mechanism:
    """Preset by name (e.g. ``"price-burn-2026-06"``); raises :class:`ConfigError` if unknown."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown mechanism {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
