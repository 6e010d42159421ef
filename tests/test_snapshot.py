"""Snapshot format, the embedded default network and snapshot <-> state conversion."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dtaosim.chain.presets import Mechanism
from dtaosim.errors import DataError
from dtaosim.io import snapshot as snapshots
from dtaosim.io.snapshot import (
    Snapshot,
    default_snapshot,
    load_snapshot,
    save_snapshot,
    snapshot_to_state,
    state_to_snapshot,
)
from dtaosim.state.chain_state import ALPHA_OUT_PARTS, GI, SF, SI
from dtaosim.state.invariants import check_state

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "real-world"
SCRIPT = REPO / "scripts" / "build_default_network.py"
DEFAULT_JSON = REPO / "src" / "dtaosim" / "data" / "default_network.json"
TAO = 10**9


# ------------------------------------------------------------------------------ fixtures
def _subnet(netuid: int, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "netuid": netuid,
        "tao_reserve_rao": 1_000 * TAO * netuid,
        "alpha_in_rao": 100_000 * TAO,
        "alpha_out_rao": 500_000 * TAO,
        "price_ema": 0.01 * netuid,
        "registered_at_block": 100,
        "first_emission_block": 200,
        "tempo": 360,
        "last_epoch_block": 9_800,
        "emission_enabled": True,
        "registration_allowed": True,
        "miner_burn_fraction": 0.25,
        "neuron_burn_rao": 20_000_000,
        "pending_server_rao": 41 * TAO,
        "pending_validator_rao": 30 * TAO,
        "pending_root_rao": 11 * TAO,
        "pending_owner_rao": 18 * TAO,
        "protocol_alpha_rao": 1_000 * TAO,
        "locked_tao_rao": 1_000 * TAO,
        "legacy": True,
    }
    d.update(kw)
    return d


def _doc() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "block": 10_000,
        "timestamp": "2026-09-30T00:00:00Z",
        "source": "hand-written test network",
        "attribution": "",
        "total_issuance_rao": 10_000_000 * TAO,
        "root_stake_rao": 3_000_000 * TAO,
        "last_lock_cost_rao": 1_500 * TAO,
        "last_lock_block": 9_000,
        "block_emission_rao": TAO // 2,
        "subnets": [
            _subnet(1),
            _subnet(2, owner_cut_alpha_rao=5 * TAO, miner_burned=0.5),
            _subnet(5, first_emission_block=-1, quote_weight=0.4, burned_alpha_rao=7),
        ],
    }


def _write(tmp_path: Path, doc: Any, name: str = "snap.json") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def default() -> Snapshot:
    return default_snapshot()


# ------------------------------------------------------------------------ default network
def test_default_snapshot_shape(default: Snapshot) -> None:
    assert default.schema_version == 1
    assert len(default.subnets) == 128
    assert sorted(s.netuid for s in default.subnets) == list(range(1, 129))
    assert default.timestamp == "2026-09-30T00:00:00Z"
    assert default.block == 4_964_237 + 7_200 * 587
    assert default.block_emission_rao == TAO // 2
    assert "MIT" in default.attribution and "Alphamind" in default.attribution
    assert all(s.first_emission_block >= s.registered_at_block for s in default.subnets)


def test_default_pool_quantiles_match_targets(default: Snapshot) -> None:
    y = np.array([s.tao_reserve_rao for s in default.subnets]) / TAO
    p10, p50, p90 = np.percentile(y, [10, 50, 90])
    assert 800 <= p10 <= 1_600
    assert 6_000 <= p50 <= 8_000
    assert 30_000 <= p90 <= 38_000
    assert 150_000 <= y.max() <= 250_000
    assert 1.6e6 <= y.sum() <= 2.4e6


def test_default_prices(default: Snapshot) -> None:
    state = snapshot_to_state(default, 1)
    price = state.spot_price()[0, :128]
    assert 1.1 <= price.sum() <= 1.3
    ema = np.array([s.price_ema for s in default.subnets])
    assert np.allclose(ema, np.minimum(price, 1.0), rtol=1e-9)
    # deeper pool for a higher price
    order = np.argsort(price, kind="stable")
    assert np.all(np.diff(state.tao_reserve[0, order]) >= 0)


def test_default_behaviour_figures(default: Snapshot) -> None:
    burn = np.array([s.neuron_burn_rao for s in default.subnets]) / TAO
    assert 0.01 <= np.median(burn) <= 0.03
    assert burn.min() == pytest.approx(0.0005)
    assert burn.max() <= 2.0
    mb = np.array([s.miner_burn_fraction for s in default.subnets])
    assert 0.2 <= (mb > 0).mean() <= 0.8  # a sizeable share of owners burn
    total = default.total_issuance_rao
    assert 11e6 * TAO < total < 12e6 * TAO
    assert default.free_tao_rao > 0


# --------------------------------------------------------------------------------- state
def test_snapshot_to_state_identities(default: Snapshot) -> None:
    s = snapshot_to_state(default, 3)
    assert s.runs == 3 and s.subnets == 128 and s.block == default.block
    check_state(s)
    i, g = s.ints, s.gints
    ex = i[:, :, SI.EXISTS] != 0
    held = (
        np.where(ex, i[:, :, SI.TAO_RESERVE] + i[:, :, SI.PENDING_ROOT_TAO], 0).sum(axis=1)
        + g[:, GI.ROOT_STAKE]
        + g[:, GI.FREE_TAO]
    )
    assert np.array_equal(held, g[:, GI.TOTAL_ISSUANCE])
    assert np.array_equal(
        g[:, GI.ISSUANCE_START] + g[:, GI.MINTED_TAO] - g[:, GI.RECYCLED_TAO],
        g[:, GI.TOTAL_ISSUANCE],
    )
    parts = sum(i[:, :, f] for f in ALPHA_OUT_PARTS)
    assert np.array_equal(parts, i[:, :, SI.ALPHA_OUT])
    assert np.array_equal(
        i[:, :, SI.ALPHA_IN] + i[:, :, SI.ALPHA_OUT], i[:, :, SI.ALPHA_ISSUANCE_START]
    )
    assert (i[:, :, SI.STAKE_STAKERS] >= 0).all()
    # every run identical
    assert (s.ints == s.ints[:1]).all() and (s.floats == s.floats[:1]).all()
    assert (s.gints == s.gints[:1]).all()


def test_snapshot_to_state_fields(tmp_path: Path) -> None:
    snap = load_snapshot(_write(tmp_path, _doc()))
    s = snapshot_to_state(snap, 2, mech=Mechanism(burn_half_life=2))
    assert s.subnets == 128  # max(128, largest netuid)
    assert s.exists[0].tolist() == [1, 1, 0, 0, 1] + [0] * 123
    k = 1  # netuid 2
    assert s.stake_owner[0, k] == 5 * TAO
    assert s.stake_stakers[0, k] == 500_000 * TAO - (41 + 30 + 11 + 18 + 1_000 + 5) * TAO
    assert s.floats[0, k, SF.MINER_BURNED] == 0.5
    assert s.floats[0, 0, SF.MINER_BURNED] == 0.25  # defaults to miner_burn_fraction
    assert s.ints[0, 4, SI.FIRST_EMISSION_BLOCK] == -1
    assert s.floats[0, 4, SF.QUOTE_WEIGHT] == 0.4
    assert s.ints[0, 4, SI.BURNED_ALPHA] == 7
    assert s.ints[0, 0, SI.BURN_FACTOR_Q32] == 3_037_000_500  # spec 12.8 R1 (half-life 2)
    assert s.ints[0, 2, SI.BURN_FACTOR_Q32] == 0  # free slot
    assert s.gints[0, GI.BLOCK_EMISSION] == TAO // 2
    assert s.gints[0, GI.FREE_TAO] == (10_000_000 - 3_000_000 - 8_000) * TAO
    assert snapshot_to_state(snap, 1, subnet_slots=5).subnets == 5
    with pytest.raises(DataError, match="netuid 5"):
        snapshot_to_state(snap, 1, subnet_slots=4)
    check_state(s)


def test_burn_factor_matches_spec_vectors() -> None:
    f = snapshots._burn_factor_q32_local
    assert f(2) == 3_037_000_500  # spec 12.8 R1
    assert f(1_000) == 4_291_991_283  # spec 12.8 R2
    assert f(1) == 2**31
    assert snapshots._burn_factor_q32(360) == f(360)


def test_round_trip_state(default: Snapshot, tmp_path: Path) -> None:
    assert state_to_snapshot(snapshot_to_state(default, 2), 1) == default
    small = load_snapshot(_write(tmp_path, _doc()))
    assert state_to_snapshot(snapshot_to_state(small, 1)) == small


def test_state_to_snapshot_after_blocks(default: Snapshot) -> None:
    s = snapshot_to_state(default, 1)
    s.block += 7_200
    s.ints[0, 0, SI.STAKE_MINERS] += 5
    s.ints[0, 0, SI.ALPHA_OUT] += 5
    out = state_to_snapshot(s)
    assert out.timestamp == "2026-10-01T00:00:00Z"
    assert out.source.startswith(f"dtaosim state at block {default.block + 7_200}")
    assert out.subnets[0].alpha_out_rao == default.subnets[0].alpha_out_rao + 5
    assert state_to_snapshot(s, timestamp="2030-01-01T00:00:00Z").timestamp.startswith("2030")
    with pytest.raises(ValueError, match="run"):
        state_to_snapshot(s, 1)


def test_owner_keys_survive_the_state(tmp_path: Path) -> None:
    alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    doc = _mutated("subnets.0.owner_coldkey", alice)
    doc["subnets"][0]["owner_hotkey"] = alice
    snap = load_snapshot(_write(tmp_path, doc))
    state = snapshot_to_state(snap, 1)
    assert state_to_snapshot(state) == snap
    assert state_to_snapshot(state).subnets[1].owner_coldkey == ""
    state.ints[0, 0, SI.REGISTERED_AT] = 9_999  # netuid 1 registered again: a new owner
    state.ints[0, 0, SI.FIRST_EMISSION_BLOCK] = -1
    assert state_to_snapshot(state).subnets[0].owner_hotkey == ""
    with pytest.raises(DataError, match=r"subnets\[0\] \(netuid 1\)\.owner_hotkey"):
        load_snapshot(_write(tmp_path, _mutated("subnets.0.owner_hotkey", "x" * 65), "b.json"))


def test_save_load_round_trip(default: Snapshot, tmp_path: Path) -> None:
    p = tmp_path / "out.json"
    save_snapshot(default, p)
    assert load_snapshot(p) == default
    assert p.read_text(encoding="utf-8") == DEFAULT_JSON.read_text(encoding="utf-8")
    assert [f.name for f in tmp_path.iterdir()] == ["out.json"]  # no temp file left
    save_snapshot(default.model_copy(update={"source": "again"}), p)  # replaces
    assert load_snapshot(p).source == "again"


def test_save_snapshot_unwritable(default: Snapshot, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot write snapshot"):
        save_snapshot(default, tmp_path / "missing-dir" / "x.json")


# ----------------------------------------------------------------------------- validation
def _mutated(path: str, value: Any) -> dict[str, Any]:
    """Copy of the test doc with ``path`` ('a.b' / 'subnets.1.x') set, or deleted if value is
    the sentinel ``...``."""
    doc = copy.deepcopy(_doc())
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("block", ..., "block: missing field"),
        ("total_issuance_rao", -1, "total_issuance_rao"),
        ("subnets.0.tao_reserve_rao", ..., "subnets[0] (netuid 1).tao_reserve_rao: missing field"),
        ("subnets.1.alpha_in_rao", -5, "subnets[1] (netuid 2).alpha_in_rao"),
        ("subnets.2.netuid", 0, "subnets[2].netuid"),
        ("subnets.2.netuid", 70_000, "subnets[2].netuid"),
        ("subnets.2.netuid", 1, "duplicate netuid 1"),
        ("subnets.1.alpha_out_rao", 100 * TAO, "subnets[1] (netuid 2): alpha_out_rao"),
        ("total_issuance_rao", 3_000_000 * TAO, "total_issuance_rao"),
        ("subnets.0.miner_burn_fraction", 1.5, "subnets[0] (netuid 1).miner_burn_fraction"),
        ("subnets.0.bogus", 1, "subnets[0] (netuid 1).bogus: unknown field"),
        ("timestamp", "yesterday", "timestamp"),
        ("subnets.0.registered_at_block", 20_000, "registered_at_block"),
    ],
)
def test_validation_errors_name_file_and_field(
    tmp_path: Path, path: str, value: Any, needle: str
) -> None:
    p = _write(tmp_path, _mutated(path, value))
    with pytest.raises(DataError) as err:
        load_snapshot(p)
    msg = str(err.value)
    assert str(p) in msg
    assert needle in msg
    assert "\n" not in msg


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_unknown_schema_version(tmp_path: Path, version: Any) -> None:
    p = _write(tmp_path, _mutated("schema_version", version))
    with pytest.raises(DataError, match=r"schema_version.*unknown schema_version") as err:
        load_snapshot(p)
    assert str(p) in str(err.value)
    with pytest.raises(DataError, match="schema_version: missing field"):
        load_snapshot(_write(tmp_path, _mutated("schema_version", ...), "b.json"))


def test_invalid_json_and_unreadable(tmp_path: Path) -> None:
    p = _write(tmp_path, '{"schema_version": 1,,}')
    with pytest.raises(DataError, match=r"snap\.json: invalid JSON at line 1"):
        load_snapshot(p)
    with pytest.raises(DataError, match="must be a JSON object"):
        load_snapshot(_write(tmp_path, "[1, 2]", "list.json"))
    with pytest.raises(DataError, match="snapshot file not found"):
        load_snapshot(tmp_path / "nope.json")
    with pytest.raises(DataError, match="is a directory, not a snapshot file"):
        load_snapshot(tmp_path)
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"source": "\xff"}')
    with pytest.raises(DataError, match="cannot read snapshot"):
        load_snapshot(bad)


# ------------------------------------------------------------------------------ the script
@pytest.mark.skipif(not DATA_DIR.is_dir(), reason=f"real-world data folder absent: {DATA_DIR}")
def test_build_script_reproduces_committed_json(tmp_path: Path) -> None:
    out = tmp_path / "default_network.json"
    subprocess.run(
        [sys.executable, str(SCRIPT), str(DATA_DIR), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert out.read_text(encoding="utf-8") == DEFAULT_JSON.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- committed fixtures
FIXTURES = REPO / "tests" / "fixtures"


def test_small_fixture_is_canonical_and_consistent() -> None:
    """tests/fixtures/small_network.json: 4 subnets, as save_snapshot writes them."""
    path = FIXTURES / "small_network.json"
    snap = load_snapshot(path)
    assert [s.netuid for s in snap.subnets] == [1, 2, 3, 7]
    assert snapshots.snapshot_json(snap) == path.read_text(encoding="utf-8")
    state = snapshot_to_state(snap, 2)
    check_state(state)
    assert state_to_snapshot(state) == snap


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("bad_negative_reserve.json", "subnets[1] (netuid 2).tao_reserve_rao"),
        ("bad_schema_version.json", "schema_version: unknown schema_version 2"),
        ("bad_total_issuance.json", "total_issuance_rao (6000000000000000) is smaller"),
        ("bad_alpha_out_parts.json", "subnets[2] (netuid 3): alpha_out_rao (100000000000) is smal"),
    ],
)
def test_bad_fixtures_are_rejected_naming_the_field(name: str, needle: str) -> None:
    path = FIXTURES / name
    with pytest.raises(DataError) as err:
        load_snapshot(path)
    assert str(err.value).startswith(f"{path}: ")
    assert needle in str(err.value)


# ------------------------------------------------------------------------------ documentation
DOC = REPO / "docs" / "snapshot.md"


def _documented_rows() -> dict[str, str]:
    """Table rows of docs/snapshot.md: first-cell `name` -> the whole row."""
    rows: dict[str, str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and cells[0].startswith("`"):
            rows.setdefault(cells[0].strip("`"), line)
    return rows


def test_docs_describe_every_field() -> None:
    """Every field of the format and every metagraph column has a row in docs/snapshot.md, with
    a non-empty last column (the SDK field or '-')."""
    rows = _documented_rows()
    fields = set(Snapshot.model_fields) | set(snapshots.SubnetSnapshot.model_fields)
    chain_reader = pytest.importorskip("dtaosim.io.chain_reader")  # imports without the SDK
    columns = set(chain_reader.NEURON_SCHEMA.names) | set(chain_reader.WEIGHT_SCHEMA.names)
    missing = sorted((fields | columns) - set(rows))
    assert not missing, f"not documented in {DOC.name}: {missing}"
    for name in fields | columns:
        cells = [c.strip() for c in rows[name].strip().strip("|").split("|")]
        assert cells[-1], name


def test_package_data_carries_the_attribution() -> None:
    """The installed package ships the data README with the MIT notice of the source data."""
    from importlib import resources

    readme = resources.files("dtaosim").joinpath("data").joinpath("README.md").read_text("utf-8")
    assert "MIT License" in readme and "Copyright (c) 2024 Alphamind" in readme
    assert "alphamind-transparency" in readme
    assert "build_default_network.py" in readme
    assert "Alphamind" in default_snapshot().attribution
