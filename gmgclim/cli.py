"""The ``gmgclim`` command line: train, forecast, score, plot, data, demo.

Errors raised as :class:`gmgclim.errors.GmgclimError` or ``ValueError`` are printed as one line
plus a hint; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys

import typer

from gmgclim import __version__
from gmgclim.errors import GmgclimError

app = typer.Typer(
    name="gmgclim",
    help="gmgclim: train GMG on gridded weather data, forecast to zarr, score and map.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Browse and fetch catalogued data sources.", no_args_is_help=True)
app.add_typer(data_app, name="data")

_STATE = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gmgclim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """gmgclim: lazy weather data, the GMG model, WeatherBench-style scores and maps."""
    _STATE["debug"] = debug


# ---- section: train (owner: training) ----------------------------------------------------------

# ---- end section: train -----------------------------------------------------------------------

# ---- section: forecast / score / plot (owner: inference+metrics) ------------------------------

# ---- end section: forecast / score / plot -----------------------------------------------------

# ---- section: data (owner: data) --------------------------------------------------------------

# ---- end section: data ------------------------------------------------------------------------

# ---- section: demo (owner: lead) --------------------------------------------------------------

# ---- end section: demo ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one clear line and exit code 2."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (GmgclimError, ValueError, FileNotFoundError, KeyError) as exc:
        if debug:
            raise
        typer.secho(f"error: {exc}", err=True, fg="red")
        hint = getattr(exc, "hint", None)
        typer.secho(f"hint: {hint or 'run again with --debug for the full traceback'}", err=True)
        sys.exit(2)
    except Exception as exc:
        # click's usage errors (typer may vendor click, so match by behaviour, not by class)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            typer.echo("aborted", err=True)
            sys.exit(130)
        raise
