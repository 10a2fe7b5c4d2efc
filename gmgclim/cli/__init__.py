"""The ``gmgclim`` command line: train, forecast, score, plot, data, demo, recipes.

:func:`main` runs it (the ``gmgclim`` console script and ``python -m gmgclim``); :data:`app` is
the Typer app. Each command module registers its commands on import, in the order ``--help``
lists them.
"""

# isort: skip_file
from gmgclim.cli import train_commands  # noqa: F401 (imported to register its commands)
from gmgclim.cli import forecast_commands  # noqa: F401
from gmgclim.cli import score_commands  # noqa: F401
from gmgclim.cli import plot_commands  # noqa: F401
from gmgclim.cli import data_commands  # noqa: F401
from gmgclim.cli.app import app, main

__all__ = ["app", "main"]
