"""The command-line layer (top): ``dtaosim`` and its commands, one module per command group."""

from __future__ import annotations

from dtaosim.cli.app import app, main

__all__ = ["app", "main"]
