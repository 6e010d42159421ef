"""``dtaosim mechanisms``: the rule versions (presets) and their constants."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dtaosim.chain.presets import HEAD_PRESET, PRESETS, Mechanism, get_mechanism

__all__ = ["mechanisms", "register"]

_RULE_FIELDS = (
    "share_rule",
    "pool_model",
    "injection_rule",
    "bought_alpha",
    "epoch_schedule",
    "ema_rule",
    "root_dividends",
    "pool_seeding",
)
_META_FIELDS = ("name", "date", "description")


def _fmt_value(v: Any) -> str:
    if isinstance(v, IntEnum):
        return v.name.lower()
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:_}"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _constants_differing(m: Mechanism, head: Mechanism) -> list[str]:
    skip = set(_RULE_FIELDS) | set(_META_FIELDS)
    return [
        f"{name}={_fmt_value(getattr(m, name))}"
        for name in Mechanism.model_fields
        if name not in skip and getattr(m, name) != getattr(head, name)
    ]


def mechanisms(
    show: Annotated[
        str | None, typer.Option("--show", help="Print every field of one preset.")
    ] = None,
) -> None:
    """List the mechanism presets (rules and constants that differ from HEAD)."""
    console = Console()
    if show is not None:
        m = get_mechanism(show)
        table = Table(title=f"{m.name} ({m.date})", caption=m.description, show_lines=False)
        table.add_column("field", no_wrap=True)
        table.add_column("value", no_wrap=True)
        table.add_column("description")
        for name, info in Mechanism.model_fields.items():
            if name in _META_FIELDS:
                continue
            table.add_row(name, _fmt_value(getattr(m, name)), info.description or "")
        console.print(table)
        return
    head = PRESETS[HEAD_PRESET]
    table = Table(title="mechanism presets", show_lines=True)
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("date", no_wrap=True)
    table.add_column("rules")
    table.add_column(f"constants differing from {HEAD_PRESET}")
    for name, m in PRESETS.items():
        rules = ", ".join(f"{k}={v}" for k, v in m.rules().items())
        diff = _constants_differing(m, head)
        label = f"{name} (HEAD)" if name == HEAD_PRESET else name
        table.add_row(label, m.date, rules, ", ".join(diff) or "-")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``mechanisms`` command to ``app``."""
    app.command()(mechanisms)
