"""The reduced model in radCAD 0.14 (run with benchmarks/peers/.venv-radcad).

Variants (``run(inp, variant)``):

* ``default``: ``Engine()`` as shipped: backend ``Backend.DEFAULT`` (= PATHOS, with
  ``cpu_count() - 1`` = 1 worker process on this 2-core machine), ``deepcopy=True`` (pickle
  round trip of the state before every substep), every substep kept in the result.
* ``nocopy``: the 'fast' setting of the peer-toy bench: ``Backend.SINGLE_PROCESS`` with
  ``deepcopy=False`` (the policies here never mutate their inputs, so this is safe).

The result (a list of one dict per run, timestep and substep) is reduced to each run's final
state; no DataFrame is built.
"""

from __future__ import annotations

import psub


def run(inp: dict, variant: str = "default"):
    from radcad import Experiment, Model, Simulation
    from radcad.engine import Backend, Engine

    initial = psub.setup(inp)
    model = Model(initial_state=initial, state_update_blocks=psub.BLOCKS, params={})
    sim = Simulation(model=model, timesteps=inp["blocks"], runs=inp["runs"])
    exp = Experiment(sim)
    if variant == "default":
        exp.engine = Engine()
    elif variant == "nocopy":
        exp.engine = Engine(backend=Backend.SINGLE_PROCESS, deepcopy=False)
    else:
        raise ValueError(variant)
    records = exp.run()
    return psub.finals(records, inp["runs"], inp["blocks"])
