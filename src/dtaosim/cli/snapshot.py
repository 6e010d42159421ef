"""``dtaosim snapshot``: write a snapshot of the live network (bittensor SDK, ``chain`` extra).

The command is added to the main application by :func:`register` (``cli.py`` calls
``snapshot_cli.register(app)``). Errors are :class:`~dtaosim.errors.DtaosimError` subclasses, so
the application prints them as one ``error:`` line and exits with code 2; no output file is left
behind on any error and existing files are not touched: the metagraph files are written under
temporary names first, the snapshot is written atomically, then the metagraph files are moved
into place.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from dtaosim.errors import DataError
from dtaosim.io import chain_reader
from dtaosim.io.snapshot import save_snapshot

__all__ = ["register", "snapshot"]

COMMAND_NAME = "snapshot"
DEFAULT_TIMEOUT_S = 30.0


def _close(sub: Any) -> None:
    close = getattr(sub, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


def snapshot(
    out: Annotated[Path, typer.Option("--out", "-o", help="Snapshot file to write (JSON).")],
    network: Annotated[
        str,
        typer.Option(help="finney (main network), test, local or ws://HOST:PORT."),
    ] = "finney",
    block: Annotated[
        int | None,
        typer.Option(
            min=0, help="Block to read (default: chain head; old blocks need an archive)."
        ),
    ] = None,
    metagraphs: Annotated[
        bool,
        typer.Option(
            "--metagraphs",
            help="Also write every subnet's metagraph to NAME.metagraphs.parquet and its weights "
            "to NAME.weights.parquet.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(min=0.001, help="Seconds to wait for the network on each request."),
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    r"""Read the live network through the bittensor SDK and write a snapshot file.

    Needs the chain extra: pip install "dtaosim\[chain]".
    `dtaosim run --snapshot FILE` starts from the file written.
    """
    if out.exists() and out.is_dir():
        raise DataError(f"--out {out} is a directory")
    if not out.parent.is_dir():
        raise DataError(f"--out {out}: directory {out.parent} does not exist")
    sub = chain_reader.connect(network, timeout)
    try:
        result = chain_reader.read_chain(sub, block=block, metagraphs=metagraphs, timeout=timeout)
    finally:
        _close(sub)
    written: tuple[Path, ...] = ()
    staged: tuple[Path, ...] = ()
    if metagraphs:  # staged under temporary names; moved into place once the snapshot is
        assert result.neurons is not None and result.weights is not None
        stage = out.with_name(f".{out.name}.{os.getpid()}.staging.json")
        staged = chain_reader.write_metagraphs(result.neurons, result.weights, stage)
        written = chain_reader.metagraph_paths(out)
    try:
        save_snapshot(result.snapshot, out)
        for source, target in zip(staged, written, strict=True):
            os.replace(source, target)
    except OSError as e:
        raise DataError(f"cannot write metagraphs next to {out}: {e.strerror or e}") from None
    finally:
        for path in staged:
            path.unlink(missing_ok=True)
    snap = result.snapshot
    typer.echo(
        f"snapshot of {network} at block {snap.block} ({snap.timestamp}), "
        f"{len(snap.subnets)} subnets: {out}"
    )
    for path in written:
        typer.echo(f"metagraphs: {path}")


def register(app: typer.Typer) -> None:
    """Add the ``snapshot`` command to ``app`` (once; calling it again does nothing).

    Parameters
    ----------
    app
        The application (``dtaosim.cli.app``).
    """
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else None)
        if name == COMMAND_NAME:
            return
    app.command(name=COMMAND_NAME)(snapshot)
