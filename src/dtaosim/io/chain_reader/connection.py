"""Talking to the SDK: its lazy import, :func:`connect`, running each call under a time limit
and turning its failures into one :class:`ChainAccessError` (see :mod:`dtaosim.io.chain_reader`)."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from dtaosim.errors import DtaosimError

INSTALL_HINT = 'install the chain extra: pip install "dtaosim[chain]"'
"""Message of the error raised when the ``bittensor`` package is missing."""

NETWORKS = ("finney", "test", "local")
"""Named networks accepted by :func:`connect` (besides ``ws://`` / ``wss://`` URLs)."""

_T = TypeVar("_T")


class ChainAccessError(DtaosimError):
    """The chain could not be read: SDK missing, network unreachable, timeout, missing field."""


_MISSING_ITEM_CLASS = "StorageFunctionNotFound"
"""Exception class every SDK generation raises for a storage item the runtime's metadata lacks
(``bittensor._transport.errors``, ``async_substrate_interface.errors``,
``substrateinterface.exceptions``)."""
_MISSING_ITEM_TEXT = re.compile(r"(storage function|pallet)\b.*\bnot found", re.IGNORECASE)


def _is_missing_item(exc: BaseException) -> bool:
    """Whether ``exc`` says that a storage item (or its pallet) is not in the runtime."""
    if any(cls.__name__ == _MISSING_ITEM_CLASS for cls in type(exc).__mro__):
        return True
    return bool(_MISSING_ITEM_TEXT.search(str(exc)))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _MissingItem(Exception):
    """A storage item the runtime (or the SDK) does not have."""

    def __init__(self, item: str, cause: BaseException) -> None:
        super().__init__(item)
        self.item = item
        self.cause = cause


@dataclass
class _Caller:
    """Runs SDK calls with a time limit and turns their failures into one clear error."""

    network: str
    timeout: float | None

    def __call__(self, what: str, fn: Callable[[], _T]) -> _T:
        try:
            if self.timeout is None:
                return fn()
            return _run_with_timeout(fn, self.timeout)
        except DtaosimError:
            raise
        except TimeoutError as e:
            if isinstance(e, _Timeout):
                raise ChainAccessError(
                    f"{self.network}: no answer within {self.timeout:g} s while reading {what}"
                ) from None
            raise ChainAccessError(
                f"{self.network}: timed out while reading {what} ({_reason(e)})"
            ) from None
        except Exception as e:
            if _is_missing_item(e):  # the caller decides: default value or error naming it
                raise _MissingItem(what, e) from None
            raise ChainAccessError(
                f"cannot read {what} from {self.network}: {_reason(e)}"
            ) from None


class _Timeout(TimeoutError):
    pass


def _run_with_timeout(fn: Callable[[], _T], timeout: float) -> _T:
    """Run ``fn`` in a daemon thread; raise :class:`_Timeout` if it takes longer than ``timeout``.

    A daemon thread (not a thread pool, whose workers are joined at interpreter exit) so that a
    request the SDK never answers cannot keep the process alive after the error is reported.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:
            box["error"] = e

    thread = threading.Thread(target=target, name="dtaosim-chain", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _Timeout()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _import_bittensor() -> Any:
    try:
        return importlib.import_module("bittensor")
    except ImportError:
        raise ChainAccessError(INSTALL_HINT) from None


def _check_network(network: str) -> str:
    net = network.strip()
    if net in NETWORKS or net.startswith(("ws://", "wss://")):
        return net
    raise ChainAccessError(
        f"unknown network {network!r}: use finney, test, local or a ws://HOST:PORT URL"
    )


def connect(network: str, timeout: float) -> Any:
    """Open a subtensor client on ``network`` and check that it answers.

    Parameters
    ----------
    network
        ``finney`` (main network), ``test``, ``local`` or a ``ws://HOST:PORT`` /
        ``wss://HOST:PORT`` endpoint.
    timeout
        Seconds to wait for the connection and the first answer (the current block).

    Returns
    -------
    Any
        The SDK's subtensor object (``bittensor.Subtensor``), ready for :func:`read_snapshot`.

    Raises
    ------
    ChainAccessError
        ``bittensor`` is not installed (message :data:`INSTALL_HINT`), the network name is
        unknown, or the endpoint cannot be reached / does not answer within ``timeout``.
    """
    if not timeout > 0:
        raise ChainAccessError(f"timeout must be > 0 seconds, not {timeout:g}")
    net = _check_network(network)
    bt = _import_bittensor()
    call = _Caller(net, timeout)

    def open_client() -> Any:
        sub = bt.Subtensor(network=net)
        _current_block(sub)  # first round trip: fails fast on a dead endpoint
        return sub

    try:
        return call("the current block", open_client)
    except _MissingItem as e:  # the first query named an item this runtime lacks
        raise ChainAccessError(f"cannot connect to {net}: {_reason(e.cause)}") from None


def _current_block(sub: Any) -> int:
    if hasattr(sub, "get_current_block"):  # bittensor 9-10
        return int(sub.get_current_block())
    block = sub.block  # bittensor 11.1+: a property; 11.0: a method
    return int(block() if callable(block) else block)


def _sdk_version() -> str:
    try:
        return importlib.metadata.version("bittensor")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
