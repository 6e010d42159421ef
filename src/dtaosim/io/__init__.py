"""File formats and the live chain: what crosses the simulator's boundary.

* :mod:`~dtaosim.io.snapshot` - the snapshot format (JSON) <-> :class:`ChainState`, and the
  embedded default network;
* :mod:`~dtaosim.io.metagraphs` - metagraph tables (Parquet) <-> :class:`NeuronState`;
* :mod:`~dtaosim.io.chain_reader` - the live chain through the bittensor SDK (optional extra);
* :mod:`~dtaosim.io.results` - run directories: tidy Parquet tables, manifest, atomic writes.
"""
