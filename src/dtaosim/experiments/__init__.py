"""The experiments layer: run configurations, the scenario driver and runs to a directory.

* :mod:`~dtaosim.experiments.config` - :class:`RunConfig` (TOML -> pydantic) and its resolution;
* :mod:`~dtaosim.experiments.simulation` - :func:`simulate`, the chain kernel plus the scenario's
  processes at their cadence;
* :mod:`~dtaosim.experiments.run` - one configuration from its starting state to a run
  directory.
"""
