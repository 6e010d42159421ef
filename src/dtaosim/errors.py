"""Exceptions raised by dtaosim.

``DtaosimError`` subclasses are *user* errors: the CLI prints their message as one line and
exits non-zero without a traceback. Anything else is a bug.
"""

from __future__ import annotations


class DtaosimError(Exception):
    """Base class for errors whose message is meant for the user."""


class ConfigError(DtaosimError):
    """A configuration, CLI option or preset name is invalid."""


class DataError(DtaosimError):
    """A data file or snapshot is missing, malformed or inconsistent."""


class SwapError(DtaosimError):
    """A swap, stake or unstake was rejected, as the chain would reject it.

    ``reason`` carries the chain's error name (e.g. ``"PriceLimitExceeded"``).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


class RegistrationError(DtaosimError):
    """A subnet or neuron registration was rejected (e.g. ``SubnetLimitReached``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


class InvariantViolation(DtaosimError):
    """A conservation or non-negativity invariant failed during a run.

    Attributes name where: ``block``, ``run``, ``netuid`` and the ``quantity`` that broke.
    """

    def __init__(self, quantity: str, block: int, run: int, netuid: int, detail: str) -> None:
        self.quantity = quantity
        self.block = block
        self.run = run
        self.netuid = netuid
        where = f"block {block}, run {run}" + (f", subnet {netuid}" if netuid >= 0 else "")
        super().__init__(f"invariant violated at {where}: {quantity} ({detail})")


class Interrupted(BaseException):
    """The process was asked to stop (``SIGTERM``, ``SIGHUP``): unwinds like
    ``KeyboardInterrupt`` so that partial output is cleaned up, then the CLI exits with
    ``128 + signum``.

    Attributes
    ----------
    signum : int
        The signal received.
    name : str
        Its name (``"SIGTERM"``).
    """

    def __init__(self, signum: int, name: str) -> None:
        self.signum = signum
        self.name = name
        super().__init__(f"interrupted ({name})")
