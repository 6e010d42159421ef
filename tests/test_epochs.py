"""Epoch schedules: spec 12.2 vectors T1-T9 (legacy) and the HEAD formula."""

from __future__ import annotations

import pytest

from dtaosim.chain.epochs import (
    blocks_until_next_epoch_head,
    blocks_until_next_epoch_legacy,
    head_due,
    legacy_due,
)

U64 = 2**64


@pytest.mark.parametrize(
    ("name", "netuid", "tempo", "block", "expected"),
    [
        ("T1", 1, 10, 5, 3),
        ("T2", 2, 20, 15, 2),
        ("T3", 3, 30, 25, 1),
        ("T4", 1, 10, 9, 10),
        ("T5", 2, 20, 21, 17),
        ("T6", 65535, 65535, U64 - 2, 1),
        ("T7", 1, 65534, 100, 65_432),
        ("T8", 1, 10, U64 - 1, 9),
        ("T9", 7, 0, 12345, U64 - 1),
    ],
)
def test_blocks_until_next_epoch_legacy(name: str, netuid: int, tempo: int, block: int,
                                        expected: int) -> None:
    assert blocks_until_next_epoch_legacy(netuid, tempo, block) == expected, name


@pytest.mark.parametrize(
    ("tempo", "block", "expected"),
    [(10, 5, 5), (20, 15, 5), (10, 9, 1), (20, 21, 0), (65535, 0, 65535), (10, 40, 0)],
)
def test_blocks_until_next_epoch_head(tempo: int, block: int, expected: int) -> None:
    assert blocks_until_next_epoch_head(0, tempo, block) == expected


def test_legacy_period_is_tempo_plus_one_and_fires_when_zero() -> None:
    fires = [b for b in range(2000) if legacy_due(3, 360, b)]
    assert all(blocks_until_next_epoch_legacy(3, 360, b) == 0 for b in fires)
    assert set(int(d) for d in (a - b for a, b in zip(fires[1:], fires, strict=False))) == {361}
    assert not any(legacy_due(3, 0, b) for b in range(100))


def test_head_period_is_tempo() -> None:
    last, fires = 0, []
    for b in range(1, 2000):
        if head_due(last, 360, b):
            fires.append(b)
            last = b
    assert fires[:3] == [360, 720, 1080]
