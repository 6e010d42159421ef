"""Moving price: spec 12.3 vectors P1-P3 and rule versions."""

from __future__ import annotations

import numpy as np
import pytest

from dtaosim.chain.price_ema import (
    PLAIN,
    RAMP_REGISTRATION,
    RAMP_START_CALL,
    ema_step,
    ema_step_numpy,
)


def test_coinbase_moving_prices_p1() -> None:
    ema = 0.0
    for _ in range(14):
        ema = ema_step(RAMP_START_CALL, ema, 1.0, 201_600, 0, 1, 0.1, 201_600)
    assert ema == pytest.approx(0.512325, abs=0.001)
    assert ema == pytest.approx(1 - 0.95**14, rel=1e-12)


def test_update_moving_price_initial_p2() -> None:
    ema = ema_step(RAMP_START_CALL, 0.0, 1.0, 510, 0, 500, 0.5, 201_600)
    assert ema < 0.001
    assert ema == pytest.approx(2.728e-5, rel=1e-3)


def test_update_moving_price_after_time_p3() -> None:
    ema = ema_step(RAMP_START_CALL, 0.0, 1.0, 144_000_500, 0, 500, 0.5, 201_600)
    assert ema == pytest.approx(0.5, abs=0.001)
    assert ema == pytest.approx(0.49930, abs=1e-5)


def test_price_cap_and_launch_rule() -> None:
    capped = ema_step(RAMP_START_CALL, 0.0, 5.0, 10**9, 0, 1, 0.1, 201_600)
    assert capped <= 0.1
    plain = ema_step(PLAIN, 0.0, 5.0, 10, 0, 1, 0.1, 201_600)
    assert plain == pytest.approx(0.5)  # launch: uncapped, no warm-up


def test_ramp_from_registration_vs_start_call() -> None:
    a = ema_step(RAMP_REGISTRATION, 0.0, 1.0, 1000, 0, 900, 0.1, 1000)
    b = ema_step(RAMP_START_CALL, 0.0, 1.0, 1000, 0, 900, 0.1, 1000)
    assert a == pytest.approx(0.05)  # b = 1000 blocks since registration
    assert b == pytest.approx(0.1 * 101 / 1101)  # b = 101 blocks since start_call


def test_numpy_twin_matches() -> None:
    rng = np.random.default_rng(1)
    ema, spot = rng.uniform(0, 1, 50), rng.uniform(0, 3, 50)
    reg, fe = rng.integers(0, 1000, 50), rng.integers(1000, 2000, 50)
    for rule in (PLAIN, RAMP_REGISTRATION, RAMP_START_CALL):
        got = ema_step_numpy(rule, ema, spot, 5000, reg, fe, 3e-6, 201_600)
        want = [ema_step(rule, e, s, 5000, r, f, 3e-6, 201_600)
                for e, s, r, f in zip(ema, spot, reg, fe, strict=True)]
        np.testing.assert_array_equal(got, want)
