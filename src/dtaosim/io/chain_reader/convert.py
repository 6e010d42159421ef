"""Converters of SDK values (SCALE objects, ``Balance``, fixed-point bits, newtype wrappers) to
plain RAO integers, floats and SS58 strings; a value of the wrong shape is a
:class:`ChainAccessError` naming it."""

from __future__ import annotations

from typing import Any

from dtaosim.io.chain_reader.connection import ChainAccessError

_U64F64_ONE = 2**64
_I96F32_ONE = 2**32
_PERQUINTILL = 10**18


def _plain(value: Any) -> Any:
    """Unwrap SCALE objects (``.value``) to plain Python values."""
    seen = 0
    while (
        hasattr(value, "value")
        and not hasattr(value, "rao")
        and not isinstance(value, int | float | str | bytes)
        and seen < 4
    ):
        value = value.value
        seen += 1
    return value


def _rao(value: Any, what: str) -> int:
    """Exact RAO amount of an SDK ``Balance`` (``.rao``) or a plain integer."""
    value = _plain(value)
    if value is None:
        return 0
    if hasattr(value, "rao"):
        return int(value.rao)
    if isinstance(value, bool):
        raise ChainAccessError(f"{what}: expected an amount in RAO, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, dict) and len(value) == 1:  # newtype wrappers, {"TaoBalance": n}
        return _rao(next(iter(value.values())), what)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ChainAccessError(f"{what}: expected an amount in RAO, got {value!r}") from None


def _int(value: Any, what: str) -> int:
    value = _plain(value)
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ChainAccessError(f"{what}: expected an integer, got {value!r}") from None


def _fixed(value: Any, one: int, what: str) -> float:
    """Decode a fixed-point value given as ``{"bits": n}``, an int of bits, or a float."""
    value = _plain(value)
    if value is None:
        return 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        value = value.get("bits", 0)
    try:
        return int(value) / one
    except (TypeError, ValueError):
        raise ChainAccessError(f"{what}: expected a fixed-point number, got {value!r}") from None


def _ema_pair(value: Any, what: str) -> float:
    """``(last_update_block, I64F64)`` flow EMA → RAO per block."""
    value = _plain(value)
    if isinstance(value, list | tuple) and len(value) == 2:
        return _fixed(value[1], _U64F64_ONE, what)
    if value is None:
        return 0.0
    return _fixed(value, _U64F64_ONE, what)


def _quote_weight(value: Any) -> float | None:
    """Quote weight of a ``Balancer`` value (Perquintill parts), ``None`` if not decodable."""
    value = _plain(value)
    raw: Any = None
    if isinstance(value, dict):
        for key, v in value.items():
            if "quote" in str(key).lower():
                raw = _plain(v)
                break
    elif isinstance(value, int) and not isinstance(value, bool):
        raw = value
    if isinstance(raw, dict) and len(raw) == 1:
        raw = next(iter(raw.values()))
    if not isinstance(raw, int | float) or isinstance(raw, bool):
        return None
    w = float(raw) / _PERQUINTILL if isinstance(raw, int) and raw > 1 else float(raw)
    return w if 0.0 < w < 1.0 else None


def _account(value: Any) -> str:
    """SS58 address of an ``AccountId32`` value (the SDKs decode it to a string); '' if unset."""
    value = _plain(value)
    return "" if value is None else str(value)


def _netuid_key(key: Any) -> int:
    key = _plain(key)
    if isinstance(key, list | tuple):
        key = _plain(key[0])
    return int(key)
