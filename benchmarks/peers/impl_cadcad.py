"""The reduced model in cadCAD 0.5.3 (run with benchmarks/peers/.venv-cadcad).

Variants (``run(inp, variant)``):

* ``default``: ``ExecutionContext()`` as shipped (``local_mode``: one run -> single process,
  several runs -> one configuration per run, executed by a pathos process pool), deep copy of
  the state before every substep, every substep kept.
* ``nocopy``: the 'fast' setting: ``single_mode`` with ``additional_objs={'deepcopy_off':
  True}`` (shallow copy of the state dict instead of ``copy.deepcopy``).

The flattened result (one dict per run, timestep and substep) is reduced to each run's final
state; no DataFrame is built.
"""

from __future__ import annotations

import psub


def run(inp: dict, variant: str = "default"):
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim
    from cadCAD.engine import ExecutionContext, ExecutionMode, Executor

    initial = psub.setup(inp)
    exp = Experiment()
    exp.append_model(
        initial_state=initial,
        partial_state_update_blocks=psub.BLOCKS,
        sim_configs=config_sim({"N": inp["runs"], "T": range(inp["blocks"]),
                                "M": {"flow_every": [300]}}),
    )
    if variant == "default":
        ctx = ExecutionContext()
    elif variant == "nocopy":
        ctx = ExecutionContext(ExecutionMode().single_mode, additional_objs={"deepcopy_off": True})
    else:
        raise ValueError(variant)
    executor = Executor(exec_context=ctx, configs=exp.configs, supress_print=True)
    records, _tensor_field, _sessions = executor.execute()
    return psub.finals(records, inp["runs"], inp["blocks"])
