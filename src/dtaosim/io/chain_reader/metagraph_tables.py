"""Per-subnet metagraphs as two Arrow tables (neurons, long-format weights) with their Parquet
schemas: :func:`read_metagraphs`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from dtaosim.io.chain_reader.backends import _Backend, _backend
from dtaosim.io.chain_reader.connection import ChainAccessError, _Caller, _MissingItem, _reason

NEURON_SCHEMA = pa.schema(
    [
        ("netuid", pa.uint16()),
        ("uid", pa.uint16()),
        ("hotkey", pa.string()),
        ("coldkey", pa.string()),
        ("alpha_stake_rao", pa.int64()),
        ("root_stake_rao", pa.int64()),
        ("incentive", pa.float64()),
        ("dividends", pa.float64()),
        ("validator_permit", pa.bool_()),
        ("block_at_registration", pa.int64()),
        ("last_update", pa.int64()),
    ]
)
"""Columns of the neurons table (one row per subnet and UID)."""

WEIGHT_SCHEMA = pa.schema(
    [
        ("netuid", pa.uint16()),
        ("uid", pa.uint16()),
        ("target_uid", pa.uint16()),
        ("weight", pa.uint16()),
    ]
)
"""Columns of the weights long table (one row per non-zero weight; ``weight`` is the u16)."""


def _read_metagraphs(
    be: _Backend, netuids: Iterable[int], network: str
) -> tuple[pa.Table, pa.Table]:
    rows: list[dict[str, Any]] = []
    wrows: list[tuple[int, int, int, int]] = []
    for n in netuids:
        try:
            neurons, weights = be.metagraph(n)
        except _MissingItem as e:
            raise ChainAccessError(f"{network}: cannot read {e.item}: {_reason(e.cause)}") from None
        except (AttributeError, TypeError, IndexError, KeyError) as e:
            raise ChainAccessError(
                f"{network}: unexpected metagraph of subnet {n} from the SDK ({_reason(e)})"
            ) from None
        rows.extend({"netuid": n, **r} for r in neurons)
        wrows.extend((n, u, t, w) for u, t, w in weights)
    neuron_table = pa.Table.from_pylist(rows, schema=NEURON_SCHEMA)
    weight_table = pa.table(
        {
            "netuid": pa.array([r[0] for r in wrows], pa.uint16()),
            "uid": pa.array([r[1] for r in wrows], pa.uint16()),
            "target_uid": pa.array([r[2] for r in wrows], pa.uint16()),
            "weight": pa.array([r[3] for r in wrows], pa.uint16()),
        },
        schema=WEIGHT_SCHEMA,
    )
    return neuron_table, weight_table


def read_metagraphs(
    subtensor: Any,
    netuids: Iterable[int],
    *,
    block: int | None = None,
    timeout: float | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Read the metagraphs of ``netuids`` at ``block``.

    Parameters
    ----------
    subtensor
        The SDK's subtensor object (see :func:`read_snapshot`).
    netuids
        Subnets to read.
    block
        Block to read; default the chain head.
    timeout
        Seconds allowed for each request; ``None``: no limit.

    Returns
    -------
    tuple[pyarrow.Table, pyarrow.Table]
        ``neurons`` (:data:`NEURON_SCHEMA`: stakes exact in RAO, ``root_stake_rao`` is the
        hotkey's stake on root, incentive and dividends normalised to 0..1) and ``weights``
        (:data:`WEIGHT_SCHEMA`, long format, the chain's u16 weights).

    Raises
    ------
    ChainAccessError
        The chain is unreachable or the SDK cannot read a metagraph.
    """
    network = str(getattr(subtensor, "network", None) or "the chain")
    call = _Caller(network, timeout)
    be = _backend(subtensor, call, block)
    return _read_metagraphs(be, netuids, network)
