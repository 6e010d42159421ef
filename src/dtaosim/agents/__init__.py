"""The agents layer: the people and processes outside the chain, acting through its functions.

Agents read the state and act only through the chain's own operations (stake and unstake
through the pools, register a hotkey or a subnet, set weights); they never write the state's
arrays directly. Today: the scripted exogenous processes (:mod:`~dtaosim.agents.exogenous`).
"""
