"""The ``gmgclim`` Typer app, its shared option parsers and :func:`main`.

The commands live in modules of this package by job (``train_commands``, ``forecast_commands``,
``score_commands``, ``plot_commands``, ``data_commands``) and register on :data:`app` when
imported; ``gmgclim.cli`` imports them all. Errors raised as :class:`gmgclim.errors.GmgclimError`
or ``ValueError`` are printed as one line plus a hint; ``--debug`` shows the full traceback.
"""

from __future__ import annotations

import sys

import typer

from gmgclim import __version__
from gmgclim.errors import GmgclimError, error_line

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


def status_line(text: str) -> None:
    """The first line of a long command, on stderr before its heavy imports (rank 0 only)."""
    import os

    if os.environ.get("RANK", "0") == "0":
        from gmgclim.progress import status

        status(text)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gmgclim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    # metavar="": typer's rich help would show these flags as `--version <bool>`
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        metavar="",
        help="Print the version.",
    ),
    debug: bool = typer.Option(
        False, "--debug", metavar="", help="Show full tracebacks on errors."
    ),
) -> None:
    """gmgclim: lazy weather data, the GMG model, WeatherBench-style scores and maps."""
    _STATE["debug"] = debug


def split_list(values: list[str] | None) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (options may be repeated or comma-separated)."""
    return [v.strip() for item in values or [] if item for v in item.split(",") if v.strip()]


def parse_init_times(values: list[str] | None):
    import numpy as np
    import pandas as pd

    items = split_list(values)
    if not items:
        return None
    try:
        return np.asarray([np.datetime64(pd.Timestamp(v), "ns") for v in items])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"--init-times: cannot read {items} as ISO times ({exc})") from None


def note(text: str | None) -> None:
    if text:
        typer.secho(text if text.startswith("warning: ") else f"note: {text}", err=True)


def parse_years(text: str) -> list[int]:
    """``"1979-2018"`` -> [1979, ..., 2018]; ``"2016,2017"`` -> [2016, 2017]."""
    years: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            if not (lo.isdigit() and hi.isdigit()) or int(hi) < int(lo):
                raise ValueError(f"--years {text!r}: expected e.g. 1979-2018 or 2016,2017")
            years.extend(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            years.append(int(part))
        else:
            raise ValueError(f"--years {text!r}: expected e.g. 1979-2018 or 2016,2017")
    return years


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
        typer.secho(f"error: {error_line(exc)}", err=True, fg="red")
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
