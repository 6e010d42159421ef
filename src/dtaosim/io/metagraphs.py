"""Metagraph tables (Parquet) as UID state, and the UIDs a run starts with.

:func:`neurons_from_metagraphs` reads the tables written by :mod:`dtaosim.io.chain_reader`
(``dtaosim snapshot --metagraphs``) into a :class:`~dtaosim.state.neurons.NeuronState`;
:func:`starting_neurons` uses them when they sit beside a snapshot and falls back to a synthetic
metagraph (:func:`dtaosim.chain.metagraph.neurons_for_state`) otherwise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import ArrayLike

from dtaosim.chain.metagraph import neurons_for_state
from dtaosim.errors import DataError
from dtaosim.state.neurons import DEFAULT_TAKE, NF, NH, NI, U16_MAX, NeuronState

__all__ = [
    "metagraph_path",
    "metagraph_paths",
    "neurons_from_metagraphs",
    "starting_neurons",
    "write_metagraphs",
]


def _table(obj: Any, what: str) -> Any:
    if isinstance(obj, pa.Table):
        return obj
    try:
        return pq.read_table(Path(obj))
    except (OSError, pa.ArrowException) as e:
        raise DataError(f"cannot read the {what} table {obj}: {e}") from None


def _weights_path_for(neurons_path: Path) -> Path | None:
    name = neurons_path.name
    if name.endswith(".metagraphs.parquet"):
        return neurons_path.with_name(name[: -len(".metagraphs.parquet")] + ".weights.parquet")
    return None


_NEURON_COLUMNS = ("netuid", "uid", "hotkey", "coldkey", "alpha_stake_rao", "root_stake_rao",
                   "incentive", "dividends", "validator_permit", "block_at_registration",
                   "last_update")
_WEIGHT_COLUMNS = ("netuid", "uid", "target_uid", "weight")


def neurons_from_metagraphs(
    neurons: Any,
    weights: Any = None,
    *,
    subnets: int | None = None,
    n_uids: int = 256,
    n_runs: int = 1,
    take: float = DEFAULT_TAKE,
    epoch_emission: ArrayLike = 295_200_000_000,
    warm_bonds: bool = False,
) -> NeuronState:
    """Build a :class:`NeuronState` from the metagraph tables of :mod:`dtaosim.io.chain_reader`.

    Column mapping (``NEURON_SCHEMA`` / ``WEIGHT_SCHEMA`` of the reader): ``netuid`` -> slot
    ``netuid - 1`` (root rows, netuid 0, are skipped); ``uid``; ``hotkey``/``coldkey`` (SS58
    strings) -> integer ids in sorted order, the names kept in ``meta["hotkeys"]`` and
    ``meta["coldkeys"]`` (a hotkey has the same id on every subnet); ``alpha_stake_rao`` ->
    ``alpha_stake``; ``root_stake_rao`` -> ``root_stake``; ``incentive``, ``dividends``;
    ``validator_permit``; ``block_at_registration`` -> ``registered_at``; ``last_update``;
    weights ``(netuid, uid, target_uid, weight)`` -> ``weights`` (the u16 as stored).

    Not in the tables, so assumed: delegate ``take`` (default 0.179995 for every hotkey); the
    last epoch's ``emission`` (pruning key) = ``floor(epoch_emission x (incentive +
    dividends) / 2)``; bonds zero, or with ``warm_bonds`` the Yuma 3 fixed point of the weights
    (see :func:`dtaosim.chain.metagraph.synthetic_neurons`); cumulative earnings 0.

    Parameters
    ----------
    neurons
        ``pyarrow.Table`` or path of ``NAME.metagraphs.parquet``.
    weights
        ``pyarrow.Table`` or path of ``NAME.weights.parquet``; default: the file beside
        ``neurons`` when that is a path (no weights if it is absent).
    subnets
        Number of subnet slots; default the largest netuid (match the snapshot's
        ``ChainState``).
    n_uids
        UID capacity.
    n_runs
        Runs (the metagraph is copied into each).
    take, epoch_emission, warm_bonds
        See above; ``epoch_emission`` may be per slot, shape ``(subnets,)``.

    Returns
    -------
    NeuronState
        Validated.

    Raises
    ------
    DataError
        Missing columns, UIDs beyond ``n_uids``, netuids beyond ``subnets``, or an inconsistent
        metagraph (see :meth:`NeuronState.validate`).
    """
    tab = _table(neurons, "neurons")
    missing = [c for c in _NEURON_COLUMNS if c not in tab.column_names]
    if missing:
        raise DataError(f"neurons table lacks columns {missing}")
    if weights is None and isinstance(neurons, (str, os.PathLike)):
        wp = _weights_path_for(Path(neurons))
        weights = wp if wp is not None and wp.is_file() else None
    wtab = _table(weights, "weights") if weights is not None else None
    if wtab is not None:
        missing = [c for c in _WEIGHT_COLUMNS if c not in wtab.column_names]
        if missing:
            raise DataError(f"weights table lacks columns {missing}")

    col = {c: tab.column(c).to_numpy(zero_copy_only=False) for c in _NEURON_COLUMNS}
    keep = col["netuid"].astype(np.int64) > 0
    col = {c: v[keep] for c, v in col.items()}
    netuid = col["netuid"].astype(np.int64)
    uid = col["uid"].astype(np.int64)
    n_slots = int(subnets) if subnets is not None else int(netuid.max(initial=1))
    if netuid.size and netuid.max() > n_slots:
        raise DataError(f"neurons table has netuid {int(netuid.max())} beyond {n_slots} slots")
    if uid.size and (uid.max() >= n_uids):
        raise DataError(f"neurons table has uid {int(uid.max())} beyond capacity {n_uids}")
    hot_names = sorted({str(x) for x in col["hotkey"]})
    cold_names = sorted({str(x) for x in col["coldkey"]})
    hot_id = {h: i for i, h in enumerate(hot_names)}
    cold_id = {c: i for i, c in enumerate(cold_names)}

    st = NeuronState.empty(1, n_slots, n_uids)
    k = netuid - 1
    i0 = st.ints[0]
    i0[k, NI.HOTKEY, uid] = [hot_id[str(x)] for x in col["hotkey"]]
    i0[k, NI.COLDKEY, uid] = [cold_id[str(x)] for x in col["coldkey"]]
    i0[k, NI.ALPHA_STAKE, uid] = col["alpha_stake_rao"].astype(np.int64)
    i0[k, NI.ROOT_STAKE, uid] = col["root_stake_rao"].astype(np.int64)
    i0[k, NI.REGISTERED_AT, uid] = col["block_at_registration"].astype(np.int64)
    i0[k, NI.LAST_UPDATE, uid] = col["last_update"].astype(np.int64)
    inc = col["incentive"].astype(np.float64)
    div = col["dividends"].astype(np.float64)
    f0 = st.floats[0]
    f0[k, NF.INCENTIVE, uid] = inc
    f0[k, NF.DIVIDENDS, uid] = div
    f0[k, NF.TAKE, uid] = take
    st.permit[0, k, uid] = col["validator_permit"].astype(np.bool_)
    e_slot = np.broadcast_to(np.asarray(epoch_emission, dtype=np.float64), (n_slots,))
    i0[k, NI.EMISSION, uid] = np.floor(e_slot[k] * (inc + div) / 2.0).astype(np.int64)
    if wtab is not None:
        wc = {c: wtab.column(c).to_numpy(zero_copy_only=False).astype(np.int64)
              for c in _WEIGHT_COLUMNS}
        ok = wc["netuid"] > 0
        wn, wu, wt, wv = (wc[c][ok] for c in _WEIGHT_COLUMNS)
        if wn.size and (wn.max() > n_slots or max(wu.max(), wt.max()) >= n_uids):
            raise DataError("weights table refers to a netuid or uid beyond the state's shape")
        if wv.size and (wv.min() < 0 or wv.max() > U16_MAX):
            raise DataError("weights table has values outside u16")
        st.weights[0, wn - 1, wu, wt] = wv.astype(np.uint16)
    if warm_bonds:
        w = st.weights[0].astype(np.float64)
        s = w.sum(axis=2, keepdims=True)
        norm = np.divide(w, s, out=np.zeros_like(w), where=s > 0)
        st.bonds[0] = np.floor(norm * U16_MAX).astype(np.uint16) * st.permit[0][:, :, None]
    if n_runs > 1:
        st = NeuronState(
            np.repeat(st.ints, n_runs, axis=0), np.repeat(st.floats, n_runs, axis=0),
            np.repeat(st.permit, n_runs, axis=0), np.repeat(st.weights, n_runs, axis=0),
            np.repeat(st.bonds, n_runs, axis=0),
        )
    st.meta.update(generator="neurons_from_metagraphs", hotkeys=hot_names,
                   coldkeys=cold_names)
    st.validate()
    return st


def starting_neurons(state: Any, snapshot: Any = None,
                     snapshot_path: str | os.PathLike | None = None, n_uids: int = 256,
                     n_validators: int = 64, *,
                     seed: int | np.random.SeedSequence | None = None) -> NeuronState:
    """The UIDs a run starts with: the snapshot's metagraphs if they were saved beside it
    (``dtaosim snapshot --metagraphs``: ``NAME.metagraphs.parquet``), else synthetic ones
    (:func:`neurons_for_state`).

    Parameters
    ----------
    state : ChainState
        The chain state built from the snapshot.
    snapshot : Snapshot, optional
        Its snapshot, for the owners' hotkeys and coldkeys.
    snapshot_path : path, optional
        Where the snapshot was read from (the metagraph files are looked for beside it).
    n_uids, n_validators
        UIDs and validators per subnet (capacity; synthetic metagraphs are full).
    seed
        Seed for the synthetic metagraph.

    Returns
    -------
    NeuronState
    """
    mpath = None
    if snapshot_path is not None:
        candidate = metagraph_path(snapshot_path)
        mpath = candidate if candidate.is_file() else None
    if mpath is None:
        return neurons_for_state(state, n_uids, n_validators, seed=seed)
    nrn = neurons_from_metagraphs(mpath, subnets=state.subnets, n_uids=n_uids,
                                  n_runs=state.runs, warm_bonds=True)
    hot = {name: i for i, name in enumerate(nrn.meta.get("hotkeys", []))}
    cold = {name: i for i, name in enumerate(nrn.meta.get("coldkeys", []))}
    for sub in getattr(snapshot, "subnets", []):
        k = int(sub.netuid) - 1
        if 0 <= k < state.subnets:
            nrn.hyper[:, k, NH.OWNER_HOTKEY] = hot.get(sub.owner_hotkey, -1)
            nrn.hyper[:, k, NH.OWNER_COLDKEY] = cold.get(sub.owner_coldkey, -1)
    nrn.meta["next_hotkey"] = np.maximum(nrn.hotkey.reshape(nrn.runs, -1).max(axis=1),
                                         len(hot)) + 1  # one counter per run
    nrn.meta["source"] = str(mpath)
    return nrn


def metagraph_path(out: str | os.PathLike[str]) -> Path:
    """Parquet file of the metagraphs of snapshot ``out``: ``NAME.metagraphs.parquet``.

    ``NAME`` is ``out`` without a ``.json`` suffix (``net.json`` → ``net.metagraphs.parquet``).
    The weights go to ``NAME.weights.parquet`` (:func:`write_metagraphs`).
    """
    p = Path(out)
    stem = p.name[: -len(".json")] if p.name.lower().endswith(".json") else p.name
    return p.with_name(f"{stem}.metagraphs.parquet")


def metagraph_paths(out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Both metagraph files of snapshot ``out``: ``NAME.metagraphs.parquet`` (neurons) and
    ``NAME.weights.parquet`` (weights)."""
    m = metagraph_path(out)
    return m, m.with_name(m.name[: -len(".metagraphs.parquet")] + ".weights.parquet")


def write_metagraphs(
    neurons: pa.Table, weights: pa.Table, out: str | os.PathLike[str]
) -> tuple[Path, Path]:
    """Write the metagraph tables next to snapshot ``out``, atomically.

    Both files are written to temporary files in the same directory first and then moved into
    place (``os.replace``); on any error neither file is left behind.

    Parameters
    ----------
    neurons, weights
        Tables from :func:`read_metagraphs` / :func:`read_chain`.
    out
        The snapshot JSON path; see :func:`metagraph_path`.

    Returns
    -------
    tuple[Path, Path]
        The neurons file (``NAME.metagraphs.parquet``) and the weights file
        (``NAME.weights.parquet``).

    Raises
    ------
    DataError
        If a file cannot be written.
    """
    targets = metagraph_paths(out)
    temps: list[str] = []
    done: list[Path] = []
    try:
        for table, target in zip((neurons, weights), targets, strict=True):
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            temps.append(tmp)
            pq.write_table(table, tmp, compression="zstd")
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
            done.append(target)
        temps.clear()
    except OSError as e:
        for target in done:
            target.unlink(missing_ok=True)
        raise DataError(f"cannot write metagraphs {targets[0]}: {e.strerror or e}") from None
    finally:
        for tmp in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return targets
