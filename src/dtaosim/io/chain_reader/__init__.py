"""Read a snapshot of the live network through the bittensor SDK.

:func:`connect` opens a subtensor client (the ``bittensor`` package is imported lazily: it is
the optional ``chain`` extra), :func:`read_snapshot` turns the chain state at one block into a
schema-1 :class:`~dtaosim.io.snapshot.Snapshot`, and :func:`read_chain` additionally reads the
per-subnet metagraphs, which :func:`write_metagraphs` stores as Parquet next to the snapshot.

Two generations of the SDK are supported, recognised by duck typing:

* **classic** (``bittensor`` 9.x and 10.x, ``bittensor.core.subtensor.Subtensor``): pool
  reserves, moving price, tempo and registration block come from ``all_subnets(block=)``
  (``DynamicInfo``, amounts as ``Balance`` converted with ``.rao``); every other field is read
  with ``query_subtensor(name, params, block=)`` / ``query_module("Swap", ...)``; block and time
  from ``get_current_block()`` / ``get_timestamp(block)``; metagraphs from
  ``get_metagraph_info(netuid, block=)`` (``MetagraphInfo``) and ``weights(netuid, block=)``.
* **lean** (``bittensor`` 11+, ``bittensor.Subtensor`` = ``SyncClient``): everything is read
  from chain storage on a view pinned to one block, ``subtensor.at(block)``, with
  ``query`` / ``query_batch`` / ``query_map`` and the SDK's generated storage descriptors
  (``bittensor.storage.SubtensorModule.<Name>``); time from ``view.timestamp()``; metagraphs from
  ``view.subnets.metagraph(netuid)`` (``Metagraph`` / ``MetagraphNeuron``) and
  ``view.neurons.all(netuid, lite=False)`` for the weights.

Field mapping (chain storage item → snapshot field) is listed in :data:`FIELD_SOURCES` and in
``docs/snapshot.md``. Fields the chain does not record are set to a documented default and the
snapshot's ``source`` text says which; storage items that an older runtime lacks are optional
where a default is meaningful (listed in the ``source`` text too) and an error otherwise.

Every failure is a :class:`ChainAccessError` (a :class:`~dtaosim.errors.DtaosimError`) with one
message naming the network and, where it applies, the storage item: SDK not installed, no answer
within the timeout, connection refused, a runtime without a required storage item.

Files: :mod:`~dtaosim.io.chain_reader.connection` (SDK import, :func:`connect`, time limits,
errors), :mod:`~dtaosim.io.chain_reader.backends` (the two SDK generations),
:mod:`~dtaosim.io.chain_reader.convert` (SDK values to RAO, floats, addresses),
:mod:`~dtaosim.io.chain_reader.read` (:func:`read_snapshot`, :func:`read_chain`,
:data:`FIELD_SOURCES`) and :mod:`~dtaosim.io.chain_reader.metagraph_tables`
(:func:`read_metagraphs`, the Parquet schemas).
"""

from __future__ import annotations

from dtaosim.io.chain_reader.connection import INSTALL_HINT, NETWORKS, ChainAccessError, connect
from dtaosim.io.chain_reader.connection import _is_missing_item as _is_missing_item
from dtaosim.io.chain_reader.convert import _ema_pair as _ema_pair
from dtaosim.io.chain_reader.convert import _fixed as _fixed
from dtaosim.io.chain_reader.convert import _quote_weight as _quote_weight
from dtaosim.io.chain_reader.metagraph_tables import NEURON_SCHEMA, WEIGHT_SCHEMA, read_metagraphs
from dtaosim.io.chain_reader.read import FIELD_SOURCES, ChainRead, read_chain, read_snapshot
from dtaosim.io.metagraphs import metagraph_path, metagraph_paths, write_metagraphs

__all__ = [
    "FIELD_SOURCES",
    "INSTALL_HINT",
    "NETWORKS",
    "NEURON_SCHEMA",
    "WEIGHT_SCHEMA",
    "ChainAccessError",
    "ChainRead",
    "connect",
    "metagraph_path",
    "metagraph_paths",
    "read_chain",
    "read_metagraphs",
    "read_snapshot",
    "write_metagraphs",
]
