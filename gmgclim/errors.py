"""Exception types whose messages are shown to users as one clear line."""


class GmgclimError(Exception):
    """An error caused by user input (a file, key or value), with an optional hint.

    Parameters
    ----------
    message : str
        What is wrong, naming the file, variable or key and what was expected.
    hint : str, optional
        What to do about it, shown on a second line by the CLI.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class DataError(GmgclimError, ValueError):
    """Input data that cannot be read or does not match what a reader expects."""


class RecipeError(GmgclimError, ValueError):
    """A recipe (YAML) that does not validate."""


class CheckpointError(GmgclimError, ValueError):
    """A checkpoint file that is missing, corrupt or incompatible."""


class OutputPathError(GmgclimError, ValueError):
    """An output path that holds something gmgclim did not write (or must not replace)."""
