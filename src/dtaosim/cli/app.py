"""The ``dtaosim`` application: one Typer app, one module per command group.

User errors (:class:`~dtaosim.errors.DtaosimError`, bad option values, unknown commands) print
one line ``error: <message>`` to stderr and exit with code 2 (1 for an
:class:`~dtaosim.errors.InvariantViolation`), without a traceback; a failed run leaves no
output directory behind. Ctrl-C prints ``error: aborted`` (exit 130), SIGTERM or SIGHUP
``error: interrupted (SIGTERM)`` (exit 128 + the signal number). ``dtaosim --version`` names
the exact code (release and git describe, or a hash of the sources).

Each command module (:mod:`dtaosim.cli.run`, :mod:`dtaosim.cli.mechanisms`,
:mod:`dtaosim.cli.scenarios`, :mod:`dtaosim.cli.snapshot`, :mod:`dtaosim.cli.validate`,
:mod:`dtaosim.cli.report`, :mod:`dtaosim.cli.sweep`, :mod:`dtaosim.cli.query`,
:mod:`dtaosim.cli.compare`) exposes ``register(app)``; this module builds the app and registers
them, so command modules never import this one.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from dtaosim.cli import compare as compare_cmd
from dtaosim.cli import mechanisms as mechanisms_cmd
from dtaosim.cli import query as query_cmd
from dtaosim.cli import report as report_cmd
from dtaosim.cli import run as run_cmd
from dtaosim.cli import scenarios as scenarios_cmd
from dtaosim.cli import snapshot as snapshot_cmd
from dtaosim.cli import sweep as sweep_cmd
from dtaosim.cli import validate as validate_cmd
from dtaosim.errors import DtaosimError, Interrupted, InvariantViolation
from dtaosim.io.rundir import version_line

__all__ = ["app", "main"]


def _error_line(message: str) -> None:
    """Print ``error: <message>`` as a single line on stderr."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)


class _OneLineErrorGroup(TyperGroup):
    """Typer group whose user errors are one ``error:`` line on stderr, no traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except DtaosimError as e:
            _error_line(str(e))
            sys.exit(1 if isinstance(e, InvariantViolation) else 2)
        except Interrupted as e:
            _error_line("aborted" if e.signum == signal.SIGINT else f"interrupted ({e.name})")
            sys.exit(128 + e.signum)
        except KeyboardInterrupt:
            _error_line("aborted")
            sys.exit(128 + signal.SIGINT)
        except typer.Abort as e:  # click turns Ctrl-C into Abort
            _error_line("aborted")
            sys.exit(128 + signal.SIGINT if isinstance(e.__context__, KeyboardInterrupt) else 1)
        except typer.TyperException as e:  # click usage errors: bad option value, no such option
            if type(e).__name__ == "NoArgsIsHelpError":
                show = getattr(e, "show", None)
                if callable(show):
                    show()
                sys.exit(2)
            _error_line(e.format_message())
            sys.exit(int(getattr(e, "exit_code", 2)))
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="dtaosim",
    cls=_OneLineErrorGroup,
    help="Simulator of the Bittensor dynamic-TAO economy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)



def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Show the version (release, git describe or source hash) and exit."),
    ] = False,
) -> None:
    """Simulator of the Bittensor dynamic-TAO economy."""


run_cmd.register(app)
mechanisms_cmd.register(app)
scenarios_cmd.register(app)
snapshot_cmd.register(app)  # `dtaosim snapshot` (live chain through the bittensor SDK)
validate_cmd.register(app)  # `dtaosim validate RUN_DIR`
report_cmd.register(app)  # `dtaosim report RUN_DIR`
sweep_cmd.register(app)  # `dtaosim sweep`: many points into one Parquet dataset
query_cmd.register(app)  # `dtaosim query`: DuckDB over a sweep
compare_cmd.register(app)  # `dtaosim compare`: A/B of rules with common random numbers


def main() -> None:
    """Console-script entry point (``dtaosim``)."""
    app(prog_name="dtaosim")


if __name__ == "__main__":  # pragma: no cover
    main()
